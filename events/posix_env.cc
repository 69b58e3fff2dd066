// posix_env(): the production Env (write/fdatasync for appends, mmap for reads,
// flock for the data-folder lock).
//
// Every error names the operation, the path and the errno text, e.g.
// "fdatasync /d/seg-1.log: Input/output error". ENOENT maps to kNotFound (so
// that callers can tell "missing" from "broken"), ENOSPC and EDQUOT to kNoSpace
// (a full disk: the server answers 503 and goes on once space is back), every
// other errno to kIOError.
#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <memory>
#include <string>
#include <system_error>
#include <utility>

#include "events/env.h"
#include "events/preallocated_file.h"

namespace accountable {
namespace {

// "op path: strerror(err)".
Status posix_error(std::string_view op, const std::string& path, int err) {
  std::string message(op);
  message += ' ';
  message += path;
  message += ": ";
  message += std::system_category().message(err);  // thread-safe, unlike strerror
  const StatusCode code = err == ENOENT                      ? StatusCode::kNotFound
                         : (err == ENOSPC || err == EDQUOT) ? StatusCode::kNoSpace
                                                            : StatusCode::kIOError;
  return Status(code, std::move(message));
}

int open_retrying(const char* path, int flags, mode_t mode = 0) {
  int fd;
  do {
    fd = ::open(path, flags | O_CLOEXEC, mode);
  } while (fd < 0 && errno == EINTR);
  return fd;
}

// Closes fd on scope exit unless released.
class FdGuard {
 public:
  explicit FdGuard(int fd) : fd_(fd) {}
  ~FdGuard() {
    if (fd_ >= 0) ::close(fd_);
  }
  FdGuard(const FdGuard&) = delete;
  FdGuard& operator=(const FdGuard&) = delete;
  int get() const { return fd_; }
  int release() { return std::exchange(fd_, -1); }

 private:
  int fd_;
};

class PosixWritableFile final : public PreallocatingFile {
 public:
  PosixWritableFile(std::string path, int fd, uint64_t size) : path_(std::move(path)), fd_(fd), size_(size), allocated_(size) {}
  ~PosixWritableFile() override {
    if (fd_ >= 0) ::close(fd_);  // errors here cannot be reported; callers that care call close()
  }

  Status append(std::string_view data) override {
    if (fd_ < 0) return io_error("write " + path_ + ": file is closed");
    const char* p = data.data();
    size_t left = data.size();
    while (left > 0) {
      const ssize_t n = ::write(fd_, p, left);
      if (n < 0) {
        if (errno == EINTR) continue;
        return posix_error("write", path_, errno);
      }
      // A short write is not an error by itself: the loop writes the rest, and
      // that write(2) reports ENOSPC etc. if the device really is full.
      p += n;
      left -= static_cast<size_t>(n);
      size_ += static_cast<uint64_t>(n);
    }
    allocated_ = std::max(allocated_, size_);
    return Status::ok();
  }

  Status sync() override {
    if (fd_ < 0) return io_error("fdatasync " + path_ + ": file is closed");
    int rc;
    do {
      rc = ::fdatasync(fd_);
    } while (rc < 0 && errno == EINTR);
    if (rc < 0) return posix_error("fdatasync", path_, errno);
    return Status::ok();
  }

  Status close() override {
    if (fd_ < 0) return Status::ok();
    // close() is not retried on EINTR: on Linux the descriptor is gone anyway.
    const int rc = ::close(std::exchange(fd_, -1));
    if (rc < 0 && errno != EINTR) return posix_error("close", path_, errno);
    return Status::ok();
  }

  uint64_t size() const override { return size_; }

  Status truncate(uint64_t size) override {
    if (fd_ < 0) return io_error("ftruncate " + path_ + ": file is closed");
    if (size > size_) return invalid_argument("ftruncate " + path_ + ": cannot grow a file");
    int rc;
    do {
      rc = ::ftruncate(fd_, static_cast<off_t>(size));
    } while (rc < 0 && errno == EINTR);
    if (rc < 0) return posix_error("ftruncate", path_, errno);
    // write(2) goes on at the descriptor's offset, not at the file's end: move
    // it back too, or the next append would leave a hole of zeros behind.
    if (::lseek(fd_, static_cast<off_t>(size), SEEK_SET) < 0) return posix_error("lseek", path_, errno);
    size_ = size;
    allocated_ = size;
    return Status::ok();
  }

  Status preallocate(uint64_t length) override {
    if (fd_ < 0) return io_error("write " + path_ + ": file is closed");
    ACCT_RETURN_IF_ERROR(positioned_writes());
    // Real zeros, not fallocate(): unwritten extents would still be converted
    // (a journalled metadata change) by the first fdatasync after each write.
    static const std::string zeros(1 << 20, '\0');
    while (allocated_ < length) {
      const size_t n = static_cast<size_t>(std::min<uint64_t>(zeros.size(), length - allocated_));
      const ssize_t w = ::pwrite(fd_, zeros.data(), n, static_cast<off_t>(allocated_));
      if (w < 0) {
        if (errno == EINTR) continue;
        return posix_error("write", path_, errno);
      }
      allocated_ += static_cast<uint64_t>(w);
    }
    return Status::ok();
  }

  uint64_t allocated() const override { return allocated_; }

  Status set_append_point(uint64_t offset) override {
    if (fd_ < 0) return io_error("lseek " + path_ + ": file is closed");
    if (offset > allocated_) return invalid_argument("lseek " + path_ + ": append point past the end of the file");
    ACCT_RETURN_IF_ERROR(positioned_writes());
    if (::lseek(fd_, static_cast<off_t>(offset), SEEK_SET) < 0) return posix_error("lseek", path_, errno);
    size_ = offset;
    return Status::ok();
  }

 private:
  // O_APPEND (reopen_writable_file) would send every write, pwrite too, to
  // the file's end, past the zeros: writes must go where the offset says.
  Status positioned_writes() {
    const int flags = ::fcntl(fd_, F_GETFL);
    if (flags < 0) return posix_error("fcntl", path_, errno);
    if ((flags & O_APPEND) != 0 && ::fcntl(fd_, F_SETFL, flags & ~O_APPEND) < 0) return posix_error("fcntl", path_, errno);
    if ((flags & O_APPEND) != 0 && ::lseek(fd_, static_cast<off_t>(size_), SEEK_SET) < 0) {
      return posix_error("lseek", path_, errno);
    }
    return Status::ok();
  }

  std::string path_;
  int fd_;
  uint64_t size_;       // the append point
  uint64_t allocated_;  // the file's length: size_ plus zero-filled space
};

// Reads through a shared read-only mapping of max(size at open, map_hint)
// bytes, made once. The mapping follows the page cache, so bytes appended
// later (by this or another process) are visible through it; the cached size
// keeps reads from touching pages past the end of the file (SIGBUS). Reads past
// the mapping use pread into scratch. The file must not shrink while it is open
// (a read of a page cut off behind the cached size would SIGBUS).
class PosixMmapFile final : public RandomAccessFile {
 public:
  PosixMmapFile(std::string path, int fd, const char* base, uint64_t map_len, uint64_t size)
      : path_(std::move(path)), fd_(fd), base_(base), map_len_(map_len), size_(size) {}
  ~PosixMmapFile() override {
    if (base_ != nullptr) ::munmap(const_cast<char*>(base_), map_len_);
    ::close(fd_);
  }

  Status read(uint64_t offset, size_t n, char* scratch, std::string_view* out) const override {
    *out = {};
    uint64_t size = size_.load(std::memory_order_acquire);
    if (offset > size || n > size - offset) {
      // The file may have grown (or been truncated) since: ask the kernel.
      struct stat st;
      if (::fstat(fd_, &st) != 0) return posix_error("fstat", path_, errno);
      size = static_cast<uint64_t>(st.st_size);
      size_.store(size, std::memory_order_release);
    }
    if (offset >= size || n == 0) return Status::ok();
    const size_t len = static_cast<size_t>(std::min<uint64_t>(n, size - offset));
    if (offset + len <= map_len_) {
      *out = std::string_view(base_ + offset, len);
      return Status::ok();
    }
    if (scratch == nullptr) {
      // A zero-copy caller passed no buffer: refuse rather than write through null.
      return io_error("read " + path_ + " at offset " + std::to_string(offset) + ": past the mapped range");
    }
    size_t got = 0;
    while (got < len) {
      const ssize_t r = ::pread(fd_, scratch + got, len - got, static_cast<off_t>(offset + got));
      if (r < 0) {
        if (errno == EINTR) continue;
        return posix_error("pread", path_, errno);
      }
      if (r == 0) break;  // truncated meanwhile: a short read means end of file
      got += static_cast<size_t>(r);
    }
    *out = std::string_view(scratch, got);
    return Status::ok();
  }

  // Caveat: only bytes below max(size at open, map_hint) come from the
  // mapping; a read past that is served from scratch. Callers that keep the
  // returned pointers must pass a map_hint covering the file's final size.
  bool zero_copy() const override { return true; }

  // A read-only shared file mapping: MADV_DONTNEED only unmaps the pages from
  // this process (RSS); a later access faults them in again from the page cache.
  void release_resident() const override {
    if (base_ != nullptr) ::madvise(const_cast<char*>(base_), map_len_, MADV_DONTNEED);
  }

 private:
  std::string path_;
  int fd_;
  const char* base_;  // nullptr when map_len_ == 0 (mmap of 0 bytes is invalid)
  uint64_t map_len_;
  mutable std::atomic<uint64_t> size_;  // last known file size; reads are const and concurrent
};

class PosixFileLock final : public FileLock {
 public:
  explicit PosixFileLock(int fd) : fd_(fd) {}
  ~PosixFileLock() override { ::close(fd_); }  // closing the description releases the flock

 private:
  int fd_;
};

class PosixEnv final : public Env {
 public:
  Result<std::unique_ptr<WritableFile>> new_writable_file(const std::string& path) override {
    const int fd = open_retrying(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0) return posix_error("open", path, errno);
    return std::unique_ptr<WritableFile>(std::make_unique<PosixWritableFile>(path, fd, 0));
  }

  Result<std::unique_ptr<WritableFile>> reopen_writable_file(const std::string& path) override {
    FdGuard fd(open_retrying(path.c_str(), O_WRONLY | O_APPEND));
    if (fd.get() < 0) return posix_error("open", path, errno);
    struct stat st;
    if (::fstat(fd.get(), &st) != 0) return posix_error("fstat", path, errno);
    return std::unique_ptr<WritableFile>(
        std::make_unique<PosixWritableFile>(path, fd.release(), static_cast<uint64_t>(st.st_size)));
  }

  Result<std::unique_ptr<RandomAccessFile>> new_random_access_file(const std::string& path,
                                                                   uint64_t map_hint) override {
    FdGuard fd(open_retrying(path.c_str(), O_RDONLY));
    if (fd.get() < 0) return posix_error("open", path, errno);
    struct stat st;
    if (::fstat(fd.get(), &st) != 0) return posix_error("fstat", path, errno);
    const uint64_t size = static_cast<uint64_t>(st.st_size);
    const uint64_t page = static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
    const uint64_t want = std::max(size, map_hint);
    const uint64_t map_len = (want + page - 1) / page * page;
    const char* base = nullptr;
    if (map_len > 0) {
      void* p = ::mmap(nullptr, map_len, PROT_READ, MAP_SHARED, fd.get(), 0);
      if (p == MAP_FAILED) return posix_error("mmap", path, errno);
      base = static_cast<const char*>(p);
    }
    return std::unique_ptr<RandomAccessFile>(
        std::make_unique<PosixMmapFile>(path, fd.release(), base, map_len, size));
  }

  // pread, not the mapping new_random_access_file makes: a file another
  // process cuts shorter while it is read (the log's active segment when it
  // rolls) then reads short instead of faulting. Bytes appended after the
  // fstat are not read: the result is a prefix of the file as it was.
  Result<std::string> read_file(const std::string& path) override {
    FdGuard fd(open_retrying(path.c_str(), O_RDONLY));
    if (fd.get() < 0) return posix_error("open", path, errno);
    struct stat st;
    if (::fstat(fd.get(), &st) != 0) return posix_error("fstat", path, errno);
    std::string out(static_cast<size_t>(st.st_size), '\0');
    size_t got = 0;
    while (got < out.size()) {
      const ssize_t r = ::pread(fd.get(), out.data() + got, out.size() - got, static_cast<off_t>(got));
      if (r < 0) {
        if (errno == EINTR) continue;
        return posix_error("pread", path, errno);
      }
      if (r == 0) break;  // cut shorter meanwhile
      got += static_cast<size_t>(r);
    }
    out.resize(got);
    return out;
  }

  bool file_exists(const std::string& path) override { return ::access(path.c_str(), F_OK) == 0; }

  Result<uint64_t> file_size(const std::string& path) override {
    struct stat st;
    if (::stat(path.c_str(), &st) != 0) return posix_error("stat", path, errno);
    return static_cast<uint64_t>(st.st_size);
  }

  Result<std::vector<std::string>> list_dir(const std::string& dir) override {
    DIR* d = ::opendir(dir.c_str());
    if (d == nullptr) return posix_error("opendir", dir, errno);
    std::vector<std::string> names;
    for (;;) {
      errno = 0;
      const dirent* e = ::readdir(d);
      if (e == nullptr) {
        const int err = errno;
        ::closedir(d);
        if (err != 0) return posix_error("readdir", dir, err);
        return names;
      }
      const std::string_view name = e->d_name;
      if (name == "." || name == "..") continue;
      names.emplace_back(name);
    }
  }

  Status create_dir(const std::string& dir) override {
    if (::mkdir(dir.c_str(), 0700) == 0) return Status::ok();
    const int err = errno;
    struct stat st;
    if (err == EEXIST && ::stat(dir.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) return Status::ok();
    return posix_error("mkdir", dir, err);
  }

  Status remove_file(const std::string& path) override {
    if (::unlink(path.c_str()) != 0) return posix_error("unlink", path, errno);
    return Status::ok();
  }

  Status rename_file(const std::string& from, const std::string& to) override {
    if (::rename(from.c_str(), to.c_str()) != 0) return posix_error("rename", from + " -> " + to, errno);
    return Status::ok();
  }

  Status truncate_file(const std::string& path, uint64_t size) override {
    FdGuard fd(open_retrying(path.c_str(), O_WRONLY));
    if (fd.get() < 0) return posix_error("open", path, errno);
    if (::ftruncate(fd.get(), static_cast<off_t>(size)) != 0) return posix_error("ftruncate", path, errno);
    if (::fsync(fd.get()) != 0) return posix_error("fsync", path, errno);  // the new size must be durable
    if (::close(fd.release()) != 0 && errno != EINTR) return posix_error("close", path, errno);
    return Status::ok();
  }

  Status sync_dir(const std::string& dir) override {
    const std::string d = dir.empty() ? "." : dir;
    FdGuard fd(open_retrying(d.c_str(), O_RDONLY | O_DIRECTORY));
    if (fd.get() < 0) return posix_error("open", d, errno);
    if (::fsync(fd.get()) != 0) return posix_error("fsync", d, errno);
    return Status::ok();
  }

  Result<std::unique_ptr<FileLock>> lock_file(const std::string& path) override {
    FdGuard fd(open_retrying(path.c_str(), O_RDWR | O_CREAT, 0600));
    if (fd.get() < 0) return posix_error("open", path, errno);
    int rc;
    do {
      rc = ::flock(fd.get(), LOCK_EX | LOCK_NB);
    } while (rc < 0 && errno == EINTR);
    if (rc < 0) {
      if (errno != EWOULDBLOCK) return posix_error("flock", path, errno);
      return Status(StatusCode::kLocked,
                    "data folder is in use by " + holder_of(fd.get()) + " (lock file " + path + ")");
    }
    // Flock locks belong to the open file description, so they vanish with the
    // process: a crashed holder never leaves a stale lock. The pid is only for
    // the message above.
    const std::string pid = std::to_string(::getpid()) + "\n";
    if (::ftruncate(fd.get(), 0) != 0) return posix_error("ftruncate", path, errno);
    const ssize_t written = ::pwrite(fd.get(), pid.data(), pid.size(), 0);
    if (written < 0) return posix_error("write", path, errno);
    if (written != static_cast<ssize_t>(pid.size())) return posix_error("write", path, EIO);  // never short in practice
    if (::fsync(fd.get()) != 0) return posix_error("fsync", path, errno);
    return std::unique_ptr<FileLock>(std::make_unique<PosixFileLock>(fd.release()));
  }

 private:
  // "pid 1234" from the lock file's content, or a vaguer phrase when the holder
  // has not written it yet.
  static std::string holder_of(int fd) {
    char buf[32];
    const ssize_t n = ::pread(fd, buf, sizeof buf, 0);
    long pid = 0;
    if (n > 0) {
      const auto [end, ec] = std::from_chars(buf, buf + n, pid);
      if (ec == std::errc() && pid > 0 && (end == buf + n || *end == '\n')) return "pid " + std::to_string(pid);
    }
    return "another process";
  }
};

}  // namespace

Env* posix_env() {
  static PosixEnv env;  // stateless, so its destruction at exit is harmless
  return &env;
}

}  // namespace accountable
