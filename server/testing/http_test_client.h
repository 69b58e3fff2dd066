// An in-process `acct serve` (account stack, token store, views, Api, HttpServer
// on 127.0.0.1, any free port) and a small Beast client, shared by the server's
// HTTP tests (server/*_test.cc).
//
// A derived fixture may set `clock_` (e.g. a FixedClock) in its constructor: the
// stack, the token store and the Api then read time from it.
#pragma once

#include <gtest/gtest.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/spdlog.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <atomic>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

#include "projections/view_set.h"
#include "server/api.h"
#include "server/http_server.h"

namespace accountable::http_test {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace json = boost::json;
using tcp = net::ip::tcp;

struct Reply {
  unsigned status = 0;
  std::string body;
  std::map<std::string, std::string> headers;  // lower-case names (send_request only)
  std::string header(const std::string& lower_name) const {
    auto it = headers.find(lower_name);
    return it == headers.end() ? "" : it->second;
  }
  json::value json() const {
    json::error_code ec;
    json::value v = json::parse(body, ec);
    return ec ? json::value() : v;
  }
  // The error code of an error body ("" if none), e.g. "no_space".
  std::string error_code() const { return error_member("code"); }
  // The error message of an error body ("" if none).
  std::string error_message() const { return error_member("message"); }
  // The field an error body names ("" if none).
  std::string error_field() const { return error_member("field"); }
  // A string member of the body's "error" object ("" if none).
  std::string error_member(const char* name) const {
    json::value v = json();
    if (!v.is_object() || !v.as_object().contains("error")) return "";
    const json::value& e = v.at("error");
    if (!e.is_object() || !e.as_object().contains(name) || !e.at(name).is_string()) return "";
    return std::string(e.at(name).as_string());
  }
};

// A clock the test moves forward while the server's threads read it.
class SteppedClock final : public Clock {
 public:
  explicit SteppedClock(Timestamp start) : micros_(start.micros) {}
  Timestamp now() const override { return Timestamp{micros_.load()}; }
  void advance(std::chrono::microseconds d) { micros_ += d.count(); }

 private:
  std::atomic<int64_t> micros_;
};

// One request on a fresh connection; status 0 and the error text if the
// exchange failed. With no token, `headers` may carry a raw Authorization.
inline Reply send_request(unsigned short port, http::verb method, const std::string& target,
                          const std::string& body = "", const std::string& token = "",
                          const std::vector<std::pair<std::string, std::string>>& headers = {}) {
  net::io_context ioc;
  beast::tcp_stream stream(ioc);
  beast::error_code ec;
  stream.expires_after(std::chrono::seconds(30));
  stream.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port), ec);
  if (ec) return Reply{0, ec.message(), {}};
  http::request<http::string_body> req{method, target, 11};
  req.set(http::field::host, "127.0.0.1");
  if (!token.empty()) req.set(http::field::authorization, "Bearer " + token);
  for (const auto& [k, v] : headers) req.set(k, v);
  if (!body.empty()) {
    req.set(http::field::content_type, "application/json");
    req.body() = body;
  }
  req.prepare_payload();
  http::write(stream, req, ec);
  if (ec) return Reply{0, ec.message(), {}};
  beast::flat_buffer buffer;
  http::response<http::string_body> res;
  http::read(stream, buffer, res, ec);
  if (ec) return Reply{0, ec.message(), {}};
  Reply reply{res.result_int(), res.body(), {}};
  for (const auto& field : res) {
    std::string name(field.name_string());
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    reply.headers[name] = std::string(field.value());
  }
  return reply;
}

// A GET that may answer with an endless Server-Sent Events stream: reads the
// status line, the headers and then body bytes until `until` returns true on
// what was read so far, or `budget` of reading passed (a bound, not an
// assertion), then closes. `body` holds the raw bytes after the headers
// (chunked framing included).
inline Reply read_stream_prefix(unsigned short port, const std::string& target, const std::string& token,
                                const std::function<bool(const std::string&)>& until,
                                std::chrono::milliseconds budget = std::chrono::milliseconds(10'000),
                                const std::vector<std::pair<std::string, std::string>>& headers = {}) {
  net::io_context ioc;
  tcp::socket socket(ioc);
  beast::error_code ec;
  socket.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port), ec);
  if (ec) return Reply{0, ec.message(), {}};
  std::string req = "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n";
  if (!token.empty()) req += "Authorization: Bearer " + token + "\r\n";
  for (const auto& [k, v] : headers) req += k + ": " + v + "\r\n";
  req += "\r\n";
  net::write(socket, net::buffer(req), ec);
  if (ec) return Reply{0, ec.message(), {}};
  std::string got;
  const auto deadline = std::chrono::steady_clock::now() + budget;
  bool headers_done = false;
  size_t body_at = 0;
  while (std::chrono::steady_clock::now() < deadline && got.size() < (16u << 20)) {
    // Non-blocking poll of the socket with a short sleep: bounded by `budget`.
    socket.non_blocking(true);
    char buf[4096];
    size_t n = socket.read_some(net::buffer(buf), ec);
    if (ec == net::error::would_block || ec == net::error::try_again) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
      ec = {};
      continue;
    }
    if (ec) break;  // closed by the server
    got.append(buf, n);
    if (!headers_done) {
      auto end = got.find("\r\n\r\n");
      if (end == std::string::npos) continue;
      headers_done = true;
      body_at = end + 4;
    }
    if (headers_done && until(got.substr(body_at))) break;
  }
  socket.close(ec);
  Reply r;
  if (got.size() >= 12 && got.compare(0, 5, "HTTP/") == 0) r.status = static_cast<unsigned>(std::stoul(got.substr(9, 3)));
  r.body = headers_done ? got.substr(body_at) : got;
  return r;
}

// A Server-Sent Events connection kept open across steps of a test.
class SseClient {
 public:
  SseClient(unsigned short port, const std::string& target, const std::string& token) : socket_(ioc_) {
    beast::error_code ec;
    socket_.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port), ec);
    std::string req = "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n";
    if (!token.empty()) req += "Authorization: Bearer " + token + "\r\n";
    req += "\r\n";
    if (!ec) net::write(socket_, net::buffer(req), ec);
    closed_ = static_cast<bool>(ec);
    socket_.non_blocking(true, ec);
  }
  // Reads until `until(all bytes so far)` or the server closes or `budget` passed.
  const std::string& read_until(const std::function<bool(const std::string&)>& until,
                                std::chrono::milliseconds budget = std::chrono::milliseconds(10'000)) {
    const auto deadline = std::chrono::steady_clock::now() + budget;
    while (!closed_ && !until(got_) && std::chrono::steady_clock::now() < deadline) {
      char buf[4096];
      beast::error_code ec;
      size_t n = socket_.read_some(net::buffer(buf), ec);
      if (ec == net::error::would_block || ec == net::error::try_again) {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
        continue;
      }
      if (ec) {
        closed_ = true;
        break;
      }
      got_.append(buf, n);
    }
    return got_;
  }
  bool closed() const { return closed_; }
  const std::string& text() const { return got_; }

 private:
  net::io_context ioc_;
  tcp::socket socket_;
  std::string got_;
  bool closed_ = false;
};

// Captures every spdlog line (the default logger) while alive.
class LogCapture {
 public:
  LogCapture() : previous_(spdlog::default_logger()), sink_(std::make_shared<Sink>()) {
    auto logger = std::make_shared<spdlog::logger>("capture", sink_);
    logger->set_level(spdlog::level::trace);
    spdlog::set_default_logger(logger);
  }
  ~LogCapture() { spdlog::set_default_logger(previous_); }
  LogCapture(const LogCapture&) = delete;
  LogCapture& operator=(const LogCapture&) = delete;
  std::string text() const { return sink_->text(); }

 private:
  class Sink final : public spdlog::sinks::base_sink<std::mutex> {
   public:
    std::string text() {
      std::lock_guard lock(mutex_);
      return text_;
    }

   protected:
    void sink_it_(const spdlog::details::log_msg& msg) override {
      spdlog::memory_buf_t formatted;
      formatter_->format(msg, formatted);
      text_.append(formatted.data(), formatted.size());
    }
    void flush_() override {}

   private:
    std::string text_;
  };
  std::shared_ptr<spdlog::logger> previous_;
  std::shared_ptr<Sink> sink_;
};

// The EnrollPartner command of Contoso (US) with the admin's email.
inline json::object enroll_command_json(const std::string& email) {
  json::object c = json::parse(R"({"type":"EnrollPartner","admin":{"first_name":"Ada","last_name":"Lovelace",
    "email":"","phone":""},"partner_name":"Contoso","mpn_id":"1234567","legal":{"company_name":"Contoso Ltd",
    "address":{"line1":"1 Main Street","line2":"","city":"Redmond","state":"WA","postal_code":"98052","country":"US",
    "region":"West"},"primary_contact":{"first_name":"Pat","last_name":"Legal","email":"pat@contoso.example",
    "phone":""},"approver_email":"approver@contoso.example","approver_address":{"line1":"1 Main Street","line2":"",
    "city":"Redmond","state":"WA","postal_code":"98052","country":"US","region":"West"}},
    "tenant_id":"6f1b1d0e-8a43-4c59-9f64-0c1f5b6a7d11","default_domain":"contoso.onmicrosoft.com",
    "language":"en","culture":"en-us"})").as_object();
  c["admin"].as_object()["email"] = email;
  return c;
}

// The operator's PublishOffer of "azure-plan" (enterprise, usage based).
inline json::object azure_plan_offer_command() {
  return json::parse(R"({"type":"PublishOffer","offer":{"offer_id":"azure-plan",
      "display_name":"Azure plan","segment":"enterprise","license_agreement_type":"corporate",
      "purchase_unit":"1 Month","secondary_license_type":"non_specific","base_offer_ids":[],
      "end_customer_type":"corporate","billing_model":"usage_based"}})").as_object();
}

// A US/USD price list of the month `year`-`month` pricing "azure-plan" from
// `valid_from` to `valid_to` (RFC 3339 times or dates).
inline json::object azure_plan_price_list_command(int year, int month, const std::string& valid_from,
                                                  const std::string& valid_to) {
  json::object list = json::parse(R"({"type":"PublishPriceList","price_list":{"market":"US","currency":"USD",
      "year":0,"month":0,"billing_model":"usage_based","rows":[{"change_code":"ADD","valid_from":"","valid_to":"",
      "offer_display_name":"Azure plan","offer_id":"azure-plan","license_agreement_type":"corporate",
      "purchase_unit":"1 Month","secondary_license_type":"non_specific","end_customer_type":"corporate",
      "list_price_micros":10000000,"erp_price_micros":12000000}]}})").as_object();
  auto& pl = list["price_list"].as_object();
  pl["year"] = year;
  pl["month"] = month;
  auto& row = pl["rows"].as_array()[0].as_object();
  row["valid_from"] = valid_from;
  row["valid_to"] = valid_to;
  return list;
}

// The US/USD price list of the current month (UTC) pricing "azure-plan" from
// the month's first day until 40 days from now: "azure-plan" is orderable now.
inline json::object azure_plan_price_list_of_this_month() {
  const Timestamp now = SystemClock().now();
  const time_t secs = static_cast<time_t>(now.micros / 1'000'000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char month_first[16];
  std::strftime(month_first, sizeof month_first, "%Y-%m-01", &tm);
  return azure_plan_price_list_command(tm.tm_year + 1900, tm.tm_mon + 1, month_first,
                                       format_timestamp(Timestamp{now.micros + 40LL * 24 * 3600 * 1'000'000}));
}

class ServerFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("acct-server-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    AccountStackOptions options;
    options.data_dir = dir_;
    options.clock = clock_;
    options.credentials.opslimit = 1;  // argon2id at its minimum cost: tests are not about its strength
    options.credentials.memlimit = 8192;
    options.credentials.hashing_gate = hashing_gate_;
    auto stack = AccountStack::open(options);
    ASSERT_TRUE(stack.is_ok()) << stack.status().to_string();
    stack_ = std::move(*stack);
    auto tokens = TokenStore::open(posix_env(), dir_, now());
    ASSERT_TRUE(tokens.is_ok()) << tokens.status().to_string();
    tokens_ = std::move(*tokens);
    auto views = ViewSet::open(dir_, stack_->log(), &stack_->cipher());
    ASSERT_TRUE(views.is_ok()) << views.status().to_string();
    views_ = std::move(*views);
    ASSERT_TRUE(views_->start().is_ok());
    metrics_ = std::make_unique<Metrics>(stack_->log());
    auto security = SecurityLog::open(posix_env(), dir_, clock_);
    ASSERT_TRUE(security.is_ok()) << security.status().to_string();
    security_log_ = std::move(*security);
    ApiOptions api_options;
    api_options.min_position_wait = std::chrono::milliseconds(300);
    api_options.clock = clock_;
    api_options.sign_in_guard = sign_in_guard_;
    api_options.directory_limiter = directory_limiter_;
    api_options.security_log = security_log_;
    api_ = std::make_unique<Api>(*stack_, *tokens_, *metrics_, views_.get(), api_options);
    HttpServerOptions http;
    http.address = "127.0.0.1";
    http.port = 0;
    http.workers = 8;
    http.limits.read_timeout = std::chrono::milliseconds(500);
    http.limits.idle_timeout = std::chrono::milliseconds(2000);
    http.limits.body_bytes = 64 * 1024;
    http.limits.header_bytes = 8 * 1024;
    server_ = std::make_unique<HttpServer>(http, api_->router(), [this](const std::string& route, unsigned status) {
      metrics_->count_http(route, status);
    });
    ASSERT_TRUE(server_->start().is_ok());
    std::ifstream in(dir_ + "/operator.token");
    std::getline(in, operator_token_);
    ASSERT_FALSE(operator_token_.empty());
  }

  void TearDown() override {
    if (server_) server_->stop(std::chrono::milliseconds(2000));
    if (views_) (void)views_->stop();
    if (stack_) (void)stack_->close();
    server_.reset();
    api_.reset();
    security_log_.reset();
    views_.reset();
    tokens_.reset();
    stack_.reset();
    std::filesystem::remove_all(dir_);
  }

  Timestamp now() const { return clock_ ? clock_->now() : SystemClock().now(); }

  Reply request(http::verb method, const std::string& target, const std::string& body = "",
                const std::string& token = "", std::vector<std::pair<std::string, std::string>> headers = {}) {
    return send_request(server_->port(), method, target, body, token, headers);
  }

  Reply command(const std::string& token, json::object c) {
    c["command_id"] = CommandId::random().to_string();
    return request(http::verb::post, "/v1/commands", json::serialize(c), token);
  }

  // The EnrollPartner command of Contoso (US) with the admin's email.
  static json::object enroll_command(const std::string& email) { return enroll_command_json(email); }

  // Enrols a partner as the operator; returns (partner id, admin id, temporary password).
  std::tuple<std::string, std::string, std::string> enroll_with(const json::object& c) {
    Reply r = command(operator_token_, c);
    EXPECT_EQ(r.status, 200u) << r.body;
    json::value v = r.json();
    if (!v.is_object() || !v.as_object().contains("result")) return {};
    return {std::string(v.at("result").at("partner_id").as_string()),
            std::string(v.at("result").at("admin_user_id").as_string()),
            std::string(v.at("result").at("temporary_password").as_string())};
  }
  std::tuple<std::string, std::string, std::string> enroll(const std::string& email = "ada@contoso.example") {
    return enroll_with(enroll_command(email));
  }
  // A second, unrelated partner (Fabrikam, US).
  std::tuple<std::string, std::string, std::string> enroll_fabrikam(const std::string& email = "gus@fabrikam.example") {
    json::object c = enroll_command(email);
    c["partner_name"] = "Fabrikam";
    c["mpn_id"] = "7654321";
    c["legal"].as_object()["company_name"] = "Fabrikam Inc";
    c["tenant_id"] = "0d9e8f7a-6b5c-4d3e-8f21-a0b1c2d3e4f5";
    c["default_domain"] = "fabrikam.onmicrosoft.com";
    return enroll_with(c);
  }

  // Signs in; the token ("" on failure) and the whole reply.
  std::pair<std::string, Reply> sign_in(const std::string& partner, const std::string& email,
                                        const std::string& password) {
    Reply s = request(http::verb::post, "/v1/sessions",
                      json::serialize(json::object{{"partner_id", partner}, {"email", email}, {"password", password}}));
    json::value v = s.json();
    std::string token;
    if (s.status == 200 && v.is_object() && v.as_object().contains("token")) token = std::string(v.at("token").as_string());
    return {token, s};
  }

  // Signs in and changes the temporary password; returns a full token.
  std::string sign_in_and_change(const std::string& partner, const std::string& email, const std::string& temporary,
                                 const std::string& chosen = "a-long-new-password") {
    auto [token, s] = sign_in(partner, email, temporary);
    EXPECT_EQ(s.status, 200u) << s.body;
    Reply changed = request(http::verb::post, "/v1/me/password",
                            json::serialize(json::object{{"old", temporary}, {"new", chosen}}), token);
    EXPECT_EQ(changed.status, 200u) << changed.body;
    return token;
  }

  // Creates a user with the roles (JSON names, e.g. "billing_admin"); returns (user id, temporary password).
  std::pair<std::string, std::string> create_user(const std::string& token, const std::string& partner,
                                                  const std::string& email, const std::vector<std::string>& roles) {
    json::array r;
    for (const std::string& role : roles) r.emplace_back(role);
    Reply created = command(token, json::object{{"type", "CreateUser"}, {"partner_id", partner},
                                                {"profile", {{"first_name", "Test"}, {"last_name", "User"},
                                                             {"email", email}, {"phone", ""}}},
                                                {"roles", std::move(r)}});
    EXPECT_EQ(created.status, 200u) << created.body;
    json::value v = created.json();
    if (created.status != 200 || !v.is_object()) return {};
    return {std::string(v.at("result").at("user_id").as_string()),
            std::string(v.at("result").at("temporary_password").as_string())};
  }

  uint64_t head() { return stack_->log().head().value(); }

  // Every regular file under the data folder, with its bytes.
  std::vector<std::pair<std::string, std::string>> data_files() const {
    std::vector<std::pair<std::string, std::string>> out;
    for (const auto& entry : std::filesystem::recursive_directory_iterator(dir_)) {
      if (!entry.is_regular_file()) continue;
      std::ifstream in(entry.path(), std::ios::binary);
      out.emplace_back(entry.path().string(),
                       std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>()));
    }
    return out;
  }

  const Clock* clock_ = nullptr;  // null: the system clock
  // The argon2id gate (4 at once, 16 waiting, 10 s) and the sign-in budgets
  // (the server's defaults); a test may replace them before SetUp.
  std::shared_ptr<ConcurrencyGate> hashing_gate_ =
      std::make_shared<ConcurrencyGate>(ConcurrencyGate::Options{4, 16, std::chrono::seconds(10)});
  std::shared_ptr<SignInGuard> sign_in_guard_ = std::make_shared<SignInGuard>();
  // The public directory's rate limit (null: the server's defaults).
  std::shared_ptr<RateLimiter> directory_limiter_;
  std::string dir_;
  std::unique_ptr<AccountStack> stack_;
  std::unique_ptr<TokenStore> tokens_;
  std::shared_ptr<SecurityLog> security_log_;
  std::unique_ptr<ViewSet> views_;
  std::unique_ptr<Metrics> metrics_;
  std::unique_ptr<Api> api_;
  std::unique_ptr<HttpServer> server_;
  std::string operator_token_;
};

}  // namespace accountable::http_test
