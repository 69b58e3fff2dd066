#include "cluster/cluster_node.h"

#include <sodium.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstring>
#include <deque>
#include <map>
#include <set>
#include <sstream>

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

// A reader's two clients: a read_committed consumer that reads by assign()
// only (it never joins its group) from the earliest offset, with `extra`
// settings, and a read_uncommitted one that asks for high watermarks (not
// the last stable offset). `group` names their groups.
struct ReaderClients {
  kafka::Handle consumer;
  kafka::Handle watermarks;
};
Result<ReaderClients> make_reader_clients(kafka::Properties common, const std::string& group,
                                          const kafka::Properties& extra) {
  // librdkafka 2.0.2 goes on asking a partition's old leader until the next
  // metadata refresh (fixed in 2.3.0, #4225): refresh often.
  common["topic.metadata.refresh.interval.ms"] = "2000";
  auto client = [&](kafka::Properties p) -> Result<kafka::Handle> {
    auto conf = kafka::make_conf(p);
    if (!conf) return conf.status();
    rd_kafka_conf_set_log_cb(conf->get(), &kafka::log_to_spdlog);
    return kafka::make_client(RD_KAFKA_CONSUMER, std::move(*conf));
  };
  kafka::Properties p = common;
  p["group.id"] = group + ".reader";
  p["isolation.level"] = "read_committed";
  p["enable.auto.commit"] = "false";
  p["enable.partition.eof"] = "true";
  p["auto.offset.reset"] = "earliest";
  for (const auto& [k, v] : extra) p[k] = v;
  auto consumer = client(std::move(p));
  if (!consumer) return consumer.status();
  kafka::Properties wp = std::move(common);
  wp["group.id"] = group + ".watermarks";
  wp["isolation.level"] = "read_uncommitted";
  auto watermarks = client(std::move(wp));
  if (!watermarks) return watermarks.status();
  return ReaderClients{std::move(*consumer), std::move(*watermarks)};
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
  if (std::all_of(cluster_key.begin(), cluster_key.end(), [](unsigned char b) { return b == 0; })) {
    return invalid_argument("a cluster key is required (acct cluster keygen --out FILE)", "cluster-key");
  }
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
    o["resumed_from"] = s.resumed_from;
    o["lag_batches"] = s.lag_batches;
    o["lag_seconds"] = s.lag_seconds;
    o["leadership_changes"] = s.leadership_changes;
    o["batches_replicated"] = s.batches_replicated;
    o["batches_applied"] = s.batches_applied;
    if (!s.last_error.empty()) o["last_error"] = s.last_error;
    shards.push_back(std::move(o));
  }
  out["shard"] = std::move(shards);
  json::object secrets;
  secrets["offset"] = status.secrets_offset;
  secrets["end_offset"] = status.secrets_end_offset;
  secrets["applied"] = status.secrets_applied;
  secrets["failed"] = status.secrets_failed;
  if (!status.secrets_error.empty()) secrets["last_error"] = status.secrets_error;
  out["secrets"] = std::move(secrets);
  return out;
}

// ---- one shard's state on this node ------------------------------------------------

struct ClusterNode::Shard {
  uint32_t index = 0;
  EventLog* log = nullptr;
  PersonalDataCipher* cipher = nullptr;
  SecretStores* secrets = nullptr;  // null: nothing outside the log is replicated

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
  std::atomic<int64_t> resumed_from{0};  // where this run's reader started

  // How far the reader has applied (or checked) the partition, for the
  // resume file: the next offset and the position and hash this copy
  // durably holds at the batch before it.
  struct Resume {
    int64_t next_offset = 0;
    uint64_t position = 0;
    Hash256 hash{};
  };
  std::mutex resume_mu;
  Resume resume;
  bool resume_dirty = false;
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

// ---- the secrets reader: the state outside the log ---------------------------------

// Reads <name>.secrets (one partition, compacted, read_committed) from its
// start, opens each record with the cluster key and applies it to its shard's
// stores, except this run's own (already made here, in that order). The
// replication reader waits on it for the keys a batch names. A record that
// fails authentication stops it for good (secrets_failed): nothing after it
// is trusted. A record a store cannot apply (its disk) is retried.
class ClusterNode::SecretsReader {
 public:
  explicit SecretsReader(ClusterNode& node) : node_(node) {}
  ~SecretsReader() { stop(); }

  Status start() {
    ACCT_RETURN_IF_ERROR(connect());
    thread_ = std::thread([this] { run(); });
    return Status::ok();
  }

  void stop() {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
    node_.reaper_->dispose(std::move(consumer_), /*is_producer=*/false);
    node_.reaper_->dispose(std::move(watermarks_), /*is_producer=*/false);
  }

  // Reads the topic up to its high watermark as of now.
  Status catch_up(SteadyClock::time_point deadline) {
    int64_t lo = 0, hi = 0;
    rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR_NO_ERROR;
    {
      std::lock_guard lock(clients_mu_);
      if (!watermarks_) return unavailable("the secrets reader is not connected");
      err = query_watermarks(watermarks_.get(), node_.options_.secrets_topic(), 0, node_.options_.operation_timeout,
                             &lo, &hi);
    }
    if (err) return kafka::error_status(err, "watermarks of the secrets topic");
    std::unique_lock lock(mu_);
    const bool done = cv_.wait_until(lock, deadline, [&] {
      return stopping_ || failed_ || next_offset_ >= hi || eof_offset_ >= hi;
    });
    if (failed_) return Status(StatusCode::kCorruption, "the secrets topic: " + error_);
    if (!done || stopping_) {
      return unavailable("reading the secrets topic to offset " + std::to_string(hi) +
                         " did not finish in time (at offset " + std::to_string(next_offset_) + ")");
    }
    return Status::ok();
  }

  // Waits until every message key in `keys` has been read (true), or the
  // deadline passed, or the reader stopped or failed (false).
  bool wait_for(const std::vector<std::string>& keys, SteadyClock::time_point deadline) {
    std::unique_lock lock(mu_);
    return cv_.wait_until(lock, deadline, [&] {
      if (stopping_ || failed_) return true;
      return std::all_of(keys.begin(), keys.end(), [&](const std::string& k) { return seen_.count(k) != 0; });
    }) && !stopping_ && !failed_;
  }

  // The key-store record keys of shard s the topic holds (read so far).
  std::set<std::string> record_keys(uint32_t shard) {
    const std::string prefix = std::to_string(shard) + "/";
    std::lock_guard lock(mu_);
    std::set<std::string> out;
    for (auto it = seen_.lower_bound(prefix); it != seen_.end() && it->rfind(prefix, 0) == 0; ++it) {
      if (!tombstoned_.count(*it)) out.insert(it->substr(prefix.size()));
    }
    return out;
  }

  void fill(ClusterStatus& out) {
    std::lock_guard lock(mu_);
    out.secrets_offset = static_cast<uint64_t>(std::max<int64_t>(0, next_offset_));
    out.secrets_end_offset = static_cast<uint64_t>(std::max<int64_t>(0, end_offset_));
    out.secrets_applied = applied_;
    out.secrets_failed = failed_;
    out.secrets_error = error_;
  }

 private:
  Status connect() {
    auto clients = make_reader_clients(node_.client_properties(),
                                       node_.options_.name + ".secrets." + node_.options_.node_id, {});
    if (!clients) return clients.status();
    kafka::Handle* consumer = &clients->consumer;
    kafka::Handle* watermarks = &clients->watermarks;

    kafka::PartitionList list(rd_kafka_topic_partition_list_new(1));
    int64_t next = 0;
    {
      std::lock_guard lock(mu_);
      next = next_offset_;
    }
    rd_kafka_topic_partition_list_add(list.get(), node_.options_.secrets_topic().c_str(), 0)->offset =
        next > 0 ? next : RD_KAFKA_OFFSET_BEGINNING;
    if (rd_kafka_resp_err_t err = rd_kafka_assign(consumer->get(), list.get())) {
      return kafka::error_status(err, "assigning the secrets topic " + node_.options_.secrets_topic());
    }
    if (consumer_) node_.reaper_->dispose(std::move(consumer_), /*is_producer=*/false);
    consumer_ = std::move(*consumer);
    kafka::Handle old;
    {
      std::lock_guard lock(clients_mu_);
      old = std::exchange(watermarks_, std::move(*watermarks));
    }
    node_.reaper_->dispose(std::move(old), /*is_producer=*/false);
    progress_at_ = SteadyClock::now();
    return Status::ok();
  }

  void run() {
    auto last_check = SteadyClock::now();
    while (true) {
      {
        std::lock_guard lock(mu_);
        if (stopping_) return;
      }
      const auto now = SteadyClock::now();
      if (retry_ || now - last_check >= std::chrono::seconds(1)) {
        last_check = now;
        int64_t lo = 0, hi = 0;
        rd_kafka_resp_err_t err;
        {
          std::lock_guard lock(clients_mu_);
          err = query_watermarks(watermarks_.get(), node_.options_.secrets_topic(), 0,
                                 node_.options_.operation_timeout, &lo, &hi);
        }
        bool behind = false;
        {
          std::lock_guard lock(mu_);
          if (!err) end_offset_ = hi;
          behind = !failed_ && end_offset_ > std::max(next_offset_, eof_offset_);
        }
        // librdkafka 2.0.2 can stop fetching after leader changes (#4433): a
        // reader with data to read and no progress for kStall starts over.
        if (retry_ || (behind && now - progress_at_ > kStall)) {
          if (!retry_) spdlog::warn("cluster secrets reader: no progress with data to read: reconnecting");
          retry_ = false;
          if (Status s = connect(); !s.is_ok()) spdlog::warn("cluster secrets reader: reconnecting: {}", s.to_string());
        }
      }
      Message m(rd_kafka_consumer_poll(consumer_.get(), 100));
      if (!m) continue;
      if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        progress_at_ = SteadyClock::now();
        {
          std::lock_guard lock(mu_);
          eof_offset_ = m->offset;
        }
        cv_.notify_all();
        continue;
      }
      if (m->err) {
        spdlog::warn("cluster secrets reader: {}: {}", rd_kafka_err2name(m->err), rd_kafka_message_errstr(m.get()));
        continue;
      }
      progress_at_ = SteadyClock::now();
      {
        std::lock_guard lock(mu_);
        if (failed_) continue;  // nothing after a record that failed authentication is trusted
      }
      handle(m.get());
      cv_.notify_all();
    }
  }

  void handle(const rd_kafka_message_t* m) {
    const std::string key(key_of(m));
    const std::string where = "offset " + std::to_string(m->offset) + " (" + key + ")";
    const size_t slash = key.find('/');
    uint32_t shard = 0;
    const bool shard_ok = slash != std::string::npos && slash > 0 && slash <= 3 &&
                          std::all_of(key.begin(), key.begin() + static_cast<long>(slash),
                                      [](char c) { return c >= '0' && c <= '9'; }) &&
                          (shard = static_cast<uint32_t>(std::stoul(key.substr(0, slash)))) < node_.shards_.size();
    std::optional<std::string> plaintext;
    if (m->payload != nullptr) {
      auto opened = open_secret_value(node_.options_.cluster_key, key, value_of(m));
      if (!opened) {
        std::lock_guard lock(mu_);
        failed_ = true;
        error_ = where + ": " + opened.status().message();
        spdlog::error("cluster secrets reader stops: {}", error_);
        return;
      }
      plaintext = std::move(*opened);
    }
    SecretRecord record(shard_ok ? key.substr(slash + 1) : key, std::move(plaintext));
    bool own = false;
    rd_kafka_headers_t* headers = nullptr;
    const void* run = nullptr;
    size_t run_size = 0;
    if (rd_kafka_message_headers(m, &headers) == RD_KAFKA_RESP_ERR_NO_ERROR &&
        rd_kafka_header_get_last(headers, kRunHeader.data(), &run, &run_size) == RD_KAFKA_RESP_ERR_NO_ERROR) {
      own = std::string_view(static_cast<const char*>(run), run_size) == node_.run_id_;
    }
    if (!shard_ok) {
      spdlog::warn("cluster secrets reader: {}: not a record of a shard of this cluster; skipped", where);
    } else if (!own && node_.shards_[shard]->secrets != nullptr) {
      if (Status s = node_.shards_[shard]->secrets->apply(record); !s.is_ok()) {
        if (s.code() == StatusCode::kInvalidArgument || s.code() == StatusCode::kCorruption) {
          // Authentic (it opened under the cluster key) but not understood:
          // a newer node's record, or a bug. Say so; the rest still applies.
          spdlog::error("cluster secrets reader: {}: {}", where, s.to_string());
        } else {
          std::lock_guard lock(mu_);
          error_ = where + ": " + s.to_string() + " (retried)";
          spdlog::warn("cluster secrets reader: {}", error_);
          retry_ = true;  // read it again from this offset after a reconnect
          std::this_thread::sleep_for(std::chrono::milliseconds(500));
          return;
        }
      }
    }
    std::lock_guard lock(mu_);
    next_offset_ = m->offset + 1;
    // Only key-store records are remembered: batches name only those, and
    // reconcile asks only for those. Credentials and tokens (one per sign-in)
    // would make this grow without bound.
    if (shard_ok && is_key_store_record(record.key)) {
      seen_.insert(key);
      if (m->payload == nullptr) {
        tombstoned_.insert(key);
      } else {
        tombstoned_.erase(key);
      }
    }
    if (!own && shard_ok) applied_ += 1;
    if (error_.find("(retried)") != std::string::npos) error_.clear();
  }

  static constexpr std::chrono::seconds kStall{15};

  ClusterNode& node_;
  kafka::Handle consumer_;  // the thread's
  std::mutex clients_mu_;   // watermarks_: used by catch_up() from other threads
  kafka::Handle watermarks_;
  SteadyClock::time_point progress_at_;  // the thread's
  bool retry_ = false;                   // the thread's: reconnect from next_offset_ now

  std::mutex mu_;  // with cv_: everything below
  std::condition_variable cv_;
  bool stopping_ = false;
  bool failed_ = false;
  std::string error_;
  int64_t next_offset_ = 0;
  int64_t eof_offset_ = -1;
  int64_t end_offset_ = 0;
  uint64_t applied_ = 0;
  std::set<std::string> seen_;        // key-store record keys read (tombstones too: "present")
  std::set<std::string> tombstoned_;  // ... whose last record is a tombstone
  std::thread thread_;
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
    node_.save_resume_points();
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
    // Group ids "<name>.<node>.reader" / ".watermarks": never joined, assign() only.
    auto clients = make_reader_clients(node_.client_properties(), node_.options_.name + "." + node_.options_.node_id,
                                       {{"fetch.max.bytes", std::to_string(64u << 20)},
                                        {"max.partition.fetch.bytes", std::to_string(kMaxReplicationMessageBytes + 4096)},
                                        {"receive.message.max.bytes", std::to_string((64u << 20) + (1u << 20))}});
    if (!clients) return clients.status();
    kafka::Handle* consumer = &clients->consumer;
    kafka::Handle* watermarks = &clients->watermarks;

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
      if (reconnect_now_) {
        // Before the next poll: nothing after the batch to read again is applied first.
        reconnect_now_ = false;
        if (Status s = connect(); !s.is_ok()) {
          spdlog::warn("cluster reader: reconnecting: {}", s.to_string());
          reconnect_now_ = true;
          std::this_thread::sleep_for(std::chrono::seconds(1));
          continue;
        }
        reconnects_ += 1;
      }
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
        node_.save_resume_points();
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
    auto message = decode_replication_value(value_of(m));
    if (!message) {
      shard.next_offset = m->offset + 1;
      fail(shard, "offset " + std::to_string(m->offset) + ": " + message.status().message());
      return;
    }
    // The keys that unseal the batch were committed with it: wait for the
    // secrets reader to have them, or read this batch again later.
    if (!message->secrets.empty() &&
        !node_.secrets_reader_->wait_for(message->secrets, SteadyClock::now() + kSecretsWait)) {
      shard.note_error("offset " + std::to_string(m->offset) + ": the secret records committed with this batch (" +
                       message->secrets.front() + ", ...) are not read yet; retrying");
      shard.next_offset = m->offset;
      reconnect_now_ = true;
      return;
    }
    const SealedBatch* batch = &message->batch;
    shard.kafka_last = std::max<uint64_t>(shard.kafka_last, batch->last.value());
    if (node_.options_.before_apply_for_test) node_.options_.before_apply_for_test(shard.index, *batch);
    auto applied = shard.log->apply_sealed(*batch);
    if (!applied) {
      shard.next_offset = m->offset + 1;
      fail(shard, "offset " + std::to_string(m->offset) + ": " + applied.status().message());
      return;
    }
    if (*applied) {
      shard.applied += 1;
      rd_kafka_timestamp_type_t type;
      const int64_t produced = rd_kafka_message_timestamp(m, &type);
      if (produced > 0) shard.lag_seconds = std::max<double>(0, (now_ms() - produced) / 1000.0);
    } else {
      // Already here: it must be the same history, or the copies diverged.
      // A leader checks too: besides its own batches read back, the
      // partition may hold one that another writer with the shard's
      // transactional id committed over positions this copy holds.
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
    {
      // The copy durably holds batch->last now (apply_sealed fsynced, or had it).
      std::lock_guard lock(shard.resume_mu);
      shard.resume = Shard::Resume{m->offset + 1, batch->last.value(), batch->hash};
      shard.resume_dirty = true;
    }
    // Only now: wait_caught_up() takes next_offset as "applied up to here",
    // and a node that leads before its copy holds a batch that Kafka holds
    // would seal its next batch at the same positions (a fork).
    shard.next_offset = m->offset + 1;
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
  static constexpr std::chrono::seconds kSecretsWait{30};

  ClusterNode& node_;
  bool reconnect_now_ = false;              // the thread's: read again from each shard's next_offset
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

namespace {
std::string new_run_id() {
  std::array<unsigned char, 16> raw{};
  randombytes_buf(raw.data(), raw.size());
  return hex_encode(raw.data(), raw.size());
}
}  // namespace

ClusterNode::ClusterNode(ClusterOptions options)
    : options_(std::move(options)), reaper_(std::make_unique<Reaper>()), run_id_(new_run_id()) {
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

void ClusterNode::attach(uint32_t shard, EventLog* log, PersonalDataCipher* cipher, SecretStores* secrets) {
  shards_.at(shard)->log = log;
  shards_.at(shard)->cipher = cipher;
  shards_.at(shard)->secrets = secrets;
}

SecretPublisher ClusterNode::secret_publisher(uint32_t shard) {
  return [this, shard](const std::vector<SecretRecord>& records) { return publish_secrets(shard, records); };
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
  // The state outside the log: compacted, so a replaced record (a key
  // destroyed, a credential erased) leaves the topic within about the
  // segment age plus the compaction lag (docs/cluster.md states the bound).
  const std::string lag = std::to_string(options_.secrets_compaction_lag.count());
  topics.push_back({options_.secrets_topic(), 1, options_.replication_factor,
                    {{"cleanup.policy", "compact"},
                     {"min.insync.replicas", min_isr},
                     {"segment.ms", lag},
                     {"max.compaction.lag.ms", lag},
                     {"min.cleanable.dirty.ratio", "0.01"},
                     {"delete.retention.ms", std::to_string(options_.secrets_tombstone_retention.count())}}});
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

namespace {
constexpr std::string_view kResumeMagic = "ACCTRESUME1";
}

std::string ClusterNode::resume_path(uint32_t shard) const {
  return join_path(options_.resume_dir, "shard-" + std::to_string(shard) + ".resume");
}

void ClusterNode::save_resume_points() {
  if (options_.resume_dir.empty()) return;
  for (auto& shard : shards_) {
    Shard::Resume r;
    {
      std::lock_guard lock(shard->resume_mu);
      if (!shard->resume_dirty) continue;
      r = shard->resume;
      shard->resume_dirty = false;
    }
    const std::string text = std::string(kResumeMagic) + " " + std::to_string(r.next_offset) + " " +
                             std::to_string(r.position) + " " + hex_encode(r.hash.data(), r.hash.size()) + "\n";
    // Best effort: a missing or stale file costs a longer read at the next start, never a wrong one.
    if (Status s = posix_env()->write_file_atomically(resume_path(shard->index), text); !s.is_ok()) {
      spdlog::warn("cluster: shard {}: resume point not saved: {}", shard->index, s.to_string());
    }
  }
}

void ClusterNode::load_resume_point(rd_kafka_t* client, Shard& shard) {
  if (options_.resume_dir.empty()) return;
  Env* env = posix_env();
  if (Status s = env->create_dir(options_.resume_dir); !s.is_ok()) {
    spdlog::warn("cluster: {}: {}", options_.resume_dir, s.to_string());
    return;
  }
  const std::string path = resume_path(shard.index);
  if (!env->file_exists(path)) return;
  auto text = env->read_file(path);
  std::istringstream in(text ? *text : std::string());
  std::string magic, hash_hex;
  int64_t next = -1;
  uint64_t position = 0;
  in >> magic >> next >> position >> hash_hex;
  auto from_start = [&](const std::string& why) {
    spdlog::warn("cluster: shard {}: {} ({}); reading the replication topic from its start", shard.index, why, path);
  };
  Hash256 hash{};
  size_t length = 0;
  if (!in || magic != kResumeMagic || next < 0 || hash_hex.size() != 64 ||
      sodium_hex2bin(hash.data(), hash.size(), hash_hex.data(), hash_hex.size(), nullptr, &length, nullptr) != 0 ||
      length != hash.size()) {
    return from_start("the resume point does not parse");
  }
  // The copy must hold that position with that hash (a restored or replaced
  // folder may not), and the partition must reach that offset (a topic made
  // again may not).
  auto have = position == 0 ? Result<Hash256>(Hash256{}) : hash_at(*shard.log, GlobalPosition(position));
  if (shard.log->head().value() < position || !have || *have != hash) {
    return from_start("this copy does not hold position " + std::to_string(position) + " with the recorded hash");
  }
  int64_t lo = 0, hi = 0;
  if (rd_kafka_resp_err_t err = query_watermarks(client, options_.replication_topic(),
                                                 static_cast<int32_t>(shard.index), options_.operation_timeout, &lo,
                                                 &hi)) {
    return from_start(std::string("the partition's watermarks: ") + rd_kafka_err2str(err));
  }
  if (next > hi || next < lo) {
    return from_start("offset " + std::to_string(next) + " is outside the partition (" + std::to_string(lo) + ".." +
                      std::to_string(hi) + ")");
  }
  shard.next_offset = next;
  shard.kafka_last = position;
  shard.resumed_from = next;
  spdlog::info("cluster: shard {}: reading on from offset {} (position {})", shard.index, next, position);
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
    for (auto& shard : shards_) load_resume_point(admin->get(), *shard);
  }
  ACCT_RETURN_IF_ERROR(register_cluster());

  // The state outside the log first: the keys that unseal the batches below.
  secrets_reader_ = std::make_unique<SecretsReader>(*this);
  ACCT_RETURN_IF_ERROR(secrets_reader_->start());
  ACCT_RETURN_IF_ERROR(secrets_reader_->catch_up(SteadyClock::now() + options_.catch_up_timeout));
  for (auto& shard : shards_) {
    if (shard->secrets) shard->secrets->reconcile(secrets_reader_->record_keys(shard->index));
  }

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
  if (secrets_reader_) secrets_reader_->stop();  // first: the reader may wait on it
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
  // Every batch read from the partition is in the copy (none can be added
  // after the fence): else the next batch would fork the history.
  if (shard.log->head().value() < shard.kafka_last) {
    return unavailable("shard " + std::to_string(shard.index) + ": the copy's head " +
                       std::to_string(shard.log->head().value()) + " is behind the partition's last batch (position " +
                       std::to_string(shard.kafka_last.load()) + ")");
  }
  // And the secrets topic: every key, credential and token an earlier leader
  // committed is here before this node makes or changes any.
  ACCT_RETURN_IF_ERROR(secrets_reader_->catch_up(SteadyClock::now() + options_.catch_up_timeout));
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

Status ClusterNode::transact(Shard& shard, const std::string& what,
                             const std::function<Status(const Produce&)>& body) {
  const uint32_t index = shard.index;
  auto not_leader = [&] {
    return unavailable("this node does not lead shard " + std::to_string(index) + " (it is " +
                       std::string(shard_role_name(shard.role)) + "); nothing was written; retry");
  };
  if (shard.role != ShardRole::kLeader) return not_leader();
  std::lock_guard lock(shard.mu);
  if (shard.role != ShardRole::kLeader || !shard.producer) return not_leader();
  rd_kafka_t* rk = shard.producer.get();
  const auto deadline = SteadyClock::now() + options_.commit_timeout;

  // Any failure: nothing is acknowledged and nothing is written here.
  // Whether a commit that timed out landed, nobody knows yet; so the shard
  // takes its leadership again (init_transactions settles that transaction),
  // reads its partition to the end (applying the batch if it did land), and
  // only then takes commands. `may_have_landed`: the commit was asked for and
  // did not fail in a way that aborts it (a timeout, a lost answer, a fence
  // that may have come after the commit): the answer must not say "nothing
  // was written".
  auto fail = [&](const Status& cause, bool fenced, bool may_have_landed) {
    const std::string why = cause.message();
    shard.note_error(why);
    spdlog::warn("cluster: shard {} {} {} ({}): {}", index, what,
                 may_have_landed ? "may or may not be committed to Kafka" : "not committed to Kafka",
                 fenced ? "fenced: another node took the lead" : "taking the lead again", why);
    reaper_->dispose(std::move(shard.producer));
    // Fenced: another node took the lead; the group moves the shard to it
    // shortly. Until then (or if this node is given it again) it tries to
    // take the lead again, which fences the other in turn: the group decides.
    shard.role = shard.assigned ? ShardRole::kAcquiring : ShardRole::kFollower;
    shard.want_acquire = shard.assigned.load();
    { std::lock_guard l(mu_); }
    cv_.notify_all();
    if (may_have_landed) {
      return Status(StatusCode::kOutcomeUnknown,
                    "the commit to the cluster did not complete (" + why +
                        ") and may have landed; this node reads the cluster again to learn which. Retry: a "
                        "command retried with the same command_id is answered from its first commit "
                        "(duplicate: true) if that landed");
    }
    return unavailable("not committed to the cluster (" + why + "); nothing was written; retry");
  };
  auto is_fenced = [](const rd_kafka_error_t* e) {
    const rd_kafka_resp_err_t code = rd_kafka_error_code(e);
    return code == RD_KAFKA_RESP_ERR__FENCED || code == RD_KAFKA_RESP_ERR_PRODUCER_FENCED ||
           code == RD_KAFKA_RESP_ERR_INVALID_PRODUCER_EPOCH || code == RD_KAFKA_RESP_ERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED;
  };
  const Produce produce = [&](const std::string& topic, int32_t partition, std::string_view key,
                              const std::string* value, rd_kafka_headers_t* headers) -> Status {
    while (true) {
      rd_kafka_resp_err_t err = rd_kafka_producev(
          rk, RD_KAFKA_V_TOPIC(topic.c_str()), RD_KAFKA_V_PARTITION(partition),
          RD_KAFKA_V_KEY(const_cast<char*>(key.data()), key.size()),
          RD_KAFKA_V_VALUE(value ? const_cast<char*>(value->data()) : nullptr, value ? value->size() : 0),
          RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_HEADERS(headers), RD_KAFKA_V_END);
      if (err == RD_KAFKA_RESP_ERR_NO_ERROR) return Status::ok();  // librdkafka owns the headers now
      if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL || SteadyClock::now() >= deadline) {
        if (headers) rd_kafka_headers_destroy(headers);  // a failed produce does not take them
        return kafka::error_status(err, "producing to " + topic);
      }
      rd_kafka_poll(rk, 10);  // bounded by the deadline
    }
  };

  // Before commit_transaction nothing can have landed: the next
  // init_transactions aborts what was produced.
  if (kafka::Error e{rd_kafka_begin_transaction(rk)}) {
    return fail(kafka::error_status(e.get(), "begin_transaction"), is_fenced(e.get()), false);
  }
  if (Status s = body(produce); !s.is_ok()) return fail(s, false, false);
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - SteadyClock::now());
  if (kafka::Error e{rd_kafka_commit_transaction(rk, kafka::to_ms(std::max(left, std::chrono::milliseconds(1))))}) {
    const bool fenced = is_fenced(e.get());
    // An abortable error: a record was refused, or the coordinator refused
    // the commit; the transaction cannot commit. Any other error (a timeout,
    // a fence or a fatal error, which may follow an EndTxn whose answer was
    // lost) leaves the outcome open.
    const bool aborts = !fenced && rd_kafka_error_txn_requires_abort(e.get());
    if (aborts) kafka::Error(rd_kafka_abort_transaction(rk, kafka::to_ms(options_.operation_timeout))).reset();
    return fail(kafka::error_status(e.get(), "commit_transaction"), fenced || rd_kafka_error_is_fatal(e.get()), !aborts);
  }
  if (options_.lose_commit_answer_for_test && options_.lose_commit_answer_for_test(index)) {
    return fail(unavailable("commit_transaction: its answer was lost (a test's fault)"), false, true);
  }
  return Status::ok();
}

Status ClusterNode::produce_secrets(uint32_t index, const std::vector<SecretRecord>& records, const Produce& produce,
                                    std::vector<std::string>* message_keys) {
  for (const SecretRecord& r : records) {
    const std::string key = std::to_string(index) + "/" + r.key;
    std::optional<std::string> value;
    if (r.plaintext) value = seal_secret_value(options_.cluster_key, key, *r.plaintext);
    rd_kafka_headers_t* headers = rd_kafka_headers_new(1);
    rd_kafka_header_add(headers, kRunHeader.data(), static_cast<ssize_t>(kRunHeader.size()), run_id_.data(),
                        static_cast<ssize_t>(run_id_.size()));
    ACCT_RETURN_IF_ERROR(produce(options_.secrets_topic(), 0, key, value ? &*value : nullptr, headers));
    if (message_keys) message_keys->push_back(key);
  }
  return Status::ok();
}

Status ClusterNode::publish_secrets(uint32_t index, const std::vector<SecretRecord>& records) {
  Shard& shard = *shards_.at(index);
  return transact(shard, std::to_string(records.size()) + " secret record(s)", [&](const Produce& produce) {
    return produce_secrets(index, records, produce, nullptr);
  });
}

Status ClusterNode::replicate(uint32_t index, const SealedBatch& batch) {
  Shard& shard = *shards_.at(index);
  // The keys made here since the last batch go in the same transaction: no
  // follower ever holds a batch without the keys that unseal it.
  std::vector<SecretRecord> keys;
  if (shard.secrets) keys = shard.secrets->unshipped();
  std::vector<std::string> key_names;
  Status s = transact(shard, "batch " + std::to_string(batch.first.value()) + ".." + std::to_string(batch.last.value()),
                      [&](const Produce& produce) -> Status {
    ACCT_RETURN_IF_ERROR(produce_secrets(index, keys, produce, &key_names));
    const std::string key = std::to_string(index);
    const std::string value = encode_replication_value(batch, key_names);
    ACCT_RETURN_IF_ERROR(produce(options_.replication_topic(), static_cast<int32_t>(index), key, &value, nullptr));
    // The change events, as the relay would publish them (docs/kafka-events.md).
    EventMessage message;
    for (size_t offset = 0; offset < batch.frames.size();) {
      auto commit = decode_commit(batch.frames.substr(offset), offset);
      if (!commit) return commit.status();
      for (const ScanRecord& r : commit->records) {
        ACCT_RETURN_IF_ERROR(encode_event_message(r.event, shard.cipher, &message));
        KafkaHeaders headers = make_kafka_headers(message);
        Status produced = produce(options_.events_topic, RD_KAFKA_PARTITION_UA, message.key, &message.value,
                                  headers.release());  // librdkafka owns them now (or produce freed them)
        if (!produced.is_ok()) {
          return Status(produced.code(), "event " + std::to_string(r.event.position.value()) + ": " + produced.message());
        }
      }
      offset += commit->size;
    }
    return Status::ok();
  });
  if (!s.is_ok()) return s;
  if (shard.secrets && !keys.empty()) {
    std::vector<std::string> shipped;
    for (const SecretRecord& r : keys) shipped.push_back(r.key);
    shard.secrets->shipped(shipped);
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
  if (secrets_reader_) secrets_reader_->fill(out);
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
    s.resumed_from = static_cast<uint64_t>(std::max<int64_t>(0, shard->resumed_from));
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
