#include "consumers/relay.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/json.hpp>
#include <optional>
#include <thread>

#include "consumers/event_message.h"
#include "consumers/relay_encoder.h"

namespace accountable {

namespace json = boost::json;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

std::string RelayOptions::resolved_checkpoint_topic() const {
  return checkpoint_topic.empty() ? topic + ".relay-checkpoint" : checkpoint_topic;
}

std::string RelayOptions::resolved_transactional_id() const {
  return transactional_id.empty() ? "accountable-relay." + topic : transactional_id;
}

Status RelayOptions::validate() const {
  if (brokers.empty()) return invalid_argument("is required (bootstrap servers, host:port[,host:port...])", "kafka_brokers");
  if (topic.empty()) return invalid_argument("must not be empty", "topic");
  if (resolved_checkpoint_topic() == topic) {
    return invalid_argument("must differ from the events topic", "checkpoint_topic");
  }
  if (partitions < 1) return invalid_argument("must be at least 1", "partitions");
  if (replication_factor == 0 || replication_factor < -1) {
    return invalid_argument("must be at least 1 (or -1: the broker's default)", "replication_factor");
  }
  if (min_insync_replicas < 0) return invalid_argument("must be 0 (the broker's default) or more", "min_insync_replicas");
  if (max_batch_events < 1) return invalid_argument("must be at least 1", "max_batch_events");
  if (max_batch_bytes < 1024) return invalid_argument("must be at least 1024", "max_batch_bytes");
  if (read_batch_events < 1) return invalid_argument("must be at least 1", "read_batch_events");
  if (encode_ahead_batches < 1) return invalid_argument("must be at least 1", "encode_ahead_batches");
  if (operation_timeout < milliseconds(100)) return invalid_argument("must be at least 100 ms", "operation_timeout");
  if (transaction_timeout < milliseconds(1000)) {
    return invalid_argument("must be at least 1000 ms", "transaction_timeout");
  }
  if (max_delivery_refusals < 1) return invalid_argument("must be at least 1", "max_delivery_refusals");
  if (end_transaction_timeout < operation_timeout) {
    return invalid_argument("must be at least operation_timeout", "end_transaction_timeout");
  }
  return Status::ok();
}

std::string_view relay_state_name(RelayState state) {
  switch (state) {
    case RelayState::kIdle: return "idle";
    case RelayState::kStarting: return "starting";
    case RelayState::kRunning: return "running";
    case RelayState::kRetrying: return "retrying";
    case RelayState::kFinished: return "finished";
    case RelayState::kStopped: return "stopped";
    case RelayState::kFailed: return "failed";
  }
  return "unknown";
}

json::object relay_status_json(const RelayStatus& s) {
  json::object o;
  o["state"] = relay_state_name(s.state);
  o["fatal"] = s.fatal;
  o["checkpoint_position"] = s.checkpoint_position;
  o["log_head"] = s.log_head;
  o["lag"] = s.lag;
  o["target_position"] = s.target_position;
  o["events_published"] = s.events_published;
  o["bytes_published"] = s.bytes_published;
  o["transactions_committed"] = s.transactions_committed;
  o["transactions_aborted"] = s.transactions_aborted;
  o["retries"] = s.retries;
  o["producer_restarts"] = s.producer_restarts;
  o["ready_seconds"] = s.ready_seconds;
  o["stalled_seconds"] = s.stalled_seconds;
  o["publish_rate"] = s.publish_rate;
  o["last_error"] = s.last_error;
  o["topic"] = s.topic;
  o["checkpoint_topic"] = s.checkpoint_topic;
  o["transactional_id"] = s.transactional_id;
  return o;
}

namespace {

// A fatal error: the session must not be started again (it would fence the
// instance that fenced us, or publish from a log the topic does not belong to).
struct Outcome {
  Status status;
  bool fatal = false;
  static Outcome ok() { return {}; }
  static Outcome retry(Status s) { return {std::move(s), false}; }
  static Outcome stop(Status s) { return {std::move(s), true}; }
};

struct Checkpoint {
  uint64_t position = 0;  // 0: nothing published yet
  std::string hash;       // hex SHA-256 of the record at `position`
};

Status kafka_fatal(rd_kafka_t* rk, const std::string& what) {
  char reason[512] = "";
  rd_kafka_resp_err_t err = rd_kafka_fatal_error(rk, reason, sizeof reason);
  return Status(StatusCode::kIOError, what + ": fatal Kafka error " + rd_kafka_err2name(err) + ": " + reason);
}

// The checkpoint record's value (docs/kafka-events.md).
std::string checkpoint_value(const RelayOptions& o, uint64_t position, const Hash256& hash, const EventId& event_id,
                             uint64_t events) {
  json::object v;
  v["format"] = 1;
  v["topic"] = o.topic;
  v["position"] = position;
  v["hash"] = hex_encode(hash.data(), hash.size());
  v["event_id"] = event_id.to_string();
  v["events_in_transaction"] = events;
  v["transactional_id"] = o.resolved_transactional_id();
  return json::serialize(v);
}

Result<Checkpoint> parse_checkpoint(std::string_view text, int64_t offset) {
  const std::string where = "checkpoint record at offset " + std::to_string(offset);
  json::error_code ec;
  json::value v = json::parse(json::string_view(text.data(), text.size()), ec);
  if (ec || !v.is_object()) return corruption(where + " is not a JSON object");
  const json::object& o = v.get_object();
  const json::value* pos = o.if_contains("position");
  const json::value* hash = o.if_contains("hash");
  if (pos == nullptr || !(pos->is_uint64() || (pos->is_int64() && pos->get_int64() >= 0))) {
    return corruption(where + ": position is missing or not a non-negative integer");
  }
  if (hash == nullptr || !hash->is_string()) return corruption(where + ": hash is missing or not a string");
  Checkpoint c;
  c.position = pos->is_uint64() ? pos->get_uint64() : static_cast<uint64_t>(pos->get_int64());
  c.hash.assign(hash->get_string().data(), hash->get_string().size());
  return c;
}

// Broker answers that will not change by trying again with the same settings
// and messages: the relay stops as fatal instead of replaying forever
// (docs/kafka-events.md, "Errors, retries and backpressure").
bool is_permanent(rd_kafka_resp_err_t err) {
  switch (err) {
    case RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_GROUP_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_SASL_AUTHENTICATION_FAILED:
    case RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE:
    case RD_KAFKA_RESP_ERR_UNSUPPORTED_VERSION:
    case RD_KAFKA_RESP_ERR_UNSUPPORTED_FOR_MESSAGE_FORMAT:
    case RD_KAFKA_RESP_ERR_TOPIC_EXCEPTION:
      return true;
    default:
      return false;
  }
}

// Fatal producer errors that only mean its idempotence state is lost: its
// sequence numbers are out of step with a broker's (librdkafka 2.0.2 raises
// this after a refused delivery inside a transaction) or its producer id is
// unknown. A new producer, with a new epoch from init_transactions, starts
// clean; every other fatal error (fenced above all) stops the relay.
bool only_idempotence_state_lost(rd_kafka_resp_err_t err) {
  switch (err) {
    case RD_KAFKA_RESP_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER:
    case RD_KAFKA_RESP_ERR_DUPLICATE_SEQUENCE_NUMBER:
    case RD_KAFKA_RESP_ERR_UNKNOWN_PRODUCER_ID:
    case RD_KAFKA_RESP_ERR__INCONSISTENT:
    case RD_KAFKA_RESP_ERR__GAPLESS_GUARANTEE:
      return true;
    default:
      return false;
  }
}

// A partition whose leader does not serve it yet (a topic just made, a
// leader moving): asking again shortly will do.
bool leader_not_serving_yet(rd_kafka_resp_err_t err) {
  switch (err) {
    case RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION:
    case RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE:
    case RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART:
    case RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION:
    case RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC:
      return true;
    default:
      return false;
  }
}

}  // namespace

// One producer's life: connect, fence, recover the checkpoint, publish.
class Relay::Session {
 public:
  explicit Session(Relay& relay) : r_(relay), o_(relay.options_) {}
  ~Session() {
    if (producer_ && abandoned_) {
      // A stuck producer: no more waiting on it. Whatever it has in flight is
      // dropped; the next session's init_transactions aborts its transaction.
      rd_kafka_purge(producer_.get(),
                     RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT | RD_KAFKA_PURGE_F_NON_BLOCKING);
      return;
    }
    if (producer_ && in_txn_) {
      // Bounded: an open transaction left behind is aborted by the broker after
      // transaction.timeout.ms, or at once by the next init_transactions().
      kafka::Error(rd_kafka_abort_transaction(producer_.get(), kafka::to_ms(o_.operation_timeout))).reset();
    }
    if (producer_) rd_kafka_purge(producer_.get(), RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
  }

  Outcome run() {
    r_.set_state(RelayState::kStarting);
    // Where start-up time goes: each phase's own duration, logged when ready.
    const auto start = Clock::now();
    auto lap = [t = start]() mutable {
      const auto now = Clock::now();
      const auto ms = std::chrono::duration<double, std::milli>(now - t).count();
      t = now;
      return ms;
    };
    if (Outcome o = connect(); !o.status.is_ok()) return o;
    const double connect_ms = lap();
    if (Outcome o = ensure_topics(); !o.status.is_ok()) return o;
    const double topics_ms = lap();
    auto readers = make_checkpoint_readers();
    if (!readers) return Outcome::retry(readers.status());
    // The checkpoint readers connect and learn the topic's leader while the
    // producer fences: independent steps, so on a helper thread, bounded
    // (one metadata request each). They read only after the fencing.
    std::thread warm([this, &readers] {
      warm_up(readers->committed.get());
      warm_up(readers->watermarks.get());
    });
    Outcome fenced = init_transactions();
    warm.join();
    if (!fenced.status.is_ok() || r_.stopping_) return fenced;
    const double init_ms = lap();
    auto checkpoint = read_checkpoint(*readers);
    *readers = CheckpointReaders{};  // closed: not needed while publishing
    if (!checkpoint) return Outcome::retry(checkpoint.status());
    const double checkpoint_ms = lap();
    if (Outcome o = verify(*checkpoint); !o.status.is_ok()) return o;
    const double verify_ms = lap();
    committed_ = checkpoint->position;
    const double ready_seconds = std::chrono::duration<double>(Clock::now() - start).count();
    {
      std::lock_guard lock(r_.mu_);
      r_.status_.checkpoint_position = committed_;
      r_.status_.ready_seconds = ready_seconds;
    }
    spdlog::info("relay: {} resumes after position {} (log head {}), transactional id {}", o_.topic, committed_,
                 r_.log_.head().value(), o_.resolved_transactional_id());
    spdlog::info(
        "relay: ready in {:.1f} ms: producer {:.1f} ms, topics {:.1f} ms, init_transactions {:.1f} ms, "
        "checkpoint read {:.1f} ms, checkpoint checked against the log {:.1f} ms",
        ready_seconds * 1000, connect_ms, topics_ms, init_ms, checkpoint_ms, verify_ms);
    r_.set_state(RelayState::kRunning);
    return publish();
  }

 private:
  static void dr_cb(rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
    if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR || m->err == RD_KAFKA_RESP_ERR__PURGE_QUEUE ||
        m->err == RD_KAFKA_RESP_ERR__PURGE_INFLIGHT) {
      return;
    }
    // The transaction fails too and is aborted and replayed (or, for an error
    // that will not heal, the relay stops: see abort()); this says why.
    auto* self = static_cast<Session*>(opaque);
    const auto position = reinterpret_cast<uintptr_t>(m->_private);
    const std::string what = "delivery of position " + std::to_string(position) + " failed: " +
                             rd_kafka_err2name(m->err) + ": " + rd_kafka_err2str(m->err);
    if (is_permanent(m->err) && self->permanent_failure_.empty()) self->permanent_failure_ = what;
    // A broker's answer (error codes >= 0), not a local time-out or transport error.
    if (m->err > 0) self->refusal_ = what;
    // One failed request fails every message in it (hundreds): the first is
    // logged, the rest counted (abort() says how many).
    if (self->failed_deliveries_++ == 0) self->r_.note_error(what, false);
  }

  static void error_cb(rd_kafka_t* rk, int err, const char* reason, void* opaque) {
    auto* self = static_cast<Session*>(opaque);
    if (err == RD_KAFKA_RESP_ERR__FATAL) {
      self->r_.note_error(kafka_fatal(rk, "producer").message(), false);
      return;
    }
    self->r_.note_error(std::string("kafka: ") + rd_kafka_err2name(static_cast<rd_kafka_resp_err_t>(err)) + ": " +
                            reason,
                        false, /*log=*/false);
  }

  kafka::Properties common_config() const {
    kafka::Properties p;
    p["bootstrap.servers"] = o_.brokers;
    p["client.id"] = "accountable-relay";
    return p;
  }

  Outcome connect() {
    kafka::Properties p = common_config();
    p["transactional.id"] = o_.resolved_transactional_id();
    p["transaction.timeout.ms"] = std::to_string(o_.transaction_timeout.count());
    p["enable.idempotence"] = "true";  // implied by transactional.id; explicit for readers
    p["acks"] = "all";
    p["allow.auto.create.topics"] = "false";  // topics are created on purpose, with their settings
    // Same partition for the same key as the Java client's default partitioner.
    p["partitioner"] = "murmur2_random";
    p["linger.ms"] = "5";
    p["batch.num.messages"] = "10000";
    p["batch.size"] = std::to_string(1u << 20);
    p["compression.type"] = "lz4";
    // Bounded buffering: room for one transaction's events plus the checkpoint.
    p["queue.buffering.max.messages"] = std::to_string(std::min<size_t>(o_.max_batch_events + 1024, 10'000'000));
    p["queue.buffering.max.kbytes"] = std::to_string(std::max<size_t>(o_.max_batch_bytes / 1024 * 2, 16384));
    p["message.max.bytes"] = std::to_string(kMaxMessageBytes);
    for (const auto& [k, v] : o_.producer_config) p[k] = v;
    auto conf = kafka::make_conf(p);
    if (!conf) return Outcome::stop(conf.status());
    rd_kafka_conf_set_opaque(conf->get(), this);
    rd_kafka_conf_set_dr_msg_cb(conf->get(), &Session::dr_cb);
    rd_kafka_conf_set_error_cb(conf->get(), &Session::error_cb);
    rd_kafka_conf_set_log_cb(conf->get(), &kafka::log_to_spdlog);
    auto producer = kafka::make_client(RD_KAFKA_PRODUCER, std::move(*conf));
    if (!producer) return Outcome::stop(producer.status());
    producer_ = std::move(*producer);
    return Outcome::ok();
  }

  Outcome ensure_topics() {
    const std::string cp_topic = o_.resolved_checkpoint_topic();
    auto events = kafka::describe_topic(producer_.get(), o_.topic, o_.operation_timeout);
    if (!events) return Outcome::retry(events.status());
    auto cp = kafka::describe_topic(producer_.get(), cp_topic, o_.operation_timeout);
    if (!cp) return Outcome::retry(cp.status());
    std::vector<kafka::NewTopic> missing;
    kafka::Properties shared;
    if (o_.min_insync_replicas > 0) shared["min.insync.replicas"] = std::to_string(o_.min_insync_replicas);
    if (!events->exists) {
      kafka::NewTopic t{o_.topic, o_.partitions, o_.replication_factor, shared};
      t.config["max.message.bytes"] = std::to_string(kMaxMessageBytes);
      missing.push_back(std::move(t));
    }
    if (!cp->exists) {
      kafka::NewTopic t{cp_topic, 1, o_.replication_factor, shared};
      // Only the newest checkpoint per key matters; compaction keeps it.
      t.config["cleanup.policy"] = "compact";
      missing.push_back(std::move(t));
    }
    if (!missing.empty()) {
      if (!o_.create_topics) {
        return Outcome::stop(not_found("topic " + missing.front().name + " does not exist and topic creation is off",
                                       "topic"));
      }
      Status created = kafka::create_topics(producer_.get(), missing, o_.operation_timeout);
      if (!created.is_ok()) return Outcome::retry(created);
      for (const auto& t : missing) {
        spdlog::info("relay: created topic {} ({} partition(s), replication factor {})", t.name, t.partitions,
                     t.replication_factor < 0 ? std::string("broker default") : std::to_string(t.replication_factor));
      }
      // Asked again, both: the producer's metadata still says the events topic
      // does not exist, and left alone it looks again only on its 1 s timer
      // while the first transaction's messages wait for it.
      if (!events->exists) {
        events = kafka::describe_topic(producer_.get(), o_.topic, o_.operation_timeout);
        if (!events) return Outcome::retry(events.status());
      }
      cp = kafka::describe_topic(producer_.get(), cp_topic, o_.operation_timeout);
      if (!cp) return Outcome::retry(cp.status());
    }
    if (cp->exists && cp->partitions != 1) {
      return Outcome::stop(invalid_argument("checkpoint topic " + cp_topic + " has " + std::to_string(cp->partitions) +
                                                " partitions; it must have exactly 1",
                                            "checkpoint_topic"));
    }
    return Outcome::ok();
  }

  // Classifies a transactional API error (docs/kafka-events.md, "Errors,
  // retries and backpressure"); kRestart and kFatal are noted already.
  enum class Next { kRetry, kAbort, kRestart, kFatal };
  Next classify(rd_kafka_error_t* err, const std::string& what) {
    Status s = kafka::error_status(err, what);
    if (rd_kafka_error_is_fatal(err)) return on_fatal(what);
    if (is_permanent(rd_kafka_error_code(err))) {
      r_.note_error(s.message() + " (will not heal by retrying)", true);
      return Next::kFatal;
    }
    if (rd_kafka_error_txn_requires_abort(err)) {
      r_.note_error(s.message() + " (aborting the transaction; it is replayed)", false);
      return Next::kAbort;
    }
    if (rd_kafka_error_is_retriable(err)) {
      r_.note_error(s.message() + " (retrying)", false);
      std::lock_guard lock(r_.mu_);
      ++r_.status_.retries;
      return Next::kRetry;
    }
    // librdkafka's advice: neither retriable nor abortable means fatal.
    r_.note_error(s.message(), true);
    return Next::kFatal;
  }

  // The producer failed fatally: restarted if only its idempotence state is
  // lost, else the relay stops.
  Next on_fatal(const std::string& what) {
    const Status s = kafka_fatal(producer_.get(), what);
    if (only_idempotence_state_lost(rd_kafka_fatal_error(producer_.get(), nullptr, 0))) {
      return give_up(s.message()) ? Next::kRestart : Next::kFatal;
    }
    r_.note_error(s.message(), true);
    return Next::kFatal;
  }

  Outcome init_transactions() {
    milliseconds backoff(100);
    while (!r_.stopping_) {
      kafka::Error err(rd_kafka_init_transactions(producer_.get(), kafka::to_ms(o_.operation_timeout)));
      if (!err) return Outcome::ok();
      Next next = classify(err.get(), "init_transactions");
      if (next == Next::kFatal) return Outcome::stop(kafka::error_status(err.get(), "init_transactions"));
      if (next == Next::kRestart) return Outcome::retry(kafka::error_status(err.get(), "init_transactions"));
      r_.sleep_unless_stopped(backoff);
      backoff = std::min(backoff * 2, o_.max_backoff);
    }
    return Outcome::ok();
  }

  // The checkpoint topic's two readers: a read_committed consumer (assign()
  // only) and a read_uncommitted client that asks for the high watermark.
  // They are made before init_transactions() so that they connect and learn
  // the cluster while the producer fences; they read only after it.
  struct CheckpointReaders {
    kafka::Handle committed;
    kafka::Handle watermarks;
  };

  Result<CheckpointReaders> make_checkpoint_readers() {
    kafka::Properties p = common_config();
    for (const auto& [k, v] : o_.producer_config) {
      // Security and connection settings apply to both clients.
      if (k.rfind("security.", 0) == 0 || k.rfind("sasl.", 0) == 0 || k.rfind("ssl.", 0) == 0) p[k] = v;
    }
    p["enable.auto.commit"] = "false";
    p["enable.partition.eof"] = "true";
    p["auto.offset.reset"] = "earliest";
    // The reader stops at the end of the partition, which it learns from a
    // fetch that finds nothing more: the broker holds such a fetch for
    // fetch.wait.max.ms (librdkafka's default 500 ms) before it answers:
    // measured, 500 of the 517 ms a session took to be ready. 10 ms is still
    // a long-poll, and nothing is read differently.
    p["fetch.wait.max.ms"] = "10";
    // A fetch refused while a topic made a moment ago gets its leader is
    // tried again after this, not after the default 500 ms.
    p["fetch.error.backoff.ms"] = "50";
    CheckpointReaders readers;
    {
      kafka::Properties cp = p;
      cp["group.id"] = o_.resolved_transactional_id() + ".checkpoint-reader";  // never joins: assign() only
      cp["isolation.level"] = "read_committed";
      auto conf = kafka::make_conf(cp);
      if (!conf) return conf.status();
      rd_kafka_conf_set_log_cb(conf->get(), &kafka::log_to_spdlog);
      auto consumer = kafka::make_client(RD_KAFKA_CONSUMER, std::move(*conf));
      if (!consumer) return consumer.status();
      readers.committed = std::move(*consumer);
    }
    {
      // The end to read to is the high watermark, which only a
      // read_uncommitted client is told (read_committed gets the last stable
      // offset). It joins no group (it only asks for offsets).
      kafka::Properties hp = p;
      hp["isolation.level"] = "read_uncommitted";
      auto conf = kafka::make_conf(hp);
      if (!conf) return conf.status();
      rd_kafka_conf_set_log_cb(conf->get(), &kafka::log_to_spdlog);
      auto client = kafka::make_client(RD_KAFKA_CONSUMER, std::move(*conf));
      if (!client) return client.status();
      readers.watermarks = std::move(*client);
    }
    return readers;
  }

  // Connects a checkpoint reader and has it learn the topic's leader, so that
  // its first real request waits for neither. Only a warm-up: what it finds
  // is not used, and an error shows again in the request that matters.
  void warm_up(rd_kafka_t* rk) {
    static_cast<void>(
        kafka::describe_topic(rk, o_.resolved_checkpoint_topic(), std::min(o_.operation_timeout, milliseconds(2000))));
  }

  // The newest committed checkpoint of our topic: read backwards in growing
  // windows from the end of the (compacted) checkpoint topic, with a
  // read_committed consumer, so aborted checkpoints are never seen.
  Result<Checkpoint> read_checkpoint(const CheckpointReaders& readers) {
    const std::string cp_topic = o_.resolved_checkpoint_topic();
    rd_kafka_t* rk = readers.committed.get();
    // After init_transactions() our own transactions are all complete, so the
    // read_committed reader reaches the high watermark, unless another
    // producer holds a transaction open in this topic (then we wait, bounded,
    // and say so).
    int64_t lo = 0, hi = 0;
    // A topic made a moment ago is in the metadata before its leader serves
    // it (NOT_LEADER_FOR_PARTITION for a few ms): asked again after a short
    // pause, within operation_timeout, instead of failing the session, whose
    // restart and back-off cost a fresh relay a quarter of a second.
    const auto asked_until = Clock::now() + o_.operation_timeout;
    for (milliseconds pause(10);; pause = std::min(pause * 2, milliseconds(200))) {
      const auto left = std::chrono::duration_cast<milliseconds>(asked_until - Clock::now());
      const rd_kafka_resp_err_t err = rd_kafka_query_watermark_offsets(
          readers.watermarks.get(), cp_topic.c_str(), 0, &lo, &hi, kafka::to_ms(std::max(left, milliseconds(1))));
      if (err == RD_KAFKA_RESP_ERR_NO_ERROR) break;
      if (!leader_not_serving_yet(err) || Clock::now() + pause >= asked_until || r_.stopping_) {
        return kafka::error_status(err, "watermarks of checkpoint topic " + cp_topic, "checkpoint_topic");
      }
      r_.sleep_unless_stopped(pause);
    }
    Checkpoint found;
    bool any = false;
    int64_t window = 64;
    while (!r_.stopping_) {
      const int64_t start = std::max(lo, hi - window);
      kafka::PartitionList list(rd_kafka_topic_partition_list_new(1));
      rd_kafka_topic_partition_list_add(list.get(), cp_topic.c_str(), 0)->offset = start;
      if (rd_kafka_resp_err_t err = rd_kafka_assign(rk, list.get())) {
        return kafka::error_status(err, "assigning checkpoint topic " + cp_topic, "checkpoint_topic");
      }
      const auto deadline = Clock::now() + o_.operation_timeout;
      bool at_end = false;
      while (!at_end) {
        if (Clock::now() >= deadline || r_.stopping_) {
          return Status(StatusCode::kIOError,
                        "reading checkpoint topic " + cp_topic + " from offset " + std::to_string(start) +
                            ": its end (offset " + std::to_string(hi) +
                            ") was not reached in time; an open transaction of another producer holds it back "
                            "(is another relay writing to this checkpoint topic?) or the broker is slow",
                        "checkpoint_topic");
        }
        rd_kafka_message_t* m = rd_kafka_consumer_poll(rk, 100);
        if (m == nullptr) continue;
        std::unique_ptr<rd_kafka_message_t, void (*)(rd_kafka_message_t*)> guard(m, rd_kafka_message_destroy);
        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
          at_end = m->offset >= hi;  // else: committed data below an open transaction; keep waiting
          continue;
        }
        if (m->err) {
          return kafka::error_status(m->err, "reading checkpoint topic " + cp_topic, "checkpoint_topic");
        }
        if (m->key_len != o_.topic.size() || std::string_view(static_cast<const char*>(m->key), m->key_len) != o_.topic) {
          continue;  // another events topic's checkpoint
        }
        auto c = parse_checkpoint(std::string_view(static_cast<const char*>(m->payload), m->len), m->offset);
        if (!c) return c.status();
        found = std::move(*c);
        any = true;
      }
      if (any || start == lo) break;
      window *= 64;
    }
    rd_kafka_assign(rk, nullptr);
    return found;
  }

  // The checkpoint must name a record of THIS log: same position, same hash.
  Outcome verify(const Checkpoint& c) {
    if (c.position == 0) return Outcome::ok();
    const uint64_t head = r_.log_.head().value();
    if (c.position > head) {
      return Outcome::stop(Status(StatusCode::kConflict,
                                  "topic " + o_.topic + " has events up to position " + std::to_string(c.position) +
                                      " but the log ends at " + std::to_string(head) +
                                      ": the log is not the one this topic was fed from (or was restored from an "
                                      "older copy)",
                                  "checkpoint_topic"));
    }
    auto batch = r_.log_.read_all(GlobalPosition(c.position), 1);
    if (!batch) return Outcome::retry(batch.status());
    if (batch->events.empty() || batch->events[0].position.value() != c.position) {
      return Outcome::stop(Status(StatusCode::kCorruption,
                                  "position " + std::to_string(c.position) + " of the checkpoint is not in the log"));
    }
    const Hash256& h = batch->events[0].hash;
    const std::string hex = hex_encode(h.data(), h.size());
    if (hex != c.hash) {
      return Outcome::stop(Status(StatusCode::kConflict,
                                  "the checkpoint of topic " + o_.topic + " says position " +
                                      std::to_string(c.position) + " has hash " + c.hash + " but the log has " + hex +
                                      ": the topic was fed from another log",
                                  "checkpoint_topic"));
    }
    return Outcome::ok();
  }

  enum class Produced { kOk, kAbort, kFatal, kStopped, kRestart };

  // The headers are built here, not on the encoding thread: librdkafka frees
  // them on this thread (delivery reports), and frees of another thread's
  // allocations were a large part of both threads' time (malloc arenas).
  Produced produce(const std::string& topic, int32_t partition, const EventMessage& m, uint64_t position) {
    KafkaHeaders headers = make_kafka_headers(m);
    const auto deadline = Clock::now() + o_.end_transaction_timeout;
    while (true) {
      rd_kafka_resp_err_t err = rd_kafka_producev(
          producer_.get(), RD_KAFKA_V_TOPIC(topic.c_str()), RD_KAFKA_V_PARTITION(partition),
          RD_KAFKA_V_KEY(m.key.data(), m.key.size()),
          RD_KAFKA_V_VALUE(const_cast<char*>(m.value.data()), m.value.size()),
          RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_OPAQUE(reinterpret_cast<void*>(position)),
          RD_KAFKA_V_HEADERS(headers.get()), RD_KAFKA_V_END);
      if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        headers.release();  // they belong to the message now
        return Produced::kOk;
      }
      if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL && !r_.stopping_) {
        if (Clock::now() >= deadline) {
          return give_up("the producer's queue stayed full (" + std::to_string(rd_kafka_outq_len(producer_.get())) +
                         " messages outstanding) for " + std::to_string(o_.end_transaction_timeout.count()) + " ms")
                     ? Produced::kRestart
                     : Produced::kFatal;
        }
        rd_kafka_poll(producer_.get(), 50);  // backpressure: serve deliveries until there is room
        continue;
      }
      if (r_.stopping_) return Produced::kStopped;
      if (rd_kafka_fatal_error(producer_.get(), nullptr, 0)) {
        return on_fatal("producing position " + std::to_string(position)) == Next::kRestart ? Produced::kRestart
                                                                                             : Produced::kFatal;
      }
      if (err == RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE) {
        r_.note_error("position " + std::to_string(position) + ": its message (" + std::to_string(m.value.size()) +
                          " bytes) is larger than message.max.bytes",
                      true);
        return Produced::kFatal;
      }
      r_.note_error(kafka::error_status(err, "producing position " + std::to_string(position)).message(), false);
      return Produced::kAbort;
    }
  }

  enum class Ended { kCommitted, kAborted, kFatal, kStopped, kRestart };

  // The producer is stuck or broken (`what` says how): it is abandoned, and
  // the session ends so that a new producer fences it and replays from the
  // checkpoint. Returns false (fatal, noted) when a delivery failed for good
  // or was refused too often: a new producer would only fail the same way.
  bool give_up(const std::string& what) {
    if (failed_for_good() || refused_too_often()) return false;
    abandoned_ = true;
    r_.note_producer_restart(what + ": restarting the producer; publishing resumes from the checkpoint");
    return true;
  }

  // A delivery failed with an error that will not heal: stop as fatal
  // rather than replay the same messages into the same refusal.
  bool failed_for_good() {
    if (permanent_failure_.empty()) return false;
    r_.note_error(permanent_failure_ + " (will not heal by retrying)", true);
    return true;
  }

  // After an abort: was it a broker's refusal, the max_delivery_refusals-th
  // in a row? Then it is fatal (noted). Commits reset the count.
  bool refused_too_often() {
    if (refusal_.empty()) return false;
    const std::string what = std::move(refusal_);
    refusal_.clear();
    if (++r_.refusals_in_a_row_ < o_.max_delivery_refusals) return false;
    r_.note_error("the broker refused deliveries in " + std::to_string(r_.refusals_in_a_row_) +
                      " transactions in a row (last: " + what + "); stopping rather than replaying forever",
                  true);
    return true;
  }

  // Bounded: attempts of operation_timeout each, for end_transaction_timeout
  // at most; then the producer is given up (kRestart).
  Ended abort() {
    const auto deadline = Clock::now() + o_.end_transaction_timeout;
    for (int attempt = 1;; ++attempt) {
      // abort_transaction waits for every outstanding message's delivery
      // report, which only rd_kafka_poll serves; unserved, it times out.
      rd_kafka_poll(producer_.get(), 0);
      if (failed_for_good()) return Ended::kFatal;
      const auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now());
      kafka::Error err(rd_kafka_abort_transaction(
          producer_.get(), kafka::to_ms(std::clamp(left, milliseconds(1), o_.operation_timeout))));
      if (!err) {
        in_txn_ = false;
        {
          std::lock_guard lock(r_.mu_);
          ++r_.status_.transactions_aborted;
        }
        if (failed_deliveries_ > 0) {
          spdlog::warn("relay: transaction aborted; {} of its deliveries had failed", failed_deliveries_);
        }
        // The delivery reports served by the abort may name a refusal for good.
        return failed_for_good() ? Ended::kFatal : Ended::kAborted;
      }
      const Next next = classify(err.get(), "abort_transaction");
      if (next == Next::kFatal) return Ended::kFatal;
      if (next == Next::kRestart) return Ended::kRestart;
      if (r_.stopping_ && attempt >= 2) return Ended::kStopped;  // the broker ends it after its timeout
      if (Clock::now() >= deadline) {
        return give_up("abort_transaction did not finish (" + std::to_string(rd_kafka_outq_len(producer_.get())) +
                       " messages outstanding) in " + std::to_string(o_.end_transaction_timeout.count()) + " ms")
                   ? Ended::kRestart
                   : Ended::kFatal;
      }
      rd_kafka_poll(producer_.get(), 100);  // the back-off, serving delivery reports meanwhile
    }
  }

  // Waits until every event of the transaction is acknowledged, so that its
  // checkpoint is only produced for events that landed: on a real broker an
  // aborted checkpoint is hidden from read_committed anyway, but where aborted
  // records show (librdkafka's mock cluster), a restarted relay would resume
  // after events that never landed. Costs the checkpoint message's round trip
  // once per transaction. kCommitted: go on and commit.
  Ended deliver_events(std::chrono::steady_clock::time_point deadline) {
    while (rd_kafka_outq_len(producer_.get()) > 0 && failed_deliveries_ == 0) {
      if (r_.stopping_) return Ended::kStopped;
      if (Clock::now() >= deadline) {
        return give_up("the transaction's events were not all delivered (" +
                       std::to_string(rd_kafka_outq_len(producer_.get())) + " messages outstanding) in " +
                       std::to_string(o_.end_transaction_timeout.count()) + " ms")
                   ? Ended::kRestart
                   : Ended::kFatal;
      }
      rd_kafka_flush(producer_.get(), 100);  // serves the delivery reports
    }
    if (rd_kafka_fatal_error(producer_.get(), nullptr, 0)) {
      return on_fatal("delivering the transaction's events") == Next::kRestart ? Ended::kRestart : Ended::kFatal;
    }
    if (failed_deliveries_ > 0) return abort();
    return Ended::kCommitted;
  }

  Ended commit(uint64_t position, const Hash256& hash, const EventId& event_id) {
    const auto deadline = Clock::now() + o_.end_transaction_timeout;
    if (Ended e = deliver_events(deadline); e != Ended::kCommitted) return e;
    EventMessage cp;
    cp.key = o_.topic;
    cp.value = checkpoint_value(o_, position, hash, event_id, txn_events_);
    Produced p = produce(o_.resolved_checkpoint_topic(), 0, cp, position);
    if (p == Produced::kFatal) return Ended::kFatal;
    if (p == Produced::kStopped) return Ended::kStopped;
    if (p == Produced::kRestart) return Ended::kRestart;
    if (p == Produced::kAbort) return abort();
    for (int attempt = 1;; ++attempt) {
      const auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now());
      kafka::Error err(rd_kafka_commit_transaction(
          producer_.get(), kafka::to_ms(std::clamp(left, milliseconds(1), o_.operation_timeout))));
      if (!err) {
        in_txn_ = false;
        committed_ = position;
        r_.note_committed(position, txn_events_, txn_bytes_);
        txn_events_ = 0;
        txn_bytes_ = 0;
        return Ended::kCommitted;
      }
      switch (classify(err.get(), "commit_transaction")) {
        case Next::kFatal: return Ended::kFatal;
        case Next::kRestart: return Ended::kRestart;
        case Next::kAbort: return abort();
        case Next::kRetry:
          // A timed-out commit goes on in the background; calling again resumes
          // it. Aborting instead could throw away a commit that succeeded; a
          // new producer cannot: the checkpoint in Kafka says which it was.
          if (r_.stopping_ && attempt >= 2) return Ended::kStopped;
          if (Clock::now() >= deadline) {
            return give_up("commit_transaction did not finish (" +
                           std::to_string(rd_kafka_outq_len(producer_.get())) + " messages outstanding) in " +
                           std::to_string(o_.end_transaction_timeout.count()) + " ms")
                       ? Ended::kRestart
                       : Ended::kFatal;
          }
          break;
      }
    }
  }

  Outcome publish() {
    const uint64_t target = o_.stop_at_head ? r_.log_.head().value() : 0;
    {
      std::lock_guard lock(r_.mu_);
      r_.status_.target_position = target;
    }
    // Encoding runs ahead on its own thread, bounded (encode_ahead_batches),
    // so it goes on while this thread waits for a commit.
    auto start_encoder = [this] {
      return std::make_unique<RelayEncoder>(r_.log_, r_.cipher_, GlobalPosition(committed_ + 1),
                                            o_.read_batch_events, o_.encode_ahead_batches, o_.idle_wait);
    };
    std::unique_ptr<RelayEncoder> encoder = start_encoder();
    milliseconds backoff(100);
    uint64_t last_position = 0;
    Hash256 last_hash{};
    EventId last_id;
    while (true) {
      if (r_.stopping_) return Outcome::ok();
      if (o_.stop_at_head && committed_ >= target) {
        r_.set_state(RelayState::kFinished);
        return Outcome::ok();
      }
      rd_kafka_poll(producer_.get(), 0);
      std::optional<EncodedBatch> next = encoder->next(o_.idle_wait);
      if (!next) {
        // A quiet log: what was open is committed already (caught_up).
        if (!in_txn_) r_.note_caught_up();
        continue;
      }
      EncodedBatch& batch = *next;
      if (!batch.status.is_ok()) {
        r_.note_error(batch.status.message(), true);
        return Outcome::stop(batch.status);
      }

      bool replay = false;
      // How a transaction's end goes on: nullopt to keep publishing (replay
      // set after an abort), else what the session returns.
      auto ended = [&](Ended how) -> std::optional<Outcome> {
        switch (how) {
          case Ended::kCommitted: backoff = milliseconds(100); return std::nullopt;
          case Ended::kAborted:
            if (refused_too_often()) return Outcome::stop(Status(StatusCode::kIOError, r_.status().last_error));
            replay = true;
            return std::nullopt;
          case Ended::kStopped: return Outcome::ok();
          case Ended::kFatal: return Outcome::stop(Status(StatusCode::kIOError, r_.status().last_error));
          case Ended::kRestart:
            return Outcome::retry(
                Status(StatusCode::kIOError, "the producer was given up: " + r_.status().last_error));
        }
        return Outcome::ok();
      };
      for (EncodedMessage& e : batch.events) {
        if (!in_txn_) {
          kafka::Error err(rd_kafka_begin_transaction(producer_.get()));
          if (err) {
            Status s = kafka::error_status(err.get(), "begin_transaction");
            return classify(err.get(), "begin_transaction") == Next::kFatal ? Outcome::stop(s) : Outcome::retry(s);
          }
          in_txn_ = true;
          failed_deliveries_ = 0;
        }
        Produced p = produce(o_.topic, RD_KAFKA_PARTITION_UA, e.message, e.position);
        if (p == Produced::kOk) {
          ++txn_events_;
          txn_bytes_ += e.message.value.size();
          last_position = e.position;
          last_hash = e.hash;
          last_id = e.event_id;
          if (txn_events_ < o_.max_batch_events && txn_bytes_ < o_.max_batch_bytes) continue;
        } else if (p == Produced::kFatal) {
          return Outcome::stop(Status(StatusCode::kIOError, "producing position " + std::to_string(e.position) +
                                                                " failed fatally"));
        } else if (p == Produced::kStopped) {
          return Outcome::ok();
        } else if (p == Produced::kRestart) {
          return *ended(Ended::kRestart);
        } else {
          if (auto o = ended(abort())) return *o;
          break;  // replay
        }
        // The transaction is full: commit it before producing more.
        if (auto o = ended(commit(last_position, last_hash, last_id))) return *o;
        if (replay) break;
      }
      // Caught up: commit what is open, so that a quiet log does not hold
      // events back.
      if (!replay && in_txn_ && batch.caught_up) {
        if (auto o = ended(commit(last_position, last_hash, last_id))) return *o;
        if (!replay) r_.note_caught_up();
      }
      if (!replay) encoder->recycle(std::move(batch));  // librdkafka copied the values
      if (replay) {
        // Everything after the last committed checkpoint is published again;
        // what was encoded ahead is thrown away.
        encoder.reset();
        txn_events_ = 0;
        txn_bytes_ = 0;
        {
          std::lock_guard lock(r_.mu_);
          r_.status_.state = RelayState::kRetrying;
          ++r_.status_.retries;
        }
        r_.sleep_unless_stopped(backoff);
        backoff = std::min(backoff * 2, o_.max_backoff);
        r_.set_state(RelayState::kRunning);
        encoder = start_encoder();
      }
    }
  }

  // Room for the largest payload the log accepts (4 MiB) as JSON text.
  static constexpr size_t kMaxMessageBytes = 16u << 20;

  Relay& r_;
  const RelayOptions& o_;
  kafka::Handle producer_;
  uint64_t committed_ = 0;
  bool in_txn_ = false;
  uint64_t txn_events_ = 0;
  uint64_t txn_bytes_ = 0;
  bool abandoned_ = false;          // stuck: destroyed without waiting on it (give_up)
  std::string permanent_failure_;   // the first delivery refused for good (is_permanent)
  std::string refusal_;             // a delivery the broker refused in this transaction
  uint64_t failed_deliveries_ = 0;  // deliveries of this transaction that failed (dr_cb)
};

Relay::Relay(const EventLog& log, PersonalDataCipher* cipher, RelayOptions options)
    : log_(log), cipher_(cipher), options_(std::move(options)) {
  status_.topic = options_.topic;
  status_.checkpoint_topic = options_.resolved_checkpoint_topic();
  status_.transactional_id = options_.resolved_transactional_id();
}

Relay::~Relay() { stop(); }

Status Relay::start() {
  ACCT_RETURN_IF_ERROR(options_.validate());
  std::lock_guard lock(mu_);
  if (started_) return Status(StatusCode::kConflict, "the relay was already started");
  started_ = true;
  status_.state = RelayState::kStarting;
  rate_samples_.emplace_back(Clock::now(), 0);  // the rate's first window starts here
  last_progress_ = Clock::now();
  thread_ = std::thread([this] { run(); });
  return Status::ok();
}

void Relay::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

bool Relay::wait(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, timeout, [this] {
    return status_.state == RelayState::kFinished || status_.state == RelayState::kFailed ||
           status_.state == RelayState::kStopped;
  });
}

void Relay::run() {
  milliseconds backoff(200);
  while (!stopping_) {
    Outcome outcome;
    {
      Session session(*this);
      outcome = session.run();
    }
    if (outcome.fatal) {
      note_error(outcome.status.message(), true);
      break;
    }
    {
      std::lock_guard lock(mu_);
      if (status_.state == RelayState::kFinished || status_.fatal) break;
    }
    if (stopping_) break;
    if (!outcome.status.is_ok()) {
      note_error(outcome.status.message() + " (starting again)", false);
      {
        std::lock_guard lock(mu_);
        ++status_.retries;
      }
      set_state(RelayState::kRetrying);
      sleep_unless_stopped(backoff);
      backoff = std::min(backoff * 2, options_.max_backoff);
    }
  }
  {
    std::lock_guard lock(mu_);
    if (status_.fatal) {
      status_.state = RelayState::kFailed;
    } else if (status_.state != RelayState::kFinished) {
      status_.state = RelayState::kStopped;
    }
  }
  cv_.notify_all();
}

void Relay::set_state(RelayState s) {
  {
    std::lock_guard lock(mu_);
    if (status_.fatal) return;
    status_.state = s;
  }
  cv_.notify_all();
}

void Relay::note_error(const std::string& what, bool fatal, bool log) {
  {
    std::lock_guard lock(mu_);
    if (status_.fatal && !fatal) return;  // keep the reason it stopped
    if (fatal && status_.fatal) return;
    status_.last_error = what;
    if (fatal) status_.fatal = true;
  }
  if (fatal) {
    spdlog::error("relay: stopped by a fatal error: {}", what);
  } else if (log) {
    spdlog::warn("relay: {}", what);
  }
}

void Relay::note_producer_restart(const std::string& why) {
  {
    std::lock_guard lock(mu_);
    ++status_.producer_restarts;
    status_.last_error = why;
  }
  spdlog::warn("relay: {}", why);
}

void Relay::note_caught_up() {
  std::lock_guard lock(mu_);
  last_progress_ = Clock::now();
}

void Relay::note_committed(uint64_t position, uint64_t events, uint64_t bytes) {
  refusals_in_a_row_ = 0;
  std::lock_guard lock(mu_);
  last_progress_ = Clock::now();
  status_.checkpoint_position = position;
  status_.events_published += events;
  status_.bytes_published += bytes;
  ++status_.transactions_committed;
  const auto now = Clock::now();
  rate_samples_.emplace_back(now, status_.events_published);
  while (rate_samples_.size() > 2 && now - rate_samples_.front().first > std::chrono::seconds(10)) {
    rate_samples_.pop_front();
  }
}

bool Relay::sleep_unless_stopped(std::chrono::milliseconds d) {
  std::unique_lock lock(mu_);
  return !cv_.wait_for(lock, d, [this] { return stopping_.load(); });
}

RelayStatus Relay::status() const {
  std::lock_guard lock(mu_);
  RelayStatus s = status_;
  s.log_head = log_.head().value();
  s.lag = s.log_head > s.checkpoint_position ? s.log_head - s.checkpoint_position : 0;
  const bool ended = s.state == RelayState::kFinished || s.state == RelayState::kStopped || s.state == RelayState::kIdle;
  s.stalled_seconds =
      s.lag > 0 && !ended ? std::chrono::duration<double>(Clock::now() - last_progress_).count() : 0;
  s.publish_rate = 0;
  if (rate_samples_.size() >= 2) {
    const auto& [t0, n0] = rate_samples_.front();
    const auto& [t1, n1] = rate_samples_.back();
    // Over the window up to now, so a relay that stopped publishing decays to 0.
    const double secs = std::chrono::duration<double>(std::max(t1, Clock::now()) - t0).count();
    if (secs > 0 && Clock::now() - t1 < std::chrono::seconds(10)) s.publish_rate = static_cast<double>(n1 - n0) / secs;
  }
  return s;
}

}  // namespace accountable
