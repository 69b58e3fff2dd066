// CheckpointSigner: signs the log's head every N events or T seconds (only
// when the head moved) and once more on close, appending each signature to
// DATA/signatures/checkpoints (events/signed_checkpoint.h). Run by the process
// that owns the data folder, after the log is open.
//
// Each time it signs two records: the chain checkpoint (position, head hash)
// and the tree checkpoint (events/tree_checkpoint.h) over the Merkle tree it
// keeps beside the log (events/merkle_tree.h). Every tree checkpoint then
// leaves the folder through the publishers (a file elsewhere, a Kafka topic),
// so that a later rewrite of the folder cannot take it back.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "events/env.h"
#include "events/event_log.h"
#include "events/merkle_tree.h"
#include "events/signed_checkpoint.h"
#include "events/status.h"
#include "events/tree_checkpoint.h"

namespace accountable {

// Sends one tree checkpoint out of the data folder. OK once it is durably
// elsewhere; an error keeps it queued for the next try.
struct CheckpointPublisher {
  std::string name;  // for logs: "file /mnt/audit/checkpoints.jsonl", "kafka topic accountable.checkpoints"
  std::function<Status(const TreeCheckpoint&)> publish;
};

struct CheckpointSignerOptions {
  std::string data_dir;
  Env* env = nullptr;  // null: posix_env()
  uint64_t every_events = 10'000;     // sign when the head moved this far (0: never by count)
  std::chrono::seconds every{60};     // or when this long passed and the head moved (0: never by time)
  std::function<Timestamp()> clock;   // null: the system clock
  // False: no thread; the caller drives sign_if_due() (deterministic tests).
  bool background = true;
  // Keep the Merkle tree (DATA/merkle/) and sign tree checkpoints too.
  bool merkle_tree = true;
  std::vector<CheckpointPublisher> publishers;
  size_t max_unpublished = 1024;  // tree checkpoints waiting for a publisher; the oldest go first
};

struct PublishStats {
  uint64_t published = 0;  // checkpoints accepted by every publisher
  uint64_t failures = 0;   // failed attempts
  uint64_t dropped = 0;    // never published: the queue was full
  uint64_t waiting = 0;
};

class CheckpointSigner {
 public:
  // Loads or creates the signing key and opens the checkpoints file. `log`
  // must stay open until close() returns.
  static Result<std::unique_ptr<CheckpointSigner>> open(const CheckpointSignerOptions& options, const EventLog* log);
  ~CheckpointSigner();  // close(), errors logged
  CheckpointSigner(const CheckpointSigner&) = delete;
  CheckpointSigner& operator=(const CheckpointSigner&) = delete;

  // Signs the head if it moved by every_events, or moved at all and `every`
  // passed since the last signature (or since open). Returns whether it signed.
  Result<bool> sign_if_due();
  // Signs the head now if it moved since the last signature.
  Result<bool> sign_now();
  // Stops the thread and signs the final head. Idempotent.
  Status close();

  const PublicKey& public_key() const { return key_->public_key(); }
  uint64_t last_signed_position() const;
  uint64_t checkpoints_written() const;  // signings by this process (each writes a chain and a tree checkpoint)

  // The tree, brought up to the log's head first (null when merkle_tree is
  // off); an error when it could not be opened or written: then nothing is
  // signed any more (tree_status says why).
  Result<const MerkleTree*> tree_at_head();
  Status tree_status() const;
  std::optional<TreeCheckpoint> latest_tree_checkpoint() const;
  // Keeps a witness's cosigned copy of one of this log's tree checkpoints
  // (DATA/signatures/checkpoints, record type 3): its text must be one this
  // signer signed, with at least one valid cosignature by one of
  // `trusted` and none that fails. Returns how many trusted witnesses
  // cosigned it; a copy already kept is not kept twice.
  Result<size_t> add_cosigned(const std::string& note, const std::vector<NoteVerifierKey>& trusted);
  // Every cosigned copy kept, in file order.
  std::vector<std::string> cosigned_notes() const;
  // The tree checkpoint this signer signed at exactly `tree_size`, if any.
  std::optional<TreeCheckpoint> tree_checkpoint_at(uint64_t tree_size) const;
  // Tries every waiting checkpoint on every publisher, oldest first.
  void publish_waiting();
  PublishStats publish_stats() const;

 private:
  CheckpointSigner(CheckpointSignerOptions options, const EventLog* log);
  Result<bool> sign_locked(bool force);
  Status sign_tree_locked(Timestamp t);
  Timestamp now() const;
  void loop();

  CheckpointSignerOptions options_;
  Env* env_;
  const EventLog* log_;
  std::unique_ptr<SigningKey> key_;

  mutable std::mutex mu_;  // guards everything below
  std::unique_ptr<CheckpointFile> file_;
  uint64_t last_position_ = 0;
  Hash256 last_hash_{};
  Timestamp last_time_{};
  uint64_t written_ = 0;
  Status failed_;  // the first failed append: the file is then not trusted, signing stops
  std::unique_ptr<MerkleTree> tree_;
  Status tree_failed_;  // the tree could not be opened or written, or the log is not the signed one
  std::string origin_;  // from the log's first record, once it has one
  std::chrono::steady_clock::time_point next_tree_sync_{};
  std::optional<TreeCheckpoint> latest_tree_;
  // Publishing: the queue and its counters under queue_mu_ (held briefly, also
  // by the signer under mu_); one publishing pass at a time under pass_mu_,
  // which no other lock waits on: a slow destination holds up nothing else.
  mutable std::mutex queue_mu_;
  std::deque<TreeCheckpoint> unpublished_;
  PublishStats publish_stats_;
  std::mutex pass_mu_;
  int polls_since_publish_ = 0;  // the loop's, under mu_
  bool stopping_ = false;
  bool closed_ = false;
  std::condition_variable stop_cv_;
  std::thread thread_;
};

}  // namespace accountable
