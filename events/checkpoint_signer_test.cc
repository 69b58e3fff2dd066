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

namespace accountable {
namespace {

using testing::fault_options;
using testing::make_commit;

// The tree checkpoints the signer writes beside the chain ones, what it
// publishes, and the witnesses' cosigned copies it keeps.
class TreeCheckpointSignerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto log = EventLog::open(fault_options(&env_));
    ASSERT_TRUE(log.is_ok()) << log.status().to_string();
    log_ = std::move(*log);
  }

  CheckpointSignerOptions options() {
    CheckpointSignerOptions o;
    o.data_dir = "/data";
    o.env = &env_;
    o.every_events = 4;
    o.every = std::chrono::seconds(0);
    o.background = false;
    return o;
  }

  void append(int events) { ASSERT_TRUE(log_->append(make_commit("s", ExpectedVersion::any(), events)).is_ok()); }

  FaultInjectionEnv env_;
  std::unique_ptr<EventLog> log_;
};

TEST_F(TreeCheckpointSignerTest, SignsTheTreeAndPublishesEveryCheckpointInOrder) {
  std::vector<uint64_t> published;
  bool refuse = true;
  CheckpointSignerOptions o = options();
  o.publishers.push_back({"test", [&](const TreeCheckpoint& c) -> Status {
                            if (refuse) return Status(StatusCode::kUnavailable, "down");
                            published.push_back(c.body.tree_size);
                            return Status::ok();
                          }});
  auto signer = CheckpointSigner::open(o, log_.get());
  ASSERT_TRUE(signer.is_ok()) << signer.status().to_string();
  append(5);
  ASSERT_TRUE((*signer)->sign_if_due().value());
  append(4);
  ASSERT_TRUE((*signer)->sign_if_due().value());
  auto latest = (*signer)->latest_tree_checkpoint();
  ASSERT_TRUE(latest.has_value());
  EXPECT_EQ(latest->body.tree_size, 9u);
  EXPECT_TRUE(check_tree_checkpoint(*latest, (*signer)->public_key()).is_ok());
  // Its root is the log's: leaves from the record hashes.
  merkle::CompactRange range;
  ASSERT_TRUE(log_->scan_all(GlobalPosition(1), {}, [&](const RecordedEvent& e) {
                    range.append(merkle::leaf_hash(e.hash));
                    return true;
                  }).is_ok());
  EXPECT_EQ(latest->body.root, range.root());
  // A destination that is down keeps them waiting, in order, bounded.
  (*signer)->publish_waiting();
  EXPECT_EQ((*signer)->publish_stats().waiting, 2u);
  EXPECT_GE((*signer)->publish_stats().failures, 1u);
  refuse = false;
  (*signer)->publish_waiting();
  EXPECT_EQ(published, (std::vector<uint64_t>{5, 9}));
  EXPECT_EQ((*signer)->publish_stats().waiting, 0u);
  ASSERT_TRUE((*signer)->close().is_ok());
  auto file = read_checkpoints_file(&env_, "/data");
  ASSERT_TRUE(file.is_ok());
  EXPECT_EQ(file->tree_notes.size(), 2u);
  EXPECT_EQ(file->checkpoints.size(), 2u);
}

TEST_F(TreeCheckpointSignerTest, KeepsOnlyValidCosignaturesOfItsOwnCheckpointsByTrustedWitnesses) {
  auto signer = CheckpointSigner::open(options(), log_.get());
  ASSERT_TRUE(signer.is_ok());
  append(6);
  ASSERT_TRUE((*signer)->sign_if_due().value());
  const TreeCheckpoint ours = *(*signer)->latest_tree_checkpoint();

  // Two witnesses' keys, in the key file format.
  auto w1 = SigningKey::open_or_create_file(&env_, "/w1.key");
  auto w2 = SigningKey::open_or_create_file(&env_, "/w2.key");
  ASSERT_TRUE(w1.is_ok() && w2.is_ok());
  const NoteVerifierKey trusted{"w1.example", NoteKeyType::kCosignatureV1, (*w1)->public_key()};
  auto cosigned_by = [&](const SigningKey& key, const std::string& name, const std::string& note) {
    SignedNote n = parse_signed_note(note).value();
    n.signatures.push_back(key.cosign(n.text, name, 1'780'000'000));
    return n.encode();
  };
  const std::string good = cosigned_by(**w1, "w1.example", ours.note);
  auto kept = (*signer)->add_cosigned(good, {trusted});
  ASSERT_TRUE(kept.is_ok()) << kept.status().to_string();
  EXPECT_EQ(*kept, 1u);
  EXPECT_TRUE((*signer)->add_cosigned(good, {trusted}).is_ok());  // again: kept once
  EXPECT_EQ((*signer)->cosigned_notes().size(), 1u);

  // Not by a trusted witness.
  auto refused = (*signer)->add_cosigned(cosigned_by(**w2, "w2.example", ours.note), {trusted});
  ASSERT_FALSE(refused.is_ok());
  EXPECT_EQ(refused.status().code(), StatusCode::kInvalidArgument);
  // A cosignature that does not verify (the trusted name, another key).
  refused = (*signer)->add_cosigned(cosigned_by(**w2, "w1.example", ours.note), {trusted});
  ASSERT_FALSE(refused.is_ok());
  // A checkpoint this log never signed (another root), cosigned by the trusted witness.
  TreeHead forged = ours.head();
  forged.root[0] ^= 1;
  auto other_key = SigningKey::open_or_create_file(&env_, "/forger.key");
  const TreeCheckpoint foreign = sign_tree_checkpoint(ours.body.origin, forged, ours.signed_at, **other_key);
  refused = (*signer)->add_cosigned(cosigned_by(**w1, "w1.example", foreign.note), {trusted});
  ASSERT_FALSE(refused.is_ok());
  EXPECT_EQ(refused.status().code(), StatusCode::kNotFound);
  // Garbage.
  EXPECT_FALSE((*signer)->add_cosigned("not a note", {trusted}).is_ok());
  EXPECT_EQ((*signer)->cosigned_notes().size(), 1u);
  ASSERT_TRUE((*signer)->close().is_ok());
  auto file = read_checkpoints_file(&env_, "/data");
  ASSERT_TRUE(file.is_ok());
  EXPECT_EQ(file->cosigned_notes, std::vector<std::string>{good});
}

TEST_F(TreeCheckpointSignerTest, NothingIsSignedOverALogThatIsNotTheSignedOne) {
  {
    auto signer = CheckpointSigner::open(options(), log_.get());
    ASSERT_TRUE(signer.is_ok());
    append(6);
    ASSERT_TRUE((*signer)->sign_if_due().value());
    ASSERT_TRUE((*signer)->close().is_ok());
  }
  // The tree checkpoint names 6 leaves; a log cut back below it is not that log.
  ASSERT_TRUE(log_->close().is_ok());
  log_.reset();
  env_.remove_file("/data/index/checkpoint").ignore();
  auto checkpoints = read_checkpoints_file(&env_, "/data");
  ASSERT_TRUE(checkpoints.is_ok());
  // Forge a tree checkpoint of a bigger tree with the folder's own key: as if
  // signed events had been lost.
  auto key = SigningKey::load(&env_, "/data");
  ASSERT_TRUE(key.is_ok());
  auto c = parse_tree_checkpoint(checkpoints->tree_notes.back()).value();
  TreeHead bigger = c.head();
  bigger.size = 60;
  auto file = CheckpointFile::open(&env_, "/data");
  ASSERT_TRUE(file.is_ok());
  ASSERT_TRUE((*file)->append_tree_note(sign_tree_checkpoint(c.body.origin, bigger, c.signed_at, **key).note).is_ok());
  ASSERT_TRUE((*file)->close().is_ok());
  auto log = EventLog::open(fault_options(&env_));
  ASSERT_TRUE(log.is_ok());
  log_ = std::move(*log);
  auto signer = CheckpointSigner::open(options(), log_.get());
  ASSERT_TRUE(signer.is_ok());  // the process still serves
  EXPECT_EQ((*signer)->tree_status().code(), StatusCode::kCorruption);
  append(60);
  EXPECT_FALSE((*signer)->sign_now().is_ok());
  EXPECT_FALSE((*signer)->tree_at_head().is_ok());
}

}  // namespace
}  // namespace accountable
