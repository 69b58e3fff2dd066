#include "aggregates/catalog.h"

#include <ctime>

#include "aggregates/roles.h"
#include "aggregates/rule_errors.h"
#include "aggregates/validation.h"

namespace accountable {

namespace {

Status check_offer(const Offer& o, const std::string& prefix) {
  ACCT_RETURN_IF_ERROR(check_field(o.offer_id, field_rule<Offer>("offer_id"), prefix + ".offer_id"));
  ACCT_RETURN_IF_ERROR(check_field(o.display_name, field_rule<Offer>("display_name"), prefix + ".display_name"));
  if (!enum_at_most(o.segment, Segment::kGovernment)) return invalid_argument("unknown segment", prefix + ".segment");
  if (!enum_at_most(o.license_agreement_type, LicenseAgreementType::kAcademic)) {
    return invalid_argument("unknown license agreement type", prefix + ".license_agreement_type");
  }
  ACCT_RETURN_IF_ERROR(check_field(o.purchase_unit, field_rule<Offer>("purchase_unit"), prefix + ".purchase_unit"));
  if (!enum_at_most(o.secondary_license_type, SecondaryLicenseType::kTrial)) {
    return invalid_argument("unknown secondary license type", prefix + ".secondary_license_type");
  }
  if (!enum_at_most(o.end_customer_type, EndCustomerType::kStudent)) {
    return invalid_argument("unknown end customer type", prefix + ".end_customer_type");
  }
  if (!enum_at_most(o.billing_model, BillingModel::kUsageBased)) {
    return invalid_argument("unknown billing model", prefix + ".billing_model");
  }
  bool add_on = o.secondary_license_type == SecondaryLicenseType::kAddOn;
  if (add_on && o.base_offer_ids.empty()) {
    return rule_violated(rule::kAddOnBaseOffers, "an add-on must name the base offers it needs", prefix + ".base_offer_ids");
  }
  if (!add_on && !o.base_offer_ids.empty()) {
    return rule_violated(rule::kAddOnBaseOffers, "only an add-on names base offers", prefix + ".base_offer_ids");
  }
  ACCT_RETURN_IF_ERROR(check_list(o.base_offer_ids, field_rule<Offer>("base_offer_ids"),
                                  field_rule<Offer>("base_offer_ids[]"), prefix + ".base_offer_ids"));
  return Status::ok();
}

Status check_base_offers(const CatalogState& s, const Offer& o, const std::string& prefix) {
  for (size_t i = 0; i < o.base_offer_ids.size(); ++i) {
    const std::string& base = o.base_offer_ids[i];
    if (base == o.offer_id || !is_live_offer(s, base)) {
      return rule_violated(rule::kAddOnBaseOffers, "base offer " + base + " is not a live offer of the catalog",
                           prefix + ".base_offer_ids[" + std::to_string(i) + "]");
    }
  }
  return Status::ok();
}

Decision catalog_write(const CatalogState& s, DomainEvent event) {
  return Decision{{StreamWrite{catalog_stream(), expect_version_of(s.version), {std::move(event)}}}};
}

Status check_price_list(const PriceList& p) {
  ACCT_RETURN_IF_ERROR(check_field(p.market, field_rule<PriceList>("market"), "price_list.market"));
  ACCT_RETURN_IF_ERROR(check_field(p.currency, field_rule<PriceList>("currency"), "price_list.currency"));
  ACCT_RETURN_IF_ERROR(check_number(p.year, field_rule<PriceList>("year"), "price_list.year"));
  ACCT_RETURN_IF_ERROR(check_number(p.month, field_rule<PriceList>("month"), "price_list.month"));
  if (!enum_at_most(p.billing_model, BillingModel::kUsageBased)) {
    return invalid_argument("unknown billing model", "price_list.billing_model");
  }
  ACCT_RETURN_IF_ERROR(check_list_size(p.rows.size(), field_rule<PriceList>("rows"), "price_list.rows"));
  for (size_t i = 0; i < p.rows.size(); ++i) {
    const PriceRow& r = p.rows[i];
    std::string f = "price_list.rows[" + std::to_string(i) + "]";
    if (!enum_at_most(r.change_code, ChangeCode::kUnc)) return invalid_argument("unknown change code", f + ".change_code");
    ACCT_RETURN_IF_ERROR(check_field(r.offer_id, field_rule<PriceRow>("offer_id"), f + ".offer_id"));
    ACCT_RETURN_IF_ERROR(check_field(r.offer_display_name, field_rule<PriceRow>("offer_display_name"), f + ".offer_display_name"));
    ACCT_RETURN_IF_ERROR(check_field(r.purchase_unit, field_rule<PriceRow>("purchase_unit"), f + ".purchase_unit"));
    if (r.valid_to < r.valid_from) {
      return rule_violated(rule::kValidityOrder, "must not be before valid_from", f + ".valid_to");
    }
    ACCT_RETURN_IF_ERROR(check_number(r.list_price_micros, field_rule<PriceRow>("list_price_micros"), f + ".list_price_micros"));
    ACCT_RETURN_IF_ERROR(check_number(r.erp_price_micros, field_rule<PriceRow>("erp_price_micros"), f + ".erp_price_micros"));
  }
  return Status::ok();
}

}  // namespace

Timestamp month_start(int year, int month) {
  std::tm tm{};
  tm.tm_year = year - 1900;
  tm.tm_mon = month - 1;
  tm.tm_mday = 1;
  return Timestamp{static_cast<int64_t>(timegm(&tm)) * 1'000'000};
}

Timestamp month_end(int year, int month) { return month == 12 ? month_start(year + 1, 1) : month_start(year, month + 1); }

bool is_live_offer(const CatalogState& s, const std::string& offer_id) {
  auto it = s.offers.find(offer_id);
  return it != s.offers.end() && !it->second.retired;
}

Status check_orderable(const CatalogState& s, const std::string& offer_id, const std::string& market, Timestamp now,
                       const std::string& field) {
  auto it = s.offers.find(offer_id);
  if (it == s.offers.end()) return not_found("offer " + offer_id + " is not in the catalog", field);
  if (it->second.retired) return rule_violated(rule::kOfferOrderable, "offer " + offer_id + " is retired", field);
  for (const PublishedPriceList& p : s.price_lists) {
    const PriceList& l = p.list;
    if (l.market != market || now < month_start(l.year, l.month) || !(now < month_end(l.year, l.month))) continue;
    for (const PriceRow& r : l.rows) {
      if (r.offer_id == offer_id && r.change_code != ChangeCode::kDel && r.valid_from <= now && now <= r.valid_to) {
        return Status::ok();
      }
    }
  }
  return rule_violated(rule::kOfferOrderable,
                       "no price list in effect for market " + market + " lets offer " + offer_id + " be ordered now",
                       field);
}

CatalogState evolve(CatalogState s, const DomainEvent& event) {
  s.version = s.version.next();
  if (const auto* e = std::get_if<OfferPublished>(&event)) {
    s.offers[e->offer.offer_id] = CatalogOffer{e->offer, false};
  } else if (const auto* e2 = std::get_if<OfferUpdated>(&event)) {
    s.offers[e2->offer.offer_id].offer = e2->offer;
  } else if (const auto* e3 = std::get_if<OfferRetired>(&event)) {
    s.offers[e3->offer_id].retired = true;
  } else if (const auto* e4 = std::get_if<PriceListPublished>(&event)) {
    s.price_lists.push_back(PublishedPriceList{e4->price_list, e4->published_at});
  }
  return s;
}

Result<Decision> decide(const CatalogState& s, const PublishOffer& c, const CommandContext& ctx) {
  ACCT_RETURN_IF_ERROR(authorize_command(ctx.actor, PublishOffer::kName, std::nullopt));
  ACCT_RETURN_IF_ERROR(check_offer(c.offer, "offer"));
  if (s.offers.count(c.offer.offer_id)) {
    return conflict("offer " + c.offer.offer_id + " is already in the catalog", "offer.offer_id");
  }
  ACCT_RETURN_IF_ERROR(check_base_offers(s, c.offer, "offer"));
  return catalog_write(s, OfferPublished{c.offer});
}

Result<Decision> decide(const CatalogState& s, const UpdateOffer& c, const CommandContext& ctx) {
  ACCT_RETURN_IF_ERROR(authorize_command(ctx.actor, UpdateOffer::kName, std::nullopt));
  ACCT_RETURN_IF_ERROR(check_offer(c.offer, "offer"));
  auto it = s.offers.find(c.offer.offer_id);
  if (it == s.offers.end()) return not_found("offer " + c.offer.offer_id + " is not in the catalog", "offer.offer_id");
  if (it->second.retired) {
    return rule_violated(rule::kOfferRetired, "a retired offer cannot change", "offer.offer_id");
  }
  ACCT_RETURN_IF_ERROR(check_base_offers(s, c.offer, "offer"));
  return catalog_write(s, OfferUpdated{c.offer});
}

Result<Decision> decide(const CatalogState& s, const RetireOffer& c, const CommandContext& ctx) {
  ACCT_RETURN_IF_ERROR(authorize_command(ctx.actor, RetireOffer::kName, std::nullopt));
  ACCT_RETURN_IF_ERROR(check_field(c.offer_id, field_rule<RetireOffer>("offer_id"), "offer_id"));
  auto it = s.offers.find(c.offer_id);
  if (it == s.offers.end()) return not_found("offer " + c.offer_id + " is not in the catalog", "offer_id");
  if (it->second.retired) return rule_violated(rule::kOfferRetired, "the offer is already retired", "offer_id");
  return catalog_write(s, OfferRetired{c.offer_id, ctx.now});
}

Result<Decision> decide(const CatalogState& s, const PublishPriceList& c, const CommandContext& ctx) {
  ACCT_RETURN_IF_ERROR(authorize_command(ctx.actor, PublishPriceList::kName, std::nullopt));
  const PriceList& p = c.price_list;
  ACCT_RETURN_IF_ERROR(check_price_list(p));
  for (const PublishedPriceList& existing : s.price_lists) {
    const PriceList& e = existing.list;
    if (e.market == p.market && e.currency == p.currency && e.year == p.year && e.month == p.month &&
        e.billing_model == p.billing_model) {
      return conflict("a price list for this market, currency, month and billing model is already published",
                      "price_list");
    }
  }
  for (size_t i = 0; i < p.rows.size(); ++i) {
    const PriceRow& r = p.rows[i];
    auto it = s.offers.find(r.offer_id);
    bool ok = it != s.offers.end() && (!it->second.retired || r.change_code == ChangeCode::kDel);
    if (!ok) {
      return rule_violated(rule::kPriceListOffers, "offer " + r.offer_id + " is not a live offer of the catalog",
                           "price_list.rows[" + std::to_string(i) + "].offer_id");
    }
  }
  Timestamp effective = month_start(p.year, p.month);
  if (p.billing_model == BillingModel::kLicenseBased) {
    // License-based lists are previewed: published at least 30 days before they apply.
    if (plus_days(ctx.now, 30) > effective) {
      return rule_violated(rule::kPriceListPreview,
                           "a license-based price list must be published at least 30 days before its month",
                           "price_list.month");
    }
  } else if (ctx.now < effective || !(ctx.now < month_end(p.year, p.month))) {
    // Usage-based prices are dynamic: no preview, published within their month.
    return rule_violated(rule::kUsagePriceListCurrentMonth, "a usage-based price list is published in its own month",
                         "price_list.month");
  }
  return catalog_write(s, PriceListPublished{p, ctx.now});
}

}  // namespace accountable
