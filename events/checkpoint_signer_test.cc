// CheckpointSigner: signs every N events, after T seconds only if the head
// moved, and the final head on close; what it signs is the log's real hash.
#include "events/checkpoint_signer.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "testing/fault_env.h"
#include "testing/log_test_util.h"

namespace accountable {
namespace {

using testing::fault_options;
using testing::make_commit;

class CheckpointSignerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto log = EventLog::open(fault_options(&env_));
    ASSERT_TRUE(log.is_ok()) << log.status().to_string();
    log_ = std::move(*log);
  }

  CheckpointSignerOptions options(uint64_t every_events, int64_t every_seconds) {
    CheckpointSignerOptions o;
    o.data_dir = "/data";
    o.env = &env_;
    o.every_events = every_events;
    o.every = std::chrono::seconds(every_seconds);
    o.clock = [this] { return Timestamp{now_.load()}; };
    o.background = false;
    return o;
  }

  void append(int events) {
    ASSERT_TRUE(log_->append(make_commit("s", ExpectedVersion::any(), events)).is_ok());
  }

  std::vector<SignedCheckpoint> on_disk() {
    auto read = read_signed_checkpoints(&env_, "/data");
    EXPECT_TRUE(read.is_ok()) << read.status().to_string();
    return read.is_ok() ? *read : std::vector<SignedCheckpoint>{};
  }

  FaultInjectionEnv env_;
  std::unique_ptr<EventLog> log_;
  std::atomic<int64_t> now_{1'000'000'000'000'000};
};

TEST_F(CheckpointSignerTest, SignsEveryNEventsWithTheLogsHashAtThatPosition) {
  auto signer = CheckpointSigner::open(options(5, 0), log_.get());
  ASSERT_TRUE(signer.is_ok()) << signer.status().to_string();
  std::vector<uint64_t> signed_at;
  std::vector<Hash256> hashes;
  for (int i = 0; i < 12; ++i) {
    append(1);
    auto did = (*signer)->sign_if_due();
    ASSERT_TRUE(did.is_ok());
    if (*did) {
      signed_at.push_back(log_->head().value());
      hashes.push_back(log_->head_hash());
    }
  }
  EXPECT_EQ(signed_at, (std::vector<uint64_t>{5, 10}));
  EXPECT_EQ((*signer)->last_signed_position(), 10u);

  auto cps = on_disk();
  ASSERT_EQ(cps.size(), 2u);
  for (size_t i = 0; i < cps.size(); ++i) {
    EXPECT_EQ(cps[i].position, signed_at[i]);
    EXPECT_EQ(cps[i].head_hash, hashes[i]);
    EXPECT_EQ(cps[i].recorded_at_micros, now_.load());
    EXPECT_TRUE(signature_valid(cps[i], (*signer)->public_key()));
  }
  // A commit that jumps past the next multiple signs its own head.
  append(7);
  ASSERT_TRUE(*(*signer)->sign_if_due());
  EXPECT_EQ((*signer)->last_signed_position(), 19u);
}

TEST_F(CheckpointSignerTest, SignsAfterTheIntervalOnlyWhenTheHeadMoved) {
  auto signer = CheckpointSigner::open(options(0, 60), log_.get());
  ASSERT_TRUE(signer.is_ok());
  append(2);
  EXPECT_FALSE(*(*signer)->sign_if_due());  // moved, but not 60 s yet
  now_ += 59'999'999;
  EXPECT_FALSE(*(*signer)->sign_if_due());
  now_ += 1;
  EXPECT_TRUE(*(*signer)->sign_if_due());
  EXPECT_EQ((*signer)->last_signed_position(), 2u);
  now_ += 3'600'000'000;
  EXPECT_FALSE(*(*signer)->sign_if_due());  // an hour later, but nothing new: no checkpoint
  append(1);
  EXPECT_TRUE(*(*signer)->sign_if_due());
  EXPECT_EQ(on_disk().size(), 2u);
}

TEST_F(CheckpointSignerTest, SignsTheFinalHeadOnCloseAndNothingWhenNothingMoved) {
  {
    auto signer = CheckpointSigner::open(options(1000, 600), log_.get());
    ASSERT_TRUE(signer.is_ok());
    append(3);
    EXPECT_FALSE(*(*signer)->sign_if_due());
    ASSERT_TRUE((*signer)->close().is_ok());
    EXPECT_EQ((*signer)->checkpoints_written(), 1u);
    ASSERT_TRUE((*signer)->close().is_ok());  // idempotent
  }
  auto cps = on_disk();
  ASSERT_EQ(cps.size(), 1u);
  EXPECT_EQ(cps[0].position, 3u);
  EXPECT_EQ(cps[0].head_hash, log_->head_hash());

  {  // A second run that appends nothing adds nothing; it continues from the file.
    auto signer = CheckpointSigner::open(options(1000, 600), log_.get());
    ASSERT_TRUE(signer.is_ok());
    EXPECT_EQ((*signer)->last_signed_position(), 3u);
    ASSERT_TRUE((*signer)->close().is_ok());
    EXPECT_EQ((*signer)->checkpoints_written(), 0u);
  }
  EXPECT_EQ(on_disk().size(), 1u);
  {  // The destructor closes too.
    auto signer = CheckpointSigner::open(options(1000, 600), log_.get());
    ASSERT_TRUE(signer.is_ok());
    append(1);
  }
  cps = on_disk();
  ASSERT_EQ(cps.size(), 2u);
  EXPECT_EQ(cps[1].position, 4u);
}

TEST_F(CheckpointSignerTest, AnEmptyLogIsNeverSigned) {
  auto signer = CheckpointSigner::open(options(1, 1), log_.get());
  ASSERT_TRUE(signer.is_ok());
  now_ += 10'000'000;
  EXPECT_FALSE(*(*signer)->sign_if_due());
  ASSERT_TRUE((*signer)->close().is_ok());
  EXPECT_TRUE(on_disk().empty());
}

TEST_F(CheckpointSignerTest, AFailedWriteStopsSigningAndTheNextOpenCutsThePartialRecord) {
  auto signer = CheckpointSigner::open(options(1, 0), log_.get());
  ASSERT_TRUE(signer.is_ok());
  append(1);
  ASSERT_TRUE(*(*signer)->sign_if_due());
  append(1);
  env_.short_write_next(30);
  EXPECT_FALSE((*signer)->sign_if_due().is_ok());
  append(1);
  EXPECT_FALSE((*signer)->sign_if_due().is_ok());  // stays stopped
  EXPECT_FALSE((*signer)->close().is_ok());
  signer->reset();

  auto again = CheckpointSigner::open(options(1, 0), log_.get());
  ASSERT_TRUE(again.is_ok()) << again.status().to_string();
  // The partial record is cut; the head the failed signer left unsigned (3)
  // is signed at open.
  EXPECT_EQ((*again)->last_signed_position(), 3u);
  EXPECT_EQ((*again)->checkpoints_written(), 1u);
  ASSERT_TRUE((*again)->close().is_ok());
  auto cps = on_disk();
  ASSERT_EQ(cps.size(), 2u);
  EXPECT_EQ(cps[1].position, 3u);
}

TEST_F(CheckpointSignerTest, SignsAtOpenWhatACrashLeftUnsigned) {
  append(3);  // committed, and the process died before a signature was due
  auto signer = CheckpointSigner::open(options(100, 0), log_.get());
  ASSERT_TRUE(signer.is_ok());
  EXPECT_EQ((*signer)->last_signed_position(), 3u);
  signer->reset();
  auto again = CheckpointSigner::open(options(100, 0), log_.get());  // nothing new: nothing signed
  ASSERT_TRUE(again.is_ok());
  EXPECT_EQ((*again)->checkpoints_written(), 0u);
  ASSERT_TRUE((*again)->close().is_ok());
  auto cps = on_disk();
  ASSERT_EQ(cps.size(), 1u);
  EXPECT_EQ(cps[0].position, 3u);
  EXPECT_EQ(cps[0].head_hash, log_->head_and_hash().second);
}

TEST_F(CheckpointSignerTest, TheBackgroundThreadSignsWithoutBeingAsked) {
  CheckpointSignerOptions o = options(4, 0);
  o.background = true;
  auto signer = CheckpointSigner::open(o, log_.get());
  ASSERT_TRUE(signer.is_ok());
  append(4);
  // Bounded wait for the thread (it polls); no assertion on how long it took.
  for (int i = 0; i < 1000 && (*signer)->last_signed_position() < 4; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ((*signer)->last_signed_position(), 4u);
  append(1);
  ASSERT_TRUE((*signer)->close().is_ok());
  EXPECT_EQ((*signer)->last_signed_position(), 5u);
}

}  // namespace
}  // namespace accountable
