// SerialStripes: the commands of one key (a partner, the catalog) decide one
// at a time in this process, in the order they arrive, whether their caller
// waits on its own thread (enter) or is called back when its turn comes
// (try_enter_or_queue). Keys are hashed onto a fixed number of stripes, so a
// few unrelated keys share one.
//
// An asynchronous command gives its turn up once its commit is queued to the
// log (take_off, then leave), and the stripe counts it in flight until it lands: so the
// next command of the partner decides on top of it while its fsync runs
// (pipelined turns, aggregates/engine.cc). At most max_in_flight commits of a
// stripe are in flight. A synchronous command (enter) waits until none is:
// it decides on durable states only.
#pragma once

#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <string_view>
#include <vector>

namespace accountable {

class SerialStripes {
 public:
  explicit SerialStripes(size_t stripes = 256, size_t max_in_flight = 16);

  size_t stripe_of(std::string_view key) const;

  // True: the caller holds the stripe now. False: it is held, others wait
  // first, or max_in_flight commits are in flight; `on_turn` runs once the
  // stripe is handed over, on the thread that calls leave() or landed(). It
  // should only hand the work to where it runs (it must not block).
  bool try_enter_or_queue(size_t stripe, std::function<void()> on_turn);
  // Blocks until the caller holds the stripe with nothing in flight (waiting
  // behind those queued first).
  void enter(size_t stripe);
  // The holder's commit is in flight from here until landed(): call it before
  // queueing the commit, then leave().
  void take_off(size_t stripe);
  // A commit in flight is written or refused (any thread, even before the
  // holder left).
  void landed(size_t stripe);
  // The holder lets go.
  void leave(size_t stripe);

  // Waiters queued on every stripe (not the holders), and commits in flight:
  // gauges for tests.
  size_t waiting() const;
  size_t in_flight() const;

 private:
  struct Waiter {
    std::function<void()> on_turn;
    bool needs_drained = false;  // enter(): nothing in flight
  };
  struct Stripe {
    bool held = false;
    size_t in_flight = 0;
    std::deque<Waiter> waiting;
  };
  bool may_enter(const Stripe& s, bool needs_drained) const;
  bool try_enter_or_queue(size_t stripe, Waiter waiter);
  // Gives the stripe to its first waiter if it may enter now; runs its
  // on_turn outside the lock. Takes the lock held.
  void pass_on(std::unique_lock<std::mutex> lock, Stripe& s);

  const size_t max_in_flight_;
  mutable std::mutex mu_;
  std::vector<Stripe> stripes_;
};

}  // namespace accountable
