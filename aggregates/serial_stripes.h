// SerialStripes: the commands of one key (a partner, the catalog) decide and
// commit one at a time in this process, in the order they arrive, whether
// their caller waits on its own thread (enter) or is called back when its turn
// comes (try_enter_or_queue). Keys are hashed onto a fixed number of stripes,
// so a few unrelated keys share one. An asynchronous command holds its stripe
// across its append without holding any thread (aggregates/engine.cc).
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
  explicit SerialStripes(size_t stripes = 256);

  size_t stripe_of(std::string_view key) const;

  // True: the caller holds the stripe now. False: the stripe is held, and
  // `on_turn` runs once it is handed over, on the thread that calls leave();
  // it should only hand the work to where it runs (it must not block).
  bool try_enter_or_queue(size_t stripe, std::function<void()> on_turn);
  // Blocks until the caller holds the stripe (waiting behind those queued first).
  void enter(size_t stripe);
  // The holder lets go: the first waiter gets the stripe (its on_turn runs
  // here, outside the lock), or the stripe is free.
  void leave(size_t stripe);

  // Waiters queued on every stripe (not the holders): a gauge for tests and metrics.
  size_t waiting() const;

 private:
  struct Stripe {
    bool held = false;
    std::deque<std::function<void()>> waiting;
  };
  mutable std::mutex mu_;
  std::vector<Stripe> stripes_;
};

}  // namespace accountable
