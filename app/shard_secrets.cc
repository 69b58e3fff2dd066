#include "app/shard_secrets.h"

namespace accountable {

void ShardSecrets::enable_replication(const SecretPublisher& publish) {
  stack_.keys().enable_replication(publish);
  stack_.credentials().enable_replication(publish);
  if (tokens_) tokens_->enable_replication(publish);
}

Status ShardSecrets::apply(const SecretRecord& record) {
  if (KeyStore::owns_record(record.key)) {
    ACCT_RETURN_IF_ERROR(stack_.keys().apply_replicated(record));
    // A key destroyed (or replaced) under the engine's cached states, which
    // may hold personal data decoded with it: they go.
    stack_.engine().forget_cached_states();
    return Status::ok();
  }
  if (CredentialStore::owns_record(record.key)) return stack_.credentials().apply_replicated(record);
  if (TokenStore::owns_record(record.key)) {
    if (!tokens_) return Status::ok();  // no server: no tokens to keep
    return tokens_->apply_replicated(record, clock_.now());
  }
  return invalid_argument("unknown kind of secret record: " + record.key, "key");
}

}  // namespace accountable
