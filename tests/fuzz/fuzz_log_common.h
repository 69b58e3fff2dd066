// Shared by fuzz_log_decoder.cc and make_log_seeds.cc: the input format of
// fuzz_log_decoder and the CRC/hash fix-up that lets mutated bytes reach the
// checks behind the CRCs.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "events/coding.h"
#include "events/crc32c.h"
#include "events/log_format.h"
#include "events/sha256.h"

namespace accountable::fuzz {

// First byte of a fuzz_log_decoder input (taken modulo kModeCount); the rest
// is the data.
enum LogMode : uint8_t {
  kCommitNoCrc = 0,     // decode_commit(verify_crc = false), later_commit_proves_durable
  kCommitFixedCrc = 1,  // CRCs (and record hashes) recomputed, then decode_commit
  kRecord = 2,          // decode_record on a record payload
  kSegment = 3,         // segment header + scan_commits, CRCs and hash chain fixed up
  kCommitRaw = 4,       // decode_commit on the bytes as they are (CRC-checked)
  kModeCount = 5,
};

inline uint32_t frame_crc(uint8_t type, const char* payload, size_t n) {
  const char t = static_cast<char>(type);
  return crc32c::mask(crc32c::extend(crc32c::value(&t, 1), payload, n));
}

// Recomputes the CRCs of the commit frame at `off` of `buf` and of the record
// frames inside it, and (when `chain` is given) each record's prev_hash and
// hash. Leaves bytes alone wherever a length does not fit. Returns the offset
// just past the commit frame, or 0 when there is no complete frame at `off`.
inline size_t fix_up_commit(std::string& buf, size_t off, Hash256* chain) {
  using namespace log_format;
  if (off > buf.size() || buf.size() - off < kFrameHeaderSize) return 0;
  const uint32_t length = coding::get_u32(buf.data() + off + 4);
  if (length > buf.size() - off - kFrameHeaderSize) return 0;
  char* payload = buf.data() + off + kFrameHeaderSize;
  if (length >= kCommitHeaderSize) {
    size_t at = kCommitHeaderSize;
    while (length - at >= kFrameHeaderSize) {
      const uint32_t n = coding::get_u32(payload + at + 4);
      if (n > length - at - kFrameHeaderSize) break;
      char* q = payload + at + kFrameHeaderSize;
      if (chain != nullptr && n >= kRecordFixedSize + kRecordTrailerSize) {
        std::memcpy(q + n - kRecordTrailerSize, chain->data(), kHashSize);
        *chain = sha256(std::string_view(q, n - kHashSize));
        std::memcpy(q + n - kHashSize, chain->data(), kHashSize);
      }
      coding::put_u32(payload + at, frame_crc(static_cast<uint8_t>(payload[at + 8]), q, n));
      at += kFrameHeaderSize + n;
    }
  }
  coding::put_u32(buf.data() + off, frame_crc(static_cast<uint8_t>(buf[off + 8]), payload, length));
  return off + kFrameHeaderSize + length;
}

}  // namespace accountable::fuzz
