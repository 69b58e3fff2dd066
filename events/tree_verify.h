// `acct verify`'s checks of the Merkle tree and its checkpoints
// (docs/log-format.md, "Tree checkpoints"):
//  - the tree's files (DATA/merkle/) against a tree recomputed from the log;
//  - every tree checkpoint: signed by the log key, for this log's origin, and
//    its root equal to the log's tree root at its size;
//  - with witness keys: the largest tree size cosigned by a quorum of them,
//    whose root the log must still give.
// Read-only, like verify_log: it rides on verify_log's one pass (on_record).
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "events/checkpoint_note.h"
#include "events/log_verify.h"
#include "events/merkle.h"
#include "events/tree_checkpoint.h"

namespace accountable {

struct TreeVerifyReport {
  // The files under DATA/merkle/.
  bool files_present = false;
  uint64_t file_leaves = 0;                // leaves the files hold
  std::optional<std::string> file_problem;  // a hash that differs from the log's (the next open rebuilds)
  // The tree checkpoints in DATA/signatures/checkpoints.
  uint64_t checkpoints = 0;
  uint64_t verified = 0;
  uint64_t failed = 0;
  uint64_t last_verified_size = 0;
  Hash256 last_verified_root{};
  uint64_t external = 0;           // checkpoints kept outside the folder, checked the same way
  uint64_t external_verified = 0;
  std::optional<std::string> problem;  // the first failed checkpoint
  // Witnesses (when keys were given).
  uint64_t witness_keys = 0;
  uint64_t quorum = 0;
  uint64_t witnessed_size = 0;  // the largest tree size cosigned by a quorum (0: none)
  uint64_t witnessed_by = 0;
  std::optional<std::string> witness_problem;
  bool ok() const { return !file_problem && !problem && !witness_problem; }
};

// Feeds on verify_log's records; then judges the checkpoints.
class TreeVerifier {
 public:
  // `notes`: the log's tree checkpoints, in file order; `cosigned`: the
  // copies that witnesses cosigned (the same notes with more signature lines).
  // `external`: checkpoints an auditor kept outside the folder (a published
  // file, a witness's state): each must be signed by the log key and be
  // given by the log, which catches a rollback or rewrite made after it.
  TreeVerifier(Env* env, std::string data_dir, std::vector<std::string> notes, std::vector<std::string> cosigned,
               std::vector<std::string> external = {});
  ~TreeVerifier();
  void on_record(const RecordedEvent& e);
  // After verify_log: the files' remainder, every checkpoint, the witnesses.
  TreeVerifyReport finish(const VerifyReport& log, const PublicKey& log_key,
                          const std::vector<NoteVerifierKey>& witness_keys, uint64_t quorum);

 private:
  class FileReader;
  Env* env_;
  std::string data_dir_;
  std::vector<std::string> notes_;
  std::vector<std::string> cosigned_;
  std::vector<std::string> external_;
  std::map<uint64_t, std::optional<Hash256>> roots_at_;  // sizes the checkpoints name -> the log's root
  merkle::CompactRange range_;
  std::optional<Hash256> first_hash_;
  std::vector<std::unique_ptr<FileReader>> files_;  // per level, null when absent
  std::optional<std::string> file_problem_;
  bool files_present_ = false;
};

struct SignedVerifyReport {
  VerifyReport log;
  SignatureReport signatures;  // the chain checkpoints
  TreeVerifyReport tree;       // the tree, its checkpoints and the witnesses
  bool ok() const { return log.ok() && signatures.ok() && tree.ok(); }
};

struct SignedVerifyOptions {
  VerifyProgress progress;
  std::vector<NoteVerifierKey> witness_keys;  // cosignature keys (type 0x04)
  std::vector<std::string> external_checkpoints;  // notes kept outside the folder (TreeVerifier)
  uint64_t witness_quorum = 0;                // 0: every key given
};

// The log (verify_log), every signed checkpoint of DATA/signatures/ under
// `public_key`, the tree and, with witness keys, their cosignatures. A damaged
// or missing checkpoints file is a SignatureProblem, not an error: it is what
// tampering looks like.
Result<SignedVerifyReport> verify_signed_log(Env* env, const std::string& data_dir, const PublicKey& public_key,
                                             const SignedVerifyOptions& options);
Result<SignedVerifyReport> verify_signed_log(Env* env, const std::string& data_dir, const PublicKey& public_key,
                                             const VerifyProgress& progress = {});

}  // namespace accountable
