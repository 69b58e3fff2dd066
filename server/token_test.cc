// Bearer tokens over real HTTP (issue 9): malformed, expired and revoked tokens
// get 401 with a clear message on every authenticated route; no token, password
// or hash reaches the server's log; the sign-in limiter refuses after the
// documented number of failures (docs/http-api.md "Tokens").
#include <gtest/gtest.h>

#include <filesystem>
#include <set>

#include <unistd.h>

#include "aggregates/key_store.h"
#include "app/token_store.h"
#include "server/sign_in_limiter.h"
#include "server/testing/http_test_client.h"

namespace accountable {
namespace {

using namespace http_test;

constexpr int64_t kHour = 3'600'000'000LL;

class TokenFixture : public ServerFixture {
 protected:
  TokenFixture() : clock_impl_(SystemClock().now()) { clock_ = &clock_impl_; }
  void advance_hours(int64_t hours) { clock_impl_.advance(std::chrono::microseconds(hours * kHour)); }
  void advance_micros(int64_t micros) { clock_impl_.advance(std::chrono::microseconds(micros)); }

  // Every route that needs a token, with a request that would pass for the right principal.
  std::vector<std::pair<http::verb, std::string>> authenticated_targets(const std::string& partner) const {
    return {{http::verb::get, "/v1/events"},
            {http::verb::get, "/v1/streams/partner-" + partner},
            {http::verb::get, "/v1/partners/" + partner + "/catalog"},
            {http::verb::get, "/v1/partners/" + partner + "/users"},
            {http::verb::get, "/v1/partners/" + partner + "/profile"},
            {http::verb::get, "/v1/partners/" + partner + "/readiness"},
            {http::verb::get, "/v1/partners/" + partner + "/history"},
            {http::verb::get, "/v1/pricing/US/USD"},
            {http::verb::post, "/v1/views/directory/rebuild"},
            {http::verb::post, "/v1/me/password"},
            {http::verb::get, "/v1/me"},
            {http::verb::patch, "/v1/me"},
            {http::verb::post, "/v1/commands"}};
  }

  json::object support_update(const std::string& partner) const {
    return json::object{{"type", "UpdateSupportProfile"}, {"partner_id", partner},
                        {"support", {{"email", "help@contoso.example"}, {"phone", ""}, {"website", ""}}}};
  }

  SteppedClock clock_impl_;
};

// 401, an error body with a message that says what is wrong, and never the
// presented value echoed back.
void expect_refused(const Reply& r, const std::string& presented, const std::string& what) {
  EXPECT_EQ(r.status, 401u) << what << ": " << r.body.substr(0, 300);
  const std::string message = r.error_message();
  EXPECT_FALSE(message.empty()) << what << ": " << r.body.substr(0, 300);
  EXPECT_TRUE(message.find("token") != std::string::npos || message.find("Authorization") != std::string::npos ||
              message.find("deactivated") != std::string::npos)
      << what << ": the message should say what is wrong (the token, the header, the user): " << message;
  if (presented.size() >= 8) {
    EXPECT_EQ(r.body.find(presented), std::string::npos) << what << ": the token is echoed";
  }
  json::value v = r.json();
  EXPECT_TRUE(v.is_object() && v.at("error").at("code") == "unauthenticated") << what << ": " << r.body.substr(0, 300);
}

TEST_F(TokenFixture, MalformedTokensAreRefusedWith401AndAClearMessageOnEveryRoute) {
  auto [partner, admin, temporary] = enroll();
  const std::string good = sign_in_and_change(partner, "ada@contoso.example", temporary);
  ASSERT_EQ(good.size(), TokenStore::kPrefix.size() + 43);
  std::string flipped = good;
  flipped.back() = flipped.back() == 'A' ? 'B' : 'A';
  const std::string body43(43, 'A');
  struct Case {
    const char* what;
    std::optional<std::string> header;  // the whole Authorization value; nullopt: no header
  };
  const std::vector<Case> cases = {
      {"no Authorization header", std::nullopt},
      {"empty header", std::string("")},
      {"scheme only", std::string("Bearer")},
      {"empty token", std::string("Bearer ")},
      {"another scheme", "Basic " + std::string("YWRhOnB3")},
      {"two spaces", "Bearer  " + good},
      {"wrong length (short)", "Bearer " + good.substr(0, good.size() - 1)},
      {"wrong length (long)", "Bearer " + good + "A"},
      {"wrong prefix", "Bearer tokn_" + good.substr(5)},
      {"upper-case prefix", "Bearer ACCT_" + good.substr(5)},
      {"no prefix", "Bearer " + good.substr(5)},
      {"not base64url", "Bearer acct_" + std::string(43, '!')},
      {"hex, right length", "Bearer acct_" + std::string(43, 'f')},
      {"unknown token of the right form", "Bearer acct_" + body43},
      {"one character changed", "Bearer " + flipped},
      {"very long", "Bearer acct_" + std::string(6000, 'a')},
      {"token twice", "Bearer " + good + " " + good},
  };
  const uint64_t before = head();
  for (const Case& c : cases) {
    for (const auto& [method, target] : authenticated_targets(partner)) {
      std::vector<std::pair<std::string, std::string>> headers;
      if (c.header) headers.emplace_back("Authorization", *c.header);
      const std::string body = method == http::verb::post && target == "/v1/commands"
                                   ? json::serialize(support_update(partner))
                                   : (target == "/v1/me/password" ? R"({"old":"a-long-new-password","new":"another-long-password"})" : "");
      Reply r = request(method, target, body, "", headers);
      expect_refused(r, c.header ? c.header->substr(std::min<size_t>(7, c.header->size())) : "",
                     std::string(c.what) + " on " + target);
    }
  }
  EXPECT_EQ(head(), before) << "a refused token wrote something";
  // The good token still works, everywhere it should.
  EXPECT_EQ(request(http::verb::get, "/v1/partners/" + partner + "/users", "", good).status, 200u);
  EXPECT_EQ(command(good, support_update(partner)).status, 200u);
}

TEST_F(TokenFixture, UserTokensExpireAfter12HoursAndAuditorTokensWithTheirGrant) {
  auto [partner, admin, temporary] = enroll();
  const std::string ada = sign_in_and_change(partner, "ada@contoso.example", temporary);
  Reply issued = command(operator_token_, json::object{{"type", "IssueAuditorAccess"}, {"partner_id", partner},
                                                       {"auditor_email", "audit@kpmg.example"},
                                                       {"valid_until", format_timestamp(Timestamp{now().micros + 20 * kHour})}});
  ASSERT_EQ(issued.status, 200u) << issued.body;
  const std::string auditor(issued.json().at("result").at("auditor_token").as_string());
  // Raw reads (not the views, which may lag): the Global admin and the auditor may read A's events.
  const std::string history = "/v1/streams/partner-" + partner;
  EXPECT_EQ(request(http::verb::get, history, "", ada).status, 200u);
  EXPECT_EQ(request(http::verb::get, history, "", auditor).status, 200u);

  advance_micros(12 * kHour - 1'000'000);  // one second before the user token's end
  EXPECT_EQ(request(http::verb::get, history, "", ada).status, 200u);
  advance_micros(1'000'000);  // exactly 12 hours: expired
  expect_refused(request(http::verb::get, history, "", ada), ada, "expired user token");
  expect_refused(command(ada, support_update(partner)), ada, "expired user token, command");
  EXPECT_EQ(request(http::verb::get, history, "", auditor).status, 200u);
  advance_hours(8);  // past the grant's valid_until
  expect_refused(request(http::verb::get, history, "", auditor), auditor, "expired auditor token");
  expect_refused(request(http::verb::get, "/v1/events", "", auditor), auditor, "expired auditor token, $all");
  // The operator's token does not expire.
  EXPECT_EQ(request(http::verb::get, history, "", operator_token_).status, 200u);
}

TEST_F(TokenFixture, ResetDeactivationAndPurgeRevokeTheUsersTokens) {
  auto [partner, admin, temporary] = enroll();
  std::string ada = sign_in_and_change(partner, "ada@contoso.example", temporary);
  // A view route: it may answer 404/503 while the view catches up; what matters here is 401 or not.
  const std::string profile = "/v1/partners/" + partner + "/profile";

  // Password reset: every token of the user dies, also one with must-change.
  auto [reset_id, reset_temp] = create_user(ada, partner, "rita@contoso.example", {"billing_admin"});
  const std::string rita1 = sign_in_and_change(partner, "rita@contoso.example", reset_temp);
  auto [rita2, second] = sign_in(partner, "rita@contoso.example", "a-long-new-password");
  ASSERT_EQ(second.status, 200u) << second.body;
  EXPECT_NE(request(http::verb::get, profile, "", rita1).status, 401u);
  Reply reset = command(ada, json::object{{"type", "ResetPassword"}, {"partner_id", partner}, {"user_id", reset_id}});
  ASSERT_EQ(reset.status, 200u) << reset.body;
  expect_refused(request(http::verb::get, profile, "", rita1), rita1, "token after ResetPassword");
  expect_refused(request(http::verb::get, profile, "", rita2), rita2, "second token after ResetPassword");
  // Even POST /v1/me/password, the one call a temporary password allows.
  expect_refused(request(http::verb::post, "/v1/me/password",
                         R"({"old":"a-long-new-password","new":"another-long-password"})", rita1),
                 rita1, "me/password after ResetPassword");
  EXPECT_EQ(sign_in(partner, "rita@contoso.example", "a-long-new-password").second.status, 401u);

  // Deactivation: the token dies and stays dead after a restore.
  auto [dee_id, dee_temp] = create_user(ada, partner, "dee@contoso.example", {"billing_admin"});
  const std::string dee = sign_in_and_change(partner, "dee@contoso.example", dee_temp);
  EXPECT_NE(request(http::verb::get, profile, "", dee).status, 401u);
  ASSERT_EQ(command(ada, json::object{{"type", "DeactivateUser"}, {"partner_id", partner}, {"user_id", dee_id}}).status,
            200u);
  expect_refused(request(http::verb::get, profile, "", dee), dee, "token after DeactivateUser");
  EXPECT_EQ(sign_in(partner, "dee@contoso.example", "a-long-new-password").second.status, 401u);
  ASSERT_EQ(command(ada, json::object{{"type", "RestoreUser"}, {"partner_id", partner}, {"user_id", dee_id}}).status,
            200u);
  expect_refused(request(http::verb::get, profile, "", dee), dee, "old token after RestoreUser");
  auto [dee_again, again] = sign_in(partner, "dee@contoso.example", "a-long-new-password");
  ASSERT_EQ(again.status, 200u) << again.body;
  EXPECT_NE(request(http::verb::get, profile, "", dee_again).status, 401u);

  // Purge (after the 30-day window, by the operator's retention job): a token
  // that somehow outlived the deactivation is dropped from the store too.
  ASSERT_EQ(command(ada, json::object{{"type", "DeactivateUser"}, {"partner_id", partner}, {"user_id", dee_id}}).status,
            200u);
  TokenGrant stray;
  stray.kind = TokenGrant::Kind::kUser;
  stray.partner = *PartnerId::parse(partner);
  stray.user = *UserId::parse(dee_id);
  stray.expires_at = Timestamp{now().micros + 40 * 24 * kHour};
  auto stray_token = tokens_->issue(stray);
  ASSERT_TRUE(stray_token.is_ok());
  expect_refused(request(http::verb::get, profile, "", *stray_token), *stray_token, "token of a deactivated user");
  advance_hours(31 * 24);
  Reply purged = command(operator_token_, json::object{{"type", "PurgeUser"}, {"partner_id", partner}, {"user_id", dee_id}});
  ASSERT_EQ(purged.status, 200u) << purged.body;
  EXPECT_FALSE(tokens_->authenticate(*stray_token, now()).is_ok()) << "PurgeUser must revoke the user's tokens";
  expect_refused(request(http::verb::get, profile, "", *stray_token), *stray_token, "token after PurgeUser");
  EXPECT_EQ(sign_in(partner, "dee@contoso.example", "a-long-new-password").second.status, 401u);
  // (There is no sign-out route: DELETE /v1/sessions is not a route.)
  EXPECT_EQ(request(http::verb::delete_, "/v1/sessions", "", ada).status, 405u);
}

TEST_F(TokenFixture, NoTokenPasswordOrHashReachesTheServerLog) {
  LogCapture log;
  std::vector<std::string> secrets;
  auto [partner, admin, temporary] = enroll();
  secrets.push_back(temporary);
  secrets.push_back(operator_token_);
  const std::string ada = sign_in_and_change(partner, "ada@contoso.example", temporary, "ada-chosen-password-1");
  secrets.push_back(ada);
  secrets.push_back("ada-chosen-password-1");
  auto [sam_id, sam_temp] = create_user(ada, partner, "sam@contoso.example", {"sales_agent"});
  secrets.push_back(sam_temp);
  const std::string sam = sign_in_and_change(partner, "sam@contoso.example", sam_temp, "sam-chosen-password-1");
  secrets.push_back(sam);
  secrets.push_back("sam-chosen-password-1");
  // Failures of every kind.
  for (const std::string& wrong : std::vector<std::string>{"wrong-password-one", "wrong-password-two"}) {
    EXPECT_EQ(sign_in(partner, "sam@contoso.example", wrong).second.status, 401u);
    secrets.push_back(wrong);
  }
  EXPECT_EQ(request(http::verb::post, "/v1/me/password", R"({"old":"not-my-old-password","new":"sam-next-password-2"})",
                    sam).status,
            403u);
  secrets.push_back("not-my-old-password");
  secrets.push_back("sam-next-password-2");
  const std::string forged = "acct_" + std::string(43, 'Z');
  EXPECT_EQ(request(http::verb::get, "/v1/events", "", forged).status, 401u);
  secrets.push_back(forged);
  Reply reset = command(ada, json::object{{"type", "ResetPassword"}, {"partner_id", partner}, {"user_id", sam_id}});
  ASSERT_EQ(reset.status, 200u);
  secrets.push_back(std::string(reset.json().at("result").at("temporary_password").as_string()));
  Reply issued = command(operator_token_, json::object{{"type", "IssueAuditorAccess"}, {"partner_id", partner},
                                                       {"auditor_email", "audit@kpmg.example"},
                                                       {"valid_until", format_timestamp(Timestamp{now().micros + kHour})}});
  ASSERT_EQ(issued.status, 200u);
  secrets.push_back(std::string(issued.json().at("result").at("auditor_token").as_string()));
  EXPECT_EQ(request(http::verb::get, "/v1/events", "", secrets.back()).status, 200u);

  const std::string text = log.text();
  EXPECT_NE(text.find("signed in"), std::string::npos) << "the capture should have seen the server's log:\n" << text;
  for (const std::string& s : secrets) EXPECT_EQ(text.find(s), std::string::npos) << "a secret is in the server's log";
  EXPECT_EQ(text.find("$argon2id$"), std::string::npos) << "a password hash is in the server's log";
  EXPECT_EQ(text.find("acct_"), std::string::npos) << text;
  // Nor in the data folder (tokens are kept as SHA-256; operator.token is the operator's own file).
  for (const auto& [path, bytes] : data_files()) {
    if (std::filesystem::path(path).filename() == "operator.token") continue;
    for (const std::string& s : secrets) EXPECT_EQ(bytes.find(s), std::string::npos) << path;
  }
}

TEST_F(TokenFixture, AnOpenSubscriptionEndsWhenItsTokenIsRevokedOrExpiresOrItsUserIsDeactivated) {
  auto [partner, admin, temporary] = enroll();
  const std::string ada = sign_in_and_change(partner, "ada@contoso.example", temporary);
  auto [bob_id, bob_temp] = create_user(ada, partner, "bob@contoso.example", {"global_admin"});
  const std::string bob = sign_in_and_change(partner, "bob@contoso.example", bob_temp);
  auto [cat_id, cat_temp] = create_user(ada, partner, "cat@contoso.example", {"global_admin"});
  const std::string cat = sign_in_and_change(partner, "cat@contoso.example", cat_temp);
  Reply issued = command(operator_token_, json::object{{"type", "IssueAuditorAccess"}, {"partner_id", partner},
                                                       {"auditor_email", "audit@kpmg.example"},
                                                       {"valid_until", format_timestamp(Timestamp{now().micros + kHour})}});
  ASSERT_EQ(issued.status, 200u) << issued.body;
  const std::string auditor(issued.json().at("result").at("auditor_token").as_string());
  const std::string caught_up = "id: " + std::to_string(head()) + "\n";
  auto has = [](const std::string& what) { return [what](const std::string& t) { return t.find(what) != std::string::npos; }; };

  SseClient ada_sub(server_->port(), "/v1/events/subscribe", ada);
  SseClient bob_sub(server_->port(), "/v1/events/subscribe", bob);
  SseClient cat_sub(server_->port(), "/v1/events/subscribe", cat);
  SseClient auditor_sub(server_->port(), "/v1/events/subscribe", auditor);
  for (SseClient* sub : {&ada_sub, &bob_sub, &cat_sub, &auditor_sub}) {
    ASSERT_NE(sub->read_until(has(caught_up)).find(caught_up), std::string::npos) << sub->text().substr(0, 300);
  }
  // Bob's password is reset, Cat is deactivated, the auditor's grant runs out.
  ASSERT_EQ(command(ada, json::object{{"type", "ResetPassword"}, {"partner_id", partner}, {"user_id", bob_id}}).status,
            200u);
  ASSERT_EQ(command(ada, json::object{{"type", "DeactivateUser"}, {"partner_id", partner}, {"user_id", cat_id}}).status,
            200u);
  advance_hours(2);
  const size_t bob_before = bob_sub.text().size(), cat_before = cat_sub.text().size(),
               auditor_before = auditor_sub.text().size();
  Reply update = command(ada, support_update(partner));
  ASSERT_EQ(update.status, 200u) << update.body;

  // The one still entitled sees the change; the others' streams end with an error instead.
  EXPECT_NE(ada_sub.read_until(has("SupportProfileUpdated")).find("SupportProfileUpdated"), std::string::npos);
  for (auto [name, sub, before] : {std::make_tuple("reset", &bob_sub, bob_before),
                                   std::make_tuple("deactivated", &cat_sub, cat_before),
                                   std::make_tuple("expired auditor", &auditor_sub, auditor_before)}) {
    const std::string after = sub->read_until(has("event: error")).substr(before);
    EXPECT_NE(after.find("event: error"), std::string::npos) << name << ": " << after.substr(0, 300);
    EXPECT_NE(after.find("unauthenticated"), std::string::npos) << name << ": " << after.substr(0, 300);
    EXPECT_EQ(after.find("SupportProfileUpdated"), std::string::npos) << name << " still receives events";
    // And the server closes it.
    sub->read_until([](const std::string&) { return false; }, std::chrono::milliseconds(5000));
    EXPECT_TRUE(sub->closed()) << name;
  }
}

// RevokeAuditorAccess: the grant's tokens die at once, its open stream ends
// with an error, another grant of the same partner is untouched; and a token
// of the revoked grant that the token store still holds (its revocation step
// cut short, or not yet replicated) is refused from the partner's state.
TEST_F(TokenFixture, RevokingAnAuditorGrantEndsItsTokensAndItsOpenStreamsAndNoOtherGrant) {
  auto [partner, admin, temporary] = enroll();
  const std::string ada = sign_in_and_change(partner, "ada@contoso.example", temporary);
  auto issue = [&](const std::string& email) {
    Reply issued = command(operator_token_, json::object{{"type", "IssueAuditorAccess"}, {"partner_id", partner},
                                                         {"auditor_email", email},
                                                         {"valid_until", format_timestamp(Timestamp{now().micros + 24 * kHour})}});
    EXPECT_EQ(issued.status, 200u) << issued.body;
    const json::value body = issued.json();
    const json::value& result = body.at("result");
    return std::make_pair(std::string(result.at("grant_id").as_string()),
                          std::string(result.at("auditor_token").as_string()));
  };
  const auto [grant_a, token_a] = issue("a@audit.example");
  const auto [grant_b, token_b] = issue("b@audit.example");
  // What an auditor reads: the partner's state replayed from the log (not a
  // view, which may still be rebuilding: 503).
  const std::string history = "/v1/partners/" + partner + "/state?at_position=1";
  auto get = [this](const std::string& target, const std::string& token) {
    return request(http::verb::get, target, "", token);
  };
  ASSERT_EQ(get(history, token_a).status, 200u);
  ASSERT_EQ(get(history, token_b).status, 200u);
  const std::string caught_up = "id: " + std::to_string(head()) + "\n";
  auto has = [](const std::string& what) { return [what](const std::string& t) { return t.find(what) != std::string::npos; }; };
  SseClient sub_a(server_->port(), "/v1/events/subscribe", token_a);
  SseClient sub_b(server_->port(), "/v1/events/subscribe", token_b);
  for (SseClient* sub : {&sub_a, &sub_b}) {
    ASSERT_NE(sub->read_until(has(caught_up)).find(caught_up), std::string::npos) << sub->text().substr(0, 300);
  }

  // Not by a partner's Global admin; then by the operator.
  json::object revoke{{"type", "RevokeAuditorAccess"}, {"partner_id", partner}, {"grant_id", grant_a},
                      {"reason", "engagement ended early"}, {"command_id", CommandId::random().to_string()}};
  auto send = [this](const std::string& token, const json::object& c) {
    return request(http::verb::post, "/v1/commands", json::serialize(c), token);
  };
  EXPECT_EQ(send(ada, revoke).status, 403u);
  EXPECT_EQ(get(history, token_a).status, 200u) << "a refused revocation changed nothing";
  Reply revoked = send(operator_token_, revoke);
  ASSERT_EQ(revoked.status, 200u) << revoked.body;
  expect_refused(get(history, token_a), token_a, "revoked auditor");
  EXPECT_EQ(get(history, token_b).status, 200u) << "the other grant still works";

  const size_t a_before = sub_a.text().size();
  ASSERT_EQ(command(ada, support_update(partner)).status, 200u);
  EXPECT_NE(sub_b.read_until(has("SupportProfileUpdated")).find("SupportProfileUpdated"), std::string::npos);
  const std::string after = sub_a.read_until(has("event: error")).substr(a_before);
  EXPECT_NE(after.find("event: error"), std::string::npos) << after.substr(0, 300);
  EXPECT_NE(after.find("unauthenticated"), std::string::npos) << after.substr(0, 300);
  EXPECT_EQ(after.find("SupportProfileUpdated"), std::string::npos) << "the revoked auditor still receives events";
  sub_a.read_until([](const std::string&) { return false; }, std::chrono::milliseconds(5000));
  EXPECT_TRUE(sub_a.closed());

  // A token of the revoked grant that the store still holds is refused anyway.
  TokenGrant stale;
  stale.kind = TokenGrant::Kind::kAuditor;
  stale.partner = *PartnerId::parse(partner);
  stale.grant = *AuditorGrantId::parse(grant_a);
  stale.expires_at = Timestamp{now().micros + kHour};
  auto survivor = tokens_->issue(stale);
  ASSERT_TRUE(survivor.is_ok()) << survivor.status().to_string();
  Reply refused = get(history, *survivor);
  EXPECT_EQ(refused.status, 401u) << refused.body;
  EXPECT_NE(refused.error_message().find("revoked"), std::string::npos) << refused.body;

  // A retried revocation (same command id) revokes that token too, and the
  // second revocation of the same grant is refused by rule.
  Reply retried = send(operator_token_, revoke);
  EXPECT_EQ(retried.status, 200u) << retried.body;
  EXPECT_EQ(tokens_->authenticate(*survivor, now()).status().code(), StatusCode::kUnauthenticated);
  revoke["command_id"] = CommandId::random().to_string();
  Reply again = send(operator_token_, revoke);
  EXPECT_EQ(again.status, 422u) << again.body;
  EXPECT_NE(again.body.find("auditor_access_already_revoked"), std::string::npos) << again.body;
}

// `acct operator-token rotate` while the server runs: the old token dies at
// once, the new one works, and the server's log says so without either token.
TEST_F(TokenFixture, ARotatedOperatorTokenIsRefusedAtOnceAndTheNewOneWorks) {
  const std::string old_token = operator_token_;
  ASSERT_EQ(request(http::verb::get, "/v1/events?limit=1", "", old_token).status, 200u);
  ASSERT_TRUE(TokenStore::rotate_operator_token(posix_env(), dir_ + "/operator.token").is_ok());
  std::ifstream in(dir_ + "/operator.token");
  std::string new_token;
  std::getline(in, new_token);
  ASSERT_NE(new_token, old_token);
  Reply refused = request(http::verb::get, "/v1/events?limit=1", "", old_token);
  EXPECT_EQ(refused.status, 401u) << refused.body;
  Reply accepted = request(http::verb::get, "/v1/events?limit=1", "", new_token);
  EXPECT_EQ(accepted.status, 200u) << accepted.body;
  // Twice in a row (the same second): the file's inode changes with each rename.
  ASSERT_TRUE(TokenStore::rotate_operator_token(posix_env(), dir_ + "/operator.token").is_ok());
  EXPECT_EQ(request(http::verb::get, "/v1/events?limit=1", "", new_token).status, 401u);
}

// ---- sessions ---------------------------------------------------------------------------

TEST_F(TokenFixture, AUserSeesTheirSessionsAndEndsOneOrSignsOut) {
  auto [partner, admin, temporary] = enroll();
  const std::string first = sign_in_and_change(partner, "ada@contoso.example", temporary, "ada-chosen-password");
  auto [second, s2] = sign_in(partner, "ada@contoso.example", "ada-chosen-password");
  auto [third, s3] = sign_in(partner, "ada@contoso.example", "ada-chosen-password");
  ASSERT_FALSE(second.empty());
  ASSERT_FALSE(third.empty());

  Reply listed = request(http::verb::get, "/v1/me/sessions", "", second);
  ASSERT_EQ(listed.status, 200u) << listed.body;
  const json::value body = listed.json();
  const json::array& sessions = body.at("sessions").as_array();
  ASSERT_EQ(sessions.size(), 3u) << listed.body;
  std::string first_id;
  int current = 0;
  for (const json::value& v : sessions) {
    EXPECT_EQ(v.at("client_address").as_string(), "127.0.0.1");
    EXPECT_FALSE(v.at("created_at").as_string().empty());
    if (v.at("current").as_bool()) ++current;
  }
  EXPECT_EQ(current, 1);
  // The first token's session: the one its own listing calls current.
  Reply mine = request(http::verb::get, "/v1/me/sessions", "", first);
  ASSERT_EQ(mine.status, 200u) << mine.body;
  const json::value mine_body = mine.json();
  for (const json::value& v : mine_body.at("sessions").as_array()) {
    if (v.at("current").as_bool()) first_id = std::string(v.at("session_id").as_string());
  }
  ASSERT_FALSE(first_id.empty());
  // No session id is a token, and no token is in the answer.
  for (const std::string& t : {first, second, third}) EXPECT_EQ(listed.body.find(t), std::string::npos);

  // End the first session from the second: the first token dies, the others live.
  Reply ended = request(http::verb::delete_, "/v1/me/sessions/" + first_id, "", second);
  EXPECT_EQ(ended.status, 200u) << ended.body;
  EXPECT_EQ(request(http::verb::get, "/v1/me/sessions", "", first).status, 401u);
  EXPECT_EQ(request(http::verb::delete_, "/v1/me/sessions/" + first_id, "", second).status, 404u);
  EXPECT_EQ(request(http::verb::delete_, "/v1/me/sessions/not-a-uuid", "", second).status, 400u);

  // Another user cannot end Ada's session.
  auto [bob_id, bob_temp] = create_user(second, partner, "bob@contoso.example", {"sales_agent"});
  const std::string bob = sign_in_and_change(partner, "bob@contoso.example", bob_temp);
  Reply ada_sessions = request(http::verb::get, "/v1/me/sessions", "", third);
  const json::value ada_body = ada_sessions.json();
  std::string third_id;
  for (const json::value& v : ada_body.at("sessions").as_array()) {
    if (v.at("current").as_bool()) third_id = std::string(v.at("session_id").as_string());
  }
  ASSERT_FALSE(third_id.empty());
  EXPECT_EQ(request(http::verb::delete_, "/v1/me/sessions/" + third_id, "", bob).status, 404u);
  EXPECT_EQ(request(http::verb::get, "/v1/me/sessions", "", third).status, 200u);

  // Sign out: the token dies; signing out again is 401.
  Reply out = request(http::verb::delete_, "/v1/sessions/current", "", third);
  EXPECT_EQ(out.status, 200u) << out.body;
  EXPECT_EQ(request(http::verb::get, "/v1/me/sessions", "", third).status, 401u);
  EXPECT_EQ(request(http::verb::delete_, "/v1/sessions/current", "", third).status, 401u);
  EXPECT_EQ(request(http::verb::get, "/v1/me/sessions", "", second).status, 200u);
  // The operator's token does not sign out.
  EXPECT_EQ(request(http::verb::delete_, "/v1/sessions/current", "", operator_token_).status, 403u);
}

TEST_F(TokenFixture, APasswordChangeEndsEveryOtherSessionOfTheUser) {
  auto [partner, admin, temporary] = enroll();
  const std::string keep = sign_in_and_change(partner, "ada@contoso.example", temporary, "ada-password-one");
  auto [other, r1] = sign_in(partner, "ada@contoso.example", "ada-password-one");
  auto [another, r2] = sign_in(partner, "ada@contoso.example", "ada-password-one");
  ASSERT_FALSE(other.empty());
  Reply changed = request(http::verb::post, "/v1/me/password",
                          json::serialize(json::object{{"old", "ada-password-one"}, {"new", "ada-password-two"}}), keep);
  ASSERT_EQ(changed.status, 200u) << changed.body;
  EXPECT_EQ(request(http::verb::get, "/v1/me/sessions", "", other).status, 401u);
  EXPECT_EQ(request(http::verb::get, "/v1/me/sessions", "", another).status, 401u);
  Reply mine = request(http::verb::get, "/v1/me/sessions", "", keep);
  ASSERT_EQ(mine.status, 200u) << mine.body;
  EXPECT_EQ(mine.json().at("sessions").as_array().size(), 1u);
}

// A sign-in appends to the token journal; the snapshot is not rewritten. And
// every session survives a restart of the store.
TEST_F(TokenFixture, ASignInAppendsToTheJournalAndSurvivesARestart) {
  auto [partner, admin, temporary] = enroll();
  const std::string ada = sign_in_and_change(partner, "ada@contoso.example", temporary, "ada-chosen-password");
  const std::string snapshot = dir_ + "/secrets/tokens", journal = dir_ + "/secrets/tokens.journal";
  const bool had_snapshot = std::filesystem::exists(snapshot);
  const std::filesystem::file_time_type snapshot_time =
      had_snapshot ? std::filesystem::last_write_time(snapshot) : std::filesystem::file_time_type{};
  const auto journal_before = std::filesystem::file_size(journal);
  std::vector<std::string> tokens;
  for (int i = 0; i < 20; ++i) {
    auto [t, r] = sign_in(partner, "ada@contoso.example", "ada-chosen-password");
    ASSERT_EQ(r.status, 200u) << r.body;
    tokens.push_back(t);
  }
  EXPECT_EQ(std::filesystem::exists(snapshot), had_snapshot);
  if (had_snapshot) {
    EXPECT_EQ(std::filesystem::last_write_time(snapshot), snapshot_time) << "the snapshot was rewritten";
  }
  EXPECT_GT(std::filesystem::file_size(journal), journal_before + 20 * 100);  // one record (~150 bytes) each
  auto reopened = TokenStore::open(posix_env(), dir_, now());
  ASSERT_TRUE(reopened.is_ok()) << reopened.status().to_string();
  for (const std::string& t : tokens) EXPECT_TRUE((*reopened)->authenticate(t, now()).is_ok());
  EXPECT_TRUE((*reopened)->authenticate(ada, now()).is_ok());
}

// ---- the sign-in limiter --------------------------------------------------------------------

TEST(SignInLimiterCounts, RefusesAfterTheDocumentedNumberOfFailuresCountBased) {
  SignInLimiter limiter;
  const auto t0 = SignInLimiter::Clock::time_point{} + std::chrono::hours(1000);
  const std::string account = "p/ada@contoso.example";
  EXPECT_EQ(limiter.wait_before_attempt(account, t0).count(), 0);
  limiter.record_failure(account, t0);  // first failure: free
  EXPECT_EQ(limiter.wait_before_attempt(account, t0).count(), 0);
  limiter.record_failure(account, t0);  // second: 1 s
  EXPECT_EQ(limiter.wait_before_attempt(account, t0), std::chrono::milliseconds(1000));
  // The waits double per failure up to 5 minutes, at the same instant each time.
  const long long expected[] = {2000, 4000, 8000, 16000, 32000, 64000, 128000, 256000, 300000, 300000, 300000};
  for (long long e : expected) {
    limiter.record_failure(account, t0);
    EXPECT_EQ(limiter.wait_before_attempt(account, t0).count(), e);
  }
  // Time passing ends the wait; other accounts are not affected.
  EXPECT_EQ(limiter.wait_before_attempt(account, t0 + std::chrono::minutes(5)).count(), 0);
  EXPECT_EQ(limiter.wait_before_attempt("p/other@contoso.example", t0).count(), 0);
  limiter.record_success(account);
  EXPECT_EQ(limiter.wait_before_attempt(account, t0).count(), 0);
  // Many failures never overflow the doubling.
  for (int i = 0; i < 1000; ++i) limiter.record_failure(account, t0);
  EXPECT_EQ(limiter.wait_before_attempt(account, t0), std::chrono::milliseconds(300000));
}

TEST(SignInLimiterCounts, MemoryIsBoundedAndWaitingEntriesSurviveAShrink) {
  SignInLimiter limiter(4);
  const auto t0 = SignInLimiter::Clock::time_point{} + std::chrono::hours(1000);
  for (int f = 0; f < 3; ++f) limiter.record_failure("locked", t0);
  for (int i = 0; i < 100; ++i) limiter.record_failure("noise-" + std::to_string(i), t0 + std::chrono::seconds(1));
  // "locked" may have been dropped as the oldest (documented), but the limiter stayed bounded and sane.
  EXPECT_LE(limiter.wait_before_attempt("locked", t0).count(), 2000);
}

TEST_F(TokenFixture, TheThirdAttemptAfterTwoFailuresIsRefusedEvenWithTheRightPasswordAndEmailVariants) {
  auto [partner, admin, temporary] = enroll();
  (void)sign_in_and_change(partner, "ada@contoso.example", temporary, "ada-chosen-password-1");
  EXPECT_EQ(sign_in(partner, "ada@contoso.example", "wrong-password-one").second.status, 401u);
  EXPECT_EQ(sign_in(partner, "ada@contoso.example", "wrong-password-two").second.status, 401u);
  // The documented budget: after the second failure the account waits (429 with
  // Retry-After), whatever the password, and whatever spelling of the same email.
  for (const std::string& email : std::vector<std::string>{"ada@contoso.example", "ADA@Contoso.Example",
                                                          " ada@contoso.example", "ada@contoso.example\t",
                                                          "  ADA@contoso.example  "}) {
    Reply r = sign_in(partner, email, "ada-chosen-password-1").second;
    EXPECT_EQ(r.status, 429u) << "'" << email << "': " << r.body;
    EXPECT_FALSE(r.error_message().empty()) << r.body;
    r = sign_in(partner, email, "wrong-password-three").second;
    EXPECT_EQ(r.status, 429u) << "'" << email << "' (wrong password): " << r.body;
  }
  // Another account of the partner is not affected.
  auto [other_token, other] = sign_in(partner, "nobody@contoso.example", "whatever-password");
  EXPECT_EQ(other.status, 401u) << other.body;
}

TEST_F(TokenFixture, SignInToAnUnknownPartnerWritesNothing) {
  auto [partner, admin, temporary] = enroll();
  // The secrets and keys folders (the views' files change as they catch up).
  auto count_files = [&] {
    std::set<std::string> out;
    for (const char* sub : {"keys", "secrets"}) {
      for (const auto& entry : std::filesystem::recursive_directory_iterator(dir_ + "/" + sub)) {
        if (entry.is_regular_file()) out.insert(entry.path().string());
      }
    }
    return out;
  };
  const auto files = count_files();
  const uint64_t before = head();
  for (int i = 0; i < 20; ++i) {
    Reply r = sign_in(PartnerId::random().to_string(), "ada@contoso.example", "whatever-password").second;
    EXPECT_EQ(r.status, 401u) << r.body;
    EXPECT_EQ(r.error_message(), "wrong partner, email or password");
  }
  EXPECT_EQ(count_files(), files) << "anonymous sign-ins to unknown partners must not create files (e.g. keys/partners)";
  EXPECT_EQ(head(), before);
}

TEST(TokenStoreReplication, ChangesArePublishedFirstAndApplyOnAnotherNode) {
  const auto dir = std::filesystem::temp_directory_path() / ("acct-token-repl-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const Timestamp now = SystemClock().now();
  auto leader = TokenStore::open(posix_env(), (dir / "a").string(), now);
  auto follower = TokenStore::open(posix_env(), (dir / "b").string(), now);
  ASSERT_TRUE(leader.is_ok() && follower.is_ok());
  std::vector<SecretRecord> published;
  Status answer = Status::ok();
  (*leader)->enable_replication([&](const std::vector<SecretRecord>& r) {
    if (answer.is_ok()) published.insert(published.end(), r.begin(), r.end());
    return answer;
  });
  TokenGrant g;
  g.kind = TokenGrant::Kind::kUser;
  g.partner = PartnerId::random();
  g.user = UserId::random();
  g.expires_at = Timestamp{now.micros + kHour};
  g.must_change_password = true;

  // Refused by the cluster: no token, nothing stored.
  answer = Status(StatusCode::kUnavailable, "not the leader");
  auto refused = (*leader)->issue(g);
  EXPECT_EQ(refused.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ((*leader)->size(), 0u);

  answer = Status::ok();
  auto token = (*leader)->issue(g);
  ASSERT_TRUE(token.is_ok());
  ASSERT_EQ(published.size(), 1u);
  EXPECT_EQ(published[0].key.rfind("token/", 0), 0u);
  EXPECT_EQ(published[0].key.find(*token), std::string::npos) << "only the token's hash travels";
  EXPECT_EQ(published[0].plaintext->find(*token), std::string::npos);
  EXPECT_FALSE((*follower)->authenticate(*token, now).is_ok());
  ASSERT_TRUE((*follower)->apply_replicated(published[0], now).is_ok());
  auto there = (*follower)->authenticate(*token, now);
  ASSERT_TRUE(there.is_ok());
  EXPECT_TRUE(there->must_change_password);

  ASSERT_TRUE((*leader)->clear_must_change(g.partner, g.user).is_ok());
  ASSERT_EQ(published.size(), 2u);
  ASSERT_TRUE((*follower)->apply_replicated(published[1], now).is_ok());
  EXPECT_FALSE((*follower)->authenticate(*token, now)->must_change_password);

  ASSERT_TRUE((*leader)->revoke_user(g.partner, g.user).is_ok());
  ASSERT_EQ(published.size(), 3u);
  EXPECT_FALSE(published[2].plaintext.has_value()) << "a revocation is a tombstone";
  ASSERT_TRUE((*follower)->apply_replicated(published[2], now).is_ok());
  EXPECT_FALSE((*follower)->authenticate(*token, now).is_ok());

  // A record that is not a token's, or lies about its hash, is refused.
  EXPECT_EQ((*follower)->apply_replicated(SecretRecord("token/zz", std::nullopt), now).code(),
            StatusCode::kInvalidArgument);
  SecretRecord moved("token/" + std::string(64, 'a'), published[0].plaintext);
  EXPECT_EQ((*follower)->apply_replicated(moved, now).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ((*follower)->size(), 0u);
  std::filesystem::remove_all(dir);
}

TEST(TokenStoreShards, ATokenNamesTheShardThatIssuedIt) {
  const auto dir = std::filesystem::temp_directory_path() / ("acct-token-shard-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  const Timestamp now = SystemClock().now();
  auto store = TokenStore::open(posix_env(), dir.string(), now);
  ASSERT_TRUE(store.is_ok());
  TokenGrant g;
  g.kind = TokenGrant::Kind::kUser;
  g.partner = PartnerId::random();
  g.user = UserId::random();
  g.expires_at = Timestamp{now.micros + kHour};
  std::set<std::string> seen;
  for (uint8_t shard : {0, 1, 7, 255}) {
    (*store)->set_token_shard(shard);
    for (int i = 0; i < 20; ++i) {
      auto token = (*store)->issue(g);
      ASSERT_TRUE(token.is_ok());
      EXPECT_EQ(TokenStore::shard_of_token(*token), std::optional<uint8_t>(shard)) << *token;
      EXPECT_TRUE((*store)->authenticate(*token, now).is_ok());
      EXPECT_TRUE(seen.insert(*token).second) << "the other 31 bytes stay random";
    }
  }
  for (const char* bad : {"", "acct_", "acct_short", "nope_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
                          "acct_!!!!AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}) {
    EXPECT_EQ(TokenStore::shard_of_token(bad), std::nullopt) << bad;
  }
  std::filesystem::remove_all(dir);
}

// Sign-ins that are never revoked only expire: without a sweep they would stay
// in memory (and in every snapshot) until a restart.
TEST(TokenStoreExpiry, ExpiredTokensLeaveMemoryAndTheSnapshotAtCompaction) {
  const auto dir = std::filesystem::temp_directory_path() / ("acct-token-expiry-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  const Timestamp t0 = SystemClock().now();
  auto store = TokenStore::open(posix_env(), dir.string(), t0);
  ASSERT_TRUE(store.is_ok());
  TokenGrant g;
  g.kind = TokenGrant::Kind::kUser;
  g.partner = PartnerId::random();
  g.user = UserId::random();
  g.created_at = t0;
  g.expires_at = Timestamp{t0.micros + kHour};
  std::string early;
  for (int i = 0; i < 1500; ++i) {
    auto token = (*store)->issue(g);
    ASSERT_TRUE(token.is_ok());
    if (i == 0) early = *token;
  }
  // Two hours on, the first 1,500 have expired; 1,500 new sign-ins follow.
  const Timestamp t1{t0.micros + 2 * kHour};
  EXPECT_FALSE((*store)->authenticate(early, t1).is_ok());
  g.created_at = t1;
  g.expires_at = Timestamp{t1.micros + kHour};
  std::vector<std::string> live;
  for (int i = 0; i < 1500; ++i) {
    auto token = (*store)->issue(g);
    ASSERT_TRUE(token.is_ok());
    live.push_back(*token);
  }
  EXPECT_EQ((*store)->size(), 1500u) << "the expired tokens are still held";
  for (const std::string& t : live) ASSERT_TRUE((*store)->authenticate(t, t1).is_ok());
  auto reopened = TokenStore::open(posix_env(), dir.string(), t1);
  ASSERT_TRUE(reopened.is_ok()) << reopened.status().to_string();
  EXPECT_EQ((*reopened)->size(), 1500u);
  for (const std::string& t : live) ASSERT_TRUE((*reopened)->authenticate(t, t1).is_ok());
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace accountable
