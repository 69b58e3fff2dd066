// Sequential, fully checked reading of segments: the one code path that open
// (recovery, index rebuild) and `acct verify` share. Every commit is checked
// for framing, both CRC levels, gapless positions and the hash chain.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "events/env.h"
#include "events/envelope.h"
#include "events/record_codec.h"

namespace accountable {

struct SegmentFile {
  std::string path;
  std::string name;
  GlobalPosition base;
};

std::string segment_file_name(GlobalPosition base);  // "seg-00000000000000000001.log"
// The segments of `log_dir`, sorted by base position. Other files are ignored.
Result<std::vector<SegmentFile>> list_segments(Env* env, const std::string& log_dir);

// The bytes of a whole segment.
class SegmentImage {
 public:
  // A memory map when the Env offers one, else a copy. For segments no one
  // else writes: sealed ones, or the last one under the log's LOCK.
  static Result<SegmentImage> load(Env* env, const std::string& path);
  // A copy made with plain reads, for the last segment of a log a server may
  // have open: its writer cuts the zero tail off when the log rolls, and a
  // mapping's access to the cut pages would fault (SIGBUS). The copy ends
  // wherever the file ended while it was read.
  static Result<SegmentImage> copy(Env* env, const std::string& path);
  std::string_view bytes() const { return bytes_; }

 private:
  std::unique_ptr<RandomAccessFile> file_;
  std::string copy_;
  std::string_view bytes_;
};

struct ScanRecord {
  RecordedEvent event;
  uint64_t offset = 0;     // of the record's frame, in the segment
  std::string_view bytes;  // the record's payload (what its CRC and hash cover)
};

struct ScanCommit {
  uint64_t offset = 0;  // of the commit's frame, in the segment
  uint64_t size = 0;    // frame bytes
  record_codec::CommitHeader header;
  std::vector<ScanRecord> records;
};

// What the scan has established so far; carried from one segment to the next.
struct ScanState {
  GlobalPosition next_position{1};
  Hash256 chain{};  // hash of position next_position - 1 (zeros at the start)
  uint64_t commits = 0;
  uint64_t events = 0;
  // Set per segment (zero_tail_allowed): all zeros from a commit boundary to
  // the segment's end are its end (preallocated space), not a torn commit.
  bool zero_tail_ends = false;
  GlobalPosition last_good() const { return next_position.prev(); }
};

struct ScanProblem {
  uint64_t offset = 0;           // byte offset in the segment where the bad commit starts
  GlobalPosition position;       // the first position that could not be trusted
  std::string reason;
};

struct ScanResult {
  uint64_t end_offset = 0;  // just past the last good commit
  uint64_t zero_tail = 0;   // bytes of zeros after it, up to the segment's end (zero_tail_ends only)
  std::optional<ScanProblem> problem;
};

using CommitVisitor = std::function<Status(const ScanCommit&)>;

// Scans the commits of one segment image from `offset` until its end or the
// first problem. `visit` is called for each good commit; an error it returns
// becomes the problem (e.g. a stream version gap found by the caller).
ScanResult scan_commits(std::string_view segment, uint64_t offset, ScanState& state, const CommitVisitor& visit);

// Whether all zeros from a commit boundary to the end of `segment` (its bytes
// from the header on) are its end, preallocated space: only in the last
// segment of a log, of format version log_format::kZeroTailFormatVersion or
// later. The writer cuts a segment back to its last commit before the next
// one exists, so zeros at the end of a sealed segment are damage.
bool zero_tail_allowed(std::string_view segment, bool last_segment);

// Recovery's torn-tail test (docs/log-format.md): true when some intact commit
// after `from` was written after position `last_good` + 1 had been made
// durable, i.e. the bad bytes at `from` had been acknowledged.
bool later_commit_proves_durable(std::string_view segment, uint64_t from, GlobalPosition last_good);

// Decodes one commit frame that starts at `bytes` (which may run on past it)
// and sits at `offset` of its segment: framing, CRCs (both levels unless
// verify_crc is false) and layout, but not the chain. Used by the scan, by
// idempotency look-ups and by reads.
Result<ScanCommit> decode_commit(std::string_view bytes, uint64_t offset, bool verify_crc = true);

}  // namespace accountable
