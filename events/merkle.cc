#include "events/merkle.h"

#include <bit>
#include <string>

namespace accountable::merkle {
namespace {

Status proof_error(const std::string& what) { return invalid_argument(what, "proof"); }

// The node reads of one proof over the tree of `size` leaves. A subtree that
// is not complete only ever ends at the tree's right edge (RFC 9162's
// recursion splits off complete left halves), so it is folded from the edge's
// complete subtrees, read once: a proof costs O(log n) node reads.
class ProofBuilder {
 public:
  ProofBuilder(uint64_t size, const NodeReader& nodes) : size_(size), nodes_(nodes) {}

  Status load_edge() {
    uint64_t start = 0;
    for (int level = 63; level >= 0; --level) {
      const uint64_t width = uint64_t{1} << level;
      if ((size_ & width) == 0) continue;
      auto h = nodes_(static_cast<unsigned>(level), start >> level);
      if (!h) return h.status();
      edge_.push_back({start, width, *h});
      start += width;
    }
    return Status::ok();
  }

  // The hash of leaves [begin, begin + n).
  Result<Hash256> subtree(uint64_t begin, uint64_t n) {
    if (std::has_single_bit(n)) {
      for (const EdgeNode& e : edge_) {
        if (e.start == begin && e.width == n) return e.hash;
      }
      return nodes_(static_cast<unsigned>(std::countr_zero(n)), begin >> std::countr_zero(n));
    }
    if (begin + n != size_) return Status(StatusCode::kInternal, "merkle: an incomplete subtree off the right edge");
    // Fold the edge's subtrees from `begin` on, right to left.
    size_t first = edge_.size();
    for (size_t i = 0; i < edge_.size(); ++i) {
      if (edge_[i].start == begin) first = i;
    }
    if (first == edge_.size()) return Status(StatusCode::kInternal, "merkle: a subtree not on the right edge");
    Hash256 h = edge_.back().hash;
    for (size_t i = edge_.size() - 1; i > first; --i) h = node_hash(edge_[i - 1].hash, h);
    return h;
  }

  // RFC 9162 PATH(m, D[begin : begin + n]).
  Status path(uint64_t m, uint64_t begin, uint64_t n, std::vector<Hash256>* out) {
    if (n == 1) return Status::ok();
    const uint64_t k = split_point(n);
    if (m < k) {
      if (Status s = path(m, begin, k, out); !s.is_ok()) return s;
      return push(subtree(begin + k, n - k), out);
    }
    if (Status s = path(m - k, begin + k, n - k, out); !s.is_ok()) return s;
    return push(subtree(begin, k), out);
  }

  // RFC 9162 SUBPROOF(m, D[begin : begin + n], b).
  Status subproof(uint64_t m, uint64_t begin, uint64_t n, bool b, std::vector<Hash256>* out) {
    if (m == n) return b ? Status::ok() : push(subtree(begin, m), out);
    const uint64_t k = split_point(n);
    if (m <= k) {
      if (Status s = subproof(m, begin, k, b, out); !s.is_ok()) return s;
      return push(subtree(begin + k, n - k), out);
    }
    if (Status s = subproof(m - k, begin + k, n - k, false, out); !s.is_ok()) return s;
    return push(subtree(begin, k), out);
  }

 private:
  static Status push(Result<Hash256> h, std::vector<Hash256>* out) {
    if (!h) return h.status();
    out->push_back(*h);
    return Status::ok();
  }

  struct EdgeNode {
    uint64_t start;
    uint64_t width;
    Hash256 hash;
  };
  uint64_t size_;
  const NodeReader& nodes_;
  std::vector<EdgeNode> edge_;  // the complete subtrees of [0, size), left to right
};

bool lsb(uint64_t x) { return (x & 1) != 0; }

}  // namespace

Hash256 leaf_hash(std::string_view leaf_data) {
  Sha256 h;
  const char prefix = 0x00;
  h.update(std::string_view(&prefix, 1));
  h.update(leaf_data);
  return h.finish();
}

Hash256 node_hash(const Hash256& left, const Hash256& right) {
  unsigned char buf[65];
  buf[0] = 0x01;
  std::copy(left.begin(), left.end(), buf + 1);
  std::copy(right.begin(), right.end(), buf + 33);
  return sha256(std::string_view(reinterpret_cast<const char*>(buf), sizeof buf));
}

Hash256 empty_root() { return sha256(std::string_view()); }

uint64_t split_point(uint64_t n) { return std::bit_floor(n - 1); }

Result<Hash256> root(uint64_t size, const NodeReader& nodes) {
  auto edge = CompactRange::from_nodes(size, nodes);
  if (!edge) return edge.status();
  return edge->root();
}

Result<std::vector<Hash256>> inclusion_proof(uint64_t index, uint64_t size, const NodeReader& nodes) {
  if (index >= size) {
    return invalid_argument("leaf " + std::to_string(index) + " is not in a tree of " + std::to_string(size) +
                                " leaves",
                            "position");
  }
  ProofBuilder b(size, nodes);
  if (Status s = b.load_edge(); !s.is_ok()) return s;
  std::vector<Hash256> out;
  if (Status s = b.path(index, 0, size, &out); !s.is_ok()) return s;
  return out;
}

Result<std::vector<Hash256>> consistency_proof(uint64_t from, uint64_t to, const NodeReader& nodes) {
  if (from == 0 || from > to) {
    return invalid_argument("a consistency proof needs 0 < from <= to (from " + std::to_string(from) + ", to " +
                                std::to_string(to) + ")",
                            "from");
  }
  std::vector<Hash256> out;
  if (from == to) return out;
  ProofBuilder b(to, nodes);
  if (Status s = b.load_edge(); !s.is_ok()) return s;
  if (Status s = b.subproof(from, 0, to, true, &out); !s.is_ok()) return s;
  return out;
}

Status verify_inclusion(uint64_t index, uint64_t size, const Hash256& leaf, const std::vector<Hash256>& proof,
                        const Hash256& root_hash) {
  if (index >= size) {
    return proof_error("leaf index " + std::to_string(index) + " is not below the tree size " + std::to_string(size));
  }
  uint64_t fn = index;
  uint64_t sn = size - 1;
  Hash256 r = leaf;
  for (const Hash256& p : proof) {
    if (sn == 0) return proof_error("the inclusion proof is longer than the tree is deep");
    if (lsb(fn) || fn == sn) {
      r = node_hash(p, r);
      if (!lsb(fn)) {
        while (!lsb(fn) && fn != 0) {
          fn >>= 1;
          sn >>= 1;
        }
      }
    } else {
      r = node_hash(r, p);
    }
    fn >>= 1;
    sn >>= 1;
  }
  if (sn != 0) return proof_error("the inclusion proof is shorter than the tree is deep");
  if (r != root_hash) return proof_error("the inclusion proof does not lead to the root");
  return Status::ok();
}

Status verify_consistency(uint64_t from, uint64_t to, const Hash256& from_root, const Hash256& to_root,
                          const std::vector<Hash256>& proof) {
  if (from == 0) return proof_error("a consistency proof from the empty tree proves nothing");
  if (from > to) return proof_error("the first tree (" + std::to_string(from) + ") is larger than the second");
  if (from == to) {
    if (!proof.empty()) return proof_error("equal tree sizes take an empty proof");
    if (from_root != to_root) return proof_error("equal tree sizes with different roots");
    return Status::ok();
  }
  if (proof.empty()) return proof_error("the consistency proof is empty");
  std::vector<Hash256> path;
  path.reserve(proof.size() + 1);
  if (std::has_single_bit(from)) path.push_back(from_root);
  path.insert(path.end(), proof.begin(), proof.end());
  uint64_t fn = from - 1;
  uint64_t sn = to - 1;
  while (lsb(fn)) {
    fn >>= 1;
    sn >>= 1;
  }
  Hash256 fr = path[0];
  Hash256 sr = path[0];
  for (size_t i = 1; i < path.size(); ++i) {
    const Hash256& c = path[i];
    if (sn == 0) return proof_error("the consistency proof is longer than the tree is deep");
    if (lsb(fn) || fn == sn) {
      fr = node_hash(c, fr);
      sr = node_hash(c, sr);
      if (!lsb(fn)) {
        while (!lsb(fn) && fn != 0) {
          fn >>= 1;
          sn >>= 1;
        }
      }
    } else {
      sr = node_hash(sr, c);
    }
    fn >>= 1;
    sn >>= 1;
  }
  if (sn != 0) return proof_error("the consistency proof is shorter than the tree is deep");
  if (fr != from_root) return proof_error("the consistency proof does not lead to the first root");
  if (sr != to_root) return proof_error("the consistency proof does not lead to the second root");
  return Status::ok();
}

void CompactRange::append(const Hash256& leaf, const CompleteSubtree& on_complete) {
  Hash256 h = leaf;
  unsigned level = 0;
  uint64_t index = size_;
  if (on_complete) on_complete(level, index, h);
  // A right child completes its parent: merge with the left sibling.
  while (lsb(index)) {
    h = node_hash(hashes_.back(), h);
    hashes_.pop_back();
    ++level;
    index >>= 1;
    if (on_complete) on_complete(level, index, h);
  }
  hashes_.push_back(h);
  ++size_;
}

Hash256 CompactRange::root() const {
  if (hashes_.empty()) return empty_root();
  Hash256 h = hashes_.back();
  for (size_t i = hashes_.size() - 1; i > 0; --i) h = node_hash(hashes_[i - 1], h);
  return h;
}

Result<CompactRange> CompactRange::from_nodes(uint64_t size, const NodeReader& nodes) {
  CompactRange range;
  uint64_t start = 0;
  for (int level = 63; level >= 0; --level) {
    const uint64_t width = uint64_t{1} << level;
    if ((size & width) == 0) continue;
    auto h = nodes(static_cast<unsigned>(level), start >> level);
    if (!h) return h.status();
    range.hashes_.push_back(*h);
    start += width;
  }
  range.size_ = size;
  return range;
}

}  // namespace accountable::merkle
