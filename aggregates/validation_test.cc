// The JSON Schema that docs/openapi.yaml gives a field (schema/json_codec.cc,
// from schema/field_rules.h) accepts exactly what decide()'s check accepts:
// every kind's pattern, enum and lengths against check_field, on probes chosen
// at each rule's edges; and the Timestamp pattern against parse_timestamp.
#include "aggregates/validation.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <regex>
#include <string>
#include <vector>

#include "schema/json_codec.h"

namespace accountable {
namespace {

namespace json = boost::json;

// Whether `value` is valid under a string schema of pattern / enum / lengths.
bool schema_accepts(const json::object& schema, const std::string& value) {
  if (const json::value* p = schema.if_contains("pattern")) {
    const std::regex re(std::string(p->as_string()), std::regex::ECMAScript);
    if (!std::regex_search(value, re)) return false;
  }
  if (const json::value* e = schema.if_contains("enum")) {
    bool found = false;
    for (const json::value& v : e->as_array()) found = found || v.as_string() == value;
    if (!found) return false;
  }
  const auto n = static_cast<int64_t>(code_points(value));
  if (const json::value* m = schema.if_contains("minLength"); m && n < m->as_int64()) return false;
  if (const json::value* m = schema.if_contains("maxLength"); m && n > m->as_int64()) return false;
  return true;
}

std::string repeat(char c, size_t n) { return std::string(n, c); }

std::vector<std::string> probes() {
  std::vector<std::string> p = {
      "", "a", "ab", "abc", "Ab", "AB", "US", "ZZ", "us", "JP", "USD", "usd", "US1", "EURO",
      "1", "12", "0123456789", "01234567890", "12a", " 12",
      "a@b.c", "ab@example.com", "@b.c", "a@.bc", "a@bc.", "a@b", "a@bc", "a b@c.d", "a@@b.c", "a@b@c.d",
      "\x01@b.c", "a@b.c\t", "na\xc3\xafve@ex.fr", "x@\xc3\xa9.fr", "a@b..c", "a@b.c.",
      "http://x", "https://", "https://example.com/x y", "ftp://x", "HTTP://x", "http:/x",
      "https://www.linkedin.com/company/contoso", "https://linkedin.com/company/x", "https://www.linkedin.com/in/x",
      "1c8f4b3d-6e52-4a7f-8b21-3d4e5f6a7b8c", "1C8F4B3D-6E52-4A7F-8B21-3D4E5F6A7B8C",
      "1c8f4b3d6e524a7f8b213d4e5f6a7b8c", "1c8f4b3d-6e52-4a7f-8b21-3d4e5f6a7b8g", "1c8f4b3d-6e52-4a7f-8b21-3d4e5f6a7b8",
      "contoso.com", "contoso.onmicrosoft.com", ".contoso.com", "contoso.", "Contoso.com", "a.b", "ab", "a..b",
      "con_toso.com", "-a.b-",
      "en", "eng", "engl", "EN", "e", "en-us", "en-US", "enus", "en_us", "eng-us",
      "na", "emea-1", "Na", "a_b", "offer-1", "Offer-1", "Offer_1", "offer 1",
      "+1 (425) 555-0100", "555.0100", "555#1", "\xef\xbc\x91",
      repeat('a', 2), repeat('a', 3), repeat('1', 10), repeat('1', 11), repeat('a', 32), repeat('a', 33),
      repeat('a', 50), repeat('a', 51), repeat('a', 64), repeat('a', 65), repeat('a', 100), repeat('a', 101),
      repeat('a', 200), repeat('a', 201), repeat('a', 500), repeat('a', 501),
      "a@" + repeat('b', 249) + ".cd", "a@" + repeat('b', 250) + ".cd",
      repeat('a', 125) + "." + repeat('b', 127), repeat('a', 126) + "." + repeat('b', 127),
      "https://" + repeat('x', 2040), "https://" + repeat('x', 2041),
      repeat('1', 32), repeat('1', 33), "\xe5\x90\x8d" + repeat('a', 49), "\xe5\x90\x8d" + repeat('a', 50),
      "0", "01", "1234", repeat('9', 19), "1" + repeat('0', 19),
      "tax.1c8f4b3d-6e52-4a7f-8b21-3d4e5f6a7b8c.0", "tax.1c8f4b3d-6e52-4a7f-8b21-3d4e5f6a7b8c.1767225600000000",
      "tax.1C8F4B3D-6E52-4A7F-8B21-3D4E5F6A7B8C.5", "tax.1c8f4b3d-6e52-4a7f-8b21-3d4e5f6a7b8c.012",
      "tax.1c8f4b3d-6e52-4a7f-8b21-3d4e5f6a7b8c." + repeat('9', 18),
      "tax.1c8f4b3d-6e52-4a7f-8b21-3d4e5f6a7b8c." + repeat('9', 19), "tax.x.1",
  };
  return p;
}

TEST(ValidationTest, EveryFieldRulesSchemaAcceptsWhatItsCheckAccepts) {
  using K = FieldKind;
  const std::vector<FieldRule> rules = {
      {"text", K::kText, 0, 2},        {"text", K::kText, 1, 50},         {"text", K::kText, 1, 200},
      {"email", K::kEmail},            {"phone", K::kPhone},              {"url", K::kUrl},
      {"linkedin", K::kLinkedInUrl},   {"country", K::kCountry},          {"currency", K::kCurrency},
      {"currency", K::kCurrency, 0, 0, /*empty_ok=*/true},                {"mpn", K::kMpnId},
      {"uuid", K::kUuid},              {"domain", K::kDomainName},        {"language", K::kLanguage},
      {"culture", K::kCulture},        {"region", K::kRegion},            {"offer", K::kOfferId},
      {"notification", K::kNotificationId},
  };
  size_t accepted = 0, refused = 0;
  for (const FieldRule& rule : rules) {
    const json::object schema = field_rule_schema(rule);
    ASSERT_FALSE(schema.empty()) << rule.name;
    for (const std::string& value : probes()) {
      const bool check = check_field(value, rule, "f").is_ok();
      EXPECT_EQ(schema_accepts(schema, value), check)
          << "kind " << rule.name << " (" << static_cast<int>(rule.kind) << "), value \"" << value
          << "\": check_field " << (check ? "accepts" : "refuses") << ", schema " << json::serialize(schema);
      (check ? accepted : refused) += 1;
    }
  }
  // The probes reach both sides of every rule.
  EXPECT_GT(accepted, 100u);
  EXPECT_GT(refused, 100u);
}

TEST(ValidationTest, NumberAndListRulesBecomeRangesAndSizes) {
  const json::object n = field_rule_schema(field_rule<PriceList>("year"));
  EXPECT_EQ(n.at("minimum").as_int64(), 2000);
  EXPECT_EQ(n.at("maximum").as_int64(), 2100);
  EXPECT_FALSE(check_number(1999, field_rule<PriceList>("year"), "y").is_ok());
  EXPECT_TRUE(check_number(2100, field_rule<PriceList>("year"), "y").is_ok());
  const std::vector<std::string> six(6, "x");
  const Status s = check_list(six, field_rule<BusinessProfileDetails>("industry_focus"),
                              field_rule<BusinessProfileDetails>("industry_focus[]"), "details.industry_focus");
  EXPECT_FALSE(s.is_ok());
  EXPECT_EQ(s.field(), "details.industry_focus");
  const Status twice =
      check_list({"na", "na"}, field_rule<SetAuthorizedRegions>("regions"),
                 field_rule<SetAuthorizedRegions>("regions[]"), "regions");
  EXPECT_EQ(twice.field(), "regions[1]");
}

TEST(ValidationTest, TheTimestampPatternIsWhatParseTimestampAccepts) {
  const std::regex re(std::string(kTimestampPattern), std::regex::ECMAScript);
  const std::vector<std::string> values = {
      "2026-11-24", "2026-11-24T13:00:00Z", "2026-11-24T13:00:00.1Z", "2026-11-24T13:00:00.123456Z",
      "2026-11-24T13:00:00.1234567Z", "2026-11-24T13:00:00.Z", "2026-11-24T13:00:00", "2026-11-24T13:00Z",
      "2026-11-24T13:00:00+01:00", "2026-11-24t13:00:00z", "2026-11-24 13:00:00Z", "2026-1-24", "26-11-24",
      " 2026-11-24", "+2026-11-24", "2026-11-24Z", "2026-00-10", "2026-13-10", "2026-01-00", "2026-01-31",
      "2026-04-31", "2026-04-30", "2026-02-28", "2026-02-29", "2024-02-29", "1900-02-29", "2000-02-29",
      "0000-02-29", "0400-02-29", "0100-02-29", "9999-12-31T23:59:59.999999Z", "2026-12-31T24:00:00Z",
      "2026-12-31T23:60:00Z", "2026-12-31T23:59:60Z", "0001-01-01", "2026-11-24T13:00:00.000000Z",
  };
  size_t accepted = 0;
  for (const std::string& v : values) {
    const bool parsed = parse_timestamp(v).is_ok();
    EXPECT_EQ(std::regex_search(v, re), parsed) << v;
    accepted += parsed ? 1 : 0;
  }
  EXPECT_GT(accepted, 10u);
  EXPECT_LT(accepted, values.size() - 10);
  // Every calendar day of a leap and a common year, and no other.
  for (int year : {2023, 2024}) {
    for (int month = 1; month <= 12; ++month) {
      for (int day = 1; day <= 32; ++day) {
        char text[16];
        std::snprintf(text, sizeof text, "%04d-%02d-%02d", year, month, day);
        EXPECT_EQ(std::regex_search(std::string(text), re), parse_timestamp(text).is_ok()) << text;
      }
    }
  }
}

}  // namespace
}  // namespace accountable
