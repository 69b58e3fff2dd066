// Disk faults under a running server (issue 9): the event log runs over
// FaultInjectionEnv (testing/fault_env.h) through AccountStackOptions::env, the
// rest of the data folder (keys, secrets, tokens, views) on the real disk, and
// clients talk HTTP to 127.0.0.1 with the tests' Beast client
// (server/testing/http_test_client.h).
//
//  - Disk full during load: ENOSPC while clients send commands. Every refused
//    command gets 503 {"code":"no_space"} with Retry-After, whose message names
//    the cause and no server path; /healthz names the log store as degraded;
//    the log is not poisoned (the refused batch is cut off the file again), so
//    once space is freed the refused commands sent again with their ids and new
//    ones are accepted without a restart; after reopening every acknowledged
//    command is there at its positions and the log verifies.
//  - A failed fsync: writes are refused from then on (503, the cause named),
//    /healthz answers 503 with the reason, the reason is logged, and reads
//    (events, streams, views, sign-in) still work.
#include <gtest/gtest.h>
#include <spdlog/sinks/ringbuffer_sink.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <boost/json.hpp>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <thread>

#include "events/log_verify.h"
#include "projections/view_set.h"
#include "server/api.h"
#include "server/demo.h"
#include "server/http_server.h"
#include "server/testing/http_test_client.h"
#include "testing/fault_env.h"

namespace accountable {
namespace {

namespace json = boost::json;
using http_test::Reply;
using http_test::send_request;

// What a 200 to a command said: where its events are.
struct Ack {
  std::string command_id;
  uint64_t position = 0;
  uint64_t last_position = 0;
  std::vector<std::tuple<std::string, uint64_t, std::string>> events;  // stream, version, type
};

Ack ack_of(const Reply& r) {
  Ack a;
  json::value v = r.json();
  a.command_id = std::string(v.at("command_id").as_string());
  a.position = v.at("position").to_number<uint64_t>();
  a.last_position = v.at("last_position").to_number<uint64_t>();
  for (const json::value& e : v.at("events").as_array()) {
    a.events.emplace_back(std::string(e.at("stream").as_string()), e.at("version").to_number<uint64_t>(),
                          std::string(e.at("type").as_string()));
  }
  return a;
}

class DiskFaultFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = (std::filesystem::temp_directory_path() /
            ("acct-diskfault-" + std::to_string(::getpid()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name()))
               .string();
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);  // keys, secrets, tokens and views: the real disk
    // The log's folders in the in-memory file system: every parent must exist there.
    std::filesystem::path prefix;
    for (const auto& part : std::filesystem::path(dir_)) {
      prefix /= part;
      if (prefix.string() != "/") {
        ASSERT_TRUE(env_.create_dir(prefix.string()).is_ok()) << prefix;
      }
    }
    // Capture what the server logs (the reason of a refusal must be there).
    previous_logger_ = spdlog::default_logger();
    std::vector<spdlog::sink_ptr> sinks = previous_logger_->sinks();
    log_lines_ = std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(1000);
    sinks.push_back(log_lines_);
    auto capture = std::make_shared<spdlog::logger>("disk-fault-test", sinks.begin(), sinks.end());
    spdlog::set_default_logger(capture);

    start_stack();
    ASSERT_FALSE(HasFatalFailure());
    auto demo = seed_demo(*stack_, SystemClock().now());
    ASSERT_TRUE(demo.is_ok()) << demo.status().to_string();
    partner_ = demo->partner.to_string();
    start_server();
    ASSERT_FALSE(HasFatalFailure());
    Reply s = request(http::verb::post, "/v1/sessions",
                      json::serialize(json::object{{"partner_id", partner_},
                                                   {"email", std::string(kDemoAdminEmail)},
                                                   {"password", std::string(kDemoPassword)}}));
    ASSERT_EQ(s.status, 200u) << s.body;
    token_ = std::string(s.json().at("token").as_string());
  }

  void TearDown() override {
    stop_all().ignore();
    spdlog::set_default_logger(previous_logger_);
    std::filesystem::remove_all(dir_);
  }

  void start_stack() {
    AccountStackOptions options;
    options.data_dir = dir_;
    options.env = &env_;
    options.credentials.opslimit = 1;  // argon2id at its minimum cost
    options.credentials.memlimit = 8192;
    auto stack = AccountStack::open(options);
    ASSERT_TRUE(stack.is_ok()) << stack.status().to_string();
    stack_ = std::move(*stack);
  }

  void start_server() {
    auto tokens = TokenStore::open(posix_env(), dir_, SystemClock().now());
    ASSERT_TRUE(tokens.is_ok()) << tokens.status().to_string();
    tokens_ = std::move(*tokens);
    auto views = ViewSet::open(dir_, stack_->log(), &stack_->cipher());
    ASSERT_TRUE(views.is_ok()) << views.status().to_string();
    views_ = std::move(*views);
    ASSERT_TRUE(views_->start().is_ok());
    metrics_ = std::make_unique<Metrics>(stack_->log());
    ApiOptions api_options;
    api_options.min_position_wait = std::chrono::milliseconds(2000);
    api_ = std::make_unique<Api>(*stack_, *tokens_, *metrics_, views_.get(), api_options);
    HttpServerOptions http;
    http.address = "127.0.0.1";
    http.port = 0;
    http.workers = 8;
    server_ = std::make_unique<HttpServer>(http, api_->router());
    ASSERT_TRUE(server_->start().is_ok());
    std::ifstream in(dir_ + "/operator.token");
    std::getline(in, operator_token_);
    ASSERT_FALSE(operator_token_.empty());
  }

  // The server, the views and the stack, in that order. Returns the stack's close status.
  Status stop_all() {
    if (server_) server_->stop(std::chrono::milliseconds(5000));
    if (views_) (void)views_->stop();
    Status closed = stack_ ? stack_->close() : Status::ok();
    server_.reset();
    api_.reset();
    metrics_.reset();
    views_.reset();
    tokens_.reset();
    stack_.reset();
    return closed;
  }

  Reply request(http::verb method, const std::string& target, const std::string& body = "",
                const std::string& token = "") {
    return send_request(server_->port(), method, target, body, token);
  }

  // A command the demo admin may always issue, numbered so that each is new.
  std::string command_body(int client, int n) {
    json::object c;
    c["command_id"] = CommandId::random().to_string();
    c["partner_id"] = partner_;
    if (n % 2 == 0) {
      c["type"] = "UpdateSupportProfile";
      c["support"] = json::object{{"email", "help-" + std::to_string(client) + "-" + std::to_string(n) + "@contoso.example"},
                                  {"phone", "+1 800 555 0100"},
                                  {"website", ""}};
    } else {
      c["type"] = "CreateUser";
      c["profile"] = json::object{{"first_name", "Disk"},
                                  {"last_name", "Full"},
                                  {"email", "u" + std::to_string(client) + "-" + std::to_string(n) + "@contoso.example"},
                                  {"phone", ""}};
      c["roles"] = json::array{"sales_agent"};
    }
    return json::serialize(c);
  }

  // command id -> (position, stream, version, type) of every event from `from`, read from the log.
  std::map<std::string, std::vector<std::tuple<uint64_t, std::string, uint64_t, std::string>>> log_events(
      uint64_t from) {
    std::map<std::string, std::vector<std::tuple<uint64_t, std::string, uint64_t, std::string>>> out;
    Status s = stack_->log().scan_all(GlobalPosition(from), {}, [&](const RecordedEvent& e) {
      out[e.command_id.to_string()].emplace_back(e.position.value(), std::string(e.stream), e.version.value(),
                                                 std::string(e.type));
      return true;
    });
    EXPECT_TRUE(s.is_ok()) << s.to_string();
    return out;
  }

  // Every acknowledged command is in the log, whole, at the positions it was acknowledged with.
  void expect_all_present(const std::vector<Ack>& acks, uint64_t from) {
    auto found = log_events(from);
    for (const Ack& a : acks) {
      auto it = found.find(a.command_id);
      ASSERT_NE(it, found.end()) << "acknowledged command " << a.command_id << " is missing";
      ASSERT_EQ(it->second.size(), a.events.size()) << a.command_id;
      for (size_t i = 0; i < a.events.size(); ++i) {
        EXPECT_EQ(std::get<0>(it->second[i]), a.position + i) << a.command_id;
        EXPECT_EQ(std::get<1>(it->second[i]), std::get<0>(a.events[i])) << a.command_id;
        EXPECT_EQ(std::get<2>(it->second[i]), std::get<1>(a.events[i])) << a.command_id;
        EXPECT_EQ(std::get<3>(it->second[i]), std::get<2>(a.events[i])) << a.command_id;
      }
      EXPECT_EQ(a.position + a.events.size() - 1, a.last_position) << a.command_id;
    }
  }

  void expect_verifies() {
    auto report = verify_log(&env_, dir_);
    ASSERT_TRUE(report.is_ok()) << report.status().to_string();
    EXPECT_TRUE(report->ok()) << report->problem->reason;
    EXPECT_FALSE(report->torn_tail.has_value()) << "reopening should have cut the torn tail";
  }

  // The last lines the server logged (thread-safe).
  std::string logged() {
    std::string out;
    for (const std::string& line : log_lines_->last_formatted()) out += line;
    return out;
  }

  FaultInjectionEnv env_;  // outlives the stack
  std::shared_ptr<spdlog::sinks::ringbuffer_sink_mt> log_lines_;
  std::shared_ptr<spdlog::logger> previous_logger_;
  std::string dir_;
  std::string partner_;
  std::string token_;
  std::string operator_token_;
  std::unique_ptr<AccountStack> stack_;
  std::unique_ptr<TokenStore> tokens_;
  std::unique_ptr<ViewSet> views_;
  std::unique_ptr<Metrics> metrics_;
  std::unique_ptr<Api> api_;
  std::unique_ptr<HttpServer> server_;
};

// Bytes the log's files hold now in the in-memory file system.
uint64_t log_bytes(FaultInjectionEnv& env, const std::string& dir) {
  uint64_t total = 0;
  for (const std::string sub : {"/log", "/index"}) {
    auto names = env.list_dir(dir + sub);
    if (!names) continue;
    for (const std::string& n : *names) {
      auto size = env.file_size(dir + sub + "/" + n);
      if (size) total += *size;
    }
  }
  return total;
}

TEST_F(DiskFaultFixture, DiskFullDuringLoadRefusesClearlyAndLosesNothingAcknowledged) {
  const uint64_t head_before = stack_->log().head().value();
  // The disk fills up after about 48 KiB more of log: a few dozen commands in.
  env_.set_capacity(log_bytes(env_, dir_) + 48 * 1024);

  constexpr int kClients = 4;
  constexpr int kMaxPerClient = 400;  // bounded: the disk is full long before
  std::mutex mu;
  std::vector<Ack> acks;
  std::vector<std::string> refused_bodies;  // the commands refused, to send again later
  std::vector<Reply> refusals;
  int contention = 0;
  std::vector<std::thread> clients;
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([&, c] {
      int refused_here = 0;
      for (int n = 0; n < kMaxPerClient && refused_here < 3; ++n) {
        const std::string body = command_body(c, n);
        Reply r = request(http::verb::post, "/v1/commands", body, token_);
        std::lock_guard lock(mu);
        if (r.status == 200) {
          acks.push_back(ack_of(r));
        } else if (r.status == 409 && r.error_code() == "wrong_expected_version") {
          ++contention;  // the engine gave up on a hot stream after its retries: nothing written
        } else {
          refusals.push_back(r);
          refused_bodies.push_back(body);
          ++refused_here;
        }
      }
    });
  }
  for (auto& t : clients) t.join();

  ASSERT_FALSE(acks.empty()) << "no command was acknowledged before the disk filled up";
  ASSERT_FALSE(refusals.empty()) << "the disk never filled up";
  for (const Reply& r : refusals) {
    EXPECT_EQ(r.status, 503u) << r.body;
    EXPECT_EQ(r.error_code(), "no_space") << r.body;
    EXPECT_EQ(r.header("retry-after"), "30") << r.body;
    EXPECT_NE(r.error_message().find("No space left on device"), std::string::npos) << r.body;
    EXPECT_NE(r.error_message().find("the log store's file"), std::string::npos) << r.body;
    EXPECT_EQ(r.body.find(dir_), std::string::npos) << "a server path in an error body: " << r.body;
  }
  // Health says which store and why; the reason (with the path) is in the server's log; reads go on.
  Reply health = request(http::verb::get, "/healthz");
  EXPECT_EQ(health.status, 503u) << health.body;
  EXPECT_EQ(health.json().at("status").as_string(), "degraded") << health.body;
  EXPECT_TRUE(health.json().at("log").at("writable").as_bool()) << "a full disk must not poison the log";
  EXPECT_EQ(health.json().at("stores").at("log").at("status").as_string(), "degraded") << health.body;
  EXPECT_NE(health.json().at("stores").at("log").at("error").as_string().find("No space left on device"),
            std::string::npos)
      << health.body;
  EXPECT_EQ(health.json().at("stores").at("keys").at("status").as_string(), "ok") << health.body;
  EXPECT_EQ(health.body.find(dir_), std::string::npos) << health.body;
  EXPECT_NE(logged().find("No space left on device"), std::string::npos) << logged();
  Reply events = request(http::verb::get, "/v1/events?from=" + std::to_string(head_before + 1) + "&limit=1000", "",
                         operator_token_);
  ASSERT_EQ(events.status, 200u) << events.body;
  for (const Ack& a : acks) EXPECT_NE(events.body.find(a.command_id), std::string::npos) << a.command_id;
  expect_all_present(acks, head_before + 1);

  // Space is freed: the same process takes writes again, no restart. A refused
  // command was cut off the file with its batch: sent again with the same id
  // it is new, never a duplicate.
  env_.set_capacity(UINT64_MAX);
  std::vector<Ack> resent;
  for (const std::string& body : refused_bodies) {
    Reply r = request(http::verb::post, "/v1/commands", body, token_);
    ASSERT_EQ(r.status, 200u) << r.body;
    EXPECT_FALSE(r.json().at("duplicate").as_bool()) << r.body;
    resent.push_back(ack_of(r));
  }
  Reply fresh = request(http::verb::post, "/v1/commands", command_body(99, 0), token_);
  ASSERT_EQ(fresh.status, 200u) << fresh.body;
  resent.push_back(ack_of(fresh));
  expect_all_present(acks, head_before + 1);
  expect_all_present(resent, head_before + 1);
  // And everything is there after a restart (the stack is reopened over the same files).
  ASSERT_TRUE(stop_all().is_ok());
  start_stack();
  ASSERT_FALSE(HasFatalFailure());
  expect_all_present(acks, head_before + 1);
  expect_all_present(resent, head_before + 1);
  ASSERT_TRUE(stop_all().is_ok());
  expect_verifies();
  std::printf("disk full: %zu acknowledged, %zu refused with ENOSPC, %d refused on contention; the refused accepted "
              "again once space was back, without a restart; all present after reopening\n",
              acks.size(), refusals.size(), contention);
}

TEST_F(DiskFaultFixture, FailedFsyncRefusesWritesSaysWhyAndKeepsReads) {
  std::vector<Ack> acks;
  for (int n = 0; n < 6; ++n) {
    Reply r = request(http::verb::post, "/v1/commands", command_body(0, n), token_);
    ASSERT_EQ(r.status, 200u) << r.body;
    acks.push_back(ack_of(r));
  }
  ASSERT_EQ(request(http::verb::get, "/healthz").status, 200u);

  env_.fail_syncs(1, EIO);  // the next fdatasync fails; the ones after it would succeed
  Reply failed = request(http::verb::post, "/v1/commands", command_body(0, 100), token_);
  EXPECT_EQ(failed.status, 503u) << failed.body;
  EXPECT_EQ(failed.error_code(), "poisoned") << failed.body;
  EXPECT_NE(failed.error_message().find("Input/output error"), std::string::npos) << failed.body;
  EXPECT_NE(failed.error_message().find("fdatasync"), std::string::npos) << failed.body;
  // From then on every write is refused, though the disk would work again.
  for (int n = 101; n < 105; ++n) {
    Reply again = request(http::verb::post, "/v1/commands", command_body(0, n), token_);
    EXPECT_EQ(again.status, 503u) << again.body;
    EXPECT_EQ(again.error_code(), "poisoned") << again.body;
    EXPECT_NE(again.error_message().find("Input/output error"), std::string::npos) << again.body;
  }

  Reply health = request(http::verb::get, "/healthz");
  EXPECT_EQ(health.status, 503u) << health.body;
  EXPECT_EQ(health.json().at("status").as_string(), "degraded") << health.body;
  EXPECT_FALSE(health.json().at("log").at("writable").as_bool()) << health.body;
  EXPECT_NE(health.json().at("log").at("error").as_string().find("fdatasync"), std::string::npos) << health.body;
  const std::string logs = logged();
  EXPECT_NE(logs.find("refuses writes"), std::string::npos) << logs;
  EXPECT_NE(logs.find("Input/output error"), std::string::npos) << logs;

  // Reads go on: $all, a stream, a view, and signing in (tokens are not in the log).
  Reply events = request(http::verb::get, "/v1/events?limit=1000", "", operator_token_);
  ASSERT_EQ(events.status, 200u) << events.body;
  for (const Ack& a : acks) EXPECT_NE(events.body.find(a.command_id), std::string::npos) << a.command_id;
  Reply stream = request(http::verb::get, "/v1/streams/partner-" + partner_ + "?limit=1000", "", token_);
  EXPECT_EQ(stream.status, 200u) << stream.body;
  Reply users = request(http::verb::get,
                        "/v1/partners/" + partner_ + "/users?min_position=" + std::to_string(acks.back().last_position),
                        "", token_);
  EXPECT_EQ(users.status, 200u) << users.body;
  EXPECT_NE(users.body.find("u0-1@contoso.example"), std::string::npos) << users.body;
  Reply session = request(http::verb::post, "/v1/sessions",
                          json::serialize(json::object{{"partner_id", partner_},
                                                       {"email", std::string(kDemoAdminEmail)},
                                                       {"password", std::string(kDemoPassword)}}));
  EXPECT_EQ(session.status, 200u) << session.body;
  expect_all_present(acks, 1);

  // A restart recovers: everything acknowledged is there and writes work again.
  stop_all().ignore();
  start_stack();
  ASSERT_FALSE(HasFatalFailure());
  expect_all_present(acks, 1);
  expect_verifies();
  start_server();
  ASSERT_FALSE(HasFatalFailure());
  EXPECT_EQ(request(http::verb::get, "/healthz").status, 200u);
  Reply after = request(http::verb::post, "/v1/commands", command_body(0, 200), token_);
  EXPECT_EQ(after.status, 200u) << after.body;
}

}  // namespace
}  // namespace accountable
