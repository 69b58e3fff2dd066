#include "events/record_codec.h"

#include <cstring>

#include "events/coding.h"
#include "events/crc32c.h"

namespace accountable::record_codec {

using namespace log_format;
using coding::get_u16;
using coding::get_u32;
using coding::get_u64;
using coding::put_u16;
using coding::put_u32;
using coding::put_u64;


namespace {

// The CRC covers the frame's type byte and its payload, which follow each
// other: one pass over frame[8, 9 + n).
uint32_t frame_crc(const char* frame, size_t payload_size) {
  return crc32c::mask(crc32c::value(frame + kFrameHeaderSize - 1, payload_size + 1));
}

size_t record_payload_size(const StreamAppend& s, const NewEvent& e, size_t actor_size) {
  return kRecordFixedSize + s.stream.size() + e.type.size() + actor_size + s.partner.size() + e.payload.size() +
         kRecordTrailerSize;
}

// Field paths are built only for an error, not on the hot path.
Status at_field(Status s, std::string field) {
  return s.is_ok() ? s : Status(s.code(), s.message(), std::move(field));
}

std::string field_path(size_t stream, const char* rest) {
  return "streams[" + std::to_string(stream) + "]" + rest;
}

std::string field_path(size_t stream, size_t event, const char* rest) {
  return "streams[" + std::to_string(stream) + "].events[" + std::to_string(event) + "]" + rest;
}

}  // namespace

Status validate(const CommitRequest& request) {
  if (request.command_id.is_nil()) return invalid_argument("command id is required", "command_id");
  ACCT_RETURN_IF_ERROR(validate_actor(request.actor, "actor"));
  if (request.streams.empty()) return invalid_argument("a commit needs at least one stream", "streams");
  size_t events = 0;
  size_t bytes = kFrameHeaderSize + kCommitHeaderSize;
  for (size_t i = 0; i < request.streams.size(); ++i) {
    const StreamAppend& s = request.streams[i];
    if (Status v = validate_stream_id(s.stream, {}); !v.is_ok()) return at_field(v, field_path(i, ".stream"));
    if (!s.partner.empty()) {
      if (Status v = validate_partner_id(s.partner, {}); !v.is_ok()) return at_field(v, field_path(i, ".partner"));
    }
    if (s.events.empty() && s.expected.kind() == ExpectedVersion::Kind::kAny) {
      return invalid_argument("a check-only stream (no events) needs an expected version other than any",
                              field_path(i, ".expected_version"));
    }
    for (size_t j = 0; j < i; ++j) {
      if (request.streams[j].stream == s.stream) {
        return invalid_argument("stream '" + s.stream + "' appears twice in one commit", field_path(i, ".stream"));
      }
    }
    for (size_t k = 0; k < s.events.size(); ++k) {
      const NewEvent& e = s.events[k];
      if (Status v = validate_event_type(e.type, {}); !v.is_ok()) return at_field(v, field_path(i, k, ".type"));
      if (e.payload.size() > kMaxPayloadBytes) {
        return invalid_argument("payload is " + std::to_string(e.payload.size()) + " bytes; the limit is " +
                                    std::to_string(kMaxPayloadBytes),
                                field_path(i, k, ".payload"));
      }
      if (e.id.is_nil()) return invalid_argument("event id is required", field_path(i, k, ".id"));
      bytes += kFrameHeaderSize + record_payload_size(s, e, request.actor.size());
      ++events;
    }
  }
  if (events == 0) return invalid_argument("a commit needs at least one event", "streams");
  if (events > kMaxEventsPerCommit) {
    return invalid_argument("a commit holds at most " + std::to_string(kMaxEventsPerCommit) + " events", "streams");
  }
  if (bytes > kMaxCommitBytes) {
    return invalid_argument("a commit encodes to at most " + std::to_string(kMaxCommitBytes) + " bytes", "streams");
  }
  return Status::ok();
}

std::array<unsigned char, 16> derive_command_digest(const CommitRequest& request) {
  Sha256 h;
  auto add = [&](std::string_view s) {
    char len[8];
    put_u64(len, s.size());
    h.update(std::string_view(len, 8));
    h.update(s);
  };
  add(request.actor);
  for (const StreamAppend& s : request.streams) {
    add(s.stream);
    add(s.partner);
    add(s.expected.to_string());
    for (const NewEvent& e : s.events) {
      add(e.type);
      add(std::to_string(e.schema_version));
      add(e.payload);
    }
  }
  Hash256 full = h.finish();
  std::array<unsigned char, 16> out{};
  std::memcpy(out.data(), full.data(), out.size());
  return out;
}

void encode_commit_template(const CommitRequest& request, std::string* out) {
  size_t events = 0;
  size_t payload_size = kCommitHeaderSize;
  for (const StreamAppend& s : request.streams) {
    for (const NewEvent& e : s.events) {
      payload_size += kFrameHeaderSize + record_payload_size(s, e, request.actor.size());
      ++events;
    }
  }
  const size_t start = out->size();
  out->resize(start + kFrameHeaderSize + payload_size);
  char* p = out->data() + start;
  // frame header: crc is filled by seal_commit
  put_u32(p, 0);
  put_u32(p + 4, static_cast<uint32_t>(payload_size));
  p[8] = static_cast<char>(FrameType::kCommit);
  char* c = p + kFrameHeaderSize;
  put_u64(c + kCommitFirstPositionOffset, 0);
  put_u32(c + kCommitEventCountOffset, static_cast<uint32_t>(events));
  put_u32(c + 12, 0);  // flags
  put_u64(c + kCommitDurableBeforeOffset, 0);
  std::memcpy(c + kCommitCommandIdOffset, request.command_id.bytes().data(), 16);
  std::array<unsigned char, 16> digest =
      request.command_digest ? *request.command_digest : derive_command_digest(request);
  std::memcpy(c + kCommitDigestOffset, digest.data(), 16);
  char* r = c + kCommitHeaderSize;
  for (const StreamAppend& s : request.streams) {
    for (const NewEvent& e : s.events) {
      const size_t n = record_payload_size(s, e, request.actor.size());
      put_u32(r, 0);
      put_u32(r + 4, static_cast<uint32_t>(n));
      r[8] = static_cast<char>(FrameType::kEvent);
      char* q = r + kFrameHeaderSize;
      put_u64(q, 0);      // position
      put_u64(q + 8, 0);  // stream version
      put_u64(q + 16, 0);  // recorded_at
      std::memcpy(q + 24, e.id.bytes().data(), 16);
      std::memcpy(q + 40, request.command_id.bytes().data(), 16);
      std::memcpy(q + 56, request.correlation_id.bytes().data(), 16);
      std::memcpy(q + 72, request.causation_id.bytes().data(), 16);
      put_u16(q + 88, e.schema_version);
      put_u16(q + 90, static_cast<uint16_t>(s.stream.size()));
      put_u16(q + 92, static_cast<uint16_t>(e.type.size()));
      put_u16(q + 94, static_cast<uint16_t>(request.actor.size()));
      put_u16(q + 96, static_cast<uint16_t>(s.partner.size()));
      put_u32(q + 98, static_cast<uint32_t>(e.payload.size()));
      char* v = q + kRecordFixedSize;
      for (std::string_view part : {std::string_view(s.stream), std::string_view(e.type),
                                    std::string_view(request.actor), std::string_view(s.partner),
                                    std::string_view(e.payload)}) {
        std::memcpy(v, part.data(), part.size());
        v += part.size();
      }
      std::memset(v, 0, kRecordTrailerSize);
      r = q + n;
    }
  }
}

void seal_commit(char* frame, size_t frame_size, GlobalPosition first_position, const StreamVersion* versions,
                 Timestamp recorded_at, GlobalPosition durable_before, Hash256* head_hash) {
  char* c = frame + kFrameHeaderSize;
  const size_t payload_size = frame_size - kFrameHeaderSize;
  put_u64(c + kCommitFirstPositionOffset, first_position.value());
  put_u64(c + kCommitDurableBeforeOffset, durable_before.value());
  const uint32_t events = get_u32(c + kCommitEventCountOffset);
  char* r = c + kCommitHeaderSize;
  for (uint32_t i = 0; i < events; ++i) {
    const uint32_t n = get_u32(r + 4);
    char* q = r + kFrameHeaderSize;
    put_u64(q + kRecordPositionOffset, first_position.value() + i);
    put_u64(q + kRecordVersionOffset, versions[i].value());
    put_u64(q + kRecordTimeOffset, static_cast<uint64_t>(recorded_at.micros));
    std::memcpy(q + n - kRecordTrailerSize, head_hash->data(), kHashSize);
    *head_hash = sha256(std::string_view(q, n - kHashSize));
    std::memcpy(q + n - kHashSize, head_hash->data(), kHashSize);
    put_u32(r, frame_crc(r, n));
    r = q + n;
  }
  put_u32(frame, frame_crc(frame, payload_size));
}

Result<FrameView> parse_frame(std::string_view bytes, bool verify_crc) {
  if (bytes.size() < kFrameHeaderSize) return corruption("frame header is cut short");
  const uint32_t stored_crc = get_u32(bytes.data());
  const uint32_t length = get_u32(bytes.data() + 4);
  const auto type = static_cast<FrameType>(static_cast<uint8_t>(bytes[8]));
  if (type != FrameType::kCommit && type != FrameType::kEvent) {
    return corruption("unknown frame type " + std::to_string(static_cast<int>(type)));
  }
  if (length > bytes.size() - kFrameHeaderSize) return corruption("frame length runs past the end of the data");
  if (verify_crc && frame_crc(bytes.data(), length) != stored_crc) {
    return corruption("CRC mismatch");
  }
  return FrameView{type, bytes.substr(kFrameHeaderSize, length), kFrameHeaderSize + length};
}

Result<CommitHeader> parse_commit_header(std::string_view payload) {
  if (payload.size() < kCommitHeaderSize) return corruption("commit header is cut short");
  CommitHeader h;
  h.first_position = GlobalPosition(get_u64(payload.data() + kCommitFirstPositionOffset));
  h.event_count = get_u32(payload.data() + kCommitEventCountOffset);
  h.durable_before = GlobalPosition(get_u64(payload.data() + kCommitDurableBeforeOffset));
  h.command_id = CommandId::from_bytes(reinterpret_cast<const unsigned char*>(payload.data() + kCommitCommandIdOffset));
  std::memcpy(h.digest.data(), payload.data() + kCommitDigestOffset, 16);
  if (h.event_count == 0 || h.event_count > kMaxEventsPerCommit) return corruption("commit event count out of range");
  return h;
}

Status decode_record_into(std::string_view p, RecordedEvent* out) {
  if (p.size() < kRecordFixedSize + kRecordTrailerSize) return corruption("event record is cut short");
  const char* q = p.data();
  RecordedEvent& e = *out;
  e.position = GlobalPosition(get_u64(q));
  e.version = StreamVersion(get_u64(q + 8));
  e.recorded_at = Timestamp{static_cast<int64_t>(get_u64(q + 16))};
  e.event_id = EventId::from_bytes(reinterpret_cast<const unsigned char*>(q + 24));
  e.command_id = CommandId::from_bytes(reinterpret_cast<const unsigned char*>(q + 40));
  e.correlation_id = CorrelationId::from_bytes(reinterpret_cast<const unsigned char*>(q + 56));
  e.causation_id = CausationId::from_bytes(reinterpret_cast<const unsigned char*>(q + 72));
  e.schema_version = get_u16(q + 88);
  const size_t stream_len = get_u16(q + 90);
  const size_t type_len = get_u16(q + 92);
  const size_t actor_len = get_u16(q + 94);
  const size_t partner_len = get_u16(q + 96);
  const size_t payload_len = get_u32(q + 98);
  const size_t total = kRecordFixedSize + stream_len + type_len + actor_len + partner_len + payload_len +
                       kRecordTrailerSize;
  if (total != p.size()) return corruption("event record lengths do not add up to its frame length");
  // Every length was checked against the frame by the sum above.
  const char* at = q + kRecordFixedSize;
  e.stream = std::string_view(at, stream_len);
  at += stream_len;
  e.type = std::string_view(at, type_len);
  at += type_len;
  e.actor = std::string_view(at, actor_len);
  at += actor_len;
  e.partner = std::string_view(at, partner_len);
  at += partner_len;
  e.payload = std::string_view(at, payload_len);
  at += payload_len;
  std::memcpy(e.prev_hash.data(), at, kHashSize);
  std::memcpy(e.hash.data(), at + kHashSize, kHashSize);
  return Status::ok();
}

Result<RecordedEvent> decode_record(std::string_view p) {
  RecordedEvent e;
  ACCT_RETURN_IF_ERROR(decode_record_into(p, &e));
  return e;
}

Hash256 compute_record_hash(std::string_view record_payload) {
  return sha256(record_payload.substr(0, record_payload.size() - kHashSize));
}

Result<std::string_view> record_payload_of(const RecordedEvent& e) {
  // decode_record's layout: the fixed fields, then stream (first), type,
  // actor, partner and payload, then the two hashes.
  const size_t length = kRecordFixedSize + e.stream.size() + e.type.size() + e.actor.size() + e.partner.size() +
                        e.payload.size() + kRecordTrailerSize;
  const std::string_view raw(e.stream.data() - kRecordFixedSize, length);
  if (get_u64(raw.data()) != e.position.value() || compute_record_hash(raw) != e.hash ||
      std::memcmp(raw.data() + raw.size() - kHashSize, e.hash.data(), kHashSize) != 0) {
    return corruption("the record at position " + std::to_string(e.position.value()) +
                      " does not hash to its hash");
  }
  return raw;
}

std::string encode_segment_header(GlobalPosition base_position) {
  std::string h(kSegmentHeaderSize, '\0');
  std::memcpy(h.data(), kSegmentMagic, 8);
  put_u32(h.data() + 8, kFormatVersion);
  put_u32(h.data() + 12, 0);
  put_u64(h.data() + 16, base_position.value());
  put_u32(h.data() + 24, crc32c::mask(crc32c::value(h.data(), 24)));
  put_u32(h.data() + 28, 0);
  return h;
}

std::optional<uint32_t> segment_format_version(std::string_view bytes) {
  if (bytes.size() < kSegmentHeaderSize || std::memcmp(bytes.data(), kSegmentMagic, 8) != 0 ||
      crc32c::mask(crc32c::value(bytes.data(), 24)) != get_u32(bytes.data() + 24)) {
    return std::nullopt;
  }
  return get_u32(bytes.data() + 8);
}

bool is_unsupported_format_version(std::string_view bytes) {
  const std::optional<uint32_t> version = segment_format_version(bytes);
  return version && (*version < kOldestFormatVersion || *version > kFormatVersion);
}

Result<GlobalPosition> parse_segment_header(std::string_view bytes) {
  if (bytes.size() < kSegmentHeaderSize) return corruption("segment header is cut short");
  if (std::memcmp(bytes.data(), kSegmentMagic, 8) != 0) return corruption("segment header has a bad magic");
  if (crc32c::mask(crc32c::value(bytes.data(), 24)) != get_u32(bytes.data() + 24)) {
    return corruption("segment header CRC mismatch");
  }
  if (is_unsupported_format_version(bytes)) {
    return corruption("segment format version " + std::to_string(get_u32(bytes.data() + 8)) + " is not supported");
  }
  return GlobalPosition(get_u64(bytes.data() + 16));
}

}  // namespace accountable::record_codec
