// Little-endian fixed-width encoding, used by every on-disk format.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace accountable::coding {

inline void put_u16(char* p, uint16_t v) { std::memcpy(p, &v, 2); }  // x86-64 and aarch64: little-endian
inline void put_u32(char* p, uint32_t v) { std::memcpy(p, &v, 4); }
inline void put_u64(char* p, uint64_t v) { std::memcpy(p, &v, 8); }
inline uint16_t get_u16(const char* p) { uint16_t v; std::memcpy(&v, p, 2); return v; }
inline uint32_t get_u32(const char* p) { uint32_t v; std::memcpy(&v, p, 4); return v; }
inline uint64_t get_u64(const char* p) { uint64_t v; std::memcpy(&v, p, 8); return v; }

inline void append_u16(std::string* s, uint16_t v) { char b[2]; put_u16(b, v); s->append(b, 2); }
inline void append_u32(std::string* s, uint32_t v) { char b[4]; put_u32(b, v); s->append(b, 4); }
inline void append_u64(std::string* s, uint64_t v) { char b[8]; put_u64(b, v); s->append(b, 8); }

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "the log format is little-endian; add byte swaps");

}  // namespace accountable::coding
