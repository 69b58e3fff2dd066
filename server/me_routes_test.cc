// "Who am I" over real HTTP (issue 22): GET /v1/me answers the caller's user
// record, roles and the permissions the matrix gives them (written out by hand
// here, not read from roles.cc); the operator and auditors get a principal-only
// body; PATCH /v1/me changes only one's own name and phone, refuses anything
// else naming the field, and writes nothing when it refuses.
#include <gtest/gtest.h>

#include <set>

#include "aggregates/roles.h"
#include "schema/enum_names.h"
#include "schema/json_codec.h"
#include "server/testing/http_test_client.h"

namespace accountable {
namespace {

using namespace http_test;

std::set<std::string> strings_of(const json::value& v) {
  std::set<std::string> out;
  for (const json::value& s : v.as_array()) out.emplace(s.as_string());
  return out;
}

std::set<std::string> permission_codes(const json::value& me) {
  std::set<std::string> out;
  for (const json::value& p : me.at("permissions").as_array()) {
    out.emplace(p.at("code").as_string());
    EXPECT_FALSE(p.at("name").as_string().empty()) << json::serialize(p);
  }
  return out;
}

class MeRoutes : public ServerFixture {
 protected:
  void SetUp() override {
    ServerFixture::SetUp();
    if (HasFatalFailure()) return;
    std::string temp;
    std::tie(a_, ada_id_, temp) = enroll();
    ASSERT_FALSE(a_.empty());
    ada_ = sign_in_and_change(a_, "ada@contoso.example", temp);
    auto [bill_id, bill_temp] = create_user(ada_, a_, "bill@contoso.example", {"billing_admin"});
    bill_id_ = bill_id;
    bill_ = sign_in_and_change(a_, "bill@contoso.example", bill_temp);
    auto [none_id, none_temp] = create_user(ada_, a_, "norole@contoso.example", {});
    none_ = sign_in_and_change(a_, "norole@contoso.example", none_temp);
    Reply issued = command(operator_token_, json::object{{"type", "IssueAuditorAccess"}, {"partner_id", a_},
                                                         {"auditor_email", "audit@kpmg.example"},
                                                         {"valid_until", format_timestamp(plus_days(now(), 2))}});
    ASSERT_EQ(issued.status, 200u) << issued.body;
    auditor_ = std::string(issued.json().at("result").at("auditor_token").as_string());
  }

  json::value me(const std::string& token) {
    Reply r = request(http::verb::get, "/v1/me", "", token);
    EXPECT_EQ(r.status, 200u) << r.body;
    return r.json();
  }

  Reply patch(const std::string& token, const std::string& body) {
    return request(http::verb::patch, "/v1/me", body, token);
  }

  std::string a_, ada_id_, ada_, bill_id_, bill_, none_, auditor_;
};

TEST_F(MeRoutes, AUserReadsTheirRecordRolesAndWhatTheMatrixGrantsThem) {
  const json::value bill = me(bill_);
  ASSERT_TRUE(bill.is_object());
  EXPECT_EQ(bill.at("kind").as_string(), "user");
  EXPECT_EQ(bill.at("principal").as_string(), "user:" + bill_id_);
  EXPECT_EQ(bill.at("partner_id").as_string(), a_);
  const json::value& user = bill.at("user");
  EXPECT_EQ(user.at("user_id").as_string(), bill_id_);
  EXPECT_EQ(user.at("first_name").as_string(), "Test");
  EXPECT_EQ(user.at("last_name").as_string(), "User");
  EXPECT_EQ(user.at("email").as_string(), "bill@contoso.example");
  EXPECT_EQ(user.at("phone").as_string(), "");
  EXPECT_EQ(user.at("status").as_string(), "active");
  EXPECT_FALSE(user.at("must_change_password").as_bool());
  EXPECT_EQ(strings_of(bill.at("roles")), std::set<std::string>{"billing_admin"});
  // DOMAIN.md for a Billing admin: billing, tax ids and exemptions; the price
  // lists; the catalog and the sales readiness (any role); one's own password
  // and profile (every user).
  EXPECT_EQ(permission_codes(bill),
            (std::set<std::string>{"manage_billing", "read_price_lists", "read_catalog", "change_own_password",
                                   "read_own_profile", "update_own_profile", "read_sales_readiness",
                                   "read_own_notifications"}));
  EXPECT_TRUE(bill.at("grantable_roles").as_array().empty());

  // No role: only what every user holds.
  const json::value none = me(none_);
  EXPECT_TRUE(none.at("roles").as_array().empty());
  EXPECT_EQ(permission_codes(none),
            (std::set<std::string>{"change_own_password", "read_own_profile", "update_own_profile",
                                   "read_own_notifications"}));

  // The Global admin grants every role, and reads the audit history.
  const json::value ada = me(ada_);
  EXPECT_EQ(strings_of(ada.at("roles")), std::set<std::string>{"global_admin"});
  EXPECT_EQ(ada.at("grantable_roles").as_array().size(), 12u);
  // Every role once, under the category the one-per-category rule uses.
  std::set<std::string> categorized;
  for (const json::value& c : ada.at("role_categories").as_array()) {
    for (const json::value& r : c.at("roles").as_array()) {
      EXPECT_TRUE(categorized.insert(std::string(r.as_string())).second) << r;
      EXPECT_EQ(c.at("category").as_string(),
                category_name(role_category(*enum_from_name<Role>(r.as_string()))))
          << r;
    }
  }
  EXPECT_EQ(categorized.size(), all_roles().size());
  EXPECT_TRUE(permission_codes(ada).count("read_audit_history"));
  EXPECT_FALSE(permission_codes(ada).count("enroll_partners")) << "the operator's";
  // Nothing secret about the account: no password, hash or token in the body.
  Reply raw = request(http::verb::get, "/v1/me", "", ada_);
  EXPECT_EQ(raw.body.find("acct_"), std::string::npos);
  EXPECT_EQ(raw.body.find("password\":\""), std::string::npos);
}

TEST_F(MeRoutes, RolesAndPermissionsFollowARoleChangeAtOnce) {
  Reply assigned = command(ada_, json::object{{"type", "AssignRole"}, {"partner_id", a_}, {"user_id", bill_id_},
                                              {"role", "admin_agent"}});
  ASSERT_EQ(assigned.status, 200u) << assigned.body;
  const json::value bill = me(bill_);
  EXPECT_EQ(strings_of(bill.at("roles")), (std::set<std::string>{"billing_admin", "admin_agent"}));
  EXPECT_TRUE(permission_codes(bill).count("pin_offers"));
}

TEST_F(MeRoutes, TheOperatorAndAnAuditorGetAPrincipalOnlyBody) {
  const json::value op = me(operator_token_);
  EXPECT_EQ(op.at("kind").as_string(), "operator");
  EXPECT_TRUE(op.at("user").is_null());
  EXPECT_TRUE(op.at("partner_id").is_null());
  EXPECT_TRUE(op.at("roles").as_array().empty());
  EXPECT_TRUE(op.at("grantable_roles").as_array().empty());
  const std::set<std::string> op_permissions = permission_codes(op);
  EXPECT_TRUE(op_permissions.count("enroll_partners"));
  EXPECT_TRUE(op_permissions.count("purge_users"));
  EXPECT_FALSE(op_permissions.count("read_own_profile")) << "the operator has no profile";

  const json::value auditor = me(auditor_);
  EXPECT_EQ(auditor.at("kind").as_string(), "auditor");
  EXPECT_EQ(auditor.at("principal").as_string().subview().substr(0, 8), "auditor:");
  EXPECT_EQ(auditor.at("partner_id").as_string(), a_);
  EXPECT_TRUE(auditor.at("user").is_null());
  EXPECT_EQ(permission_codes(auditor), std::set<std::string>{"read_audit_history"});

  // Neither has a record to change.
  const uint64_t before = head();
  for (const std::string& token : {operator_token_, auditor_}) {
    Reply r = patch(token, R"({"first_name":"Nobody"})");
    EXPECT_EQ(r.status, 403u) << r.body;
    EXPECT_NE(r.error_message().find("only partner users"), std::string::npos) << r.body;
  }
  EXPECT_EQ(head(), before);
}

TEST_F(MeRoutes, NoRevokedOrDeactivatedCallerIs401) {
  EXPECT_EQ(request(http::verb::get, "/v1/me").status, 401u);
  EXPECT_EQ(patch("", R"({"first_name":"X"})").status, 401u);
  EXPECT_EQ(request(http::verb::get, "/v1/me", "", "acct_not-a-token").status, 401u);
  Reply off = command(ada_, json::object{{"type", "DeactivateUser"}, {"partner_id", a_}, {"user_id", bill_id_}});
  ASSERT_EQ(off.status, 200u) << off.body;
  EXPECT_EQ(request(http::verb::get, "/v1/me", "", bill_).status, 401u);
  EXPECT_EQ(patch(bill_, R"({"first_name":"X"})").status, 401u);
}

TEST_F(MeRoutes, ATemporaryPasswordMayReadButNotChange) {
  auto [id, temp] = create_user(ada_, a_, "fresh@contoso.example", {"sales_agent"});
  auto [fresh, reply] = sign_in(a_, "fresh@contoso.example", temp);
  ASSERT_EQ(reply.status, 200u) << reply.body;
  const json::value body = me(fresh);
  EXPECT_TRUE(body.at("user").at("must_change_password").as_bool());
  const uint64_t before = head();
  Reply r = patch(fresh, R"({"first_name":"Fresh"})");
  EXPECT_EQ(r.status, 403u) << r.body;
  EXPECT_NE(r.error_message().find("temporary password"), std::string::npos) << r.body;
  EXPECT_EQ(head(), before);
}

TEST_F(MeRoutes, PatchChangesOnlyOnesOwnNameAndPhone) {
  LogCapture log;
  Reply r = patch(bill_, R"({"first_name":"Wilhelmina","phone":"+1 425 555 0142"})");
  ASSERT_EQ(r.status, 200u) << r.body;
  const json::value body = r.json();
  EXPECT_EQ(body.at("user").at("first_name").as_string(), "Wilhelmina");
  EXPECT_EQ(body.at("user").at("last_name").as_string(), "User") << "a field not given keeps its value";
  EXPECT_EQ(body.at("user").at("phone").as_string(), "+1 425 555 0142");
  EXPECT_EQ(body.at("user").at("email").as_string(), "bill@contoso.example");
  EXPECT_EQ(body.at("last_position").to_number<uint64_t>(), head());
  EXPECT_EQ(me(bill_).at("user").at("first_name").as_string(), "Wilhelmina");

  // One event on the user's own stream, by the user: the UserProfileUpdated of UpdateUserProfile.
  Reply stream = request(http::verb::get, "/v1/streams/user-" + bill_id_, "", operator_token_);
  ASSERT_EQ(stream.status, 200u) << stream.body;
  const json::value events = stream.json();
  const json::value& last = events.at("events").as_array().back();
  EXPECT_EQ(last.at("type").as_string(), "UserProfileUpdated");
  EXPECT_EQ(last.at("actor").as_string(), "user:" + bill_id_);
  EXPECT_EQ(last.at("position").to_number<uint64_t>(), head());
  EXPECT_EQ(last.at("data").at("profile").at("email").as_string(), "bill@contoso.example");

  // The directory shows it once it has applied the change.
  Reply users = request(http::verb::get, "/v1/partners/" + a_ + "/users?min_position=" +
                                             std::string(body.at("min_position").as_string()), "", ada_);
  for (int attempt = 0; attempt < 50 && users.status == 503; ++attempt) {
    users = request(http::verb::get, "/v1/partners/" + a_ + "/users?min_position=" + std::to_string(head()), "", ada_);
  }
  ASSERT_EQ(users.status, 200u) << users.body;
  EXPECT_NE(users.body.find("Wilhelmina"), std::string::npos);
  // The server's log names neither the new name nor the phone.
  EXPECT_EQ(log.text().find("Wilhelmina"), std::string::npos);
  EXPECT_EQ(log.text().find("555 0142"), std::string::npos);
}

TEST_F(MeRoutes, BadInputIs400NamingTheFieldAndWritesNothing) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {R"({"email":"new@contoso.example"})", "email"},
      {R"({"first_name":""})", "first_name"},
      {R"({"first_name":7})", "first_name"},
      {R"({"last_name":")" + std::string(51, 'x') + R"("})", "last_name"},
      {R"({"phone":"call me maybe"})", "phone"},
      {R"({"phone":null})", "phone"},
      {R"({"roles":["global_admin"]})", "roles"},
      {R"({"user_id":"00000000-0000-4000-8000-000000000000","first_name":"X"})", "user_id"},
  };
  const uint64_t before = head();
  for (const auto& [body, field] : cases) {
    Reply r = patch(bill_, body);
    EXPECT_EQ(r.status, 400u) << body << ": " << r.body;
    const json::value v = r.json();
    ASSERT_TRUE(v.is_object()) << r.body;
    EXPECT_EQ(v.at("error").at("field").as_string(), field) << body;
  }
  for (const std::string& body : std::vector<std::string>{"{}", "not json", "[1]", ""}) {
    Reply r = patch(bill_, body);
    EXPECT_EQ(r.status, 400u) << body << ": " << r.body;
    EXPECT_FALSE(r.error_message().empty()) << r.body;
  }
  EXPECT_EQ(head(), before) << "a refused PATCH wrote an event";
  EXPECT_EQ(me(bill_).at("user").at("first_name").as_string(), "Test");
}

// UpdateOwnProfile also goes through POST /v1/commands, for oneself only.
TEST_F(MeRoutes, TheCommandChangesNobodyElse) {
  const uint64_t before = head();
  Reply other = command(ada_, json::object{{"type", "UpdateOwnProfile"}, {"partner_id", a_}, {"user_id", bill_id_},
                                           {"first_name", "Taken"}, {"last_name", "Over"}});
  EXPECT_EQ(other.status, 403u) << other.body;
  EXPECT_EQ(head(), before);
  Reply own = command(bill_, json::object{{"type", "UpdateOwnProfile"}, {"partner_id", a_}, {"user_id", bill_id_},
                                          {"first_name", "Bill"}, {"last_name", "Own"}});
  EXPECT_EQ(own.status, 200u) << own.body;
  EXPECT_EQ(me(bill_).at("user").at("last_name").as_string(), "Own");
}

}  // namespace
}  // namespace accountable
