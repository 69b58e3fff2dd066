// The log's index (runs on disk and the recent events in memory) and its
// checkpoint file (docs/log-format.md, "Index checkpoint", "Index runs").
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "events/index_run.h"
#include "events/sha256.h"
#include "events/status.h"
#include "events/types.h"

namespace accountable {

// Open-addressing multimap from non-zero 64-bit keys to 64-bit values: 16
// bytes a slot, so that command ids cost little memory on a large log.
class FlatU64Multimap {
 public:
  void insert(uint64_t key, uint64_t value);
  template <class F>
  void for_each(uint64_t key, F&& f) const {
    if (slots_.empty()) return;
    const size_t mask = slots_.size() - 1;
    for (size_t i = hash_slot(key) & mask;; i = (i + 1) & mask) {
      if (slots_[i].key == 0) return;
      if (slots_[i].key == key) f(slots_[i].value);
    }
  }
  size_t size() const { return size_; }
  template <class F>
  void for_all(F&& f) const {
    for (const Slot& s : slots_)
      if (s.key != 0) f(s.key, s.value);
  }
  void reserve(size_t n);

 private:
  struct Slot {
    uint64_t key = 0;
    uint64_t value = 0;
  };
  static size_t hash_slot(uint64_t key) { return static_cast<size_t>(key * 0x9E3779B97F4A7C15ULL >> 17); }
  void grow(size_t new_capacity);
  std::vector<Slot> slots_;
  size_t size_ = 0;
};

// A non-zero fingerprint of a command id for FlatU64Multimap.
uint64_t command_fingerprint(const CommandId& id);

struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

// What the index checkpoint records about the log it covers, so that open can
// check that the log still agrees with it.
struct CheckpointMeta {
  GlobalPosition covered_position;  // last position the index covers
  uint64_t covered_end = 0;         // location just past the last covered commit
  uint64_t last_record = 0;         // location of the record at covered_position
  Hash256 head_hash{};
  std::vector<std::pair<uint64_t, uint64_t>> segments;  // (base position, size) of each covered segment
};

// A run the checkpoint names: its file (in the index folder) and its range.
struct RunRef {
  uint64_t first_position = 0;
  uint64_t last_position = 0;
};

// Everything the checkpoint file holds (docs/log-format.md, "Index checkpoint").
struct CheckpointContents {
  CheckpointMeta meta;
  std::vector<RunRef> runs;  // oldest first, adjacent, the last ending at meta.covered_position
  uint64_t stream_count = 0;
  std::vector<std::pair<uint64_t, uint64_t>> seek_points;
};
std::string serialize_checkpoint(const CheckpointContents& contents);
Result<CheckpointContents> parse_checkpoint(std::string_view bytes);

// The index of the events since the last run: in memory.
class MemIndex {
 public:
  uint64_t count(std::string_view stream) const;
  const std::vector<uint64_t>* locations(std::string_view stream) const;
  // Returns whether the stream is new to this MemIndex.
  bool add_event(std::string_view stream, uint64_t location);
  void add_commit(uint64_t fingerprint, uint64_t location) { commands_.insert(fingerprint, location); }
  template <class F>
  void for_each_command(uint64_t fingerprint, F&& f) const {
    commands_.for_each(fingerprint, std::forward<F>(f));
  }
  uint64_t event_count() const { return events_; }
  size_t command_count() const { return commands_.size(); }
  bool empty() const { return events_ == 0 && commands_.size() == 0; }
  uint64_t memory_bytes() const;

  // Its streams and commands sorted for write_run; valid while this lives unchanged.
  std::unique_ptr<RunSource> sorted() const;

 private:
  friend class MemRunSource;
  std::unordered_map<std::string, std::vector<uint64_t>, StringHash, std::equal_to<>> streams_;
  FlatU64Multimap commands_;
  uint64_t events_ = 0;
};

// A stream's locations across the index's layers, version 1 first.
class StreamLocations {
 public:
  uint64_t size() const { return size_; }
  uint64_t operator[](uint64_t i) const;  // i < size()

 private:
  friend class LogIndex;
  struct Part {
    const IndexRun* run = nullptr;  // or
    const std::vector<uint64_t>* memory = nullptr;
    size_t entry = 0;
    uint64_t count = 0;
  };
  std::vector<Part> parts_;
  uint64_t size_ = 0;
};

// The log's index: runs on disk (oldest first), then at most one frozen
// MemIndex being written as a run, then the active MemIndex the writer adds
// to. Not thread-safe by itself: EventLog guards it with a shared mutex; the
// runs and the frozen MemIndex are immutable, so the checkpointer reads them
// without the lock.
class LogIndex {
 public:
  // Current last version of `stream` (0 when it has no events).
  StreamVersion stream_version(std::string_view stream) const;
  // Locations of the stream's events, index i holding version i + 1. Valid
  // until the index changes (under the caller's lock).
  StreamLocations stream_locations(std::string_view stream) const;
  void add_event(std::string_view stream, uint64_t location);

  void add_commit(const CommandId& id, uint64_t commit_location) {
    active_->add_commit(command_fingerprint(id), commit_location);
  }
  template <class F>
  void for_each_commit_candidate(const CommandId& id, F&& f) const {
    const uint64_t fp = command_fingerprint(id);
    for (const auto& run : runs_) run->for_each_command(fp, f);
    if (frozen_) frozen_->for_each_command(fp, f);
    active_->for_each_command(fp, f);
  }

  // Sparse map from positions to commit locations, for $all reads: called for
  // every commit in log order, it keeps one entry every ~32 KiB of log and one
  // at the start of each segment.
  void note_commit_location(GlobalPosition first_position_of_commit, uint64_t commit_location);
  // The location of a commit at or before `position` (the log start if none).
  std::pair<GlobalPosition, uint64_t> seek(GlobalPosition position) const;

  uint64_t stream_count() const { return stream_count_; }
  uint64_t event_count() const;
  uint64_t recent_event_count() const { return active_->event_count(); }  // not yet in a run
  uint64_t command_count() const;
  // Bytes of heap the index uses, approximately (the runs are mapped files, not counted).
  uint64_t memory_bytes() const;
  uint64_t run_bytes() const;
  const std::vector<std::shared_ptr<const IndexRun>>& runs() const { return runs_; }
  const std::vector<std::pair<uint64_t, uint64_t>>& seek_points() const { return seek_points_; }
  void release_resident() const;

  // Restores an index from a checkpoint's contents and its opened runs.
  void restore(const CheckpointContents& contents, std::vector<std::shared_ptr<const IndexRun>> runs);

  // The checkpointer's protocol: freeze() makes the active MemIndex frozen
  // (or returns the one still frozen after a failed write); once it is in a
  // run, install() replaces the runs and drops the frozen MemIndex.
  std::shared_ptr<const MemIndex> freeze();
  bool has_frozen() const { return frozen_ != nullptr; }
  void install(std::vector<std::shared_ptr<const IndexRun>> runs);

 private:
  std::vector<std::shared_ptr<const IndexRun>> runs_;
  std::shared_ptr<const MemIndex> frozen_;
  std::shared_ptr<MemIndex> active_ = std::make_shared<MemIndex>();
  std::vector<std::pair<uint64_t, uint64_t>> seek_points_;  // (position, location), ascending
  uint64_t stream_count_ = 0;
};

}  // namespace accountable
