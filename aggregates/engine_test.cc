// execute() over the real event log (on the fault-injecting in-memory Env):
// idempotency, atomic refusal, and the last-Global-admin race with real threads.
#include "aggregates/engine.h"

#include <gtest/gtest.h>

#include <condition_variable>
#include <deque>
#include <future>
#include <mutex>
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
    engine = std::make_unique<Engine>(*log, engine_options());
  }

  // The options of an engine over this log (its clock and fingerprints):
  // tests make more engines, with hooks or racers.
  EngineOptions engine_options() {
    EngineOptions eo;
    eo.clock = &clock;
    eo.fingerprint = test_fingerprint;
    return eo;
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
  EngineOptions eo = f.engine_options();
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

// A stand-in for the server's network threads: jobs run in order on one thread.
class JobThread {
 public:
  JobThread() : thread_([this] { run(); }) {}
  ~JobThread() {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  Engine::Executor executor() {
    return [this](std::function<void()> job) {
      {
        std::lock_guard lock(mu_);
        jobs_.push_back(std::move(job));
      }
      cv_.notify_all();
    };
  }
  std::thread::id id() const { return thread_.get_id(); }

 private:
  void run() {
    std::unique_lock lock(mu_);
    while (true) {
      cv_.wait(lock, [&] { return stopping_ || !jobs_.empty(); });
      if (jobs_.empty()) return;  // stopping, and everything posted has run
      auto job = std::move(jobs_.front());
      jobs_.pop_front();
      lock.unlock();
      job();
      lock.lock();
    }
  }
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> jobs_;
  bool stopping_ = false;
  std::thread thread_;
};

// A stand-in that holds every job until the test runs them (on its own
// thread): commits land, and nothing of what follows runs until then.
class HeldJobs {
 public:
  Engine::Executor executor() {
    return [this](std::function<void()> job) {
      std::lock_guard lock(mu_);
      jobs_.push_back(std::move(job));
      cv_.notify_all();
    };
  }
  // Waits (at most 60 s) until `count` jobs are held.
  bool wait_for(size_t count) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, std::chrono::seconds(60), [&] { return jobs_.size() >= count; });
  }
  size_t held() {
    std::lock_guard lock(mu_);
    return jobs_.size();
  }
  // Runs the jobs held now, in order (those they post are held).
  void run_held() {
    std::deque<std::function<void()>> now;
    {
      std::lock_guard lock(mu_);
      now.swap(jobs_);
    }
    for (auto& job : now) job();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> jobs_;
};

// What execute_async answered, and on which thread.
struct AsyncAnswer {
  Result<CommandOutcome> outcome = Status(StatusCode::kInternal, "not answered");
  std::thread::id thread;
  GlobalPosition durable_head;  // the log's durable head when the answer came
};

// Answers of `count` commands, waited for at most 60 s in all.
class Answers {
 public:
  explicit Answers(size_t count) : answers_(count) {}
  Engine::ExecuteCallback slot(size_t i, const EventLog& log) {
    return [this, i, &log](Result<CommandOutcome> outcome) {
      std::lock_guard lock(mu_);
      answers_.at(i).outcome = std::move(outcome);
      answers_.at(i).thread = std::this_thread::get_id();
      answers_.at(i).durable_head = log.head();
      ++calls_;
      cv_.notify_all();
    };
  }
  bool wait() {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, std::chrono::seconds(60), [&] { return calls_ >= answers_.size(); });
  }
  size_t calls() {
    std::lock_guard lock(mu_);
    return calls_;
  }
  const AsyncAnswer& at(size_t i) const { return answers_.at(i); }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<AsyncAnswer> answers_;
  size_t calls_ = 0;
};

UpdateSupportProfile support_update(const PartnerId& partner, int i) {
  UpdateSupportProfile u;
  u.partner_id = partner;
  u.support = SupportProfile{"support" + std::to_string(i) + "@contoso.com", "+1 425 555 0101",
                             "https://contoso.com/support"};
  return u;
}

TEST(EngineAsync, ACommandCommitsAndIsAnsweredThroughRunOnAfterItsFsync) {
  EngineFixture f;
  auto [partner, admin] = f.enroll();
  JobThread network;
  Answers answers(1);
  f.engine->execute_async(PartnerUser{partner, admin, {}, true}, request(support_update(partner, 1), "s1"),
                          network.executor(), answers.slot(0, *f.log));
  ASSERT_TRUE(answers.wait());
  const AsyncAnswer& a = answers.at(0);
  ASSERT_TRUE(a.outcome.is_ok()) << a.outcome.status().to_string();
  EXPECT_EQ(a.thread, network.id());
  EXPECT_GE(a.durable_head, a.outcome->last_position) << "answered only after the fsync that covers it";
  EXPECT_EQ(a.outcome->attempts, 1);
  auto state = f.engine->load<PartnerState>(partner_stream(partner));
  ASSERT_TRUE(state.is_ok());
  EXPECT_EQ(state->version, a.outcome->events.back().version);
  EXPECT_EQ(answers.calls(), 1u);
}

TEST(EngineAsync, OnePartnersCommandsCommitInArrivalOrderWithoutRetries) {
  EngineFixture f;
  auto [partner, admin] = f.enroll();
  JobThread network;
  constexpr int kCommands = 40;
  Answers answers(kCommands);
  for (int i = 0; i < kCommands; ++i) {
    f.engine->execute_async(PartnerUser{partner, admin, {}, true},
                            request(support_update(partner, i), "s" + std::to_string(i)), network.executor(),
                            answers.slot(i, *f.log));
  }
  ASSERT_TRUE(answers.wait()) << answers.calls() << " of " << kCommands << " answered";
  StreamVersion last;
  for (int i = 0; i < kCommands; ++i) {
    const AsyncAnswer& a = answers.at(i);
    ASSERT_TRUE(a.outcome.is_ok()) << i << ": " << a.outcome.status().to_string();
    EXPECT_EQ(a.outcome->attempts, 1) << "command " << i << " was decided again: the turns did not hold";
    ASSERT_FALSE(a.outcome->events.empty());
    EXPECT_GT(a.outcome->events.front().version, last) << "command " << i << " committed out of order";
    last = a.outcome->events.back().version;
  }
  auto state = f.engine->load<PartnerState>(partner_stream(partner));
  ASSERT_TRUE(state.is_ok());
  EXPECT_EQ(state->support.email, "support" + std::to_string(kCommands - 1) + "@contoso.com");
}

TEST(EngineAsync, AVersionConflictIsDecidedAgain) {
  EngineFixture f;
  auto [partner, admin] = f.enroll();
  // Another engine over the same log (another process's writer would do the
  // same) commits to the partner's stream between the decision and its append.
  Engine racer(*f.log, f.engine_options());
  EngineOptions eo = f.engine_options();
  std::vector<int> attempts_seen;
  eo.before_append_for_test = [&](int attempt) {
    attempts_seen.push_back(attempt);
    if (attempt != 1) return;
    auto raced = racer.execute(PartnerUser{partner, admin, {}, true}, request(support_update(partner, 2), "racer"));
    ASSERT_TRUE(raced.is_ok()) << raced.status().to_string();
  };
  Engine engine(*f.log, eo);
  JobThread network;
  Answers answers(1);
  engine.execute_async(PartnerUser{partner, admin, {}, true}, request(support_update(partner, 1), "first"),
                       network.executor(), answers.slot(0, *f.log));
  ASSERT_TRUE(answers.wait());
  const AsyncAnswer& a = answers.at(0);
  ASSERT_TRUE(a.outcome.is_ok()) << a.outcome.status().to_string();
  EXPECT_EQ(a.outcome->attempts, 2);
  EXPECT_EQ(attempts_seen, std::vector<int>({1, 2}));
  auto state = engine.load<PartnerState>(partner_stream(partner));
  ASSERT_TRUE(state.is_ok());
  EXPECT_EQ(state->support.email, "support1@contoso.com") << "decided again on top of the racer's commit";
}

TEST(EngineAsync, AFailedFsyncFailsEachCommandOnceAndPassesTheTurn) {
  EngineFixture f;
  auto [partner, admin] = f.enroll();
  const GlobalPosition head = f.log->head();
  f.env.fail_syncs(1);
  JobThread network;
  Answers answers(3);
  for (int i = 0; i < 3; ++i) {
    f.engine->execute_async(PartnerUser{partner, admin, {}, true},
                            request(support_update(partner, i), "s" + std::to_string(i)), network.executor(),
                            answers.slot(i, *f.log));
  }
  ASSERT_TRUE(answers.wait()) << "every command is answered, the failed one and those queued behind it";
  for (int i = 0; i < 3; ++i) {
    EXPECT_FALSE(answers.at(i).outcome.is_ok()) << i << ": the log refuses writes after a failed fsync";
  }
  EXPECT_EQ(answers.calls(), 3u);
  EXPECT_EQ(f.log->head(), head);
  // The partner's turn was passed on: a synchronous command is refused, not stuck.
  auto after = f.engine->execute(PartnerUser{partner, admin, {}, true}, request(support_update(partner, 9), "s9"));
  EXPECT_FALSE(after.is_ok());
}

TEST(EngineAsync, SynchronousAndAsynchronousCommandsOfOnePartnerTakeTurns) {
  EngineFixture f;
  auto [partner, admin] = f.enroll();
  const StreamVersion start = f.engine->load<PartnerState>(partner_stream(partner))->version;
  JobThread network;
  constexpr int kEach = 20;
  Answers answers(kEach);
  std::vector<Result<CommandOutcome>> sync_results;
  std::thread sync_caller([&] {
    for (int i = 0; i < kEach; ++i) {
      sync_results.push_back(f.engine->execute(PartnerUser{partner, admin, {}, true},
                                               request(support_update(partner, 100 + i), "sync" + std::to_string(i))));
    }
  });
  for (int i = 0; i < kEach; ++i) {
    f.engine->execute_async(PartnerUser{partner, admin, {}, true},
                            request(support_update(partner, i), "async" + std::to_string(i)), network.executor(),
                            answers.slot(i, *f.log));
  }
  sync_caller.join();
  ASSERT_TRUE(answers.wait());
  for (int i = 0; i < kEach; ++i) {
    ASSERT_TRUE(answers.at(i).outcome.is_ok()) << answers.at(i).outcome.status().to_string();
    EXPECT_EQ(answers.at(i).outcome->attempts, 1);
    ASSERT_TRUE(sync_results.at(i).is_ok()) << sync_results.at(i).status().to_string();
    EXPECT_EQ(sync_results.at(i)->attempts, 1);
  }
  auto state = f.engine->load<PartnerState>(partner_stream(partner));
  ASSERT_TRUE(state.is_ok());
  // One event per command on top of the enrolment's.
  EXPECT_EQ(state->version.value(), start.value() + 2 * kEach);
}

// A hook that has `racer` commit one event to the partner's stream before the
// first append it sees (and never again), so that append is refused.
std::function<void(int)> race_once(Engine& racer, const PartnerId& partner, const UserId& admin, bool& raced) {
  return [&racer, partner, admin, &raced](int) {
    if (raced) return;
    raced = true;
    auto r = racer.execute(PartnerUser{partner, admin, {}, true}, request(support_update(partner, 7), "racer"));
    ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  };
}

// Runs the held jobs until `count` commands are answered (false: a job was
// awaited for 60 s in vain, or 1,000 rounds passed).
bool run_until_answered(HeldJobs& network, Answers& answers, size_t count) {
  for (int round = 0; round < 1000; ++round) {
    network.run_held();
    if (answers.calls() >= count) return true;
    if (!network.wait_for(1)) return false;
  }
  return false;
}

TEST(EngineAsync, APartnersNextCommandDecidesWhileTheCommitsBeforeItAwaitTheirFsync) {
  EngineFixture f;
  auto [partner, admin] = f.enroll();
  const StreamVersion start = f.engine->load<PartnerState>(partner_stream(partner))->version;
  HeldJobs network;
  constexpr int kCommands = 5;
  Answers answers(kCommands);
  for (int i = 0; i < kCommands; ++i) {
    f.engine->execute_async(PartnerUser{partner, admin, {}, true},
                            request(support_update(partner, i), "s" + std::to_string(i)), network.executor(),
                            answers.slot(i, *f.log));
  }
  // No completion has run, yet every commit was decided and has landed: each
  // decided on top of the one before it, in flight.
  ASSERT_TRUE(network.wait_for(kCommands)) << network.held() << " of " << kCommands << " landed";
  EXPECT_EQ(answers.calls(), 0u) << "nothing is answered before its completion runs";
  EXPECT_EQ(f.log->stream_version(partner_stream(partner)).value(), start.value() + kCommands);
  network.run_held();
  ASSERT_TRUE(answers.wait());
  StreamVersion last = start;
  for (int i = 0; i < kCommands; ++i) {
    const AsyncAnswer& a = answers.at(i);
    ASSERT_TRUE(a.outcome.is_ok()) << i << ": " << a.outcome.status().to_string();
    EXPECT_EQ(a.outcome->attempts, 1) << i;
    ASSERT_EQ(a.outcome->events.size(), 1u);
    EXPECT_EQ(a.outcome->events.front().version, last.next()) << "command " << i << " out of order";
    last = a.outcome->events.front().version;
  }
  auto state = f.engine->load<PartnerState>(partner_stream(partner));
  ASSERT_TRUE(state.is_ok());
  EXPECT_EQ(state->support.email, "support" + std::to_string(kCommands - 1) + "@contoso.com");
  EXPECT_EQ(state->version, last);
}

TEST(EngineAsync, CommitsInFlightPerPartnerAreBounded) {
  EngineFixture f;
  auto [partner, admin] = f.enroll();
  EngineOptions eo = f.engine_options();
  eo.max_in_flight_per_partner = 2;
  Engine engine(*f.log, eo);
  HeldJobs network;
  constexpr int kCommands = 5;
  Answers answers(kCommands);
  for (int i = 0; i < kCommands; ++i) {
    engine.execute_async(PartnerUser{partner, admin, {}, true},
                         request(support_update(partner, i), "s" + std::to_string(i)), network.executor(),
                         answers.slot(i, *f.log));
  }
  ASSERT_TRUE(network.wait_for(2));
  const uint64_t committed = f.log->stats().commits_appended;
  network.run_held();  // two land: two more take their turns (posted, held)
  EXPECT_EQ(answers.calls(), 2u);
  EXPECT_EQ(committed, f.log->stats().commits_appended) << "the third waited for a commit in flight to land";
  ASSERT_TRUE(run_until_answered(network, answers, kCommands)) << answers.calls() << " answered";
  for (int i = 0; i < kCommands; ++i) {
    ASSERT_TRUE(answers.at(i).outcome.is_ok()) << i << ": " << answers.at(i).outcome.status().to_string();
    EXPECT_EQ(answers.at(i).outcome->attempts, 1);
  }
}

TEST(EngineAsync, ACommandDecidedOnTopOfACommitThatFailedIsDecidedAgain) {
  EngineFixture f;
  auto [partner, admin] = f.enroll();
  const StreamVersion start = f.engine->load<PartnerState>(partner_stream(partner))->version;
  Engine racer(*f.log, f.engine_options());
  EngineOptions eo = f.engine_options();
  // The first command's first decision: another writer adds one event to the
  // partner's stream before its append, so it is refused. The second command
  // decides on top of the first while it is in flight, so it expects
  // start + 1, the version the first would have left. That matches the
  // stream's (the racer's event), but what it decided on was never written:
  // only its link to the first can refuse it.
  bool raced = false;
  eo.before_append_for_test = race_once(racer, partner, admin, raced);
  Engine engine(*f.log, eo);
  HeldJobs network;
  Answers answers(2);
  for (int i = 0; i < 2; ++i) {
    engine.execute_async(PartnerUser{partner, admin, {}, true},
                         request(support_update(partner, i), "s" + std::to_string(i)), network.executor(),
                         answers.slot(i, *f.log));
  }
  ASSERT_TRUE(network.wait_for(2)) << "both decided, and both landed refused";
  EXPECT_EQ(f.log->stream_version(partner_stream(partner)).value(), start.value() + 1) << "only the racer's event";
  ASSERT_TRUE(run_until_answered(network, answers, 2)) << answers.calls() << " answered";
  for (int i = 0; i < 2; ++i) {
    ASSERT_TRUE(answers.at(i).outcome.is_ok()) << i << ": " << answers.at(i).outcome.status().to_string();
    EXPECT_EQ(answers.at(i).outcome->attempts, 2) << i << ": decided again on what is durable";
  }
  auto state = engine.load<PartnerState>(partner_stream(partner));
  ASSERT_TRUE(state.is_ok());
  EXPECT_EQ(state->version.value(), start.value() + 3);
  EXPECT_EQ(state->support.email, "support1@contoso.com");
  EXPECT_EQ(answers.at(1).outcome->events.front().version.value(), start.value() + 3);
}

// A refusal decided on top of commits in flight is answered only once they
// are written: else it could rest on a state that never was.
TEST(EngineAsync, ARefusalOnTopOfACommitInFlightWaitsForItAndIsDecidedAgainIfItFails) {
  EngineFixture f;
  auto [partner, admin] = f.enroll();
  Engine racer(*f.log, f.engine_options());
  EngineOptions eo = f.engine_options();
  bool raced = false;
  eo.before_append_for_test = race_once(racer, partner, admin, raced);  // the first commit is refused
  Engine engine(*f.log, eo);
  HeldJobs network;
  Answers answers(3);
  AcceptResellerAgreement accept;
  accept.partner_id = partner;
  accept.agreement_version = "2026-10";
  // The second is the first's twin (another command id): on top of the first
  // in flight it is refused, "already accepted"; the third is refused the same
  // way on top of a commit that is written.
  const PartnerUser actor{partner, admin, {}, true};
  engine.execute_async(actor, request(accept, "first"), network.executor(), answers.slot(0, *f.log));
  engine.execute_async(actor, request(accept, "twin"), network.executor(), answers.slot(1, *f.log));
  ASSERT_TRUE(network.wait_for(1)) << "the first landed, refused";
  EXPECT_EQ(answers.calls(), 0u) << "the twin's refusal waits for the commit it was decided on";
  ASSERT_TRUE(run_until_answered(network, answers, 2)) << answers.calls() << " answered";
  // The first's commit was not written: the twin decided again, on what is
  // durable. Whichever of the two then went first committed the acceptance,
  // and the other is refused on top of it.
  const AsyncAnswer& first = answers.at(0);
  const AsyncAnswer& twin = answers.at(1);
  EXPECT_EQ(twin.outcome.is_ok() ? 1 : 0, first.outcome.is_ok() ? 0 : 1) << "exactly one accepted it";
  const AsyncAnswer& refused = twin.outcome.is_ok() ? first : twin;
  EXPECT_EQ(refused.outcome.status().code(), StatusCode::kConflict) << refused.outcome.status().to_string();
  auto state = engine.load<PartnerState>(partner_stream(partner));
  ASSERT_TRUE(state.is_ok());
  EXPECT_EQ(state->agreement_version, "2026-10");
  // Refused on top of a written commit: the refusal stands.
  engine.execute_async(actor, request(accept, "third"), network.executor(), answers.slot(2, *f.log));
  ASSERT_TRUE(run_until_answered(network, answers, 3));
  EXPECT_EQ(answers.at(2).outcome.status().code(), StatusCode::kConflict);
  EXPECT_EQ(answers.at(2).outcome.status().message(), "agreement version 2026-10 is already accepted");
}

TEST(EngineAsync, ARetriedCommandIsAnsweredFromItsFirstCommitAtOnce) {
  EngineFixture f;
  auto [partner, admin] = f.enroll();
  CommandRequest r = request(support_update(partner, 1), "s1");
  auto first = f.engine->execute(PartnerUser{partner, admin, {}, true}, r);
  ASSERT_TRUE(first.is_ok()) << first.status().to_string();
  const GlobalPosition head = f.log->head();
  JobThread network;
  Answers answers(1);
  f.engine->execute_async(PartnerUser{partner, admin, {}, true}, r, network.executor(), answers.slot(0, *f.log));
  ASSERT_TRUE(answers.wait());
  const AsyncAnswer& a = answers.at(0);
  ASSERT_TRUE(a.outcome.is_ok()) << a.outcome.status().to_string();
  EXPECT_TRUE(a.outcome->duplicate);
  EXPECT_EQ(a.outcome->first_position, first->first_position);
  EXPECT_EQ(a.thread, std::this_thread::get_id()) << "answered before its turn, on the caller's thread";
  EXPECT_EQ(f.log->head(), head);
}

}  // namespace
}  // namespace accountable
