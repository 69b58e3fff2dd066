#include "server/retention.h"

#include <spdlog/spdlog.h>

#include <boost/json.hpp>

#include "aggregates/user.h"
#include "events/sha256.h"

namespace accountable {

namespace json = boost::json;

std::string_view retention_outcome_name(RetentionOutcome o) {
  switch (o) {
    case RetentionOutcome::kPurged: return "purged";
    case RetentionOutcome::kAlreadyDone: return "already_done";
    case RetentionOutcome::kWouldPurge: return "would_purge";
    case RetentionOutcome::kRefused: return "refused";
    case RetentionOutcome::kFailed: return "failed";
  }
  return "unknown";
}

size_t RetentionReport::count(RetentionOutcome o) const {
  size_t n = 0;
  for (const RetentionResult& r : results) n += r.outcome == o ? 1 : 0;
  return n;
}

Result<RetentionQueue> retention_queue(const ViewSet& views, Timestamp now, size_t scan_limit) {
  std::optional<std::vector<InactiveUser>> inactive;
  // One row more than the limit tells whether the scan was cut.
  ACCT_RETURN_IF_ERROR(views.read(DirectoryView::kName, [&](Db& db) -> Status {
    auto rows = DirectoryView::inactive(db, scan_limit + 1);
    if (!rows) return rows.status();
    inactive = std::move(*rows);
    return Status::ok();
  }));
  RetentionQueue q;
  q.truncated = inactive->size() > scan_limit;
  if (q.truncated) inactive->resize(scan_limit);
  for (const InactiveUser& u : *inactive) {
    RetentionItem item{u, plus_days(u.deactivated_at, kRestoreWindowDays)};
    // PurgeUser's rule: after the window, i.e. now > deactivated_at + 30 days.
    (now > item.due_at ? q.due : q.waiting).push_back(item);
  }
  return q;
}

CommandId retention_command_id(const UserId& user, Timestamp deactivated_at) {
  const std::string seed = "acct-retention\n" + user.to_string() + "\n" + std::to_string(deactivated_at.micros);
  const Hash256 digest = sha256(seed);
  CommandId::Bytes b{};
  std::copy_n(digest.begin(), b.size(), b.begin());
  b[6] = static_cast<unsigned char>((b[6] & 0x0f) | 0x40);  // version 4 layout
  b[8] = static_cast<unsigned char>((b[8] & 0x3f) | 0x80);  // RFC 4122 variant
  return CommandId(b);
}

namespace {

// A refusal the next run would meet again (the user was restored, purged by
// hand, ...), as opposed to one that may pass (a full disk, not the leader).
bool is_permanent(StatusCode c) {
  switch (c) {
    case StatusCode::kInvalidArgument:
    case StatusCode::kNotFound:
    case StatusCode::kAlreadyExists:
    case StatusCode::kConflict:
    case StatusCode::kForbidden:
    case StatusCode::kRuleViolated:
      return true;
    default:
      return false;
  }
}

}  // namespace

Result<RetentionReport> run_retention(CommandPipeline& pipeline, const ViewSet& views, Timestamp now,
                                      const RetentionOptions& options, bool dry_run) {
  auto queue = retention_queue(views, now, options.scan_limit);
  if (!queue) return queue.status();
  RetentionReport report;
  report.at = now;
  report.dry_run = dry_run;
  report.waiting = queue->waiting.size();
  if (!queue->waiting.empty()) report.next_due_at = queue->waiting.front().due_at;
  const Principal op = Operator{"retention"};
  for (const RetentionItem& item : queue->due) {
    if (report.results.size() == options.max_per_run) {
      ++report.due_left;
      continue;
    }
    RetentionResult r{item, RetentionOutcome::kWouldPurge, {}};
    if (!dry_run) {
      ParsedCommand parsed;
      parsed.command_id = retention_command_id(item.user.user_id, item.user.deactivated_at);
      parsed.command = PurgeUser{item.user.partner_id, item.user.user_id};
      auto reply = pipeline.run(op, std::move(parsed));
      if (reply) {
        r.outcome = reply->outcome.duplicate ? RetentionOutcome::kAlreadyDone : RetentionOutcome::kPurged;
        if (!reply->failure.is_ok()) r.error = reply->failure.to_string();  // committed; an effect failed
      } else {
        r.outcome = is_permanent(reply.status().code()) ? RetentionOutcome::kRefused : RetentionOutcome::kFailed;
        r.error = reply.status().to_string();
      }
    }
    report.results.push_back(std::move(r));
  }
  return report;
}

namespace {

json::object item_json(const RetentionItem& item) {
  return json::object{{"partner_id", item.user.partner_id.to_string()},
                      {"user_id", item.user.user_id.to_string()},
                      {"deactivated_at", format_timestamp(item.user.deactivated_at)},
                      {"due_at", format_timestamp(item.due_at)}};
}

}  // namespace

json::value to_json(const RetentionReport& report) {
  json::array results;
  for (const RetentionResult& r : report.results) {
    json::object o = item_json(r.item);
    o["outcome"] = retention_outcome_name(r.outcome);
    if (!r.error.empty()) o["error"] = r.error;
    results.push_back(std::move(o));
  }
  json::value next = nullptr;
  if (report.next_due_at) next = json::value(format_timestamp(*report.next_due_at));
  return json::object{{"at", format_timestamp(report.at)},
                      {"dry_run", report.dry_run},
                      {"purged", report.count(RetentionOutcome::kPurged)},
                      {"already_done", report.count(RetentionOutcome::kAlreadyDone)},
                      {"refused", report.count(RetentionOutcome::kRefused)},
                      {"failed", report.count(RetentionOutcome::kFailed)},
                      {"due_left", report.due_left},
                      {"waiting", report.waiting},
                      {"next_due_at", std::move(next)},
                      {"results", std::move(results)}};
}

json::value to_json(const RetentionQueue& queue, Timestamp now) {
  json::array due, waiting;
  for (const RetentionItem& i : queue.due) due.push_back(item_json(i));
  for (const RetentionItem& i : queue.waiting) waiting.push_back(item_json(i));
  return json::object{{"now", format_timestamp(now)},
                      {"restore_window_days", kRestoreWindowDays},
                      {"due", std::move(due)},
                      {"waiting", std::move(waiting)},
                      {"truncated", queue.truncated}};
}

RetentionScheduler::RetentionScheduler(std::vector<Shard> shards, std::function<bool(uint32_t)> may_write,
                                       const Clock& clock, std::chrono::seconds interval, RetentionOptions options)
    : shards_(std::move(shards)),
      may_write_(std::move(may_write)),
      clock_(clock),
      interval_(interval),
      options_(options),
      thread_([this] { loop(); }) {}

RetentionScheduler::~RetentionScheduler() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

void RetentionScheduler::loop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    lock.unlock();
    run_once();
    lock.lock();
    wake_.wait_for(lock, interval_, [this] { return stopping_; });
  }
}

void RetentionScheduler::run_once() {
  for (uint32_t s = 0; s < shards_.size(); ++s) {
    if (may_write_ && !may_write_(s)) continue;  // the shard's leader runs it
    auto report = run_retention(*shards_[s].pipeline, *shards_[s].views, clock_.now(), options_, false);
    if (!report) {
      spdlog::warn("retention: shard {}: {}", s, report.status().to_string());
      totals_.failed += 1;
      continue;
    }
    totals_.purged += report->count(RetentionOutcome::kPurged);
    totals_.refused += report->count(RetentionOutcome::kRefused);
    totals_.failed += report->count(RetentionOutcome::kFailed);
    totals_.due_left = report->due_left;
    for (const RetentionResult& r : report->results) {
      // Ids only: the purged user's personal data is gone, and logs never hold it.
      if (r.outcome == RetentionOutcome::kPurged) {
        spdlog::info("retention: purged user {} of partner {} (deactivated {})", r.item.user.user_id.to_string(),
                     r.item.user.partner_id.to_string(), format_timestamp(r.item.user.deactivated_at));
      } else if (r.outcome != RetentionOutcome::kAlreadyDone) {
        spdlog::warn("retention: user {} of partner {}: {}: {}", r.item.user.user_id.to_string(),
                     r.item.user.partner_id.to_string(), retention_outcome_name(r.outcome), r.error);
      }
    }
  }
  totals_.runs += 1;
  totals_.last_run_micros = clock_.now().micros;
}

}  // namespace accountable
