#include "bench/http_bench.h"

#include <sys/resource.h>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <functional>
#include <map>
#include <memory>

#include "bench/bench_report.h"
#include "bench/command_mix.h"
#include "bench/serve_process.h"
#include "schema/json_codec.h"

namespace accountable::bench {

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

constexpr size_t kPartners = 16;
constexpr size_t kConnections = 64;  // kPartners x 4 slots
constexpr auto kServerStartLimit = std::chrono::seconds(60);
constexpr auto kServerStopLimit = std::chrono::seconds(60);
constexpr auto kRunLimit = std::chrono::seconds(600);

// One request on a fresh connection (set-up only).
Result<http::response<http::string_body>> request_once(unsigned short port, http::verb verb, const std::string& target,
                                                       const std::string& body, const std::string& token) {
  try {
    asio::io_context io;
    tcp::socket socket(io);
    socket.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
    http::request<http::string_body> req(verb, target, 11);
    req.set(http::field::host, "127.0.0.1");
    if (!token.empty()) req.set(http::field::authorization, "Bearer " + token);
    req.body() = body;
    req.prepare_payload();
    http::write(socket, req);
    beast::flat_buffer buffer;
    http::response<http::string_body> res;
    http::read(socket, buffer, res);
    return res;
  } catch (const std::exception& e) {
    return Status(StatusCode::kInternal, std::string("http: ") + target + ": " + e.what());
  }
}

// One keep-alive connection of the generator: sends its bodies one after the
// other, each when the previous response has arrived.
class LoadConnection : public std::enable_shared_from_this<LoadConnection> {
 public:
  struct Tally {
    std::vector<double> latencies_us;
    std::map<unsigned, uint64_t> by_status;
    uint64_t network_errors = 0;
    std::string first_error;
  };

  LoadConnection(asio::io_context& io, std::vector<std::string> bodies, std::string token, Tally* tally,
                 std::function<void()> finished)
      : socket_(io), bodies_(std::move(bodies)), token_(std::move(token)), tally_(tally), finished_(std::move(finished)) {}

  void start(const tcp::endpoint& server) {
    socket_.async_connect(server, [self = shared_from_this()](beast::error_code ec) {
      if (ec) return self->fail(ec);
      self->socket_.set_option(tcp::no_delay(true));
      self->send_next();
    });
  }
  void cancel() {
    beast::error_code ignored;
    socket_.close(ignored);
  }

 private:
  void send_next() {
    if (next_ == bodies_.size()) return finish();
    req_ = {};
    req_.method(http::verb::post);
    req_.target("/v1/commands");
    req_.version(11);
    req_.set(http::field::host, "127.0.0.1");
    req_.set(http::field::authorization, "Bearer " + token_);
    req_.set(http::field::content_type, "application/json");
    req_.body() = std::move(bodies_[next_++]);
    req_.prepare_payload();
    sent_ = Clock::now();
    http::async_write(socket_, req_, [self = shared_from_this()](beast::error_code ec, size_t) {
      if (ec) return self->fail(ec);
      self->res_ = {};
      http::async_read(self->socket_, self->buffer_, self->res_, [self](beast::error_code ec2, size_t) {
        if (ec2) return self->fail(ec2);
        self->tally_->latencies_us.push_back(micros_between(self->sent_, Clock::now()));
        const unsigned code = self->res_.result_int();
        self->tally_->by_status[code] += 1;
        if (code != 200 && self->tally_->first_error.empty()) self->tally_->first_error = self->res_.body();
        self->send_next();
      });
    });
  }
  void fail(beast::error_code ec) {
    if (ec != asio::error::operation_aborted) {
      tally_->network_errors += 1;
      if (tally_->first_error.empty()) tally_->first_error = ec.message();
    }
    finish();
  }
  void finish() {
    cancel();
    if (finished_) std::exchange(finished_, nullptr)();
  }

  tcp::socket socket_;
  std::vector<std::string> bodies_;
  size_t next_ = 0;
  std::string token_;
  Tally* tally_;
  std::function<void()> finished_;  // called once, when the connection is done
  beast::flat_buffer buffer_;
  http::request<http::string_body> req_;
  http::response<http::string_body> res_;
  Clock::time_point sent_;
};

double thread_cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_THREAD, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

}  // namespace

Status http_workload(const BenchOptions& o) {
  Workspace ws(o, "http");
  const std::string data_dir = ws.dir() + "/data";
  BenchAccounts accounts;
  {
    auto stack = open_bench_stack(data_dir);
    if (!stack) return stack.status();
    auto seeded = seed_bench_accounts(**stack, kPartners, kConnections / kPartners);
    if (!seeded) return seeded.status();
    accounts = std::move(*seeded);
    ACCT_RETURN_IF_ERROR((*stack)->close());
  }
  ServeProcess server;
  ACCT_RETURN_IF_ERROR(server.start({"serve", "--data", data_dir, "--listen", "127.0.0.1:0", "--views-gather-us",
                                    std::to_string(o.views_gather_us)},
                                   ws.dir() + "/serve.log", kServerStartLimit));

  // One session per partner admin, shared by the partner's four connections.
  std::vector<std::string> tokens;
  for (const BenchPartner& p : accounts.partners) {
    boost::json::object sign_in{{"partner_id", p.partner.to_string()},
                                {"email", p.admin_email},
                                {"password", std::string(kBenchPassword)}};
    auto res = request_once(server.port(), http::verb::post, "/v1/sessions", boost::json::serialize(sign_in), "");
    if (!res) return res.status();
    if (res->result_int() != 200) return Status(StatusCode::kInternal, "http: sign-in refused: " + res->body());
    tokens.push_back(std::string(boost::json::parse(res->body()).as_object().at("token").as_string()));
  }

  // Every request body is built before the clock starts.
  const uint64_t total = o.events ? o.events : 32'000;
  const uint64_t per_connection = std::max<uint64_t>(total / kConnections, 1);
  LoadConnection::Tally tally;
  tally.latencies_us.reserve(per_connection * kConnections);
  asio::io_context io;
  std::vector<std::shared_ptr<LoadConnection>> connections;
  asio::steady_timer limit(io, kRunLimit);  // the run is bounded in time as well as in count
  size_t running = kConnections;
  auto finished = [&] {
    if (--running == 0) limit.cancel();
  };
  for (size_t c = 0; c < kConnections; ++c) {
    const size_t partner = c % kPartners, slot = c / kPartners;
    std::vector<std::string> bodies;
    for (uint64_t i = 0; i < per_connection; ++i) {
      bodies.push_back(command_to_json(ParsedCommand{CommandId::random(), mix_command(accounts, partner, slot, i)}));
    }
    connections.push_back(std::make_shared<LoadConnection>(io, std::move(bodies), tokens[partner], &tally, finished));
  }
  bool timed_out = false;
  limit.async_wait([&](beast::error_code ec) {
    if (ec) return;
    timed_out = true;
    for (auto& c : connections) c->cancel();
  });

  const double server_cpu_before = server.cpu_seconds();
  const uint64_t server_switches_before = server.context_switches();
  const double generator_cpu_before = thread_cpu_seconds();
  const tcp::endpoint endpoint(asio::ip::make_address("127.0.0.1"), server.port());
  const auto start = Clock::now();
  for (auto& c : connections) c->start(endpoint);
  io.run();  // returns when every connection is done (or the limit closed them)
  const double seconds = seconds_since(start);
  const double generator_cpu = thread_cpu_seconds() - generator_cpu_before;
  const double server_cpu = server.cpu_seconds() - server_cpu_before;
  const uint64_t server_switches = server.context_switches() - server_switches_before;
  ACCT_RETURN_IF_ERROR(server.stop(kServerStopLimit));

  Figure f{"http", tally.by_status[200], seconds, std::move(tally.latencies_us), {}};
  uint64_t refused = 0;
  for (const auto& [code, count] : tally.by_status) {
    if (code != 200) refused += count;
  }
  f.extra.emplace_back("connections", kConnections);
  f.extra.emplace_back("views_gather_us", o.views_gather_us);
  f.extra.emplace_back("partners", kPartners);
  f.extra.emplace_back("refused", static_cast<double>(refused));
  f.extra.emplace_back("network_errors", static_cast<double>(tally.network_errors));
  f.extra.emplace_back("server_cpu_seconds", server_cpu);
  f.extra.emplace_back("server_cores", seconds > 0 ? server_cpu / seconds : 0);
  const double commands = static_cast<double>(std::max<uint64_t>(1, tally.by_status[200]));
  f.extra.emplace_back("server_cpu_us_per_command", server_cpu * 1e6 / commands);
  f.extra.emplace_back("server_context_switches_per_command", static_cast<double>(server_switches) / commands);
  f.extra.emplace_back("generator_cpu_seconds", generator_cpu);
  f.extra.emplace_back("generator_cores", seconds > 0 ? generator_cpu / seconds : 0);
  f.extra.emplace_back("timed_out", timed_out ? 1 : 0);
  print(f);
  if (refused > 0 || tally.network_errors > 0 || timed_out) {
    return Status(StatusCode::kInternal, "http: " + std::to_string(refused) + " refused, " +
                                             std::to_string(tally.network_errors) + " network errors" +
                                             (timed_out ? ", timed out" : "") + "; the first: " + tally.first_error);
  }
  return Status::ok();
}

}  // namespace accountable::bench
