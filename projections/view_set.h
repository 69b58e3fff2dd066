// ViewSet: the read views of one data folder, their runner, and the entry
// point for queries (docs/views.md).
//
//   DATA/views/<name>.db            the live file of each view (WAL mode)
//   DATA/views/<name>.db.building   a rebuild in progress (deleted at open)
//
// The runner (one thread for all views) follows $all through a Subscription
// and applies each batch to every live view in one transaction per view,
// checkpoint included. Rebuilds (blue/green) build a fresh file from position
// 0 next to the live one, interleaved with the live batches so that the live
// views keep up; once the new file reaches the head it is sealed and renamed
// over the live one while no query runs (ReaderPool::exclusive), then it goes
// on live. A view whose stored version differs from the code's, whose file is
// missing or unreadable, or whose last event is not in the log (the log was
// cut back or replaced) is rebuilt the same way on its own; until then its
// queries answer kNotYet.
//
// All work happens in step(): the runner thread calls it in a loop, and so do
// catch_up() and rebuild() on the caller's thread (one step at a time), so
// the same code serves the server (start()) and the CLI (no thread).
//
// Thread-safe: every public method may be called from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "events/event_log.h"
#include "events/subscription.h"
#include "projections/projection.h"
#include "schema/personal_data.h"

namespace accountable {

class ViewFile;

struct ViewSetOptions {
  // Events per live batch: one transaction per view per batch.
  size_t batch_events = 4096;
  // Events per batch of a (re)build: larger, since a building file has no
  // readers and no journal, and each batch rewrites the B-trees' hot pages.
  size_t build_batch_events = 65536;
  // Rows a build's view may hold in memory before it writes them
  // (kMaxRowsHeldByABuild); a build of a larger log writes them several times.
  size_t build_max_held_rows = kMaxRowsHeldByABuild;
  // Threads that decode a batch and apply it to the views (one view per
  // thread at a time); 0: one per core, at most one per view. Small batches
  // (live, a few events) stay on the runner's thread.
  size_t apply_threads = 0;
  // How long the idle runner waits for a new commit before it looks at its
  // stop flag again: bounds stop()'s join, with one batch.
  std::chrono::milliseconds poll{50};
  // Once commits are coming, how long the runner lets more of them land
  // before it applies (or until batch_events are waiting): under load, one
  // transaction per view then serves many commits instead of one log batch
  // (7 views x BEGIN/COMMIT per batch cost ~12% of a busy server's CPU).
  // The views' lag behind the log grows by as much; a read with min_position
  // waits for it. 0 (the default): apply each commit as soon as it is seen.
  // Off by default: clients that read right after a command without
  // min_position (the console's own tests did) see the older state more
  // often; 2 ms gave the fourth round's HTTP figures. Builds never wait.
  // `acct serve --views-gather-us` sets it.
  std::chrono::microseconds live_gather{0};
  // Which views; empty: every built-in one (builtin_projections()).
  std::vector<ProjectionDefinition> views;
  // The built_at stamp of new files; null: the system clock.
  std::function<Timestamp()> clock;
};

struct ViewStatus {
  std::string name;
  int version = 0;
  bool serving = false;        // queries are answered from a live file
  GlobalPosition position;     // of the live file: the last event applied
  GlobalPosition head;         // of the log, when asked
  uint64_t lag = 0;            // head - position
  bool building = false;       // a rebuild is in progress
  GlobalPosition build_position;
  std::string build_reason;    // why it is (re)built: "requested", "version 1 -> 2", "new view", ...
  uint64_t events_applied = 0; // handed to the live files' projections by this process
  uint64_t events_built = 0;   // handed to building files by this process
  uint64_t batches = 0;        // live transactions committed by this process
  uint64_t rebuilds = 0;       // files swapped in by this process
  uint64_t generation = 0;     // bumped at each swap; readers reopen
  Status error;                // the live file stopped on this error (a rebuild clears it)
};

class ViewSet {
 public:
  // Opens (or creates) DATA/views and each view's file. `log` and `cipher`
  // must outlive the set; `cipher` opens the personal data of events (null:
  // only events without sealed personal data can be read).
  static Result<std::unique_ptr<ViewSet>> open(const std::string& data_dir, const EventLog& log,
                                               PersonalDataCipher* cipher, ViewSetOptions options = {});
  ~ViewSet();  // stops the runner, closes every file
  ViewSet(const ViewSet&) = delete;
  ViewSet& operator=(const ViewSet&) = delete;

  // Starts the runner thread: catch-up, then live. Idempotent.
  Status start();
  // Asks the runner to stop and joins it: at most one batch and one poll
  // interval later. Idempotent. Returns the error the runner stopped on, if any.
  Status stop();
  bool running() const;

  // Applies everything up to the log's head as of the call, including any
  // pending (re)build, on the caller's thread. The first error, if any.
  Status catch_up();

  // Rebuilds `name` from position 0 beside the live file and swaps it in;
  // returns once the new file is live (the old one serves until then).
  Status rebuild(std::string_view name);

  // Read-your-writes: waits until view `name` is live at `position` or
  // later, or until `deadline`: then kNotYet ("view X is at position A,
  // asked for B").
  Status wait_for(std::string_view name, GlobalPosition position,
                  std::chrono::steady_clock::time_point deadline) const;

  // Runs `query` in a read transaction of the view's live file. kNotYet while
  // the view is being built; kNotFound for an unknown view.
  Status read(std::string_view name, const std::function<Status(Db&)>& query) const;

  std::vector<ViewStatus> lag() const;
  Result<ViewStatus> status(std::string_view name) const;
  std::vector<std::string> names() const;

  // Every table of the view's live file, rows sorted, as text (view_meta's
  // built_at and FTS5's segment tables left out): two files with the same
  // content dump the same.
  Result<std::string> dump(std::string_view name) const;

  PersonalDataCipher* cipher() const { return cipher_; }
  const EventLog& log() const { return log_; }
  const std::string& dir() const { return dir_; }

 private:
  struct Slot;
  ViewSet(std::string dir, const EventLog& log, PersonalDataCipher* cipher, ViewSetOptions options);

  Status open_slot(Slot& slot);
  // Is the file's checkpoint an event of this log?
  bool matches_log(const std::string& position_hash, GlobalPosition position, std::string* why) const;

  // One unit of work under step_mu_: start requested builds, one batch for the
  // building files, one for the live files, swap in the builds that reached
  // the head. Sets *progressed when it did anything.
  Status step_locked(bool* progressed);
  Status start_build_locked(Slot& slot);
  Status advance_building_locked(bool* progressed);
  Status advance_live_locked(bool* progressed);
  Status swap_in_locked(Slot& slot);
  // Applies `events` to every file, decoding them first; in parallel when
  // there are several files and enough events. One result per file.
  std::vector<Result<uint64_t>> apply_to(const std::vector<ViewFile*>& files, std::vector<ViewEvent>& events);
  void finish_build_locked(Slot& slot, const Status& outcome);
  void notify_progress() const;
  Slot* find(std::string_view name) const;
  Timestamp now() const;
  // Where the live runner waits for the log to reach, at most live_gather,
  // before its next step: a whole batch past the live files. None while a
  // build is requested or under way, while a batch is already waiting, or
  // with live_gather 0.
  std::optional<GlobalPosition> gather_until() const;
  void run();

  const std::string dir_;
  const EventLog& log_;
  PersonalDataCipher* const cipher_;
  const ViewSetOptions options_;
  std::vector<std::unique_ptr<Slot>> slots_;

  // The runner's work: held by whoever steps.
  std::mutex step_mu_;
  std::unique_ptr<Subscription> live_subscription_;
  std::unique_ptr<Subscription> build_subscription_;
  // A build's batch, kept between batches (each event decodes in place: see
  // ViewEvent) and freed when no build runs. Empty outside a step.
  std::vector<ViewEvent> build_events_;
  // The live batch, likewise: at most batch_events of about 1 KiB each.
  std::vector<ViewEvent> live_events_;

  // wait_for() sleeps here; notified after every commit and swap.
  mutable std::mutex progress_mu_;
  mutable std::condition_variable progress_cv_;

  mutable std::mutex thread_mu_;
  std::thread runner_;
  std::atomic<bool> stop_requested_{false};
  Status runner_error_;
};

}  // namespace accountable
