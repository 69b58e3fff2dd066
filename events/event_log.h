// EventLog: the durable, append-only, embedded event log.
//
//  - Appends are atomic across streams, checked against expected versions, and
//    idempotent by command id over the whole history.
//  - One writer thread group-commits: everything queued goes out in one write
//    and one fdatasync; appenders complete only after that fsync.
//  - Readers never see a position above the durable head.
//  - After a failed write or fsync the log is poisoned: appends fail, reads go on.
//
// Format and recovery rules: docs/log-format.md.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "events/env.h"
#include "events/envelope.h"
#include "events/histogram.h"
#include "events/log_index.h"
#include "events/status.h"

namespace accountable {

enum class RecoveryMode {
  kFailOnCorruption,  // default: corruption before the tail fails open
  kTruncate,          // move the bad bytes and everything after into quarantine/, then open
};

// One batch of sealed commit frames, exactly as the writer puts it in its
// segment: what a cluster leader replicates and its followers apply
// (docs/cluster.md). The frames carry every position, hash and CRC.
struct SealedBatch {
  GlobalPosition first;     // the batch's first position
  GlobalPosition last;      // its last position
  Hash256 prev_hash{};      // the hash chain at first - 1 (zeros at the start)
  Hash256 hash{};           // the hash chain at last
  std::string_view frames;  // the commit frames, byte for byte
};

// Cluster mode: called by the writer with each batch once it is sealed and
// before any byte of it is written. OK: the batch is written, fsynced and
// acknowledged. An error: nothing of the batch is written, its commits fail
// with that error, and the log is as it was before the batch.
using BatchReplicator = std::function<Status(const SealedBatch&)>;

struct LogOptions {
  std::string data_dir;
  Env* env = nullptr;  // null: posix_env()
  uint64_t segment_bytes = 128ull << 20;
  size_t max_queued_commits = 8192;
  size_t max_batch_commits = 1024;
  size_t max_batch_bytes = 8u << 20;
  std::chrono::milliseconds queue_wait{5000};  // a full queue waits this long, then `busy`
  // How long the writer may wait for the appenders of its previous batch to
  // come back before it writes a smaller batch (0: never wait).
  std::chrono::microseconds group_commit_window{100};
  // The index keeps at most about this many recent events in memory: then the
  // checkpointer writes them as an index run (docs/log-format.md, "Index runs").
  uint64_t checkpoint_every_events = 32'768;
  RecoveryMode recovery = RecoveryMode::kFailOnCorruption;
  std::function<Timestamp()> clock;  // null: the system clock
  // Tests of crashes turn this off: a crashed process writes nothing more.
  bool checkpoint_on_close = true;
  BatchReplicator replicator;  // null: a single node (nothing to replicate)
};

struct ReadOptions {
  bool verify_checksums = true;  // check each record's CRC as it is read
};

enum class Direction { kForward, kBackward };

// Events read back. The views in `events` stay valid while this batch and the
// log that produced it are alive.
class ReadBatch {
 public:
  std::vector<RecordedEvent> events;
  GlobalPosition next_position;  // $all reads: where to continue (first position not yet scanned)
  bool end_of_log = false;       // $all reads: the scan reached the durable head

 private:
  friend class EventLog;
  std::vector<std::unique_ptr<char[]>> buffers_;  // when the Env cannot map files
};

struct AllFilter {
  std::vector<std::string> types;  // empty: every type
  std::string stream_prefix;
  std::string partner;
  bool matches(const RecordedEvent& e) const;
};

struct LogStats {
  GlobalPosition head;
  uint64_t segments = 0;
  uint64_t streams = 0;
  uint64_t commits_appended = 0;  // by this process
  uint64_t batches_written = 0;
  uint64_t fsyncs = 0;
  uint64_t index_memory_bytes = 0;  // the recent events' index (the runs are mapped files)
  uint64_t index_runs = 0;
  uint64_t index_run_bytes = 0;
  bool opened_from_checkpoint = false;
  uint64_t events_scanned_at_open = 0;
  uint64_t truncated_bytes_at_open = 0;
  LatencyHistogram::Snapshot fsync_micros;   // of every fdatasync of a batch
  BatchSizeHistogram::Snapshot batch_commits;  // commits per written batch
};

class EventLog {
 public:
  static Result<std::unique_ptr<EventLog>> open(const LogOptions& options);
  ~EventLog();
  EventLog(const EventLog&) = delete;
  EventLog& operator=(const EventLog&) = delete;

  // Drains the queue, writes the index checkpoint and releases the folder.
  Status close();

  using AppendCallback = std::function<void(Result<CommitResult>)>;
  // Queues a commit; `done` runs once, on the writer thread, after the fsync
  // (or at once on the caller's thread if the request is refused up front).
  void append_async(CommitRequest request, AppendCallback done);
  Result<CommitResult> append(CommitRequest request);
  // The result of the commit that carried `command_id`, if the log has one
  // (marked duplicate); kConflict if that commit's digest differs from `digest`.
  // Lets a handler answer a retried command before deciding it again.
  Result<std::optional<CommitResult>> find_command(const CommandId& command_id,
                                                   const std::array<unsigned char, 16>& digest) const;

  Result<ReadBatch> read_stream(std::string_view stream, StreamVersion from, size_t limit,
                                Direction direction = Direction::kForward, ReadOptions options = {}) const;
  // Events with position >= from, up to `limit` matches, scanning at most
  // `max_scan` events (filters may skip many).
  Result<ReadBatch> read_all(GlobalPosition from, size_t limit, const AllFilter& filter = {},
                             ReadOptions options = {}, size_t max_scan = 1'000'000) const;

  // Streams every event with position >= from that matches `filter`, in
  // order, up to the durable head as of the call, without materialising them:
  // the views are valid during the call of `visit` only. `visit` returns false
  // to stop. The index lock is held only briefly per segment, never for the
  // whole scan, so a long scan does not hold up the writer.
  using EventVisitor = std::function<bool(const RecordedEvent&)>;
  Status scan_all(GlobalPosition from, const AllFilter& filter, const EventVisitor& visit,
                  ReadOptions options = {}) const;

  StreamVersion stream_version(std::string_view stream) const;
  GlobalPosition head() const { return GlobalPosition(durable_head_.load(std::memory_order_acquire)); }
  Hash256 head_hash() const;
  // The durable head and the hash chain value at exactly that position, taken
  // together (the writer updates both under one lock). Signed checkpoints use it.
  std::pair<GlobalPosition, Hash256> head_and_hash() const;
  // Blocks until head() >= position or the deadline passes; returns head() >= position.
  bool wait_for(GlobalPosition position, std::chrono::steady_clock::time_point deadline) const;
  // kPoisoned after a failed write or fsync, else OK.
  Status health() const;
  LogStats stats() const;
  // Unmaps the resident pages of the segments' and index runs' memory maps from the process
  // (they stay in the page cache): reads touch the whole log over time, and
  // each touched page would otherwise count in the process's RSS until the
  // kernel needs the memory (docs/memory.md).
  void release_mapped_pages() const;
  // Writes the recent events' index as a run, merges runs, and writes the
  // checkpoint naming them (also done on close and every N events).
  Status write_checkpoint();

  // Cluster followers: appends a batch that another copy of this log sealed,
  // byte for byte, so both copies hold the same segments. Checks first that
  // it continues this log: its first position is head + 1, its prev_hash the
  // head's hash, and every CRC, position, hash and stream version in it
  // (kCorruption naming the position otherwise; nothing is written). False
  // when the batch ends at or below the head (already here; nothing to do).
  // Waits for a batch being written to end.
  Result<bool> apply_sealed(const SealedBatch& batch);


 private:
  struct Segment {
    std::string path;
    std::string name;
    GlobalPosition base;
    std::unique_ptr<RandomAccessFile> file;
    uint64_t end = 0;  // bytes readers may read: the durable end of the segment
  };
  // A commit waiting in the queue, encoded by its appender, sealed by the writer.
  struct PendingCommit {
    struct StreamMeta {
      std::string stream;
      ExpectedVersion expected = ExpectedVersion::any();
      uint32_t events = 0;
    };
    std::string frame;
    CommandId command_id;
    std::array<unsigned char, 16> digest{};
    std::vector<StreamMeta> streams;
    std::shared_ptr<CommitLink> link;         // CommitRequest::link
    std::shared_ptr<const CommitLink> after;  // CommitRequest::after
    AppendCallback done;
    // Refused before it reached a batch: its link says so, then `done` runs.
    void refuse(const Status& why);
  };
  struct BatchState;

  explicit EventLog(LogOptions options);
  Status recover();
  Status load_checkpoint();
  // Removes run files the loaded checkpoint does not name, and unfinished .tmp files.
  void remove_unused_index_files();
  // Merges the newest runs while the newest is at least a quarter of the one
  // before it (so runs stay few and each event's index is rewritten a few times).
  Status merge_runs(std::vector<std::shared_ptr<const IndexRun>>* runs, std::vector<std::string>* unused);
  Status scan_tail(size_t first_segment, uint64_t first_offset);
  Status quarantine(size_t segment_index, uint64_t offset, const std::string& why);
  Status open_active_segment();

  // Validates and encodes a request for the queue; an error goes to `done`.
  std::optional<PendingCommit> prepare(CommitRequest request, AppendCallback& done);
  // A lone synchronous appender writes its own commit when no batch is being
  // written and the last batch had one commit: no hand-off to the writer
  // thread and back. False (and `pc` untouched) when it may not.
  bool try_write_alone(PendingCommit& pc);
  // Puts a prepared commit on the bounded queue (or fails it: full, closing).
  void enqueue(PendingCommit pc);
  void writer_loop();
  void process_batch(std::vector<PendingCommit>& batch);
  // Runs the callbacks of a batch, then wakes every synchronous appender at once.
  void complete(std::vector<PendingCommit>& batch, std::vector<std::optional<Result<CommitResult>>>& outcomes);
  Status roll_segment(GlobalPosition base);
  // Zero-fills the active segment ahead of a batch that ends at `end`
  // (docs/log-format.md, "Preallocated segments").
  Status ensure_preallocated(uint64_t end);
  Result<bool> apply_sealed_locked(const SealedBatch& batch);  // apply_sealed, in the writer's place
  // Writes sealed frames at the end of the active segment (rolling first when
  // they would push it past segment_bytes) and fsyncs them; poisons the log on
  // failure, except (when `may_undo_on_full_disk`) a write refused by a full
  // disk, which is cut off the file again and returned as kNoSpace. Returns
  // the offset the frames start at. Writer only.
  Result<uint64_t> write_sealed(std::string_view frames, GlobalPosition first, size_t commits,
                                bool may_undo_on_full_disk);
  // Tells readers about a new durable head (and asks for an index checkpoint
  // every checkpoint_every_events). Writer only, after the index was updated.
  void publish_head();
  using CommandDigest = std::array<unsigned char, 16>;
  // With a digest, a different one is a kConflict. Caller holds the index lock
  // (or is the writer).
  Result<CommitResult> lookup_committed(const CommandId& command_id, const CommandDigest* digest, bool* found) const;
  void poison(const Status& cause);
  void checkpointer_loop();

  // The one sequential read of $all behind read_all and scan_all: calls `visit`
  // for every event from `from` up to `head_now` with whether it matches the
  // filter, until `visit` returns false. Chunks read into memory (Envs that
  // cannot map) are kept in `keep` when given, so that its events stay valid.
  using ScanVisitor = std::function<bool(const RecordedEvent&, bool matches)>;
  Status scan(GlobalPosition from, const AllFilter& filter, ReadOptions options, ReadBatch* keep,
              GlobalPosition head_now, const ScanVisitor& visit) const;

  // Reads `n` bytes at `location`; the view lives in the map or in `batch`.
  Result<std::string_view> read_at(uint64_t location, size_t n, ReadBatch* batch, std::string* scratch) const;
  Result<std::string_view> read_frame_at(uint64_t location, ReadBatch* batch, std::string* scratch) const;

  LogOptions options_;
  Env* env_;
  std::string log_dir_;
  std::string index_dir_;
  std::string index_path_;  // the checkpoint file, naming the runs
  std::unique_ptr<FileLock> lock_;

  // Guarded by index_mu_: the index, the segment list, and segment ends.
  mutable std::shared_mutex index_mu_;
  LogIndex index_;
  std::vector<std::unique_ptr<Segment>> segments_;
  Hash256 head_hash_{};
  uint64_t head_record_location_ = 0;

  std::atomic<uint64_t> durable_head_{0};
  // Batches completed (wrapping); synchronous appenders sleep on it (events/futex.h).
  std::atomic<uint32_t> completions_{0};
  mutable std::mutex head_mu_;  // with head_cv_: wake readers waiting for a position
  mutable std::condition_variable head_cv_;

  // The queue between appenders and the writer.
  std::mutex queue_mu_;
  std::condition_variable queue_not_empty_;
  std::condition_variable queue_not_full_;
  std::deque<PendingCommit> queue_;
  bool stopping_ = false;
  size_t gather_target_ = 1;  // the queue length at which appenders wake the writer
  // A batch is being written, by the writer thread or by a lone appender
  // (try_write_alone): at most one at a time. batch_idle_ signals its end.
  bool batch_in_progress_ = false;
  std::condition_variable batch_idle_;

  // Owned by whoever writes the current batch (batch_in_progress_).
  std::unique_ptr<WritableFile> active_file_;
  // Whether the writer zero-fills ahead in the active segment: not in a
  // version 1 segment (its zeros would read as a torn tail), nor after the
  // disk was found full, until the next segment.
  bool preallocate_active_ = false;
  uint64_t checkpoint_head_ = 0;     // open: the head an intact index checkpoint recorded
  uint64_t scan_start_ = 0;          // open: the location the tail scan starts from
  Timestamp last_recorded_at_{};
  size_t last_batch_commits_ = 1;
  uint64_t checkpoint_position_hint_ = 0;  // head when the writer last asked for a checkpoint
  std::thread writer_;

  mutable std::mutex poison_mu_;
  Status poisoned_;

  std::mutex checkpoint_mu_;
  std::condition_variable checkpoint_cv_;
  bool checkpoint_wanted_ = false;
  bool stopping_checkpointer_ = false;
  std::thread checkpointer_;
  // One write_checkpoint() at a time; with it, what the frozen part of the
  // index covers (set when it was frozen, kept while its run is not written).
  std::mutex checkpoint_write_mu_;
  CheckpointContents frozen_covers_;

  std::atomic<uint64_t> commits_appended_{0};
  std::atomic<uint64_t> batches_written_{0};
  std::atomic<uint64_t> fsyncs_{0};
  LatencyHistogram fsync_micros_{kLatencyBoundsMicros};
  BatchSizeHistogram batch_commits_{kBatchSizeBounds};
  bool opened_from_checkpoint_ = false;
  uint64_t events_scanned_at_open_ = 0;
  uint64_t truncated_bytes_at_open_ = 0;
  bool recovered_ = false;  // close() writes a checkpoint only of a fully recovered log
  bool closed_ = false;
};

}  // namespace accountable
