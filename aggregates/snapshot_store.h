// SnapshotStore: the latest state of an aggregate stream, kept outside the log
// so that loading a long stream reads only the events after the snapshot.
//
// A snapshot is a cache: it is never the source of truth. One that cannot be
// loaded (missing, damaged, or of another state schema) is ignored with a log
// line, and the state is rebuilt from the stream's events.
//
// File DATA/snapshots/<stream>.snap, written atomically (temp file, fsync,
// rename, folder fsync). Byte grammar in docs/snapshots.md:
//   magic "ACCTSNP1" | format u32 = 1 | state schema u32 | stream version u64 |
//   state length u32 | state bytes | masked crc32c u32 of everything before
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "events/env.h"
#include "events/types.h"

namespace accountable {

struct Snapshot {
  StreamVersion version;  // the state includes every event up to this version
  std::string state;      // encoded state (aggregates/state_codec.h)
};

class SnapshotStore {
 public:
  // Creates DATA/snapshots if needed. `env` must outlive the store.
  static Result<std::unique_ptr<SnapshotStore>> open(Env* env, const std::string& data_dir);
  SnapshotStore(Env* env, std::string dir) : env_(env), dir_(std::move(dir)) {}

  Status save(std::string_view stream, uint32_t state_schema, StreamVersion version, std::string_view state);
  // nullopt when there is none, or it cannot be used (logged).
  std::optional<Snapshot> load(std::string_view stream, uint32_t state_schema) const;

  std::string path_of(std::string_view stream) const;

 private:
  Env* env_;
  std::string dir_;
};

}  // namespace accountable
