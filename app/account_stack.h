// AccountStack: everything a process needs to run commands against one data
// folder, opened in the right order and closed in the reverse one:
//   DATA/log/       the event log (takes DATA/LOCK: one process per folder)
//   DATA/keys/      per-subject keys and email-fingerprint secrets
//   DATA/secrets/   password hashes
//   DATA/snapshots/ aggregate snapshots
// and the Engine over them. Shared by `acct serve`, `acct exec` and the tests.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "aggregates/credential_store.h"
#include "aggregates/engine.h"
#include "aggregates/key_store.h"
#include "aggregates/snapshot_store.h"
#include "events/checkpoint_signer.h"
#include "events/event_log.h"

namespace accountable {

class AccountStack;

struct AccountStackOptions {
  std::string data_dir;
  RecoveryMode recovery = RecoveryMode::kFailOnCorruption;
  const Clock* clock = nullptr;                 // null: the system clock
  CredentialStoreOptions credentials;          // argon2id cost (tests lower it)
  uint64_t snapshot_every = 100;
  // Memory bounds (docs/memory.md): data subjects whose key (or tombstone) the
  // key store holds, and states the engine caches per state type.
  size_t key_cache_subjects = KeyStore::kDefaultCachedSubjects;
  size_t state_cache_entries = 4096;
  // The file layer of the event log (DATA/log, DATA/index); null: posix_env().
  // Tests pass a FaultInjectionEnv (testing/fault_env.h) to fail fsyncs or fill
  // the disk under a running server. The other parts stay on the real disk.
  Env* env = nullptr;
  // Signed checkpoints (DATA/keys/signing.*, DATA/signatures/): the log's head
  // is signed every this many events or this often, when it moved, and on
  // close. 0 turns a rule off; sign_checkpoints = false turns signing off.
  bool sign_checkpoints = true;
  // Cluster mode (cluster/cluster_node.h): each sealed batch goes to Kafka
  // before it is written; batches stay under max_batch_bytes so that one fits
  // in one Kafka message. Null: a single node.
  BatchReplicator replicator;
  size_t max_batch_bytes = 8u << 20;
  // A cluster with S > 1 shards: shard 0's stack on this node, which keeps the
  // catalog this shard's commands read (EngineOptions::catalog_source). It
  // must outlive this stack. Null: this stack keeps its own catalog.
  AccountStack* catalog_shard = nullptr;
  uint64_t sign_every_events = 10'000;
  std::chrono::seconds sign_every{60};
  // Where every signed tree checkpoint goes as soon as it is made (a file
  // elsewhere, a Kafka topic): CheckpointSignerOptions::publishers.
  std::vector<CheckpointPublisher> checkpoint_publishers;
};

class AccountStack {
 public:
  // Fails (naming the part) if any part cannot be opened; what was opened is closed.
  static Result<std::unique_ptr<AccountStack>> open(const AccountStackOptions& options);
  ~AccountStack();
  AccountStack(const AccountStack&) = delete;
  AccountStack& operator=(const AccountStack&) = delete;

  EventLog& log() { return *log_; }
  KeyStore& keys() { return *keys_; }
  CredentialStore& credentials() { return *credentials_; }
  PersonalDataCipher& cipher() { return *cipher_; }
  Engine& engine() { return *engine_; }
  const std::string& data_dir() const { return data_dir_; }
  CheckpointSigner* signer() { return signer_.get(); }  // null when signing is off

  // Signs the final head, drains the log and writes its index checkpoint.
  Status close();

 private:
  AccountStack() = default;
  std::string data_dir_;
  std::unique_ptr<EventLog> log_;
  std::unique_ptr<CheckpointSigner> signer_;  // after log_: destroyed before it
  std::unique_ptr<KeyStore> keys_;
  std::unique_ptr<CredentialStore> credentials_;
  std::unique_ptr<SnapshotStore> snapshots_;
  std::unique_ptr<KeyStoreCipher> cipher_;
  std::unique_ptr<Engine> engine_;
};

// "operator", or "user:<partner id>/<email>" resolved through the partner's
// directory (the email's keyed fingerprint). The partner user's rights are read
// by Engine::execute, not here.
Result<Principal> resolve_actor(AccountStack& stack, const std::string& text);

// The user of `partner` whose email is `email`, if any.
Result<std::optional<UserId>> find_user_by_email(AccountStack& stack, const PartnerId& partner,
                                                 std::string_view email);

}  // namespace accountable
