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
// Frames of a few hundred bytes (most records) are too short for fixed blocks:
// a 400-byte record took two 192-byte blocks, each paying a serial table
// combination. With carry-less multiply (PCLMULQDQ) the shift works for any
// length, so a short buffer is cut into three streams of its own length and
// combined once: shift(c, n) = crc32(clmul(c, x^(8n-33) mod P)) (the product
// is x * c * K as the instruction reads it, and crc32 multiplies by x^32 mod P).
//
// All tables are computed at compile time: no initialisation order issues.
#include "events/crc32c.h"

#include <array>
#include <cstring>

#if defined(__x86_64__)
#include <nmmintrin.h>
#include <immintrin.h>
#define ACCT_CRC32C_X86 1
// The hardware functions carry their own target attribute so that the file is
// correct whether or not it is compiled with -msse4.2 (CMake adds it).
#define ACCT_TARGET_SSE42 __attribute__((target("sse4.2")))
#define ACCT_TARGET_SSE42_CLMUL __attribute__((target("sse4.2,pclmul")))
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

// x^bits mod P.
constexpr uint32_t x_pow(size_t bits) {
  uint32_t r = 1u << 31;  // x^0
  for (size_t i = 0; i < bits; ++i) r = mul_x(r);
  return r;
}
// x^(8n) mod P: what a CRC state is multiplied by when n zero bytes follow.
constexpr uint32_t x_pow_8n(size_t n) { return x_pow(8 * n); }

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

// The carry-less path: what is left after the 768-byte blocks (under 768
// bytes) is cut into three streams of `stream` bytes (a multiple of 8, at most
// 248) when it holds at least kClmulMinBytes.
constexpr size_t kClmulMaxStream = (3 * kMidStream - 1) / 24 * 8;
constexpr size_t kClmulMinBytes = 96;  // below, one stream of crc32q is as fast

// For a stream of 8j bytes: the multipliers that shift a state over one and
// over two streams, x^(64j-33) and x^(128j-33) mod P.
struct ClmulShift {
  uint64_t over_one = 0;
  uint64_t over_two = 0;
};
using ClmulShifts = std::array<ClmulShift, kClmulMaxStream / 8 + 1>;
constexpr ClmulShifts make_clmul_shifts() {
  ClmulShifts t{};
  for (size_t j = 1; j < t.size(); ++j) t[j] = ClmulShift{x_pow(64 * j - 33), x_pow(128 * j - 33)};
  return t;
}
constexpr ClmulShifts kClmulShifts = make_clmul_shifts();

// Hashes p[0, 3*stream) as three streams combined by carry-less multiply; `c`
// is the state before p.
ACCT_TARGET_SSE42_CLMUL inline uint32_t crc_3way_clmul(uint32_t c, const unsigned char* p, size_t stream) {
  uint64_t c0 = c, c1 = 0, c2 = 0;
  for (size_t k = 0; k < stream; k += 8) {
    c0 = _mm_crc32_u64(c0, load64(p + k));
    c1 = _mm_crc32_u64(c1, load64(p + stream + k));
    c2 = _mm_crc32_u64(c2, load64(p + 2 * stream + k));
  }
  const ClmulShift& shift = kClmulShifts[stream / 8];
  const __m128i over_two = _mm_clmulepi64_si128(_mm_cvtsi64_si128(static_cast<long long>(c0)),
                                                _mm_cvtsi64_si128(static_cast<long long>(shift.over_two)), 0x00);
  const __m128i over_one = _mm_clmulepi64_si128(_mm_cvtsi64_si128(static_cast<long long>(c1)),
                                                _mm_cvtsi64_si128(static_cast<long long>(shift.over_one)), 0x00);
  const auto product = static_cast<uint64_t>(_mm_cvtsi128_si64(_mm_xor_si128(over_two, over_one)));
  return static_cast<uint32_t>(_mm_crc32_u64(0, product)) ^ static_cast<uint32_t>(c2);
}

// Up to 7 bytes in at most three instructions.
ACCT_TARGET_SSE42 inline uint32_t crc_few(uint32_t c, const unsigned char* p, size_t n) {
  if (n & 4) {
    uint32_t v;
    std::memcpy(&v, p, 4);
    c = _mm_crc32_u32(c, v);
    p += 4;
  }
  if (n & 2) {
    uint16_t v;
    std::memcpy(&v, p, 2);
    c = _mm_crc32_u16(c, v);
    p += 2;
  }
  if (n & 1) c = _mm_crc32_u8(c, *p);
  return c;
}

// The last bytes: 8 at a time, then the few left.
ACCT_TARGET_SSE42 inline uint32_t crc_tail(uint32_t c, const unsigned char* p, size_t n) {
  uint64_t c64 = c;
  for (; n >= 8; p += 8, n -= 8) c64 = _mm_crc32_u64(c64, load64(p));
  return crc_few(static_cast<uint32_t>(c64), p, n);
}

// Aligned 8-byte loads never straddle a cache line: up to 7 bytes first.
ACCT_TARGET_SSE42 inline uint32_t crc_align(uint32_t c, const unsigned char*& p, size_t& n) {
  if (const size_t misaligned = reinterpret_cast<uintptr_t>(p) & 7; misaligned != 0 && n >= 8) {
    c = crc_few(c, p, 8 - misaligned);
    p += 8 - misaligned;
    n -= 8 - misaligned;
  }
  return c;
}

// The long and mid blocks of three streams, leaving under 768 bytes.
ACCT_TARGET_SSE42 inline uint32_t crc_blocks(uint32_t c, const unsigned char*& p, size_t& n) {
  for (; n >= 3 * kLongStream; p += 3 * kLongStream, n -= 3 * kLongStream) c = crc_3way(c, p, kLongStream, kShiftLong);
  for (; n >= 3 * kMidStream; p += 3 * kMidStream, n -= 3 * kMidStream) c = crc_3way(c, p, kMidStream, kShiftMid);
  return c;
}

// Under 768 bytes, by carry-less multiply: three streams of the buffer's own
// length when it holds at least kClmulMinBytes.
ACCT_TARGET_SSE42_CLMUL inline uint32_t crc_short_clmul(uint32_t c, const unsigned char* p, size_t n) {
  if (n >= kClmulMinBytes) {
    const size_t stream = n / 24 * 8;
    c = crc_3way_clmul(c, p, stream);
    p += 3 * stream;
    n -= 3 * stream;
  }
  return crc_tail(c, p, n);
}

// Each hardware path carries exactly the instruction sets it uses.
ACCT_TARGET_SSE42 uint32_t extend_sse42_path(uint32_t crc, const char* data, size_t n) {
  const auto* p = reinterpret_cast<const unsigned char*>(data);
  uint32_t c = crc_blocks(crc_align(~crc, p, n), p, n);
  for (; n >= 3 * kShortStream; p += 3 * kShortStream, n -= 3 * kShortStream) {
    c = crc_3way(c, p, kShortStream, kShiftShort);
  }
  return ~crc_tail(c, p, n);
}

ACCT_TARGET_SSE42_CLMUL uint32_t extend_clmul_path(uint32_t crc, const char* data, size_t n) {
  const auto* p = reinterpret_cast<const unsigned char*>(data);
  const uint32_t c = crc_blocks(crc_align(~crc, p, n), p, n);
  return ~crc_short_clmul(c, p, n);
}

// Folding (Intel's "Fast CRC Computation Using PCLMULQDQ", with 512-bit
// registers): 256 bytes at a time in four registers of four 16-byte lanes. A
// 16-byte chunk A = H*x^64 + L (H its first 8 bytes) moved D bytes later is
// A*x^(8D) mod P, which is H*(x^(8D+64) mod P) + L*(x^(8D) mod P): two
// carry-less products of at most 95 bits, XORed into the chunk found there. In
// the bit-reflected form a product comes out multiplied by x, so the constants
// are x^(8D+63) and x^(8D-1), placed in the upper half of a 64-bit operand.
#define ACCT_TARGET_AVX512_CLMUL __attribute__((target("sse4.2,pclmul,avx512f,vpclmulqdq")))
constexpr size_t kFoldBlock = 256;
// Below two blocks, the fold's fixed cost (reducing 16 lanes to one) is more
// than the three-stream path takes for the whole buffer (measured).
constexpr size_t kFoldMinBytes = 2 * kFoldBlock;

// One lane's constants for a distance of d bytes: [for H, for L].
struct FoldConstants {
  uint64_t for_first_half;
  uint64_t for_second_half;
};
constexpr FoldConstants fold_constants(size_t d) {
  return {uint64_t{x_pow(8 * d + 63)} << 32, uint64_t{x_pow(8 * d - 1)} << 32};
}
constexpr FoldConstants kFold256 = fold_constants(256);
constexpr FoldConstants kFold64 = fold_constants(64);
constexpr FoldConstants kFold48 = fold_constants(48);
constexpr FoldConstants kFold32 = fold_constants(32);
constexpr FoldConstants kFold16 = fold_constants(16);

ACCT_TARGET_AVX512_CLMUL inline __m512i fold_into(__m512i chunk, __m512i constants, __m512i later) {
  const __m512i first = _mm512_clmulepi64_epi128(chunk, constants, 0x00);
  const __m512i second = _mm512_clmulepi64_epi128(chunk, constants, 0x11);
  return _mm512_ternarylogic_epi64(first, second, later, 0x96);  // first ^ second ^ later
}

ACCT_TARGET_AVX512_CLMUL inline __m512i broadcast(FoldConstants k) {
  return _mm512_set_epi64(static_cast<long long>(k.for_second_half), static_cast<long long>(k.for_first_half),
                          static_cast<long long>(k.for_second_half), static_cast<long long>(k.for_first_half),
                          static_cast<long long>(k.for_second_half), static_cast<long long>(k.for_first_half),
                          static_cast<long long>(k.for_second_half), static_cast<long long>(k.for_first_half));
}

// Consumes p[0, n) rounded down to 256 bytes (n >= 256); `c` is the state before p.
ACCT_TARGET_AVX512_CLMUL inline uint32_t crc_fold(uint32_t c, const unsigned char*& p, size_t& n) {
  // A state c before the data is the same as c XORed into its first 4 bytes.
  __m512i x0 = _mm512_xor_si512(_mm512_loadu_si512(p), _mm512_zextsi128_si512(_mm_cvtsi32_si128(static_cast<int>(c))));
  __m512i x1 = _mm512_loadu_si512(p + 64);
  __m512i x2 = _mm512_loadu_si512(p + 128);
  __m512i x3 = _mm512_loadu_si512(p + 192);
  p += kFoldBlock;
  n -= kFoldBlock;
  const __m512i by256 = broadcast(kFold256);
  for (; n >= kFoldBlock; p += kFoldBlock, n -= kFoldBlock) {
    x0 = fold_into(x0, by256, _mm512_loadu_si512(p));
    x1 = fold_into(x1, by256, _mm512_loadu_si512(p + 64));
    x2 = fold_into(x2, by256, _mm512_loadu_si512(p + 128));
    x3 = fold_into(x3, by256, _mm512_loadu_si512(p + 192));
  }
  const __m512i by64 = broadcast(kFold64);
  x3 = fold_into(fold_into(fold_into(x0, by64, x1), by64, x2), by64, x3);
  // x3's lanes lie 48, 32, 16 and 0 bytes before the end: move the first
  // three onto the last.
  const __m512i by_lane = _mm512_set_epi64(0, 0, static_cast<long long>(kFold16.for_second_half),
                                           static_cast<long long>(kFold16.for_first_half),
                                           static_cast<long long>(kFold32.for_second_half),
                                           static_cast<long long>(kFold32.for_first_half),
                                           static_cast<long long>(kFold48.for_second_half),
                                           static_cast<long long>(kFold48.for_first_half));
  const __m512i moved = _mm512_xor_si512(_mm512_clmulepi64_epi128(x3, by_lane, 0x00),
                                         _mm512_clmulepi64_epi128(x3, by_lane, 0x11));
  alignas(64) uint64_t m[8];
  alignas(64) uint64_t x[8];
  _mm512_store_si512(m, moved);
  _mm512_store_si512(x, x3);
  // The CRC of everything so far is that of these 16 bytes from a zero state.
  const uint64_t first_half = m[0] ^ m[2] ^ m[4] ^ x[6];
  const uint64_t second_half = m[1] ^ m[3] ^ m[5] ^ x[7];
  return static_cast<uint32_t>(_mm_crc32_u64(_mm_crc32_u64(0, first_half), second_half));
}

ACCT_TARGET_AVX512_CLMUL uint32_t extend_avx512_path(uint32_t crc, const char* data, size_t n) {
  const auto* p = reinterpret_cast<const unsigned char*>(data);
  uint32_t c = crc_align(~crc, p, n);
  if (n >= kFoldMinBytes) c = crc_fold(c, p, n);
  return ~crc_short_clmul(c, p, n);
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

uint32_t extend_sse42(uint32_t crc, const char* data, size_t n) { return extend_sse42_path(crc, data, n); }
uint32_t extend_sse42_clmul(uint32_t crc, const char* data, size_t n) { return extend_clmul_path(crc, data, n); }
uint32_t extend_avx512_clmul(uint32_t crc, const char* data, size_t n) { return extend_avx512_path(crc, data, n); }

bool hardware_accelerated() {
  static const bool supported = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("sse4.2") != 0;
  }();
  return supported;
}

bool clmul_accelerated() {
  static const bool supported = [] {
    __builtin_cpu_init();
    return hardware_accelerated() && __builtin_cpu_supports("pclmul") != 0;
  }();
  return supported;
}

bool avx512_clmul_accelerated() {
  static const bool supported = [] {
    __builtin_cpu_init();
    // libgcc reports AVX-512 only when the OS saves the 512-bit registers.
    return clmul_accelerated() && __builtin_cpu_supports("avx512f") != 0 &&
           __builtin_cpu_supports("vpclmulqdq") != 0;
  }();
  return supported;
}

#else  // not x86-64: no hardware path

uint32_t extend_sse42(uint32_t crc, const char* data, size_t n) { return extend_software(crc, data, n); }
uint32_t extend_sse42_clmul(uint32_t crc, const char* data, size_t n) { return extend_software(crc, data, n); }
uint32_t extend_avx512_clmul(uint32_t crc, const char* data, size_t n) { return extend_software(crc, data, n); }
bool hardware_accelerated() { return false; }
bool clmul_accelerated() { return false; }
bool avx512_clmul_accelerated() { return false; }

#endif

const std::array<Implementation, 4>& implementations() {
  static const std::array<Implementation, 4> all = {{
      {"software", extend_software, true},
      {"sse4.2", extend_sse42, hardware_accelerated()},
      {"sse4.2+pclmul", extend_sse42_clmul, clmul_accelerated()},
      {"avx512+vpclmulqdq", extend_avx512_clmul, avx512_clmul_accelerated()},
  }};
  return all;
}

namespace {
// The last one this CPU can run, decided once per process.
const Implementation& fastest() {
  static const Implementation& best = [] () -> const Implementation& {
    const auto& all = implementations();
    for (auto it = all.rbegin(); it != all.rend(); ++it) {
      if (it->available) return *it;
    }
    return all.front();
  }();
  return best;
}
}  // namespace

const char* implementation() { return fastest().name; }

uint32_t extend(uint32_t crc, const char* data, size_t n) { return fastest().extend(crc, data, n); }

}  // namespace accountable::crc32c
