// EventConsumer: the library a downstream service uses to read the events the
// relay publishes (docs/kafka-events.md, "The consumer library").
//
//  - Joins a consumer group on the events topic with isolation.level =
//    read_committed: only events of committed relay transactions are seen.
//  - Each message is parsed into a ConsumedEvent (typed envelope + the
//    payload's JSON object) and handed to the handler. Only after the handler
//    succeeded is the message's offset stored (enable.auto.offset.store =
//    false); stored offsets are committed every commit_interval, on
//    partition revocation (rebalance callback) and on close(). A handler
//    error leaves the offset unstored and seeks back, so the same event is
//    delivered again: at-least-once.
//  - Deduplication by (stream, version): an event whose version is <= the
//    highest version already handled for its stream is skipped (and its
//    offset stored). The high-water marks live in a VersionTracker: bounded
//    in memory by default, or the service's own persisted one (which should
//    write the mark in the same transaction as the handler's effects).
//
// Events of one partner (and of the catalog stream) share a key, so they
// arrive in log order on one partition; a stream's versions therefore only
// grow, which is what makes a high-water mark enough.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <list>
#include <set>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "consumers/event_message.h"
#include "consumers/kafka_client.h"
#include "events/status.h"

namespace accountable {

// The highest version handled per stream.
class VersionTracker {
 public:
  virtual ~VersionTracker() = default;
  // 0 when the stream is unknown (never handled, or forgotten).
  virtual Result<uint64_t> last_version(std::string_view stream) = 0;
  // Called after the handler succeeded for (stream, version).
  virtual Status remember(std::string_view stream, uint64_t version) = 0;
};

// In memory, at most `capacity` streams (least recently used forgotten
// first). A forgotten stream is not deduplicated until it is seen again.
class MemoryVersionTracker final : public VersionTracker {
 public:
  explicit MemoryVersionTracker(size_t capacity = 1'000'000) : capacity_(capacity) {}
  Result<uint64_t> last_version(std::string_view stream) override;
  Status remember(std::string_view stream, uint64_t version) override;
  size_t size() const { return map_.size(); }

 private:
  struct Entry {
    uint64_t version;
    std::list<std::string>::iterator lru;
  };
  size_t capacity_;
  std::list<std::string> lru_;  // front: most recent
  std::unordered_map<std::string, Entry> map_;
};

struct ConsumerOptions {
  std::string brokers;                       // bootstrap.servers (required)
  std::string group_id;                      // required
  std::string topic = "accountable.events";
  std::string auto_offset_reset = "earliest";  // a new group starts at the first event
  std::chrono::milliseconds commit_interval{5000};  // auto.commit.interval.ms of stored offsets
  // Messages whose value is not an event of a format we read: false (default)
  // stops at them with the error (nothing is skipped silently); true counts
  // them in `malformed`, logs them and stores their offset.
  bool skip_malformed = false;
  // Null: a MemoryVersionTracker of dedup_capacity streams.
  VersionTracker* tracker = nullptr;
  size_t dedup_capacity = 1'000'000;
  kafka::Properties config;  // extra librdkafka consumer settings, applied last
};

struct ConsumerStats {
  uint64_t received = 0;            // messages read
  uint64_t handled = 0;             // handler succeeded
  uint64_t duplicates_skipped = 0;  // version <= the stream's high-water mark
  uint64_t handler_failures = 0;
  uint64_t malformed = 0;           // skipped with skip_malformed
  uint64_t rebalances = 0;          // assignments and revocations served
  uint64_t commits = 0;             // synchronous commits (revocation, commit(), close)
  std::vector<int32_t> assigned;    // partitions held now
};

class EventConsumer {
 public:
  using Handler = std::function<Status(const ConsumedEvent&)>;

  // Creates the consumer and subscribes (the group is joined on the first poll).
  static Result<std::unique_ptr<EventConsumer>> open(ConsumerOptions options, Handler handler);
  ~EventConsumer();  // close()
  EventConsumer(const EventConsumer&) = delete;
  EventConsumer& operator=(const EventConsumer&) = delete;

  // Serves rebalances and hands messages to the handler for at most
  // `max_wait`, stopping after `max_events`. Returns the number of events the
  // handler accepted. A handler error (or a malformed message without
  // skip_malformed) is returned after seeking its partition back to that
  // message, so the next poll delivers it again.
  Result<size_t> poll(std::chrono::milliseconds max_wait, size_t max_events = 1000);

  // poll() until `stop` is set or an error; returns that error (OK on stop).
  Status run(const std::atomic<bool>& stop);

  // Commits the stored offsets now (synchronously).
  Status commit();
  // Commits the stored offsets and leaves the group. Idempotent.
  Status close();

  ConsumerStats stats() const { return stats_; }
  // True when this member holds partitions and has read each of them to its
  // end (for read_committed: up to the last stable offset), as of the last poll.
  bool caught_up() const;

 private:
  EventConsumer(ConsumerOptions options, Handler handler);
  static void rebalance_cb(rd_kafka_t* rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* partitions,
                           void* opaque);
  void on_rebalance(rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* partitions);
  Status deliver(const rd_kafka_message_t* m);
  void store_offset(const rd_kafka_message_t* m);
  void seek_back(const rd_kafka_message_t* m);

  ConsumerOptions options_;
  Handler handler_;
  std::unique_ptr<MemoryVersionTracker> own_tracker_;
  VersionTracker* tracker_ = nullptr;
  kafka::Handle rk_;
  ConsumerStats stats_;
  std::set<int32_t> at_end_;  // assigned partitions read to their end
  bool closed_ = false;
};

}  // namespace accountable
