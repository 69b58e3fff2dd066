#include "consumers/consumer.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstring>
#include <exception>

namespace accountable {

using Clock = std::chrono::steady_clock;

// ---- MemoryVersionTracker ---------------------------------------------------------

Result<uint64_t> MemoryVersionTracker::last_version(std::string_view stream) {
  auto it = map_.find(std::string(stream));
  if (it == map_.end()) return uint64_t{0};
  lru_.splice(lru_.begin(), lru_, it->second.lru);
  return it->second.version;
}

Status MemoryVersionTracker::remember(std::string_view stream, uint64_t version) {
  std::string key(stream);
  auto it = map_.find(key);
  if (it != map_.end()) {
    it->second.version = std::max(it->second.version, version);
    lru_.splice(lru_.begin(), lru_, it->second.lru);
    return Status::ok();
  }
  if (capacity_ == 0) return Status::ok();
  if (map_.size() >= capacity_) {
    map_.erase(lru_.back());
    lru_.pop_back();
  }
  lru_.push_front(key);
  map_.emplace(std::move(key), Entry{version, lru_.begin()});
  return Status::ok();
}

// ---- EventConsumer -----------------------------------------------------------------

namespace {

std::string where(const rd_kafka_message_t* m) {
  return std::string(rd_kafka_topic_name(m->rkt)) + "[" + std::to_string(m->partition) + "]@" +
         std::to_string(m->offset);
}

kafka::PartitionList one_partition(const rd_kafka_message_t* m, int64_t offset) {
  kafka::PartitionList list(rd_kafka_topic_partition_list_new(1));
  rd_kafka_topic_partition_list_add(list.get(), rd_kafka_topic_name(m->rkt), m->partition)->offset = offset;
  return list;
}

}  // namespace

EventConsumer::EventConsumer(ConsumerOptions options, Handler handler)
    : options_(std::move(options)), handler_(std::move(handler)) {
  if (options_.tracker != nullptr) {
    tracker_ = options_.tracker;
  } else {
    own_tracker_ = std::make_unique<MemoryVersionTracker>(options_.dedup_capacity);
    tracker_ = own_tracker_.get();
  }
}

Result<std::unique_ptr<EventConsumer>> EventConsumer::open(ConsumerOptions options, Handler handler) {
  if (options.brokers.empty()) return invalid_argument("is required (bootstrap servers)", "brokers");
  if (options.group_id.empty()) return invalid_argument("is required", "group_id");
  if (options.topic.empty()) return invalid_argument("must not be empty", "topic");
  if (!handler) return invalid_argument("is required", "handler");
  std::unique_ptr<EventConsumer> c(new EventConsumer(std::move(options), std::move(handler)));
  const ConsumerOptions& o = c->options_;

  kafka::Properties p;
  p["bootstrap.servers"] = o.brokers;
  p["group.id"] = o.group_id;
  p["client.id"] = "accountable-consumer";
  p["isolation.level"] = "read_committed";  // never an event of an aborted relay transaction
  p["enable.auto.offset.store"] = "false";  // stored by us, after the handler
  p["enable.auto.commit"] = "true";         // commits what was stored, periodically
  p["auto.commit.interval.ms"] = std::to_string(o.commit_interval.count());
  p["auto.offset.reset"] = o.auto_offset_reset;
  p["enable.partition.eof"] = "true";  // for caught_up()
  for (const auto& [k, v] : o.config) p[k] = v;
  auto conf = kafka::make_conf(p);
  if (!conf) return conf.status();
  rd_kafka_conf_set_opaque(conf->get(), c.get());
  rd_kafka_conf_set_rebalance_cb(conf->get(), &EventConsumer::rebalance_cb);
  rd_kafka_conf_set_log_cb(conf->get(), &kafka::log_to_spdlog);
  auto rk = kafka::make_client(RD_KAFKA_CONSUMER, std::move(*conf));
  if (!rk) return rk.status();
  c->rk_ = std::move(*rk);
  rd_kafka_poll_set_consumer(c->rk_.get());

  kafka::PartitionList topics(rd_kafka_topic_partition_list_new(1));
  rd_kafka_topic_partition_list_add(topics.get(), o.topic.c_str(), RD_KAFKA_PARTITION_UA);
  if (rd_kafka_resp_err_t err = rd_kafka_subscribe(c->rk_.get(), topics.get())) {
    return kafka::error_status(err, "subscribing to " + o.topic, "topic");
  }
  return c;
}

EventConsumer::~EventConsumer() { close().ignore(); }

void EventConsumer::rebalance_cb(rd_kafka_t*, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* partitions,
                                 void* opaque) {
  static_cast<EventConsumer*>(opaque)->on_rebalance(err, partitions);
}

void EventConsumer::on_rebalance(rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* partitions) {
  rd_kafka_t* rk = rk_.get();
  const bool cooperative = std::strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE") == 0;
  ++stats_.rebalances;
  if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
    if (cooperative) {
      kafka::Error(rd_kafka_incremental_assign(rk, partitions)).reset();
    } else {
      rd_kafka_assign(rk, partitions);
      stats_.assigned.clear();
    }
    for (int i = 0; i < partitions->cnt; ++i) stats_.assigned.push_back(partitions->elems[i].partition);
    std::sort(stats_.assigned.begin(), stats_.assigned.end());
    if (!cooperative) at_end_.clear();
    return;
  }
  if (err == RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS) {
    // What was handled on these partitions is committed before another
    // member takes them over, so it does not handle those events again.
    Status s = commit();
    if (!s.is_ok()) spdlog::warn("consumer: commit on revocation: {}", s.to_string());
    if (cooperative) {
      kafka::Error(rd_kafka_incremental_unassign(rk, partitions)).reset();
      for (int i = 0; i < partitions->cnt; ++i) {
        std::erase(stats_.assigned, partitions->elems[i].partition);
        at_end_.erase(partitions->elems[i].partition);
      }
    } else {
      rd_kafka_assign(rk, nullptr);
      stats_.assigned.clear();
      at_end_.clear();
    }
    return;
  }
  spdlog::warn("consumer: rebalance error {}", rd_kafka_err2str(err));
  rd_kafka_assign(rk, nullptr);
  stats_.assigned.clear();
  at_end_.clear();
}

void EventConsumer::store_offset(const rd_kafka_message_t* m) {
  kafka::PartitionList list = one_partition(m, m->offset + 1);  // the next offset to read
  if (rd_kafka_resp_err_t err = rd_kafka_offsets_store(rk_.get(), list.get())) {
    // The partition was revoked meanwhile; its new owner reads it again.
    spdlog::debug("consumer: offset of {} not stored: {}", where(m), rd_kafka_err2str(err));
  }
}

void EventConsumer::seek_back(const rd_kafka_message_t* m) {
  kafka::PartitionList list = one_partition(m, m->offset);
  kafka::Error err(rd_kafka_seek_partitions(rk_.get(), list.get(), 5000));
  if (err) spdlog::warn("consumer: seeking {} back: {}", where(m), rd_kafka_error_string(err.get()));
}

Status EventConsumer::deliver(const rd_kafka_message_t* m) {
  ++stats_.received;
  auto parsed = parse_event_message(
      std::string_view(static_cast<const char*>(m->payload), m->payload ? m->len : 0));
  if (!parsed) {
    Status s = invalid_argument("message " + where(m) + ": " + parsed.status().message(), parsed.status().field());
    if (!options_.skip_malformed) return s;
    spdlog::error("consumer: skipping malformed {}", s.to_string());
    ++stats_.malformed;
    store_offset(m);
    return Status::ok();
  }
  ConsumedEvent& e = *parsed;
  e.topic = rd_kafka_topic_name(m->rkt);
  e.partition = m->partition;
  e.offset = m->offset;
  if (m->key != nullptr) e.key.assign(static_cast<const char*>(m->key), m->key_len);

  auto last = tracker_->last_version(e.stream);
  if (!last) return last.status();
  if (e.version.value() <= *last) {
    ++stats_.duplicates_skipped;
    store_offset(m);
    return Status::ok();
  }
  Status handled;
  try {
    handled = handler_(e);
  } catch (const std::exception& ex) {
    handled = Status(StatusCode::kInternal, std::string("handler threw: ") + ex.what());
  }
  if (!handled.is_ok()) {
    ++stats_.handler_failures;
    return Status(handled.code(),
                  "handler failed on position " + std::to_string(e.position.value()) + " (" + where(m) +
                      "): " + handled.message(),
                  handled.field());
  }
  ACCT_RETURN_IF_ERROR(tracker_->remember(e.stream, e.version.value()));
  store_offset(m);
  ++stats_.handled;
  return Status::ok();
}

Result<size_t> EventConsumer::poll(std::chrono::milliseconds max_wait, size_t max_events) {
  if (closed_) return Status(StatusCode::kInternal, "the consumer is closed");
  const auto deadline = Clock::now() + max_wait;
  size_t handled = 0;
  while (handled < max_events) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) break;
    rd_kafka_message_t* m = rd_kafka_consumer_poll(rk_.get(), kafka::to_ms(std::min(left, std::chrono::milliseconds(100))));
    if (m == nullptr) continue;
    std::unique_ptr<rd_kafka_message_t, void (*)(rd_kafka_message_t*)> guard(m, rd_kafka_message_destroy);
    if (m->err) {
      if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        at_end_.insert(m->partition);
        continue;
      }
      char reason[512];
      if (rd_kafka_fatal_error(rk_.get(), reason, sizeof reason)) {
        return Status(StatusCode::kIOError, std::string("consumer: fatal Kafka error: ") + reason);
      }
      // Transport errors and the like: librdkafka retries by itself.
      spdlog::warn("consumer: {}", rd_kafka_message_errstr(m));
      continue;
    }
    at_end_.erase(m->partition);
    const uint64_t before = stats_.handled;
    Status s = deliver(m);
    if (!s.is_ok()) {
      seek_back(m);
      return s;
    }
    handled += stats_.handled - before;
  }
  return handled;
}

bool EventConsumer::caught_up() const {
  if (stats_.assigned.empty()) return false;
  for (int32_t p : stats_.assigned) {
    if (!at_end_.contains(p)) return false;
  }
  return true;
}

Status EventConsumer::run(const std::atomic<bool>& stop) {
  while (!stop) {
    auto n = poll(std::chrono::milliseconds(200));
    if (!n) return n.status();
  }
  return Status::ok();
}

Status EventConsumer::commit() {
  if (!rk_) return Status::ok();
  rd_kafka_resp_err_t err = rd_kafka_commit(rk_.get(), nullptr, /*async=*/0);
  if (err == RD_KAFKA_RESP_ERR__NO_OFFSET) return Status::ok();  // nothing new stored
  ++stats_.commits;
  return kafka::error_status(err, "committing offsets of group " + options_.group_id);
}

Status EventConsumer::close() {
  if (closed_ || !rk_) return Status::ok();
  Status committed = commit();
  rd_kafka_resp_err_t err = rd_kafka_consumer_close(rk_.get());  // serves the final revocation
  closed_ = true;
  ACCT_RETURN_IF_ERROR(committed);
  return kafka::error_status(err, "closing the consumer");
}

}  // namespace accountable
