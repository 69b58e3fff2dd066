// CRC32C (Castagnoli, reflected polynomial 0x82F63B78).
//
// Software: slicing-by-8 (eight 256-entry tables, one 8-byte word per step).
// Hardware: the SSE4.2 crc32 instruction. One crc32q has a latency of about
// 3 cycles but a throughput of 1 per cycle, so a single dependency chain uses
// a third of the unit. Large buffers are therefore cut into blocks of three
// equal streams that are hashed in lockstep and then combined: the CRC of
// A||B equals shift(crc(A), |B|) ^ crc0(B), where shift(c, n) = c * x^(8n)
// mod P is linear in c and so is four 256-entry table lookups for a fixed n
// (the "crc shift" of the Google crc32c library and the Linux kernel).
//
// All tables are computed at compile time: no initialisation order issues.
#include "events/crc32c.h"

#include <array>
#include <cstring>

#if defined(__x86_64__)
#include <nmmintrin.h>
#define ACCT_CRC32C_X86 1
// The hardware functions carry their own target attribute so that the file is
// correct whether or not it is compiled with -msse4.2 (CMake adds it).
#define ACCT_TARGET_SSE42 __attribute__((target("sse4.2")))
#else
#define ACCT_CRC32C_X86 0
#endif

namespace accountable::crc32c {
namespace {

constexpr uint32_t kPoly = 0x82F63B78u;  // reflected Castagnoli polynomial

// Multiplies a (bit-reflected) polynomial by x modulo P.
constexpr uint32_t mul_x(uint32_t a) { return (a & 1u) ? (a >> 1) ^ kPoly : a >> 1; }

// a * b mod P, both bit-reflected (bit 31 is x^0).
constexpr uint32_t mul_mod_p(uint32_t a, uint32_t b) {
  uint32_t product = 0;
  for (int i = 31; i >= 0; --i) {
    if (a & (1u << i)) product ^= b;
    b = mul_x(b);
  }
  return product;
}

// x^(8n) mod P: what a CRC state is multiplied by when n zero bytes follow.
constexpr uint32_t x_pow_8n(size_t n) {
  uint32_t r = 1u << 31;  // x^0
  for (size_t i = 0; i < 8 * n; ++i) r = mul_x(r);
  return r;
}

using Table = std::array<std::array<uint32_t, 256>, 8>;

// table[k][b]: raw CRC state after byte b followed by k zero bytes.
constexpr Table make_slicing_tables() {
  Table t{};
  for (uint32_t b = 0; b < 256; ++b) {
    uint32_t c = b;
    for (int bit = 0; bit < 8; ++bit) c = mul_x(c);
    t[0][b] = c;
  }
  for (size_t k = 1; k < 8; ++k) {
    for (size_t b = 0; b < 256; ++b) t[k][b] = (t[k - 1][b] >> 8) ^ t[0][t[k - 1][b] & 0xff];
  }
  return t;
}
constexpr Table kSlicing = make_slicing_tables();

inline uint32_t load32_le(const unsigned char* p) {
  // Assembled byte by byte so that it is right on any endianness; compilers
  // turn this into one load on little-endian machines.
  return static_cast<uint32_t>(p[0]) | static_cast<uint32_t>(p[1]) << 8 | static_cast<uint32_t>(p[2]) << 16 |
         static_cast<uint32_t>(p[3]) << 24;
}

#if ACCT_CRC32C_X86

// Shifts a raw CRC state over a fixed number of zero bytes: four lookups, since the
// operation is linear in the state.
struct ShiftTable {
  std::array<std::array<uint32_t, 256>, 4> t{};
  uint32_t apply(uint32_t c) const {
    return t[0][c & 0xff] ^ t[1][(c >> 8) & 0xff] ^ t[2][(c >> 16) & 0xff] ^ t[3][c >> 24];
  }
};
constexpr ShiftTable make_shift_table(size_t bytes) {
  ShiftTable s;
  const uint32_t k = x_pow_8n(bytes);
  for (size_t i = 0; i < 4; ++i) {
    for (uint32_t b = 0; b < 256; ++b) s.t[i][b] = mul_mod_p(k, b << (8 * i));
  }
  return s;
}

// Bytes per stream in one block of three streams. The long block amortises the
// combination over 24 KiB; the shorter ones still pay off for the tail and for
// frames of a few hundred bytes (measured on AMD Zen 3).
constexpr size_t kLongStream = 8192;
constexpr size_t kMidStream = 256;
constexpr size_t kShortStream = 64;
static_assert(kLongStream % 64 == 0 && kMidStream % 64 == 0 && kShortStream % 64 == 0,
              "crc_3way consumes 64 bytes per step");
constexpr size_t kPrefetchAhead = 1024;  // bytes ahead in each stream (prefetches never fault)
constexpr ShiftTable kShiftLong = make_shift_table(kLongStream);
constexpr ShiftTable kShiftMid = make_shift_table(kMidStream);
constexpr ShiftTable kShiftShort = make_shift_table(kShortStream);

inline uint64_t load64(const unsigned char* p) {
  uint64_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

// Hashes p[0, 3*stream) as three interleaved streams and returns the combined
// state; `c` is the state before p.
ACCT_TARGET_SSE42 inline uint32_t crc_3way(uint32_t c, const unsigned char* p, size_t stream,
                                           const ShiftTable& shift) {
  uint64_t c0 = c, c1 = 0, c2 = 0;
  const unsigned char* end = p + stream;
  for (; p < end; p += 64) {
    // A scan reads commits from DRAM: ask for each stream's lines ahead, as
    // three streams 8 KiB apart are more than the hardware prefetcher follows well.
    _mm_prefetch(reinterpret_cast<const char*>(p + kPrefetchAhead), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(p + stream + kPrefetchAhead), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(p + 2 * stream + kPrefetchAhead), _MM_HINT_T0);
    for (size_t k = 0; k < 64; k += 16) {
      c0 = _mm_crc32_u64(c0, load64(p + k));
      c1 = _mm_crc32_u64(c1, load64(p + stream + k));
      c2 = _mm_crc32_u64(c2, load64(p + 2 * stream + k));
      c0 = _mm_crc32_u64(c0, load64(p + k + 8));
      c1 = _mm_crc32_u64(c1, load64(p + stream + k + 8));
      c2 = _mm_crc32_u64(c2, load64(p + 2 * stream + k + 8));
    }
  }
  uint32_t r = shift.apply(static_cast<uint32_t>(c0)) ^ static_cast<uint32_t>(c1);
  return shift.apply(r) ^ static_cast<uint32_t>(c2);
}

#endif  // ACCT_CRC32C_X86

}  // namespace

uint32_t extend_software(uint32_t crc, const char* data, size_t n) {
  const auto* p = reinterpret_cast<const unsigned char*>(data);
  uint32_t c = ~crc;
  while (n >= 8) {
    const uint32_t lo = load32_le(p) ^ c;
    const uint32_t hi = load32_le(p + 4);
    c = kSlicing[7][lo & 0xff] ^ kSlicing[6][(lo >> 8) & 0xff] ^ kSlicing[5][(lo >> 16) & 0xff] ^
        kSlicing[4][lo >> 24] ^ kSlicing[3][hi & 0xff] ^ kSlicing[2][(hi >> 8) & 0xff] ^
        kSlicing[1][(hi >> 16) & 0xff] ^ kSlicing[0][hi >> 24];
    p += 8;
    n -= 8;
  }
  for (; n > 0; --n) c = kSlicing[0][(c ^ *p++) & 0xff] ^ (c >> 8);
  return ~c;
}

#if ACCT_CRC32C_X86

ACCT_TARGET_SSE42 uint32_t extend_hardware(uint32_t crc, const char* data, size_t n) {
  const auto* p = reinterpret_cast<const unsigned char*>(data);
  uint32_t c = ~crc;
  // Aligned 8-byte loads never straddle a cache line.
  while (n > 0 && (reinterpret_cast<uintptr_t>(p) & 7) != 0) {
    c = _mm_crc32_u8(c, *p++);
    --n;
  }
  for (; n >= 3 * kLongStream; p += 3 * kLongStream, n -= 3 * kLongStream) c = crc_3way(c, p, kLongStream, kShiftLong);
  for (; n >= 3 * kMidStream; p += 3 * kMidStream, n -= 3 * kMidStream) c = crc_3way(c, p, kMidStream, kShiftMid);
  for (; n >= 3 * kShortStream; p += 3 * kShortStream, n -= 3 * kShortStream) {
    c = crc_3way(c, p, kShortStream, kShiftShort);
  }
  uint64_t c64 = c;
  for (; n >= 8; p += 8, n -= 8) c64 = _mm_crc32_u64(c64, load64(p));
  c = static_cast<uint32_t>(c64);
  for (; n > 0; --n) c = _mm_crc32_u8(c, *p++);
  return ~c;
}

bool hardware_accelerated() {
  static const bool supported = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("sse4.2") != 0;
  }();
  return supported;
}

#else  // not x86-64: no hardware path

uint32_t extend_hardware(uint32_t crc, const char* data, size_t n) { return extend_software(crc, data, n); }
bool hardware_accelerated() { return false; }

#endif

uint32_t extend(uint32_t crc, const char* data, size_t n) {
  static const bool hardware = hardware_accelerated();  // decided once per process
  return hardware ? extend_hardware(crc, data, n) : extend_software(crc, data, n);
}

}  // namespace accountable::crc32c
