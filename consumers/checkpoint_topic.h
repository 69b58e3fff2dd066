// The Kafka topic that takes every signed tree checkpoint out of the data
// folder (docs/kafka-events.md, "Checkpoints topic"): one message per
// checkpoint, key = the log's origin, value = the signed note (text/plain),
// produced idempotently with acks=all, so an auditor can read every
// checkpoint a log ever signed from somewhere its operator cannot rewrite
// alone.
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <vector>
#include <string>

#include "consumers/kafka_client.h"
#include "events/checkpoint_signer.h"

namespace accountable {

struct CheckpointTopicOptions {
  std::string brokers;
  std::string topic = "accountable.checkpoints";
  int replication_factor = -1;  // when it creates the topic; -1: the broker's default
  int min_insync_replicas = 0;  // 0: the broker's default
  kafka::Properties client_config;
  std::chrono::milliseconds timeout{10'000};  // per checkpoint: delivered (all in-sync replicas) or an error
};

class CheckpointTopic {
 public:
  // Creates the topic if missing (1 partition: one order for every log's checkpoints).
  static Result<std::unique_ptr<CheckpointTopic>> open(const CheckpointTopicOptions& options);
  ~CheckpointTopic();
  // Produces one checkpoint and waits for its delivery report.
  Status publish(const TreeCheckpoint& checkpoint);
  // For CheckpointSignerOptions::publishers.
  CheckpointPublisher publisher();

  struct Delivery;  // one message's delivery report (checkpoint_topic.cc)

 private:
  explicit CheckpointTopic(CheckpointTopicOptions options);
  CheckpointTopicOptions options_;
  // Reports that did not come in time: kept until the producer is gone, so a
  // late callback never writes to freed memory. Declared before producer_.
  std::vector<std::unique_ptr<Delivery>> abandoned_;
  kafka::Handle producer_;
  std::mutex mu_;  // one publish at a time (every shard's signer shares the topic)
};

}  // namespace accountable
