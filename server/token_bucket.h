// A token bucket: `per_second` tokens flow in up to `burst`; a request takes
// one. The sign-in guard's budgets and the anonymous routes' rate limit.
#pragma once

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>

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

}  // namespace accountable
