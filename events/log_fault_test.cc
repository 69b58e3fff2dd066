// Crash and fault injection, one named test per failure mode (after leveldb's
// db/fault_injection_test.cc): power loss, torn writes, failed fsync, disk
// full, short writes, and corruption before the tail.
#include <gtest/gtest.h>

#include <algorithm>

#include "events/coding.h"
#include "events/crc32c.h"
#include "events/event_log.h"
#include "events/log_format.h"
#include "events/log_scanner.h"
#include "events/log_verify.h"
#include "events/record_codec.h"
#include "testing/fault_env.h"
#include "testing/log_test_util.h"

namespace accountable {
namespace {

using testing::all_events;
using testing::fault_options;
using testing::kSegment1;
using testing::make_commit;

// A log whose process "dies": no checkpoint is written on close.
LogOptions crash_options(FaultInjectionEnv* env) {
  LogOptions o = fault_options(env);
  o.checkpoint_on_close = false;
  return o;
}

// Segments of 4 KiB: a few commits make the log roll.
LogOptions rolling_options(FaultInjectionEnv* env) {
  LogOptions o = crash_options(env);
  o.segment_bytes = 4096;
  return o;
}

std::unique_ptr<EventLog> must_open(const LogOptions& options) {
  auto log = EventLog::open(options);
  EXPECT_TRUE(log.is_ok()) << log.status().to_string();
  return log.is_ok() ? std::move(*log) : nullptr;
}

// Appends `n` one-event commits and returns what the log then holds.
std::vector<std::string> append_acknowledged(EventLog& log, int n, const std::string& stream = "s") {
  for (int i = 0; i < n; ++i) {
    auto r = log.append(make_commit(stream, ExpectedVersion::any()));
    EXPECT_TRUE(r.is_ok()) << r.status().to_string();
  }
  return all_events(log);
}

// Byte offset of the k-th commit (0-based) of a segment image.
uint64_t commit_offset(const std::string& segment, int k) {
  uint64_t at = log_format::kSegmentHeaderSize;
  for (int i = 0; i < k; ++i) at += log_format::kFrameHeaderSize + coding::get_u32(segment.data() + at + 4);
  return at;
}

TEST(LogFault, PowerLossKeepsEveryAcknowledgedCommit) {
  FaultInjectionEnv env;
  std::vector<std::string> acknowledged;
  {
    auto log = must_open(crash_options(&env));
    acknowledged = append_acknowledged(*log, 20);
  }
  env.drop_unsynced_data();
  auto log = must_open(fault_options(&env));
  EXPECT_EQ(all_events(*log), acknowledged);
}

TEST(LogFault, TornUnacknowledgedTailIsCutOffAndAcknowledgedDataSurvives) {
  int torn_seen = 0;
  for (uint64_t seed = 1; seed <= 30; ++seed) {
    FaultInjectionEnv env;
    std::vector<std::string> acknowledged;
    {
      auto log = must_open(crash_options(&env));
      acknowledged = append_acknowledged(*log, 10);
      const size_t allocated = env.contents(kSegment1).size();
      env.fail_syncs(1);  // the next batch reaches the file but is never acknowledged
      auto lost = log->append(make_commit("s", ExpectedVersion::any(), 5));
      EXPECT_EQ(lost.status().code(), StatusCode::kPoisoned);
      // It went over the preallocated zeros, in place: torn sectors mix it with zeros.
      EXPECT_EQ(env.contents(kSegment1).size(), allocated);
    }
    env.drop_unsynced_data_torn(seed);
    auto log = must_open(fault_options(&env));
    std::vector<std::string> recovered = all_events(*log);
    // Every acknowledged event is there; the unacknowledged commit is there
    // whole (its pages all persisted) or not at all.
    ASSERT_GE(recovered.size(), acknowledged.size()) << "seed " << seed;
    EXPECT_TRUE(std::equal(acknowledged.begin(), acknowledged.end(), recovered.begin())) << "seed " << seed;
    EXPECT_TRUE(recovered.size() == acknowledged.size() || recovered.size() == acknowledged.size() + 5)
        << "seed " << seed << ": " << recovered.size();
    if (log->stats().truncated_bytes_at_open > 0) ++torn_seen;
    // And the log accepts writes again.
    EXPECT_TRUE(log->append(make_commit("s", ExpectedVersion::any())).is_ok());
  }
  EXPECT_GT(torn_seen, 0) << "no seed produced a torn tail; the test exercises nothing";
}

// Preallocated segments (docs/log-format.md): the zero tail after the last
// commit is the end of the log, kept across a restart, and written over.
TEST(LogFault, AZeroFilledTailIsTheEndOfTheLogAndIsWrittenOverAfterReopen) {
  FaultInjectionEnv env;
  std::vector<std::string> acknowledged;
  {
    auto log = must_open(crash_options(&env));
    acknowledged = append_acknowledged(*log, 5);
  }
  const std::string image = env.contents(kSegment1);
  const uint64_t end = commit_offset(image, 5);
  ASSERT_GT(image.size(), end) << "no space was zero-filled ahead of the writer";
  EXPECT_EQ(image.find_first_not_of('\0', end), std::string::npos);
  env.drop_unsynced_data();
  {
    auto log = must_open(crash_options(&env));
    EXPECT_EQ(all_events(*log), acknowledged);
    EXPECT_EQ(log->stats().truncated_bytes_at_open, 0u);
    EXPECT_EQ(env.contents(kSegment1).size(), image.size());  // not cut as a torn tail
    acknowledged = append_acknowledged(*log, 3);
  }
  const std::string after = env.contents(kSegment1);
  EXPECT_EQ(after.size(), image.size());  // written over the zeros, not after them
  EXPECT_EQ(after.substr(0, end), image.substr(0, end));
  env.drop_unsynced_data();
  auto report = verify_log(&env, "/data", VerifyOptions{});
  ASSERT_TRUE(report.is_ok()) << report.status().to_string();
  EXPECT_FALSE(report->problem.has_value());
  EXPECT_FALSE(report->torn_tail.has_value());
  EXPECT_EQ(report->head, GlobalPosition(8));
  auto log = must_open(fault_options(&env));
  EXPECT_EQ(all_events(*log), acknowledged);
  EXPECT_EQ(acknowledged.size(), 8u);
}

TEST(LogFault, FailedFsyncOfTheZeroFilledSpacePoisonsBeforeTheBatchIsWritten) {
  FaultInjectionEnv env;
  {
    auto log = must_open(crash_options(&env));  // a new segment: the first batch zero-fills first
    env.fail_syncs(1);
    EXPECT_EQ(log->append(make_commit("s", ExpectedVersion::any())).status().code(), StatusCode::kPoisoned);
    EXPECT_EQ(env.contents(kSegment1).find_first_not_of('\0', log_format::kSegmentHeaderSize), std::string::npos);
    EXPECT_EQ(log->head(), GlobalPosition(0));
    EXPECT_EQ(log->append(make_commit("s", ExpectedVersion::any())).status().code(), StatusCode::kPoisoned);
  }
  env.drop_unsynced_data();
  auto log = must_open(fault_options(&env));
  EXPECT_EQ(log->head(), GlobalPosition(0));
  EXPECT_TRUE(log->append(make_commit("s", ExpectedVersion::any())).is_ok());
}

TEST(LogFault, NoSpaceToZeroFillAppendsWithoutPreallocating) {
  FaultInjectionEnv env;
  std::vector<std::string> acknowledged;
  {
    auto log = must_open(crash_options(&env));
    env.set_capacity(8192);  // less than the 64 KiB segment that would be zero-filled
    acknowledged = append_acknowledged(*log, 3);
    EXPECT_TRUE(log->health().is_ok());
    EXPECT_EQ(env.contents(kSegment1).size(), commit_offset(env.contents(kSegment1), 3));  // no zeros after
  }
  env.set_capacity(UINT64_MAX);
  env.drop_unsynced_data();
  auto log = must_open(fault_options(&env));
  EXPECT_EQ(all_events(*log), acknowledged);
}

// After the disk was found full, the writer does not zero-fill again in that
// segment (each batch would fill the last free space and cut it again); the
// next segment is zero-filled as usual.
TEST(LogFault, AfterAFullDiskTheSegmentIsNotZeroFilledAgainButTheNextIs) {
  FaultInjectionEnv env;
  auto log = must_open(rolling_options(&env));
  env.set_capacity(2048);  // room for commits, not for the 4 KiB segment's zeros
  append_acknowledged(*log, 3);
  env.set_capacity(UINT64_MAX);
  append_acknowledged(*log, 3);
  EXPECT_EQ(env.contents(kSegment1).size(), commit_offset(env.contents(kSegment1), 6));  // still no zeros
  for (int i = 0; i < 100 && log->stats().segments < 2; ++i) append_acknowledged(*log, 1);
  ASSERT_EQ(log->stats().segments, 2u);
  auto names = env.list_dir("/data/log");
  ASSERT_TRUE(names.is_ok());
  std::sort(names->begin(), names->end());
  const std::string second = env.contents("/data/log/" + names->back());
  uint64_t end = log_format::kSegmentHeaderSize;  // past its frames
  while (end + log_format::kFrameHeaderSize <= second.size() && coding::get_u32(second.data() + end + 4) != 0) {
    end += log_format::kFrameHeaderSize + coding::get_u32(second.data() + end + 4);
  }
  EXPECT_GT(second.size(), end) << "the next segment was not zero-filled ahead";
  EXPECT_EQ(second.find_first_not_of('\0', end), std::string::npos);
}

TEST(LogFault, ASealedSegmentEndsAtItsLastCommit) {
  FaultInjectionEnv env;
  auto writer = must_open(rolling_options(&env));
  const std::vector<std::string> acknowledged = append_acknowledged(*writer, 30);  // about 6 KiB: a roll
  ASSERT_GE(writer->stats().segments, 2u);
  writer.reset();
  const std::string sealed = env.contents(kSegment1);
  EXPECT_TRUE(zero_tail_allowed(sealed, /*last_segment=*/true));  // the version allows zeros...
  ScanState state;
  state.zero_tail_ends = zero_tail_allowed(sealed, /*last_segment=*/false);  // ...but a sealed segment has none
  EXPECT_FALSE(state.zero_tail_ends);
  ScanResult scanned = scan_commits(sealed, log_format::kSegmentHeaderSize, state, nullptr);
  EXPECT_FALSE(scanned.problem.has_value());
  EXPECT_EQ(scanned.zero_tail, 0u);
  EXPECT_EQ(scanned.end_offset, sealed.size());
  env.drop_unsynced_data();
  auto log = must_open(rolling_options(&env));
  EXPECT_EQ(all_events(*log), acknowledged);
}

// Version 1 segments (before preallocation) stay readable, and zeros at their
// end are still a torn tail, as before.
TEST(LogFault, AVersion1SegmentIsReadAndItsZerosAreNotAnEnd) {
  std::string header = record_codec::encode_segment_header(GlobalPosition(1));
  EXPECT_EQ(coding::get_u32(header.data() + 8), log_format::kFormatVersion);
  coding::put_u32(header.data() + 8, 1);
  coding::put_u32(header.data() + 24, crc32c::mask(crc32c::value(header.data(), 24)));
  EXPECT_TRUE(record_codec::parse_segment_header(header).is_ok());
  const std::string zeros = header + std::string(100, '\0');
  EXPECT_FALSE(zero_tail_allowed(zeros, /*last_segment=*/true));
  ScanState state;
  ScanResult scanned = scan_commits(zeros, log_format::kSegmentHeaderSize, state, nullptr);
  EXPECT_TRUE(scanned.problem.has_value());
  coding::put_u32(header.data() + 8, log_format::kFormatVersion + 1);
  coding::put_u32(header.data() + 24, crc32c::mask(crc32c::value(header.data(), 24)));
  EXPECT_FALSE(record_codec::parse_segment_header(header).is_ok());
}

// Zeros a segment's bytes [from, to) in place, as lost or zeroed blocks would.
void zero_range(FaultInjectionEnv& env, const std::string& path, uint64_t from, uint64_t to) {
  const std::string bytes = env.contents(path);
  for (uint64_t at = from; at < to; ++at) {
    if (bytes[at] != 0) {
      ASSERT_TRUE(env.corrupt_byte(path, at, static_cast<uint8_t>(bytes[at])).is_ok());
    }
  }
}

// Only the last segment may end in zeros: the writer cut the sealed one back
// to its last commit before the next existed. Zeros from a commit boundary to
// the end of a sealed segment are lost commits, not an end.
TEST(LogFault, ZerosAtTheEndOfASealedSegmentAreDamageNotAnEnd) {
  FaultInjectionEnv env;
  {
    auto writer = must_open(rolling_options(&env));
    append_acknowledged(*writer, 30);
    ASSERT_GE(writer->stats().segments, 2u);
  }
  env.drop_unsynced_data();
  const std::string sealed = env.contents(kSegment1);
  const uint64_t from = commit_offset(sealed, 3);
  zero_range(env, kSegment1, from, sealed.size());
  auto reopened = EventLog::open(rolling_options(&env));
  ASSERT_FALSE(reopened.is_ok());
  EXPECT_EQ(reopened.status().code(), StatusCode::kCorruption);
  EXPECT_NE(reopened.status().message().find("seg-00000000000000000001.log offset " + std::to_string(from)),
            std::string::npos)
      << reopened.status().message();
  auto report = verify_log(&env, "/data", VerifyOptions{});
  ASSERT_TRUE(report.is_ok()) << report.status().to_string();
  ASSERT_TRUE(report->problem.has_value());
  EXPECT_EQ(report->problem->segment, "seg-00000000000000000001.log");
  EXPECT_EQ(report->problem->offset, from);
}

// The index checkpoint names durable positions only: a log that ends before
// it (here, its last commits zeroed in place, which reads as a clean zero
// tail) has lost acknowledged commits, and open says so instead of
// rebuilding the index over what is left. --recovery truncate accepts it.
TEST(LogFault, ALogEndingBeforeTheCheckpointsHeadIsRefused) {
  FaultInjectionEnv env;
  {
    auto log = must_open(fault_options(&env));  // writes its checkpoint on close
    append_acknowledged(*log, 10);
  }
  env.drop_unsynced_data();
  const std::string image = env.contents(kSegment1);
  zero_range(env, kSegment1, commit_offset(image, 6), image.size());
  auto refused = EventLog::open(fault_options(&env));
  ASSERT_FALSE(refused.is_ok());
  EXPECT_EQ(refused.status().code(), StatusCode::kCorruption);
  EXPECT_NE(refused.status().message().find("ends at position 6 but the index checkpoint"), std::string::npos)
      << refused.status().message();
  EXPECT_NE(refused.status().message().find("recorded position 10"), std::string::npos) << refused.status().message();

  LogOptions truncate = fault_options(&env);
  truncate.recovery = RecoveryMode::kTruncate;
  truncate.checkpoint_on_close = false;  // a crash right after: the old checkpoint must not come back
  {
    auto log = must_open(truncate);
    EXPECT_EQ(log->head(), GlobalPosition(6));
  }
  auto log = must_open(fault_options(&env));
  EXPECT_EQ(log->head(), GlobalPosition(6));
}

// A version 1 segment left by an older release is appended to without
// zeros (they would read as a torn tail of that version), and the log's next
// segment is of the current version.
TEST(LogFault, AVersion1LastSegmentIsAppendedToWithoutZeroFilling) {
  FaultInjectionEnv env;
  {
    auto log = must_open(crash_options(&env));
    append_acknowledged(*log, 3);
  }
  env.drop_unsynced_data();
  // Make it the segment an older release wrote: version 1, ending at its last commit.
  std::string v1 = env.contents(kSegment1);
  v1.resize(commit_offset(v1, 3));
  coding::put_u32(v1.data() + 8, 1);
  coding::put_u32(v1.data() + 24, crc32c::mask(crc32c::value(v1.data(), 24)));
  {
    auto f = env.new_writable_file(kSegment1);
    ASSERT_TRUE(f.is_ok());
    ASSERT_TRUE((*f)->append(v1).is_ok());
    ASSERT_TRUE((*f)->sync().is_ok());
  }
  std::vector<std::string> acknowledged;
  {
    auto log = must_open(crash_options(&env));
    acknowledged = append_acknowledged(*log, 4);
  }
  const std::string after = env.contents(kSegment1);
  EXPECT_EQ(after.size(), commit_offset(after, 7));  // no zeros after its last commit
  env.drop_unsynced_data();
  auto log = must_open(crash_options(&env));
  EXPECT_EQ(log->stats().truncated_bytes_at_open, 0u);  // nothing read as a torn tail
  EXPECT_EQ(all_events(*log), acknowledged);
  EXPECT_EQ(acknowledged.size(), 7u);
}

TEST(LogFault, FailedFsyncPoisonsTheLogButReadsGoOn) {
  FaultInjectionEnv env;
  auto log = must_open(crash_options(&env));
  std::vector<std::string> acknowledged = append_acknowledged(*log, 3);
  env.fail_syncs(1, EIO);
  auto failed = log->append(make_commit("s", ExpectedVersion::any()));
  ASSERT_EQ(failed.status().code(), StatusCode::kPoisoned);
  EXPECT_NE(failed.status().message().find("Input/output error"), std::string::npos) << failed.status().message();
  // The bytes reached the file, but a reader never sees a position that is not durable.
  EXPECT_EQ(log->head(), GlobalPosition(3));
  EXPECT_EQ(all_events(*log), acknowledged);
  // Every later append is refused, even though fsync would work now.
  auto later = log->append(make_commit("s", ExpectedVersion::any()));
  EXPECT_EQ(later.status().code(), StatusCode::kPoisoned);
  EXPECT_EQ(log->health().code(), StatusCode::kPoisoned);
  auto stream = log->read_stream("s", StreamVersion(1), 10);
  ASSERT_TRUE(stream.is_ok());
  EXPECT_EQ(stream->events.size(), 3u);
}

TEST(LogFault, DiskFullRefusesTheBatchCutsItOffAndTakesWritesAgainOnceThereIsSpace) {
  FaultInjectionEnv env;
  std::vector<std::string> acknowledged;
  {
    auto log = must_open(crash_options(&env));
    // No room to zero-fill the 64 KiB segment: plain appends, whose write the
    // full disk below can refuse (a write into zero-filled space cannot fail so).
    env.set_capacity(16 * 1024);
    acknowledged = append_acknowledged(*log, 5);
    const size_t size_before = env.contents(kSegment1).size();
    env.set_capacity(size_before + 100);
    CommitRequest big = make_commit("s", ExpectedVersion::any());
    big.streams[0].events[0].payload.assign(4000, 'x');
    auto full = log->append(big);
    ASSERT_EQ(full.status().code(), StatusCode::kNoSpace);
    EXPECT_NE(full.status().message().find("No space left on device"), std::string::npos) << full.status().message();
    // Not poisoned, and the prefix that reached the file is gone again.
    EXPECT_TRUE(log->health().is_ok());
    EXPECT_EQ(env.contents(kSegment1).size(), size_before);
    EXPECT_EQ(all_events(*log), acknowledged);
    // Still full: refused again, still not poisoned.
    EXPECT_EQ(log->append(big).status().code(), StatusCode::kNoSpace);
    EXPECT_TRUE(log->health().is_ok());
    env.set_capacity(UINT64_MAX);  // space freed: the same log takes writes
    auto again = log->append(big);
    ASSERT_TRUE(again.is_ok()) << again.status().to_string();
    acknowledged = all_events(*log);
    EXPECT_EQ(acknowledged.size(), 6u);
  }
  auto log = must_open(fault_options(&env));
  EXPECT_EQ(all_events(*log), acknowledged);
  EXPECT_TRUE(log->append(make_commit("s", ExpectedVersion::any())).is_ok());
}

// A failed fsync still poisons: the dirty pages may be gone (docs/log-format.md).
TEST(LogFault, DiskFullOnASyncIsStillAPoison) {
  FaultInjectionEnv env;
  auto log = must_open(crash_options(&env));
  append_acknowledged(*log, 2);
  env.fail_syncs(1, ENOSPC);
  auto failed = log->append(make_commit("s", ExpectedVersion::any()));
  EXPECT_EQ(failed.status().code(), StatusCode::kPoisoned);
  EXPECT_EQ(log->health().code(), StatusCode::kPoisoned);
}

TEST(LogFault, ShortWriteIsCutOffOnReopen) {
  FaultInjectionEnv env;
  std::vector<std::string> acknowledged;
  {
    auto log = must_open(crash_options(&env));
    acknowledged = append_acknowledged(*log, 4);
    env.short_write_next(50);
    EXPECT_EQ(log->append(make_commit("s", ExpectedVersion::any())).status().code(), StatusCode::kPoisoned);
  }
  // No power loss: the 50 bytes are still in the file when the process restarts.
  auto log = must_open(fault_options(&env));
  EXPECT_EQ(log->stats().truncated_bytes_at_open, 50u);
  EXPECT_EQ(all_events(*log), acknowledged);
}

TEST(LogFault, FailedFsyncWhileRollingASegmentPoisons) {
  FaultInjectionEnv env;
  const LogOptions options = rolling_options(&env);
  std::vector<std::string> acknowledged;
  {
    auto log = must_open(options);
    acknowledged = append_acknowledged(*log, 10);  // about 2 KiB
    env.fail_syncs(1);
    CommitRequest big = make_commit("s", ExpectedVersion::any());
    big.streams[0].events[0].payload.assign(3000, 'y');  // forces a roll, whose header sync fails
    EXPECT_EQ(log->append(big).status().code(), StatusCode::kPoisoned);
  }
  env.drop_unsynced_data();
  auto log = must_open(options);
  EXPECT_EQ(all_events(*log), acknowledged);
  EXPECT_TRUE(log->append(make_commit("s", ExpectedVersion::any())).is_ok());
}

TEST(LogFault, AnUnfinishedNewSegmentIsRemovedOnOpen) {
  FaultInjectionEnv env;
  std::vector<std::string> acknowledged;
  {
    auto log = must_open(crash_options(&env));
    acknowledged = append_acknowledged(*log, 3);
  }
  {
    // A roll cuts the zero tail off first; then a crash while creating the
    // next segment left a partial header.
    ASSERT_TRUE(env.truncate_file(kSegment1, commit_offset(env.contents(kSegment1), 3)).is_ok());
    auto file = env.new_writable_file("/data/log/seg-00000000000000000004.log");
    ASSERT_TRUE(file.is_ok());
    ASSERT_TRUE((*file)->append("ACCTS").is_ok());
  }
  auto log = must_open(fault_options(&env));
  EXPECT_FALSE(env.file_exists("/data/log/seg-00000000000000000004.log"));
  EXPECT_EQ(all_events(*log), acknowledged);
  EXPECT_TRUE(log->append(make_commit("s", ExpectedVersion::any())).is_ok());
}

TEST(LogFault, ALastSegmentOfANewerFormatVersionIsRefusedNotRemoved) {
  FaultInjectionEnv env;
  {
    auto log = must_open(crash_options(&env));
    append_acknowledged(*log, 3);
  }
  // The roll cut the zero tail; then an intact header of the next format
  // version (a newer release rolled to it).
  ASSERT_TRUE(env.truncate_file(kSegment1, commit_offset(env.contents(kSegment1), 3)).is_ok());
  std::string header = record_codec::encode_segment_header(GlobalPosition(4));
  coding::put_u32(header.data() + 8, log_format::kFormatVersion + 1);
  coding::put_u32(header.data() + 24, crc32c::mask(crc32c::value(header.data(), 24)));
  {
    auto file = env.new_writable_file("/data/log/seg-00000000000000000004.log");
    ASSERT_TRUE(file.is_ok());
    ASSERT_TRUE((*file)->append(header).is_ok());
  }
  auto log = EventLog::open(fault_options(&env));
  ASSERT_FALSE(log.is_ok());
  EXPECT_EQ(log.status().code(), StatusCode::kCorruption);
  const std::string msg = log.status().message();
  EXPECT_NE(msg.find("seg-00000000000000000004.log"), std::string::npos) << msg;
  EXPECT_NE(msg.find("segment format version " + std::to_string(log_format::kFormatVersion + 1) + " is not supported"),
            std::string::npos)
      << msg;
  EXPECT_TRUE(env.file_exists("/data/log/seg-00000000000000000004.log")) << "a newer release's segment is kept";
}

TEST(LogFault, CorruptionBeforeTheTailFailsOpenNamingSegmentOffsetAndLastGoodPosition) {
  FaultInjectionEnv env;
  {
    auto log = must_open(fault_options(&env));
    append_acknowledged(*log, 10);
  }
  const uint64_t third = commit_offset(env.contents(kSegment1), 2);
  ASSERT_TRUE(env.corrupt_byte(kSegment1, third + 120).is_ok());
  ASSERT_TRUE(env.remove_file("/data/index/checkpoint").is_ok());  // force a full scan
  auto log = EventLog::open(fault_options(&env));
  ASSERT_FALSE(log.is_ok());
  EXPECT_EQ(log.status().code(), StatusCode::kCorruption);
  const std::string& msg = log.status().message();
  EXPECT_NE(msg.find("seg-00000000000000000001.log offset " + std::to_string(third)), std::string::npos) << msg;
  EXPECT_NE(msg.find("last good position 2"), std::string::npos) << msg;
  EXPECT_NE(msg.find("CRC mismatch"), std::string::npos) << msg;
}

TEST(LogFault, CorruptionCoveredByTheCheckpointIsCaughtWhenRead) {
  FaultInjectionEnv env;
  {
    auto log = must_open(fault_options(&env));
    append_acknowledged(*log, 10);
  }
  const uint64_t third = commit_offset(env.contents(kSegment1), 2);
  ASSERT_TRUE(env.corrupt_byte(kSegment1, third + 120).is_ok());
  auto log = must_open(fault_options(&env));  // fast open: the checkpoint covers it
  ASSERT_NE(log, nullptr);
  auto read = log->read_stream("s", StreamVersion(1), 10);
  ASSERT_FALSE(read.is_ok());
  EXPECT_EQ(read.status().code(), StatusCode::kCorruption);
  EXPECT_NE(read.status().message().find("offset"), std::string::npos);
  auto scan = log->read_all(GlobalPosition(1), 10);
  EXPECT_EQ(scan.status().code(), StatusCode::kCorruption);
}

TEST(LogFault, DamageFollowedByLaterDurableCommitsIsNotMistakenForATornTail) {
  FaultInjectionEnv env;
  {
    auto log = must_open(fault_options(&env));
    append_acknowledged(*log, 10);
  }
  // Damage the commit's length field: the scan cannot even find the next frame.
  const uint64_t fifth = commit_offset(env.contents(kSegment1), 4);
  ASSERT_TRUE(env.corrupt_byte(kSegment1, fifth + 5, 0x40).is_ok());
  ASSERT_TRUE(env.remove_file("/data/index/checkpoint").is_ok());
  auto log = EventLog::open(fault_options(&env));
  ASSERT_FALSE(log.is_ok()) << "acknowledged commits 5..10 would have been cut off silently";
  EXPECT_EQ(log.status().code(), StatusCode::kCorruption);
  EXPECT_NE(log.status().message().find("last good position 4"), std::string::npos) << log.status().message();
}

TEST(LogFault, RecoveryTruncateMovesTheBadPartIntoQuarantineAndOpens) {
  FaultInjectionEnv env;
  {
    auto log = must_open(fault_options(&env));
    append_acknowledged(*log, 10);
  }
  const std::string original = env.contents(kSegment1);
  const uint64_t third = commit_offset(original, 2);
  ASSERT_TRUE(env.corrupt_byte(kSegment1, third + 120).is_ok());
  // The checkpoint covers the damage; truncate mode must not trust it.
  LogOptions options = fault_options(&env);
  options.recovery = RecoveryMode::kTruncate;
  auto log = must_open(options);
  ASSERT_NE(log, nullptr);
  EXPECT_EQ(log->head(), GlobalPosition(2));
  const std::string moved =
      env.contents("/data/quarantine/seg-00000000000000000001.log." + std::to_string(third) + ".bad");
  EXPECT_EQ(moved.size(), original.size() - third);  // nothing deleted
  EXPECT_EQ(env.contents(kSegment1).size(), third);
  auto next = log->append(make_commit("s", ExpectedVersion::exact(StreamVersion(2))));
  ASSERT_TRUE(next.is_ok()) << next.status().to_string();
  EXPECT_EQ(next->first_position, GlobalPosition(3));
}

}  // namespace
}  // namespace accountable
