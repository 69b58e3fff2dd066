// KeyStore: per-data-subject encryption keys and per-partner email-fingerprint
// secrets, kept OUTSIDE the event log (docs/secrets.md).
//
//  - Each data subject (a string such as "user:<uuid>", see Personal<T> in
//    schema/domain_events.h) has one 32-byte XChaCha20-Poly1305 key, created on
//    first use. seal()/open() encrypt personal fields with it.
//  - destroy(subject) is crypto-shredding (PurgeUser): the key file is replaced
//    atomically by a tombstone, so the key is gone for good and the store
//    remembers that the subject was erased. Afterwards open() reports kNotFound
//    ("... was erased") and key_for(create = true) is refused with
//    kRuleViolated: an erased subject never silently gets a fresh key.
//  - Each partner has one 32-byte secret for email fingerprints, created on
//    first use: email_fingerprint() = keyed BLAKE2b-256 of the normalized email.
//
// Files (one per subject / partner, each written with Env::write_file_atomically):
//   DATA/keys/subjects/<escaped subject>.key
//   DATA/keys/partners/<partner uuid>.secret
// Every file is read and checked at open(), so a damaged file is found then
// (kCorruption naming the file and the offset). In memory the store keeps the
// partners' secrets and at most `max_cached_subjects` subjects (key or
// tombstone), one not used lately out (CLOCK, the second-chance approximation
// of least recently used); a subject not held is read from its file, which is
// the truth: a miss behaves exactly as a hit (docs/memory.md).
//
// In a cluster (docs/cluster.md, "State outside the log") the store also
// keeps its records in step with the cluster's: new keys wait in an
// "unshipped" set until the shard's next batch carries them, a destroy is
// published before it is done here, and the cluster's records are applied
// with apply_replicated().
//
// Thread-safe: one reader-writer lock. A held subject's key is read under the
// shared lock, so threads opening personal data side by side (a view rebuild
// decodes on every core) do not queue; everything else, file reads and writes
// included, happens under the exclusive lock.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <map>
#include <memory>
#include <optional>
#include <mutex>
#include <set>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "aggregates/secret_record.h"
#include "events/env.h"
#include "events/status.h"
#include "schema/domain_events.h"
#include "schema/personal_data.h"

namespace accountable {

class KeyStore {
 public:
  static constexpr size_t kKeyBytes = 32;    // crypto_aead_xchacha20poly1305_ietf_KEYBYTES
  static constexpr size_t kNonceBytes = 24;  // crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
  static constexpr size_t kTagBytes = 16;    // crypto_aead_xchacha20poly1305_ietf_ABYTES
  static constexpr size_t kMaxSubjectLength = 80;
  using Key = std::array<unsigned char, kKeyBytes>;
  using Fingerprint = std::array<unsigned char, 32>;

  // Subjects held in memory by default (about 200 bytes each).
  static constexpr size_t kDefaultCachedSubjects = 4096;

  // Checks every key and tombstone under DATA/keys (creating the folders if
  // needed) and keeps up to `max_cached_subjects` of them (at least 1).
  // `env` must outlive the store.
  static Result<std::unique_ptr<KeyStore>> open(Env* env, const std::string& data_dir,
                                                size_t max_cached_subjects = kDefaultCachedSubjects);

  KeyStore(Env* env, std::string dir, size_t max_cached_subjects = kDefaultCachedSubjects);
  KeyStore(const KeyStore&) = delete;
  KeyStore& operator=(const KeyStore&) = delete;
  ~KeyStore();  // wipes the keys held in memory

  // The subject's key. Missing: created durably when `create`, else kNotFound.
  // Destroyed: kRuleViolated when `create`, else kNotFound (erased).
  // Subjects are 1..80 bytes of printable ASCII (0x21..0x7e), else kInvalidArgument.
  Result<Key> key_for(const std::string& subject, bool create);

  // Crypto-shredding. Durable when it returns OK. Idempotent; also records a
  // tombstone for a subject that never had a key.
  Status destroy(const std::string& subject);
  // False also when the subject's file cannot be read (destroy() then reports it).
  bool destroyed(const std::string& subject) const;

  // Subject keys and tombstones held in memory, and the most it holds (the
  // memory gauges of /metrics); files read because a subject was not held.
  size_t subjects_in_memory() const;
  size_t max_cached_subjects() const { return max_cached_; }
  uint64_t subject_file_reads() const;

  // nonce (24 random bytes) || XChaCha20-Poly1305-IETF ciphertext+tag of
  // `plaintext`, authenticating `associated_data`. Creates the key on first use.
  Result<std::string> seal(const std::string& subject, std::string_view plaintext, std::string_view associated_data);
  // The inverse. kNotFound when the subject was erased (or never had a key),
  // kCorruption when the ciphertext or the associated data was altered.
  Result<std::string> open(const std::string& subject, std::string_view ciphertext, std::string_view associated_data);

  // Keyed BLAKE2b-256 of the email, lower-cased (ASCII) and trimmed of ASCII
  // whitespace, with the partner's secret (created on first use).
  // kInvalidArgument (field "email") when nothing is left after trimming.
  Result<Fingerprint> email_fingerprint(const PartnerId& partner, std::string_view email);
  // The same as the opaque byte string that events carry (EmailFingerprint).
  Result<EmailFingerprint> email_fingerprint_bytes(const PartnerId& partner, std::string_view email);

  // --- replication (cluster mode) ------------------------------------------
  // From now on: keys created here are tracked as unshipped, and destroy()
  // publishes the tombstone first (an error from `publish`: nothing is destroyed).
  void enable_replication(SecretPublisher publish);
  // The records of the keys created here that the cluster does not have yet.
  std::vector<SecretRecord> unshipped_records() const;
  void mark_shipped(const std::vector<std::string>& record_keys);
  // Every key and tombstone held here whose record key is not in `cluster_keys`
  // becomes unshipped.
  void reconcile(const std::set<std::string>& cluster_keys);
  // A record of the cluster ("key/<subject>" or "partner/<uuid>"). Its key or
  // tombstone replaces the local one, except that a destroyed subject stays
  // destroyed. kInvalidArgument when the record is not the store's or its
  // plaintext does not match its key; kCorruption when it does not decode.
  Status apply_replicated(const SecretRecord& record);
  static bool owns_record(std::string_view record_key);
  static std::string subject_record_key(std::string_view subject) { return "key/" + std::string(subject); }
  static std::string partner_record_key(const PartnerId& partner) { return "partner/" + partner.to_string(); }

  // --- the file format (docs/secrets.md), exposed for tests ------------------
  static constexpr std::string_view kMagic = "ACCTKEYS";  // 8 bytes
  static constexpr uint8_t kVersion = 1;
  enum class Kind : uint8_t { kSubjectKey = 1, kTombstone = 2, kPartnerSecret = 3 };
  // File name for a subject: bytes [A-Za-z0-9_-] kept, every other byte as %XX
  // (upper-case hex), plus ".key". Injective, never "." or "..".
  static std::string subject_file_name(std::string_view subject);
  // The inverse; nullopt for a name subject_file_name() does not make.
  static std::optional<std::string> subject_of_file_name(std::string_view name);
  static std::string normalize_email(std::string_view email);

 private:
  struct Record {
    Kind kind;
    std::string name;  // the subject, or the partner uuid
    Key key{};         // zero for a tombstone
  };
  static std::string encode(const Record& r);
  static Result<Record> decode(std::string_view bytes, const std::string& file);
  // A subject as its file says: a key, or erased (a tombstone).
  struct Subject {
    bool erased = false;
    Key key{};
  };
  struct Cached {
    explicit Cached(const Subject& s) : subject(s) {}
    Subject subject;
    // Used since the clock's hand last passed: set under the shared lock.
    mutable std::atomic<bool> referenced{true};
  };
  Status load_dir(const std::string& dir, std::string_view suffix);
  Status write_locked(const std::string& path, const Record& r);
  std::string subject_path(const std::string& subject) const;
  Result<Key> key_for_locked(const std::string& subject, bool create);
  // The rest of key_for_locked, given what the subject's file says (wiped
  // here). Caller holds mu_; shared is enough when `found` has a value
  // (nothing is written then).
  Result<Key> key_from_locked(const std::string& subject, bool create, std::optional<Subject>& found);
  Status destroy_locked(const std::string& subject);  // the local tombstone
  void created_locked(std::string record_key);        // tracked as unshipped in a cluster
  // The subject from memory, else from its file (then held); nullopt when it
  // has no file. Caller holds mu_.
  Result<std::optional<Subject>> find_locked(const std::string& subject) const;
  // What the subject's file says (nullopt: no file); takes no lock.
  Result<std::optional<Subject>> read_subject_file(const std::string& subject) const;
  // Holds the subject; beyond max_cached_, the first one the clock's hand
  // finds not used since it last passed goes (its key wiped). Caller holds mu_.
  void remember_locked(const std::string& subject, const Subject& value) const;

  Env* const env_;
  const std::string dir_;  // DATA/keys
  const size_t max_cached_;

  mutable std::shared_mutex mu_;
  // The subjects held (keys and tombstones); clock_ names each once, and
  // hand_ is where the next eviction looks first.
  mutable std::unordered_map<std::string, Cached> subjects_;
  mutable std::vector<std::string> clock_;
  mutable size_t hand_ = 0;
  mutable uint64_t file_reads_ = 0;
  // Bumped at every file written (under the exclusive lock): a file read
  // outside the lock is used only if none was written meanwhile.
  uint64_t files_written_ = 0;
  std::map<PartnerId, Key> partner_secrets_;
  SecretPublisher publish_;               // set once, before the store is shared
  bool replicated_ = false;
  std::set<std::string> unshipped_;       // record keys
};

// The key store as the cipher of personal data in event payloads and
// snapshots (schema/personal_data.h). The subject is the associated data, so a
// sealed value cannot be moved to another subject.
class KeyStoreCipher final : public PersonalDataCipher {
 public:
  explicit KeyStoreCipher(KeyStore& keys) : keys_(keys) {}
  Result<std::string> seal(const std::string& subject, std::string_view plaintext) override {
    return keys_.seal(subject, plaintext, subject);
  }
  Result<std::string> open(const std::string& subject, std::string_view sealed) override {
    return keys_.open(subject, sealed, subject);
  }
  Status erase(const std::string& subject) override { return keys_.destroy(subject); }

 private:
  KeyStore& keys_;
};

}  // namespace accountable
