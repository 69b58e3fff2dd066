#include "projections/view_json.h"

#include <boost/json.hpp>

#include "projections/view_codec.h"

namespace accountable {

namespace json = boost::json;

namespace {

json::value time_json(Timestamp t) { return json::value(format_timestamp(t)); }
json::value optional_time_json(const std::optional<Timestamp>& t) { return t ? time_json(*t) : json::value(nullptr); }

template <class T>
json::array array_of(const std::vector<T>& items) {
  json::array a;
  a.reserve(items.size());
  for (const T& item : items) a.push_back(to_json(item));
  return a;
}

json::array strings(const std::vector<std::string>& items) {
  json::array a;
  for (const auto& s : items) a.emplace_back(json_view(s));
  return a;
}

template <class T>
json::value personal_json(const Personal<T>& p) {
  if (p.erased) return "erased";
  if constexpr (std::is_same_v<T, ContactDetails>) {
    return contact_json(p.value);
  } else {
    return json::value(json_view(p.value));
  }
}

json::value header_json(const PriceListHeader& h) {
  return json::object{{"list_position", h.position.value()},
                      {"market", json_view(h.market)},
                      {"currency", json_view(h.currency)},
                      {"year", h.year},
                      {"month", h.month},
                      {"billing_model", json_view(enum_text(h.billing_model))},
                      {"published_at", time_json(h.published_at)}};
}

json::value status_json(const Status& s) {
  if (s.is_ok()) return nullptr;
  json::object o{{"code", json_view(status_code_name(s.code()))}, {"message", json_view(s.message())}};
  if (!s.field().empty()) o["field"] = json_view(s.field());
  return o;
}

}  // namespace

json::value to_json(const Offer& o) {
  return json::object{{"offer_id", json_view(o.offer_id)},
                      {"display_name", json_view(o.display_name)},
                      {"segment", json_view(enum_text(o.segment))},
                      {"license_agreement_type", json_view(enum_text(o.license_agreement_type))},
                      {"purchase_unit", json_view(o.purchase_unit)},
                      {"secondary_license_type", json_view(enum_text(o.secondary_license_type))},
                      {"base_offer_ids", strings(o.base_offer_ids)},
                      {"end_customer_type", json_view(enum_text(o.end_customer_type))},
                      {"billing_model", json_view(enum_text(o.billing_model))}};
}

json::value to_json(const CatalogPage& page) {
  json::array pinned;
  for (const PinnedCatalogOffer& p : page.pinned) {
    json::object o = to_json(p.offer).as_object();
    o["rank"] = p.rank;
    o["available"] = p.available;
    if (!p.available) o["unavailable_reason"] = json_view(p.unavailable_reason);
    pinned.push_back(std::move(o));
  }
  json::array segments;
  for (const CatalogSegment& s : page.segments) {
    segments.push_back(json::object{{"segment", json_view(enum_text(s.segment))}, {"offers", array_of(s.offers)}});
  }
  return json::object{{"partner_id", page.partner_id.to_string()},
                      {"market", json_view(page.market)},
                      {"date", time_json(page.date)},
                      {"pinned", std::move(pinned)},
                      {"segments", std::move(segments)}};
}

json::value to_json(const PriceRow& r) {
  return json::object{{"change_code", json_view(enum_text(r.change_code))},
                      {"valid_from", time_json(r.valid_from)},
                      {"valid_to", time_json(r.valid_to)},
                      {"offer_display_name", json_view(r.offer_display_name)},
                      {"offer_id", json_view(r.offer_id)},
                      {"license_agreement_type", json_view(enum_text(r.license_agreement_type))},
                      {"purchase_unit", json_view(r.purchase_unit)},
                      {"secondary_license_type", json_view(enum_text(r.secondary_license_type))},
                      {"end_customer_type", json_view(enum_text(r.end_customer_type))},
                      {"list_price_micros", r.list_price_micros},
                      {"erp_price_micros", r.erp_price_micros}};
}

json::value to_json(const PriceQuote& q) {
  return json::object{{"list", header_json(q.list)}, {"row_index", q.row_index}, {"row", to_json(q.row)}};
}

json::value to_json(const std::optional<PriceQuote>& q) { return q ? to_json(*q) : json::value(nullptr); }

json::value to_json(const PriceListView& l) {
  return json::object{{"list", header_json(l.list)}, {"rows", array_of(l.rows)}};
}

json::value to_json(const std::vector<PriceListView>& lists) { return array_of(lists); }
json::value to_json(const std::vector<PriceQuote>& history) { return array_of(history); }

json::value to_json(const PriceDiff& d) {
  json::array changed;
  for (const PriceChange& c : d.changed) {
    changed.push_back(json::object{{"before", to_json(c.before)}, {"after", to_json(c.after)}});
  }
  return json::object{{"market", json_view(d.market)},
                      {"currency", json_view(d.currency)},
                      {"from", json::object{{"year", d.from.year}, {"month", d.from.month}}},
                      {"to", json::object{{"year", d.to.year}, {"month", d.to.month}}},
                      {"added", array_of(d.added)},
                      {"changed", std::move(changed)},
                      {"removed", array_of(d.removed)}};
}

json::value to_json(const DirectoryUser& u) {
  json::array roles;
  for (Role r : u.roles) roles.emplace_back(json_view(enum_text(r)));
  json::object o{{"user_id", u.user_id.to_string()}, {"partner_id", u.partner_id.to_string()},
                 {"status", json_view(directory_status_name(u.status))}};
  for (const auto& [key, value] : {std::pair<const char*, const std::string*>{"first_name", &u.profile.first_name},
                                   {"last_name", &u.profile.last_name},
                                   {"email", &u.profile.email},
                                   {"phone", &u.profile.phone}}) {
    o[key] = u.erased ? json::value("erased") : json::value(json_view(*value));
  }
  o["erased"] = u.erased;
  o["roles"] = std::move(roles);
  o["created_at"] = time_json(u.created_at);
  o["changed_at"] = time_json(u.changed_at);
  o["deactivated_at"] = optional_time_json(u.deactivated_at);
  o["must_change_password"] = u.must_change_password;
  return o;
}

json::value to_json(const std::vector<DirectoryUser>& users) { return array_of(users); }

json::value to_json(const ExpiringPage& page) {
  json::array items;
  for (const ExpiringExemption& x : page.items) {
    // Whole days left, rounded up: a certificate expiring in 3 hours has 1.
    const int64_t left = x.expires_on.micros - page.from.micros;
    const int64_t days_left = left / 86'400'000'000LL + (left % 86'400'000'000LL > 0 ? 1 : 0);
    items.push_back(json::object{{"partner_id", x.partner_id.to_string()},
                                 {"partner_name", json_view(x.partner_name)},
                                 {"exemption_id", x.exemption_id.to_string()},
                                 {"jurisdiction", json_view(x.jurisdiction)},
                                 {"certificate_ref", json_view(x.certificate_ref)},
                                 {"valid_from", time_json(x.valid_from)},
                                 {"expires_on", time_json(x.expires_on)},
                                 {"days_left", days_left},
                                 {"state", json_view(exemption_state_name(x.state))},
                                 {"covered_after_expiry", x.covered_after_expiry}});
  }
  json::value next = nullptr;
  if (page.next) next = json::value(expiring_cursor_text(*page.next));
  return json::object{{"from", time_json(page.from)},
                      {"until", time_json(page.until)},
                      {"items", std::move(items)},
                      {"next", std::move(next)}};
}

json::value to_json(const ListingPage& page) {
  json::array listings;
  for (const Listing& l : page.listings) {
    json::object details = details_json(l.details);
    // Referral settings are the partner's business, not the customer's.
    details.erase("allow_vendor_endorsement");
    details.erase("refuse_referrals_outside_target_sizes");
    json::array places;
    for (const ListingLocation& p : l.locations) {
      places.push_back(json::object{
          {"city", json_view(p.city)}, {"state", json_view(p.state)}, {"country", json_view(p.country)}});
    }
    json::object o{{"partner_id", l.partner_id.to_string()},
                   {"partner_name", json_view(l.partner_name)},
                   {"region", json_view(l.region)},
                   {"published_at", time_json(l.published_at)},
                   {"relevance", -l.score},  // FTS5 bm25, negated: higher is more relevant; 0 without q
                   {"locations", std::move(places)}};
    for (auto& [k, v] : details) o[k] = std::move(v);
    listings.push_back(std::move(o));
  }
  return json::object{{"listings", std::move(listings)}, {"more", page.more}};
}

json::value to_json(const PartnerProfileView& p) {
  json::array locations;
  for (const PartnerLocationView& l : p.locations) {
    locations.push_back(json::object{
        {"location_id", l.location_id.to_string()},
        {"address", address_json(l.address)},
        {"mpn_id", json_view(l.mpn_id)}});
  }
  json::array exemptions;
  for (const TaxExemptionView& x : p.tax_exemptions) {
    exemptions.push_back(json::object{{"exemption_id", x.exemption_id.to_string()},
                                      {"jurisdiction", json_view(x.jurisdiction)},
                                      {"certificate_ref", json_view(x.certificate_ref)},
                                      {"valid_from", time_json(x.valid_from)},
                                      {"expires_on", time_json(x.expires_on)},
                                      {"filed_at", time_json(x.filed_at)},
                                      {"revoked", x.revoked},
                                      {"revoked_reason", json_view(x.revoked_reason)},
                                      {"state", json_view(exemption_state_name(x.state))}});
  }
  json::array profiles;
  for (const BusinessProfileView& b : p.business_profiles) {
    json::array profile_locations;
    for (const BusinessProfileLocationView& l : b.locations) {
      profile_locations.push_back(json::object{
          {"location_id", l.location_id.to_string()},
          {"address", address_json(l.address)},
          {"phone", json_view(l.phone)}});
    }
    profiles.push_back(json::object{{"region", json_view(b.region)},
                                    {"details", details_json(b.details)},
                                    {"published", b.published},
                                    {"locations", std::move(profile_locations)},
                                    {"changed_at", time_json(b.changed_at)}});
  }
  json::object suspension{{"suspended", p.suspension.suspended},
                          {"last_reinstated_at", optional_time_json(p.suspension.last_reinstated_at)}};
  if (p.suspension.suspended) {
    suspension["reason"] = json_view(enum_text(p.suspension.reason));
    suspension["days_overdue"] = p.suspension.days_overdue;
    suspension["note"] = json_view(p.suspension.note);
    suspension["since"] = optional_time_json(p.suspension.since);
  }
  json::object o{
      {"partner_id", p.partner_id.to_string()},
      {"network", json::object{{"partner_name", json_view(p.partner_name)}, {"mpn_id", json_view(p.mpn_id)}}},
      {"country", json_view(p.country)},
      {"billing_currency", json_view(p.billing_currency)},
      {"enrolled_at", time_json(p.enrolled_at)},
      {"legal", json::object{{"company_name", json_view(p.legal.company_name)},
                             {"address", address_json(p.legal.address)},
                             {"primary_contact", personal_json(p.legal.primary_contact)},
                             {"approver_email", personal_json(p.legal.approver_email)},
                             {"approver_address", address_json(p.legal.approver_address)}}},
      {"vetting", json::object{{"status", json_view(enum_text(p.vetting_status))},
                               {"sub_status", json_view(enum_text(p.vetting_sub_status))}}},
      {"support", json::object{{"email", json_view(p.support.email)},
                               {"phone", json_view(p.support.phone)},
                               {"website", json_view(p.support.website)}}},
      {"billing", json::object{{"company_name", json_view(p.billing.company_name)},
                               {"address", address_json(p.billing.address)},
                               {"primary_contact", personal_json(p.billing.primary_contact)},
                               {"purchase_order_number", json_view(p.billing.purchase_order_number)},
                               {"tax_id", json_view(p.billing.tax_id)}}},
      {"organization", json::object{{"tenant_id", json_view(p.organization.tenant_id)},
                                    {"default_domain", json_view(p.organization.default_domain)},
                                    {"email", json_view(p.organization.email)},
                                    {"language", json_view(p.organization.language)},
                                    {"culture", json_view(p.organization.culture)}}},
      {"suspension", std::move(suspension)},
      {"selling", json::object{{"agreement_accepted_at", optional_time_json(p.agreement_accepted_at)},
                               {"agreement_version", json_view(p.agreement_version)},
                               {"accepted_tax_id", json_view(p.accepted_tax_id)},
                               {"tax_id_accepted", p.tax_id_accepted}}},
      {"authorized_regions", strings(p.authorized_regions)},
      {"earned_tags", json::object{{"competencies", strings(p.competencies)},
                                   {"endorsements", strings(p.endorsements)}}},
      {"locations", std::move(locations)},
      {"tax_exemptions", std::move(exemptions)},
      {"pinned_offers", strings(p.pinned_offers)},
      {"business_profiles", std::move(profiles)},
      {"as_of", time_json(p.as_of)},
      {"changed_at", time_json(p.changed_at)}};
  // Withheld parts are absent, and named, so a client can say why.
  json::array withheld;
  for (const std::string& path : p.withheld) {
    const size_t dot = path.find('.');
    json::object& parent = dot == std::string::npos ? o : o.at(path.substr(0, dot)).as_object();
    parent.erase(dot == std::string::npos ? path : path.substr(dot + 1));
    withheld.push_back(json::string(path));
  }
  o["withheld"] = std::move(withheld);
  return o;
}

json::value to_json(const AuditEntry& e) {
  return json::object{{"position", e.position.value()},
                      {"recorded_at", time_json(e.recorded_at)},
                      {"stream", json_view(e.stream)},
                      {"stream_version", e.stream_version.value()},
                      {"actor", json_view(e.actor)},
                      {"command_id", e.command_id.to_string()},
                      {"correlation_id", e.correlation_id.to_string()},
                      {"causation_id", e.causation_id.to_string()},
                      {"event_type", json_view(e.event_type)},
                      {"schema_version", e.schema_version},
                      {"fields", e.fields}};
}

json::value to_json(const AuditPage& page) {
  json::array entries;
  for (const AuditEntry& e : page.entries) entries.push_back(to_json(e));
  return json::object{{"entries", std::move(entries)},
                      {"next", page.next ? json::value(page.next->value()) : json::value(nullptr)}};
}

json::value to_json(const ViewStatus& s) {
  return json::object{{"name", json_view(s.name)},
                      {"version", s.version},
                      {"serving", s.serving},
                      {"position", s.position.value()},
                      {"head", s.head.value()},
                      {"lag", s.lag},
                      {"building", s.building},
                      {"build_position", s.build_position.value()},
                      {"build_reason", json_view(s.build_reason)},
                      {"events_applied", s.events_applied},
                      {"events_built", s.events_built},
                      {"batches", s.batches},
                      {"rebuilds", s.rebuilds},
                      {"generation", s.generation},
                      {"error", status_json(s.error)}};
}

json::value to_json(const std::vector<ViewStatus>& statuses) { return array_of(statuses); }

}  // namespace accountable
