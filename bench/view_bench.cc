#include "bench/view_bench.h"

#include <sodium.h>

#include <boost/json.hpp>

#include <array>
#include <chrono>
#include <ctime>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <random>
#include <mutex>
#include <shared_mutex>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include "aggregates/catalog.h"
#include "projections/view_set.h"
#include "schema/domain_events.h"

namespace accountable {

namespace {

constexpr int kOffers = 200;
constexpr int kMonths = 12;
constexpr const char* kMarkets[] = {"US", "GB", "DE"};
constexpr const char* kCurrencies[] = {"USD", "GBP", "EUR"};
constexpr const char* kRegions[] = {"emea", "apac", "amer"};
constexpr int64_t kMicrosPerMinute = 60'000'000;
constexpr int64_t kMicrosPerDayBench = 86'400'000'000;

struct SynUser {
  UserId id;
  std::set<Role> roles;
  int status = 0;  // 0 active, 1 deactivated, 2 purged
};

struct SynPartner {
  PartnerId id;
  int country = 0;  // index into kMarkets
  int steps_left = 0;
  bool enrolled = false;
  std::vector<SynUser> users;
  std::vector<LocationId> locations;
  std::vector<ExemptionId> exemptions;
  std::vector<std::string> pins;
  std::map<std::string, std::vector<LocationId>> profiles;  // region -> its locations
  bool suspended = false;
  uint64_t counter = 0;  // for unique emails
};

struct Write {
  std::string stream;
  std::string partner;
  std::vector<DomainEvent> events;
};

struct SynCommand {
  std::vector<Write> writes;
  std::vector<std::string> erase_after;
};

class Generator {
 public:
  explicit Generator(uint64_t seed) : rng_(seed) {}

  SynCommand catalog_setup() {
    Write w{"catalog", "", {}};
    for (int i = 0; i < kOffers; ++i) {
      Offer o;
      o.offer_id = "offer-" + std::to_string(i);
      o.display_name = "Offer " + std::to_string(i);
      o.segment = static_cast<Segment>(i % 3);
      o.license_agreement_type = static_cast<LicenseAgreementType>(i % 3);
      o.purchase_unit = "1 Month";
      o.end_customer_type = static_cast<EndCustomerType>(i % 4);
      o.billing_model = i % 2 ? BillingModel::kUsageBased : BillingModel::kLicenseBased;
      w.events.push_back(OfferPublished{o});
    }
    for (int month = 1; month <= kMonths; ++month) {
      for (int m = 0; m < 3; ++m) {
        PriceList l;
        l.market = kMarkets[m];
        l.currency = kCurrencies[m];
        l.year = 2026;
        l.month = month;
        l.billing_model = BillingModel::kUsageBased;
        const Timestamp from = month_start(2026, month);
        const Timestamp to{(month == 12 ? month_start(2027, 1) : month_start(2026, month + 1)).micros - 1};
        for (int i = 0; i < kOffers; ++i) {
          PriceRow r;
          r.change_code = month == 1 ? ChangeCode::kAdd : (i % 7 == 0 ? ChangeCode::kChg : ChangeCode::kUnc);
          r.valid_from = from;
          r.valid_to = to;
          r.offer_display_name = "Offer " + std::to_string(i);
          r.offer_id = "offer-" + std::to_string(i);
          r.purchase_unit = "1 Month";
          r.list_price_micros = 1'000'000 * (10 + i % 50) + month * 10'000;
          r.erp_price_micros = r.list_price_micros * 6 / 5;
          l.rows.push_back(std::move(r));
        }
        w.events.push_back(PriceListPublished{l, now_});
      }
    }
    return SynCommand{{std::move(w)}, {}};
  }

  // An occasional operator change: an offer renamed.
  SynCommand catalog_update() {
    Offer o;
    const int i = pick(kOffers);
    o.offer_id = "offer-" + std::to_string(i);
    o.display_name = "Offer " + std::to_string(i) + " (" + std::to_string(++renames_) + ")";
    o.segment = static_cast<Segment>(i % 3);
    o.license_agreement_type = static_cast<LicenseAgreementType>(i % 3);
    o.purchase_unit = "1 Month";
    o.end_customer_type = static_cast<EndCustomerType>(i % 4);
    o.billing_model = i % 2 ? BillingModel::kUsageBased : BillingModel::kLicenseBased;
    return SynCommand{{Write{"catalog", "", {OfferUpdated{o}}}}, {}};
  }

  SynCommand partner_command(SynPartner& p) {
    if (!p.enrolled) return enroll(p);
    --p.steps_left;
    const int r = pick(100);
    if (r < 25) return create_user(p);
    if (r < 33) return update_user(p);
    if (r < 41) return assign_role(p);
    if (r < 46) return remove_role(p);
    if (r < 54) return reset_password(p);
    if (r < 58) return deactivate(p);
    if (r < 60) return restore(p);
    if (r < 62) return purge(p);
    if (r < 64) return partner_only(p, {LegalProfileUpdated{legal(p)},
                                        VettingStatusChanged{VettingStatus::kPending, VettingSubStatus::kNone}});
    if (r < 67) {
      return partner_only(p, {SupportProfileUpdated{SupportProfile{"support@p.example", "+1 425 555 0101",
                                                                   "https://p.example/support"}}});
    }
    if (r < 70) return billing(p);
    if (r < 72) {
      return partner_only(p, {OrganizationProfileUpdated{
                                 OrganizationProfile{p.id.to_string(), "p.onmicrosoft.com", "org@p.example", "en", "en-us"}}});
    }
    if (r < 75) return add_location(p);
    if (r < 76 && !p.locations.empty()) return remove_location(p);
    if (r < 79) return file_exemption(p);
    if (r < 80 && !p.exemptions.empty()) {
      return partner_only(p, {TaxExemptionRevoked{p.exemptions[static_cast<size_t>(pick(static_cast<int>(p.exemptions.size())))], "superseded"}});
    }
    if (r < 83) return pin(p);
    if (r < 84 && !p.pins.empty()) {
      std::string offer = p.pins.front();
      std::erase(p.pins, offer);
      return partner_only(p, {OfferUnpinned{offer}});
    }
    if (r < 85 && p.pins.size() > 1) {
      std::rotate(p.pins.begin(), p.pins.begin() + 1, p.pins.end());
      return partner_only(p, {PinsReordered{p.pins}});
    }
    if (r < 86) {
      p.suspended = !p.suspended;
      if (p.suspended) return partner_only(p, {PartnerSuspended{SuspensionReason::kBillingOverdue, 75, "unpaid", now_}});
      return partner_only(p, {PartnerReinstated{now_}});
    }
    if (r < 87) {
      return partner_only(p, {VettingStatusChanged{VettingStatus::kAuthorized, VettingSubStatus::kDecision}});
    }
    if (r < 88) return partner_only(p, {AuthorizedRegionsSet{{"amer", "apac", "emea"}}});
    if (r < 96) return business_profile(p);
    if (r < 97) {
      const AuditorGrantId grant = id<AuditorGrantId>();
      return partner_only(p, {AuditorAccessIssued{grant, Personal<std::string>{auditor_subject(grant), "audit@kpmg.example"},
                                                  now_, Timestamp{now_.micros + 90 * kMicrosPerDayBench}}});
    }
    return reset_password(p);
  }

  void advance_clock() { now_.micros += kMicrosPerMinute; }
  int pick(int n) { return static_cast<int>(rng_() % static_cast<uint64_t>(n)); }
  template <class Id>
  Id id() {
    typename Id::Bytes b;
    for (auto& x : b) x = static_cast<unsigned char>(rng_());
    b[6] = static_cast<unsigned char>((b[6] & 0x0f) | 0x40);
    b[8] = static_cast<unsigned char>((b[8] & 0x3f) | 0x80);
    return Id(b);
  }
  uint64_t partners = 0;
  uint64_t users = 0;
  uint64_t purged = 0;

 private:
  std::string fingerprint() {
    std::string fp(32, '\0');
    for (char& c : fp) c = static_cast<char>(rng_());
    return fp;
  }
  ContactDetails person(SynPartner& p) {
    const std::string n = std::to_string(++p.counter);
    return ContactDetails{"First" + n, "Last" + n, "user" + n + "@" + p.id.to_string().substr(0, 8) + ".example",
                          "+1 425 555 0100"};
  }
  Address address(const SynPartner& p) {
    return Address{"1 Main Street", "", "Redmond", "WA", "98052", kMarkets[p.country], "West"};
  }
  LegalProfile legal(SynPartner& p) {
    return LegalProfile{"Company " + p.id.to_string().substr(0, 8), address(p),
                        PersonalContact{contact_subject(p.id, "legal-primary"), person(p)},
                        Personal<std::string>{contact_subject(p.id, "legal-approver"), "approver@p.example"},
                        address(p)};
  }
  std::string partner_stream_of(const SynPartner& p) const { return "partner-" + p.id.to_string(); }
  std::string user_stream_of(const UserId& u) const { return "user-" + u.to_string(); }
  SynCommand partner_only(SynPartner& p, std::vector<DomainEvent> events) {
    return SynCommand{{Write{partner_stream_of(p), p.id.to_string(), std::move(events)}}, {}};
  }
  SynCommand user_and_partner(SynPartner& p, const UserId& u, std::vector<DomainEvent> user_events,
                           std::vector<DomainEvent> partner_events) {
    SynCommand c;
    c.writes.push_back(Write{user_stream_of(u), p.id.to_string(), std::move(user_events)});
    if (!partner_events.empty()) c.writes.push_back(Write{partner_stream_of(p), p.id.to_string(), std::move(partner_events)});
    return c;
  }
  SynUser* some_user(SynPartner& p, int status) {
    std::vector<SynUser*> candidates;
    for (SynUser& u : p.users) {
      if (u.status == status) candidates.push_back(&u);
    }
    if (candidates.empty()) return nullptr;
    return candidates[static_cast<size_t>(pick(static_cast<int>(candidates.size())))];
  }

  SynCommand enroll(SynPartner& p) {
    p.enrolled = true;
    ++partners;
    ++users;
    PartnerEnrolled e;
    e.partner_id = p.id;
    e.partner_name = "Partner " + p.id.to_string().substr(0, 8);
    e.mpn_id = std::to_string(1'000'000 + partners);
    e.legal = legal(p);
    e.organization = OrganizationProfile{p.id.to_string(), "p.onmicrosoft.com", "", "en", "en-us"};
    e.billing_currency = kCurrencies[p.country];
    e.enrolled_at = now_;
    SynUser admin{id<UserId>(), {Role::kGlobalAdmin}, 0};
    p.users.push_back(admin);
    const std::string fp = fingerprint();
    return user_and_partner(p, admin.id,
                            {UserCreated{admin.id, p.id, PersonalContact{user_subject(admin.id), person(p)}, fp},
                             RoleAssigned{Role::kGlobalAdmin}, PasswordSet{PasswordReason::kCreated, "operator:bench", true}},
                            {e, PartnerUserAdded{admin.id, fp}, GlobalAdminActivated{admin.id},
                             ResellerAgreementAccepted{"2019-10", "user:" + admin.id.to_string(), now_}});
  }
  SynCommand create_user(SynPartner& p) {
    ++users;
    SynUser u{id<UserId>(), {}, 0};
    const std::string fp = fingerprint();
    std::vector<DomainEvent> events{UserCreated{u.id, p.id, PersonalContact{user_subject(u.id), person(p)}, fp}};
    const int roles = 1 + pick(2);
    for (int i = 0; i < roles; ++i) {
      const Role role = static_cast<Role>(pick(kRoleCount));
      if (u.roles.insert(role).second) events.push_back(RoleAssigned{role});
    }
    events.push_back(PasswordSet{PasswordReason::kCreated, "user:" + p.users.front().id.to_string(), true});
    std::vector<DomainEvent> partner_events{PartnerUserAdded{u.id, fp}};
    if (u.roles.count(Role::kGlobalAdmin)) partner_events.push_back(GlobalAdminActivated{u.id});
    p.users.push_back(u);
    return user_and_partner(p, u.id, std::move(events), std::move(partner_events));
  }
  SynCommand update_user(SynPartner& p) {
    SynUser* u = some_user(p, 0);
    if (u == nullptr) return create_user(p);
    const std::string fp = fingerprint();
    return user_and_partner(p, u->id, {UserProfileUpdated{PersonalContact{user_subject(u->id), person(p)}, fp}},
                            {PartnerUserEmailChanged{u->id, fp}});
  }
  SynCommand assign_role(SynPartner& p) {
    SynUser* u = some_user(p, 0);
    if (u == nullptr) return create_user(p);
    const Role role = static_cast<Role>(pick(kRoleCount));
    u->roles.insert(role);
    return user_and_partner(p, u->id, {RoleAssigned{role}}, {});
  }
  SynCommand remove_role(SynPartner& p) {
    SynUser* u = some_user(p, 0);
    if (u == nullptr || u->roles.empty() || u == &p.users.front()) return reset_password(p);
    const Role role = *u->roles.begin();
    u->roles.erase(role);
    return user_and_partner(p, u->id, {RoleRemoved{role}}, {});
  }
  SynCommand reset_password(SynPartner& p) {
    SynUser* u = some_user(p, 0);
    if (u == nullptr) return create_user(p);
    return user_and_partner(p, u->id, {PasswordSet{PasswordReason::kReset, "user:" + p.users.front().id.to_string(), true}}, {});
  }
  SynCommand deactivate(SynPartner& p) {
    SynUser* u = some_user(p, 0);
    if (u == nullptr || u == &p.users.front()) return reset_password(p);
    u->status = 1;
    return user_and_partner(p, u->id, {UserDeactivated{now_}},
                            u->roles.count(Role::kGlobalAdmin) ? std::vector<DomainEvent>{GlobalAdminDeactivated{u->id}}
                                                               : std::vector<DomainEvent>{});
  }
  SynCommand restore(SynPartner& p) {
    SynUser* u = some_user(p, 1);
    if (u == nullptr) return reset_password(p);
    u->status = 0;
    return user_and_partner(p, u->id, {UserRestored{now_}}, {});
  }
  SynCommand purge(SynPartner& p) {
    SynUser* u = some_user(p, 1);
    if (u == nullptr) return deactivate(p);
    u->status = 2;
    u->roles.clear();
    ++purged;
    SynCommand c = user_and_partner(p, u->id, {UserPurged{now_}}, {PartnerUserRemoved{u->id}});
    c.erase_after.push_back(user_subject(u->id));
    return c;
  }
  SynCommand billing(SynPartner& p) {
    return partner_only(p, {BillingProfileUpdated{BillingProfile{"Company", address(p),
                                                                 PersonalContact{contact_subject(p.id, "billing-primary"), person(p)},
                                                                 "PO-" + std::to_string(p.counter), "VAT" + std::to_string(p.counter)}}});
  }
  SynCommand add_location(SynPartner& p) {
    const LocationId l = id<LocationId>();
    p.locations.push_back(l);
    return partner_only(p, {LocationAdded{l, address(p), std::to_string(2'000'000 + p.counter)}});
  }
  SynCommand remove_location(SynPartner& p) {
    const LocationId l = p.locations.back();
    p.locations.pop_back();
    return partner_only(p, {LocationRemoved{l}});
  }
  SynCommand file_exemption(SynPartner& p) {
    const ExemptionId x = id<ExemptionId>();
    p.exemptions.push_back(x);
    return partner_only(p, {TaxExemptionFiled{x, "WA", "cert-" + std::to_string(p.counter),
                                              Timestamp{now_.micros - 10 * kMicrosPerDayBench},
                                              Timestamp{now_.micros + 365 * kMicrosPerDayBench}, now_}});
  }
  SynCommand pin(SynPartner& p) {
    if (p.pins.size() >= 5) return reset_password(p);
    std::string offer = "offer-" + std::to_string(pick(kOffers));
    if (std::find(p.pins.begin(), p.pins.end(), offer) != p.pins.end()) return reset_password(p);
    p.pins.push_back(offer);
    return partner_only(p, {OfferPinned{offer}});
  }
  SynCommand business_profile(SynPartner& p) {
    const std::string region = kRegions[pick(3)];
    const std::string stream = "bizprofile-" + p.id.to_string() + "-" + region;
    auto it = p.profiles.find(region);
    BusinessProfileDetails d;
    d.description = "We resell cloud subscriptions " + std::to_string(p.counter++);
    d.website = "https://p.example";
    d.industry_focus = {"Retail"};
    d.products = {"offer-" + std::to_string(pick(kOffers))};
    if (it == p.profiles.end()) {
      p.profiles[region];
      return SynCommand{{Write{stream, p.id.to_string(), {BusinessProfileCreated{p.id, region, d}}}}, {}};
    }
    const int r = pick(4);
    if (r == 0) return SynCommand{{Write{stream, p.id.to_string(), {BusinessProfileUpdated{d}}}}, {}};
    if (r == 1 && it->second.size() < 5) {
      const LocationId l = id<LocationId>();
      it->second.push_back(l);
      return SynCommand{{Write{stream, p.id.to_string(), {ProfileLocationAdded{l, address(p), "+1 425 555 0102"}}}}, {}};
    }
    if (r == 2 && !it->second.empty()) {
      const LocationId l = it->second.back();
      it->second.pop_back();
      return SynCommand{{Write{stream, p.id.to_string(), {ProfileLocationRemoved{l}}}}, {}};
    }
    if (pick(2) == 0) return SynCommand{{Write{stream, p.id.to_string(), {BusinessProfilePublished{now_}}}}, {}};
    return SynCommand{{Write{stream, p.id.to_string(), {BusinessProfileUnpublished{now_}}}}, {}};
  }

  std::mt19937_64 rng_;
  Timestamp now_ = month_start(2026, 1);
  uint64_t renames_ = 0;
};

class MemoryCipher final : public PersonalDataCipher {
 public:
  using Key = std::array<unsigned char, crypto_aead_xchacha20poly1305_ietf_KEYBYTES>;
  MemoryCipher() {
    if (sodium_init() < 0) std::abort();
  }
  Result<std::string> seal(const std::string& subject, std::string_view plain) override {
    Key key;
    {
      std::lock_guard lock(mu_);
      if (erased_.count(subject)) return Status(StatusCode::kRuleViolated, "data subject " + subject + " was erased");
      auto [it, fresh] = keys_.try_emplace(subject);
      if (fresh) crypto_aead_xchacha20poly1305_ietf_keygen(it->second.data());
      key = it->second;
    }
    std::string out(crypto_aead_xchacha20poly1305_ietf_NPUBBYTES + plain.size() + crypto_aead_xchacha20poly1305_ietf_ABYTES,
                    '\0');
    auto* bytes = reinterpret_cast<unsigned char*>(out.data());
    randombytes_buf(bytes, crypto_aead_xchacha20poly1305_ietf_NPUBBYTES);
    unsigned long long written = 0;
    crypto_aead_xchacha20poly1305_ietf_encrypt(bytes + crypto_aead_xchacha20poly1305_ietf_NPUBBYTES, &written,
                                               reinterpret_cast<const unsigned char*>(plain.data()), plain.size(),
                                               reinterpret_cast<const unsigned char*>(subject.data()), subject.size(),
                                               nullptr, bytes, key.data());
    return out;
  }
  Result<std::string> open(const std::string& subject, std::string_view sealed) override {
    Key key;
    {
      std::shared_lock lock(mu_);  // decoding threads read keys side by side
      auto it = keys_.find(subject);
      if (it == keys_.end()) return not_found("data subject " + subject + " was erased");
      key = it->second;
    }
    constexpr size_t kOverhead = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES + crypto_aead_xchacha20poly1305_ietf_ABYTES;
    if (sealed.size() < kOverhead) return corruption("sealed value too short");
    std::string out(sealed.size() - kOverhead, '\0');
    const auto* bytes = reinterpret_cast<const unsigned char*>(sealed.data());
    unsigned long long read = 0;
    if (crypto_aead_xchacha20poly1305_ietf_decrypt(
            reinterpret_cast<unsigned char*>(out.data()), &read, nullptr, bytes + crypto_aead_xchacha20poly1305_ietf_NPUBBYTES,
            sealed.size() - crypto_aead_xchacha20poly1305_ietf_NPUBBYTES, reinterpret_cast<const unsigned char*>(subject.data()),
            subject.size(), bytes, key.data()) != 0) {
      return corruption("sealed value of " + subject + " does not authenticate");
    }
    return out;
  }
  Status erase(const std::string& subject) override {
    std::lock_guard lock(mu_);
    keys_.erase(subject);
    erased_.insert(subject);
    return Status::ok();
  }

 private:
  std::shared_mutex mu_;
  std::unordered_map<std::string, Key> keys_;
  std::unordered_set<std::string> erased_;
};

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// CPU time of the whole process (every thread), in seconds.
double process_cpu_seconds() {
  timespec t{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) * 1e-9;
}

}  // namespace

std::unique_ptr<PersonalDataCipher> make_memory_cipher() { return std::make_unique<MemoryCipher>(); }

Result<WorkloadStats> generate_view_workload(EventLog& log, PersonalDataCipher* cipher, const WorkloadOptions& options) {
  Generator gen(options.seed);
  WorkloadStats stats;
  std::vector<SynPartner> active(std::max<size_t>(options.partners_at_once, 1));
  auto fresh = [&](SynPartner& p) {
    p = SynPartner{};
    p.id = gen.id<PartnerId>();
    p.country = gen.pick(3);
    p.steps_left = 30 + gen.pick(40);
  };
  for (SynPartner& p : active) fresh(p);
  bool catalog_done = false;
  while (stats.events < options.events) {
    std::vector<SynCommand> commands;
    if (!catalog_done) {
      commands.push_back(gen.catalog_setup());
      catalog_done = true;
    } else if (stats.commits % 20 == 0) {
      commands.push_back(gen.catalog_update());
    }
    for (SynPartner& p : active) {
      if (p.enrolled && p.steps_left <= 0) fresh(p);
      commands.push_back(gen.partner_command(p));
    }
    CommitRequest request;
    request.command_id = CommandId(gen.id<CommandId>());
    request.correlation_id = CorrelationId(request.command_id.bytes());
    request.causation_id = CausationId(request.command_id.bytes());
    request.actor = "operator:bench";
    std::vector<std::string> erase;
    try {
      PersonalDataScope sealed(cipher);
      for (SynCommand& c : commands) {
        for (Write& w : c.writes) {
          StreamAppend append;
          append.stream = w.stream;
          append.partner = w.partner;
          for (const DomainEvent& e : w.events) {
            EncodedEvent encoded = encode_event(e);
            ++stats.by_type[encoded.type];
            append.events.push_back(
                NewEvent{EventId(gen.id<EventId>()), std::move(encoded.type), encoded.schema_version, std::move(encoded.bytes)});
          }
          stats.events += append.events.size();
          request.streams.push_back(std::move(append));
        }
        erase.insert(erase.end(), c.erase_after.begin(), c.erase_after.end());
      }
    } catch (const PersonalDataError& e) {
      return e.status;
    }
    auto appended = log.append(std::move(request));
    if (!appended) return appended.status();
    ++stats.commits;
    // As the engine does: a committed purge destroys the subject's key.
    if (cipher != nullptr) {
      for (const std::string& subject : erase) ACCT_RETURN_IF_ERROR(cipher->erase(subject));
    }
    gen.advance_clock();
  }
  stats.partners = gen.partners;
  stats.users = gen.users;
  stats.purged_users = gen.purged;
  return stats;
}

Result<ViewBenchResult> bench_views(const ViewBenchOptions& options) {
  namespace fs = std::filesystem;
  const std::string dir = (fs::path(options.data_dir) / "views-bench").string();
  std::error_code ec;
  fs::remove_all(dir, ec);
  fs::create_directories(dir, ec);
  if (ec) return io_error("cannot create " + dir + ": " + ec.message());

  ViewBenchResult result;
  Status outcome;
  std::map<std::string, double> cpu_by_figure;
  {
    // Keys live in memory: a real key store writes and fsyncs one file per
    // subject, which would time the key store, not the views.
    auto memory_cipher = make_memory_cipher();
    PersonalDataCipher& cipher = *memory_cipher;
    LogOptions log_options;
    log_options.data_dir = dir;
    auto log = EventLog::open(log_options);
    if (!log) return log.status();

    std::map<std::string, double> cpu;  // per figure
    double cpu_start = process_cpu_seconds();
    auto start = std::chrono::steady_clock::now();
    WorkloadOptions w;
    w.events = options.events;
    w.seed = options.seed;
    auto workload = generate_view_workload(**log, &cipher, w);
    if (!workload) return workload.status();
    result.workload = *workload;
    result.events = (*log)->head().value();
    result.load_seconds = seconds_since(start);
    cpu["load"] = process_cpu_seconds() - cpu_start;

    uint64_t scanned = 0;
    cpu_start = process_cpu_seconds();
    start = std::chrono::steady_clock::now();
    ACCT_RETURN_IF_ERROR((*log)->scan_all(GlobalPosition(1), {}, [&](const RecordedEvent&) {
      ++scanned;
      return true;
    }));
    result.scan_seconds = seconds_since(start);
    cpu["scan"] = process_cpu_seconds() - cpu_start;

    Status decode_error;
    cpu_start = process_cpu_seconds();
    start = std::chrono::steady_clock::now();
    {
      PersonalDataScope scope(&cipher);
      ACCT_RETURN_IF_ERROR((*log)->scan_all(GlobalPosition(1), {}, [&](const RecordedEvent& e) {
        auto decoded = decode_event(e.type, e.schema_version, e.payload);
        if (!decoded) decode_error = decoded.status();
        return decoded.is_ok();
      }));
    }
    result.decode_seconds = seconds_since(start);
    cpu["decode"] = process_cpu_seconds() - cpu_start;
    ACCT_RETURN_IF_ERROR(decode_error);

    {
      cpu_start = process_cpu_seconds();
      start = std::chrono::steady_clock::now();
      ViewSetOptions view_options;
      if (options.build_batch_events) view_options.build_batch_events = options.build_batch_events;
      view_options.apply_threads = options.apply_threads;
      auto views = ViewSet::open(dir, **log, &cipher, view_options);
      if (!views) return views.status();
      ACCT_RETURN_IF_ERROR((*views)->catch_up());
      result.build_all_seconds = seconds_since(start);
      result.build_all_cpu_seconds = process_cpu_seconds() - cpu_start;
      cpu["build_all"] = result.build_all_cpu_seconds;
      result.per_event_us = result.events ? result.build_all_seconds * 1e6 / static_cast<double>(result.events) : 0;
      if (options.per_view) {
        for (const std::string& name : (*views)->names()) {
          cpu_start = process_cpu_seconds();
          start = std::chrono::steady_clock::now();
          ACCT_RETURN_IF_ERROR((*views)->rebuild(name));
          result.view_seconds[name] = seconds_since(start);
          result.view_cpu_seconds[name] = process_cpu_seconds() - cpu_start;
          cpu["rebuild_" + name] = result.view_cpu_seconds[name];
        }
      }
      for (const std::string& name : (*views)->names()) {
        std::error_code size_ec;
        auto bytes = fs::file_size(fs::path(dir) / "views" / (name + ".db"), size_ec);
        result.view_bytes[name] = size_ec ? 0 : bytes;
      }
    }
    outcome = (*log)->close();
    cpu_by_figure = std::move(cpu);
  }
  if (!options.keep) fs::remove_all(dir, ec);
  ACCT_RETURN_IF_ERROR(outcome);

  auto line = [&](const std::string& figure, double seconds, boost::json::object extra) {
    boost::json::object o{{"system", "accountable"},
                          {"workload", "views"},
                          {"figure", figure},
                          {"events", result.events},
                          {"seconds", seconds},
                          {"cpu_seconds", cpu_by_figure[figure]},
                          {"events_per_s", seconds > 0 ? static_cast<double>(result.events) / seconds : 0.0}};
    for (auto& kv : extra) o.emplace(kv.key(), std::move(kv.value()));
    std::printf("%s\n", boost::json::serialize(o).c_str());
  };
  line("load", result.load_seconds,
       {{"commits", result.workload.commits}, {"partners", result.workload.partners}, {"users", result.workload.users},
        {"purged_users", result.workload.purged_users}});
  line("scan", result.scan_seconds, {});
  line("decode", result.decode_seconds, {});
  boost::json::object sizes;
  for (const auto& [name, bytes] : result.view_bytes) sizes[name] = bytes;
  line("build_all", result.build_all_seconds, {{"per_event_us", result.per_event_us}, {"file_bytes", sizes}});
  for (const auto& [name, seconds] : result.view_seconds) line("rebuild_" + name, seconds, {});
  std::fflush(stdout);
  return result;
}

}  // namespace accountable
