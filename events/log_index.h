// The log's in-memory index and its persisted checkpoint (docs/log-format.md,
// "Index checkpoint"). Not thread-safe by itself: EventLog guards it with a
// shared mutex (one writer, many readers).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

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

class LogIndex {
 public:
  // Current last version of `stream` (0 when it has no events).
  StreamVersion stream_version(std::string_view stream) const;
  // Locations of the stream's events, index i holding version i + 1; null if none.
  const std::vector<uint64_t>* stream_locations(std::string_view stream) const;
  void add_event(std::string_view stream, uint64_t location);

  void add_commit(const CommandId& id, uint64_t commit_location) {
    commands_.insert(command_fingerprint(id), commit_location);
  }
  template <class F>
  void for_each_commit_candidate(const CommandId& id, F&& f) const {
    commands_.for_each(command_fingerprint(id), std::forward<F>(f));
  }

  // Sparse map from positions to commit locations, for $all reads: called for
  // every commit in log order, it keeps one entry every ~32 KiB of log and one
  // at the start of each segment.
  void note_commit_location(GlobalPosition first_position_of_commit, uint64_t commit_location);
  // The location of a commit at or before `position` (the log start if none).
  std::pair<GlobalPosition, uint64_t> seek(GlobalPosition position) const;

  size_t stream_count() const { return streams_.size(); }
  uint64_t event_count() const { return events_; }
  size_t command_count() const { return commands_.size(); }
  // Bytes of heap the index uses, approximately (for the memory benchmark).
  uint64_t memory_bytes() const;

  std::string serialize(const CheckpointMeta& meta) const;
  static Result<std::pair<LogIndex, CheckpointMeta>> parse(std::string_view bytes);

 private:
  std::unordered_map<std::string, std::vector<uint64_t>, StringHash, std::equal_to<>> streams_;
  FlatU64Multimap commands_;
  std::vector<std::pair<uint64_t, uint64_t>> seek_points_;  // (position, location), ascending
  uint64_t events_ = 0;
};

}  // namespace accountable
