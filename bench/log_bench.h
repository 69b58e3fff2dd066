// The log's benchmark workloads (W1..W6 and the disk's own limits), as defined
// in bench/README.md. Each prints one JSON line per figure; nothing here is a
// test and nothing asserts a speed.
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "events/envelope.h"
#include "events/status.h"

namespace accountable::bench {

struct BenchOptions {
  std::string data_dir;      // each workload works in DATA/<workload>, fresh
  std::string workload;      // W1..W6, disk, or all
  uint64_t events = 0;       // 0: the workload's defined count
  bool keep_data = false;    // leave DATA/<workload> behind
  std::string kafka_brokers;  // the relay and cluster workloads' brokers (bench/relay_bench.h, bench/cluster_bench.h)
  // W1..W3 with the checkpoint signer beside the log, as `acct serve` runs it
  // (its Merkle tree and signatures at the default cadence): "W1+tree" etc.
  bool signed_tree = false;
  // The http workload's server with `acct serve --views-gather-us` (0: its default).
  uint32_t views_gather_us = 0;
};

// `events` random payloads of `payload_bytes` in one commit to one stream, as
// every log workload writes them.
std::string random_payload(std::mt19937_64& rng, size_t bytes);
CommitRequest one_stream_commit(const std::string& stream, ExpectedVersion expected, int events, std::mt19937_64& rng,
                                size_t payload_bytes = 200);

// Bytes of every segment in DATA_DIR/log up to its last commit: the log's
// size (the zero-filled tail of the last segment is not the log's).
double log_bytes(const std::string& data_dir);

// The workloads this build knows, in the order `all` runs them.
const std::vector<std::string>& workload_names();

// Runs one workload (or all) and prints JSON lines on stdout.
Status run_workload(const BenchOptions& options);

}  // namespace accountable::bench
