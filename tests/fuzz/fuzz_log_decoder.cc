// Fuzz target: the log's record and commit decoder (events/record_codec.h,
// events/log_scanner.h). Bytes -> decode must never crash or read out of
// bounds, and must either decode or return a Status.
//
// Input: one mode byte (fuzz_log_common.h), then the data. Modes that fix up
// CRCs and hashes first let the fuzzer reach the layout checks behind them.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "events/log_scanner.h"
#include "events/record_codec.h"
#include "tests/fuzz/fuzz_log_common.h"

namespace accountable {
namespace {

void check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "fuzz_log_decoder: invariant violated: %s\n", what);
    std::abort();
  }
}

bool inside(std::string_view part, std::string_view whole) {
  return part.empty() || (part.data() >= whole.data() && part.data() + part.size() <= whole.data() + whole.size());
}

// Reads every byte a decoded record points to (ASan flags anything outside).
size_t touch(const RecordedEvent& e, std::string_view whole) {
  size_t sum = 0;
  for (std::string_view part : {e.stream, e.type, e.actor, e.partner, e.payload}) {
    check(inside(part, whole), "a decoded field points outside the input");
    for (char c : part) sum += static_cast<unsigned char>(c);
  }
  return sum + e.hash[0] + e.prev_hash[0];
}

void check_commit(const Result<ScanCommit>& commit, std::string_view bytes) {
  if (!commit) {
    check(!commit.status().is_ok(), "an error result carries an ok status");
    return;
  }
  check(commit->size <= bytes.size(), "commit size runs past the input");
  check(commit->records.size() == commit->header.event_count, "record count differs from the header");
  for (const ScanRecord& r : commit->records) {
    check(inside(r.bytes, bytes), "record bytes outside the input");
    touch(r.event, bytes);
  }
}

void run_one(const uint8_t* data, size_t size) {
  if (size == 0) return;
  const auto mode = static_cast<fuzz::LogMode>(data[0] % fuzz::kModeCount);
  std::string buf(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (mode) {
    case fuzz::kCommitNoCrc: {
      std::string_view bytes(buf);
      check_commit(decode_commit(bytes, 0, /*verify_crc=*/false), bytes);
      (void)later_commit_proves_durable(bytes, 0, GlobalPosition(1));
      break;
    }
    case fuzz::kCommitFixedCrc: {
      Hash256 chain{};
      fuzz::fix_up_commit(buf, 0, &chain);
      std::string_view bytes(buf);
      check_commit(decode_commit(bytes, 0), bytes);
      break;
    }
    case fuzz::kRecord: {
      std::string_view bytes(buf);
      auto e = record_codec::decode_record(bytes);
      if (e) {
        touch(*e, bytes);
        check(bytes.size() >= log_format::kRecordFixedSize + log_format::kRecordTrailerSize, "short record decoded");
        (void)record_codec::compute_record_hash(bytes);
      }
      auto frame = record_codec::parse_frame(bytes, /*verify_crc=*/false);
      if (frame) check(inside(frame->payload, bytes) && frame->frame_size <= bytes.size(), "frame outside the input");
      break;
    }
    case fuzz::kSegment: {
      // A segment: header (32 bytes) then commit frames, each fixed up.
      Hash256 chain{};
      size_t off = log_format::kSegmentHeaderSize;
      while (off < buf.size()) {
        const size_t next = fuzz::fix_up_commit(buf, off, &chain);
        if (next == 0) break;
        off = next;
      }
      std::string_view bytes(buf);
      (void)record_codec::parse_segment_header(bytes);
      if (bytes.size() < log_format::kSegmentHeaderSize) break;
      ScanState state;
      size_t visited = 0;
      ScanResult result = scan_commits(bytes, log_format::kSegmentHeaderSize, state, [&](const ScanCommit& c) {
        for (const ScanRecord& r : c.records) visited += touch(r.event, bytes);
        return Status::ok();
      });
      check(result.end_offset <= bytes.size(), "scan ended past the segment");
      if (result.problem) {
        check(result.problem->offset >= log_format::kSegmentHeaderSize && result.problem->offset <= bytes.size(),
              "problem offset outside the segment");
        (void)later_commit_proves_durable(bytes, result.problem->offset, state.last_good());
      }
      break;
    }
    case fuzz::kCommitRaw:
    default: {
      std::string_view bytes(buf);
      check_commit(decode_commit(bytes, 0), bytes);
      if (auto h = record_codec::parse_commit_header(bytes); h) {
        check(h->event_count > 0 && h->event_count <= log_format::kMaxEventsPerCommit, "event count out of range");
      }
      break;
    }
  }
}

}  // namespace
}  // namespace accountable

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  accountable::run_one(data, size);
  return 0;
}
