// schema/bounded_binary_archive.h: the archive event payloads are decoded
// with refuses forged lengths and bool bytes other than 0/1, and reads what
// cereal::PortableBinaryOutputArchive writes.
#include "schema/bounded_binary_archive.h"

#include <gtest/gtest.h>

#include <cereal/archives/portable_binary.hpp>
#include <cereal/types/optional.hpp>
#include <cereal/types/string.hpp>
#include <cereal/types/vector.hpp>

#include <cstdint>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "schema/domain_events.h"

namespace accountable {
namespace {

// Little-endian u64, as PortableBinary writes size tags on this machine.
std::string u64_le(uint64_t v) {
  std::string out;
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
  return out;
}

TEST(BoundedArchive, OversizeStringLengthIsRefusedBeforeAllocating) {
  // endianness byte, a size tag claiming 1 GiB, then 11 bytes: 20 bytes in all.
  std::string payload = std::string(1, '\x01') + u64_le(uint64_t{1} << 30) + std::string(11, 'x');
  ASSERT_EQ(payload.size(), 20u);
  BoundedBinaryInputArchive ar(payload);
  std::string s;
  try {
    ar(s);
    FAIL() << "a 1 GiB string was read from a 20-byte payload";
  } catch (const cereal::Exception& e) {
    EXPECT_NE(std::string(e.what()).find("exceeds"), std::string::npos) << e.what();
  }
  EXPECT_EQ(s.capacity() < 1024, true) << "the string was resized before the check";
}

TEST(BoundedArchive, OversizeVectorLengthIsRefused) {
  std::string payload = std::string(1, '\x01') + u64_le(uint64_t{1} << 40) + std::string(3, '\0');
  BoundedBinaryInputArchive ar(payload);
  std::vector<uint32_t> v;
  EXPECT_THROW(ar(v), cereal::Exception);
  EXPECT_TRUE(v.empty());
}

TEST(BoundedArchive, ExactLengthAndShortInput) {
  {
    std::string payload = std::string(1, '\x01') + u64_le(3) + "abc";
    BoundedBinaryInputArchive ar(payload);
    std::string s;
    ar(s);
    EXPECT_EQ(s, "abc");
    EXPECT_EQ(ar.remaining(), 0u);
  }
  {
    std::string payload = std::string(1, '\x01') + std::string(3, '\0');  // a u32 needs 4 bytes
    BoundedBinaryInputArchive ar(payload);
    uint32_t x = 0;
    EXPECT_THROW(ar(x), cereal::Exception);
  }
  EXPECT_THROW(BoundedBinaryInputArchive(std::string_view()), cereal::Exception);  // no endianness byte
}

TEST(BoundedArchive, BoolByteSixIsRefused) {
  const std::string payload("\x01\x06", 2);
  {
    BoundedBinaryInputArchive ar(payload);
    bool b = false;
    EXPECT_THROW(ar(b), cereal::Exception);
  }
  {
    // The "nullopt" flag of a std::optional (BusinessProfileUpdated's logo).
    BoundedBinaryInputArchive ar(payload);
    std::optional<uint32_t> o;
    EXPECT_THROW(ar(o), cereal::Exception);
  }
  {
    BoundedBinaryInputArchive ar(std::string_view("\x01\x01\x00", 3));
    bool a = false;
    bool b = true;
    ar(a, b);
    EXPECT_TRUE(a);
    EXPECT_FALSE(b);
  }
}

TEST(BoundedArchive, ReadsWhatPortableBinaryWrites) {
  const std::string s = "hello";
  const std::vector<uint32_t> v = {1, 2, 0xdeadbeef};
  const std::optional<int64_t> o = -7;
  const bool flag = true;
  const double d = 2.5;
  std::ostringstream out(std::ios::binary);
  {
    cereal::PortableBinaryOutputArchive ar(out);
    ar(s, v, o, flag, d);
  }
  const std::string bytes = std::move(out).str();
  BoundedBinaryInputArchive ar(bytes);
  std::string s2;
  std::vector<uint32_t> v2;
  std::optional<int64_t> o2;
  bool flag2 = false;
  double d2 = 0;
  ar(s2, v2, o2, flag2, d2);
  EXPECT_EQ(s2, s);
  EXPECT_EQ(v2, v);
  EXPECT_EQ(o2, o);
  EXPECT_EQ(flag2, flag);
  EXPECT_EQ(d2, d);
  EXPECT_EQ(ar.remaining(), 0u);
}

TEST(BoundedArchive, DecodeEventRoundTripAndForgedLengthIsCorruption) {
  PartnerSuspended ev;
  ev.reason = SuspensionReason::kAbuse;
  ev.note = "NOTE-MARK";
  ev.at.micros = 1234567;
  const EncodedEvent enc = encode_event(DomainEvent(ev));
  auto back = decode_event(enc.type, enc.schema_version, enc.bytes);
  ASSERT_TRUE(back.is_ok()) << back.status().message();
  EXPECT_EQ(std::get<PartnerSuspended>(*back), ev);

  // Forge the note's length to 1 GiB: kCorruption, nothing allocated.
  std::string forged = enc.bytes;
  const auto at = forged.find("NOTE-MARK");
  ASSERT_NE(at, std::string::npos);
  ASSERT_GE(at, 8u);
  forged.replace(at - 8, 8, u64_le(uint64_t{1} << 30));
  auto bad = decode_event(enc.type, enc.schema_version, forged);
  ASSERT_FALSE(bad.is_ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kCorruption) << bad.status().message();

  // Trailing bytes are still refused.
  auto trailing = decode_event(enc.type, enc.schema_version, enc.bytes + "x");
  ASSERT_FALSE(trailing.is_ok());
  EXPECT_EQ(trailing.status().code(), StatusCode::kCorruption);
}

}  // namespace
}  // namespace accountable
