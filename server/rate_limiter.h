// RateLimiter: how often anonymous callers may use a public route (the
// partner directory, GET /v1/directory/profiles). Two token buckets:
//   - per client address (the TCP peer): `per_address_per_minute`, as many at once;
//   - for the whole node: `global_per_second`, as many at once.
// Every request takes one token from both; an empty bucket refuses (429 for
// the address, 503 for the node, with Retry-After). Memory is bounded: at most
// `max_addresses` addresses are tracked; full buckets are dropped first, then
// the oldest half.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>

#include "server/token_bucket.h"

namespace accountable {

struct RateLimiterOptions {
  double per_address_per_minute = 120;  // 0: no per-address limit
  double global_per_second = 200;       // 0: no node-wide limit
  size_t max_addresses = 100'000;
};

class RateLimiter {
 public:
  using Clock = std::chrono::steady_clock;
  enum class Refusal { kNone, kAddress, kGlobal };
  struct Verdict {
    Refusal refusal = Refusal::kNone;
    std::chrono::milliseconds wait{0};
  };
  struct Counters {
    uint64_t allowed = 0, refused_address = 0, refused_global = 0;
    size_t tracked_addresses = 0;
  };

  explicit RateLimiter(RateLimiterOptions options = {}) : options_(options) {}

  // Takes a token for `address` (and the node) if both have one.
  Verdict take(const std::string& address, Clock::time_point now);
  Counters counters() const;

 private:
  void shrink_locked(Clock::time_point now);

  const RateLimiterOptions options_;
  mutable std::mutex mu_;
  std::map<std::string, TokenBucket> addresses_;  // guarded by mu_
  TokenBucket global_;                            // guarded by mu_
  bool global_started_ = false;                   // guarded by mu_
  Counters counters_;                             // guarded by mu_
};

}  // namespace accountable
