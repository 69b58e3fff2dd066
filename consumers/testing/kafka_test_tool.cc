// TEST ONLY. kafka_test_tool: the steps of tests/kafka/*.sh that need the
// engine's code.
//
//   kafka_test_tool populate --data DIR --events N [--partners P] [--seed S]
//       appends at least N domain events (personal data sealed with DIR's key
//       store) and prints the log's head position
//   kafka_test_tool verify --brokers B --topic T --head N [--timeout SECONDS]
//       reads T with a read_committed consumer; exit 0 iff positions 1..N are
//       each there exactly once, every key's events in order on one partition
//   kafka_test_tool watermarks --brokers B --topic T
//       prints the sum of T's high watermarks (0 if T does not exist)
//   kafka_test_tool count --brokers B --topic T --isolation read_committed|read_uncommitted
//       reads T to its end and prints how many messages that isolation level sees
#include <sodium.h>

#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>

#include "aggregates/key_store.h"
#include "consumers/testing/kafka_testing.h"

using namespace accountable;

namespace {

int usage() {
  std::fprintf(stderr,
               "usage: kafka_test_tool populate --data DIR --events N [--partners P] [--seed S]\n"
               "       kafka_test_tool verify --brokers B --topic T --head N [--timeout SECONDS]\n"
               "       kafka_test_tool watermarks --brokers B --topic T\n"
               "       kafka_test_tool count --brokers B --topic T --isolation read_committed|read_uncommitted\n");
  return 2;
}

int fail(const Status& s) {
  std::fprintf(stderr, "kafka_test_tool: %s\n", s.to_string().c_str());
  return 1;
}

int populate(std::map<std::string, std::string>& a) {
  if (a["--data"].empty() || a["--events"].empty()) return usage();
  if (sodium_init() < 0) return fail(Status(StatusCode::kInternal, "libsodium failed to initialise"));
  LogOptions lo;
  lo.data_dir = a["--data"];
  auto log = EventLog::open(lo);
  if (!log) return fail(log.status());
  auto keys = KeyStore::open(posix_env(), a["--data"]);
  if (!keys) return fail(keys.status());
  KeyStoreCipher cipher(**keys);
  testing::PopulateOptions o;
  o.events = std::stoull(a["--events"]);
  if (!a["--partners"].empty()) o.partners = std::stoi(a["--partners"]);
  if (!a["--seed"].empty()) o.seed = std::stoull(a["--seed"]);
  auto n = testing::populate(**log, o, &cipher);
  if (!n) return fail(n.status());
  std::printf("%llu\n", static_cast<unsigned long long>((*log)->head().value()));
  Status closed = (*log)->close();
  return closed.is_ok() ? 0 : fail(closed);
}

int verify(std::map<std::string, std::string>& a) {
  if (a["--brokers"].empty() || a["--topic"].empty() || a["--head"].empty()) return usage();
  const uint64_t head = std::stoull(a["--head"]);
  const int timeout = a["--timeout"].empty() ? 120 : std::stoi(a["--timeout"]);
  auto messages = testing::read_topic(a["--brokers"], a["--topic"], head, std::chrono::seconds(timeout));
  if (!messages) return fail(messages.status());
  testing::ExactlyOnceReport r = testing::check_exactly_once(*messages, head);
  std::printf("%s: %s\n", r.ok() ? "OK" : "FAILED", r.summary().c_str());
  return r.ok() ? 0 : 1;
}

int watermarks(std::map<std::string, std::string>& a) {
  if (a["--brokers"].empty() || a["--topic"].empty()) return usage();
  auto sum = testing::high_watermarks(a["--brokers"], a["--topic"]);
  if (!sum) return fail(sum.status());
  std::printf("%lld\n", static_cast<long long>(*sum));
  return 0;
}

int count(std::map<std::string, std::string>& a) {
  const std::string iso = a["--isolation"];
  if (a["--brokers"].empty() || a["--topic"].empty() || (iso != "read_committed" && iso != "read_uncommitted")) {
    return usage();
  }
  auto messages = testing::read_topic(a["--brokers"], a["--topic"], 0, std::chrono::seconds(120),
                                      iso == "read_committed");
  if (!messages) return fail(messages.status());
  std::printf("%zu\n", messages->size());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) return usage();
  const std::string cmd = argv[1];
  std::map<std::string, std::string> a;
  for (int i = 2; i + 1 < argc; i += 2) a[argv[i]] = argv[i + 1];
  try {
    if (cmd == "populate") return populate(a);
    if (cmd == "verify") return verify(a);
    if (cmd == "watermarks") return watermarks(a);
    if (cmd == "count") return count(a);
  } catch (const std::exception& e) {  // std::stoull on a bad number
    std::fprintf(stderr, "kafka_test_tool: %s\n", e.what());
    return 2;
  }
  return usage();
}
