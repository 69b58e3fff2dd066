// A wait/wake pair on a 32-bit atomic word that sleeps in the kernel at once.
// std::atomic::wait in libstdc++ first spins and calls sched_yield: with dozens
// of appenders waiting for one fsync on two cores, that spinning took a sixth
// of the server's CPU. Linux futex(2); both calls are safe against spurious
// wake-ups, so callers re-check their condition in a loop.
#pragma once

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <climits>
#include <cstdint>

namespace accountable {

static_assert(sizeof(std::atomic<uint32_t>) == sizeof(uint32_t), "futex needs a plain 32-bit word");

// Sleeps while `word` holds `expected` (returns at once if it does not).
inline void futex_wait(std::atomic<uint32_t>& word, uint32_t expected) {
  syscall(SYS_futex, reinterpret_cast<uint32_t*>(&word), FUTEX_WAIT_PRIVATE, expected, nullptr, nullptr, 0);
}

// Wakes every thread sleeping on `word`.
inline void futex_wake_all(std::atomic<uint32_t>& word) {
  syscall(SYS_futex, reinterpret_cast<uint32_t*>(&word), FUTEX_WAKE_PRIVATE, INT_MAX, nullptr, nullptr, 0);
}

}  // namespace accountable
