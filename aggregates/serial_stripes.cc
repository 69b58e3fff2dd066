#include "aggregates/serial_stripes.h"

#include <future>
#include <memory>

namespace accountable {

SerialStripes::SerialStripes(size_t stripes, size_t max_in_flight)
    : max_in_flight_(max_in_flight == 0 ? 1 : max_in_flight), stripes_(stripes == 0 ? 1 : stripes) {}

size_t SerialStripes::stripe_of(std::string_view key) const {
  return std::hash<std::string_view>{}(key) % stripes_.size();
}

bool SerialStripes::may_enter(const Stripe& s, bool needs_drained) const {
  return !s.held && (needs_drained ? s.in_flight == 0 : s.in_flight < max_in_flight_);
}

bool SerialStripes::try_enter_or_queue(size_t stripe, Waiter waiter) {
  std::lock_guard lock(mu_);
  Stripe& s = stripes_.at(stripe);
  if (s.waiting.empty() && may_enter(s, waiter.needs_drained)) {
    s.held = true;
    return true;
  }
  s.waiting.push_back(std::move(waiter));
  return false;
}

bool SerialStripes::try_enter_or_queue(size_t stripe, std::function<void()> on_turn) {
  return try_enter_or_queue(stripe, Waiter{std::move(on_turn), false});
}

void SerialStripes::enter(size_t stripe) {
  // The promise is shared with the queued callback: the waiter may return
  // (and its frame go) while pass_on() is still inside set_value().
  auto turn = std::make_shared<std::promise<void>>();
  std::future<void> given = turn->get_future();
  if (try_enter_or_queue(stripe, Waiter{[turn] { turn->set_value(); }, true})) return;
  given.wait();
}

void SerialStripes::pass_on(std::unique_lock<std::mutex> lock, Stripe& s) {
  if (s.waiting.empty() || !may_enter(s, s.waiting.front().needs_drained)) return;
  s.held = true;  // the stripe passes to the first waiter
  std::function<void()> next = std::move(s.waiting.front().on_turn);
  s.waiting.pop_front();
  lock.unlock();
  next();
}

void SerialStripes::leave(size_t stripe) {
  std::unique_lock lock(mu_);
  Stripe& s = stripes_.at(stripe);
  s.held = false;
  pass_on(std::move(lock), s);
}

void SerialStripes::take_off(size_t stripe) {
  std::lock_guard lock(mu_);
  ++stripes_.at(stripe).in_flight;
}

void SerialStripes::landed(size_t stripe) {
  std::unique_lock lock(mu_);
  Stripe& s = stripes_.at(stripe);
  if (s.in_flight > 0) --s.in_flight;
  pass_on(std::move(lock), s);
}

size_t SerialStripes::waiting() const {
  std::lock_guard lock(mu_);
  size_t n = 0;
  for (const Stripe& s : stripes_) n += s.waiting.size();
  return n;
}

size_t SerialStripes::in_flight() const {
  std::lock_guard lock(mu_);
  size_t n = 0;
  for (const Stripe& s : stripes_) n += s.in_flight;
  return n;
}

}  // namespace accountable
