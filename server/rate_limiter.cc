#include "server/rate_limiter.h"

#include <algorithm>
#include <vector>

namespace accountable {

RateLimiter::Verdict RateLimiter::take(const std::string& address, Clock::time_point now) {
  std::lock_guard lock(mu_);
  const double global_rate = options_.global_per_second;
  const double address_rate = options_.per_address_per_minute / 60.0;
  if (global_rate > 0) {
    if (!global_started_) {  // a new node starts with a full bucket
      global_ = TokenBucket{global_rate, now};
      global_started_ = true;
    }
    global_.refill(global_rate, global_rate, now);
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
      it = addresses_.emplace(address, TokenBucket{options_.per_address_per_minute, now}).first;
    }
    mine = &it->second;
    mine->refill(address_rate, options_.per_address_per_minute, now);
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
  const double burst = options_.per_address_per_minute;
  for (auto& [key, b] : addresses_) b.refill(burst / 60.0, burst, now);
  std::erase_if(addresses_, [&](const auto& kv) { return kv.second.tokens >= burst; });
  if (addresses_.size() < options_.max_addresses) return;
  std::vector<std::pair<Clock::time_point, std::string>> by_age;
  by_age.reserve(addresses_.size());
  for (const auto& [key, b] : addresses_) by_age.emplace_back(b.updated, key);
  std::sort(by_age.begin(), by_age.end());
  for (size_t i = 0; i < by_age.size() / 2; ++i) addresses_.erase(by_age[i].second);
}

RateLimiter::Counters RateLimiter::counters() const {
  std::lock_guard lock(mu_);
  Counters c = counters_;
  c.tracked_addresses = addresses_.size();
  return c;
}

}  // namespace accountable
