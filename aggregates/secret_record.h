// The state that lives outside the log (keys, credentials, tokens;
// docs/secrets.md) as records a cluster replicates (docs/cluster.md, "State
// outside the log"). The stores produce and apply them; cluster/ carries them,
// sealed under the cluster key, on the compacted topic <name>.secrets.
//
// A record's key names what it replaces ("key/<subject>", "partner/<uuid>",
// "credential/<partner>/<user>", "token/<sha-256 hex>"); its plaintext is the
// store's own encoding of one entry (its file format), and no plaintext
// means the entry is gone (a credential erased, a token revoked).
#pragma once

#include <functional>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <sodium.h>

#include "events/status.h"

namespace accountable {

struct SecretRecord {
  std::string key;
  std::optional<std::string> plaintext;  // key material or hashes: wiped on destruction

  SecretRecord() = default;
  SecretRecord(std::string k, std::optional<std::string> p) : key(std::move(k)), plaintext(std::move(p)) {}
  SecretRecord(const SecretRecord&) = default;
  SecretRecord(SecretRecord&&) noexcept = default;
  SecretRecord& operator=(const SecretRecord&) = default;
  SecretRecord& operator=(SecretRecord&&) noexcept = default;
  ~SecretRecord() {
    if (plaintext) sodium_memzero(plaintext->data(), plaintext->size());
  }
};

// A record of the key store (a subject key or a partner's fingerprint
// secret): the only kind a batch can depend on (it names them), so the only
// kind a cluster's secrets reader keeps the names of.
inline bool is_key_store_record(std::string_view record_key) {
  return record_key.rfind("key/", 0) == 0 || record_key.rfind("partner/", 0) == 0;
}

// Kafka first: a store calls it with a change before it makes the change
// itself; an error leaves the store as it was. Empty on a single node.
using SecretPublisher = std::function<Status(const std::vector<SecretRecord>&)>;

// What a store answers when its publish failed; `change` names the change
// ("the credential change"). A commit whose outcome is unknown (it may have
// landed) is not called "not committed".
inline Status publish_failed(std::string_view change, const Status& s) {
  const char* outcome = s.code() == StatusCode::kOutcomeUnknown ? " may or may not be committed to the cluster: "
                                                                 : " was not committed to the cluster: ";
  return Status(s.code(), std::string(change) + outcome + s.message());
}

// What a cluster needs of one shard's stores outside the log
// (app/shard_secrets.h implements it over an AccountStack and a TokenStore).
class SecretStores {
 public:
  virtual ~SecretStores() = default;
  // Created here and not yet in the cluster (new subject keys and partner
  // secrets): they travel in the transaction of the shard's next batch, so
  // that no batch reaches a follower before the keys that unseal it.
  virtual std::vector<SecretRecord> unshipped() = 0;
  // Those records are committed to the cluster.
  virtual void shipped(const std::vector<std::string>& keys) = 0;
  // A record the cluster committed (another node's, or this node's from an
  // earlier run). The cluster's version replaces the local one, except that
  // a destroyed key stays destroyed.
  virtual Status apply(const SecretRecord& record) = 0;
  // After reading the secrets topic to its end at start: every key held here
  // that the cluster lacks (made by a run that ended before its batch) is
  // unshipped again.
  virtual void reconcile(const std::set<std::string>& cluster_keys) = 0;
};

}  // namespace accountable
