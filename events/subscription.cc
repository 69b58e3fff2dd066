#include "events/subscription.h"

#include <algorithm>

namespace accountable {

Subscription::Subscription(const EventLog& log, GlobalPosition from, AllFilter filter, size_t max_batch)
    : log_(log), next_(std::max(from, GlobalPosition(1))), filter_(std::move(filter)), max_batch_(max_batch) {}

Result<ReadBatch> Subscription::next(std::chrono::milliseconds wait) {
  const auto deadline = std::chrono::steady_clock::now() + wait;
  while (true) {
    if (next_ <= log_.head()) {
      auto batch = log_.read_all(next_, max_batch_, filter_);
      if (!batch) return batch.status();
      next_ = batch->next_position;
      // A filtered scan may skip everything it read; keep going while there is more.
      if (!batch->events.empty() || std::chrono::steady_clock::now() >= deadline) return batch;
      continue;
    }
    if (!log_.wait_for(next_, deadline)) return ReadBatch{};
  }
}

}  // namespace accountable
