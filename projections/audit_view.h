// The audit timeline of each partner (view "audit"): every event of every
// stream that belongs to the partner (the envelope's tenant), in log order,
// with who (actor), when (recorded_at), through which command (command id,
// correlation and causation ids), and the event's fields.
//
// The command's TYPE is not in the envelope (only its id), so the timeline
// shows the command id and nothing is inferred from the event types.
//
// The view is an index of log positions by partner (and by time): each entry
// (envelope and payload) is read from the log at query time, and the fields
// rendered then (decode with the cipher, event_to_json). So the file holds no
// payload at all, personal data in clear least of all, and erasure needs no
// rewrite: a purged subject's key is gone, its values decode as erased. The
// view also records each purged subject (table erased_subject, on UserPurged)
// and renders that subject's values as "erased" even if the key store has not
// destroyed the key yet (the engine destroys it just after the commit).
#pragma once

#include <array>
#include <boost/json/value.hpp>
#include <functional>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "events/event_log.h"
#include "projections/projection.h"

namespace accountable {

struct AuditEntry {
  GlobalPosition position;
  Timestamp recorded_at;
  std::string stream;
  StreamVersion stream_version;
  std::string actor;
  CommandId command_id;
  CorrelationId correlation_id;
  CausationId causation_id;
  std::string event_type;
  uint16_t schema_version = 0;
  // The event's fields (event_to_json); each personal value of an erased
  // subject is the string "erased". Null for an event type this build does not know.
  boost::json::value fields;
};

struct AuditPage {
  std::vector<AuditEntry> entries;
  // Where the next page starts (pass it as `from`); absent when this page was not full.
  std::optional<GlobalPosition> next;
};

inline constexpr size_t kMaxAuditPage = 1000;

class AuditView final : public Projection {
 public:
  static constexpr std::string_view kName = "audit";
  // 2: positions only, entries read from the log. 3: audit_event keyed by
  // (partner_key, position), WITHOUT ROWID, no secondary index; a build holds
  // its rows in memory and writes them in key order at its end.
  static constexpr int kVersion = 3;

  // A build holds at most about `rows_held_by_a_build` rows before it writes
  // them (tests make it small to exercise the writes during the build).
  explicit AuditView(size_t rows_held_by_a_build = kRowsHeldByABuild) : rows_held_(rows_held_by_a_build) {}

  std::string_view name() const override { return kName; }
  int version() const override { return kVersion; }
  std::vector<std::string> schema() const override;
  Status prepare(Db& db) override;
  Status apply(const ViewEvent& event) override;
  Status begin_build() override;
  Status finish_batch() override;
  Status finish_build() override;
  uint64_t build_seal_nanos() const override { return held_rows_ * 200; }  // ~0.2 us a row
  void abort_batch() override;

  // Events of the partner with position >= from, at most `limit` (<= kMaxAuditPage),
  // read from `log` (the log the view was built from).
  static Result<AuditPage> page(Db& db, const EventLog& log, PersonalDataCipher* cipher, const PartnerId& partner,
                                GlobalPosition from, size_t limit);
  // The same, restricted to recorded_at in [from_time, to_time).
  static Result<AuditPage> between(Db& db, const EventLog& log, PersonalDataCipher* cipher, const PartnerId& partner,
                                   Timestamp from_time, Timestamp to_time, GlobalPosition from, size_t limit);

 private:
  // Rows written per INSERT by a build (a statement's overhead, shared).
  static constexpr size_t kRowsPerInsert = 64;
  // 16 bytes a row (more while a partner's vector has room to grow): 64 MiB
  // for 2^22 rows, a quarter of what a RowCache may hold.
  static constexpr size_t kRowsHeldByABuild = size_t{1} << 22;
  // Writes the rows a build holds, partner by partner (key order: every
  // B-tree page is filled once, no sort), and forgets them.
  Status write_held();

  const size_t rows_held_;
  bool whole_build_ = false;
  // During a build from position 0 (nothing reads the file before it is
  // sealed): its audit_event rows, (position, recorded_at) by partner_key - 1,
  // each partner's in position order as they came.
  std::vector<std::vector<std::array<int64_t, 2>>> held_;
  uint64_t held_rows_ = 0;
  // Partners are stored once each and referred to by a small integer key,
  // assigned in order of first appearance (so a rebuilt file assigns the same
  // keys). The map caches them across batches; a rolled-back batch empties
  // it, since the keys it assigned are gone.
  Result<int64_t> partner_key(std::string_view partner);
  struct NameHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>()(s); }
  };

  Db* db_ = nullptr;
  std::unordered_map<std::string, int64_t, NameHash, std::equal_to<>> partners_;
  std::unique_ptr<Statement> select_partner_, insert_partner_, insert_event_, insert_events_, insert_erased_;
};

// The personal values an event holds: where in event_to_json's object, whose,
// and whether it decoded as erased.
struct PersonalField {
  std::vector<std::string_view> path;  // e.g. {"legal", "primary_contact"}
  std::string subject;
  bool erased = false;
};
std::vector<PersonalField> personal_fields(const DomainEvent& event);

// The event's fields as the timeline shows them: decoded with the cipher of the
// current PersonalDataScope, every personal value that is erased, or whose
// subject `is_erased` names, replaced by "erased". Null for an unknown type.
Result<boost::json::value> audit_fields(std::string_view type, uint16_t schema_version, std::string_view payload,
                                        const std::function<bool(const std::string&)>& is_erased);

}  // namespace accountable
