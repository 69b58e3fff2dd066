// ShardSecrets: one shard's stores outside the log (the key store and the
// credentials of its AccountStack, and the node's sign-in tokens) as the
// cluster sees them (aggregates/secret_record.h, docs/cluster.md "State
// outside the log"). Only `acct serve --cluster` makes one.
#pragma once

#include <set>
#include <string>
#include <vector>

#include "aggregates/context.h"
#include "aggregates/secret_record.h"
#include "app/account_stack.h"
#include "app/token_store.h"

namespace accountable {

class ShardSecrets final : public SecretStores {
 public:
  // `tokens` may be null (no HTTP server); every reference must outlive this.
  ShardSecrets(AccountStack& stack, TokenStore* tokens, const Clock& clock)
      : stack_(stack), tokens_(tokens), clock_(clock) {}

  // From now on each store publishes its changes through `publish` before it
  // makes them (new keys wait for the shard's next batch instead).
  void enable_replication(const SecretPublisher& publish);

  std::vector<SecretRecord> unshipped() override { return stack_.keys().unshipped_records(); }
  void shipped(const std::vector<std::string>& keys) override { stack_.keys().mark_shipped(keys); }
  Status apply(const SecretRecord& record) override;
  void reconcile(const std::set<std::string>& cluster_keys) override { stack_.keys().reconcile(cluster_keys); }

 private:
  AccountStack& stack_;
  TokenStore* tokens_;
  const Clock& clock_;
};

}  // namespace accountable
