#include "bench/bench_report.h"

#include <sys/resource.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <string>

namespace accountable::bench {

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

double micros_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::micro>(b - a).count();
}

double percentile(std::vector<double> values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const size_t i = static_cast<size_t>(p * static_cast<double>(values.size() - 1) + 0.5);
  return values[std::min(i, values.size() - 1)];
}

void print(const Figure& f) {
  std::printf("{\"system\":\"accountable\",\"workload\":\"%s\",\"events\":%llu,\"seconds\":%.6f,"
              "\"events_per_s\":%.1f,\"p50_us\":%.1f,\"p99_us\":%.1f",
              f.workload.c_str(), static_cast<unsigned long long>(f.events), f.seconds,
              f.seconds > 0 ? static_cast<double>(f.events) / f.seconds : 0.0, percentile(f.latencies_us, 0.50),
              percentile(f.latencies_us, 0.99));
  for (const auto& [k, v] : f.extra) std::printf(",\"%s\":%.3f", k.c_str(), v);
  std::printf("}\n");
  std::fflush(stdout);
}

std::string json_quote(const std::string& text) {
  std::string out = "\"";
  for (const char c : text) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(static_cast<unsigned char>(c)));
          out += buf;
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}

JsonLine::JsonLine(const std::string& workload) : body_("{\"system\":\"accountable\"") { text("workload", workload); }

void JsonLine::key(const std::string& k) {
  body_ += ',';
  body_ += json_quote(k);
  body_ += ':';
}

JsonLine& JsonLine::text(const std::string& k, const std::string& value) {
  key(k);
  body_ += json_quote(value);
  return *this;
}

JsonLine& JsonLine::number(const std::string& k, double value) {
  key(k);
  if (!std::isfinite(value)) {
    body_ += "null";
    return *this;
  }
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.3f", value);
  body_ += buf;
  return *this;
}

JsonLine& JsonLine::count(const std::string& k, uint64_t value) {
  key(k);
  body_ += std::to_string(value);
  return *this;
}

JsonLine& JsonLine::flag(const std::string& k, bool value) {
  key(k);
  body_ += value ? "true" : "false";
  return *this;
}

void JsonLine::print() const {
  std::printf("%s\n", str().c_str());
  std::fflush(stdout);
}

namespace {

double cpu_seconds(int who) {
  rusage u{};
  getrusage(who, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

uint64_t status_kib(const std::string& key) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(key + ":", 0) == 0) return std::stoull(line.substr(key.size() + 1)) * 1024;
  }
  return 0;
}

}  // namespace

double process_cpu_seconds() { return cpu_seconds(RUSAGE_SELF); }
double children_cpu_seconds() { return cpu_seconds(RUSAGE_CHILDREN); }
uint64_t process_context_switches() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<uint64_t>(u.ru_nvcsw + u.ru_nivcsw);
}
uint64_t peak_rss_bytes() { return status_kib("VmHWM"); }
uint64_t current_rss_bytes() { return status_kib("VmRSS"); }

bool reset_peak_rss() {
  std::ofstream out("/proc/self/clear_refs");
  out << "5";  // 5: reset the peak RSS to the current RSS (proc(5))
  out.flush();
  return static_cast<bool>(out);
}

Workspace::Workspace(const BenchOptions& o, const std::string& name)
    : dir_(std::filesystem::path(o.data_dir) / name), keep_(o.keep_data) {
  std::filesystem::remove_all(dir_);
  std::filesystem::create_directories(dir_);
}

Workspace::~Workspace() {
  if (!keep_) {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
}

}  // namespace accountable::bench
