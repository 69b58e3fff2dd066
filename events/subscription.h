// Subscription: catch up on $all from a position, then follow live commits.
//
// Pull-based on purpose: a subscriber reads at its own pace from the log (the
// memory map or disk), so a slow subscriber never holds the writer back and
// nothing is buffered for it.
#pragma once

#include <chrono>

#include "events/event_log.h"

namespace accountable {

class Subscription {
 public:
  // Delivers events with position >= `from` that match `filter`.
  Subscription(const EventLog& log, GlobalPosition from, AllFilter filter = {}, size_t max_batch = 1024);

  // The next events after those already delivered. Waits up to `wait` when
  // caught up; an empty batch means nothing new arrived in that time.
  Result<ReadBatch> next(std::chrono::milliseconds wait);

  // The first position not yet delivered (or scanned past, when filtered).
  GlobalPosition position() const { return next_; }
  bool caught_up() const { return next_ > log_.head(); }

 private:
  const EventLog& log_;
  GlobalPosition next_;
  AllFilter filter_;
  size_t max_batch_;
};

}  // namespace accountable
