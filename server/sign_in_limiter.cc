#include "server/sign_in_limiter.h"

#include <algorithm>
#include <vector>

namespace accountable {

std::chrono::milliseconds SignInLimiter::delay_after(unsigned failures) {
  if (failures <= 1) return std::chrono::milliseconds(0);  // one typo costs nothing
  const unsigned doublings = std::min(failures - 2, 20u);
  return std::min(std::chrono::milliseconds(1000LL << doublings), std::chrono::milliseconds(5 * 60 * 1000));
}

std::chrono::milliseconds SignInLimiter::wait_before_attempt(const std::string& account, Clock::time_point now) {
  std::lock_guard lock(mu_);
  auto it = entries_.find(account);
  if (it == entries_.end() || it->second.next_allowed <= now) return std::chrono::milliseconds(0);
  return std::chrono::ceil<std::chrono::milliseconds>(it->second.next_allowed - now);
}

void SignInLimiter::record_failure(const std::string& account, Clock::time_point now) {
  std::lock_guard lock(mu_);
  if (entries_.size() >= max_accounts_ && !entries_.count(account)) shrink_locked(now);
  Entry& e = entries_[account];
  ++e.failures;
  e.last_failure = now;
  e.next_allowed = now + delay_after(e.failures);
}

void SignInLimiter::record_success(const std::string& account) {
  std::lock_guard lock(mu_);
  entries_.erase(account);
}

void SignInLimiter::shrink_locked(Clock::time_point now) {
  std::erase_if(entries_, [&](const auto& kv) { return kv.second.next_allowed <= now; });
  if (entries_.size() < max_accounts_) return;
  std::vector<std::pair<Clock::time_point, std::string>> by_age;
  by_age.reserve(entries_.size());
  for (const auto& [key, e] : entries_) by_age.emplace_back(e.last_failure, key);
  std::sort(by_age.begin(), by_age.end());
  for (size_t i = 0; i < by_age.size() / 2; ++i) entries_.erase(by_age[i].second);
}

}  // namespace accountable
