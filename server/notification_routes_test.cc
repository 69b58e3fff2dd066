// One's own notifications over real HTTP (issue 22, item 7): who gets what
// (the user, the partner, the market with the price-list permission, billing
// managers for expiring certificates), tenant isolation, read state per user
// through MarkNotificationsRead, paging with the cursor, the SSE stream, the
// 400s naming the parameter, and a refused mark-read writing nothing.
#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "aggregates/context.h"
#include "server/testing/http_test_client.h"

namespace accountable {
namespace {

using namespace http_test;

constexpr const char* kNow = "2026-12-10T00:00:00Z";
Timestamp start() { return parse_timestamp(kNow).value(); }

class NotificationRoutes : public ServerFixture {
 protected:
  void SetUp() override {
    clock_ = &fixed_;
    ServerFixture::SetUp();
    if (HasFatalFailure()) return;
    std::string temp;
    std::tie(a_, std::ignore, temp) = enroll();
    ASSERT_FALSE(a_.empty());
    ada_ = sign_in_and_change(a_, "ada@contoso.example", temp);
    auto [bill_id, bill_temp] = create_user(ada_, a_, "bill@contoso.example", {"billing_admin"});
    bill_ = sign_in_and_change(a_, "bill@contoso.example", bill_temp);
    auto [sam_id, sam_temp] = create_user(ada_, a_, "sam@contoso.example", {"sales_agent"});
    sam_id_ = sam_id;
    sam_ = sign_in_and_change(a_, "sam@contoso.example", sam_temp);
    std::tie(b_, std::ignore, temp) = enroll_fabrikam();
    ASSERT_FALSE(b_.empty());
    gus_ = sign_in_and_change(b_, "gus@fabrikam.example", temp);
  }

  void run(const std::string& token, json::object c) {
    Reply r = command(token, std::move(c));
    ASSERT_EQ(r.status, 200u) << r.body;
    last_ = r.json().at("last_position").to_number<uint64_t>();
  }

  Reply feed(const std::string& token, const std::string& query = "") {
    return request(http::verb::get,
                   "/v1/me/notifications?min_position=" + std::to_string(last_) + (query.empty() ? "" : "&" + query),
                   "", token);
  }
  json::value feed_json(const std::string& token, const std::string& query = "") {
    Reply r = feed(token, query);
    EXPECT_EQ(r.status, 200u) << r.body;
    return r.json();
  }
  static std::vector<std::string> kinds(const json::value& page, const char* list = "notifications") {
    std::vector<std::string> out;
    for (const json::value& n : page.at(list).as_array()) out.emplace_back(n.at("kind").as_string());
    return out;
  }
  static std::vector<std::string> ids(const json::value& page, const char* list = "notifications") {
    std::vector<std::string> out;
    for (const json::value& n : page.at(list).as_array()) out.emplace_back(n.at("id").as_string());
    return out;
  }
  static bool has(const std::vector<std::string>& v, const std::string& x) {
    return std::find(v.begin(), v.end(), x) != v.end();
  }

  Reply mark(const std::string& token, const std::string& body) {
    return request(http::verb::post, "/v1/me/notifications/read", body, token);
  }

  void partner_events() {
    run(operator_token_, json::object{{"type", "SetVettingStatus"}, {"partner_id", a_}, {"status", "authorized"},
                                      {"sub_status", "decision"}});
    run(operator_token_, json::object{{"type", "SuspendPartner"}, {"partner_id", a_}, {"reason", "abuse"},
                                      {"note", "internal case 42"}});
    run(operator_token_, json::object{{"type", "ReinstatePartner"}, {"partner_id", a_}});
  }

  void price_lists() {
    run(operator_token_, azure_plan_offer_command());
    run(operator_token_, azure_plan_price_list_command(2026, 12, "2026-12-01", "2027-01-31"));
    json::object de = azure_plan_price_list_command(2026, 12, "2026-12-01", "2027-01-31");
    de["price_list"].as_object()["market"] = "DE";
    de["price_list"].as_object()["currency"] = "EUR";
    run(operator_token_, de);
  }

  FixedClock fixed_{start()};
  std::string a_, b_, ada_, bill_, sam_, sam_id_, gus_;
  uint64_t last_ = 0;
};

TEST_F(NotificationRoutes, EachUserGetsTheirOwnAndTheirPartnersNeverAnotherTenants) {
  partner_events();
  run(ada_, json::object{{"type", "AssignRole"}, {"partner_id", a_}, {"user_id", sam_id_}, {"role", "incentives_user"}});

  const json::value sam = feed_json(sam_);
  const std::vector<std::string> sam_kinds = kinds(sam);
  // Newest first: the role, then reinstated, suspended, vetting; then the roles sam was created with.
  ASSERT_GE(sam_kinds.size(), 5u) << json::serialize(sam);
  EXPECT_EQ(std::vector<std::string>(sam_kinds.begin(), sam_kinds.begin() + 5),
            (std::vector<std::string>{"role_assigned", "partner_reinstated", "partner_suspended",
                                      "vetting_status_changed", "role_assigned"}));
  const json::object& role = sam.at("notifications").at(0).as_object();
  EXPECT_EQ(role.at("details").at("role").as_string(), "incentives_user");
  EXPECT_EQ(role.at("partner_id").as_string(), a_);
  EXPECT_FALSE(role.at("read").as_bool());
  EXPECT_TRUE(parse_timestamp(std::string(role.at("at").as_string())).is_ok()) << "the event's recorded_at";
  const json::object& suspended = sam.at("notifications").at(2).as_object();
  EXPECT_EQ(suspended.at("details").at("reason").as_string(), "abuse");
  EXPECT_EQ(json::serialize(sam).find("internal case 42"), std::string::npos) << "the operator's note stays out";
  const json::object& vetting = sam.at("notifications").at(3).as_object();
  EXPECT_EQ(vetting.at("details").at("status").as_string(), "authorized");
  EXPECT_EQ(sam.at("unread_count").to_number<uint64_t>(), sam_kinds.size());
  EXPECT_EQ(sam.at("next"), json::value(nullptr));

  // Bill: the partner's events, not sam's role.
  const std::vector<std::string> bill_kinds = kinds(feed_json(bill_));
  EXPECT_EQ(std::count(bill_kinds.begin(), bill_kinds.end(), "role_assigned"), 1) << "only bill's own role";
  EXPECT_TRUE(has(bill_kinds, "partner_suspended"));

  // Gus (another partner): nothing of Contoso's.
  const json::value gus = feed_json(gus_);
  for (const json::value& n : gus.at("notifications").as_array()) {
    EXPECT_EQ(n.at("partner_id").as_string(), b_) << json::serialize(n);
  }
  EXPECT_TRUE(has(kinds(gus), "role_assigned")) << "gus's own role, from his enrollment";
  EXPECT_FALSE(has(kinds(gus), "partner_suspended")) << json::serialize(gus);
  // No personal data in any feed.
  for (const std::string& token : {ada_, bill_, sam_, gus_}) {
    const std::string body = feed(token).body;
    EXPECT_EQ(body.find("@"), std::string::npos) << body;
  }
}

TEST_F(NotificationRoutes, PriceListsReachTheMarketsUsersWhoMayReadThem) {
  price_lists();
  // Ada (Global admin) and bill (Billing admin) read price lists; sam (Sales agent) does not.
  for (const std::string& token : {ada_, bill_, gus_}) {
    const json::value page = feed_json(token);
    const std::vector<std::string> k = kinds(page);
    ASSERT_EQ(std::count(k.begin(), k.end(), "price_list_published"), 1) << json::serialize(page);
    const json::object& list = page.at("notifications").at(0).as_object();
    EXPECT_EQ(list.at("details").at("market").as_string(), "US") << "only the partner's market (the legal country)";
    EXPECT_EQ(list.at("details").at("month").as_string(), "2026-12");
    EXPECT_EQ(list.at("details").at("currency").as_string(), "USD");
  }
  EXPECT_FALSE(has(kinds(feed_json(sam_)), "price_list_published"));
  // Granting the permission later shows the list: the audience is resolved when read.
  run(ada_, json::object{{"type", "RemoveRole"}, {"partner_id", a_}, {"user_id", sam_id_}, {"role", "sales_agent"}});
  run(ada_, json::object{{"type", "AssignRole"}, {"partner_id", a_}, {"user_id", sam_id_}, {"role", "admin_agent"}});
  EXPECT_TRUE(has(kinds(feed_json(sam_)), "price_list_published"));
}

TEST_F(NotificationRoutes, AUsersReadStateIsTheirsAlone) {
  partner_events();
  const json::value before = feed_json(bill_);
  const uint64_t bill_unread = before.at("unread_count").to_number<uint64_t>();
  ASSERT_GE(bill_unread, 3u);
  const json::value ada_before = feed_json(ada_);
  const std::vector<std::string> ada_ids = ids(ada_before);
  ASSERT_GE(ada_ids.size(), 3u);

  // One by id: that one only.
  Reply r = mark(ada_, json::serialize(json::object{{"ids", json::array{json::value(ada_ids[1])}}}));
  ASSERT_EQ(r.status, 200u) << r.body;
  last_ = r.json().at("last_position").to_number<uint64_t>();
  json::value ada = feed_json(ada_);
  EXPECT_EQ(ada.at("unread_count").to_number<uint64_t>(), ada_before.at("unread_count").to_number<uint64_t>() - 1);
  EXPECT_TRUE(ada.at("notifications").at(1).at("read").as_bool());
  EXPECT_FALSE(ada.at("notifications").at(0).at("read").as_bool());
  EXPECT_EQ(ids(feed_json(ada_, "unread=true")).size(), ada_ids.size() - 1);

  // Everything up to the newest: none left unread for ada; bill is unchanged.
  r = mark(ada_, json::serialize(json::object{{"up_to", ada_ids[0]}}));
  ASSERT_EQ(r.status, 200u) << r.body;
  last_ = r.json().at("last_position").to_number<uint64_t>();
  ada = feed_json(ada_);
  EXPECT_EQ(ada.at("unread_count").to_number<uint64_t>(), 0u);
  EXPECT_TRUE(ids(feed_json(ada_, "unread=true")).empty());
  EXPECT_EQ(feed_json(bill_).at("unread_count").to_number<uint64_t>(), bill_unread);

  // A mark past the log's head does not reach notifications that come later.
  r = mark(ada_, json::serialize(json::object{{"up_to", 1'000'000'000}}));
  ASSERT_EQ(r.status, 200u) << r.body;
  run(operator_token_, json::object{{"type", "SuspendPartner"}, {"partner_id", a_}, {"reason", "abuse"}});
  ada = feed_json(ada_);
  EXPECT_EQ(ada.at("unread_count").to_number<uint64_t>(), 1u);
  EXPECT_EQ(kinds(feed_json(ada_, "unread=true")), std::vector<std::string>{"partner_suspended"});
}

TEST_F(NotificationRoutes, ARefusedMarkNamesTheFieldAndWritesNothing) {
  const uint64_t head_before = head();
  // Nothing to mark is a rule across the two fields (422); the rest are malformed fields (400).
  Reply nothing = mark(ada_, R"({})");
  EXPECT_EQ(nothing.status, 422u) << nothing.body;
  EXPECT_EQ(nothing.error_field(), "ids");
  const std::pair<std::string, std::string> bad[] = {
      {R"({"up_to": -1})", "up_to"},
      {R"({"up_to": "x"})", "up_to"},
      {R"({"up_to": true})", "up_to"},
      {R"({"ids": "1"})", "ids"},
      {R"({"ids": [1]})", "ids[0]"},
      {R"({"ids": ["1", "tax.nope.5"]})", "ids[1]"},
      {R"({"ids": ["7", "7"]})", "ids[1]"},
      {R"({"ids": ["01"]})", "ids[0]"},
      {R"({"user_id": "x", "up_to": 1})", "user_id"},
  };
  for (const auto& [body, field] : bad) {
    Reply r = mark(ada_, body);
    EXPECT_EQ(r.status, 400u) << body << " " << r.body;
    EXPECT_EQ(r.error_field(), field) << body << " " << r.body;
  }
  json::array many;
  for (int i = 1; i <= 101; ++i) many.emplace_back(std::to_string(i));
  Reply r = mark(ada_, json::serialize(json::object{{"ids", many}}));
  EXPECT_EQ(r.status, 400u) << r.body;
  EXPECT_EQ(r.error_field(), "ids");
  EXPECT_EQ(mark(ada_, "not json").status, 400u);
  // The operator and auditors have no feed; no token, no entry.
  EXPECT_EQ(mark(operator_token_, R"({"up_to": 1})").status, 403u);
  EXPECT_EQ(mark("", R"({"up_to": 1})").status, 401u);
  EXPECT_EQ(head(), head_before) << "a refused mark writes nothing";
}

TEST_F(NotificationRoutes, BadParametersAreNamed) {
  const std::pair<std::string, std::string> bad[] = {
      {"limit=0", "limit"},   {"limit=101", "limit"},  {"limit=x", "limit"},   {"after=abc", "after"},
      {"after=0", "after"},   {"after=-3", "after"},   {"unread=yes", "unread"}, {"colour=red", "colour"},
  };
  for (const auto& [query, field] : bad) {
    Reply r = feed(ada_, query);
    EXPECT_EQ(r.status, 400u) << query << " " << r.body;
    EXPECT_EQ(r.error_field(), field) << query << " " << r.body;
  }
  EXPECT_EQ(feed(operator_token_).status, 403u);
  EXPECT_EQ(feed("").status, 401u);
  Reply sse = request(http::verb::get, "/v1/me/notifications/subscribe", "", ada_, {{"Last-Event-ID", "x"}});
  EXPECT_EQ(sse.status, 400u) << sse.body;
  EXPECT_EQ(sse.error_field(), "Last-Event-ID") << sse.body;
}

TEST_F(NotificationRoutes, PagesFollowTheCursorNewestFirst) {
  partner_events();
  partner_events();
  const json::value all = feed_json(ada_, "limit=100");
  const std::vector<std::string> every = ids(all);
  ASSERT_GE(every.size(), 7u);
  std::vector<std::string> paged;
  std::string after;
  for (int page = 0; page < 10; ++page) {
    const json::value p = feed_json(ada_, "limit=2" + (after.empty() ? "" : "&after=" + after));
    for (const std::string& id : ids(p)) paged.push_back(id);
    if (p.at("next").is_null()) break;
    after = std::string(p.at("next").as_string());
    EXPECT_EQ(after, ids(p).back());
  }
  EXPECT_EQ(paged, every);
  for (size_t i = 1; i < every.size(); ++i) EXPECT_GT(std::stoull(every[i - 1]), std::stoull(every[i]));
}

TEST_F(NotificationRoutes, ExpiringCertificatesRemindThoseWhoManageBilling) {
  Reply filed = command(ada_, json::object{{"type", "FileTaxExemption"},
                                           {"partner_id", a_},
                                           {"jurisdiction", "WA"},
                                           {"certificate_ref", "wa-2026"},
                                           {"valid_from", format_timestamp(plus_days(start(), -300))},
                                           {"expires_on", format_timestamp(plus_days(start(), 10))}});
  ASSERT_EQ(filed.status, 200u) << filed.body;
  last_ = filed.json().at("last_position").to_number<uint64_t>();
  const std::string exemption(filed.json().at("result").at("exemption_id").as_string());

  const json::value ada = feed_json(ada_);
  ASSERT_EQ(kinds(ada, "reminders"), std::vector<std::string>{"tax_certificate_expiring"}) << json::serialize(ada);
  const json::object& reminder = ada.at("reminders").at(0).as_object();
  const std::string id(reminder.at("id").as_string());
  EXPECT_EQ(id.rfind("tax." + exemption + ".", 0), 0u) << id;
  EXPECT_EQ(reminder.at("details").at("jurisdiction").as_string(), "WA");
  EXPECT_EQ(reminder.at("details").at("expires_on").as_string(), format_timestamp(plus_days(start(), 10)));
  EXPECT_EQ(json::serialize(ada).find("wa-2026"), std::string::npos) << "no certificate reference";
  EXPECT_EQ(kinds(feed_json(bill_), "reminders").size(), 1u);
  EXPECT_TRUE(kinds(feed_json(sam_), "reminders").empty()) << "a Sales agent does not manage billing";
  EXPECT_TRUE(kinds(feed_json(gus_), "reminders").empty());
  // Not repeated on later pages.
  EXPECT_TRUE(kinds(feed_json(ada_, "after=" + ids(ada).back()), "reminders").empty());

  const uint64_t unread = ada.at("unread_count").to_number<uint64_t>();
  Reply r = mark(ada_, json::serialize(json::object{{"ids", json::array{json::value(id)}}}));
  ASSERT_EQ(r.status, 200u) << r.body;
  last_ = r.json().at("last_position").to_number<uint64_t>();
  const json::value after = feed_json(ada_);
  EXPECT_TRUE(after.at("reminders").at(0).at("read").as_bool());
  EXPECT_EQ(after.at("unread_count").to_number<uint64_t>(), unread - 1);
  EXPECT_TRUE(kinds(feed_json(ada_, "unread=true"), "reminders").empty());
  EXPECT_FALSE(feed_json(bill_).at("reminders").at(0).at("read").as_bool()) << "bill's own read state";
}

TEST_F(NotificationRoutes, TheStreamSendsANewNotificationToItsUserOnly) {
  SseClient sam(server_->port(), "/v1/me/notifications/subscribe", sam_);
  SseClient bill(server_->port(), "/v1/me/notifications/subscribe", bill_);
  // The stream is open once its headers came.
  sam.read_until([](const std::string& s) { return s.find("\r\n\r\n") != std::string::npos; });
  bill.read_until([](const std::string& s) { return s.find("\r\n\r\n") != std::string::npos; });
  ASSERT_NE(sam.text().find("200"), std::string::npos) << sam.text();
  run(ada_, json::object{{"type", "AssignRole"}, {"partner_id", a_}, {"user_id", sam_id_}, {"role", "incentives_user"}});
  run(operator_token_, json::object{{"type", "SuspendPartner"}, {"partner_id", a_}, {"reason", "abuse"}});
  const std::string& got = sam.read_until(
      [](const std::string& s) { return s.find("event: partner_suspended") != std::string::npos; });
  const size_t role = got.find("event: role_assigned");
  ASSERT_NE(role, std::string::npos) << got;
  EXPECT_LT(role, got.find("event: partner_suspended")) << "oldest first";
  EXPECT_NE(got.find("\"incentives_user\""), std::string::npos) << got;
  const std::string& bills = bill.read_until(
      [](const std::string& s) { return s.find("event: partner_suspended") != std::string::npos; });
  ASSERT_NE(bills.find("event: partner_suspended"), std::string::npos) << bills;
  EXPECT_EQ(bills.find("event: role_assigned"), std::string::npos) << "sam's role is not bill's news";
  // The operator has no feed to stream.
  Reply op = request(http::verb::get, "/v1/me/notifications/subscribe", "", operator_token_);
  EXPECT_EQ(op.status, 403u) << op.body;
}

// "From now on" is the log's head: a notification committed before the
// subscription, which the view has not applied yet, is not news.
TEST_F(NotificationRoutes, TheStreamStartsAtTheLogsHeadEvenWhenTheViewLags) {
  ASSERT_TRUE(views_->stop().is_ok());  // the views fall behind the log
  run(ada_, json::object{{"type", "AssignRole"}, {"partner_id", a_}, {"user_id", sam_id_}, {"role", "incentives_user"}});
  SseClient sam(server_->port(), "/v1/me/notifications/subscribe", sam_);
  sam.read_until([](const std::string& s) { return s.find("\r\n\r\n") != std::string::npos; });
  ASSERT_NE(sam.text().find("200"), std::string::npos) << sam.text();
  ASSERT_TRUE(views_->start().is_ok());
  run(operator_token_, json::object{{"type", "SuspendPartner"}, {"partner_id", a_}, {"reason", "abuse"}});
  const std::string& got = sam.read_until(
      [](const std::string& s) { return s.find("event: partner_suspended") != std::string::npos; });
  ASSERT_NE(got.find("event: partner_suspended"), std::string::npos) << got;
  EXPECT_EQ(got.find("event: role_assigned"), std::string::npos) << "committed before the subscription: " << got;
  // It is in the feed all the same.
  EXPECT_EQ(kinds(feed_json(sam_)).at(1), "role_assigned");
}

TEST_F(NotificationRoutes, TheStreamEndsWhenItsUserIsDeactivated) {
  SseClient sam(server_->port(), "/v1/me/notifications/subscribe", sam_);
  sam.read_until([](const std::string& s) { return s.find("\r\n\r\n") != std::string::npos; });
  ASSERT_NE(sam.text().find("200"), std::string::npos) << sam.text();
  run(ada_, json::object{{"type", "DeactivateUser"}, {"partner_id", a_}, {"user_id", sam_id_}});
  run(operator_token_, json::object{{"type", "SuspendPartner"}, {"partner_id", a_}, {"reason", "abuse"}});
  const std::string& got =
      sam.read_until([](const std::string& s) { return s.find("event: error") != std::string::npos; });
  ASSERT_NE(got.find("event: error"), std::string::npos) << got;
  EXPECT_EQ(got.find("event: partner_suspended"), std::string::npos) << "nothing after the deactivation";
  sam.read_until([](const std::string&) { return false; }, std::chrono::milliseconds(5000));
  EXPECT_TRUE(sam.closed()) << "the server closes the stream";
}

}  // namespace
}  // namespace accountable
