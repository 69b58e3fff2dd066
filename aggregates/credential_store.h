// CredentialStore: password hashes of partner users, kept OUTSIDE the event log
// (DOMAIN.md "Secrets never enter the log"; docs/secrets.md).
//
// Per (partner id, user id) it keeps an argon2id hash (libsodium
// crypto_pwhash_str_alg, ALG_ARGON2ID13), a must-change flag and the time the
// password was set. Plain passwords exist only transiently in memory: a
// temporary password is returned once by issue_temporary_password() and never
// stored, logged or written anywhere.
//
// Durability: the whole store is one file, DATA/secrets/credentials, rewritten
// with Env::write_file_atomically after every change. A change is acknowledged
// (OK returned) only after that write, its fsync and the folder fsync succeeded;
// on failure the in-memory state is left as before the call.
//
// Memory (docs/memory.md): the file is the truth. The store holds at most
// `max_cached_credentials` entries, least recently used out; an entry not held
// is looked up in the file (read and checked whole), and a change rewrites the
// file from the file, so a miss behaves exactly as a hit.
//
// Thread-safe: one mutex guards the map and the file. The argon2id work (hashing
// and verifying) runs outside the mutex, so verifications do not queue behind
// each other.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "aggregates/context.h"
#include "aggregates/secret_record.h"
#include "events/concurrency_gate.h"
#include "events/env.h"
#include "events/status.h"
#include "schema/domain_events.h"

namespace accountable {

struct CredentialStoreOptions {
  // argon2id cost. Defaults are libsodium's INTERACTIVE limits (ops 2, 64 MiB);
  // tests pass crypto_pwhash_OPSLIMIT_MIN / MEMLIMIT_MIN. 0 means the default.
  unsigned long long opslimit = 0;
  size_t memlimit = 0;
  // Source of the set-at time; nullptr means the system clock. Not owned.
  const Clock* clock = nullptr;
  // argon2id computations at once (each holds memlimit bytes): 0 means one per
  // core. A caller that finds them all busy waits, if fewer than
  // max_waiting_hashes already wait, for at most max_hash_wait; else kBusy.
  size_t max_concurrent_hashes = 0;
  size_t max_waiting_hashes = 64;
  std::chrono::milliseconds max_hash_wait{2000};
  // One gate for several stores (the shards of a node share the memory): when
  // set, it is used and the three numbers above are not.
  std::shared_ptr<ConcurrencyGate> hashing_gate;
  // Entries held in memory (about 250 bytes each); the others are read from
  // the file when used. 0 means the default.
  size_t max_cached_credentials = 0;
};

// The gate the three numbers of `options` describe.
std::shared_ptr<ConcurrencyGate> make_hashing_gate(const CredentialStoreOptions& options);

// A temporary password and its hash, made before the command that hands it out
// commits (so a busy gate refuses the command before anything is written), and
// stored after (store_temporary_password). The holder wipes it.
struct PreparedPassword {
  std::string password;
  std::string hash;
  PreparedPassword() = default;
  PreparedPassword(PreparedPassword&&) = default;
  PreparedPassword& operator=(PreparedPassword&&) = default;
  ~PreparedPassword();
};

// The result of a successful verify().
struct VerifyOutcome {
  bool must_change = false;  // a temporary password: the user must choose a new one now
  Timestamp set_at;          // when the current password was set
};

class CredentialStore {
 public:
  static constexpr size_t kMinPasswordLength = 12;   // in Unicode code points
  static constexpr size_t kMaxPasswordLength = 128;  // in Unicode code points
  static constexpr size_t kTemporaryPasswordLength = 16;
  // Letters and digits without look-alikes (0/O/o, 1/l/I): 56 symbols, so a
  // temporary password carries 16 * log2(56) ~ 92.9 bits.
  static constexpr std::string_view kTemporaryAlphabet = "23456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz";

  // Loads DATA/secrets/credentials (creating DATA/secrets if needed; a missing
  // file is an empty store). A damaged file fails with kCorruption naming the
  // file and the byte offset. `env` must outlive the store.
  static Result<std::unique_ptr<CredentialStore>> open(Env* env, const std::string& data_dir,
                                                       CredentialStoreOptions options = {});

  CredentialStore(Env* env, std::string path, CredentialStoreOptions options);
  CredentialStore(const CredentialStore&) = delete;
  CredentialStore& operator=(const CredentialStore&) = delete;
  ~CredentialStore();

  // Generates a 16-character temporary password (libsodium CSPRNG), stores only
  // its argon2id hash with must_change = true (replacing any earlier password of
  // the user) and returns the plain password. This is the only copy: the caller
  // hands it to the person once and then wipes it (sodium_memzero).
  Result<std::string> issue_temporary_password(const PartnerId& partner, const UserId& user);
  // The two halves of issue_temporary_password: the argon2id work (kBusy when
  // the gate refuses), then the store (returns the plain password).
  Result<PreparedPassword> prepare_temporary_password();
  Result<std::string> store_temporary_password(const PartnerId& partner, const UserId& user,
                                               PreparedPassword prepared);
  // When the user's current password was set; nullopt when there is none.
  std::optional<Timestamp> password_set_at(const PartnerId& partner, const UserId& user) const;

  // Sets a password chosen by the user (must_change = false). 12..128 code
  // points of valid UTF-8, else kInvalidArgument with field "new" (the message
  // never contains the password).
  Status set_password(const PartnerId& partner, const UserId& user, std::string_view new_password);
  // The policy set_password() applies, on its own (callers check before they
  // record the change in the log).
  static Status check_new_password(std::string_view new_password);

  // kUnauthenticated for a wrong password and for an unknown (partner, user),
  // with the same message, after comparable work, so that verify cannot be used
  // to probe which accounts exist.
  Result<VerifyOutcome> verify(const PartnerId& partner, const UserId& user, std::string_view password);

  // Removes the user's credential (PurgeUser). OK when there is none (idempotent).
  Status erase(const PartnerId& partner, const UserId& user);

  // --- replication (cluster mode, docs/cluster.md) ---------------------------
  // From now on every change is published ("credential/<partner>/<user>",
  // the entry's encoding, or none when erased) before it is made here; when
  // publishing fails the change fails and the store is as before.
  void enable_replication(SecretPublisher publish);
  // A record of the cluster: the entry replaces the local one (none: erased).
  Status apply_replicated(const SecretRecord& record);
  static bool owns_record(std::string_view record_key) { return record_key.rfind("credential/", 0) == 0; }
  static std::string record_key(const PartnerId& partner, const UserId& user) {
    return "credential/" + partner.to_string() + "/" + user.to_string();
  }

  bool contains(const PartnerId& partner, const UserId& user) const;
  size_t size() const;  // credentials in the file
  const std::string& path() const { return path_; }
  static constexpr size_t kDefaultCachedCredentials = 4096;
  // Entries held in memory, the most it holds, and the file reads for entries not held.
  size_t entries_in_memory() const;
  size_t max_cached_credentials() const { return max_cached_; }
  uint64_t file_reads() const;

  // --- the file format (docs/secrets.md), exposed for tests ------------------
  struct Entry {
    std::string hash;  // the PHC string from crypto_pwhash_str_alg ("$argon2id$v=19$...")
    bool must_change = false;
    Timestamp set_at;
  };
  using Key = std::pair<PartnerId, UserId>;
  using Map = std::map<Key, Entry>;
  static constexpr std::string_view kMagic = "ACCTCRED";  // 8 bytes
  static constexpr uint32_t kVersion = 1;
  static std::string encode(const Map& entries);
  // `name` is used in error messages only.
  static Result<Map> decode(std::string_view bytes, const std::string& name);
  // Checks the whole file (as decode) and calls `fn` for each entry in file
  // order, with the record's bytes; stops early when `fn` returns false.
  using Visitor = std::function<bool(const Key& key, Entry&& entry, uint64_t offset, std::string_view record)>;
  static Status visit(std::string_view bytes, const std::string& name, const Visitor& fn);
  // One entry in the file's record format.
  static void append_record(std::string* out, const Key& key, const Entry& e);

 private:
  // A place at the argon2id gate, or kBusy.
  Result<ConcurrencyGate::Permit> hashing_permit();
  Result<std::string> hash_password(std::string_view password, const ConcurrencyGate::Permit&) const;
  // Publishes the change (in a cluster), then store_locked().
  Status store(const Key& key, const Entry* entry);
  // Rewrites the file with `entry` for `key` (or without it, when nullptr);
  // memory changes only when the write succeeded. Caller holds mu_.
  Status store_locked(const Key& key, const Entry* entry);
  // The entry from memory, else from the file (then held). Caller holds mu_.
  Result<std::optional<Entry>> find_locked(const Key& key) const;
  // Holds a copy of `entry` as most recently used (nullptr: drops the key);
  // the least recently used beyond max_cached_ goes, wiped. Caller holds mu_.
  void remember_locked(const Key& key, const Entry* entry) const;
  // The file's bytes; empty when there is no file. Caller wipes them.
  Result<std::string> read_file_locked() const;
  Timestamp now() const;

  Env* const env_;
  const std::string path_;
  const unsigned long long opslimit_;
  const size_t memlimit_;
  const Clock* const clock_;
  const std::shared_ptr<ConcurrencyGate> gate_;
  const size_t max_cached_;

  SecretPublisher publish_;  // set once, before the store is shared
  std::mutex publish_mu_;    // changes reach the cluster in the order they are made here
  mutable std::mutex mu_;
  // Guarded by mu_: the entries held, most recently used first in lru_; the
  // number of entries in the file; the file reads for entries not held.
  struct Cached {
    Entry entry;
    std::list<Key>::iterator position;
  };
  mutable std::map<Key, Cached> cached_;
  mutable std::list<Key> lru_;
  size_t count_ = 0;
  mutable uint64_t file_reads_ = 0;
  std::string dummy_hash_;  // guarded by mu_; hash of a random password, for unknown users
};

}  // namespace accountable
