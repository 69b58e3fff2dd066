// TokenStore: bearer tokens of the HTTP API, kept OUTSIDE the event log.
//
//  - A token is 256 random bits (libsodium CSPRNG; with S > 1 shards the first
//    byte names the shard, set_token_shard), given to the client once as
//    "acct_" + base64url. Only its SHA-256 is kept, with whom it stands for,
//    when it expires, and whether its user must change a temporary password.
//  - Each token is a session: a public session id, when and from which
//    client address it was made, and when it was last used (kept in memory
//    only: after a restart a session shows its creation time until it is used).
//  - Durable: a change appends one record per token to
//    DATA/secrets/tokens.journal and fdatasyncs it (events/record_journal.h);
//    a token is handed out only after that. The snapshot DATA/secrets/tokens
//    is rewritten only when the journal has grown past twice the live tokens
//    (at least 1,024 records). Format: docs/http-api.md, "Tokens".
//  - The operator's token lives in DATA/operator.token (mode 0600), created on
//    first start; only its hash is registered here. `acct operator-token
//    rotate` replaces the file while the server runs: the store notices the
//    new file (its inode, size and mtime) on the next request that presents
//    the operator's token or an unknown one, so the old token dies at once.
//  - Revoked when the user's password is reset, the user is deactivated or
//    purged (revoke_user), when an auditor's grant is revoked
//    (revoke_auditor_grant), when the user signs out (revoke_token) or ends one
//    of their sessions (revoke_session), when they change their password (every
//    other session: revoke_user_except), and on expiry.
#pragma once

#include <functional>
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
#include "events/record_journal.h"

namespace accountable {

struct SessionIdTag {};
using SessionId = Id128<SessionIdTag>;

struct TokenGrant {
  enum class Kind : uint8_t { kUser = 1, kOperator = 2, kAuditor = 3 };
  Kind kind = Kind::kUser;
  PartnerId partner;        // user, auditor
  UserId user;              // user
  AuditorGrantId grant;     // auditor
  Timestamp expires_at;
  bool must_change_password = false;  // user: only POST /v1/me/password is allowed
  // The session this token is (issue() fills in the id when it is nil).
  SessionId session;
  Timestamp created_at;
  std::string client_address;  // at most 64 bytes; "" when unknown

  Principal principal() const;  // a partner user's roles are read by the engine, not kept here
};

// One of a user's sessions, as GET /v1/me/sessions shows it.
struct SessionInfo {
  SessionId session;
  Timestamp created_at, last_used_at, expires_at;
  std::string client_address;
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
  // Drops every token of the user but `keep` (a password change ends the other sessions).
  Status revoke_user_except(const PartnerId& partner, const UserId& user, std::string_view keep);
  // Drops every token of the auditor grant (RevokeAuditorAccess).
  Status revoke_auditor_grant(const PartnerId& partner, const AuditorGrantId& grant);
  // Drops this one token (sign-out). kUnauthenticated if it is not a live token.
  Status revoke_token(std::string_view token);
  // Drops the user's session `session`; kNotFound if the user has no such session.
  Status revoke_session(const PartnerId& partner, const UserId& user, const SessionId& session);
  // The user's live sessions at `now`, oldest first.
  std::vector<SessionInfo> sessions_of(const PartnerId& partner, const UserId& user, Timestamp now) const;
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
  // Writes a new operator token into `path` (atomically, mode 0600). A running
  // server's store takes it on its next operator request; the old one is refused.
  static Status rotate_operator_token(Env* env, const std::string& path);
  size_t size() const;

  static constexpr std::string_view kPrefix = "acct_";

 private:
  TokenStore(Env* env, std::string path, std::string operator_token_path)
      : env_(env), path_(std::move(path)), operator_token_path_(std::move(operator_token_path)) {}
  // Makes the changes durable (the journal), then applies them here; compacts
  // when the journal has grown. Caller holds mu_. On failure nothing changed.
  Status commit_locked(const std::vector<std::pair<std::string, const TokenGrant*>>& changes);
  // Drops the tokens `which` picks: publish, then commit. Caller holds publish_mu_.
  Status revoke_where(const std::function<bool(const std::string& hash, const TokenGrant&)>& which);
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
  std::unique_ptr<RecordJournal> journal_;    // guarded by mu_
  std::map<std::string, TokenGrant> by_hash_;  // SHA-256 (raw 32 bytes) -> grant; the operator's is not persisted here
  mutable std::map<std::string, Timestamp> last_used_;  // guarded by mu_; SHA-256 -> last authenticate()
  // guarded by mu_: the latest time a caller gave (authenticate, issue):
  // compaction drops the tokens expired by then, so expired sign-ins do not pile up.
  mutable Timestamp latest_now_{};
  uint64_t changes_since_sweep_ = 0;  // guarded by mu_
  // Reads the operator token's file again if it is not the one read last
  // (inode, size, mtime). Caller holds mu_. On a read error the old hash stays.
  void refresh_operator_locked() const;
  mutable std::string operator_hash_;    // guarded by mu_
  mutable std::string operator_file_id_;  // guarded by mu_: "dev:ino:size:mtime_ns" of the file read last
};

}  // namespace accountable
