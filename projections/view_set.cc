#include "projections/view_set.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <barrier>
#include <functional>
#include <limits>

#include "events/env.h"
#include "projections/reader_pool.h"
#include "projections/view_file.h"
#include "projections/view_registry.h"

namespace accountable {

namespace {

constexpr const char* kSqliteSidecars[] = {"-journal", "-wal", "-shm"};

Status remove_if_exists(Env* env, const std::string& path) {
  if (!env->file_exists(path)) return Status::ok();
  return env->remove_file(path);
}

// Removes a file and the journal files SQLite may have left beside it.
Status remove_with_sidecars(Env* env, const std::string& path) {
  ACCT_RETURN_IF_ERROR(remove_if_exists(env, path));
  for (const char* suffix : kSqliteSidecars) ACCT_RETURN_IF_ERROR(remove_if_exists(env, path + suffix));
  return Status::ok();
}

// Empties a kept vector of ViewEvents when a step returns: its events point
// into the step's batch, which goes then; the storage stays for the next one.
struct EmptiedAtReturn {
  std::vector<ViewEvent>& events;
  ~EmptiedAtReturn() { events.clear(); }
};

// Runs work(0) on this thread and work(1..threads-1) on helper threads, and joins them.
void in_parallel(size_t threads, const std::function<void(size_t worker)>& work) {
  std::vector<std::thread> helpers;
  for (size_t t = 1; t < threads; ++t) helpers.emplace_back(work, t);
  work(0);
  for (std::thread& h : helpers) h.join();
}

// Runs fn(i) for every i < n, in runs of consecutive indexes taken from `next`
// by each thread that calls it: neighbouring events share cache lines, which a
// stride (every other event to each thread) has both threads write.
template <class Fn>
void for_each_run(std::atomic<size_t>& next, size_t n, Fn fn) {
  constexpr size_t kRun = 256;
  for (size_t first = next.fetch_add(kRun); first < n; first = next.fetch_add(kRun)) {
    for (size_t i = first; i < std::min(n, first + kRun); ++i) fn(i);
  }
}

}  // namespace

// One named view: its files, its readers, and what other threads may observe.
struct ViewSet::Slot {
  Slot(ProjectionDefinition definition, const std::string& dir)
      : def(std::move(definition)),
        live_path(join_path(dir, def.name + ".db")),
        building_path(live_path + ".building"),
        readers(live_path) {}

  const ProjectionDefinition def;
  const std::string live_path;
  const std::string building_path;
  ReaderPool readers;

  // Guarded by step_mu_.
  std::unique_ptr<ViewFile> live;
  std::unique_ptr<ViewFile> building;
  std::atomic<bool> build_requested{false};  // written under step_mu_, read by status() too
  // The outcome of building->seal() when the runner sealed it ahead of the swap.
  std::optional<Status> sealed;

  // Read by any thread.
  std::atomic<uint64_t> position{0};
  std::atomic<bool> serving{false};
  std::atomic<bool> is_building{false};
  std::atomic<uint64_t> build_position{0};
  std::atomic<uint64_t> events_applied{0};
  std::atomic<uint64_t> events_built{0};
  std::atomic<uint64_t> batches{0};
  std::atomic<uint64_t> rebuilds{0};

  mutable std::mutex mu;  // guards the fields below
  std::string build_reason;
  Status live_error;
  uint64_t builds_started = 0;
  uint64_t builds_finished = 0;
  Status last_build;

  void request_build(std::string reason) {
    build_requested = true;
    std::lock_guard lock(mu);
    build_reason = std::move(reason);
  }
  Status error() const {
    std::lock_guard lock(mu);
    return live_error;
  }
};

ViewSet::ViewSet(std::string dir, const EventLog& log, PersonalDataCipher* cipher, ViewSetOptions options)
    : dir_(std::move(dir)), log_(log), cipher_(cipher), options_(std::move(options)) {}

ViewSet::~ViewSet() { stop().ignore(); }

Result<std::unique_ptr<ViewSet>> ViewSet::open(const std::string& data_dir, const EventLog& log,
                                               PersonalDataCipher* cipher, ViewSetOptions options) {
  Env* env = posix_env();
  const std::string dir = join_path(data_dir, "views");
  const bool existed = env->file_exists(dir);
  ACCT_RETURN_IF_ERROR(env->create_dir(data_dir));
  ACCT_RETURN_IF_ERROR(env->create_dir(dir));
  if (!existed) ACCT_RETURN_IF_ERROR(env->sync_dir(data_dir));
  if (options.views.empty()) options.views = builtin_projections();
  if (options.batch_events == 0) options.batch_events = 1;
  if (options.build_batch_events == 0) options.build_batch_events = options.batch_events;
  if (options.apply_threads == 0) options.apply_threads = std::max(1u, std::thread::hardware_concurrency());
  std::unique_ptr<ViewSet> set(new ViewSet(dir, log, cipher, std::move(options)));
  for (const ProjectionDefinition& def : set->options_.views) {
    if (set->find(def.name) != nullptr) return invalid_argument("view " + def.name + " is listed twice", "views");
    set->slots_.push_back(std::make_unique<Slot>(def, dir));
    ACCT_RETURN_IF_ERROR(set->open_slot(*set->slots_.back()));
  }
  return set;
}

bool ViewSet::matches_log(const std::string& position_hash, GlobalPosition position, std::string* why) const {
  if (position.value() == 0) return true;
  if (position > log_.head()) {
    *why = "the view is at position " + std::to_string(position.value()) + " but the log ends at " +
           std::to_string(log_.head().value());
    return false;
  }
  auto batch = log_.read_all(position, 1);
  if (!batch || batch->events.empty() || batch->events.front().position != position) {
    *why = "cannot read the view's last event (position " + std::to_string(position.value()) + ") from the log";
    return false;
  }
  const Hash256& h = batch->events.front().hash;
  if (hex_encode(h.data(), h.size()) != position_hash) {
    *why = "the log's event at position " + std::to_string(position.value()) + " is not the one the view applied";
    return false;
  }
  return true;
}

Status ViewSet::open_slot(Slot& slot) {
  Env* env = posix_env();
  // A build that did not finish is of no use: start over when asked.
  ACCT_RETURN_IF_ERROR(remove_with_sidecars(env, slot.building_path));
  if (!env->file_exists(slot.live_path)) {
    slot.request_build("new view");
    return Status::ok();
  }
  auto meta = ViewFile::read_meta(slot.live_path);
  std::string why;
  if (!meta) {
    slot.request_build("unreadable file: " + meta.status().message());
  } else if (meta->name != slot.def.name || meta->version != slot.def.version) {
    slot.request_build("version " + std::to_string(meta->version) + " -> " + std::to_string(slot.def.version));
  } else if (!matches_log(meta->head_hash_hex, meta->position, &why)) {
    slot.request_build(why);
  } else {
    auto live = ViewFile::open_live(slot.live_path, slot.def);
    if (!live) {
      slot.request_build("cannot open: " + live.status().message());
    } else {
      slot.live = std::move(*live);
      slot.position = slot.live->position().value();
      slot.serving = true;
      slot.readers.set_serving(true);
      return Status::ok();
    }
  }
  spdlog::info("view {}: rebuilding from position 0 ({}); queries answer not_yet until it is built", slot.def.name,
               [&] {
                 std::lock_guard lock(slot.mu);
                 return slot.build_reason;
               }());
  return Status::ok();
}

ViewSet::Slot* ViewSet::find(std::string_view name) const {
  for (const auto& s : slots_) {
    if (s->def.name == name) return s.get();
  }
  return nullptr;
}

Timestamp ViewSet::now() const {
  if (options_.clock) return options_.clock();
  return Timestamp{std::chrono::duration_cast<std::chrono::microseconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count()};
}

void ViewSet::notify_progress() const {
  { std::lock_guard lock(progress_mu_); }  // a waiter between its check and its sleep sees the change
  progress_cv_.notify_all();
}

// ---- the runner's work ----------------------------------------------------------

Status ViewSet::step_locked(bool* progressed) {
  // Events are decoded (personal data opened) on this thread, for every view.
  PersonalDataScope scope(cipher_);
  for (const auto& slot : slots_) {
    if (slot->build_requested && slot->building == nullptr) {
      *progressed = true;
      Status started = start_build_locked(*slot);
      if (!started.is_ok()) finish_build_locked(*slot, started);
    }
  }
  ACCT_RETURN_IF_ERROR(advance_building_locked(progressed));
  return advance_live_locked(progressed);
}

Status ViewSet::start_build_locked(Slot& slot) {
  slot.build_requested = false;
  {
    std::lock_guard lock(slot.mu);
    ++slot.builds_started;
  }
  ACCT_RETURN_IF_ERROR(remove_with_sidecars(posix_env(), slot.building_path));
  auto file = ViewFile::create_for_build(slot.building_path, slot.def, now(), options_.build_max_held_rows);
  if (!file) return file.status();
  slot.building = std::move(*file);
  slot.build_position = 0;
  slot.is_building = true;
  return Status::ok();
}

void ViewSet::finish_build_locked(Slot& slot, const Status& outcome) {
  if (!outcome.is_ok()) {
    spdlog::warn("view {}: rebuild failed: {}", slot.def.name, outcome.to_string());
    slot.building.reset();
    remove_with_sidecars(posix_env(), slot.building_path).ignore();
  }
  slot.is_building = false;
  std::lock_guard lock(slot.mu);
  ++slot.builds_finished;
  slot.last_build = outcome;
}

Status ViewSet::advance_building_locked(bool* progressed) {
  std::vector<Slot*> building;
  for (const auto& s : slots_) {
    if (s->building) building.push_back(s.get());
  }
  if (building.empty()) {
    build_subscription_.reset();
    std::vector<ViewEvent>().swap(build_events_);
    return Status::ok();
  }
  uint64_t min_position = std::numeric_limits<uint64_t>::max();
  for (Slot* s : building) min_position = std::min(min_position, s->building->position().value());
  const GlobalPosition from(min_position + 1);
  if (!build_subscription_ || build_subscription_->position() != from) {
    build_subscription_ = std::make_unique<Subscription>(log_, from, AllFilter{}, options_.build_batch_events);
  }
  auto batch = build_subscription_->next(std::chrono::milliseconds(0));
  if (!batch) return batch.status();
  // The events point into `batch`: emptied before it goes, their storage kept.
  std::vector<ViewEvent>& events = build_events_;
  events.clear();
  const EmptiedAtReturn empty_at_return{events};
  events.reserve(batch->events.size());
  for (const RecordedEvent& e : batch->events) events.emplace_back(e);
  if (!events.empty()) *progressed = true;
  std::vector<ViewFile*> files;
  for (Slot* s : building) files.push_back(s->building.get());
  auto results = apply_to(files, events);
  for (size_t i = 0; i < building.size(); ++i) {
    Slot* s = building[i];
    if (!results[i]) {
      finish_build_locked(*s, results[i].status());
      continue;
    }
    s->events_built += *results[i];
    s->build_position = s->building->position().value();
  }
  // An empty batch (or one that reached the durable head) means the builds are caught up.
  if (!events.empty() && !batch->end_of_log) return Status::ok();
  const GlobalPosition reached = build_subscription_->position().prev();
  std::vector<Slot*> done;
  for (Slot* s : building) {
    if (s->building && s->building->position() >= reached) done.push_back(s);
  }
  if (done.empty()) return Status::ok();
  *progressed = true;
  // Sealing (the rows kept in memory, the secondary indexes, COMMIT, fsync) is
  // each file's own work and most of the end of a build: on every thread,
  // longest first, by each seal's estimated time (the last batch's
  // cost says little: a view that holds its rows applies them cheaply and
  // writes them all here), then by the last batch's cost.
  std::stable_sort(done.begin(), done.end(), [](const Slot* a, const Slot* b) {
    const uint64_t ra = a->building->build_seal_nanos(), rb = b->building->build_seal_nanos();
    if (ra != rb) return ra > rb;
    return a->building->last_apply_seconds() > b->building->last_apply_seconds();
  });
  std::atomic<size_t> next{0};
  in_parallel(std::min(options_.apply_threads, done.size()), [&](size_t) {
    for (size_t k = next++; k < done.size(); k = next++) done[k]->sealed = done[k]->building->seal();
  });
  for (Slot* s : done) swap_in_locked(*s).ignore();  // the outcome is recorded as the build's
  return Status::ok();
}

Status ViewSet::swap_in_locked(Slot& slot) {
  Env* env = posix_env();
  Status sealed = slot.sealed ? *slot.sealed : slot.building->seal();
  slot.sealed.reset();
  if (!sealed.is_ok()) {
    finish_build_locked(slot, sealed);
    return sealed;
  }
  slot.building.reset();
  const bool had_live = slot.live != nullptr;
  Status outcome;
  Status served = slot.readers.exclusive([&]() -> Result<bool> {
    // No query runs and no reader connection is open now. Closing the writer,
    // the last connection, checkpoints the WAL and removes it.
    slot.live.reset();
    auto reopen_old = [&]() -> Result<bool> {
      if (!had_live) return false;
      auto old = ViewFile::open_live(slot.live_path, slot.def);
      if (!old) return old.status();
      slot.live = std::move(*old);
      return true;
    };
    if (env->file_exists(slot.live_path + "-wal")) {
      if (had_live) {
        // Someone else holds the file open: renaming over it would pair the
        // new file with a foreign WAL.
        outcome = Status(StatusCode::kBusy, slot.live_path + "-wal is still there after the last connection closed: "
                                                             "another process has the view open");
        return reopen_old();
      }
      // Left by a file nobody has open (a crash, or a file of another version).
      for (const char* suffix : {"-wal", "-shm"}) {
        if (Status removed = remove_if_exists(env, slot.live_path + suffix); !removed.is_ok()) {
          outcome = removed;
          return false;
        }
      }
    }
    outcome = env->rename_file(slot.building_path, slot.live_path);
    if (outcome.is_ok()) outcome = env->sync_dir(dir_);
    if (!outcome.is_ok()) return reopen_old();
    auto opened = ViewFile::open_live(slot.live_path, slot.def);
    if (!opened) {
      outcome = opened.status();
      return false;
    }
    slot.live = std::move(*opened);
    return true;
  });
  if (outcome.is_ok()) outcome = served;
  slot.serving = slot.readers.serving();
  if (slot.live) slot.position = slot.live->position().value();
  if (outcome.is_ok()) {
    ++slot.rebuilds;
    std::lock_guard lock(slot.mu);
    slot.live_error = Status::ok();
  } else {
    remove_with_sidecars(env, slot.building_path).ignore();
  }
  finish_build_locked(slot, outcome);
  notify_progress();
  if (outcome.is_ok()) {
    spdlog::info("view {}: rebuilt file swapped in at position {}", slot.def.name, slot.position.load());
  }
  return outcome;
}

Status ViewSet::advance_live_locked(bool* progressed) {
  std::vector<Slot*> live;
  for (const auto& s : slots_) {
    if (s->live && s->error().is_ok()) live.push_back(s.get());
  }
  if (live.empty()) {
    live_subscription_.reset();
    return Status::ok();
  }
  uint64_t min_position = std::numeric_limits<uint64_t>::max();
  for (Slot* s : live) min_position = std::min(min_position, s->live->position().value());
  const GlobalPosition from(min_position + 1);
  if (!live_subscription_ || live_subscription_->position() != from) {
    live_subscription_ = std::make_unique<Subscription>(log_, from, AllFilter{}, options_.batch_events);
  }
  auto batch = live_subscription_->next(std::chrono::milliseconds(0));
  if (!batch) return batch.status();
  if (batch->events.empty()) return Status::ok();
  *progressed = true;
  std::vector<ViewEvent>& events = live_events_;  // as in a build: storage kept, emptied at return
  events.clear();
  const EmptiedAtReturn empty_at_return{events};
  events.reserve(batch->events.size());
  bool purge = false;
  for (const RecordedEvent& e : batch->events) {
    events.emplace_back(e);
    purge = purge || e.type == UserPurged::kType;
  }
  std::vector<ViewFile*> files;
  for (Slot* s : live) files.push_back(s->live.get());
  auto results = apply_to(files, events);
  Status full_disk;
  for (size_t i = 0; i < live.size(); ++i) {
    Slot* s = live[i];
    auto& applied = results[i];
    if (!applied && applied.status().code() == StatusCode::kNoSpace) {
      // A full disk: the batch was rolled back, the view stays where it was
      // and is tried again after a poll interval, until there is space.
      full_disk = applied.status();
      continue;
    }
    if (!applied) {
      spdlog::error("view {} stopped: {}", s->def.name, applied.status().to_string());
      std::lock_guard lock(s->mu);
      s->live_error = applied.status();
      continue;
    }
    if (*applied == 0) continue;
    s->events_applied += *applied;
    ++s->batches;
    s->position = s->live->position().value();
    // Old page images with the purged user's personal data must not stay in the WAL.
    if (purge) s->live->truncate_wal();
  }
  notify_progress();
  if (!full_disk.is_ok()) {
    live_subscription_.reset();  // the next step reads again from the view that is behind
    return full_disk;
  }
  return Status::ok();
}

std::vector<Result<uint64_t>> ViewSet::apply_to(const std::vector<ViewFile*>& files, std::vector<ViewEvent>& events) {
  constexpr size_t kMinParallelEvents = 256;  // below this a thread costs more than it saves
  const size_t threads = std::min(options_.apply_threads, files.size());
  std::vector<Result<uint64_t>> results(files.size(), Result<uint64_t>(uint64_t{0}));
  if (threads <= 1 || events.size() < kMinParallelEvents) {
    // One thread: each view decodes what it needs, on this thread (scope installed by step_locked).
    for (size_t i = 0; i < files.size(); ++i) results[i] = files[i]->apply(events);
    return results;
  }
  // Decode every event once, in runs of consecutive events taken in turn, each
  // thread with the cipher installed; afterwards decoded() only reads, so the
  // views can share the batch.
  std::atomic<size_t> next_run{0};
  in_parallel(threads, [&](size_t) {
    PersonalDataScope scope(cipher_);
    for_each_run(next_run, events.size(), [&](size_t i) { events[i].decoded().status().ignore(); });
  });
  // Longest first, by each file's cost in its last batch (a view's share of a
  // batch changes little from one to the next), so that the last file to
  // start is a short one and the threads finish together. Ties (the first
  // batch): from the end, as the audit view, last of the built-in ones, used to cost most.
  std::vector<size_t> order(files.size());
  for (size_t k = 0; k < order.size(); ++k) order[k] = files.size() - 1 - k;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return files[a]->last_apply_seconds() > files[b]->last_apply_seconds();
  });
  std::atomic<size_t> next{0};
  std::barrier next_free(static_cast<std::ptrdiff_t>(threads));  // no view reads the batch any more
  std::atomic<size_t> next_forget{0};
  in_parallel(threads, [&](size_t) {
    for (size_t k = next++; k < files.size(); k = next++) results[order[k]] = files[order[k]]->apply(events);
    // Then the threads free the decoded events: a build's batch holds 65536,
    // and freeing them on the runner alone was serial work.
    next_free.arrive_and_wait();
    for_each_run(next_forget, events.size(), [&](size_t i) { events[i].forget_decoded(); });
  });
  return results;
}

// ---- public API -------------------------------------------------------------------

Status ViewSet::catch_up() {
  const GlobalPosition target = log_.head();
  std::vector<uint64_t> finished_before;
  for (const auto& s : slots_) {
    std::lock_guard lock(s->mu);
    finished_before.push_back(s->builds_finished);
  }
  int idle_steps = 0;
  while (true) {
    std::lock_guard lock(step_mu_);
    bool settled = true;
    for (const auto& s : slots_) {
      const bool building = s->build_requested || s->building != nullptr;
      const bool live_behind = s->live && s->error().is_ok() && s->live->position() < target;
      settled = settled && !building && !live_behind;
    }
    if (settled) break;
    bool progressed = false;
    ACCT_RETURN_IF_ERROR(step_locked(&progressed));
    idle_steps = progressed ? 0 : idle_steps + 1;
    if (idle_steps > 3) return Status(StatusCode::kInternal, "catch_up made no progress towards the head");
  }
  for (size_t i = 0; i < slots_.size(); ++i) {
    const Slot& s = *slots_[i];
    Status e = s.error();
    if (!e.is_ok()) return e;
    std::lock_guard lock(s.mu);
    if (s.builds_finished != finished_before[i] && !s.last_build.is_ok()) return s.last_build;
  }
  return Status::ok();
}

Status ViewSet::rebuild(std::string_view name) {
  Slot* slot = find(name);
  if (slot == nullptr) return not_found("no view named " + std::string(name), "view");
  uint64_t ticket = 0;
  {
    std::lock_guard lock(step_mu_);
    std::lock_guard slot_lock(slot->mu);
    if (slot->building || slot->build_requested) {
      // A build from position 0 with this code is already under way: it is the same build.
      ticket = slot->builds_started + (slot->building ? 0 : 1);
    } else {
      slot->build_requested = true;
      slot->build_reason = "requested";
      ticket = slot->builds_started + 1;
    }
  }
  while (true) {
    std::lock_guard lock(step_mu_);
    {
      std::lock_guard slot_lock(slot->mu);
      if (slot->builds_finished >= ticket) return slot->last_build;
    }
    bool progressed = false;
    ACCT_RETURN_IF_ERROR(step_locked(&progressed));
  }
}

Status ViewSet::wait_for(std::string_view name, GlobalPosition position,
                         std::chrono::steady_clock::time_point deadline) const {
  Slot* slot = find(name);
  if (slot == nullptr) return not_found("no view named " + std::string(name), "view");
  std::unique_lock lock(progress_mu_);
  const bool reached = progress_cv_.wait_until(
      lock, deadline, [&] { return slot->serving.load() && slot->position.load() >= position.value(); });
  if (reached) return Status::ok();
  const std::string asked = ", asked for " + std::to_string(position.value());
  if (!slot->serving) {
    return Status(StatusCode::kNotYet, "view " + slot->def.name + " is being built (at position " +
                                           std::to_string(slot->build_position.load()) + " of " +
                                           std::to_string(log_.head().value()) + ")" + asked);
  }
  return Status(StatusCode::kNotYet,
                "view " + slot->def.name + " is at position " + std::to_string(slot->position.load()) + asked);
}

Status ViewSet::read(std::string_view name, const std::function<Status(Db&)>& query) const {
  Slot* slot = find(name);
  if (slot == nullptr) return not_found("no view named " + std::string(name), "view");
  Status s = slot->readers.read(query);
  if (s.code() == StatusCode::kNotYet && !slot->serving) {
    return Status(StatusCode::kNotYet, "view " + slot->def.name + " is being built (at position " +
                                           std::to_string(slot->build_position.load()) + " of " +
                                           std::to_string(log_.head().value()) + ")");
  }
  return s;
}

Result<ViewStatus> ViewSet::status(std::string_view name) const {
  Slot* slot = find(name);
  if (slot == nullptr) return not_found("no view named " + std::string(name), "view");
  ViewStatus v;
  v.name = slot->def.name;
  v.version = slot->def.version;
  v.serving = slot->serving;
  v.position = GlobalPosition(slot->position);
  v.head = log_.head();
  v.lag = v.head.value() > v.position.value() ? v.head.value() - v.position.value() : 0;
  v.building = slot->is_building;
  v.build_position = GlobalPosition(slot->build_position);
  v.events_applied = slot->events_applied;
  v.events_built = slot->events_built;
  v.batches = slot->batches;
  v.rebuilds = slot->rebuilds;
  v.generation = slot->readers.generation();
  std::lock_guard lock(slot->mu);
  v.building = v.building || slot->build_requested;
  v.build_reason = slot->build_reason;
  v.error = slot->live_error;
  return v;
}

std::vector<ViewStatus> ViewSet::lag() const {
  std::vector<ViewStatus> out;
  for (const auto& s : slots_) out.push_back(status(s->def.name).value());
  return out;
}

std::vector<std::string> ViewSet::names() const {
  std::vector<std::string> out;
  for (const auto& s : slots_) out.push_back(s->def.name);
  return out;
}

Result<std::string> ViewSet::dump(std::string_view name) const {
  std::string out;
  Status s = read(name, [&](Db& db) -> Status {
    auto tables = db.prepare("SELECT name, sql LIKE 'CREATE VIRTUAL TABLE%' FROM sqlite_schema "
                             "WHERE type = 'table' ORDER BY name");
    if (!tables) return tables.status();
    std::vector<std::string> names;
    std::vector<std::string> derived;  // FTS5's index tables
    while (true) {
      auto row = (*tables)->step();
      if (!row) return row.status();
      if (!*row) break;
      names.push_back((*tables)->column_text(0));
      // An FTS5 table's segments depend on how its rows arrived (the batches),
      // not on what they are: its rows are dumped through the table itself.
      if ((*tables)->column_int(1) != 0) {
        for (const char* suffix : {"_data", "_idx", "_docsize", "_config"}) derived.push_back(names.back() + suffix);
      }
    }
    std::erase_if(names, [&](const std::string& n) {
      return std::find(derived.begin(), derived.end(), n) != derived.end();
    });
    for (const std::string& table : names) {
      // built_at says when the file was made, not what it holds.
      const std::string columns =
          table == "view_meta" ? "name, version, position, head_hash_hex" : std::string("*");
      auto count = db.prepare("SELECT " + columns + " FROM \"" + table + "\" LIMIT 0");
      if (!count) return count.status();
      std::string order;
      for (int i = 1; i <= (*count)->column_count(); ++i) {
        if (i > 1) order += ", ";
        order += std::to_string(i);
      }
      auto rows = db.prepare("SELECT " + columns + " FROM \"" + table + "\" ORDER BY " + order);
      if (!rows) return rows.status();
      out += "table " + table + "\n";
      while (true) {
        auto row = (*rows)->step();
        if (!row) return row.status();
        if (!*row) break;
        for (int i = 0; i < (*rows)->column_count(); ++i) {
          if (i > 0) out += '|';
          out += (*rows)->column_literal(i);
        }
        out += "\n";
      }
    }
    return Status::ok();
  });
  if (!s.is_ok()) return s;
  return out;
}

// ---- the runner thread ----------------------------------------------------------

void ViewSet::run() {
  while (!stop_requested_.load()) {
    bool progressed = false;
    Status s;
    {
      std::lock_guard lock(step_mu_);
      s = step_locked(&progressed);
    }
    {
      std::lock_guard lock(thread_mu_);
      // Say it once per distinct error, not once per poll.
      if (!s.is_ok() && s.to_string() != runner_error_.to_string()) {
        spdlog::warn("view runner: {} (retrying)", s.to_string());
      }
      runner_error_ = s;
    }
    if (!progressed || !s.is_ok()) {
      // Sleep until the next commit, at most one poll interval.
      const bool committed =
          log_.wait_for(GlobalPosition(log_.head().value() + 1), std::chrono::steady_clock::now() + options_.poll);
      if (!committed || !s.is_ok()) continue;
    }
    if (const std::optional<GlobalPosition> until = gather_until()) {
      // In slices of at most one poll interval, so that stop() stays prompt.
      const auto deadline = std::chrono::steady_clock::now() + options_.live_gather;
      for (auto now = std::chrono::steady_clock::now(); now < deadline && !stop_requested_.load();
           now = std::chrono::steady_clock::now()) {
        if (log_.wait_for(*until, std::min<std::chrono::steady_clock::time_point>(deadline, now + options_.poll))) break;
      }
    }
  }
}

std::optional<GlobalPosition> ViewSet::gather_until() const {
  if (options_.live_gather.count() == 0) return std::nullopt;
  uint64_t behind = std::numeric_limits<uint64_t>::max();  // the live files' lowest position
  for (const auto& slot : slots_) {
    if (slot->is_building.load() || slot->build_requested.load()) return std::nullopt;
    // A view stopped by an error stays behind for good: it must not set the pace.
    if (slot->serving.load() && slot->error().is_ok()) behind = std::min(behind, slot->position.load());
  }
  // Catching up (a whole batch already waiting) or nothing live: no reason to wait.
  if (behind == std::numeric_limits<uint64_t>::max() || behind + options_.batch_events <= log_.head().value()) {
    return std::nullopt;
  }
  return GlobalPosition(behind + options_.batch_events);
}

Status ViewSet::start() {
  std::lock_guard lock(thread_mu_);
  if (runner_.joinable()) return Status::ok();
  stop_requested_ = false;
  runner_error_ = Status::ok();
  runner_ = std::thread([this] { run(); });
  return Status::ok();
}

Status ViewSet::stop() {
  std::thread runner;
  {
    std::lock_guard lock(thread_mu_);
    if (!runner_.joinable()) return runner_error_;
    stop_requested_ = true;
    runner = std::move(runner_);
  }
  runner.join();
  std::lock_guard lock(thread_mu_);
  return runner_error_;
}

bool ViewSet::running() const {
  std::lock_guard lock(thread_mu_);
  return runner_.joinable();
}

}  // namespace accountable
