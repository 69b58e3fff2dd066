// The text forms of ids and times: the allocating ones and the ones that
// write into a caller's buffer (used by the relay's encoder) agree.
#include "events/types.h"

#include <gtest/gtest.h>

#include <string>

#include "events/text_form.h"

namespace accountable {
namespace {

TEST(TypesText, UuidIntoABufferIsTheCanonicalText) {
  const auto id = EventId::parse("0b7e3a2c-5d41-4f6e-9a10-2c3d4e5f6a7b").value();
  char buf[kUuidTextSize];
  format_uuid_to(id.bytes(), buf);
  EXPECT_EQ("0b7e3a2c-5d41-4f6e-9a10-2c3d4e5f6a7b", std::string(buf, sizeof buf));
  EXPECT_EQ("0b7e3a2c-5d41-4f6e-9a10-2c3d4e5f6a7b", id.to_string());
  EXPECT_EQ("00000000-0000-0000-0000-000000000000", EventId().to_string());
}

TEST(TypesText, TimestampIntoABufferIsTheRfc3339Text) {
  struct Case {
    int64_t micros;
    const char* text;
  };
  for (const Case& c : {Case{0, "1970-01-01T00:00:00.000000Z"}, Case{1772454896789012, "2026-03-02T12:34:56.789012Z"},
                        Case{-1, "1969-12-31T23:59:59.999999Z"}}) {
    char buf[kTimestampTextMax];
    const size_t n = format_timestamp_to(Timestamp{c.micros}, buf);
    EXPECT_EQ(c.text, std::string(buf, n));
    EXPECT_EQ(c.text, format_timestamp(Timestamp{c.micros}));
    EXPECT_EQ(c.micros, parse_timestamp(c.text).value().micros);
  }
}

}  // namespace
}  // namespace accountable
