// acct cluster status --kafka-brokers LIST [--cluster-name NAME]: the members,
// the shard leaders and each node's lag, as one JSON object (docs/cluster.md).
// acct cluster keygen --out FILE: a new cluster key (serve --cluster-key).
#include <cstdio>

#include <boost/json.hpp>

#include "cli/commands.h"
#include "cluster/cluster_report.h"
#include "cluster/secret_message.h"

namespace accountable::cli {

void add_cluster_command(CLI::App& app, int* exit_code) {
  auto* cmd = app.add_subcommand("cluster", "Look at a cluster of nodes (docs/cluster.md)");
  cmd->require_subcommand(1);
  auto* status = cmd->add_subcommand("status", "The members, the shard leaders and each node's lag, as JSON");
  auto brokers = std::make_shared<std::string>();
  auto options = std::make_shared<cluster::ReportOptions>();
  auto timeout_ms = std::make_shared<size_t>(10000);
  status->add_option("--kafka-brokers", *brokers, "the cluster's Kafka bootstrap servers")->required();
  status->add_option("--cluster-name", options->name, "the cluster's name (serve --cluster-name)")->capture_default_str();
  status->add_option("--timeout-ms", *timeout_ms, "bound on each Kafka read and each node's /healthz")
      ->capture_default_str();
  status->callback([brokers, options, timeout_ms, exit_code] {
    options->client["bootstrap.servers"] = *brokers;
    options->timeout = std::chrono::milliseconds(*timeout_ms);
    auto report = cluster::cluster_report(*options);
    if (!report) {
      std::fprintf(stderr, "cluster status: %s\n", report.status().to_string().c_str());
      *exit_code = 1;
      return;
    }
    std::printf("%s\n", boost::json::serialize(*report).c_str());
    *exit_code = 0;
  });

  auto* keygen = cmd->add_subcommand(
      "keygen", "Write a new cluster key (64 hex digits, mode 0600); copy it to every node out of band");
  auto out = std::make_shared<std::string>();
  keygen->add_option("--out", *out, "the file to create (never replaced)")->required();
  keygen->callback([out, exit_code] {
    if (Status s = cluster::write_cluster_key_file(*out); !s.is_ok()) {
      std::fprintf(stderr, "cluster keygen: %s\n", s.to_string().c_str());
      *exit_code = 1;
      return;
    }
    std::printf("wrote a new cluster key to %s\n", out->c_str());
    *exit_code = 0;
  });
}

}  // namespace accountable::cli
