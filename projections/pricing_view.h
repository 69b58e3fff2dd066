// Price lists as published by the operator (view "pricing").
//
// A list is identified by the position of its PriceListPublished event; it is
// in effect for its calendar month (UTC). Questions:
//  - price: the list and ERP price of an offer in a market and currency on a
//    date: a non-DEL row for the offer, in a list of that market and currency
//    whose month contains the date, whose [valid_from, valid_to] contains the
//    date. If several rows qualify, the one published last wins (then the
//    later row of that list);
//  - current list: every list (both billing models) of a market in effect in
//    the date's month, with all its rows as published;
//  - preview: the lists of the month after the date's (license-based lists are
//    published 30 days ahead);
//  - history: every row of an offer, oldest month first;
//  - diff between two months of a market and currency: rows are compared by
//    offer id (the last non-DEL row of each offer in either month's lists);
//    added, removed, and changed when a price, the display name, or one of the
//    license fields differs (validity dates move every month and are ignored).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "projections/projection.h"

namespace accountable {

struct PriceListHeader {
  GlobalPosition position;  // of its PriceListPublished event: the list's id
  std::string market;
  std::string currency;
  int year = 0;
  int month = 0;
  BillingModel billing_model = BillingModel::kLicenseBased;
  Timestamp published_at;
  friend bool operator==(const PriceListHeader&, const PriceListHeader&) = default;
};

struct PriceQuote {
  PriceListHeader list;
  int row_index = 0;
  PriceRow row;
  friend bool operator==(const PriceQuote&, const PriceQuote&) = default;
};

struct PriceListView {
  PriceListHeader list;
  std::vector<PriceRow> rows;
  friend bool operator==(const PriceListView&, const PriceListView&) = default;
};

struct YearMonth {
  int year = 0;
  int month = 0;
  friend auto operator<=>(const YearMonth&, const YearMonth&) = default;
};

struct PriceChange {
  PriceRow before;
  PriceRow after;
  friend bool operator==(const PriceChange&, const PriceChange&) = default;
};

struct PriceDiff {
  std::string market;
  std::string currency;
  YearMonth from, to;
  std::vector<PriceRow> added;      // by offer id
  std::vector<PriceChange> changed;
  std::vector<PriceRow> removed;
  friend bool operator==(const PriceDiff&, const PriceDiff&) = default;
};

class PricingView final : public Projection {
 public:
  static constexpr std::string_view kName = "pricing";
  static constexpr int kVersion = 1;

  std::string_view name() const override { return kName; }
  int version() const override { return kVersion; }
  std::vector<std::string> schema() const override;
  std::vector<std::string> indexes() const override;
  Status prepare(Db& db) override;
  Status apply(const ViewEvent& event) override;

  static Result<std::optional<PriceQuote>> price(Db& db, const std::string& offer_id, const std::string& market,
                                                 const std::string& currency, Timestamp date);
  // Empty currency: every currency of the market.
  static Result<std::vector<PriceListView>> lists_of_month(Db& db, const std::string& market, YearMonth month,
                                                           const std::string& currency);
  static Result<std::vector<PriceListView>> current_list(Db& db, const std::string& market, Timestamp date,
                                                         const std::string& currency);
  static Result<std::vector<PriceListView>> preview(Db& db, const std::string& market, Timestamp date,
                                                    const std::string& currency);
  // Empty market or currency: any.
  static Result<std::vector<PriceQuote>> history(Db& db, const std::string& offer_id, const std::string& market,
                                                 const std::string& currency);
  static Result<PriceDiff> diff(Db& db, const std::string& market, const std::string& currency, YearMonth from,
                                YearMonth to);

 private:
  std::unique_ptr<Statement> insert_list_, insert_row_;
};

// The calendar month (UTC) that contains `t`, and the one after it.
YearMonth month_of(Timestamp t);
YearMonth next_month(YearMonth m);

}  // namespace accountable
