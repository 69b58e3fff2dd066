#include "cluster/cluster_records.h"

#include <algorithm>
#include <memory>
#include <thread>

#include <boost/json.hpp>

namespace accountable::cluster {

namespace json = boost::json;
using SteadyClock = std::chrono::steady_clock;

rd_kafka_resp_err_t query_watermarks(rd_kafka_t* rk, const std::string& topic, int32_t partition,
                                     std::chrono::milliseconds timeout, int64_t* lo, int64_t* hi) {
  const auto deadline = SteadyClock::now() + timeout;
  while (true) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - SteadyClock::now());
    rd_kafka_resp_err_t err = rd_kafka_query_watermark_offsets(
        rk, topic.c_str(), partition, lo, hi, kafka::to_ms(std::max(left, std::chrono::milliseconds(100))));
    const bool settling = err == RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION ||
                          err == RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE ||
                          err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART || err == RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION;
    if (!settling || SteadyClock::now() >= deadline) return err;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

Result<ClusterRecords> read_cluster_records(const kafka::Properties& client, const std::string& topic,
                                            std::chrono::milliseconds timeout) {
  kafka::Properties p = client;
  p["group.id"] = topic + ".reader";  // never joins: assign() only
  p["enable.auto.commit"] = "false";
  p["enable.partition.eof"] = "true";
  p["auto.offset.reset"] = "earliest";
  p["isolation.level"] = "read_committed";
  auto conf = kafka::make_conf(p);
  if (!conf) return conf.status();
  rd_kafka_conf_set_log_cb(conf->get(), &kafka::log_to_spdlog);
  auto consumer = kafka::make_client(RD_KAFKA_CONSUMER, std::move(*conf));
  if (!consumer) return consumer.status();
  int64_t lo = 0, hi = 0;
  if (rd_kafka_resp_err_t err = query_watermarks(consumer->get(), topic, 0, timeout, &lo, &hi)) {
    return kafka::error_status(err, "watermarks of the cluster topic " + topic);
  }
  ClusterRecords records;
  if (hi <= lo) return records;
  kafka::PartitionList list(rd_kafka_topic_partition_list_new(1));
  rd_kafka_topic_partition_list_add(list.get(), topic.c_str(), 0)->offset = lo;
  if (rd_kafka_resp_err_t err = rd_kafka_assign(consumer->get(), list.get())) {
    return kafka::error_status(err, "reading the cluster topic " + topic);
  }
  const auto deadline = SteadyClock::now() + timeout;
  while (SteadyClock::now() < deadline) {
    std::unique_ptr<rd_kafka_message_t, void (*)(rd_kafka_message_t*)> m(rd_kafka_consumer_poll(consumer->get(), 100),
                                                                         rd_kafka_message_destroy);
    if (!m) continue;
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      if (m->offset >= hi) return records;
      continue;  // below an open transaction (a leader record being written): wait
    }
    if (m->err) return kafka::error_status(m->err, "reading the cluster topic " + topic);
    if (m->key == nullptr) continue;
    std::string key(static_cast<const char*>(m->key), m->key_len);
    if (m->payload == nullptr) {
      records.erase(key);
      continue;
    }
    boost::system::error_code ec;
    json::value v = json::parse(std::string_view(static_cast<const char*>(m->payload), m->len), ec);
    if (ec || !v.is_object()) {
      return Status(StatusCode::kCorruption, "the record '" + key + "' at offset " + std::to_string(m->offset) +
                                                 " of " + topic + " is not a JSON object");
    }
    records[key] = std::move(v.as_object());
  }
  return Status(StatusCode::kUnavailable,
                "reading the cluster topic " + topic + " to offset " + std::to_string(hi) + " did not finish in time");
}

}  // namespace accountable::cluster
