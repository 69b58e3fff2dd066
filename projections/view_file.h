// ViewFile: one view's SQLite file as its writer sees it (DATA/views/<name>.db,
// or <name>.db.building during a rebuild), with the checkpoint kept in the
// same file:
//
//   view_meta(name, version, position, head_hash_hex, built_at)   one row
//
// apply() runs one batch as ONE transaction: the projection's changes for the
// events after `position`, then the new position and the hash of the event at
// it. Either both commit or neither does, so after a crash the view restarts
// exactly after the last event it shows (exactly-once view updates).
//
// Two ways to open a file:
//  - live: journal_mode=WAL (readers read while the writer writes),
//    synchronous=NORMAL (a commit is not fsynced; a power cut can lose the last
//    transactions, which are then replayed from the checkpoint: the log is the
//    source of truth), secure_delete=ON (overwritten personal data does not
//    linger in free pages);
//  - building: a fresh file filled from position 0 with no journal and no
//    fsync (a crash discards it), as ONE transaction from the first batch to
//    seal(), which commits it with its checkpoint and makes it durable with a
//    rollback journal before it is renamed over the live file (see
//    docs/views.md, "Rebuild").
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "projections/projection.h"

namespace accountable {

struct ViewMeta {
  std::string name;
  int version = 0;
  GlobalPosition position;    // the last event applied; 0 before the first
  std::string head_hash_hex;  // hash of the event at `position` ("" at 0)
  std::string built_at;       // RFC 3339: when this file's build from position 0 began
};

class ViewFile {
 public:
  // The view_meta row of a file, without preparing anything (the file may be
  // of another version). kNotFound when the file has no view_meta.
  static Result<ViewMeta> read_meta(const std::string& path);

  // Opens an existing file as the live one. Its version must be the definition's.
  static Result<std::unique_ptr<ViewFile>> open_live(const std::string& path, const ProjectionDefinition& definition);

  // Creates a fresh file at `path` for a build from position 0 (the caller
  // removed whatever was there).
  static Result<std::unique_ptr<ViewFile>> create_for_build(const std::string& path,
                                                            const ProjectionDefinition& definition,
                                                            Timestamp built_at,
                                                            size_t max_held_rows = kMaxRowsHeldByABuild);

  ~ViewFile();
  ViewFile(const ViewFile&) = delete;
  ViewFile& operator=(const ViewFile&) = delete;

  // Applies the events of `batch` whose position is above this file's, and
  // moves the checkpoint to the batch's last event, in one transaction.
  // Returns how many events were handed to the projection.
  Result<uint64_t> apply(const std::vector<ViewEvent>& batch);

  // After a batch that overwrote personal data: truncates the WAL so the old
  // page images are not left in it (best effort: a reader in the middle of a
  // query can keep the WAL alive until the next checkpoint).
  void truncate_wal();

  // A built file, made ready to be renamed over the live one: the build's
  // transaction committed (the projection's last rows, the checkpoint, the
  // secondary indexes), durable, in rollback-journal mode (so no -wal file
  // sits beside it), and closed.
  Status seal();

  // Wall-clock seconds the last apply() took (the runner orders parallel work by it).
  double last_apply_seconds() const { return last_apply_seconds_; }
  // The projection's estimate of its seal's time (Projection::build_seal_nanos).
  uint64_t build_seal_nanos() const { return projection_ ? projection_->build_seal_nanos() : 0; }
  const ViewMeta& meta() const { return meta_; }
  GlobalPosition position() const { return meta_.position; }
  const std::string& path() const { return path_; }

 private:
  ViewFile(std::string path, std::unique_ptr<Db> db, std::unique_ptr<Projection> projection, ViewMeta meta);
  Status prepare();
  Result<uint64_t> apply_batch(const std::vector<ViewEvent>& batch);

  std::string path_;
  // Declaration order matters: statements and the projection go before the connection.
  std::unique_ptr<Db> db_;
  std::unique_ptr<Projection> projection_;
  std::unique_ptr<Statement> save_checkpoint_;
  std::unique_ptr<Statement> begin_, commit_, rollback_;
  ViewMeta meta_;
  bool building_ = false;
  bool in_transaction_ = false;  // a building file's one transaction is open
  double last_apply_seconds_ = 0;
};

}  // namespace accountable
