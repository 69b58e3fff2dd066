// The tree kept on disk beside a log: it gives the roots of a tree built in
// memory from the log's record hashes, catches up, survives reopening, and is
// rebuilt (or refused) when its files or the log do not agree.
#include "events/merkle_tree.h"

#include <gtest/gtest.h>

#include <random>

#include "testing/fault_env.h"
#include "testing/log_test_util.h"

namespace accountable {
namespace {

using testing::fault_options;
using testing::make_commit;

class MerkleTreeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto log = EventLog::open(fault_options(&env_));
    ASSERT_TRUE(log.is_ok()) << log.status().to_string();
    log_ = std::move(*log);
  }

  void append(int commits) {
    for (int i = 0; i < commits; ++i) {
      ASSERT_TRUE(log_->append(make_commit("s" + std::to_string(i % 5), ExpectedVersion::any(), 1 + i % 3)).is_ok());
    }
  }

  // Leaf hashes straight from the log.
  std::vector<Hash256> log_leaves() {
    std::vector<Hash256> out;
    EXPECT_TRUE(log_->scan_all(GlobalPosition(1), {}, [&](const RecordedEvent& e) {
                      out.push_back(merkle::leaf_hash(e.hash));
                      return true;
                    }).is_ok());
    return out;
  }

  Hash256 memory_root(const std::vector<Hash256>& leaves, uint64_t size) {
    merkle::CompactRange r;
    for (uint64_t i = 0; i < size; ++i) r.append(leaves[i]);
    return r.root();
  }

  std::unique_ptr<MerkleTree> open_tree(const std::optional<TreeHead>& signed_head, MerkleOpenReport* report = nullptr) {
    std::vector<TreeHead> heads;
    if (signed_head) heads.push_back(*signed_head);
    auto tree = MerkleTree::open(&env_, "/data", *log_, heads, report);
    EXPECT_TRUE(tree.is_ok()) << tree.status().to_string();
    return tree ? std::move(*tree) : nullptr;
  }

  void overwrite(const std::string& path, uint64_t offset, char byte) {
    auto bytes = env_.read_file(path);
    ASSERT_TRUE(bytes.is_ok());
    (*bytes)[offset] = byte;
    auto f = env_.new_writable_file(path);
    ASSERT_TRUE(f.is_ok());
    ASSERT_TRUE((*f)->append(*bytes).is_ok());
    ASSERT_TRUE((*f)->close().is_ok());
  }

  FaultInjectionEnv env_;
  std::unique_ptr<EventLog> log_;
};

TEST_F(MerkleTreeTest, RootsAndProofsMatchATreeBuiltFromTheLog) {
  append(400);  // 800 events: level-1 holds 3 complete tiles
  auto tree = open_tree(std::nullopt);
  ASSERT_NE(tree, nullptr);
  const auto leaves = log_leaves();
  ASSERT_EQ(tree->size(), leaves.size());
  EXPECT_EQ(tree->head().root, memory_root(leaves, leaves.size()));
  std::mt19937_64 rng(7);
  for (int i = 0; i < 60; ++i) {
    const uint64_t n = 1 + rng() % leaves.size();
    const uint64_t m = rng() % n;
    const Hash256 root = memory_root(leaves, n);
    auto r = tree->root_at(n);
    ASSERT_TRUE(r.is_ok());
    EXPECT_EQ(*r, root) << n;
    auto proof = tree->inclusion_proof(m, n);
    ASSERT_TRUE(proof.is_ok()) << proof.status().to_string();
    EXPECT_TRUE(merkle::verify_inclusion(m, n, leaves[m], *proof, root).is_ok()) << m << " in " << n;
    const uint64_t from = 1 + rng() % n;
    auto cproof = tree->consistency_proof(from, n);
    ASSERT_TRUE(cproof.is_ok());
    EXPECT_TRUE(merkle::verify_consistency(from, n, memory_root(leaves, from), root, *cproof).is_ok());
  }
  EXPECT_FALSE(tree->root_at(leaves.size() + 1).is_ok());
  EXPECT_FALSE(tree->inclusion_proof(0, leaves.size() + 1).is_ok());
}

TEST_F(MerkleTreeTest, CatchesUpAndReopensWithTheSignedHead) {
  append(100);
  auto tree = open_tree(std::nullopt);
  ASSERT_NE(tree, nullptr);
  const TreeHead signed_head = tree->head();
  append(150);
  EXPECT_LT(tree->size(), log_->head().value());
  ASSERT_TRUE(tree->catch_up(*log_).is_ok());
  EXPECT_EQ(tree->size(), log_->head().value());
  const TreeHead later = tree->head();
  ASSERT_TRUE(tree->sync().is_ok());
  tree.reset();

  MerkleOpenReport report;
  tree = open_tree(signed_head, &report);
  ASSERT_NE(tree, nullptr);
  EXPECT_FALSE(report.rebuilt) << report.why_rebuilt;
  EXPECT_EQ(report.leaves_kept, signed_head.size);  // everything after it recomputed from the log
  EXPECT_EQ(report.leaves_appended, later.size - signed_head.size);
  EXPECT_EQ(tree->head().root, later.root);
  EXPECT_EQ(tree->root_at(signed_head.size).value(), signed_head.root);
}

// The files are synced only now and then: a crash may cost their tail. Open
// keeps what the largest signed root they still reach vouches for.
TEST_F(MerkleTreeTest, FilesThatLostTheirTailKeepTheLargestPrefixASignedRootVouchesFor) {
  append(100);
  auto tree = open_tree(std::nullopt);
  ASSERT_NE(tree, nullptr);
  const TreeHead first = tree->head();
  append(100);
  ASSERT_TRUE(tree->catch_up(*log_).is_ok());
  const TreeHead second = tree->head();
  ASSERT_GT(second.size, first.size + 20);
  tree.reset();
  // Cut every level back to a size between the two signed heads.
  const uint64_t cut = first.size + 10;
  for (unsigned k = 0; k < merkle_tree_format::kLevels; ++k) {
    const uint64_t entries = cut >> (merkle_tree_format::kTileHeight * k);
    ASSERT_TRUE(env_.truncate_file(merkle_level_path("/data", k), merkle_tree_format::kHeaderSize + entries * 32).is_ok());
  }
  MerkleOpenReport report;
  auto reopened = MerkleTree::open(&env_, "/data", *log_, {first, second}, &report);
  ASSERT_TRUE(reopened.is_ok()) << reopened.status().to_string();
  EXPECT_FALSE(report.rebuilt) << report.why_rebuilt;
  EXPECT_EQ(report.leaves_kept, first.size);
  EXPECT_EQ((*reopened)->head().root, second.root);
}

TEST_F(MerkleTreeTest, DamagedFilesAreRebuiltFromTheLog) {
  append(300);
  auto tree = open_tree(std::nullopt);
  ASSERT_NE(tree, nullptr);
  const TreeHead head = tree->head();
  ASSERT_TRUE(tree->sync().is_ok());
  tree.reset();

  // The first hash of every level changed: the signed root's leftmost
  // subtree reads one of them, so the root the files give is not the signed one.
  for (unsigned k = 0; k < merkle_tree_format::kLevels; ++k) {
    if (env_.file_size(merkle_level_path("/data", k)).value() > merkle_tree_format::kHeaderSize) {
      overwrite(merkle_level_path("/data", k), merkle_tree_format::kHeaderSize + 5, 'x');
    }
  }
  MerkleOpenReport report;
  tree = open_tree(head, &report);
  ASSERT_NE(tree, nullptr);
  EXPECT_TRUE(report.rebuilt);
  EXPECT_EQ(tree->head().root, head.root);
  tree.reset();

  // A damaged header, and a missing file.
  overwrite("/data/merkle/level-0", 0, 'Z');
  tree = open_tree(head, &report);
  ASSERT_NE(tree, nullptr);
  EXPECT_TRUE(report.rebuilt);
  EXPECT_EQ(tree->head().root, head.root);
  tree.reset();
  ASSERT_TRUE(env_.remove_file("/data/merkle/level-0").is_ok());
  tree = open_tree(head, &report);
  ASSERT_NE(tree, nullptr);
  EXPECT_TRUE(report.rebuilt);
  EXPECT_EQ(tree->head().root, head.root);
  auto leaf = tree->leaf(17);
  ASSERT_TRUE(leaf.is_ok());
  EXPECT_EQ(*leaf, log_leaves()[17]);
}

TEST_F(MerkleTreeTest, ALogThatIsNotTheSignedOneIsRefused) {
  append(50);
  auto tree = open_tree(std::nullopt);
  ASSERT_NE(tree, nullptr);
  TreeHead head = tree->head();
  tree.reset();
  TreeHead forged = head;
  forged.root[0] ^= 1;
  auto refused = MerkleTree::open(&env_, "/data", *log_, {forged});
  ASSERT_FALSE(refused.is_ok());
  EXPECT_EQ(refused.status().code(), StatusCode::kCorruption);
  EXPECT_NE(refused.status().message().find("not the one that was signed"), std::string::npos)
      << refused.status().to_string();
  TreeHead beyond = head;
  beyond.size = head.size + 10;
  refused = MerkleTree::open(&env_, "/data", *log_, {beyond});
  ASSERT_FALSE(refused.is_ok());
  EXPECT_NE(refused.status().message().find("signed events are missing"), std::string::npos);
}

}  // namespace
}  // namespace accountable
