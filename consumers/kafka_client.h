// Thin RAII and error helpers over librdkafka's C API, shared by the relay and
// the consumer library. Nothing here knows about events.
#pragma once

#include <librdkafka/rdkafka.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "events/status.h"

namespace accountable::kafka {

// librdkafka properties (name -> value), applied in order after our defaults.
using Properties = std::map<std::string, std::string>;

struct HandleDeleter {
  void operator()(rd_kafka_t* rk) const { rd_kafka_destroy(rk); }
};
using Handle = std::unique_ptr<rd_kafka_t, HandleDeleter>;

struct ErrorDeleter {
  void operator()(rd_kafka_error_t* e) const { rd_kafka_error_destroy(e); }
};
using Error = std::unique_ptr<rd_kafka_error_t, ErrorDeleter>;

struct PartitionListDeleter {
  void operator()(rd_kafka_topic_partition_list_t* l) const { rd_kafka_topic_partition_list_destroy(l); }
};
using PartitionList = std::unique_ptr<rd_kafka_topic_partition_list_t, PartitionListDeleter>;

struct ConfDeleter {
  void operator()(rd_kafka_conf_t* c) const { rd_kafka_conf_destroy(c); }
};
using Conf = std::unique_ptr<rd_kafka_conf_t, ConfDeleter>;

// A conf with `props` set; a property librdkafka refuses is kInvalidArgument
// naming it (field "kafka.<name>").
Result<Conf> make_conf(const Properties& props);

// Creates a client from `conf` (consumed on success and on failure).
Result<Handle> make_client(rd_kafka_type_t type, Conf conf);

// "what: <error name>: <text>" as kIOError (field: `field`).
Status error_status(rd_kafka_resp_err_t err, const std::string& what, const std::string& field = {});
Status error_status(const rd_kafka_error_t* err, const std::string& what, const std::string& field = {});

int to_ms(std::chrono::milliseconds d);

// librdkafka's log lines into spdlog (syslog levels: 0..3 error, 4 warning,
// the rest debug), prefixed "kafka <facility>". For rd_kafka_conf_set_log_cb.
void log_to_spdlog(const rd_kafka_t* rk, int level, const char* facility, const char* message);

// "KEY=VALUE" -> (KEY, VALUE); kInvalidArgument naming `field` otherwise.
Status parse_property(const std::string& text, Properties* out, const std::string& field);

// What we need to know of a topic from the cluster's metadata.
struct TopicInfo {
  bool exists = false;
  int partitions = 0;
};
Result<TopicInfo> describe_topic(rd_kafka_t* rk, const std::string& topic, std::chrono::milliseconds timeout);

struct NewTopic {
  std::string name;
  int partitions = 1;
  int replication_factor = -1;  // -1: the broker's default.replication.factor
  Properties config;            // topic configs, e.g. cleanup.policy=compact
};
// Creates the topics that do not exist yet (an existing one is left as it is:
// its partition count is checked by the caller). Uses the Admin API.
Status create_topics(rd_kafka_t* rk, const std::vector<NewTopic>& topics, std::chrono::milliseconds timeout);

// Deletes the topics (a missing one is not an error). Uses the Admin API.
Status delete_topics(rd_kafka_t* rk, const std::vector<std::string>& topics, std::chrono::milliseconds timeout);

}  // namespace accountable::kafka
