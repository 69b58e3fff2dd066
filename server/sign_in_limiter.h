// SignInLimiter: failed sign-ins per account (partner + normalized email) push
// the next allowed attempt further out: 0 s after the first failure... then
// 1, 2, 4, ... up to 5 minutes. A success forgets the account. Memory is bounded:
// past max_accounts the entries whose wait is over are dropped first, and if that
// is not enough the oldest ones.
#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <mutex>
#include <string>

namespace accountable {

class SignInLimiter {
 public:
  using Clock = std::chrono::steady_clock;
  explicit SignInLimiter(size_t max_accounts = 100'000) : max_accounts_(max_accounts) {}

  // Zero if an attempt may be made now, else how long to wait.
  std::chrono::milliseconds wait_before_attempt(const std::string& account, Clock::time_point now);
  void record_failure(const std::string& account, Clock::time_point now);
  void record_success(const std::string& account);

  static std::chrono::milliseconds delay_after(unsigned failures);

 private:
  struct Entry {
    unsigned failures = 0;
    Clock::time_point next_allowed;
    Clock::time_point last_failure;
  };
  void shrink_locked(Clock::time_point now);
  const size_t max_accounts_;
  std::mutex mu_;
  std::map<std::string, Entry> entries_;
};

}  // namespace accountable
