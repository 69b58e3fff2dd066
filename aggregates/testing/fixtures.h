// TEST ONLY. Valid sample commands and a seeded world for scenario tests.
// Setup failures throw, which GoogleTest reports as a failed test.
#pragma once

#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "schema/country_rules.h"
#include "aggregates/testing/world.h"

namespace accountable::testing {

inline Timestamp at(const char* text) {
  auto t = parse_timestamp(text);
  if (!t) throw std::runtime_error("bad test time");
  return *t;
}

inline void must(const Status& s, const char* what) {
  if (!s.is_ok()) throw std::runtime_error(std::string("setup step failed: ") + what + ": " + s.to_string());
}

inline Address address(std::string country = "US") {
  return Address{"1 Main Street", "Suite 100", "Redmond", "WA", "98052", std::move(country), "West"};
}

inline ContactDetails contact(std::string first, std::string last, std::string email) {
  return ContactDetails{std::move(first), std::move(last), std::move(email), "+1 425 555 0100"};
}

inline LegalProfileInput legal(std::string country = "US") {
  return LegalProfileInput{"Contoso Ltd", address(country), contact("Pat", "Legal", "pat@contoso.com"),
                           "approver@contoso.com", address(country)};
}

inline EnrollPartner enroll_command(std::string admin_email = "ada@contoso.com", std::string country = "US") {
  EnrollPartner c;
  c.admin = contact("Ada", "Admin", std::move(admin_email));
  c.partner_name = "Contoso";
  c.mpn_id = "1234567";
  c.legal = legal(country);
  c.tenant_id = "6f1b1d0e-8a43-4c59-9f64-0c1f5b6a7d11";
  c.default_domain = "contoso.onmicrosoft.com";
  c.language = "en";
  c.culture = "en-us";
  c.billing_currency = "";  // derived from the country
  return c;
}

struct Enrolled {
  PartnerId partner;
  UserId admin;
};

inline Enrolled enroll(World& w, EnrollPartner c = enroll_command()) {
  must(w.execute(op(), c), "enroll");
  return {w.last_id<PartnerId>(0), w.last_id<UserId>(1)};
}

// Meets the selling prerequisites (docs/aggregates.md): the admin accepts the
// reseller agreement now; a partner in the EU gets a VAT id accepted. (A US
// partner has 30 days for its tax documents.)
inline void make_ready_to_sell(World& w, const Enrolled& e) {
  must(w.execute(w.user(e.admin), AcceptResellerAgreement{e.partner, "2019-10"}), "accept agreement");
  const std::string country = w.partner_state(e.partner).country;
  if (!in_european_union(country)) return;
  const std::string vat = std::string(vat_prefix(country)) + "123456789";
  BillingProfileInput billing{"Contoso GmbH", address(country), contact("Bo", "Bill", "bo@contoso.de"), "", vat};
  must(w.execute(w.user(e.admin),
                 UpdateBillingProfile{e.partner, billing, std::string(billing_currency_of(country))}),
       "billing profile with VAT id");
  must(w.execute(op(), AcceptTaxId{e.partner, vat}), "accept VAT id");
}

inline UserId create_user(World& w, const Principal& actor, const PartnerId& p, std::string email,
                          std::vector<Role> roles) {
  must(w.execute(actor, CreateUser{p, contact("Sam", "User", std::move(email)), std::move(roles)}), "create user");
  return w.last_id<UserId>(0);
}

inline Offer offer(std::string id, BillingModel model = BillingModel::kUsageBased) {
  Offer o;
  o.offer_id = std::move(id);
  o.display_name = "Offer " + o.offer_id;
  o.purchase_unit = "1 Month";
  o.billing_model = model;
  return o;
}

inline PriceRow row(const std::string& offer_id, Timestamp from, Timestamp to, ChangeCode code = ChangeCode::kAdd) {
  PriceRow r;
  r.change_code = code;
  r.valid_from = from;
  r.valid_to = to;
  r.offer_display_name = "Offer " + offer_id;
  r.offer_id = offer_id;
  r.purchase_unit = "1 Month";
  r.list_price_micros = 10'000'000;
  r.erp_price_micros = 12'000'000;
  return r;
}

// A usage-based price list for market/month with every offer orderable all month.
inline PriceList price_list(std::string market, int year, int month, const std::vector<std::string>& offers,
                            BillingModel model = BillingModel::kUsageBased) {
  PriceList l;
  l.market = std::move(market);
  l.currency = "USD";
  l.year = year;
  l.month = month;
  l.billing_model = model;
  Timestamp from = month_start(year, month);
  Timestamp to{month_end(year, month).micros - 1};
  for (const auto& o : offers) l.rows.push_back(row(o, from, to));
  return l;
}

inline BusinessProfileDetails profile_details() {
  BusinessProfileDetails d;
  d.logo = Logo{LogoFormat::kPng, 300, "blob:logo-1"};
  d.description = "We resell cloud subscriptions.";
  d.website = "https://contoso.com";
  d.linkedin_url = "https://www.linkedin.com/company/contoso";
  d.industry_focus = {"Retail", "Health"};
  d.products = {"offer-1"};
  d.service_types = {"Consulting"};
  d.skills = {"Migration"};
  d.target_customer_sizes = {CustomerSize::k10To49};
  return d;
}

// A partner P in the US (enrolled 2026-01-25) with: a catalog of offer-1..3 and
// a usage price list for March 2026; Global admin `admin`; user `target` (Referral
// admin); `restorable` deactivated 10 days ago; `purgeable` deactivated 36 days
// ago; a location; a tax exemption; the reseller agreement accepted at
// enrollment (so its 30-day window for US tax documents has passed, and the
// exemption is what lets it sell); offer-1 pinned; authorized regions apac, emea
// and latam; business profiles "emea" (unpublished, one location) and "apac"
// (published); auditor access; and a second partner `other` under suspension
// that accepted the agreement today. Now is 2026-03-02T12:00:00Z.
struct RichWorld {
  World w{at("2026-01-25T12:00:00Z")};
  Enrolled p;
  Enrolled other;
  UserId target, restorable, purgeable;
  LocationId location;
  ExemptionId exemption;
  LocationId emea_location;
  AuditorGrantId auditor_grant;

  RichWorld() {
    p = enroll(w);
    make_ready_to_sell(w, p);
    must(w.execute(op(), SetAuthorizedRegions{p.partner, {"apac", "emea", "latam"}}), "regions");
    other = enroll(w, enroll_command("eve@fabrikam.com"));
    must(w.execute(op(), SuspendPartner{other.partner, SuspensionReason::kAbuse, 0, "spam"}), "suspend other");
    Principal admin = w.user(p.admin);
    purgeable = create_user(w, admin, p.partner, "purge.me@contoso.com", {Role::kHelpdeskAgent});
    must(w.execute(admin, DeactivateUser{p.partner, purgeable}), "deactivate purgeable");
    w.clock.set(at("2026-02-20T12:00:00Z"));
    restorable = create_user(w, admin, p.partner, "restore.me@contoso.com", {Role::kSalesAgent});
    must(w.execute(admin, DeactivateUser{p.partner, restorable}), "deactivate restorable");
    w.clock.set(at("2026-03-02T12:00:00Z"));
    target = create_user(w, admin, p.partner, "target@contoso.com", {Role::kReferralAdmin});
    make_ready_to_sell(w, other);
    for (const char* id : {"offer-1", "offer-2", "offer-3"}) must(w.execute(op(), PublishOffer{offer(id)}), "offer");
    must(w.execute(op(), PublishPriceList{price_list("US", 2026, 3, {"offer-1", "offer-2", "offer-3"})}), "prices");
    must(w.execute(admin, FileTaxExemption{p.partner, "WA", "cert-2026", at("2026-01-01T00:00:00Z"),
                                           at("2027-01-01T00:00:00Z")}),
         "exemption");
    exemption = w.last_id<ExemptionId>(0);
    must(w.execute(admin, PinOffer{p.partner, "offer-1"}), "pin");
    must(w.execute(admin, AddLocation{p.partner, address("US"), "7654321"}), "location");
    location = w.last_id<LocationId>(0);
    must(w.execute(admin, CreateBusinessProfile{p.partner, "emea", profile_details()}), "emea");
    must(w.execute(admin, AddProfileLocation{p.partner, "emea", address("GB"), "+44 20 5555 0100"}), "emea loc");
    emea_location = w.last_id<LocationId>(0);
    must(w.execute(admin, CreateBusinessProfile{p.partner, "apac", profile_details()}), "apac");
    must(w.execute(admin, PublishBusinessProfile{p.partner, "apac"}), "publish apac");
    must(w.execute(op(), IssueAuditorAccess{p.partner, "audit@kpmg.example", at("2026-12-31T00:00:00Z")}),
         "auditor");
    auditor_grant = w.last_id<AuditorGrantId>(0);
  }

  Principal admin() const { return w.user(p.admin); }
};

inline std::string rule_of(const Status& s) {
  const std::string& m = s.message();
  auto colon = m.find(':');
  return colon == std::string::npos ? std::string() : m.substr(0, colon);
}

}  // namespace accountable::testing
