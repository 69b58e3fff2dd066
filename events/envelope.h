// The envelope: what an appender hands to the log, and what a reader gets back.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "events/sha256.h"
#include "events/types.h"

namespace accountable {

// The expectation an append states for one stream.
class ExpectedVersion {
 public:
  enum class Kind : uint8_t { kAny, kNoStream, kStreamExists, kExact };
  static ExpectedVersion any() { return ExpectedVersion(Kind::kAny, StreamVersion{}); }
  static ExpectedVersion no_stream() { return ExpectedVersion(Kind::kNoStream, StreamVersion{}); }
  static ExpectedVersion stream_exists() { return ExpectedVersion(Kind::kStreamExists, StreamVersion{}); }
  // The stream's current last version must be exactly `v` (0 == no events yet).
  static ExpectedVersion exact(StreamVersion v) { return ExpectedVersion(Kind::kExact, v); }

  Kind kind() const { return kind_; }
  StreamVersion version() const { return version_; }
  bool matches(StreamVersion current) const;
  std::string to_string() const;  // "any", "no_stream", "stream_exists", "7"

 private:
  ExpectedVersion(Kind k, StreamVersion v) : kind_(k), version_(v) {}
  Kind kind_;
  StreamVersion version_;
};

struct NewEvent {
  EventId id;
  std::string type;
  uint16_t schema_version = 1;
  std::string payload;
};

struct StreamAppend {
  std::string stream;
  ExpectedVersion expected = ExpectedVersion::any();
  std::string partner;  // the tenant the stream belongs to; empty for operator streams
  // Empty: a CHECK-ONLY stream. The commit goes through only if the stream is
  // at `expected` (which must not be `any`), and writes nothing to it. A
  // decision uses it to depend on a stream it read but does not change.
  std::vector<NewEvent> events;
};

// Pipelined commits (aggregates/engine.cc): an appender may decide a commit
// on top of an earlier one of its own that is queued but not yet durable. The
// later commit names the earlier one's link in `after`, and the log refuses
// it (kWrongExpectedVersion, so the appender decides again) unless the
// earlier commit was written exactly as requested: not refused, not answered
// as a duplicate, not in a batch that failed. Expected versions alone would
// not catch this when the later commit writes streams the earlier one only
// changed the reading of. Only the log's writer sets a link's state.
struct CommitLink {
  enum State : uint8_t { kPending, kWritten, kNotWritten };
  std::atomic<uint8_t> state{kPending};
};

// One atomic append across one or more streams.
struct CommitRequest {
  CommandId command_id;  // idempotency key: required, not nil
  CorrelationId correlation_id;
  CausationId causation_id;
  std::string actor;
  std::vector<StreamAppend> streams;
  // The identity of the command's content, used to tell a retry (same digest:
  // the first result is returned) from a misuse of the id (different digest:
  // conflict). When empty, the log derives it from streams, types and payloads
  // (not event ids, which a retry may regenerate).
  std::optional<std::array<unsigned char, 16>> command_digest;
  std::shared_ptr<CommitLink> link;         // set by the log once this commit is written or not
  std::shared_ptr<const CommitLink> after;  // the earlier commit this one was decided on top of
};

struct StreamWriteResult {
  std::string stream;
  StreamVersion first_version;
  StreamVersion last_version;
};

struct CommitResult {
  GlobalPosition first_position;
  GlobalPosition last_position;
  Timestamp recorded_at;
  std::vector<StreamWriteResult> streams;
  bool duplicate = false;  // true when this command id had already been committed
};

// A committed event as read back. The string views point into memory owned
// by the ReadBatch (or the log's memory map) that produced it: keep that alive.
struct RecordedEvent {
  GlobalPosition position;
  std::string_view stream;
  StreamVersion version;
  EventId event_id;
  std::string_view type;
  uint16_t schema_version = 0;
  CommandId command_id;
  CorrelationId correlation_id;
  CausationId causation_id;
  std::string_view actor;
  Timestamp recorded_at;
  std::string_view partner;  // empty when the stream has no partner
  std::string_view payload;
  Hash256 prev_hash{};
  Hash256 hash{};
};

}  // namespace accountable
