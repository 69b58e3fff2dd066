// The follower's rule, as witnesses and auditors apply it: a new checkpoint
// is taken only with a valid consistency proof from the last one; a smaller
// tree, another root at the same size, a failed proof, another origin or
// another key are refused. The log here is a tree in memory, signed by a
// real key.
#include "transparency/checkpoint_follower.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include "events/merkle.h"
#include "events/signed_checkpoint.h"

namespace accountable {
namespace {

class MemoryLog final : public CheckpointSource {
 public:
  explicit MemoryLog(const SigningKey& key, std::string origin = "accountable/0011223344556677")
      : key_(key), origin_(std::move(origin)) {}
  void append(int n) {
    for (int i = 0; i < n; ++i) leaves_.push_back(merkle::leaf_hash(sha256("event " + std::to_string(leaves_.size()))));
  }
  void rewrite(size_t index) { leaves_.at(index) = merkle::leaf_hash(sha256("forged")); }
  void truncate(size_t n) { leaves_.resize(n); }
  merkle::NodeReader reader() const {
    return [this](unsigned level, uint64_t index) -> Result<Hash256> {
      merkle::CompactRange r;
      const uint64_t width = uint64_t{1} << level;
      for (uint64_t i = index * width; i < (index + 1) * width; ++i) r.append(leaves_.at(i));
      return r.root();
    };
  }
  Hash256 root(uint64_t n) const { return merkle::root(n, reader()).value(); }
  Result<std::string> latest_checkpoint() override {
    return sign_tree_checkpoint(origin_, TreeHead{leaves_.size(), root(leaves_.size())}, Timestamp{1'700'000'000'000'000},
                                key_)
        .note;
  }
  Result<ConsistencyBundle> consistency(uint64_t from, uint64_t to) override {
    ConsistencyBundle b;
    b.from = from;
    b.to = to;
    b.from_root = root(from);
    b.to_root = root(to);
    b.proof = merkle::consistency_proof(from, to, reader()).value();
    return b;
  }
  Result<std::string> post_cosigned(const std::string& note) override {
    posted.push_back(note);
    return std::string("{}");
  }
  std::vector<std::string> posted;

 private:
  const SigningKey& key_;
  std::string origin_;
  std::vector<Hash256> leaves_;
};

class FollowerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = ::testing::TempDir() + "follower-" + std::to_string(::getpid());
    ASSERT_TRUE(posix_env()->create_dir(dir_).is_ok());
    key_ = std::move(SigningKey::open_or_create_file(posix_env(), dir_ + "/log.key").value());
    other_ = std::move(SigningKey::open_or_create_file(posix_env(), dir_ + "/other.key").value());
  }

  // What a follower remembers after taking `step`.
  static FollowedCheckpoint remember(const FollowStep& step) {
    FollowedCheckpoint c;
    c.origin = step.checkpoint.body.origin;
    c.tree_size = step.checkpoint.body.tree_size;
    c.root = step.checkpoint.body.root;
    c.note = step.checkpoint.note;
    c.seen_at = "2026-12-03T00:00:00Z";
    return c;
  }

  std::string dir_;
  std::unique_ptr<SigningKey> key_;
  std::unique_ptr<SigningKey> other_;
};

TEST_F(FollowerTest, TakesAGrowingLogAndRemembersIt) {
  MemoryLog log(*key_);
  log.append(10);
  auto first = follow_checkpoint(log, key_->public_key(), std::nullopt);
  ASSERT_TRUE(first.is_ok()) << first.status().to_string();
  EXPECT_EQ(first->outcome, FollowOutcome::kFirst);
  FollowedCheckpoint seen = remember(*first);
  auto same = follow_checkpoint(log, key_->public_key(), seen);
  ASSERT_TRUE(same.is_ok());
  EXPECT_EQ(same->outcome, FollowOutcome::kUnchanged);
  log.append(23);
  auto grown = follow_checkpoint(log, key_->public_key(), seen);
  ASSERT_TRUE(grown.is_ok()) << grown.status().to_string();
  EXPECT_EQ(grown->outcome, FollowOutcome::kGrown);
  EXPECT_EQ(grown->previous_size, 10u);
  EXPECT_EQ(grown->checkpoint.body.tree_size, 33u);

  // The state file round-trips.
  const std::string path = dir_ + "/state.json";
  ASSERT_TRUE(save_followed(posix_env(), path, remember(*grown)).is_ok());
  auto loaded = load_followed(posix_env(), path);
  ASSERT_TRUE(loaded.is_ok());
  ASSERT_TRUE(loaded->has_value());
  EXPECT_EQ((*loaded)->tree_size, 33u);
  EXPECT_EQ((*loaded)->root, grown->checkpoint.body.root);
}

TEST_F(FollowerTest, RefusesARewriteARollbackAFork) {
  MemoryLog log(*key_);
  log.append(40);
  const FollowedCheckpoint seen = remember(follow_checkpoint(log, key_->public_key(), std::nullopt).value());

  // One event rewritten, more appended: not consistent with size 40.
  MemoryLog rewritten(*key_);
  rewritten.append(40);
  rewritten.rewrite(7);
  rewritten.append(5);
  TreeCheckpoint refused;
  auto r = follow_checkpoint(rewritten, key_->public_key(), seen, &refused);
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().code(), StatusCode::kConflict);
  EXPECT_EQ(refused.body.tree_size, 45u);  // what the alarm names
  EXPECT_NE(r.status().message().find("tree size 45 is not consistent with tree size 40"), std::string::npos)
      << r.status().message();

  // The same size with another root: a fork.
  MemoryLog forked(*key_);
  forked.append(40);
  forked.rewrite(39);
  r = follow_checkpoint(forked, key_->public_key(), seen);
  ASSERT_FALSE(r.is_ok());
  EXPECT_NE(r.status().message().find("a fork"), std::string::npos) << r.status().message();

  // Rolled back.
  MemoryLog older(*key_);
  older.append(30);
  r = follow_checkpoint(older, key_->public_key(), seen);
  ASSERT_FALSE(r.is_ok());
  EXPECT_NE(r.status().message().find("rolled back"), std::string::npos) << r.status().message();

  // Another origin (its first record rewritten).
  MemoryLog renamed(*key_, "accountable/ffffffffffffffff");
  renamed.append(41);
  r = follow_checkpoint(renamed, key_->public_key(), seen);
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().code(), StatusCode::kConflict);

  // Signed by another key: not the log speaking (not an alarm, an error).
  MemoryLog impostor(*other_);
  impostor.append(41);
  r = follow_checkpoint(impostor, key_->public_key(), seen);
  ASSERT_FALSE(r.is_ok());
  EXPECT_NE(r.status().code(), StatusCode::kConflict);
}

// A log that lies in its proof: the roots checked are the remembered and the
// signed ones, never those the proof carries.
class LyingProof final : public CheckpointSource {
 public:
  explicit LyingProof(MemoryLog& real) : real_(real) {}
  Result<std::string> latest_checkpoint() override { return real_.latest_checkpoint(); }
  Result<ConsistencyBundle> consistency(uint64_t from, uint64_t to) override {
    auto b = real_.consistency(from, to);
    if (b) b->proof.back()[0] ^= 1;
    return b;
  }
  Result<std::string> post_cosigned(const std::string&) override { return std::string(); }

 private:
  MemoryLog& real_;
};

TEST_F(FollowerTest, ABadProofIsRefused) {
  MemoryLog log(*key_);
  log.append(12);
  const FollowedCheckpoint seen = remember(follow_checkpoint(log, key_->public_key(), std::nullopt).value());
  log.append(9);
  LyingProof liar(log);
  auto r = follow_checkpoint(liar, key_->public_key(), seen);
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().code(), StatusCode::kConflict);
}

}  // namespace
}  // namespace accountable
