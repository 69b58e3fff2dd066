// FaultInjectionEnv: an in-memory file system for crash and fault tests, after
// leveldb's db/fault_injection_test.cc and rocksdb's FaultInjectionTestFS.
//
// Model (pessimistic where real file systems vary):
//  - Each file has its current bytes and a synced length: the durable content
//    is the prefix current[0, synced), except where a write overwrote synced
//    bytes in place (a preallocated zero tail, PreallocatingFile): a power
//    loss restores those, or a torn one some of them. sync() makes all
//    current bytes durable. Shrinking a file (new_writable_file over an existing one,
//    truncate_file) is durable at once, so a crash after a re-create without
//    sync leaves an empty file, never the old bytes.
//  - Creating, renaming and removing a file is durable only after sync_dir()
//    of the folder holding the name; each folder is tracked on its own (a
//    rename across folders needs both synced).
//  - Folders exist once create_dir() returns (durable at once: the log creates
//    its folder once, before anything else). "/" and "." always exist. As with
//    POSIX, a file can only be created in an existing folder.
//  - Power loss (drop_unsynced_data*) ends the simulated process: every
//    handle opened before it fails afterwards (kIOError "file handle
//    invalidated by simulated power loss"; close() still succeeds), and every
//    lock is released. Fault settings (fail_syncs, capacity, short write) are
//    kept.
//  - All methods are thread-safe (one mutex). Handles and locks refer to the
//    env, which must outlive them.
#pragma once

#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "events/env.h"

namespace accountable {

class FaultInjectionEnv final : public Env {
 public:
  FaultInjectionEnv();
  ~FaultInjectionEnv() override;
  FaultInjectionEnv(const FaultInjectionEnv&) = delete;
  FaultInjectionEnv& operator=(const FaultInjectionEnv&) = delete;

  // --- Env -------------------------------------------------------------------
  Result<std::unique_ptr<WritableFile>> new_writable_file(const std::string& path) override;
  Result<std::unique_ptr<WritableFile>> reopen_writable_file(const std::string& path) override;
  // Reads copy into scratch (zero_copy() is false) and see later appends.
  Result<std::unique_ptr<RandomAccessFile>> new_random_access_file(const std::string& path,
                                                                   uint64_t map_hint = 0) override;
  bool file_exists(const std::string& path) override;  // a file or a folder
  Result<uint64_t> file_size(const std::string& path) override;
  Result<std::vector<std::string>> list_dir(const std::string& dir) override;
  Status create_dir(const std::string& dir) override;
  Status remove_file(const std::string& path) override;
  Status rename_file(const std::string& from, const std::string& to) override;
  Status truncate_file(const std::string& path, uint64_t size) override;  // zero-fills when growing
  Status sync_dir(const std::string& dir) override;
  // In-process exclusive lock per path; the file gets "<pid>\n" like on POSIX.
  Result<std::unique_ptr<FileLock>> lock_file(const std::string& path) override;
  // Env's read, then the stall below when armed for `path`.
  Result<std::string> read_file(const std::string& path) override;

  // --- Simulated crashes -------------------------------------------------------
  // Power loss: every file is cut back to its synced length; un-synced
  // creations, renames and removals are undone. Drop the store's handles first.
  void drop_unsynced_data();
  // Like drop_unsynced_data(), but each file keeps a random prefix of its
  // unsynced bytes (possibly all or none), and some of those kept bytes may be
  // garbled (torn pages). Deterministic for a given seed and history.
  void drop_unsynced_data_torn(uint64_t seed);

  // --- Injected faults -------------------------------------------------------
  // The next `count` sync()/sync_dir() calls fail with `err` and make nothing durable.
  void fail_syncs(int count, int err = EIO);
  // Caps the bytes of all files together; an append that would go over writes
  // the prefix that fits and fails with ENOSPC. Default: unlimited.
  void set_capacity(uint64_t total_bytes);
  // The next append writes only min(keep_bytes, its size) bytes, then fails with EIO.
  void short_write_next(size_t keep_bytes);
  // Flips bits of the byte at `offset` of `path`, in both the current and the
  // durable content (kNotFound / kInvalidArgument on a bad path or offset).
  Status corrupt_byte(const std::string& path, uint64_t offset, uint8_t xor_mask = 0x01);

  // --- Stalls: a thread held between two steps, deterministically ------------
  // The next read_file() of `path` reads, then waits until release_read_stall().
  void stall_next_read(const std::string& path);
  // True once a read is waiting there; false if none does within `timeout`.
  bool wait_for_stalled_read(std::chrono::milliseconds timeout);
  void release_read_stall();

  // --- Inspection -------------------------------------------------------------
  // Current content of `path`; empty if there is no such file.
  std::string contents(const std::string& path) const;
  // Durable length of the file now named `path` (0 if there is no such file);
  // whether the name itself survives a power loss depends on sync_dir().
  uint64_t synced_size(const std::string& path) const;
  // sync() plus sync_dir() calls so far, failed ones included.
  int sync_calls() const;

 private:
  struct Inode;
  class Writable;
  class Reader;
  class Lock;
  using FileMap = std::map<std::string, std::shared_ptr<Inode>>;

  void drop_unsynced_locked(std::optional<uint64_t> torn_seed);
  Status check_parent_locked(std::string_view op, const std::string& path) const;
  uint64_t used_bytes_locked(const Inode* extra) const;
  uint64_t room_locked(const Inode* extra) const;  // bytes left under capacity_
  void unlock(const std::string& path, uint64_t token);

  mutable std::mutex mu_;
  FileMap files_;          // the names a reader sees now
  FileMap durable_files_;  // the names that survive a power loss
  std::set<std::string> dirs_;
  uint64_t epoch_ = 0;  // bumped by power loss; handles from an older epoch are dead
  int sync_calls_ = 0;
  int failing_syncs_ = 0;
  int sync_errno_ = EIO;
  uint64_t capacity_ = UINT64_MAX;
  std::optional<size_t> short_write_;
  std::map<std::string, uint64_t> locks_;  // path -> token of the live FileLock
  uint64_t next_lock_token_ = 1;

  std::mutex stall_mu_;  // apart from mu_, which the stalled read does not hold
  std::condition_variable stall_cv_;
  std::optional<std::string> stall_path_;
  bool stalled_ = false, released_ = false;
};

}  // namespace accountable
