// The audit tools over a real log (in-memory Env, sealed personal data):
//  - the state as of a position or a time equals the state a fresh engine
//    reaches by running only the commands up to that point, at random points
//    of a randomized command sequence (fixed seed);
//  - the timeline's changes are the real before/after values of the states;
//  - after a purge, history, state and export show the user's personal fields erased;
//  - export -> verify_export passes, and a changed line is caught and named.
#include "aggregates/partner_history.h"

#include <gtest/gtest.h>

#include "aggregates/partner_export.h"

#include <atomic>
#include <boost/json.hpp>
#include <random>

#include "aggregates/engine.h"
#include "aggregates/key_store.h"
#include "aggregates/testing/fixtures.h"
#include "testing/fault_env.h"

namespace accountable {
namespace {

namespace json = boost::json;
using testing::at;

// One engine over its own in-memory data folder. The log records the fixed
// clock's time, so recorded_at is deterministic.
struct AuditWorld {
  FaultInjectionEnv env;
  FixedClock clock{at("2026-01-05T09:00:00Z")};
  std::atomic<int64_t> log_now{clock.now().micros};
  std::unique_ptr<EventLog> log;
  std::unique_ptr<KeyStore> keys;
  std::unique_ptr<KeyStoreCipher> cipher;
  std::unique_ptr<Engine> engine;

  AuditWorld() {
    LogOptions options;
    options.data_dir = "/data";
    options.env = &env;
    options.clock = [this] { return Timestamp{log_now.load()}; };
    log = std::move(EventLog::open(options).value());
    keys = std::move(KeyStore::open(&env, "/data").value());
    cipher = std::make_unique<KeyStoreCipher>(*keys);
    EngineOptions eo;
    eo.clock = &clock;
    // Not the key store's keyed hash: its per-partner secret is random, and two
    // worlds that run the same commands must reach the same states.
    eo.fingerprint = [](const PartnerId& p, std::string_view email) -> Result<EmailFingerprint> {
      std::string lower(email);
      for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      return EmailFingerprint("fp:" + p.to_string() + ":" + lower);
    };
    eo.cipher = cipher.get();
    engine = std::make_unique<Engine>(*log, eo);
  }

  void set_time(Timestamp t) {
    clock.set(t);
    log_now.store(t.micros);
  }

  Result<CommandOutcome> run(const Principal& actor, const Command& command, const CommandId& id) {
    CommandRequest r;
    r.id = id;
    r.digest[0] = 1;
    r.command = command;
    r.correlation_id = CorrelationId(id.bytes());
    r.causation_id = CausationId(id.bytes());
    auto out = engine->execute(actor, r);
    // After a committed purge, what the command pipeline does (app/command_effects.cc).
    if (const auto* purge = std::get_if<PurgeUser>(&r.command); out && purge != nullptr) {
      if (Status s = forget_user(*engine, *cipher, purge->user_id); !s.is_ok()) return s;
    }
    return out;
  }
  CommandOutcome must_run(const Principal& actor, const Command& command) {
    auto out = run(actor, command, CommandId::random());
    testing::must(out.status(), std::string(command_name(command)).c_str());
    return *out;
  }
};

// A command of the randomized sequence, with everything needed to run it again.
struct Step {
  Principal actor;
  Command command;
  CommandId id;
  Timestamp time;
};

constexpr const char* kRegions[] = {"emea", "apac", "latam"};

// Generates and runs commands on `w`, mostly valid, some refused. Users and
// locations are picked among those created so far.
class Scenario {
 public:
  explicit Scenario(uint32_t seed) : rng_(seed) {}

  std::vector<Step> steps;
  std::vector<GlobalPosition> head_after;  // the log's head after each step
  PartnerId partner;
  std::vector<UserId> users;  // every user ever created (the admin first)

  void run(AuditWorld& w, int count) {
    Timestamp t = w.clock.now();
    const CommandId enroll_id = CommandId::random();
    Command enroll = testing::enroll_command();
    auto out = w.run(testing::op(), enroll, enroll_id);
    testing::must(out.status(), "enroll");
    partner = PartnerId(out->created_ids.at(0).bytes());
    users.push_back(UserId(out->created_ids.at(1).bytes()));
    record(w, Step{testing::op(), enroll, enroll_id, t});
    // The operator authorizes regions, so that business profiles can be created.
    t.micros += 1'000'000;
    w.set_time(t);
    const CommandId regions_id = CommandId::random();
    const Command regions = SetAuthorizedRegions{partner, {"apac", "emea"}};
    testing::must(w.run(testing::op(), regions, regions_id).status(), "regions");
    record(w, Step{testing::op(), regions, regions_id, t});
    t.micros += 1'000'000;
    w.set_time(t);
    BusinessProfileDetails details = testing::profile_details();
    details.products.clear();  // the catalog is empty here
    const CommandId profile_id = CommandId::random();
    const Command profile = CreateBusinessProfile{partner, "emea", details};
    testing::must(w.run(actor_for_next(), profile, profile_id).status(), "business profile");
    record(w, Step{actor_for_next(), profile, profile_id, t});
    for (int i = 0; i < count; ++i) {
      // At least a second between steps, so "as of the time of step k" is exactly steps 0..k.
      t.micros += 1'000'000 + static_cast<int64_t>(pick(3)) * 3600'000'000LL;
      if (pick(12) == 0) t.micros += 31 * kMicrosPerDay;  // lets deactivated users be purged
      w.set_time(t);
      Step s{actor_for_next(), next_command(), CommandId::random(), t};
      auto result = w.run(s.actor, s.command, s.id);
      if (result) {
        if (std::holds_alternative<CreateUser>(s.command)) users.push_back(UserId(result->created_ids.at(0).bytes()));
        if (std::holds_alternative<AddLocation>(s.command)) locations_.push_back(LocationId(result->created_ids.at(0).bytes()));
        if (const auto* d = std::get_if<DeactivateUser>(&s.command)) deactivated_.push_back(d->user_id);
        if (std::holds_alternative<AddProfileLocation>(s.command)) {
          profile_locations_.push_back({std::get<AddProfileLocation>(s.command).region,
                                        LocationId(result->created_ids.at(0).bytes())});
        }
      }
      record(w, std::move(s));
    }
  }

 private:
  void record(AuditWorld& w, Step s) {
    steps.push_back(std::move(s));
    head_after.push_back(w.log->head());
  }
  size_t pick(size_t n) { return std::uniform_int_distribution<size_t>(0, n - 1)(rng_); }
  UserId any_user() { return users.at(pick(users.size())); }
  std::string region() { return kRegions[pick(3)]; }

  Principal actor_for_next() {
    // The first admin acts; its rights are read from its stream by the engine.
    return PartnerUser{partner, users.front(), {Role::kGlobalAdmin}, true};
  }

  Command next_command() {
    static const Role kRoles[] = {Role::kGlobalAdmin, Role::kUserManagementAdmin, Role::kSalesAgent,
                                  Role::kReferralAdmin, Role::kIncentivesUser, Role::kHelpdeskAgent};
    const std::string n = std::to_string(++counter_);
    switch (pick(24)) {
      case 20:
      case 21:
        if (users.size() > 1) return DeactivateUser{partner, users.at(1 + pick(users.size() - 1))};
        return DeactivateUser{partner, any_user()};
      case 22:
      case 23:
        if (!deactivated_.empty()) return PurgeUser{partner, deactivated_.at(pick(deactivated_.size()))};
        return PurgeUser{partner, any_user()};
      case 0:
      case 1:
        return CreateUser{partner, testing::contact("User" + n, "Last" + n, "user" + n + "@contoso.com"),
                          {kRoles[pick(6)]}};
      case 2:
        return UpdateUserProfile{partner, any_user(), testing::contact("New" + n, "Name" + n, "renamed" + n + "@contoso.com")};
      case 3: return AssignRole{partner, any_user(), kRoles[pick(6)]};
      case 4: return RemoveRole{partner, any_user(), kRoles[pick(6)]};
      case 5: return ResetPassword{partner, any_user()};
      case 6: return DeactivateUser{partner, any_user()};
      case 7: return RestoreUser{partner, any_user()};
      case 8:
        // Mostly someone deactivated, so that purges happen (after a 31-day jump).
        if (deactivated_.empty() || pick(4) == 0) return PurgeUser{partner, any_user()};
        return PurgeUser{partner, deactivated_.at(pick(deactivated_.size()))};
      case 9: return UpdateSupportProfile{partner, SupportProfile{"help" + n + "@contoso.com", "+1 425 555 01" + n, "https://contoso.com/" + n}};
      case 10: {
        LegalProfileInput legal = testing::legal("US");
        legal.company_name = "Contoso " + n;
        return UpdateLegalProfile{partner, legal};
      }
      case 11: return AddLocation{partner, testing::address("US"), "77" + n};
      case 12:
        if (locations_.empty()) return RemoveLocation{partner, LocationId::random()};
        return RemoveLocation{partner, locations_.at(pick(locations_.size()))};
      case 13: return UnpublishBusinessProfile{partner, region()};
      case 14: {
        BusinessProfileDetails d = testing::profile_details();
        d.products.clear();
        d.description = "Profile " + n;
        if (pick(2) == 0) return CreateBusinessProfile{partner, region(), d};
        return UpdateBusinessProfile{partner, region(), d};
      }
      case 15: return AddProfileLocation{partner, region(), testing::address("GB"), "+44 20 5555 01" + n};
      case 16:
        if (profile_locations_.empty()) return PublishBusinessProfile{partner, region()};
        {
          const auto& [r, id] = profile_locations_.at(pick(profile_locations_.size()));
          return RemoveProfileLocation{partner, r, id};
        }
      case 17:
        if (pick(2) == 0) return PublishBusinessProfile{partner, region()};
        return UnpublishBusinessProfile{partner, region()};
      case 18: return AcceptResellerAgreement{partner, "2019-" + n};
      default:
        return FileTaxExemption{partner, "WA", "cert-" + n, at("2026-01-01T00:00:00Z"), at("2030-01-01T00:00:00Z")};
    }
  }

  std::mt19937 rng_;
  int counter_ = 0;
  std::vector<LocationId> locations_;
  std::vector<UserId> deactivated_;
  std::vector<std::pair<std::string, LocationId>> profile_locations_;
};

// The partner's aggregates after running only steps [0, count) on a fresh
// engine, with the personal data of subjects erased in `erased_in` erased too.
json::object prefix_replay(const Scenario& s, size_t count, const KeyStore& erased_in) {
  AuditWorld fresh;
  for (size_t i = 0; i < count; ++i) {
    fresh.set_time(s.steps[i].time);
    fresh.run(s.steps[i].actor, s.steps[i].command, s.steps[i].id).status().ignore();  // refusals repeat too
  }
  for (const UserId& u : s.users) {
    if (erased_in.destroyed(user_subject(u))) testing::must(fresh.keys->destroy(user_subject(u)), "erase");
  }
  PartnerStates expected;
  if (fresh.log->stream_version(partner_stream(s.partner)).value() > 0) {
    expected.partner = fresh.engine->replay<PartnerState>(partner_stream(s.partner)).value();
  }
  for (const UserId& u : s.users) {
    if (fresh.log->stream_version(user_stream(u)).value() == 0) continue;
    expected.users[u] = fresh.engine->replay<UserState>(user_stream(u)).value();
  }
  for (const char* r : kRegions) {
    const std::string stream = business_profile_stream(s.partner, r);
    if (fresh.log->stream_version(stream).value() == 0) continue;
    expected.business_profiles[r] = fresh.engine->replay<BusinessProfileState>(stream).value();
  }
  return partner_aggregates_json(expected);
}

TEST(PartnerHistory, StateAsOfEqualsTheReplayOfTheCommandsUpToThatPoint) {
  AuditWorld w;
  Scenario s(20261124);
  s.run(w, 90);
  // The sequence must exercise what it claims to: users purged, profiles created.
  auto head = partner_state_as_of(*w.log, w.cipher.get(), s.partner, AsOf{w.log->head(), std::nullopt});
  ASSERT_TRUE(head.is_ok()) << head.status().to_string();
  size_t purged = 0;
  for (const auto& [id, u] : head->users) purged += u.status == UserStatus::kPurged;
  EXPECT_GE(purged, 1u) << "the seed should purge someone";
  EXPECT_GE(head->business_profiles.size(), 1u);
  EXPECT_GE(head->users.size(), 4u);

  std::mt19937 rng(7);
  std::vector<size_t> points = {0, s.steps.size() - 1};
  for (int i = 0; i < 10; ++i) points.push_back(std::uniform_int_distribution<size_t>(1, s.steps.size() - 2)(rng));
  for (size_t k : points) {
    SCOPED_TRACE("after step " + std::to_string(k) + " (" + std::string(command_name(s.steps[k].command)) + ")");
    const json::object expected = prefix_replay(s, k + 1, *w.keys);
    auto by_position = partner_state_as_of(*w.log, w.cipher.get(), s.partner, AsOf{s.head_after[k], std::nullopt});
    ASSERT_TRUE(by_position.is_ok()) << by_position.status().to_string();
    EXPECT_EQ(json::serialize(partner_aggregates_json(*by_position)), json::serialize(expected));
    auto by_time = partner_state_as_of(*w.log, w.cipher.get(), s.partner, AsOf{std::nullopt, s.steps[k].time});
    ASSERT_TRUE(by_time.is_ok()) << by_time.status().to_string();
    EXPECT_EQ(json::serialize(partner_aggregates_json(*by_time)), json::serialize(expected));
    EXPECT_LE(by_time->last_position, s.head_after[k]);
  }
}

TEST(PartnerHistory, AsOfRefusesAPositionBeyondTheHeadAndAnEmptyPoint) {
  AuditWorld w;
  Scenario s(1);
  s.run(w, 3);
  auto beyond = partner_state_as_of(*w.log, w.cipher.get(), s.partner, AsOf{w.log->head().next(), std::nullopt});
  EXPECT_EQ(beyond.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(partner_state_as_of(*w.log, w.cipher.get(), s.partner, AsOf{}).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(partner_state_as_of(*w.log, w.cipher.get(), PartnerId::random(), AsOf{w.log->head(), std::nullopt})
                .status()
                .code(),
            StatusCode::kNotFound);
  // Before the partner existed (time before enrollment): nothing.
  auto before = partner_state_as_of(*w.log, w.cipher.get(), s.partner, AsOf{std::nullopt, at("2020-01-01")});
  ASSERT_TRUE(before.is_ok());
  EXPECT_FALSE(before->partner.has_value());
  EXPECT_TRUE(before->users.empty());
}

const HistoryLine* find_line(const std::vector<HistoryLine>& lines, GlobalPosition from, std::string_view type) {
  for (const HistoryLine& l : lines) {
    if (l.position >= from && l.event_type == type) return &l;
  }
  return nullptr;
}

const FieldChange* find_change(const HistoryLine& line, std::string_view path) {
  for (const FieldChange& c : line.changes) {
    if (c.path == path) return &c;
  }
  return nullptr;
}

TEST(PartnerHistory, ChangesAreTheRealBeforeAndAfterValues) {
  AuditWorld w;
  auto enrolled = w.must_run(testing::op(), testing::enroll_command());
  const PartnerId p(enrolled.created_ids.at(0).bytes());
  const UserId ada(enrolled.created_ids.at(1).bytes());
  const Principal admin = PartnerUser{p, ada, {Role::kGlobalAdmin}, true};
  w.set_time(at("2026-01-06T10:00:00Z"));
  w.must_run(admin, UpdateSupportProfile{p, SupportProfile{"first@contoso.com", "+1 1", "https://a.example"}});
  w.set_time(at("2026-01-07T10:00:00Z"));
  const GlobalPosition second = w.log->head().next();
  w.must_run(admin, UpdateSupportProfile{p, SupportProfile{"second@contoso.com", "+1 1", "https://a.example"}});
  auto sam_created = w.must_run(admin, CreateUser{p, testing::contact("Sam", "Jones", "sam@contoso.com"), {Role::kSalesAgent}});
  const UserId sam(sam_created.created_ids.at(0).bytes());
  const GlobalPosition assign = w.log->head().next();
  w.must_run(admin, AssignRole{p, sam, Role::kBillingAdmin});

  auto lines = partner_history(*w.log, w.cipher.get(), p, HistoryOptions{});
  ASSERT_TRUE(lines.is_ok()) << lines.status().to_string();

  // The second support update: the value the first one set, then the new one; nothing else.
  const HistoryLine* update = find_line(*lines, second, "SupportProfileUpdated");
  ASSERT_NE(update, nullptr);
  EXPECT_EQ(update->command_type, "UpdateSupportProfile");
  EXPECT_EQ(update->actor, "user:" + ada.to_string());
  EXPECT_EQ(update->actor_name, "Ada Admin <ada@contoso.com>");
  ASSERT_EQ(update->changes.size(), 1u);
  EXPECT_EQ(update->changes[0].path, "support.email");
  EXPECT_EQ(update->changes[0].before, json::value("first@contoso.com"));
  EXPECT_EQ(update->changes[0].after, json::value("second@contoso.com"));

  // A role: the whole set before and after.
  const HistoryLine* role = find_line(*lines, assign, "RoleAssigned");
  ASSERT_NE(role, nullptr);
  EXPECT_EQ(role->command_type, "AssignRole");
  EXPECT_EQ(role->stream, user_stream(sam));
  const FieldChange* roles = find_change(*role, "roles");
  ASSERT_NE(roles, nullptr);
  EXPECT_EQ(roles->before, json::parse(R"(["sales_agent"])"));
  EXPECT_EQ(roles->after, json::parse(R"(["billing_admin","sales_agent"])"));

  // A stream's first event: every field is new (before null).
  const HistoryLine* created = find_line(*lines, GlobalPosition(1), "UserCreated");
  ASSERT_NE(created, nullptr);
  EXPECT_EQ(created->command_type, "EnrollPartner");  // the first admin comes with the enrollment
  const FieldChange* profile = find_change(*created, "profile");
  ASSERT_NE(profile, nullptr);
  EXPECT_TRUE(profile->before.is_null());
  EXPECT_EQ(profile->after.at("email"), json::value("ada@contoso.com"));

  // Every event of the partner is a line, in log order; the time window cuts it.
  EXPECT_EQ(lines->size(), w.log->head().value());
  for (size_t i = 1; i < lines->size(); ++i) EXPECT_LT((*lines)[i - 1].position, (*lines)[i].position);
  HistoryOptions window;
  window.from_time = at("2026-01-06T00:00:00Z");
  window.to_time = at("2026-01-07T00:00:00Z");
  auto day = partner_history(*w.log, w.cipher.get(), p, window);
  ASSERT_TRUE(day.is_ok());
  ASSERT_EQ(day->size(), 1u);
  EXPECT_EQ(day->front().changes.at(0).after, json::value("first@contoso.com"));
  EXPECT_EQ(day->front().changes.at(0).before, json::value(""));
}

// CorrectMpnId in the auditor's timeline: the command, the id before and after,
// and the correction kept in the state's history of corrections.
TEST(PartnerHistory, AnMpnIdCorrectionShowsTheIdBeforeAndAfter) {
  AuditWorld w;
  auto enrolled = w.must_run(testing::op(), testing::enroll_command());
  const PartnerId p(enrolled.created_ids.at(0).bytes());
  const GlobalPosition corrected = w.log->head().next();
  w.must_run(testing::op(), CorrectMpnId{p, "4099999", "a typo at enrollment"});

  auto lines = partner_history(*w.log, w.cipher.get(), p, HistoryOptions{});
  ASSERT_TRUE(lines.is_ok()) << lines.status().to_string();
  const HistoryLine* line = find_line(*lines, corrected, "MpnIdCorrected");
  ASSERT_NE(line, nullptr);
  EXPECT_EQ(line->command_type, "CorrectMpnId");
  const FieldChange* id = find_change(*line, "mpn_id");
  ASSERT_NE(id, nullptr);
  EXPECT_EQ(id->before, json::value(testing::enroll_command().mpn_id));
  EXPECT_EQ(id->after, json::value("4099999"));
  const FieldChange* kept = find_change(*line, "mpn_id_corrections");
  ASSERT_NE(kept, nullptr);
  EXPECT_EQ(kept->before, json::array());
  EXPECT_EQ(kept->after.as_array().at(0).at("reason"), json::value("a typo at enrollment"));
}

// RenewTaxExemption writes TaxExemptionRevoked and TaxExemptionFiled in one
// commit: both lines name the renewal, not RevokeTaxExemption and FileTaxExemption.
TEST(PartnerHistory, ARenewalNamesItsCommandOnBothEvents) {
  AuditWorld w;
  auto enrolled = w.must_run(testing::op(), testing::enroll_command());
  const PartnerId p(enrolled.created_ids.at(0).bytes());
  const Principal admin = PartnerUser{p, UserId(enrolled.created_ids.at(1).bytes()), {Role::kGlobalAdmin}, true};
  auto filed = w.must_run(admin, FileTaxExemption{p, "WA", "cert-1", w.clock.now(), plus_days(w.clock.now(), 20)});
  const ExemptionId old(filed.created_ids.at(0).bytes());
  const GlobalPosition renewed = w.log->head().next();
  w.must_run(admin, RenewTaxExemption{p, old, "cert-2", w.clock.now(), plus_days(w.clock.now(), 400)});

  auto lines = partner_history(*w.log, w.cipher.get(), p, HistoryOptions{});
  ASSERT_TRUE(lines.is_ok()) << lines.status().to_string();
  const HistoryLine* revoked = find_line(*lines, renewed, "TaxExemptionRevoked");
  const HistoryLine* filed_line = find_line(*lines, renewed, "TaxExemptionFiled");
  ASSERT_NE(revoked, nullptr);
  ASSERT_NE(filed_line, nullptr);
  EXPECT_EQ(revoked->command_type, "RenewTaxExemption");
  EXPECT_EQ(filed_line->command_type, "RenewTaxExemption");
}

TEST(PartnerHistory, APurgedUserReadsAsErasedInHistoryAndState) {
  AuditWorld w;
  auto enrolled = w.must_run(testing::op(), testing::enroll_command());
  const PartnerId p(enrolled.created_ids.at(0).bytes());
  const UserId ada(enrolled.created_ids.at(1).bytes());
  const Principal admin = PartnerUser{p, ada, {Role::kGlobalAdmin}, true};
  auto kim_created = w.must_run(
      admin, CreateUser{p, testing::contact("Kim", "Secretname", "kim@contoso.com"), {Role::kUserManagementAdmin}});
  const UserId kim(kim_created.created_ids.at(0).bytes());
  // Kim acts, so she is an actor of the timeline too.
  const GlobalPosition kim_acts = w.log->head().next();
  w.must_run(PartnerUser{p, kim, {Role::kUserManagementAdmin}, true},
             CreateUser{p, testing::contact("Lee", "Other", "lee@contoso.com"), {}});
  const GlobalPosition before_purge = w.log->head();
  auto before = partner_state_as_of(*w.log, w.cipher.get(), p, AsOf{before_purge, std::nullopt});
  ASSERT_TRUE(before.is_ok());
  EXPECT_EQ(before->users.at(kim).profile.value.last_name, "Secretname");

  w.must_run(admin, DeactivateUser{p, kim});
  w.set_time(plus_days(w.clock.now(), 31));
  w.must_run(admin, PurgeUser{p, kim});

  // As of any point, even before the purge: erased, since the key is gone.
  for (GlobalPosition pos : {before_purge, w.log->head()}) {
    auto state = partner_state_as_of(*w.log, w.cipher.get(), p, AsOf{pos, std::nullopt});
    ASSERT_TRUE(state.is_ok());
    const json::object doc = partner_states_json(p, *state, AsOf{pos, std::nullopt});
    EXPECT_EQ(doc.at("users").at(kim.to_string()).at("profile"), json::parse(R"({"erased":true})"));
    EXPECT_EQ(doc.at("users").at(ada.to_string()).at("profile").at("email"), json::value("ada@contoso.com"));
    EXPECT_EQ(json::serialize(doc).find("Secretname"), std::string::npos);
  }
  auto lines = partner_history(*w.log, w.cipher.get(), p, HistoryOptions{});
  ASSERT_TRUE(lines.is_ok());
  std::string all;
  for (const HistoryLine& l : *lines) all += json::serialize(history_line_json(l)) + "\n";
  EXPECT_EQ(all.find("Secretname"), std::string::npos);
  EXPECT_EQ(all.find("kim@contoso.com"), std::string::npos);
  EXPECT_NE(all.find("lee@contoso.com"), std::string::npos) << "other users' data stays readable";
  const HistoryLine* by_kim = find_line(*lines, kim_acts, "UserCreated");
  ASSERT_NE(by_kim, nullptr);
  EXPECT_EQ(by_kim->actor, "user:" + kim.to_string());
  EXPECT_EQ(by_kim->actor_name, "erased");
  const HistoryLine* purge = find_line(*lines, GlobalPosition(1), "UserPurged");
  ASSERT_NE(purge, nullptr);
  EXPECT_EQ(purge->command_type, "PurgeUser");
  const FieldChange* status = find_change(*purge, "status");
  ASSERT_NE(status, nullptr);
  EXPECT_EQ(status->before, json::value("deactivated"));
  EXPECT_EQ(status->after, json::value("purged"));
}

TEST(PartnerHistory, CommandTypesAreDerivedFromTheCommitsEvents) {
  auto event = [](std::string type) {
    PartnerEvent e;
    e.type = std::move(type);
    return e;
  };
  PartnerEvent enrolled = event("PartnerEnrolled"), created = event("UserCreated"), role = event("RoleAssigned");
  EXPECT_EQ(command_type_of({&created, &role, &enrolled}), "EnrollPartner");
  EXPECT_EQ(command_type_of({&created, &role}), "CreateUser");
  PartnerEvent legal = event("LegalProfileUpdated"), vetting = event("VettingStatusChanged");
  EXPECT_EQ(command_type_of({&legal, &vetting}), "UpdateLegalProfile");
  EXPECT_EQ(command_type_of({&vetting}), "SetVettingStatus");
  PartnerEvent reset = event("PasswordSet");
  reset.schema_version = 1;
  reset.payload = encode_event(PasswordSet{PasswordReason::kReset, "user:x", true}).bytes;
  EXPECT_EQ(command_type_of({&reset}), "ResetPassword");
}

std::string joined(const std::vector<std::string>& lines) {
  std::string text;
  for (const std::string& l : lines) text += l + "\n";
  return text;
}

// Enrolls, creates Sam, and signs the log's head the way the server does.
struct ExportWorld {
  AuditWorld w;
  PartnerId p;
  UserId ada, sam;
  PublicKey key{};

  ExportWorld() {
    auto enrolled = w.must_run(testing::op(), testing::enroll_command());
    p = PartnerId(enrolled.created_ids.at(0).bytes());
    ada = UserId(enrolled.created_ids.at(1).bytes());
    auto created = w.must_run(admin(), CreateUser{p, testing::contact("Sam", "Sample", "sam@contoso.com"), {}});
    sam = UserId(created.created_ids.at(0).bytes());
    w.must_run(admin(), UpdateSupportProfile{p, SupportProfile{"help@contoso.com", "+1 2", "https://c.example"}});
  }
  Principal admin() const { return PartnerUser{p, ada, {Role::kGlobalAdmin}, true}; }

  void sign_head() {
    auto signer = SigningKey::open_or_create(&w.env, "/data");
    testing::must(signer.status(), "signing key");
    key = (*signer)->public_key();
    SignedCheckpoint c;
    c.position = w.log->head().value();
    c.head_hash = w.log->read_all(w.log->head(), 1).value().events.at(0).hash;
    c.recorded_at_micros = w.clock.now().micros;
    (*signer)->sign(&c);
    auto file = CheckpointFile::open(&w.env, "/data");
    testing::must(file.status(), "checkpoints file");
    testing::must((*file)->append(c), "append checkpoint");
    testing::must((*file)->close(), "close checkpoints");
  }

  std::vector<std::string> export_lines(ExportFormat format) {
    auto log = read_partner_log(*w.log, p);
    testing::must(log.status(), "read partner log");
    auto lines = export_partner(*log, w.cipher.get(), &w.env, "/data", p, format);
    testing::must(lines.status(), "export");
    return *lines;
  }
};

TEST(PartnerExport, ARoundTripPassesAndTheSignedCheckpointVerifies) {
  ExportWorld x;
  x.sign_head();
  for (ExportFormat format : {ExportFormat::kJsonl, ExportFormat::kCsv}) {
    const std::vector<std::string> lines = x.export_lines(format);
    const size_t header = format == ExportFormat::kCsv ? 1 : 0;
    ASSERT_EQ(lines.size(), header + x.w.log->head().value() + 1);  // every event is the partner's, then the trailer
    EXPECT_NE(lines.back().find("signature"), std::string::npos) << lines.back();
    auto check = verify_export(*x.w.log, x.w.cipher.get(), joined(lines), x.key);
    ASSERT_TRUE(check.is_ok()) << check.status().to_string();
    EXPECT_TRUE(check->ok) << "line " << check->line << " " << check->field << ": " << check->message;
    EXPECT_EQ(check->events, x.w.log->head().value());
  }
  // Events appended after the export do not make it fail: it is checked up to its head.
  const std::string text = joined(x.export_lines(ExportFormat::kJsonl));
  x.w.must_run(x.admin(), AssignRole{x.p, x.sam, Role::kSalesAgent});
  auto later = verify_export(*x.w.log, x.w.cipher.get(), text, x.key);
  ASSERT_TRUE(later.is_ok());
  EXPECT_TRUE(later->ok) << later->field << ": " << later->message;
  // Another key: the signature is refused.
  FaultInjectionEnv other_env;
  auto other_keys = KeyStore::open(&other_env, "/other");  // creates /other/keys
  ASSERT_TRUE(other_keys.is_ok());
  auto other = SigningKey::open_or_create(&other_env, "/other");
  ASSERT_TRUE(other.is_ok());
  auto wrong = verify_export(*x.w.log, x.w.cipher.get(), text, (*other)->public_key());
  ASSERT_TRUE(wrong.is_ok());
  EXPECT_FALSE(wrong->ok);
  EXPECT_EQ(wrong->field, "signed_checkpoint.signature");
}

TEST(PartnerExport, AChangedLineIsCaughtAndNamed) {
  ExportWorld x;
  std::vector<std::string> lines = x.export_lines(ExportFormat::kJsonl);
  EXPECT_NE(lines.back().find("\"signed_checkpoint\":null"), std::string::npos) << "no checkpoint signed yet";
  size_t sam_line = 0;
  for (size_t i = 0; i < lines.size(); ++i) {
    if (lines[i].find("\"type\":\"UserCreated\"") != std::string::npos && lines[i].find("\"Sam\"") != std::string::npos) {
      sam_line = i;
    }
  }
  ASSERT_GT(sam_line, 0u);
  std::vector<std::string> changed = lines;
  changed[sam_line].replace(changed[sam_line].find("\"Sam\""), 5, "\"Sim\"");
  auto check = verify_export(*x.w.log, x.w.cipher.get(), joined(changed), std::nullopt);
  ASSERT_TRUE(check.is_ok()) << check.status().to_string();
  EXPECT_FALSE(check->ok);
  EXPECT_EQ(check->line, sam_line + 1);
  EXPECT_EQ(check->field, "data.profile.first_name");
  EXPECT_NE(check->message.find("Sim"), std::string::npos);

  // An envelope field, a dropped line, and a forged head hash.
  changed = lines;
  const size_t actor = changed[1].find("\"actor\":\"");
  ASSERT_NE(actor, std::string::npos);
  changed[1].insert(actor + 9, "x");
  check = verify_export(*x.w.log, x.w.cipher.get(), joined(changed), std::nullopt);
  ASSERT_TRUE(check.is_ok());
  EXPECT_EQ(check->line, 2u);
  EXPECT_EQ(check->field, "actor");
  changed = lines;
  changed.erase(changed.begin() + 2);
  check = verify_export(*x.w.log, x.w.cipher.get(), joined(changed), std::nullopt);
  ASSERT_TRUE(check.is_ok());
  EXPECT_FALSE(check->ok);
  EXPECT_EQ(check->line, 3u);
  changed = lines;
  const size_t hash = changed.back().find("\"head_hash\":\"");
  changed.back()[hash + 13] = changed.back()[hash + 13] == '0' ? '1' : '0';
  check = verify_export(*x.w.log, x.w.cipher.get(), joined(changed), std::nullopt);
  ASSERT_TRUE(check.is_ok());
  EXPECT_EQ(check->line, lines.size());
  EXPECT_EQ(check->field, "head_hash");
}

TEST(PartnerExport, APurgedUsersPersonalDataIsErasedInTheExport) {
  ExportWorld x;
  EXPECT_NE(joined(x.export_lines(ExportFormat::kJsonl)).find("sam@contoso.com"), std::string::npos);
  x.w.must_run(x.admin(), DeactivateUser{x.p, x.sam});
  x.w.set_time(plus_days(x.w.clock.now(), 31));
  x.w.must_run(x.admin(), PurgeUser{x.p, x.sam});
  for (ExportFormat format : {ExportFormat::kJsonl, ExportFormat::kCsv}) {
    const std::string text = joined(x.export_lines(format));
    EXPECT_EQ(text.find("sam@contoso.com"), std::string::npos);
    EXPECT_EQ(text.find("Sample"), std::string::npos);
    EXPECT_NE(text.find("ada@contoso.com"), std::string::npos);
    auto check = verify_export(*x.w.log, x.w.cipher.get(), text, std::nullopt);
    ASSERT_TRUE(check.is_ok());
    EXPECT_TRUE(check->ok) << check->field << ": " << check->message;
  }
  EXPECT_NE(joined(x.export_lines(ExportFormat::kJsonl)).find("\"profile\":{\"erased\":true}"), std::string::npos);
}

}  // namespace
}  // namespace accountable
