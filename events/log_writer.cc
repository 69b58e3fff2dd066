// EventLog's write path: the bounded commit queue and the single writer thread
// that group-commits (one write + one fdatasync per batch). See
// docs/log-format.md, "Writes and durability".
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <optional>
#include <unordered_map>

#include "events/coding.h"
#include "events/event_log.h"
#include "events/futex.h"
#include "events/log_format.h"
#include "events/log_scanner.h"
#include "events/preallocated_file.h"
#include "events/record_codec.h"

namespace accountable {

using namespace log_format;

namespace {

Timestamp system_now() {
  using namespace std::chrono;
  return Timestamp{duration_cast<microseconds>(system_clock::now().time_since_epoch()).count()};
}

Status closing_error() { return Status(StatusCode::kBusy, "the log is closing"); }

// Zero-filled space kept ahead of the writer: an fdatasync after an append
// into it writes no inode and no journal commit (on ext4 here, about 1.5x
// the fdatasync rate of a growing file; `acct bench disk` measures both).
// Each fill goes as far ahead as the segment already holds, from 64 KiB to
// 8 MiB: a small log stays small (and a nearly full disk is reached soon), a
// busy one pays one write and one extra fdatasync per 8 MiB.
constexpr uint64_t kMinPreallocateBytes = 64u << 10;
constexpr uint64_t kMaxPreallocateBytes = 8u << 20;

// A sealed segment keeps no zero tail: it ends at its last commit, as the
// index checkpoint records it. Cut and made durable before the next segment
// exists, so only the last segment can ever end in zeros.
Status cut_zero_tail(WritableFile* file) {
  auto* preallocating = dynamic_cast<PreallocatingFile*>(file);
  if (preallocating == nullptr || preallocating->allocated() == file->size()) return Status::ok();
  ACCT_RETURN_IF_ERROR(file->truncate(file->size()));
  return file->sync();
}

}  // namespace

void EventLog::PendingCommit::refuse(const Status& why) {
  if (link) link->state.store(CommitLink::kNotWritten, std::memory_order_release);
  done(why);
}

std::optional<EventLog::PendingCommit> EventLog::prepare(CommitRequest request, AppendCallback& done) {
  Status refused = record_codec::validate(request);
  if (refused.is_ok()) refused = health();
  if (!refused.is_ok()) {
    if (request.link) request.link->state.store(CommitLink::kNotWritten, std::memory_order_release);
    done(refused);
    return std::nullopt;
  }
  if (!request.command_digest) request.command_digest = record_codec::derive_command_digest(request);

  PendingCommit pc;
  record_codec::encode_commit_template(request, &pc.frame);
  pc.command_id = request.command_id;
  pc.digest = *request.command_digest;
  pc.streams.reserve(request.streams.size());
  for (StreamAppend& s : request.streams) {
    pc.streams.push_back({std::move(s.stream), s.expected, static_cast<uint32_t>(s.events.size())});
  }
  pc.link = std::move(request.link);
  pc.after = std::move(request.after);
  pc.done = std::move(done);
  return pc;
}

void EventLog::append_async(CommitRequest request, AppendCallback done) {
  std::optional<PendingCommit> prepared = prepare(std::move(request), done);
  if (!prepared) return;
  enqueue(std::move(*prepared));
}

void EventLog::enqueue(PendingCommit pc) {
  std::unique_lock lock(queue_mu_);
  const bool room = queue_not_full_.wait_for(lock, options_.queue_wait, [&] {
    return stopping_ || queue_.size() < options_.max_queued_commits;
  });
  if (stopping_) {
    lock.unlock();
    return pc.refuse(closing_error());
  }
  if (!room) {
    lock.unlock();
    return pc.refuse(Status(StatusCode::kBusy, "the commit queue is full (" +
                                                 std::to_string(options_.max_queued_commits) +
                                                 " commits waiting); retry later"));
  }
  queue_.push_back(std::move(pc));
  // Wake the writer only when it has something to act on: a batch to start,
  // or the number of commits it is gathering for.
  const bool wake = queue_.size() >= gather_target_;
  lock.unlock();
  if (wake) queue_not_empty_.notify_one();
}

Result<std::optional<CommitResult>> EventLog::find_command(const CommandId& command_id,
                                                          const std::array<unsigned char, 16>& digest) const {
  std::shared_lock lock(index_mu_);
  bool found = false;
  auto result = lookup_committed(command_id, &digest, &found);
  if (!found) return std::optional<CommitResult>();
  if (!result) return result.status();
  return std::optional<CommitResult>(std::move(result).value());
}

Result<CommitResult> EventLog::append(CommitRequest request) {
  // Synchronous appenders sleep on one shared generation counter that the
  // writer bumps once per batch: one wake-up call for a whole batch of
  // appenders, instead of one per appender.
  struct Waiter {
    std::atomic<bool> done{false};
    std::optional<Result<CommitResult>> result;
  } waiter;
  AppendCallback done = [&waiter](Result<CommitResult> r) {
    waiter.result.emplace(std::move(r));
    waiter.done.store(true, std::memory_order_release);
  };
  std::optional<PendingCommit> prepared = prepare(std::move(request), done);
  if (!prepared) return std::move(*waiter.result);
  if (try_write_alone(*prepared)) return std::move(*waiter.result);
  enqueue(std::move(*prepared));
  while (!waiter.done.load(std::memory_order_acquire)) {
    const uint32_t seen = completions_.load(std::memory_order_acquire);
    if (waiter.done.load(std::memory_order_acquire)) break;
    futex_wait(completions_, seen);
  }
  return std::move(*waiter.result);
}

bool EventLog::try_write_alone(PendingCommit& pc) {
  {
    std::lock_guard lock(queue_mu_);
    if (stopping_ || batch_in_progress_ || !queue_.empty() || last_batch_commits_ > 1) return false;
    batch_in_progress_ = true;
  }
  std::vector<PendingCommit> batch;
  batch.push_back(std::move(pc));
  process_batch(batch);  // runs pc's callback
  bool wake_writer;
  {
    std::lock_guard lock(queue_mu_);
    batch_in_progress_ = false;
    last_batch_commits_ = 1;
    // Commits that queued meanwhile are the writer's; a closing writer waits
    // for this batch to end before it may exit.
    wake_writer = !queue_.empty() || stopping_;
  }
  batch_idle_.notify_all();
  if (wake_writer) queue_not_empty_.notify_one();
  return true;
}

void EventLog::complete(std::vector<PendingCommit>& batch, std::vector<std::optional<Result<CommitResult>>>& outcomes) {
  // Links first: a later commit decided on top of one of these may be in the
  // next batch, and must see whether this one was written.
  for (size_t i = 0; i < batch.size(); ++i) {
    if (batch[i].link == nullptr) continue;
    const bool written = outcomes[i]->is_ok() && !outcomes[i]->value().duplicate;
    batch[i].link->state.store(written ? CommitLink::kWritten : CommitLink::kNotWritten, std::memory_order_release);
  }
  for (size_t i = 0; i < batch.size(); ++i) batch[i].done(std::move(*outcomes[i]));
  completions_.fetch_add(1, std::memory_order_release);
  futex_wake_all(completions_);
}

void EventLog::writer_loop() {
  std::vector<PendingCommit> batch;
  while (true) {
    {
      std::unique_lock lock(queue_mu_);
      gather_target_ = 1;
      queue_not_empty_.wait(lock, [&] { return (stopping_ || !queue_.empty()) && !batch_in_progress_; });
      if (queue_.empty()) return;  // stopping, and drained
      // The writer's place is taken before the window: its wait lets go of the
      // lock, and a cluster reader's apply_sealed must not run meanwhile (it
      // would run beside this batch, and the end of its turn would end this one's).
      batch_in_progress_ = true;
      // Group-commit window: the appenders of the last batch usually come back
      // together; wait a little for them so that one fsync serves them all,
      // instead of splitting them over two. Bounded by group_commit_window.
      const size_t expected = std::min(last_batch_commits_, options_.max_batch_commits);
      if (queue_.size() < expected && options_.group_commit_window.count() > 0) {
        gather_target_ = expected;
        queue_not_empty_.wait_for(lock, options_.group_commit_window,
                                  [&] { return stopping_ || queue_.size() >= expected; });
        gather_target_ = 1;
      }
      size_t bytes = 0;
      while (!queue_.empty() && batch.size() < options_.max_batch_commits &&
             (batch.empty() || bytes + queue_.front().frame.size() <= options_.max_batch_bytes)) {
        bytes += queue_.front().frame.size();
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
      last_batch_commits_ = batch.size();
    }
    queue_not_full_.notify_all();
    process_batch(batch);
    batch.clear();
    {
      std::lock_guard lock(queue_mu_);
      batch_in_progress_ = false;
    }
    batch_idle_.notify_all();
  }
}

void EventLog::poison(const Status& cause) {
  std::lock_guard lock(poison_mu_);
  if (poisoned_.is_ok()) {
    poisoned_ = Status(StatusCode::kPoisoned, "the log refuses writes after a failed write or fsync (" +
                                                  cause.message() + "); restart the process to recover");
    spdlog::error("{}", poisoned_.message());
  }
}

Result<CommitResult> EventLog::lookup_committed(const CommandId& command_id, const CommandDigest* digest,
                                               bool* found) const {
  *found = false;
  Result<CommitResult> out = Status(StatusCode::kInternal, "not looked up");
  Status failure;
  index_.for_each_commit_candidate(command_id, [&](uint64_t location) {
    if (*found || !failure.is_ok()) return;
    std::string scratch;
    auto frame = read_frame_at(location, nullptr, &scratch);
    if (!frame) {
      failure = frame.status();
      return;
    }
    auto commit = decode_commit(*frame, location_offset(location));
    if (!commit) {
      failure = commit.status();
      return;
    }
    if (commit->header.command_id != command_id) return;  // a fingerprint collision
    *found = true;
    if (digest != nullptr && commit->header.digest != *digest) {
      out = Status(StatusCode::kConflict,
                   "command id " + command_id.to_string() + " was already used, with different content, at position " +
                       std::to_string(commit->header.first_position.value()),
                   "command_id");
      return;
    }
    CommitResult result;
    result.first_position = commit->header.first_position;
    result.last_position = commit->records.back().event.position;
    result.recorded_at = commit->records.front().event.recorded_at;
    result.duplicate = true;
    for (const ScanRecord& r : commit->records) {
      if (result.streams.empty() || result.streams.back().stream != r.event.stream) {
        result.streams.push_back({std::string(r.event.stream), r.event.version, r.event.version});
      } else {
        result.streams.back().last_version = r.event.version;
      }
    }
    out = std::move(result);
  });
  if (!failure.is_ok()) {
    *found = true;
    return failure;
  }
  return out;
}

// Per-batch working state: the versions and command ids that earlier commits
// of the same batch claimed, layered over the index.
struct EventLog::BatchState {
  std::unordered_map<std::string_view, uint64_t> versions;
  std::unordered_map<CommandId, size_t> commands;  // -> index into the batch
};

void EventLog::process_batch(std::vector<PendingCommit>& batch) {
  std::vector<std::optional<Result<CommitResult>>> outcomes(batch.size());
  if (Status s = health(); !s.is_ok()) {
    for (auto& outcome : outcomes) outcome = s;
    complete(batch, outcomes);  // also wakes the synchronous appenders asleep on completions_
    return;
  }

  BatchState state;
  std::string buffer;
  std::vector<size_t> frame_offsets(batch.size(), 0);
  std::vector<std::vector<StreamVersion>> versions(batch.size());
  std::vector<size_t> duplicate_of(batch.size(), SIZE_MAX);
  const GlobalPosition durable_before = head();
  GlobalPosition next = durable_before.next();
  Hash256 chain = head_hash_;  // only the writer changes it
  Timestamp now = options_.clock ? options_.clock() : system_now();
  if (now < last_recorded_at_) now = last_recorded_at_;  // time never goes backwards along positions
  last_recorded_at_ = now;
  size_t committed = 0;

  for (size_t i = 0; i < batch.size(); ++i) {
    PendingCommit& pc = batch[i];
    // Idempotency: an earlier commit of this batch, or of the whole history.
    if (auto it = state.commands.find(pc.command_id); it != state.commands.end()) {
      if (batch[it->second].digest == pc.digest) {
        duplicate_of[i] = it->second;
      } else {
        outcomes[i] = Status(StatusCode::kConflict,
                             "command id " + pc.command_id.to_string() + " was already used with different content",
                             "command_id");
      }
      continue;
    }
    bool found = false;
    Result<CommitResult> earlier = Status(StatusCode::kInternal, "not looked up");
    {
      // The checkpointer changes the index's layers (freeze, install) under the exclusive lock.
      std::shared_lock index_lock(index_mu_);
      earlier = lookup_committed(pc.command_id, &pc.digest, &found);
    }
    if (found) {
      outcomes[i] = std::move(earlier);
      continue;
    }
    // Decided on top of an earlier commit: only if that one is written (in
    // this batch: accepted above; a batch that fails fails this one too).
    if (pc.after != nullptr && pc.after->state.load(std::memory_order_acquire) != CommitLink::kWritten) {
      outcomes[i] = Status(StatusCode::kWrongExpectedVersion,
                           "the commit this one was decided after was not written; decide it again");
      continue;
    }
    // Expected versions, all or nothing.
    Status refused;
    for (size_t s = 0; s < pc.streams.size() && refused.is_ok(); ++s) {
      const auto& meta = pc.streams[s];
      auto it = state.versions.find(meta.stream);
      const StreamVersion current(it != state.versions.end() ? it->second : stream_version(meta.stream).value());
      if (!meta.expected.matches(current)) {
        refused = Status(StatusCode::kWrongExpectedVersion,
                         "stream '" + meta.stream + "': expected version " + meta.expected.to_string() +
                             ", actual version " + std::to_string(current.value()),
                         "streams[" + std::to_string(s) + "].expected_version");
      }
    }
    if (!refused.is_ok()) {
      outcomes[i] = refused;
      continue;
    }
    for (const auto& meta : pc.streams) {
      auto [it, inserted] = state.versions.try_emplace(meta.stream, 0);
      if (inserted) it->second = stream_version(meta.stream).value();
      for (uint32_t e = 0; e < meta.events; ++e) versions[i].push_back(StreamVersion(++it->second));
    }
    state.commands.emplace(pc.command_id, i);
    // Written unless the batch fails (complete() settles it): a commit after
    // it in this batch may depend on it.
    if (pc.link != nullptr) pc.link->state.store(CommitLink::kWritten, std::memory_order_release);
    frame_offsets[i] = buffer.size();
    buffer.append(pc.frame);
    record_codec::seal_commit(buffer.data() + frame_offsets[i], pc.frame.size(), next, versions[i].data(), now,
                              durable_before, &chain);
    next = GlobalPosition(next.value() + versions[i].size());
    ++committed;
  }

  if (committed > 0) {
    Status replicated;
    if (options_.replicator) {
      replicated = options_.replicator(SealedBatch{durable_before.next(), next.prev(), head_hash_, chain, buffer});
    }
    // A batch already in Kafka must reach this file or poison the log: only a
    // single node's batch may be undone after a full disk.
    Result<uint64_t> written =
        replicated.is_ok() ? write_sealed(buffer, durable_before.next(), committed, !options_.replicator)
                           : Result<uint64_t>(replicated);
    if (!written) {
      // Not replicated, or refused by a full disk and cut off again: nothing
      // was written and the log is as before the batch. Not written after
      // replicating: the log is poisoned.
      const Status failed = written.status();
      for (size_t i = 0; i < batch.size(); ++i) {
        if (!outcomes[i].has_value() || outcomes[i]->is_ok()) outcomes[i] = failed;
      }
      complete(batch, outcomes);
      return;
    }
    const uint64_t base_offset = *written;
    // Durable: publish to the index, then to readers.
    {
      std::unique_lock lock(index_mu_);
      const uint64_t ordinal = segments_.size() - 1;
      for (size_t i = 0; i < batch.size(); ++i) {
        if (outcomes[i].has_value() || duplicate_of[i] != SIZE_MAX) continue;
        const PendingCommit& pc = batch[i];
        const uint64_t commit_offset = base_offset + frame_offsets[i];
        const char* frame = buffer.data() + frame_offsets[i];
        const GlobalPosition first(coding::get_u64(frame + kFrameHeaderSize + kCommitFirstPositionOffset));
        index_.add_commit(pc.command_id, make_location(ordinal, commit_offset));
        index_.note_commit_location(first, make_location(ordinal, commit_offset));
        size_t at = kFrameHeaderSize + kCommitHeaderSize;
        CommitResult result;
        result.first_position = first;
        result.last_position = GlobalPosition(first.value() + versions[i].size() - 1);
        result.recorded_at = now;
        size_t record = 0;
        for (const auto& meta : pc.streams) {
          if (meta.events == 0) continue;  // a check-only stream: nothing written, nothing to report
          result.streams.push_back({meta.stream, versions[i][record], versions[i][record + meta.events - 1]});
          for (uint32_t e = 0; e < meta.events; ++e, ++record) {
            index_.add_event(meta.stream, make_location(ordinal, commit_offset + at));
            head_record_location_ = make_location(ordinal, commit_offset + at);
            at += kFrameHeaderSize + coding::get_u32(frame + at + 4);
          }
        }
        outcomes[i] = std::move(result);
      }
      segments_.back()->end = base_offset + buffer.size();
      head_hash_ = chain;
      durable_head_.store(next.value() - 1, std::memory_order_release);
    }
    commits_appended_.fetch_add(committed, std::memory_order_relaxed);
  }

  for (size_t i = 0; i < batch.size(); ++i) {
    if (duplicate_of[i] != SIZE_MAX) {
      const Result<CommitResult>& first = *outcomes[duplicate_of[i]];
      if (first.is_ok()) {
        CommitResult again = first.value();
        again.duplicate = true;
        outcomes[i] = std::move(again);
      } else {
        outcomes[i] = first.status();
      }
    }
  }
  if (committed > 0) publish_head();
  complete(batch, outcomes);
}

Result<bool> EventLog::apply_sealed(const SealedBatch& batch) {
  // Take the writer's place, as a lone appender does (try_write_alone).
  {
    std::unique_lock lock(queue_mu_);
    batch_idle_.wait(lock, [&] { return !batch_in_progress_ || stopping_; });
    if (stopping_) return closing_error();
    batch_in_progress_ = true;
  }
  auto release = [&] {
    bool wake_writer;
    {
      std::lock_guard lock(queue_mu_);
      batch_in_progress_ = false;
      wake_writer = !queue_.empty() || stopping_;
    }
    batch_idle_.notify_all();
    if (wake_writer) queue_not_empty_.notify_one();
  };
  Result<bool> applied = apply_sealed_locked(batch);
  release();
  return applied;
}

Result<bool> EventLog::apply_sealed_locked(const SealedBatch& whole) {
  ACCT_RETURN_IF_ERROR(health());
  const GlobalPosition head_now = head();
  if (whole.last <= head_now) return false;
  auto refuse = [&](const std::string& why) {
    return Status(StatusCode::kCorruption, "replicated batch " + std::to_string(whole.first.value()) + ".." +
                                               std::to_string(whole.last.value()) + ": " + why);
  };
  // A copy that lost the end of this very batch (a torn tail cut at a commit
  // boundary on restart) takes the commits after its head; the chain check
  // below proves that what it skips is what it has.
  SealedBatch batch = whole;
  if (whole.first <= head_now) {
    size_t offset = 0;
    while (offset < whole.frames.size()) {
      auto frame = record_codec::parse_frame(whole.frames.substr(offset));
      if (!frame || frame->type != FrameType::kCommit) return refuse("a bad frame at byte " + std::to_string(offset));
      auto header = record_codec::parse_commit_header(frame->payload);
      if (!header) return refuse(header.status().message());
      if (header->first_position == head_now.next()) break;
      offset += frame->frame_size;
    }
    if (offset >= whole.frames.size()) {
      return refuse("no commit in it starts at position " + std::to_string(head_now.next().value()) +
                    ", after this log's head");
    }
    batch.first = head_now.next();
    batch.prev_hash = head_hash_;
    batch.frames = whole.frames.substr(offset);
  }
  if (batch.first != head_now.next()) {
    return refuse("it does not continue this log, whose head is position " + std::to_string(head_now.value()));
  }
  if (batch.prev_hash != head_hash_) {
    return refuse("its prev_hash is not this log's hash at position " + std::to_string(head_now.value()) +
                  ": the copies have diverged");
  }
  // Every check the log makes when it opens: framing, CRCs, gapless
  // positions, the hash chain and stream versions. Nothing is indexed yet.
  struct Placed {
    uint64_t offset;  // in `frames`
    CommandId command_id;
    GlobalPosition first;
    std::vector<std::pair<std::string_view, uint64_t>> records;  // stream, offset in `frames`
  };
  std::vector<Placed> commits;
  std::unordered_map<std::string_view, uint64_t> versions;
  Timestamp recorded_at = last_recorded_at_;
  ScanState state;
  state.next_position = batch.first;
  state.chain = batch.prev_hash;
  ScanResult scanned = scan_commits(batch.frames, 0, state, [&](const ScanCommit& commit) -> Status {
    Placed placed{commit.offset, commit.header.command_id, commit.header.first_position, {}};
    for (const ScanRecord& r : commit.records) {
      auto [it, inserted] = versions.try_emplace(r.event.stream, 0);
      if (inserted) it->second = stream_version(r.event.stream).value();
      if (r.event.version.value() != it->second + 1) {
        return Status(StatusCode::kCorruption,
                      "stream '" + std::string(r.event.stream) + "' version gap at position " +
                          std::to_string(r.event.position.value()) + ": expected version " +
                          std::to_string(it->second + 1) + ", found " + std::to_string(r.event.version.value()));
      }
      it->second += 1;
      placed.records.emplace_back(r.event.stream, r.offset);
      if (recorded_at < r.event.recorded_at) recorded_at = r.event.recorded_at;
    }
    commits.push_back(std::move(placed));
    return Status::ok();
  });
  if (scanned.problem) {
    return refuse("at byte " + std::to_string(scanned.problem->offset) + " (position " +
                  std::to_string(scanned.problem->position.value()) + "): " + scanned.problem->reason);
  }
  if (commits.empty() || state.last_good() != batch.last || state.chain != batch.hash) {
    return refuse("its frames end at position " + std::to_string(state.last_good().value()) +
                  ", not at the position and hash it names");
  }

  auto written = write_sealed(batch.frames, batch.first, commits.size(), /*may_undo_on_full_disk=*/false);
  if (!written) return written.status();
  {
    std::unique_lock lock(index_mu_);
    const uint64_t ordinal = segments_.size() - 1;
    for (const Placed& c : commits) {
      const uint64_t at = *written + c.offset;
      index_.add_commit(c.command_id, make_location(ordinal, at));
      index_.note_commit_location(c.first, make_location(ordinal, at));
      for (const auto& [stream, offset] : c.records) index_.add_event(stream, make_location(ordinal, *written + offset));
      head_record_location_ = make_location(ordinal, *written + c.records.back().second);
    }
    segments_.back()->end = *written + batch.frames.size();
    head_hash_ = batch.hash;
    durable_head_.store(batch.last.value(), std::memory_order_release);
  }
  last_recorded_at_ = recorded_at;  // a follower that leads later never stamps an earlier time
  commits_appended_.fetch_add(commits.size(), std::memory_order_relaxed);
  publish_head();
  return true;
}

Result<uint64_t> EventLog::write_sealed(std::string_view frames, GlobalPosition first, size_t commits,
                                        bool may_undo_on_full_disk) {
  Status written;
  // Roll before the batch if it would push the segment past its limit.
  uint64_t base_offset = active_file_->size();
  if (base_offset > kSegmentHeaderSize && base_offset + frames.size() > options_.segment_bytes) {
    written = roll_segment(first);
    base_offset = kSegmentHeaderSize;
  }
  if (written.is_ok()) written = ensure_preallocated(base_offset + frames.size());
  if (written.is_ok()) {
    written = active_file_->append(frames);
    // A full disk refused the write (no fsync has failed): cut off what part of
    // the batch reached the file and refuse the batch. Nothing of it was
    // acknowledged, the file ends where it did, and the log takes writes again
    // once there is space. If the cut fails, the log is poisoned as below.
    if (may_undo_on_full_disk && written.code() == StatusCode::kNoSpace &&
        active_file_->truncate(base_offset).is_ok()) {
      spdlog::warn("log: a batch of {} commit(s) refused: {}", commits, written.message());
      return written;
    }
  }
  if (written.is_ok()) {
    const auto sync_start = std::chrono::steady_clock::now();
    written = active_file_->sync();
    fsync_micros_.observe(static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - sync_start).count()));
    fsyncs_.fetch_add(1, std::memory_order_relaxed);
    batch_commits_.observe(commits);
  }
  if (!written.is_ok()) {
    poison(written);
    return health();
  }
  return base_offset;
}

void EventLog::publish_head() {
  {
    std::lock_guard lock(head_mu_);  // pairs with wait_for()
  }
  head_cv_.notify_all();
  batches_written_.fetch_add(1, std::memory_order_relaxed);
  if (options_.checkpoint_every_events > 0 &&
      head().value() >= checkpoint_position_hint_ + options_.checkpoint_every_events) {
    checkpoint_position_hint_ = head().value();
    {
      std::lock_guard lock(checkpoint_mu_);
      checkpoint_wanted_ = true;
    }
    checkpoint_cv_.notify_one();
  }
}

// Makes sure that [size(), end) of the active segment is zero-filled and
// durable before a batch is written there, so that the batch's own fdatasync
// changes no file size. A full disk is not an error here: the zeros that got
// written are cut off again, the batch is appended as before (where a full
// disk refuses it, or not), and the segment is not zero-filled again (each
// batch would fill the last free space and cut it again). A failed fdatasync
// is returned: the caller poisons the log.
Status EventLog::ensure_preallocated(uint64_t end) {
  auto* preallocating = dynamic_cast<PreallocatingFile*>(active_file_.get());
  if (!preallocate_active_ || preallocating == nullptr || end <= preallocating->allocated()) return Status::ok();
  // In whole pages, but not past the segment's size (a batch alone may go past it).
  const uint64_t ahead = std::clamp(end, kMinPreallocateBytes, kMaxPreallocateBytes);
  const uint64_t chunk_end = (end + ahead + 4095) / 4096 * 4096;
  const uint64_t target = std::max(end, std::min(chunk_end, options_.segment_bytes));
  Status filled = preallocating->preallocate(target);
  if (filled.code() == StatusCode::kNoSpace) {
    spdlog::warn("log: no space to zero-fill the segment ahead ({}); appending without, until the next segment",
                 filled.message());
    preallocate_active_ = false;
    return active_file_->truncate(active_file_->size());
  }
  ACCT_RETURN_IF_ERROR(filled);
  return active_file_->sync();
}

Status EventLog::roll_segment(GlobalPosition base) {
  if (active_file_) ACCT_RETURN_IF_ERROR(cut_zero_tail(active_file_.get()));
  const std::string name = segment_file_name(base);
  const std::string path = join_path(log_dir_, name);
  auto file = env_->new_writable_file(path);
  if (!file) return file.status();
  ACCT_RETURN_IF_ERROR((*file)->append(record_codec::encode_segment_header(base)));
  ACCT_RETURN_IF_ERROR((*file)->sync());
  ACCT_RETURN_IF_ERROR(env_->sync_dir(log_dir_));  // the new file's name must survive a crash
  auto reader = env_->new_random_access_file(path, options_.segment_bytes + 2 * options_.max_batch_bytes + (64u << 20));
  if (!reader) return reader.status();
  {
    std::unique_lock lock(index_mu_);
    segments_.push_back(std::make_unique<Segment>(Segment{path, name, base, std::move(*reader), kSegmentHeaderSize}));
  }
  if (active_file_) active_file_->close().ignore();  // already synced; a close error loses nothing
  active_file_ = std::move(*file);
  preallocate_active_ = true;  // a segment of the current format version
  return Status::ok();
}

Status EventLog::close() {
  if (closed_) return Status::ok();
  closed_ = true;
  {
    std::lock_guard lock(queue_mu_);
    stopping_ = true;
  }
  queue_not_empty_.notify_all();
  queue_not_full_.notify_all();
  if (writer_.joinable()) writer_.join();
  {
    // A lone appender may still be writing its commit (try_write_alone).
    std::unique_lock lock(queue_mu_);
    batch_idle_.wait(lock, [&] { return !batch_in_progress_; });
  }
  {
    std::lock_guard lock(checkpoint_mu_);
    stopping_checkpointer_ = true;
  }
  checkpoint_cv_.notify_all();
  if (checkpointer_.joinable()) checkpointer_.join();
  Status result;
  if (recovered_ && options_.checkpoint_on_close && health().is_ok()) result = write_checkpoint();
  if (active_file_) {
    Status closed = active_file_->close();
    if (result.is_ok()) result = closed;
    active_file_.reset();
  }
  lock_.reset();
  return result;
}

}  // namespace accountable
