// The Merkle tree against an independent model written here from RFC 9162's
// definitions (recursion over a vector of leaves, no bit tricks), and against
// the published test vectors of transparency-dev/merkle (events/testdata/).
#include "events/merkle.h"

#include <gtest/gtest.h>
#include <sodium.h>

#include <boost/json.hpp>
#include <fstream>
#include <random>
#include <sstream>

#include "events/types.h"

namespace accountable::merkle {
namespace {

using Leaves = std::vector<Hash256>;

// ---- the model: RFC 9162 2.1.1, 2.1.3.1 and 2.1.4.1 as written -------------

Hash256 model_hash(const unsigned char prefix, std::string_view data) {
  std::string bytes(1, static_cast<char>(prefix));
  bytes.append(data);
  return sha256(bytes);
}

std::string_view bytes_of(const Hash256& h) { return {reinterpret_cast<const char*>(h.data()), h.size()}; }

// MTH(D[begin : end]); the leaves are leaf hashes already.
Hash256 model_mth(const Leaves& d, size_t begin, size_t end) {
  const size_t n = end - begin;
  if (n == 0) return sha256("");
  if (n == 1) return d[begin];
  size_t k = 1;
  while (k * 2 < n) k *= 2;
  return model_hash(0x01, std::string(bytes_of(model_mth(d, begin, begin + k))) +
                              std::string(bytes_of(model_mth(d, begin + k, end))));
}

Leaves model_path(size_t m, const Leaves& d, size_t begin, size_t end) {
  const size_t n = end - begin;
  if (n == 1) return {};
  size_t k = 1;
  while (k * 2 < n) k *= 2;
  Leaves out;
  if (m < k) {
    out = model_path(m, d, begin, begin + k);
    out.push_back(model_mth(d, begin + k, end));
  } else {
    out = model_path(m - k, d, begin + k, end);
    out.push_back(model_mth(d, begin, begin + k));
  }
  return out;
}

Leaves model_subproof(size_t m, const Leaves& d, size_t begin, size_t end, bool b) {
  const size_t n = end - begin;
  if (m == n) return b ? Leaves{} : Leaves{model_mth(d, begin, end)};
  size_t k = 1;
  while (k * 2 < n) k *= 2;
  Leaves out;
  if (m <= k) {
    out = model_subproof(m, d, begin, begin + k, b);
    out.push_back(model_mth(d, begin + k, end));
  } else {
    out = model_subproof(m - k, d, begin + k, end, false);
    out.push_back(model_mth(d, begin, begin + k));
  }
  return out;
}

// An independent check of an inclusion proof: rebuild the root by following
// the same recursion as PATH, consuming the proof from its end.
std::optional<Hash256> model_root_from_path(size_t m, size_t n, const Hash256& leaf, Leaves proof) {
  if (n == 1) return proof.empty() ? std::optional<Hash256>(leaf) : std::nullopt;
  if (proof.empty()) return std::nullopt;
  size_t k = 1;
  while (k * 2 < n) k *= 2;
  const Hash256 last = proof.back();
  proof.pop_back();
  if (m < k) {
    auto left = model_root_from_path(m, k, leaf, proof);
    if (!left) return std::nullopt;
    return model_hash(0x01, std::string(bytes_of(*left)) + std::string(bytes_of(last)));
  }
  auto right = model_root_from_path(m - k, n - k, leaf, proof);
  if (!right) return std::nullopt;
  return model_hash(0x01, std::string(bytes_of(last)) + std::string(bytes_of(*right)));
}

Leaves make_leaves(size_t n, uint32_t seed) {
  Leaves out;
  for (size_t i = 0; i < n; ++i) {
    const std::string record = "record " + std::to_string(seed) + "/" + std::to_string(i);
    out.push_back(leaf_hash(sha256(record)));
  }
  return out;
}

NodeReader reader_over(const Leaves& d, int* reads = nullptr) {
  return [&d, reads](unsigned level, uint64_t index) -> Result<Hash256> {
    if (reads) ++*reads;
    const size_t width = size_t{1} << level;
    const size_t begin = static_cast<size_t>(index) * width;
    if (begin + width > d.size()) return Status(StatusCode::kInternal, "read past the leaves");
    return model_mth(d, begin, begin + width);
  };
}

TEST(Merkle, HashingFollowsRfc9162) {
  const Hash256 data = sha256("x");
  EXPECT_EQ(leaf_hash(data), model_hash(0x00, bytes_of(data)));
  const Hash256 a = sha256("a"), b = sha256("b");
  EXPECT_EQ(node_hash(a, b), model_hash(0x01, std::string(bytes_of(a)) + std::string(bytes_of(b))));
  // The empty tree's root is SHA-256 of nothing (RFC 9162 2.1.1).
  EXPECT_EQ(hex_encode(empty_root().data(), 32), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(Merkle, RootsAndCompactRangeMatchTheModel) {
  const Leaves d = make_leaves(300, 1);
  CompactRange range;
  std::vector<std::tuple<unsigned, uint64_t, Hash256>> completed;
  for (size_t n = 0; n <= d.size(); ++n) {
    const Hash256 want = model_mth(d, 0, n);
    auto r = root(n, reader_over(d));
    ASSERT_TRUE(r) << r.status().to_string();
    EXPECT_EQ(*r, want) << "size " << n;
    EXPECT_EQ(range.root(), want) << "size " << n;
    auto rebuilt = CompactRange::from_nodes(n, reader_over(d));
    ASSERT_TRUE(rebuilt);
    EXPECT_EQ(rebuilt->root(), want);
    if (n < d.size()) {
      range.append(d[n], [&](unsigned level, uint64_t index, const Hash256& h) { completed.emplace_back(level, index, h); });
    }
  }
  // Every complete subtree is reported once, with its hash.
  size_t expected = 0;
  for (unsigned level = 0; (size_t{1} << level) <= d.size(); ++level) expected += d.size() >> level;
  EXPECT_EQ(completed.size(), expected);
  for (const auto& [level, index, h] : completed) {
    const size_t width = size_t{1} << level;
    EXPECT_EQ(h, model_mth(d, index * width, (index + 1) * width)) << level << "/" << index;
  }
}

TEST(Merkle, InclusionProofsForEveryLeafOfSmallTrees) {
  const Leaves d = make_leaves(70, 2);
  for (size_t n = 1; n <= d.size(); ++n) {
    const Hash256 r = model_mth(d, 0, n);
    for (size_t m = 0; m < n; ++m) {
      auto proof = inclusion_proof(m, n, reader_over(d));
      ASSERT_TRUE(proof) << proof.status().to_string();
      ASSERT_EQ(*proof, model_path(m, d, 0, n)) << "leaf " << m << " of " << n;
      EXPECT_TRUE(verify_inclusion(m, n, d[m], *proof, r).is_ok());
      EXPECT_EQ(model_root_from_path(m, n, d[m], *proof), r);
      // Another leaf, another index or another size does not verify.
      EXPECT_FALSE(verify_inclusion(m, n, d[(m + 1) % d.size()], *proof, r).is_ok());
      if (n > 1) {
        EXPECT_FALSE(verify_inclusion((m + 1) % n, n, d[m], *proof, r).is_ok());
      }
      // (The tree size is not hashed in: a proof can also fit a tree of
      // another size with the same shape. The signed checkpoint binds it.)
      for (size_t i = 0; i < proof->size(); ++i) {
        auto bad = *proof;
        bad[i][7] ^= 0x10;
        EXPECT_FALSE(verify_inclusion(m, n, d[m], bad, r).is_ok()) << "changed element " << i;
      }
    }
  }
}

TEST(Merkle, ConsistencyProofsForEveryPairOfSmallTrees) {
  const Leaves d = make_leaves(70, 3);
  for (size_t n = 1; n <= d.size(); ++n) {
    const Hash256 rn = model_mth(d, 0, n);
    for (size_t m = 1; m <= n; ++m) {
      const Hash256 rm = model_mth(d, 0, m);
      auto proof = consistency_proof(m, n, reader_over(d));
      ASSERT_TRUE(proof) << proof.status().to_string();
      ASSERT_EQ(*proof, m == n ? Leaves{} : model_subproof(m, d, 0, n, true)) << m << " -> " << n;
      EXPECT_TRUE(verify_consistency(m, n, rm, rn, *proof).is_ok()) << m << " -> " << n;
      // A different old root (history rewritten) or new root does not verify.
      Hash256 other = rm;
      other[0] ^= 1;
      EXPECT_FALSE(verify_consistency(m, n, other, rn, *proof).is_ok());
      other = rn;
      other[31] ^= 1;
      EXPECT_FALSE(verify_consistency(m, n, rm, other, *proof).is_ok());
      for (size_t i = 0; i < proof->size(); ++i) {
        auto bad = *proof;
        bad[i][3] ^= 0x80;
        EXPECT_FALSE(verify_consistency(m, n, rm, rn, bad).is_ok()) << "changed element " << i;
      }
    }
  }
  EXPECT_FALSE(consistency_proof(0, 5, reader_over(d)));
  EXPECT_FALSE(consistency_proof(6, 5, reader_over(d)));
  EXPECT_FALSE(inclusion_proof(5, 5, reader_over(d)));
}

TEST(Merkle, RandomPositionsAndPairsInLargerTreesCostLogarithmicReads) {
  const Leaves d = make_leaves(1500, 4);
  std::mt19937_64 rng(20261203);
  for (int round = 0; round < 100; ++round) {
    const size_t n = 1 + rng() % d.size();
    const size_t m = rng() % n;
    int reads = 0;
    auto proof = inclusion_proof(m, n, reader_over(d, &reads));
    ASSERT_TRUE(proof);
    EXPECT_EQ(*proof, model_path(m, d, 0, n));
    EXPECT_LE(reads, 2 * 64 - 1);  // the edge (one per set bit of n) plus one sibling per level
    EXPECT_EQ(model_root_from_path(m, n, d[m], *proof), model_mth(d, 0, n));
    const size_t from = 1 + rng() % n;
    reads = 0;
    auto cproof = consistency_proof(from, n, reader_over(d, &reads));
    ASSERT_TRUE(cproof);
    EXPECT_LE(reads, 2 * 64);
    EXPECT_TRUE(verify_consistency(from, n, model_mth(d, 0, from), model_mth(d, 0, n), *cproof).is_ok());
  }
}

// ---- transparency-dev/merkle's published vectors ----------------------------

std::optional<Hash256> from_base64(const boost::json::value& v) {
  const std::string s(v.as_string());
  Hash256 out{};
  size_t len = 0;
  if (sodium_base642bin(out.data(), out.size(), s.data(), s.size(), nullptr, &len, nullptr,
                        sodium_base64_VARIANT_ORIGINAL) != 0 ||
      len != out.size()) {
    return std::nullopt;
  }
  return out;
}

// Some vectors spell an empty proof as null.
boost::json::array proof_array(const boost::json::object& o) {
  const auto& p = o.at("proof");
  return p.is_null() ? boost::json::array() : p.as_array();
}

boost::json::value load_vectors() {
  std::ifstream in(std::string(ACCT_SOURCE_DIR) + "/events/testdata/rfc9162_vectors.json");
  std::stringstream ss;
  ss << in.rdbuf();
  return boost::json::parse(ss.str());
}

// A vector's hashes that are not 32 bytes cannot be expressed in this API;
// every such vector is one that expects a refusal, or one whose sizes make the
// roots irrelevant (counted, and said below).
TEST(Merkle, PublishedInclusionVectors) {
  ASSERT_EQ(sodium_init() < 0, false);
  const auto all = load_vectors();
  int checked = 0, not_expressible = 0;
  for (const auto& v : all.at("inclusion").as_array()) {
    const auto& o = v.as_object();
    const bool want_error = o.at("wantErr").as_bool();
    auto leaf = from_base64(o.at("leafHash"));
    auto r = from_base64(o.at("root"));
    std::vector<Hash256> proof;
    bool expressible = leaf && r;
    for (const auto& p : proof_array(o)) {
      auto h = from_base64(p);
      if (!h) expressible = false;
      else proof.push_back(*h);
    }
    if (!expressible) {
      EXPECT_TRUE(want_error) << o.at("file").as_string();
      ++not_expressible;
      continue;
    }
    const Status s = verify_inclusion(o.at("leafIdx").to_number<uint64_t>(), o.at("treeSize").to_number<uint64_t>(),
                                      *leaf, proof, *r);
    EXPECT_EQ(!s.is_ok(), want_error) << o.at("file").as_string() << ": " << s.to_string();
    ++checked;
  }
  EXPECT_EQ(checked, 72);
  EXPECT_EQ(checked + not_expressible, 98);
}

TEST(Merkle, PublishedConsistencyVectors) {
  const auto all = load_vectors();
  int checked = 0, not_expressible = 0;
  for (const auto& v : all.at("consistency").as_array()) {
    const auto& o = v.as_object();
    const bool want_error = o.at("wantErr").as_bool();
    auto r1 = from_base64(o.at("root1"));
    auto r2 = from_base64(o.at("root2"));
    std::vector<Hash256> proof;
    bool expressible = r1 && r2;
    for (const auto& p : proof_array(o)) {
      auto h = from_base64(p);
      if (!h) expressible = false;
      else proof.push_back(*h);
    }
    const std::string file(o.at("file").as_string());
    if (!expressible) {
      // One published vector ("sizes are equal (one) and proof is empty")
      // passes with 12-byte roots in Go, which never looks at them; a 32-byte
      // API cannot take them.
      if (!want_error) {
        EXPECT_EQ(file, "testdata/consistency/additional/sizes-are-equal-one-and-proof-is-empty.json");
      }
      ++not_expressible;
      continue;
    }
    const Status s = verify_consistency(o.at("size1").to_number<uint64_t>(), o.at("size2").to_number<uint64_t>(), *r1,
                                        *r2, proof);
    EXPECT_EQ(!s.is_ok(), want_error) << file << ": " << s.to_string();
    ++checked;
  }
  EXPECT_EQ(checked, 71);
  EXPECT_EQ(checked + not_expressible, 98);
}

}  // namespace
}  // namespace accountable::merkle
