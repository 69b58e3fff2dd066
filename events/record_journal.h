// RecordJournal: a small map of byte strings kept durable as a snapshot file
// and an append-only journal beside it (docs/secrets.md, "Tokens"). A change
// appends one CRC-framed record per key to DATA/<file>.journal and fdatasyncs
// it: the cost of a change does not grow with the map, unlike rewriting the
// whole file. compact() rewrites the snapshot (atomically) and empties the
// journal; the owner calls it when the journal has grown.
//
// Crash safety: a crash in the middle of an append leaves a torn last record,
// which open() cuts off (it was never acknowledged). A record that fails its
// CRC with more bytes after it is not a torn write: open() refuses with
// kCorruption, naming the offset, rather than skip a change (a revocation,
// for one) and go on. A crash between compact()'s two steps leaves the new
// snapshot and the old journal: replaying the journal over it gives the same
// map, since the snapshot already holds every change in it.
//
// Byte formats (integers little-endian; crc = masked CRC32C as in the log):
//   snapshot: magic[8] | u32 count | count x (u32 klen | key | u32 vlen | value) | u32 crc of all before
//   journal:  magic[8] | records; record: u32 len | u32 crc(payload) | payload[len]
//             payload: u8 op (1 put, 2 erase) | u32 klen | key | (put) value (the rest)
//
// Not thread-safe: the owner serializes calls.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "events/env.h"
#include "events/status.h"

namespace accountable {

class RecordJournal {
 public:
  using Map = std::map<std::string, std::string>;
  using Change = std::pair<std::string, std::optional<std::string>>;  // key, value (nullopt: erase)

  // Opens <path> and <path>.journal (creating what is missing) and returns the
  // map they hold in `*out`. `magic` is 8 bytes; the journal's is magic with
  // its last byte replaced by 'J'. `*torn_bytes` (optional): bytes cut off the
  // journal's end.
  static Result<std::unique_ptr<RecordJournal>> open(Env* env, const std::string& path, std::string_view magic,
                                                     Map* out, uint64_t* torn_bytes = nullptr);

  // Appends the changes and fdatasyncs: acknowledged only once that returned.
  // On failure nothing is acknowledged. A failed write (a full disk) may leave
  // part of a record, cut off before the next append; a failed fsync refuses
  // every later change (kPoisoned) until the process restarts.
  Status append(const std::vector<Change>& changes);
  // The snapshot becomes `all` (atomically), then the journal is emptied.
  Status compact(const Map& all);

  uint64_t journal_records() const { return journal_records_; }
  const std::string& path() const { return path_; }
  std::string journal_path() const { return path_ + ".journal"; }

  static std::string encode_snapshot(std::string_view magic, const Map& all);
  static Result<Map> decode_snapshot(std::string_view magic, std::string_view bytes, const std::string& name);

 private:
  RecordJournal(Env* env, std::string path, std::string magic)
      : env_(env), path_(std::move(path)), magic_(std::move(magic)) {}
  std::string journal_magic() const;
  Status start_journal();  // a new empty journal (atomically), open for appends

  Env* env_;
  const std::string path_;
  const std::string magic_;
  std::unique_ptr<WritableFile> journal_;
  uint64_t journal_records_ = 0;
  bool append_failed_ = false;  // a failed write may have left a partial record: cut it before the next
  Status poisoned_;             // set by a failed fsync: every later change is refused
  uint64_t good_size_ = 0;      // the journal's size after its last acknowledged record
};

}  // namespace accountable
