#include "aggregates/serial_stripes.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <thread>
#include <vector>

namespace accountable {
namespace {

TEST(SerialStripes, TurnsPassInArrivalOrderOnTheLeaversThread) {
  SerialStripes stripes(4);
  const size_t s = stripes.stripe_of("partner-a");
  ASSERT_TRUE(stripes.try_enter_or_queue(s, [] { FAIL() << "a free stripe is entered at once"; }));
  std::vector<int> order;
  std::thread::id ran_on;
  for (int i = 1; i <= 3; ++i) {
    EXPECT_FALSE(stripes.try_enter_or_queue(s, [&, i] {
      order.push_back(i);
      ran_on = std::this_thread::get_id();
    }));
  }
  EXPECT_EQ(stripes.waiting(), 3u);
  std::thread leaver([&] { stripes.leave(s); });
  const std::thread::id leaver_id = leaver.get_id();
  leaver.join();
  EXPECT_EQ(order, std::vector<int>({1}));  // one turn per leave, and the stripe stays held
  EXPECT_EQ(ran_on, leaver_id);
  stripes.leave(s);
  stripes.leave(s);
  EXPECT_EQ(order, std::vector<int>({1, 2, 3}));
  EXPECT_EQ(stripes.waiting(), 0u);
  stripes.leave(s);  // the last holder: the stripe is free again
  EXPECT_TRUE(stripes.try_enter_or_queue(s, [] { FAIL() << "free again"; }));
  stripes.leave(s);
}

TEST(SerialStripes, CommitsInFlightAreBoundedAndEnterWaitsForNoneInFlight) {
  SerialStripes stripes(4, /*max_in_flight=*/2);
  const size_t s = stripes.stripe_of("partner-a");
  // Two commands decide and put their commits in flight, one after the other.
  for (int i = 0; i < 2; ++i) {
    ASSERT_TRUE(stripes.try_enter_or_queue(s, [] { FAIL() << "entered at once"; }));
    stripes.take_off(s);
    stripes.leave(s);
  }
  EXPECT_EQ(stripes.in_flight(), 2u);
  int third = 0;
  EXPECT_FALSE(stripes.try_enter_or_queue(s, [&] { ++third; })) << "two in flight: the third waits";
  stripes.landed(s);
  EXPECT_EQ(third, 1) << "one landed: the third's turn";
  // A synchronous caller waits for the holder and for every commit in flight.
  std::promise<void> entered;
  std::thread sync_caller([&] {
    stripes.enter(s);
    entered.set_value();
    stripes.leave(s);
  });
  std::future<void> given = entered.get_future();
  for (int i = 0; i < 30'000 && stripes.waiting() == 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  EXPECT_EQ(stripes.waiting(), 1u) << "the synchronous caller queued behind the holder";
  stripes.take_off(s);
  stripes.leave(s);  // the third's commit is in flight, with the second's
  EXPECT_EQ(given.wait_for(std::chrono::milliseconds(50)), std::future_status::timeout);
  stripes.landed(s);
  EXPECT_EQ(given.wait_for(std::chrono::milliseconds(50)), std::future_status::timeout) << "one is still in flight";
  // Queued behind the synchronous caller: an asynchronous one waits its turn too.
  int fourth = 0;
  EXPECT_FALSE(stripes.try_enter_or_queue(s, [&] { ++fourth; }));
  stripes.landed(s);
  EXPECT_EQ(given.wait_for(std::chrono::seconds(30)), std::future_status::ready);
  sync_caller.join();
  EXPECT_EQ(fourth, 1) << "the synchronous caller's leave passed the turn on";
  stripes.leave(s);
  EXPECT_EQ(stripes.in_flight(), 0u);
  EXPECT_EQ(stripes.waiting(), 0u);
}

TEST(SerialStripes, EnterWaitsForTheHolderAndOtherStripesDoNot) {
  SerialStripes stripes(256);
  const size_t a = stripes.stripe_of("partner-a");
  size_t b = a;
  for (int i = 0; b == a && i < 1000; ++i) b = stripes.stripe_of("partner-" + std::to_string(i));
  ASSERT_NE(a, b);
  stripes.enter(a);
  stripes.enter(b);  // another stripe: not held up
  std::atomic<bool> entered{false};
  std::thread waiter([&] {
    stripes.enter(a);
    entered = true;
    stripes.leave(a);
  });
  // Bounded: the waiter shows up in the queue within 10 s, and has not entered.
  for (int i = 0; i < 1000 && stripes.waiting() == 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  ASSERT_EQ(stripes.waiting(), 1u);
  EXPECT_FALSE(entered.load());
  stripes.leave(a);
  waiter.join();
  EXPECT_TRUE(entered.load());
  stripes.leave(b);
}

TEST(SerialStripes, ManyThreadsNeverHoldOneStripeAtOnce) {
  SerialStripes stripes(1);
  std::atomic<int> inside{0};
  std::atomic<int> most{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 200; ++i) {
        stripes.enter(0);
        const int now = ++inside;
        int seen = most.load();
        while (now > seen && !most.compare_exchange_weak(seen, now)) {
        }
        --inside;
        stripes.leave(0);
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(most.load(), 1);
  EXPECT_EQ(stripes.waiting(), 0u);
}

}  // namespace
}  // namespace accountable
