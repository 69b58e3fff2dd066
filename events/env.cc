// The non-virtual helpers of Env; they only use the virtual interface, so they
// behave the same on posix_env() and on FaultInjectionEnv.
#include "events/env.h"

#include <algorithm>
#include <vector>

namespace accountable {

Result<std::string> Env::read_file(const std::string& path) {
  auto file = new_random_access_file(path);
  if (!file) return file.status();
  // Read in chunks until a short read, so that a file that changes size
  // between a size query and the reads still comes back whole.
  constexpr size_t kChunk = 64 * 1024;
  std::string out;
  std::string scratch(kChunk, '\0');
  for (;;) {
    std::string_view got;
    ACCT_RETURN_IF_ERROR((*file)->read(out.size(), kChunk, scratch.data(), &got));
    out.append(got.data(), got.size());
    if (got.size() < kChunk) return out;
  }
}

Status Env::write_file_atomically(const std::string& path, std::string_view data) {
  const std::string tmp = path + ".tmp";
  auto write_tmp = [&]() -> Status {
    auto file = new_writable_file(tmp);
    if (!file) return file.status();
    ACCT_RETURN_IF_ERROR((*file)->append(data));
    ACCT_RETURN_IF_ERROR((*file)->sync());  // the content must be durable before the rename publishes it
    return (*file)->close();
  };
  if (Status s = write_tmp(); !s.is_ok()) {
    remove_file(tmp).ignore();  // best effort; a stale .tmp is harmless and overwritten next time
    return s;
  }
  ACCT_RETURN_IF_ERROR(rename_file(tmp, path));
  return sync_dir(parent_dir(path));  // makes the rename itself durable
}

std::string parent_dir(const std::string& path) {
  size_t end = path.size();
  while (end > 1 && path[end - 1] == '/') --end;  // "a/b/" names the same file as "a/b"
  const size_t slash = path.rfind('/', end == 0 ? 0 : end - 1);
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  size_t parent_end = slash;
  while (parent_end > 1 && path[parent_end - 1] == '/') --parent_end;  // "a//b" -> "a"
  return path.substr(0, parent_end);
}

Status create_dirs(Env* env, const std::string& dir) {
  // The levels missing, deepest first; the walk up ends at the first that exists.
  std::vector<std::string> missing;
  for (std::string level = dir; !env->file_exists(level); level = parent_dir(level)) {
    missing.push_back(level);
    if (level == "/" || level == "." || missing.size() > 4096) break;  // bounded: parent_dir shortens each step
  }
  for (auto it = missing.rbegin(); it != missing.rend(); ++it) {
    ACCT_RETURN_IF_ERROR(env->create_dir(*it));
    ACCT_RETURN_IF_ERROR(env->sync_dir(parent_dir(*it)));
  }
  return Status::ok();
}

std::string join_path(const std::string& dir, const std::string& name) {
  if (dir.empty()) return name;
  if (dir.back() == '/') return dir + name;
  return dir + "/" + name;
}

}  // namespace accountable
