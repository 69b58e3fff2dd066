// Tenant isolation over real HTTP (issue 9): no principal of partner A (any
// role, including the Global admin, and A's auditor) reads or changes anything
// of partner B, by any route: raw streams (also past their end), $all, the SSE
// subscription, every view, and commands that name B's partner or B's user ids.
// Refusals are 403 or 404, leak none of B's data, and write no event.
#include <gtest/gtest.h>

#include "schema/json_codec.h"
#include "server/testing/http_test_client.h"

namespace accountable {
namespace {

using namespace http_test;

class TenantIsolation : public ServerFixture {
 protected:
  void SetUp() override {
    ServerFixture::SetUp();
    if (HasFatalFailure()) return;
    std::string a_temp, b_temp;
    std::tie(a_, a_admin_, a_temp) = enroll();
    std::tie(b_, b_admin_, b_temp) = enroll_fabrikam();
    ASSERT_FALSE(a_.empty());
    ASSERT_FALSE(b_.empty());
    const std::string ada = sign_in_and_change(a_, "ada@contoso.example", a_temp);
    a_principals_.emplace_back("A's Global admin", ada);
    for (const char* role : {"user_management_admin", "account_admin", "billing_admin", "admin_agent"}) {
      const std::string email = std::string(role) + "@contoso.example";
      auto [id, temp] = create_user(ada, a_, email, {role});
      a_principals_.emplace_back(std::string("A's ") + role, sign_in_and_change(a_, email, temp));
    }
    {
      auto [id, temp] = create_user(ada, a_, "norole@contoso.example", {});
      a_principals_.emplace_back("A's user with no role", sign_in_and_change(a_, "norole@contoso.example", temp));
      a_user_ = id;
    }
    Reply issued = command(operator_token_, json::object{{"type", "IssueAuditorAccess"}, {"partner_id", a_},
                                                         {"auditor_email", "audit@kpmg.example"},
                                                         {"valid_until", format_timestamp(plus_days(now(), 2))}});
    ASSERT_EQ(issued.status, 200u) << issued.body;
    a_principals_.emplace_back("A's auditor", std::string(issued.json().at("result").at("auditor_token").as_string()));

    // B: an admin with a chosen password, a second user, a support profile, a location.
    gus_ = sign_in_and_change(b_, "gus@fabrikam.example", b_temp, "gus-chosen-password-1");
    auto [hal, hal_temp] = create_user(gus_, b_, "hal@fabrikam.example", {"billing_admin"});
    b_user_ = hal;
    ASSERT_EQ(command(gus_, json::object{{"type", "UpdateSupportProfile"}, {"partner_id", b_},
                                         {"support", {{"email", "help@fabrikam.example"}, {"phone", ""},
                                                      {"website", "https://fabrikam.example"}}}})
                  .status,
              200u);
    // Markers of B's data that must never show up in an answer to A.
    b_markers_ = {b_, b_admin_, b_user_, "abrikam", "gus@", "hal@", "Gus", "7654321"};
  }

  // B's ids the caller sent itself (in `sent`) may be echoed back; nothing else of B.
  void expect_no_b_data(const Reply& r, const std::string& what, const std::string& sent = "") const {
    for (const std::string& m : b_markers_) {
      if (sent.find(m) != std::string::npos) continue;
      EXPECT_EQ(r.body.find(m), std::string::npos) << what << " leaks '" << m << "': " << r.body.substr(0, 400);
    }
  }

  std::string a_, a_admin_, a_user_, b_, b_admin_, b_user_, gus_;
  std::vector<std::pair<std::string, std::string>> a_principals_;  // (name, token)
  std::vector<std::string> b_markers_;
};

TEST_F(TenantIsolation, NoReadRouteShowsAnythingOfAnotherPartner) {
  const std::vector<std::string> refused_targets = {
      "/v1/streams/partner-" + b_,
      "/v1/streams/partner-" + b_ + "?from=2&limit=1",
      "/v1/streams/partner-" + b_ + "?from=100000",
      "/v1/streams/user-" + b_admin_,
      "/v1/streams/user-" + b_user_ + "?from=50",
      "/v1/events?partner=" + b_,
      "/v1/events?partner=" + b_ + "&type=PartnerEnrolled",
      "/v1/partners/" + b_ + "/catalog",
      "/v1/partners/" + b_ + "/users",
      "/v1/partners/" + b_ + "/users?role=global_admin",
      "/v1/partners/" + b_ + "/users?status=active",
      "/v1/partners/" + b_ + "/profile",
      "/v1/partners/" + b_ + "/profile?date=2030-01-01",
      "/v1/partners/" + b_ + "/readiness",
      "/v1/partners/" + b_ + "/history",
      "/v1/partners/" + b_ + "/history?from_time=2000-01-01&to_time=2100-01-01",
      "/v1/partners/" + b_ + "/catalog?min_position=1",
      "/v1/partners/" + b_ + "/state?at_position=1",
      "/v1/partners/" + b_ + "/state?as_of=2100-01-01",
      "/v1/partners/" + b_ + "/security-log",
      "/v1/security-log",
  };
  for (const auto& [name, token] : a_principals_) {
    for (const std::string& target : refused_targets) {
      Reply r = request(http::verb::get, target, "", token);
      EXPECT_TRUE(r.status == 403 || r.status == 404) << name << " GET " << target << ": " << r.status << " " << r.body;
      expect_no_b_data(r, name + " GET " + target, target);
    }
    // $all without a filter, and by type: only A's events, whoever asks.
    for (const std::string& target : {std::string("/v1/events?limit=1000"), std::string("/v1/events?type=PartnerEnrolled"),
                                      std::string("/v1/events?type=SupportProfileUpdated&limit=1000")}) {
      Reply r = request(http::verb::get, target, "", token);
      EXPECT_TRUE(r.status == 200 || r.status == 403) << name << " GET " << target << ": " << r.body;
      expect_no_b_data(r, name + " GET " + target);
      if (r.status == 200) {
        const json::value v = r.json();
        for (const json::value& e : v.at("events").as_array()) {
          EXPECT_EQ(e.at("partner").as_string(), a_) << name << " GET " << target;
        }
      }
    }
    // A's own security log lines, for those who may read them: none of B's.
    Reply own = request(http::verb::get, "/v1/partners/" + a_ + "/security-log?limit=1000", "", token);
    EXPECT_TRUE(own.status == 200 || own.status == 403) << name << ": " << own.body;
    expect_no_b_data(own, name + " A's security log");
    // Pricing is the operator's catalog, not a partner's: it names no partner.
    expect_no_b_data(request(http::verb::get, "/v1/pricing/US/USD", "", token), name + " pricing");
    // Who am I: one's own principal, nothing of B.
    Reply me = request(http::verb::get, "/v1/me", "", token);
    EXPECT_EQ(me.status, 200u) << name << ": " << me.body;
    expect_no_b_data(me, name + " GET /v1/me");
  }
}

TEST_F(TenantIsolation, TheSubscriptionCarriesOnlyTheCallersPartner) {
  // A's latest event (B wrote after it): A's streams have passed it once it is seen.
  Reply a_events = request(http::verb::get, "/v1/events?limit=1000&partner=" + a_, "", operator_token_);
  ASSERT_EQ(a_events.status, 200u) << a_events.body;
  const uint64_t last = a_events.json().at("events").as_array().back().at("position").to_number<uint64_t>();
  ASSERT_LT(last, head()) << "B should have written after A's last event";
  for (const auto& [name, token] : a_principals_) {
    for (const std::string& target : {std::string("/v1/events/subscribe"), std::string("/v1/events/subscribe?from=1"),
                                      "/v1/events/subscribe?partner=" + b_}) {
      // Read until the stream has delivered A's last event (or an error), bounded.
      Reply r = read_stream_prefix(
          server_->port(), target, token,
          [&](const std::string& body) {
            return body.find(": keep-alive") != std::string::npos ||
                   body.find("id: " + std::to_string(last) + "\n") != std::string::npos ||
                   body.find("\"error\"") != std::string::npos;
          },
          std::chrono::milliseconds(20'000));
      EXPECT_TRUE(r.status == 200 || r.status == 403) << name << " " << target << ": " << r.body.substr(0, 300);
      if (target.find("partner=") != std::string::npos) {
        EXPECT_EQ(r.status, 403u) << name << " subscribed to B: " << r.body.substr(0, 300);
      }
      expect_no_b_data(r, name + " " + target, target);
    }
    // Resuming with Last-Event-ID does not widen the filter either.
    Reply resumed = read_stream_prefix(
        server_->port(), "/v1/events/subscribe", token,
        [](const std::string& body) {
          return body.find("id: ") != std::string::npos || body.find("\"error\"") != std::string::npos;
        },
        std::chrono::milliseconds(3000), {{"Last-Event-ID", "0"}});
    expect_no_b_data(resumed, name + " resumed subscription");
  }
  // The Global admin of A does see A's events (the filter is not just empty).
  Reply own = read_stream_prefix(
      server_->port(), "/v1/events/subscribe", a_principals_[0].second,
      [](const std::string& body) { return body.find("PartnerEnrolled") != std::string::npos; },
      std::chrono::milliseconds(20'000));
  EXPECT_EQ(own.status, 200u);
  EXPECT_NE(own.body.find(a_), std::string::npos) << own.body.substr(0, 300);
}

TEST_F(TenantIsolation, NoCommandOfPartnerAChangesPartnerB) {
  const json::object contact{{"first_name", "Eve"}, {"last_name", "Intruder"}, {"email", "eve@contoso.example"},
                             {"phone", ""}};
  const json::object address{{"line1", "9 Other Road"}, {"line2", ""}, {"city", "Redmond"}, {"state", "WA"},
                             {"postal_code", "98052"}, {"country", "US"}, {"region", "West"}};
  // (command, description): B's partner id, or A's partner id with B's user ids.
  std::vector<std::pair<json::object, std::string>> commands;
  auto user_cmd = [&](const char* type, const std::string& partner, const std::string& user, json::object extra = {}) {
    json::object c{{"type", type}, {"partner_id", partner}, {"user_id", user}};
    for (auto& kv : extra) c[kv.key()] = kv.value();
    commands.emplace_back(c, std::string(type) + " partner " + (partner == b_ ? "B" : "A") + " user of B");
  };
  for (const std::string& partner : {b_, a_}) {
    for (const std::string& user : {b_admin_, b_user_}) {
      user_cmd("ResetPassword", partner, user);
      user_cmd("DeactivateUser", partner, user);
      user_cmd("RestoreUser", partner, user);
      user_cmd("PurgeUser", partner, user);
      user_cmd("AssignRole", partner, user, {{"role", "incentives_user"}});
      user_cmd("RemoveRole", partner, user, {{"role", "global_admin"}});
      user_cmd("RemoveRole", partner, user, {{"role", "billing_admin"}});
      user_cmd("UpdateUserProfile", partner, user, {{"profile", contact}});
      user_cmd("UpdateOwnProfile", partner, user, {{"first_name", "Eve"}, {"last_name", "Intruder"}});
    }
  }
  commands.emplace_back(json::object{{"type", "UpdateSupportProfile"}, {"partner_id", b_},
                                     {"support", {{"email", "x@contoso.example"}, {"phone", ""}, {"website", ""}}}},
                        "UpdateSupportProfile of B");
  commands.emplace_back(json::object{{"type", "CreateUser"}, {"partner_id", b_}, {"profile", contact},
                                     {"roles", json::array{"global_admin"}}},
                        "CreateUser in B");
  commands.emplace_back(json::object{{"type", "AddLocation"}, {"partner_id", b_}, {"address", address},
                                     {"mpn_id", "5550001"}},
                        "AddLocation to B");
  commands.emplace_back(json::object{{"type", "PinOffer"}, {"partner_id", b_}, {"offer_id", "azure-plan"}},
                        "PinOffer in B");
  commands.emplace_back(json::object{{"type", "AcceptResellerAgreement"}, {"partner_id", b_},
                                     {"agreement_version", "2019-10"}},
                        "AcceptResellerAgreement for B");
  commands.emplace_back(json::object{{"type", "SuspendPartner"}, {"partner_id", b_}, {"reason", "billing_overdue"}, {"days_overdue", 90}},
                        "SuspendPartner B");

  const uint64_t before = head();
  for (const auto& [name, token] : a_principals_) {
    for (const auto& [c, what] : commands) {
      Reply r = command(token, c);
      // 400 only for a command the parser refuses before any authorization (a bad enum in this table).
      EXPECT_TRUE(r.status == 403 || r.status == 404) << name << ": " << what << ": " << r.status << " " << r.body;
      EXPECT_EQ(head(), before) << name << ": " << what << " wrote an event";
      expect_no_b_data(r, name + ": " + what, json::serialize(c));
    }
  }
  // PATCH /v1/me changes the caller's own record only: nothing of B, whatever the body names.
  for (const auto& [name, token] : a_principals_) {
    Reply r = request(http::verb::patch, "/v1/me",
                      json::serialize(json::object{{"partner_id", b_}, {"user_id", b_admin_}, {"first_name", "Eve"}}),
                      token);
    EXPECT_TRUE(r.status == 400 || r.status == 403) << name << ": " << r.status << " " << r.body;
    expect_no_b_data(r, name + ": PATCH /v1/me naming B", b_ + b_admin_);
  }
  EXPECT_EQ(head(), before);
  // B is untouched: its admin's token and password still work, its users are there.
  EXPECT_EQ(request(http::verb::get, "/v1/partners/" + b_ + "/users", "", gus_).status, 200u);
  EXPECT_EQ(sign_in(b_, "gus@fabrikam.example", "gus-chosen-password-1").second.status, 200u);
  Reply users = request(http::verb::get, "/v1/partners/" + b_ + "/users?min_position=" + std::to_string(before), "", gus_);
  ASSERT_EQ(users.status, 200u) << users.body;
  EXPECT_NE(users.body.find("hal@fabrikam.example"), std::string::npos);
  EXPECT_EQ(users.body.find("eve@contoso.example"), std::string::npos);
}

// Sessions are the caller's own: nobody of A sees or ends one of B's sessions,
// and what A's principals read of their sessions names nothing of B.
TEST_F(TenantIsolation, NoOneOfPartnerASeesOrEndsASessionOfPartnerB) {
  Reply gus_sessions = request(http::verb::get, "/v1/me/sessions", "", gus_);
  ASSERT_EQ(gus_sessions.status, 200u) << gus_sessions.body;
  const json::value body = gus_sessions.json();
  ASSERT_FALSE(body.at("sessions").as_array().empty());
  const std::string gus_session = std::string(body.at("sessions").as_array()[0].at("session_id").as_string());
  for (const auto& [name, token] : a_principals_) {
    Reply mine = request(http::verb::get, "/v1/me/sessions", "", token);
    EXPECT_TRUE(mine.status == 200u || mine.status == 403u) << name << ": " << mine.body;  // 403: the auditor
    EXPECT_EQ(mine.body.find(gus_session), std::string::npos) << name << " sees B's session";
    expect_no_b_data(mine, name + " listing its sessions");
    Reply end = request(http::verb::delete_, "/v1/me/sessions/" + gus_session, "", token);
    EXPECT_TRUE(end.status == 404u || end.status == 403u) << name << ": " << end.body;
    expect_no_b_data(end, name + " ending B's session", gus_session);
  }
  // B's session is untouched.
  EXPECT_EQ(request(http::verb::get, "/v1/me/sessions", "", gus_).status, 200u);
}

}  // namespace
}  // namespace accountable
