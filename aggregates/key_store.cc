#include "aggregates/key_store.h"

#include <sodium.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstring>
#include <tuple>
#include <utility>

#include "events/coding.h"
#include "events/crc32c.h"

namespace accountable {
namespace {

using namespace coding;

static_assert(KeyStore::kKeyBytes == crypto_aead_xchacha20poly1305_ietf_KEYBYTES);
static_assert(KeyStore::kNonceBytes == crypto_aead_xchacha20poly1305_ietf_NPUBBYTES);
static_assert(KeyStore::kTagBytes == crypto_aead_xchacha20poly1305_ietf_ABYTES);
static_assert(std::tuple_size_v<KeyStore::Fingerprint> >= crypto_generichash_BYTES_MIN &&
              std::tuple_size_v<KeyStore::Fingerprint> <= crypto_generichash_BYTES_MAX);
static_assert(KeyStore::kKeyBytes >= crypto_generichash_KEYBYTES_MIN &&
              KeyStore::kKeyBytes <= crypto_generichash_KEYBYTES_MAX);

constexpr std::string_view kSubjectSuffix = ".key";
constexpr std::string_view kPartnerSuffix = ".secret";
constexpr std::string_view kTmpSuffix = ".tmp";  // Env::write_file_atomically's temporary
constexpr size_t kFixedSize = 8 + 1 + 1 + 2;      // magic, version, kind, name length
constexpr size_t kCrcSize = 4;

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

Status validate_subject(std::string_view subject) {
  if (subject.empty() || subject.size() > KeyStore::kMaxSubjectLength) {
    return invalid_argument("a data subject must have 1.." + std::to_string(KeyStore::kMaxSubjectLength) + " bytes",
                            "subject");
  }
  for (char c : subject) {
    if (c < 0x21 || c > 0x7e) return invalid_argument("a data subject must be printable ASCII", "subject");
  }
  return Status::ok();
}

Status erased(const std::string& subject) {
  return not_found("data subject " + subject + " was erased: its key was destroyed", "subject");
}

}  // namespace

Result<std::unique_ptr<KeyStore>> KeyStore::open(Env* env, const std::string& data_dir,
                                                 size_t max_cached_subjects) {
  if (sodium_init() < 0) return Status(StatusCode::kInternal, "libsodium failed to initialize");
  ACCT_RETURN_IF_ERROR(env->create_dir(data_dir));
  const std::string dir = join_path(data_dir, "keys");
  // Create the folders and make their names durable, parent before child.
  for (const auto& [parent, child] : {std::pair{data_dir, dir}, std::pair{dir, join_path(dir, "subjects")},
                                      std::pair{dir, join_path(dir, "partners")}}) {
    if (!env->file_exists(child)) {
      ACCT_RETURN_IF_ERROR(env->create_dir(child));
      ACCT_RETURN_IF_ERROR(env->sync_dir(parent));
    }
  }
  auto store = std::make_unique<KeyStore>(env, dir, max_cached_subjects);
  std::lock_guard lock(store->mu_);
  ACCT_RETURN_IF_ERROR(store->load_dir(join_path(dir, "subjects"), kSubjectSuffix));
  ACCT_RETURN_IF_ERROR(store->load_dir(join_path(dir, "partners"), kPartnerSuffix));
  return store;
}

KeyStore::KeyStore(Env* env, std::string dir, size_t max_cached_subjects)
    : env_(env), dir_(std::move(dir)), max_cached_(std::max<size_t>(1, max_cached_subjects)) {}

KeyStore::~KeyStore() {
  for (auto& [s, c] : subjects_) sodium_memzero(c.subject.key.data(), c.subject.key.size());
  for (auto& [p, k] : partner_secrets_) sodium_memzero(k.data(), k.size());
}

Status KeyStore::load_dir(const std::string& dir, std::string_view suffix) {
  auto names = env_->list_dir(dir);
  if (!names) return names.status();
  bool removed_tmp = false;
  size_t keys = 0, tombstones = 0;
  for (const std::string& name : *names) {
    const std::string path = join_path(dir, name);
    if (ends_with(name, kTmpSuffix)) {
      // An unacknowledged write cut short by a crash; it may hold key bytes
      // nobody ever used. Remove it rather than leave key material around.
      ACCT_RETURN_IF_ERROR(env_->remove_file(path));
      removed_tmp = true;
      continue;
    }
    if (!ends_with(name, suffix)) {
      spdlog::warn("key store: ignoring unexpected file {}", path);
      continue;
    }
    auto bytes = env_->read_file(path);
    if (!bytes) return bytes.status();
    auto rec = decode(*bytes, path);
    sodium_memzero(bytes->data(), bytes->size());
    if (!rec) {
      spdlog::error("key store: {}", rec.status().message());
      return rec.status();
    }
    const bool subject_dir = suffix == kSubjectSuffix;
    if (subject_dir) {
      if (rec->kind == Kind::kPartnerSecret || !validate_subject(rec->name).is_ok() ||
          subject_file_name(rec->name) != name) {
        return corrupt_at(path, kFixedSize, "the record does not belong to this file name");
      }
      const bool erased = rec->kind == Kind::kTombstone;
      ++(erased ? tombstones : keys);
      // Every file is checked; the first ones are held (the rest are read when used).
      if (subjects_.size() < max_cached_) remember_locked(rec->name, Subject{erased, rec->key});
    } else {
      auto partner = PartnerId::parse(rec->name);
      if (rec->kind != Kind::kPartnerSecret || !partner || partner->to_string() + std::string(suffix) != name) {
        return corrupt_at(path, kFixedSize, "the record does not belong to this file name");
      }
      partner_secrets_[*partner] = rec->key;
    }
    sodium_memzero(rec->key.data(), rec->key.size());
  }
  if (removed_tmp) ACCT_RETURN_IF_ERROR(env_->sync_dir(dir));
  if (suffix == kSubjectSuffix) {
    spdlog::info("key store: {} subject key(s) and {} erased subject(s) in {}; {} held in memory (at most {})", keys,
                 tombstones, dir, subjects_.size(), max_cached_);
  } else {
    spdlog::info("key store: {} partner secret(s) loaded from {}", partner_secrets_.size(), dir);
  }
  return Status::ok();
}

Result<std::optional<KeyStore::Subject>> KeyStore::find_locked(const std::string& subject) const {
  if (auto it = subjects_.find(subject); it != subjects_.end()) {
    it->second.referenced.store(true, std::memory_order_relaxed);
    return std::optional<Subject>(it->second.subject);
  }
  // Not held: the file says (it is what every hit was read from or written as).
  ++file_reads_;
  auto found = read_subject_file(subject);
  if (found && *found) remember_locked(subject, **found);
  return found;
}

Result<std::optional<KeyStore::Subject>> KeyStore::read_subject_file(const std::string& subject) const {
  const std::string path = subject_path(subject);
  auto bytes = env_->read_file(path);
  if (!bytes) {
    if (bytes.status().code() == StatusCode::kNotFound) return std::optional<Subject>();
    return bytes.status();
  }
  auto rec = decode(*bytes, path);
  sodium_memzero(bytes->data(), bytes->size());
  if (!rec) return rec.status();
  struct Wipe {
    Key& k;
    ~Wipe() { sodium_memzero(k.data(), k.size()); }
  } wipe{rec->key};
  if (rec->kind == Kind::kPartnerSecret || rec->name != subject) {
    return corrupt_at(path, kFixedSize, "the record does not belong to this file name");
  }
  return std::optional<Subject>(Subject{rec->kind == Kind::kTombstone, rec->key});
}

void KeyStore::remember_locked(const std::string& subject, const Subject& value) const {
  if (auto it = subjects_.find(subject); it != subjects_.end()) {
    it->second.subject = value;
    it->second.referenced.store(true, std::memory_order_relaxed);
    return;
  }
  if (clock_.size() < max_cached_) {
    clock_.push_back(subject);
  } else {
    // CLOCK: the hand clears the mark of each subject used since it last
    // passed and takes the first one unmarked, so within two turns.
    for (size_t step = 0; step < 2 * clock_.size() + 1; ++step) {
      auto at = subjects_.find(clock_[hand_]);
      if (at->second.referenced.exchange(false, std::memory_order_relaxed) && step < 2 * clock_.size()) {
        hand_ = (hand_ + 1) % clock_.size();
        continue;
      }
      sodium_memzero(at->second.subject.key.data(), at->second.subject.key.size());
      subjects_.erase(at);
      clock_[hand_] = subject;
      hand_ = (hand_ + 1) % clock_.size();
      break;
    }
  }
  subjects_.try_emplace(subject, value);
}

std::string KeyStore::subject_file_name(std::string_view subject) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char c : subject) {
    const bool keep = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
                      c == '-';
    if (keep) {
      out.push_back(c);
    } else {
      const auto b = static_cast<unsigned char>(c);
      out.push_back('%');
      out.push_back(kHex[b >> 4]);
      out.push_back(kHex[b & 0x0f]);
    }
  }
  out.append(kSubjectSuffix);
  return out;
}

std::optional<std::string> KeyStore::subject_of_file_name(std::string_view name) {
  if (!ends_with(name, kSubjectSuffix)) return std::nullopt;
  name.remove_suffix(kSubjectSuffix.size());
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  for (size_t i = 0; i < name.size(); ++i) {
    if (name[i] != '%') {
      out.push_back(name[i]);
      continue;
    }
    if (i + 2 >= name.size()) return std::nullopt;
    const int hi = hex(name[i + 1]), lo = hex(name[i + 2]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out.push_back(static_cast<char>(hi * 16 + lo));
    i += 2;
  }
  if (subject_file_name(out) != std::string(name) + std::string(kSubjectSuffix)) return std::nullopt;
  return out;
}

std::string KeyStore::subject_path(const std::string& subject) const {
  return join_path(join_path(dir_, "subjects"), subject_file_name(subject));
}

std::string KeyStore::encode(const Record& r) {
  std::string out;
  out.reserve(kFixedSize + r.name.size() + kKeyBytes + kCrcSize);  // no reallocation: no stray key copies
  out.append(kMagic);
  out.push_back(static_cast<char>(kVersion));
  out.push_back(static_cast<char>(r.kind));
  append_u16(&out, static_cast<uint16_t>(r.name.size()));
  out.append(r.name);
  if (r.kind != Kind::kTombstone) out.append(reinterpret_cast<const char*>(r.key.data()), r.key.size());
  append_u32(&out, crc32c::mask(crc32c::value(out.data(), out.size())));
  return out;
}

Result<KeyStore::Record> KeyStore::decode(std::string_view bytes, const std::string& file) {
  if (bytes.size() < kFixedSize + kCrcSize) return corrupt_at(file, bytes.size(), "file too short");
  if (bytes.substr(0, kMagic.size()) != kMagic) return corrupt_at(file, 0, "bad magic");
  const size_t body = bytes.size() - kCrcSize;
  if (crc32c::unmask(get_u32(bytes.data() + body)) != crc32c::value(bytes.data(), body)) {
    return corrupt_at(file, body, "checksum mismatch");
  }
  const auto version = static_cast<uint8_t>(bytes[8]);
  if (version != kVersion) return corrupt_at(file, 8, "unsupported version " + std::to_string(version));
  const auto kind = static_cast<Kind>(bytes[9]);
  if (kind != Kind::kSubjectKey && kind != Kind::kTombstone && kind != Kind::kPartnerSecret) {
    return corrupt_at(file, 9, "unknown record kind");
  }
  const uint16_t name_len = get_u16(bytes.data() + 10);
  const size_t key_len = kind == Kind::kTombstone ? 0 : kKeyBytes;
  if (name_len == 0 || kFixedSize + name_len + key_len != body) return corrupt_at(file, 10, "bad length");
  Record r{kind, std::string(bytes.substr(kFixedSize, name_len)), {}};
  if (key_len) std::memcpy(r.key.data(), bytes.data() + kFixedSize + name_len, key_len);
  return r;
}

Status KeyStore::write_locked(const std::string& path, const Record& r) {
  ++files_written_;  // also when the write fails: it may have replaced the file all the same
  std::string bytes = encode(r);
  Status s = env_->write_file_atomically(path, bytes);
  sodium_memzero(bytes.data(), bytes.size());
  return s;
}

Result<KeyStore::Key> KeyStore::key_for_locked(const std::string& subject, bool create) {
  ACCT_RETURN_IF_ERROR(validate_subject(subject));
  auto found = find_locked(subject);
  if (!found) return found.status();
  return key_from_locked(subject, create, *found);
}

Result<KeyStore::Key> KeyStore::key_from_locked(const std::string& subject, bool create,
                                                std::optional<Subject>& found) {
  struct Wipe {
    std::optional<Subject>& s;
    ~Wipe() {
      if (s) sodium_memzero(s->key.data(), kKeyBytes);
    }
  } wipe{found};
  if (found && found->erased) {
    if (!create) return erased(subject);
    return Status(StatusCode::kRuleViolated,
                  "data subject " + subject + " was erased (purged); a new key is never created for it", "subject");
  }
  if (found) return found->key;
  // No file: a new key (never over an existing file, which find_locked read).
  if (!create) return not_found("data subject " + subject + " has no key", "subject");
  Record r{Kind::kSubjectKey, subject, {}};
  crypto_aead_xchacha20poly1305_ietf_keygen(r.key.data());
  Status s = write_locked(subject_path(subject), r);
  if (!s.is_ok()) {
    sodium_memzero(r.key.data(), r.key.size());
    spdlog::error("key store: key for data subject {} not stored: {}", subject, s.to_string());
    return s;
  }
  remember_locked(subject, Subject{false, r.key});
  Key key = r.key;
  sodium_memzero(r.key.data(), r.key.size());
  created_locked(subject_record_key(subject));
  spdlog::debug("key store: created the key of data subject {}", subject);
  return key;
}

Result<KeyStore::Key> KeyStore::key_for(const std::string& subject, bool create) {
  uint64_t written_before = 0;
  {
    // The common case, a subject held (a key, or erased): answered under the
    // shared lock, as nothing is written.
    std::shared_lock lock(mu_);
    if (auto it = subjects_.find(subject); it != subjects_.end()) {
      it->second.referenced.store(true, std::memory_order_relaxed);
      std::optional<Subject> held(it->second.subject);
      return key_from_locked(subject, create, held);
    }
    written_before = files_written_;
  }
  ACCT_RETURN_IF_ERROR(validate_subject(subject));  // before a path is made of it
  // Not held: its file is read with no lock held, so that seal and open of
  // the subjects held go on meanwhile (a rebuild over more data subjects than
  // are held reads one file per subject it meets).
  auto read = read_subject_file(subject);
  std::lock_guard lock(mu_);
  ++file_reads_;
  // A file written meanwhile (a key made, a tombstone, a replicated record)
  // may be this subject's, and the read stale; another thread may have put
  // the subject in memory meanwhile. Either way key_for_locked looks again
  // under the lock: memory first, then the file.
  if (!read || files_written_ != written_before || subjects_.count(subject) != 0) {
    if (read && *read) sodium_memzero((*read)->key.data(), kKeyBytes);
    return key_for_locked(subject, create);
  }
  if (*read) remember_locked(subject, **read);
  return key_from_locked(subject, create, *read);
}

Status KeyStore::destroy(const std::string& subject) {
  ACCT_RETURN_IF_ERROR(validate_subject(subject));
  {
    std::lock_guard lock(mu_);
    auto found = find_locked(subject);
    if (!found) return found.status();
    if (*found && (*found)->erased) return Status::ok();
  }
  // In a cluster the tombstone is committed there first (not under the
  // mutex: seal and open go on meanwhile); if that fails nothing is destroyed
  // and the caller retries.
  if (publish_) {
    std::vector<SecretRecord> records;
    records.emplace_back(subject_record_key(subject), encode(Record{Kind::kTombstone, subject, {}}));
    if (Status s = publish_(records); !s.is_ok()) {
      return publish_failed("the tombstone of data subject " + subject, s);
    }
  }
  std::lock_guard lock(mu_);
  return destroy_locked(subject);
}

Status KeyStore::destroy_locked(const std::string& subject) {
  auto found = find_locked(subject);
  if (!found) return found.status();
  if (*found && (*found)->erased) return Status::ok();
  if (*found) sodium_memzero((*found)->key.data(), kKeyBytes);
  // The tombstone replaces the key file in one rename: there is no moment at
  // which a crash leaves neither (a fresh key could then be made) or both.
  ACCT_RETURN_IF_ERROR(write_locked(subject_path(subject), Record{Kind::kTombstone, subject, {}}));
  remember_locked(subject, Subject{true, {}});  // wipes the held key
  spdlog::info("key store: destroyed the key of data subject {} (crypto-shredding)", subject);
  return Status::ok();
}

bool KeyStore::destroyed(const std::string& subject) const {
  std::lock_guard lock(mu_);
  auto found = find_locked(subject);
  if (!found || !*found) return false;
  sodium_memzero((*found)->key.data(), kKeyBytes);
  return (*found)->erased;
}

size_t KeyStore::subjects_in_memory() const {
  std::lock_guard lock(mu_);
  return subjects_.size();
}

uint64_t KeyStore::subject_file_reads() const {
  std::lock_guard lock(mu_);
  return file_reads_;
}

Result<std::string> KeyStore::seal(const std::string& subject, std::string_view plaintext,
                                   std::string_view associated_data) {
  auto key = key_for(subject, /*create=*/true);
  if (!key) return key.status();
  std::string out(kNonceBytes + plaintext.size() + kTagBytes, '\0');
  auto* nonce = reinterpret_cast<unsigned char*>(out.data());
  randombytes_buf(nonce, kNonceBytes);
  unsigned long long written = 0;
  crypto_aead_xchacha20poly1305_ietf_encrypt(nonce + kNonceBytes, &written,
                                             reinterpret_cast<const unsigned char*>(plaintext.data()), plaintext.size(),
                                             reinterpret_cast<const unsigned char*>(associated_data.data()),
                                             associated_data.size(), nullptr, nonce, key->data());
  sodium_memzero(key->data(), key->size());
  out.resize(kNonceBytes + written);
  return out;
}

Result<std::string> KeyStore::open(const std::string& subject, std::string_view ciphertext,
                                   std::string_view associated_data) {
  auto key = key_for(subject, /*create=*/false);
  if (!key) return key.status();
  if (ciphertext.size() < kNonceBytes + kTagBytes) {
    sodium_memzero(key->data(), key->size());
    return corruption("sealed value of data subject " + subject + " is too short (" +
                      std::to_string(ciphertext.size()) + " bytes)");
  }
  const auto* nonce = reinterpret_cast<const unsigned char*>(ciphertext.data());
  std::string out(ciphertext.size() - kNonceBytes - kTagBytes, '\0');
  unsigned long long written = 0;
  const int rc = crypto_aead_xchacha20poly1305_ietf_decrypt(
      reinterpret_cast<unsigned char*>(out.data()), &written, nullptr, nonce + kNonceBytes,
      ciphertext.size() - kNonceBytes, reinterpret_cast<const unsigned char*>(associated_data.data()),
      associated_data.size(), nonce, key->data());
  sodium_memzero(key->data(), key->size());
  if (rc != 0) {
    return corruption("sealed value of data subject " + subject +
                      " failed authentication (altered ciphertext or associated data)");
  }
  out.resize(written);
  return out;
}

// ---- replication (cluster mode) ------------------------------------------------

void KeyStore::enable_replication(SecretPublisher publish) {
  std::lock_guard lock(mu_);
  publish_ = std::move(publish);
  replicated_ = true;
}

void KeyStore::created_locked(std::string record_key) {
  if (replicated_) unshipped_.insert(std::move(record_key));
}

bool KeyStore::owns_record(std::string_view record_key) { return is_key_store_record(record_key); }

std::vector<SecretRecord> KeyStore::unshipped_records() const {
  std::lock_guard lock(mu_);
  std::vector<SecretRecord> out;
  for (const std::string& record_key : unshipped_) {
    if (record_key.rfind("key/", 0) == 0) {
      const std::string subject = record_key.substr(4);
      auto found = find_locked(subject);
      if (!found) {
        // Stays unshipped; the next call tries again.
        spdlog::error("key store: the key of data subject {} cannot be read to ship it: {}", subject,
                      found.status().to_string());
      } else if (*found && (*found)->erased) {
        out.emplace_back(record_key, encode(Record{Kind::kTombstone, subject, {}}));
      } else if (*found) {
        out.emplace_back(record_key, encode(Record{Kind::kSubjectKey, subject, (*found)->key}));
        sodium_memzero((*found)->key.data(), kKeyBytes);
      }
    } else if (auto partner = PartnerId::parse(record_key.substr(8))) {
      if (auto it = partner_secrets_.find(*partner); it != partner_secrets_.end()) {
        out.emplace_back(record_key, encode(Record{Kind::kPartnerSecret, partner->to_string(), it->second}));
      }
    }
  }
  return out;
}

void KeyStore::mark_shipped(const std::vector<std::string>& record_keys) {
  std::lock_guard lock(mu_);
  for (const std::string& k : record_keys) unshipped_.erase(k);
}

void KeyStore::reconcile(const std::set<std::string>& cluster_keys) {
  std::lock_guard lock(mu_);
  auto check = [&](std::string record_key) {
    if (!cluster_keys.count(record_key)) unshipped_.insert(std::move(record_key));
  };
  // Every subject with a file (a key or a tombstone), held in memory or not.
  const std::string subjects_dir = join_path(dir_, "subjects");
  if (auto names = env_->list_dir(subjects_dir); names) {
    for (const std::string& name : *names) {
      if (auto subject = subject_of_file_name(name)) check(subject_record_key(*subject));
    }
  } else {
    spdlog::error("key store: cannot list {} to compare with the cluster: {}", subjects_dir,
                  names.status().to_string());
  }
  for (const auto& [partner, key] : partner_secrets_) check(partner_record_key(partner));
  if (!unshipped_.empty()) {
    spdlog::info("key store: {} key(s) held here are not in the cluster yet; they go with the next batch",
                 unshipped_.size());
  }
}

Status KeyStore::apply_replicated(const SecretRecord& record) {
  if (!owns_record(record.key)) return invalid_argument("not a key store record: " + record.key, "key");
  if (!record.plaintext) return invalid_argument("a key store record has no value: " + record.key, "value");
  auto rec = decode(*record.plaintext, "cluster record " + record.key);
  if (!rec) return rec.status();
  struct Wipe {
    Key& k;
    ~Wipe() { sodium_memzero(k.data(), k.size()); }
  } wipe{rec->key};
  const bool subject = rec->kind != Kind::kPartnerSecret;
  const std::string expected_key = subject ? subject_record_key(rec->name) : "partner/" + rec->name;
  if (expected_key != record.key || (subject && !validate_subject(rec->name).is_ok())) {
    return invalid_argument("cluster record " + record.key + " holds the entry of " + rec->name, "key");
  }
  std::lock_guard lock(mu_);
  unshipped_.erase(record.key);  // the cluster's version is the one that counts
  if (rec->kind == Kind::kTombstone) return destroy_locked(rec->name);
  if (rec->kind == Kind::kSubjectKey) {
    auto found = find_locked(rec->name);
    if (!found) return found.status();
    const bool had_key = *found && !(*found)->erased;
    const bool same = had_key && sodium_memcmp((*found)->key.data(), rec->key.data(), kKeyBytes) == 0;
    if (*found) sodium_memzero((*found)->key.data(), kKeyBytes);
    if (*found && (*found)->erased) return Status::ok();  // destroyed stays destroyed
    if (same) return Status::ok();
    ACCT_RETURN_IF_ERROR(write_locked(subject_path(rec->name), *rec));
    if (had_key) {
      // Made here by a leader whose batch never committed: nothing committed uses it.
      spdlog::warn("key store: the key of data subject {} is replaced by the cluster's", rec->name);
    }
    remember_locked(rec->name, Subject{false, rec->key});
    return Status::ok();
  }
  auto partner = PartnerId::parse(rec->name);
  if (!partner || partner->to_string() != rec->name) {
    return invalid_argument("cluster record " + record.key + ": not a partner id", "key");
  }
  auto it = partner_secrets_.find(*partner);
  if (it != partner_secrets_.end() && sodium_memcmp(it->second.data(), rec->key.data(), kKeyBytes) == 0) {
    return Status::ok();
  }
  ACCT_RETURN_IF_ERROR(
      write_locked(join_path(join_path(dir_, "partners"), rec->name + std::string(kPartnerSuffix)), *rec));
  partner_secrets_[*partner] = rec->key;
  return Status::ok();
}

std::string KeyStore::normalize_email(std::string_view email) {
  auto space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; };
  while (!email.empty() && space(email.front())) email.remove_prefix(1);
  while (!email.empty() && space(email.back())) email.remove_suffix(1);
  std::string out(email);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

Result<KeyStore::Fingerprint> KeyStore::email_fingerprint(const PartnerId& partner, std::string_view email) {
  const std::string normalized = normalize_email(email);
  if (normalized.empty()) return invalid_argument("the email is empty", "email");
  Key secret;
  {
    std::lock_guard lock(mu_);
    if (auto it = partner_secrets_.find(partner); it != partner_secrets_.end()) {
      secret = it->second;
    } else {
      Record r{Kind::kPartnerSecret, partner.to_string(), {}};
      randombytes_buf(r.key.data(), r.key.size());
      const std::string path = join_path(join_path(dir_, "partners"), r.name + std::string(kPartnerSuffix));
      Status s = write_locked(path, r);
      if (!s.is_ok()) {
        sodium_memzero(r.key.data(), r.key.size());
        spdlog::error("key store: email secret of partner {} not stored: {}", r.name, s.to_string());
        return s;
      }
      partner_secrets_[partner] = r.key;
      secret = r.key;
      sodium_memzero(r.key.data(), r.key.size());
      created_locked(partner_record_key(partner));
      spdlog::info("key store: created the email-fingerprint secret of partner {}", r.name);
    }
  }
  Fingerprint out;
  crypto_generichash(out.data(), out.size(), reinterpret_cast<const unsigned char*>(normalized.data()),
                     normalized.size(), secret.data(), secret.size());
  sodium_memzero(secret.data(), secret.size());
  return out;
}

Result<EmailFingerprint> KeyStore::email_fingerprint_bytes(const PartnerId& partner, std::string_view email) {
  auto fp = email_fingerprint(partner, email);
  if (!fp) return fp.status();
  return EmailFingerprint(reinterpret_cast<const char*>(fp->data()), fp->size());
}

}  // namespace accountable
