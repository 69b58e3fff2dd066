// verify with a public key tells the four kinds of tampering apart and names
// them: a flipped byte (CRC), a record changed with its CRCs recomputed (hash
// chain), a chain rewritten consistently (signature mismatch), and a log cut
// short (signed position missing).
#include <gtest/gtest.h>

#include <cstring>

#include "events/checkpoint_signer.h"
#include "events/coding.h"
#include "events/crc32c.h"
#include "events/log_format.h"
#include "events/log_verify.h"
#include "events/tree_verify.h"
#include "events/record_codec.h"
#include "testing/fault_env.h"
#include "testing/log_test_util.h"

namespace accountable {
namespace {

using namespace log_format;
using testing::fault_options;
using testing::kSegment1;
using testing::make_commit;
using testing::reseal_crcs;

struct RecordAt {
  uint64_t position;
  size_t payload;  // offset of the record's payload in the segment
  uint32_t length;
};

struct CommitAt {
  size_t offset;
  uint64_t first_position;
};

// Every record and commit of a one-segment log, in order.
void walk(const std::string& seg, std::vector<RecordAt>* records, std::vector<CommitAt>* commits) {
  size_t at = kSegmentHeaderSize;
  while (at + kFrameHeaderSize <= seg.size()) {
    const uint32_t len = coding::get_u32(seg.data() + at + 4);
    if (len == 0) break;  // the preallocated zeros after the last commit
    const char* payload = seg.data() + at + kFrameHeaderSize;
    if (commits) commits->push_back({at, coding::get_u64(payload)});
    size_t r = kCommitHeaderSize;
    while (r < len) {
      const uint32_t rlen = coding::get_u32(payload + r + 4);
      const size_t rp = at + kFrameHeaderSize + r + kFrameHeaderSize;
      if (records) records->push_back({coding::get_u64(seg.data() + rp), rp, rlen});
      r += kFrameHeaderSize + rlen;
    }
    at += kFrameHeaderSize + len;
  }
}

// Recomputes prev_hash and hash of every record from `from` on, then every CRC:
// a consistent rewrite that only a signature can expose.
void rechain(std::string& seg, uint64_t from) {
  std::vector<RecordAt> records;
  walk(seg, &records, nullptr);
  Hash256 chain{};
  for (const RecordAt& r : records) {
    char* p = seg.data() + r.payload;
    if (r.position >= from) {
      std::memcpy(p + r.length - 2 * kHashSize, chain.data(), kHashSize);
      const Hash256 h = record_codec::compute_record_hash(std::string_view(p, r.length));
      std::memcpy(p + r.length - kHashSize, h.data(), kHashSize);
    }
    std::memcpy(chain.data(), p + r.length - kHashSize, kHashSize);
  }
  reseal_crcs(seg);
}

// Flips a bit of the record's application payload (the byte before its hashes).
void change_payload(std::string& seg, uint64_t position) {
  std::vector<RecordAt> records;
  walk(seg, &records, nullptr);
  for (const RecordAt& r : records) {
    if (r.position == position) seg[r.payload + r.length - 2 * kHashSize - 1] ^= 0x20;
  }
}

class SignedVerifyTest : public ::testing::Test {
 protected:
  // 20 commits of 2 events; a checkpoint every 8 events: 8, 16, 24, 32, and 40 on close.
  void SetUp() override {
    auto log = EventLog::open(fault_options(&env_));
    ASSERT_TRUE(log.is_ok());
    CheckpointSignerOptions o;
    o.data_dir = "/data";
    o.env = &env_;
    o.every_events = 8;
    o.every = std::chrono::seconds(0);
    o.background = false;
    auto signer = CheckpointSigner::open(o, log->get());
    ASSERT_TRUE(signer.is_ok()) << signer.status().to_string();
    for (int i = 0; i < 20; ++i) {
      ASSERT_TRUE((*log)->append(make_commit("s" + std::to_string(i % 3), ExpectedVersion::any(), 2)).is_ok());
      ASSERT_TRUE((*signer)->sign_if_due().is_ok());
    }
    ASSERT_TRUE((*signer)->close().is_ok());
    ASSERT_TRUE((*log)->close().is_ok());
    key_ = (*signer)->public_key();
    auto cps = read_signed_checkpoints(&env_, "/data");
    ASSERT_TRUE(cps.is_ok());
    ASSERT_EQ(cps->size(), 5u);
    for (const SignedCheckpoint& c : *cps) positions_.push_back(c.position);
    ASSERT_EQ(positions_, (std::vector<uint64_t>{8, 16, 24, 32, 40}));
  }

  void put(const std::string& path, const std::string& bytes) {
    auto f = env_.new_writable_file(path);
    ASSERT_TRUE(f.is_ok());
    ASSERT_TRUE((*f)->append(bytes).is_ok());
    ASSERT_TRUE((*f)->sync().is_ok());
  }

  SignedVerifyReport verify() {
    auto r = verify_signed_log(&env_, "/data", key_);
    EXPECT_TRUE(r.is_ok()) << r.status().to_string();
    return r.is_ok() ? *r : SignedVerifyReport{};
  }

  FaultInjectionEnv env_;
  PublicKey key_{};
  std::vector<uint64_t> positions_;
};

TEST_F(SignedVerifyTest, AnUntouchedLogPassesEverySignature) {
  SignedVerifyReport r = verify();
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.signatures.checkpoints, 5u);
  EXPECT_EQ(r.signatures.verified, 5u);
  EXPECT_EQ(r.signatures.last_verified_position, 40u);
  EXPECT_EQ(r.signatures.unsigned_events, 0u);
}

TEST_F(SignedVerifyTest, AFlippedByteIsACrcFailure) {
  std::vector<RecordAt> records;
  walk(env_.contents(kSegment1), &records, nullptr);
  ASSERT_TRUE(env_.corrupt_byte(kSegment1, records[20].payload + 40).is_ok());  // position 21
  SignedVerifyReport r = verify();
  EXPECT_FALSE(r.ok());
  ASSERT_TRUE(r.log.problem.has_value());
  EXPECT_EQ(r.log.problem->kind, VerifyProblem::Kind::kCrc);
  EXPECT_EQ(r.log.problem->position, GlobalPosition(21));
  // The checkpoints before the damage still hold; the later ones are not judged.
  EXPECT_TRUE(r.signatures.ok());
  EXPECT_EQ(r.signatures.verified, 2u);
  EXPECT_EQ(r.signatures.not_checked, 3u);
}

TEST_F(SignedVerifyTest, ARecordChangedWithItsCrcsRecomputedIsAHashChainBreak) {
  std::string seg = env_.contents(kSegment1);
  change_payload(seg, 21);
  reseal_crcs(seg);
  put(kSegment1, seg);
  SignedVerifyReport r = verify();
  EXPECT_FALSE(r.ok());
  ASSERT_TRUE(r.log.problem.has_value());
  EXPECT_EQ(r.log.problem->kind, VerifyProblem::Kind::kHashChain) << r.log.problem->reason;
  EXPECT_EQ(r.log.problem->position, GlobalPosition(21));
  EXPECT_TRUE(r.signatures.ok());
  EXPECT_EQ(r.signatures.not_checked, 3u);
}

TEST_F(SignedVerifyTest, AChainRewrittenFromSomePointOnIsASignatureMismatch) {
  std::string seg = env_.contents(kSegment1);
  change_payload(seg, 21);
  rechain(seg, 21);
  put(kSegment1, seg);
  SignedVerifyReport r = verify();
  EXPECT_TRUE(r.log.ok()) << r.log.problem->reason;  // framing, CRCs and chain all consistent
  EXPECT_FALSE(r.ok());
  ASSERT_TRUE(r.signatures.problem.has_value());
  EXPECT_EQ(r.signatures.problem->kind, SignatureProblem::Kind::kMismatch);
  EXPECT_EQ(r.signatures.problem->checkpoint, 3u);
  EXPECT_EQ(r.signatures.problem->position, 24u);
  EXPECT_EQ(r.signatures.problem->message.rfind("signature mismatch at checkpoint 3 (position 24)", 0), 0u)
      << r.signatures.problem->message;
  EXPECT_NE(r.signatures.problem->message.find("after position 16"), std::string::npos);
  EXPECT_EQ(r.signatures.verified, 2u);
  EXPECT_EQ(r.signatures.failed, 3u);
}

TEST_F(SignedVerifyTest, ALogCutShortAfterASignedCheckpointNamesTheMissingPosition) {
  std::string seg = env_.contents(kSegment1);
  std::vector<CommitAt> commits;
  walk(seg, nullptr, &commits);
  // Cut at the commit that starts at position 37: the log ends at 36, after checkpoint 32.
  for (const CommitAt& c : commits) {
    if (c.first_position == 37) seg.resize(c.offset);
  }
  put(kSegment1, seg);
  SignedVerifyReport r = verify();
  EXPECT_TRUE(r.log.ok());
  EXPECT_EQ(r.log.head, GlobalPosition(36));
  EXPECT_FALSE(r.ok());
  ASSERT_TRUE(r.signatures.problem.has_value());
  EXPECT_EQ(r.signatures.problem->kind, SignatureProblem::Kind::kMissing);
  EXPECT_EQ(r.signatures.problem->message.rfind("signed position 40 is missing (log ends at 36)", 0), 0u)
      << r.signatures.problem->message;
  EXPECT_EQ(r.signatures.verified, 4u);
}

TEST_F(SignedVerifyTest, AnotherKeyIsABadSignature) {
  key_[0] ^= 1;
  SignedVerifyReport r = verify();
  EXPECT_TRUE(r.log.ok());
  ASSERT_TRUE(r.signatures.problem.has_value());
  EXPECT_EQ(r.signatures.problem->kind, SignatureProblem::Kind::kBadSignature);
  EXPECT_EQ(r.signatures.failed, 5u);
}

TEST_F(SignedVerifyTest, DeletedOrDamagedCheckpointsAreFailuresNotErrors) {
  const std::string path = checkpoints_path("/data");
  const std::string good = env_.contents(path);
  ASSERT_TRUE(env_.corrupt_byte(path, signed_checkpoint_format::kFileHeaderSize + 30).is_ok());
  SignedVerifyReport r = verify();
  ASSERT_TRUE(r.signatures.problem.has_value());
  EXPECT_EQ(r.signatures.problem->kind, SignatureProblem::Kind::kCheckpointsFile);
  EXPECT_NE(r.signatures.problem->message.find("at offset 16"), std::string::npos) << r.signatures.problem->message;

  ASSERT_TRUE(env_.remove_file(path).is_ok());
  r = verify();
  ASSERT_TRUE(r.signatures.problem.has_value());
  EXPECT_EQ(r.signatures.problem->kind, SignatureProblem::Kind::kNoCheckpoints);
  EXPECT_FALSE(r.ok());
}

TEST_F(SignedVerifyTest, VerifyLogReportsTheHashesAskedFor) {
  VerifyOptions o;
  o.hashes_at = {16, 8, 41, 16};
  auto report = verify_log(&env_, "/data", o);
  ASSERT_TRUE(report.is_ok());
  ASSERT_EQ(report->hashes_at.size(), 2u);
  auto cps = read_signed_checkpoints(&env_, "/data");
  ASSERT_TRUE(cps.is_ok());
  EXPECT_EQ(report->hashes_at.at(8), (*cps)[0].head_hash);
  EXPECT_EQ(report->hashes_at.at(16), (*cps)[1].head_hash);
}

}  // namespace
}  // namespace accountable
