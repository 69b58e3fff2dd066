#include "server/sign_in_guard.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace accountable {

namespace {
// A budget of N per period holds N failures at once; at least one.
double burst_of(double per_period) { return std::max(1.0, per_period); }
}  // namespace

SignInGuard::SignInGuard(SignInGuardOptions options)
    : options_(options), accounts_(options.max_accounts) {
  global_.tokens = burst_of(options_.global_failures_per_second);
}

void SignInGuard::refill(Bucket& b, double per_second, double burst, Clock::time_point now) {
  b.refill(per_second, burst, now);
}

std::chrono::milliseconds SignInGuard::until_one_token(const Bucket& b, double per_second) {
  return b.until_one_token(per_second);
}

SignInGuard::Verdict SignInGuard::check(const std::string& account, const std::string& address,
                                        Clock::time_point now) {
  std::lock_guard lock(mu_);
  const double global_rate = options_.global_failures_per_second;
  if (global_rate > 0) {
    refill(global_, global_rate, burst_of(global_rate), now);
    if (global_.tokens < 1.0) {
      ++counters_.refused_global;
      return {Refusal::kGlobal, until_one_token(global_, global_rate)};
    }
  }
  const double address_rate = options_.address_failures_per_minute / 60.0;
  if (address_rate > 0) {
    auto it = addresses_.find(address);
    if (it != addresses_.end()) {
      refill(it->second, address_rate, burst_of(options_.address_failures_per_minute), now);
      if (it->second.tokens < 1.0) {
        ++counters_.refused_address;
        return {Refusal::kAddress, until_one_token(it->second, address_rate)};
      }
    }
  }
  if (auto wait = accounts_.wait_before_attempt(account, now); wait.count() > 0) {
    ++counters_.refused_account;
    return {Refusal::kAccount, wait};
  }
  return {};
}

void SignInGuard::record_failure(const std::string& account, const std::string& address, Clock::time_point now) {
  accounts_.record_failure(account, now);
  std::lock_guard lock(mu_);
  ++counters_.failures;
  const double global_rate = options_.global_failures_per_second;
  if (global_rate > 0) {
    refill(global_, global_rate, burst_of(global_rate), now);
    global_.tokens = std::max(0.0, global_.tokens - 1.0);
  }
  if (options_.address_failures_per_minute > 0) {
    const double burst = burst_of(options_.address_failures_per_minute);
    auto it = addresses_.find(address);
    if (it == addresses_.end()) {
      if (addresses_.size() >= options_.max_addresses) shrink_addresses_locked(now);
      it = addresses_.emplace(address, Bucket{burst, now}).first;
    }
    refill(it->second, options_.address_failures_per_minute / 60.0, burst, now);
    it->second.tokens = std::max(0.0, it->second.tokens - 1.0);
  }
}

void SignInGuard::record_success(const std::string& account) { accounts_.record_success(account); }

void SignInGuard::shrink_addresses_locked(Clock::time_point now) {
  const double per_minute = options_.address_failures_per_minute;
  shrink_buckets(addresses_, per_minute / 60.0, burst_of(per_minute), options_.max_addresses, now);
}

SignInGuard::Counters SignInGuard::counters() const {
  std::lock_guard lock(mu_);
  Counters c = counters_;
  c.tracked_addresses = addresses_.size();
  return c;
}

}  // namespace accountable
