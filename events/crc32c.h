// CRC32C (Castagnoli), as used by every frame of the log (docs/log-format.md).
// Uses the SSE4.2 crc32 instruction when the CPU has it (checked once at run
// time), else a table-driven software fallback. Both give identical results.
#pragma once

#include <cstddef>
#include <cstdint>

namespace accountable::crc32c {

// Returns the CRC32C of data[0, n) appended to a stream whose CRC so far is
// `crc` (extend(0, ...) starts a new one).
uint32_t extend(uint32_t crc, const char* data, size_t n);
inline uint32_t value(const char* data, size_t n) { return extend(0, data, n); }

// The two implementations, exposed for tests and benchmarks.
uint32_t extend_software(uint32_t crc, const char* data, size_t n);
uint32_t extend_hardware(uint32_t crc, const char* data, size_t n);  // only if hardware_accelerated()
bool hardware_accelerated();

// Stored CRCs are masked (as in leveldb): computing the CRC of bytes that
// themselves contain CRCs is otherwise prone to degenerate results.
constexpr uint32_t kMaskDelta = 0xa282ead8u;
inline uint32_t mask(uint32_t crc) { return ((crc >> 15) | (crc << 17)) + kMaskDelta; }
inline uint32_t unmask(uint32_t masked) {
  uint32_t rot = masked - kMaskDelta;
  return (rot >> 17) | (rot << 15);
}

}  // namespace accountable::crc32c
