// `acct cluster status`: what the cluster topic says (S, the nodes, the
// shard leaders), who is in the leaders' group now, and what each node says
// of itself on /healthz (role per shard, head, lag). Position lag is measured
// against the leader's head as its own /healthz reports it.
#pragma once

#include <chrono>
#include <string>

#include <boost/json/object.hpp>

#include "consumers/kafka_client.h"
#include "events/status.h"

namespace accountable::cluster {

struct ReportOptions {
  kafka::Properties client;  // bootstrap.servers and connection settings
  std::string name = "accountable";
  std::chrono::milliseconds timeout{10000};  // each Kafka read and each node's /healthz
};

// {"cluster","shards","created_by","created_at","members":[node ids in the leaders' group],
//  "leaders":[{"shard","node_id","advertise","since"}],
//  "nodes":[{"node_id","advertise","member","reachable","error"?,"shards":[{"shard","role","head",
//            "head_hash","lag_positions","lag_batches","lag_seconds","leadership_changes"}]}]}
Result<boost::json::object> cluster_report(const ReportOptions& options);

}  // namespace accountable::cluster
