// TokenStore: bearer tokens of the HTTP API, kept OUTSIDE the event log.
//
//  - A token is 256 random bits (libsodium CSPRNG; with S > 1 shards the first
//    byte names the shard, set_token_shard), given to the client once as
//    "acct_" + base64url. Only its SHA-256 is kept, with whom it stands for,
//    when it expires, and whether its user must change a temporary password.
//  - Durable: DATA/secrets/tokens is rewritten atomically (write, fsync,
//    rename, fsync folder) on every change; a token is handed out only after
//    that. Format: docs/http-api.md, "Tokens".
//  - The operator's token lives in DATA/operator.token (mode 0600), created on
//    first start; only its hash is registered here.
//  - Revoked when the user's password is reset, the user is deactivated or
//    purged (revoke_user), and on expiry.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "aggregates/principal.h"
#include "aggregates/secret_record.h"
#include "events/env.h"

namespace accountable {

struct TokenGrant {
  enum class Kind : uint8_t { kUser = 1, kOperator = 2, kAuditor = 3 };
  Kind kind = Kind::kUser;
  PartnerId partner;        // user, auditor
  UserId user;              // user
  AuditorGrantId grant;     // auditor
  Timestamp expires_at;
  bool must_change_password = false;  // user: only POST /v1/me/password is allowed

  Principal principal() const;  // a partner user's roles are read by the engine, not kept here
};

class TokenStore {
 public:
  // Loads DATA/secrets/tokens (dropping expired entries) and DATA/operator.token,
  // creating the operator token on first start. `*created_operator_token` tells
  // whether it was created now.
  // `operator_token_file`: where the operator's token is kept, when not
  // DATA/operator.token (a node of a cluster with S > 1 shards has one store
  // per shard folder and one operator token for the node).
  static Result<std::unique_ptr<TokenStore>> open(Env* env, const std::string& data_dir, Timestamp now,
                                                  bool* created_operator_token = nullptr,
                                                  const std::string& operator_token_file = "");

  // A new token for `grant`; the plain token is returned once.
  Result<std::string> issue(const TokenGrant& grant);
  // kUnauthenticated (same message for unknown, expired and malformed tokens).
  Result<TokenGrant> authenticate(std::string_view token, Timestamp now) const;
  // Drops every token of the user.
  Status revoke_user(const PartnerId& partner, const UserId& user);
  // The user changed the temporary password: their tokens may do everything again.
  Status clear_must_change(const PartnerId& partner, const UserId& user);

  // --- replication (cluster mode, docs/cluster.md) ---------------------------
  // From now on every change is published ("token/<sha-256 hex>", the entry,
  // or none when revoked) before it is made here; when publishing fails the
  // change fails and the store is as before. The operator's token is not a
  // record: each node has DATA/operator.token.
  void enable_replication(SecretPublisher publish);
  // A record of the cluster: the entry replaces the local one (none, or
  // expired by `now`: the token is gone).
  Status apply_replicated(const SecretRecord& record, Timestamp now);
  static bool owns_record(std::string_view record_key) { return record_key.rfind("token/", 0) == 0; }

  // --- shards (a cluster with S > 1, docs/cluster.md) ------------------------
  // Every token this store issues from now on carries `shard` as the first of
  // its 32 random bytes (31 stay random: 248 bits), so that any node's router
  // knows the token's shard before that node has read the token.
  void set_token_shard(uint8_t shard) { token_shard_ = shard; }
  // The shard byte of a well-formed token (the operator's has none that
  // means anything: ask authenticate() first); nullopt when malformed.
  static std::optional<uint8_t> shard_of_token(std::string_view token);

  const std::string& operator_token_path() const { return operator_token_path_; }
  size_t size() const;

  static constexpr std::string_view kPrefix = "acct_";

 private:
  TokenStore(Env* env, std::string path, std::string operator_token_path)
      : env_(env), path_(std::move(path)), operator_token_path_(std::move(operator_token_path)) {}
  Status persist_locked() const;
  // Publishes the entries (null: revoked) under publish_mu_; OK on a single node.
  Status publish_locked(const std::vector<std::pair<std::string, const TokenGrant*>>& changes);
  static std::string hash_of(std::string_view token);
  static std::string record_key(const std::string& hash);

  Env* env_;
  const std::string path_;
  const std::string operator_token_path_;
  SecretPublisher publish_;  // set once, before the store is shared
  std::optional<uint8_t> token_shard_;  // set once, before the store is shared
  std::mutex publish_mu_;    // changes reach the cluster in the order they are made here
  mutable std::mutex mu_;
  std::map<std::string, TokenGrant> by_hash_;  // SHA-256 (raw 32 bytes) -> grant; the operator's is not persisted here
  std::string operator_hash_;
};

}  // namespace accountable
