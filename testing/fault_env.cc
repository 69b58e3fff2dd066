#include "testing/fault_env.h"

#include "events/preallocated_file.h"

#include <unistd.h>

#include <algorithm>
#include <random>
#include <system_error>
#include <utility>

namespace accountable {
namespace {

// Same wording as posix_env(): "op path: strerror(err)".
Status os_error(std::string_view op, const std::string& path, int err) {
  std::string message(op);
  message += ' ';
  message += path;
  message += ": ";
  message += std::system_category().message(err);
  const StatusCode code = err == ENOENT                      ? StatusCode::kNotFound
                         : (err == ENOSPC || err == EDQUOT) ? StatusCode::kNoSpace
                                                            : StatusCode::kIOError;
  return Status(code, std::move(message));
}

Status invalidated(std::string_view op, const std::string& path) {
  return io_error(std::string(op) + " " + path + ": file handle invalidated by simulated power loss");
}

// "/a/b/" and "/a/b" name the same thing; "" is the current folder.
std::string normalize(const std::string& path) {
  if (path.empty()) return ".";
  size_t end = path.size();
  while (end > 1 && path[end - 1] == '/') --end;
  return path.substr(0, end);
}

std::string base_name(const std::string& path) {
  const size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

}  // namespace

struct FaultInjectionEnv::Inode {
  std::string data;     // what readers see now
  uint64_t synced = 0;  // data[0, synced) is durable (but see `undo`); always <= data.size()
  // Durable bytes overwritten in place (a preallocated zero tail) since the
  // last sync: (offset, the durable bytes), in write order. A power loss
  // restores them, or (torn) some of them.
  std::vector<std::pair<uint64_t, std::string>> undo;

  // Writes `bytes` at `at` (<= data.size()), remembering the durable bytes it replaces.
  void write_at(uint64_t at, std::string_view bytes) {
    const uint64_t in_synced = at < synced ? std::min<uint64_t>(bytes.size(), synced - at) : 0;
    if (in_synced > 0) undo.emplace_back(at, data.substr(static_cast<size_t>(at), static_cast<size_t>(in_synced)));
    const uint64_t overlap = std::min<uint64_t>(bytes.size(), data.size() - at);
    data.replace(static_cast<size_t>(at), static_cast<size_t>(overlap), bytes.substr(0, static_cast<size_t>(overlap)));
    data.append(bytes.substr(static_cast<size_t>(overlap)));
  }
  void cut(uint64_t size) {
    data.resize(static_cast<size_t>(size));
    synced = std::min<uint64_t>(synced, size);
    std::erase_if(undo, [&](const auto& entry) { return entry.first >= size; });
    for (auto& [at, old] : undo) old.resize(static_cast<size_t>(std::min<uint64_t>(old.size(), size - at)));
  }
};

class FaultInjectionEnv::Writable final : public PreallocatingFile {
 public:
  Writable(FaultInjectionEnv* env, std::string path, std::shared_ptr<Inode> inode, uint64_t epoch)
      : env_(env), path_(std::move(path)), inode_(std::move(inode)), epoch_(epoch), pos_(inode_->data.size()) {}

  Status append(std::string_view data) override {
    std::lock_guard lock(env_->mu_);
    if (closed_) return io_error("write " + path_ + ": file is closed");
    if (epoch_ != env_->epoch_) return invalidated("write", path_);
    size_t n = data.size();
    Status result;
    if (env_->short_write_) {
      n = std::min(n, *env_->short_write_);
      env_->short_write_.reset();
      result = os_error("write", path_, EIO);
    }
    pos_ = std::min<uint64_t>(pos_, inode_->data.size());  // the file was cut under this handle
    const uint64_t overwrite = std::min<uint64_t>(n, inode_->data.size() - pos_);
    const uint64_t room = env_->room_locked(inode_.get());
    if (n - overwrite > room) {
      n = static_cast<size_t>(overwrite + room);
      result = os_error("write", path_, ENOSPC);
    }
    inode_->write_at(pos_, data.substr(0, n));  // like write(2): a failed append may leave a prefix
    pos_ += n;
    return result;
  }

  Status preallocate(uint64_t length) override {
    std::lock_guard lock(env_->mu_);
    if (closed_) return io_error("write " + path_ + ": file is closed");
    if (epoch_ != env_->epoch_) return invalidated("write", path_);
    if (length <= inode_->data.size()) return Status::ok();
    uint64_t grow = length - inode_->data.size();
    Status result;
    if (grow > env_->room_locked(inode_.get())) {
      grow = env_->room_locked(inode_.get());
      result = os_error("write", path_, ENOSPC);
    }
    inode_->data.append(static_cast<size_t>(grow), '\0');
    return result;
  }

  uint64_t allocated() const override {
    std::lock_guard lock(env_->mu_);
    return inode_->data.size();
  }

  Status set_append_point(uint64_t offset) override {
    std::lock_guard lock(env_->mu_);
    if (closed_) return io_error("lseek " + path_ + ": file is closed");
    if (epoch_ != env_->epoch_) return invalidated("lseek", path_);
    if (offset > inode_->data.size()) return invalid_argument("lseek " + path_ + ": append point past the end of the file");
    pos_ = offset;
    return Status::ok();
  }

  Status sync() override {
    std::lock_guard lock(env_->mu_);
    ++env_->sync_calls_;
    if (closed_) return io_error("fdatasync " + path_ + ": file is closed");
    if (epoch_ != env_->epoch_) return invalidated("fdatasync", path_);
    if (env_->failing_syncs_ > 0) {
      --env_->failing_syncs_;
      return os_error("fdatasync", path_, env_->sync_errno_);
    }
    inode_->synced = inode_->data.size();
    inode_->undo.clear();
    return Status::ok();
  }

  Status close() override {
    std::lock_guard lock(env_->mu_);
    closed_ = true;  // also fine after a power loss, so that stores can shut down
    return Status::ok();
  }

  uint64_t size() const override {
    std::lock_guard lock(env_->mu_);
    return std::min<uint64_t>(pos_, inode_->data.size());
  }

  Status truncate(uint64_t size) override {
    std::lock_guard lock(env_->mu_);
    if (closed_) return io_error("ftruncate " + path_ + ": file is closed");
    if (epoch_ != env_->epoch_) return invalidated("ftruncate", path_);
    if (size > std::min<uint64_t>(pos_, inode_->data.size())) {
      return invalid_argument("ftruncate " + path_ + ": cannot grow a file");
    }
    inode_->cut(size);
    pos_ = size;
    return Status::ok();
  }

 private:
  FaultInjectionEnv* env_;
  std::string path_;
  std::shared_ptr<Inode> inode_;  // keeps writing to the same file after a rename or removal, as on POSIX
  uint64_t epoch_;
  bool closed_ = false;  // guarded by env_->mu_
  uint64_t pos_;         // the append point; guarded by env_->mu_
};

class FaultInjectionEnv::Reader final : public RandomAccessFile {
 public:
  Reader(const FaultInjectionEnv* env, std::string path, std::shared_ptr<const Inode> inode, uint64_t epoch)
      : env_(env), path_(std::move(path)), inode_(std::move(inode)), epoch_(epoch) {}

  Status read(uint64_t offset, size_t n, char* scratch, std::string_view* out) const override {
    std::lock_guard lock(env_->mu_);
    *out = {};
    if (epoch_ != env_->epoch_) return invalidated("pread", path_);
    const std::string& data = inode_->data;
    if (offset >= data.size()) return Status::ok();
    const size_t len = static_cast<size_t>(std::min<uint64_t>(n, data.size() - offset));
    std::copy_n(data.data() + offset, len, scratch);
    *out = std::string_view(scratch, len);
    return Status::ok();
  }

 private:
  const FaultInjectionEnv* env_;
  std::string path_;
  std::shared_ptr<const Inode> inode_;
  uint64_t epoch_;
};

class FaultInjectionEnv::Lock final : public FileLock {
 public:
  Lock(FaultInjectionEnv* env, std::string path, uint64_t token)
      : env_(env), path_(std::move(path)), token_(token) {}
  ~Lock() override { env_->unlock(path_, token_); }

 private:
  FaultInjectionEnv* env_;
  std::string path_;
  uint64_t token_;
};

FaultInjectionEnv::FaultInjectionEnv() : dirs_{"/", "."} {}
FaultInjectionEnv::~FaultInjectionEnv() = default;

Status FaultInjectionEnv::check_parent_locked(std::string_view op, const std::string& path) const {
  if (dirs_.count(path)) return os_error(op, path, EISDIR);
  if (!dirs_.count(parent_dir(path))) return os_error(op, path, ENOENT);
  return Status::ok();
}

uint64_t FaultInjectionEnv::used_bytes_locked(const Inode* extra) const {
  std::set<const Inode*> counted;  // a name and its pending-rename twin may share an inode
  uint64_t used = 0;
  for (const auto& [path, inode] : files_) {
    if (counted.insert(inode.get()).second) used += inode->data.size();
  }
  if (extra != nullptr && counted.insert(extra).second) used += extra->data.size();  // removed but still open
  return used;
}

uint64_t FaultInjectionEnv::room_locked(const Inode* extra) const {
  if (capacity_ == UINT64_MAX) return UINT64_MAX;
  return capacity_ - std::min(used_bytes_locked(extra), capacity_);
}

Result<std::unique_ptr<WritableFile>> FaultInjectionEnv::new_writable_file(const std::string& path_in) {
  const std::string path = normalize(path_in);
  std::lock_guard lock(mu_);
  ACCT_RETURN_IF_ERROR(check_parent_locked("open", path));
  auto& inode = files_[path];
  if (inode) {
    // O_TRUNC on the existing file: the shrink is durable at once (pessimistic).
    inode->data.clear();
    inode->synced = 0;
    inode->undo.clear();
  } else {
    inode = std::make_shared<Inode>();
  }
  return std::unique_ptr<WritableFile>(std::make_unique<Writable>(this, path, inode, epoch_));
}

Result<std::unique_ptr<WritableFile>> FaultInjectionEnv::reopen_writable_file(const std::string& path_in) {
  const std::string path = normalize(path_in);
  std::lock_guard lock(mu_);
  const auto it = files_.find(path);
  if (it == files_.end()) return os_error("open", path, dirs_.count(path) ? EISDIR : ENOENT);
  return std::unique_ptr<WritableFile>(std::make_unique<Writable>(this, path, it->second, epoch_));
}

Result<std::unique_ptr<RandomAccessFile>> FaultInjectionEnv::new_random_access_file(const std::string& path_in,
                                                                                   uint64_t /*map_hint*/) {
  const std::string path = normalize(path_in);
  std::lock_guard lock(mu_);
  const auto it = files_.find(path);
  if (it == files_.end()) return os_error("open", path, dirs_.count(path) ? EISDIR : ENOENT);
  return std::unique_ptr<RandomAccessFile>(std::make_unique<Reader>(this, path, it->second, epoch_));
}

bool FaultInjectionEnv::file_exists(const std::string& path_in) {
  const std::string path = normalize(path_in);
  std::lock_guard lock(mu_);
  return files_.count(path) > 0 || dirs_.count(path) > 0;
}

Result<uint64_t> FaultInjectionEnv::file_size(const std::string& path_in) {
  const std::string path = normalize(path_in);
  std::lock_guard lock(mu_);
  const auto it = files_.find(path);
  if (it == files_.end()) return os_error("stat", path, ENOENT);
  return static_cast<uint64_t>(it->second->data.size());
}

Result<std::vector<std::string>> FaultInjectionEnv::list_dir(const std::string& dir_in) {
  const std::string dir = normalize(dir_in);
  std::lock_guard lock(mu_);
  if (!dirs_.count(dir)) return os_error("opendir", dir, files_.count(dir) ? ENOTDIR : ENOENT);
  std::vector<std::string> names;
  for (const auto& [path, inode] : files_) {
    if (parent_dir(path) == dir) names.push_back(base_name(path));
  }
  for (const auto& sub : dirs_) {
    if (sub != dir && parent_dir(sub) == dir) names.push_back(base_name(sub));
  }
  return names;
}

Status FaultInjectionEnv::create_dir(const std::string& dir_in) {
  const std::string dir = normalize(dir_in);
  std::lock_guard lock(mu_);
  if (dirs_.count(dir)) return Status::ok();
  if (files_.count(dir)) return os_error("mkdir", dir, EEXIST);
  if (!dirs_.count(parent_dir(dir))) return os_error("mkdir", dir, ENOENT);
  dirs_.insert(dir);
  return Status::ok();
}

Status FaultInjectionEnv::remove_file(const std::string& path_in) {
  const std::string path = normalize(path_in);
  std::lock_guard lock(mu_);
  if (files_.erase(path) == 0) return os_error("unlink", path, dirs_.count(path) ? EISDIR : ENOENT);
  return Status::ok();
}

Status FaultInjectionEnv::rename_file(const std::string& from_in, const std::string& to_in) {
  const std::string from = normalize(from_in);
  const std::string to = normalize(to_in);
  std::lock_guard lock(mu_);
  const std::string what = from + " -> " + to;
  const auto it = files_.find(from);
  if (it == files_.end()) return os_error("rename", what, ENOENT);
  if (dirs_.count(to)) return os_error("rename", what, EISDIR);
  if (!dirs_.count(parent_dir(to))) return os_error("rename", what, ENOENT);
  if (from == to) return Status::ok();
  std::shared_ptr<Inode> inode = it->second;
  files_.erase(it);
  files_[to] = std::move(inode);
  return Status::ok();
}

Status FaultInjectionEnv::truncate_file(const std::string& path_in, uint64_t size) {
  const std::string path = normalize(path_in);
  std::lock_guard lock(mu_);
  const auto it = files_.find(path);
  if (it == files_.end()) return os_error("open", path, dirs_.count(path) ? EISDIR : ENOENT);
  Inode& inode = *it->second;
  inode.data.resize(static_cast<size_t>(size), '\0');
  inode.synced = inode.data.size();  // truncate_file syncs the file
  inode.undo.clear();
  return Status::ok();
}

Status FaultInjectionEnv::sync_dir(const std::string& dir_in) {
  const std::string dir = normalize(dir_in);
  std::lock_guard lock(mu_);
  ++sync_calls_;
  if (!dirs_.count(dir)) return os_error("open", dir, files_.count(dir) ? ENOTDIR : ENOENT);
  if (failing_syncs_ > 0) {
    --failing_syncs_;
    return os_error("fsync", dir, sync_errno_);
  }
  // The folder's durable entries become exactly its current entries.
  for (auto it = durable_files_.begin(); it != durable_files_.end();) {
    if (parent_dir(it->first) == dir && !files_.count(it->first)) {
      it = durable_files_.erase(it);
    } else {
      ++it;
    }
  }
  for (const auto& [path, inode] : files_) {
    if (parent_dir(path) == dir) durable_files_[path] = inode;
  }
  return Status::ok();
}

Result<std::unique_ptr<FileLock>> FaultInjectionEnv::lock_file(const std::string& path_in) {
  const std::string path = normalize(path_in);
  std::lock_guard lock(mu_);
  if (locks_.count(path)) {
    return Status(StatusCode::kLocked,
                  "data folder is in use by pid " + std::to_string(::getpid()) + " (lock file " + path + ")");
  }
  ACCT_RETURN_IF_ERROR(check_parent_locked("open", path));
  auto& inode = files_[path];
  if (!inode) inode = std::make_shared<Inode>();
  inode->data = std::to_string(::getpid()) + "\n";  // what posix_env() writes (and fsyncs)
  inode->synced = inode->data.size();
  inode->undo.clear();
  const uint64_t token = next_lock_token_++;
  locks_[path] = token;
  return std::unique_ptr<FileLock>(std::make_unique<Lock>(this, path, token));
}

void FaultInjectionEnv::unlock(const std::string& path, uint64_t token) {
  std::lock_guard lock(mu_);
  // After a power loss a new holder may own the path; only the owner releases it.
  const auto it = locks_.find(path);
  if (it != locks_.end() && it->second == token) locks_.erase(it);
}

void FaultInjectionEnv::drop_unsynced_data() {
  std::lock_guard lock(mu_);
  drop_unsynced_locked(std::nullopt);
}

void FaultInjectionEnv::drop_unsynced_data_torn(uint64_t seed) {
  std::lock_guard lock(mu_);
  drop_unsynced_locked(seed);
}

void FaultInjectionEnv::drop_unsynced_locked(std::optional<uint64_t> torn_seed) {
  // Raw engine output only: std distributions differ between standard libraries.
  std::mt19937_64 rng(torn_seed.value_or(0));
  files_ = durable_files_;
  std::set<const Inode*> done;
  for (auto& [path, inode] : files_) {  // sorted by path: deterministic
    if (!done.insert(inode.get()).second) continue;
    // In-place overwrites of durable bytes: undone, or (torn) each 512-byte
    // sector of them kept or undone at random: sectors reach the disk in any order.
    for (auto it = inode->undo.rbegin(); it != inode->undo.rend(); ++it) {
      for (uint64_t from = 0; from < it->second.size();) {
        const uint64_t sector_end = std::min<uint64_t>((it->first + from) / 512 * 512 + 512 - it->first, it->second.size());
        if (!torn_seed || rng() % 2 == 0) {
          inode->data.replace(static_cast<size_t>(it->first + from), static_cast<size_t>(sector_end - from),
                              it->second, static_cast<size_t>(from), static_cast<size_t>(sector_end - from));
        }
        from = sector_end;
      }
    }
    inode->undo.clear();
    uint64_t keep = inode->synced;
    if (torn_seed) {
      const uint64_t unsynced = inode->data.size() - inode->synced;
      const uint64_t extra = rng() % (unsynced + 1);
      // Garble up to 4 of the kept unsynced bytes in half of the cases.
      if (extra > 0 && rng() % 2 == 0) {
        const uint64_t garbled = 1 + rng() % std::min<uint64_t>(extra, 4);
        for (uint64_t i = 0; i < garbled; ++i) {
          const uint64_t at = inode->synced + rng() % extra;
          inode->data[at] = static_cast<char>(inode->data[at] ^ static_cast<char>(1 + rng() % 255));
        }
      }
      keep += extra;
    }
    inode->data.resize(static_cast<size_t>(keep));
    inode->synced = keep;  // what is on the disk after the reboot is durable
  }
  ++epoch_;
  locks_.clear();  // the process holding them is gone
}

void FaultInjectionEnv::fail_syncs(int count, int err) {
  std::lock_guard lock(mu_);
  failing_syncs_ = count;
  sync_errno_ = err;
}

void FaultInjectionEnv::set_capacity(uint64_t total_bytes) {
  std::lock_guard lock(mu_);
  capacity_ = total_bytes;
}

void FaultInjectionEnv::short_write_next(size_t keep_bytes) {
  std::lock_guard lock(mu_);
  short_write_ = keep_bytes;
}

Status FaultInjectionEnv::corrupt_byte(const std::string& path_in, uint64_t offset, uint8_t xor_mask) {
  const std::string path = normalize(path_in);
  std::lock_guard lock(mu_);
  const auto it = files_.find(path);
  if (it == files_.end()) return os_error("corrupt_byte", path, ENOENT);
  if (offset >= it->second->data.size()) {
    return invalid_argument("corrupt_byte " + path + ": offset " + std::to_string(offset) + " is past the end (" +
                            std::to_string(it->second->data.size()) + " bytes)");
  }
  // The durable content is a prefix of the same bytes, so this flips both...
  it->second->data[offset] = static_cast<char>(it->second->data[offset] ^ static_cast<char>(xor_mask));
  // ...unless the durable name still points at an older file (un-synced
  // rename or re-create): flip that one too.
  const auto durable = durable_files_.find(path);
  if (durable != durable_files_.end() && durable->second != it->second && offset < durable->second->synced) {
    durable->second->data[offset] = static_cast<char>(durable->second->data[offset] ^ static_cast<char>(xor_mask));
  }
  // ...and the durable bytes an unsynced in-place overwrite would restore.
  for (auto& [at, old] : it->second->undo) {
    if (offset >= at && offset < at + old.size()) old[offset - at] = static_cast<char>(old[offset - at] ^ static_cast<char>(xor_mask));
  }
  return Status::ok();
}

std::string FaultInjectionEnv::contents(const std::string& path) const {
  std::lock_guard lock(mu_);
  const auto it = files_.find(normalize(path));
  return it == files_.end() ? std::string() : it->second->data;
}

uint64_t FaultInjectionEnv::synced_size(const std::string& path) const {
  std::lock_guard lock(mu_);
  const auto it = files_.find(normalize(path));
  return it == files_.end() ? 0 : it->second->synced;
}

int FaultInjectionEnv::sync_calls() const {
  std::lock_guard lock(mu_);
  return sync_calls_;
}

Result<std::string> FaultInjectionEnv::read_file(const std::string& path) {
  Result<std::string> bytes = Env::read_file(path);
  std::unique_lock lock(stall_mu_);
  if (stall_path_ != path) return bytes;
  stall_path_.reset();
  stalled_ = true;
  stall_cv_.notify_all();
  stall_cv_.wait(lock, [&] { return released_; });
  stalled_ = false;
  return bytes;
}

void FaultInjectionEnv::stall_next_read(const std::string& path) {
  std::lock_guard lock(stall_mu_);
  stall_path_ = path;
  released_ = false;
}

bool FaultInjectionEnv::wait_for_stalled_read(std::chrono::milliseconds timeout) {
  std::unique_lock lock(stall_mu_);
  return stall_cv_.wait_for(lock, timeout, [&] { return stalled_; });
}

void FaultInjectionEnv::release_read_stall() {
  std::lock_guard lock(stall_mu_);
  stall_path_.reset();
  released_ = true;
  stall_cv_.notify_all();
}

}  // namespace accountable
