// The JSON form of aggregate states (docs/audit.md, "State JSON"), and a
// field-level diff of two such documents. Used by the audit tools (`acct
// history`, `acct state`, GET /v1/partners/{id}/history and /state) so that
// "what changed" is the difference of the states before and after an event,
// not a dump of its payload.
//
// Values use the spellings of event_to_json (schema/json_codec.h): ids as
// UUID strings, times as RFC 3339, enums snake_case, email fingerprints as hex,
// a Personal<T> as its plain value or {"erased": true} once its subject's key
// is gone. Maps keyed by an id (locations, tax exemptions, users, ...) are JSON
// objects keyed by that id, so a diff names the entry that changed.
#pragma once

#include <boost/json/value.hpp>
#include <string>
#include <vector>

#include "aggregates/business_profile.h"
#include "aggregates/partner.h"
#include "aggregates/user.h"

namespace accountable {

boost::json::object state_to_json(const PartnerState& s);
boost::json::object state_to_json(const UserState& s);
boost::json::object state_to_json(const BusinessProfileState& s);

struct FieldChange {
  std::string path;            // dotted, e.g. "legal.address.city", "locations.<uuid>"
  boost::json::value before;   // null: the field did not exist
  boost::json::value after;    // null: the field no longer exists
};

// The leaves that differ between two JSON documents, in key order. Objects are
// compared key by key; arrays, scalars and erased personal values
// ({"erased": true}) are compared whole. The top-level
// "version" (the stream version, which every event bumps) is left out.
std::vector<FieldChange> diff_json(const boost::json::value& before, const boost::json::value& after);

boost::json::object change_to_json(const FieldChange& c);

}  // namespace accountable
