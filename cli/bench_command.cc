// acct bench --data DIR --workload NAME [--events N] [--json]: prints one JSON
// line per figure (bench/README.md defines the workloads).
#include <cstdio>

#include "bench/log_bench.h"
#include "cli/commands.h"

namespace accountable::cli {

void add_bench_command(CLI::App& app, int* exit_code) {
  auto* cmd = app.add_subcommand("bench", "Run a benchmark workload and print JSON lines (durable writes)");
  auto options = std::make_shared<bench::BenchOptions>();
  options->data_dir = "./bench-data";
  options->workload = "all";
  auto json = std::make_shared<bool>(true);
  cmd->add_option("--data", options->data_dir, "scratch folder; each workload uses DATA/<workload>, fresh")
      ->capture_default_str();
  cmd->add_option("--workload", options->workload, "disk, W1..W6, tree, open, memory, aggregate, commands, views, http, proofs, crc, signin, all, or relay or cluster (need --kafka-brokers)")
      ->capture_default_str();
  cmd->add_option("--kafka-brokers", options->kafka_brokers, "the Kafka bootstrap servers of the relay and cluster workloads");
  cmd->add_option("--events", options->events, "override the workload's event count (0: as defined)");
  cmd->add_flag("--json", *json, "print JSON lines (the only output format; accepted for scripts)");
  cmd->add_flag("--keep", options->keep_data, "keep each workload's folder afterwards");
  cmd->add_option("--views-gather-us", options->views_gather_us,
                  "the http workload's server runs with acct serve --views-gather-us this value")
      ->check(CLI::Range(uint32_t{0}, uint32_t{100'000}))
      ->capture_default_str();
  cmd->callback([options, json, exit_code] {
    (void)json;  // JSON is the only format; the flag is kept for scripts
    Status s = bench::run_workload(*options);
    if (!s.is_ok()) {
      std::fprintf(stderr, "bench: %s\n", s.to_string().c_str());
      *exit_code = 1;
    }
  });
}

}  // namespace accountable::cli
