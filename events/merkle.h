// The RFC 9162 (RFC 6962) Merkle tree over the log's records: hashing, the
// right edge of a growing tree, inclusion and consistency proofs and their
// verification. Pure functions; where the hashes live is MerkleTree's job
// (events/merkle_tree.h). docs/log-format.md, "Merkle tree".
//
// Leaf i (0-based) is the record at position i + 1; its leaf data is the
// record's chain hash, so leaf hash = SHA-256(0x00 || record hash). An
// interior node is SHA-256(0x01 || left || right). A tree of n leaves splits
// at the largest power of two below n (no duplicated odd nodes).
#pragma once

#include <cstdint>
#include <functional>
#include <string_view>
#include <vector>

#include "events/sha256.h"
#include "events/status.h"

namespace accountable::merkle {

Hash256 leaf_hash(std::string_view leaf_data);
inline Hash256 leaf_hash(const Hash256& record_hash) {
  return leaf_hash(std::string_view(reinterpret_cast<const char*>(record_hash.data()), record_hash.size()));
}
Hash256 node_hash(const Hash256& left, const Hash256& right);
Hash256 empty_root();  // SHA-256 of nothing: the root of the empty tree

// The largest power of two strictly below n (n >= 2): where RFC 9162 splits.
uint64_t split_point(uint64_t n);

// The hash of the complete subtree of 2^level leaves that starts at leaf
// index << level. Only ever asked for subtrees inside the tree at hand.
using NodeReader = std::function<Result<Hash256>(unsigned level, uint64_t index)>;

// The root of the tree of the first `size` leaves (empty_root() for 0).
Result<Hash256> root(uint64_t size, const NodeReader& nodes);

// RFC 9162 2.1.3.1: the audit path of leaf `index` in the tree of `size`
// leaves, from the leaf's sibling up. index < size.
Result<std::vector<Hash256>> inclusion_proof(uint64_t index, uint64_t size, const NodeReader& nodes);

// RFC 9162 2.1.4.1: proof that the tree of `from` leaves is a prefix of the
// tree of `to` leaves. 0 < from <= to (empty when equal).
Result<std::vector<Hash256>> consistency_proof(uint64_t from, uint64_t to, const NodeReader& nodes);

// RFC 9162 2.1.3.2. OK, or kInvalidArgument saying what does not hold.
Status verify_inclusion(uint64_t index, uint64_t size, const Hash256& leaf, const std::vector<Hash256>& proof,
                        const Hash256& root);

// RFC 9162 2.1.4.2. OK, or kInvalidArgument saying what does not hold.
Status verify_consistency(uint64_t from, uint64_t to, const Hash256& from_root, const Hash256& to_root,
                          const std::vector<Hash256>& proof);

// The right edge of a growing tree: the roots of its complete subtrees, at
// most one per level (64 hashes at most). Appending a leaf merges equal-sized
// subtrees; the tree's root at any size folds them right to left.
class CompactRange {
 public:
  // `on_complete(level, index, hash)` is told of every complete subtree
  // formed by an append, leaves (level 0) included: what MerkleTree persists.
  using CompleteSubtree = std::function<void(unsigned level, uint64_t index, const Hash256& hash)>;

  uint64_t size() const { return size_; }
  void append(const Hash256& leaf, const CompleteSubtree& on_complete = {});
  Hash256 root() const;
  // Rebuilds the edge of a tree of `size` leaves from its node hashes.
  static Result<CompactRange> from_nodes(uint64_t size, const NodeReader& nodes);

 private:
  uint64_t size_ = 0;
  std::vector<Hash256> hashes_;  // complete subtrees, largest (leftmost) first
};

}  // namespace accountable::merkle
