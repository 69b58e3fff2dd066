// GET /v1/partners/{id}/state and the changes added to /history, through the
// router (no sockets): the answers, and who may ask (Global admin, operator,
// the partner's auditor; not another partner, not without a token).
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <filesystem>
#include <fstream>

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
