// SignInGuard: what stands before a sign-in's argon2id work (docs/http-api.md,
// "Sign-in limits"). Three budgets of FAILED sign-ins:
//   - per account (partner + normalized email): SignInLimiter's growing delay;
//   - per client address (the TCP peer): a token bucket of `address_failures`
//     per minute, as many at once;
//   - for the whole server: a token bucket of `global_failures` per second.
// An attempt is refused (429, or 503 for the global cap, both with
// Retry-After) while any of its budgets is empty; a failure takes one token
// from its address's and the global bucket. Successes cost nothing. Memory is
// bounded: at most `max_addresses` addresses are tracked; full buckets are
// dropped first, then the oldest.
//
// One guard serves every shard of a node (ApiOptions::sign_in_guard).
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>

#include "server/sign_in_limiter.h"
#include "server/token_bucket.h"

namespace accountable {

struct SignInGuardOptions {
  double address_failures_per_minute = 30;  // 0: no per-address limit
  double global_failures_per_second = 50;   // 0: no global cap
  size_t max_addresses = 100'000;
  size_t max_accounts = 100'000;
};

class SignInGuard {
 public:
  using Clock = std::chrono::steady_clock;
  enum class Refusal { kNone, kAccount, kAddress, kGlobal };
  struct Verdict {
    Refusal refusal = Refusal::kNone;
    std::chrono::milliseconds wait{0};
  };
  struct Counters {
    uint64_t failures = 0;
    uint64_t refused_account = 0, refused_address = 0, refused_global = 0;
    size_t tracked_addresses = 0;
  };

  explicit SignInGuard(SignInGuardOptions options = {});

  // May this attempt go on to the password check now?
  Verdict check(const std::string& account, const std::string& address, Clock::time_point now);
  void record_failure(const std::string& account, const std::string& address, Clock::time_point now);
  void record_success(const std::string& account);

  Counters counters() const;
  const SignInGuardOptions& options() const { return options_; }

 private:
  using Bucket = TokenBucket;
  // Refills `b` up to `burst` at `per_second`.
  static void refill(Bucket& b, double per_second, double burst, Clock::time_point now);
  static std::chrono::milliseconds until_one_token(const Bucket& b, double per_second);
  void shrink_addresses_locked(Clock::time_point now);

  const SignInGuardOptions options_;
  SignInLimiter accounts_;
  mutable std::mutex mu_;
  std::map<std::string, Bucket> addresses_;  // guarded by mu_
  Bucket global_;                            // guarded by mu_
  Counters counters_;                        // guarded by mu_
};


}  // namespace accountable
