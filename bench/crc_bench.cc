#include "bench/crc_bench.h"

#include <algorithm>
#include <chrono>
#include <random>
#include <string>
#include <vector>

#include "bench/bench_report.h"
#include "events/crc32c.h"

namespace accountable::bench {
namespace {

// Runs `extend` over `n`-byte slices of `buffer` for at least kMinSeconds
// (and at least 16 calls), slices taken in turn so that a buffer larger than
// the caches is read from memory.
void measure(const crc32c::Implementation& impl, const std::vector<char>& buffer, size_t n, const char* where) {
  constexpr double kMinSeconds = 0.2;
  const size_t slices = std::max<size_t>(buffer.size() / n, 1);
  uint64_t calls = 0;
  uint32_t sink = 0;
  const auto start = std::chrono::steady_clock::now();
  double seconds = 0;
  const size_t batch = std::max<size_t>((size_t{256} << 10) / n, 1);  // about 256 KiB between clock reads
  while (seconds < kMinSeconds || calls < 16) {
    for (size_t i = 0; i < batch; ++i, ++calls) sink ^= impl.extend(0, buffer.data() + (calls % slices) * n, n);
    seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  }
  JsonLine("crc")
      .text("implementation", impl.name)
      .count("bytes", n)
      .text("data", where)
      .number("gb_per_s", static_cast<double>(calls) * static_cast<double>(n) / seconds / 1e9)
      .number("ns_per_call", seconds / static_cast<double>(calls) * 1e9)
      .count("calls", calls)
      .count("sink", sink & 1)  // keeps the calls from being optimised away
      .print();
}

}  // namespace

Status crc_workload(const BenchOptions& options) {
  (void)options;
  std::mt19937_64 rng(7);
  std::vector<char> cached(1 << 20);  // fits in L2 or L3
  for (char& c : cached) c = static_cast<char>(rng());
  std::vector<char> cold(size_t{256} << 20);  // larger than any cache here
  for (size_t i = 0; i < cold.size(); i += 8) cold[i] = static_cast<char>(rng());
  for (const crc32c::Implementation& impl : crc32c::implementations()) {
    if (!impl.available) continue;
    for (size_t n : {size_t{64}, size_t{400}, size_t{1200}, size_t{40000}}) measure(impl, cached, n, "cached");
    measure(impl, cold, size_t{1} << 20, "memory");
  }
  JsonLine("crc").text("used_by_the_log", crc32c::implementation()).print();
  return Status::ok();
}

}  // namespace accountable::bench
