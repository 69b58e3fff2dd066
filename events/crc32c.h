// CRC32C (Castagnoli), as used by every frame of the log (docs/log-format.md).
// Uses the SSE4.2 crc32 instruction when the CPU has it, with carry-less
// multiply (and AVX-512's) when it has that too (checked once at run time),
// else a table-driven software fallback. All give identical results.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

namespace accountable::crc32c {

// Returns the CRC32C of data[0, n) appended to a stream whose CRC so far is
// `crc` (extend(0, ...) starts a new one).
uint32_t extend(uint32_t crc, const char* data, size_t n);
inline uint32_t value(const char* data, size_t n) { return extend(0, data, n); }

// The implementations, exposed for tests and benchmarks: SSE4.2's crc32
// alone; with carry-less multiply (PCLMULQDQ) for what is left under 768
// bytes; and with AVX-512's VPCLMULQDQ folding 256 bytes at a time
// (events/crc32c.cc). Each hardware one only if the CPU has what it needs.
uint32_t extend_software(uint32_t crc, const char* data, size_t n);
uint32_t extend_sse42(uint32_t crc, const char* data, size_t n);        // hardware_accelerated()
uint32_t extend_sse42_clmul(uint32_t crc, const char* data, size_t n);  // clmul_accelerated()
uint32_t extend_avx512_clmul(uint32_t crc, const char* data, size_t n); // avx512_clmul_accelerated()
bool hardware_accelerated();
bool clmul_accelerated();
bool avx512_clmul_accelerated();

struct Implementation {
  const char* name;
  uint32_t (*extend)(uint32_t crc, const char* data, size_t n);
  bool available;  // this CPU can run it
};
// Every implementation, slowest first; extend() uses the last one available.
const std::array<Implementation, 4>& implementations();
// The name of the one extend() uses.
const char* implementation();

// Stored CRCs are masked (as in leveldb): computing the CRC of bytes that
// themselves contain CRCs is otherwise prone to degenerate results.
constexpr uint32_t kMaskDelta = 0xa282ead8u;
inline uint32_t mask(uint32_t crc) { return ((crc >> 15) | (crc << 17)) + kMaskDelta; }
inline uint32_t unmask(uint32_t masked) {
  uint32_t rot = masked - kMaskDelta;
  return (rot >> 17) | (rot << 15);
}

}  // namespace accountable::crc32c
