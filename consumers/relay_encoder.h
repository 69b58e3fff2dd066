// RelayEncoder: the relay's read-and-encode stage, on a thread of its own.
//
// Reads the log from a position (events/subscription.h), turns each event
// into its message (consumers/event_message.h), and
// hands the batches to the relay's producing thread through a BOUNDED queue,
// so encoding goes on while the producer waits for a commit.
//
// Invariant: at most `max_queued_batches` encoded batches wait in the queue;
// when it is full the encoding thread blocks until the relay takes one.
// To replay after an aborted transaction, destroy the encoder and start a new
// one at the checkpoint: what was encoded ahead is thrown away.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include <librdkafka/rdkafka.h>

#include "consumers/event_message.h"
#include "events/event_log.h"
#include "schema/personal_data.h"

namespace accountable {

struct KafkaHeadersDeleter {
  void operator()(rd_kafka_headers_t* h) const { rd_kafka_headers_destroy(h); }
};
using KafkaHeaders = std::unique_ptr<rd_kafka_headers_t, KafkaHeadersDeleter>;

// The message's headers in librdkafka's form (null when it has none).
KafkaHeaders make_kafka_headers(const EventMessage& m);

// One event, encoded and ready to produce.
struct EncodedMessage {
  uint64_t position = 0;
  Hash256 hash{};
  EventId event_id;
  EventMessage message;
};

struct EncodedBatch {
  Status status;           // a log read or encoding error: fatal for the relay; the last batch
  std::vector<EncodedMessage> events;
  bool caught_up = false;  // the log had nothing more when this batch was read
};

class RelayEncoder {
 public:
  // `log` and `cipher` must outlive the encoder. Starts the thread at once.
  RelayEncoder(const EventLog& log, PersonalDataCipher* cipher, GlobalPosition from, size_t read_batch_events,
               size_t max_queued_batches, std::chrono::milliseconds idle_wait);
  ~RelayEncoder();  // stops the thread and waits for it (bounded by idle_wait)
  RelayEncoder(const RelayEncoder&) = delete;
  RelayEncoder& operator=(const RelayEncoder&) = delete;

  // The next batch in log order, or nullopt when none is ready within `wait`
  // (the log is quiet, or encoding is behind).
  std::optional<EncodedBatch> next(std::chrono::milliseconds wait);
  // Gives a produced batch back, so that its buffers are reused (and freed,
  // in the end, by the thread that allocated them).
  void recycle(EncodedBatch batch);

 private:
  void run(GlobalPosition from);
  // Waits for room; false when stopping.
  bool push(EncodedBatch batch);
  EncodedBatch take_spare();

  const EventLog& log_;
  PersonalDataCipher* cipher_;
  const size_t read_batch_events_;
  const size_t max_queued_batches_;
  const std::chrono::milliseconds idle_wait_;

  std::mutex mu_;
  std::condition_variable cv_;  // the queue changed, or stopping
  std::deque<EncodedBatch> queue_;
  std::vector<EncodedBatch> spares_;  // recycled, at most max_queued_batches_
  bool stopping_ = false;
  std::thread thread_;  // last: started once the rest is set
};

}  // namespace accountable
