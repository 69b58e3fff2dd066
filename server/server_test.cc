// The HTTP API end to end over real sockets (127.0.0.1) with a Beast client:
// enrol -> sign in -> change the temporary password -> create users -> pin ->
// read the views with read-your-writes; the bad-input table; tokens; the
// last-Global-admin race through the API.
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <thread>

#include "server/testing/http_test_client.h"

namespace accountable {
namespace {

using namespace http_test;  // ServerFixture, Reply, net, beast, json, tcp (server/testing/http_test_client.h)

TEST_F(ServerFixture, EnrolSignInChangePasswordCreateUsersPinAndReadYourWrites) {
  auto [partner, admin, temporary] = enroll();
  EXPECT_EQ(temporary.size(), 16u);

  // A temporary password can only be changed.
  Reply s = request(http::verb::post, "/v1/sessions",
                    json::serialize(json::object{{"partner_id", partner}, {"email", "ADA@contoso.example"},
                                                 {"password", temporary}}));
  ASSERT_EQ(s.status, 200u) << s.body;
  EXPECT_TRUE(s.json().at("must_change_password").as_bool());
  const std::string first_token(s.json().at("token").as_string());
  Reply blocked = command(first_token, json::object{{"type", "AcceptResellerAgreement"}, {"partner_id", partner},
                                                    {"agreement_version", "2019-10"}});
  EXPECT_EQ(blocked.status, 403u) << blocked.body;
  Reply short_new = request(http::verb::post, "/v1/me/password",
                            json::serialize(json::object{{"old", temporary}, {"new", "short"}}), first_token);
  EXPECT_EQ(short_new.status, 400u);
  EXPECT_EQ(short_new.json().at("error").at("field").as_string(), "new");
  Reply changed = request(http::verb::post, "/v1/me/password",
                          json::serialize(json::object{{"old", temporary}, {"new", "a-long-new-password"}}), first_token);
  ASSERT_EQ(changed.status, 200u) << changed.body;
  const std::string& token = first_token;  // the same token may now do everything

  Reply accepted = command(token, json::object{{"type", "AcceptResellerAgreement"}, {"partner_id", partner},
                                               {"agreement_version", "2019-10"}});
  ASSERT_EQ(accepted.status, 200u) << accepted.body;

  Reply created = command(token, json::object{{"type", "CreateUser"}, {"partner_id", partner},
                                              {"profile", {{"first_name", "Sam"}, {"last_name", "Sales"},
                                                           {"email", "sam@contoso.example"}, {"phone", ""}}},
                                              {"roles", json::array{"sales_agent"}}});
  ASSERT_EQ(created.status, 200u) << created.body;
  EXPECT_EQ(created.json().at("result").at("temporary_password").as_string().size(), 16u);

  // The operator publishes an offer orderable now; the admin pins it.
  Reply offer = command(operator_token_, azure_plan_offer_command());
  ASSERT_EQ(offer.status, 200u) << offer.body;
  Reply prices = command(operator_token_, azure_plan_price_list_of_this_month());
  ASSERT_EQ(prices.status, 200u) << prices.body;
  Reply pinned = command(token, json::object{{"type", "PinOffer"}, {"partner_id", partner}, {"offer_id", "azure-plan"}});
  ASSERT_EQ(pinned.status, 200u) << pinned.body;
  const uint64_t written = pinned.json().at("last_position").to_number<uint64_t>();

  // Read-your-writes: the catalog as of the pin.
  Reply catalog = request(http::verb::get, "/v1/partners/" + partner + "/catalog?min_position=" + std::to_string(written),
                          "", token);
  ASSERT_EQ(catalog.status, 200u) << catalog.body;
  EXPECT_NE(catalog.body.find("azure-plan"), std::string::npos) << catalog.body;
  Reply users = request(http::verb::get, "/v1/partners/" + partner + "/users?min_position=" + std::to_string(written),
                        "", token);
  ASSERT_EQ(users.status, 200u) << users.body;
  EXPECT_NE(users.body.find("sam@contoso.example"), std::string::npos);
  // A position the log has not reached: on a single node it was never written (404, at once).
  Reply too_early = request(http::verb::get, "/v1/partners/" + partner + "/profile?min_position=999999", "", token);
  EXPECT_EQ(too_early.status, 404u) << too_early.body;
  EXPECT_EQ(too_early.json().at("error").at("field").as_string(), "min_position");
  // No token: 401. The Sales agent may read the catalog, not the directory or pricing.
  EXPECT_EQ(request(http::verb::get, "/v1/partners/" + partner + "/users", "", "").status, 401u);
  const std::string sam = sign_in_and_change(
      partner, "sam@contoso.example", std::string(created.json().at("result").at("temporary_password").as_string()));
  EXPECT_EQ(request(http::verb::get, "/v1/partners/" + partner + "/catalog", "", sam).status, 200u);
  EXPECT_EQ(request(http::verb::get, "/v1/partners/" + partner + "/users", "", sam).status, 403u);
  EXPECT_EQ(request(http::verb::get, "/v1/pricing/US/USD/offers/azure-plan", "", sam).status, 403u);
  EXPECT_EQ(request(http::verb::get, "/v1/pricing/US/USD/offers/azure-plan", "", token).status, 200u);

  Reply events = request(http::verb::get, "/v1/streams/partner-" + partner + "?limit=2", "", token);
  ASSERT_EQ(events.status, 200u) << events.body;
  EXPECT_EQ(events.json().at("events").as_array().size(), 2u);
  Reply metrics = request(http::verb::get, "/metrics");
  EXPECT_NE(metrics.body.find("acct_commands_total{type=\"PinOffer\",code=\"ok\"} 1"), std::string::npos);
  EXPECT_NE(metrics.body.find("acct_log_fsync_seconds_bucket"), std::string::npos);
  EXPECT_EQ(request(http::verb::get, "/healthz").status, 200u);
}

TEST_F(ServerFixture, BadInputGetsA4xxWritesNothingAndTheServerStaysUp) {
  auto [partner, admin, temporary] = enroll();
  const std::string token = sign_in_and_change(partner, "ada@contoso.example", temporary);
  const uint64_t head = stack_->log().head().value();
  struct Case {
    const char* name;
    http::verb method;
    std::string target;
    std::string body;
    unsigned status;
  };
  const std::string huge(70 * 1024, 'x');
  const std::vector<Case> cases = {
      {"malformed JSON", http::verb::post, "/v1/commands", "{\"type\":", 400},
      {"wrong types", http::verb::post, "/v1/commands",
       R"({"type":"PinOffer","command_id":"9a1b2c3d-4e5f-4a6b-8c7d-000000000001","partner_id":7,"offer_id":"x"})", 400},
      {"unknown command", http::verb::post, "/v1/commands",
       R"({"type":"DropDatabase","command_id":"9a1b2c3d-4e5f-4a6b-8c7d-000000000002"})", 400},
      {"missing fields", http::verb::post, "/v1/commands",
       R"({"type":"PinOffer","command_id":"9a1b2c3d-4e5f-4a6b-8c7d-000000000003"})", 400},
      {"huge body", http::verb::post, "/v1/commands", huge, 413},
      {"invalid UTF-8", http::verb::post, "/v1/commands",
       "{\"type\":\"PinOffer\",\"command_id\":\"9a1b2c3d-4e5f-4a6b-8c7d-000000000004\",\"partner_id\":\"\xff\xfe\"}", 400},
      {"stream id with ../", http::verb::get, "/v1/streams/..%2F..%2Fetc%2Fpasswd", "", 404},
      {"stream id with NUL", http::verb::get, "/v1/streams/partner%00x", "", 400},
      {"stream id with bad characters", http::verb::get, "/v1/streams/a%20b", "", 400},
      {"negative limit", http::verb::get, "/v1/events?limit=-1", "", 400},
      {"enormous limit", http::verb::get, "/v1/events?limit=99999999999999999999999", "", 400},
      {"unknown route", http::verb::get, "/v1/nothing", "", 404},
      {"wrong method", http::verb::delete_, "/v1/commands", "", 405},
  };
  for (const Case& c : cases) {
    Reply r = request(c.method, c.target, c.body, token);
    EXPECT_EQ(r.status, c.status) << c.name << ": " << r.body;
    if (r.status >= 400 && r.status < 500 && r.status != 413) {
      EXPECT_TRUE(r.json().is_object() && r.json().as_object().contains("error")) << c.name << ": " << r.body;
    }
  }
  // A 405 names the methods the path has (RFC 9110, 15.5.6).
  EXPECT_EQ(request(http::verb::delete_, "/v1/commands", "", token).header("allow"), "POST");
  EXPECT_EQ(request(http::verb::put, "/v1/partners/" + partner + "/users", "", token).header("allow"), "GET");
  // A header flood: a 431, or the connection closed, never a crash.
  Reply flood = request(http::verb::get, "/healthz", "", token, {{"X-Flood", std::string(16 * 1024, 'a')}});
  EXPECT_TRUE(flood.status == 431 || flood.status == 0) << flood.status;
  // A slow client that never finishes its request is cut off by the read timeout.
  {
    net::io_context ioc;
    tcp::socket socket(ioc);
    socket.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), server_->port()));
    net::write(socket, net::buffer(std::string("POST /v1/commands HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{")));
    char byte;
    beast::error_code ec;
    const auto start = std::chrono::steady_clock::now();
    socket.read_some(net::buffer(&byte, 1), ec);  // returns when the server closes
    EXPECT_TRUE(ec) << "the server should have closed the connection";
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(20));
  }
  EXPECT_EQ(stack_->log().head().value(), head) << "bad input must write nothing";
  EXPECT_EQ(request(http::verb::get, "/healthz").status, 200u);
}

TEST_F(ServerFixture, TokensAreCheckedAndDieWithTheUser) {
  auto [partner, admin, temporary] = enroll();
  const std::string token = sign_in_and_change(partner, "ada@contoso.example", temporary);
  const json::object update{{"type", "UpdateSupportProfile"}, {"partner_id", partner},
                            {"support", {{"email", "help@contoso.example"}, {"phone", ""}, {"website", ""}}}};
  EXPECT_EQ(command("", update).status, 401u);
  EXPECT_EQ(command("acct_not-a-token", update).status, 401u);
  EXPECT_EQ(command(std::string(TokenStore::kPrefix) + std::string(43, 'A'), update).status, 401u);
  EXPECT_EQ(command(token, update).status, 200u);
  // Identity comes from the token: a body cannot claim another actor.
  json::object claim = update;
  claim["actor"] = "operator:root";
  EXPECT_EQ(command(token, claim).status, 400u);  // unknown field

  // Wrong passwords slow the account down.
  for (int i = 0; i < 3; ++i) {
    request(http::verb::post, "/v1/sessions",
            json::serialize(json::object{{"partner_id", partner}, {"email", "ada@contoso.example"}, {"password", "wrong-password-x"}}));
  }
  Reply limited = request(http::verb::post, "/v1/sessions",
                          json::serialize(json::object{{"partner_id", partner}, {"email", "ada@contoso.example"},
                                                       {"password", "a-long-new-password"}}));
  EXPECT_EQ(limited.status, 429u) << limited.body;

  // A second admin resets the first one's password: the first one's tokens die.
  Reply created = command(token, json::object{{"type", "CreateUser"}, {"partner_id", partner},
                                              {"profile", {{"first_name", "Bob"}, {"last_name", "Admin"},
                                                           {"email", "bob@contoso.example"}, {"phone", ""}}},
                                              {"roles", json::array{"global_admin"}}});
  ASSERT_EQ(created.status, 200u) << created.body;
  const std::string bob_token = sign_in_and_change(
      partner, "bob@contoso.example", std::string(created.json().at("result").at("temporary_password").as_string()));
  Reply reset = command(bob_token, json::object{{"type", "ResetPassword"}, {"partner_id", partner}, {"user_id", admin}});
  ASSERT_EQ(reset.status, 200u) << reset.body;
  EXPECT_EQ(command(token, update).status, 401u);
  // No token value ever reaches the data folder.
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir_)) {
    if (!entry.is_regular_file() || entry.path().filename() == "operator.token") continue;
    std::ifstream in(entry.path(), std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_EQ(bytes.find(bob_token), std::string::npos) << entry.path();
    EXPECT_EQ(bytes.find(token), std::string::npos) << entry.path();
  }
}

TEST_F(ServerFixture, TheOperatorRebuildsAViewWhileQueriesGoOn) {
  auto [partner, admin, temporary] = enroll();
  const std::string ada = sign_in_and_change(partner, "ada@contoso.example", temporary);
  // Every query reads at least what was written before the rebuild.
  const std::string users = "/v1/partners/" + partner + "/users?min_position=" +
                            std::to_string(stack_->log().head().value());
  std::atomic<bool> done{false};
  std::atomic<int> answered{0}, failed{0};
  std::thread reader([&] {
    for (int i = 0; i < 200 && !done.load(); ++i) {  // bounded
      Reply r = request(http::verb::get, users, "", ada);
      if (r.status == 200 && r.body.find("ada@contoso.example") != std::string::npos) {
        ++answered;
      } else if (failed++ == 0) {
        ADD_FAILURE() << "during the rebuild: " << r.status << " " << r.body;
      }
    }
  });
  EXPECT_EQ(request(http::verb::post, "/v1/views/directory/rebuild", "", ada).status, 403u);
  Reply rebuilt = request(http::verb::post, "/v1/views/directory/rebuild", "", operator_token_);
  done = true;
  reader.join();
  ASSERT_EQ(rebuilt.status, 200u) << rebuilt.body;
  EXPECT_EQ(request(http::verb::post, "/v1/views/nothing/rebuild", "", operator_token_).status, 404u);
  EXPECT_GT(answered.load(), 0);
  EXPECT_EQ(failed.load(), 0) << "a query during the rebuild did not see the full directory";
}

// Price lists as files (issue 22): the same answers as CSV, asked for by
// `format=csv` or by `Accept: text/csv`, with the same authorization.
TEST_F(ServerFixture, PriceListsDownloadAsCsvWithAByteOrderMark) {
  auto [partner, admin, temporary] = enroll();
  const std::string ada = sign_in_and_change(partner, "ada@contoso.example", temporary);
  ASSERT_EQ(command(operator_token_, azure_plan_offer_command()).status, 200u);
  Reply published = command(operator_token_, azure_plan_price_list_of_this_month());
  ASSERT_EQ(published.status, 200u) << published.body;
  const std::string at = "min_position=" + std::to_string(published.json().at("last_position").to_number<uint64_t>());

  Reply list = request(http::verb::get, "/v1/pricing/US/USD?format=csv&" + at, "", ada);
  ASSERT_EQ(list.status, 200u) << list.body;
  EXPECT_EQ(list.header("content-type"), "text/csv; charset=utf-8");
  EXPECT_EQ(list.header("content-disposition").rfind("attachment; filename=\"price-list-US-USD-", 0), 0u)
      << list.header("content-disposition");
  ASSERT_EQ(list.body.rfind("\xEF\xBB\xBF" "Change Code,Valid From,Valid To,Offer Display Name,Offer ID,", 0), 0u)
      << list.body;
  EXPECT_NE(list.body.find("\r\nADD,"), std::string::npos) << list.body;
  EXPECT_NE(list.body.find(",Azure plan,azure-plan,corporate,1 Month,"), std::string::npos) << list.body;
  // The JSON answer has the same rows.
  Reply as_json = request(http::verb::get, "/v1/pricing/US/USD?" + at, "", ada);
  ASSERT_EQ(as_json.status, 200u) << as_json.body;
  EXPECT_EQ(as_json.header("content-type"), "application/json");
  EXPECT_EQ(as_json.json().as_array().at(0).at("rows").as_array().size(), 1u);

  // The Accept header alone asks for CSV too; format=json wins over it.
  Reply accepted = request(http::verb::get, "/v1/pricing/US/USD?" + at, "", ada, {{"Accept", "text/csv"}});
  EXPECT_EQ(accepted.status, 200u);
  EXPECT_EQ(accepted.body, list.body);
  EXPECT_EQ(request(http::verb::get, "/v1/pricing/US/USD?format=json&" + at, "", ada, {{"Accept", "text/csv"}})
                .header("content-type"),
            "application/json");

  // Next month's preview and a diff of two months.
  Reply preview = request(http::verb::get, "/v1/pricing/US/USD/preview?format=csv&" + at, "", ada);
  EXPECT_EQ(preview.status, 200u) << preview.body;
  EXPECT_EQ(preview.header("content-disposition").rfind("attachment; filename=\"price-list-preview-US-USD-", 0), 0u);
  Reply diff = request(http::verb::get, "/v1/pricing/US/USD/diff?from_month=2020-01&to_month=2020-02&format=csv&" + at,
                       "", ada);
  ASSERT_EQ(diff.status, 200u) << diff.body;
  EXPECT_EQ(diff.header("content-disposition"), "attachment; filename=\"price-list-diff-US-USD-2020-01-to-2020-02.csv\"");
  EXPECT_EQ(diff.body.rfind("\xEF\xBB\xBF" "Difference,", 0), 0u) << diff.body;

  // Clear errors, naming the field; the same authorization as the JSON.
  Reply bad = request(http::verb::get, "/v1/pricing/US/USD?format=xml", "", ada);
  EXPECT_EQ(bad.status, 400u);
  EXPECT_EQ(bad.json().at("error").at("field").as_string(), "format");
  Reply no_month = request(http::verb::get, "/v1/pricing/US/USD/diff?from_month=2020-01&format=csv", "", ada);
  EXPECT_EQ(no_month.status, 400u);
  EXPECT_EQ(no_month.json().at("error").at("field").as_string(), "to_month");
  for (const auto& [target, field] : {std::pair{"/v1/pricing/us/USD", "market"}, std::pair{"/v1/pricing/ZZ/USD", "market"},
                                      std::pair{"/v1/pricing/US/usd/preview", "currency"},
                                      std::pair{"/v1/pricing/US/USD/offers/bad%20id/history", "offer_id"}}) {
    Reply r = request(http::verb::get, target, "", ada);
    EXPECT_EQ(r.status, 400u) << target << ": " << r.body;
    EXPECT_EQ(r.json().at("error").at("field").as_string(), field) << target;
  }
  EXPECT_EQ(request(http::verb::get, "/v1/pricing/US/USD?format=csv", "", "").status, 401u);
}

TEST_F(ServerFixture, TwoGlobalAdminsDemotingEachOtherOverHttpLeaveOne) {
  auto [partner, admin, temporary] = enroll();
  const std::string ada = sign_in_and_change(partner, "ada@contoso.example", temporary);
  Reply created = command(ada, json::object{{"type", "CreateUser"}, {"partner_id", partner},
                                            {"profile", {{"first_name", "Bob"}, {"last_name", "Admin"},
                                                         {"email", "bob@contoso.example"}, {"phone", ""}}},
                                            {"roles", json::array{"global_admin"}}});
  ASSERT_EQ(created.status, 200u);
  const std::string bob_id(created.json().at("result").at("user_id").as_string());
  const std::string bob = sign_in_and_change(
      partner, "bob@contoso.example", std::string(created.json().at("result").at("temporary_password").as_string()));
  Reply a, b;
  std::thread ta([&] {
    a = command(ada, json::object{{"type", "RemoveRole"}, {"partner_id", partner}, {"user_id", bob_id}, {"role", "global_admin"}});
  });
  std::thread tb([&] {
    b = command(bob, json::object{{"type", "RemoveRole"}, {"partner_id", partner}, {"user_id", admin}, {"role", "global_admin"}});
  });
  ta.join();
  tb.join();
  EXPECT_EQ((a.status == 200) + (b.status == 200), 1) << a.body << " / " << b.body;
  const unsigned loser = a.status == 200 ? b.status : a.status;
  EXPECT_TRUE(loser == 403 || loser == 422) << loser;
}

TEST_F(ServerFixture, OneLogSpeaksTheShardPositionTokensToo) {
  // A client written for a cluster with shards works against one log: the
  // answer names shard 0 and its token, and reads take such tokens.
  auto [partner, admin, temporary] = enroll();
  const std::string token = sign_in_and_change(partner, "ada@contoso.example", temporary);
  Reply accepted = command(token, json::object{{"type", "AcceptResellerAgreement"}, {"partner_id", partner},
                                               {"agreement_version", "2019-10"}});
  ASSERT_EQ(accepted.status, 200u) << accepted.body;
  EXPECT_EQ(accepted.json().at("shard").as_int64(), 0);
  const uint64_t last = accepted.json().at("last_position").to_number<uint64_t>();
  const std::string at(accepted.json().at("min_position").as_string());
  EXPECT_EQ(at, "s0:" + std::to_string(last));
  const std::string users = "/v1/partners/" + partner + "/users?min_position=";
  EXPECT_EQ(request(http::verb::get, users + at, "", token).status, 200u);
  EXPECT_EQ(request(http::verb::get, users + "s0:" + std::to_string(last + 1000), "", token).status, 404u);
  // ?shard= on one log: 0 is this log, another shard does not exist here (404), 256 is malformed (400).
  EXPECT_EQ(request(http::verb::get, "/v1/events?shard=0&limit=1", "", operator_token_).status, 200u);
  for (const auto& [query, status] : {std::pair{"shard=1", 404u}, std::pair{"shard=99", 404u},
                                      std::pair{"shard=256", 400u}, std::pair{"shard=x", 400u}}) {
    for (const char* path : {"/v1/events?", "/v1/checkpoints/latest?", "/v1/proofs/consistency?from=1&to=1&"}) {
      Reply r = request(http::verb::get, std::string(path) + query, "", operator_token_);
      EXPECT_EQ(r.status, status) << path << query << ": " << r.body;
      EXPECT_EQ(r.json().at("error").at("field").as_string(), "shard") << path << query;
    }
  }
  EXPECT_EQ(request(http::verb::get, users + "s1:" + std::to_string(last + 1000) + "," + at, "", token).status, 200u)
      << "another shard's position is not this log's to wait for";
  Reply bad = request(http::verb::get, users + "s0:", "", token);
  EXPECT_EQ(bad.status, 400u);
  EXPECT_EQ(bad.json().at("error").at("field").as_string(), "min_position") << bad.body;
}

}  // namespace
}  // namespace accountable
