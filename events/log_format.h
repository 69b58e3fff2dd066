// Constants of the on-disk log format. The byte grammar is docs/log-format.md;
// change both together. Everything here is shared by the writer, the reader,
// recovery and `acct verify`.
#pragma once

#include <cstddef>
#include <cstdint>

namespace accountable::log_format {

inline constexpr char kSegmentMagic[8] = {'A', 'C', 'C', 'T', 'S', 'E', 'G', '1'};
// Version 2 segments may end in zeros (preallocated space, the end of the
// log); version 1 segments end at their last commit. Both are read.
inline constexpr uint32_t kFormatVersion = 2;
inline constexpr uint32_t kOldestFormatVersion = 1;
inline constexpr uint32_t kZeroTailFormatVersion = 2;
inline constexpr size_t kSegmentHeaderSize = 32;

// frame := crc u32 | length u32 | type u8 | payload
inline constexpr size_t kFrameHeaderSize = 9;
enum class FrameType : uint8_t { kInvalid = 0, kCommit = 1, kEvent = 2 };

// commit payload header, before its record frames
inline constexpr size_t kCommitHeaderSize = 8 + 4 + 4 + 8 + 16 + 16;  // 56
inline constexpr size_t kCommitFirstPositionOffset = 0;
inline constexpr size_t kCommitEventCountOffset = 8;
inline constexpr size_t kCommitDurableBeforeOffset = 16;
inline constexpr size_t kCommitCommandIdOffset = 24;
inline constexpr size_t kCommitDigestOffset = 40;

// record payload: fixed part, then the variable strings and payload, then two hashes
inline constexpr size_t kRecordFixedSize = 8 + 8 + 8 + 16 * 4 + 2 + 2 * 4 + 4;  // 102
inline constexpr size_t kRecordPositionOffset = 0;
inline constexpr size_t kRecordVersionOffset = 8;
inline constexpr size_t kRecordTimeOffset = 16;
inline constexpr size_t kHashSize = 32;
inline constexpr size_t kRecordTrailerSize = 2 * kHashSize;

// A location is segment_ordinal << 40 | byte offset in that segment.
inline constexpr int kLocationOffsetBits = 40;
inline constexpr uint64_t kLocationOffsetMask = (uint64_t{1} << kLocationOffsetBits) - 1;
inline constexpr uint64_t make_location(uint64_t ordinal, uint64_t offset) {
  return ordinal << kLocationOffsetBits | offset;
}
inline constexpr uint64_t location_ordinal(uint64_t loc) { return loc >> kLocationOffsetBits; }
inline constexpr uint64_t location_offset(uint64_t loc) { return loc & kLocationOffsetMask; }

// Hard limits of the format (settings may be lower).
inline constexpr uint32_t kMaxEventsPerCommit = 10'000;
inline constexpr uint32_t kMaxPayloadBytes = 4u << 20;
inline constexpr uint32_t kMaxCommitBytes = 64u << 20;
inline constexpr size_t kMaxStreamIdBytes = 128;
inline constexpr size_t kMaxTypeBytes = 64;
inline constexpr size_t kMaxActorBytes = 256;

inline constexpr char kCheckpointMagic[8] = {'A', 'C', 'C', 'T', 'I', 'D', 'X', '1'};
inline constexpr uint32_t kCheckpointVersion = 2;  // 2: the index in runs (docs/log-format.md)

}  // namespace accountable::log_format
