#include "projections/view_csv.h"

#include <cstdio>

#include "projections/view_codec.h"

namespace accountable {
namespace {

constexpr std::string_view kBom = "\xEF\xBB\xBF";

// One cell, quoted when it holds a comma, a quote or a line break (RFC 4180);
// a leading formula character gets an apostrophe first (see the header).
void cell(std::string* out, std::string_view value) {
  std::string v;
  if (!value.empty() && (value[0] == '=' || value[0] == '+' || value[0] == '-' || value[0] == '@' ||
                         value[0] == '\t' || value[0] == '\r')) {
    v.push_back('\'');
  }
  v.append(value);
  if (v.find_first_of(",\"\r\n") == std::string::npos) {
    out->append(v);
    return;
  }
  out->push_back('"');
  for (char c : v) {
    if (c == '"') out->push_back('"');
    out->push_back(c);
  }
  out->push_back('"');
}

// A number cell: never prefixed (a negative price is a number, not a formula).
void number(std::string* out, int64_t micros) { out->append(decimal_from_micros(micros)); }

void row_end(std::string* out) { out->append("\r\n"); }

void header(std::string* out, std::initializer_list<std::string_view> names) {
  bool first = true;
  for (std::string_view n : names) {
    if (!first) out->push_back(',');
    first = false;
    out->append(n);
  }
  row_end(out);
}

// The offer's columns of a row, in the vendor's order, without the prices.
void offer_cells(std::string* out, const PriceRow& r) {
  cell(out, r.offer_display_name);
  out->push_back(',');
  cell(out, r.offer_id);
  out->push_back(',');
  cell(out, enum_text(r.license_agreement_type));
  out->push_back(',');
  cell(out, r.purchase_unit);
  out->push_back(',');
  cell(out, enum_text(r.secondary_license_type));
  out->push_back(',');
  cell(out, enum_text(r.end_customer_type));
}

}  // namespace

std::string year_month_text(int year, int month) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04d-%02d", year, month);
  return buf;
}

std::string decimal_from_micros(int64_t micros) {
  // Magnitude as unsigned, so that INT64_MIN does not overflow.
  const bool negative = micros < 0;
  const uint64_t m = negative ? uint64_t{0} - static_cast<uint64_t>(micros) : static_cast<uint64_t>(micros);
  char frac[8];
  std::snprintf(frac, sizeof frac, "%06llu", static_cast<unsigned long long>(m % 1'000'000));
  std::string f(frac);
  while (f.size() > 2 && f.back() == '0') f.pop_back();
  // Appended piece by piece: `"-" + std::string&&` trips GCC 12's -Wrestrict
  // false positive at -O3 (the Release build of ./scripts/run).
  std::string out(negative ? "-" : "");
  out += std::to_string(m / 1'000'000);
  out += '.';
  out += f;
  return out;
}

std::string price_lists_csv(const std::vector<PriceListView>& lists) {
  std::string out(kBom);
  header(&out, {"Change Code", "Valid From", "Valid To", "Offer Display Name", "Offer ID", "License Agreement Type",
                "Purchase Unit", "Secondary License Type", "End Customer Type", "List Price", "ERP Price", "Market",
                "Currency", "Month", "Billing Model"});
  for (const PriceListView& list : lists) {
    for (const PriceRow& r : list.rows) {
      cell(&out, enum_text(r.change_code));
      out.push_back(',');
      cell(&out, format_timestamp(r.valid_from));
      out.push_back(',');
      cell(&out, format_timestamp(r.valid_to));
      out.push_back(',');
      offer_cells(&out, r);
      out.push_back(',');
      number(&out, r.list_price_micros);
      out.push_back(',');
      number(&out, r.erp_price_micros);
      out.push_back(',');
      cell(&out, list.list.market);
      out.push_back(',');
      cell(&out, list.list.currency);
      out.push_back(',');
      cell(&out, year_month_text(list.list.year, list.list.month));
      out.push_back(',');
      cell(&out, enum_text(list.list.billing_model));
      row_end(&out);
    }
  }
  return out;
}

std::string price_diff_csv(const PriceDiff& d) {
  std::string out(kBom);
  header(&out, {"Difference", "Offer Display Name", "Offer ID", "License Agreement Type", "Purchase Unit",
                "Secondary License Type", "End Customer Type", "List Price Before", "List Price After",
                "ERP Price Before", "ERP Price After", "Valid From", "Valid To", "Market", "Currency", "From Month",
                "To Month"});
  const std::string from = year_month_text(d.from.year, d.from.month), to = year_month_text(d.to.year, d.to.month);
  // `before`/`after` null: the offer was not in that month's list.
  auto line = [&](std::string_view what, const PriceRow* before, const PriceRow* after) {
    const PriceRow& r = after != nullptr ? *after : *before;
    cell(&out, what);
    out.push_back(',');
    offer_cells(&out, r);
    out.push_back(',');
    if (before != nullptr) number(&out, before->list_price_micros);
    out.push_back(',');
    if (after != nullptr) number(&out, after->list_price_micros);
    out.push_back(',');
    if (before != nullptr) number(&out, before->erp_price_micros);
    out.push_back(',');
    if (after != nullptr) number(&out, after->erp_price_micros);
    out.push_back(',');
    cell(&out, format_timestamp(r.valid_from));
    out.push_back(',');
    cell(&out, format_timestamp(r.valid_to));
    out.push_back(',');
    cell(&out, d.market);
    out.push_back(',');
    cell(&out, d.currency);
    out.push_back(',');
    cell(&out, from);
    out.push_back(',');
    cell(&out, to);
    row_end(&out);
  };
  for (const PriceRow& r : d.added) line("added", nullptr, &r);
  for (const PriceChange& c : d.changed) line("changed", &c.before, &c.after);
  for (const PriceRow& r : d.removed) line("removed", &r, nullptr);
  return out;
}

}  // namespace accountable
