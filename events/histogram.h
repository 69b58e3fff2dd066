// A fixed-bucket histogram that many threads may observe into without a lock
// (relaxed atomics: a reader may see a sample in `count` a moment before its
// bucket, which Prometheus scrapes tolerate).
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>

namespace accountable {

template <size_t N>
class Histogram {
 public:
  // `bounds` are the buckets' upper bounds (inclusive), ascending; a last,
  // implicit bucket takes everything above them.
  explicit constexpr Histogram(const std::array<uint64_t, N>& bounds) : bounds_(bounds) {}

  void observe(uint64_t value) {
    size_t i = 0;
    while (i < N && value > bounds_[i]) ++i;
    buckets_[i].fetch_add(1, std::memory_order_relaxed);
    sum_.fetch_add(value, std::memory_order_relaxed);
  }

  struct Snapshot {
    std::array<uint64_t, N> bounds{};
    std::array<uint64_t, N + 1> counts{};  // per bucket, not cumulative; [N] is above the last bound
    uint64_t sum = 0;
    uint64_t count() const {
      uint64_t n = 0;
      for (uint64_t c : counts) n += c;
      return n;
    }
  };
  Snapshot snapshot() const {
    Snapshot s;
    s.bounds = bounds_;
    for (size_t i = 0; i <= N; ++i) s.counts[i] = buckets_[i].load(std::memory_order_relaxed);
    s.sum = sum_.load(std::memory_order_relaxed);
    return s;
  }

 private:
  std::array<uint64_t, N> bounds_;
  std::array<std::atomic<uint64_t>, N + 1> buckets_{};
  std::atomic<uint64_t> sum_{0};
};

// Microseconds, for fsync latency.
inline constexpr std::array<uint64_t, 11> kLatencyBoundsMicros = {50,   100,   250,   500,    1000,  2500,
                                                                  5000, 10000, 25000, 100000, 1000000};
// Commits per group-commit batch.
inline constexpr std::array<uint64_t, 8> kBatchSizeBounds = {1, 2, 4, 8, 16, 64, 256, 1024};

using LatencyHistogram = Histogram<kLatencyBoundsMicros.size()>;
using BatchSizeHistogram = Histogram<kBatchSizeBounds.size()>;

}  // namespace accountable
