// Metrics of the server in the Prometheus text format (GET /metrics):
//   acct_http_requests_total{route,status}
//   acct_commands_total{type,code}
//   acct_log_* (appends, batches, fsync latency and batch size histograms, head;
//     per shard, labelled shard="<s>", on a node of a cluster with S > 1)
//   gauges added by other parts (view lag, relay lag) through add_gauge().
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "events/event_log.h"

namespace accountable {

class Metrics {
 public:
  explicit Metrics(const EventLog& log) : logs_{&log} {}
  // A node of a cluster with S > 1 shards: the acct_log_* series of each
  // shard's log, labelled shard="<s>".
  explicit Metrics(std::vector<const EventLog*> shard_logs) : logs_(std::move(shard_logs)) {}

  void count_http(const std::string& route, unsigned status);
  void count_command(std::string_view type, std::string_view code);

  // A gauge read at every scrape: name, help, and a function giving
  // (labels text like `view="catalog"`, value) pairs.
  using GaugeFn = std::function<std::vector<std::pair<std::string, double>>()>;
  // `type` is the Prometheus type: "gauge", or "counter" for a total read at scrape time.
  void add_gauge(std::string name, std::string help, GaugeFn fn, std::string type = "gauge");

  std::string render() const;

 private:
  std::vector<const EventLog*> logs_;
  mutable std::mutex mu_;
  std::map<std::pair<std::string, unsigned>, uint64_t> http_;
  std::map<std::pair<std::string, std::string>, uint64_t> commands_;
  struct Gauge {
    std::string name, help;
    GaugeFn fn;
    std::string type;
  };
  std::vector<Gauge> gauges_;
};

}  // namespace accountable
