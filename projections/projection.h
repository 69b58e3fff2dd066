// Projection: one read view, fed by the log's events in position order.
//
// A projection describes its tables (schema), carries a version stamp, and
// applies one event at a time inside a transaction that the runner opens and
// commits together with the view's checkpoint (projections/view_file.h). An
// instance is bound to one writer connection (it prepares its statements on
// it); the runner makes one per file it writes.
//
// Contract of apply():
//  - events come in position order, each exactly once per file (the checkpoint
//    and the view change commit in the same SQLite transaction);
//  - it ignores event types it does not need and types this build does not
//    know (ViewEvent::decoded() gives nullptr for them);
//  - it is deterministic: a file built incrementally and one rebuilt from
//    position 0 hold the same rows (tests compare their dumps);
//  - an error aborts the batch (rolled back, nothing applied, checkpoint kept).
//  - apply() may run on another thread than the one that decoded the batch,
//    at the same time as other views' apply() (never two calls on one instance
//    at once): it must not install a PersonalDataScope or touch shared state.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "events/envelope.h"
#include "projections/sqlite_db.h"
#include "schema/domain_events.h"

namespace accountable {

// One event of a batch, decoded at most once however many views look at it.
// The record's views point into the batch, which outlives the ViewEvent.
class ViewEvent {
 public:
  explicit ViewEvent(const RecordedEvent& record) : record_(record) {}
  const RecordedEvent& record() const { return record_; }

  // The payload as a DomainEvent (personal data opened with the cipher of the
  // PersonalDataScope the runner installed); nullptr for a (type, version)
  // this build does not know. kCorruption when the bytes do not decode.
  // The first call decodes; the runner makes it before handing the batch to
  // several threads, after which calls only read.
  Result<const DomainEvent*> decoded() const;
  // Frees the decoded event (a later decoded() decodes again): the runner
  // frees a batch's on its threads, not one by one on its own.
  void forget_decoded() const {
    event_.reset();
    error_ = Status::ok();
    tried_ = false;
  }

 private:
  const RecordedEvent& record_;
  mutable bool tried_ = false;
  // In place (a DomainEvent is about 1 KiB): a build's batch of 65536 took
  // 64 MiB of separate blocks from malloc and gave them back, batch after
  // batch, and the heap grew, was trimmed and faulted in again each time. The
  // runner keeps a build's vector of ViewEvents from one batch to the next.
  mutable std::optional<DomainEvent> event_;
  mutable Status error_;
};

// During a build (Projection::begin_build) a view may keep its rows in memory
// across batches, up to this many by default (about 1 KiB each: ~256 MiB, as
// the build's page cache); past it the rows are written and it starts again empty.
inline constexpr size_t kMaxRowsHeldByABuild = size_t{1} << 18;

class Projection {
 public:
  virtual ~Projection() = default;
  // The file name stem and the name queries use: "catalog", "pricing", ...
  virtual std::string_view name() const = 0;
  // Bumped whenever what the view stores changes (schema or apply logic): a
  // stored version that differs makes the view rebuild itself at startup.
  virtual int version() const = 0;
  // CREATE TABLE statements, run once on a new file.
  virtual std::vector<std::string> schema() const = 0;
  // CREATE INDEX statements of the secondary indexes. A new file is always
  // built from position 0, and a build creates them after its last row: one
  // sort per index instead of one random B-tree insert per row.
  virtual std::vector<std::string> indexes() const { return {}; }
  // Prepares the statements apply() uses, on the writer connection.
  virtual Status prepare(Db& db) = 0;
  // Called after BEGIN, before the batch's first event: a projection that
  // keeps a batch-local cache starts it empty here (also after a rolled-back batch).
  virtual Status begin_batch() { return Status::ok(); }
  // Applies one event inside the open transaction.
  virtual Status apply(const ViewEvent& event) = 0;
  // Called after the batch's last event, before the checkpoint and COMMIT:
  // writes what the projection kept in memory during the batch.
  virtual Status finish_batch() { return Status::ok(); }
  // Called after a batch was rolled back: forget anything learnt during it.
  virtual void abort_batch() {}
  // Called once on a file built from position 0, before its first batch. The
  // whole build is then ONE transaction, committed with its checkpoint when
  // the build is sealed, and nothing reads the file before: the projection
  // may keep its rows in memory across batches (bounded) and write them,
  // sorted by key, in finish_build().
  virtual Status begin_build() { return Status::ok(); }
  // Called once when the build reached the head, inside the build's
  // transaction, before the final checkpoint and the indexes.
  virtual Status finish_build() { return Status::ok(); }
  // About how long sealing this build will take, in nanoseconds: the rows
  // finish_build() writes and each secondary index sorts, times the view's
  // cost per row (measured on the views bench; a row count alone put the
  // directory's 126 k wide rows, 0.43 s to seal, behind the audit's 1 M narrow
  // ones, 0.21 s). The runner seals the costliest builds first so that its
  // threads finish together.
  virtual uint64_t build_seal_nanos() const { return 0; }

  // The bound on the rows a build holds (ViewSetOptions::build_max_held_rows;
  // tests make it small, so that a build writes its rows several times).
  void set_build_max_held_rows(size_t rows) { build_max_held_rows_ = rows; }

 protected:
  size_t build_max_held_rows_ = kMaxRowsHeldByABuild;
};

using ProjectionFactory = std::function<std::unique_ptr<Projection>()>;

struct ProjectionDefinition {
  std::string name;
  int version = 0;
  ProjectionFactory make;
};

// The views of this build: projections/view_registry.h.

}  // namespace accountable
