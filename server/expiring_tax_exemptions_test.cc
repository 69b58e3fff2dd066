// Tax certificates about to expire over real HTTP (issue 22, item 6): a
// partner's list and the operator's over every partner, the window, the order,
// paging with the cursor, `covered_after_expiry`, RenewTaxExemption taking a
// certificate off the list, who may read which, and the 400s naming the
// parameter.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "aggregates/context.h"
#include "server/testing/http_test_client.h"

namespace accountable {
namespace {

using namespace http_test;

constexpr const char* kNow = "2026-12-01T00:00:00Z";
Timestamp start() { return parse_timestamp(kNow).value(); }

class ExpiringTaxExemptions : public ServerFixture {
 protected:
  void SetUp() override {
    clock_ = &fixed_;
    ServerFixture::SetUp();
    if (HasFatalFailure()) return;
    std::string temp;
    std::tie(a_, std::ignore, temp) = enroll();
    ASSERT_FALSE(a_.empty());
    ada_ = sign_in_and_change(a_, "ada@contoso.example", temp);
    std::tie(b_, std::ignore, temp) = enroll_fabrikam();
    ASSERT_FALSE(b_.empty());
    gus_ = sign_in_and_change(b_, "gus@fabrikam.example", temp);
  }

  // Files a certificate valid from `from_days` to `until_days` after kNow; its id.
  std::string file(const std::string& token, const std::string& partner, const std::string& jurisdiction,
                   const std::string& ref, int from_days, int until_days) {
    Reply r = command(token, json::object{{"type", "FileTaxExemption"},
                                          {"partner_id", partner},
                                          {"jurisdiction", jurisdiction},
                                          {"certificate_ref", ref},
                                          {"valid_from", day(from_days)},
                                          {"expires_on", day(until_days)}});
    EXPECT_EQ(r.status, 200u) << r.body;
    const json::value v = r.json();
    last_position_ = v.at("last_position").to_number<uint64_t>();
    return std::string(v.at("result").at("exemption_id").as_string());
  }

  static std::string day(int days) { return format_timestamp(plus_days(start(), days)); }

  Reply list(const std::string& path, const std::string& token, const std::string& query = "") {
    return request(http::verb::get,
                   path + "?min_position=" + std::to_string(last_position_) + (query.empty() ? "" : "&" + query), "",
                   token);
  }
  Reply partner_list(const std::string& token, const std::string& query = "") {
    return list("/v1/partners/" + a_ + "/tax-exemptions/expiring", token, query);
  }

  static std::vector<std::string> refs(const json::value& page) {
    std::vector<std::string> out;
    for (const json::value& x : page.at("items").as_array()) out.emplace_back(x.at("certificate_ref").as_string());
    return out;
  }

  FixedClock fixed_{start()};
  std::string a_, b_, ada_, gus_;
  uint64_t last_position_ = 0;
};

TEST_F(ExpiringTaxExemptions, APartnersListIsTheWindowSoonestFirst) {
  file(ada_, a_, "WA", "wa-10d", -300, 10);
  file(ada_, a_, "OR", "or-40d", -300, 40);
  file(ada_, a_, "TX", "tx-later-start", 5, 20);  // not valid yet on kNow
  const std::string revoked = file(ada_, a_, "CA", "ca-revoked", -300, 3);
  Reply revoke = command(ada_, json::object{{"type", "RevokeTaxExemption"}, {"partner_id", a_},
                                            {"exemption_id", revoked}, {"reason", "wrong state"}});
  ASSERT_EQ(revoke.status, 200u) << revoke.body;
  last_position_ = revoke.json().at("last_position").to_number<uint64_t>();
  file(gus_, b_, "WA", "fabrikam-5d", -300, 5);  // another partner's: not in A's list

  Reply r = partner_list(ada_);
  ASSERT_EQ(r.status, 200u) << r.body;
  const json::value page = r.json();
  EXPECT_EQ(refs(page), (std::vector<std::string>{"wa-10d", "tx-later-start"}));
  EXPECT_EQ(page.at("from").as_string(), day(0));
  EXPECT_EQ(page.at("until").as_string(), day(30));
  EXPECT_TRUE(page.at("next").is_null());
  const json::object& first = page.at("items").as_array().at(0).as_object();
  EXPECT_EQ(first.at("partner_id").as_string(), a_);
  EXPECT_EQ(first.at("partner_name").as_string(), "Contoso");
  EXPECT_EQ(first.at("jurisdiction").as_string(), "WA");
  EXPECT_EQ(first.at("expires_on").as_string(), day(10));
  EXPECT_EQ(first.at("days_left").as_int64(), 10);
  EXPECT_EQ(first.at("state").as_string(), "active");
  EXPECT_FALSE(first.at("covered_after_expiry").as_bool());
  EXPECT_EQ(page.at("items").as_array().at(1).at("state").as_string(), "not_yet_valid");

  // A wider window takes the 40-day one; another date moves the window.
  EXPECT_EQ(refs(partner_list(ada_, "within_days=60").json()),
            (std::vector<std::string>{"wa-10d", "tx-later-start", "or-40d"}));
  EXPECT_EQ(refs(partner_list(ada_, "date=" + day(15) + "&within_days=30").json()),
            (std::vector<std::string>{"tx-later-start", "or-40d"}));
  // Hours before expiry still count as one day left.
  const json::value late = partner_list(ada_, "date=" + format_timestamp(Timestamp{start().micros +
                                                                                   9 * kMicrosPerDay +
                                                                                   3'600'000'000LL}))
                               .json();
  EXPECT_EQ(late.at("items").as_array().at(0).at("days_left").as_int64(), 1);
}

TEST_F(ExpiringTaxExemptions, ACertificateFiledAheadCoversTheExpiryAndARenewalLeavesTheList) {
  const std::string wa = file(ada_, a_, "WA", "wa-old", -300, 10);
  const std::string tx = file(ada_, a_, "TX", "tx-old", -300, 12);
  file(ada_, a_, "WA", "wa-ahead", 5, 400);  // applies on wa-old's expires_on
  json::value page = partner_list(ada_).json();
  ASSERT_EQ(refs(page), (std::vector<std::string>{"wa-old", "tx-old"}));
  EXPECT_TRUE(page.at("items").as_array().at(0).at("covered_after_expiry").as_bool());
  EXPECT_FALSE(page.at("items").as_array().at(1).at("covered_after_expiry").as_bool());

  Reply renewed = command(ada_, json::object{{"type", "RenewTaxExemption"},
                                             {"partner_id", a_},
                                             {"exemption_id", tx},
                                             {"certificate_ref", "tx-new"},
                                             {"valid_from", day(12)},
                                             {"expires_on", day(377)}});
  ASSERT_EQ(renewed.status, 200u) << renewed.body;
  const json::value v = renewed.json();
  const std::string new_id(v.at("result").at("exemption_id").as_string());
  EXPECT_NE(new_id, tx);
  last_position_ = v.at("last_position").to_number<uint64_t>();
  EXPECT_EQ(refs(partner_list(ada_).json()), (std::vector<std::string>{"wa-old"}));

  // The profile shows the old one revoked by the renewal and the new one active.
  Reply profile = request(http::verb::get, "/v1/partners/" + a_ + "/profile?min_position=" +
                                               std::to_string(last_position_), "", ada_);
  ASSERT_EQ(profile.status, 200u) << profile.body;
  int seen = 0;
  const json::value body = profile.json();
  for (const json::value& x : body.at("tax_exemptions").as_array()) {
    if (x.at("exemption_id").as_string() == tx) {
      ++seen;
      EXPECT_TRUE(x.at("revoked").as_bool());
      EXPECT_EQ(x.at("revoked_reason").as_string(), "renewed by exemption " + new_id);
    } else if (x.at("exemption_id").as_string() == new_id) {
      ++seen;
      EXPECT_EQ(x.at("jurisdiction").as_string(), "TX");
      EXPECT_EQ(x.at("state").as_string(), "not_yet_valid");
    }
  }
  EXPECT_EQ(seen, 2);
  // Renewing the same certificate again is refused and writes nothing.
  const uint64_t before = head();
  Reply again = command(ada_, json::object{{"type", "RenewTaxExemption"},
                                           {"partner_id", a_},
                                           {"exemption_id", tx},
                                           {"certificate_ref", "tx-newer"},
                                           {"valid_from", day(12)},
                                           {"expires_on", day(500)}});
  EXPECT_EQ(again.status, 422u) << again.body;
  EXPECT_EQ(head(), before);
  (void)wa;
}

TEST_F(ExpiringTaxExemptions, TheOperatorPagesEveryPartnersListWithTheCursor) {
  for (int i = 0; i < 3; ++i) file(ada_, a_, "WA", "contoso-" + std::to_string(i), -300, 10 + i);
  for (int i = 0; i < 2; ++i) file(gus_, b_, "WA", "fabrikam-" + std::to_string(i), -300, 10 + i);
  file(gus_, b_, "OR", "fabrikam-same-day", -300, 10);  // ties broken by partner, then exemption id

  Reply all = list("/v1/tax-exemptions/expiring", operator_token_);
  ASSERT_EQ(all.status, 200u) << all.body;
  const std::vector<std::string> everything = refs(all.json());
  ASSERT_EQ(everything.size(), 6u);
  // Soonest first across partners.
  std::string previous;
  const json::value body = all.json();
  for (const json::value& x : body.at("items").as_array()) {
    const std::string expires(x.at("expires_on").as_string());
    EXPECT_LE(previous, expires);  // one fixed-width format: text order is time order
    previous = expires;
  }

  std::vector<std::string> paged;
  std::string after;
  for (int pages = 0; pages < 10; ++pages) {
    Reply r = list("/v1/tax-exemptions/expiring", operator_token_, "limit=2" + (after.empty() ? "" : "&after=" + after));
    ASSERT_EQ(r.status, 200u) << r.body;
    const json::value page = r.json();
    EXPECT_LE(page.at("items").as_array().size(), 2u);
    for (const std::string& ref : refs(page)) paged.push_back(ref);
    if (page.at("next").is_null()) break;
    after = std::string(page.at("next").as_string());
  }
  EXPECT_EQ(paged, everything);
}

TEST_F(ExpiringTaxExemptions, WhoMayReadWhichList) {
  file(ada_, a_, "WA", "wa", -300, 10);
  auto [sales_id, sales_temp] = create_user(ada_, a_, "sam@contoso.example", {"sales_agent"});
  auto [billing_id, billing_temp] = create_user(ada_, a_, "bea@contoso.example", {"billing_admin"});
  const std::string sam = sign_in_and_change(a_, "sam@contoso.example", sales_temp);
  const std::string bea = sign_in_and_change(a_, "bea@contoso.example", billing_temp);

  EXPECT_EQ(partner_list(ada_).status, 200u);
  EXPECT_EQ(refs(partner_list(bea).json()), (std::vector<std::string>{"wa"}));
  EXPECT_EQ(partner_list(sam).status, 403u);           // a Sales agent does not manage tax exemptions
  EXPECT_EQ(partner_list(gus_).status, 403u);          // another partner's admin
  EXPECT_EQ(partner_list(operator_token_).status, 403u);  // the operator uses the list of every partner
  EXPECT_EQ(partner_list("").status, 401u);
  EXPECT_EQ(list("/v1/tax-exemptions/expiring", ada_).status, 403u);
  EXPECT_EQ(list("/v1/tax-exemptions/expiring", "").status, 401u);
  (void)sales_id;
  (void)billing_id;
}

TEST_F(ExpiringTaxExemptions, BadParametersAre400NamingThem) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"within_days=0", "within_days"}, {"within_days=367", "within_days"}, {"within_days=x", "within_days"},
      {"limit=0", "limit"},             {"limit=1001", "limit"},            {"date=yesterday", "date"},
      {"after=12.x.y", "after"},        {"after=", "after"},
  };
  for (const auto& [query, field] : cases) {
    for (const std::string& path : {"/v1/partners/" + a_ + "/tax-exemptions/expiring", std::string("/v1/tax-exemptions/expiring")}) {
      const std::string& token = path[4] == 'p' ? ada_ : operator_token_;
      Reply r = list(path, token, query);
      EXPECT_EQ(r.status, 400u) << path << "?" << query << ": " << r.body;
      EXPECT_EQ(r.error_field(), field) << path << "?" << query << ": " << r.body;
    }
  }
  EXPECT_EQ(request(http::verb::get, "/v1/partners/not-a-uuid/tax-exemptions/expiring", "", ada_).status, 400u);
}

}  // namespace
}  // namespace accountable
