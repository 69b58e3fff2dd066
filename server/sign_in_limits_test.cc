// The sign-in budgets (server/sign_in_guard.h) and the argon2id gate
// (aggregates/credential_store.h) as a client meets them: per client address,
// a global cap, and a bounded number of hashings with a bounded wait.
#include <gtest/gtest.h>

#include <thread>

#include "server/sign_in_guard.h"
#include "server/testing/http_test_client.h"

namespace accountable {
namespace {

using namespace http_test;
using namespace std::chrono_literals;

// ---- the guard's arithmetic, on a clock the test moves ------------------------------

TEST(SignInGuard, AnAddressRunsOutAfterItsBudgetAndRefillsOverTime) {
  SignInGuard guard({/*address_failures_per_minute=*/3, /*global_failures_per_second=*/0, 100, 100});
  const auto t0 = SignInGuard::Clock::time_point{} + 1000h;
  for (int i = 0; i < 3; ++i) {
    // Three different accounts: the account limiter alone would never stop this.
    const std::string account = "p/user" + std::to_string(i) + "@x";
    ASSERT_EQ(guard.check(account, "10.0.0.1", t0).refusal, SignInGuard::Refusal::kNone) << i;
    guard.record_failure(account, "10.0.0.1", t0);
  }
  const auto refused = guard.check("p/user9@x", "10.0.0.1", t0);
  EXPECT_EQ(refused.refusal, SignInGuard::Refusal::kAddress);
  EXPECT_EQ(refused.wait, 20s);  // one token per 20 s
  EXPECT_EQ(guard.check("p/user9@x", "10.0.0.2", t0).refusal, SignInGuard::Refusal::kNone);  // another address
  EXPECT_EQ(guard.check("p/user9@x", "10.0.0.1", t0 + 20s).refusal, SignInGuard::Refusal::kNone);
  EXPECT_EQ(guard.counters().refused_address, 1u);
  EXPECT_EQ(guard.counters().failures, 3u);
}

TEST(SignInGuard, TheGlobalCapStopsEveryoneUntilItRefills) {
  SignInGuard guard({0, /*global_failures_per_second=*/2, 100, 100});
  const auto t0 = SignInGuard::Clock::time_point{} + 1000h;
  guard.record_failure("p/a@x", "10.0.0.1", t0);
  guard.record_failure("p/b@x", "10.0.0.2", t0);
  const auto refused = guard.check("p/c@x", "10.0.0.3", t0);
  EXPECT_EQ(refused.refusal, SignInGuard::Refusal::kGlobal);
  EXPECT_EQ(refused.wait, 500ms);
  EXPECT_EQ(guard.check("p/c@x", "10.0.0.3", t0 + 500ms).refusal, SignInGuard::Refusal::kNone);
}

TEST(SignInGuard, TheAccountBudgetStillApplies) {
  SignInGuard guard({0, 0, 100, 100});
  const auto t0 = SignInGuard::Clock::time_point{} + 1000h;
  guard.record_failure("p/a@x", "10.0.0.1", t0);
  guard.record_failure("p/a@x", "10.0.0.2", t0);
  EXPECT_EQ(guard.check("p/a@x", "10.0.0.3", t0).refusal, SignInGuard::Refusal::kAccount);
  guard.record_success("p/a@x");
  EXPECT_EQ(guard.check("p/a@x", "10.0.0.3", t0).refusal, SignInGuard::Refusal::kNone);
}

TEST(SignInGuard, TrackedAddressesAreBounded) {
  SignInGuard guard({/*address_failures_per_minute=*/1, 0, /*max_addresses=*/8, 1000});
  const auto t0 = SignInGuard::Clock::time_point{} + 1000h;
  for (int i = 0; i < 100; ++i) {
    guard.record_failure("p/u" + std::to_string(i) + "@x", "10.0.1." + std::to_string(i), t0 + std::chrono::seconds(i));
    EXPECT_LE(guard.counters().tracked_addresses, 8u) << i;
  }
  // The newest address is still limited after the shrinks.
  EXPECT_EQ(guard.check("p/new@x", "10.0.1.99", t0 + 100s).refusal, SignInGuard::Refusal::kAddress);
}

// ---- over HTTP -------------------------------------------------------------------------

class SignInLimits : public ServerFixture {};

TEST_F(SignInLimits, OneAddressTryingManyAccountsIsStoppedWith429AndRetryAfter) {
  auto [partner, admin, temp] = enroll();
  // 30 failures a minute per address (the default): unknown emails, one each.
  for (int i = 0; i < 30; ++i) {
    auto [token, r] = sign_in(partner, "nobody" + std::to_string(i) + "@contoso.example", "wrong-password-123");
    ASSERT_EQ(r.status, 401u) << i << ": " << r.body;
  }
  auto [token, refused] = sign_in(partner, "nobody-else@contoso.example", "wrong-password-123");
  EXPECT_EQ(refused.status, 429u) << refused.body;
  EXPECT_NE(refused.error_message().find("from this address"), std::string::npos) << refused.body;
  EXPECT_FALSE(refused.header("retry-after").empty());
  // Even the right password waits: the budget is the address's.
  auto [admin_token, also_refused] = sign_in(partner, "ada@contoso.example", temp);
  EXPECT_EQ(also_refused.status, 429u) << also_refused.body;
  EXPECT_EQ(sign_in_guard_->counters().failures, 30u);
  EXPECT_EQ(sign_in_guard_->counters().refused_address, 2u);
}

class SignInGlobalCap : public ServerFixture {
 protected:
  void SetUp() override {
    // One failure per 1000 s on the whole server: the second is refused.
    sign_in_guard_ = std::make_shared<SignInGuard>(SignInGuardOptions{0, 0.001, 100, 100});
    ServerFixture::SetUp();
  }
};

TEST_F(SignInGlobalCap, FailuresBeyondTheCapAre503ForEveryone) {
  auto [partner, admin, temp] = enroll();
  auto [t1, first] = sign_in(partner, "nobody@contoso.example", "wrong-password-123");
  ASSERT_EQ(first.status, 401u) << first.body;
  auto [t2, second] = sign_in(partner, "ada@contoso.example", temp);
  EXPECT_EQ(second.status, 503u) << second.body;
  EXPECT_NE(second.error_message().find("on this server"), std::string::npos) << second.body;
  EXPECT_FALSE(second.header("retry-after").empty());
}

// Hold every place at the gate, fill its queue, and the next hashing is
// refused at once (503 busy, Retry-After), counted as no failure, writing nothing.
class ArgonGate : public ServerFixture {
 protected:
  void fill_the_gate() {
    for (int i = 0; i < 4; ++i) {
      auto p = hashing_gate_->acquire();
      ASSERT_TRUE(p);
      held_.push_back(std::make_unique<ConcurrencyGate::Permit>(std::move(*p)));
    }
    for (int i = 0; i < 16; ++i) waiters_.emplace_back([this] { (void)hashing_gate_->acquire(); });
    for (int i = 0; i < 10000 && hashing_gate_->stats().waiting < 16; ++i) std::this_thread::sleep_for(1ms);
    ASSERT_EQ(hashing_gate_->stats().waiting, 16u);
  }
  void release_the_gate() {
    held_.clear();
    for (auto& t : waiters_) t.join();
    waiters_.clear();
  }
  void TearDown() override {
    release_the_gate();
    ServerFixture::TearDown();
  }
  std::vector<std::unique_ptr<ConcurrencyGate::Permit>> held_;
  std::vector<std::thread> waiters_;
};

TEST_F(ArgonGate, ASignInFindingTheGateFullIs503BusyAndNoFailure) {
  auto [partner, admin, temp] = enroll();
  fill_the_gate();
  auto [token, busy] = sign_in(partner, "ada@contoso.example", temp);
  EXPECT_EQ(busy.status, 503u) << busy.body;
  EXPECT_EQ(busy.json().at("error").at("code").as_string(), "busy") << busy.body;
  EXPECT_EQ(busy.header("retry-after"), "1");
  EXPECT_EQ(sign_in_guard_->counters().failures, 0u);
  release_the_gate();
  auto [later, ok] = sign_in(partner, "ada@contoso.example", temp);
  EXPECT_EQ(ok.status, 200u) << ok.body;
}

TEST_F(ArgonGate, ACommandThatHandsOutAPasswordIsRefusedBeforeAnythingIsWritten) {
  auto [partner, admin, temp] = enroll();
  const std::string ada = sign_in_and_change(partner, "ada@contoso.example", temp);
  fill_the_gate();
  const uint64_t before = head();
  Reply r = command(ada, json::object{{"type", "CreateUser"}, {"partner_id", partner},
                                      {"profile", {{"first_name", "B"}, {"last_name", "U"},
                                                   {"email", "busy@contoso.example"}, {"phone", ""}}},
                                      {"roles", json::array{}}});
  EXPECT_EQ(r.status, 503u) << r.body;
  EXPECT_EQ(r.header("retry-after"), "1");
  EXPECT_EQ(head(), before);
  release_the_gate();
  auto [id, password] = create_user(ada, partner, "busy@contoso.example", {});
  EXPECT_FALSE(password.empty());
}

}  // namespace
}  // namespace accountable
