// The CSV form of the price list answers (GET /v1/pricing/{market}/{currency}
// with `Accept: text/csv` or `format=csv`; docs/views.md, "Price lists as CSV").
//
// For spreadsheet tools: UTF-8 with a byte order mark, CRLF line ends, RFC 4180
// quoting, one header row. The row columns follow the vendor's price list (the
// order of DOMAIN.md, "Price lists"); prices are decimal numbers in the list's
// currency (the JSON's integer micros / 1,000,000), times RFC 3339 as in the
// JSON. A text cell that a spreadsheet would run as a formula (one starting
// with =, +, -, @, tab or carriage return) is written with a leading apostrophe,
// so that a hostile offer name cannot run in the reader's spreadsheet.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "projections/pricing_view.h"

namespace accountable {

inline constexpr std::string_view kCsvContentType = "text/csv; charset=utf-8";

// Each list's rows in the list's order, after one header row. The last
// columns say which list a row is from (one month may have a license-based
// and a usage-based list).
std::string price_lists_csv(const std::vector<PriceListView>& lists);

// One row per offer added, changed or removed between the two months, with the
// prices before (empty for an added offer) and after (empty for a removed one).
std::string price_diff_csv(const PriceDiff& diff);

// "YYYY-MM", as the CSV's month columns and the download's file name write a month.
std::string year_month_text(int year, int month);

// A price in micros as a decimal: 10500000 -> "10.50", -1 -> "-0.000001"
// (at least two decimals, at most six, no trailing zeros past the second).
std::string decimal_from_micros(int64_t micros);

}  // namespace accountable
