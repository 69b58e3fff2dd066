// Following a log's checkpoints from outside, as a witness or an auditor
// does: remember the last checkpoint seen, and take a new one only with a
// consistency proof from it (c2sp.org/tlog-witness's rule). Shared by
// `acct witness` (which then cosigns) and `acct audit watch` (which reports).
#pragma once

#include <optional>
#include <string>

#include "events/checkpoint_note.h"
#include "events/env.h"
#include "events/status.h"
#include "events/tree_checkpoint.h"
#include "transparency/log_client.h"
#include "transparency/proof_bundle.h"

namespace accountable {

// Where checkpoints and proofs come from: a log's HTTP API, or a test's tree.
class CheckpointSource {
 public:
  virtual ~CheckpointSource() = default;
  virtual Result<std::string> latest_checkpoint() = 0;                       // the signed note
  virtual Result<ConsistencyBundle> consistency(uint64_t from, uint64_t to) = 0;
  virtual Result<std::string> post_cosigned(const std::string& note) = 0;    // the answer's body
};

// The log's API (GET /v1/checkpoints/latest, /v1/proofs/consistency, POST /v1/checkpoints/cosignatures).
class HttpCheckpointSource final : public CheckpointSource {
 public:
  explicit HttpCheckpointSource(LogClient client) : client_(std::move(client)) {}
  Result<std::string> latest_checkpoint() override;
  Result<ConsistencyBundle> consistency(uint64_t from, uint64_t to) override;
  Result<std::string> post_cosigned(const std::string& note) override;

 private:
  LogClient client_;
};

// What a follower remembers (a JSON file in its state folder, written atomically).
struct FollowedCheckpoint {
  std::string origin;
  uint64_t tree_size = 0;
  Hash256 root{};
  std::string note;          // the checkpoint as last taken (a witness: with its cosignature)
  std::string seen_at;       // RFC 3339, when it was taken
  bool delivered = true;     // a witness: its cosignature reached the log
};
Result<std::optional<FollowedCheckpoint>> load_followed(Env* env, const std::string& path);
Status save_followed(Env* env, const std::string& path, const FollowedCheckpoint& c);

enum class FollowOutcome { kFirst, kUnchanged, kGrown };

struct FollowStep {
  FollowOutcome outcome = FollowOutcome::kFirst;
  TreeCheckpoint checkpoint;   // the log's latest, signature checked
  uint64_t previous_size = 0;  // what was remembered (0: nothing)
};

// Fetches the latest checkpoint, checks the log's signature, and checks it
// against `last`. A checkpoint that is not consistent with it (smaller, a
// different root at the same size, a failed consistency proof, another
// origin) is kConflict with a message naming both tree sizes: the alarm.
// Transport failures are kUnavailable. Nothing is remembered here. `seen`,
// when given, receives the latest checkpoint once its signature checked,
// also when it is then refused (the alarm names its tree size).
Result<FollowStep> follow_checkpoint(CheckpointSource& source, const PublicKey& log_key,
                                     const std::optional<FollowedCheckpoint>& last, TreeCheckpoint* seen = nullptr);

}  // namespace accountable
