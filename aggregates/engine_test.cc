// execute() over the real event log (on the fault-injecting in-memory Env):
// idempotency, atomic refusal, and the last-Global-admin race with real threads.
#include "aggregates/engine.h"

#include <gtest/gtest.h>

#include <thread>

#include "aggregates/rule_errors.h"
#include "aggregates/testing/fixtures.h"
#include "events/log_verify.h"
#include "testing/fault_env.h"

namespace accountable {
namespace {

using testing::at;

Result<EmailFingerprint> test_fingerprint(const PartnerId& partner, std::string_view email) {
  std::string lower(email);
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return EmailFingerprint("fp:" + partner.to_string() + ":" + lower);
}

std::array<unsigned char, 16> digest_of(const std::string& text) {
  const Hash256 h = sha256(text);
  std::array<unsigned char, 16> d{};
  std::copy_n(h.begin(), 16, d.begin());
  return d;
}

CommandRequest request(Command command, const std::string& content_key) {
  CommandRequest r;
  r.id = CommandId::random();
  r.digest = digest_of(content_key);
  r.command = std::move(command);
  r.correlation_id = CorrelationId::random();
  r.causation_id = CausationId::random();
  return r;
}

struct EngineFixture {
  FaultInjectionEnv env;
  FixedClock clock{at("2026-03-02T12:00:00Z")};
  std::unique_ptr<EventLog> log;
  std::unique_ptr<Engine> engine;

  EngineFixture() {
    LogOptions options;
    options.data_dir = "/data";
    options.env = &env;
    auto opened = EventLog::open(options);
    if (!opened) throw std::runtime_error(opened.status().to_string());
    log = std::move(*opened);
    EngineOptions eo;
    eo.clock = &clock;
    eo.fingerprint = test_fingerprint;
    engine = std::make_unique<Engine>(*log, eo);
  }

  // Enrols Contoso; returns (partner, first admin).
  std::pair<PartnerId, UserId> enroll() {
    CommandRequest r = request(testing::enroll_command(), "enroll");
    auto out = engine->execute(testing::op(), r);
    if (!out) throw std::runtime_error(out.status().to_string());
    return {PartnerId(out->created_ids.at(0).bytes()), UserId(out->created_ids.at(1).bytes())};
  }

  UserId create_global_admin(const PartnerId& partner, const UserId& as, const std::string& email) {
    CreateUser c;
    c.partner_id = partner;
    c.profile = testing::contact("Bob", "Admin", email);
    c.roles = {Role::kGlobalAdmin};
    auto out = engine->execute(PartnerUser{partner, as, {Role::kGlobalAdmin}, true}, request(c, "create " + email));
    if (!out) throw std::runtime_error(out.status().to_string());
    return UserId(out->created_ids.at(0).bytes());
  }
};

TEST(Engine, EnrollAppendsThePartnerAndItsFirstAdminAtomically) {
  EngineFixture f;
  CommandRequest r = request(testing::enroll_command(), "enroll");
  auto out = f.engine->execute(testing::op(), r);
  ASSERT_TRUE(out.is_ok()) << out.status().to_string();
  EXPECT_FALSE(out->duplicate);
  EXPECT_EQ(out->first_position, GlobalPosition(1));
  ASSERT_GE(out->events.size(), 2u);
  const PartnerId partner(out->created_ids.at(0).bytes());
  auto state = f.engine->load<PartnerState>(partner_stream(partner));
  ASSERT_TRUE(state.is_ok());
  EXPECT_EQ(state->active_global_admins.size(), 1u);
  // Every event of the commit carries the partner as its tenant, and the actor.
  auto all = f.log->read_all(GlobalPosition(1), 100);
  ASSERT_TRUE(all.is_ok());
  ASSERT_EQ(all->events.size(), out->events.size());
  for (const RecordedEvent& e : all->events) {
    EXPECT_EQ(e.partner, partner.to_string());
    EXPECT_EQ(e.command_id, r.id);
    EXPECT_EQ(e.actor, principal_id(testing::op()));
  }
}

TEST(Engine, ARetriedCommandGetsItsFirstResultAndAppendsNothing) {
  EngineFixture f;
  CommandRequest r = request(testing::enroll_command(), "enroll");
  auto first = f.engine->execute(testing::op(), r);
  ASSERT_TRUE(first.is_ok());
  const GlobalPosition head = f.log->head();
  auto again = f.engine->execute(testing::op(), r);  // deciding again would be refused: it exists
  ASSERT_TRUE(again.is_ok()) << again.status().to_string();
  EXPECT_TRUE(again->duplicate);
  EXPECT_EQ(again->first_position, first->first_position);
  ASSERT_EQ(again->events.size(), first->events.size());
  for (size_t i = 0; i < first->events.size(); ++i) {
    EXPECT_EQ(again->events[i].stream, first->events[i].stream);
    EXPECT_EQ(again->events[i].version, first->events[i].version);
    EXPECT_EQ(again->events[i].type, first->events[i].type);
  }
  EXPECT_EQ(f.log->head(), head);
  EXPECT_EQ(again->created_ids, first->created_ids);
  CommandRequest other = r;
  other.digest = digest_of("something else");
  EXPECT_EQ(f.engine->execute(testing::op(), other).status().code(), StatusCode::kConflict);
}

TEST(Engine, ARefusedCommandWritesNothing) {
  EngineFixture f;
  auto [partner, admin] = f.enroll();
  const GlobalPosition head = f.log->head();
  CreateUser bad;
  bad.partner_id = partner;
  bad.profile = testing::contact("", "Nobody", "nobody@contoso.com");  // first name is required
  bad.roles = {Role::kSalesAgent};
  auto out = f.engine->execute(PartnerUser{partner, admin, {}, true}, request(bad, "bad"));
  ASSERT_FALSE(out.is_ok());
  EXPECT_EQ(out.status().code(), StatusCode::kInvalidArgument);
  EXPECT_FALSE(out.status().field().empty());
  EXPECT_EQ(f.log->head(), head);
}

TEST(Engine, RightsComeFromTheUsersStreamNotFromTheCaller) {
  EngineFixture f;
  auto [partner, admin] = f.enroll();
  CreateUser c;
  c.partner_id = partner;
  c.profile = testing::contact("Sam", "Sales", "sam@contoso.com");
  c.roles = {Role::kSalesAgent};
  auto created = f.engine->execute(PartnerUser{partner, admin, {}, true}, request(c, "sam"));
  ASSERT_TRUE(created.is_ok()) << created.status().to_string();
  const UserId sam(created->created_ids.at(0).bytes());
  // Sam claims Global admin; the engine reads Sam's real roles.
  UpdateSupportProfile u;
  u.partner_id = partner;
  u.support = SupportProfile{"support@contoso.com", "+1 425 555 0101", "https://contoso.com/support"};
  auto out = f.engine->execute(PartnerUser{partner, sam, {Role::kGlobalAdmin}, true}, request(u, "support"));
  EXPECT_EQ(out.status().code(), StatusCode::kForbidden) << out.status().to_string();
}

TEST(Engine, TwoGlobalAdminsDemotingEachOtherAtOnceLeaveExactlyOne) {
  for (int round = 0; round < 10; ++round) {
    EngineFixture f;
    auto [partner, a] = f.enroll();
    const UserId b = f.create_global_admin(partner, a, "bob@contoso.com");
    Result<CommandOutcome> a_result = Status(StatusCode::kInternal, "not run");
    Result<CommandOutcome> b_result = Status(StatusCode::kInternal, "not run");
    std::thread ta([&] {
      a_result = f.engine->execute(PartnerUser{partner, a, {}, true},
                                   request(RemoveRole{partner, b, Role::kGlobalAdmin}, "a demotes b"));
    });
    std::thread tb([&] {
      b_result = f.engine->execute(PartnerUser{partner, b, {}, true},
                                   request(RemoveRole{partner, a, Role::kGlobalAdmin}, "b demotes a"));
    });
    ta.join();
    tb.join();
    EXPECT_NE(a_result.is_ok(), b_result.is_ok()) << "round " << round << ": exactly one may win";
    const Status& loser = a_result.is_ok() ? b_result.status() : a_result.status();
    // The loser either lost the race (decided again: no longer a Global admin)
    // or decided second and met the rule.
    EXPECT_TRUE(loser.code() == StatusCode::kForbidden || loser.code() == StatusCode::kRuleViolated)
        << loser.to_string();
    auto state = f.engine->load<PartnerState>(partner_stream(partner));
    ASSERT_TRUE(state.is_ok());
    EXPECT_EQ(state->active_global_admins.size(), 1u) << "round " << round;
  }
}

TEST(Engine, ACommandDecidedBeforeTheActorLostTheRightIsDecidedAgainAndRefused) {
  EngineFixture f;
  auto [partner, admin] = f.enroll();
  CreateUser manager;
  manager.partner_id = partner;
  manager.profile = testing::contact("Uma", "Manager", "uma@contoso.com");
  manager.roles = {Role::kUserManagementAdmin};
  auto created = f.engine->execute(PartnerUser{partner, admin, {}, true}, request(manager, "uma"));
  ASSERT_TRUE(created.is_ok()) << created.status().to_string();
  const UserId uma(created->created_ids.at(0).bytes());

  // Between Uma's decision and its append, the Global admin takes her role away.
  EngineOptions eo;
  eo.clock = &f.clock;
  eo.fingerprint = test_fingerprint;
  int attempts_seen = 0;
  eo.before_append_for_test = [&](int attempt) {
    attempts_seen = attempt;
    if (attempt != 1) return;
    auto removed = f.engine->execute(PartnerUser{partner, admin, {}, true},
                                     request(RemoveRole{partner, uma, Role::kUserManagementAdmin}, "demote uma"));
    ASSERT_TRUE(removed.is_ok()) << removed.status().to_string();
  };
  Engine racing(*f.log, eo);
  CreateUser c;
  c.partner_id = partner;
  c.profile = testing::contact("Sam", "Sales", "sam@contoso.com");
  c.roles = {Role::kSalesAgent};
  const GlobalPosition before = f.log->head();
  auto out = racing.execute(PartnerUser{partner, uma, {}, true}, request(c, "sam"));
  // Her commit depended on her stream's version, so it was refused by the log
  // and decided again with her current rights: none.
  EXPECT_EQ(out.status().code(), StatusCode::kForbidden) << out.status().to_string();
  EXPECT_EQ(attempts_seen, 1) << "refused at the second decision, before any second append";
  auto after = f.log->read_all(before.next(), 100);
  ASSERT_TRUE(after.is_ok());
  for (const RecordedEvent& e : after->events) EXPECT_NE(e.type, "UserCreated");
}

TEST(Engine, TheLogStillVerifiesAfterAScenario) {
  EngineFixture f;
  auto [partner, a] = f.enroll();
  f.create_global_admin(partner, a, "bob@contoso.com");
  f.log.reset();  // close: verify is offline
  auto report = verify_log(&f.env, "/data");
  ASSERT_TRUE(report.is_ok());
  EXPECT_TRUE(report->ok());
  EXPECT_GE(report->events, 4u);
}

}  // namespace
}  // namespace accountable
