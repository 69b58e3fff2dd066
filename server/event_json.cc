#include "server/event_json.h"

#include "schema/json_codec.h"
#include "schema/domain_events.h"

namespace accountable {

boost::json::object envelope_json(const RecordedEvent& e) {
  boost::json::object o;
  o["position"] = e.position.value();
  o["stream"] = e.stream;
  o["version"] = e.version.value();
  o["type"] = e.type;
  o["schema_version"] = e.schema_version;
  o["event_id"] = e.event_id.to_string();
  o["command_id"] = e.command_id.to_string();
  o["correlation_id"] = e.correlation_id.to_string();
  o["causation_id"] = e.causation_id.to_string();
  o["actor"] = e.actor;
  o["recorded_at"] = format_timestamp(e.recorded_at);
  o["partner"] = e.partner;
  return o;
}

boost::json::object recorded_event_json(const RecordedEvent& e, PersonalDataCipher* cipher) {
  boost::json::object o = envelope_json(e);
  PersonalDataScope scope(cipher);
  auto decoded = decode_event(e.type, e.schema_version, e.payload);
  if (decoded) {
    o["data"] = event_to_json(*decoded);
  } else {
    // Not a domain event we know (or damaged): say so rather than guess.
    o["data"] = nullptr;
    o["data_error"] = decoded.status().to_string();
  }
  return o;
}

}  // namespace accountable
