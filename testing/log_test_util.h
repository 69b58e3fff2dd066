// Helpers shared by the log's tests (not part of the library).
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "events/coding.h"
#include "events/crc32c.h"
#include "events/event_log.h"
#include "events/log_format.h"
#include "testing/fault_env.h"

namespace accountable::testing {

inline NewEvent make_event(std::string type, std::string payload) {
  return NewEvent{EventId::random(), std::move(type), 1, std::move(payload)};
}

inline CommitRequest make_commit(const std::string& stream, ExpectedVersion expected, int events = 1,
                                 const std::string& partner = "", const std::string& type = "Happened") {
  CommitRequest r;
  r.command_id = CommandId::random();
  r.correlation_id = CorrelationId::random();
  r.causation_id = CausationId::random();
  r.actor = "operator";
  StreamAppend s;
  s.stream = stream;
  s.expected = expected;
  s.partner = partner;
  for (int i = 0; i < events; ++i) s.events.push_back(make_event(type, stream + "#" + std::to_string(i)));
  r.streams.push_back(std::move(s));
  return r;
}

inline LogOptions fault_options(FaultInjectionEnv* env, const std::string& dir = "/data") {
  LogOptions o;
  o.data_dir = dir;
  o.env = env;
  o.segment_bytes = 64 * 1024;
  o.checkpoint_every_events = 0;  // only on close, unless a test asks
  return o;
}

// Opens the log, failing the test (and returning null) if it does not open.
inline std::unique_ptr<EventLog> open_log(const LogOptions& options) {
  auto log = EventLog::open(options);
  EXPECT_TRUE(log.is_ok()) << log.status().to_string();
  return log.is_ok() ? std::move(*log) : nullptr;
}

// Every event of the log, read through $all.
inline std::vector<std::string> all_events(const EventLog& log) {
  std::vector<std::string> out;
  auto batch = log.read_all(GlobalPosition(1), 1'000'000);
  if (!batch) return {"error: " + batch.status().to_string()};
  for (const RecordedEvent& e : batch->events) {
    out.push_back(std::to_string(e.position.value()) + " " + std::string(e.stream) + "@" +
                  std::to_string(e.version.value()) + " " + std::string(e.payload));
  }
  return out;
}

// The first segment of a log under /data (fault_options' default folder).
inline constexpr char kSegment1[] = "/data/log/seg-00000000000000000001.log";

// A frame's masked CRC-32C: over its type byte, then its payload (docs/log-format.md).
inline uint32_t frame_crc(char type, const char* payload, size_t n) {
  return crc32c::mask(crc32c::extend(crc32c::value(&type, 1), payload, n));
}

// Recomputes every CRC of a one-segment image, as a forger who changed bytes
// would; stops at the preallocated zeros after the last commit.
inline void reseal_crcs(std::string& seg) {
  using namespace log_format;
  size_t at = kSegmentHeaderSize;
  while (at + kFrameHeaderSize <= seg.size()) {
    const uint32_t len = coding::get_u32(seg.data() + at + 4);
    if (len == 0) break;
    char* payload = seg.data() + at + kFrameHeaderSize;
    size_t r = kCommitHeaderSize;
    while (r < len) {
      const uint32_t rlen = coding::get_u32(payload + r + 4);
      coding::put_u32(payload + r, frame_crc(2, payload + r + kFrameHeaderSize, rlen));
      r += kFrameHeaderSize + rlen;
    }
    coding::put_u32(seg.data() + at, frame_crc(1, payload, len));
    at += kFrameHeaderSize + len;
  }
}

}  // namespace accountable::testing
