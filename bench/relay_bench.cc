#include "bench/relay_bench.h"

#include <sodium.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "aggregates/key_store.h"
#include "bench/bench_report.h"
#include "consumers/event_message.h"
#include "consumers/relay.h"
#include "consumers/testing/kafka_testing.h"

namespace accountable::bench {

namespace {

// Sends `total` messages (cycling through `messages`) with a plain idempotent
// producer, acks=all and the relay's batching settings, and waits for every
// acknowledgement: the broker's and the client's ceiling without
// transactions and without encoding.
Result<double> produce_only(const std::string& brokers, const std::string& topic,
                            const std::vector<EventMessage>& messages, uint64_t total) {
  // (A braced list: gcc 12 -O3 warns falsely (-Wrestrict) on p["k"] = "5".)
  const kafka::Properties p{{"bootstrap.servers", brokers},
                            {"enable.idempotence", "true"},
                            {"acks", "all"},
                            {"linger.ms", "5"},
                            {"batch.num.messages", "10000"},
                            {"batch.size", std::to_string(1u << 20)},
                            {"compression.type", "lz4"},
                            {"partitioner", "murmur2_random"},
                            {"queue.buffering.max.messages", "100000"}};
  auto conf = kafka::make_conf(p);
  if (!conf) return conf.status();
  auto producer = kafka::make_client(RD_KAFKA_PRODUCER, std::move(*conf));
  if (!producer) return producer.status();
  rd_kafka_t* rk = producer->get();
  ACCT_RETURN_IF_ERROR(kafka::create_topics(rk, {{topic, 6, -1, {}}}, std::chrono::seconds(30)));
  // Let the new topic's leaders be known before the clock starts.
  for (int i = 0; i < 100; ++i) {
    auto info = kafka::describe_topic(rk, topic, std::chrono::seconds(5));
    if (info && info->exists) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  const auto start = Clock::now();
  for (uint64_t i = 0; i < total; ++i) {
    const EventMessage& m = messages[i % messages.size()];
    while (true) {
      rd_kafka_resp_err_t err =
          rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic.c_str()), RD_KAFKA_V_KEY(m.key.data(), m.key.size()),
                            RD_KAFKA_V_VALUE(const_cast<char*>(m.value.data()), m.value.size()),
                            RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
      if (err == RD_KAFKA_RESP_ERR_NO_ERROR) break;
      if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL) return kafka::error_status(err, "produce-only");
      rd_kafka_poll(rk, 10);
    }
    rd_kafka_poll(rk, 0);
  }
  if (rd_kafka_resp_err_t err = rd_kafka_flush(rk, 120000)) return kafka::error_status(err, "produce-only flush");
  return static_cast<double>(total) / seconds_since(start);
}

}  // namespace

Status relay_workload(const BenchOptions& o) {
  if (o.kafka_brokers.empty()) {
    return invalid_argument("the relay workload needs --kafka-brokers (e.g. $(scripts/kafka start | tail -1))",
                            "kafka_brokers");
  }
  if (sodium_init() < 0) return Status(StatusCode::kInternal, "libsodium failed to initialise");
  const uint64_t n = o.events ? o.events : 1'000'000;
  const std::filesystem::path dir = std::filesystem::path(o.data_dir) / "relay";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  Status result;
  {
    LogOptions lo;
    lo.data_dir = dir.string();
    auto log = EventLog::open(lo);
    if (!log) return log.status();
    auto keys = KeyStore::open(posix_env(), dir.string());
    if (!keys) return keys.status();
    KeyStoreCipher cipher(**keys);

    // The events: 1,000 partners, commits of 10 streams x 10 events; personal
    // data (PartnerEnrolled, UserCreated) sealed as the engine does.
    testing::PopulateOptions p;
    p.events = n;
    p.partners = 1000;
    const auto load_start = Clock::now();
    auto written = testing::populate(**log, p, &cipher);
    if (!written) return written.status();
    const double load_seconds = seconds_since(load_start);
    const uint64_t head = (*log)->head().value();

    // 1. Encoding alone: decode (opening sealed values) + JSON, no Kafka.
    std::vector<EventMessage> sample;
    uint64_t bytes = 0;
    const auto enc_start = Clock::now();
    Status scanned = (*log)->scan_all(GlobalPosition(1), AllFilter{}, [&](const RecordedEvent& e) {
      auto m = make_event_message(e, &cipher);
      if (!m) return false;
      bytes += m->value.size();
      if (sample.size() < 100'000) sample.push_back(std::move(*m));
      return true;
    });
    ACCT_RETURN_IF_ERROR(scanned);
    const double encode_rate = static_cast<double>(head) / seconds_since(enc_start);

    // 2. The relay, end to end, to a fresh topic.
    RelayOptions ro;
    ro.brokers = o.kafka_brokers;
    ro.topic = testing::unique_name("bench.relay");
    ro.stop_at_head = true;
    Relay relay(**log, &cipher, ro);
    const auto start = Clock::now();
    ACCT_RETURN_IF_ERROR(relay.start());
    // Sample the status to tell start-up (topics, fencing, checkpoint) from
    // the steady rate after the first commit.
    double first_commit_at = 0;
    uint64_t first_commit_events = 0;
    while (!relay.wait(std::chrono::milliseconds(5))) {
      if (first_commit_at == 0) {
        const RelayStatus s = relay.status();
        if (s.events_published > 0) {
          first_commit_at = seconds_since(start);
          first_commit_events = s.events_published;
        }
      }
      if (seconds_since(start) > 3600) break;
    }
    const double seconds = seconds_since(start);
    relay.stop();
    const RelayStatus s = relay.status();
    if (s.state != RelayState::kFinished) {
      return Status(StatusCode::kIOError, "the relay did not finish: " + s.last_error);
    }

    // 3. The same messages through a plain producer, no transactions.
    auto produced = produce_only(o.kafka_brokers, ro.topic + ".produce-only", sample, head);
    if (!produced) return produced.status();

    const double steady = seconds > first_commit_at && first_commit_at > 0
                              ? static_cast<double>(head - first_commit_events) / (seconds - first_commit_at)
                              : 0;
    // startup_seconds: from start() to the first commit (start-up plus the
    // first transaction); ready_seconds: start-up alone (producer, topics,
    // fencing, checkpoint), as the relay measured it.
    JsonLine("relay")
        .count("events", head)
        .number("seconds", seconds)
        .number("events_per_s", static_cast<double>(head) / seconds)
        .number("p50_us", 0)
        .number("p99_us", 0)
        .number("steady_events_per_s", steady)
        .number("startup_seconds", first_commit_at)
        .number("ready_seconds", s.ready_seconds)
        .count("transactions", s.transactions_committed)
        .number("bytes_per_event", static_cast<double>(bytes) / static_cast<double>(head))
        .number("encode_events_per_s", encode_rate)
        .number("produce_only_events_per_s", *produced)
        .number("load_seconds", load_seconds)
        .print();

    if (!o.keep_data) {
      kafka::Properties ap;
      ap["bootstrap.servers"] = o.kafka_brokers;
      auto conf = kafka::make_conf(ap);
      if (conf) {
        auto admin = kafka::make_client(RD_KAFKA_PRODUCER, std::move(*conf));
        if (admin) {
          kafka::delete_topics(admin->get(),
                               {ro.topic, ro.resolved_checkpoint_topic(), ro.topic + ".produce-only"},
                               std::chrono::seconds(30))
              .ignore();  // best effort: the figures are printed already
        }
      }
    }
    result = (*log)->close();
  }
  if (!o.keep_data) std::filesystem::remove_all(dir);
  return result;
}

}  // namespace accountable::bench
