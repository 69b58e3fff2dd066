// Text forms of ids and times (events/types.h) written into a caller's buffer
// instead of a new string: for writers that append to a buffer they reuse
// (the relay's encoder, the payload's JSON). Same text as format_uuid_bytes
// and format_timestamp, which are built on these.
#pragma once

#include <array>
#include <cstddef>

#include "events/types.h"

namespace accountable {

// Exactly kUuidTextSize bytes (8-4-4-4-12, lower case), no terminator.
inline constexpr size_t kUuidTextSize = 36;
void format_uuid_to(const std::array<unsigned char, 16>& b, char* out);

// RFC 3339 with microseconds into `out` (room for kTimestampTextMax bytes);
// returns its length (27 for years 0000-9999), no terminator.
inline constexpr size_t kTimestampTextMax = 64;
size_t format_timestamp_to(Timestamp t, char* out);

}  // namespace accountable
