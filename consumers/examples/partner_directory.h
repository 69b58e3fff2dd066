// An example downstream service built on the consumer library: a partner
// directory kept in its own SQLite file from the events topic.
//
// Each event is applied in ONE SQLite transaction that also records the
// stream's version (table stream_versions), and the directory is the
// consumer's VersionTracker: so an event delivered again (at-least-once) is
// recognised from the same file, even after a crash, and never applied twice.
//
// Table partners: partner_id, name, mpn_id, company, country, currency,
// vetting_status, suspended, users, locations, pinned_offers, updated_position.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "consumers/consumer.h"

namespace accountable::examples {

struct DirectoryPartner {
  std::string partner_id;
  std::string name;
  std::string mpn_id;
  std::string company;
  std::string country;
  std::string currency;
  std::string vetting_status;
  bool suspended = false;
  int64_t users = 0;
  int64_t locations = 0;
  int64_t pinned_offers = 0;
  uint64_t updated_position = 0;
};

class PartnerDirectory final : public VersionTracker {
 public:
  static Result<std::unique_ptr<PartnerDirectory>> open(const std::string& db_path);
  ~PartnerDirectory() override;
  PartnerDirectory(const PartnerDirectory&) = delete;
  PartnerDirectory& operator=(const PartnerDirectory&) = delete;

  // The consumer's handler: applies one event (and records its stream version)
  // in one transaction.
  Status apply(const ConsumedEvent& event);

  // VersionTracker: read from stream_versions; remember() is a no-op because
  // apply() already wrote the version in its own transaction.
  Result<uint64_t> last_version(std::string_view stream) override;
  Status remember(std::string_view stream, uint64_t version) override;

  Result<std::optional<DirectoryPartner>> find(const std::string& partner_id);
  Result<uint64_t> partner_count();
  Result<uint64_t> last_position();  // the highest position applied (0: none)
  uint64_t applied() const { return applied_; }

 private:
  explicit PartnerDirectory(sqlite3* db) : db_(db) {}
  Status exec(const char* sql);
  Status apply_locked(const ConsumedEvent& event);

  sqlite3* db_;
  uint64_t applied_ = 0;
};

}  // namespace accountable::examples
