// A token bucket: `per_second` tokens flow in up to `burst`; a request takes
// one. The sign-in guard's budgets and the anonymous routes' rate limit.
#pragma once

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace accountable {

struct TokenBucket {
  using Clock = std::chrono::steady_clock;
  double tokens = 0;
  Clock::time_point updated;

  // Refills up to `burst` at `per_second` for the time since the last refill.
  void refill(double per_second, double burst, Clock::time_point now) {
    if (now > updated) {
      const double seconds = std::chrono::duration<double>(now - updated).count();
      tokens = std::min(burst, tokens + seconds * per_second);
    }
    updated = std::max(updated, now);
  }
  // How long until one whole token is there (zero if it is).
  std::chrono::milliseconds until_one_token(double per_second) const {
    const double missing = 1.0 - tokens;
    if (missing <= 0) return std::chrono::milliseconds(0);
    return std::chrono::milliseconds(static_cast<int64_t>(std::ceil(missing / per_second * 1000.0)));
  }
};

// Keeps a map of buckets by key (client addresses) under `max`: the full
// buckets go first (they hold nothing a new bucket would not), then the
// least recently used half.
inline void shrink_buckets(std::map<std::string, TokenBucket>& buckets, double per_second, double burst, size_t max,
                           TokenBucket::Clock::time_point now) {
  for (auto& [key, b] : buckets) b.refill(per_second, burst, now);
  std::erase_if(buckets, [&](const auto& kv) { return kv.second.tokens >= burst; });
  if (buckets.size() < max) return;
  std::vector<std::pair<TokenBucket::Clock::time_point, std::string>> by_age;
  by_age.reserve(buckets.size());
  for (const auto& [key, b] : buckets) by_age.emplace_back(b.updated, key);
  std::sort(by_age.begin(), by_age.end());
  for (size_t i = 0; i < by_age.size() / 2; ++i) buckets.erase(by_age[i].second);
}

}  // namespace accountable
