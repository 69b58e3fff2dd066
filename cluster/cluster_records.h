// The cluster topic, <name>.cluster (docs/cluster.md, "The cluster topic"):
// a compacted topic of JSON records, the latest per key.
//
//   cluster       {"format":1,"shards":S,"created_by","created_at"}
//   node/<id>     {"node_id","advertise","started_at"}: written by the node at each start
//   leader/<s>    {"shard","node_id","advertise","since","head"}: written by a
//                 new leader of shard s in a transaction of its fencing
//                 producer, so a fenced leader cannot overwrite it
#pragma once

#include <chrono>
#include <map>
#include <string>

#include <boost/json/object.hpp>

#include "consumers/kafka_client.h"
#include "events/status.h"

namespace accountable::cluster {

using ClusterRecords = std::map<std::string, boost::json::object>;

// Reads the whole topic (read_committed) to its end: the latest record per
// key; a deleted key (a tombstone) is absent. `client` holds the connection
// settings (bootstrap.servers, security); bounded by `timeout`.
Result<ClusterRecords> read_cluster_records(const kafka::Properties& client, const std::string& topic,
                                            std::chrono::milliseconds timeout);

// rd_kafka_query_watermark_offsets, waiting out (until `timeout`) the errors
// of a topic created a moment ago whose partition has no leader yet.
rd_kafka_resp_err_t query_watermarks(rd_kafka_t* rk, const std::string& topic, int32_t partition,
                                     std::chrono::milliseconds timeout, int64_t* lo, int64_t* hi);

}  // namespace accountable::cluster
