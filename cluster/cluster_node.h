// ClusterNode: one node of a cluster whose replication and leadership layer
// is Apache Kafka (docs/cluster.md).
//
//  - Each shard s is a complete log (same format, same `acct verify`). Its
//    sealed batches travel as messages on partition s of <name>.replication.
//  - Leadership: every node joins the consumer group <name>.leaders over the
//    replication topic; the node assigned partition s leads shard s. It opens
//    a transactional producer with the fixed transactional.id <name>.shard-<s>,
//    whose init_transactions fences every older leader, then reads partition
//    s to its end (read_committed) and only then takes commands.
//  - Kafka first: the leader's log hands each sealed batch to replicate()
//    before writing it. The batch and its change events (the downstream
//    topic, same format as the relay's) are committed in one transaction,
//    acks=all, on topics with replication factor 3 and min.insync.replicas 2.
//    Only then is the batch written and fsynced locally, and then answered.
//    A batch Kafka did not take is written nowhere, so no local tail ever
//    holds a commit that Kafka does not.
//  - Followers (every node, for the shards it does not lead) apply the
//    committed batches to their copy with EventLog::apply_sealed: byte for
//    byte the leader's segments.
//  - Cluster facts (S, the nodes' URLs, the shard leaders) are records of the
//    compacted topic <name>.cluster.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <boost/json/object.hpp>

#include "aggregates/secret_record.h"
#include "cluster/secret_message.h"
#include "consumers/kafka_client.h"
#include "events/event_log.h"
#include "events/status.h"
#include "schema/personal_data.h"

namespace accountable::cluster {

struct ClusterOptions {
  std::string node_id;    // [A-Za-z0-9._-], 1..64 characters; unique in the cluster
  std::string brokers;    // bootstrap.servers
  std::string advertise;  // this node's HTTP base URL, e.g. http://127.0.0.1:8081
  uint32_t shards = 1;    // S: fixed when the cluster is created
  std::string name = "accountable";  // prefix of the cluster's topics, group and transactional ids
  std::string events_topic = "accountable.events";  // the downstream change events
  int events_partitions = 6;                        // when this node creates the events topic
  int replication_factor = 3;
  int min_insync_replicas = 2;
  // A node that stops heartbeating (dead, stopped, cut off) loses its shards
  // after this long; the floor of a failover's time.
  std::chrono::milliseconds session_timeout{6000};
  // Every blocking Kafka call is bounded by this.
  std::chrono::milliseconds operation_timeout{10000};
  // One batch's transaction (produce, commit) at most this long; after it the
  // batch fails (nothing written) and the shard re-acquires its leadership.
  std::chrono::milliseconds commit_timeout{15000};
  // start() waits this long at most to catch up with the replication topic.
  std::chrono::milliseconds catch_up_timeout{300000};
  kafka::Properties client_config;  // extra librdkafka settings for every client (security, ...)
  // Seals the records of the secrets topic (cluster/secret_message.h); the
  // same on every node, kept out of band (--cluster-key). Required.
  ClusterKey cluster_key{};
  // The secrets topic: a record replaced (a key destroyed, a credential
  // erased) is compacted away within about segment + compaction lag; a
  // tombstone is kept for tombstone_retention so that late readers see it.
  std::chrono::milliseconds secrets_compaction_lag{std::chrono::hours(24)};
  std::chrono::milliseconds secrets_tombstone_retention{std::chrono::hours(24)};
  // Where each shard's reader records how far it has applied the replication
  // topic (a file per shard, at most a second behind), so that a restart reads
  // on from there instead of from the topic's start. Empty: from the start.
  std::string resume_dir;
  // Tests only: called by the reader with each replication batch, before the
  // log applies it (a test holds the reader there).
  std::function<void(uint32_t shard, const SealedBatch& batch)> before_apply_for_test;
  // Tests only: called after each transaction of the shard committed; true
  // makes the node take it as a commit whose answer was lost (a timeout).
  std::function<bool(uint32_t shard)> lose_commit_answer_for_test;

  std::string replication_topic() const { return name + ".replication"; }
  std::string secrets_topic() const { return name + ".secrets"; }
  std::string metadata_topic() const { return name + ".cluster"; }
  std::string group_id() const { return name + ".leaders"; }
  std::string transactional_id(uint32_t shard) const { return name + ".shard-" + std::to_string(shard); }
  Status validate() const;
};

enum class ShardRole {
  kFollower,   // applies the leader's batches; refuses commands
  kAcquiring,  // assigned: fencing older leaders and reading to the end
  kLeader,     // takes commands
  kFailed,     // the copy cannot follow (diverged, or the topic lost what it needs): see last_error
};
std::string_view shard_role_name(ShardRole role);

struct ShardStatus {
  uint32_t shard = 0;
  ShardRole role = ShardRole::kFollower;
  std::string leader_node;  // as the cluster topic last said; empty: none known
  std::string leader_url;
  uint64_t head = 0;                // this copy's head position
  std::string head_hash;            // and the hash chain there (hex)
  uint64_t kafka_end_offset = 0;    // of the shard's partition, last looked at
  uint64_t applied_offset = 0;      // next offset this node's reader will read
  uint64_t resumed_from = 0;        // the offset this run's reader started at (0: the topic's start)
  uint64_t lag_batches = 0;         // batches in Kafka not yet read here
  double lag_seconds = 0;           // age of the oldest unread batch; 0 when caught up
  uint64_t leadership_changes = 0;  // times this node became this shard's leader
  uint64_t batches_replicated = 0;  // by this node as leader
  uint64_t batches_applied = 0;     // from other leaders
  std::string last_error;
};

struct ClusterStatus {
  std::string node_id;
  std::string cluster_name;
  uint32_t shards = 0;
  uint64_t reader_reconnects = 0;  // the reader started over after a stall (cluster_node.cc)
  std::vector<ShardStatus> shard;
  // The secrets topic, as this node's secrets reader has read it.
  uint64_t secrets_offset = 0;      // next offset to read
  uint64_t secrets_end_offset = 0;  // its high watermark, last looked at
  uint64_t secrets_applied = 0;     // records of other runs applied here
  bool secrets_failed = false;      // a record failed authentication: nothing more is applied
  std::string secrets_error;
};
boost::json::object cluster_status_json(const ClusterStatus& status);

class ClusterNode {
 public:
  explicit ClusterNode(ClusterOptions options);
  ~ClusterNode();  // stop()
  ClusterNode(const ClusterNode&) = delete;
  ClusterNode& operator=(const ClusterNode&) = delete;

  // What the log of shard `s` calls with each sealed batch (LogOptions::replicator).
  BatchReplicator replicator(uint32_t shard);

  // Shard s's log, the cipher that renders its change events, and its stores
  // outside the log (null: none replicated); all must outlive the node.
  // Every shard before start().
  void attach(uint32_t shard, EventLog* log, PersonalDataCipher* cipher, SecretStores* secrets = nullptr);

  // What shard s's stores call with a change before they make it: one
  // transaction of the shard's leader on the secrets topic. kUnavailable
  // when this node does not lead the shard or the transaction failed before
  // its commit (nothing is published); kOutcomeUnknown when the commit failed
  // after it was asked for (it may have landed: the secrets reader applies it
  // if it did).
  SecretPublisher secret_publisher(uint32_t shard);

  // Creates the cluster's topics if missing, checks (or records) S, records
  // this node, catches every shard up with the replication topic (refusing a
  // copy that is ahead of it or diverged), then joins the leaders' group.
  // Returns once this node may serve reads.
  Status start();
  void stop();

  // Where a command for shard `s` goes: nullopt when this node leads it (take
  // it); else the leader's base URL (redirect); kUnavailable when no leader
  // is known or this node is between roles.
  Result<std::optional<std::string>> command_target(uint32_t shard) const;

  ClusterStatus status() const;
  const ClusterOptions& options() const { return options_; }

 private:
  struct Shard;
  class Reader;
  class SecretsReader;
  class Membership;
  class Reaper;

  Status replicate(uint32_t shard, const SealedBatch& batch);
  Status publish_secrets(uint32_t shard, const std::vector<SecretRecord>& records);
  // One transaction of shard s's leader: `body` produces through the
  // callback it is given (topic, partition, key, value or none for a
  // tombstone, headers). On any failure nothing is committed, and the shard
  // takes its lead again (replicate() says why).
  using Produce = std::function<Status(const std::string& topic, int32_t partition, std::string_view key,
                                       const std::string* value, rd_kafka_headers_t* headers)>;
  Status transact(Shard& shard, const std::string& what, const std::function<Status(const Produce&)>& body);
  // The secrets topic's records of shard s, sealed, in the open transaction.
  Status produce_secrets(uint32_t shard, const std::vector<SecretRecord>& records, const Produce& produce,
                         std::vector<std::string>* message_keys);
  // The leaders' group gave this node shard s's partition, or took it away.
  void on_assigned(uint32_t shard);
  void on_revoked(uint32_t shard, const std::string& why);
  void leadership_loop();
  Status acquire(Shard& shard);
  void step_down(Shard& shard, const std::string& why);
  Status ensure_topics(rd_kafka_t* admin);
  // The reader's resume points (ClusterOptions::resume_dir).
  std::string resume_path(uint32_t shard) const;
  void save_resume_points();
  void load_resume_point(rd_kafka_t* client, Shard& shard);
  Status register_cluster();
  kafka::Properties client_properties() const;

  ClusterOptions options_;
  std::unique_ptr<Reaper> reaper_;  // destroys the producers given up, off every path that matters
  std::vector<std::unique_ptr<Shard>> shards_;
  std::unique_ptr<SecretsReader> secrets_reader_;
  std::unique_ptr<Reader> reader_;
  std::unique_ptr<Membership> membership_;

  std::mutex mu_;  // with cv_: leadership work to do, or stopping
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread leadership_;
  const std::string run_id_;  // random per process: the acct-run header of the secrets this run publishes
};

}  // namespace accountable::cluster
