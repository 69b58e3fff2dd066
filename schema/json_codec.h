// The JSON form of commands (one line of `acct exec`, or the body of
// POST /v1/commands) and of event payloads (views, exports, reads).
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

#include <boost/json/value.hpp>

#include "schema/commands.h"
#include "schema/domain_events.h"
#include "events/types.h"

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

// An event payload as a JSON object of its fields (the struct's field names).
// Type, schema version, stream and position belong to the envelope and are not
// included. Personal<T> fields are rendered as their plain value (decryption is
// the caller's concern: decode inside a PersonalDataScope), or as
// {"erased": true} once the subject's key was destroyed; email fingerprints
// are lower-case hex.
boost::json::value event_to_json(const DomainEvent& event);

// Enum spellings used in the JSON form (also for docs and views).
std::string_view role_json_name(Role role);

}  // namespace accountable
