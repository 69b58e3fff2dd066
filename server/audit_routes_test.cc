// GET /v1/partners/{id}/state, the changes added to /history and the export,
// through the router (no sockets): the answers, and who may ask (Global admin,
// operator, the partner's auditor; not another partner, not without a token).
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <filesystem>
#include <fstream>

#include "aggregates/partner_export.h"
#include "projections/view_set.h"
#include "server/api.h"
#include "server/testing/http_test_client.h"

namespace accountable {
namespace {

namespace json = boost::json;

struct Answer {
  unsigned status = 0;
  json::value body;
};

class AuditRoutes : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("acct-audit-routes-" + std::to_string(::getpid()) + "-" +
                                                     ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    AccountStackOptions options;
    options.data_dir = dir_;
    options.credentials.opslimit = 1;  // argon2id at its minimum cost
    options.credentials.memlimit = 8192;
    options.sign_checkpoints = false;
    stack_ = std::move(AccountStack::open(options).value());
    tokens_ = std::move(TokenStore::open(posix_env(), dir_, SystemClock().now()).value());
    views_ = std::move(ViewSet::open(dir_, stack_->log(), &stack_->cipher()).value());
    ASSERT_TRUE(views_->start().is_ok());
    metrics_ = std::make_unique<Metrics>(stack_->log());
    ApiOptions api_options;
    api_options.min_position_wait = std::chrono::milliseconds(5000);
    api_ = std::make_unique<Api>(*stack_, *tokens_, *metrics_, views_.get(), api_options);
    std::ifstream in(dir_ + "/operator.token");
    std::getline(in, operator_);
    ASSERT_FALSE(operator_.empty());
  }

  void TearDown() override {
    api_.reset();
    if (views_) (void)views_->stop();
    views_.reset();
    if (stack_) (void)stack_->close();
    stack_.reset();
    tokens_.reset();
    std::filesystem::remove_all(dir_);
  }

  Answer call(http::verb method, const std::string& target, const std::string& token, const std::string& body = "") {
    HttpRequest http{method, target, 11};
    if (!token.empty()) http.set(http::field::authorization, "Bearer " + token);
    http.body() = body;
    ApiRequest req{http, {}, {}, {}, "127.0.0.1"};
    EXPECT_TRUE(parse_target(target, &req.path, &req.query).is_ok()) << target;
    auto match = api_->router().match(method, req.path);
    if (match.route == nullptr) return Answer{404, json::value()};
    req.path_params = match.params;
    ApiReply reply = match.route->handler(req);
    json::error_code ec;
    json::value v = json::parse(reply.response.body(), ec);
    return Answer{reply.response.result_int(), ec ? json::value() : v};
  }
  Answer get(const std::string& target, const std::string& token) { return call(http::verb::get, target, token); }
  Answer command(const std::string& token, json::object c) {
    c["command_id"] = CommandId::random().to_string();
    return call(http::verb::post, "/v1/commands", token, json::serialize(c));
  }

  // Enrols a partner; returns its id and a Global admin's token.
  std::pair<std::string, std::string> enroll(const std::string& email) {
    json::object c = http_test::enroll_command_json(email);
    Answer r = command(operator_, c);
    EXPECT_EQ(r.status, 200u);
    const std::string partner(r.body.at("result").at("partner_id").as_string());
    const std::string temporary(r.body.at("result").at("temporary_password").as_string());
    Answer s = call(http::verb::post, "/v1/sessions", "",
                    json::serialize(json::object{{"partner_id", partner}, {"email", email}, {"password", temporary}}));
    EXPECT_EQ(s.status, 200u);
    const std::string token(s.body.at("token").as_string());
    Answer changed = call(http::verb::post, "/v1/me/password", token,
                          json::serialize(json::object{{"old", temporary}, {"new", "a-long-new-password"}}));
    EXPECT_EQ(changed.status, 200u);
    return {partner, token};
  }

  std::string dir_;
  std::unique_ptr<AccountStack> stack_;
  std::unique_ptr<TokenStore> tokens_;
  std::unique_ptr<ViewSet> views_;
  std::unique_ptr<Metrics> metrics_;
  std::unique_ptr<Api> api_;
  std::string operator_;
};

TEST_F(AuditRoutes, StateAsOfAPositionOrATimeAndHistoryWithChanges) {
  auto [partner, admin] = enroll("ada@contoso.example");
  const uint64_t before_update = stack_->log().head().value();
  Answer updated = command(admin, json::object{{"type", "UpdateSupportProfile"},
                                               {"partner_id", partner},
                                               {"support", json::object{{"email", "help@contoso.example"},
                                                                        {"phone", "+1 425 555 0199"},
                                                                        {"website", "https://contoso.example"}}}});
  ASSERT_EQ(updated.status, 200u);
  const std::string base = "/v1/partners/" + partner;

  Answer then = get(base + "/state?at_position=" + std::to_string(before_update), admin);
  ASSERT_EQ(then.status, 200u) << json::serialize(then.body);
  EXPECT_EQ(then.body.at("partner").at("support").at("email"), json::value(""));
  EXPECT_EQ(then.body.at("as_of").at("position"), json::value(before_update));
  EXPECT_EQ(then.body.at("users").as_object().size(), 1u);
  Answer now = get(base + "/state?as_of=2100-01-01", operator_);
  ASSERT_EQ(now.status, 200u);
  EXPECT_EQ(now.body.at("partner").at("support").at("email"), json::value("help@contoso.example"));

  const std::string head = std::to_string(stack_->log().head().value());
  Answer history = get(base + "/history?min_position=" + head, admin);
  ASSERT_EQ(history.status, 200u) << json::serialize(history.body);
  bool seen = false;
  for (const json::value& e : history.body.at("entries").as_array()) {
    EXPECT_TRUE(e.as_object().contains("changes"));
    if (e.at("event_type") != json::value("SupportProfileUpdated")) continue;
    seen = true;
    EXPECT_EQ(e.at("command_type"), json::value("UpdateSupportProfile"));
    EXPECT_EQ(e.at("actor_name"), json::value("Ada Lovelace <ada@contoso.example>"));
    EXPECT_EQ(e.at("changes").at(0),
              json::parse(R"({"path":"support.email","before":"","after":"help@contoso.example"})"));
  }
  EXPECT_TRUE(seen);
}

// GET /v1/partners/{id}/export is `acct export`'s file: verify_export (what
// `acct verify-export` runs) accepts it against the log, and names the first
// line a changed byte breaks; CSV as well; bad input is named.
TEST_F(AuditRoutes, TheExportIsTheVerifiableExportOfTheCli) {
  auto [partner, admin] = enroll("ada@contoso.example");
  ASSERT_EQ(command(admin, json::object{{"type", "UpdateSupportProfile"},
                                        {"partner_id", partner},
                                        {"support", json::object{{"email", "help@contoso.example"},
                                                                 {"phone", ""},
                                                                 {"website", ""}}}})
                .status,
            200u);
  auto raw = [&](const std::string& target, const std::string& token) {
    HttpRequest http{http::verb::get, target, 11};
    http.set(http::field::authorization, "Bearer " + token);
    ApiRequest req{http, {}, {}, {}, "127.0.0.1"};
    EXPECT_TRUE(parse_target(target, &req.path, &req.query).is_ok());
    auto match = api_->router().match(http::verb::get, req.path);
    EXPECT_NE(match.route, nullptr);
    req.path_params = match.params;
    return match.route->handler(req).response;
  };
  const std::string base = "/v1/partners/" + partner + "/export";
  HttpResponse jsonl = raw(base, admin);
  ASSERT_EQ(jsonl.result_int(), 200) << jsonl.body();
  EXPECT_EQ(jsonl[http::field::content_type], "application/x-ndjson");
  EXPECT_NE(std::string(jsonl[http::field::content_disposition]).find("attachment"), std::string::npos);
  auto check = verify_export(stack_->log(), &stack_->cipher(), jsonl.body(), std::nullopt);
  ASSERT_TRUE(check.is_ok()) << check.status().to_string();
  EXPECT_TRUE(check->ok) << check->message;
  EXPECT_GE(check->events, 3u);
  // One changed byte in the support email: the check names that line.
  std::string forged = jsonl.body();
  const size_t at = forged.find("help@contoso.example");
  ASSERT_NE(at, std::string::npos);
  forged[at] = 'k';
  auto broken = verify_export(stack_->log(), &stack_->cipher(), forged, std::nullopt);
  ASSERT_TRUE(broken.is_ok()) << broken.status().to_string();
  EXPECT_FALSE(broken->ok);
  EXPECT_GT(broken->line, 0u);

  HttpResponse csv = raw(base + "?format=csv", operator_);
  ASSERT_EQ(csv.result_int(), 200) << csv.body();
  EXPECT_EQ(csv[http::field::content_type], "text/csv; charset=utf-8");
  auto csv_check = verify_export(stack_->log(), &stack_->cipher(), csv.body(), std::nullopt);
  ASSERT_TRUE(csv_check.is_ok()) << csv_check.status().to_string();
  EXPECT_TRUE(csv_check->ok) << csv_check->message;

  Answer bad = get(base + "?format=xml", admin);
  EXPECT_EQ(bad.status, 400u);
  EXPECT_EQ(bad.body.at("error").at("field"), json::value("format"));
  Answer none = get("/v1/partners/" + PartnerId::random().to_string() + "/export", operator_);
  EXPECT_EQ(none.status, 404u);
}

TEST_F(AuditRoutes, StateIsForTheGlobalAdminTheOperatorAndThePartnersAuditor) {
  auto [partner, admin] = enroll("ada@contoso.example");
  auto [other, other_admin] = enroll("eve@fabrikam.example");
  Answer issued = command(operator_, json::object{{"type", "IssueAuditorAccess"},
                                                  {"partner_id", partner},
                                                  {"auditor_email", "audit@kpmg.example"},
                                                  {"valid_until", "2100-01-01T00:00:00Z"}});
  ASSERT_EQ(issued.status, 200u);
  const std::string auditor(issued.body.at("result").at("auditor_token").as_string());
  const std::string state = "/v1/partners/" + partner + "/state?as_of=2100-01-01";
  EXPECT_EQ(get(state, admin).status, 200u);
  EXPECT_EQ(get(state, operator_).status, 200u);
  EXPECT_EQ(get(state, auditor).status, 200u);
  EXPECT_EQ(get(state, other_admin).status, 403u);
  EXPECT_EQ(get("/v1/partners/" + other + "/state?as_of=2100-01-01", auditor).status, 403u);
  EXPECT_EQ(get(state, "").status, 401u);
  // Both: the earlier point; neither: the head; a position not written yet: 404.
  Answer both = get("/v1/partners/" + partner + "/state?as_of=2100-01-01&at_position=1", admin);
  EXPECT_EQ(both.status, 200u);
  EXPECT_EQ(both.body.at("as_of").at("position"), json::value(1));
  EXPECT_EQ(both.body.at("as_of").at("time"), json::value("2100-01-01T00:00:00.000000Z"));
  Answer head = get("/v1/partners/" + partner + "/state", admin);
  EXPECT_EQ(head.status, 200u);
  EXPECT_EQ(head.body.at("users"), get(state, admin).body.at("users"));
  EXPECT_EQ(get("/v1/partners/" + partner + "/state?at_position=999999", admin).status, 404u);
  EXPECT_EQ(get("/v1/partners/" + partner + "/state?as_of=", admin).status, 400u);
  EXPECT_EQ(get("/v1/partners/" + PartnerId::random().to_string() + "/state?at_position=1", operator_).status, 404u);
}

}  // namespace
}  // namespace accountable
