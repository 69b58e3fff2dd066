#include "app/token_store.h"

#include <sodium.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstring>

#include "events/coding.h"
#include "events/sha256.h"

namespace accountable {

namespace {

constexpr size_t kTokenBytes = 32;
constexpr std::string_view kFileMagicV1 = "ACCTTOK1";  // the whole file rewritten per change (read, then converted)
constexpr std::string_view kFileMagic = "ACCTTOK2";    // RecordJournal snapshot (events/record_journal.h)
constexpr size_t kEntryBytesV1 = 32 + 1 + 16 + 16 + 16 + 8 + 1;  // hash, kind, partner, user, grant, expiry, flag
constexpr size_t kEntryBytes = kEntryBytesV1 + 16 + 8 + 1;     // + session, created, address length (+ address)
constexpr size_t kMaxClientAddress = 64;
// Compact when the journal holds this many records and more than twice the live tokens.
constexpr uint64_t kCompactAfterRecords = 1024;
constexpr uint64_t kSweepAfterChanges = 1024;

std::string base64url(const unsigned char* bytes, size_t n) {
  std::string out(sodium_base64_encoded_len(n, sodium_base64_VARIANT_URLSAFE_NO_PADDING), '\0');
  sodium_bin2base64(out.data(), out.size(), bytes, n, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  out.resize(out.size() - 1);  // the terminating NUL
  return out;
}

template <class Tag>
void put_id(std::string& out, const Id128<Tag>& id) {
  out.append(reinterpret_cast<const char*>(id.bytes().data()), 16);
}

template <class Tag>
Id128<Tag> get_id(const char* p) {
  std::array<unsigned char, 16> b{};
  std::memcpy(b.data(), p, 16);
  return Id128<Tag>(b);
}

void append_u64(std::string& out, uint64_t v) {
  char b[8];
  coding::put_u64(b, v);
  out.append(b, 8);
}

// The entry of a token (docs/http-api.md, "Tokens"): the journal's value and
// the cluster's record.
std::string encode_entry(const std::string& hash, const TokenGrant& g) {
  std::string out;
  out += hash;
  out.push_back(static_cast<char>(g.kind));
  put_id(out, g.partner);
  put_id(out, g.user);
  put_id(out, g.grant);
  append_u64(out, static_cast<uint64_t>(g.expires_at.micros));
  out.push_back(g.must_change_password ? 1 : 0);
  put_id(out, g.session);
  append_u64(out, static_cast<uint64_t>(g.created_at.micros));
  const std::string_view address = std::string_view(g.client_address).substr(0, kMaxClientAddress);
  out.push_back(static_cast<char>(address.size()));
  out += address;
  return out;
}

// A v1 token had no session: its id is derived from the token's hash, so that
// it stays the same across restarts.
SessionId session_of_v1(std::string_view hash) {
  const Hash256 h = sha256(hash);
  std::array<unsigned char, 16> b{};
  std::memcpy(b.data(), h.data(), 16);
  return SessionId(b);
}

// One entry (v2, or a v1 entry of exactly kEntryBytesV1); `where` names it in errors.
Result<TokenGrant> decode_entry(std::string_view e, const std::string& where) {
  if (e.size() < kEntryBytesV1) return Status(StatusCode::kCorruption, where + ": a token entry cut short");
  const char* p = e.data();
  TokenGrant g;
  const auto kind = static_cast<uint8_t>(p[32]);
  if (kind < 1 || kind > 3) return Status(StatusCode::kCorruption, where + ": bad token kind");
  g.kind = static_cast<TokenGrant::Kind>(kind);
  g.partner = get_id<PartnerIdTag>(p + 33);
  g.user = get_id<UserIdTag>(p + 49);
  g.grant = get_id<AuditorGrantIdTag>(p + 65);
  g.expires_at = Timestamp{static_cast<int64_t>(coding::get_u64(p + 81))};
  g.must_change_password = p[89] != 0;
  if (e.size() == kEntryBytesV1) {
    g.session = session_of_v1(e.substr(0, 32));
    return g;
  }
  if (e.size() < kEntryBytes) return Status(StatusCode::kCorruption, where + ": a token entry cut short");
  g.session = get_id<SessionIdTag>(p + 90);
  g.created_at = Timestamp{static_cast<int64_t>(coding::get_u64(p + 106))};
  const auto address_length = static_cast<uint8_t>(p[114]);
  if (address_length > kMaxClientAddress || e.size() != kEntryBytes + address_length) {
    return Status(StatusCode::kCorruption, where + ": a token entry of the wrong length");
  }
  g.client_address.assign(p + kEntryBytes, address_length);
  return g;
}

// The SHA-256 of the operator token kept in `path`, which must hold one.
Result<std::string> read_operator_hash(Env* env, const std::string& path) {
  auto bytes = env->read_file(path);
  if (!bytes) return bytes.status();
  std::string token = std::move(*bytes);
  while (!token.empty() && (token.back() == '\n' || token.back() == '\r')) token.pop_back();
  if (token.rfind(TokenStore::kPrefix, 0) != 0) {
    sodium_memzero(token.data(), token.size());
    return Status(StatusCode::kCorruption, path + " does not hold an operator token");
  }
  const Hash256 h = sha256(token);
  sodium_memzero(token.data(), token.size());
  return std::string(reinterpret_cast<const char*>(h.data()), h.size());
}

// Which file is at `path` now: a rename puts another inode there. "" when absent.
std::string file_identity(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return "";
  return std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino) + ":" + std::to_string(st.st_size) + ":" +
         std::to_string(st.st_mtim.tv_sec) + "." + std::to_string(st.st_mtim.tv_nsec);
}

}  // namespace

Principal TokenGrant::principal() const {
  switch (kind) {
    case Kind::kOperator:
      return Operator{"api"};
    case Kind::kAuditor:
      return Auditor{grant, partner};
    case Kind::kUser:
      break;
  }
  return PartnerUser{partner, user, {}, true};
}

std::string TokenStore::hash_of(std::string_view token) {
  const Hash256 h = sha256(token);
  return std::string(reinterpret_cast<const char*>(h.data()), h.size());
}

Result<std::unique_ptr<TokenStore>> TokenStore::open(Env* env, const std::string& data_dir, Timestamp now,
                                                     bool* created_operator_token,
                                                     const std::string& operator_token_file) {
  if (sodium_init() < 0) return Status(StatusCode::kInternal, "libsodium failed to initialise");
  const std::string secrets = join_path(data_dir, "secrets");
  ACCT_RETURN_IF_ERROR(env->create_dir(data_dir));
  ACCT_RETURN_IF_ERROR(env->create_dir(secrets));
  std::unique_ptr<TokenStore> store(
      new TokenStore(env, join_path(secrets, "tokens"),
                     operator_token_file.empty() ? join_path(data_dir, "operator.token") : operator_token_file));

  // A v1 file (the whole map, rewritten per change) becomes a v2 snapshot first.
  if (env->file_exists(store->path_)) {
    auto bytes = env->read_file(store->path_);
    if (!bytes) return bytes.status();
    const std::string_view b = *bytes;
    if (b.substr(0, kFileMagicV1.size()) == kFileMagicV1) {
      if ((b.size() - kFileMagicV1.size()) % kEntryBytesV1 != 0) {
        return Status(StatusCode::kCorruption, store->path_ + ": not a token file (length " +
                                                   std::to_string(b.size()) + ")");
      }
      RecordJournal::Map converted;
      for (size_t at = kFileMagicV1.size(); at < b.size(); at += kEntryBytesV1) {
        const std::string_view e = b.substr(at, kEntryBytesV1);
        auto g = decode_entry(e, store->path_ + " at offset " + std::to_string(at));
        if (!g) return g.status();
        const std::string hash(e.substr(0, 32));
        if (now < g->expires_at) converted[hash] = encode_entry(hash, *g);
      }
      ACCT_RETURN_IF_ERROR(
          env->write_file_atomically(store->path_, RecordJournal::encode_snapshot(kFileMagic, converted)));
      spdlog::info("tokens: {} converted to the journaled format ({} live token(s))", store->path_, converted.size());
    }
  }
  RecordJournal::Map entries;
  uint64_t torn = 0;
  auto journal = RecordJournal::open(env, store->path_, kFileMagic, &entries, &torn);
  if (!journal) return journal.status();
  if (torn > 0) spdlog::warn("tokens: {} torn byte(s) cut off the journal's end (never acknowledged)", torn);
  store->journal_ = std::move(*journal);
  for (const auto& [hash, value] : entries) {
    if (hash.size() != 32 || value.compare(0, 32, hash) != 0) {
      return Status(StatusCode::kCorruption, store->path_ + ": an entry that is not its token's");
    }
    auto g = decode_entry(value, store->path_);
    if (!g) return g.status();
    if (now < g->expires_at) store->by_hash_.emplace(hash, std::move(*g));
  }

  const bool exists = env->file_exists(store->operator_token_path_);
  if (!exists) ACCT_RETURN_IF_ERROR(rotate_operator_token(env, store->operator_token_path_));
  if (created_operator_token) *created_operator_token = !exists;
  const std::string file_id = file_identity(store->operator_token_path_);
  auto hash = read_operator_hash(env, store->operator_token_path_);
  if (!hash) return hash.status();
  store->operator_hash_ = std::move(*hash);
  store->operator_file_id_ = file_id;
  return store;
}

Status TokenStore::rotate_operator_token(Env* env, const std::string& path) {
  unsigned char raw[kTokenBytes];
  randombytes_buf(raw, sizeof raw);
  std::string token = std::string(kPrefix) + base64url(raw, sizeof raw) + "\n";
  sodium_memzero(raw, sizeof raw);
  // Env creates files 0600: only the service account can read it.
  Status s = env->write_file_atomically(path, token);
  sodium_memzero(token.data(), token.size());
  return s;
}

void TokenStore::refresh_operator_locked() const {
  const std::string id = file_identity(operator_token_path_);
  if (id.empty() || id == operator_file_id_) return;
  auto hash = read_operator_hash(env_, operator_token_path_);
  if (!hash) {
    spdlog::error("operator token: {} changed but cannot be read ({}); the previous token stays valid",
                  operator_token_path_, hash.status().message());
    return;
  }
  if (*hash != operator_hash_) {
    spdlog::warn("operator token: {} was rotated; the previous token is refused", operator_token_path_);
  }
  operator_hash_ = std::move(*hash);
  operator_file_id_ = id;
}

Status TokenStore::commit_locked(const std::vector<std::pair<std::string, const TokenGrant*>>& changes) {
  std::vector<RecordJournal::Change> records;
  for (const auto& [hash, grant] : changes) {
    if (grant) {
      records.emplace_back(hash, encode_entry(hash, *grant));
    } else if (by_hash_.count(hash)) {
      records.emplace_back(hash, std::nullopt);
    }
  }
  if (records.empty()) return Status::ok();
  ACCT_RETURN_IF_ERROR(journal_->append(records));
  for (const auto& [hash, grant] : changes) {
    if (grant) {
      by_hash_[hash] = *grant;
    } else {
      by_hash_.erase(hash);
      last_used_.erase(hash);
    }
  }
  // Expired tokens are refused anyway: they leave memory every
  // kSweepAfterChanges changes (sign-ins that simply expire would otherwise
  // pile up until a restart; one scan per 1,024 changes keeps it off the hot
  // path), and the next snapshot leaves them out. open() drops them too.
  changes_since_sweep_ += records.size();
  if (changes_since_sweep_ >= kSweepAfterChanges) {
    changes_since_sweep_ = 0;
    for (auto it = by_hash_.begin(); it != by_hash_.end();) {
      if (it->second.expires_at.micros <= latest_now_.micros) {
        last_used_.erase(it->first);
        it = by_hash_.erase(it);
      } else {
        ++it;
      }
    }
  }
  // Keep the journal short: rewrite the snapshot with the live tokens. A
  // failure here loses nothing: the journal holds it all.
  if (journal_->journal_records() >= kCompactAfterRecords && journal_->journal_records() > 2 * by_hash_.size()) {
    RecordJournal::Map all;
    for (const auto& [hash, g] : by_hash_) all[hash] = encode_entry(hash, g);
    if (Status s = journal_->compact(all); !s.is_ok()) {
      spdlog::warn("tokens: compaction of {} failed ({}); the journal keeps growing until it works", path_,
                   s.message());
    }
  }
  return Status::ok();
}

// ---- replication (cluster mode) ------------------------------------------------

void TokenStore::enable_replication(SecretPublisher publish) {
  std::lock_guard order(publish_mu_);
  publish_ = std::move(publish);
}

std::string TokenStore::record_key(const std::string& hash) {
  return "token/" + hex_encode(reinterpret_cast<const unsigned char*>(hash.data()), hash.size());
}

Status TokenStore::publish_locked(const std::vector<std::pair<std::string, const TokenGrant*>>& changes) {
  if (!publish_ || changes.empty()) return Status::ok();
  std::vector<SecretRecord> records;
  for (const auto& [hash, grant] : changes) {
    std::optional<std::string> value;
    if (grant) value = encode_entry(hash, *grant);
    records.emplace_back(record_key(hash), std::move(value));
  }
  if (Status s = publish_(records); !s.is_ok()) {
    return publish_failed("the token change", s);
  }
  return Status::ok();
}

Status TokenStore::apply_replicated(const SecretRecord& record, Timestamp now) {
  if (!owns_record(record.key)) return invalid_argument("not a token record: " + record.key, "key");
  const std::string hex = record.key.substr(6);
  std::string hash(32, '\0');
  size_t bin_len = 0;
  if (hex.size() != 64 || sodium_hex2bin(reinterpret_cast<unsigned char*>(hash.data()), hash.size(), hex.data(),
                                         hex.size(), nullptr, &bin_len, nullptr) != 0 || bin_len != 32) {
    return invalid_argument("token record " + record.key + ": not a SHA-256 in hex", "key");
  }
  std::lock_guard lock(mu_);
  if (!record.plaintext) return commit_locked({{hash, nullptr}});
  if (record.plaintext->compare(0, 32, hash) != 0) {
    return invalid_argument("token record " + record.key + " does not hold that token's entry", "value");
  }
  auto g = decode_entry(*record.plaintext, "token record " + record.key);
  if (!g) return g.status();
  if (!(now < g->expires_at)) return commit_locked({{hash, nullptr}});
  return commit_locked({{hash, &*g}});
}

Result<std::string> TokenStore::issue(const TokenGrant& requested) {
  TokenGrant grant = requested;
  if (grant.session.is_nil()) grant.session = SessionId::random();
  if (grant.client_address.size() > kMaxClientAddress) grant.client_address.resize(kMaxClientAddress);
  unsigned char raw[kTokenBytes];
  randombytes_buf(raw, sizeof raw);
  if (token_shard_) raw[0] = *token_shard_;
  std::string token = std::string(kPrefix) + base64url(raw, sizeof raw);
  sodium_memzero(raw, sizeof raw);
  const std::string hash = hash_of(token);
  std::lock_guard order(publish_mu_);
  if (Status s = publish_locked({{hash, &grant}}); !s.is_ok()) {
    sodium_memzero(token.data(), token.size());
    return s;
  }
  std::lock_guard lock(mu_);
  if (latest_now_.micros < grant.created_at.micros) latest_now_ = grant.created_at;
  if (Status s = commit_locked({{hash, &grant}}); !s.is_ok()) {
    sodium_memzero(token.data(), token.size());
    return s;
  }
  return token;
}

std::optional<uint8_t> TokenStore::shard_of_token(std::string_view token) {
  if (token.size() != kPrefix.size() + 43 || token.substr(0, kPrefix.size()) != kPrefix) return std::nullopt;
  // The first byte is in the first two base64url characters (6 + 2 bits);
  // four characters decode to three whole bytes.
  unsigned char first[3];
  size_t n = 0;
  const std::string_view head = token.substr(kPrefix.size(), 4);
  if (sodium_base642bin(first, sizeof first, head.data(), head.size(), nullptr, &n, nullptr,
                        sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
      n != sizeof first) {
    return std::nullopt;
  }
  return first[0];
}

Result<TokenGrant> TokenStore::authenticate(std::string_view token, Timestamp now) const {
  const Status refused(StatusCode::kUnauthenticated, "the bearer token is not valid (unknown, expired or malformed)");
  if (token.size() != kPrefix.size() + 43 || token.substr(0, kPrefix.size()) != kPrefix) return refused;
  const std::string hash = hash_of(token);
  std::lock_guard lock(mu_);
  if (latest_now_.micros < now.micros) latest_now_ = now;
  auto it = by_hash_.find(hash);  // a map lookup by a hash of the secret: timing reveals nothing useful
  if (it != by_hash_.end()) {
    if (!(now < it->second.expires_at)) return refused;
    last_used_[hash] = now;
    return it->second;
  }
  // The operator's token, or an unknown one: first make sure the operator's
  // file was not rotated since it was read.
  refresh_operator_locked();
  if (sodium_memcmp(hash.data(), operator_hash_.data(), hash.size()) == 0) {
    TokenGrant g;
    g.kind = TokenGrant::Kind::kOperator;
    return g;
  }
  return refused;
}

Status TokenStore::revoke_where(const std::function<bool(const std::string&, const TokenGrant&)>& which) {
  std::vector<std::pair<std::string, const TokenGrant*>> gone;
  {
    std::lock_guard lock(mu_);
    for (const auto& [hash, g] : by_hash_) {
      if (which(hash, g)) gone.emplace_back(hash, nullptr);
    }
  }
  if (gone.empty()) return Status::ok();
  ACCT_RETURN_IF_ERROR(publish_locked(gone));
  std::lock_guard lock(mu_);
  return commit_locked(gone);
}

Status TokenStore::revoke_user(const PartnerId& partner, const UserId& user) {
  std::lock_guard order(publish_mu_);  // no change of this store can come between
  return revoke_where([&](const std::string&, const TokenGrant& g) {
    return g.kind == TokenGrant::Kind::kUser && g.partner == partner && g.user == user;
  });
}

Status TokenStore::revoke_auditor_grant(const PartnerId& partner, const AuditorGrantId& grant) {
  std::lock_guard order(publish_mu_);
  return revoke_where([&](const std::string&, const TokenGrant& g) {
    return g.kind == TokenGrant::Kind::kAuditor && g.partner == partner && g.grant == grant;
  });
}

Status TokenStore::revoke_user_except(const PartnerId& partner, const UserId& user, std::string_view keep) {
  const std::string kept = hash_of(keep);
  std::lock_guard order(publish_mu_);
  return revoke_where([&](const std::string& hash, const TokenGrant& g) {
    return g.kind == TokenGrant::Kind::kUser && g.partner == partner && g.user == user && hash != kept;
  });
}

Status TokenStore::revoke_token(std::string_view token) {
  const std::string hash = hash_of(token);
  std::lock_guard order(publish_mu_);
  {
    std::lock_guard lock(mu_);
    if (!by_hash_.count(hash)) return Status(StatusCode::kUnauthenticated, "the bearer token is not valid");
  }
  return revoke_where([&](const std::string& h, const TokenGrant&) { return h == hash; });
}

Status TokenStore::revoke_session(const PartnerId& partner, const UserId& user, const SessionId& session) {
  std::lock_guard order(publish_mu_);
  bool found = false;
  {
    std::lock_guard lock(mu_);
    for (const auto& [hash, g] : by_hash_) {
      found = found || (g.kind == TokenGrant::Kind::kUser && g.partner == partner && g.user == user &&
                        g.session == session);
    }
  }
  if (!found) return Status(StatusCode::kNotFound, "no session " + session.to_string() + " of yours", "id");
  return revoke_where([&](const std::string&, const TokenGrant& g) {
    return g.kind == TokenGrant::Kind::kUser && g.partner == partner && g.user == user && g.session == session;
  });
}

std::vector<SessionInfo> TokenStore::sessions_of(const PartnerId& partner, const UserId& user, Timestamp now) const {
  std::vector<SessionInfo> out;
  std::lock_guard lock(mu_);
  for (const auto& [hash, g] : by_hash_) {
    if (g.kind != TokenGrant::Kind::kUser || g.partner != partner || g.user != user || !(now < g.expires_at)) continue;
    auto used = last_used_.find(hash);
    out.push_back(SessionInfo{g.session, g.created_at, used == last_used_.end() ? g.created_at : used->second,
                              g.expires_at, g.client_address});
  }
  std::sort(out.begin(), out.end(), [](const SessionInfo& a, const SessionInfo& b) {
    return a.created_at.micros != b.created_at.micros ? a.created_at.micros < b.created_at.micros
                                                      : a.session.to_string() < b.session.to_string();
  });
  return out;
}

Status TokenStore::clear_must_change(const PartnerId& partner, const UserId& user) {
  std::lock_guard order(publish_mu_);
  std::map<std::string, TokenGrant> cleared;
  {
    std::lock_guard lock(mu_);
    for (const auto& [hash, g] : by_hash_) {
      if (g.kind == TokenGrant::Kind::kUser && g.partner == partner && g.user == user && g.must_change_password) {
        cleared[hash] = g;
        cleared[hash].must_change_password = false;
      }
    }
  }
  std::vector<std::pair<std::string, const TokenGrant*>> changes;
  for (const auto& [hash, g] : cleared) changes.emplace_back(hash, &g);
  if (changes.empty()) return Status::ok();
  ACCT_RETURN_IF_ERROR(publish_locked(changes));
  std::lock_guard lock(mu_);
  return commit_locked(changes);
}

size_t TokenStore::size() const {
  std::lock_guard lock(mu_);
  return by_hash_.size();
}

}  // namespace accountable
