// The public partner directory over real HTTP (issue 22, item 5): anyone may
// search it without a token; only published profiles of partners that are not
// suspended are listed; ranked by text relevance (FTS5) and filtered by region,
// industry and product; no personal data (no street, no phone, no user); bad
// parameters are 400 naming them; the rate limit answers 429 with Retry-After.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "server/testing/http_test_client.h"

namespace accountable {
namespace {

using namespace http_test;

class Directory : public ServerFixture {
 protected:
  void SetUp() override {
    ServerFixture::SetUp();
    if (HasFatalFailure()) return;
    std::string temp;
    std::tie(a_, std::ignore, temp) = enroll();
    ASSERT_FALSE(a_.empty());
    ada_ = sign_in_and_change(a_, "ada@contoso.example", temp);
    std::tie(b_, std::ignore, temp) = enroll_fabrikam();
    ASSERT_FALSE(b_.empty());
    gus_ = sign_in_and_change(b_, "gus@fabrikam.example", temp);
    ok(operator_token_, azure_plan_offer_command());
    for (const std::string& p : {a_, b_}) {
      ok(operator_token_, json::object{{"type", "SetAuthorizedRegions"}, {"partner_id", p},
                                       {"regions", json::array{"emea", "na"}}});
    }
  }

  // Runs a command that must succeed; remembers its position (read-your-writes).
  void ok(const std::string& token, json::object c) {
    Reply r = command(token, std::move(c));
    ASSERT_EQ(r.status, 200u) << r.body;
    last_ = r.json().at("last_position").to_number<uint64_t>();
  }

  void profile(const std::string& token, const std::string& partner, const std::string& region,
               const std::string& description, json::array industries, json::array products) {
    ok(token, json::object{{"type", "CreateBusinessProfile"},
                           {"partner_id", partner},
                           {"region", region},
                           {"details", {{"logo", nullptr},
                                        {"description", description},
                                        {"website", "https://example.com"},
                                        {"linkedin_url", ""},
                                        {"industry_focus", std::move(industries)},
                                        {"products", std::move(products)},
                                        {"service_types", json::array{"Consulting"}},
                                        {"skills", json::array{"Migration"}},
                                        {"allow_vendor_endorsement", true},
                                        {"target_customer_sizes", json::array{"10-49"}},
                                        {"refuse_referrals_outside_target_sizes", false}}}});
  }
  void publish(const std::string& token, const std::string& partner, const std::string& region, bool on = true) {
    ok(token, json::object{{"type", on ? "PublishBusinessProfile" : "UnpublishBusinessProfile"},
                           {"partner_id", partner},
                           {"region", region}});
  }

  // The listings' "partner_name/region", in the answer's order.
  std::vector<std::string> search(const std::string& query, Reply* raw = nullptr) {
    Reply r = request(http::verb::get, "/v1/directory/profiles?min_position=" + std::to_string(last_) +
                                           (query.empty() ? "" : "&" + query));
    EXPECT_EQ(r.status, 200u) << query << ": " << r.body;
    std::vector<std::string> out;
    const json::value body = r.json();
    if (body.is_object()) {
      for (const json::value& l : body.at("listings").as_array()) {
        out.push_back(std::string(l.at("partner_name").as_string()) + "/" + std::string(l.at("region").as_string()));
      }
    }
    if (raw) *raw = r;
    return out;
  }

  std::string a_, b_, ada_, gus_;
  uint64_t last_ = 0;
};

using Names = std::vector<std::string>;

TEST_F(Directory, AnyoneFindsPublishedProfilesRankedAndFiltered) {
  profile(ada_, a_, "emea", "We migrate retail stores to the cloud.", {"Retail"}, {"azure-plan"});
  ok(ada_, json::object{{"type", "AddProfileLocation"},
                        {"partner_id", a_},
                        {"region", "emea"},
                        {"address", {{"line1", "1 Secret Street"}, {"line2", ""}, {"city", "London"}, {"state", ""},
                                     {"postal_code", "EC1A 1BB"}, {"country", "GB"}, {"region", "Europe"}}},
                        {"phone", "+44 20 5555 0199"}});
  publish(ada_, a_, "emea");
  profile(gus_, b_, "na", "Healthcare analytics for clinics; retail pharmacies too.", {"Health"}, {});
  EXPECT_EQ(search(""), Names{"Contoso/emea"}) << "a draft is not listed";
  publish(gus_, b_, "na");

  Reply all;
  EXPECT_EQ(search("", &all), (Names{"Contoso/emea", "Fabrikam/na"}));  // by name without q
  // No personal data, no street, no phone; only the public fields.
  for (const char* secret : {"Secret Street", "5555 0199", "EC1A", "ada@contoso", "gus@fabrikam", "Lovelace",
                             "allow_vendor_endorsement"}) {
    EXPECT_EQ(all.body.find(secret), std::string::npos) << secret << " in " << all.body;
  }
  EXPECT_NE(all.body.find("\"city\":\"London\""), std::string::npos) << all.body;
  EXPECT_NE(all.body.find("\"description\":\"We migrate retail stores"), std::string::npos) << all.body;

  // Ranked: "retail" is Contoso's industry and description, only Fabrikam's description.
  EXPECT_EQ(search("q=retail"), (Names{"Contoso/emea", "Fabrikam/na"}));
  EXPECT_EQ(search("q=health"), Names{"Fabrikam/na"});        // a prefix of Healthcare, and the industry
  EXPECT_EQ(search("q=LONDON%20migrate"), Names{"Contoso/emea"});  // every word, any case, the city
  EXPECT_EQ(search("q=contoso"), Names{"Contoso/emea"});      // the partner's name
  EXPECT_EQ(search("q=%22retail%22%20(%2A%20-%5E"), (Names{"Contoso/emea", "Fabrikam/na"}))
      << "FTS5 syntax in q is only words";
  EXPECT_TRUE(search("q=nothing-like-this").empty());
  EXPECT_EQ(search("region=na"), Names{"Fabrikam/na"});
  EXPECT_EQ(search("industry=retail"), Names{"Contoso/emea"});  // ASCII case-insensitive
  EXPECT_EQ(search("product=azure-plan"), Names{"Contoso/emea"});
  EXPECT_EQ(search("q=retail&region=emea&industry=Retail&product=azure-plan"), Names{"Contoso/emea"});

  // Paging.
  Reply first;
  EXPECT_EQ(search("limit=1", &first), Names{"Contoso/emea"});
  EXPECT_TRUE(first.json().at("more").as_bool());
  Reply second;
  EXPECT_EQ(search("limit=1&page=2", &second), Names{"Fabrikam/na"});
  EXPECT_FALSE(second.json().at("more").as_bool());

  // Unpublished: gone; suspended: gone until reinstated.
  publish(ada_, a_, "emea", false);
  EXPECT_EQ(search(""), Names{"Fabrikam/na"});
  ok(operator_token_, json::object{{"type", "SuspendPartner"}, {"partner_id", b_}, {"reason", "abuse"},
                                   {"days_overdue", 0}, {"note", "spam"}});
  EXPECT_TRUE(search("").empty());
  ok(operator_token_, json::object{{"type", "ReinstatePartner"}, {"partner_id", b_}});
  EXPECT_EQ(search("q=health"), Names{"Fabrikam/na"});
}

TEST_F(Directory, BadParametersAre400NamingThem) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"limit=0", "limit"},
      {"limit=101", "limit"},
      {"page=0", "page"},
      {"page=26", "page"},
      {"q=" + std::string(201, 'a'), "q"},
      {"region=" + std::string(33, 'x'), "region"},
      {"industry=a%01b", "industry"},
  };
  for (const auto& [query, field] : cases) {
    Reply r = request(http::verb::get, "/v1/directory/profiles?" + query);
    EXPECT_EQ(r.status, 400u) << query << ": " << r.body;
    EXPECT_EQ(r.error_field(), field) << query << ": " << r.body;
  }
}

class DirectoryRateLimit : public Directory {
 protected:
  void SetUp() override {
    RateLimiterOptions o;
    o.per_address_per_minute = 3;
    o.global_per_second = 0;
    directory_limiter_ = std::make_shared<RateLimiter>(o);
    Directory::SetUp();
  }
};

TEST_F(DirectoryRateLimit, TheFourthSearchInAMinuteIs429WithRetryAfter) {
  // min_position: the views may still be in their first build (503) when the
  // set-up's commands are answered.
  const std::string target = "/v1/directory/profiles?min_position=" + std::to_string(last_);
  for (int i = 0; i < 3; ++i) {
    Reply r = request(http::verb::get, target);
    EXPECT_EQ(r.status, 200u) << i << ": " << r.body;
  }
  Reply refused = request(http::verb::get, target);
  EXPECT_EQ(refused.status, 429u) << refused.body;
  const std::string retry = refused.header("retry-after");
  ASSERT_FALSE(retry.empty());
  EXPECT_GE(std::stoi(retry), 1);
  EXPECT_LE(std::stoi(retry), 20);
  EXPECT_EQ(directory_limiter_->counters().refused_address, 1u);
}

}  // namespace
}  // namespace accountable
