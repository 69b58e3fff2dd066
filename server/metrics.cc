#include "server/metrics.h"

#include <cstdio>

namespace accountable {

namespace {

// `labels`: "" or `shard="1"` (a series per shard's log).
template <class Snapshot>
void render_histogram_series(std::string& out, const std::string& name, const std::string& labels, const Snapshot& s,
                             double scale) {
  const std::string sep = labels.empty() ? "" : labels + ",";
  const std::string own = labels.empty() ? "" : "{" + labels + "}";
  uint64_t cumulative = 0;
  char line[320];
  for (size_t i = 0; i < s.bounds.size(); ++i) {
    cumulative += s.counts[i];
    std::snprintf(line, sizeof line, "%s_bucket{%sle=\"%g\"} %llu\n", name.c_str(), sep.c_str(), s.bounds[i] * scale,
                  static_cast<unsigned long long>(cumulative));
    out += line;
  }
  cumulative += s.counts[s.bounds.size()];
  std::snprintf(line, sizeof line, "%s_bucket{%sle=\"+Inf\"} %llu\n%s_sum%s %g\n%s_count%s %llu\n", name.c_str(),
                sep.c_str(), static_cast<unsigned long long>(cumulative), name.c_str(), own.c_str(), s.sum * scale,
                name.c_str(), own.c_str(), static_cast<unsigned long long>(cumulative));
  out += line;
}

void render_header(std::string& out, const std::string& name, const std::string& help, std::string_view type) {
  out += "# HELP " + name + " " + help + "\n# TYPE " + name + " " + std::string(type) + "\n";
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

void Metrics::add_gauge(std::string name, std::string help, GaugeFn fn, std::string type) {
  std::lock_guard lock(mu_);
  gauges_.push_back(Gauge{std::move(name), std::move(help), std::move(fn), std::move(type)});
}

std::string Metrics::render() const {
  std::string out;
  // One series per log; labelled by shard when there are several.
  std::vector<std::pair<std::string, LogStats>> stats;
  for (size_t i = 0; i < logs_.size(); ++i) {
    stats.emplace_back(logs_.size() == 1 ? std::string() : "shard=\"" + std::to_string(i) + "\"", logs_[i]->stats());
  }
  auto series = [&](const std::string& name, const std::string& labels, const std::string& value) {
    out += name + (labels.empty() ? "" : "{" + labels + "}") + " " + value + "\n";
  };
  render_header(out, "acct_log_commits_appended_total", "Commits appended by this process.", "counter");
  for (const auto& [labels, s] : stats) {
    series("acct_log_commits_appended_total", labels, std::to_string(s.commits_appended));
  }
  render_header(out, "acct_log_batches_written_total", "Group-commit batches written (one write + fdatasync each).",
                "counter");
  for (const auto& [labels, s] : stats) {
    series("acct_log_batches_written_total", labels, std::to_string(s.batches_written));
  }
  render_header(out, "acct_log_head_position", "The durable head of the log.", "gauge");
  for (const auto& [labels, s] : stats) series("acct_log_head_position", labels, std::to_string(s.head.value()));
  render_header(out, "acct_log_fsync_seconds", "Latency of each batch's fdatasync.", "histogram");
  for (const auto& [labels, s] : stats) {
    render_histogram_series(out, "acct_log_fsync_seconds", labels, s.fsync_micros, 1e-6);
  }
  render_header(out, "acct_log_batch_commits", "Commits per group-commit batch.", "histogram");
  for (const auto& [labels, s] : stats) {
    render_histogram_series(out, "acct_log_batch_commits", labels, s.batch_commits, 1.0);
  }
  render_header(out, "acct_log_healthy", "1 while the log accepts writes, 0 once poisoned.", "gauge");
  for (size_t i = 0; i < logs_.size(); ++i) {
    series("acct_log_healthy", stats[i].first, logs_[i]->health().is_ok() ? "1" : "0");
  }

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
    out += "# HELP " + g.name + " " + g.help + "\n# TYPE " + g.name + " " + g.type + "\n";
    for (const auto& [labels, value] : g.fn()) {
      char v[64];
      std::snprintf(v, sizeof v, "%.17g", value);
      out += g.name + (labels.empty() ? "" : "{" + labels + "}") + " " + v + "\n";
    }
  }
  return out;
}

}  // namespace accountable
