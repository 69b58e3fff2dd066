#include "server/rate_limiter.h"

#include <algorithm>

namespace accountable {

RateLimiter::Verdict RateLimiter::take(const std::string& address, Clock::time_point now) {
  std::lock_guard lock(mu_);
  const double global_rate = options_.global_per_second;
  const double address_rate = options_.per_address_per_minute / 60.0;
  // At least one request at once, however slow the rate.
  const double global_burst = std::max(1.0, global_rate);
  const double address_burst = std::max(1.0, options_.per_address_per_minute);
  if (global_rate > 0) {
    if (!global_started_) {  // a new node starts with a full bucket
      global_ = TokenBucket{global_burst, now};
      global_started_ = true;
    }
    global_.refill(global_rate, global_burst, now);
    if (global_.tokens < 1.0) {
      ++counters_.refused_global;
      return {Refusal::kGlobal, global_.until_one_token(global_rate)};
    }
  }
  TokenBucket* mine = nullptr;
  if (address_rate > 0) {
    auto it = addresses_.find(address);
    if (it == addresses_.end()) {
      if (addresses_.size() >= options_.max_addresses) shrink_locked(now);
      it = addresses_.emplace(address, TokenBucket{address_burst, now}).first;
    }
    mine = &it->second;
    mine->refill(address_rate, address_burst, now);
    if (mine->tokens < 1.0) {
      ++counters_.refused_address;
      return {Refusal::kAddress, mine->until_one_token(address_rate)};
    }
  }
  if (global_rate > 0) global_.tokens -= 1.0;
  if (mine != nullptr) mine->tokens -= 1.0;
  ++counters_.allowed;
  return {};
}

void RateLimiter::shrink_locked(Clock::time_point now) {
  const double per_minute = options_.per_address_per_minute;
  shrink_buckets(addresses_, per_minute / 60.0, std::max(1.0, per_minute), options_.max_addresses, now);
}

RateLimiter::Counters RateLimiter::counters() const {
  std::lock_guard lock(mu_);
  Counters c = counters_;
  c.tracked_addresses = addresses_.size();
  return c;
}

}  // namespace accountable
