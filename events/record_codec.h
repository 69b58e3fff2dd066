// Encoding and decoding of frames, commits and event records
// (docs/log-format.md). Pure functions over bytes: no I/O.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "events/envelope.h"
#include "events/log_format.h"
#include "events/status.h"

namespace accountable::record_codec {

// Checks a CommitRequest against the format's limits; the error names the field
// (e.g. "streams[1].events[0].type").
Status validate(const CommitRequest& request);

// The digest used for idempotency when the request carries none.
std::array<unsigned char, 16> derive_command_digest(const CommitRequest& request);

// Encodes a whole commit frame with placeholders for what only the writer
// knows (positions, stream versions, time, durable_before, hashes, CRCs).
// Appends to `out`. The request must have passed validate().
void encode_commit_template(const CommitRequest& request, std::string* out);

// Writer side: fills the placeholders of a commit frame encoded by
// encode_commit_template, chaining hashes from `*head_hash` (updated), and
// computes every CRC. `versions[i]` is the version of the i-th record.
// `recorded_at` is stamped into every record here, by the writer, so that time
// never goes backwards along positions.
void seal_commit(char* frame, size_t frame_size, GlobalPosition first_position, const StreamVersion* versions,
                 Timestamp recorded_at, GlobalPosition durable_before, Hash256* head_hash);

struct FrameView {
  log_format::FrameType type = log_format::FrameType::kInvalid;
  std::string_view payload;
  size_t frame_size = 0;  // header + payload
};

// Parses the frame at the start of `bytes`. kCorruption if the header is
// incomplete, the length runs past `bytes`, the type is unknown or the CRC fails.
// The length is only trusted once the CRC matched.
Result<FrameView> parse_frame(std::string_view bytes, bool verify_crc = true);

struct CommitHeader {
  GlobalPosition first_position;
  uint32_t event_count = 0;
  GlobalPosition durable_before;
  CommandId command_id;
  std::array<unsigned char, 16> digest{};
};
Result<CommitHeader> parse_commit_header(std::string_view commit_payload);

// Decodes a record payload (views point into it). Checks lengths only; the
// caller checks CRC (parse_frame) and hashes (record_hash_matches).
Result<RecordedEvent> decode_record(std::string_view record_payload);
// The same into an existing object: the hot loops of reads reuse one.
Status decode_record_into(std::string_view record_payload, RecordedEvent* out);
// SHA-256 over the record payload before its own hash.
Hash256 compute_record_hash(std::string_view record_payload);
// The record payload a decoded event's views point into (every read of the
// log decodes with decode_record): the bytes as written, which its hash
// covers. kCorruption if they do not hash to the event's hash.
Result<std::string_view> record_payload_of(const RecordedEvent& e);

// Builds a segment header for `base_position`, and checks one.
std::string encode_segment_header(GlobalPosition base_position);
Result<GlobalPosition> parse_segment_header(std::string_view bytes);
// The format version of a whole, intact segment header (magic and CRC good),
// whether or not this binary reads it; nullopt for anything else.
std::optional<uint32_t> segment_format_version(std::string_view bytes);
// An intact header of a format version this binary does not read: a newer
// release wrote it, so it is never an unfinished segment to remove.
bool is_unsupported_format_version(std::string_view bytes);

}  // namespace accountable::record_codec
