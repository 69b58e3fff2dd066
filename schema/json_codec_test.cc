// The JSON form of commands: round trip of every command type, the bad-input
// table, the examples of docs/commands.md, and event_to_json.
#include "schema/json_codec.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <boost/json/monotonic_resource.hpp>

#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>

#include "schema/event_json.h"
#include "tests/golden/golden_samples.h"

namespace accountable {
namespace {

#ifndef ACCT_SOURCE_DIR
#define ACCT_SOURCE_DIR "."
#endif

Timestamp at(const char* text) { return parse_timestamp(text).value(); }

const char* kPartner = "0b7e3a2c-5d41-4f6e-9a10-2c3d4e5f6a7b";
const char* kUser = "1c8f4b3d-6e52-4a7f-8b21-3d4e5f6a7b8c";
const char* kCommandId = "9a1b2c3d-4e5f-4a6b-8c7d-0e1f2a3b4c5d";

PartnerId partner() { return PartnerId::parse(kPartner).value(); }
UserId user() { return UserId::parse(kUser).value(); }

Address address(std::string country = "US") {
  return Address{"1 Main Street", "Suite 100", "Redmond", "WA", "98052", std::move(country), "West"};
}
ContactDetails contact(std::string email) { return ContactDetails{"Ada", "Lovelace", std::move(email), "+1 425 555 0100"}; }

Offer offer() {
  Offer o;
  o.offer_id = "addon-1";
  o.display_name = "Add-on 1";
  o.segment = Segment::kSmallBusiness;
  o.license_agreement_type = LicenseAgreementType::kAcademic;
  o.purchase_unit = "1 Month";
  o.secondary_license_type = SecondaryLicenseType::kAddOn;
  o.base_offer_ids = {"base-1", "base-2"};
  o.end_customer_type = EndCustomerType::kStudent;
  o.billing_model = BillingModel::kUsageBased;
  return o;
}

BusinessProfileDetails details() {
  BusinessProfileDetails d;
  d.logo = Logo{LogoFormat::kGif, 120, "blob:logo-1"};
  d.description = "Cloud reseller. Ünïcödé ✓";
  d.website = "https://contoso.com";
  d.linkedin_url = "https://www.linkedin.com/company/contoso";
  d.industry_focus = {"Retail", "Health"};
  d.products = {"offer-1"};
  d.service_types = {"Consulting"};
  d.skills = {"Migration", "Security"};
  d.allow_vendor_endorsement = true;
  d.target_customer_sizes = {CustomerSize::k1To9, CustomerSize::k1000Plus};
  d.refuse_referrals_outside_target_sizes = true;
  return d;
}

// One populated sample of every command type.
std::vector<Command> samples() {
  LegalProfileInput legal{"Contoso Ltd", address(), contact("pat@contoso.com"), "approver@contoso.com",
                          address()};
  BillingProfileInput billing{"Contoso Billing", address(), contact("bill@contoso.com"), "PO-7", "US-123"};
  PriceList list;
  list.market = "US";
  list.currency = "USD";
  list.year = 2026;
  list.month = 5;
  list.billing_model = BillingModel::kLicenseBased;
  list.rows = {PriceRow{ChangeCode::kChg, at("2026-05-01"), at("2026-05-31T23:59:59.999999Z"), "Offer 1", "offer-1",
                        LicenseAgreementType::kGovernment, "1 Month", SecondaryLicenseType::kTrial,
                        EndCustomerType::kFaculty, 10'000'000, -1},
               PriceRow{ChangeCode::kDel, at("2026-05-01"), at("2026-05-02"), "Offer 2", "offer-2",
                        LicenseAgreementType::kCorporate, "1 Year", SecondaryLicenseType::kNonSpecific,
                        EndCustomerType::kCorporate, 9'223'372'036'854'775'807LL, 0}};
  LocationId loc = LocationId::parse("2d9a5c4e-7f63-4b80-9c32-4e5f6a7b8c9d").value();
  ExemptionId ex = ExemptionId::parse("3e0b6d5f-8074-4c91-ad43-5f6a7b8c9d0e").value();
  EnrollPartner enroll{contact("ada@contoso.com"), "Contoso", "1234567", legal,
                       "6f1b1d0e-8a43-4c59-9f64-0c1f5b6a7d11", "contoso.onmicrosoft.com", "en", "en-us", "USD"};
  return {
      enroll,
      UpdateLegalProfile{partner(), legal},
      UpdateSupportProfile{partner(), SupportProfile{"support@contoso.com", "+1 800 555 0100", "https://help.contoso.com"}},
      UpdateBillingProfile{partner(), billing, "USD"},
      UpdateOrganizationProfile{partner(), "contoso.com", "it@contoso.com", "fr", "fr-fr"},
      AddLocation{partner(), address(), "7654321"},
      RemoveLocation{partner(), loc},
      FileTaxExemption{partner(), "WA", "cert-2026", at("2026-01-01T00:00:00Z"), at("2027-01-01T00:00:00.5Z")},
      RevokeTaxExemption{partner(), ex, "superseded"},
      RenewTaxExemption{partner(), ex, "cert-2027", at("2026-12-01T00:00:00Z"), at("2028-01-01T00:00:00Z")},
      CreateUser{partner(), contact("sam@contoso.com"), {Role::kBillingAdmin, Role::kSalesAgent, Role::kIncentivesUser}},
      UpdateUserProfile{partner(), user(), contact("sam2@contoso.com")},
      AssignRole{partner(), user(), Role::kBusinessProfileAdmin},
      RemoveRole{partner(), user(), Role::kHelpdeskAgent},
      ResetPassword{partner(), user()},
      ChangePassword{partner(), user()},
      UpdateOwnProfile{partner(), user(), "Sam", "Renamed", "+1 425 555 0101"},
      UpdateOwnProfile{partner(), user(), "Sam", "No Phone", ""},
      DeactivateUser{partner(), user()},
      RestoreUser{partner(), user()},
      PurgeUser{partner(), user()},
      CreateBusinessProfile{partner(), "emea", details()},
      UpdateBusinessProfile{partner(), "emea", BusinessProfileDetails{}},
      AddProfileLocation{partner(), "emea", address("GB"), "+44 20 5555 0100"},
      RemoveProfileLocation{partner(), "emea", loc},
      PublishBusinessProfile{partner(), "emea"},
      UnpublishBusinessProfile{partner(), "apac"},
      PinOffer{partner(), "offer-1"},
      UnpinOffer{partner(), "offer-2"},
      ReorderPins{partner(), {"offer-3", "offer-1"}},
      PublishOffer{offer()},
      UpdateOffer{offer()},
      RetireOffer{"offer-9"},
      PublishPriceList{list},
      SetVettingStatus{partner(), VettingStatus::kAuthorized, VettingSubStatus::kEmploymentVerification},
      SuspendPartner{partner(), SuspensionReason::kBillingOverdue, 4'000'000'000u, "invoice 9"},
      ReinstatePartner{partner()},
      IssueAuditorAccess{partner(), "audit@kpmg.example", at("2026-12-31T00:00:00Z")},
      RevokeAuditorAccess{partner(), AuditorGrantId::parse("9f1c2b3a-4d5e-4f60-8a7b-0c1d2e3f4a5b").value(), "the engagement ended early"},
      AcceptResellerAgreement{partner(), "2019-10"},
      AcceptTaxId{partner(), "DE123456789"},
      SetAuthorizedRegions{partner(), {"emea", "na"}},
      SetEarnedTags{partner(), {"Gold Cloud Platform"}, {}},
      CorrectMpnId{partner(), "4099999", "a typo at enrollment"},
      MarkNotificationsRead{partner(), user(), 42, {"17", "18"}},
  };
}

TEST(CommandJson, SamplesCoverEveryCommandType) {
  std::set<size_t> seen;
  for (const Command& c : samples()) seen.insert(c.index());
  EXPECT_EQ(seen.size(), std::variant_size_v<Command>);
}

TEST(CommandJson, RoundTripOfEveryCommandType) {
  CommandId id = CommandId::parse(kCommandId).value();
  for (const Command& c : samples()) {
    SCOPED_TRACE(std::string(command_name(c)));
    std::string text = command_to_json(ParsedCommand{id, c});
    auto parsed = parse_command_json(text);
    ASSERT_TRUE(parsed.is_ok()) << parsed.status().to_string() << "\n" << text;
    EXPECT_EQ(parsed->command_id, id);
    ASSERT_EQ(parsed->command.index(), c.index());
    EXPECT_EQ(command_to_json(*parsed), text);  // stable form
    // Struct-level equality where the value types define it.
    std::visit(
        [&](const auto& original) {
          using T = std::decay_t<decltype(original)>;
          const T& back = std::get<T>(parsed->command);
          if constexpr (requires { original.details; }) { EXPECT_EQ(back.details, original.details); }
          if constexpr (requires { original.offer; }) { EXPECT_EQ(back.offer, original.offer); }
          if constexpr (requires { original.price_list; }) { EXPECT_EQ(back.price_list, original.price_list); }
          if constexpr (requires { original.profile; }) { EXPECT_EQ(back.profile, original.profile); }
          if constexpr (requires { original.address; }) { EXPECT_EQ(back.address, original.address); }
          if constexpr (requires { original.roles; }) { EXPECT_EQ(back.roles, original.roles); }
          if constexpr (requires { original.partner_id; }) { EXPECT_EQ(back.partner_id, original.partner_id); }
          if constexpr (requires { original.user_id; }) { EXPECT_EQ(back.user_id, original.user_id); }
        },
        c);
  }
}

TEST(CommandJson, SpotChecksOfTheForm) {
  std::string text = command_to_json(ParsedCommand{CommandId::parse(kCommandId).value(),
                                                   AssignRole{partner(), user(), Role::kGlobalAdmin}});
  EXPECT_EQ(text, std::string("{\"type\":\"AssignRole\",\"command_id\":\"") + kCommandId +
                      "\",\"partner_id\":\"" + kPartner + "\",\"user_id\":\"" + kUser +
                      "\",\"role\":\"global_admin\"}");
}

TEST(CommandJson, OptionalFieldsMayBeOmitted) {
  auto r = parse_command_json(std::string(R"({"type":"CreateUser","command_id":")") + kCommandId +
                              R"(","partner_id":")" + kPartner +
                              R"(","profile":{"first_name":"A","last_name":"B","email":"a@b.co"}})");
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  const auto& c = std::get<CreateUser>(r->command);
  EXPECT_TRUE(c.roles.empty());
  EXPECT_EQ(c.profile.phone, "");

  auto logo_null = parse_command_json(std::string(R"({"type":"UpdateBusinessProfile","command_id":")") + kCommandId +
                                      R"(","partner_id":")" + kPartner + R"(","region":"emea","details":{"logo":null}})");
  ASSERT_TRUE(logo_null.is_ok()) << logo_null.status().to_string();
  EXPECT_FALSE(std::get<UpdateBusinessProfile>(logo_null->command).details.logo.has_value());
}

struct Bad {
  const char* name;
  std::string text;
  std::string field;
  std::string message_has;
};

std::string cmd(const std::string& rest) {
  return std::string(R"({"type":"AssignRole","command_id":")") + kCommandId + R"(","partner_id":")" + kPartner +
         R"(","user_id":")" + kUser + "\"" + rest + "}";
}

std::string create_user(const std::string& profile, const std::string& roles) {
  return std::string(R"({"type":"CreateUser","command_id":")") + kCommandId + R"(","partner_id":")" + kPartner +
         R"(","profile":)" + profile + R"(,"roles":)" + roles + "}";
}

const std::string kProfile = R"({"first_name":"A","last_name":"B","email":"a@b.co"})";

std::string enroll_with_country(const std::string& country_json) {
  std::string legal_address = R"({"line1":"1 Main","city":"Redmond","country":)" + country_json + "}";
  return std::string(R"({"type":"EnrollPartner","command_id":")") + kCommandId +
         R"(","admin":{"first_name":"A","last_name":"B","email":"a@b.co"},"partner_name":"C","mpn_id":"1",)" +
         R"("legal":{"company_name":"C","address":)" + legal_address + R"(,"primary_contact":)" + kProfile +
         R"(,"approver_email":"x@b.co","approver_address":)" + legal_address +
         R"(},"tenant_id":"6f1b1d0e-8a43-4c59-9f64-0c1f5b6a7d11","default_domain":"c.com","language":"en",)" +
         R"("culture":"en-us","billing_currency":"USD"})";
}

std::vector<Bad> bad_inputs() {
  std::string deep;
  for (int i = 0; i < 40; ++i) deep += "[";
  for (int i = 0; i < 40; ++i) deep += "]";
  std::string huge = cmd(R"(,"pad":")" + std::string(kMaxCommandJsonBytes, 'x') + "\"");
  return {
      {"empty", "", "", "malformed JSON at byte 0"},
      {"malformed", R"({"type": "AssignRole",, })", "", "malformed JSON at byte 22"},
      {"truncated", R"({"type": "AssignRole")", "", "unexpected end of input"},
      {"trailing data", cmd("") + " {}", "", "extra data"},
      {"comment", "// hi\n" + cmd(""), "", "malformed JSON at byte 0"},
      {"not an object", R"(["AssignRole"])", "", "must be an object"},
      {"missing type", R"({"command_id":"9a1b2c3d-4e5f-4a6b-8c7d-0e1f2a3b4c5d"})", "type", "is required"},
      {"type not a string", R"({"type":7})", "type", "must be a string"},
      {"unknown type", R"({"type":"DropDatabase","command_id":"9a1b2c3d-4e5f-4a6b-8c7d-0e1f2a3b4c5d"})", "type",
       "unknown command type \"DropDatabase\""},
      {"missing command_id", R"({"type":"ReinstatePartner","partner_id":"0b7e3a2c-5d41-4f6e-9a10-2c3d4e5f6a7b"})",
       "command_id", "is required"},
      {"bad command_id", R"({"type":"ReinstatePartner","command_id":"not-a-uuid"})", "command_id", "UUID"},
      {"non-hex command_id", R"({"type":"ReinstatePartner","command_id":"9a1b2c3d-4e5f-4a6b-8c7d-0e1f2a3b4c5z"})",
       "command_id", "hex"},
      {"nil command_id", R"({"type":"ReinstatePartner","command_id":"00000000-0000-0000-0000-000000000000"})",
       "command_id", "nil"},
      {"command_id a number", R"({"type":"ReinstatePartner","command_id":12})", "command_id", "must be a string"},
      {"missing field", cmd("").substr(0, cmd("").find(R"(,"user_id")")) + "}", "user_id", "is required"},
      {"missing enum", cmd(""), "role", "is required"},
      {"unknown field", cmd(R"(,"role":"global_admin","as_admin":true)"), "as_admin", "unknown field"},
      {"unknown nested field", enroll_with_country(R"("US","planet":"Earth")"), "legal.address.planet", "unknown field"},
      {"wrong type nested", enroll_with_country("840"), "legal.address.country", "must be a string (got an integer)"},
      {"missing nested", enroll_with_country("null").replace(enroll_with_country("null").find(R"("city":"Redmond",)"),
                                                             17, ""),
       "legal.address.city", "is required"},
      {"bad uuid field", cmd(R"(,"role":"global_admin")").replace(cmd("").find(kUser), 36, "1234"), "user_id",
       "UUID"},
      {"unknown enum value", cmd(R"(,"role":"root")"), "role", "must be one of \"global_admin\""},
      {"enum as number", cmd(R"(,"role":0)"), "role", "must be a string"},
      {"role in list wrong", create_user(kProfile, R"(["sales_agent", 3])"), "roles[1]", "must be a string"},
      {"role in list unknown", create_user(kProfile, R"(["sales_agent", "god"])"), "roles[1]", "must be one of"},
      {"list not array", create_user(kProfile, R"("sales_agent")"), "roles", "must be an array"},
      {"object not object", create_user("[]", "[]"), "profile", "must be an object"},
      {"null for required", create_user(R"({"first_name":null,"last_name":"B","email":"a@b.co"})", "[]"),
       "profile.first_name", "got null"},
      {"duplicate key", cmd(R"(,"role":"sales_agent","role":"global_admin")"), "role", "duplicate key"},
      {"duplicate nested key", create_user(R"({"first_name":"A","first_name":"B","last_name":"B","email":"a@b.co"})",
                                           "[]"),
       "profile.first_name", "duplicate key"},
      {"integer with fraction",
       std::string(R"({"type":"SuspendPartner","command_id":")") + kCommandId + R"(","partner_id":")" + kPartner +
           R"(","reason":"billing_overdue","days_overdue":61.5})",
       "days_overdue", "must be an integer"},
      {"integer out of range",
       std::string(R"({"type":"SuspendPartner","command_id":")") + kCommandId + R"(","partner_id":")" + kPartner +
           R"(","reason":"billing_overdue","days_overdue":-1})",
       "days_overdue", "from 0 to 4294967295"},
      {"bad timestamp",
       std::string(R"({"type":"IssueAuditorAccess","command_id":")") + kCommandId + R"(","partner_id":")" + kPartner +
           R"(","auditor_email":"a@b.co","valid_until":"next tuesday"})",
       "valid_until", "UTC time"},
      {"deep path in price list",
       std::string(R"({"type":"PublishPriceList","command_id":")") + kCommandId +
           R"(","price_list":{"market":"US","currency":"USD","year":2026,"month":5,"billing_model":"usage_based",)" +
           R"("rows":[{"change_code":"ADD","valid_from":"2026-05-01","valid_to":"2026-05-31","offer_display_name":"O",)" +
           R"("offer_id":"o","license_agreement_type":"corporate","purchase_unit":"1 Month",)" +
           R"("secondary_license_type":"non_specific","end_customer_type":"corporate","list_price_micros":1,)" +
           R"("erp_price_micros":"2"}]}})",
       "price_list.rows[0].erp_price_micros", "must be an integer"},
      {"invalid UTF-8", cmd(R"(,"role":"global_admin","x":")" + std::string("\xC3\x28") + "\""), "",
       "invalid UTF-8"},
      {"invalid UTF-8 in value", create_user(R"({"first_name":"A)" + std::string("\xFF") +
                                                 R"(","last_name":"B","email":"a@b.co"})",
                                             "[]"),
       "", "invalid UTF-8"},
      {"lone surrogate escape", create_user(R"({"first_name":"\ud800","last_name":"B","email":"a@b.co"})", "[]"), "",
       "malformed JSON"},
      {"huge body", huge, "", "too large"},
      {"deep nesting", deep, "", "nested deeper than 32"},
  };
}

TEST(CommandJson, BadInputTable) {
  for (const Bad& b : bad_inputs()) {
    SCOPED_TRACE(b.name);
    auto r = parse_command_json(b.text);
    ASSERT_FALSE(r.is_ok()) << b.text.substr(0, 300);
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(r.status().field(), b.field) << r.status().to_string();
    EXPECT_NE(r.status().message().find(b.message_has), std::string::npos) << r.status().to_string();
  }
}

TEST(CommandJson, ExactlyTheLimitIsAccepted) {
  std::string base = cmd(R"(,"role":"global_admin")");
  std::string text = base + std::string(kMaxCommandJsonBytes - base.size(), ' ');
  ASSERT_EQ(text.size(), kMaxCommandJsonBytes);
  EXPECT_TRUE(parse_command_json(text).is_ok());
  EXPECT_FALSE(parse_command_json(text + " ").is_ok());
}

TEST(CommandJson, ACommandLargerThanTheParseArenaIsReadWhole) {
  // parse_command_json reads the tree in a 4 KiB arena on the stack; a larger
  // command spills over to the heap and must come out the same.
  std::string ids;
  for (int i = 0; i < 1000; ++i) {
    ids += i == 0 ? "\"offer-" : ",\"offer-";
    ids += std::to_string(i);
    ids += '"';
  }
  const std::string text = R"({"type":"ReorderPins","command_id":")" + std::string(kCommandId) +
                           R"(","partner_id":")" + kPartner + R"(","offer_ids":[)" + ids + "]}";
  ASSERT_GT(text.size(), 4096u);
  auto parsed = parse_command_json(text);
  ASSERT_TRUE(parsed.is_ok()) << parsed.status().to_string();
  const auto& reorder = std::get<ReorderPins>(parsed->command);
  ASSERT_EQ(reorder.offer_ids.size(), 1000u);
  EXPECT_EQ(reorder.offer_ids.front(), "offer-0");
  EXPECT_EQ(reorder.offer_ids.back(), "offer-999");
}

TEST(CommandJson, NestingUpToTheLimitReachesTheShapeCheck) {
  // 32 levels is allowed by the syntax check; the reader then refuses the shape.
  std::string text = R"({"type":"ReorderPins","command_id":")" + std::string(kCommandId) + R"(","partner_id":")" +
                     kPartner + R"(","offer_ids":)";
  for (int i = 0; i < 31; ++i) text += "[";
  for (int i = 0; i < 31; ++i) text += "]";
  text += "}";
  auto r = parse_command_json(text);
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().field(), "offer_ids[0]");
}

// Every ```json block of docs/commands.md parses.
TEST(CommandJson, DocsExamplesParse) {
  std::string dir = ACCT_SOURCE_DIR;
  if (const char* env = std::getenv("ACCT_SOURCE_DIR")) dir = env;
  std::ifstream in(dir + "/docs/commands.md");
  ASSERT_TRUE(in) << "cannot open " << dir << "/docs/commands.md (set ACCT_SOURCE_DIR)";
  std::string line, block;
  bool inside = false;
  int blocks = 0, line_no = 0, start = 0;
  std::set<std::string> documented;
  while (std::getline(in, line)) {
    ++line_no;
    if (!inside && line == "```json") {
      inside = true;
      block.clear();
      start = line_no;
    } else if (inside && line == "```") {
      inside = false;
      ++blocks;
      auto r = parse_command_json(block);
      EXPECT_TRUE(r.is_ok()) << "docs/commands.md block at line " << start << ": " << r.status().to_string();
      if (r) documented.insert(std::string(command_name(r->command)));
    } else if (inside) {
      block += line + "\n";
    }
  }
  EXPECT_FALSE(inside) << "unterminated ```json block";
  EXPECT_GT(blocks, 0);
  for (const Command& c : samples()) {
    EXPECT_TRUE(documented.count(std::string(command_name(c)))) << command_name(c) << " has no example in the docs";
  }
}

TEST(EventJson, PersonalFieldsArePlainAndFingerprintsHex) {
  UserId u = user();
  UserCreated e{u, partner(), PersonalContact{user_subject(u), contact("ada@contoso.com")}, std::string("\x01\xff", 2)};
  boost::json::value v = event_to_json(e);
  const auto& o = v.as_object();
  EXPECT_EQ(o.at("user_id").as_string(), kUser);
  EXPECT_EQ(o.at("profile").at("email").as_string(), "ada@contoso.com");
  EXPECT_EQ(o.at("email_fingerprint").as_string(), "01ff");
  EXPECT_EQ(o.size(), 4u);

  boost::json::value s = event_to_json(PartnerSuspended{SuspensionReason::kAbuse, 0, "n", at("2026-03-02")});
  EXPECT_EQ(s.at("reason").as_string(), "abuse");
  EXPECT_EQ(s.at("at").as_string(), "2026-03-02T00:00:00.000000Z");

  boost::json::value b = event_to_json(BusinessProfileUpdated{BusinessProfileDetails{}});
  EXPECT_TRUE(b.at("details").at("logo").is_null());
}

// Every node of `v` (values, strings, objects, arrays) lives in `mr`.
bool all_in(const boost::json::value& v, boost::json::memory_resource* mr) {
  if (v.storage().get() != mr) return false;
  if (v.is_string()) return v.get_string().storage().get() == mr;
  if (v.is_object()) {
    if (v.get_object().storage().get() != mr) return false;
    for (const auto& kv : v.get_object()) {
      if (!all_in(kv.value(), mr)) return false;
    }
  }
  if (v.is_array()) {
    if (v.get_array().storage().get() != mr) return false;
    for (const auto& item : v.get_array()) {
      if (!all_in(item, mr)) return false;
    }
  }
  return true;
}

// The relay renders payloads into a reused arena (consumers/event_message.cc):
// the same tree as on the heap, for every event type, all of it in the arena,
// also when it outgrows the arena's first buffer.
TEST(EventJson, InAnArenaTheTreeIsTheSameAndAllOfItIsThere) {
  std::vector<DomainEvent> events;
  for (const golden::Fixture& f : golden::fixtures()) events.push_back(f.expected);  // every type
  UserId u = user();
  Personal<ContactDetails> erased{user_subject(u), {}, true};
  events.push_back(UserCreated{u, partner(), erased, std::string("\x01\xff", 2)});
  for (const DomainEvent& e : events) {
    const std::string type = std::visit([](const auto& x) { return std::string(std::decay_t<decltype(x)>::kType); }, e);
    for (size_t first_buffer : {64u, 64u * 1024u}) {
      std::vector<unsigned char> buffer(first_buffer);
      boost::json::monotonic_resource arena(buffer.data(), buffer.size());
      const boost::json::value in_arena = event_to_json(e, &arena);
      EXPECT_EQ(boost::json::serialize(event_to_json(e)), boost::json::serialize(in_arena)) << type;
      EXPECT_TRUE(all_in(in_arena, &arena)) << type;
    }
  }
}

}  // namespace
}  // namespace accountable
