// Facts about countries that DOMAIN.md rules depend on:
//  - the ISO 3166-1 alpha-2 codes we accept;
//  - each country's billing currency ("the billing currency follows the
//    country"): the country's legal tender (ISO 4217, as of 2026);
//  - membership of the European Union and the VAT id prefix ("EU partners need
//    an accepted VAT id before they sell").
#pragma once

#include <string_view>
#include <vector>

namespace accountable {

// Empty if `country` is not an officially assigned alpha-2 code.
std::string_view billing_currency_of(std::string_view country);

bool is_iso_country(std::string_view country);
std::vector<std::string_view> all_countries();  // sorted

bool in_european_union(std::string_view country);

// The prefix of a VAT id issued in an EU member state ("EL" for Greece).
std::string_view vat_prefix(std::string_view country);

}  // namespace accountable
