// EventLog: open, recovery, index checkpoint and reads. The write path
// (queue, writer thread, group commit) is in log_writer.cc.
#include "events/event_log.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstring>
#include <set>
#include <unordered_map>

#include "events/coding.h"
#include "events/data_layout.h"
#include "events/log_format.h"
#include "events/log_scanner.h"
#include "events/preallocated_file.h"
#include "events/record_codec.h"

namespace accountable {

using namespace log_format;

bool AllFilter::matches(const RecordedEvent& e) const {
  if (!partner.empty() && e.partner != partner) return false;
  if (!stream_prefix.empty() && e.stream.substr(0, stream_prefix.size()) != stream_prefix) return false;
  if (!types.empty() && std::find(types.begin(), types.end(), e.type) == types.end()) return false;
  return true;
}

EventLog::EventLog(LogOptions options)
    : options_(std::move(options)),
      env_(options_.env ? options_.env : posix_env()),
      log_dir_(join_path(options_.data_dir, "log")),
      index_dir_(join_path(options_.data_dir, "index")),
      index_path_(join_path(index_dir_, "checkpoint")) {}

EventLog::~EventLog() { close().ignore(); }

Result<std::unique_ptr<EventLog>> EventLog::open(const LogOptions& options) {
  if (options.data_dir.empty()) return invalid_argument("a data folder is required", "data_dir");
  ACCT_RETURN_IF_ERROR(refuse_shard_parent(options.data_dir));  // never a new log beside a node's shards
  if (options.segment_bytes < 4096) return invalid_argument("segment_bytes must be at least 4096", "segment_bytes");
  if (options.max_queued_commits == 0 || options.max_batch_commits == 0 || options.max_batch_bytes == 0) {
    return invalid_argument("queue and batch limits must be positive", "max_queued_commits");
  }
  std::unique_ptr<EventLog> log(new EventLog(options));
  ACCT_RETURN_IF_ERROR(log->recover());
  log->recovered_ = true;
  log->checkpoint_position_hint_ = log->head().value();
  // A log opened without a usable checkpoint (or with a long tail) holds its
  // index in memory: put it in a run now rather than after N more events.
  const uint64_t every = log->options_.checkpoint_every_events;
  const bool checkpoint_now = every > 0 && log->index_.recent_event_count() >= every;
  log->writer_ = std::thread([l = log.get()] { l->writer_loop(); });
  log->checkpointer_ = std::thread([l = log.get()] { l->checkpointer_loop(); });
  if (checkpoint_now) {
    {
      std::lock_guard lock(log->checkpoint_mu_);
      log->checkpoint_wanted_ = true;
    }
    log->checkpoint_cv_.notify_one();
  }
  return log;
}

Status EventLog::recover() {
  ACCT_RETURN_IF_ERROR(env_->create_dir(options_.data_dir));
  auto lock = env_->lock_file(join_path(options_.data_dir, "LOCK"));
  if (!lock) return lock.status();
  lock_ = std::move(*lock);
  ACCT_RETURN_IF_ERROR(env_->create_dir(log_dir_));
  ACCT_RETURN_IF_ERROR(env_->create_dir(index_dir_));

  auto files = list_segments(env_, log_dir_);
  if (!files) return files.status();
  const uint64_t map_hint = options_.segment_bytes + 2 * options_.max_batch_bytes + (64u << 20);
  for (const SegmentFile& f : *files) {
    auto size = env_->file_size(f.path);
    if (!size) return size.status();
    auto file = env_->new_random_access_file(f.path, std::max<uint64_t>(*size, map_hint));
    if (!file) return file.status();
    segments_.push_back(std::make_unique<Segment>(Segment{f.path, f.name, f.base, std::move(*file), *size}));
  }

  size_t start_segment = 0;
  uint64_t start_offset = kSegmentHeaderSize;
  // --recovery truncate exists to get past damage: check every byte, rather
  // than trust a checkpoint that may cover the damaged part.
  if (!segments_.empty() && options_.recovery == RecoveryMode::kTruncate) {
    // Removed, not only ignored: its head may be past what this open keeps,
    // and a later open would take that for acknowledged commits gone missing.
    spdlog::info("recovery=truncate: removing the index checkpoint and checking the whole log");
    if (env_->file_exists(index_path_)) {
      ACCT_RETURN_IF_ERROR(env_->remove_file(index_path_));
      ACCT_RETURN_IF_ERROR(env_->sync_dir(index_dir_));
    }
  } else if (!segments_.empty()) {
    Status loaded = load_checkpoint();
    if (loaded.is_ok()) {
      opened_from_checkpoint_ = true;
      start_segment = location_ordinal(scan_start_);
      start_offset = location_offset(scan_start_);
    } else if (loaded.code() != StatusCode::kNotFound) {
      spdlog::warn("index checkpoint {} is not usable ({}); rebuilding the index from the log", index_path_,
                   loaded.message());
    } else {
      spdlog::info("no index checkpoint; building the index from the log");
    }
  }
  remove_unused_index_files();
  ACCT_RETURN_IF_ERROR(scan_tail(start_segment, start_offset));
  // A checkpoint names durable positions only. A log that now ends before an
  // intact checkpoint's head has lost acknowledged commits (cut or zeroed
  // blocks) which an index rebuilt from the log would otherwise hide.
  if (durable_head_.load() < checkpoint_head_) {
    return corruption("the log ends at position " + std::to_string(durable_head_.load()) + " but the index checkpoint " +
                      index_path_ + " recorded position " + std::to_string(checkpoint_head_) +
                      " as durable: acknowledged commits are missing (open with --recovery truncate to accept that)");
  }
  if (segments_.empty()) return roll_segment(GlobalPosition(1));  // a new log
  return open_active_segment();
}

Status EventLog::load_checkpoint() {
  if (!env_->file_exists(index_path_)) return not_found("no index checkpoint");
  auto bytes = env_->read_file(index_path_);
  if (!bytes) return bytes.status();
  auto parsed = parse_checkpoint(*bytes);
  if (!parsed) return parsed.status();
  const CheckpointMeta& meta = parsed->meta;
  checkpoint_head_ = meta.covered_position.value();  // even if the log disagrees below
  // The log must still agree with what the checkpoint saw.
  if (meta.segments.empty() || meta.segments.size() > segments_.size()) {
    return corruption("the checkpoint covers segments that are not in the log");
  }
  for (size_t i = 0; i < meta.segments.size(); ++i) {
    const auto& [base, size] = meta.segments[i];
    const bool last = i + 1 == meta.segments.size();
    if (segments_[i]->base.value() != base) return corruption("segment list differs from the checkpoint's");
    if (last ? segments_[i]->end < size : segments_[i]->end != size) {
      return corruption("segment " + segments_[i]->name + " has a different size than the checkpoint recorded");
    }
  }
  if (location_ordinal(meta.covered_end) + 1 != meta.segments.size()) {
    return corruption("checkpoint end is not in its last segment");
  }
  if (meta.covered_position.value() > 0) {
    std::string scratch;
    ReadBatch holder;
    auto frame = read_frame_at(meta.last_record, &holder, &scratch);
    if (!frame) return frame.status();
    auto rec = record_codec::parse_frame(*frame);
    if (!rec) return corruption("the checkpoint's head record: " + rec.status().message());
    auto event = record_codec::decode_record(rec->payload);
    if (!event) return event.status();
    if (event->position != meta.covered_position || event->hash != meta.head_hash) {
      return corruption("the checkpoint's head record does not match the log");
    }
  }
  std::vector<std::shared_ptr<const IndexRun>> runs;
  for (const RunRef& ref : parsed->runs) {
    auto run = IndexRun::open(env_, join_path(index_dir_, run_file_name(ref.first_position, ref.last_position)),
                              ref.first_position, ref.last_position);
    if (!run) return run.status();
    runs.push_back(std::move(*run));
  }
  index_.restore(*parsed, std::move(runs));
  head_hash_ = meta.head_hash;
  head_record_location_ = meta.last_record;
  durable_head_.store(meta.covered_position.value());
  scan_start_ = meta.covered_end;
  spdlog::info("loaded index checkpoint at position {} ({} streams, {} index runs)", meta.covered_position.value(),
               index_.stream_count(), index_.runs().size());
  return Status::ok();
}

void EventLog::remove_unused_index_files() {
  auto names = env_->list_dir(index_dir_);
  if (!names) return;
  std::set<std::string> used;
  for (const auto& run : index_.runs()) used.insert(run->path());
  for (const std::string& name : *names) {
    const std::string path = join_path(index_dir_, name);
    const bool run_file = name.rfind("run-", 0) == 0;
    const bool tmp = name.size() > 4 && name.compare(name.size() - 4, 4, ".tmp") == 0;
    if ((run_file && !used.count(path)) || tmp) {
      if (Status s = env_->remove_file(path); !s.is_ok()) spdlog::warn("index: {} not removed: {}", name, s.message());
    }
  }
}

Status EventLog::scan_tail(size_t first_segment, uint64_t first_offset) {
  ScanState state;
  state.next_position = GlobalPosition(durable_head_.load() + 1);
  state.chain = head_hash_;

  for (size_t i = first_segment; i < segments_.size(); ++i) {
    Segment& seg = *segments_[i];
    const bool last = i + 1 == segments_.size();
    auto image = SegmentImage::load(env_, seg.path);
    if (!image) return image.status();
    std::string_view bytes = image->bytes();
    uint64_t offset = i == first_segment ? first_offset : kSegmentHeaderSize;

    auto header = record_codec::parse_segment_header(bytes);
    if (!header || (*header != seg.base)) {
      std::string why = header ? "its header names base position " + std::to_string(header->value())
                               : header.status().message();
      if (record_codec::is_unsupported_format_version(bytes)) {
        return corruption("segment " + seg.name + " offset 0: " + why +
                          " (a newer release wrote it); refusing to open rather than remove it");
      }
      if (last && !later_commit_proves_durable(bytes, 0, state.last_good())) {
        // A crash while the segment was being created: nothing in it was acknowledged.
        spdlog::warn("removing the unfinished last segment {} ({}, {} bytes)", seg.name, why, bytes.size());
        truncated_bytes_at_open_ += bytes.size();
        ACCT_RETURN_IF_ERROR(env_->remove_file(seg.path));
        ACCT_RETURN_IF_ERROR(env_->sync_dir(log_dir_));
        segments_.pop_back();
        break;
      }
      return corruption("segment " + seg.name + " offset 0: " + why + "; last good position " +
                        std::to_string(state.last_good().value()));
    }
    if (offset == kSegmentHeaderSize && seg.base != state.next_position && bytes.size() > kSegmentHeaderSize) {
      return corruption("segment " + seg.name + " starts at position " + std::to_string(seg.base.value()) +
                        " but the log continues at " + std::to_string(state.next_position.value()));
    }

    std::unordered_map<std::string_view, uint64_t> commit_versions;  // versions within one commit
    auto visit = [&](const ScanCommit& commit) -> Status {
      commit_versions.clear();
      for (const ScanRecord& r : commit.records) {
        auto [it, inserted] = commit_versions.try_emplace(r.event.stream, 0);
        if (inserted) it->second = index_.stream_version(r.event.stream).value();
        if (r.event.version.value() != it->second + 1) {
          return corruption("stream '" + std::string(r.event.stream) + "' version gap at position " +
                            std::to_string(r.event.position.value()) + ": expected version " +
                            std::to_string(it->second + 1) + ", found " + std::to_string(r.event.version.value()));
        }
        it->second += 1;
      }
      for (const ScanRecord& r : commit.records) index_.add_event(r.event.stream, make_location(i, r.offset));
      index_.add_commit(commit.header.command_id, make_location(i, commit.offset));
      index_.note_commit_location(commit.header.first_position, make_location(i, commit.offset));
      head_record_location_ = make_location(i, commit.records.back().offset);
      return Status::ok();
    };
    state.zero_tail_ends = zero_tail_allowed(bytes, last);
    ScanResult result = scan_commits(bytes, offset, state, visit);
    seg.end = result.end_offset;
    if (result.problem) {
      const ScanProblem& p = *result.problem;
      if (last && !later_commit_proves_durable(bytes, p.offset, state.last_good())) {
        // Counted up to the last non-zero byte: preallocated zeros after a
        // torn commit were never data (they go too, and are filled again).
        const uint64_t torn = state.zero_tail_ends
                                  ? std::max<uint64_t>(bytes.find_last_not_of('\0') + 1, p.offset) - p.offset
                                  : bytes.size() - p.offset;
        spdlog::warn("torn tail: cutting {} unacknowledged bytes off {} at offset {} ({}); last good position {}",
                     torn, seg.name, p.offset, p.reason, state.last_good().value());
        truncated_bytes_at_open_ += torn;
        ACCT_RETURN_IF_ERROR(env_->truncate_file(seg.path, p.offset));
      } else if (options_.recovery == RecoveryMode::kTruncate) {
        ACCT_RETURN_IF_ERROR(quarantine(i, p.offset, p.reason));
        break;
      } else {
        return corruption("segment " + seg.name + " offset " + std::to_string(p.offset) + ": " + p.reason +
                          "; last good position " + std::to_string(state.last_good().value()) +
                          " (open with --recovery truncate to move the rest aside)");
      }
    }
  }
  events_scanned_at_open_ = state.events;
  head_hash_ = state.chain;
  durable_head_.store(state.last_good().value(), std::memory_order_release);
  return Status::ok();
}

Status EventLog::quarantine(size_t segment_index, uint64_t offset, const std::string& why) {
  const std::string dir = join_path(options_.data_dir, "quarantine");
  ACCT_RETURN_IF_ERROR(env_->create_dir(dir));
  Segment& seg = *segments_[segment_index];
  auto image = SegmentImage::load(env_, seg.path);
  if (!image) return image.status();
  const std::string bad_path = join_path(dir, seg.name + "." + std::to_string(offset) + ".bad");
  {
    auto out = env_->new_writable_file(bad_path);
    if (!out) return out.status();
    ACCT_RETURN_IF_ERROR((*out)->append(image->bytes().substr(offset)));
    ACCT_RETURN_IF_ERROR((*out)->sync());
    ACCT_RETURN_IF_ERROR((*out)->close());
  }
  ACCT_RETURN_IF_ERROR(env_->sync_dir(dir));
  ACCT_RETURN_IF_ERROR(env_->truncate_file(seg.path, offset));
  seg.end = offset;
  for (size_t j = segment_index + 1; j < segments_.size(); ++j) {
    ACCT_RETURN_IF_ERROR(env_->rename_file(segments_[j]->path, join_path(dir, segments_[j]->name)));
  }
  ACCT_RETURN_IF_ERROR(env_->sync_dir(dir));
  ACCT_RETURN_IF_ERROR(env_->sync_dir(log_dir_));
  spdlog::error("recovery=truncate: moved bytes from {} offset {} ({}) and {} later segment(s) into {}", seg.name,
                offset, why, segments_.size() - segment_index - 1, dir);
  segments_.resize(segment_index + 1);
  return Status::ok();
}

Status EventLog::open_active_segment() {
  auto file = env_->reopen_writable_file(segments_.back()->path);
  if (!file) return file.status();
  // A version 1 segment (an older release's) is appended to as it was
  // written, without zeros; the next segment is of the current version.
  std::string scratch(kSegmentHeaderSize, '\0');
  std::string_view header;
  ACCT_RETURN_IF_ERROR(segments_.back()->file->read(0, kSegmentHeaderSize, scratch.data(), &header));
  const std::optional<uint32_t> version = record_codec::segment_format_version(header);
  preallocate_active_ = version && *version >= log_format::kZeroTailFormatVersion;
  // Appends go on at the last commit, over the preallocated zeros after it.
  auto* preallocating = dynamic_cast<PreallocatingFile*>(file->get());
  if (preallocating != nullptr && (*file)->size() > segments_.back()->end) {
    ACCT_RETURN_IF_ERROR(preallocating->set_append_point(segments_.back()->end));
  }
  active_file_ = std::move(*file);
  return Status::ok();
}

Hash256 EventLog::head_hash() const {
  std::shared_lock lock(index_mu_);
  return head_hash_;
}

std::pair<GlobalPosition, Hash256> EventLog::head_and_hash() const {
  std::shared_lock lock(index_mu_);
  return {head(), head_hash_};
}

StreamVersion EventLog::stream_version(std::string_view stream) const {
  std::shared_lock lock(index_mu_);
  return index_.stream_version(stream);
}

bool EventLog::wait_for(GlobalPosition position, std::chrono::steady_clock::time_point deadline) const {
  std::unique_lock lock(head_mu_);
  return head_cv_.wait_until(lock, deadline, [&] { return head() >= position; });
}

Status EventLog::health() const {
  std::lock_guard lock(poison_mu_);
  return poisoned_;
}

LogStats EventLog::stats() const {
  std::shared_lock lock(index_mu_);
  LogStats s;
  s.head = head();
  s.segments = segments_.size();
  s.streams = index_.stream_count();
  s.commits_appended = commits_appended_.load();
  s.batches_written = batches_written_.load();
  s.fsyncs = fsyncs_.load();
  s.index_memory_bytes = index_.memory_bytes();
  s.index_runs = index_.runs().size();
  s.index_run_bytes = index_.run_bytes();
  s.opened_from_checkpoint = opened_from_checkpoint_;
  s.events_scanned_at_open = events_scanned_at_open_;
  s.truncated_bytes_at_open = truncated_bytes_at_open_;
  s.fsync_micros = fsync_micros_.snapshot();
  s.batch_commits = batch_commits_.snapshot();
  return s;
}

void EventLog::release_mapped_pages() const {
  std::shared_lock lock(index_mu_);  // segments_ changes under it
  for (const auto& seg : segments_) seg->file->release_resident();
  index_.release_resident();
}

Status EventLog::write_checkpoint() {
  std::lock_guard write_lock(checkpoint_write_mu_);
  std::shared_ptr<const MemIndex> frozen;
  std::vector<std::shared_ptr<const IndexRun>> runs;
  {
    std::unique_lock lock(index_mu_);
    if (!index_.has_frozen()) {
      // What the frozen part covers: the log as of now (the writer updates the
      // index, the head and the segment ends under this lock).
      CheckpointContents& c = frozen_covers_;
      c.meta.covered_position = head();
      c.meta.covered_end = make_location(segments_.size() - 1, segments_.back()->end);
      c.meta.last_record = head_record_location_;
      c.meta.head_hash = head_hash_;
      c.meta.segments.clear();
      for (const auto& seg : segments_) c.meta.segments.emplace_back(seg->base.value(), seg->end);
      c.stream_count = index_.stream_count();
      c.seek_points = index_.seek_points();
    }
    frozen = index_.freeze();
    runs = index_.runs();
  }
  const uint64_t covered = frozen_covers_.meta.covered_position.value();
  const uint64_t first = runs.empty() ? 1 : runs.back()->last_position() + 1;
  if (covered < first) {  // nothing new since the last run
    std::unique_lock lock(index_mu_);
    index_.install(std::move(runs));
    return Status::ok();
  }
  std::vector<std::string> unused;
  {
    const std::string path = join_path(index_dir_, run_file_name(first, covered));
    ACCT_RETURN_IF_ERROR(write_run(env_, path, first, covered, {frozen->sorted().get()}));
    auto run = IndexRun::open(env_, path, first, covered);
    if (!run) return run.status();
    runs.push_back(std::move(*run));
  }
  ACCT_RETURN_IF_ERROR(merge_runs(&runs, &unused));
  CheckpointContents contents = frozen_covers_;
  contents.runs.clear();
  for (const auto& run : runs) contents.runs.push_back({run->first_position(), run->last_position()});
  ACCT_RETURN_IF_ERROR(env_->write_file_atomically(index_path_, serialize_checkpoint(contents)));
  {
    std::unique_lock lock(index_mu_);
    index_.install(runs);
  }
  // Only now are the merged runs' files unused: the checkpoint on disk no
  // longer names them, and no reader holds them (install ran under the lock).
  for (const std::string& path : unused) env_->remove_file(path).ignore();
  for (const auto& run : runs) run->release_resident();
  return Status::ok();
}

Status EventLog::merge_runs(std::vector<std::shared_ptr<const IndexRun>>* runs, std::vector<std::string>* unused) {
  constexpr uint64_t kRunRatio = 4;
  while (runs->size() >= 2 && runs->back()->file_bytes() * kRunRatio >= (*runs)[runs->size() - 2]->file_bytes()) {
    const auto older = (*runs)[runs->size() - 2];
    const auto newer = runs->back();
    const std::string path = join_path(index_dir_, run_file_name(older->first_position(), newer->last_position()));
    ACCT_RETURN_IF_ERROR(
        write_run(env_, path, older->first_position(), newer->last_position(), {older.get(), newer.get()}));
    auto merged = IndexRun::open(env_, path, older->first_position(), newer->last_position());
    if (!merged) return merged.status();
    // The older of the two may be named by the checkpoint on disk: removed
    // once the new checkpoint is written. The newer may be too (a run written
    // by an earlier checkpoint).
    unused->push_back(older->path());
    unused->push_back(newer->path());
    runs->pop_back();
    runs->back() = std::move(*merged);
  }
  return Status::ok();
}

void EventLog::checkpointer_loop() {
  std::unique_lock lock(checkpoint_mu_);
  while (true) {
    checkpoint_cv_.wait(lock, [&] { return checkpoint_wanted_ || stopping_checkpointer_; });
    if (stopping_checkpointer_) return;
    checkpoint_wanted_ = false;
    lock.unlock();
    Status s = write_checkpoint();
    if (!s.is_ok()) spdlog::warn("index checkpoint not written: {}", s.to_string());
    lock.lock();
  }
}

// --- reads ------------------------------------------------------------------------

Result<std::string_view> EventLog::read_at(uint64_t location, size_t n, ReadBatch* batch, std::string* scratch) const {
  const uint64_t ordinal = location_ordinal(location);
  const uint64_t offset = location_offset(location);
  if (ordinal >= segments_.size()) return corruption("location names a segment that does not exist");
  const Segment& seg = *segments_[ordinal];
  if (offset > seg.end || n > seg.end - offset) {
    return corruption("read past the durable end of " + seg.name + " at offset " + std::to_string(offset));
  }
  std::string_view out;
  if (seg.file->zero_copy()) {
    ACCT_RETURN_IF_ERROR(seg.file->read(offset, n, nullptr, &out));
  } else {
    char* buf;
    if (batch != nullptr) {
      batch->buffers_.push_back(std::make_unique<char[]>(n));
      buf = batch->buffers_.back().get();
    } else {
      scratch->resize(n);
      buf = scratch->data();
    }
    ACCT_RETURN_IF_ERROR(seg.file->read(offset, n, buf, &out));
  }
  if (out.size() != n) return corruption("short read in " + seg.name + " at offset " + std::to_string(offset));
  return out;
}

Result<std::string_view> EventLog::read_frame_at(uint64_t location, ReadBatch* batch, std::string* scratch) const {
  const uint64_t ordinal = location_ordinal(location);
  const uint64_t offset = location_offset(location);
  if (ordinal < segments_.size() && segments_[ordinal]->file->zero_copy()) {
    // Mapped: one view of the rest of the durable segment, cut to the frame.
    const Segment& seg = *segments_[ordinal];
    if (offset + kFrameHeaderSize > seg.end) {
      return corruption("read past the durable end of " + seg.name + " at offset " + std::to_string(offset));
    }
    std::string_view rest;
    ACCT_RETURN_IF_ERROR(seg.file->read(offset, seg.end - offset, nullptr, &rest));
    const uint32_t length = rest.size() >= kFrameHeaderSize ? coding::get_u32(rest.data() + 4) : 0;
    if (rest.size() < kFrameHeaderSize || length > rest.size() - kFrameHeaderSize) {
      return corruption("frame at " + seg.name + " offset " + std::to_string(offset) +
                        " runs past the durable end of the segment");
    }
    return rest.substr(0, kFrameHeaderSize + length);
  }
  std::string header_scratch;
  auto header = read_at(location, kFrameHeaderSize, nullptr, &header_scratch);
  if (!header) return header.status();
  const uint32_t length = coding::get_u32(header->data() + 4);
  return read_at(location, kFrameHeaderSize + length, batch, scratch);
}

Result<ReadBatch> EventLog::read_stream(std::string_view stream, StreamVersion from, size_t limit,
                                        Direction direction, ReadOptions options) const {
  ReadBatch batch;
  std::shared_lock lock(index_mu_);
  const StreamLocations locations = index_.stream_locations(stream);
  if (locations.size() == 0 || limit == 0) return batch;
  const uint64_t count = locations.size();
  std::vector<uint64_t> picked;
  if (direction == Direction::kForward) {
    uint64_t first = std::max<uint64_t>(from.value(), 1);
    for (uint64_t v = first; v <= count && picked.size() < limit; ++v) picked.push_back(locations[v - 1]);
  } else {
    uint64_t first = from.value() == 0 || from.value() > count ? count : from.value();
    for (uint64_t v = first; v >= 1 && picked.size() < limit; --v) picked.push_back(locations[v - 1]);
  }
  batch.events.reserve(picked.size());
  for (uint64_t loc : picked) {
    auto frame = read_frame_at(loc, &batch, nullptr);
    if (!frame) return frame.status();
    auto rec = record_codec::parse_frame(*frame, options.verify_checksums);
    if (!rec) {
      return corruption("stream '" + std::string(stream) + "': record at " + segments_[location_ordinal(loc)]->name +
                        " offset " + std::to_string(location_offset(loc)) + ": " + rec.status().message());
    }
    ACCT_RETURN_IF_ERROR(record_codec::decode_record_into(rec->payload, &batch.events.emplace_back()));
  }
  return batch;
}

Status EventLog::scan(GlobalPosition from, const AllFilter& filter, ReadOptions options, ReadBatch* keep,
                      GlobalPosition head_now, const ScanVisitor& visit) const {
  if (from > head_now) return Status::ok();
  uint64_t ordinal, offset;
  {
    std::shared_lock lock(index_mu_);
    const uint64_t location = index_.seek(from).second;
    ordinal = location_ordinal(location);
    offset = location_offset(location);
  }
  std::string scratch;
  RecordedEvent event;  // decoded into, event after event
  while (true) {
    const Segment* seg;
    uint64_t end;
    size_t segment_count;
    {
      std::shared_lock lock(index_mu_);  // segments_ and `end` change under it; the bytes below `end` never do
      if (ordinal >= segments_.size()) return Status::ok();
      seg = segments_[ordinal].get();
      end = seg->end;
      segment_count = segments_.size();
    }
    if (offset >= end) {
      if (ordinal + 1 >= segment_count) return Status::ok();
      ++ordinal;
      offset = kSegmentHeaderSize;
      continue;
    }
    std::string_view bytes;
    if (seg->file->zero_copy()) {
      ACCT_RETURN_IF_ERROR(seg->file->read(offset, end - offset, nullptr, &bytes));
    } else {
      char* buffer;
      if (keep != nullptr) {  // the batch's events will point into this chunk
        keep->buffers_.push_back(std::make_unique<char[]>(end - offset));
        buffer = keep->buffers_.back().get();
      } else {
        scratch.resize(end - offset);
        buffer = scratch.data();
      }
      ACCT_RETURN_IF_ERROR(seg->file->read(offset, end - offset, buffer, &bytes));
    }
    if (bytes.size() != end - offset) return corruption("short read in " + seg->name);
    size_t at = 0;
    while (at < bytes.size()) {
      // One CRC over the commit covers every record in it.
      auto frame = record_codec::parse_frame(bytes.substr(at), options.verify_checksums);
      if (!frame) {
        return corruption("$all: commit at " + seg->name + " offset " + std::to_string(offset + at) + ": " +
                          frame.status().message());
      }
      auto header = record_codec::parse_commit_header(frame->payload);
      if (!header) return header.status();
      const uint64_t first = header->first_position.value();
      const uint64_t last = first + header->event_count - 1;
      if (last >= from.value()) {
        size_t r = kCommitHeaderSize;
        for (uint64_t p = first; p <= last; ++p) {
          auto rec = record_codec::parse_frame(frame->payload.substr(r), /*verify_crc=*/false);
          if (!rec) return corruption("$all: record at position " + std::to_string(p) + ": " + rec.status().message());
          r += rec->frame_size;
          if (p < from.value()) continue;
          ACCT_RETURN_IF_ERROR(record_codec::decode_record_into(rec->payload, &event));
          if (!visit(event, filter.matches(event))) return Status::ok();
        }
      }
      if (last >= head_now.value()) return Status::ok();
      at += frame->frame_size;
    }
    offset = end;
  }
}

Status EventLog::scan_all(GlobalPosition from, const AllFilter& filter, const EventVisitor& visit,
                          ReadOptions options) const {
  return scan(std::max(from, GlobalPosition(1)), filter, options, nullptr, head(),
              [&](const RecordedEvent& e, bool matches) { return !matches || visit(e); });
}

Result<ReadBatch> EventLog::read_all(GlobalPosition from, size_t limit, const AllFilter& filter, ReadOptions options,
                                     size_t max_scan) const {
  ReadBatch batch;
  const GlobalPosition head_now = head();
  from = std::max(from, GlobalPosition(1));
  batch.next_position = from;
  if (from > head_now || limit == 0) {
    batch.end_of_log = from > head_now;
    return batch;
  }
  batch.events.reserve(std::min<uint64_t>(limit, head_now.value() - from.value() + 1));
  size_t scanned = 0;
  ACCT_RETURN_IF_ERROR(scan(from, filter, options, &batch, head_now, [&](const RecordedEvent& e, bool matches) {
    batch.next_position = e.position.next();
    if (matches) batch.events.push_back(e);
    return batch.events.size() < limit && ++scanned < max_scan;
  }));
  batch.end_of_log = batch.next_position > head_now;
  return batch;
}

}  // namespace accountable
