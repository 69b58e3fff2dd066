// acct relay --data DIR --kafka-brokers LIST [...]: publishes the log's events
// to Kafka exactly once (consumers/relay.h, docs/kafka-events.md).
//
// Stand-alone, it opens the log itself and so takes DATA/LOCK: it cannot run
// beside `acct serve` on the same folder (serve runs the same relay inside
// itself when given --kafka-brokers). Runs until SIGINT/SIGTERM, or with
// --once until everything up to the head at start is committed. Status lines
// (JSON) go to stderr every --status-every seconds; the final status goes to
// stdout. Exit 0: stopped or finished; 1: a fatal relay error; 2: could not start.
#include <sodium.h>

#include <boost/json.hpp>
#include <chrono>
#include <csignal>
#include <cstdio>

#include "aggregates/key_store.h"
#include "cli/commands.h"
#include "consumers/relay.h"
#include "events/event_log.h"

namespace accountable::cli {

namespace {

volatile std::sig_atomic_t g_stop_signal = 0;
extern "C" void on_stop_signal(int sig) { g_stop_signal = sig; }

void print_status(std::FILE* out, const RelayStatus& s) {
  std::string line = boost::json::serialize(relay_status_json(s));
  line.push_back('\n');
  std::fwrite(line.data(), 1, line.size(), out);
  std::fflush(out);
}

}  // namespace

void add_relay_command(CLI::App& app, int* exit_code) {
  auto* cmd = app.add_subcommand(
      "relay", "Publish the log's events to a Kafka topic, exactly once (a transactional producer; checkpoint in Kafka)");
  struct Args {
    std::string data = "./data";
    RelayOptions relay;
    std::vector<std::string> kafka_config;
    double status_every = 10;
  };
  auto args = std::make_shared<Args>();
  RelayOptions& r = args->relay;
  cmd->add_option("--data", args->data, "data folder (its lock is taken: not beside a running acct serve)")
      ->capture_default_str();
  cmd->add_option("--kafka-brokers", r.brokers, "bootstrap servers, host:port[,host:port...]")->required();
  cmd->add_option("--topic", r.topic, "events topic")->capture_default_str();
  cmd->add_option("--checkpoint-topic", r.checkpoint_topic,
                  "compacted 1-partition topic holding the relay's checkpoint (default: TOPIC.relay-checkpoint)");
  cmd->add_option("--transactional-id", r.transactional_id,
                  "the producer's transactional.id; keep it stable (default: accountable-relay.TOPIC)");
  cmd->add_option("--partitions", r.partitions, "partitions of the events topic when the relay creates it")
      ->capture_default_str();
  cmd->add_option("--replication-factor", r.replication_factor,
                  "replication factor of topics the relay creates (-1: the broker's default)")
      ->capture_default_str();
  cmd->add_option("--min-insync-replicas", r.min_insync_replicas,
                  "min.insync.replicas of topics the relay creates (0: the broker's default)")
      ->capture_default_str();
  cmd->add_option("--batch-events", r.max_batch_events, "at most this many events per transaction")
      ->capture_default_str();
  cmd->add_option("--batch-bytes", r.max_batch_bytes, "at most about this many bytes of messages per transaction")
      ->capture_default_str();
  cmd->add_flag("--once", r.stop_at_head, "stop once everything up to the log's head at start is published");
  cmd->add_option("-X,--kafka-config", args->kafka_config,
                  "extra librdkafka producer setting KEY=VALUE (repeatable), e.g. -X linger.ms=20");
  cmd->add_option("--status-every", args->status_every, "seconds between status lines on stderr (0: none)")
      ->capture_default_str();
  cmd->callback([args, exit_code] {
    for (const std::string& kv : args->kafka_config) {
      Status s = kafka::parse_property(kv, &args->relay.producer_config, "kafka-config");
      if (!s.is_ok()) {
        std::fprintf(stderr, "relay: %s\n", s.to_string().c_str());
        *exit_code = 2;
        return;
      }
    }
    if (Status s = args->relay.validate(); !s.is_ok()) {
      std::fprintf(stderr, "relay: %s\n", s.to_string().c_str());
      *exit_code = 2;
      return;
    }
    if (sodium_init() < 0) {
      std::fprintf(stderr, "relay: libsodium failed to initialise\n");
      *exit_code = 2;
      return;
    }
    LogOptions log_options;
    log_options.data_dir = args->data;
    auto log = EventLog::open(log_options);
    if (!log) {
      std::fprintf(stderr,
                   "relay: cannot open %s: %s\n(acct relay opens the log itself; while acct serve holds the folder, "
                   "give serve --kafka-brokers instead)\n",
                   args->data.c_str(), log.status().to_string().c_str());
      *exit_code = 2;
      return;
    }
    auto keys = KeyStore::open(posix_env(), args->data);
    if (!keys) {
      std::fprintf(stderr, "relay: %s\n", keys.status().to_string().c_str());
      *exit_code = 2;
      return;
    }
    KeyStoreCipher cipher(**keys);

    std::signal(SIGINT, on_stop_signal);
    std::signal(SIGTERM, on_stop_signal);
    Relay relay(**log, &cipher, args->relay);
    if (Status s = relay.start(); !s.is_ok()) {
      std::fprintf(stderr, "relay: %s\n", s.to_string().c_str());
      *exit_code = 2;
      return;
    }
    using Clock = std::chrono::steady_clock;
    const auto every = std::chrono::duration<double>(args->status_every);
    auto next_status = Clock::now() + std::chrono::duration_cast<Clock::duration>(every);
    while (!relay.wait(std::chrono::milliseconds(100))) {
      if (g_stop_signal != 0) break;
      if (args->status_every > 0 && Clock::now() >= next_status) {
        print_status(stderr, relay.status());
        next_status = Clock::now() + std::chrono::duration_cast<Clock::duration>(every);
      }
    }
    relay.stop();
    const RelayStatus final_status = relay.status();
    print_status(stdout, final_status);
    if (final_status.fatal) {
      std::fprintf(stderr, "relay: failed: %s\n", final_status.last_error.c_str());
      *exit_code = 1;
    }
    if (Status closed = (*log)->close(); !closed.is_ok()) {
      std::fprintf(stderr, "relay: closing the log: %s\n", closed.to_string().c_str());
      if (*exit_code == 0) *exit_code = 1;
    }
  });
}

}  // namespace accountable::cli
