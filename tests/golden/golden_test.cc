// Golden fixtures: every committed payload still decodes (and upcasts) to the
// expected sample, and every current event type has a fixture.
//
// The folder is ACCT_GOLDEN_DIR from the environment, else the ACCT_GOLDEN_DIR
// compile definition (the source folder), else "tests/golden".
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <set>

#include "tests/golden/golden_samples.h"

#ifndef ACCT_GOLDEN_DIR
#define ACCT_GOLDEN_DIR "tests/golden"
#endif

namespace accountable {
namespace {

std::string golden_dir() {
  if (const char* env = std::getenv("ACCT_GOLDEN_DIR")) return env;
  return ACCT_GOLDEN_DIR;
}

std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// Every fixture file on disk.
std::set<std::string> files_on_disk() {
  std::set<std::string> out;
  for (const auto& entry : std::filesystem::directory_iterator(golden_dir())) {
    std::string name = entry.path().filename().string();
    if (name.size() > 4 && name.substr(name.size() - 4) == ".bin") out.insert(name);
  }
  return out;
}

TEST(Golden, FolderExists) {
  ASSERT_TRUE(std::filesystem::is_directory(golden_dir())) << golden_dir() << " (set ACCT_GOLDEN_DIR)";
}

TEST(Golden, EveryFixtureDecodesToItsSample) {
  for (const auto& f : golden::fixtures()) {
    SCOPED_TRACE(f.file_name());
    std::filesystem::path path = std::filesystem::path(golden_dir()) / f.file_name();
    ASSERT_TRUE(std::filesystem::exists(path)) << "missing fixture; run generate_golden";
    std::string bytes = read_file(path);
    auto decoded = decode_event(f.type, f.version, bytes);
    ASSERT_TRUE(decoded.is_ok()) << decoded.status().to_string();
    // Decoding always yields the current struct; old versions come through their upcaster.
    EXPECT_EQ(event_type(*decoded), f.type);
    EXPECT_EQ(*decoded, f.expected);
  }
}

// Key fields spelled out, so that a reader sees what the samples hold and a
// wrong sample cannot "agree with itself".
TEST(Golden, KeyFields) {
  auto load = [](const char* type, uint16_t v) {
    std::string bytes = read_file(std::filesystem::path(golden_dir()) / (std::string(type) + ".v" + std::to_string(v) + ".bin"));
    return decode_event(type, v, bytes);
  };
  auto enrolled = load("PartnerEnrolled", 1);
  ASSERT_TRUE(enrolled.is_ok()) << enrolled.status().to_string();
  const auto& pe = std::get<PartnerEnrolled>(*enrolled);
  EXPECT_EQ(pe.partner_id.to_string(), "10111213-1415-4617-9819-1a1b1c1d1e1f");
  EXPECT_EQ(pe.legal.address.country, "US");
  EXPECT_EQ(pe.legal.primary_contact.value.email, "pat@contoso.com");
  EXPECT_EQ(pe.legal.primary_contact.subject, "contact:10111213-1415-4617-9819-1a1b1c1d1e1f:legal-primary");
  EXPECT_EQ(pe.billing_currency, "USD");
  EXPECT_EQ(format_timestamp(pe.enrolled_at), "2026-03-02T12:34:56.789012Z");

  auto v1 = load("TaxExemptionFiled", 1);
  ASSERT_TRUE(v1.is_ok()) << v1.status().to_string();
  const auto& up = std::get<TaxExemptionFiled>(*v1);
  EXPECT_EQ(up.certificate_ref, "cert-2025");
  EXPECT_EQ(up.valid_from, up.filed_at);  // the upcast rule
  EXPECT_EQ(format_timestamp(up.expires_on), "2027-01-01T00:00:00.000000Z");

  auto v2 = load("TaxExemptionFiled", 2);
  ASSERT_TRUE(v2.is_ok()) << v2.status().to_string();
  EXPECT_EQ(format_timestamp(std::get<TaxExemptionFiled>(*v2).valid_from), "2026-01-01T00:00:00.000000Z");

  auto user = load("UserCreated", 1);
  ASSERT_TRUE(user.is_ok()) << user.status().to_string();
  const auto& uc = std::get<UserCreated>(*user);
  EXPECT_EQ(uc.user_id.to_string(), "20212223-2425-4627-a829-2a2b2c2d2e2f");
  EXPECT_EQ(uc.profile.value.first_name, "Ada");
  EXPECT_EQ(uc.email_fingerprint, std::string("\x00\xff\x10\x7f fp", 7));

  auto prices = load("PriceListPublished", 1);
  ASSERT_TRUE(prices.is_ok()) << prices.status().to_string();
  const auto& pl = std::get<PriceListPublished>(*prices).price_list;
  ASSERT_EQ(pl.rows.size(), 2u);
  EXPECT_EQ(pl.rows[0].list_price_micros, 10'500'000);
  EXPECT_EQ(pl.rows[1].change_code, ChangeCode::kDel);

  auto password = load("PasswordSet", 1);
  ASSERT_TRUE(password.is_ok()) << password.status().to_string();
  EXPECT_EQ(std::get<PasswordSet>(*password).by, "operator:portal");
  EXPECT_TRUE(std::get<PasswordSet>(*password).must_change_at_next_sign_in);
}

// The current version of every event type in the catalog (the DomainEvent
// variant) has a fixture on disk, and its bytes are what the codec writes today.
TEST(Golden, EveryCurrentEventTypeHasAFixture) {
  std::set<std::string> on_disk = files_on_disk();
  std::map<std::string, std::string> expected_bytes;
  for (const auto& f : golden::fixtures()) expected_bytes[f.file_name()] = f.encode();
  [&]<size_t... I>(std::index_sequence<I...>) {
    (
        [&] {
          using E = std::variant_alternative_t<I, DomainEvent>;
          std::string name = std::string(E::kType) + ".v" + std::to_string(E::kSchemaVersion) + ".bin";
          EXPECT_TRUE(on_disk.count(name)) << "no golden fixture for " << name;
          EXPECT_TRUE(expected_bytes.count(name)) << "no sample in golden_samples.h for " << name;
          if (on_disk.count(name) && expected_bytes.count(name)) {
            EXPECT_EQ(read_file(std::filesystem::path(golden_dir()) / name), expected_bytes[name])
                << name << ": the current codec no longer writes the committed bytes (a schema change needs a new version)";
          }
        }(),
        ...);
  }(std::make_index_sequence<std::variant_size_v<DomainEvent>>{});
}

// Every older version that has an upcaster also has a fixture.
TEST(Golden, EveryUpcasterHasAFixture) {
  std::set<std::string> on_disk = files_on_disk();
  for (const UpcasterEntry& u : upcasters()) {
    std::string name = std::string(u.type) + ".v" + std::to_string(u.from_version) + ".bin";
    EXPECT_TRUE(on_disk.count(name)) << "no golden fixture for upcast source " << name;
  }
}

// No stray fixture: every file on disk is described in golden_samples.h (else
// nobody checks it).
TEST(Golden, NoUnknownFixtures) {
  std::set<std::string> known;
  for (const auto& f : golden::fixtures()) known.insert(f.file_name());
  for (const std::string& name : files_on_disk()) EXPECT_TRUE(known.count(name)) << "unexpected fixture " << name;
}

}  // namespace
}  // namespace accountable
