// What the server records in the security log, and who reads it
// (docs/security-log.md): sign-ins accepted and refused, a password change,
// sessions ended, sign-out, revocations by commands, auditor tokens, the
// operator's token; the operator reads all of it, a partner's Global admin and
// auditor their partner's lines only; and no secret is in any record.
#include <gtest/gtest.h>

#include "server/testing/http_test_client.h"

namespace accountable {
namespace {

using namespace http_test;

class SecurityLogRoutes : public ServerFixture {
 protected:
  std::vector<json::object> read(const std::string& target, const std::string& token) {
    Reply r = request(http::verb::get, target, "", token);
    EXPECT_EQ(r.status, 200u) << target << ": " << r.body.substr(0, 300);
    std::vector<json::object> out;
    if (r.status != 200) return out;
    const json::value body = r.json();
    for (const json::value& v : body.at("records").as_array()) out.push_back(v.as_object());
    return out;
  }
  static std::string str(const json::object& o, const char* key) {
    const json::value* v = o.if_contains(key);
    return v != nullptr && v->is_string() ? std::string(v->as_string()) : "";
  }
  static size_t count(const std::vector<json::object>& records, const std::string& kind, const std::string& outcome) {
    return std::count_if(records.begin(), records.end(), [&](const json::object& o) {
      return str(o, "kind") == kind && (outcome.empty() || str(o, "outcome") == outcome);
    });
  }
};

TEST_F(SecurityLogRoutes, EverySecurityEventIsRecordedAndEachReaderSeesOnlyWhatIsTheirs) {
  auto [a, a_admin, a_temp] = enroll();
  auto [b, b_admin, b_temp] = enroll_fabrikam();
  std::vector<std::string> secrets = {a_temp, b_temp, operator_token_};

  // A's admin: a refused sign-in, then in (and the temporary password changed).
  EXPECT_EQ(sign_in(a, "ada@contoso.example", "not-the-password").second.status, 401u);
  const std::string ada = sign_in_and_change(a, "ada@contoso.example", a_temp);
  secrets.push_back(ada);
  // A second session of Ada, ended from the first; a third, ended by signing out.
  auto [second, s2] = sign_in(a, "ada@contoso.example", "a-long-new-password");
  ASSERT_EQ(s2.status, 200u) << s2.body;
  secrets.push_back(second);
  Reply sessions = request(http::verb::get, "/v1/me/sessions", "", ada);
  ASSERT_EQ(sessions.status, 200u);
  std::string second_id;
  const json::value listed = sessions.json();
  for (const json::value& s : listed.at("sessions").as_array()) {
    if (!s.at("current").as_bool()) second_id = std::string(s.at("session_id").as_string());
  }
  ASSERT_FALSE(second_id.empty());
  EXPECT_EQ(request(http::verb::delete_, "/v1/me/sessions/" + second_id, "", ada).status, 200u);
  auto [third, s3] = sign_in(a, "ada@contoso.example", "a-long-new-password");
  ASSERT_EQ(s3.status, 200u);
  secrets.push_back(third);
  EXPECT_EQ(request(http::verb::delete_, "/v1/sessions/current", "", third).status, 200u);
  // A user of A whose password is reset (her tokens revoked), an auditor of A, B's admin in.
  auto [bob, bob_temp] = create_user(ada, a, "bob@contoso.example", {"sales_agent"});
  secrets.push_back(bob_temp);
  Reply reset = command(ada, json::object{{"type", "ResetPassword"}, {"partner_id", a}, {"user_id", bob}});
  ASSERT_EQ(reset.status, 200u) << reset.body;
  secrets.push_back(std::string(reset.json().at("result").at("temporary_password").as_string()));
  Reply issued = command(operator_token_, json::object{{"type", "IssueAuditorAccess"}, {"partner_id", a},
                                                       {"auditor_email", "audit@kpmg.example"},
                                                       {"valid_until", format_timestamp(Timestamp{now().micros + 3'600'000'000LL})}});
  ASSERT_EQ(issued.status, 200u) << issued.body;
  const std::string auditor(issued.json().at("result").at("auditor_token").as_string());
  secrets.push_back(auditor);
  const std::string gus = sign_in_and_change(b, "gus@fabrikam.example", b_temp);
  secrets.push_back(gus);

  // The operator reads everything.
  const std::vector<json::object> all = read("/v1/security-log?limit=1000", operator_token_);
  EXPECT_EQ(count(all, "sign_in", "failed"), 1u);
  EXPECT_EQ(count(all, "sign_in", "ok"), 4u);  // Ada three times, Gus once
  EXPECT_EQ(count(all, "password_change", "ok"), 2u);
  EXPECT_EQ(count(all, "session_revoked", "ok"), 1u);
  EXPECT_EQ(count(all, "sign_out", "ok"), 1u);
  EXPECT_EQ(count(all, "tokens_revoked", "ok"), 1u);
  EXPECT_EQ(count(all, "auditor_token_issued", "ok"), 1u);
  EXPECT_GE(count(all, "operator_token_used", "ok"), 3u);  // two enrolments, the grant, this read
  for (const json::object& o : all) {
    const std::string kind = str(o, "kind");
    if (kind == "sign_in" && str(o, "outcome") == "failed") {
      EXPECT_EQ(str(o, "detail"), "wrong password");
      EXPECT_EQ(str(o, "partner"), a);
      EXPECT_EQ(str(o, "principal"), "user:" + a_admin);
      EXPECT_EQ(str(o, "client_address"), "127.0.0.1");
    }
    if (kind == "session_revoked") {
      EXPECT_EQ(str(o, "session"), second_id);
    }
    if (kind == "tokens_revoked") {
      EXPECT_EQ(str(o, "principal"), "user:" + a_admin);
      EXPECT_EQ(str(o, "detail"), "ResetPassword of user:" + bob);
    }
    EXPECT_FALSE(str(o, "at").empty());
  }
  // No secret in any record.
  for (const json::object& o : all) {
    const std::string text = json::serialize(o);
    for (const std::string& s : secrets) {
      ASSERT_FALSE(s.empty());
      EXPECT_EQ(text.find(s), std::string::npos) << "a secret in " << text;
    }
    EXPECT_EQ(text.find("a-long-new-password"), std::string::npos) << text;
    EXPECT_EQ(text.find("not-the-password"), std::string::npos) << text;
    EXPECT_EQ(text.find("ada@contoso.example"), std::string::npos) << "an email in " << text;
  }

  // A's Global admin and A's auditor read A's lines only; B's admin reads B's.
  for (const std::string& reader : {ada, auditor}) {
    const std::vector<json::object> mine = read("/v1/partners/" + a + "/security-log?limit=1000", reader);
    EXPECT_GE(mine.size(), 8u);
    for (const json::object& o : mine) EXPECT_EQ(str(o, "partner"), a) << json::serialize(o);
  }
  const std::vector<json::object> theirs = read("/v1/partners/" + b + "/security-log", gus);
  EXPECT_EQ(count(theirs, "sign_in", "ok"), 1u);
  for (const json::object& o : theirs) EXPECT_EQ(str(o, "partner"), b);
  // And nobody else: not another partner's admin, not the whole log.
  EXPECT_EQ(request(http::verb::get, "/v1/partners/" + a + "/security-log", "", gus).status, 403u);
  EXPECT_EQ(request(http::verb::get, "/v1/security-log", "", ada).status, 403u);
  EXPECT_EQ(request(http::verb::get, "/v1/security-log", "", auditor).status, 403u);
  EXPECT_EQ(request(http::verb::get, "/v1/security-log").status, 401u);
  // Paging: `next` goes on where a page ended.
  Reply first = request(http::verb::get, "/v1/security-log?limit=2", "", operator_token_);
  ASSERT_EQ(first.status, 200u);
  EXPECT_FALSE(first.json().at("end").as_bool());
  const uint64_t next = first.json().at("next").to_number<uint64_t>();
  EXPECT_EQ(next, 3u);
  Reply bad = request(http::verb::get, "/v1/security-log?limit=0", "", operator_token_);
  EXPECT_EQ(bad.status, 400u);
  EXPECT_NE(bad.body.find("limit"), std::string::npos) << bad.body;
}

}  // namespace
}  // namespace accountable
