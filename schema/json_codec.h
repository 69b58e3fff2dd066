// The JSON form of commands (one line of `acct exec`, or the body of
// POST /v1/commands), of event payloads (views, exports, reads), and of the
// envelope of a recorded event (HTTP reads, `acct read`, exports, Kafka
// messages). Enum spellings: schema/enum_names.h.
//
// A command is one JSON object: {"type": "<CommandName>", "command_id": "<uuid>",
// ...the command struct's fields, snake_case, exactly as in schema/commands.h}.
// The full form of every command is in docs/commands.md; the rules are:
//  - ids are canonical UUID strings; times are RFC 3339 UTC strings
//    ("2026-11-24T13:00:00Z", "2026-11-24T13:00:00.123456Z" or "2026-11-24");
//  - enums are snake_case strings ("global_admin", "billing_overdue"), except the
//    price-list change codes ("ADD", "CHG", "DEL", "UNC") and customer sizes
//    ("1-9", "10-49", "50-249", "250-999", "1000+");
//  - integers are JSON integers (no fraction, no exponent) within the field's range;
//    prices are integers in millionths of the currency unit (`*_micros`);
//  - fields documented as optional may be omitted (empty string, empty list,
//    false, 0); `details.logo` may also be null; every other field is required;
//  - unknown fields and duplicate keys are refused;
//  - the text must be valid UTF-8, at most kMaxCommandJsonBytes long, nested at
//    most kMaxCommandJsonDepth deep.
// Every refusal is kInvalidArgument whose `field` is the JSON path of the
// offending value ("legal.address.country", "roles[1]", "type", "command_id");
// errors about the text as a whole (size, syntax, UTF-8, depth) have an empty
// field and say the byte offset in the message.
//
// The parser checks shape and types only. Domain validation (lengths, formats,
// rules) is decide()'s job and names the same paths.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "events/envelope.h"
#include "events/types.h"
#include "schema/commands.h"
#include "schema/domain_events.h"
#include "schema/personal_data.h"

namespace accountable {

inline constexpr size_t kMaxCommandJsonBytes = 1024 * 1024;  // 1 MiB
inline constexpr size_t kMaxCommandJsonDepth = 32;

struct ParsedCommand {
  CommandId command_id;
  Command command;
};

// Parses one command. See the rules above.
Result<ParsedCommand> parse_command_json(std::string_view text);

// The documented JSON form, with every field present (optional ones included).
// parse_command_json(command_to_json(c)) gives back c.
std::string command_to_json(const ParsedCommand& parsed);
boost::json::object command_to_json_object(const ParsedCommand& parsed);

// The JSON Schema of each command's body: the parser's shape and types, and
// the field rules decide() checks (schema/field_rules.h: lengths, patterns,
// ranges, list sizes), keyed "<CommandName>Command" in the Command variant's
// order. docs/openapi.yaml's command schemas are this,
// generated (tests/contract/generate_command_schemas).
boost::json::object command_json_schemas();

// What one field rule adds to a field's JSON Schema (pattern, enum, lengths,
// range); for tests that hold the patterns against the checks.
boost::json::object field_rule_schema(const struct FieldRule& rule);

// An event payload as a JSON object of its fields (the struct's field names).
// Type, schema version, stream and position belong to the envelope and are not
// included. Personal<T> fields are rendered as their plain value (decryption is
// the caller's concern: decode inside a PersonalDataScope), or as
// {"erased": true} once the subject's key was destroyed; email fingerprints
// are lower-case hex.
boost::json::value event_to_json(const DomainEvent& event);

// Enum spellings used in the JSON form (also for docs and views).
std::string_view role_json_name(Role role);

// ---- the envelope ----------------------------------------------------------------
//
// THE JSON shape of a recorded event's envelope: its members in order, each
// handed to the visitor with its name. Every writer and reader goes through it
// with a visitor that has
//   number(name, N)      position, version (strong types), schema_version (uint16_t)
//   text(name, S)        stream, type, actor
//   id(name, Id)         event_id, command_id, correlation_id, causation_id (canonical UUID text)
//   time(name, T)        recorded_at (RFC 3339 UTC)
//   partner(name, S)     partner, empty when the stream has none ("" or null: the visitor's choice)
// `Event` is RecordedEvent, or any type with the same members (an owning copy,
// a consumed message); const for writers, not for readers.
template <class Event, class Visitor>
void envelope_members(Event& e, Visitor& v) {
  v.number("position", e.position);
  v.text("stream", e.stream);
  v.number("version", e.version);
  v.text("type", e.type);
  v.number("schema_version", e.schema_version);
  v.id("event_id", e.event_id);
  v.id("command_id", e.command_id);
  v.id("correlation_id", e.correlation_id);
  v.id("causation_id", e.causation_id);
  v.text("actor", e.actor);
  v.time("recorded_at", e.recorded_at);
  v.partner("partner", e.partner);
}

// A number member's value: positions and versions are strong types.
inline uint64_t envelope_number(uint64_t v) { return v; }
template <class T>
  requires requires(const T& t) { t.value(); }
uint64_t envelope_number(const T& t) {
  return t.value();
}

// Adds the envelope's members to a JSON object (the partner as "" when none).
class EnvelopeObjectWriter {
 public:
  explicit EnvelopeObjectWriter(boost::json::object& out) : out_(out) {}
  template <class N>
  void number(std::string_view name, const N& v) {
    out_[name] = envelope_number(v);
  }
  void text(std::string_view name, std::string_view v) { out_[name] = boost::json::string_view(v.data(), v.size()); }
  template <class Id>
  void id(std::string_view name, const Id& v) {
    out_[name] = v.to_string();
  }
  void time(std::string_view name, Timestamp v) { out_[name] = format_timestamp(v); }
  void partner(std::string_view name, std::string_view v) { text(name, v); }

 private:
  boost::json::object& out_;
};

// The envelope only (no payload), as a JSON object.
template <class Event>
boost::json::object envelope_json(const Event& e) {
  boost::json::object o;
  EnvelopeObjectWriter writer(o);
  envelope_members(e, writer);
  return o;
}

// The envelope plus `data`, the payload decoded (and upcast) with personal
// data opened through the cipher (a purged subject's fields read
// {"erased": true}); an event this build cannot decode has "data": null and
// "data_error". For GET /v1/streams, /v1/events and the SSE subscription
// (docs/http-api.md, "Events").
boost::json::object recorded_event_json(const RecordedEvent& e, PersonalDataCipher* cipher);

}  // namespace accountable
