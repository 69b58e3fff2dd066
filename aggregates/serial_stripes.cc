#include "aggregates/serial_stripes.h"

#include <future>
#include <memory>

namespace accountable {

SerialStripes::SerialStripes(size_t stripes) : stripes_(stripes == 0 ? 1 : stripes) {}

size_t SerialStripes::stripe_of(std::string_view key) const {
  return std::hash<std::string_view>{}(key) % stripes_.size();
}

bool SerialStripes::try_enter_or_queue(size_t stripe, std::function<void()> on_turn) {
  std::lock_guard lock(mu_);
  Stripe& s = stripes_.at(stripe);
  if (!s.held) {
    s.held = true;
    return true;
  }
  s.waiting.push_back(std::move(on_turn));
  return false;
}

void SerialStripes::enter(size_t stripe) {
  // The promise is shared with the queued callback: the waiter may return
  // (and its frame go) while leave() is still inside set_value().
  auto turn = std::make_shared<std::promise<void>>();
  std::future<void> given = turn->get_future();
  if (try_enter_or_queue(stripe, [turn] { turn->set_value(); })) return;
  given.wait();
}

void SerialStripes::leave(size_t stripe) {
  std::function<void()> next;
  {
    std::lock_guard lock(mu_);
    Stripe& s = stripes_.at(stripe);
    if (s.waiting.empty()) {
      s.held = false;
      return;
    }
    next = std::move(s.waiting.front());  // the stripe stays held: it passes to the next waiter
    s.waiting.pop_front();
  }
  next();
}

size_t SerialStripes::waiting() const {
  std::lock_guard lock(mu_);
  size_t n = 0;
  for (const Stripe& s : stripes_) n += s.waiting.size();
  return n;
}

}  // namespace accountable
