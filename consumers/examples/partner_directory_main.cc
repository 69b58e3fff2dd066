// partner-directory: the example downstream service (consumers/examples/README.md).
//
//   partner-directory --brokers B --group G --db FILE [--topic accountable.events]
//                     [--exit-when-caught-up] [--idle-exit SECONDS] [--fail-at-position N]
//
// Keeps FILE's partners table up to date from the topic until SIGINT/SIGTERM,
// or, with --exit-when-caught-up, until every partition it was given is read
// to its end, or after SECONDS without a new event (--idle-exit). Prints a
// summary line (JSON) at the end. Exit 0, or 1 after an error (a handler
// error leaves that event's offset unstored: the next run starts there).
// --fail-at-position makes the handler fail there (to see at-least-once
// redelivery by hand and in tests).
#include <CLI/CLI.hpp>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>

#include "consumers/examples/partner_directory.h"

namespace {
volatile std::sig_atomic_t g_stop = 0;
extern "C" void on_signal(int) { g_stop = 1; }
}  // namespace

int main(int argc, char** argv) {
  using namespace accountable;
  spdlog::set_default_logger(spdlog::stderr_color_mt("partner-directory"));
  CLI::App app{"partner-directory: a partner directory in SQLite, kept from Accountable's events topic"};
  ConsumerOptions options;
  std::string db;
  bool until_caught_up = false;
  uint64_t fail_at = 0;
  double idle_exit = 0;
  app.add_option("--brokers", options.brokers, "Kafka bootstrap servers")->required();
  app.add_option("--group", options.group_id, "consumer group id")->required();
  app.add_option("--db", db, "the SQLite file (created if missing)")->required();
  app.add_option("--topic", options.topic, "events topic")->capture_default_str();
  app.add_flag("--exit-when-caught-up", until_caught_up, "exit once every assigned partition is read to its end");
  app.add_option("--idle-exit", idle_exit, "exit after this many seconds without new events (0: never)");
  app.add_option("--fail-at-position", fail_at, "testing: the handler fails at this position");
  CLI11_PARSE(app, argc, argv);

  auto directory = examples::PartnerDirectory::open(db);
  if (!directory) {
    std::fprintf(stderr, "partner-directory: %s\n", directory.status().to_string().c_str());
    return 2;
  }
  examples::PartnerDirectory& dir = **directory;
  options.tracker = &dir;  // dedup from the same file the handler writes
  auto consumer = EventConsumer::open(options, [&](const ConsumedEvent& e) {
    if (fail_at != 0 && e.position.value() == fail_at) {
      return Status(StatusCode::kInternal, "failing on purpose at position " + std::to_string(fail_at));
    }
    return dir.apply(e);
  });
  if (!consumer) {
    std::fprintf(stderr, "partner-directory: %s\n", consumer.status().to_string().c_str());
    return 2;
  }
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);

  int rc = 0;
  auto last_progress = std::chrono::steady_clock::now();
  while (g_stop == 0) {
    auto n = (*consumer)->poll(std::chrono::milliseconds(500));
    if (!n) {
      std::fprintf(stderr, "partner-directory: %s\n", n.status().to_string().c_str());
      rc = 1;
      break;
    }
    if (*n > 0) last_progress = std::chrono::steady_clock::now();
    if (until_caught_up && (*consumer)->caught_up()) break;
    if (idle_exit > 0 && std::chrono::steady_clock::now() - last_progress > std::chrono::duration<double>(idle_exit)) {
      break;
    }
  }
  Status closed = (*consumer)->close();
  if (!closed.is_ok()) {
    std::fprintf(stderr, "partner-directory: %s\n", closed.to_string().c_str());
    if (rc == 0) rc = 1;
  }
  const ConsumerStats s = (*consumer)->stats();
  auto count = dir.partner_count();
  auto last = dir.last_position();
  std::printf("{\"partners\":%llu,\"last_position\":%llu,\"handled\":%llu,\"duplicates_skipped\":%llu,"
              "\"handler_failures\":%llu}\n",
              static_cast<unsigned long long>(count ? *count : 0), static_cast<unsigned long long>(last ? *last : 0),
              static_cast<unsigned long long>(s.handled), static_cast<unsigned long long>(s.duplicates_skipped),
              static_cast<unsigned long long>(s.handler_failures));
  return rc;
}
