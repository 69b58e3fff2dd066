#include "bench/signin_bench.h"

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <fstream>
#include <map>
#include <mutex>
#include <thread>

#include "bench/bench_report.h"
#include "bench/command_mix.h"
#include "bench/serve_process.h"

namespace accountable::bench {

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

constexpr size_t kClients = 200;
constexpr auto kServerStartLimit = std::chrono::seconds(60);
constexpr auto kServerStopLimit = std::chrono::seconds(60);

// A field of /proc/<pid>/status in bytes ("VmRSS", "VmHWM"); 0 if absent.
uint64_t proc_status_bytes(pid_t pid, const std::string& field) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field + ":", 0) == 0) return std::stoull(line.substr(field.size() + 1)) * 1024;
  }
  return 0;
}

// One sign-in on its own connection: the status, or 0 on a network error.
unsigned sign_in(unsigned short port, const std::string& body) {
  try {
    asio::io_context io;
    tcp::socket socket(io);
    socket.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
    http::request<http::string_body> req(http::verb::post, "/v1/sessions", 11);
    req.set(http::field::host, "127.0.0.1");
    req.set(http::field::content_type, "application/json");
    req.body() = body;
    req.prepare_payload();
    http::write(socket, req);
    beast::flat_buffer buffer;
    http::response<http::string_body> res;
    http::read(socket, buffer, res);
    return res.result_int();
  } catch (const std::exception&) {
    return 0;
  }
}

}  // namespace

Status signin_workload(const BenchOptions& o) {
  Workspace ws(o, "signin");
  const std::string data_dir = ws.dir() + "/data";
  BenchAccounts accounts;
  {
    auto stack = open_bench_stack(data_dir);
    if (!stack) return stack.status();
    auto seeded = seed_bench_accounts(**stack, 4, 1);
    if (!seeded) return seeded.status();
    accounts = std::move(*seeded);
    ACCT_RETURN_IF_ERROR((*stack)->close());
  }
  ServeProcess server;
  ACCT_RETURN_IF_ERROR(server.start({"serve", "--data", data_dir, "--listen", "127.0.0.1:0", "--workers", "256",
                                     "--sign-in-address-failures", "0", "--sign-in-global-failures", "0"},
                                    ws.dir() + "/serve.log", kServerStartLimit));
  // One unknown account first: the server makes its dummy hash (a hashing) once.
  const std::string partner = accounts.partners[0].partner.to_string();
  auto body = [&](size_t i) {
    return boost::json::serialize(boost::json::object{
        {"partner_id", partner}, {"email", "nobody" + std::to_string(i) + "@example.invalid"},
        {"password", "not-the-password-" + std::to_string(i)}});
  };
  sign_in(server.port(), body(kClients));
  const uint64_t rss_before = proc_status_bytes(server.pid(), "VmRSS");
  const uint64_t peak_before = proc_status_bytes(server.pid(), "VmHWM");

  std::mutex mu;
  std::map<unsigned, uint64_t> by_status;
  std::vector<std::thread> clients;
  const auto start = Clock::now();
  for (size_t i = 0; i < kClients; ++i) {
    clients.emplace_back([&, i] {
      const unsigned status = sign_in(server.port(), body(i));
      std::lock_guard lock(mu);
      ++by_status[status];
    });
  }
  for (auto& t : clients) t.join();
  const double seconds = seconds_since(start);
  const uint64_t peak = proc_status_bytes(server.pid(), "VmHWM");
  const uint64_t rss_after = proc_status_bytes(server.pid(), "VmRSS");
  ACCT_RETURN_IF_ERROR(server.stop(kServerStopLimit));

  JsonLine line("signin");
  line.count("clients", kClients)
      .number("seconds", seconds)
      .number("rss_before_mib", static_cast<double>(rss_before) / (1 << 20))
      .number("peak_rss_before_mib", static_cast<double>(peak_before) / (1 << 20))
      .number("peak_rss_mib", static_cast<double>(peak) / (1 << 20))
      .number("rss_after_mib", static_cast<double>(rss_after) / (1 << 20))
      .count("refused_401", by_status[401])
      .count("busy_503", by_status[503])
      .count("other", kClients - by_status[401] - by_status[503])
      .count("cores", std::thread::hardware_concurrency())
      .text("bound", "argon2id: one hashing per core at once (64 MiB each), 64 waiting at most 2 s, then 503 busy");
  line.print();
  return Status::ok();
}

}  // namespace accountable::bench
