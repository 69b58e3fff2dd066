#include "server/store_health.h"

#include <sys/statvfs.h>

#include <algorithm>
#include <filesystem>

namespace accountable {

namespace {

// A path ends at the first character that cannot be part of the paths we
// write (stream ids and file names are [A-Za-z0-9._:@-] and '/').
bool ends_path(char c) { return c == ' ' || c == ':' || c == ',' || c == ')' || c == '\'' || c == '"' || c == '\n'; }

bool is_io_failure(StatusCode code) {
  return code == StatusCode::kIOError || code == StatusCode::kNoSpace || code == StatusCode::kPoisoned ||
         code == StatusCode::kCorruption || code == StatusCode::kInternal || code == StatusCode::kLocked;
}

std::string store_label(std::string_view store) { return "the " + std::string(store) + " store's file"; }

}  // namespace

std::string_view store_of_relative_path(std::string_view rel) {
  auto starts = [&](std::string_view prefix) { return rel.substr(0, prefix.size()) == prefix; };
  if (starts("secrets/credentials")) return "credentials";
  if (starts("secrets/tokens")) return "tokens";
  if (starts("keys/")) return "keys";
  if (starts("log/")) return "log";
  if (starts("index/")) return "index";
  if (starts("views/")) return "views";
  if (starts("snapshots/")) return "snapshots";
  if (starts("merkle/")) return "tree";
  if (starts("signatures/")) return "signatures";
  if (starts("security/")) return "security_log";
  if (starts("operator.token")) return "operator_token";
  return "data";
}

const std::vector<StoreFolder>& store_folders() {
  static const std::vector<StoreFolder> kFolders = {
      {"log", "log"},           {"index", "index"},   {"keys", "keys"},           {"credentials", "secrets"},
      {"tokens", "secrets"},    {"views", "views"},   {"snapshots", "snapshots"}, {"tree", "merkle"},
      {"signatures", "signatures"}, {"security_log", "security"}};
  return kFolders;
}

StoreHealth& StoreHealth::process() {
  static StoreHealth health;
  return health;
}

void StoreHealth::register_data_folder(const std::string& dir) {
  std::error_code ec;
  std::string absolute = std::filesystem::absolute(dir, ec).lexically_normal().string();
  if (ec) absolute = dir;
  while (absolute.size() > 1 && absolute.back() == '/') absolute.pop_back();
  std::lock_guard lock(mu_);
  // A folder opened again (a restart in the same process: tests, the backup)
  // starts with no failures, as a new process would.
  std::erase_if(failures_, [&](const Failure& f) { return f.data_dir == absolute; });
  for (const std::string& d : data_dirs_) {
    if (d == absolute) return;
  }
  data_dirs_.push_back(absolute);
}

bool StoreHealth::split(std::string_view path, std::string* data_dir, std::string* relative) const {
  // The longest registered folder that is a prefix (a shard folder inside DATA wins over DATA).
  size_t best = 0;
  for (const std::string& d : data_dirs_) {
    if (d.size() > best && path.size() > d.size() && path.substr(0, d.size()) == d && path[d.size()] == '/') {
      best = d.size();
      *data_dir = d;
    }
  }
  if (best == 0) return false;
  *relative = std::string(path.substr(best + 1));
  return true;
}

std::string StoreHealth::public_message(const Status& s) const {
  const std::string& message = s.message();
  if (message.find('/') == std::string::npos) return message;
  const bool io = is_io_failure(s.code());
  std::lock_guard lock(mu_);
  std::string out;
  out.reserve(message.size());
  size_t i = 0;
  while (i < message.size()) {
    const bool starts_token = message[i] == '/' && (i == 0 || ends_path(message[i - 1]) || message[i - 1] == '(' ||
                                                    message[i - 1] == '=' || message[i - 1] == '[');
    if (!starts_token) {
      out += message[i++];
      continue;
    }
    size_t end = i;
    while (end < message.size() && !ends_path(message[end])) ++end;
    const std::string_view path(message.data() + i, end - i);
    std::string dir, rel;
    if (split(path, &dir, &rel)) {
      out += store_label(store_of_relative_path(rel));
    } else if (std::find(data_dirs_.begin(), data_dirs_.end(), path) != data_dirs_.end()) {
      out += "the data folder";
    } else if (io && path.rfind("/v1/", 0) != 0) {
      out += "a server file";
    } else {
      out += path;
    }
    i = end;
  }
  return out;
}

void StoreHealth::note_failure(const Status& s) {
  if (s.code() != StatusCode::kIOError && s.code() != StatusCode::kNoSpace && s.code() != StatusCode::kPoisoned) {
    return;
  }
  const std::string& message = s.message();
  const std::string shown = public_message(s);
  std::lock_guard lock(mu_);
  for (size_t at = message.find('/'); at != std::string::npos; at = message.find('/', at + 1)) {
    size_t end = at;
    while (end < message.size() && !ends_path(message[end])) ++end;
    std::string dir, rel;
    if (!split(std::string_view(message).substr(at, end - at), &dir, &rel)) continue;
    const std::string store(store_of_relative_path(rel));
    const bool no_space = s.code() == StatusCode::kNoSpace;
    any_failure_ = true;
    for (Failure& f : failures_) {
      if (f.data_dir == dir && f.store == store) {
        f.message = shown;
        f.at = Clock::now();
        f.no_space = no_space;
        return;
      }
    }
    failures_.push_back(Failure{dir, store, shown, Clock::now(), no_space});
    return;
  }
}

void StoreHealth::note_write_success() {
  std::lock_guard lock(mu_);
  if (!any_failure_) return;
  std::erase_if(failures_, [](const Failure& f) { return f.no_space; });
  any_failure_ = !failures_.empty();
}

std::vector<StoreHealth::Report> StoreHealth::report(const std::string& data_dir, uint64_t min_free_bytes,
                                                     std::chrono::seconds recent) const {
  std::error_code ec;
  std::string absolute = std::filesystem::absolute(data_dir, ec).lexically_normal().string();
  while (absolute.size() > 1 && absolute.back() == '/') absolute.pop_back();
  std::vector<Report> out;
  const auto now = Clock::now();
  for (const StoreFolder& f : store_folders()) {
    Report r;
    r.store = std::string(f.store);
    struct statvfs st {};
    const std::string folder = absolute + "/" + std::string(f.folder);
    if (::statvfs(folder.c_str(), &st) == 0 || ::statvfs(absolute.c_str(), &st) == 0) {
      r.free_bytes = static_cast<uint64_t>(st.f_bavail) * st.f_frsize;
      r.low_on_space = r.free_bytes < min_free_bytes;
    }
    {
      std::lock_guard lock(mu_);
      for (const Failure& fail : failures_) {
        if (fail.data_dir != absolute || fail.store != r.store) continue;
        const auto age = now - fail.at;
        if (age <= recent) {
          r.last_error = fail.message;
          r.seconds_since_error = std::chrono::duration<double>(age).count();
        }
      }
    }
    r.degraded = r.low_on_space || !r.last_error.empty();
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace accountable
