// Env: every file-system call the log makes goes through this small interface,
// so that tests can drop unsynced data, inject EIO/ENOSPC and tear writes
// (see testing/fault_env.h). Production uses posix_env().
//
// Contract shared by all implementations:
//  - WritableFile::append buffers nothing of its own: bytes handed to append are
//    "written" (visible to readers of the same Env) when it returns OK, and
//    durable only after sync() returns OK.
//  - A file's creation, rename or removal is durable only after sync_dir() on
//    its parent folder returns OK.
//  - Paths are plain strings; folders are separated by '/'.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "events/status.h"

namespace accountable {

class WritableFile {
 public:
  virtual ~WritableFile() = default;
  // Appends all of `data` or fails. A failed append may have written a prefix.
  virtual Status append(std::string_view data) = 0;
  // fdatasync: makes every appended byte durable.
  virtual Status sync() = 0;
  virtual Status close() = 0;
  virtual uint64_t size() const = 0;  // bytes appended so far (incl. existing)
  // Cuts the file back to `size` (<= size()): undoes a failed append's prefix.
  virtual Status truncate(uint64_t size) = 0;
};

class RandomAccessFile {
 public:
  virtual ~RandomAccessFile() = default;
  // Reads up to `n` bytes at `offset`. `*out` points either into `scratch`
  // (which must hold n bytes) or into memory owned by the file that stays valid
  // and unchanged while the file is open (a memory map). Fewer bytes than asked
  // means end of file.
  virtual Status read(uint64_t offset, size_t n, char* scratch, std::string_view* out) const = 0;
  // True when read() returns pointers into stable memory and never uses scratch.
  virtual bool zero_copy() const { return false; }
  // Drops the process's resident pages of a memory map (they stay in the
  // kernel's page cache; the next read maps them again, same bytes). Pointers
  // read() returned stay valid. No-op when nothing is mapped.
  virtual void release_resident() const {}
};

// An exclusive lock on a data folder, held until destroyed.
class FileLock {
 public:
  virtual ~FileLock() = default;
};

class Env {
 public:
  virtual ~Env() = default;

  // Creates (or truncates) `path` for appending.
  virtual Result<std::unique_ptr<WritableFile>> new_writable_file(const std::string& path) = 0;
  // Opens an existing file for appending at its end.
  virtual Result<std::unique_ptr<WritableFile>> reopen_writable_file(const std::string& path) = 0;
  // Opens for reads. `map_hint` is the size worth mapping at once; a file that
  // grows after opening is readable up to its new size as long as the
  // implementation can (posix maps `map_hint` bytes up front).
  virtual Result<std::unique_ptr<RandomAccessFile>> new_random_access_file(const std::string& path,
                                                                           uint64_t map_hint = 0) = 0;

  virtual bool file_exists(const std::string& path) = 0;
  virtual Result<uint64_t> file_size(const std::string& path) = 0;
  // Names (not paths) of the entries of `dir`, unsorted.
  virtual Result<std::vector<std::string>> list_dir(const std::string& dir) = 0;
  virtual Status create_dir(const std::string& dir) = 0;  // OK if it exists
  virtual Status remove_file(const std::string& path) = 0;
  virtual Status rename_file(const std::string& from, const std::string& to) = 0;
  virtual Status truncate_file(const std::string& path, uint64_t size) = 0;  // and syncs it
  virtual Status sync_dir(const std::string& dir) = 0;

  // Takes an exclusive lock on `path` (created if missing) and writes this
  // process's pid into it. Fails with kLocked naming the holder's pid.
  virtual Result<std::unique_ptr<FileLock>> lock_file(const std::string& path) = 0;

  // Reads a whole file into memory, with plain reads where the Env can (no
  // mapping, so a file cut shorter meanwhile reads short instead of faulting).
  virtual Result<std::string> read_file(const std::string& path);
  // Writes a metadata file crash-safely: temp file, sync, rename, sync folder.
  Status write_file_atomically(const std::string& path, std::string_view data);
};

// The process-wide POSIX implementation (pread/mmap, write, fdatasync, flock).
Env* posix_env();

std::string parent_dir(const std::string& path);
std::string join_path(const std::string& dir, const std::string& name);

// `dir` and any of its parents that do not exist yet (as mkdir -p), each made
// level synced into its parent, so that the folder outlives a crash. An error
// names the level that could not be made (a file in the way, no permission).
Status create_dirs(Env* env, const std::string& dir);

}  // namespace accountable
