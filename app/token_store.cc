#include "app/token_store.h"

#include <sodium.h>
#include <spdlog/spdlog.h>

#include "events/coding.h"
#include "events/sha256.h"

namespace accountable {

namespace {

constexpr size_t kTokenBytes = 32;
constexpr std::string_view kFileMagic = "ACCTTOK1";
constexpr size_t kEntryBytes = 32 + 1 + 16 + 16 + 16 + 8 + 1;  // hash, kind, partner, user, grant, expiry, flag

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

void append_entry(std::string& out, const std::string& hash, const TokenGrant& g) {
  out += hash;
  out.push_back(static_cast<char>(g.kind));
  put_id(out, g.partner);
  put_id(out, g.user);
  put_id(out, g.grant);
  char expiry[8];
  coding::put_u64(expiry, static_cast<uint64_t>(g.expires_at.micros));
  out.append(expiry, 8);
  out.push_back(g.must_change_password ? 1 : 0);
}

// One kEntryBytes entry at `p`; `where` names it in errors.
Result<TokenGrant> decode_entry(const char* p, const std::string& where) {
  TokenGrant g;
  const auto kind = static_cast<uint8_t>(p[32]);
  if (kind < 1 || kind > 3) return Status(StatusCode::kCorruption, where + ": bad token kind");
  g.kind = static_cast<TokenGrant::Kind>(kind);
  g.partner = get_id<PartnerIdTag>(p + 33);
  g.user = get_id<UserIdTag>(p + 49);
  g.grant = get_id<AuditorGrantIdTag>(p + 65);
  g.expires_at = Timestamp{static_cast<int64_t>(coding::get_u64(p + 81))};
  g.must_change_password = p[89] != 0;
  return g;
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

  if (env->file_exists(store->path_)) {
    auto bytes = env->read_file(store->path_);
    if (!bytes) return bytes.status();
    const std::string_view b = *bytes;
    if (b.size() < kFileMagic.size() || b.substr(0, kFileMagic.size()) != kFileMagic ||
        (b.size() - kFileMagic.size()) % kEntryBytes != 0) {
      return Status(StatusCode::kCorruption, store->path_ + ": not a token file (bad magic or length " +
                                                 std::to_string(b.size()) + ")");
    }
    for (size_t at = kFileMagic.size(); at < b.size(); at += kEntryBytes) {
      const char* p = b.data() + at;
      auto g = decode_entry(p, store->path_ + " at offset " + std::to_string(at + 32));
      if (!g) return g.status();
      if (now < g->expires_at) store->by_hash_.emplace(std::string(p, 32), *g);
    }
  }

  std::string operator_token;
  if (env->file_exists(store->operator_token_path_)) {
    auto bytes = env->read_file(store->operator_token_path_);
    if (!bytes) return bytes.status();
    operator_token = *bytes;
    while (!operator_token.empty() && (operator_token.back() == '\n' || operator_token.back() == '\r')) {
      operator_token.pop_back();
    }
    if (operator_token.rfind(kPrefix, 0) != 0) {
      return Status(StatusCode::kCorruption, store->operator_token_path_ + " does not hold an operator token");
    }
    if (created_operator_token) *created_operator_token = false;
  } else {
    unsigned char raw[kTokenBytes];
    randombytes_buf(raw, sizeof raw);
    operator_token = std::string(kPrefix) + base64url(raw, sizeof raw);
    sodium_memzero(raw, sizeof raw);
    // Env creates files 0600: only the service account can read it.
    ACCT_RETURN_IF_ERROR(env->write_file_atomically(store->operator_token_path_, operator_token + "\n"));
    if (created_operator_token) *created_operator_token = true;
  }
  store->operator_hash_ = hash_of(operator_token);
  sodium_memzero(operator_token.data(), operator_token.size());
  return store;
}

Status TokenStore::persist_locked() const {
  std::string out(kFileMagic);
  for (const auto& [hash, g] : by_hash_) append_entry(out, hash, g);
  return env_->write_file_atomically(path_, out);
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
    if (grant) {
      value.emplace();
      append_entry(*value, hash, *grant);
    }
    records.emplace_back(record_key(hash), std::move(value));
  }
  if (Status s = publish_(records); !s.is_ok()) {
    return Status(s.code(), "the token change was not committed to the cluster: " + s.message());
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
  auto before = by_hash_;
  if (!record.plaintext) {
    if (by_hash_.erase(hash) == 0) return Status::ok();
  } else {
    if (record.plaintext->size() != kEntryBytes || record.plaintext->compare(0, 32, hash) != 0) {
      return invalid_argument("token record " + record.key + " does not hold that token's entry", "value");
    }
    auto g = decode_entry(record.plaintext->data(), "token record " + record.key);
    if (!g) return g.status();
    if (!(now < g->expires_at)) {
      if (by_hash_.erase(hash) == 0) return Status::ok();
    } else {
      by_hash_[hash] = *g;
    }
  }
  Status s = persist_locked();
  if (!s.is_ok()) by_hash_ = std::move(before);
  return s;
}

Result<std::string> TokenStore::issue(const TokenGrant& grant) {
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
  by_hash_[hash] = grant;
  if (Status s = persist_locked(); !s.is_ok()) {
    by_hash_.erase(hash);
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
  if (sodium_memcmp(hash.data(), operator_hash_.data(), hash.size()) == 0) {
    TokenGrant g;
    g.kind = TokenGrant::Kind::kOperator;
    return g;
  }
  auto it = by_hash_.find(hash);  // a map lookup by a hash of the secret: timing reveals nothing useful
  if (it == by_hash_.end() || !(now < it->second.expires_at)) return refused;
  return it->second;
}

Status TokenStore::revoke_user(const PartnerId& partner, const UserId& user) {
  auto of_user = [&](const auto& entry) {
    return entry.second.kind == TokenGrant::Kind::kUser && entry.second.partner == partner && entry.second.user == user;
  };
  std::lock_guard order(publish_mu_);  // no change of this store can come between
  std::vector<std::pair<std::string, const TokenGrant*>> gone;
  {
    std::lock_guard lock(mu_);
    for (const auto& entry : by_hash_) {
      if (of_user(entry)) gone.emplace_back(entry.first, nullptr);
    }
  }
  ACCT_RETURN_IF_ERROR(publish_locked(gone));
  std::lock_guard lock(mu_);
  auto before = by_hash_;
  std::erase_if(by_hash_, of_user);
  if (by_hash_.size() == before.size()) return Status::ok();
  Status s = persist_locked();
  if (!s.is_ok()) by_hash_ = std::move(before);
  return s;
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
  ACCT_RETURN_IF_ERROR(publish_locked(changes));
  std::lock_guard lock(mu_);
  auto before = by_hash_;
  bool changed = false;
  for (auto& [hash, g] : by_hash_) {
    if (g.kind == TokenGrant::Kind::kUser && g.partner == partner && g.user == user && g.must_change_password) {
      g.must_change_password = false;
      changed = true;
    }
  }
  if (!changed) return Status::ok();
  Status s = persist_locked();
  if (!s.is_ok()) by_hash_ = std::move(before);
  return s;
}

size_t TokenStore::size() const {
  std::lock_guard lock(mu_);
  return by_hash_.size();
}

}  // namespace accountable
