#include "bench/cluster_bench.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <sstream>
#include <thread>

#include "bench/bench_report.h"
#include "bench/serve_process.h"
#include "cluster/secret_message.h"
#include "cluster/shard_map.h"
#include "consumers/kafka_client.h"
#include "consumers/testing/kafka_testing.h"

namespace accountable::bench {

// ---- the pure parts ---------------------------------------------------------------

namespace cluster_bench {

unsigned short port_of_url(const std::string& url) {
  size_t at = url.find("://");
  at = at == std::string::npos ? 0 : at + 3;
  const size_t end = url.find('/', at);
  const std::string authority = url.substr(at, end == std::string::npos ? std::string::npos : end - at);
  const size_t colon = authority.rfind(':');
  if (colon == std::string::npos || colon + 1 == authority.size()) return 0;
  unsigned long port = 0;
  for (size_t i = colon + 1; i < authority.size(); ++i) {
    const char c = authority[i];
    if (c < '0' || c > '9') return 0;
    port = port * 10 + static_cast<unsigned long>(c - '0');
    if (port > 65535) return 0;
  }
  return static_cast<unsigned short>(port);
}

size_t broker_count(const std::string& brokers) {
  size_t n = 0;
  std::stringstream in(brokers);
  std::string entry;
  while (std::getline(in, entry, ',')) {
    if (entry.find_first_not_of(" \t") != std::string::npos) ++n;
  }
  return n;
}

std::optional<double> first_ack_after(const std::vector<Ack>& acks, double kill_s, unsigned short killed_port) {
  std::optional<double> first;
  for (const Ack& a : acks) {
    if (a.acked_s >= kill_s && a.port != killed_port && (!first || a.acked_s < *first)) first = a.acked_s;
  }
  return first;
}

Window window(const std::vector<Ack>& acks, double from_s, double to_s) {
  Window w;
  for (const Ack& a : acks) {
    if (a.acked_s < from_s || a.acked_s > to_s) continue;
    const double us = (a.acked_s - a.sent_s) * 1e6;
    w.commands += 1;
    w.latencies_us.push_back(us);
    if (a.redirected) {
      w.redirected += 1;
      w.redirected_us.push_back(us);
    } else {
      w.direct_us.push_back(us);
    }
  }
  return w;
}

}  // namespace cluster_bench

namespace {

using cluster_bench::Ack;
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using std::chrono::milliseconds;

constexpr size_t kClients = 16;                  // concurrent HTTP clients, one command in flight each
constexpr auto kWarmup = milliseconds(1000);     // load before a measurement window
constexpr auto kMeasure = milliseconds(4000);    // one measurement window
constexpr auto kBeforeKill = milliseconds(1500);  // load on the 3 nodes before the leader is killed
constexpr auto kAfterFailover = milliseconds(1000);
constexpr auto kFailoverLimit = milliseconds(60'000);
constexpr auto kNodeStartLimit = milliseconds(90'000);  // a node catches up before it listens
constexpr auto kLeaderLimit = milliseconds(60'000);
constexpr auto kStopLimit = milliseconds(30'000);
constexpr auto kRequestTimeout = milliseconds(10'000);
constexpr auto kHealthTimeout = milliseconds(2'000);
constexpr auto kRetryPause = milliseconds(20);
constexpr auto kLagSampleEvery = milliseconds(100);
constexpr int kMaxAttempts = 3000;  // x kRetryPause: 60 s, rides over a failover
constexpr int kMaxHops = 3;         // 307s followed for one attempt
constexpr int kSessionTimeoutMs = 6000;  // serve's default; the brokers' group.min.session.timeout.ms by default
constexpr uint64_t kDefaultCap = 1'000'000;  // commands per phase at most (besides the time)
constexpr uint32_t kShards = 3;              // the S of the *_shards_3_* figures
// The *_partners figures: each client sends SetVettingStatus to a partner of
// its own (16 partner streams), so commands of different clients share
// batches (group commit) instead of waiting for one stream.
constexpr const char* kPartnersBound =
    "16 clients, each on its own partner's stream (SetVettingStatus): the writer groups the commands that arrive "
    "while a batch is in flight into the next batch";

double seconds_between(Clock::time_point a, Clock::time_point b) { return std::chrono::duration<double>(b - a).count(); }

// Busy and total jiffies of the whole machine (/proc/stat, first line).
std::pair<double, double> machine_jiffies() {
  std::ifstream in("/proc/stat");
  std::string cpu;
  in >> cpu;
  double v[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  for (double& x : v) in >> x;
  const double total = v[0] + v[1] + v[2] + v[3] + v[4] + v[5] + v[6] + v[7];
  return {total - v[3] - v[4], total};  // idle and iowait are not busy
}

struct MachineCpu {
  std::pair<double, double> at = machine_jiffies();
  // Busy cores since construction (busy jiffies / total jiffies x cores).
  double busy_cores() const {
    const auto now = machine_jiffies();
    const double total = now.second - at.second;
    return total > 0 ? (now.first - at.first) / total * static_cast<double>(std::thread::hardware_concurrency()) : 0;
  }
};

std::string offer_json(const std::string& command_id, const std::string& offer_id) {
  boost::json::object offer{{"offer_id", offer_id},
                            {"display_name", "Offer " + offer_id},
                            {"segment", "enterprise"},
                            {"license_agreement_type", "corporate"},
                            {"purchase_unit", "1 Month"},
                            {"secondary_license_type", "non_specific"},
                            {"base_offer_ids", boost::json::array()},
                            {"end_customer_type", "corporate"},
                            {"billing_model", "usage_based"}};
  boost::json::object command{{"type", "PublishOffer"}, {"command_id", command_id}, {"offer", std::move(offer)}};
  return boost::json::serialize(command);
}

// SetVettingStatus on `partner`, alternating between two statuses: an
// operator command on that partner's own stream.
std::string vetting_json(const std::string& command_id, const std::string& partner, uint64_t n) {
  boost::json::object command{{"type", "SetVettingStatus"},
                              {"command_id", command_id},
                              {"partner_id", partner},
                              {"status", n % 2 ? "pending" : "authorized"},
                              {"sub_status", "none"}};
  return boost::json::serialize(command);
}

std::string enroll_json(const std::string& command_id, size_t n) {
  boost::json::object address{{"line1", "1 Main Street"}, {"line2", ""},         {"city", "Redmond"},
                              {"state", "WA"},            {"postal_code", "98052"}, {"country", "US"},
                              {"region", "West"}};
  auto person = [](const std::string& first, const std::string& email) {
    return boost::json::object{{"first_name", first}, {"last_name", "Bench"}, {"email", email}, {"phone", ""}};
  };
  const std::string tag = std::to_string(n);
  boost::json::object legal{{"company_name", "Bench " + tag},
                            {"address", address},
                            {"primary_contact", person("Pat", "pat" + tag + "@bench.example")},
                            {"approver_email", "approver" + tag + "@bench.example"},
                            {"approver_address", address}};
  boost::json::object command{{"type", "EnrollPartner"},
                              {"command_id", command_id},
                              {"admin", person("Ada", "ada" + tag + "@bench.example")},
                              {"partner_name", "Bench " + tag},
                              {"mpn_id", "1234567"},
                              {"legal", std::move(legal)},
                              {"tenant_id", CommandId::random().to_string()},
                              {"default_domain", "bench" + tag + ".onmicrosoft.com"},
                              {"language", "en"},
                              {"culture", "en-us"},
                              {"billing_currency", "USD"}};
  return boost::json::serialize(command);
}

// A blocking HTTP/1.1 client over keep-alive connections to 127.0.0.1 (one
// per port), every operation bounded by a timeout. One per thread.
class HttpClient {
 public:
  struct Reply {
    beast::error_code error;
    unsigned status = 0;
    std::string location;
    std::string body;
  };

  explicit HttpClient(milliseconds timeout) : timeout_(timeout) {}

  Reply request(unsigned short port, http::verb verb, const std::string& target, const std::string& body,
                const std::string& token) {
    Reply r;
    std::unique_ptr<Connection>& slot = connections_[port];
    bool reused = slot != nullptr;
    for (int attempt = 0; attempt < 2; ++attempt) {
      if (!slot) {
        slot = std::make_unique<Connection>(io_);
        beast::error_code ec = asio::error::would_block;
        slot->stream.expires_after(timeout_);
        slot->stream.async_connect(tcp::endpoint(asio::ip::address_v4::loopback(), port),
                                   [&ec](beast::error_code e) { ec = e; });
        run();
        if (ec) {
          slot.reset();
          r.error = ec;
          return r;
        }
        beast::error_code ignored;
        slot->stream.socket().set_option(tcp::no_delay(true), ignored);
      }
      http::request<http::string_body> req(verb, target, 11);
      req.set(http::field::host, "127.0.0.1");
      if (!token.empty()) req.set(http::field::authorization, "Bearer " + token);
      if (!body.empty()) req.set(http::field::content_type, "application/json");
      req.body() = body;
      req.prepare_payload();
      http::response<http::string_body> res;
      beast::error_code ec = asio::error::would_block;
      Connection& c = *slot;
      c.stream.expires_after(timeout_);
      http::async_write(c.stream, req, [&](beast::error_code e, size_t) {
        ec = e;
        if (e) return;
        ec = asio::error::would_block;
        http::async_read(c.stream, c.buffer, res, [&ec](beast::error_code e2, size_t) { ec = e2; });
      });
      run();
      if (ec) {
        slot.reset();
        // A kept connection the server had closed: once more on a fresh one
        // (commands are idempotent by their id).
        if (reused && attempt == 0 && ec != beast::error::timeout) {
          reused = false;
          continue;
        }
        r.error = ec;
        return r;
      }
      r.status = res.result_int();
      r.location = std::string(res[http::field::location]);
      r.body = std::move(res.body());
      if (res.need_eof()) slot.reset();
      return r;
    }
    return r;
  }

 private:
  struct Connection {
    explicit Connection(asio::io_context& io) : stream(io) {}
    beast::tcp_stream stream;
    beast::flat_buffer buffer;
  };
  void run() {
    io_.restart();
    io_.run();
  }

  milliseconds timeout_;
  asio::io_context io_;
  std::map<unsigned short, std::unique_ptr<Connection>> connections_;
};

// What a node's /healthz says about shard 0 (cluster mode), and its log head;
// its batches over all its shards, and its role in each.
struct NodeHealth {
  bool answered = false;
  std::string role;  // leader, follower, acquiring, failed; empty without --cluster
  std::string leader_url;
  uint64_t head = 0;
  uint64_t lag_batches = 0;
  double lag_seconds = 0;
  uint64_t batches_replicated = 0;  // summed over the node's shards
  uint64_t leadership_changes = 0;
  std::vector<std::string> roles;   // per shard
};

NodeHealth health_of(HttpClient& client, unsigned short port) {
  NodeHealth h;
  HttpClient::Reply r = client.request(port, http::verb::get, "/healthz", "", "");
  if (r.error || (r.status != 200 && r.status != 503)) return h;
  try {
    const boost::json::object o = boost::json::parse(r.body).as_object();
    h.answered = true;
    h.head = boost::json::value_to<uint64_t>(o.at("log").as_object().at("head"));
    if (const auto* cluster = o.if_contains("cluster")) {
      const boost::json::object& s = cluster->as_object().at("shard").as_array().at(0).as_object();
      h.role = std::string(s.at("role").as_string());
      h.leader_url = std::string(s.at("leader_url").as_string());
      h.head = boost::json::value_to<uint64_t>(s.at("head"));
      h.lag_batches = boost::json::value_to<uint64_t>(s.at("lag_batches"));
      h.lag_seconds = boost::json::value_to<double>(s.at("lag_seconds"));
      h.leadership_changes = boost::json::value_to<uint64_t>(s.at("leadership_changes"));
      for (const boost::json::value& each : cluster->as_object().at("shard").as_array()) {
        h.batches_replicated += boost::json::value_to<uint64_t>(each.as_object().at("batches_replicated"));
        h.roles.emplace_back(each.as_object().at("role").as_string());
      }
    }
  } catch (const std::exception&) {
    h.answered = false;
  }
  return h;
}

// Counters of the load's clients.
struct Totals {
  uint64_t redirects = 0;       // 307s followed
  uint64_t network_errors = 0;  // connect/read/write failures (then retried)
  uint64_t unavailable = 0;     // 503s (then retried)
  uint64_t refused = 0;         // any other answer (not retried; must be 0)
  uint64_t given_up = 0;        // kMaxAttempts used up
  uint64_t abandoned = 0;       // still retrying when the load stopped
  std::string first_error;

  void add(const Totals& t) {
    redirects += t.redirects;
    network_errors += t.network_errors;
    unavailable += t.unavailable;
    refused += t.refused;
    given_up += t.given_up;
    abandoned += t.abandoned;
    if (first_error.empty()) first_error = t.first_error;
  }
};

// N client threads, each sending PublishOffer commands (unique command and
// offer ids) one after the other to a node picked at random among `ports`,
// following 307s with the same body and token; a lost connection or a 503 is
// retried with the same command id (on a node picked again), bounded.
// The body of client `client`'s n-th command, with that command id.
using CommandBody = std::function<std::string(size_t client, uint64_t n, const std::string& command_id)>;

CommandBody offers(const std::string& tag) {
  return [tag](size_t client, uint64_t n, const std::string& command_id) {
    return offer_json(command_id, tag + "-" + std::to_string(client) + "-" + std::to_string(n));
  };
}
// Client i works on partners[i % size]: as many streams as partners.
CommandBody vettings(std::vector<std::string> partners) {
  return [partners = std::move(partners)](size_t client, uint64_t n, const std::string& command_id) {
    return vetting_json(command_id, partners[client % partners.size()], n);
  };
}

class Load {
 public:
  Load(std::string token, std::vector<unsigned short> ports, uint64_t cap, CommandBody body)
      : token_(std::move(token)), ports_(std::move(ports)), cap_(cap), body_(std::move(body)) {}
  ~Load() { stop(); }

  void start(size_t clients) {
    t0_ = Clock::now();
    tallies_.resize(clients);
    acks_.resize(clients);
    running_ = clients;
    for (size_t i = 0; i < clients; ++i) threads_.emplace_back([this, i] { client(i); });
  }
  // Stops issuing commands; a command in flight finishes (its request is
  // bounded by kRequestTimeout), one still being retried is abandoned.
  void stop() {
    stop_ = true;
    for (std::thread& t : threads_) t.join();
    threads_.clear();
  }
  bool finished() const { return running_.load() == 0; }
  double now_s() const { return seconds_between(t0_, Clock::now()); }

  // The kill of the node at `port`, now: from here on an acknowledgement
  // from another node is the new leader's.
  double mark_kill(unsigned short port) {
    killed_port_ = port;
    const int64_t ns = std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - t0_).count();
    kill_ns_ = ns;
    return static_cast<double>(ns) / 1e9;
  }
  std::optional<double> first_ack_after_kill() const {
    const int64_t ns = first_new_ack_ns_.load();
    if (ns < 0) return std::nullopt;
    return static_cast<double>(ns) / 1e9;
  }

  // After stop().
  std::vector<Ack> acks() const {
    std::vector<Ack> all;
    for (const auto& a : acks_) all.insert(all.end(), a.begin(), a.end());
    return all;
  }
  Totals totals() const {
    Totals t;
    for (const Totals& one : tallies_) t.add(one);
    return t;
  }

 private:
  void client(size_t index) {
    HttpClient http(kRequestTimeout);
    std::mt19937 rng(static_cast<unsigned>(index * 7919 + static_cast<size_t>(getpid())));
    auto any_node = [&] { return ports_[rng() % ports_.size()]; };
    Totals& t = tallies_[index];
    auto note = [&t](const std::string& what) {
      if (t.first_error.empty()) t.first_error = what;
    };
    uint64_t n = 0;
    while (!stop_.load() && issued_.fetch_add(1) < cap_) {
      const std::string command_id = CommandId::random().to_string();
      const std::string body = body_(index, ++n, command_id);
      const Clock::time_point sent = Clock::now();
      unsigned short port = any_node();
      bool redirected = false, acked = false, refused = false, abandoned = false;
      int hops = 0;
      for (int attempt = 0; attempt < kMaxAttempts; ++attempt) {
        HttpClient::Reply r = http.request(port, http::verb::post, "/v1/commands", body, token_);
        const bool retry_later = r.error || r.status == 503 || (r.status == 307 && hops >= kMaxHops);
        if (r.status == 200) {
          const Clock::time_point at = Clock::now();
          acks_[index].push_back(Ack{seconds_between(t0_, sent), seconds_between(t0_, at), port, redirected});
          const int64_t ns = std::chrono::duration_cast<std::chrono::nanoseconds>(at - t0_).count();
          const int64_t kill_ns = kill_ns_.load();
          if (kill_ns >= 0 && ns >= kill_ns && port != killed_port_.load()) {
            int64_t seen = first_new_ack_ns_.load();
            while ((seen < 0 || ns < seen) && !first_new_ack_ns_.compare_exchange_weak(seen, ns)) {
            }
          }
          acked = true;
          break;
        }
        if (r.status == 307 && !retry_later) {
          t.redirects += 1;
          redirected = true;
          hops += 1;
          port = cluster_bench::port_of_url(r.location);
          if (port == 0) {
            note("a 307 without a usable Location: " + r.location);
            refused = true;
            break;
          }
          continue;
        }
        if (retry_later) {
          if (r.error) {
            t.network_errors += 1;
          } else if (r.status == 503) {
            t.unavailable += 1;
          }
          if (stop_.load()) {
            abandoned = true;
            break;
          }
          hops = 0;
          port = any_node();
          std::this_thread::sleep_for(kRetryPause);
          continue;
        }
        t.refused += 1;
        refused = true;
        note("HTTP " + std::to_string(r.status) + ": " + r.body.substr(0, 300));
        break;
      }
      if (abandoned) {
        t.abandoned += 1;
      } else if (!acked && !refused) {
        t.given_up += 1;
      }
    }
    running_ -= 1;
  }

  std::string token_;
  std::vector<unsigned short> ports_;
  uint64_t cap_;
  CommandBody body_;
  Clock::time_point t0_;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> issued_{0};
  std::atomic<size_t> running_{0};
  std::atomic<int64_t> kill_ns_{-1};
  std::atomic<unsigned short> killed_port_{0};
  std::atomic<int64_t> first_new_ack_ns_{-1};
  std::vector<std::thread> threads_;
  std::vector<Totals> tallies_;             // one per client, read after stop()
  std::vector<std::vector<Ack>> acks_;      // one per client, read after stop()
};

// `count` partners enrolled through the node at `port` (307s followed, 503s
// retried, bounded); their ids.
Result<std::vector<std::string>> enroll_partners(unsigned short port, const std::string& token, size_t count) {
  HttpClient http(kRequestTimeout);
  std::vector<std::string> ids;
  for (size_t i = 0; i < count; ++i) {
    const std::string body = enroll_json(CommandId::random().to_string(), i);
    unsigned short at = port;
    bool done = false;
    for (int attempt = 0; attempt < kMaxAttempts && !done; ++attempt) {
      HttpClient::Reply r = http.request(at, http::verb::post, "/v1/commands", body, token);
      if (r.status == 307) {
        at = cluster_bench::port_of_url(r.location);
        if (at == 0) return Status(StatusCode::kInternal, "cluster: a 307 without a usable Location: " + r.location);
        continue;
      }
      if (r.error || r.status == 503) {
        at = port;
        std::this_thread::sleep_for(kRetryPause);
        continue;
      }
      if (r.status != 200) {
        return Status(StatusCode::kInternal, "cluster: EnrollPartner: HTTP " + std::to_string(r.status) + ": " +
                                                 r.body.substr(0, 300));
      }
      boost::system::error_code ec;
      boost::json::value v = boost::json::parse(r.body, ec);
      const boost::json::value* result = !ec && v.is_object() ? v.as_object().if_contains("result") : nullptr;
      const boost::json::value* id =
          result != nullptr && result->is_object() ? result->as_object().if_contains("partner_id") : nullptr;
      if (id == nullptr || !id->is_string()) {
        return Status(StatusCode::kInternal, "cluster: EnrollPartner answered no partner id: " + r.body.substr(0, 300));
      }
      ids.emplace_back(id->as_string());
      done = true;
    }
    if (!done) return Status(StatusCode::kUnavailable, "cluster: EnrollPartner was not acknowledged");
  }
  return ids;
}

Result<std::string> read_token(const std::string& data_dir) {
  std::ifstream in(data_dir + "/operator.token");
  std::string token;
  std::getline(in, token);
  while (!token.empty() && (token.back() == ' ' || token.back() == '\r' || token.back() == '\n')) token.pop_back();
  if (token.empty()) return Status(StatusCode::kInternal, "cluster: no operator token in " + data_dir);
  return token;
}

// One `acct serve --cluster` node.
struct Node {
  std::string id;
  std::string dir;
  unsigned short port = 0;
  ServeProcess process;
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port); }
};

// N nodes of one cluster (its own --cluster-name, so its own topics, group
// and transactional ids), started as acct serve children.
class BenchCluster {
 public:
  BenchCluster(std::string dir, std::string brokers, std::string name, size_t size, int replication_factor,
               int min_insync, uint32_t shards = 1)
      : dir_(std::move(dir)),
        brokers_(std::move(brokers)),
        name_(std::move(name)),
        size_(size),
        replication_factor_(replication_factor),
        min_insync_(min_insync),
        shards_(shards) {}

  // Node 1 first (it creates the topics and the operator token), then its
  // token copied into the others' folders, then the others, at once.
  Status start() {
    std::vector<unsigned short> ports;
    while (ports.size() < size_) {
      auto port = free_loopback_port();
      if (!port) return port.status();
      if (std::find(ports.begin(), ports.end(), *port) == ports.end()) ports.push_back(*port);
    }
    for (size_t i = 0; i < size_; ++i) {
      auto node = std::make_unique<Node>();
      node->id = "n" + std::to_string(i + 1);
      node->dir = dir_ + "/" + node->id;
      node->port = ports[i];
      std::filesystem::create_directories(node->dir);
      nodes_.push_back(std::move(node));
    }
    if (!std::filesystem::exists(key_file())) ACCT_RETURN_IF_ERROR(cluster::write_cluster_key_file(key_file()));
    ACCT_RETURN_IF_ERROR(spawn(*nodes_[0]));
    ACCT_RETURN_IF_ERROR(nodes_[0]->process.wait_listening(kNodeStartLimit));
    auto token = read_token(nodes_[0]->dir);
    if (!token) return token.status();
    token_ = *token;
    for (size_t i = 1; i < size_; ++i) {
      std::error_code ec;
      std::filesystem::copy_file(nodes_[0]->dir + "/operator.token", nodes_[i]->dir + "/operator.token", ec);
      if (ec) return Status(StatusCode::kIOError, "cluster: cannot copy the operator token: " + ec.message());
      ACCT_RETURN_IF_ERROR(spawn(*nodes_[i]));
    }
    const auto deadline = Clock::now() + kNodeStartLimit;
    for (size_t i = 1; i < size_; ++i) {
      const auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now());
      ACCT_RETURN_IF_ERROR(nodes_[i]->process.wait_listening(std::max(left, milliseconds(1))));
    }
    return Status::ok();
  }

  // Waits until exactly one running node leads and every other running node
  // follows it (its leader_url is the leader's); returns the leader's index.
  Result<size_t> wait_leader(milliseconds limit) {
    HttpClient client(kHealthTimeout);
    const auto deadline = Clock::now() + limit;
    std::string seen;
    while (Clock::now() < deadline) {
      std::vector<std::pair<size_t, NodeHealth>> live;
      seen.clear();
      for (size_t i = 0; i < nodes_.size(); ++i) {
        if (!nodes_[i]->process.running()) continue;
        live.emplace_back(i, health_of(client, nodes_[i]->port));
        seen += nodes_[i]->id + "=" + (live.back().second.answered ? live.back().second.role : "no answer") + " ";
      }
      std::optional<size_t> leader;
      size_t leaders = 0;
      for (const auto& [i, h] : live) {
        if (h.role == "leader") {
          leader = i;
          leaders += 1;
        }
      }
      if (leaders == 1) {
        const bool agreed = std::all_of(live.begin(), live.end(), [&](const auto& entry) {
          const auto& [i, h] = entry;
          return i == *leader ||
                 (h.role == "follower" && cluster_bench::port_of_url(h.leader_url) == nodes_[*leader]->port);
        });
        if (agreed) return *leader;
      }
      std::this_thread::sleep_for(milliseconds(100));
    }
    return Status(StatusCode::kUnavailable, "cluster " + name_ + ": no agreed leader within " +
                                                     std::to_string(limit.count()) + " ms (" + seen + ")");
  }

  // S > 1: waits until every shard has exactly one leader among the running
  // nodes; returns how many shards each node leads.
  Result<std::vector<size_t>> wait_every_shard_led(milliseconds limit) {
    HttpClient client(kHealthTimeout);
    const auto deadline = Clock::now() + limit;
    while (Clock::now() < deadline) {
      std::vector<size_t> led(nodes_.size(), 0);
      std::vector<size_t> leaders(shards_, 0);
      for (size_t i = 0; i < nodes_.size(); ++i) {
        if (!nodes_[i]->process.running()) continue;
        const NodeHealth h = health_of(client, nodes_[i]->port);
        for (size_t s = 0; s < h.roles.size() && s < shards_; ++s) {
          if (h.roles[s] == "leader") {
            leaders[s] += 1;
            led[i] += 1;
          }
        }
      }
      if (std::all_of(leaders.begin(), leaders.end(), [](size_t n) { return n == 1; })) return led;
      std::this_thread::sleep_for(milliseconds(100));
    }
    return Status(StatusCode::kUnavailable, "cluster " + name_ + ": not every shard had one leader within " +
                                                std::to_string(limit.count()) + " ms");
  }

  // SIGTERM to every running node, each bounded; the first failure returned.
  Status stop() {
    Status first;
    for (auto& node : nodes_) {
      Status s = node->process.stop(kStopLimit);
      if (!s.is_ok() && first.is_ok()) first = s;
    }
    return first;
  }

  // The cluster's topics, deleted (best effort; their names are unique to this run).
  void delete_topics() const {
    kafka::Properties p;
    p["bootstrap.servers"] = brokers_;
    auto conf = kafka::make_conf(p);
    if (!conf) return;
    auto admin = kafka::make_client(RD_KAFKA_PRODUCER, std::move(*conf));
    if (!admin) return;
    kafka::delete_topics(admin->get(),
                         {name_ + ".replication", name_ + ".cluster", name_ + ".secrets", name_ + ".events"},
                         std::chrono::seconds(30))
        .ignore();
  }

  std::vector<std::unique_ptr<Node>>& nodes() { return nodes_; }
  std::vector<unsigned short> ports() const {
    std::vector<unsigned short> out;
    for (const auto& n : nodes_) out.push_back(n->port);
    return out;
  }
  const std::string& token() const { return token_; }
  const std::string& name() const { return name_; }

 private:
  Status spawn(Node& node) {
    return node.process.spawn({"serve", "--cluster", "--cluster-name", name_, "--cluster-key", key_file(), "--node-id", node.id,
                               "--kafka-brokers", brokers_, "--kafka-topic", name_ + ".events",
                               "--replication-factor", std::to_string(replication_factor_),
                               "--min-insync-replicas", std::to_string(min_insync_),
                               "--session-timeout-ms", std::to_string(kSessionTimeoutMs),
                               "--shards", std::to_string(shards_),
                               "--listen", "127.0.0.1:" + std::to_string(node.port), "--advertise", node.url(),
                               "--data", node.dir},
                              dir_ + "/" + node.id + ".log");
  }

  std::string key_file() const { return dir_ + "/cluster.key"; }

  std::string dir_, brokers_, name_;
  size_t size_;
  int replication_factor_, min_insync_;
  uint32_t shards_;
  std::vector<std::unique_ptr<Node>> nodes_;
  std::string token_;
};

// Follower lag, sampled during a measurement window.
struct LagSamples {
  std::vector<double> batches, seconds, positions;
};

// One measurement: load on `ports` for kWarmup, then a window of kMeasure.
struct Measured {
  cluster_bench::Window window;
  double seconds = 0;
  Totals totals;
  double nodes_cpu = 0;
  double generator_cpu = 0;
  double machine_cores = 0;
  std::optional<uint64_t> batches;  // the leader's batches replicated in the window (cluster)
  LagSamples lag;
};

// The batches replicated in the window are counted on `leader`, or, for a
// cluster with S > 1, summed over `batch_ports` (every node: each leads some shards).
Measured measure(const std::string& token, const std::vector<unsigned short>& ports,
                 const std::vector<ServeProcess*>& processes, std::optional<unsigned short> leader,
                 const std::vector<unsigned short>& followers, uint64_t cap, CommandBody body,
                 std::vector<unsigned short> batch_ports = {}) {
  if (batch_ports.empty() && leader) batch_ports.push_back(*leader);
  Measured m;
  HttpClient health(kHealthTimeout);
  Load load(token, ports, cap, std::move(body));
  load.start(kClients);
  const auto warm_until = Clock::now() + kWarmup;
  while (Clock::now() < warm_until && !load.finished()) std::this_thread::sleep_for(milliseconds(10));

  auto nodes_cpu = [&] {
    double sum = 0;
    for (const ServeProcess* p : processes) sum += p->cpu_seconds();
    return sum;
  };
  auto batches_now = [&]() -> std::optional<uint64_t> {
    if (batch_ports.empty()) return std::nullopt;
    uint64_t sum = 0;
    for (unsigned short port : batch_ports) {
      const NodeHealth h = health_of(health, port);
      if (!h.answered) return std::nullopt;
      sum += h.batches_replicated;
    }
    return sum;
  };
  const std::optional<uint64_t> batches_before = batches_now();
  const double cpu_before = nodes_cpu();
  const double generator_before = process_cpu_seconds();
  const MachineCpu machine;
  const double from = load.now_s();
  const auto until = Clock::now() + kMeasure;
  while (Clock::now() < until && !load.finished()) {
    if (leader && !followers.empty()) {
      for (unsigned short f : followers) {
        // The leader's head read just before the follower's.
        const NodeHealth l = health_of(health, *leader);
        const NodeHealth h = health_of(health, f);
        if (!l.answered || !h.answered) continue;
        m.lag.batches.push_back(static_cast<double>(h.lag_batches));
        m.lag.seconds.push_back(h.lag_seconds);
        m.lag.positions.push_back(l.head > h.head ? static_cast<double>(l.head - h.head) : 0.0);
      }
    }
    std::this_thread::sleep_for(followers.empty() ? milliseconds(10) : kLagSampleEvery);
  }
  const double to = load.now_s();
  m.machine_cores = machine.busy_cores();
  m.generator_cpu = process_cpu_seconds() - generator_before;
  m.nodes_cpu = nodes_cpu() - cpu_before;
  if (batches_before) {
    const std::optional<uint64_t> after = batches_now();
    if (after && *after >= *batches_before) m.batches = *after - *batches_before;
  }
  load.stop();
  m.window = cluster_bench::window(load.acks(), from, to);
  m.seconds = to - from;
  m.totals = load.totals();
  return m;
}

double max_of(const std::vector<double>& v) { return v.empty() ? 0 : *std::max_element(v.begin(), v.end()); }
double mean_of(const std::vector<double>& v) {
  double sum = 0;
  for (double x : v) sum += x;
  return v.empty() ? 0 : sum / static_cast<double>(v.size());
}

// The throughput line of one measurement.
void print_throughput(const std::string& figure, const std::string& bound, const Measured& m, size_t nodes,
                      size_t brokers, int replication_factor) {
  JsonLine line("cluster");
  line.text("figure", figure).text("unit", "commands/s");
  line.count("events", m.window.commands).number("seconds", m.seconds);
  line.number("events_per_s", m.seconds > 0 ? static_cast<double>(m.window.commands) / m.seconds : 0);
  line.number("p50_us", percentile(m.window.latencies_us, 0.50)).number("p99_us", percentile(m.window.latencies_us, 0.99));
  // The stream commits one command at a time: its time per command is the figure's other face.
  line.number("ms_per_command", m.window.commands > 0 ? m.seconds * 1000 / static_cast<double>(m.window.commands) : 0);
  line.count("nodes", nodes).count("clients", kClients);
  if (brokers > 0) line.count("brokers", brokers).count("replication_factor", static_cast<uint64_t>(replication_factor));
  if (nodes > 1) {
    line.count("redirected", m.window.redirected);
    line.number("p50_direct_us", percentile(m.window.direct_us, 0.50));
    line.number("p50_redirected_us", percentile(m.window.redirected_us, 0.50));
    line.number("p99_redirected_us", percentile(m.window.redirected_us, 0.99));
  }
  if (m.batches) {
    line.count("batches", *m.batches);
    line.number("commands_per_batch", *m.batches > 0 ? static_cast<double>(m.window.commands) / static_cast<double>(*m.batches) : 0);
    line.number("ms_per_batch", *m.batches > 0 ? m.seconds * 1000 / static_cast<double>(*m.batches) : 0);
  }
  line.number("nodes_cores", m.seconds > 0 ? m.nodes_cpu / m.seconds : 0);
  line.number("generator_cores", m.seconds > 0 ? m.generator_cpu / m.seconds : 0);
  line.number("machine_busy_cores", m.machine_cores);
  line.count("network_errors", m.totals.network_errors).count("unavailable", m.totals.unavailable);
  line.count("refused", m.totals.refused).count("given_up", m.totals.given_up);
  line.text("bound", bound);
  line.print();
}

Status check_totals(const std::string& figure, const Totals& t) {
  if (t.refused == 0 && t.given_up == 0) return Status::ok();
  return Status(StatusCode::kInternal, "cluster " + figure + ": " + std::to_string(t.refused) + " refused, " +
                                           std::to_string(t.given_up) + " given up; the first: " + t.first_error);
}

// The brokers' own rate of the transactions a leader commits per batch, with
// no node at all: a transactional producer with the leader's settings
// (acks=all, idempotent, linger.ms=0, lz4), transactions in series of one
// 1 KiB message to each of 2 topics (the replication partition and the
// change events), for `duration`. The ceiling of nodes_1 and nodes_3.
Status kafka_transaction_line(const std::string& brokers, const std::string& name, int rf, int min_insync,
                              size_t broker_count, milliseconds duration, bool keep) {
  const std::vector<std::string> topics = {name + ".a", name + ".b"};
  kafka::Properties p{{"bootstrap.servers", brokers},
                      {"transactional.id", name},
                      {"enable.idempotence", "true"},
                      {"acks", "all"},
                      {"linger.ms", "0"},
                      {"compression.type", "lz4"},
                      {"allow.auto.create.topics", "false"}};
  auto conf = kafka::make_conf(p);
  if (!conf) return conf.status();
  rd_kafka_conf_set_log_cb(conf->get(), &kafka::log_to_spdlog);
  auto producer = kafka::make_client(RD_KAFKA_PRODUCER, std::move(*conf));
  if (!producer) return producer.status();
  rd_kafka_t* rk = producer->get();
  std::vector<kafka::NewTopic> wanted;
  for (const std::string& t : topics) {
    wanted.push_back({t, 1, rf, {{"min.insync.replicas", std::to_string(min_insync)}}});
  }
  ACCT_RETURN_IF_ERROR(kafka::create_topics(rk, wanted, std::chrono::seconds(30)));
  for (const std::string& t : topics) {
    for (int i = 0; i < 100; ++i) {  // 5 s at most for the new topics' leaders to be known
      auto info = kafka::describe_topic(rk, t, std::chrono::seconds(5));
      if (info && info->exists) break;
      std::this_thread::sleep_for(milliseconds(50));
    }
  }
  if (kafka::Error e{rd_kafka_init_transactions(rk, 30'000)}) return kafka::error_status(e.get(), "init_transactions");
  std::string value(1024, '\0');
  std::mt19937_64 rng(7);
  for (char& c : value) c = static_cast<char>(rng());
  // A topic just created can still be unknown to this producer's metadata
  // (produce fails at once with _UNKNOWN_TOPIC): one untimed transaction
  // first, retried every 100 ms for 30 s at most.
  for (int attempt = 0;; ++attempt) {
    if (kafka::Error e{rd_kafka_begin_transaction(rk)}) return kafka::error_status(e.get(), "begin_transaction");
    rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR_NO_ERROR;
    for (const std::string& topic : topics) {
      if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        err = rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic.c_str()), RD_KAFKA_V_PARTITION(0),
                                RD_KAFKA_V_VALUE(value.data(), value.size()), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                RD_KAFKA_V_END);
      }
    }
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      if (kafka::Error e{rd_kafka_commit_transaction(rk, 30'000)}) {
        return kafka::error_status(e.get(), "commit_transaction");
      }
      break;
    }
    if (kafka::Error e{rd_kafka_abort_transaction(rk, 30'000)}) return kafka::error_status(e.get(), "abort_transaction");
    if (err != RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC || attempt >= 300) return kafka::error_status(err, "produce");
    std::this_thread::sleep_for(milliseconds(100));
  }
  std::vector<double> latencies_us;
  Status failed;
  const auto start = Clock::now();
  const auto until = start + duration;
  while (Clock::now() < until && failed.is_ok()) {
    const auto t = Clock::now();
    if (kafka::Error e{rd_kafka_begin_transaction(rk)}) {
      failed = kafka::error_status(e.get(), "begin_transaction");
      break;
    }
    for (const std::string& topic : topics) {
      if (rd_kafka_resp_err_t err = rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic.c_str()), RD_KAFKA_V_PARTITION(0),
                                                      RD_KAFKA_V_VALUE(value.data(), value.size()),
                                                      RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END)) {
        failed = kafka::error_status(err, "produce");
      }
    }
    if (!failed.is_ok()) break;
    if (kafka::Error e{rd_kafka_commit_transaction(rk, 30'000)}) {
      failed = kafka::error_status(e.get(), "commit_transaction");
      break;
    }
    latencies_us.push_back(micros_between(t, Clock::now()));
  }
  const double seconds = seconds_since(start);
  if (!keep) kafka::delete_topics(rk, topics, std::chrono::seconds(30)).ignore();
  if (!failed.is_ok()) return failed;
  JsonLine line("cluster");
  line.text("figure", "kafka_transaction").text("unit", "transactions/s");
  line.count("events", latencies_us.size()).number("seconds", seconds);
  line.number("events_per_s", seconds > 0 ? static_cast<double>(latencies_us.size()) / seconds : 0);
  line.number("p50_us", percentile(latencies_us, 0.50)).number("p99_us", percentile(latencies_us, 0.99));
  line.count("brokers", broker_count).count("replication_factor", static_cast<uint64_t>(rf));
  line.count("partitions_per_transaction", topics.size()).count("message_bytes", value.size());
  line.text("bound", "no node: a transactional producer with a leader's settings, one transaction at a time (begin, "
                     "one 1 KiB message to each of 2 partitions, commit: AddPartitionsToTxn, produce acks=all, "
                     "EndTxn and its markers), on the brokers of this run: the ceiling of nodes_1 and nodes_3");
  line.print();
  return Status::ok();
}

}  // namespace

Status cluster_workload(const BenchOptions& o) {
  if (o.kafka_brokers.empty()) {
    return invalid_argument(
        "the cluster workload needs --kafka-brokers (e.g. $(scripts/kafka start --brokers 3 --dir D | tail -1))",
        "kafka_brokers");
  }
  const size_t brokers = cluster_bench::broker_count(o.kafka_brokers);
  // Topics as a production cluster would have them when there are 3 brokers
  // (replication factor 3, min.insync.replicas 2); fewer brokers, fewer copies.
  const int rf = static_cast<int>(std::min<size_t>(3, std::max<size_t>(1, brokers)));
  const int min_insync = std::min(2, rf);
  const uint64_t cap = o.events ? o.events : kDefaultCap;
  Workspace ws(o, "cluster");
  const std::string run = testing::unique_name("bench");  // bench.<pid>.<hex>: this run's clusters
  const std::string brokers_text = std::to_string(brokers) + " broker" + (brokers == 1 ? "" : "s");

  // 1. The reference: one acct serve without --cluster, the same commands.
  {
    ServeProcess single;
    const std::string dir = ws.dir() + "/single";
    ACCT_RETURN_IF_ERROR(single.start({"serve", "--data", dir, "--listen", "127.0.0.1:0"}, ws.dir() + "/single.log",
                                      kNodeStartLimit));
    auto token = read_token(dir);
    if (!token) return token.status();
    const Measured m = measure(*token, {single.port()}, {&single}, std::nullopt, {}, cap, offers("s"));
    auto partners = enroll_partners(single.port(), *token, kClients);
    if (!partners) return partners.status();
    const Measured mp = measure(*token, {single.port()}, {&single}, std::nullopt, {}, cap, vettings(*partners));
    Status stopped = single.stop(kStopLimit);
    print_throughput("single_node", "every PublishOffer appends to the one catalog stream, which the engine decides "
                     "and commits one command at a time (ms_per_command: decide, append, its own fdatasync, the "
                     "HTTP answer); no Kafka; 2 cores shared with the generator", m, 1, 0, 0);
    print_throughput("single_node_partners", kPartnersBound + std::string("; no Kafka; 2 cores shared with the "
                     "generator"), mp, 1, 0, 0);
    ACCT_RETURN_IF_ERROR(check_totals("single_node", m.totals));
    ACCT_RETURN_IF_ERROR(check_totals("single_node_partners", mp.totals));
    ACCT_RETURN_IF_ERROR(stopped);
  }

  // The brokers' transactions alone: what a cluster's serial stream can reach.
  ACCT_RETURN_IF_ERROR(kafka_transaction_line(o.kafka_brokers, run + ".txn", rf, min_insync, brokers,
                                              milliseconds(3000), o.keep_data));

  // 2. A cluster of 1 node.
  {
    BenchCluster c(ws.dir() + "/c1", o.kafka_brokers, run + ".c1", 1, rf, min_insync);
    ACCT_RETURN_IF_ERROR(c.start());
    auto leader = c.wait_leader(kLeaderLimit);
    if (!leader) return leader.status();
    const Measured m = measure(c.token(), c.ports(), {&c.nodes()[0]->process}, c.nodes()[0]->port, {}, cap,
                               offers("c1"));
    auto partners = enroll_partners(c.nodes()[0]->port, c.token(), kClients);
    if (!partners) return partners.status();
    const Measured mp = measure(c.token(), c.ports(), {&c.nodes()[0]->process}, c.nodes()[0]->port, {}, cap,
                                vettings(*partners));
    Status stopped = c.stop();
    if (!o.keep_data) c.delete_topics();
    print_throughput("nodes_1",
                     "the one catalog stream: each command decided on top of those in flight (up to 16), "
                     "each batch of them one Kafka transaction (produce + commit, acks=all, replication factor " +
                         std::to_string(rf) + ") before the local fdatasync; 2 cores shared by " + brokers_text +
                         ", the node and the generator",
                     m, 1, brokers, rf);
    print_throughput("nodes_1_partners", kPartnersBound + std::string("; each batch one Kafka transaction before "
                     "its fdatasync; 2 cores shared by ") + brokers_text + ", the node and the generator",
                     mp, 1, brokers, rf);
    ACCT_RETURN_IF_ERROR(check_totals("nodes_1", m.totals));
    ACCT_RETURN_IF_ERROR(check_totals("nodes_1_partners", mp.totals));
    ACCT_RETURN_IF_ERROR(stopped);
  }

  // 3. A cluster of 3 nodes: throughput and latency with clients spread over
  // the nodes (2 in 3 commands take a 307 hop), the followers' lag, then the
  // leader killed under load.
  {
    BenchCluster c(ws.dir() + "/c3", o.kafka_brokers, run + ".c3", 3, rf, min_insync);
    ACCT_RETURN_IF_ERROR(c.start());
    auto leader = c.wait_leader(kLeaderLimit);
    if (!leader) return leader.status();
    std::vector<ServeProcess*> processes;
    std::vector<unsigned short> followers;
    for (size_t i = 0; i < c.nodes().size(); ++i) {
      processes.push_back(&c.nodes()[i]->process);
      if (i != *leader) followers.push_back(c.nodes()[i]->port);
    }
    const Measured m = measure(c.token(), c.ports(), processes, c.nodes()[*leader]->port, followers, cap,
                               offers("c3"));
    print_throughput("nodes_3",
                     "as nodes_1 (one catalog stream, one Kafka transaction per batch), plus a 307 hop for the "
                     "commands sent to a follower, and 2 followers reading and applying every batch; 2 cores shared "
                     "by " + brokers_text + ", 3 nodes and the generator",
                     m, 3, brokers, rf);
    ACCT_RETURN_IF_ERROR(check_totals("nodes_3", m.totals));
    {
      auto partners = enroll_partners(c.nodes()[*leader]->port, c.token(), kClients);
      if (!partners) return partners.status();
      const Measured mp = measure(c.token(), c.ports(), processes, c.nodes()[*leader]->port, followers, cap,
                                  vettings(*partners));
      print_throughput("nodes_3_partners", kPartnersBound + std::string("; each batch one Kafka transaction; a 307 "
                       "hop for 2 in 3 commands; 2 followers applying every batch; 2 cores shared by ") +
                       brokers_text + ", 3 nodes and the generator",
                       mp, 3, brokers, rf);
      ACCT_RETURN_IF_ERROR(check_totals("nodes_3_partners", mp.totals));
    }

    JsonLine lag("cluster");
    lag.text("figure", "follower_lag").text("unit", "batches, seconds, positions");
    lag.count("samples", m.lag.batches.size()).count("followers", followers.size()).number("seconds", m.seconds);
    lag.number("lag_batches_p50", percentile(m.lag.batches, 0.50))
        .number("lag_batches_p99", percentile(m.lag.batches, 0.99))
        .number("lag_batches_max", max_of(m.lag.batches));
    lag.number("lag_seconds_p50", percentile(m.lag.seconds, 0.50))
        .number("lag_seconds_p99", percentile(m.lag.seconds, 0.99))
        .number("lag_seconds_max", max_of(m.lag.seconds));
    lag.number("lag_positions_mean", mean_of(m.lag.positions))
        .number("lag_positions_p99", percentile(m.lag.positions, 0.99))
        .number("lag_positions_max", max_of(m.lag.positions));
    lag.number("leader_events_per_s", m.seconds > 0 ? static_cast<double>(m.window.commands) / m.seconds : 0);
    lag.text("bound", "followers read the committed batches (read_committed, after the leader's transaction commit) "
                      "and apply each with an fdatasync, on the cores the leader and brokers use; head positions: "
                      "the leader's /healthz read just before each follower's, every 100 ms");
    lag.print();

    // The failover: the leader killed (SIGKILL) under load.
    leader = c.wait_leader(kLeaderLimit);  // (again: it could have moved since)
    if (!leader) return leader.status();
    Load load(c.token(), c.ports(), cap, offers("f"));
    load.start(kClients);
    std::this_thread::sleep_for(kBeforeKill);
    Node& killed = *c.nodes()[*leader];
    const double kill_s = load.mark_kill(killed.port);
    killed.process.kill_now();
    HttpClient health(kHealthTimeout);
    std::optional<double> leader_seen_s;
    std::string new_leader;
    const auto limit = Clock::now() + kFailoverLimit;
    while (Clock::now() < limit && !load.first_ack_after_kill()) {
      if (!leader_seen_s) {
        for (const auto& n : c.nodes()) {
          if (!n->process.running()) continue;
          if (health_of(health, n->port).role == "leader") {
            leader_seen_s = load.now_s();
            new_leader = n->id;
          }
        }
      }
      std::this_thread::sleep_for(milliseconds(20));
    }
    const std::optional<double> first_ack = load.first_ack_after_kill();
    if (first_ack) std::this_thread::sleep_for(kAfterFailover);
    const double end_s = load.now_s();
    load.stop();
    const std::vector<Ack> acks = load.acks();
    const Totals totals = load.totals();
    uint64_t before = 0, across = 0, after = 0;
    double across_max_s = 0;
    for (const Ack& a : acks) {
      if (a.acked_s < kill_s) {
        before += 1;
      } else if (a.sent_s < kill_s) {
        across += 1;
        across_max_s = std::max(across_max_s, a.acked_s - a.sent_s);
      } else {
        after += 1;
      }
    }
    JsonLine f("cluster");
    f.text("figure", "failover").text("unit", "s");
    if (first_ack) {
      f.number("failover_s", *first_ack - kill_s);
    } else {
      f.text("failover_s", "none within " + std::to_string(kFailoverLimit.count() / 1000) + " s");
    }
    if (leader_seen_s) f.number("new_leader_seen_s", *leader_seen_s - kill_s);
    f.text("killed_node", killed.id).text("new_leader_node", new_leader);
    f.count("session_timeout_ms", kSessionTimeoutMs).count("clients", kClients);
    f.count("acked_before_kill", before).count("acked_across_kill", across).count("acked_after_kill", after);
    f.number("max_latency_across_kill_s", across_max_s);
    f.number("seconds", end_s);
    f.count("network_errors", totals.network_errors).count("unavailable", totals.unavailable);
    f.count("refused", totals.refused).count("given_up", totals.given_up);
    f.text("bound", "the leaders' group session timeout (" + std::to_string(kSessionTimeoutMs) +
                        " ms; the brokers' group.min.session.timeout.ms by default) before the group gives the shard "
                        "to another node, then its fencing (init_transactions) and reading the partition to its end; "
                        "new_leader_seen_s: when a survivor's /healthz first said leader (polled every 20 ms)");
    f.print();
    Status stopped = c.stop();
    if (!o.keep_data) c.delete_topics();
    if (!first_ack) {
      return Status(StatusCode::kUnavailable, "cluster failover: no command acknowledged by another node within " +
                                                       std::to_string(kFailoverLimit.count() / 1000) + " s of the kill");
    }
    ACCT_RETURN_IF_ERROR(check_totals("failover", totals));
    ACCT_RETURN_IF_ERROR(stopped);
  }

  // 4. S = 3 shards, with 1 node and with 3: the partners spread over the
  // shards, each shard with its own leader, log and chain of transactions.
  for (const size_t size : {size_t{1}, size_t{3}}) {
    std::string tag(1, 's');
    tag += std::to_string(kShards) + "n" + std::to_string(size);
    BenchCluster c(ws.dir() + "/" + tag, o.kafka_brokers, run + "." + tag, size, rf, min_insync, kShards);
    ACCT_RETURN_IF_ERROR(c.start());
    auto led = c.wait_every_shard_led(kLeaderLimit);
    if (!led) return led.status();
    std::vector<ServeProcess*> processes;
    for (auto& n : c.nodes()) processes.push_back(&n->process);
    auto partners = enroll_partners(c.nodes()[0]->port, c.token(), kClients);
    if (!partners) return partners.status();
    std::vector<size_t> per_shard(kShards, 0);
    for (const std::string& p : *partners) per_shard[cluster::shard_of(p, kShards)] += 1;
    auto joined = [](const std::vector<size_t>& v) {
      std::string out;
      for (size_t x : v) {
        if (!out.empty()) out += '/';
        out += std::to_string(x);
      }
      return out;
    };
    const Measured mp = measure(c.token(), c.ports(), processes, std::nullopt, {}, cap, vettings(*partners),
                                c.ports());
    Status stopped = c.stop();
    if (!o.keep_data) c.delete_topics();
    const std::string figure = "nodes_" + std::to_string(size) + "_shards_" + std::to_string(kShards) + "_partners";
    print_throughput(figure,
                     kPartnersBound + std::string("; the 16 partners on shards ") + joined(per_shard) +
                         ", each shard's batches its own Kafka transactions, so up to 3 transactions in flight; "
                         "shards led per node " + joined(*led) +
                         (size > 1 ? "; a 307 hop for the commands sent to a node that does not lead their shard" : "") +
                         "; 2 cores shared by " + brokers_text + ", " + std::to_string(size) +
                         " node(s) and the generator",
                     mp, size, brokers, rf);
    ACCT_RETURN_IF_ERROR(check_totals(figure, mp.totals));
    ACCT_RETURN_IF_ERROR(stopped);
  }
  return Status::ok();
}

}  // namespace accountable::bench
