#include "projections/pricing_view.h"

#include <ctime>
#include <map>

#include "aggregates/catalog.h"
#include "projections/view_codec.h"

namespace accountable {

namespace {

constexpr std::string_view kListColumns =
    "l.position, l.market, l.currency, l.year, l.month, l.billing_model, l.published_at";
constexpr std::string_view kPricingRowColumns =
    "r.row_index, r.change_code, r.valid_from, r.valid_to, r.offer_display_name, r.offer_id, "
    "r.license_agreement_type, r.purchase_unit, r.secondary_license_type, r.end_customer_type, "
    "r.list_price_micros, r.erp_price_micros";

PriceListHeader header_from_row(const Statement& s, int first) {
  PriceListHeader h;
  h.position = GlobalPosition(static_cast<uint64_t>(s.column_int(first)));
  h.market = s.column_text(first + 1);
  h.currency = s.column_text(first + 2);
  h.year = static_cast<int>(s.column_int(first + 3));
  h.month = static_cast<int>(s.column_int(first + 4));
  h.billing_model = enum_from_text<BillingModel>(s.column_text(first + 5)).value_or(BillingModel::kLicenseBased);
  h.published_at = s.column_time(first + 6);
  return h;
}

// Reads kPricingRowColumns from `first`; returns the row index.
int row_from_row(const Statement& s, int first, PriceRow* r) {
  r->change_code = enum_from_text<ChangeCode>(s.column_text(first + 1)).value_or(ChangeCode::kAdd);
  r->valid_from = s.column_time(first + 2);
  r->valid_to = s.column_time(first + 3);
  r->offer_display_name = s.column_text(first + 4);
  r->offer_id = s.column_text(first + 5);
  r->license_agreement_type =
      enum_from_text<LicenseAgreementType>(s.column_text(first + 6)).value_or(LicenseAgreementType::kCorporate);
  r->purchase_unit = s.column_text(first + 7);
  r->secondary_license_type =
      enum_from_text<SecondaryLicenseType>(s.column_text(first + 8)).value_or(SecondaryLicenseType::kNonSpecific);
  r->end_customer_type = enum_from_text<EndCustomerType>(s.column_text(first + 9)).value_or(EndCustomerType::kCorporate);
  r->list_price_micros = s.column_int(first + 10);
  r->erp_price_micros = s.column_int(first + 11);
  return static_cast<int>(s.column_int(first));
}

bool same_offer_terms(const PriceRow& a, const PriceRow& b) {
  return a.list_price_micros == b.list_price_micros && a.erp_price_micros == b.erp_price_micros &&
         a.offer_display_name == b.offer_display_name && a.license_agreement_type == b.license_agreement_type &&
         a.purchase_unit == b.purchase_unit && a.secondary_license_type == b.secondary_license_type &&
         a.end_customer_type == b.end_customer_type;
}

// The effective row per offer of a month: rows in publication order; a DEL row removes the offer.
std::map<std::string, PriceRow> effective_rows(const std::vector<PriceListView>& lists) {
  std::map<std::string, PriceRow> rows;
  for (const PriceListView& l : lists) {
    for (const PriceRow& r : l.rows) {
      if (r.change_code == ChangeCode::kDel) {
        rows.erase(r.offer_id);
      } else {
        rows[r.offer_id] = r;
      }
    }
  }
  return rows;
}

}  // namespace

YearMonth month_of(Timestamp t) {
  int64_t seconds = t.micros / 1'000'000;
  if (t.micros % 1'000'000 < 0) --seconds;  // floor, for times before 1970
  const time_t s = static_cast<time_t>(seconds);
  std::tm tm{};
  gmtime_r(&s, &tm);
  return YearMonth{tm.tm_year + 1900, tm.tm_mon + 1};
}

YearMonth next_month(YearMonth m) { return m.month == 12 ? YearMonth{m.year + 1, 1} : YearMonth{m.year, m.month + 1}; }

std::vector<std::string> PricingView::schema() const {
  return {
      // One row per published list; `position` (of its event) is its id.
      "CREATE TABLE price_list("
      "position INTEGER PRIMARY KEY, market TEXT NOT NULL, currency TEXT NOT NULL, year INTEGER NOT NULL, "
      "month INTEGER NOT NULL, billing_model TEXT NOT NULL, published_at INTEGER NOT NULL, "
      "month_start INTEGER NOT NULL, month_end INTEGER NOT NULL)",
      "CREATE TABLE price_row("
      "position INTEGER NOT NULL, row_index INTEGER NOT NULL, change_code TEXT NOT NULL, "
      "valid_from INTEGER NOT NULL, valid_to INTEGER NOT NULL, offer_display_name TEXT NOT NULL, "
      "offer_id TEXT NOT NULL, license_agreement_type TEXT NOT NULL, purchase_unit TEXT NOT NULL, "
      "secondary_license_type TEXT NOT NULL, end_customer_type TEXT NOT NULL, "
      "list_price_micros INTEGER NOT NULL, erp_price_micros INTEGER NOT NULL, "
      "PRIMARY KEY(position, row_index)) WITHOUT ROWID",
  };
}

std::vector<std::string> PricingView::indexes() const {
  return {
      "CREATE INDEX price_list_by_month ON price_list(market, year, month, currency)",
      "CREATE INDEX price_row_by_offer ON price_row(offer_id, position)",
  };
}

Status PricingView::prepare(Db& db) {
  auto list = db.prepare(
      "INSERT INTO price_list(position, market, currency, year, month, billing_model, published_at, month_start, "
      "month_end) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)");
  if (!list) return list.status();
  auto row = db.prepare(
      "INSERT INTO price_row(position, row_index, change_code, valid_from, valid_to, offer_display_name, offer_id, "
      "license_agreement_type, purchase_unit, secondary_license_type, end_customer_type, list_price_micros, "
      "erp_price_micros) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)");
  if (!row) return row.status();
  insert_list_ = std::move(*list);
  insert_row_ = std::move(*row);
  return Status::ok();
}

Status PricingView::apply(const ViewEvent& event) {
  if (event.record().type != PriceListPublished::kType) return Status::ok();
  auto decoded = event.decoded();
  if (!decoded) return decoded.status();
  if (*decoded == nullptr) return Status::ok();
  const auto* published = std::get_if<PriceListPublished>(*decoded);
  if (published == nullptr) return Status::ok();
  const PriceList& l = published->price_list;
  const auto position = static_cast<int64_t>(event.record().position.value());
  insert_list_->bind_int(1, position)
      .bind_text(2, l.market)
      .bind_text(3, l.currency)
      .bind_int(4, l.year)
      .bind_int(5, l.month)
      .bind_text(6, enum_text(l.billing_model))
      .bind_time(7, published->published_at)
      .bind_time(8, month_start(l.year, l.month))
      .bind_time(9, month_end(l.year, l.month));
  ACCT_RETURN_IF_ERROR(insert_list_->run());
  for (size_t i = 0; i < l.rows.size(); ++i) {
    const PriceRow& r = l.rows[i];
    insert_row_->bind_int(1, position)
        .bind_int(2, static_cast<int64_t>(i))
        .bind_text(3, enum_text(r.change_code))
        .bind_time(4, r.valid_from)
        .bind_time(5, r.valid_to)
        .bind_text(6, r.offer_display_name)
        .bind_text(7, r.offer_id)
        .bind_text(8, enum_text(r.license_agreement_type))
        .bind_text(9, r.purchase_unit)
        .bind_text(10, enum_text(r.secondary_license_type))
        .bind_text(11, enum_text(r.end_customer_type))
        .bind_int(12, r.list_price_micros)
        .bind_int(13, r.erp_price_micros);
    ACCT_RETURN_IF_ERROR(insert_row_->run());
  }
  return Status::ok();
}

Result<std::optional<PriceQuote>> PricingView::price(Db& db, const std::string& offer_id, const std::string& market,
                                                     const std::string& currency, Timestamp date) {
  auto s = db.prepare("SELECT " + std::string(kListColumns) + ", " + std::string(kPricingRowColumns) +
                      " FROM price_row r JOIN price_list l ON l.position = r.position"
                      " WHERE r.offer_id = ?1 AND l.market = ?2 AND l.currency = ?3"
                      " AND l.month_start <= ?4 AND ?4 < l.month_end"
                      " AND r.change_code <> 'DEL' AND r.valid_from <= ?4 AND ?4 <= r.valid_to"
                      " ORDER BY l.position DESC, r.row_index DESC LIMIT 1");
  if (!s) return s.status();
  (*s)->bind_text(1, offer_id).bind_text(2, market).bind_text(3, currency).bind_time(4, date);
  auto row = (*s)->step();
  if (!row) return row.status();
  if (!*row) return std::optional<PriceQuote>();
  PriceQuote q;
  q.list = header_from_row(**s, 0);
  q.row_index = row_from_row(**s, 7, &q.row);
  return std::optional<PriceQuote>(std::move(q));
}

Result<std::vector<PriceListView>> PricingView::lists_of_month(Db& db, const std::string& market, YearMonth month,
                                                               const std::string& currency) {
  auto s = db.prepare("SELECT " + std::string(kListColumns) + ", " + std::string(kPricingRowColumns) +
                      " FROM price_list l JOIN price_row r ON r.position = l.position"
                      " WHERE l.market = ?1 AND l.year = ?2 AND l.month = ?3 AND (?4 = '' OR l.currency = ?4)"
                      " ORDER BY l.position, r.row_index");
  if (!s) return s.status();
  (*s)->bind_text(1, market).bind_int(2, month.year).bind_int(3, month.month).bind_text(4, currency);
  std::vector<PriceListView> lists;
  while (true) {
    auto row = (*s)->step();
    if (!row) return row.status();
    if (!*row) break;
    PriceListHeader h = header_from_row(**s, 0);
    if (lists.empty() || lists.back().list.position != h.position) lists.push_back(PriceListView{std::move(h), {}});
    PriceRow r;
    row_from_row(**s, 7, &r);
    lists.back().rows.push_back(std::move(r));
  }
  return lists;
}

Result<std::vector<PriceListView>> PricingView::current_list(Db& db, const std::string& market, Timestamp date,
                                                             const std::string& currency) {
  return lists_of_month(db, market, month_of(date), currency);
}

Result<std::vector<PriceListView>> PricingView::preview(Db& db, const std::string& market, Timestamp date,
                                                        const std::string& currency) {
  return lists_of_month(db, market, next_month(month_of(date)), currency);
}

Result<std::vector<PriceQuote>> PricingView::history(Db& db, const std::string& offer_id, const std::string& market,
                                                     const std::string& currency) {
  auto s = db.prepare("SELECT " + std::string(kListColumns) + ", " + std::string(kPricingRowColumns) +
                      " FROM price_row r JOIN price_list l ON l.position = r.position"
                      " WHERE r.offer_id = ?1 AND (?2 = '' OR l.market = ?2) AND (?3 = '' OR l.currency = ?3)"
                      " ORDER BY l.year, l.month, l.position, r.row_index");
  if (!s) return s.status();
  (*s)->bind_text(1, offer_id).bind_text(2, market).bind_text(3, currency);
  std::vector<PriceQuote> out;
  while (true) {
    auto row = (*s)->step();
    if (!row) return row.status();
    if (!*row) break;
    PriceQuote q;
    q.list = header_from_row(**s, 0);
    q.row_index = row_from_row(**s, 7, &q.row);
    out.push_back(std::move(q));
  }
  return out;
}

Result<PriceDiff> PricingView::diff(Db& db, const std::string& market, const std::string& currency, YearMonth from,
                                    YearMonth to) {
  auto before_lists = lists_of_month(db, market, from, currency);
  if (!before_lists) return before_lists.status();
  auto after_lists = lists_of_month(db, market, to, currency);
  if (!after_lists) return after_lists.status();
  const auto before = effective_rows(*before_lists);
  const auto after = effective_rows(*after_lists);
  PriceDiff d;
  d.market = market;
  d.currency = currency;
  d.from = from;
  d.to = to;
  for (const auto& [offer, row] : after) {
    auto it = before.find(offer);
    if (it == before.end()) {
      d.added.push_back(row);
    } else if (!same_offer_terms(it->second, row)) {
      d.changed.push_back(PriceChange{it->second, row});
    }
  }
  for (const auto& [offer, row] : before) {
    if (!after.count(offer)) d.removed.push_back(row);
  }
  return d;
}

}  // namespace accountable
