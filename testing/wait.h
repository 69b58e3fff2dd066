// TEST ONLY. A bounded wait for a condition another thread makes true.
#pragma once

#include <chrono>
#include <thread>

namespace accountable::testing {

// Polls `pred` every 20 ms until it holds (true) or `timeout` has passed (false).
template <class Pred>
bool wait_until(Pred pred, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!pred()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return true;
}

}  // namespace accountable::testing
