// The JSON form of a recorded event for reads (GET /v1/streams, /v1/events,
// the SSE subscription): the envelope plus `data`, the payload decoded (and
// upcast) with personal data opened through the cipher; a purged subject's
// fields read {"erased": true}. Format: docs/http-api.md, "Events".
#pragma once

#include <boost/json/object.hpp>

#include "events/envelope.h"
#include "schema/personal_data.h"

namespace accountable {

// The envelope only (no payload), for every JSON rendering of a recorded event.
boost::json::object envelope_json(const RecordedEvent& e);
// The envelope plus `data`, the decoded payload.
boost::json::object recorded_event_json(const RecordedEvent& e, PersonalDataCipher* cipher);

}  // namespace accountable
