#include "events/crc32c.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

namespace accountable::crc32c {
namespace {

std::vector<char> random_buffer(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);  // raw engine output: identical on every platform
  std::vector<char> buf(n);
  for (auto& c : buf) c = static_cast<char>(rng() & 0xff);
  return buf;
}

// RFC 3720 (iSCSI) appendix B.4, plus the usual check value.
TEST(Crc32c, StandardVectors) {
  char buf[32];
  std::memset(buf, 0, sizeof buf);
  EXPECT_EQ(0x8A9136AAu, value(buf, sizeof buf));
  std::memset(buf, 0xff, sizeof buf);
  EXPECT_EQ(0x62A8AB43u, value(buf, sizeof buf));
  for (int i = 0; i < 32; ++i) buf[i] = static_cast<char>(i);
  EXPECT_EQ(0x46DD794Eu, value(buf, sizeof buf));
  for (int i = 0; i < 32; ++i) buf[i] = static_cast<char>(31 - i);
  EXPECT_EQ(0x113FDB5Cu, value(buf, sizeof buf));
  const unsigned char iscsi_read[48] = {
      0x01, 0xc0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
      0x14, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x18,
      0x28, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
  };
  EXPECT_EQ(0xD9963A56u, value(reinterpret_cast<const char*>(iscsi_read), sizeof iscsi_read));
  EXPECT_EQ(0xE3069283u, value("123456789", 9));
  EXPECT_EQ(0u, value(nullptr, 0));
}

TEST(Crc32c, SoftwareMatchesStandardVectors) {
  const std::string zeros(32, '\0');
  EXPECT_EQ(0x8A9136AAu, extend_software(0, zeros.data(), zeros.size()));
  EXPECT_EQ(0xE3069283u, extend_software(0, "123456789", 9));
}

// The hardware implementations this CPU can run: each is checked on its own,
// so the slower ones stay tested on CPUs that have the faster.
std::vector<Implementation> hardware_paths() {
  std::vector<Implementation> paths;
  for (const Implementation& impl : implementations()) {
    if (impl.available && impl.extend != extend_software) paths.push_back(impl);
  }
  return paths;
}

TEST(Crc32c, ExtendUsesTheFastestImplementationAvailable) {
  const auto& all = implementations();
  EXPECT_STREQ("software", all.front().name);
  EXPECT_TRUE(all.front().available);
  const auto paths = hardware_paths();
  EXPECT_STREQ(paths.empty() ? "software" : paths.back().name, implementation());
  EXPECT_EQ(hardware_accelerated(), !paths.empty());
}

TEST(Crc32c, HardwareMatchesStandardVectors) {
  if (!hardware_accelerated()) GTEST_SKIP() << "no SSE4.2 on this CPU";
  const std::string zeros(32, '\0');
  for (const Implementation& path : hardware_paths()) {
    EXPECT_EQ(0x8A9136AAu, path.extend(0, zeros.data(), zeros.size())) << path.name;
    EXPECT_EQ(0xE3069283u, path.extend(0, "123456789", 9)) << path.name;
  }
}

// Every length up to 5000 from every misaligned start covers the alignment
// prologue, each interleaved block size, every carry-less stream length and
// every tail length.
TEST(Crc32c, HardwareEqualsSoftwareOnRandomBuffers) {
  if (!hardware_accelerated()) GTEST_SKIP() << "no SSE4.2 on this CPU";
  const auto buf = random_buffer(5000 + 16, 1);
  for (const Implementation& path : hardware_paths()) {
    for (size_t n = 0; n <= 5000; ++n) {
      for (size_t start = 0; start < 8; ++start) {
        const char* p = buf.data() + start;
        ASSERT_EQ(extend_software(0, p, n), path.extend(0, p, n)) << path.name << " n=" << n << " start=" << start;
        ASSERT_EQ(extend_software(0x12345678u, p, n), path.extend(0x12345678u, p, n)) << path.name << " n=" << n;
      }
    }
  }
}

// A single flipped bit anywhere in a record-sized buffer changes every path's
// value, at the edges of the three carry-less streams too.
TEST(Crc32c, HardwarePathsSeeEveryFlippedBit) {
  if (!hardware_accelerated()) GTEST_SKIP() << "no SSE4.2 on this CPU";
  for (size_t n : {size_t{96}, size_t{400}, size_t{767}, size_t{1100}}) {
    auto buf = random_buffer(n, 5);
    for (const Implementation& path : hardware_paths()) {
      const uint32_t clean = path.extend(0, buf.data(), n);
      for (size_t i = 0; i < n; ++i) {
        for (int bit = 0; bit < 8; ++bit) {
          buf[i] = static_cast<char>(buf[i] ^ (1 << bit));
          const uint32_t flipped = path.extend(0, buf.data(), n);
          ASSERT_EQ(extend_software(0, buf.data(), n), flipped) << path.name << " n=" << n << " byte " << i;
          ASSERT_NE(clean, flipped) << path.name << " n=" << n << " byte " << i << " bit " << bit;
          buf[i] = static_cast<char>(buf[i] ^ (1 << bit));
        }
      }
    }
  }
}

// Lengths around and above the large interleaved block (3 x 8 KiB).
TEST(Crc32c, HardwareEqualsSoftwareOnLargeBuffers) {
  if (!hardware_accelerated()) GTEST_SKIP() << "no SSE4.2 on this CPU";
  const auto buf = random_buffer((1 << 20) + 64, 2);
  for (const Implementation& path : hardware_paths()) {
    for (size_t n : {size_t{24575}, size_t{24576}, size_t{24577}, size_t{24576 + 767}, size_t{49152 + 191},
                     size_t{100003}, size_t{1} << 20}) {
      for (size_t start = 0; start < 8; ++start) {
        const char* p = buf.data() + start;
        ASSERT_EQ(extend_software(0, p, n), path.extend(0, p, n)) << path.name << " n=" << n << " start=" << start;
      }
    }
  }
}

TEST(Crc32c, ExtendComposes) {
  const auto buf = random_buffer(70000, 3);
  const uint32_t whole = value(buf.data(), buf.size());
  EXPECT_EQ(whole, extend_software(0, buf.data(), buf.size()));
  for (size_t split : {size_t{0}, size_t{1}, size_t{7}, size_t{8}, size_t{100}, size_t{4096}, size_t{24577},
                       size_t{69999}, size_t{70000}}) {
    const uint32_t head = value(buf.data(), split);
    EXPECT_EQ(whole, extend(head, buf.data() + split, buf.size() - split)) << "split=" << split;
    const uint32_t sw_head = extend_software(0, buf.data(), split);
    EXPECT_EQ(whole, extend_software(sw_head, buf.data() + split, buf.size() - split)) << "split=" << split;
    for (const Implementation& path : hardware_paths()) {
      const uint32_t hw_head = path.extend(0, buf.data(), split);
      EXPECT_EQ(whole, path.extend(hw_head, buf.data() + split, buf.size() - split)) << path.name << " split=" << split;
    }
  }
  EXPECT_EQ(value("hello world", 11), extend(value("hello ", 6), "world", 5));
}

TEST(Crc32c, DifferentDataGivesDifferentValues) {
  EXPECT_NE(value("a", 1), value("foo", 3));
  EXPECT_NE(value("foo", 3), value("bar", 3));
}

TEST(Crc32c, MaskRoundTrips) {
  const uint32_t crc = value("foo", 3);
  EXPECT_NE(crc, mask(crc));
  EXPECT_NE(crc, mask(mask(crc)));
  EXPECT_EQ(crc, unmask(mask(crc)));
  EXPECT_EQ(crc, unmask(unmask(mask(mask(crc)))));
  std::mt19937 rng(4);
  for (int i = 0; i < 10000; ++i) {
    const uint32_t v = static_cast<uint32_t>(rng());
    ASSERT_EQ(v, unmask(mask(v)));
  }
}

}  // namespace
}  // namespace accountable::crc32c
