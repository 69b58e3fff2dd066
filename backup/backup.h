// take_backup: a consistent copy of a data folder while `acct serve` runs on
// it (docs/backup.md). It never takes DATA/LOCK and never writes into DATA:
// the log is append-only and the stores rewrite their files by rename, so a
// reader in the right order sees a state the server really passed through.
//
// Order (each step's reason in docs/backup.md):
//   1. keys/signing.key, keys/signing.pub
//   2. signatures/checkpoints, whole records only     (before the log: every
//      signed position is then inside the copied log)
//   3. log/ segments, each cut at its last good commit with the log's own
//      scanner; the source's last segment is fdatasynced after it is read
//   4. keys/subjects, keys/partners, secrets/credentials, secrets/tokens,
//      operator.token                                  (after the log: a key
//      is written before the commit that uses it)
//   5. every UserPurged in the copied log is applied to the copied stores
//      (tombstone, credential erased, tokens revoked): never resurrected
//   6. the copy is verified (`acct verify`'s checks) and its head compared
//   7. MANIFEST, written last (atomically, fsynced)
// index/, views/, snapshots/ and quarantine/ are not copied: the first three
// are rebuilt from the log, the last is not part of the data.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "backup/manifest.h"
#include "events/env.h"

namespace accountable {

struct BackupOptions {
  std::string data_dir;  // the live data folder (read only)
  std::string dest_dir;  // must not exist or be empty; its parent must exist
  Env* env = nullptr;    // null: posix_env()
  // Tests: runs after the segments are copied, before the keys and
  // credentials are (where a server's concurrent work would land).
  std::function<void()> after_log_copied;
};

struct BackupReport {
  Manifest manifest;          // what was written as DEST/MANIFEST
  uint64_t bytes = 0;         // of every file listed
  uint64_t torn_bytes = 0;    // cut off the last segment's tail (a commit being written)
  uint64_t purges_applied = 0;  // users purged in the copied log whose key the copy still had
  double seconds = 0;
};

Result<BackupReport> take_backup(const BackupOptions& options);

}  // namespace accountable
