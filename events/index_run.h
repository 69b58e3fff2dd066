// An index run: the log index of one contiguous range of positions, written
// once to a file and then read through a memory map (docs/log-format.md,
// "Index runs").
//
// Why: an in-memory index grows with every event (8 bytes of location per
// event, 16 per command id), so a server's memory grew with its log. The index
// now keeps only the events since the last run in memory; everything older is
// in runs, read through mapped pages that the kernel can take back (the
// process drops its resident pages every second, as for log segments).
//
// A run holds, sorted by a stable 64-bit hash: each stream's locations in the
// range (its versions in the range, in order), and each command id's
// fingerprint with its commit's location. Both tables are looked up by
// interpolation search (the hashes are uniform), a few pages per lookup.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "events/env.h"
#include "events/status.h"

namespace accountable {

// The stable hash of a stream name that orders a run's stream table.
uint64_t stream_hash(std::string_view stream);

// One stream's events in a source for RunWriter: its name, its hash and a way
// to append its locations (oldest first).
struct RunStream {
  uint64_t hash = 0;
  std::string_view name;
  uint64_t count = 0;
};

// A source of sorted streams and commands for RunWriter: a run, or the
// in-memory index sorted once. Streams in (hash, name) order; commands in
// fingerprint order.
class RunSource {
 public:
  virtual ~RunSource() = default;
  virtual size_t stream_count() const = 0;
  virtual RunStream stream(size_t i) const = 0;
  // Appends stream i's locations to `out` as little-endian u64s.
  virtual void append_locations(size_t i, std::string* out) const = 0;
  virtual size_t command_count() const = 0;
  virtual std::pair<uint64_t, uint64_t> command(size_t i) const = 0;  // (fingerprint, location)
};

class IndexRun final : public RunSource {
 public:
  // Maps and checks a run file: its CRC, its header against its size and
  // range, and every table's order and bounds. A run that fails any check is
  // never used (the caller rebuilds the index from the log).
  static Result<std::shared_ptr<const IndexRun>> open(Env* env, const std::string& path, uint64_t first_position,
                                                      uint64_t last_position);

  uint64_t first_position() const { return first_; }
  uint64_t last_position() const { return last_; }
  uint64_t file_bytes() const { return bytes_.size(); }
  uint64_t location_count() const { return location_count_; }
  const std::string& path() const { return path_; }

  // The stream's entry in the table, or SIZE_MAX.
  size_t find_stream(std::string_view stream, uint64_t hash) const;
  uint64_t location(size_t stream_entry, uint64_t i) const;  // i < stream(entry).count

  // Calls f(location) for each command whose fingerprint is `fingerprint`.
  template <class F>
  void for_each_command(uint64_t fingerprint, F&& f) const {
    for (size_t i = lower_bound_command(fingerprint); i < command_count_ && command(i).first == fingerprint; ++i) {
      f(command(i).second);
    }
  }

  // Drops the process's resident pages of the map (see RandomAccessFile).
  void release_resident() const { file_->release_resident(); }

  // RunSource.
  size_t stream_count() const override { return stream_count_; }
  RunStream stream(size_t i) const override;
  void append_locations(size_t i, std::string* out) const override;
  size_t command_count() const override { return command_count_; }
  std::pair<uint64_t, uint64_t> command(size_t i) const override;

 private:
  IndexRun() = default;
  Status check() const;
  size_t lower_bound_command(uint64_t fingerprint) const;
  uint64_t stream_hash_at(size_t i) const;

  std::string path_;
  std::unique_ptr<RandomAccessFile> file_;
  std::string owned_;      // the bytes, when the Env cannot map the file
  std::string_view bytes_;  // the whole file
  uint64_t first_ = 0, last_ = 0;
  uint64_t stream_count_ = 0, location_count_ = 0, command_count_ = 0, names_bytes_ = 0;
  size_t streams_at_ = 0, names_at_ = 0, locations_at_ = 0, commands_at_ = 0;
};

// Writes the union of `sources` (oldest first, covering adjacent ranges) as
// one run covering [first_position, last_position]: a stream's locations are
// those of each source in turn. Written to `path`.tmp, synced, renamed and the
// folder synced; streamed through a small buffer, so memory stays flat
// whatever the run's size.
Status write_run(Env* env, const std::string& path, uint64_t first_position, uint64_t last_position,
                 const std::vector<const RunSource*>& sources);

// "run-<first>-<last>.idx", 20 digits each, so that names sort by position.
std::string run_file_name(uint64_t first_position, uint64_t last_position);

}  // namespace accountable
