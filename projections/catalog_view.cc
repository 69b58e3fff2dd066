#include "projections/catalog_view.h"

#include <set>

#include "aggregates/catalog.h"
#include "projections/view_codec.h"

namespace accountable {

namespace {

// Columns of `offer` in the order offer_from_row reads them.
constexpr std::string_view kOfferColumns =
    "o.offer_id, o.display_name, o.segment, o.license_agreement_type, o.purchase_unit, "
    "o.secondary_license_type, o.base_offer_ids, o.end_customer_type, o.billing_model";

Offer offer_from_row(const Statement& s, int first) {
  Offer o;
  o.offer_id = s.column_text(first);
  o.display_name = s.column_text(first + 1);
  o.segment = enum_from_text<Segment>(s.column_text(first + 2)).value_or(Segment::kEnterprise);
  o.license_agreement_type =
      enum_from_text<LicenseAgreementType>(s.column_text(first + 3)).value_or(LicenseAgreementType::kCorporate);
  o.purchase_unit = s.column_text(first + 4);
  o.secondary_license_type =
      enum_from_text<SecondaryLicenseType>(s.column_text(first + 5)).value_or(SecondaryLicenseType::kNonSpecific);
  o.base_offer_ids = string_list_from_text(s.column_text(first + 6));
  o.end_customer_type = enum_from_text<EndCustomerType>(s.column_text(first + 7)).value_or(EndCustomerType::kCorporate);
  o.billing_model = enum_from_text<BillingModel>(s.column_text(first + 8)).value_or(BillingModel::kLicenseBased);
  return o;
}

void bind_offer(Statement& s, const Offer& o) {
  s.bind_text(1, o.offer_id)
      .bind_text(2, o.display_name)
      .bind_text(3, enum_text(o.segment))
      .bind_text(4, enum_text(o.license_agreement_type))
      .bind_text(5, o.purchase_unit)
      .bind_text(6, enum_text(o.secondary_license_type))
      .bind_text(7, string_list_text(o.base_offer_ids))
      .bind_text(8, enum_text(o.end_customer_type))
      .bind_text(9, enum_text(o.billing_model));
}

}  // namespace

std::vector<std::string> CatalogView::schema() const {
  return {
      // The operator's offers; `retired` is the current state.
      "CREATE TABLE offer("
      "offer_id TEXT PRIMARY KEY, display_name TEXT NOT NULL, segment TEXT NOT NULL, "
      "license_agreement_type TEXT NOT NULL, purchase_unit TEXT NOT NULL, secondary_license_type TEXT NOT NULL, "
      "base_offer_ids TEXT NOT NULL, end_customer_type TEXT NOT NULL, billing_model TEXT NOT NULL, "
      "retired INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID",
      // When each offer may be ordered in each market: one row per non-DEL price
      // row, its validity clipped to its list's month.
      "CREATE TABLE orderable_window("
      "list_position INTEGER NOT NULL, row_index INTEGER NOT NULL, market TEXT NOT NULL, offer_id TEXT NOT NULL, "
      "valid_from INTEGER NOT NULL, valid_to INTEGER NOT NULL, PRIMARY KEY(list_position, row_index)) WITHOUT ROWID",
      // Each partner's market: the country of its legal address (it never changes).
      "CREATE TABLE partner(partner_id TEXT PRIMARY KEY, market TEXT NOT NULL) WITHOUT ROWID",
      "CREATE TABLE pin(partner_id TEXT NOT NULL, rank INTEGER NOT NULL, offer_id TEXT NOT NULL, "
      "PRIMARY KEY(partner_id, rank)) WITHOUT ROWID",
  };
}

std::vector<std::string> CatalogView::indexes() const {
  return {
      "CREATE INDEX orderable_window_by_offer ON orderable_window(market, offer_id, valid_from)",
  };
}

Status CatalogView::prepare(Db& db) {
  struct Entry {
    std::unique_ptr<Statement>* out;
    std::string_view sql;
  };
  const Entry entries[] = {
      {&upsert_offer_,
       "INSERT INTO offer(offer_id, display_name, segment, license_agreement_type, purchase_unit, "
       "secondary_license_type, base_offer_ids, end_customer_type, billing_model, retired) "
       "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 0) ON CONFLICT(offer_id) DO UPDATE SET "
       "display_name = ?2, segment = ?3, license_agreement_type = ?4, purchase_unit = ?5, "
       "secondary_license_type = ?6, base_offer_ids = ?7, end_customer_type = ?8, billing_model = ?9"},
      {&retire_offer_, "UPDATE offer SET retired = 1 WHERE offer_id = ?1"},
      {&insert_window_,
       "INSERT INTO orderable_window(list_position, row_index, market, offer_id, valid_from, valid_to) "
       "VALUES (?1, ?2, ?3, ?4, ?5, ?6)"},
      {&insert_partner_, "INSERT OR REPLACE INTO partner(partner_id, market) VALUES (?1, ?2)"},
      {&select_pins_, "SELECT offer_id FROM pin WHERE partner_id = ?1 ORDER BY rank"},
      {&delete_pins_, "DELETE FROM pin WHERE partner_id = ?1"},
      {&insert_pin_, "INSERT INTO pin(partner_id, rank, offer_id) VALUES (?1, ?2, ?3)"},
  };
  for (const Entry& e : entries) {
    auto s = db.prepare(e.sql);
    if (!s) return s.status();
    *e.out = std::move(*s);
  }
  return Status::ok();
}

Result<std::vector<std::string>> CatalogView::pins_of(const std::string& partner) {
  std::vector<std::string> pins;
  select_pins_->bind_text(1, partner);
  while (true) {
    auto row = select_pins_->step();
    if (!row) {
      select_pins_->reset();
      return row.status();
    }
    if (!*row) break;
    pins.push_back(select_pins_->column_text(0));
  }
  select_pins_->reset();
  return pins;
}

Status CatalogView::set_pins(const std::string& partner, const std::vector<std::string>& offers) {
  delete_pins_->bind_text(1, partner);
  ACCT_RETURN_IF_ERROR(delete_pins_->run());
  for (size_t i = 0; i < offers.size(); ++i) {
    insert_pin_->bind_text(1, partner).bind_int(2, static_cast<int64_t>(i)).bind_text(3, offers[i]);
    ACCT_RETURN_IF_ERROR(insert_pin_->run());
  }
  return Status::ok();
}

Status CatalogView::apply(const ViewEvent& event) {
  const std::string_view type = event.record().type;
  const bool wanted = type == OfferPublished::kType || type == OfferUpdated::kType || type == OfferRetired::kType ||
                      type == PriceListPublished::kType || type == PartnerEnrolled::kType ||
                      type == OfferPinned::kType || type == OfferUnpinned::kType || type == PinsReordered::kType;
  if (!wanted) return Status::ok();
  auto decoded = event.decoded();
  if (!decoded) return decoded.status();
  const DomainEvent* e = *decoded;
  if (e == nullptr) return Status::ok();

  if (const auto* published = std::get_if<OfferPublished>(e)) {
    bind_offer(*upsert_offer_, published->offer);
    return upsert_offer_->run();
  }
  if (const auto* updated = std::get_if<OfferUpdated>(e)) {
    bind_offer(*upsert_offer_, updated->offer);
    return upsert_offer_->run();
  }
  if (const auto* retired = std::get_if<OfferRetired>(e)) {
    retire_offer_->bind_text(1, retired->offer_id);
    return retire_offer_->run();
  }
  if (const auto* prices = std::get_if<PriceListPublished>(e)) {
    const PriceList& list = prices->price_list;
    const Timestamp month_first = month_start(list.year, list.month);
    const Timestamp month_last{month_end(list.year, list.month).micros - 1};
    for (size_t i = 0; i < list.rows.size(); ++i) {
      const PriceRow& row = list.rows[i];
      if (row.change_code == ChangeCode::kDel) continue;
      const Timestamp from = std::max(row.valid_from, month_first);
      const Timestamp to = std::min(row.valid_to, month_last);
      if (to < from) continue;  // the row's validity lies outside its list's month
      insert_window_->bind_int(1, static_cast<int64_t>(event.record().position.value()))
          .bind_int(2, static_cast<int64_t>(i))
          .bind_text(3, list.market)
          .bind_text(4, row.offer_id)
          .bind_time(5, from)
          .bind_time(6, to);
      ACCT_RETURN_IF_ERROR(insert_window_->run());
    }
    return Status::ok();
  }
  if (const auto* enrolled = std::get_if<PartnerEnrolled>(e)) {
    insert_partner_->bind_text(1, enrolled->partner_id.to_string()).bind_text(2, enrolled->legal.address.country);
    return insert_partner_->run();
  }

  // Pins: the partner is the stream's.
  auto partner_id = partner_of_stream(event.record().stream);
  if (!partner_id) return Status::ok();
  const std::string partner = partner_id->to_string();
  auto pins = pins_of(partner);
  if (!pins) return pins.status();
  if (const auto* pinned = std::get_if<OfferPinned>(e)) {
    pins->push_back(pinned->offer_id);
  } else if (const auto* unpinned = std::get_if<OfferUnpinned>(e)) {
    std::erase(*pins, unpinned->offer_id);
  } else if (const auto* reordered = std::get_if<PinsReordered>(e)) {
    *pins = reordered->offer_ids;
  }
  return set_pins(partner, *pins);
}

Result<CatalogPage> CatalogView::query(Db& db, const PartnerId& partner, Timestamp date, const CatalogFilter& filter) {
  return query(db, db, partner, date, filter);
}

Result<CatalogPage> CatalogView::query(Db& partner_db, Db& catalog_db, const PartnerId& partner, Timestamp date,
                                       const CatalogFilter& filter) {
  CatalogPage page;
  page.partner_id = partner;
  page.date = date;
  const std::string partner_text = partner.to_string();
  // The partner's side: its market and its pins, in its order.
  std::vector<std::pair<int, std::string>> pins;
  {
    auto market = partner_db.prepare("SELECT market FROM partner WHERE partner_id = ?1");
    if (!market) return market.status();
    (*market)->bind_text(1, partner_text);
    auto row = (*market)->step();
    if (!row) return row.status();
    if (!*row) return not_found("partner " + partner_text + " is not in the catalog view", "partner_id");
    page.market = (*market)->column_text(0);
    auto pinned = partner_db.prepare("SELECT rank, offer_id FROM pin WHERE partner_id = ?1 ORDER BY rank");
    if (!pinned) return pinned.status();
    (*pinned)->bind_text(1, partner_text);
    while (true) {
      auto next = (*pinned)->step();
      if (!next) return next.status();
      if (!*next) break;
      pins.emplace_back(static_cast<int>((*pinned)->column_int(0)), (*pinned)->column_text(1));
    }
  }
  // The catalog's side: offers and the price windows that make them orderable.
  // ?1 market, ?2 date, ?3 offer id (pins), ?4 segment, ?5 billing model.
  auto bind_filter = [&](Statement& s) {
    s.bind_text(1, page.market).bind_time(2, date);
    if (filter.segment) s.bind_text(4, enum_text(*filter.segment));
    if (filter.billing_model) s.bind_text(5, enum_text(*filter.billing_model));
  };
  constexpr std::string_view kOrderable =
      "EXISTS (SELECT 1 FROM orderable_window w WHERE w.market = ?1 AND w.offer_id = o.offer_id "
      "AND w.valid_from <= ?2 AND w.valid_to >= ?2)";
  constexpr std::string_view kFilter = "(?4 IS NULL OR o.segment = ?4) AND (?5 IS NULL OR o.billing_model = ?5)";
  std::set<std::string> pinned_ids;
  {
    auto offer = catalog_db.prepare("SELECT o.retired, " + std::string(kOrderable) + ", " +
                                    std::string(kOfferColumns) + " FROM offer o WHERE o.offer_id = ?3 AND " +
                                    std::string(kFilter));
    if (!offer) return offer.status();
    for (const auto& [rank, offer_id] : pins) {
      pinned_ids.insert(offer_id);
      (*offer)->reset();
      bind_filter(**offer);
      (*offer)->bind_text(3, offer_id);
      auto row = (*offer)->step();
      if (!row) return row.status();
      if (!*row) continue;  // filtered out (or not in the catalog)
      PinnedCatalogOffer pin;
      pin.rank = rank;
      const bool retired = (*offer)->column_int(0) != 0;
      const bool orderable = (*offer)->column_int(1) != 0;
      pin.offer = offer_from_row(**offer, 2);
      pin.available = !retired && orderable;
      if (retired) {
        pin.unavailable_reason = "retired";
      } else if (!orderable) {
        pin.unavailable_reason = "not orderable on this date";
      }
      page.pinned.push_back(std::move(pin));
    }
  }
  {
    auto offers = catalog_db.prepare("SELECT " + std::string(kOfferColumns) + " FROM offer o WHERE o.retired = 0 AND " +
                                     std::string(kOrderable) + " AND " + std::string(kFilter) +
                                     " ORDER BY o.display_name, o.offer_id");
    if (!offers) return offers.status();
    bind_filter(**offers);
    CatalogSegment groups[3] = {{Segment::kEnterprise, {}}, {Segment::kSmallBusiness, {}}, {Segment::kGovernment, {}}};
    while (true) {
      auto row = (*offers)->step();
      if (!row) return row.status();
      if (!*row) break;
      Offer o = offer_from_row(**offers, 0);
      if (pinned_ids.count(o.offer_id) != 0) continue;  // shown among the pins
      const auto index = static_cast<size_t>(o.segment);
      if (index < 3) groups[index].offers.push_back(std::move(o));
    }
    for (CatalogSegment& g : groups) {
      if (!g.offers.empty()) page.segments.push_back(std::move(g));
    }
  }
  return page;
}

}  // namespace accountable
