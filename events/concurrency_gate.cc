#include "events/concurrency_gate.h"

#include <algorithm>

namespace accountable {

namespace {
ConcurrencyGate::Options normalized(ConcurrencyGate::Options o) {
  o.limit = std::max<size_t>(o.limit, 1);
  return o;
}
}  // namespace

ConcurrencyGate::ConcurrencyGate(Options options) : options_(normalized(options)) {}

std::optional<ConcurrencyGate::Permit> ConcurrencyGate::acquire() {
  std::unique_lock lock(mu_);
  if (stats_.active >= options_.limit) {
    if (stats_.waiting >= options_.max_waiting) {
      ++stats_.refused_queue_full;
      return std::nullopt;
    }
    ++stats_.waiting;
    const bool admitted =
        cv_.wait_for(lock, options_.max_wait, [this] { return stats_.active < options_.limit; });
    --stats_.waiting;
    if (!admitted) {
      ++stats_.refused_timeout;
      return std::nullopt;
    }
  }
  ++stats_.active;
  ++stats_.admitted;
  stats_.peak_active = std::max(stats_.peak_active, stats_.active);
  return Permit(this);
}

void ConcurrencyGate::release() {
  {
    std::lock_guard lock(mu_);
    --stats_.active;
  }
  cv_.notify_one();
}

ConcurrencyGate::Stats ConcurrencyGate::stats() const {
  std::lock_guard lock(mu_);
  return stats_;
}

}  // namespace accountable
