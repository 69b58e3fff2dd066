// What every benchmark workload shares: the JSON line it prints, latency
// percentiles, CPU time, peak memory, and a fresh scratch folder. A benchmark
// prints figures; nothing here asserts a speed.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "bench/log_bench.h"

namespace accountable::bench {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start);
double micros_between(Clock::time_point a, Clock::time_point b);
// The p-quantile (0..1) by nearest rank; 0 for no samples.
double percentile(std::vector<double> values, double p);

// One JSON line: {"system","workload","events","seconds","events_per_s","p50_us","p99_us", extra...}.
// `events` counts the workload's unit (events, commands, loads).
struct Figure {
  std::string workload;
  uint64_t events = 0;
  double seconds = 0;
  std::vector<double> latencies_us;
  std::vector<std::pair<std::string, double>> extra;
};
void print(const Figure& figure);

// A JSON line built field by field, in the order given: for figures that
// carry text (what the figure is, its unit, what bounds it). Starts with
// "system" and "workload"; numbers print with 3 decimals (null when not
// finite), counts as integers.
class JsonLine {
 public:
  explicit JsonLine(const std::string& workload);
  JsonLine& text(const std::string& key, const std::string& value);
  JsonLine& number(const std::string& key, double value);
  JsonLine& count(const std::string& key, uint64_t value);
  JsonLine& flag(const std::string& key, bool value);
  std::string str() const { return body_ + "}"; }
  void print() const;  // str() and a newline on stdout, flushed

 private:
  void key(const std::string& k);
  std::string body_;
};
// `text` as a JSON string literal, quotes included.
std::string json_quote(const std::string& text);

// CPU seconds used by this process so far (all threads, user + system).
double process_cpu_seconds();
// CPU seconds used by a child process and its children that were waited for.
double children_cpu_seconds();
// Context switches of this process so far (all threads, voluntary and not).
uint64_t process_context_switches();
// Peak resident set size of this process in bytes (VmHWM), and a reset of that
// peak (Linux: /proc/self/clear_refs), so that a phase can be measured alone.
uint64_t peak_rss_bytes();
bool reset_peak_rss();
uint64_t current_rss_bytes();

// DATA/<name>, emptied on entry and removed on exit unless --keep.
class Workspace {
 public:
  Workspace(const BenchOptions& options, const std::string& name);
  ~Workspace();
  Workspace(const Workspace&) = delete;
  Workspace& operator=(const Workspace&) = delete;
  std::string dir() const { return dir_.string(); }

 private:
  std::filesystem::path dir_;
  bool keep_;
};

}  // namespace accountable::bench
