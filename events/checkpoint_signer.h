// CheckpointSigner: signs the log's head every N events or T seconds (only
// when the head moved) and once more on close, appending each signature to
// DATA/signatures/checkpoints (events/signed_checkpoint.h). Run by the process
// that owns the data folder, after the log is open.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "events/env.h"
#include "events/event_log.h"
#include "events/signed_checkpoint.h"
#include "events/status.h"

namespace accountable {

struct CheckpointSignerOptions {
  std::string data_dir;
  Env* env = nullptr;  // null: posix_env()
  uint64_t every_events = 10'000;     // sign when the head moved this far (0: never by count)
  std::chrono::seconds every{60};     // or when this long passed and the head moved (0: never by time)
  std::function<Timestamp()> clock;   // null: the system clock
  // False: no thread; the caller drives sign_if_due() (deterministic tests).
  bool background = true;
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
  uint64_t checkpoints_written() const;  // by this process

 private:
  CheckpointSigner(CheckpointSignerOptions options, const EventLog* log);
  Result<bool> sign_locked(bool force);
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
  bool stopping_ = false;
  bool closed_ = false;
  std::condition_variable stop_cv_;
  std::thread thread_;
};

}  // namespace accountable
