#include "events/concurrency_gate.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

namespace accountable {
namespace {

using namespace std::chrono_literals;

TEST(ConcurrencyGate, AdmitsUpToTheLimitThenRefusesWhenNoOneMayWait) {
  ConcurrencyGate gate({2, 0, 0ms});
  auto a = gate.acquire();
  auto b = gate.acquire();
  ASSERT_TRUE(a && b);
  EXPECT_FALSE(gate.acquire());
  EXPECT_EQ(gate.stats().refused_queue_full, 1u);
  a.reset();
  EXPECT_TRUE(gate.acquire());  // a place came free
  EXPECT_EQ(gate.stats().admitted, 3u);
  EXPECT_EQ(gate.stats().peak_active, 2u);
}

TEST(ConcurrencyGate, AWaiterGivesUpAfterMaxWait) {
  ConcurrencyGate gate({1, 4, 20ms});
  auto held = gate.acquire();
  ASSERT_TRUE(held);
  EXPECT_FALSE(gate.acquire());  // waits 20 ms, nobody releases
  EXPECT_EQ(gate.stats().refused_timeout, 1u);
  EXPECT_EQ(gate.stats().waiting, 0u);
}

TEST(ConcurrencyGate, AWaiterIsAdmittedWhenAPlaceComesFree) {
  ConcurrencyGate gate({1, 4, 60s});
  auto held = gate.acquire();
  std::atomic<bool> admitted{false};
  std::thread waiter([&] { admitted = gate.acquire().has_value(); });
  for (int i = 0; i < 2000 && gate.stats().waiting == 0; ++i) std::this_thread::sleep_for(1ms);
  ASSERT_EQ(gate.stats().waiting, 1u);
  held.reset();
  waiter.join();
  EXPECT_TRUE(admitted);
}

TEST(ConcurrencyGate, NeverMoreThanTheLimitAtOnceUnderContention) {
  ConcurrencyGate gate({3, 64, 60s});
  std::atomic<int> inside{0}, most{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 16; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 50; ++i) {
        auto p = gate.acquire();
        ASSERT_TRUE(p);
        int now = ++inside;
        int seen = most.load();
        while (now > seen && !most.compare_exchange_weak(seen, now)) {
        }
        std::this_thread::yield();
        --inside;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_LE(most.load(), 3);
  EXPECT_EQ(gate.stats().admitted, 16u * 50u);
  EXPECT_EQ(gate.stats().active, 0u);
}

}  // namespace
}  // namespace accountable
