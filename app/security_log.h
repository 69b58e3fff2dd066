// SecurityLog: an append-only record of who got in and who was shut out
// (docs/security-log.md): sign-ins (accepted, refused, turned away by the
// limiter), sign-outs, ended sessions, revoked tokens, auditor tokens issued,
// and every use of the operator's token; with the time, the principal and the
// client address. It is kept beside the account log, never in it, so it does
// not swell the account's history, and it holds no secret: no token, token
// hash, password or email (a user is named by id).
//
//  - Files: DATA/security/<first seq, 20 digits>.seclog, each "ACCTSEC1" then
//    records `u32 len | u32 masked crc32c | payload`, the payload one JSON
//    object. Each record carries `prev`, the SHA-256 of the previous record's
//    payload, so that a record changed, removed or reordered breaks the chain
//    (`acct security-log verify`).
//  - record() never blocks a request: records go to a bounded queue, written
//    and fdatasynced in batches by one thread. When the queue is full, or a
//    write fails (a full disk), records are dropped and counted, and the next
//    record written says how many ("records_dropped"). After a failed fsync
//    nothing more is written (the file's state is unknown); /healthz shows it.
//  - Retention: a file is closed at `max_file_bytes`; closed files older than
//    `retention` or beyond `max_total_bytes` (oldest first) are deleted.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <boost/json.hpp>

#include "aggregates/context.h"
#include "events/env.h"
#include "events/sha256.h"

namespace accountable {

// One entry. Empty strings are left out of the record.
struct SecurityEvent {
  std::string kind;            // sign_in, sign_out, session_revoked, ... (docs/security-log.md)
  std::string outcome;         // ok, failed, refused
  std::string principal;       // user:<id>, auditor:<grant>, operator, anonymous
  std::string partner;         // the partner it concerns, if any (what a partner's readers may see)
  std::string session;         // the public session id
  std::string client_address;  // the TCP peer
  std::string detail;          // what else explains it (a route, a count, a reason); never a secret
};

struct SecurityLogOptions {
  size_t max_queued = 10'000;  // records waiting for the writer; more are dropped (and counted)
  uint64_t max_file_bytes = 8ull << 20;
  uint64_t max_total_bytes = 1ull << 30;
  std::chrono::hours retention{24 * 400};
};

struct SecurityLogStats {
  uint64_t written = 0, dropped = 0, write_failures = 0;
  uint64_t next_seq = 1;
  bool poisoned = false;  // a failed fsync: nothing more is written
  bool failing = false;   // the last batch was not written (a full disk, say)
  std::string last_error;
};

class SecurityLog {
 public:
  // Opens DATA/security (creating it), continuing the last file's chain; a
  // torn last record (a crash mid-append) is cut off. A damaged record with
  // more after it is left for `verify` to report, and writing goes on in a
  // new file.
  static Result<std::unique_ptr<SecurityLog>> open(Env* env, const std::string& data_dir, const Clock* clock,
                                                   SecurityLogOptions options = {});
  ~SecurityLog();  // writes what is queued, then stops
  SecurityLog(const SecurityLog&) = delete;
  SecurityLog& operator=(const SecurityLog&) = delete;

  void record(SecurityEvent event);
  // Waits (at most `wait`) until everything recorded before the call is written
  // and synced or dropped; kDeadlineExceeded when the wait ran out.
  Status flush(std::chrono::milliseconds wait = std::chrono::milliseconds(10'000));
  SecurityLogStats stats() const;
  const std::string& dir() const { return dir_; }
  Env* env() const { return env_; }

  // --- reading (the files, also while a server appends) -----------------------
  struct Page {
    std::vector<boost::json::object> records;
    uint64_t next = 0;     // the seq to ask for next
    bool end = true;       // no record after these (yet)
  };
  // Records with seq >= `from`, at most `limit` of those `keep` accepts
  // (null: all). kCorruption naming the file and offset at a damaged record.
  // `dir`: the log's folder (folder(DATA), or dir()).
  static Result<Page> read(Env* env, const std::string& dir, uint64_t from, size_t limit,
                           const std::function<bool(const boost::json::object&)>& keep = nullptr);

  struct Verification {
    uint64_t records = 0, files = 0;
    uint64_t first_seq = 0, last_seq = 0;
    bool chain_starts_at_genesis = false;  // false: older files were deleted by retention
    std::string damage;                    // empty: every record intact and chained
  };
  // Checks every CRC, that seqs follow each other, and the chain of `prev`.
  static Result<Verification> verify(Env* env, const std::string& dir);

  static std::string folder(const std::string& data_dir);

 private:
  SecurityLog(Env* env, std::string dir, const Clock* clock, SecurityLogOptions options)
      : env_(env), dir_(std::move(dir)), clock_(clock), options_(options) {}
  struct Queued {
    SecurityEvent event;
    Timestamp at;
  };
  void run();
  // Writes the batch as records (after a "records_dropped" one when records
  // were lost), then syncs. Writer thread only.
  void write_batch(std::deque<Queued>& batch);
  Status open_file_locked(uint64_t first_seq);  // writer state; called at open and on rotation
  void apply_retention();

  Env* env_;
  const std::string dir_;
  const Clock* clock_;
  const SecurityLogOptions options_;

  // The writer's state (the writer thread only, and open() before it starts).
  std::unique_ptr<WritableFile> file_;
  std::string file_path_;
  uint64_t good_size_ = 0;  // the file's size after its last synced record
  Hash256 prev_{};          // SHA-256 of the last payload written
  uint64_t next_seq_ = 1;
  uint64_t lost_ = 0;       // dropped since the last record written
  bool cut_needed_ = false;  // a failed append may have left bytes after good_size_

  mutable std::mutex mu_;
  std::condition_variable wake_, done_;
  std::deque<Queued> queue_;  // guarded by mu_
  uint64_t enqueued_ = 0, finished_ = 0;  // records handed in / written or dropped (mu_)
  uint64_t lost_pending_ = 0;  // dropped by record() (queue full), not yet noted by the writer (mu_)
  SecurityLogStats stats_;    // mu_
  bool stop_ = false;         // mu_
  std::thread writer_;
};

}  // namespace accountable
