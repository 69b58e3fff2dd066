// Field validation with the limits of DOMAIN.md. Each check returns
// kInvalidArgument whose `field` is the JSON path given by the caller and whose
// message says why. Lengths are in Unicode code points (UTF-8 input).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "schema/domain_events.h"
#include "schema/field_rules.h"

namespace accountable {

size_t code_points(std::string_view utf8);

Status check_length(std::string_view value, size_t min, size_t max, const std::string& field);
Status check_country(std::string_view value, const std::string& field);   // ISO 3166-1 alpha-2
Status check_currency(std::string_view value, const std::string& field);  // 3 upper-case letters
Status check_email(std::string_view value, const std::string& field);     // required, plausible syntax
Status check_phone(std::string_view value, const std::string& field);     // optional
Status check_url(std::string_view value, const std::string& field);       // optional, http(s)
Status check_mpn_id(std::string_view value, const std::string& field);    // 1-10 digits
Status check_uuid(std::string_view value, const std::string& field);
Status check_domain_name(std::string_view value, const std::string& field);
Status check_language(std::string_view value, const std::string& field);  // "en"
Status check_culture(std::string_view value, const std::string& field);   // "en-us"
Status check_region(std::string_view value, const std::string& field);    // [a-z0-9-], 1-32
Status check_offer_id(std::string_view value, const std::string& field);  // [A-Za-z0-9-], 1-64

// A field by its rule (schema/field_rules.h), e.g.
//   check_field(c.partner_name, field_rule<EnrollPartner>("partner_name"), "partner_name").
Status check_field(std::string_view value, const FieldRule& rule, const std::string& field);
Status check_number(int64_t value, const FieldRule& rule, const std::string& field);
// A list's size (and, with rule.unique, no item twice), then each item by `item` ("field[i]").
Status check_list(const std::vector<std::string>& items, const FieldRule& rule, const FieldRule& item,
                  const std::string& field);
Status check_list_size(size_t size, const FieldRule& rule, const std::string& field);

// Address: line1 1-200, line2 0-200, city 1-100, state 0-2, postal code 0-20,
// country ISO alpha-2, region 0-100. `prefix` is e.g. "legal.address".
Status check_address(const Address& a, const std::string& prefix);
// Contact: first and last name 1-50, email required, phone optional.
Status check_contact(const ContactDetails& c, const std::string& prefix);

// An enum read from a command is one of its named values: at most `max`, its last.
template <class E>
bool enum_at_most(E value, E max) {
  return static_cast<unsigned>(value) <= static_cast<unsigned>(max);
}

}  // namespace accountable
