// The JSON form of every query result, for the server and the CLI.
// Spellings follow docs/commands.md (snake_case enums, "ADD", RFC 3339 times,
// UUID strings, prices as integer micros). Personal values that are erased
// print as the string "erased" (docs/views.md shows each form).
#pragma once

#include <boost/json/value.hpp>
#include <optional>
#include <vector>

#include "projections/audit_view.h"
#include "projections/catalog_view.h"
#include "projections/directory_view.h"
#include "projections/listings_view.h"
#include "projections/pricing_view.h"
#include "projections/profile_view.h"
#include "projections/view_set.h"

namespace accountable {

boost::json::value to_json(const Offer& offer);
boost::json::value to_json(const CatalogPage& page);
boost::json::value to_json(const PriceRow& row);
boost::json::value to_json(const PriceQuote& quote);
boost::json::value to_json(const std::optional<PriceQuote>& quote);  // null when there is no price
boost::json::value to_json(const PriceListView& list);
boost::json::value to_json(const std::vector<PriceListView>& lists);
boost::json::value to_json(const std::vector<PriceQuote>& history);
boost::json::value to_json(const PriceDiff& diff);
boost::json::value to_json(const DirectoryUser& user);
boost::json::value to_json(const std::vector<DirectoryUser>& users);
boost::json::value to_json(const PartnerProfileView& profile);
boost::json::value to_json(const ExpiringPage& page);
boost::json::value to_json(const ListingPage& page);  // the public directory: no personal data
boost::json::value to_json(const AuditEntry& entry);
boost::json::value to_json(const AuditPage& page);
boost::json::value to_json(const ViewStatus& status);
boost::json::value to_json(const std::vector<ViewStatus>& statuses);

}  // namespace accountable
