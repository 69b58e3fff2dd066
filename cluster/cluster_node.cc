#include "cluster/cluster_node.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstring>
#include <deque>
#include <map>

#include <boost/json.hpp>

#include "cluster/cluster_records.h"
#include "cluster/replication_message.h"
#include "consumers/event_message.h"
#include "consumers/relay_encoder.h"
#include "events/log_scanner.h"

namespace accountable::cluster {

namespace json = boost::json;
using SteadyClock = std::chrono::steady_clock;

namespace {

// Larger than any batch the log seals in cluster mode (serve sets the log's
// max_batch_bytes below this), with room for the header.
constexpr size_t kMaxReplicationMessageBytes = 16u << 20;

Status unavailable(const std::string& why) { return Status(StatusCode::kUnavailable, why); }

struct MessageDeleter {
  void operator()(rd_kafka_message_t* m) const { rd_kafka_message_destroy(m); }
};
using Message = std::unique_ptr<rd_kafka_message_t, MessageDeleter>;

std::string_view key_of(const rd_kafka_message_t* m) {
  return m->key ? std::string_view(static_cast<const char*>(m->key), m->key_len) : std::string_view();
}
std::string_view value_of(const rd_kafka_message_t* m) {
  return m->payload ? std::string_view(static_cast<const char*>(m->payload), m->len) : std::string_view();
}

int64_t now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

std::string now_text() {
  return format_timestamp(Timestamp{now_ms() * 1000});
}

// The hash of `position` in `log` (the head's hash when it is the head).
Result<Hash256> hash_at(const EventLog& log, GlobalPosition position) {
  auto [head, head_hash] = log.head_and_hash();
  if (position == head) return head_hash;
  auto batch = log.read_all(position, 1);
  if (!batch) return batch.status();
  if (batch->events.empty() || batch->events[0].position != position) {
    return Status(StatusCode::kNotFound, "position " + std::to_string(position.value()) + " is not in the log");
  }
  return batch->events[0].hash;
}

}  // namespace

std::string_view shard_role_name(ShardRole role) {
  switch (role) {
    case ShardRole::kFollower: return "follower";
    case ShardRole::kAcquiring: return "acquiring";
    case ShardRole::kLeader: return "leader";
    case ShardRole::kFailed: return "failed";
  }
  return "unknown";
}

Status ClusterOptions::validate() const {
  if (node_id.empty() || node_id.size() > 64 ||
      !std::all_of(node_id.begin(), node_id.end(),
                   [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-'; })) {
    return invalid_argument("must be 1 to 64 characters of A-Z, a-z, 0-9, '.', '_' or '-'", "node-id");
  }
  if (brokers.empty()) return invalid_argument("the Kafka bootstrap servers are required", "kafka-brokers");
  if (advertise.rfind("http://", 0) != 0 && advertise.rfind("https://", 0) != 0) {
    return invalid_argument("must be this node's base URL, e.g. http://10.0.0.5:8080", "advertise");
  }
  if (shards < 1 || shards > 256) return invalid_argument("must be from 1 to 256", "shards");
  if (replication_factor < 1) return invalid_argument("must be at least 1", "replication-factor");
  if (min_insync_replicas < 1 || min_insync_replicas > replication_factor) {
    return invalid_argument("must be from 1 to the replication factor", "min-insync-replicas");
  }
  return Status::ok();
}

json::object cluster_status_json(const ClusterStatus& status) {
  json::object out;
  out["node_id"] = status.node_id;
  out["cluster"] = status.cluster_name;
  out["shards"] = status.shards;
  out["reader_reconnects"] = status.reader_reconnects;
  json::array shards;
  for (const ShardStatus& s : status.shard) {
    json::object o;
    o["shard"] = s.shard;
    o["role"] = shard_role_name(s.role);
    o["leader_node"] = s.leader_node;
    o["leader_url"] = s.leader_url;
    o["head"] = s.head;
    o["head_hash"] = s.head_hash;
    o["kafka_end_offset"] = s.kafka_end_offset;
    o["applied_offset"] = s.applied_offset;
    o["lag_batches"] = s.lag_batches;
    o["lag_seconds"] = s.lag_seconds;
    o["leadership_changes"] = s.leadership_changes;
    o["batches_replicated"] = s.batches_replicated;
    o["batches_applied"] = s.batches_applied;
    if (!s.last_error.empty()) o["last_error"] = s.last_error;
    shards.push_back(std::move(o));
  }
  out["shard"] = std::move(shards);
  return out;
}

// ---- one shard's state on this node ------------------------------------------------

struct ClusterNode::Shard {
  uint32_t index = 0;
  EventLog* log = nullptr;
  PersonalDataCipher* cipher = nullptr;

  // Held by replicate() for a whole transaction, and by role changes.
  std::mutex mu;
  kafka::Handle producer;  // the leader's transactional producer
  std::atomic<ShardRole> role{ShardRole::kFollower};
  std::atomic<bool> assigned{false};  // the leaders' group gave us this partition
  std::atomic<bool> want_acquire{false};

  // The reader's progress on this shard's partition.
  std::atomic<int64_t> next_offset{0};   // next offset to read
  std::atomic<int64_t> eof_offset{-1};   // where the reader last found the end
  std::atomic<int64_t> end_offset{0};    // the partition's high watermark, last looked at
  std::atomic<uint64_t> kafka_last{0};   // the last position seen in the partition
  std::atomic<SteadyClock::time_point> progress_at{};  // the reader's last message or end on it
  std::atomic<double> lag_seconds{0};
  std::atomic<uint64_t> leadership_changes{0};
  std::atomic<uint64_t> replicated{0};
  std::atomic<uint64_t> applied{0};

  mutable std::mutex info_mu;  // the strings below
  std::string leader_node;
  std::string leader_url;
  std::string last_error;

  void note_error(const std::string& e) {
    std::lock_guard lock(info_mu);
    last_error = e;
  }
};

// ---- the reaper: clients given up are destroyed off every path that matters -------

// rd_kafka_destroy() of a client waits for its threads and requests, with no
// bound. The writer, the reader and the group's callbacks must never wait for it, so
// a producer given up goes here: purged without waiting, destroyed on this
// thread. At most kMaxWaiting wait; beyond that they are kept (leaked) until
// the process ends, with an error in the log, rather than block a writer.
class ClusterNode::Reaper {
 public:
  Reaper() : state_(std::make_shared<State>()) {
    std::thread([s = state_] { run(*s); }).detach();  // outlives the node if a destroy never returns
  }
  ~Reaper() {
    std::unique_lock lock(state_->mu);
    state_->stopping = true;
    state_->cv.notify_all();
    // Bounded: a destroy that never returns is left behind with its thread.
    state_->cv.wait_for(lock, std::chrono::seconds(10), [&] { return state_->queue.empty() && !state_->busy; });
  }
  void dispose(kafka::Handle producer, bool is_producer = true) {
    if (!producer) return;
    if (is_producer) {
      rd_kafka_purge(producer.get(),
                     RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT | RD_KAFKA_PURGE_F_NON_BLOCKING);
    }
    std::lock_guard lock(state_->mu);
    if (state_->queue.size() >= kMaxWaiting) {
      spdlog::error("cluster: {} given-up producers wait to be destroyed; this one is kept until the process ends",
                    state_->queue.size());
      static_cast<void>(producer.release());
      return;
    }
    state_->queue.push_back(std::move(producer));
    state_->cv.notify_all();
  }

 private:
  static constexpr size_t kMaxWaiting = 16;
  struct State {
    std::mutex mu;
    std::condition_variable cv;
    std::deque<kafka::Handle> queue;
    bool busy = false;
    bool stopping = false;
  };
  static void run(State& s) {
    std::unique_lock lock(s.mu);
    while (true) {
      s.cv.wait(lock, [&] { return s.stopping || !s.queue.empty(); });
      if (s.queue.empty()) {
        s.cv.notify_all();
        if (s.stopping) return;
        continue;
      }
      kafka::Handle h = std::move(s.queue.front());
      s.queue.pop_front();
      s.busy = true;
      lock.unlock();
      const auto started = SteadyClock::now();
      h.reset();
      const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(SteadyClock::now() - started);
      if (took > std::chrono::seconds(5)) spdlog::warn("cluster: destroying a given-up producer took {} ms", took.count());
      lock.lock();
      s.busy = false;
      s.cv.notify_all();
    }
  }
  std::shared_ptr<State> state_;
};

// ---- the reader: every shard's partition, and the cluster topic --------------------

class ClusterNode::Reader {
 public:
  Reader(ClusterNode& node) : node_(node) {}
  ~Reader() { stop(); }

  Status start() {
    ACCT_RETURN_IF_ERROR(connect());
    thread_ = std::thread([this] { run(); });
    return Status::ok();
  }

  void stop() {
    stopping_ = true;
    if (thread_.joinable()) thread_.join();
    node_.reaper_->dispose(std::move(consumer_), /*is_producer=*/false);
    std::lock_guard lock(clients_mu_);
    watermarks_.reset();
  }

  // The partition's high watermark now.
  Result<int64_t> high_watermark(uint32_t shard) {
    std::shared_ptr<rd_kafka_t> client;
    {
      std::lock_guard lock(clients_mu_);
      client = watermarks_;
    }
    if (!client) return unavailable("the cluster reader is not connected");
    int64_t lo = 0, hi = 0;
    if (rd_kafka_resp_err_t err = query_watermarks(client.get(), node_.options_.replication_topic(),
                                                   static_cast<int32_t>(shard), node_.options_.operation_timeout, &lo,
                                                   &hi)) {
      return kafka::error_status(err, "watermarks of shard " + std::to_string(shard) + "'s partition");
    }
    return hi;
  }

  uint64_t reconnects() const { return reconnects_; }

  // Waits until the reader has applied everything of shard s's partition up
  // to offset `end` (or the deadline passes, or the shard failed).
  Status wait_caught_up(Shard& shard, int64_t end, SteadyClock::time_point deadline) {
    std::unique_lock lock(mu_);
    const bool done = cv_.wait_until(lock, deadline, [&] {
      return stopping_ || shard.role == ShardRole::kFailed || shard.next_offset >= end || shard.eof_offset >= end;
    });
    if (shard.role == ShardRole::kFailed) {
      std::lock_guard info(shard.info_mu);
      return Status(StatusCode::kCorruption, "shard " + std::to_string(shard.index) + ": " + shard.last_error);
    }
    if (!done || stopping_) {
      return unavailable("shard " + std::to_string(shard.index) + ": reading its partition to offset " +
                         std::to_string(end) + " did not finish in time (at offset " +
                         std::to_string(shard.next_offset.load()) + ")");
    }
    return Status::ok();
  }

 private:
  // The two clients, reading every shard's partition from where this reader
  // is (the start, the first time) and the cluster topic from its start.
  Status connect() {
    kafka::Properties common = node_.client_properties();
    // librdkafka 2.0.2 goes on asking a partition's old leader until the next
    // metadata refresh (fixed in 2.3.0, #4225): refresh often.
    common["topic.metadata.refresh.interval.ms"] = "2000";
    kafka::Properties p = common;
    p["group.id"] = node_.options_.name + ".reader." + node_.options_.node_id;  // never joins: assign() only
    p["isolation.level"] = "read_committed";
    p["enable.auto.commit"] = "false";
    p["enable.partition.eof"] = "true";
    p["auto.offset.reset"] = "earliest";
    p["fetch.max.bytes"] = std::to_string(64u << 20);
    p["max.partition.fetch.bytes"] = std::to_string(kMaxReplicationMessageBytes + 4096);
    p["receive.message.max.bytes"] = std::to_string((64u << 20) + (1u << 20));
    auto conf = kafka::make_conf(p);
    if (!conf) return conf.status();
    rd_kafka_conf_set_log_cb(conf->get(), &kafka::log_to_spdlog);
    auto consumer = kafka::make_client(RD_KAFKA_CONSUMER, std::move(*conf));
    if (!consumer) return consumer.status();

    kafka::Properties wp = common;
    wp["group.id"] = node_.options_.name + ".watermarks." + node_.options_.node_id;
    wp["isolation.level"] = "read_uncommitted";  // the high watermark, not the last stable offset
    auto wconf = kafka::make_conf(wp);
    if (!wconf) return wconf.status();
    rd_kafka_conf_set_log_cb(wconf->get(), &kafka::log_to_spdlog);
    auto watermarks = kafka::make_client(RD_KAFKA_CONSUMER, std::move(*wconf));
    if (!watermarks) return watermarks.status();

    kafka::PartitionList list(rd_kafka_topic_partition_list_new(static_cast<int>(node_.shards_.size()) + 1));
    const std::string replication = node_.options_.replication_topic();
    for (const auto& shard : node_.shards_) {
      const int64_t next = shard->next_offset;
      rd_kafka_topic_partition_list_add(list.get(), replication.c_str(), static_cast<int32_t>(shard->index))->offset =
          next > 0 ? next : RD_KAFKA_OFFSET_BEGINNING;
    }
    rd_kafka_topic_partition_list_add(list.get(), node_.options_.metadata_topic().c_str(), 0)->offset =
        metadata_next_ > 0 ? metadata_next_ : RD_KAFKA_OFFSET_BEGINNING;
    if (rd_kafka_resp_err_t err = rd_kafka_assign(consumer->get(), list.get())) {
      return kafka::error_status(err, "assigning the replication topic " + replication);
    }
    if (consumer_) node_.reaper_->dispose(std::move(consumer_), /*producer=*/false);
    consumer_ = std::move(*consumer);
    std::shared_ptr<rd_kafka_t> fresh(watermarks->release(), [reaper = node_.reaper_.get()](rd_kafka_t* rk) {
      reaper->dispose(kafka::Handle(rk), /*is_producer=*/false);
    });
    std::shared_ptr<rd_kafka_t> old;
    {
      std::lock_guard lock(clients_mu_);
      old = std::exchange(watermarks_, std::move(fresh));
    }
    (void)old;  // destroyed here, or by the last high_watermark() still using it
    const auto now = SteadyClock::now();
    for (auto& shard : node_.shards_) shard->progress_at = now;
    watermarks_ok_at_ = now;
    return Status::ok();
  }

  // librdkafka 2.0.2's consumer can stop fetching for good after quick
  // leader changes (an OffsetForLeaderEpoch loop, fixed in 2.3.0, #4433): a
  // partition with data beyond this reader, or watermarks out of reach, for
  // kStall, and the reader starts over with new clients from where it is.
  bool stalled(SteadyClock::time_point now) const {
    if (now - watermarks_ok_at_ > kStall) return true;
    for (const auto& shard : node_.shards_) {
      const int64_t read_to = std::max<int64_t>(shard->next_offset, shard->eof_offset);
      if (shard->role != ShardRole::kFailed && shard->end_offset > read_to && now - shard->progress_at.load() > kStall) {
        return true;
      }
    }
    return false;
  }

  void run() {
    auto last_watermarks = SteadyClock::now() - std::chrono::seconds(10);
    while (!stopping_) {
      const auto now = SteadyClock::now();
      if (now - last_watermarks >= std::chrono::seconds(1)) {
        last_watermarks = now;
        bool all_ok = true;
        for (auto& shard : node_.shards_) {
          auto hi = high_watermark(shard->index);
          if (hi) {
            shard->end_offset = *hi;
          } else {
            all_ok = false;
          }
        }
        if (all_ok) watermarks_ok_at_ = SteadyClock::now();
        if (stalled(SteadyClock::now())) {
          spdlog::warn("cluster reader: no progress for {} s with data to read, or the watermarks out of reach: "
                       "reconnecting from where it is",
                       std::chrono::duration_cast<std::chrono::seconds>(kStall).count());
          if (Status s = connect(); !s.is_ok()) spdlog::warn("cluster reader: reconnecting: {}", s.to_string());
          reconnects_ += 1;
        }
      }
      Message m(rd_kafka_consumer_poll(consumer_.get(), 100));
      if (!m) continue;
      const bool replication = m->rkt && node_.options_.replication_topic() == rd_kafka_topic_name(m->rkt);
      if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        if (replication && m->partition >= 0 && static_cast<size_t>(m->partition) < node_.shards_.size()) {
          Shard& shard = *node_.shards_[m->partition];
          shard.eof_offset = m->offset;
          shard.lag_seconds = 0;
          shard.progress_at = SteadyClock::now();
          notify();
        }
        continue;
      }
      if (m->err) {
        spdlog::warn("cluster reader: {}: {}", rd_kafka_err2name(m->err), rd_kafka_message_errstr(m.get()));
        continue;
      }
      if (replication) {
        if (m->partition >= 0 && static_cast<size_t>(m->partition) < node_.shards_.size()) {
          node_.shards_[m->partition]->progress_at = SteadyClock::now();
          apply(*node_.shards_[m->partition], m.get());
        }
      } else {
        metadata_next_ = m->offset + 1;
        on_cluster_record(m.get());
      }
    }
  }

  void notify() {
    { std::lock_guard lock(mu_); }
    cv_.notify_all();
  }

  void fail(Shard& shard, const std::string& why) {
    spdlog::error("cluster: shard {} stops following: {}", shard.index, why);
    shard.note_error(why);
    shard.role = ShardRole::kFailed;
    notify();
  }

  void apply(Shard& shard, const rd_kafka_message_t* m) {
    if (shard.role == ShardRole::kFailed) return;
    shard.next_offset = m->offset + 1;
    auto batch = decode_replication_value(value_of(m));
    if (!batch) {
      fail(shard, "offset " + std::to_string(m->offset) + ": " + batch.status().message());
      return;
    }
    shard.kafka_last = std::max<uint64_t>(shard.kafka_last, batch->last.value());
    auto applied = shard.log->apply_sealed(*batch);
    if (!applied) {
      fail(shard, "offset " + std::to_string(m->offset) + ": " + applied.status().message());
      return;
    }
    if (*applied) {
      shard.applied += 1;
      rd_kafka_timestamp_type_t type;
      const int64_t produced = rd_kafka_message_timestamp(m, &type);
      if (produced > 0) shard.lag_seconds = std::max<double>(0, (now_ms() - produced) / 1000.0);
    } else if (shard.role != ShardRole::kLeader) {
      // Already here: it must be the same history, or the copies diverged.
      auto have = hash_at(*shard.log, batch->last);
      if (!have) {
        fail(shard, "offset " + std::to_string(m->offset) + ": " + have.status().message());
        return;
      }
      if (*have != batch->hash) {
        fail(shard, "offset " + std::to_string(m->offset) + ": this copy's hash at position " +
                        std::to_string(batch->last.value()) +
                        " differs from the cluster's: the local copy has diverged (restore it from another node)");
        return;
      }
    }
    notify();
  }

  void on_cluster_record(const rd_kafka_message_t* m) {
    const std::string_view key = key_of(m);
    if (key.rfind("leader/", 0) != 0 || m->payload == nullptr) return;
    boost::system::error_code ec;
    json::value v = json::parse(value_of(m), ec);
    if (ec || !v.is_object()) return;
    const json::object& o = v.as_object();
    const json::value* shard = o.if_contains("shard");
    if (shard == nullptr || !shard->is_int64() || shard->as_int64() < 0 ||
        static_cast<size_t>(shard->as_int64()) >= node_.shards_.size()) {
      return;
    }
    Shard& s = *node_.shards_[shard->as_int64()];
    std::lock_guard lock(s.info_mu);
    const json::value* n = o.if_contains("node_id");
    const json::value* u = o.if_contains("advertise");
    s.leader_node = n && n->is_string() ? std::string(n->as_string()) : "";
    s.leader_url = u && u->is_string() ? std::string(u->as_string()) : "";
  }

  static constexpr std::chrono::seconds kStall{15};

  ClusterNode& node_;
  kafka::Handle consumer_;                  // the reader thread's (and connect()'s at start)
  std::mutex clients_mu_;                   // watermarks_: replaced by the reader, used by acquire() too
  std::shared_ptr<rd_kafka_t> watermarks_;
  int64_t metadata_next_ = 0;               // next offset of the cluster topic
  SteadyClock::time_point watermarks_ok_at_;
  std::atomic<uint64_t> reconnects_{0};
  std::atomic<bool> stopping_{false};
  std::mutex mu_;  // with cv_: the reader made progress
  std::condition_variable cv_;
  std::thread thread_;
};

// ---- membership: the leaders' consumer group ------------------------------------

class ClusterNode::Membership {
 public:
  explicit Membership(ClusterNode& node) : node_(node) {}
  ~Membership() { stop(); }

  Status start() {
    kafka::Properties p = node_.client_properties();
    p["group.id"] = node_.options_.group_id();
    p["client.id"] = node_.options_.node_id;
    p["partition.assignment.strategy"] = "cooperative-sticky";  // a joining node does not stop the others' shards
    p["session.timeout.ms"] = std::to_string(node_.options_.session_timeout.count());
    p["heartbeat.interval.ms"] = std::to_string(std::max<int64_t>(node_.options_.session_timeout.count() / 6, 100));
    p["enable.auto.commit"] = "false";
    p["auto.offset.reset"] = "latest";
    p["isolation.level"] = "read_committed";
    auto conf = kafka::make_conf(p);
    if (!conf) return conf.status();
    rd_kafka_conf_set_opaque(conf->get(), this);
    rd_kafka_conf_set_rebalance_cb(conf->get(), &Membership::rebalance_cb);
    rd_kafka_conf_set_log_cb(conf->get(), &kafka::log_to_spdlog);
    auto consumer = kafka::make_client(RD_KAFKA_CONSUMER, std::move(*conf));
    if (!consumer) return consumer.status();
    consumer_ = std::move(*consumer);
    rd_kafka_poll_set_consumer(consumer_.get());
    kafka::PartitionList topics(rd_kafka_topic_partition_list_new(1));
    rd_kafka_topic_partition_list_add(topics.get(), node_.options_.replication_topic().c_str(), RD_KAFKA_PARTITION_UA);
    if (rd_kafka_resp_err_t err = rd_kafka_subscribe(consumer_.get(), topics.get())) {
      return kafka::error_status(err, "joining the leaders' group " + node_.options_.group_id());
    }
    thread_ = std::thread([this] { run(); });
    return Status::ok();
  }

  void stop() {
    stopping_ = true;
    if (thread_.joinable()) thread_.join();
    if (consumer_) {
      rd_kafka_consumer_close(consumer_.get());  // leaves the group: the shards move at once
      consumer_.reset();
    }
  }

 private:
  void run() {
    while (!stopping_) {
      // The group's partitions are paused: polling serves the heartbeats and
      // the rebalance callbacks, and returns no data.
      Message m(rd_kafka_consumer_poll(consumer_.get(), 100));
      if (m && m->err && m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        spdlog::warn("cluster membership: {}: {}", rd_kafka_err2name(m->err), rd_kafka_message_errstr(m.get()));
      }
    }
  }

  static void rebalance_cb(rd_kafka_t* rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* parts,
                           void* opaque) {
    auto* self = static_cast<Membership*>(opaque);
    const bool cooperative = std::strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE") == 0;
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
      if (cooperative) {
        kafka::Error(rd_kafka_incremental_assign(rk, parts)).reset();
      } else {
        rd_kafka_assign(rk, parts);
      }
      rd_kafka_pause_partitions(rk, parts);
      for (int i = 0; i < parts->cnt; ++i) self->node_.on_assigned(static_cast<uint32_t>(parts->elems[i].partition));
    } else {
      const bool lost = rd_kafka_assignment_lost(rk);
      for (int i = 0; i < parts->cnt; ++i) {
        self->node_.on_revoked(static_cast<uint32_t>(parts->elems[i].partition),
                               lost ? "this node lost its place in the leaders' group" : "the group moved the shard");
      }
      if (cooperative) {
        kafka::Error(rd_kafka_incremental_unassign(rk, parts)).reset();
      } else {
        rd_kafka_assign(rk, nullptr);
      }
    }
  }

  ClusterNode& node_;
  kafka::Handle consumer_;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

// ---- the node ---------------------------------------------------------------------

ClusterNode::ClusterNode(ClusterOptions options) : options_(std::move(options)), reaper_(std::make_unique<Reaper>()) {
  for (uint32_t s = 0; s < options_.shards; ++s) {
    shards_.push_back(std::make_unique<Shard>());
    shards_.back()->index = s;
  }
}

ClusterNode::~ClusterNode() { stop(); }

kafka::Properties ClusterNode::client_properties() const {
  kafka::Properties p;
  p["bootstrap.servers"] = options_.brokers;
  p["client.id"] = options_.node_id;
  for (const auto& [k, v] : options_.client_config) p[k] = v;
  return p;
}

BatchReplicator ClusterNode::replicator(uint32_t shard) {
  return [this, shard](const SealedBatch& batch) { return replicate(shard, batch); };
}

void ClusterNode::attach(uint32_t shard, EventLog* log, PersonalDataCipher* cipher) {
  shards_.at(shard)->log = log;
  shards_.at(shard)->cipher = cipher;
}

Status ClusterNode::ensure_topics(rd_kafka_t* admin) {
  const std::string min_isr = std::to_string(options_.min_insync_replicas);
  std::vector<kafka::NewTopic> topics;
  topics.push_back({options_.metadata_topic(), 1, options_.replication_factor,
                    {{"cleanup.policy", "compact"}, {"min.insync.replicas", min_isr}}});
  // The replication topic is the history a joining node catches up from:
  // kept forever unless the operator says otherwise (docs/cluster.md).
  topics.push_back({options_.replication_topic(), static_cast<int>(options_.shards), options_.replication_factor,
                    {{"min.insync.replicas", min_isr},
                     {"retention.ms", "-1"},
                     {"retention.bytes", "-1"},
                     {"max.message.bytes", std::to_string(kMaxReplicationMessageBytes + 1024)}}});
  topics.push_back({options_.events_topic, options_.events_partitions, options_.replication_factor,
                    {{"min.insync.replicas", min_isr}}});
  ACCT_RETURN_IF_ERROR(kafka::create_topics(admin, topics, options_.operation_timeout));
  // A topic created a moment ago may show no partitions in the metadata yet.
  const auto deadline = SteadyClock::now() + options_.operation_timeout;
  auto info = kafka::describe_topic(admin, options_.replication_topic(), options_.operation_timeout);
  while (info && (!info->exists || info->partitions == 0) && SteadyClock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    info = kafka::describe_topic(admin, options_.replication_topic(), options_.operation_timeout);
  }
  if (!info) return info.status();
  if (info->partitions != static_cast<int>(options_.shards)) {
    return invalid_argument("the replication topic " + options_.replication_topic() + " has " +
                                std::to_string(info->partitions) + " partitions, but the cluster has " +
                                std::to_string(options_.shards) + " shards",
                            "shards");
  }
  return Status::ok();
}

Status ClusterNode::register_cluster() {
  auto read_cluster_record = [&]() -> Result<std::optional<json::object>> {
    auto records = read_cluster_records(client_properties(), options_.metadata_topic(), options_.operation_timeout);
    if (!records) return records.status();
    auto it = records->find("cluster");
    if (it == records->end()) return std::optional<json::object>();
    return std::optional<json::object>(it->second);
  };
  auto produce_record = [&](const std::string& key, const json::object& value) -> Status {
    kafka::Properties pp = client_properties();
    pp["enable.idempotence"] = "true";
    pp["acks"] = "all";
    auto conf = kafka::make_conf(pp);
    if (!conf) return conf.status();
    rd_kafka_conf_set_log_cb(conf->get(), &kafka::log_to_spdlog);
    auto producer = kafka::make_client(RD_KAFKA_PRODUCER, std::move(*conf));
    if (!producer) return producer.status();
    const std::string text = json::serialize(value);
    if (rd_kafka_resp_err_t err = rd_kafka_producev(
            producer->get(), RD_KAFKA_V_TOPIC(options_.metadata_topic().c_str()), RD_KAFKA_V_PARTITION(0),
            RD_KAFKA_V_KEY(key.data(), key.size()), RD_KAFKA_V_VALUE(const_cast<char*>(text.data()), text.size()),
            RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END)) {
      return kafka::error_status(err, "writing " + key + " to the cluster topic");
    }
    if (rd_kafka_resp_err_t err = rd_kafka_flush(producer->get(), kafka::to_ms(options_.operation_timeout))) {
      return kafka::error_status(err, "writing " + key + " to the cluster topic");
    }
    return Status::ok();
  };

  auto record = read_cluster_record();
  if (!record) return record.status();
  if (!*record) {
    json::object created;
    created["format"] = 1;
    created["shards"] = options_.shards;
    created["created_by"] = options_.node_id;
    created["created_at"] = now_text();
    ACCT_RETURN_IF_ERROR(produce_record("cluster", created));
    spdlog::info("cluster {}: created with {} shard(s)", options_.name, options_.shards);
    record = read_cluster_record();
    if (!record) return record.status();
    if (!*record) return unavailable("the cluster record just written to " + options_.metadata_topic() + " is not there");
  }
  const json::value* shards = (*record)->if_contains("shards");
  if (shards == nullptr || !shards->is_number() || shards->to_number<int64_t>() != options_.shards) {
    return invalid_argument("this cluster (" + options_.name + ") was created with " +
                                (shards ? json::serialize(*shards) : std::string("an unknown number of")) +
                                " shard(s); this node was started with " + std::to_string(options_.shards),
                            "shards");
  }
  json::object me;
  me["node_id"] = options_.node_id;
  me["advertise"] = options_.advertise;
  me["started_at"] = now_text();
  return produce_record("node/" + options_.node_id, me);
}

Status ClusterNode::start() {
  ACCT_RETURN_IF_ERROR(options_.validate());
  for (const auto& shard : shards_) {
    if (shard->log == nullptr) return invalid_argument("shard " + std::to_string(shard->index) + " has no log", "shards");
  }
  {
    auto conf = kafka::make_conf(client_properties());
    if (!conf) return conf.status();
    rd_kafka_conf_set_log_cb(conf->get(), &kafka::log_to_spdlog);
    auto admin = kafka::make_client(RD_KAFKA_PRODUCER, std::move(*conf));
    if (!admin) return admin.status();
    ACCT_RETURN_IF_ERROR(ensure_topics(admin->get()));
  }
  ACCT_RETURN_IF_ERROR(register_cluster());

  // Catch every copy up with the topic before serving anything.
  reader_ = std::make_unique<Reader>(*this);
  ACCT_RETURN_IF_ERROR(reader_->start());
  const auto deadline = SteadyClock::now() + options_.catch_up_timeout;
  for (auto& shard : shards_) {
    auto end = reader_->high_watermark(shard->index);
    if (!end) return end.status();
    ACCT_RETURN_IF_ERROR(reader_->wait_caught_up(*shard, *end, deadline));
    const uint64_t head = shard->log->head().value();
    if (head > shard->kafka_last) {
      return Status(StatusCode::kConflict,
                    "shard " + std::to_string(shard->index) + ": the local copy is at position " +
                        std::to_string(head) + " but the cluster's replication topic ends at position " +
                        std::to_string(shard->kafka_last.load()) +
                        ": this data folder holds commits the cluster does not have (another cluster's, or a "
                        "single node's); start this node with an empty data folder",
                    "data");
    }
    spdlog::info("cluster: shard {} caught up at position {} (offset {})", shard->index, head,
                 shard->next_offset.load());
  }
  leadership_ = std::thread([this] { leadership_loop(); });
  membership_ = std::make_unique<Membership>(*this);
  return membership_->start();
}

void ClusterNode::stop() {
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  cv_.notify_all();
  if (membership_) membership_->stop();  // leaves the group: the revocations step this node down
  if (leadership_.joinable()) leadership_.join();
  for (auto& shard : shards_) step_down(*shard, "the node is stopping");
  if (reader_) reader_->stop();
}

void ClusterNode::on_assigned(uint32_t shard) {
  if (shard >= shards_.size()) return;
  Shard& s = *shards_[shard];
  spdlog::info("cluster: the leaders' group gave shard {} to this node ({})", shard, options_.node_id);
  s.assigned = true;
  s.want_acquire = true;
  if (s.role != ShardRole::kFailed) s.role = ShardRole::kAcquiring;
  { std::lock_guard lock(mu_); }
  cv_.notify_all();
}

void ClusterNode::on_revoked(uint32_t shard, const std::string& why) {
  if (shard >= shards_.size()) return;
  Shard& s = *shards_[shard];
  s.assigned = false;
  s.want_acquire = false;
  step_down(s, why);
}

void ClusterNode::step_down(Shard& shard, const std::string& why) {
  std::lock_guard lock(shard.mu);  // after a transaction in flight (bounded by commit_timeout)
  if (shard.role == ShardRole::kLeader) spdlog::warn("cluster: no longer the leader of shard {}: {}", shard.index, why);
  if (shard.role != ShardRole::kFailed) shard.role = ShardRole::kFollower;
  // Whatever it has in flight is dropped; the next leader's
  // init_transactions aborts a transaction it left open.
  reaper_->dispose(std::move(shard.producer));
}

void ClusterNode::leadership_loop() {
  while (true) {
    {
      std::unique_lock lock(mu_);
      cv_.wait_for(lock, std::chrono::seconds(1), [&] {
        if (stopping_) return true;
        for (const auto& s : shards_) {
          if (s->want_acquire) return true;
        }
        return false;
      });
      if (stopping_) return;
    }
    for (auto& shard : shards_) {
      if (!shard->want_acquire || !shard->assigned || shard->role == ShardRole::kFailed) continue;
      Status s = acquire(*shard);
      if (s.is_ok()) {
        shard->want_acquire = false;
      } else {
        spdlog::warn("cluster: taking the lead of shard {} failed (retried): {}", shard->index, s.to_string());
        shard->note_error(s.to_string());
        std::unique_lock lock(mu_);
        cv_.wait_for(lock, std::chrono::seconds(1), [&] { return stopping_; });
      }
    }
  }
}

Status ClusterNode::acquire(Shard& shard) {
  const auto started = SteadyClock::now();
  kafka::Properties p = client_properties();
  p["transactional.id"] = options_.transactional_id(shard.index);
  p["transaction.timeout.ms"] = std::to_string(std::max<int64_t>(60000, options_.commit_timeout.count() * 2));
  p["enable.idempotence"] = "true";
  p["acks"] = "all";
  p["allow.auto.create.topics"] = "false";
  p["partitioner"] = "murmur2_random";  // the relay's: the same partner, the same partition
  p["linger.ms"] = "0";
  p["compression.type"] = "lz4";
  p["message.max.bytes"] = std::to_string(kMaxReplicationMessageBytes + 4096);
  p["queue.buffering.max.messages"] = "1000000";
  p["queue.buffering.max.kbytes"] = std::to_string(1u << 20);  // 1 GiB
  auto conf = kafka::make_conf(p);
  if (!conf) return conf.status();
  rd_kafka_conf_set_log_cb(conf->get(), &kafka::log_to_spdlog);
  auto producer = kafka::make_client(RD_KAFKA_PRODUCER, std::move(*conf));
  if (!producer) return producer.status();
  // A producer this attempt gives up goes to the reaper (moved into the shard on success).
  struct Dispose {
    Reaper& reaper;
    kafka::Handle& handle;
    ~Dispose() { reaper.dispose(std::move(handle)); }
  } dispose{*reaper_, *producer};

  // Fence every older leader: their open transactions are aborted and their
  // next commit fails.
  if (kafka::Error e{rd_kafka_init_transactions(producer->get(), kafka::to_ms(options_.operation_timeout))}) {
    return kafka::error_status(e.get(), "init_transactions for " + options_.transactional_id(shard.index));
  }
  // Then read the partition to its end: everything any earlier leader committed.
  auto end = reader_->high_watermark(shard.index);
  if (!end) return end.status();
  ACCT_RETURN_IF_ERROR(reader_->wait_caught_up(shard, *end, SteadyClock::now() + options_.catch_up_timeout));
  if (!shard.assigned) return unavailable("the shard was moved to another node while this one caught up");

  std::lock_guard lock(shard.mu);
  // Say so in the cluster topic, in a transaction of the new producer: a
  // fenced leader cannot overwrite it.
  json::object record;
  record["shard"] = shard.index;
  record["node_id"] = options_.node_id;
  record["advertise"] = options_.advertise;
  record["since"] = now_text();
  record["head"] = shard.log->head().value();
  const std::string key = "leader/" + std::to_string(shard.index);
  const std::string value = json::serialize(record);
  if (kafka::Error e{rd_kafka_begin_transaction(producer->get())}) {
    return kafka::error_status(e.get(), "begin_transaction");
  }
  if (rd_kafka_resp_err_t err = rd_kafka_producev(
          producer->get(), RD_KAFKA_V_TOPIC(options_.metadata_topic().c_str()), RD_KAFKA_V_PARTITION(0),
          RD_KAFKA_V_KEY(key.data(), key.size()), RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()),
          RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END)) {
    return kafka::error_status(err, "writing the leader record");
  }
  if (kafka::Error e{rd_kafka_commit_transaction(producer->get(), kafka::to_ms(options_.commit_timeout))}) {
    return kafka::error_status(e.get(), "committing the leader record");
  }
  shard.producer = std::move(*producer);
  shard.role = ShardRole::kLeader;
  shard.leadership_changes += 1;
  shard.note_error("");
  {
    std::lock_guard info(shard.info_mu);
    shard.leader_node = options_.node_id;
    shard.leader_url = options_.advertise;
  }
  spdlog::info("cluster: this node ({}) leads shard {} from position {} (took {} ms)", options_.node_id, shard.index,
               shard.log->head().value(),
               std::chrono::duration_cast<std::chrono::milliseconds>(SteadyClock::now() - started).count());
  return Status::ok();
}

Status ClusterNode::replicate(uint32_t index, const SealedBatch& batch) {
  Shard& shard = *shards_.at(index);
  auto not_leader = [&] {
    return unavailable("this node does not lead shard " + std::to_string(index) + " (it is " +
                       std::string(shard_role_name(shard.role)) + "); nothing was written; retry");
  };
  if (shard.role != ShardRole::kLeader) return not_leader();
  std::lock_guard lock(shard.mu);
  if (shard.role != ShardRole::kLeader || !shard.producer) return not_leader();
  rd_kafka_t* rk = shard.producer.get();
  const auto deadline = SteadyClock::now() + options_.commit_timeout;

  // Any failure: the batch is not acknowledged and nothing is written here.
  // Whether a commit that timed out landed, nobody knows yet; so the shard
  // takes its leadership again (init_transactions settles that transaction),
  // reads its partition to the end (applying the batch if it did land), and
  // only then takes commands.
  auto fail = [&](const Status& cause, bool fenced) {
    const std::string why = cause.message();
    shard.note_error(why);
    spdlog::warn("cluster: shard {} batch {}..{} not committed to Kafka ({}): {}", index, batch.first.value(),
                 batch.last.value(), fenced ? "fenced: another node took the lead" : "taking the lead again", why);
    reaper_->dispose(std::move(shard.producer));
    // Fenced: another node took the lead; the group moves the shard to it
    // shortly. Until then (or if this node is given it again) it tries to
    // take the lead again, which fences the other in turn: the group decides.
    shard.role = shard.assigned ? ShardRole::kAcquiring : ShardRole::kFollower;
    shard.want_acquire = shard.assigned.load();
    { std::lock_guard l(mu_); }
    cv_.notify_all();
    return unavailable("not committed to the cluster (" + why + "); nothing was written; retry");
  };
  auto is_fenced = [](const rd_kafka_error_t* e) {
    const rd_kafka_resp_err_t code = rd_kafka_error_code(e);
    return code == RD_KAFKA_RESP_ERR__FENCED || code == RD_KAFKA_RESP_ERR_PRODUCER_FENCED ||
           code == RD_KAFKA_RESP_ERR_INVALID_PRODUCER_EPOCH || code == RD_KAFKA_RESP_ERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED;
  };
  auto produce = [&](const char* topic, int32_t partition, std::string_view key, std::string_view value,
                     rd_kafka_headers_t* headers) -> rd_kafka_resp_err_t {
    while (true) {
      rd_kafka_resp_err_t err = rd_kafka_producev(
          rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION(partition),
          RD_KAFKA_V_KEY(const_cast<char*>(key.data()), key.size()),
          RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
          RD_KAFKA_V_HEADERS(headers), RD_KAFKA_V_END);
      if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL || SteadyClock::now() >= deadline) return err;
      rd_kafka_poll(rk, 10);  // bounded by the deadline
    }
  };

  if (kafka::Error e{rd_kafka_begin_transaction(rk)}) {
    return fail(kafka::error_status(e.get(), "begin_transaction"), is_fenced(e.get()));
  }
  const std::string key = std::to_string(index);
  const std::string value = encode_replication_value(batch);
  if (rd_kafka_resp_err_t err = produce(options_.replication_topic().c_str(), static_cast<int32_t>(index), key, value,
                                        nullptr)) {
    return fail(kafka::error_status(err, "producing the batch"), false);
  }
  // The change events, as the relay would publish them (docs/kafka-events.md).
  EventMessage message;
  for (size_t offset = 0; offset < batch.frames.size();) {
    auto commit = decode_commit(batch.frames.substr(offset), offset);
    if (!commit) return fail(commit.status(), false);
    for (const ScanRecord& r : commit->records) {
      if (Status s = encode_event_message(r.event, shard.cipher, &message); !s.is_ok()) return fail(s, false);
      KafkaHeaders headers = make_kafka_headers(message);
      if (rd_kafka_resp_err_t err = produce(options_.events_topic.c_str(), RD_KAFKA_PARTITION_UA, message.key,
                                            message.value, headers.get())) {
        return fail(kafka::error_status(err, "producing event " + std::to_string(r.event.position.value())), false);
      }
      headers.release();  // librdkafka owns them now
    }
    offset += commit->size;
  }
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - SteadyClock::now());
  if (kafka::Error e{rd_kafka_commit_transaction(rk, kafka::to_ms(std::max(left, std::chrono::milliseconds(1))))}) {
    if (!is_fenced(e.get()) && rd_kafka_error_txn_requires_abort(e.get())) {
      kafka::Error(rd_kafka_abort_transaction(rk, kafka::to_ms(options_.operation_timeout))).reset();
    }
    return fail(kafka::error_status(e.get(), "commit_transaction"), is_fenced(e.get()) || rd_kafka_error_is_fatal(e.get()));
  }
  shard.replicated += 1;
  return Status::ok();
}

Result<std::optional<std::string>> ClusterNode::command_target(uint32_t index) const {
  const Shard& shard = *shards_.at(index);
  const ShardRole role = shard.role;
  if (role == ShardRole::kLeader) return std::optional<std::string>();
  if (role == ShardRole::kAcquiring) {
    return unavailable("this node is taking the lead of shard " + std::to_string(index) + "; retry shortly");
  }
  std::lock_guard lock(shard.info_mu);
  if (shard.leader_node.empty() || shard.leader_node == options_.node_id || shard.leader_url.empty()) {
    return unavailable("no leader of shard " + std::to_string(index) + " is known yet; retry shortly");
  }
  return std::optional<std::string>(shard.leader_url);
}

ClusterStatus ClusterNode::status() const {
  ClusterStatus out;
  out.node_id = options_.node_id;
  out.cluster_name = options_.name;
  out.shards = options_.shards;
  out.reader_reconnects = reader_ ? reader_->reconnects() : 0;
  for (const auto& shard : shards_) {
    ShardStatus s;
    s.shard = shard->index;
    s.role = shard->role;
    if (shard->log) {
      const auto [head, hash] = shard->log->head_and_hash();
      s.head = head.value();
      s.head_hash = hex_encode(hash.data(), hash.size());
    }
    s.kafka_end_offset = static_cast<uint64_t>(std::max<int64_t>(0, shard->end_offset));
    s.applied_offset = static_cast<uint64_t>(std::max<int64_t>(0, shard->next_offset));
    const int64_t read_to = std::max<int64_t>(shard->next_offset, shard->eof_offset);
    s.lag_batches = static_cast<uint64_t>(std::max<int64_t>(0, shard->end_offset - read_to));
    s.lag_seconds = s.lag_batches == 0 ? 0 : shard->lag_seconds.load();
    s.leadership_changes = shard->leadership_changes;
    s.batches_replicated = shard->replicated;
    s.batches_applied = shard->applied;
    std::lock_guard lock(shard->info_mu);
    s.leader_node = shard->leader_node;
    s.leader_url = shard->leader_url;
    s.last_error = shard->last_error;
    out.shard.push_back(std::move(s));
  }
  return out;
}

}  // namespace accountable::cluster
