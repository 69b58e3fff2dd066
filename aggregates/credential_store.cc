#include "aggregates/credential_store.h"

#include <algorithm>
#include <set>
#include <thread>

#include <sodium.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <cstring>

#include "events/coding.h"
#include "events/crc32c.h"

namespace accountable {
namespace {

using namespace coding;

constexpr size_t kHeaderSize = 8 + 4 + 4;  // magic, version, count
constexpr size_t kTrailerSize = 4;          // masked crc32c
constexpr size_t kRecordFixed = 16 + 16 + 1 + 8 + 2;
constexpr uint8_t kFlagMustChange = 0x01;
constexpr std::string_view kHashPrefix = "$argon2id$";

// One message for every failed verification (wrong password, unknown user).
const char kBadCredentials[] = "the user id or the password is wrong";

// Code points of valid UTF-8 (RFC 3629: no overlongs, no surrogates, <= U+10FFFF);
// nullopt when invalid.
std::optional<size_t> utf8_length(std::string_view s) {
  size_t count = 0;
  for (size_t i = 0; i < s.size(); ++count) {
    const auto c = static_cast<unsigned char>(s[i]);
    size_t n;
    uint32_t cp;
    if (c < 0x80) {
      n = 1, cp = c;
    } else if ((c & 0xE0) == 0xC0) {
      n = 2, cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      n = 3, cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      n = 4, cp = c & 0x07;
    } else {
      return std::nullopt;
    }
    if (i + n > s.size()) return std::nullopt;
    for (size_t k = 1; k < n; ++k) {
      const auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return std::nullopt;
      cp = (cp << 6) | (cc & 0x3F);
    }
    static constexpr uint32_t kMinForLength[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < kMinForLength[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return std::nullopt;
    i += n;
  }
  return count;
}

// Wipes a string's bytes (capacity included is not reachable; size is enough
// because we never let such strings grow after they hold a secret).
void wipe(std::string& s) {
  if (!s.empty()) sodium_memzero(s.data(), s.size());
  s.clear();
}

}  // namespace

std::shared_ptr<ConcurrencyGate> make_hashing_gate(const CredentialStoreOptions& options) {
  return std::make_shared<ConcurrencyGate>(ConcurrencyGate::Options{
      options.max_concurrent_hashes ? options.max_concurrent_hashes
                                    : std::max<size_t>(1, std::thread::hardware_concurrency()),
      options.max_waiting_hashes, options.max_hash_wait});
}

Result<std::unique_ptr<CredentialStore>> CredentialStore::open(Env* env, const std::string& data_dir,
                                                               CredentialStoreOptions options) {
  if (sodium_init() < 0) return Status(StatusCode::kInternal, "libsodium failed to initialize");
  const std::string dir = join_path(data_dir, "secrets");
  ACCT_RETURN_IF_ERROR(env->create_dir(data_dir));
  if (!env->file_exists(dir)) {
    ACCT_RETURN_IF_ERROR(env->create_dir(dir));
    ACCT_RETURN_IF_ERROR(env->sync_dir(data_dir));  // the new folder's name must survive a crash
  }
  auto store = std::make_unique<CredentialStore>(env, join_path(dir, "credentials"), options);
  // A temporary left by a write that a crash cut short was never acknowledged;
  // it holds hashes, so it goes rather than lingers.
  if (const std::string tmp = store->path_ + ".tmp"; env->file_exists(tmp)) {
    ACCT_RETURN_IF_ERROR(env->remove_file(tmp));
    ACCT_RETURN_IF_ERROR(env->sync_dir(dir));
  }
  std::lock_guard lock(store->mu_);
  auto bytes = store->read_file_locked();
  if (!bytes) return bytes.status();
  // The whole file is checked now (a duplicate too, which visit() alone does
  // not look for); the first entries are held, the rest read when used.
  std::set<Key> seen;
  Status duplicate = Status::ok();
  if (bytes->empty()) bytes = encode({});  // no file: an empty store
  Status s = visit(*bytes, store->path_, [&](const Key& key, Entry&& e, uint64_t offset, std::string_view) {
    const bool fresh = seen.insert(key).second;
    if (!fresh) duplicate = corrupt_at(store->path_, offset, "duplicate credential");
    if (fresh && store->cached_.size() < store->max_cached_) store->remember_locked(key, &e);
    wipe(e.hash);
    return fresh;
  });
  wipe(*bytes);
  if (s.is_ok()) s = duplicate;
  if (!s.is_ok()) {
    spdlog::error("credential store: {}", s.message());
    return s;
  }
  store->count_ = seen.size();
  spdlog::info("credential store: {} credential(s) in {}; {} held in memory (at most {})", store->count_,
               store->path_, store->cached_.size(), store->max_cached_);
  return store;
}

CredentialStore::CredentialStore(Env* env, std::string path, CredentialStoreOptions options)
    : env_(env),
      path_(std::move(path)),
      opslimit_(options.opslimit ? options.opslimit : crypto_pwhash_OPSLIMIT_INTERACTIVE),
      memlimit_(options.memlimit ? options.memlimit : crypto_pwhash_MEMLIMIT_INTERACTIVE),
      clock_(options.clock),
      gate_(options.hashing_gate ? options.hashing_gate : make_hashing_gate(options)),
      max_cached_(options.max_cached_credentials ? options.max_cached_credentials : kDefaultCachedCredentials) {}

CredentialStore::~CredentialStore() {
  for (auto& [key, c] : cached_) wipe(c.entry.hash);
  wipe(dummy_hash_);
}

Result<std::string> CredentialStore::read_file_locked() const {
  if (!env_->file_exists(path_)) return std::string();
  auto bytes = env_->read_file(path_);
  // An empty file is damage, not an empty store (which has a header).
  if (bytes && bytes->empty()) return corrupt_at(path_, 0, "file too short");
  return bytes;
}

Result<std::optional<CredentialStore::Entry>> CredentialStore::find_locked(const Key& key) const {
  if (auto it = cached_.find(key); it != cached_.end()) {
    lru_.splice(lru_.begin(), lru_, it->second.position);
    return std::optional<Entry>(it->second.entry);
  }
  // Not held: the file says (every entry held was read from it or written to it).
  ++file_reads_;
  auto bytes = read_file_locked();
  if (!bytes) return bytes.status();
  std::optional<Entry> found;
  Status s = Status::ok();
  if (!bytes->empty()) {
    s = visit(*bytes, path_, [&](const Key& k, Entry&& e, uint64_t, std::string_view) {
      if (k == key) {
        found = std::move(e);
        return false;
      }
      wipe(e.hash);
      return true;
    });
  }
  wipe(*bytes);
  if (!s.is_ok()) {
    if (found) wipe(found->hash);
    return s;
  }
  if (found) remember_locked(key, &*found);
  return found;
}

void CredentialStore::remember_locked(const Key& key, const Entry* entry) const {
  auto it = cached_.find(key);
  if (entry == nullptr) {
    if (it != cached_.end()) {
      wipe(it->second.entry.hash);
      lru_.erase(it->second.position);
      cached_.erase(it);
    }
    return;
  }
  if (it != cached_.end()) {
    wipe(it->second.entry.hash);
    it->second.entry = *entry;
    lru_.splice(lru_.begin(), lru_, it->second.position);
    return;
  }
  lru_.push_front(key);
  cached_.emplace(key, Cached{*entry, lru_.begin()});
  while (cached_.size() > max_cached_) {
    auto last = cached_.find(lru_.back());
    wipe(last->second.entry.hash);
    cached_.erase(last);
    lru_.pop_back();
  }
}

size_t CredentialStore::entries_in_memory() const {
  std::lock_guard lock(mu_);
  return cached_.size();
}

uint64_t CredentialStore::file_reads() const {
  std::lock_guard lock(mu_);
  return file_reads_;
}

Timestamp CredentialStore::now() const {
  if (clock_) return clock_->now();
  using namespace std::chrono;
  return Timestamp{duration_cast<microseconds>(system_clock::now().time_since_epoch()).count()};
}

Result<ConcurrencyGate::Permit> CredentialStore::hashing_permit() {
  auto permit = gate_->acquire();
  if (!permit) {
    return Status(StatusCode::kBusy, "password hashing is at capacity (" + std::to_string(gate_->options().limit) +
                                         " at once, " + std::to_string(gate_->options().max_waiting) +
                                         " waiting); retry shortly");
  }
  return std::move(*permit);
}

Result<std::string> CredentialStore::hash_password(std::string_view password, const ConcurrencyGate::Permit&) const {
  char out[crypto_pwhash_STRBYTES];
  if (crypto_pwhash_str_alg(out, password.data(), password.size(), opslimit_, memlimit_,
                            crypto_pwhash_ALG_ARGON2ID13) != 0) {
    return Status(StatusCode::kInternal, "argon2id hashing failed (out of memory?)");
  }
  std::string hash(out);
  sodium_memzero(out, sizeof out);
  return hash;
}

Result<PreparedPassword> CredentialStore::prepare_temporary_password() {
  auto permit = hashing_permit();
  if (!permit) return permit.status();
  PreparedPassword p;
  p.password.assign(kTemporaryPasswordLength, '\0');
  for (char& c : p.password) {
    c = kTemporaryAlphabet[randombytes_uniform(static_cast<uint32_t>(kTemporaryAlphabet.size()))];
  }
  auto hash = hash_password(p.password, *permit);
  if (!hash) return hash.status();
  p.hash = std::move(*hash);
  return p;
}

Result<std::string> CredentialStore::store_temporary_password(const PartnerId& partner, const UserId& user,
                                                              PreparedPassword prepared) {
  Entry entry{std::move(prepared.hash), /*must_change=*/true, now()};
  Status s = store({partner, user}, &entry);
  wipe(entry.hash);
  if (!s.is_ok()) {
    spdlog::error("credential store: temporary password for user {} of partner {} not stored: {}", user.to_string(),
                  partner.to_string(), s.to_string());
    return s;
  }
  spdlog::info("credential store: temporary password issued for user {} of partner {}", user.to_string(),
               partner.to_string());
  return std::move(prepared.password);
}

Result<std::string> CredentialStore::issue_temporary_password(const PartnerId& partner, const UserId& user) {
  auto prepared = prepare_temporary_password();
  if (!prepared) return prepared.status();
  return store_temporary_password(partner, user, std::move(*prepared));
}

Status CredentialStore::check_new_password(std::string_view new_password) {
  const auto length = utf8_length(new_password);
  if (!length) return invalid_argument("the new password is not valid UTF-8", "new");
  if (*length < kMinPasswordLength) {
    return invalid_argument("the new password must have at least " + std::to_string(kMinPasswordLength) +
                                " characters",
                            "new");
  }
  if (*length > kMaxPasswordLength) {
    return invalid_argument("the new password must have at most " + std::to_string(kMaxPasswordLength) +
                                " characters",
                            "new");
  }
  return Status::ok();
}

Status CredentialStore::set_password(const PartnerId& partner, const UserId& user, std::string_view new_password) {
  ACCT_RETURN_IF_ERROR(check_new_password(new_password));
  auto permit = hashing_permit();
  if (!permit) return permit.status();
  auto hash = hash_password(new_password, *permit);
  if (!hash) return hash.status();
  Entry entry{std::move(*hash), /*must_change=*/false, now()};
  Status s = store({partner, user}, &entry);
  wipe(entry.hash);
  if (!s.is_ok()) {
    spdlog::error("credential store: password for user {} of partner {} not stored: {}", user.to_string(),
                  partner.to_string(), s.to_string());
    return s;
  }
  spdlog::info("credential store: password set for user {} of partner {}", user.to_string(), partner.to_string());
  return Status::ok();
}

Result<VerifyOutcome> CredentialStore::verify(const PartnerId& partner, const UserId& user,
                                              std::string_view password) {
  std::string hash;
  VerifyOutcome outcome;
  bool known = false;
  {
    std::lock_guard lock(mu_);
    auto found = find_locked({partner, user});
    if (!found) return found.status();
    if (*found) {
      known = true;
      hash = std::move((*found)->hash);
      outcome.must_change = (*found)->must_change;
      outcome.set_at = (*found)->set_at;
    } else {
      hash = dummy_hash_;  // same argon2 work as for a known user
    }
  }
  // Every verification holds a place at the gate: argon2id takes 64 MiB each.
  auto permit = hashing_permit();
  if (!permit) {
    wipe(hash);
    return permit.status();
  }
  if (!known && hash.empty()) {
    // The first unknown account: make the dummy hash now (made lazily, so
    // that open() stays cheap), at the cost of one hashing.
    char pw[32];
    randombytes_buf(pw, sizeof pw);
    auto made = hash_password(std::string_view(pw, sizeof pw), *permit);
    sodium_memzero(pw, sizeof pw);
    if (made) {
      hash = *made;
      std::lock_guard lock(mu_);
      if (dummy_hash_.empty()) dummy_hash_ = std::move(*made);
    }
  }
  // crypto_pwhash_str_verify needs a NUL-terminated hash; std::string provides it.
  const bool match =
      !hash.empty() && crypto_pwhash_str_verify(hash.c_str(), password.data(), password.size()) == 0;
  wipe(hash);
  if (!known || !match) {
    spdlog::debug("credential store: failed verification for user {} of partner {}", user.to_string(),
                  partner.to_string());
    return Status(StatusCode::kUnauthenticated, kBadCredentials);
  }
  return outcome;
}

Status CredentialStore::erase(const PartnerId& partner, const UserId& user) {
  {
    std::lock_guard lock(mu_);
    auto found = find_locked({partner, user});
    if (!found) return found.status();
    if (!*found) return Status::ok();
    wipe((*found)->hash);
  }
  ACCT_RETURN_IF_ERROR(store({partner, user}, nullptr));
  spdlog::info("credential store: credential of user {} of partner {} erased", user.to_string(), partner.to_string());
  return Status::ok();
}

bool CredentialStore::contains(const PartnerId& partner, const UserId& user) const {
  std::lock_guard lock(mu_);
  auto found = find_locked({partner, user});
  if (!found) {
    spdlog::error("credential store: {}", found.status().to_string());
    return false;
  }
  if (*found) wipe((*found)->hash);
  return found->has_value();
}

std::optional<Timestamp> CredentialStore::password_set_at(const PartnerId& partner, const UserId& user) const {
  std::lock_guard lock(mu_);
  auto found = find_locked({partner, user});
  if (!found) {
    spdlog::error("credential store: {}", found.status().to_string());
    return std::nullopt;
  }
  if (!*found) return std::nullopt;
  wipe((*found)->hash);
  return (*found)->set_at;
}

PreparedPassword::~PreparedPassword() {
  wipe(password);
  wipe(hash);
}

size_t CredentialStore::size() const {
  std::lock_guard lock(mu_);
  return count_;
}

void CredentialStore::enable_replication(SecretPublisher publish) {
  std::lock_guard order(publish_mu_);
  publish_ = std::move(publish);
}

Status CredentialStore::store(const Key& key, const Entry* entry) {
  std::unique_lock order(publish_mu_);
  if (publish_) {
    std::vector<SecretRecord> records;
    std::optional<std::string> value;
    if (entry) value = encode(Map{{key, *entry}});
    records.emplace_back(record_key(key.first, key.second), std::move(value));
    if (Status s = publish_(records); !s.is_ok()) {
      return publish_failed("the credential change", s);
    }
  }
  std::lock_guard lock(mu_);
  return store_locked(key, entry);
}

Status CredentialStore::apply_replicated(const SecretRecord& record) {
  if (!owns_record(record.key)) return invalid_argument("not a credential record: " + record.key, "key");
  const std::string_view ids = std::string_view(record.key).substr(std::string_view("credential/").size());
  const size_t slash = ids.find('/');
  auto partner = PartnerId::parse(ids.substr(0, slash == std::string_view::npos ? 0 : slash));
  auto user = UserId::parse(slash == std::string_view::npos ? std::string_view() : ids.substr(slash + 1));
  if (slash == std::string_view::npos || !partner || !user) return invalid_argument("credential record " + record.key + ": bad partner or user id", "key");
  const Key key{*partner, *user};
  if (!record.plaintext) {
    std::lock_guard lock(mu_);
    auto found = find_locked(key);
    if (!found) return found.status();
    if (!*found) return Status::ok();
    wipe((*found)->hash);
    return store_locked(key, nullptr);
  }
  auto map = decode(*record.plaintext, "cluster record " + record.key);
  if (!map) return map.status();
  struct Wipe {
    Map& m;
    ~Wipe() {
      for (auto& [k, e] : m) wipe(e.hash);
    }
  } wipe_map{*map};
  if (map->size() != 1 || map->begin()->first != key) {
    return invalid_argument("credential record " + record.key + " does not hold that user's entry", "value");
  }
  std::lock_guard lock(mu_);
  return store_locked(key, &map->begin()->second);
}

Status CredentialStore::store_locked(const Key& key, const Entry* entry) {
  // The new file is made from the file (the truth, also for entries not held
  // in memory): every record but the key's, copied as it is, and the key's new
  // entry in its place (records stay sorted by key, so the same content is the
  // same bytes). Memory changes only once the write succeeded.
  auto bytes = read_file_locked();
  if (!bytes) return bytes.status();
  std::string out;
  out.reserve(std::max(bytes->size(), kHeaderSize + kTrailerSize) + kRecordFixed + (entry ? entry->hash.size() : 0));
  out.append(kMagic);
  append_u32(&out, kVersion);
  append_u32(&out, 0);  // the count, set below
  uint32_t count = 0;
  bool placed = entry == nullptr;
  auto place = [&] {
    append_record(&out, key, *entry);
    ++count;
    placed = true;
  };
  if (!bytes->empty()) {
    Status s = visit(*bytes, path_, [&](const Key& k, Entry&& e, uint64_t, std::string_view record) {
      wipe(e.hash);
      if (!placed && key < k) place();
      if (k != key) {
        out.append(record);
        ++count;
      }
      return true;
    });
    wipe(*bytes);
    if (!s.is_ok()) {
      wipe(out);
      return s;
    }
  }
  if (!placed) place();
  std::string count_bytes;
  append_u32(&count_bytes, count);
  out.replace(12, 4, count_bytes);
  append_u32(&out, crc32c::mask(crc32c::value(out.data(), out.size())));
  Status s = env_->write_file_atomically(path_, out);
  wipe(out);
  if (!s.is_ok()) return s;
  remember_locked(key, entry);
  count_ = count;
  return Status::ok();
}

void CredentialStore::append_record(std::string* out, const Key& key, const Entry& e) {
  out->append(reinterpret_cast<const char*>(key.first.bytes().data()), 16);
  out->append(reinterpret_cast<const char*>(key.second.bytes().data()), 16);
  out->push_back(static_cast<char>(e.must_change ? kFlagMustChange : 0));
  append_u64(out, static_cast<uint64_t>(e.set_at.micros));
  append_u16(out, static_cast<uint16_t>(e.hash.size()));
  out->append(e.hash);
}

std::string CredentialStore::encode(const Map& entries) {
  std::string out;
  size_t total = kHeaderSize + kTrailerSize;
  for (const auto& [key, e] : entries) total += kRecordFixed + e.hash.size();
  out.reserve(total);  // no reallocation: no stray copies of hashes left in freed memory
  out.append(kMagic);
  append_u32(&out, kVersion);
  append_u32(&out, static_cast<uint32_t>(entries.size()));
  for (const auto& [key, e] : entries) append_record(&out, key, e);
  append_u32(&out, crc32c::mask(crc32c::value(out.data(), out.size())));
  return out;
}

Status CredentialStore::visit(std::string_view bytes, const std::string& name, const Visitor& fn) {
  if (bytes.size() < kHeaderSize + kTrailerSize) return corrupt_at(name, bytes.size(), "file too short");
  if (bytes.substr(0, kMagic.size()) != kMagic) return corrupt_at(name, 0, "bad magic");
  const size_t body = bytes.size() - kTrailerSize;
  const uint32_t stored = crc32c::unmask(get_u32(bytes.data() + body));
  if (stored != crc32c::value(bytes.data(), body)) return corrupt_at(name, body, "checksum mismatch");
  const uint32_t version = get_u32(bytes.data() + 8);
  if (version != kVersion) {
    return corrupt_at(name, 8, "unsupported version " + std::to_string(version));
  }
  const uint32_t count = get_u32(bytes.data() + 12);
  size_t pos = kHeaderSize;
  for (uint32_t i = 0; i < count; ++i) {
    if (body - pos < kRecordFixed) return corrupt_at(name, pos, "truncated record");
    const char* p = bytes.data() + pos;
    const auto partner = PartnerId::from_bytes(reinterpret_cast<const unsigned char*>(p));
    const auto user = UserId::from_bytes(reinterpret_cast<const unsigned char*>(p + 16));
    const auto flags = static_cast<uint8_t>(p[32]);
    if (flags & ~kFlagMustChange) return corrupt_at(name, pos + 32, "unknown flags");
    Entry e;
    e.must_change = (flags & kFlagMustChange) != 0;
    e.set_at.micros = static_cast<int64_t>(get_u64(p + 33));
    const uint16_t hash_len = get_u16(p + 41);
    const size_t hash_at = pos + kRecordFixed;
    if (hash_len == 0 || hash_len >= crypto_pwhash_STRBYTES || body - hash_at < hash_len) {
      return corrupt_at(name, pos + 41, "bad hash length");
    }
    e.hash.assign(bytes.data() + hash_at, hash_len);
    if (e.hash.compare(0, kHashPrefix.size(), kHashPrefix) != 0 || e.hash.find('\0') != std::string::npos) {
      wipe(e.hash);
      return corrupt_at(name, hash_at, "not an argon2id hash");
    }
    const uint64_t at = pos;
    pos = hash_at + hash_len;
    if (!fn(std::make_pair(partner, user), std::move(e), at, bytes.substr(at, pos - at))) return Status::ok();
  }
  if (pos != body) return corrupt_at(name, pos, "trailing bytes after the last record");
  return Status::ok();
}

Result<CredentialStore::Map> CredentialStore::decode(std::string_view bytes, const std::string& name) {
  Map map;
  Status duplicate = Status::ok();
  Status s = visit(bytes, name, [&](const Key& key, Entry&& e, uint64_t offset, std::string_view) {
    if (map.emplace(key, std::move(e)).second) return true;
    duplicate = corrupt_at(name, offset, "duplicate credential");
    return false;
  });
  if (s.is_ok()) s = duplicate;
  if (!s.is_ok()) {
    for (auto& [k, e] : map) wipe(e.hash);
    return s;
  }
  return map;
}

}  // namespace accountable
