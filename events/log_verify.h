// Offline, read-only verification of a whole log (`acct verify`): framing,
// both CRC levels, gapless positions, contiguous stream versions, and the hash
// chain, segment by segment. Takes no lock and writes nothing.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "events/env.h"
#include "events/envelope.h"
#include "events/sha256.h"
#include "events/signed_checkpoint.h"
#include "events/types.h"

namespace accountable {

struct VerifyProblem {
  enum class Kind { kOther, kCrc, kHashChain };
  std::string segment;
  uint64_t offset = 0;
  GlobalPosition position;  // the first position that could not be trusted
  std::string reason;
  Kind kind = Kind::kOther;  // kCrc: bytes changed; kHashChain: bytes changed with their CRCs recomputed
};

struct VerifyReport {
  uint64_t segments = 0;
  uint64_t commits = 0;
  uint64_t events = 0;
  uint64_t streams = 0;
  uint64_t bytes = 0;
  GlobalPosition head;
  Hash256 head_hash{};
  std::optional<VerifyProblem> problem;  // the first failure; verification stops there
  // A partial commit at the very end that open would cut off (never acknowledged).
  std::optional<VerifyProblem> torn_tail;
  // The chain hash at each position asked for in VerifyOptions::hashes_at
  // that the verified part of the log holds.
  std::map<uint64_t, Hash256> hashes_at;
  bool ok() const { return !problem.has_value(); }
};

// Called after each segment, and every 4,096 commits within one, with the
// bytes checked so far and the total.
using VerifyProgress = std::function<void(uint64_t bytes_done, uint64_t bytes_total, uint64_t events)>;

Result<VerifyReport> verify_log(Env* env, const std::string& data_dir, const VerifyProgress& progress = {});

struct VerifyOptions {
  VerifyProgress progress;
  std::vector<uint64_t> hashes_at;  // positions whose chain hash to report (signed checkpoints)
  // Called with every record that passed its checks, in position order (the
  // Merkle tree's check, events/tree_verify.h).
  std::function<void(const RecordedEvent&)> on_record;
};
Result<VerifyReport> verify_log(Env* env, const std::string& data_dir, const VerifyOptions& options);

// --- signed checkpoints (docs/log-format.md, "Signed checkpoints") ----------

struct SignatureProblem {
  enum class Kind {
    kNoCheckpoints,    // the log has events but nothing is signed
    kCheckpointsFile,  // DATA/signatures/checkpoints is damaged
    kBadSignature,     // not signed by the given key
    kMismatch,         // validly signed, but the log's hash at that position differs: chain rewritten
    kMissing,          // validly signed position beyond the end of the log: log cut short
  };
  Kind kind = Kind::kNoCheckpoints;
  uint64_t checkpoint = 0;  // 1-based, in file order
  uint64_t position = 0;
  std::string message;      // one line, names the checkpoint and the position
};

struct SignatureReport {
  uint64_t checkpoints = 0;  // in the file
  uint64_t verified = 0;     // valid signature and same hash as the log
  uint64_t failed = 0;
  uint64_t not_checked = 0;  // beyond a failure of the log itself
  uint64_t last_verified_position = 0;
  uint64_t unsigned_events = 0;  // events after the last verified checkpoint
  std::optional<SignatureProblem> problem;  // the first failure
  bool ok() const { return !problem.has_value(); }
};

// Checks every checkpoint against `log`, which must come from verify_log with
// hashes_at holding every checkpoint's position.
SignatureReport check_signatures(const VerifyReport& log, const std::vector<SignedCheckpoint>& checkpoints,
                                 const PublicKey& public_key, const std::string& checkpoints_file);

}  // namespace accountable
