// The audit tools over the log (docs/audit.md): a partner's timeline with
// what each event changed, and the state of its aggregates as of a position
// or a time. Shared by `acct history` / `acct state` and the HTTP routes
// GET /v1/partners/{id}/history and /state.
//
// A partner's events are those whose envelope names it as the tenant: its
// partner stream (profiles, locations, tax exemptions, pins, auditor grants,
// the user directory), its users' streams and its business profiles. The
// catalog belongs to the operator and is not part of it.
//
// Everything is replayed from the log, never from snapshots or views, so the
// answer is what the log proves. Personal data is opened with the cipher
// while its subject's key exists; a user purged anywhere in the log reads as
// erased ({"erased": true}) even if the key store has not destroyed the key
// yet (the engine destroys it just after the commit).
#pragma once

#include <boost/json/object.hpp>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "aggregates/business_profile.h"
#include "aggregates/partner.h"
#include "aggregates/state_json.h"
#include "aggregates/user.h"
#include "events/event_log.h"
#include "schema/personal_data.h"

namespace accountable {

// A recorded event that owns its bytes (RecordedEvent only points into the log).
struct PartnerEvent {
  GlobalPosition position;
  std::string stream;
  StreamVersion version;
  EventId event_id;
  std::string type;
  uint16_t schema_version = 0;
  CommandId command_id;
  CorrelationId correlation_id;
  CausationId causation_id;
  std::string actor;
  Timestamp recorded_at;
  std::string partner;
  std::string payload;
  Hash256 hash{};
};

struct PartnerLog {
  std::vector<PartnerEvent> events;  // in log order
  GlobalPosition head;               // the log's head when it was read (events are all <= head)
  Hash256 head_hash{};               // the hash of the record at `head`
  std::set<std::string> purged_subjects;  // "user:<uuid>" of every UserPurged among the events
};

// Every event of the partner up to the log's current head. kNotFound when the
// log has none (no such partner).
Result<PartnerLog> read_partner_log(const EventLog& log, const PartnerId& partner);

// Opens personal data through `inner`, except for the subjects given, which
// read as erased. `inner` may be null (payloads in clear only).
class ErasingCipher final : public PersonalDataCipher {
 public:
  ErasingCipher(PersonalDataCipher* inner, std::set<std::string> erased)
      : inner_(inner), erased_(std::move(erased)) {}
  Result<std::string> seal(const std::string& subject, std::string_view plaintext) override;
  Result<std::string> open(const std::string& subject, std::string_view sealed) override;
  Status erase(const std::string& subject) override;

 private:
  PersonalDataCipher* inner_;
  std::set<std::string> erased_;
};

// ---- state as of -------------------------------------------------------------------

// The partner's aggregates at one point of the log.
struct PartnerStates {
  std::optional<PartnerState> partner;                        // absent before enrollment
  std::map<UserId, UserState> users;                          // every user stream seen
  std::map<std::string, BusinessProfileState> business_profiles;  // by region
  GlobalPosition last_position;   // the last event applied (0: none)
  Timestamp last_recorded_at;
};

// Where to stop: after the event at `position`, or after the last event
// recorded at or before `time` (recorded_at never decreases along positions).
struct AsOf {
  std::optional<GlobalPosition> position;
  std::optional<Timestamp> time;
};

// Applies one event of the partner to the states (kCorruption if it does not
// decode). The cipher of the current PersonalDataScope opens personal data.
Status apply_partner_event(PartnerStates* states, const PartnerEvent& e);

// Replays the partner's events up to `at`. kInvalidArgument when `at` names
// no point, or both, or a position beyond the head.
Result<PartnerStates> partner_state_as_of(const PartnerLog& log, PersonalDataCipher* cipher, const AsOf& at);
Result<PartnerStates> partner_state_as_of(const EventLog& log, PersonalDataCipher* cipher, const PartnerId& partner,
                                          const AsOf& at);

// {"partner_id", "as_of": {"position", "time"}, "last_event": {"position", "recorded_at"},
//  "partner": {...} | null, "users": {id: {...}}, "business_profiles": {region: {...}}}
boost::json::object partner_states_json(const PartnerId& partner, const PartnerStates& s, const AsOf& at);
// The aggregates only ("partner", "users", "business_profiles"): what two
// replays are compared on.
boost::json::object partner_aggregates_json(const PartnerStates& s);

// ---- timeline ---------------------------------------------------------------------------

struct HistoryLine {
  GlobalPosition position;
  Timestamp recorded_at;
  std::string stream;
  StreamVersion stream_version;
  std::string actor;       // principal id: "user:<uuid>", "operator:<name>"
  // For a user of the partner: "First Last <email>" as of the event, or
  // "erased" once purged. Empty for the operator.
  std::string actor_name;
  CommandId command_id;
  std::string command_type;  // derived from the commit's events (see command_type_of)
  std::string event_type;
  uint16_t schema_version = 0;
  std::vector<FieldChange> changes;  // the state of the event's stream before vs after it
};

struct HistoryOptions {
  Timestamp from_time{INT64_MIN};  // recorded_at in [from_time, to_time)
  Timestamp to_time{INT64_MAX};
  GlobalPosition from_position{1};  // and position in [from_position, to_position]
  GlobalPosition to_position{UINT64_MAX};
};

// The command that wrote a commit, from the types of the commit's events (the
// envelope records the command's id, not its type). Empty if none matches.
std::string command_type_of(const std::vector<const PartnerEvent*>& commit);

Result<std::vector<HistoryLine>> partner_history(const PartnerLog& log, PersonalDataCipher* cipher,
                                                 const HistoryOptions& options);
Result<std::vector<HistoryLine>> partner_history(const EventLog& log, PersonalDataCipher* cipher,
                                                 const PartnerId& partner, const HistoryOptions& options);

boost::json::object history_line_json(const HistoryLine& line);
// CSV: a header, then one row per event; `changes` is the JSON array of changes.
std::string history_csv_header();
std::string history_csv_row(const HistoryLine& line);
// Table: one line per event, then one indented line per change.
std::string history_table_row(const HistoryLine& line);

// RFC 4180 quoting when needed.
std::string csv_field(std::string_view value);

}  // namespace accountable
