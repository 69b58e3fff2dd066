// The Kafka form of one event of the log (docs/kafka-events.md,
// docs/kafka-event.schema.json): what the relay publishes and what the
// consumer library reads back.
//
//   key      the partner id, or the stream id for events without a partner
//            (the operator's `catalog` stream), so that each account's events
//            land on one partition in log order;
//   value    one JSON object: the envelope (position, stream, version, type,
//            schema_version, ids, actor, recorded_at, partner, hash), the
//            subjects whose personal data reads as erased, and `data`, the
//            payload as event_to_json renders it (always the type's current
//            schema: older payloads are upcast; data_schema_version says which);
//   headers  event_type, schema_version, position, stream, version, event_id
//            (UTF-8 text), so a router can act without parsing the value.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/json/object.hpp>

#include "events/envelope.h"
#include "events/status.h"
#include "schema/personal_data.h"

namespace accountable {

// The message format's version ("format" in the value); a change of meaning
// or a removed field bumps it, a new optional field does not.
inline constexpr int kEventMessageFormat = 1;

struct EventMessage {
  std::string key;
  std::string value;  // JSON text
  std::vector<std::pair<std::string, std::string>> headers;
};

// Builds the message of a recorded event. The payload is decoded (and
// upcast) with decode_event inside a PersonalDataScope of `cipher`, so the
// personal data of live subjects appears in clear and that of erased
// subjects as empty values, listed in "erased_subjects". `cipher` may be null
// only for logs without sealed personal data. Errors name the position.
Result<EventMessage> make_event_message(const RecordedEvent& event, PersonalDataCipher* cipher);
// The same into `out`, reusing its strings' capacity (the relay encodes into
// recycled messages: a fresh buffer per event was most of its cost, in malloc).
// On error `out` is left unspecified.
Status encode_event_message(const RecordedEvent& event, PersonalDataCipher* cipher, EventMessage* out);

// The message key of an event: its partner, or its stream when it has none.
std::string_view event_message_key(const RecordedEvent& event);

// An event as a consumer receives it: the envelope typed, the payload as the
// JSON object of its fields (the event catalog's field names, see
// docs/events.md), plus where it was read from.
struct ConsumedEvent {
  int format = kEventMessageFormat;
  GlobalPosition position;
  std::string stream;
  StreamVersion version;
  std::string type;
  uint16_t schema_version = 0;
  EventId event_id;
  CommandId command_id;
  CorrelationId correlation_id;
  CausationId causation_id;
  std::string actor;
  Timestamp recorded_at;
  std::string partner;  // empty when the stream has none
  std::string hash;     // hex SHA-256 of the log record (the log's hash chain)
  std::vector<std::string> erased_subjects;
  uint16_t data_schema_version = 0;  // the shape of `data`: the type's current version (upcast)
  boost::json::object data;

  // Where the message was read (set by the consumer; empty/-1 otherwise).
  std::string topic;
  int32_t partition = -1;
  int64_t offset = -1;
  std::string key;
};

// Parses a message value. Unknown fields are ignored (newer relays may add
// optional ones); a missing or mistyped field is kInvalidArgument naming it,
// e.g. [position], and a different "format" is refused.
Result<ConsumedEvent> parse_event_message(std::string_view value);

}  // namespace accountable
