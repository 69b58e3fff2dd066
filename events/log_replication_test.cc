// The log's two cluster entry points (docs/cluster.md): the replicator a
// leader's writer calls with each sealed batch before writing it, and
// apply_sealed, which a follower uses to append the same batch byte for byte.
#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "events/event_log.h"
#include "events/log_scanner.h"
#include "testing/fault_env.h"
#include "testing/log_test_util.h"

namespace accountable {
namespace {

using testing::all_events;
using testing::fault_options;
using testing::make_commit;
using testing::open_log;

// A sealed batch with its own copy of the frames.
struct CopiedBatch {
  SealedBatch batch;
  std::string frames;
  SealedBatch view() const {
    SealedBatch b = batch;
    b.frames = frames;
    return b;
  }
};


// A leader whose replicator records every batch (or refuses while `refuse` is set).
struct Leader {
  FaultInjectionEnv env;
  std::vector<CopiedBatch> batches;
  bool refuse = false;
  std::unique_ptr<EventLog> log;
  explicit Leader(uint64_t segment_bytes = 64 * 1024, std::function<Timestamp()> clock = nullptr) {
    LogOptions o = fault_options(&env, "/leader");
    o.segment_bytes = segment_bytes;
    o.clock = std::move(clock);
    o.replicator = [this](const SealedBatch& b) {
      if (refuse) return Status(StatusCode::kUnavailable, "not committed to Kafka (test)");
      batches.push_back(CopiedBatch{b, std::string(b.frames)});
      return Status::ok();
    };
    log = open_log(o);
  }
};

std::string segment_bytes_of(FaultInjectionEnv& env, const std::string& dir) {
  auto segments = list_segments(&env, dir + "/log");
  if (!segments) return "error: " + segments.status().to_string();
  std::string all;
  for (const SegmentFile& s : *segments) all += s.name + ":" + env.contents(s.path) + "|";
  return all;
}

TEST(LogReplication, AFollowerThatAppliesEveryBatchHoldsTheSameBytes) {
  Leader leader(/*segment_bytes=*/4096);  // small segments: the batches roll several
  for (int i = 0; i < 40; ++i) {
    auto r = leader.log->append(make_commit("stream-" + std::to_string(i % 5), ExpectedVersion::any(), 1 + i % 3));
    ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  }
  ASSERT_EQ(leader.batches.size(), 40u);
  EXPECT_EQ(leader.batches.front().batch.first, GlobalPosition(1));
  EXPECT_EQ(leader.batches.back().batch.last, leader.log->head());

  FaultInjectionEnv follower_env;
  LogOptions fo = fault_options(&follower_env, "/follower");
  fo.segment_bytes = 4096;
  auto follower = open_log(fo);
  for (const CopiedBatch& b : leader.batches) {
    auto applied = follower->apply_sealed(b.view());
    ASSERT_TRUE(applied.is_ok()) << applied.status().to_string();
    EXPECT_TRUE(*applied);
  }
  EXPECT_EQ(follower->head_and_hash(), leader.log->head_and_hash());
  EXPECT_EQ(all_events(*follower), all_events(*leader.log));
  EXPECT_EQ(follower->stream_version("stream-3"), leader.log->stream_version("stream-3"));
  auto segments = list_segments(&follower_env, "/follower/log");
  ASSERT_TRUE(segments.is_ok());
  EXPECT_GT(segments->size(), 2u);
  EXPECT_EQ(segment_bytes_of(follower_env, "/follower"), segment_bytes_of(leader.env, "/leader"));

  // A batch it already has changes nothing.
  auto again = follower->apply_sealed(leader.batches[3].view());
  ASSERT_TRUE(again.is_ok());
  EXPECT_FALSE(*again);

  // It reopens from what it wrote, and idempotency knows the applied commands.
  ASSERT_TRUE(follower->close().is_ok());
  follower.reset();
  auto reopened = open_log(fo);
  EXPECT_EQ(reopened->head_and_hash(), leader.log->head_and_hash());
}

// A cluster leader's reader reads the leader's own batches back from Kafka
// and hands each to apply_sealed, which must take the writer's place: here
// a batch is always in the log already when apply_sealed gets its turn, and
// is never applied a second time. The writer's group-commit window used to
// let go of that place while it waited (apply_sealed then ran beside the
// writer's next batch and found a version gap, or wrote a batch twice).
TEST(LogReplication, ALeaderReadingItsOwnBatchesBackNeverAppliesThemTwice) {
  FaultInjectionEnv env;
  std::mutex mu;
  std::condition_variable cv;
  std::deque<CopiedBatch> replicated;
  bool done = false;
  LogOptions o = fault_options(&env, "/leader");
  o.replicator = [&](const SealedBatch& b) {
    {
      std::lock_guard lock(mu);
      replicated.push_back(CopiedBatch{b, std::string(b.frames)});
    }
    cv.notify_one();
    return Status::ok();
  };
  auto log = open_log(o);

  size_t read_back = 0;
  std::vector<std::string> problems;
  std::thread reader([&] {
    while (true) {
      std::unique_lock lock(mu);
      if (!cv.wait_for(lock, std::chrono::seconds(60), [&] { return !replicated.empty() || done; })) break;
      if (replicated.empty()) break;  // done, and every batch read back
      CopiedBatch b = std::move(replicated.front());
      replicated.pop_front();
      lock.unlock();
      auto applied = log->apply_sealed(b.view());
      read_back += 1;
      if (!applied.is_ok()) {
        problems.push_back(applied.status().to_string());
      } else if (*applied) {
        problems.push_back("batch " + std::to_string(b.batch.first.value()) + " applied a second time");
      }
    }
  });

  // Appenders that share streams, so that batches carry several commits and
  // the writer waits in its group-commit window between them.
  constexpr int kThreads = 8;
  constexpr int kCommitsEach = 400;
  std::vector<std::thread> appenders;
  std::atomic<int> failed{0};
  for (int t = 0; t < kThreads; ++t) {
    appenders.emplace_back([&, t] {
      for (int i = 0; i < kCommitsEach; ++i) {
        if (!log->append(make_commit(i % 2 == 0 ? "catalog" : "stream-" + std::to_string(t), ExpectedVersion::any()))
                 .is_ok()) {
          failed += 1;
        }
      }
    });
  }
  for (auto& a : appenders) a.join();
  {
    std::lock_guard lock(mu);
    done = true;
  }
  cv.notify_one();
  reader.join();

  EXPECT_EQ(failed.load(), 0);
  EXPECT_TRUE(problems.empty()) << problems.size() << " problem(s), the first: " << problems.front();
  EXPECT_EQ(log->head().value(), static_cast<uint64_t>(kThreads * kCommitsEach));
  EXPECT_EQ(log->stream_version("catalog").value(), static_cast<uint64_t>(kThreads * kCommitsEach / 2));
  EXPECT_GT(read_back, 0u);
  // What the log holds is what it acknowledged: it opens again with the same head.
  ASSERT_TRUE(log->close().is_ok());
  log.reset();
  o.replicator = nullptr;
  auto reopened = open_log(o);
  EXPECT_EQ(reopened->head().value(), static_cast<uint64_t>(kThreads * kCommitsEach));
  EXPECT_EQ(reopened->stream_version("catalog").value(), static_cast<uint64_t>(kThreads * kCommitsEach / 2));
}

TEST(LogReplication, ARefusedBatchWritesNothingAndTheLogGoesOn) {
  Leader leader;
  ASSERT_TRUE(leader.log->append(make_commit("s", ExpectedVersion::no_stream())).is_ok());
  const auto before = leader.log->head_and_hash();
  leader.refuse = true;
  auto refused = leader.log->append(make_commit("s", ExpectedVersion::exact(StreamVersion(1))));
  ASSERT_FALSE(refused.is_ok());
  EXPECT_EQ(refused.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(leader.log->head_and_hash(), before);
  EXPECT_EQ(leader.log->stream_version("s"), StreamVersion(1));
  EXPECT_TRUE(leader.log->health().is_ok());

  // The same command again, once replication works: the same positions,
  // chained to the head as if the refused batch had never been sealed.
  leader.refuse = false;
  auto ok = leader.log->append(make_commit("s", ExpectedVersion::exact(StreamVersion(1))));
  ASSERT_TRUE(ok.is_ok()) << ok.status().to_string();
  EXPECT_EQ(ok->first_position, GlobalPosition(2));
  EXPECT_EQ(leader.batches.back().batch.prev_hash, before.second);

  FaultInjectionEnv follower_env;
  auto follower = open_log(fault_options(&follower_env, "/follower"));
  for (const CopiedBatch& b : leader.batches) ASSERT_TRUE(follower->apply_sealed(b.view()).is_ok());
  EXPECT_EQ(follower->head_and_hash(), leader.log->head_and_hash());
}

TEST(LogReplication, ABatchThatDoesNotContinueTheLogIsRefused) {
  Leader leader;
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(leader.log->append(make_commit("s", ExpectedVersion::any())).is_ok());
  FaultInjectionEnv follower_env;
  auto follower = open_log(fault_options(&follower_env, "/follower"));

  // A gap: batch 2 before batch 1.
  auto gap = follower->apply_sealed(leader.batches[1].view());
  ASSERT_FALSE(gap.is_ok());
  EXPECT_EQ(gap.status().code(), StatusCode::kCorruption);
  EXPECT_NE(gap.status().message().find("does not continue this log, whose head is position 0"), std::string::npos)
      << gap.status().message();

  ASSERT_TRUE(follower->apply_sealed(leader.batches[0].view()).is_ok());
  // A fork: the right position, another chain.
  CopiedBatch forked = leader.batches[1];
  forked.batch.prev_hash[0] ^= 1;
  auto fork = follower->apply_sealed(forked.view());
  ASSERT_FALSE(fork.is_ok());
  EXPECT_NE(fork.status().message().find("diverged"), std::string::npos) << fork.status().message();

  // A flipped byte inside the frames: the CRC catches it.
  CopiedBatch flipped = leader.batches[1];
  flipped.frames[flipped.frames.size() / 2] ^= 0x20;
  auto bad = follower->apply_sealed(flipped.view());
  ASSERT_FALSE(bad.is_ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kCorruption);
  EXPECT_NE(bad.status().message().find("position 2"), std::string::npos) << bad.status().message();

  // A batch that names a later end than its frames reach.
  CopiedBatch short_end = leader.batches[1];
  short_end.batch.last = GlobalPosition(9);
  EXPECT_FALSE(follower->apply_sealed(short_end.view()).is_ok());

  // None of that wrote a byte: the real batch still applies.
  EXPECT_EQ(follower->head(), GlobalPosition(1));
  EXPECT_TRUE(follower->health().is_ok());
  ASSERT_TRUE(follower->apply_sealed(leader.batches[1].view()).is_ok());
  ASSERT_TRUE(follower->apply_sealed(leader.batches[2].view()).is_ok());
  EXPECT_EQ(follower->head_and_hash(), leader.log->head_and_hash());
}

TEST(LogReplication, ACopyHoldingTheStartOfABatchTakesTheRest) {
  Leader leader;
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(leader.log->append(make_commit("s", ExpectedVersion::any())).is_ok());
  // Batches 2 and 3 as the one batch a writer could have made of them.
  CopiedBatch both = leader.batches[1];
  both.frames += leader.batches[2].frames;
  both.batch.last = leader.batches[2].batch.last;
  both.batch.hash = leader.batches[2].batch.hash;

  FaultInjectionEnv follower_env;
  auto follower = open_log(fault_options(&follower_env, "/follower"));
  ASSERT_TRUE(follower->apply_sealed(leader.batches[0].view()).is_ok());
  ASSERT_TRUE(follower->apply_sealed(leader.batches[1].view()).is_ok());  // the start of `both`
  auto applied = follower->apply_sealed(both.view());
  ASSERT_TRUE(applied.is_ok()) << applied.status().to_string();
  EXPECT_TRUE(*applied);
  EXPECT_EQ(follower->head_and_hash(), leader.log->head_and_hash());
  EXPECT_EQ(segment_bytes_of(follower_env, "/follower"), segment_bytes_of(leader.env, "/leader"));

  // A copy whose head is not a commit boundary of the batch, or whose chain
  // differs, is refused.
  FaultInjectionEnv other_env;
  auto other = open_log(fault_options(&other_env, "/other"));
  ASSERT_TRUE(other->append(make_commit("x", ExpectedVersion::any())).is_ok());  // its own position 1
  ASSERT_TRUE(other->apply_sealed(leader.batches[1].view()).status().code() == StatusCode::kCorruption);
  CopiedBatch all = leader.batches[0];
  all.frames += both.frames;
  all.batch.last = both.batch.last;
  all.batch.hash = both.batch.hash;
  auto forked = other->apply_sealed(all.view());
  ASSERT_FALSE(forked.is_ok());
  EXPECT_EQ(other->head(), GlobalPosition(1));
}

TEST(LogReplication, AFailedFsyncWhileApplyingPoisonsTheFollower) {
  Leader leader;
  ASSERT_TRUE(leader.log->append(make_commit("s", ExpectedVersion::any())).is_ok());
  FaultInjectionEnv follower_env;
  auto follower = open_log(fault_options(&follower_env, "/follower"));
  follower_env.fail_syncs(1);
  auto applied = follower->apply_sealed(leader.batches[0].view());
  ASSERT_FALSE(applied.is_ok());
  EXPECT_EQ(applied.status().code(), StatusCode::kPoisoned);
  EXPECT_EQ(follower->head(), GlobalPosition(0));
  EXPECT_FALSE(follower->apply_sealed(leader.batches[0].view()).is_ok());
}

TEST(LogReplication, ALeaderThatFollowedFirstContinuesTheChainAndTheClock) {
  Leader first;
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(first.log->append(make_commit("s", ExpectedVersion::any())).is_ok());
  // The second node follows, then leads with its own replicator, and a clock
  // that is behind the first's.
  Leader second(64 * 1024, [] { return Timestamp{1}; });
  for (const CopiedBatch& b : first.batches) ASSERT_TRUE(second.log->apply_sealed(b.view()).is_ok());
  auto r = second.log->append(make_commit("s", ExpectedVersion::exact(StreamVersion(4))));
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  EXPECT_EQ(r->first_position, GlobalPosition(5));
  ASSERT_EQ(second.batches.size(), 1u);
  EXPECT_EQ(second.batches[0].batch.prev_hash, first.log->head_hash());
  EXPECT_GE(r->recorded_at, first.log->read_all(GlobalPosition(4), 1)->events.at(0).recorded_at);
  // And the first applies the second's batch: both copies agree again.
  ASSERT_TRUE(first.log->apply_sealed(second.batches[0].view()).is_ok());
  EXPECT_EQ(first.log->head_and_hash(), second.log->head_and_hash());
}

}  // namespace
}  // namespace accountable
