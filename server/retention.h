// The retention job (issue 22, item 4; docs/retention.md): a user deactivated
// more than 30 days ago (kRestoreWindowDays) is purged, as the operator
// principal, through the command pipeline (so the purge's effects run: the
// user's key is destroyed, the credential erased, the tokens revoked).
//
//  - Queue: the `directory` view's deactivated users, longest inactive first.
//    The view may lag; the engine decides on the log's state, so a user
//    restored since is refused (and skipped), never purged.
//  - Idempotent: the PurgeUser's command id is derived from the user id and
//    the deactivation time, so a run repeated after a crash or on another
//    node is answered from the first commit, not purged twice.
//  - Bounded: at most `max_per_run` purges per run; the rest wait for the next.
//  - Survives restarts: it keeps no state of its own; the log and the view are
//    its state.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <boost/json/value.hpp>

#include "app/command_pipeline.h"
#include "projections/directory_view.h"
#include "projections/view_set.h"

namespace accountable {

struct RetentionOptions {
  size_t max_per_run = 100;   // purges per run (and per shard)
  size_t scan_limit = 10'000;  // deactivated users read from the view per run
};

enum class RetentionOutcome : uint8_t {
  kPurged,      // committed by this run
  kAlreadyDone, // a repeat: answered from an earlier run's commit
  kWouldPurge,  // --dry-run: due, not purged
  kRefused,     // the engine refused (restored since, purged by hand...): the reason in `error`
  kFailed,      // an error that may pass (disk, not the leader): retried next run
};
std::string_view retention_outcome_name(RetentionOutcome o);  // "purged", "already_done", ...

struct RetentionItem {
  InactiveUser user;
  Timestamp due_at;  // deactivated_at + 30 days: purged from then on
};

struct RetentionResult {
  RetentionItem item;
  RetentionOutcome outcome = RetentionOutcome::kPurged;
  std::string error;  // kRefused and kFailed: the status, as text
};

struct RetentionReport {
  Timestamp at;
  bool dry_run = false;
  std::vector<RetentionResult> results;  // the due users this run handled, oldest first
  size_t due_left = 0;                   // due but beyond max_per_run: the next run's
  size_t waiting = 0;                    // deactivated, not yet due
  std::optional<Timestamp> next_due_at;  // the earliest not-yet-due user's
  size_t count(RetentionOutcome o) const;
};

// What a run would handle at `now`: the due users (oldest first) and those
// still in their restore window.
struct RetentionQueue {
  std::vector<RetentionItem> due;
  std::vector<RetentionItem> waiting;
  bool truncated = false;  // more deactivated users than scan_limit
};
Result<RetentionQueue> retention_queue(const ViewSet& views, Timestamp now, size_t scan_limit);

// PurgeUser's command id for a user deactivated at `at` (a UUID v4 layout of
// SHA-256("acct-retention", user, at)).
CommandId retention_command_id(const UserId& user, Timestamp deactivated_at);

// One run: purges up to max_per_run due users (none with dry_run).
Result<RetentionReport> run_retention(CommandPipeline& pipeline, const ViewSet& views, Timestamp now,
                                      const RetentionOptions& options, bool dry_run);

boost::json::value to_json(const RetentionReport& report);
boost::json::value to_json(const RetentionQueue& queue, Timestamp now);

// Totals since the process started, for /metrics.
struct RetentionTotals {
  std::atomic<uint64_t> runs{0};
  std::atomic<uint64_t> purged{0};
  std::atomic<uint64_t> refused{0};
  std::atomic<uint64_t> failed{0};
  std::atomic<uint64_t> due_left{0};  // after the last run
  std::atomic<int64_t> last_run_micros{0};
};

// `acct serve`'s scheduler: a run every `interval` (the first at start), per
// shard, only where `may_write(shard)` (a cluster node that leads the shard).
class RetentionScheduler {
 public:
  struct Shard {
    CommandPipeline* pipeline;
    const ViewSet* views;
  };
  RetentionScheduler(std::vector<Shard> shards, std::function<bool(uint32_t)> may_write, const Clock& clock,
                     std::chrono::seconds interval, RetentionOptions options);
  ~RetentionScheduler();  // stops and joins
  RetentionScheduler(const RetentionScheduler&) = delete;
  RetentionScheduler& operator=(const RetentionScheduler&) = delete;

  const RetentionTotals& totals() const { return totals_; }

 private:
  void loop();
  void run_once();

  std::vector<Shard> shards_;
  std::function<bool(uint32_t)> may_write_;
  const Clock& clock_;
  const std::chrono::seconds interval_;
  const RetentionOptions options_;
  RetentionTotals totals_;
  std::mutex mu_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace accountable
