// Strong types for everything that crosses the log's API: positions, versions, ids.
// No naked uint64_t or string should stand for one of these in a signature.
#pragma once

#include <array>
#include <compare>
#include <cstring>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "events/status.h"

namespace accountable {

// An integer that only compares with its own kind.
template <class Tag>
class StrongU64 {
 public:
  constexpr StrongU64() = default;
  constexpr explicit StrongU64(uint64_t v) : v_(v) {}
  constexpr uint64_t value() const { return v_; }
  constexpr StrongU64 next() const { return StrongU64(v_ + 1); }
  constexpr StrongU64 prev() const { return StrongU64(v_ - 1); }
  friend constexpr auto operator<=>(StrongU64, StrongU64) = default;

 private:
  uint64_t v_ = 0;
};

struct GlobalPositionTag {};
struct StreamVersionTag {};

// Gapless, 1-based position of an event in the whole log. Position 0 means
// "before the first event"; reading $all from 0 or 1 starts at the beginning.
using GlobalPosition = StrongU64<GlobalPositionTag>;

// Gapless, 1-based version of an event within its stream. Version 0 means the
// stream has no events yet.
using StreamVersion = StrongU64<StreamVersionTag>;

// A 128-bit identifier (UUID layout; v4 random or v7 time-ordered).
template <class Tag>
class Id128 {
 public:
  using Bytes = std::array<unsigned char, 16>;
  constexpr Id128() = default;
  constexpr explicit Id128(const Bytes& b) : bytes_(b) {}

  static Id128 random();              // v4, from the OS CSPRNG
  static Id128 from_bytes(const unsigned char* p);
  static Result<Id128> parse(std::string_view text);  // canonical 8-4-4-4-12 hex
  std::string to_string() const;
  const Bytes& bytes() const { return bytes_; }
  bool is_nil() const { return bytes_ == Bytes{}; }
  friend constexpr auto operator<=>(const Id128&, const Id128&) = default;

 private:
  Bytes bytes_{};
};

struct EventIdTag {};
struct CommandIdTag {};
struct CorrelationIdTag {};
struct CausationIdTag {};
using EventId = Id128<EventIdTag>;
using CommandId = Id128<CommandIdTag>;
using CorrelationId = Id128<CorrelationIdTag>;
using CausationId = Id128<CausationIdTag>;

// Fills `out` with `n` bytes from the OS CSPRNG (getrandom).
void random_bytes(unsigned char* out, size_t n);
// The same source, read 4 KiB at a time into a per-thread pool: ids are made
// per event, and a system call each would cost more than the rest of an append.
void random_id_bytes(unsigned char out[16]);
std::string hex_encode(const unsigned char* p, size_t n);
// 0-15 for a hex digit of either case, -1 for any other character.
int hex_digit_value(char c);
Result<std::array<unsigned char, 16>> parse_uuid_bytes(std::string_view text);
std::string format_uuid_bytes(const std::array<unsigned char, 16>& b);

template <class Tag>
Id128<Tag> Id128<Tag>::random() {
  Bytes b;
  random_id_bytes(b.data());
  b[6] = static_cast<unsigned char>((b[6] & 0x0f) | 0x40);  // version 4
  b[8] = static_cast<unsigned char>((b[8] & 0x3f) | 0x80);  // RFC 4122 variant
  return Id128(b);
}
template <class Tag>
Id128<Tag> Id128<Tag>::from_bytes(const unsigned char* p) {
  Bytes b;
  std::memcpy(b.data(), p, b.size());
  return Id128(b);
}
template <class Tag>
Result<Id128<Tag>> Id128<Tag>::parse(std::string_view text) {
  auto bytes = parse_uuid_bytes(text);
  if (!bytes) return bytes.status();
  return Id128(*bytes);
}
template <class Tag>
std::string Id128<Tag>::to_string() const {
  return format_uuid_bytes(bytes_);
}

// Names used in the log: stream ids, event types, partner ids. They are
// restricted so that they are safe in file names, URLs and logs.
//   stream id / partner id: 1..128 bytes of [A-Za-z0-9._:@-], not starting with
//                           '$' (reserved, e.g. "$all") or '.'.
//   event type:             1..64 bytes of [A-Za-z0-9_.]
//   actor:                  1..256 printable ASCII bytes (0x21..0x7e)
Status validate_stream_id(std::string_view id, std::string_view field = "stream");
Status validate_partner_id(std::string_view id, std::string_view field = "partner");
Status validate_event_type(std::string_view type, std::string_view field = "type");
Status validate_actor(std::string_view actor, std::string_view field = "actor");

// Microseconds since the Unix epoch, UTC.
struct Timestamp {
  int64_t micros = 0;
  friend constexpr auto operator<=>(Timestamp, Timestamp) = default;
};
std::string format_timestamp(Timestamp t);  // RFC 3339, "2026-11-24T13:00:00.123456Z"
// Exactly the texts of kTimestampPattern: a calendar date (proleptic Gregorian,
// years 0000-9999), optionally with a UTC time of day ("T13:00:00Z", up to 6
// fraction digits). No offsets, no leap second.
Result<Timestamp> parse_timestamp(std::string_view text);
// The JSON Schema (ECMA-262) pattern of what parse_timestamp accepts; the API
// document's Timestamp schema is generated from it (schema/json_codec.cc).
inline constexpr std::string_view kTimestampPattern =
    R"(^(?:[0-9]{4}-(?:(?:0[1-9]|1[0-2])-(?:0[1-9]|1[0-9]|2[0-8])|(?:0[13-9]|1[0-2])-(?:29|30)|(?:0[13578]|1[02])-31))"
    R"(|(?:[0-9]{2}(?:0[48]|[2468][048]|[13579][26])|(?:0[48]|[2468][048]|[13579][26]|00)00)-02-29))"
    R"((?:T(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\.[0-9]{1,6})?Z)?$)";

}  // namespace accountable

template <class Tag>
struct std::hash<accountable::Id128<Tag>> {
  size_t operator()(const accountable::Id128<Tag>& id) const noexcept {
    uint64_t a = 0, b = 0;
    for (int i = 0; i < 8; ++i) a = (a << 8) | id.bytes()[i];
    for (int i = 8; i < 16; ++i) b = (b << 8) | id.bytes()[i];
    return static_cast<size_t>(a * 0x9E3779B97F4A7C15ULL ^ b);
  }
};
