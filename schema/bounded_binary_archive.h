// A cereal input archive for untrusted event payloads (tests/fuzz/README.md).
//
// Reads exactly the byte format of cereal::PortableBinaryInputArchive (what
// cereal::PortableBinaryOutputArchive writes: an endianness byte, then the
// values; sizes are u64 size tags) from a std::string_view, and knows how many
// bytes remain. Unlike cereal's stream archives it
//   - refuses a size tag (std::string / std::vector / ... length) larger than
//     the bytes remaining, before the container resizes to it (every element
//     takes at least one byte), so a forged length allocates nothing;
//   - refuses a read past the end;
//   - refuses a bool byte other than 0 and 1 (copying it into a bool is UB),
//     and an endianness byte other than 0 and 1.
// Every refusal throws cereal::Exception.
#pragma once

#include <cereal/archives/portable_binary.hpp>
#include <cereal/cereal.hpp>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>

namespace accountable {

class BoundedBinaryInputArchive
    : public cereal::InputArchive<BoundedBinaryInputArchive, cereal::AllowEmptyClassElision> {
 public:
  explicit BoundedBinaryInputArchive(std::string_view bytes)
      : cereal::InputArchive<BoundedBinaryInputArchive, cereal::AllowEmptyClassElision>(this), bytes_(bytes) {
    const std::uint8_t stream_little = take_byte("endianness flag");
    if (stream_little > 1) {
      throw cereal::Exception("bounded archive: endianness byte " + std::to_string(stream_little) +
                              " is neither 0 nor 1");
    }
    convert_endianness_ = (stream_little != cereal::portable_binary_detail::is_little_endian());
  }
  ~BoundedBinaryInputArchive() noexcept = default;

  std::size_t remaining() const { return bytes_.size() - pos_; }

  // Copies `size` bytes into `data`, swapping each DataSize-byte element if the
  // payload's endianness differs from ours.
  template <std::size_t DataSize>
  void loadBinary(void* const data, std::size_t size) {
    require(size, "value");
    if (size != 0) std::memcpy(data, bytes_.data() + pos_, size);
    pos_ += size;
    if (convert_endianness_ && DataSize > 1) {
      auto* ptr = static_cast<std::uint8_t*>(data);
      for (std::size_t i = 0; i + DataSize <= size; i += DataSize) {
        cereal::portable_binary_detail::swap_bytes<DataSize>(ptr + i);
      }
    }
  }

  // Bools: one byte, 0 or 1. `count` bools into `out`.
  void loadBools(bool* out, std::size_t count) {
    require(count, "bool");
    for (std::size_t i = 0; i < count; ++i) {
      const auto b = static_cast<std::uint8_t>(bytes_[pos_ + i]);
      if (b > 1) {
        throw cereal::Exception("bounded archive: bool byte " + std::to_string(b) + " at offset " +
                                std::to_string(pos_ + i) + " is neither 0 nor 1");
      }
      out[i] = (b == 1);
    }
    pos_ += count;
  }

  // A container's element count, just read: each element takes at least one
  // byte, so more elements than bytes left is a forged length.
  void checkSize(std::uint64_t size) const {
    if (size > remaining()) {
      throw cereal::Exception("bounded archive: size " + std::to_string(size) + " at offset " +
                              std::to_string(pos_) + " exceeds the " + std::to_string(remaining()) +
                              " bytes remaining");
    }
  }

 private:
  void require(std::size_t size, const char* what) const {
    if (size > remaining()) {
      throw cereal::Exception(std::string("bounded archive: reading a ") + what + " of " + std::to_string(size) +
                              " bytes at offset " + std::to_string(pos_) + " past the end (" +
                              std::to_string(remaining()) + " bytes remaining)");
    }
  }
  std::uint8_t take_byte(const char* what) {
    require(1, what);
    return static_cast<std::uint8_t>(bytes_[pos_++]);
  }

  std::string_view bytes_;
  std::size_t pos_ = 0;
  bool convert_endianness_ = false;
};

// ---- load overloads (the shape of cereal/archives/portable_binary.hpp) ----

template <class T>
inline std::enable_if_t<std::is_arithmetic_v<T> && !std::is_same_v<T, bool>> CEREAL_LOAD_FUNCTION_NAME(
    BoundedBinaryInputArchive& ar, T& t) {
  static_assert(!std::is_floating_point_v<T> || std::numeric_limits<T>::is_iec559,
                "Portable binary only supports IEEE 754 standardized floating point");
  ar.template loadBinary<sizeof(T)>(std::addressof(t), sizeof(t));
}

inline void CEREAL_LOAD_FUNCTION_NAME(BoundedBinaryInputArchive& ar, bool& b) { ar.loadBools(&b, 1); }

template <class T>
inline void CEREAL_LOAD_FUNCTION_NAME(BoundedBinaryInputArchive& ar, cereal::NameValuePair<T>& t) {
  ar(t.value);
}

template <class T>
inline void CEREAL_LOAD_FUNCTION_NAME(BoundedBinaryInputArchive& ar, cereal::SizeTag<T>& t) {
  ar(t.size);
  ar.checkSize(static_cast<std::uint64_t>(t.size));
}

template <class T>
inline void CEREAL_LOAD_FUNCTION_NAME(BoundedBinaryInputArchive& ar, cereal::BinaryData<T>& bd) {
  using TT = std::remove_cv_t<std::remove_pointer_t<T>>;
  static_assert(!std::is_floating_point_v<TT> || std::numeric_limits<TT>::is_iec559,
                "Portable binary only supports IEEE 754 standardized floating point");
  if constexpr (std::is_same_v<TT, bool>) {
    ar.loadBools(static_cast<bool*>(bd.data), static_cast<std::size_t>(bd.size));  // e.g. std::array<bool, N>
  } else {
    ar.template loadBinary<sizeof(TT)>(bd.data, static_cast<std::size_t>(bd.size));
  }
}

// No prologue/epilogue overloads: cereal's generic no-op ones apply, as for
// PortableBinaryInputArchive.

}  // namespace accountable

CEREAL_REGISTER_ARCHIVE(accountable::BoundedBinaryInputArchive)
// CEREAL_SETUP_ARCHIVE_TRAITS(BoundedBinaryInputArchive, PortableBinaryOutputArchive)
// would also specialize get_input_from_output<PortableBinaryOutputArchive>,
// which portable_binary.hpp already does (a redefinition): only the input ->
// output direction is declared here (cereal uses it to pair load with save).
namespace cereal::traits::detail {
template <>
struct get_output_from_input<accountable::BoundedBinaryInputArchive> {
  using type = cereal::PortableBinaryOutputArchive;
};
}  // namespace cereal::traits::detail
