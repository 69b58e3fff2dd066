#include "backup/restore.h"

#include <chrono>
#include <map>
#include <set>

#include "backup/file_copy.h"
#include "events/log_verify.h"

namespace accountable {

namespace {

std::string hex(const Hash256& h) { return hex_encode(h.data(), h.size()); }

Status refused(const std::string& backup_dir, const std::string& file, const std::string& why) {
  return Status(StatusCode::kCorruption, join_path(backup_dir, file) + ": " + why + "; nothing was restored", file);
}

// Every entry of the backup folder is MANIFEST, a known folder, or a listed file.
Status check_no_unlisted(Env* env, const std::string& backup_dir, const std::set<std::string>& listed) {
  std::set<std::string> dirs(backup_dirs().begin(), backup_dirs().end());
  std::vector<std::string> to_list = {""};
  for (const std::string& d : backup_dirs()) to_list.push_back(d);
  for (const std::string& d : to_list) {
    const std::string path = d.empty() ? backup_dir : join_path(backup_dir, d);
    if (!env->file_exists(path)) continue;
    auto names = env->list_dir(path);
    if (!names) return names.status();
    for (const std::string& name : *names) {
      const std::string rel = d.empty() ? name : d + "/" + name;
      if (rel == kManifestName || dirs.count(rel) || listed.count(rel)) continue;
      return refused(backup_dir, rel, "is not listed in the MANIFEST (a half-made or altered backup)");
    }
  }
  return Status::ok();
}

}  // namespace

Result<Manifest> check_backup(Env* env, const std::string& backup_dir) {
  const std::string manifest_path = join_path(backup_dir, std::string(kManifestName));
  if (!env->file_exists(backup_dir)) return not_found(backup_dir + " does not exist", "from");
  if (!env->file_exists(manifest_path)) {
    return refused(backup_dir, std::string(kManifestName),
                   "missing: an incomplete backup (acct backup writes it last) or not a backup folder");
  }
  auto text = env->read_file(manifest_path);
  if (!text) return text.status();
  auto manifest = parse_manifest(*text);
  if (!manifest) return refused(backup_dir, std::string(kManifestName), manifest.status().message());

  std::set<std::string> listed;
  for (const BackupFile& f : manifest->files) listed.insert(f.path);
  ACCT_RETURN_IF_ERROR(check_no_unlisted(env, backup_dir, listed));
  for (const BackupFile& f : manifest->files) {
    const std::string path = join_path(backup_dir, f.path);
    if (!env->file_exists(path)) return refused(backup_dir, f.path, "is listed in the MANIFEST but missing");
    auto size = env->file_size(path);
    if (!size) return size.status();
    if (*size != f.size) {
      return refused(backup_dir, f.path,
                     "size " + std::to_string(*size) + ", the MANIFEST says " + std::to_string(f.size));
    }
    auto got = hash_file(env, path, f.path);
    if (!got) return got.status();
    if (got->size != f.size || got->sha256 != f.sha256) {
      return refused(backup_dir, f.path, "SHA-256 " + hex(got->sha256) + ", the MANIFEST says " + hex(f.sha256));
    }
  }

  // The files are the ones that were verified at backup time; this checks that
  // the manifest's head is the log's (and the log's own checks, once more).
  auto log = verify_log(env, backup_dir);
  if (!log) return log.status();
  if (!log->ok()) {
    return refused(backup_dir, "log/" + log->problem->segment,
                   "fails verify at offset " + std::to_string(log->problem->offset) + ": " + log->problem->reason);
  }
  if (log->torn_tail || log->head != manifest->head || log->head_hash != manifest->head_hash) {
    return refused(backup_dir, std::string(kManifestName),
                   "head_position " + std::to_string(manifest->head.value()) + " / head_hash " +
                       hex(manifest->head_hash) + " is not the log's head (" + std::to_string(log->head.value()) +
                       " / " + hex(log->head_hash) + ")");
  }
  return manifest;
}

Result<RestoreReport> restore_backup(const RestoreOptions& options) {
  const auto started = std::chrono::steady_clock::now();
  Env* env = options.env ? options.env : posix_env();
  if (options.backup_dir.empty()) return invalid_argument("no backup folder given", "from");
  if (options.data_dir.empty()) return invalid_argument("no data folder given", "data");
  std::string data_dir = options.data_dir;
  while (data_dir.size() > 1 && data_dir.back() == '/') data_dir.pop_back();  // "DIR/" + ".restoring" must be a sibling

  auto manifest = check_backup(env, options.backup_dir);
  if (!manifest) return manifest.status();
  ACCT_RETURN_IF_ERROR(require_empty_or_missing(env, data_dir, "data"));
  const std::string staging = data_dir + ".restoring";
  if (env->file_exists(staging)) {
    return Status(StatusCode::kAlreadyExists,
                  staging + " exists (an interrupted restore?): remove it, then restore again; nothing was written",
                  "data");
  }

  RestoreReport report;
  report.manifest = *manifest;
  ACCT_RETURN_IF_ERROR(env->create_dir(staging));
  for (const std::string& d : backup_dirs()) ACCT_RETURN_IF_ERROR(env->create_dir(join_path(staging, d)));
  for (const BackupFile& f : manifest->files) {
    auto copied = copy_synced_file(env, join_path(options.backup_dir, f.path), join_path(staging, f.path), f.path);
    if (!copied) return copied.status();
    // Hashed again while copied: a backup changed after the check is caught too.
    if (copied->size != f.size || copied->sha256 != f.sha256) {
      return refused(options.backup_dir, f.path,
                     "changed while it was restored (" + hex(copied->sha256) + "); " + staging +
                         " holds a partial copy: remove it");
    }
    report.bytes += copied->size;
  }
  for (const std::string& d : backup_dirs()) ACCT_RETURN_IF_ERROR(env->sync_dir(join_path(staging, d)));
  ACCT_RETURN_IF_ERROR(env->sync_dir(staging));
  // One rename publishes the whole folder (over an empty DIR, as rename(2) allows).
  ACCT_RETURN_IF_ERROR(env->rename_file(staging, data_dir));
  ACCT_RETURN_IF_ERROR(env->sync_dir(parent_dir(data_dir)));
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return report;
}

}  // namespace accountable
