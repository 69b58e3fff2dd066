// `acct bench --workload cluster --kafka-brokers LIST`: `acct serve --cluster`
// nodes (child processes of the bench, on loopback) against real brokers,
// driven by concurrent HTTP clients sending PublishOffer commands, beside one
// `acct serve` without a cluster as the reference (bench/README.md). Prints
// one JSON line per figure; nothing here asserts a speed. Not part of `all`.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "bench/log_bench.h"

namespace accountable::bench {

Status cluster_workload(const BenchOptions& options);

// The small pure parts of the workload (bench/cluster_bench_test.cc).
namespace cluster_bench {

// One acknowledged command, as the client saw it. Times are seconds since the
// load started; `port` is the node that answered 200 (after any 307).
struct Ack {
  double sent_s = 0;
  double acked_s = 0;
  unsigned short port = 0;
  bool redirected = false;  // the first node asked was not the leader
};

// The port of "http://127.0.0.1:PORT/..." (any host); 0 when there is none.
unsigned short port_of_url(const std::string& url);

// Entries of a bootstrap list "h1:p1,h2:p2" (empty entries not counted).
size_t broker_count(const std::string& brokers);

// Failover: the first acknowledgement at or after `kill_s` from a node other
// than the killed one (seconds since the load started); nullopt if none.
std::optional<double> first_ack_after(const std::vector<Ack>& acks, double kill_s, unsigned short killed_port);

// The acknowledgements that arrived in [from_s, to_s]: their count and their
// latencies in µs (from the first send to the 200, any 307 hop included).
struct Window {
  uint64_t commands = 0;
  uint64_t redirected = 0;
  std::vector<double> latencies_us;
  std::vector<double> direct_us;      // answered by the node first asked
  std::vector<double> redirected_us;  // answered after a 307 to the leader
};
Window window(const std::vector<Ack>& acks, double from_s, double to_s);

}  // namespace cluster_bench

}  // namespace accountable::bench
