// restore_backup: a backup folder back into a data folder (docs/backup.md).
//
//   1. BACKUP/MANIFEST is read and parsed (none: a half-made backup, refused);
//      every file of the backup must be listed and every listed file present
//      with its size and SHA-256; the backup's log must verify and end at the
//      manifest's head. Any mismatch is refused naming the file, before
//      anything is written.
//   2. DIR must not exist or be empty.
//   3. The files are copied into DIR.restoring (a sibling folder), hashed
//      again while copied, fdatasynced, their folders fsynced; then the folder
//      is renamed to DIR and DIR's parent fsynced. An interrupted restore
//      leaves DIR as it was, and DIR.restoring behind (refused until removed).
#pragma once

#include <string>

#include "backup/manifest.h"
#include "events/env.h"

namespace accountable {

struct RestoreOptions {
  std::string backup_dir;
  std::string data_dir;
  Env* env = nullptr;  // null: posix_env(); must rename folders (posix does)
};

struct RestoreReport {
  Manifest manifest;
  uint64_t bytes = 0;
  double seconds = 0;
};

// Step 1 alone: the backup is complete and matches its manifest. Writes nothing.
Result<Manifest> check_backup(Env* env, const std::string& backup_dir);

Result<RestoreReport> restore_backup(const RestoreOptions& options);

}  // namespace accountable
