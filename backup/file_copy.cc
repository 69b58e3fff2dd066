#include "backup/file_copy.h"

namespace accountable {

namespace {

constexpr size_t kChunk = 1 << 20;

// Reads `path` chunk by chunk, handing each to `sink`, until a short read.
template <class Sink>
Result<uint64_t> read_chunks(Env* env, const std::string& path, Sink&& sink) {
  auto file = env->new_random_access_file(path);
  if (!file) return file.status();
  std::string scratch(kChunk, '\0');
  uint64_t offset = 0;
  for (;;) {
    std::string_view got;
    ACCT_RETURN_IF_ERROR((*file)->read(offset, kChunk, scratch.data(), &got));
    if (!got.empty()) ACCT_RETURN_IF_ERROR(sink(got));
    offset += got.size();
    if (got.size() < kChunk) return offset;
  }
}

}  // namespace

Result<BackupFile> write_synced_file(Env* env, const std::string& path, std::string_view bytes,
                                     const std::string& relative) {
  auto file = env->new_writable_file(path);
  if (!file) return file.status();
  ACCT_RETURN_IF_ERROR((*file)->append(bytes));
  ACCT_RETURN_IF_ERROR((*file)->sync());
  ACCT_RETURN_IF_ERROR((*file)->close());
  return BackupFile{relative, bytes.size(), sha256(bytes)};
}

Result<BackupFile> copy_synced_file(Env* env, const std::string& from, const std::string& to,
                                    const std::string& relative) {
  auto out = env->new_writable_file(to);
  if (!out) return out.status();
  Sha256 hasher;
  auto size = read_chunks(env, from, [&](std::string_view chunk) {
    hasher.update(chunk);
    return (*out)->append(chunk);
  });
  if (!size) return size.status();
  ACCT_RETURN_IF_ERROR((*out)->sync());
  ACCT_RETURN_IF_ERROR((*out)->close());
  return BackupFile{relative, *size, hasher.finish()};
}

Result<BackupFile> hash_file(Env* env, const std::string& path, const std::string& relative) {
  Sha256 hasher;
  auto size = read_chunks(env, path, [&](std::string_view chunk) {
    hasher.update(chunk);
    return Status::ok();
  });
  if (!size) return size.status();
  return BackupFile{relative, *size, hasher.finish()};
}

Status require_empty_or_missing(Env* env, const std::string& dir, const std::string& field) {
  if (!env->file_exists(dir)) return Status::ok();
  auto names = env->list_dir(dir);
  if (!names) {
    return Status(StatusCode::kAlreadyExists, dir + " exists and is not a folder (" + names.status().message() + ")",
                  field);
  }
  if (!names->empty()) {
    return Status(StatusCode::kAlreadyExists,
                  dir + " is not empty (it holds " + std::to_string(names->size()) + " entries, e.g. '" +
                      names->front() + "'): give a new or empty folder; nothing was written",
                  field);
  }
  return Status::ok();
}

}  // namespace accountable
