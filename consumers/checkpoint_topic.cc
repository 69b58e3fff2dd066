#include "consumers/checkpoint_topic.h"

#include <atomic>

namespace accountable {

// The delivery report of one message.
struct CheckpointTopic::Delivery {
  std::atomic<bool> done{false};
  std::atomic<rd_kafka_resp_err_t> err{RD_KAFKA_RESP_ERR_NO_ERROR};
};

namespace {

void on_delivery(rd_kafka_t*, const rd_kafka_message_t* m, void*) {
  auto* d = static_cast<CheckpointTopic::Delivery*>(m->_private);
  if (d == nullptr) return;
  d->err.store(m->err);
  d->done.store(true);
}

}  // namespace

CheckpointTopic::CheckpointTopic(CheckpointTopicOptions options) : options_(std::move(options)) {}

Result<std::unique_ptr<CheckpointTopic>> CheckpointTopic::open(const CheckpointTopicOptions& options) {
  if (options.brokers.empty()) return invalid_argument("no brokers", "kafka-brokers");
  std::unique_ptr<CheckpointTopic> t(new CheckpointTopic(options));
  kafka::Properties props = options.client_config;
  props["bootstrap.servers"] = options.brokers;
  props["enable.idempotence"] = "true";
  props["acks"] = "all";
  props["linger.ms"] = "0";
  auto conf = kafka::make_conf(props);
  if (!conf) return conf.status();
  rd_kafka_conf_set_dr_msg_cb(conf->get(), on_delivery);
  rd_kafka_conf_set_log_cb(conf->get(), kafka::log_to_spdlog);
  auto producer = kafka::make_client(RD_KAFKA_PRODUCER, std::move(*conf));
  if (!producer) return producer.status();
  t->producer_ = std::move(*producer);
  kafka::NewTopic topic;
  topic.name = options.topic;
  topic.partitions = 1;
  topic.replication_factor = options.replication_factor;
  if (options.min_insync_replicas > 0) topic.config["min.insync.replicas"] = std::to_string(options.min_insync_replicas);
  // Checkpoints are kept: never compacted away, never expired.
  topic.config["retention.ms"] = "-1";
  topic.config["retention.bytes"] = "-1";
  if (Status s = kafka::create_topics(t->producer_.get(), {topic}, options.timeout); !s.is_ok()) return s;
  return t;
}

CheckpointTopic::~CheckpointTopic() {
  if (producer_) rd_kafka_flush(producer_.get(), kafka::to_ms(options_.timeout));
}

Status CheckpointTopic::publish(const TreeCheckpoint& checkpoint) {
  std::lock_guard lock(mu_);
  auto owned = std::make_unique<Delivery>();
  Delivery& delivery = *owned;
  const std::string& key = checkpoint.body.origin;
  rd_kafka_resp_err_t err = rd_kafka_producev(
      producer_.get(), RD_KAFKA_V_TOPIC(options_.topic.c_str()), RD_KAFKA_V_PARTITION(0),
      RD_KAFKA_V_KEY(key.data(), key.size()),
      RD_KAFKA_V_VALUE(const_cast<char*>(checkpoint.note.data()), checkpoint.note.size()),
      RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_OPAQUE(owned.get()), RD_KAFKA_V_END);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) return kafka::error_status(err, "produce to " + options_.topic);
  // Bounded: the message's delivery report, or the time limit.
  const auto deadline = std::chrono::steady_clock::now() + options_.timeout;
  while (!delivery.done.load() && std::chrono::steady_clock::now() < deadline) rd_kafka_poll(producer_.get(), 50);
  if (!delivery.done.load()) {
    // Not known to be delivered: an error (the signer tries again later, and
    // the topic's readers skip a checkpoint they already have).
    abandoned_.push_back(std::move(owned));
    return Status(StatusCode::kUnavailable, "no delivery report from " + options_.topic + " within " +
                                                std::to_string(options_.timeout.count()) + " ms");
  }
  if (delivery.err.load() != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return kafka::error_status(delivery.err.load(), "deliver to " + options_.topic);
  }
  return Status::ok();
}

CheckpointPublisher CheckpointTopic::publisher() {
  return CheckpointPublisher{"kafka topic " + options_.topic,
                             [this](const TreeCheckpoint& c) { return publish(c); }};
}

}  // namespace accountable
