// The routes of a node with S = 3 shards (server/shard_router.h), end to end
// over real sockets: three stacks, token stores, views and Apis as `acct serve
// --cluster --shards 3` builds them (without Kafka: no replicator), behind
// one ShardRouter. Partners land on every shard; the catalog and the price
// lists stay in shard 0 and are read from there by the other shards.
#include "server/shard_router.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "aggregates/engine.h"
#include "cluster/shard_map.h"
#include "server/shard_positions.h"
#include "server/testing/http_test_client.h"

namespace accountable {
namespace {

using namespace http_test;  // NOLINT: Reply, send_request, json

constexpr uint32_t kShards = 3;

TEST(ShardPositions, PlainNumbersAndShardTokens) {
  EXPECT_EQ(*position_for("12", 0), std::optional<uint64_t>(12));
  EXPECT_EQ(*position_for("12", 2), std::optional<uint64_t>(12));
  EXPECT_EQ(*position_for("s1:5,s2:7", 1), std::optional<uint64_t>(5));
  EXPECT_EQ(*position_for("s1:5,s2:7", 2), std::optional<uint64_t>(7));
  EXPECT_EQ(*position_for("s1:5,s2:7", 0), std::nullopt);
  EXPECT_EQ(*position_for("s1:5,s1:9", 1), std::optional<uint64_t>(9));  // the later one
  EXPECT_EQ(position_token(2, 41), "s2:41");
  for (const char* bad : {"", "s1", "s1:", "x1:2", "s:2", "s1:2,", "s1:abc", "-1", "s1:99999999999999999999",
                          "99999999999999999999"}) {
    auto r = position_for(bad, 1);
    ASSERT_FALSE(r.is_ok()) << bad;
    EXPECT_EQ(r.status().field(), "min_position") << bad;
  }
}

class ShardedServer : public ::testing::Test {
 protected:
  struct Shard {
    std::unique_ptr<AccountStack> stack;
    std::unique_ptr<TokenStore> tokens;
    std::unique_ptr<ViewSet> views;
    std::unique_ptr<Api> api;
  };

  void SetUp() override {
    dir_ = (std::filesystem::temp_directory_path() / ("acct-shards-" + std::to_string(::getpid()))).string();
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    shards_.resize(kShards);
    std::vector<const EventLog*> logs;
    for (uint32_t s = 0; s < kShards; ++s) {
      AccountStackOptions options;
      options.data_dir = dir_ + "/shard-" + std::to_string(s);
      options.credentials.opslimit = 1;  // argon2id at its minimum cost: tests are not about its strength
      options.credentials.memlimit = 8192;
      if (s > 0) options.catalog_shard = shards_[0].stack.get();
      auto stack = AccountStack::open(options);
      ASSERT_TRUE(stack.is_ok()) << stack.status().to_string();
      shards_[s].stack = std::move(*stack);
      auto tokens = TokenStore::open(posix_env(), options.data_dir, SystemClock().now(), nullptr,
                                     dir_ + "/operator.token");
      ASSERT_TRUE(tokens.is_ok()) << tokens.status().to_string();
      shards_[s].tokens = std::move(*tokens);
      shards_[s].tokens->set_token_shard(static_cast<uint8_t>(s));
      auto views = ViewSet::open(options.data_dir, shards_[s].stack->log(), &shards_[s].stack->cipher());
      ASSERT_TRUE(views.is_ok()) << views.status().to_string();
      shards_[s].views = std::move(*views);
      ASSERT_TRUE(shards_[s].views->start().is_ok());
      logs.push_back(&shards_[s].stack->log());
    }
    metrics_ = std::make_unique<Metrics>(logs);
    std::vector<ShardEndpoints> endpoints;
    for (uint32_t s = 0; s < kShards; ++s) {
      ApiOptions api_options;
      api_options.min_position_wait = std::chrono::milliseconds(300);
      if (s > 0) api_options.catalog_views = shards_[0].views.get();
      api_options.shard = s;
      shards_[s].api = std::make_unique<Api>(*shards_[s].stack, *shards_[s].tokens, *metrics_,
                                             shards_[s].views.get(), api_options);
      endpoints.push_back({&shards_[s].api->router(), shards_[s].tokens.get(), &shards_[s].stack->log()});
    }
    router_ = std::make_unique<ShardRouter>(std::move(endpoints),
                                            [](std::string_view p) { return cluster::shard_of(p, kShards); });
    HttpServerOptions http;
    http.address = "127.0.0.1";
    http.port = 0;
    http.workers = 8;
    server_ = std::make_unique<HttpServer>(http, router_->router());
    ASSERT_TRUE(server_->start().is_ok());
    std::ifstream in(dir_ + "/operator.token");
    std::getline(in, operator_token_);
    ASSERT_FALSE(operator_token_.empty());
  }

  void TearDown() override {
    if (server_) server_->stop(std::chrono::milliseconds(2000));
    for (Shard& s : shards_) {
      if (s.views) (void)s.views->stop();
    }
    for (auto it = shards_.rbegin(); it != shards_.rend(); ++it) {
      if (it->stack) (void)it->stack->close();
    }
    server_.reset();
    router_.reset();
    shards_.clear();
    std::filesystem::remove_all(dir_);
  }

  Reply request(http::verb method, const std::string& target, const std::string& body = "",
                const std::string& token = "") {
    return send_request(server_->port(), method, target, body, token);
  }
  Reply command(const std::string& token, json::object c, CommandId id = CommandId::random()) {
    c["command_id"] = id.to_string();
    return request(http::verb::post, "/v1/commands", json::serialize(c), token);
  }

  // An EnrollPartner command id whose partner lands on `shard` (found by
  // counting: the partner id is derived from the command id).
  static CommandId command_id_for_shard(uint32_t shard) {
    for (uint64_t n = 1; n < 10'000; ++n) {
      CommandId::Bytes b{};
      for (int i = 0; i < 8; ++i) b[i] = static_cast<unsigned char>(n >> (8 * i));
      b[6] = static_cast<unsigned char>((b[6] & 0x0f) | 0x40);
      b[8] = static_cast<unsigned char>((b[8] & 0x3f) | 0x80);
      const CommandId id(b);
      if (cluster::shard_of(Engine::enrolled_partner(id).to_string(), kShards) == shard) return id;
    }
    ADD_FAILURE() << "no command id for shard " << shard;
    return CommandId::random();
  }

  // Enrols `enroll` on `shard`, signs its admin in and changes the temporary
  // password; (partner id, token), empty on a failure (reported).
  std::pair<std::string, std::string> enroll_and_sign_in(uint32_t shard, const std::string& email,
                                                          const json::object& enroll) {
    Reply enrolled = command(operator_token_, enroll, command_id_for_shard(shard));
    EXPECT_EQ(enrolled.status, 200u) << enrolled.body;
    if (enrolled.status != 200) return {};
    const std::string partner(enrolled.json().at("result").at("partner_id").as_string());
    const std::string temporary(enrolled.json().at("result").at("temporary_password").as_string());
    Reply signed_in = request(http::verb::post, "/v1/sessions",
                              json::serialize(json::object{{"partner_id", partner}, {"email", email},
                                                           {"password", temporary}}));
    EXPECT_EQ(signed_in.status, 200u) << signed_in.body;
    if (signed_in.status != 200) return {};
    const std::string token(signed_in.json().at("token").as_string());
    Reply changed = request(http::verb::post, "/v1/me/password",
                            json::serialize(json::object{{"old", temporary}, {"new", "a-long-new-password"}}), token);
    EXPECT_EQ(changed.status, 200u) << changed.body;
    return {partner, token};
  }

  std::string dir_;
  std::vector<Shard> shards_;
  std::unique_ptr<Metrics> metrics_;
  std::unique_ptr<ShardRouter> router_;
  std::unique_ptr<HttpServer> server_;
  std::string operator_token_;
};

std::string month_text(const char* format) {
  const time_t secs = static_cast<time_t>(SystemClock().now().micros / 1'000'000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char out[32];
  std::strftime(out, sizeof out, format, &tm);
  return out;
}

TEST_F(ShardedServer, PartnersOnEveryShardReadTheCatalogAndPriceListsOfShardZero) {
  // The operator's catalog and price list: shard 0.
  Reply offer = command(operator_token_, azure_plan_offer_command());
  ASSERT_EQ(offer.status, 200u) << offer.body;
  EXPECT_EQ(offer.json().at("shard").as_int64(), 0);
  const json::object list = azure_plan_price_list_command(
      std::stoi(month_text("%Y")), std::stoi(month_text("%m")), month_text("%Y-%m-01"),
      format_timestamp(Timestamp{SystemClock().now().micros + 40LL * 24 * 3600 * 1'000'000}));
  Reply prices = command(operator_token_, list);
  ASSERT_EQ(prices.status, 200u) << prices.body;
  const std::string prices_at(prices.json().at("min_position").as_string());
  EXPECT_EQ(prices_at.rfind("s0:", 0), 0u) << prices_at;
  EXPECT_EQ(shards_[1].stack->log().stream_version(catalog_stream()).value(), 0u);

  for (uint32_t shard = 0; shard < kShards; ++shard) {
    SCOPED_TRACE("shard " + std::to_string(shard));
    // Enrolment goes to the shard of the partner it creates.
    json::object enroll = enroll_command_json("ada" + std::to_string(shard) + "@contoso.example");
    Reply enrolled = command(operator_token_, enroll, command_id_for_shard(shard));
    ASSERT_EQ(enrolled.status, 200u) << enrolled.body;
    const std::string partner(enrolled.json().at("result").at("partner_id").as_string());
    ASSERT_EQ(enrolled.json().at("shard").as_int64(), shard);
    for (uint32_t s = 0; s < kShards; ++s) {
      EXPECT_EQ(shards_[s].stack->log().stream_version("partner-" + partner).value() > 0, s == shard) << s;
    }
    // Sign-in by the body's partner, the password change by the token.
    const std::string temporary(enrolled.json().at("result").at("temporary_password").as_string());
    Reply signed_in = request(http::verb::post, "/v1/sessions",
                              json::serialize(json::object{{"partner_id", partner},
                                                           {"email", "ada" + std::to_string(shard) + "@contoso.example"},
                                                           {"password", temporary}}));
    ASSERT_EQ(signed_in.status, 200u) << signed_in.body;
    const std::string token(signed_in.json().at("token").as_string());
    EXPECT_EQ(TokenStore::shard_of_token(token), std::optional<uint8_t>(shard)) << "the token names its shard";
    for (uint32_t s = 0; s < kShards; ++s) {
      EXPECT_EQ(shards_[s].tokens->authenticate(token, SystemClock().now()).is_ok(), s == shard) << s;
    }
    Reply changed = request(http::verb::post, "/v1/me/password",
                            json::serialize(json::object{{"old", temporary}, {"new", "a-long-new-password"}}), token);
    ASSERT_EQ(changed.status, 200u) << changed.body;

    Reply accepted = command(token, json::object{{"type", "AcceptResellerAgreement"}, {"partner_id", partner},
                                                 {"agreement_version", "2019-10"}});
    ASSERT_EQ(accepted.status, 200u) << accepted.body;
    // PinOffer decides on shard 0's catalog, wherever the partner is.
    Reply unknown = command(token, json::object{{"type", "PinOffer"}, {"partner_id", partner}, {"offer_id", "nope"}});
    EXPECT_GE(unknown.status, 400u) << unknown.body;
    Reply pinned = command(token, json::object{{"type", "PinOffer"}, {"partner_id", partner}, {"offer_id", "azure-plan"}});
    ASSERT_EQ(pinned.status, 200u) << pinned.body;
    const std::string pinned_at(pinned.json().at("min_position").as_string());
    EXPECT_EQ(pinned_at, position_token(shard, pinned.json().at("last_position").to_number<uint64_t>()));

    // The catalog view joins this shard's pins with shard 0's offers; the
    // token names both shards, and each waits for its own position.
    Reply catalog = request(http::verb::get, "/v1/partners/" + partner + "/catalog?min_position=" + pinned_at + "," +
                                                 (shard == 0 ? std::string("s1:1") : prices_at),
                            "", token);
    ASSERT_EQ(catalog.status, 200u) << catalog.body;
    const json::value catalog_json = catalog.json();
    const json::array& pins = catalog_json.at("pinned").as_array();
    ASSERT_EQ(pins.size(), 1u) << catalog.body;
    EXPECT_EQ(pins[0].at("display_name").as_string(), "Azure plan") << catalog.body;
    EXPECT_TRUE(pins[0].at("available").as_bool()) << catalog.body;

    // The price list, read with this shard's token from shard 0's view.
    Reply pricing = request(http::verb::get, "/v1/pricing/US/USD?min_position=" + prices_at, "", token);
    ASSERT_EQ(pricing.status, 200u) << pricing.body;
    EXPECT_NE(pricing.body.find("azure-plan"), std::string::npos) << pricing.body;

    // A position of this shard beyond its head was never written (one node
    // takes every shard's writes here: 404); one of another shard is not this
    // shard's to wait for.
    const std::string other = "s" + std::to_string((shard + 1) % kShards) + ":999999";
    EXPECT_EQ(request(http::verb::get, "/v1/partners/" + partner + "/users?min_position=" + other, "", token).status,
              200u);
    EXPECT_EQ(request(http::verb::get,
                      "/v1/partners/" + partner + "/users?min_position=s" + std::to_string(shard) + ":999999", "", token)
                  .status,
              404u);

    // Raw events: the partner's shard, found by ?partner=, by the stream's
    // name, and by the caller's token.
    Reply events = request(http::verb::get, "/v1/events?partner=" + partner, "", operator_token_);
    ASSERT_EQ(events.status, 200u) << events.body;
    EXPECT_GE(events.json().at("events").as_array().size(), 2u);
    Reply own = request(http::verb::get, "/v1/events", "", token);
    ASSERT_EQ(own.status, 200u) << own.body;
    EXPECT_EQ(own.json().at("events").as_array().size(), events.json().at("events").as_array().size());
    Reply stream = request(http::verb::get, "/v1/streams/partner-" + partner, "", operator_token_);
    ASSERT_EQ(stream.status, 200u) << stream.body;
    EXPECT_GE(stream.json().at("events").as_array().size(), 2u) << stream.body;
  }

  // A shard other than 0 refuses a catalog command outright.
  CommandPipeline on_shard_one(*shards_[1].stack);
  auto refused = on_shard_one.run(Operator{}, json::serialize(json::object{
                                                  {"type", "RetireOffer"},
                                                  {"command_id", CommandId::random().to_string()},
                                                  {"offer_id", "azure-plan"}}));
  ASSERT_FALSE(refused.is_ok());
  EXPECT_EQ(refused.status().field(), "type") << refused.status().to_string();

  // Malformed tokens and shards are refused by name; a shard the cluster lacks is 404.
  Reply missing = request(http::verb::get, "/v1/events?shard=3", "", operator_token_);
  EXPECT_EQ(missing.status, 404u);
  EXPECT_NE(missing.body.find("\"field\":\"shard\""), std::string::npos) << missing.body;
  Reply bad = request(http::verb::get, "/v1/events?shard=256", "", operator_token_);
  EXPECT_EQ(bad.status, 400u);
  EXPECT_NE(bad.body.find("\"field\":\"shard\""), std::string::npos) << bad.body;
  Reply bad_position = request(http::verb::get, "/v1/pricing/US/USD?min_position=s0:x", "", operator_token_);
  EXPECT_EQ(bad_position.status, 400u);
  EXPECT_NE(bad_position.body.find("min_position"), std::string::npos) << bad_position.body;

  // Health and metrics cover every shard.
  Reply health = request(http::verb::get, "/healthz");
  ASSERT_EQ(health.status, 200u) << health.body;
  ASSERT_EQ(health.json().at("shards").as_array().size(), kShards) << health.body;
  EXPECT_EQ(health.json().at("shards").as_array()[2].at("shard").as_int64(), 2);
  Reply metrics = request(http::verb::get, "/metrics");
  ASSERT_EQ(metrics.status, 200u);
  for (uint32_t s = 0; s < kShards; ++s) {
    EXPECT_NE(metrics.body.find("acct_log_head_position{shard=\"" + std::to_string(s) + "\"}"), std::string::npos);
  }
  // A rebuild runs on every shard.
  Reply rebuilt = request(http::verb::post, "/v1/views/catalog/rebuild", "", operator_token_);
  ASSERT_EQ(rebuilt.status, 200u) << rebuilt.body;
  EXPECT_EQ(rebuilt.json().at("shards").as_array().size(), kShards);
}

// /v1/me/notifications follows the caller's token to their shard: a user of
// each shard reads their partner's suspension there, and marks it read there.
TEST_F(ShardedServer, NotificationsAreReadOnTheCallersShard) {
  for (uint32_t shard = 0; shard < kShards; ++shard) {
    SCOPED_TRACE("shard " + std::to_string(shard));
    const std::string email = "ada" + std::to_string(shard) + "@contoso.example";
    const auto [partner, token] = enroll_and_sign_in(shard, email, enroll_command_json(email));
    ASSERT_FALSE(token.empty());
    Reply suspended = command(operator_token_, json::object{{"type", "SuspendPartner"}, {"partner_id", partner},
                                                            {"reason", "abuse"}});
    ASSERT_EQ(suspended.status, 200u) << suspended.body;
    const std::string at(suspended.json().at("min_position").as_string());
    Reply feed = request(http::verb::get, "/v1/me/notifications?min_position=" + at, "", token);
    ASSERT_EQ(feed.status, 200u) << feed.body;
    EXPECT_EQ(feed.header("accountable-shard"), std::to_string(shard));
    const json::value body = feed.json();
    const json::array& items = body.at("notifications").as_array();
    ASSERT_FALSE(items.empty()) << feed.body;
    EXPECT_EQ(items.at(0).at("kind").as_string(), "partner_suspended");
    EXPECT_EQ(items.at(0).at("partner_id").as_string(), partner);
    Reply marked = request(http::verb::post, "/v1/me/notifications/read",
                           json::serialize(json::object{{"up_to", items.at(0).at("id")}}), token);
    ASSERT_EQ(marked.status, 200u) << marked.body;
    const std::string marked_at(marked.json().at("min_position").as_string());
    EXPECT_EQ(marked_at.rfind("s" + std::to_string(shard) + ":", 0), 0u) << marked_at;
    Reply after = request(http::verb::get, "/v1/me/notifications?unread=true&min_position=" + marked_at, "", token);
    ASSERT_EQ(after.status, 200u) << after.body;
    EXPECT_EQ(after.json().at("unread_count").to_number<uint64_t>(), 0u) << after.body;
  }
}

// The operator's list of expiring tax certificates spans every shard: one page
// in the global order, and the cursor pages across shards without a repeat or a gap.
TEST_F(ShardedServer, ExpiringTaxCertificatesOfEveryShardMergeIntoOnePage) {
  const int64_t now = SystemClock().now().micros;
  const int64_t day = 86'400'000'000LL;
  std::vector<std::string> filed;  // certificate refs
  std::string positions;
  for (uint32_t shard = 0; shard < kShards; ++shard) {
    const std::string email = "ada" + std::to_string(shard) + "@contoso.example";
    const auto [partner, token] = enroll_and_sign_in(shard, email, enroll_command_json(email));
    ASSERT_FALSE(token.empty());
    for (int i = 0; i < 2; ++i) {
      const std::string ref = "s" + std::to_string(shard) + "-" + std::to_string(i);
      // Interleaved across shards: shard s, certificate i expires on day 5 + 3i + s.
      Reply r = command(token, json::object{{"type", "FileTaxExemption"},
                                            {"partner_id", partner},
                                            {"jurisdiction", "WA"},
                                            {"certificate_ref", ref},
                                            {"valid_from", format_timestamp(Timestamp{now - 300 * day})},
                                            {"expires_on", format_timestamp(Timestamp{now + (5 + 3 * i + shard) * day})}});
      ASSERT_EQ(r.status, 200u) << r.body;
      filed.push_back(ref);
      if (i == 1) positions += (positions.empty() ? "" : ",") + std::string(r.json().at("min_position").as_string());
    }
  }
  const std::string base = "/v1/tax-exemptions/expiring?min_position=" + positions;
  Reply all = request(http::verb::get, base, "", operator_token_);
  ASSERT_EQ(all.status, 200u) << all.body;
  const json::value body = all.json();
  std::vector<std::string> merged;
  for (const json::value& x : body.at("items").as_array()) merged.emplace_back(x.at("certificate_ref").as_string());
  EXPECT_EQ(merged, (std::vector<std::string>{"s0-0", "s1-0", "s2-0", "s0-1", "s1-1", "s2-1"}));
  EXPECT_TRUE(body.at("next").is_null());

  std::vector<std::string> paged;
  std::string after;
  for (int pages = 0; pages < 10; ++pages) {
    Reply r = request(http::verb::get, base + "&limit=4" + (after.empty() ? "" : "&after=" + after), "",
                      operator_token_);
    ASSERT_EQ(r.status, 200u) << r.body;
    const json::value page = r.json();
    for (const json::value& x : page.at("items").as_array()) paged.emplace_back(x.at("certificate_ref").as_string());
    if (page.at("next").is_null()) break;
    after = std::string(page.at("next").as_string());
  }
  EXPECT_EQ(paged, merged);
  // A partner user may not read every partner's list, on any shard.
  EXPECT_EQ(request(http::verb::get, base, "", "").status, 401u);
  EXPECT_EQ(request(http::verb::get, "/v1/tax-exemptions/expiring?within_days=0", "", operator_token_).status, 400u);
}

// The public directory spans every shard: one ranked page, and paging walks
// the merged order without a repeat or a gap.
TEST_F(ShardedServer, TheDirectoryOfEveryShardMergesIntoOnePage) {
  Reply offer = command(operator_token_, azure_plan_offer_command());
  ASSERT_EQ(offer.status, 200u) << offer.body;
  std::string positions;
  for (uint32_t shard = 0; shard < kShards; ++shard) {
    const std::string email = "ada" + std::to_string(shard) + "@contoso.example";
    json::object enroll = enroll_command_json(email);
    enroll["partner_name"] = "Partner " + std::to_string(kShards - shard);  // names in reverse shard order
    const auto [partner, token] = enroll_and_sign_in(shard, email, enroll);
    ASSERT_FALSE(token.empty());
    ASSERT_EQ(command(operator_token_, json::object{{"type", "SetAuthorizedRegions"}, {"partner_id", partner},
                                                    {"regions", json::array{"emea"}}})
                  .status,
              200u);
    // Shard 2's profile says "cloud" three times: the most relevant for q=cloud.
    const std::string description = shard == 2 ? "cloud cloud cloud migration" : "cloud services";
    Reply created = command(token, json::object{{"type", "CreateBusinessProfile"}, {"partner_id", partner},
                                                {"region", "emea"},
                                                {"details", {{"logo", nullptr}, {"description", description},
                                                             {"website", ""}, {"linkedin_url", ""},
                                                             {"industry_focus", json::array{}},
                                                             {"products", json::array{}},
                                                             {"service_types", json::array{}},
                                                             {"skills", json::array{}},
                                                             {"allow_vendor_endorsement", false},
                                                             {"target_customer_sizes", json::array{}},
                                                             {"refuse_referrals_outside_target_sizes", false}}}});
    ASSERT_EQ(created.status, 200u) << created.body;
    Reply published = command(token, json::object{{"type", "PublishBusinessProfile"}, {"partner_id", partner},
                                                  {"region", "emea"}});
    ASSERT_EQ(published.status, 200u) << published.body;
    positions += (positions.empty() ? "" : ",") + std::string(published.json().at("min_position").as_string());
  }
  auto names = [&](const std::string& query, bool* more = nullptr) {
    Reply r = request(http::verb::get, "/v1/directory/profiles?min_position=" + positions + "&" + query);
    EXPECT_EQ(r.status, 200u) << r.body;
    std::vector<std::string> out;
    const json::value body = r.json();
    for (const json::value& l : body.at("listings").as_array()) out.emplace_back(l.at("partner_name").as_string());
    if (more) *more = body.at("more").as_bool();
    return out;
  };
  EXPECT_EQ(names("q="), (std::vector<std::string>{"Partner 1", "Partner 2", "Partner 3"}));  // by name
  const std::vector<std::string> ranked = names("q=cloud");
  ASSERT_EQ(ranked.size(), 3u);
  EXPECT_EQ(ranked.front(), "Partner 1") << "shard 2's profile is the most relevant";
  std::vector<std::string> paged;
  for (int page = 1; page <= 3; ++page) {
    bool more = false;
    for (const std::string& n : names("q=cloud&limit=1&page=" + std::to_string(page), &more)) paged.push_back(n);
    EXPECT_EQ(more, page < 3) << page;
  }
  EXPECT_EQ(paged, ranked);
}

TEST(ShardRouterRoutes, EveryRouteOfTheApiHasAShardRule) {
  // Two empty shards are enough: building the router checks every route.
  const std::string dir =
      (std::filesystem::temp_directory_path() / ("acct-shard-rules-" + std::to_string(::getpid()))).string();
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  std::vector<std::unique_ptr<AccountStack>> stacks;
  std::vector<std::unique_ptr<TokenStore>> tokens;
  std::vector<std::unique_ptr<Api>> apis;
  Metrics* metrics = nullptr;
  std::vector<ShardEndpoints> endpoints;
  for (int s = 0; s < 2; ++s) {
    AccountStackOptions options;
    options.data_dir = dir + "/shard-" + std::to_string(s);
    auto stack = AccountStack::open(options);
    ASSERT_TRUE(stack.is_ok()) << stack.status().to_string();
    stacks.push_back(std::move(*stack));
    auto t = TokenStore::open(posix_env(), options.data_dir, SystemClock().now());
    ASSERT_TRUE(t.is_ok());
    tokens.push_back(std::move(*t));
  }
  Metrics shared(stacks[0]->log());
  metrics = &shared;
  for (int s = 0; s < 2; ++s) {
    apis.push_back(std::make_unique<Api>(*stacks[s], *tokens[s], *metrics, nullptr));
    endpoints.push_back({&apis[s]->router(), tokens[s].get(), &stacks[s]->log()});
  }
  EXPECT_NO_THROW({
    ShardRouter router(endpoints, [](std::string_view p) { return cluster::shard_of(p, 2); });
    EXPECT_EQ(router.router().routes().size(), apis[0]->router().routes().size());
  });
  apis.clear();
  for (auto& s : stacks) (void)s->close();
  stacks.clear();
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace accountable
