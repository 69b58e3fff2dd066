// TEST ONLY. Helpers of the Kafka tests (consumers/*_test.cc and the
// tests/kafka/*.sh scripts through kafka_test_tool): the broker's address,
// unique topic names, a log full of realistic domain events, and reading a
// topic back to check that every event is there exactly once, in order.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "aggregates/key_store.h"
#include "consumers/kafka_client.h"
#include "events/event_log.h"
#include "schema/domain_events.h"

namespace accountable::testing {

// The bootstrap servers of the broker scripts/test started
// (ACCT_KAFKA_BOOTSTRAP), or an error that says how to get one.
Result<std::string> kafka_bootstrap();

// "<prefix>.<pid>.<random>": topics of parallel tests never collide.
std::string unique_name(std::string_view prefix);

struct PopulateOptions {
  uint64_t events = 1000;      // at least; a commit is never split
  int partners = 100;          // partner streams (each with one user stream)
  int streams_per_commit = 10;
  int events_per_stream = 10;  // in one commit
  int catalog_every = 20;      // every Nth commit also writes to `catalog` (no partner)
  uint64_t seed = 1;
};

// Appends domain events: per partner a PartnerEnrolled and a UserCreated
// (personal data, sealed when `cipher` is given), then a mix of partner
// events; `catalog` gets OfferPublished events. Returns the events written.
Result<uint64_t> populate(EventLog& log, const PopulateOptions& options, PersonalDataCipher* cipher);

// A fresh data folder (deleted at the end) with its log and key store open.
class TempLog {
 public:
  TempLog();
  ~TempLog();
  TempLog(const TempLog&) = delete;
  TempLog& operator=(const TempLog&) = delete;
  // OK, or why the folder, the log or the key store could not be opened.
  const Status& status() const { return status_; }
  const std::string& dir() const { return dir_; }
  EventLog& log() { return *log_; }
  KeyStore& keys() { return *keys_; }
  PersonalDataCipher* cipher() { return cipher_.get(); }

 private:
  Status status_;
  std::string dir_;
  std::unique_ptr<EventLog> log_;
  std::unique_ptr<KeyStore> keys_;
  std::unique_ptr<KeyStoreCipher> cipher_;
};

// One event as a commit of its own, with new ids (optionally sealed through
// `cipher`): append it, or keep it to append again as a retry.
CommitRequest event_commit(const std::string& stream, const std::string& partner, const DomainEvent& event,
                           PersonalDataCipher* cipher);

// One event appended for a test (optionally sealed through `cipher`).
Status append_event(EventLog& log, const std::string& stream, const std::string& partner, const DomainEvent& event,
                    PersonalDataCipher* cipher);

struct TopicMessage {
  int32_t partition = -1;
  int64_t offset = -1;
  std::string key;
  std::string value;
  std::vector<std::pair<std::string, std::string>> headers;
};

// Every message of `topic` from the start of each partition, until at least
// `expected` were read and every partition is at its end, or `timeout`
// passed (then what was read is returned: the checks say what is missing).
Result<std::vector<TopicMessage>> read_topic(const std::string& brokers, const std::string& topic, size_t expected,
                                             std::chrono::milliseconds timeout, bool read_committed = true);

// Sum of the high watermarks of the topic's partitions (messages written,
// committed or not, plus transaction markers): read_uncommitted's view.
Result<int64_t> high_watermarks(const std::string& brokers, const std::string& topic);

// The topic's partition count (as "partitions") and its configs
// (DescribeConfigs), e.g. "cleanup.policy".
Result<std::map<std::string, std::string>> topic_settings(const std::string& brokers, const std::string& topic);

struct ExactlyOnceReport {
  uint64_t messages = 0;
  uint64_t duplicates = 0;        // positions seen more than once
  uint64_t missing = 0;           // positions 1..head never seen
  uint64_t out_of_order = 0;      // a key's position not greater than its previous one
  uint64_t wrong_partition = 0;   // a key seen on two partitions
  uint64_t header_mismatches = 0; // headers that disagree with the value
  std::string first_problem;
  bool ok() const {
    return duplicates == 0 && missing == 0 && out_of_order == 0 && wrong_partition == 0 && header_mismatches == 0;
  }
  std::string summary() const;
};

// Checks that positions 1..head each appear exactly once, that each key's
// events arrive in increasing position order on one partition, and that the
// headers agree with the value.
ExactlyOnceReport check_exactly_once(const std::vector<TopicMessage>& messages, uint64_t head);

}  // namespace accountable::testing
