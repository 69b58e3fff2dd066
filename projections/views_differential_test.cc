// Differential test of the views: many random command sequences (seeded,
// deterministic) run through the real Engine on a real log in a temporary
// folder while the runner applies them live (with a restart half-way, which
// resumes from the checkpoints). Then every view must equal a model computed
// from the aggregates' own states (Engine::replay, i.e. decide/evolve's fold)
// and from the log, and a rebuild from position 0 must give the same files.
#include <gtest/gtest.h>

#include <algorithm>
#include <boost/json.hpp>
#include <filesystem>
#include <random>

#include "schema/country_rules.h"
#include "projections/testing/view_world.h"
#include "projections/view_json.h"

namespace accountable {

// Readable failures: results print as their JSON.
void PrintTo(const DirectoryUser& u, std::ostream* os) { *os << boost::json::serialize(to_json(u)); }
void PrintTo(const PriceQuote& q, std::ostream* os) { *os << boost::json::serialize(to_json(q)); }
void PrintTo(const PriceListView& l, std::ostream* os) { *os << boost::json::serialize(to_json(l)); }
void PrintTo(const CatalogPage& p, std::ostream* os) { *os << boost::json::serialize(to_json(p)); }

namespace {

using testing::at;
using testing::ViewWorld;

constexpr const char* kCountries[] = {"US", "GB", "DE"};
constexpr const char* kRegions[] = {"emea", "apac", "amer"};
constexpr const char* kNames[] = {"Ada", "Bo", "Cy", "Di", "Ed", "Flo", "Gus"};

struct TrackedPartner {
  PartnerId id;
  UserId admin;
  std::string country;
  std::vector<UserId> users;  // every user created, purged ones too, in creation order
  std::vector<LocationId> locations;
  std::vector<ExemptionId> exemptions;
  std::set<std::string> regions;  // business profiles created
  std::map<std::string, std::vector<LocationId>> profile_locations;
};

// Draws commands, mostly valid, over what exists; refusals are fine (nothing is written).
class Generator {
 public:
  Generator(ViewWorld& w, uint64_t seed) : w_(w), rng_(seed) {}

  void step() {
    if (partners.empty() || (partners.size() < 3 && pick(12) == 0)) return enroll();
    if (pick(offers.size() < 6 ? 2 : 5) == 0) return catalog();
    if (pick(8) == 0) w_.clock.advance_days(pick(10) == 0 ? 31 : pick(3));
    TrackedPartner& p = partners[static_cast<size_t>(pick(static_cast<int>(partners.size())))];
    const Principal ga = PartnerUser{p.id, p.admin, {}, true};  // the engine reads its rights from its stream
    const int r = pick(45);
    switch (r) {
      case 0:
      case 1:
      case 2: {
        auto out = run(ga, CreateUser{p.id, person(), roles()});
        if (out) p.users.push_back(UserId(out->created_ids.at(0).bytes()));
        return;
      }
      case 3: return (void)run(ga, UpdateUserProfile{p.id, some_user(p), person()});
      case 4:
      case 5: return (void)run(ga, AssignRole{p.id, some_user(p), static_cast<Role>(pick(kRoleCount))});
      case 6: return (void)run(ga, RemoveRole{p.id, some_user(p), static_cast<Role>(pick(kRoleCount))});
      case 7: return (void)run(ga, ResetPassword{p.id, some_user(p)});
      case 8:
      case 38: {
        const UserId u = some_user(p);
        if (u == p.admin && p.users.size() > 1) return;  // the acting admin stays
        return (void)run(ga, DeactivateUser{p.id, u});
      }
      case 9: return (void)run(ga, RestoreUser{p.id, deactivated_user(p)});
      case 10:
      case 42: {
        const UserId u = deactivated_user(p);
        auto state = w_.engine->load<UserState>(user_stream(u));
        if (state && state->status == UserStatus::kDeactivated &&
            !(plus_days(state->deactivated_at, kRestoreWindowDays) < w_.clock.now())) {
          w_.clock.advance_days(kRestoreWindowDays + 1);  // purging waits for the restore window
        }
        return (void)run(pick(2) ? ga : testing::op(), PurgeUser{p.id, u});
      }
      case 11: {
        LegalProfileInput l = testing::legal(p.country);
        l.company_name = "Company " + std::to_string(pick(100));
        l.primary_contact = person();
        return (void)run(ga, UpdateLegalProfile{p.id, l});
      }
      case 12:
        return (void)run(ga, UpdateSupportProfile{p.id, SupportProfile{"support" + std::to_string(pick(9)) + "@x.example",
                                                                       "+1 425 555 0101", "https://x.example"}});
      case 13: {
        BillingProfileInput b{"Billing Co", testing::address(p.country), person(), "PO-" + std::to_string(pick(99)),
                              p.country + std::to_string(100000000 + pick(3))};
        return (void)run(ga, UpdateBillingProfile{p.id, b, std::string(billing_currency_of(p.country))});
      }
      case 14:
        return (void)run(ga, UpdateOrganizationProfile{p.id, "contoso.onmicrosoft.com", "org@x.example", "en", "en-us"});
      case 15: {
        auto out = run(ga, AddLocation{p.id, testing::address(p.country), std::to_string(1000 + pick(9000))});
        if (out) p.locations.push_back(LocationId(out->created_ids.at(0).bytes()));
        return;
      }
      case 16:
        if (p.locations.empty()) return;
        return (void)run(ga, RemoveLocation{p.id, p.locations[static_cast<size_t>(pick(static_cast<int>(p.locations.size())))]});
      case 17: {
        const Timestamp now = w_.clock.now();
        auto out = run(ga, FileTaxExemption{p.id, "WA", "cert-" + std::to_string(pick(99)), plus_days(now, pick(20) - 10),
                                            plus_days(now, 5 + pick(60))});
        if (out) p.exemptions.push_back(ExemptionId(out->created_ids.at(0).bytes()));
        return;
      }
      case 18:
        if (p.exemptions.empty()) return;
        return (void)run(ga, RevokeTaxExemption{p.id, p.exemptions[static_cast<size_t>(pick(static_cast<int>(p.exemptions.size())))], "superseded"});
      case 19:
        return (void)run(testing::op(), SetVettingStatus{p.id, static_cast<VettingStatus>(pick(4)),
                                                         static_cast<VettingSubStatus>(pick(8))});
      case 20:
        return (void)run(testing::op(), SuspendPartner{p.id, SuspensionReason::kBillingOverdue, 61 + static_cast<uint32_t>(pick(30)), "late"});
      case 21:
      case 39: return (void)run(testing::op(), ReinstatePartner{p.id});
      case 22: return (void)run(ga, AcceptResellerAgreement{p.id, "2019-" + std::to_string(10 + pick(3))});
      case 23: {
        auto state = w_.engine->load<PartnerState>(partner_stream(p.id));
        if (state && !state->billing.tax_id.empty()) (void)run(testing::op(), AcceptTaxId{p.id, state->billing.tax_id});
        return;
      }
      case 24: {
        std::vector<std::string> regions;
        for (const char* region : kRegions) {
          if (pick(3)) regions.push_back(region);
        }
        return (void)run(testing::op(), SetAuthorizedRegions{p.id, regions});
      }
      case 25: return (void)run(testing::op(), SetEarnedTags{p.id, {"Cloud " + std::to_string(pick(3))}, {}});
      case 26:
      case 27:
      case 40:
      case 41:
        if (offers.empty()) return;
        return (void)run(ga, PinOffer{p.id, some_offer()});
      case 36:
      case 37: {
        auto state = w_.engine->load<PartnerState>(partner_stream(p.id));
        if (!state || state->pinned_offers.size() < 2) return;
        std::vector<std::string> order = state->pinned_offers;
        std::shuffle(order.begin(), order.end(), rng_);
        return (void)run(ga, ReorderPins{p.id, order});
      }
      case 28: {
        auto state = w_.engine->load<PartnerState>(partner_stream(p.id));
        if (!state || state->pinned_offers.empty()) return;
        if (pick(2)) return (void)run(ga, UnpinOffer{p.id, state->pinned_offers.front()});
        std::vector<std::string> order = state->pinned_offers;
        std::shuffle(order.begin(), order.end(), rng_);
        return (void)run(ga, ReorderPins{p.id, order});
      }
      case 29:
      case 30: {
        const std::string region = kRegions[pick(3)];
        if (p.regions.count(region)) return (void)run(ga, UpdateBusinessProfile{p.id, region, details()});
        if (run(ga, CreateBusinessProfile{p.id, region, details()})) p.regions.insert(region);
        return;
      }
      case 31: {
        if (p.regions.empty()) return;
        const std::string region = *std::next(p.regions.begin(), pick(static_cast<int>(p.regions.size())));
        auto out = run(ga, AddProfileLocation{p.id, region, testing::address("GB"), "+44 20 5555 0100"});
        if (out) p.profile_locations[region].push_back(LocationId(out->created_ids.at(0).bytes()));
        return;
      }
      case 32: {
        if (p.regions.empty()) return;
        const std::string region = *std::next(p.regions.begin(), pick(static_cast<int>(p.regions.size())));
        auto& locations = p.profile_locations[region];
        if (locations.empty()) return;
        return (void)run(ga, RemoveProfileLocation{p.id, region, locations[static_cast<size_t>(pick(static_cast<int>(locations.size())))]});
      }
      case 33:
      case 34: {
        if (p.regions.empty()) return;
        const std::string region = *std::next(p.regions.begin(), pick(static_cast<int>(p.regions.size())));
        if (r == 33) return (void)run(ga, PublishBusinessProfile{p.id, region});
        return (void)run(ga, UnpublishBusinessProfile{p.id, region});
      }
      case 35:
        return (void)run(testing::op(), IssueAuditorAccess{p.id, "audit@kpmg.example", plus_days(w_.clock.now(), 90)});
      case 43:
      case 44: {
        // A user marks their own feed read: up to a position at or past the head, and some ids.
        const UserId u = some_user(p);
        const uint64_t head = w_.log->head().value();
        std::vector<std::string> ids;
        for (int i = pick(3); i > 0; --i) ids.push_back(std::to_string(1 + pick(static_cast<int>(head + 5))));
        std::sort(ids.begin(), ids.end());
        ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
        const uint64_t up_to = pick(2) ? static_cast<uint64_t>(pick(static_cast<int>(head + 5))) : 0;
        return (void)run(PartnerUser{p.id, u, {}, true}, MarkNotificationsRead{p.id, u, up_to, ids});
      }
      default:
        return;
    }
  }

  std::vector<TrackedPartner> partners;
  std::vector<std::string> offers;
  int commands = 0;
  int refused = 0;

 private:
  int pick(int n) { return static_cast<int>(rng_() % static_cast<uint64_t>(n)); }
  Result<CommandOutcome> run(const Principal& actor, Command c) {
    ++commands;
    const std::string name(command_name(c));
    auto out = w_.execute(actor, std::move(c));
    if (!out) {
      ++refused;
      ++refusals[name + ": " + out.status().message().substr(0, 60)];
    }
    return out;
  }

 public:
  std::map<std::string, int> refusals;

 private:
  ContactDetails person() {
    const std::string n = std::to_string(++emails_);
    return testing::contact(kNames[pick(7)], "Last" + n, "person" + n + "@x.example");
  }
  std::vector<Role> roles() {
    std::vector<Role> out;
    const Role first = static_cast<Role>(pick(kRoleCount));
    out.push_back(first);
    if (pick(2)) {
      const Role second = static_cast<Role>(pick(kRoleCount));
      if (role_category(second) != role_category(first)) out.push_back(second);
    }
    return out;
  }
  UserId some_user(const TrackedPartner& p) {
    return p.users[static_cast<size_t>(pick(static_cast<int>(p.users.size())))];
  }
  // A deactivated user if there is one (else any).
  UserId deactivated_user(const TrackedPartner& p) {
    std::vector<UserId> found;
    for (const UserId& u : p.users) {
      auto state = w_.engine->load<UserState>(user_stream(u));
      if (state && state->status == UserStatus::kDeactivated) found.push_back(u);
    }
    if (found.empty()) return some_user(p);
    return found[static_cast<size_t>(pick(static_cast<int>(found.size())))];
  }
  std::string some_offer() { return offers[static_cast<size_t>(pick(static_cast<int>(offers.size())))]; }
  BusinessProfileDetails details() {
    BusinessProfileDetails d = testing::profile_details();
    d.products.clear();
    if (!offers.empty() && pick(2)) d.products.push_back(some_offer());
    d.description = "Description " + std::to_string(pick(1000));
    if (pick(2)) d.logo.reset();
    return d;
  }
  void enroll() {
    const std::string country = kCountries[partners.size() % 3];
    auto out = run(testing::op(), testing::enroll_command("admin" + std::to_string(++emails_) + "@x.example", country));
    if (!out) return;
    TrackedPartner p;
    p.id = PartnerId(out->created_ids.at(0).bytes());
    p.admin = UserId(out->created_ids.at(1).bytes());
    p.country = country;
    p.users.push_back(p.admin);
    // What a partner does first: accept the agreement and file what selling needs
    // (a US tax certificate, an EU VAT id the operator accepts); the operator authorizes regions.
    const Principal ga = PartnerUser{p.id, p.admin, {}, true};
    (void)run(ga, AcceptResellerAgreement{p.id, "2019-10"});
    if (country == "US") {
      auto filed = run(ga, FileTaxExemption{p.id, "WA", "cert-initial", plus_days(w_.clock.now(), -1),
                                            plus_days(w_.clock.now(), 365)});
      if (filed) p.exemptions.push_back(ExemptionId(filed->created_ids.at(0).bytes()));
    }
    if (country == "DE") {
      const std::string vat = "DE123456789";
      (void)run(ga, UpdateBillingProfile{p.id, BillingProfileInput{"Billing GmbH", testing::address(country), person(), "PO-1", vat},
                                         std::string(billing_currency_of(country))});
      (void)run(testing::op(), AcceptTaxId{p.id, vat});
    }
    (void)run(testing::op(), SetAuthorizedRegions{p.id, {"amer", "apac", "emea"}});
    partners.push_back(std::move(p));
  }
  void catalog() {
    int r = pick(12);
    const YearMonth current = month_of(w_.clock.now());
    for (const char* market : kCountries) {
      if (offers.size() >= 4 && !priced_.count({market, current.year, current.month})) r = 11;  // a list first
    }
    if (offers.size() < 4 || r < 3) {
      Offer o = testing::offer("off-" + std::to_string(offers.size()), pick(2) ? BillingModel::kUsageBased : BillingModel::kLicenseBased);
      o.segment = static_cast<Segment>(pick(3));
      o.display_name = "Offer " + std::string(1, static_cast<char>('A' + pick(26)));
      if (run(testing::op(), PublishOffer{o})) offers.push_back(o.offer_id);
      return;
    }
    if (r == 3) {
      Offer o = testing::offer(some_offer(), BillingModel::kUsageBased);
      o.display_name = "Renamed " + std::to_string(pick(99));
      o.segment = static_cast<Segment>(pick(3));
      (void)run(testing::op(), UpdateOffer{o});
      return;
    }
    if (r == 4 && pick(2)) {
      (void)run(testing::op(), RetireOffer{some_offer()});
      return;
    }
    // A price list: usage-based for this month (at most one per market and
    // currency), or license-based two months ahead.
    const Timestamp now = w_.clock.now();
    YearMonth m = month_of(now);
    BillingModel model = BillingModel::kUsageBased;
    if (r != 11 && pick(3) == 0) {
      m = next_month(next_month(m));
      model = BillingModel::kLicenseBased;
    }
    PriceList l;
    l.market = kCountries[pick(3)];
    l.currency = pick(4) ? std::string(billing_currency_of(l.market)) : "USD";
    // Keep a list of this month in effect in every market first: pins need one.
    for (const char* market : kCountries) {
      if (!priced_.count({market, m.year, m.month}) && model == BillingModel::kUsageBased) {
        l.market = market;
        l.currency = std::string(billing_currency_of(market));
        break;
      }
    }
    l.year = m.year;
    l.month = m.month;
    l.billing_model = model;
    const Timestamp first = month_start(m.year, m.month);
    const Timestamp last{month_end(m.year, m.month).micros - 1};
    for (const std::string& id : offers) {
      if (pick(4) == 0) continue;
      Timestamp from = first, to = last;
      if (pick(4) == 0) from = plus_days(first, pick(20));
      if (pick(4) == 0) to = Timestamp{plus_days(first, 10 + pick(25)).micros - pick(2)};
      if (pick(8) == 0) to = plus_days(last, 5);  // past the month's end: clipped
      if (to < from) to = from;
      PriceRow row = testing::row(id, from, to, static_cast<ChangeCode>(pick(4)));
      row.list_price_micros = 1'000'000 * (1 + pick(20));
      row.erp_price_micros = row.list_price_micros + 500'000;
      l.rows.push_back(row);
    }
    if (l.rows.empty()) return;
    if (run(testing::op(), PublishPriceList{l}) && model == BillingModel::kUsageBased) {
      priced_.insert({l.market, l.year, l.month});
    }
  }

  ViewWorld& w_;
  std::mt19937_64 rng_;
  int emails_ = 0;
  std::set<std::tuple<std::string, int, int>> priced_;  // (market, year, month) with a usage list
};

// ---- the model ------------------------------------------------------------------

template <class State>
State replay(ViewWorld& w, const std::string& stream) {
  return testing::must_value(w.engine->replay<State>(stream), "replay");
}

std::vector<RecordedEvent> stream_events(ViewWorld& w, const std::string& stream, ReadBatch* keep) {
  *keep = testing::must_value(w.log->read_stream(stream, StreamVersion(1), 100000), "read stream");
  return keep->events;
}

bool passes(const Offer& o, const CatalogFilter& f) {
  return (!f.segment || o.segment == *f.segment) && (!f.billing_model || o.billing_model == *f.billing_model);
}

CatalogPage model_catalog(const CatalogState& cs, const PartnerState& ps, Timestamp date, const CatalogFilter& f) {
  CatalogPage page;
  page.partner_id = ps.partner_id;
  page.market = ps.country;
  page.date = date;
  std::set<std::string> pinned(ps.pinned_offers.begin(), ps.pinned_offers.end());
  for (size_t i = 0; i < ps.pinned_offers.size(); ++i) {
    auto it = cs.offers.find(ps.pinned_offers[i]);
    if (it == cs.offers.end() || !passes(it->second.offer, f)) continue;
    PinnedCatalogOffer pin;
    pin.rank = static_cast<int>(i);
    pin.offer = it->second.offer;
    pin.available = check_orderable(cs, it->first, ps.country, date, "").is_ok();
    if (it->second.retired) {
      pin.unavailable_reason = "retired";
    } else if (!pin.available) {
      pin.unavailable_reason = "not orderable on this date";
    }
    page.pinned.push_back(pin);
  }
  std::map<Segment, std::vector<Offer>> groups;
  for (const auto& [id, co] : cs.offers) {
    if (co.retired || pinned.count(id) || !passes(co.offer, f)) continue;
    if (!check_orderable(cs, id, ps.country, date, "").is_ok()) continue;
    groups[co.offer.segment].push_back(co.offer);
  }
  for (auto& [segment, list] : groups) {
    std::sort(list.begin(), list.end(), [](const Offer& a, const Offer& b) {
      return std::tie(a.display_name, a.offer_id) < std::tie(b.display_name, b.offer_id);
    });
    page.segments.push_back(CatalogSegment{segment, list});
  }
  return page;
}

struct PricingModel {
  const CatalogState& cs;
  std::vector<GlobalPosition> positions;  // of each PriceListPublished, in catalog order

  PriceListHeader header(size_t i) const {
    const PublishedPriceList& p = cs.price_lists[i];
    return PriceListHeader{positions[i], p.list.market, p.list.currency, p.list.year, p.list.month,
                           p.list.billing_model, p.published_at};
  }
  bool in_month(const PriceList& l, Timestamp date) const {
    return month_start(l.year, l.month) <= date && date < month_end(l.year, l.month);
  }
  std::optional<PriceQuote> price(const std::string& offer, const std::string& market, const std::string& currency,
                                  Timestamp date) const {
    for (size_t i = cs.price_lists.size(); i-- > 0;) {
      const PriceList& l = cs.price_lists[i].list;
      if (l.market != market || l.currency != currency || !in_month(l, date)) continue;
      for (size_t r = l.rows.size(); r-- > 0;) {
        const PriceRow& row = l.rows[r];
        if (row.offer_id == offer && row.change_code != ChangeCode::kDel && row.valid_from <= date &&
            date <= row.valid_to) {
          return PriceQuote{header(i), static_cast<int>(r), row};
        }
      }
    }
    return std::nullopt;
  }
  std::vector<PriceListView> month(const std::string& market, YearMonth m, const std::string& currency) const {
    std::vector<PriceListView> out;
    for (size_t i = 0; i < cs.price_lists.size(); ++i) {
      const PriceList& l = cs.price_lists[i].list;
      if (l.market == market && YearMonth{l.year, l.month} == m && (currency.empty() || l.currency == currency)) {
        out.push_back(PriceListView{header(i), l.rows});
      }
    }
    return out;
  }
  std::vector<PriceQuote> history(const std::string& offer) const {
    std::vector<PriceQuote> out;
    for (size_t i = 0; i < cs.price_lists.size(); ++i) {
      for (size_t r = 0; r < cs.price_lists[i].list.rows.size(); ++r) {
        if (cs.price_lists[i].list.rows[r].offer_id == offer) {
          out.push_back(PriceQuote{header(i), static_cast<int>(r), cs.price_lists[i].list.rows[r]});
        }
      }
    }
    std::stable_sort(out.begin(), out.end(), [](const PriceQuote& a, const PriceQuote& b) {
      return std::tie(a.list.year, a.list.month) < std::tie(b.list.year, b.list.month);
    });
    return out;
  }
};

DirectoryUser model_user(ViewWorld& w, const UserId& id) {
  const UserState us = replay<UserState>(w, user_stream(id));
  ReadBatch keep;
  const auto events = stream_events(w, user_stream(id), &keep);
  DirectoryUser u;
  u.user_id = id;
  u.partner_id = us.partner_id;
  u.status = us.status == UserStatus::kActive        ? DirectoryStatus::kActive
             : us.status == UserStatus::kDeactivated ? DirectoryStatus::kInactive
                                                     : DirectoryStatus::kPurged;
  u.erased = us.status == UserStatus::kPurged || us.profile.erased;
  if (!u.erased) u.profile = us.profile.value;
  u.roles.assign(us.roles.begin(), us.roles.end());
  u.created_at = events.front().recorded_at;
  u.changed_at = events.back().recorded_at;
  // Kept after a purge: the directory says when the user was deactivated, then purged.
  if (us.status != UserStatus::kActive) u.deactivated_at = us.deactivated_at;
  u.must_change_password = us.must_change_password;
  return u;
}

// The fields of a profile the model knows (the aggregate has no filing time or revocation reason).
void expect_profile(ViewWorld& w, const TrackedPartner& t, const PartnerProfileView& v, Timestamp date) {
  const PartnerState ps = replay<PartnerState>(w, partner_stream(t.id));
  ReadBatch keep;
  const auto events = stream_events(w, partner_stream(t.id), &keep);
  EXPECT_EQ(v.partner_name, ps.partner_name);
  EXPECT_EQ(v.mpn_id, ps.mpn_id);
  EXPECT_EQ(v.country, ps.country);
  EXPECT_EQ(v.billing_currency, ps.billing_currency);
  {
    PersonalDataScope scope(w.cipher.get());
    auto first = decode_event(events.front().type, events.front().schema_version, events.front().payload);
    ASSERT_TRUE(first.is_ok());
    EXPECT_EQ(v.enrolled_at, std::get<PartnerEnrolled>(*first).enrolled_at);
  }
  EXPECT_TRUE(v.legal == ps.legal);
  EXPECT_EQ(v.vetting_status, ps.vetting_status);
  EXPECT_EQ(v.vetting_sub_status, ps.vetting_sub_status);
  EXPECT_EQ(v.support, ps.support);
  EXPECT_TRUE(v.billing == ps.billing);
  EXPECT_EQ(v.organization, ps.organization);
  EXPECT_EQ(v.suspension.suspended, ps.suspended);
  EXPECT_EQ(v.agreement_accepted_at, ps.agreement_accepted_at);
  EXPECT_EQ(v.agreement_version, ps.agreement_version);
  EXPECT_EQ(v.accepted_tax_id, ps.accepted_tax_id);
  EXPECT_EQ(v.authorized_regions, std::vector<std::string>(ps.authorized_regions.begin(), ps.authorized_regions.end()));
  EXPECT_EQ(v.competencies, ps.competencies);
  EXPECT_EQ(v.endorsements, ps.endorsements);
  EXPECT_EQ(v.pinned_offers, ps.pinned_offers);
  EXPECT_EQ(v.changed_at, events.back().recorded_at);
  ASSERT_EQ(v.locations.size(), ps.locations.size());
  size_t i = 0;
  for (const auto& [id, l] : ps.locations) {
    EXPECT_EQ(v.locations[i].location_id, id);
    EXPECT_EQ(v.locations[i].address, l.address);
    EXPECT_EQ(v.locations[i].mpn_id, l.mpn_id);
    ++i;
  }
  ASSERT_EQ(v.tax_exemptions.size(), ps.tax_exemptions.size());
  i = 0;
  for (const auto& [id, x] : ps.tax_exemptions) {
    const TaxExemptionView& got = v.tax_exemptions[i++];
    EXPECT_EQ(got.exemption_id, id);
    EXPECT_EQ(got.jurisdiction, x.jurisdiction);
    EXPECT_EQ(got.certificate_ref, x.certificate_ref);
    EXPECT_EQ(got.valid_from, x.valid_from);
    EXPECT_EQ(got.expires_on, x.expires_on);
    EXPECT_EQ(got.revoked, x.revoked);
    EXPECT_EQ(got.state == ExemptionState::kActive, exemption_applies(x, date));
  }
  std::vector<BusinessProfileView> profiles;
  for (const std::string& region : t.regions) {
    const BusinessProfileState bs = replay<BusinessProfileState>(w, business_profile_stream(t.id, region));
    if (!bs.exists) continue;
    BusinessProfileView b;
    b.region = region;
    b.details = bs.details;
    b.published = bs.published;
    for (const auto& [id, l] : bs.locations) b.locations.push_back({id, l.address, l.phone});
    profiles.push_back(std::move(b));
  }
  ASSERT_EQ(v.business_profiles.size(), profiles.size());
  for (size_t k = 0; k < profiles.size(); ++k) {
    EXPECT_EQ(v.business_profiles[k].region, profiles[k].region);
    EXPECT_EQ(v.business_profiles[k].details, profiles[k].details);
    EXPECT_EQ(v.business_profiles[k].published, profiles[k].published);
    EXPECT_EQ(v.business_profiles[k].locations, profiles[k].locations);
  }
}

void expect_same_entries(const std::vector<AuditEntry>& got, const std::vector<AuditEntry>& want) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    SCOPED_TRACE("entry " + std::to_string(i) + " " + want[i].event_type);
    EXPECT_EQ(got[i].position, want[i].position);
    EXPECT_EQ(got[i].recorded_at, want[i].recorded_at);
    EXPECT_EQ(got[i].stream, want[i].stream);
    EXPECT_EQ(got[i].stream_version, want[i].stream_version);
    EXPECT_EQ(got[i].actor, want[i].actor);
    EXPECT_EQ(got[i].command_id, want[i].command_id);
    EXPECT_EQ(got[i].correlation_id, want[i].correlation_id);
    EXPECT_EQ(got[i].causation_id, want[i].causation_id);
    EXPECT_EQ(got[i].event_type, want[i].event_type);
    EXPECT_EQ(got[i].schema_version, want[i].schema_version);
    EXPECT_EQ(got[i].fields, want[i].fields);
  }
}

template <class T, class Fn>
T query(ViewSet& views, std::string_view view, Fn&& fn) {
  std::optional<T> out;
  Status s = views.read(view, [&](Db& db) {
    auto r = fn(db);
    if (r) out = std::move(*r);
    return r.status();
  });
  if (!s.is_ok()) throw std::runtime_error(std::string(view) + " query: " + s.to_string());
  return std::move(*out);
}

void check_against_model(ViewWorld& w, ViewSet& views, const Generator& g) {
  const CatalogState cs = replay<CatalogState>(w, catalog_stream());
  PricingModel pricing{cs, {}};
  {
    ReadBatch keep;
    for (const RecordedEvent& e : stream_events(w, catalog_stream(), &keep)) {
      if (e.type == PriceListPublished::kType) pricing.positions.push_back(e.position);
    }
  }
  ASSERT_EQ(pricing.positions.size(), cs.price_lists.size());
  const Timestamp now = w.clock.now();
  const YearMonth this_month = month_of(now);
  std::vector<Timestamp> dates = {now,
                                  plus_days(now, -5),
                                  month_start(this_month.year, this_month.month),
                                  Timestamp{month_end(this_month.year, this_month.month).micros - 1},
                                  month_end(this_month.year, this_month.month),
                                  plus_days(now, 15),
                                  plus_days(now, 40)};
  for (const auto& pl : cs.price_lists) {
    for (const PriceRow& r : pl.list.rows) {  // the validity edges of a few rows
      if (dates.size() > 40) break;
      dates.push_back(r.valid_from);
      dates.push_back(r.valid_to);
      dates.push_back(Timestamp{r.valid_to.micros + 1});
    }
  }
  std::vector<CatalogFilter> filters(1);
  for (int s = 0; s < 3; ++s) filters.push_back(CatalogFilter{static_cast<Segment>(s), std::nullopt});
  for (int b = 0; b < 2; ++b) filters.push_back(CatalogFilter{std::nullopt, static_cast<BillingModel>(b)});

  std::set<std::string> purged_subjects;
  for (const TrackedPartner& t : g.partners) {
    for (const UserId& u : t.users) {
      if (replay<UserState>(w, user_stream(u)).status == UserStatus::kPurged) purged_subjects.insert(user_subject(u));
    }
  }

  for (const TrackedPartner& t : g.partners) {
    SCOPED_TRACE("partner " + t.id.to_string() + " (" + t.country + ")");
    const PartnerState ps = replay<PartnerState>(w, partner_stream(t.id));
    // Catalog.
    for (const Timestamp& date : dates) {
      for (const CatalogFilter& f : filters) {
        auto got = query<CatalogPage>(views, "catalog", [&](Db& db) { return CatalogView::query(db, t.id, date, f); });
        EXPECT_TRUE(got == model_catalog(cs, ps, date, f)) << "catalog at " << format_timestamp(date);
      }
    }
    // Directory.
    std::vector<DirectoryUser> all;
    for (const UserId& u : t.users) all.push_back(model_user(w, u));
    auto users = query<std::vector<DirectoryUser>>(views, "directory",
                                                   [&](Db& db) { return DirectoryView::users(db, t.id, std::nullopt); });
    EXPECT_EQ(users, all);
    for (DirectoryStatus status : {DirectoryStatus::kActive, DirectoryStatus::kInactive, DirectoryStatus::kPurged}) {
      std::vector<DirectoryUser> want;
      for (const DirectoryUser& u : all) {
        if (u.status == status) want.push_back(u);
      }
      EXPECT_EQ(query<std::vector<DirectoryUser>>(views, "directory",
                                                  [&](Db& db) { return DirectoryView::users(db, t.id, status); }),
                want)
          << directory_status_name(status);
    }
    for (int r = 0; r < kRoleCount; ++r) {
      std::vector<DirectoryUser> want;
      for (const DirectoryUser& u : all) {
        if (std::find(u.roles.begin(), u.roles.end(), static_cast<Role>(r)) != u.roles.end()) want.push_back(u);
      }
      EXPECT_EQ(query<std::vector<DirectoryUser>>(
                    views, "directory", [&](Db& db) { return DirectoryView::holders(db, t.id, static_cast<Role>(r)); }),
                want)
          << role_name(static_cast<Role>(r));
    }
    // Profile.
    for (const Timestamp& date : {now, plus_days(now, 30)}) {
      auto profile =
          query<PartnerProfileView>(views, "profile", [&](Db& db) { return ProfileView::query(db, t.id, date); });
      expect_profile(w, t, profile, date);
    }
    // Audit: every event of the partner's streams, in order, paged.
    std::vector<AuditEntry> want;
    {
      PersonalDataScope scope(w.cipher.get());
      auto batch = testing::must_value(w.log->read_all(GlobalPosition(1), 1'000'000), "read all");
      for (const RecordedEvent& e : batch.events) {
        if (e.partner != t.id.to_string()) continue;
        AuditEntry a;
        a.position = e.position;
        a.recorded_at = e.recorded_at;
        a.stream = std::string(e.stream);
        a.stream_version = e.version;
        a.actor = std::string(e.actor);
        a.command_id = e.command_id;
        a.correlation_id = e.correlation_id;
        a.causation_id = e.causation_id;
        a.event_type = std::string(e.type);
        a.schema_version = e.schema_version;
        a.fields = testing::must_value(
            audit_fields(e.type, e.schema_version, e.payload,
                         [&](const std::string& subject) { return purged_subjects.count(subject) > 0; }),
            "model fields");
        want.push_back(std::move(a));
      }
    }
    std::vector<AuditEntry> got;
    GlobalPosition from(1);
    for (int page = 0; page < 10000; ++page) {
      auto p = query<AuditPage>(views, "audit",
                                [&](Db& db) { return AuditView::page(db, *w.log, w.cipher.get(), t.id, from, 7); });
      got.insert(got.end(), p.entries.begin(), p.entries.end());
      if (!p.next) break;
      from = *p.next;
    }
    expect_same_entries(got, want);
    if (want.size() > 4) {
      const Timestamp from_time = want[want.size() / 4].recorded_at;
      const Timestamp to_time = want[want.size() * 3 / 4].recorded_at;
      std::vector<AuditEntry> window;
      for (const AuditEntry& a : want) {
        if (from_time <= a.recorded_at && a.recorded_at < to_time) window.push_back(a);
      }
      auto between = query<AuditPage>(views, "audit", [&](Db& db) {
        return AuditView::between(db, *w.log, w.cipher.get(), t.id, from_time, to_time, GlobalPosition(1), kMaxAuditPage);
      });
      expect_same_entries(between.entries, window);
    }
  }

  // Pricing.
  std::set<std::string> offer_ids(g.offers.begin(), g.offers.end());
  for (const auto& pl : cs.price_lists) {
    for (const PriceRow& r : pl.list.rows) offer_ids.insert(r.offer_id);
  }
  for (const char* market : kCountries) {
    for (const std::string& currency : {std::string(billing_currency_of(market)), std::string("USD")}) {
      for (const Timestamp& date : dates) {
        for (const std::string& offer : offer_ids) {
          auto got = query<std::optional<PriceQuote>>(
              views, "pricing", [&](Db& db) { return PricingView::price(db, offer, market, currency, date); });
          EXPECT_EQ(got, pricing.price(offer, market, currency, date))
              << offer << " " << market << " " << currency << " " << format_timestamp(date);
        }
        EXPECT_EQ(query<std::vector<PriceListView>>(
                      views, "pricing", [&](Db& db) { return PricingView::current_list(db, market, date, currency); }),
                  pricing.month(market, month_of(date), currency));
      }
    }
    for (const Timestamp& date : dates) {
      EXPECT_EQ(query<std::vector<PriceListView>>(views, "pricing",
                                                  [&](Db& db) { return PricingView::preview(db, market, date, ""); }),
                pricing.month(market, next_month(month_of(date)), ""));
    }
  }
  for (const std::string& offer : offer_ids) {
    EXPECT_EQ(query<std::vector<PriceQuote>>(views, "pricing",
                                             [&](Db& db) { return PricingView::history(db, offer, "", ""); }),
              pricing.history(offer))
        << offer;
  }
}

class ViewsDifferential : public ::testing::TestWithParam<uint64_t> {};

// The notifications view against a model from the streams: each user sees
// their own role events, their partner's vetting / suspension / reinstatement
// and (with the price-list permission) their market's price lists, none older
// than their creation, nothing once purged; newest first.
void check_notifications(ViewWorld& w, ViewSet& views, const Generator& g) {
  ReadBatch keep;
  std::vector<std::pair<uint64_t, std::string>> lists;  // position, market
  for (const RecordedEvent& e : stream_events(w, catalog_stream(), &keep)) {
    if (e.type != PriceListPublished::kType) continue;
    auto event = decode_event(e.type, e.schema_version, e.payload);
    ASSERT_TRUE(event.is_ok());
    lists.emplace_back(e.position.value(), std::get<PriceListPublished>(*event).price_list.market);
  }
  size_t checked = 0;
  for (const TrackedPartner& p : g.partners) {
    std::vector<uint64_t> partner_rows;
    for (const RecordedEvent& e : stream_events(w, partner_stream(p.id), &keep)) {
      if (e.type == VettingStatusChanged::kType || e.type == PartnerSuspended::kType ||
          e.type == PartnerReinstated::kType) {
        partner_rows.push_back(e.position.value());
      }
    }
    for (const UserId& u : p.users) {
      uint64_t since = 0;
      bool purged = false;
      std::vector<uint64_t> own;
      for (const RecordedEvent& e : stream_events(w, user_stream(u), &keep)) {
        if (e.type == UserCreated::kType) since = e.position.value();
        if (e.type == RoleAssigned::kType || e.type == RoleRemoved::kType) own.push_back(e.position.value());
        if (e.type == UserPurged::kType) purged = true;
      }
      for (bool prices : {false, true}) {
        std::vector<uint64_t> want;
        if (!purged) {
          want = own;
          for (uint64_t x : partner_rows) {
            if (x >= since) want.push_back(x);
          }
          for (const auto& [x, market] : lists) {
            if (prices && market == p.country && x >= since) want.push_back(x);
          }
        }
        std::sort(want.rbegin(), want.rend());
        std::vector<uint64_t> got;
        uint64_t unread = 0;
        NotificationQuery q;
        q.limit = 1'000'000;
        ASSERT_TRUE(views.read(NotificationsView::kName, [&](Db& db) -> Status {
                           auto page = NotificationsView::feed(db, NotificationReader{p.id, u, prices}, q);
                           if (!page) return page.status();
                           for (const Notification& n : page->items) got.push_back(n.position);
                           unread = page->unread_count;
                           return Status::ok();
                         }).is_ok());
        EXPECT_EQ(got, want) << "user " << u.to_string() << (prices ? " with" : " without") << " price lists";
        EXPECT_LE(unread, got.size());
        ++checked;
      }
    }
  }
  EXPECT_GT(checked, 0u);
}

TEST_P(ViewsDifferential, EveryViewEqualsTheModelAndARebuildFromZero) {
  const uint64_t seed = GetParam();
  ViewWorld w(at("2026-01-05T08:00:00Z"));
  Generator g(w, seed);
  constexpr int kCommands = 240;
  ViewSetOptions options;
  options.batch_events = 1 + seed % 7;  // small batches: many transactions, checkpoints, interleavings
  auto views = w.open_views(options);
  ASSERT_TRUE(views->start().is_ok());
  for (int i = 0; i < kCommands / 2; ++i) g.step();
  // A restart half-way: the views resume from their checkpoints.
  ASSERT_TRUE(views->stop().is_ok());
  views.reset();
  w.restart();
  views = w.open_views(options);
  for (const ViewStatus& v : views->lag()) EXPECT_TRUE(v.serving) << v.name;
  ASSERT_TRUE(views->start().is_ok());
  for (int i = kCommands / 2; i < kCommands; ++i) g.step();
  ASSERT_TRUE(views->stop().is_ok());
  ASSERT_TRUE(views->catch_up().is_ok());
  for (const ViewStatus& v : views->lag()) {
    EXPECT_EQ(v.lag, 0u) << v.name;
    EXPECT_TRUE(v.error.is_ok()) << v.name << ": " << v.error.to_string();
    EXPECT_EQ(v.events_built, 0u) << v.name << ": resumed, not rebuilt";
  }
  SCOPED_TRACE("seed " + std::to_string(seed) + ": " + std::to_string(g.commands) + " commands, " +
               std::to_string(g.refused) + " refused, " + std::to_string(w.log->head().value()) + " events");
  ASSERT_GT(w.log->head().value(), 100u);
  {
    // The generator reaches most of the domain: count the event types it produced.
    std::map<std::string, int> types;
    auto all = testing::must_value(w.log->read_all(GlobalPosition(1), 1'000'000), "read all");
    for (const RecordedEvent& e : all.events) ++types[std::string(e.type)];
    std::string seen;
    for (const auto& [type, n] : types) seen += type + "=" + std::to_string(n) + " ";
    RecordProperty("event_types", seen);
    std::string why;
    for (const auto& [k, n] : g.refusals) why += k + "=" + std::to_string(n) + " | ";
    RecordProperty("refusals", why);
    EXPECT_GE(types.size(), 28u) << seen;
  }

  check_against_model(w, *views, g);
  check_notifications(w, *views, g);

  // The incremental files equal files rebuilt from position 0, one view at a time...
  std::map<std::string, std::string> incremental;
  for (const std::string& name : views->names()) {
    incremental[name] = views->dump(name).value();
    ASSERT_TRUE(views->rebuild(name).is_ok()) << name;
    EXPECT_EQ(views->dump(name).value(), incremental[name]) << name;
  }
  // ...and all five built at once from nothing, decoded and applied on two threads.
  views.reset();
  std::filesystem::remove_all(w.dir.path() + "/views");
  ViewSetOptions parallel;
  parallel.apply_threads = 2;
  views = w.open_views(parallel);
  ASSERT_TRUE(views->catch_up().is_ok());
  for (const std::string& name : views->names()) EXPECT_EQ(views->dump(name).value(), incremental[name]) << name;
  // ...and built again in small batches, each view holding at most 8 rows: the
  // held rows are written many times over, as in a build of a log too large to
  // hold, and later events change rows the file already has.
  views.reset();
  std::filesystem::remove_all(w.dir.path() + "/views");
  ViewSetOptions small;
  small.build_batch_events = 64;
  small.build_max_held_rows = 8;
  views = w.open_views(small);
  ASSERT_TRUE(views->catch_up().is_ok());
  for (const std::string& name : views->names()) EXPECT_EQ(views->dump(name).value(), incremental[name]) << name;
}

INSTANTIATE_TEST_SUITE_P(Seeds, ViewsDifferential, ::testing::Range<uint64_t>(1, 9));

}  // namespace
}  // namespace accountable
