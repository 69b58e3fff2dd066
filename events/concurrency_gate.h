// ConcurrencyGate: at most `limit` holders at once. A caller that finds the
// gate full waits, but only if fewer than `max_waiting` callers already wait,
// and only for `max_wait`; otherwise acquire() refuses at once. Bounded in
// both memory (the holders' work) and time (the waiters' threads).
//
// Used for argon2id (aggregates/credential_store.h): each computation holds
// 64 MiB, so the number of them at once bounds the process's memory.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <optional>

namespace accountable {

class ConcurrencyGate {
 public:
  struct Options {
    size_t limit = 1;        // holders at once (at least 1)
    size_t max_waiting = 0;  // callers waiting at once; more are refused at once
    std::chrono::milliseconds max_wait{0};
  };
  struct Stats {
    size_t active = 0, waiting = 0, peak_active = 0;
    uint64_t admitted = 0;
    uint64_t refused_queue_full = 0;  // max_waiting callers were already waiting
    uint64_t refused_timeout = 0;     // waited max_wait in vain
  };

  // Releases its place on destruction.
  class Permit {
   public:
    explicit Permit(ConcurrencyGate* gate) : gate_(gate) {}
    Permit(Permit&& other) noexcept : gate_(other.gate_) { other.gate_ = nullptr; }
    Permit& operator=(Permit&&) = delete;
    Permit(const Permit&) = delete;
    ~Permit() {
      if (gate_) gate_->release();
    }

   private:
    ConcurrencyGate* gate_;
  };

  explicit ConcurrencyGate(Options options);
  ConcurrencyGate(const ConcurrencyGate&) = delete;
  ConcurrencyGate& operator=(const ConcurrencyGate&) = delete;

  // A permit, or nullopt when refused (queue full, or max_wait passed).
  std::optional<Permit> acquire();
  Stats stats() const;
  const Options& options() const { return options_; }

 private:
  void release();

  const Options options_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  Stats stats_;
};

}  // namespace accountable
