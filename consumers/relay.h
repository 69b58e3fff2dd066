// Relay: publishes every event of the log to a Kafka topic exactly once.
//
//  - Tails the log ($all, events/subscription.h) from its checkpoint and
//    produces one message per event (consumers/event_message.h) keyed by
//    partner (or stream), so each account's events stay in log order.
//  - Exactly once: a transactional producer with a stable transactional.id.
//    Each transaction carries a batch of events AND the checkpoint record
//    (the last position of the batch and its hash) to a compacted checkpoint
//    topic, so both commit or neither does. On start, init_transactions()
//    fences any older instance with the same id and ends its open
//    transaction; then the checkpoint topic is read to its end with a
//    read_committed consumer to find where to resume.
//  - Abortable errors abort the transaction and replay from the last
//    committed checkpoint; retriable ones are retried; a commit or abort
//    that does not end within end_transaction_timeout replaces the producer
//    (a new init_transactions fences the stuck one and aborts its
//    transaction) and replays from the checkpoint; an error that will not
//    heal (fenced by a newer instance, authorization, a checkpoint that does
//    not match this log) stops the relay with `fatal` set. The log and the
//    engine are not affected either way: the relay only reads.
//
// Design and settings: docs/kafka-events.md.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include <boost/json/object.hpp>

#include "consumers/kafka_client.h"
#include "events/event_log.h"
#include "schema/personal_data.h"

namespace accountable {

struct RelayOptions {
  std::string brokers;                        // bootstrap.servers (required)
  std::string topic = "accountable.events";   // where events go
  std::string checkpoint_topic;               // empty: "<topic>.relay-checkpoint"
  std::string transactional_id;               // empty: "accountable-relay.<topic>"
  int partitions = 6;                         // when the relay creates the events topic
  int replication_factor = -1;                // of created topics; -1: the broker's default
  int min_insync_replicas = 0;                // topic setting of created topics; 0: the broker's default
  bool create_topics = true;                  // create missing topics through the Admin API

  // Bounded in-flight work: one transaction holds at most this many events
  // or bytes of message values, and is committed earlier when the relay has
  // caught up with the log.
  size_t max_batch_events = 50000;
  size_t max_batch_bytes = 32u << 20;
  size_t read_batch_events = 4096;            // events read from the log at a time
  // Batches of read_batch_events encoded ahead of the producer at most (the
  // bound on the encoding thread's queue; consumers/relay_encoder.h).
  size_t encode_ahead_batches = 8;

  // Every blocking Kafka call is bounded by this; a call that runs out is
  // retried (it resumes in the background) unless the relay is stopping.
  std::chrono::milliseconds operation_timeout{10000};
  std::chrono::milliseconds transaction_timeout{60000};  // transaction.timeout.ms
  // A commit_transaction or abort_transaction still unfinished after this
  // long (each call bounded by operation_timeout, then called again), or a
  // producer queue that stays full this long, means the producer is stuck
  // (messages it never delivers nor purges): it is destroyed, a new one
  // fences it with init_transactions, and publishing resumes from the
  // checkpoint. Counted in producer_restarts.
  std::chrono::milliseconds end_transaction_timeout{30000};
  // A broker that refuses deliveries (an error it answered, not a time-out or
  // a lost connection) in this many transactions in a row, with no commit
  // between them, will not accept them on the next try either: fatal.
  int max_delivery_refusals = 5;
  std::chrono::milliseconds idle_wait{200};             // wait for new events when caught up
  std::chrono::milliseconds max_backoff{5000};          // between retries after errors

  // Stop by itself once every event up to the log's head as of the start
  // (after recovery) is committed: `acct relay --once`.
  bool stop_at_head = false;

  // Extra librdkafka producer settings (KEY=VALUE), applied last.
  kafka::Properties producer_config;

  std::string resolved_checkpoint_topic() const;
  std::string resolved_transactional_id() const;
  Status validate() const;
};

enum class RelayState {
  kIdle,        // not started
  kStarting,    // connecting, creating topics, init_transactions, reading the checkpoint
  kRunning,     // publishing (or waiting for new events)
  kRetrying,    // an error is being retried (see last_error)
  kFinished,    // stop_at_head: everything up to the head is committed
  kStopped,     // stop() was called
  kFailed,      // a fatal error (see last_error); restart to resume from the checkpoint
};
std::string_view relay_state_name(RelayState state);

struct RelayStatus {
  RelayState state = RelayState::kIdle;
  bool fatal = false;
  uint64_t checkpoint_position = 0;   // last position committed to Kafka (0: none)
  uint64_t log_head = 0;
  uint64_t lag = 0;                   // log_head - checkpoint_position: positions not yet published
  uint64_t target_position = 0;       // stop_at_head: the head to reach (0 otherwise)
  uint64_t events_published = 0;      // committed by this instance
  uint64_t bytes_published = 0;       // message values committed by this instance
  uint64_t transactions_committed = 0;
  uint64_t transactions_aborted = 0;
  uint64_t retries = 0;               // retried operations and sessions
  uint64_t producer_restarts = 0;     // stuck producers replaced (end_transaction_timeout)
  // Seconds since the relay last made progress (a commit, or being caught
  // up) while events wait to be published; 0 when caught up. A relay that
  // retries without end shows it here before anything else.
  double stalled_seconds = 0;
  double publish_rate = 0;            // events/s committed over the last 10 s
  // How long the last session took to be ready to publish (producer, topics,
  // fencing, checkpoint read and checked); 0 until one was.
  double ready_seconds = 0;
  std::string last_error;             // the most recent error ("" when none yet)
  std::string topic;
  std::string checkpoint_topic;
  std::string transactional_id;
};

// The status as a JSON object (field names as in RelayStatus, state as its
// name): what `acct relay` prints and what a metrics endpoint can serve.
boost::json::object relay_status_json(const RelayStatus& status);

class Relay {
 public:
  // `log` and `cipher` must outlive the relay. `cipher` opens sealed personal
  // data (a KeyStoreCipher over the data folder's key store); it is only read.
  Relay(const EventLog& log, PersonalDataCipher* cipher, RelayOptions options);
  ~Relay();  // stop()
  Relay(const Relay&) = delete;
  Relay& operator=(const Relay&) = delete;

  // Checks the options and starts the relay's thread; connecting and
  // recovering happen there (see status()). Errors only for bad options or a
  // second start.
  Status start();
  // Asks the thread to end, aborts an open transaction and waits for it.
  // Bounded: about two operation_timeouts at worst (a commit in progress is
  // given one more chance, then abandoned: the next start resumes from the
  // checkpoint in Kafka either way). Safe to call twice.
  void stop();
  // Waits until the relay finished, failed or stopped, or `timeout` passed;
  // returns whether it ended.
  bool wait(std::chrono::milliseconds timeout);

  RelayStatus status() const;

 private:
  class Session;
  void run();
  void set_state(RelayState s);
  // Records the error in the status; logs it unless `log` is false (librdkafka
  // already logged it through the log callback).
  void note_error(const std::string& what, bool fatal, bool log = true);
  void note_committed(uint64_t position, uint64_t events, uint64_t bytes);
  void note_caught_up();
  void note_producer_restart(const std::string& why);
  bool sleep_unless_stopped(std::chrono::milliseconds d);

  const EventLog& log_;
  PersonalDataCipher* cipher_;
  const RelayOptions options_;

  std::atomic<bool> stopping_{false};
  std::thread thread_;
  bool started_ = false;

  mutable std::mutex mu_;
  std::condition_variable cv_;  // stop requests and state changes
  RelayStatus status_;
  std::deque<std::pair<std::chrono::steady_clock::time_point, uint64_t>> rate_samples_;
  std::chrono::steady_clock::time_point last_progress_{};  // a commit or caught up; start() sets it
  int refusals_in_a_row_ = 0;  // transactions aborted for a broker's refusal since the last commit (relay thread)
};

}  // namespace accountable
