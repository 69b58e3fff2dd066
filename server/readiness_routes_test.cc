// "Can we sell, and if not, why" over real HTTP (issue 22): the readiness of a
// partner lists every blocker at once, each with its code, message, the
// command that clears it and who may issue that; running those commands
// empties the list; PinOffer's refusal is the first blocker that refuses it.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "schema/json_codec.h"
#include "server/testing/http_test_client.h"

namespace accountable {
namespace {

using namespace http_test;

class Readiness : public ServerFixture {
 protected:
  void SetUp() override {
    ServerFixture::SetUp();
    if (HasFatalFailure()) return;
    std::string temp;
    std::tie(a_, admin_id_, temp) = enroll();
    ASSERT_FALSE(a_.empty());
    ada_ = sign_in_and_change(a_, "ada@contoso.example", temp);
    ASSERT_EQ(command(operator_token_, azure_plan_offer_command()).status, 200u);
    ASSERT_EQ(command(operator_token_, azure_plan_price_list_of_this_month()).status, 200u);
  }

  json::value readiness(const std::string& token) {
    Reply r = request(http::verb::get, "/v1/partners/" + a_ + "/readiness", "", token);
    EXPECT_EQ(r.status, 200u) << r.body;
    return r.json();
  }

  static std::vector<std::string> codes(const json::value& readiness) {
    std::vector<std::string> out;
    for (const json::value& b : readiness.at("blockers").as_array()) out.emplace_back(b.at("code").as_string());
    return out;
  }

  static const json::object* blocker(const json::value& readiness, std::string_view code) {
    for (const json::value& b : readiness.at("blockers").as_array()) {
      if (b.at("code").as_string() == code) return &b.as_object();
    }
    return nullptr;
  }

  Reply pin() {
    return command(ada_, json::object{{"type", "PinOffer"}, {"partner_id", a_}, {"offer_id", "azure-plan"}});
  }

  // The code of the first blocker that refuses PinOffer; "" if none.
  static std::string first_refusing(const json::value& readiness) {
    for (const json::value& b : readiness.at("blockers").as_array()) {
      if (b.at("refuses_pin_offer").as_bool()) return std::string(b.at("code").as_string());
    }
    return "";
  }

  // PinOffer agrees with the list: refused with the first refusing code, or done.
  void expect_pin_agrees(const json::value& r, const std::string& when) {
    const std::string first = first_refusing(r);
    Reply pinned = pin();
    EXPECT_EQ(r.at("can_pin_offers").as_bool(), first.empty()) << when;
    if (first.empty()) {
      EXPECT_EQ(pinned.status, 200u) << when << ": " << pinned.body;
      Reply unpinned =
          command(ada_, json::object{{"type", "UnpinOffer"}, {"partner_id", a_}, {"offer_id", "azure-plan"}});
      EXPECT_EQ(unpinned.status, 200u) << unpinned.body;
    } else {
      EXPECT_EQ(pinned.status, 422u) << when << ": " << pinned.body;
      EXPECT_EQ(pinned.error_message().rfind(first + ": ", 0), 0u) << when << ": " << pinned.body;
    }
  }

  std::string a_, admin_id_, ada_;
};

TEST_F(Readiness, ListsEveryBlockerAtOnceAndEachCommandItNamesClearsIt) {
  const json::value fresh = readiness(ada_);
  ASSERT_TRUE(fresh.is_object());
  EXPECT_EQ(fresh.at("partner_id").as_string(), a_);
  EXPECT_FALSE(fresh.at("ready_to_sell").as_bool());
  EXPECT_TRUE(parse_timestamp(fresh.at("as_of").as_string()).is_ok());
  EXPECT_EQ(codes(fresh), (std::vector<std::string>{"reseller_agreement_before_selling",
                                                    "us_tax_documents_within_30_days", "vetting_not_authorized",
                                                    "no_authorized_region", "support_details_missing",
                                                    "billing_primary_contact_missing"}));
  for (const json::value& b : fresh.at("blockers").as_array()) {
    EXPECT_FALSE(b.at("message").as_string().empty()) << json::serialize(b);
    EXPECT_FALSE(b.at("clears_with").as_string().empty()) << json::serialize(b);
    EXPECT_FALSE(b.at("cleared_by").as_array().empty()) << json::serialize(b);
  }
  // Who clears each comes from the matrix.
  EXPECT_EQ(json::serialize(blocker(fresh, "reseller_agreement_before_selling")->at("cleared_by")),
            R"(["global_admin"])");
  EXPECT_EQ(json::serialize(blocker(fresh, "vetting_not_authorized")->at("cleared_by")), R"(["operator"])");
  EXPECT_EQ(json::serialize(blocker(fresh, "us_tax_documents_within_30_days")->at("cleared_by")),
            R"(["global_admin","billing_admin"])");
  EXPECT_TRUE(blocker(fresh, "us_tax_documents_within_30_days")->at("due_at").is_null());
  expect_pin_agrees(fresh, "fresh");

  // Each step runs the command its blocker names and removes exactly that blocker.
  struct Step {
    std::string code;
    std::string token;
    json::object command;
  };
  const std::string op = operator_token_;
  const std::vector<Step> steps = {
      {"reseller_agreement_before_selling", ada_,
       {{"type", "AcceptResellerAgreement"}, {"partner_id", a_}, {"agreement_version", "2019-10"}}},
      {"us_tax_documents_within_30_days", ada_,
       {{"type", "FileTaxExemption"}, {"partner_id", a_}, {"jurisdiction", "WA"}, {"certificate_ref", "cert-1"},
        {"valid_from", "2026-01-01"}, {"expires_on", format_timestamp(plus_days(now(), 365))}}},
      {"vetting_not_authorized", op,
       {{"type", "SetVettingStatus"}, {"partner_id", a_}, {"status", "authorized"}, {"sub_status", "decision"}}},
      {"no_authorized_region", op, {{"type", "SetAuthorizedRegions"}, {"partner_id", a_}, {"regions", json::array{"na"}}}},
      {"support_details_missing", ada_,
       {{"type", "UpdateSupportProfile"}, {"partner_id", a_},
        {"support", {{"email", "help@contoso.example"}, {"phone", ""}, {"website", ""}}}}},
      {"billing_primary_contact_missing", ada_,
       json::parse(R"({"type":"UpdateBillingProfile","partner_id":")" + a_ + R"(","billing":{
          "company_name":"Contoso Billing","address":{"line1":"1 Main Street","line2":"","city":"Redmond","state":"WA",
          "postal_code":"98052","country":"US","region":"West"},"primary_contact":{"first_name":"Bo","last_name":"Bill",
          "email":"bo.bill@contoso.example","phone":""},"purchase_order_number":"","tax_id":""},
          "billing_currency":"USD"})").as_object()},
  };
  std::vector<std::string> left = codes(fresh);
  for (const Step& step : steps) {
    const json::value before = readiness(ada_);
    const json::object* b = blocker(before, step.code);
    ASSERT_NE(b, nullptr) << step.code;
    EXPECT_EQ(b->at("clears_with").as_string(), step.command.at("type").as_string()) << step.code;
    if (step.code == "us_tax_documents_within_30_days") {
      EXPECT_TRUE(b->at("due_at").is_string()) << "due 30 days after the agreement";
      EXPECT_FALSE(b->at("refuses_pin_offer").as_bool()) << "within the 30 days";
    }
    Reply done = command(step.token, step.command);
    ASSERT_EQ(done.status, 200u) << step.code << ": " << done.body;
    const auto listed = std::find(left.begin(), left.end(), step.code);
    ASSERT_NE(listed, left.end()) << step.code;
    left.erase(listed);
    const json::value after = readiness(ada_);
    EXPECT_EQ(codes(after), left) << "after " << step.command.at("type").as_string();
    expect_pin_agrees(after, "after " + std::string(step.command.at("type").as_string()));
  }
  const json::value ready = readiness(ada_);
  EXPECT_TRUE(ready.at("ready_to_sell").as_bool());
  EXPECT_TRUE(ready.at("can_pin_offers").as_bool());
  EXPECT_TRUE(ready.at("blockers").as_array().empty());

  // A suspension blocks again, first, and PinOffer says the same.
  Reply suspended = command(op, json::object{{"type", "SuspendPartner"}, {"partner_id", a_}, {"reason", "abuse"}});
  ASSERT_EQ(suspended.status, 200u) << suspended.body;
  const json::value blocked = readiness(ada_);
  EXPECT_EQ(codes(blocked), std::vector<std::string>{"suspended_partner_cannot_pin"});
  EXPECT_EQ(blocked.at("blockers").as_array()[0].at("clears_with").as_string(), "ReinstatePartner");
  expect_pin_agrees(blocked, "suspended");
}

TEST_F(Readiness, TheOperatorReadsAnyPartnerAndBadIdsAreNamed) {
  EXPECT_EQ(readiness(operator_token_).at("partner_id").as_string(), a_);
  Reply unknown = request(http::verb::get, "/v1/partners/00000000-0000-4000-8000-000000000000/readiness", "",
                          operator_token_);
  EXPECT_EQ(unknown.status, 404u) << unknown.body;
  Reply bad = request(http::verb::get, "/v1/partners/not-a-uuid/readiness", "", ada_);
  EXPECT_EQ(bad.status, 400u) << bad.body;
  const json::value v = bad.json();
  ASSERT_TRUE(v.is_object()) << bad.body;
  EXPECT_EQ(v.at("error").at("field").as_string(), "id");
  EXPECT_EQ(request(http::verb::get, "/v1/partners/" + a_ + "/readiness").status, 401u);
  // A user of the partner asking about an unknown partner learns nothing of it: 403, not 404.
  EXPECT_EQ(request(http::verb::get, "/v1/partners/00000000-0000-4000-8000-000000000000/readiness", "", ada_).status,
            403u);
}

}  // namespace
}  // namespace accountable
