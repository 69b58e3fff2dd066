#include "server/metrics.h"

#include <cstdio>

namespace accountable {

namespace {

template <class Snapshot>
void render_histogram(std::string& out, const std::string& name, const std::string& help, const Snapshot& s,
                      double scale) {
  out += "# HELP " + name + " " + help + "\n# TYPE " + name + " histogram\n";
  uint64_t cumulative = 0;
  char line[256];
  for (size_t i = 0; i < s.bounds.size(); ++i) {
    cumulative += s.counts[i];
    std::snprintf(line, sizeof line, "%s_bucket{le=\"%g\"} %llu\n", name.c_str(), s.bounds[i] * scale,
                  static_cast<unsigned long long>(cumulative));
    out += line;
  }
  cumulative += s.counts[s.bounds.size()];
  std::snprintf(line, sizeof line, "%s_bucket{le=\"+Inf\"} %llu\n%s_sum %g\n%s_count %llu\n", name.c_str(),
                static_cast<unsigned long long>(cumulative), name.c_str(), s.sum * scale, name.c_str(),
                static_cast<unsigned long long>(cumulative));
  out += line;
}

void render_counter(std::string& out, const std::string& name, const std::string& help, uint64_t value) {
  out += "# HELP " + name + " " + help + "\n# TYPE " + name + " counter\n" + name + " " + std::to_string(value) + "\n";
}

// Label values are ours (route patterns, command names, status codes), but escape anyway.
std::string escape_label(std::string_view v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') out.push_back('\\');
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out.push_back(c);
  }
  return out;
}

}  // namespace

void Metrics::count_http(const std::string& route, unsigned status) {
  std::lock_guard lock(mu_);
  ++http_[{route, status}];
}

void Metrics::count_command(std::string_view type, std::string_view code) {
  std::lock_guard lock(mu_);
  ++commands_[{std::string(type), std::string(code)}];
}

void Metrics::add_gauge(std::string name, std::string help, GaugeFn fn) {
  std::lock_guard lock(mu_);
  gauges_.push_back(Gauge{std::move(name), std::move(help), std::move(fn)});
}

std::string Metrics::render() const {
  std::string out;
  const LogStats s = log_.stats();
  render_counter(out, "acct_log_commits_appended_total", "Commits appended by this process.", s.commits_appended);
  render_counter(out, "acct_log_batches_written_total", "Group-commit batches written (one write + fdatasync each).",
                 s.batches_written);
  out += "# HELP acct_log_head_position The durable head of the log.\n# TYPE acct_log_head_position gauge\n";
  out += "acct_log_head_position " + std::to_string(s.head.value()) + "\n";
  render_histogram(out, "acct_log_fsync_seconds", "Latency of each batch's fdatasync.", s.fsync_micros, 1e-6);
  render_histogram(out, "acct_log_batch_commits", "Commits per group-commit batch.", s.batch_commits, 1.0);
  out += "# HELP acct_log_healthy 1 while the log accepts writes, 0 once poisoned.\n# TYPE acct_log_healthy gauge\n";
  out += std::string("acct_log_healthy ") + (log_.health().is_ok() ? "1" : "0") + "\n";

  std::lock_guard lock(mu_);
  out += "# HELP acct_http_requests_total HTTP requests by route and status.\n# TYPE acct_http_requests_total counter\n";
  for (const auto& [key, n] : http_) {
    out += "acct_http_requests_total{route=\"" + escape_label(key.first) + "\",status=\"" + std::to_string(key.second) +
           "\"} " + std::to_string(n) + "\n";
  }
  out += "# HELP acct_commands_total Command outcomes by type and code.\n# TYPE acct_commands_total counter\n";
  for (const auto& [key, n] : commands_) {
    out += "acct_commands_total{type=\"" + escape_label(key.first) + "\",code=\"" + escape_label(key.second) +
           "\"} " + std::to_string(n) + "\n";
  }
  for (const Gauge& g : gauges_) {
    out += "# HELP " + g.name + " " + g.help + "\n# TYPE " + g.name + " gauge\n";
    for (const auto& [labels, value] : g.fn()) {
      char v[64];
      std::snprintf(v, sizeof v, "%.17g", value);
      out += g.name + (labels.empty() ? "" : "{" + labels + "}") + " " + v + "\n";
    }
  }
  return out;
}

}  // namespace accountable
