// How the views store domain values in SQLite columns, and back:
//  - enums as their JSON spellings (docs/commands.md: "small_business", "ADD");
//  - small structs (addresses, contacts, business-profile details) as compact
//    JSON text, so a view file stays readable with the sqlite3 shell;
//  - times as integer microseconds since the Unix epoch (UTC).
// The same JSON forms are used by to_json (projections/view_json.h).
#pragma once

#include <boost/json/value.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "schema/domain_events.h"
#include "schema/enum_names.h"

namespace accountable {

// Our text as Boost.JSON's string_view, for building a view's JSON (no copy).
inline boost::json::string_view json_view(std::string_view s) { return {s.data(), s.size()}; }

// Enum <-> text, in the spellings of schema/enum_names.h. A value outside the
// table: "unknown"; unknown text: nullopt (a view never stores one).
template <NamedEnum E>
std::string_view enum_text(E value) {
  const std::string_view name = enum_name(value);
  return name.empty() ? std::string_view("unknown") : name;
}
template <NamedEnum E>
std::optional<E> enum_from_text(std::string_view text) {
  return enum_from_name<E>(text);
}

boost::json::object address_json(const Address& a);
boost::json::object contact_json(const ContactDetails& c);
boost::json::object details_json(const BusinessProfileDetails& d);

// JSON text of the value (columns); parse back with the *_from_text functions.
std::string address_text(const Address& a);
std::string contact_text(const ContactDetails& c);
std::string details_text(const BusinessProfileDetails& d);
Result<Address> address_from_text(std::string_view text);
Result<ContactDetails> contact_from_text(std::string_view text);
Result<BusinessProfileDetails> details_from_text(std::string_view text);
std::string string_list_text(const std::vector<std::string>& items);  // JSON array
std::vector<std::string> string_list_from_text(std::string_view text);

// The UUID text after `prefix` in a stream name ("user-<uuid>" -> "<uuid>"),
// checked for shape only (36 characters, dashes in place): the hot path of
// the views, where stream names come from the engine.
std::optional<std::string_view> uuid_after(std::string_view stream, std::string_view prefix);

// Ids in streams: "partner-<uuid>", "user-<uuid>", "bizprofile-<uuid>-<region>".
std::optional<PartnerId> partner_of_stream(std::string_view stream);
std::optional<UserId> user_of_stream(std::string_view stream);
std::optional<std::pair<PartnerId, std::string>> business_profile_of_stream(std::string_view stream);

}  // namespace accountable
