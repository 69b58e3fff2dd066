// RateLimiter with a synthetic clock: the burst, the refill, the node-wide
// cap, each address its own bucket, and the bound on tracked addresses.
#include "server/rate_limiter.h"

#include <gtest/gtest.h>

namespace accountable {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

TEST(RateLimiter, AnAddressGetsItsBurstThenOnePerRefill) {
  RateLimiter limiter(RateLimiterOptions{60, 0, 100});  // one per second, 60 at once
  const auto t0 = RateLimiter::Clock::time_point{} + seconds(1000);
  for (int i = 0; i < 60; ++i) EXPECT_EQ(limiter.take("10.0.0.1", t0).refusal, RateLimiter::Refusal::kNone) << i;
  const auto refused = limiter.take("10.0.0.1", t0);
  EXPECT_EQ(refused.refusal, RateLimiter::Refusal::kAddress);
  EXPECT_EQ(refused.wait, milliseconds(1000));
  EXPECT_EQ(limiter.take("10.0.0.2", t0).refusal, RateLimiter::Refusal::kNone) << "another address";
  EXPECT_EQ(limiter.take("10.0.0.1", t0 + milliseconds(999)).refusal, RateLimiter::Refusal::kAddress);
  EXPECT_EQ(limiter.take("10.0.0.1", t0 + milliseconds(1000)).refusal, RateLimiter::Refusal::kNone);
  const auto c = limiter.counters();
  EXPECT_EQ(c.allowed, 62u);
  EXPECT_EQ(c.refused_address, 2u);
}

TEST(RateLimiter, TheNodeWideCapHoldsAcrossAddresses) {
  RateLimiter limiter(RateLimiterOptions{0, 5, 100});  // 5 per second, 5 at once, any address
  const auto t0 = RateLimiter::Clock::time_point{} + seconds(1000);
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(limiter.take("10.0.0." + std::to_string(i), t0).refusal, RateLimiter::Refusal::kNone);
  }
  const auto refused = limiter.take("10.0.0.99", t0);
  EXPECT_EQ(refused.refusal, RateLimiter::Refusal::kGlobal);
  EXPECT_EQ(refused.wait, milliseconds(200));
  EXPECT_EQ(limiter.take("10.0.0.99", t0 + milliseconds(200)).refusal, RateLimiter::Refusal::kNone);
}

TEST(RateLimiter, TrackedAddressesAreBounded) {
  RateLimiter limiter(RateLimiterOptions{60, 0, 10});
  const auto t0 = RateLimiter::Clock::time_point{} + seconds(1000);
  for (int i = 0; i < 1000; ++i) (void)limiter.take("a" + std::to_string(i), t0 + milliseconds(i));
  EXPECT_LE(limiter.counters().tracked_addresses, 10u);
  EXPECT_EQ(limiter.counters().allowed, 1000u);
}

}  // namespace
}  // namespace accountable
