#include "events/signed_checkpoint.h"

#include <sodium.h>

#include <cstring>

#include "events/coding.h"
#include "events/crc32c.h"
#include "events/types.h"

namespace accountable {
namespace {

using namespace coding;
namespace signed_fmt = signed_checkpoint_format;

static_assert(sizeof(PublicKey) == crypto_sign_PUBLICKEYBYTES);
static_assert(sizeof(Signature) == crypto_sign_BYTES);
static_assert(crypto_sign_SECRETKEYBYTES == 64 && crypto_sign_SEEDBYTES == 32);

Status sodium_ready() {
  if (sodium_init() < 0) return Status(StatusCode::kInternal, "libsodium failed to initialise");
  return Status::ok();
}

std::string encode_key_file(const uint8_t* seed) {
  std::string out;
  out.reserve(signed_fmt::kKeyFileSize);  // no reallocation: no stray copies of the seed
  out.append(signed_fmt::kKeyMagic);
  append_u32(&out, signed_fmt::kVersion);
  out.append(reinterpret_cast<const char*>(seed), crypto_sign_SEEDBYTES);
  append_u32(&out, crc32c::mask(crc32c::value(out.data(), out.size())));
  return out;
}

// A new random seed in a key file, written atomically (new files are mode 0600).
Status create_key_file(Env* env, const std::string& path) {
  std::array<uint8_t, crypto_sign_SEEDBYTES> seed{};
  randombytes_buf(seed.data(), seed.size());
  std::string bytes = encode_key_file(seed.data());
  sodium_memzero(seed.data(), seed.size());
  Status written = env->write_file_atomically(path, bytes);
  sodium_memzero(bytes.data(), bytes.size());
  return written;
}

// Checks the key file and copies its seed into `seed`.
Status decode_key_file(std::string_view bytes, const std::string& path, uint8_t* seed) {
  if (bytes.size() != signed_fmt::kKeyFileSize) {
    return corruption(path + ": the signing key file has " + std::to_string(bytes.size()) + " bytes, expected " +
                      std::to_string(signed_fmt::kKeyFileSize) + " (damaged key file)");
  }
  if (bytes.substr(0, signed_fmt::kKeyMagic.size()) != signed_fmt::kKeyMagic) return corrupt_at(path, 0, "bad magic in signing key file");
  const size_t body = signed_fmt::kKeyFileSize - 4;
  if (crc32c::unmask(get_u32(bytes.data() + body)) != crc32c::value(bytes.data(), body)) {
    return corrupt_at(path, body, "checksum mismatch in signing key file (damaged key file)");
  }
  const uint32_t version = get_u32(bytes.data() + 8);
  if (version != signed_fmt::kVersion) return corrupt_at(path, 8, "unsupported signing key version " + std::to_string(version));
  std::memcpy(seed, bytes.data() + 12, crypto_sign_SEEDBYTES);
  return Status::ok();
}

Result<SignedCheckpoint> decode_payload(std::string_view p) {
  SignedCheckpoint c;
  c.position = get_u64(p.data());
  std::memcpy(c.head_hash.data(), p.data() + 8, 32);
  c.recorded_at_micros = static_cast<int64_t>(get_u64(p.data() + 40));
  std::memcpy(c.signature.data(), p.data() + 48, 64);
  return c;
}

}  // namespace

std::string signing_key_path(const std::string& data_dir) {
  return join_path(join_path(data_dir, "keys"), "signing.key");
}
std::string signing_pub_path(const std::string& data_dir) {
  return join_path(join_path(data_dir, "keys"), "signing.pub");
}
std::string checkpoints_path(const std::string& data_dir) {
  return join_path(join_path(data_dir, "signatures"), "checkpoints");
}

std::string checkpoint_message(const SignedCheckpoint& c) {
  std::string m;
  m.reserve(signed_fmt::kDomain.size() + 1 + 4 + 8 + 32 + 8);
  m.append(signed_fmt::kDomain);
  m.push_back('\0');
  append_u32(&m, signed_fmt::kVersion);
  append_u64(&m, c.position);
  m.append(reinterpret_cast<const char*>(c.head_hash.data()), c.head_hash.size());
  append_u64(&m, static_cast<uint64_t>(c.recorded_at_micros));
  return m;
}

bool signature_valid(const SignedCheckpoint& c, const std::array<uint8_t, 32>& public_key) {
  if (!sodium_ready().is_ok()) return false;
  const std::string m = checkpoint_message(c);
  return crypto_sign_verify_detached(c.signature.data(), reinterpret_cast<const unsigned char*>(m.data()), m.size(),
                                     public_key.data()) == 0;
}

std::string public_key_text(const std::array<uint8_t, 32>& public_key) {
  return std::string(signed_fmt::kPublicKeyPrefix) + hex_encode(public_key.data(), public_key.size());
}

Result<PublicKey> parse_public_key_text(std::string_view text) {
  auto space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
  while (!text.empty() && space(text.front())) text.remove_prefix(1);
  while (!text.empty() && space(text.back())) text.remove_suffix(1);
  const std::string expected = "expected one line 'ed25519:' followed by 64 hex digits";
  if (text.substr(0, signed_fmt::kPublicKeyPrefix.size()) != signed_fmt::kPublicKeyPrefix) return invalid_argument(expected, "public_key");
  text.remove_prefix(signed_fmt::kPublicKeyPrefix.size());
  PublicKey key{};
  if (text.size() != 2 * key.size()) return invalid_argument(expected, "public_key");
  for (size_t i = 0; i < key.size(); ++i) {
    const int hi = hex_digit_value(text[2 * i]);
    const int lo = hex_digit_value(text[2 * i + 1]);
    if (hi < 0 || lo < 0) return invalid_argument(expected, "public_key");
    key[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return key;
}

Result<std::array<uint8_t, 32>> read_public_key_file(Env* env, const std::string& path) {
  if (!env->file_exists(path)) return not_found("no public key file " + path, "public_key");
  auto text = env->read_file(path);
  if (!text) return text.status();
  if (text->size() > 1024) return invalid_argument(path + ": not a public key file (too long)", "public_key");
  auto key = parse_public_key_text(*text);
  if (!key) return invalid_argument(path + ": " + key.status().message(), "public_key");
  return key;
}

// --- the checkpoints file --------------------------------------------------

std::string encode_checkpoints_file_header() {
  std::string out(signed_fmt::kFileMagic);
  append_u32(&out, signed_fmt::kVersion);
  append_u32(&out, crc32c::mask(crc32c::value(out.data(), out.size())));
  return out;
}

std::string encode_checkpoint_record(const SignedCheckpoint& c) {
  std::string out(8, '\0');  // crc and length, filled in below
  out.push_back(static_cast<char>(signed_fmt::kRecordType));
  append_u64(&out, c.position);
  out.append(reinterpret_cast<const char*>(c.head_hash.data()), c.head_hash.size());
  append_u64(&out, static_cast<uint64_t>(c.recorded_at_micros));
  out.append(reinterpret_cast<const char*>(c.signature.data()), c.signature.size());
  put_u32(out.data() + 4, static_cast<uint32_t>(signed_fmt::kPayloadSize));
  put_u32(out.data(), crc32c::mask(crc32c::value(out.data() + 8, out.size() - 8)));
  return out;
}

Result<CheckpointFileContents> parse_checkpoints_file(std::string_view bytes, const std::string& path) {
  if (bytes.size() < signed_fmt::kFileHeaderSize) {
    return corrupt_at(path, bytes.size(), "file shorter than its " + std::to_string(signed_fmt::kFileHeaderSize) + "-byte header");
  }
  if (bytes.substr(0, signed_fmt::kFileMagic.size()) != signed_fmt::kFileMagic) return corrupt_at(path, 0, "bad magic");
  if (crc32c::unmask(get_u32(bytes.data() + 12)) != crc32c::value(bytes.data(), 12)) {
    return corrupt_at(path, 12, "header CRC mismatch");
  }
  const uint32_t version = get_u32(bytes.data() + 8);
  if (version != signed_fmt::kVersion) return corrupt_at(path, 8, "unsupported format version " + std::to_string(version));

  CheckpointFileContents out;
  uint64_t offset = signed_fmt::kFileHeaderSize;
  while (offset < bytes.size()) {
    const uint64_t remaining = bytes.size() - offset;
    const char* frame = bytes.data() + offset;
    std::string problem;
    uint64_t frame_size = signed_fmt::kFrameSize;
    // Only the last record can be torn, and a torn append keeps its header:
    // torn means an incomplete header, or a valid header whose record runs
    // past the end of the file or ends exactly there with a bad CRC. Any
    // other damage is corruption, never a reason to cut records off.
    bool torn = false;
    if (remaining < signed_fmt::kRecordHeaderSize) {
      problem = "incomplete record";
      torn = true;
    } else {
      const uint32_t length = get_u32(frame + 4);
      const uint8_t type = static_cast<uint8_t>(frame[8]);
      frame_size = signed_fmt::kRecordHeaderSize + uint64_t{length};
      const bool header_ok = (type == signed_fmt::kRecordType && length == signed_fmt::kPayloadSize) ||
                             ((type == signed_fmt::kTreeRecordType || type == signed_fmt::kCosignedRecordType) && length > 0 &&
                              length <= signed_fmt::kMaxNoteBytes);
      if (!header_ok) {
        problem = "bad record header";
      } else if (frame_size > remaining) {
        problem = "incomplete record";
        torn = true;
      } else if (crc32c::unmask(get_u32(frame)) != crc32c::value(frame + 8, 1 + length)) {
        problem = "record CRC mismatch";
        torn = frame_size == remaining;
      }
    }
    if (!problem.empty()) {
      if (torn) {
        out.torn_bytes = remaining;
        break;
      }
      return corrupt_at(path, offset, problem);
    }
    const std::string_view payload(frame + signed_fmt::kRecordHeaderSize, frame_size - signed_fmt::kRecordHeaderSize);
    if (static_cast<uint8_t>(frame[8]) == signed_fmt::kTreeRecordType) {
      out.tree_notes.emplace_back(payload);
    } else if (static_cast<uint8_t>(frame[8]) == signed_fmt::kCosignedRecordType) {
      out.cosigned_notes.emplace_back(payload);
    } else {
      auto c = decode_payload(payload);
      if (!c) return c.status();
      out.checkpoints.push_back(*c);
    }
    offset += frame_size;
  }
  out.valid_bytes = offset;
  return out;
}

std::string encode_note_record(uint8_t type, std::string_view note) {
  std::string out(8, '\0');  // crc and length, filled in below
  out.push_back(static_cast<char>(type));
  out.append(note);
  put_u32(out.data() + 4, static_cast<uint32_t>(note.size()));
  put_u32(out.data(), crc32c::mask(crc32c::value(out.data() + 8, out.size() - 8)));
  return out;
}

Result<CheckpointFileContents> read_checkpoints_file(Env* env, const std::string& data_dir) {
  const std::string path = checkpoints_path(data_dir);
  if (!env->file_exists(path)) return not_found("no signed checkpoints: " + path + " does not exist");
  auto bytes = env->read_file(path);
  if (!bytes) return bytes.status();
  return parse_checkpoints_file(*bytes, path);
}

Result<std::vector<SignedCheckpoint>> read_signed_checkpoints(Env* env, const std::string& data_dir) {
  auto parsed = read_checkpoints_file(env, data_dir);
  if (!parsed) return parsed.status();
  return std::move(parsed->checkpoints);
}

Result<std::unique_ptr<CheckpointFile>> CheckpointFile::open(Env* env, const std::string& data_dir) {
  const std::string dir = join_path(data_dir, "signatures");
  const std::string path = checkpoints_path(data_dir);
  if (!env->file_exists(dir)) {
    ACCT_RETURN_IF_ERROR(env->create_dir(dir));
    ACCT_RETURN_IF_ERROR(env->sync_dir(data_dir));
  }
  // The header goes in atomically, so the file never exists without one.
  if (!env->file_exists(path)) ACCT_RETURN_IF_ERROR(env->write_file_atomically(path, encode_checkpoints_file_header()));
  auto bytes = env->read_file(path);
  if (!bytes) return bytes.status();
  auto parsed = parse_checkpoints_file(*bytes, path);
  if (!parsed) return parsed.status();
  std::unique_ptr<CheckpointFile> file(new CheckpointFile());
  if (parsed->torn_bytes > 0) {
    ACCT_RETURN_IF_ERROR(env->truncate_file(path, parsed->valid_bytes));
    file->truncated_bytes_at_open_ = parsed->torn_bytes;
  }
  auto writable = env->reopen_writable_file(path);
  if (!writable) return writable.status();
  file->file_ = std::move(*writable);
  file->checkpoints_ = std::move(parsed->checkpoints);
  file->tree_notes_ = std::move(parsed->tree_notes);
  file->cosigned_notes_ = std::move(parsed->cosigned_notes);
  return file;
}

Status CheckpointFile::append(const SignedCheckpoint& c) {
  if (!file_) return Status(StatusCode::kInternal, "the checkpoints file is closed");
  ACCT_RETURN_IF_ERROR(file_->append(encode_checkpoint_record(c)));
  ACCT_RETURN_IF_ERROR(file_->sync());
  checkpoints_.push_back(c);
  return Status::ok();
}

Status CheckpointFile::append_note(uint8_t type, const std::string& note) {
  if (!file_) return Status(StatusCode::kInternal, "the checkpoints file is closed");
  if (note.empty() || note.size() > signed_fmt::kMaxNoteBytes) {
    return invalid_argument("a checkpoint note of " + std::to_string(note.size()) + " bytes (at most " +
                                std::to_string(signed_fmt::kMaxNoteBytes) + ")",
                            "note");
  }
  ACCT_RETURN_IF_ERROR(file_->append(encode_note_record(type, note)));
  ACCT_RETURN_IF_ERROR(file_->sync());
  (type == signed_fmt::kTreeRecordType ? tree_notes_ : cosigned_notes_).push_back(note);
  return Status::ok();
}

Status CheckpointFile::append_tree_note(const std::string& note) { return append_note(signed_fmt::kTreeRecordType, note); }

Status CheckpointFile::append_cosigned_note(const std::string& note) {
  return append_note(signed_fmt::kCosignedRecordType, note);
}

Status CheckpointFile::close() {
  if (!file_) return Status::ok();
  Status s = file_->close();
  file_.reset();
  return s;
}

// --- the signing key -------------------------------------------------------

SigningKey::~SigningKey() { sodium_memzero(secret_key_.data(), secret_key_.size()); }

void SigningKey::sign(SignedCheckpoint* c) const {
  const std::string m = checkpoint_message(*c);
  crypto_sign_detached(c->signature.data(), nullptr, reinterpret_cast<const unsigned char*>(m.data()), m.size(),
                       secret_key_.data());
}

NoteSignature SigningKey::sign_note(std::string_view text, std::string_view key_name) const {
  return accountable::sign_note(text, key_name, secret_key_);
}

NoteSignature SigningKey::cosign(std::string_view checkpoint_text, std::string_view cosigner_name,
                                 uint64_t unix_seconds) const {
  return cosign_checkpoint(checkpoint_text, cosigner_name, secret_key_, unix_seconds);
}

Result<std::unique_ptr<SigningKey>> SigningKey::load(Env* env, const std::string& data_dir) {
  return load_file(env, signing_key_path(data_dir));
}

Result<std::unique_ptr<SigningKey>> SigningKey::open_or_create_file(Env* env, const std::string& path) {
  ACCT_RETURN_IF_ERROR(sodium_ready());
  if (env->file_exists(path + ".tmp")) ACCT_RETURN_IF_ERROR(env->remove_file(path + ".tmp"));
  if (!env->file_exists(path)) ACCT_RETURN_IF_ERROR(create_key_file(env, path));
  return load_file(env, path);
}

Result<std::unique_ptr<SigningKey>> SigningKey::load_file(Env* env, const std::string& path) {
  ACCT_RETURN_IF_ERROR(sodium_ready());
  if (!env->file_exists(path)) return not_found("no signing key: " + path + " does not exist");
  auto bytes = env->read_file(path);
  if (!bytes) return bytes.status();
  std::array<uint8_t, crypto_sign_SEEDBYTES> seed{};
  Status decoded = decode_key_file(*bytes, path, seed.data());
  sodium_memzero(bytes->data(), bytes->size());
  if (!decoded.is_ok()) return decoded;
  std::unique_ptr<SigningKey> key(new SigningKey());
  crypto_sign_seed_keypair(key->public_key_.data(), key->secret_key_.data(), seed.data());
  sodium_memzero(seed.data(), seed.size());
  return key;
}

Result<std::unique_ptr<SigningKey>> SigningKey::open_or_create(Env* env, const std::string& data_dir) {
  ACCT_RETURN_IF_ERROR(sodium_ready());
  const std::string dir = join_path(data_dir, "keys");
  const std::string path = signing_key_path(data_dir);
  const std::string pub_path = signing_pub_path(data_dir);
  if (!env->file_exists(dir)) {
    ACCT_RETURN_IF_ERROR(env->create_dir(dir));
    ACCT_RETURN_IF_ERROR(env->sync_dir(data_dir));
  }
  // A temporary left by a crash may hold a seed nobody used: remove it.
  if (env->file_exists(path + ".tmp")) {
    ACCT_RETURN_IF_ERROR(env->remove_file(path + ".tmp"));
    ACCT_RETURN_IF_ERROR(env->sync_dir(dir));
  }
  if (!env->file_exists(path)) ACCT_RETURN_IF_ERROR(create_key_file(env, path));
  auto key = load(env, data_dir);
  if (!key) return key.status();
  const std::string text = public_key_text((*key)->public_key()) + "\n";
  if (!env->file_exists(pub_path)) {
    ACCT_RETURN_IF_ERROR(env->write_file_atomically(pub_path, text));
  } else {
    auto existing = read_public_key_file(env, pub_path);
    if (!existing) return corruption(existing.status().message());
    if (*existing != (*key)->public_key()) {
      return corruption(pub_path + " does not hold the public key of " + path + " (remove it to have it rewritten)");
    }
  }
  return key;
}

}  // namespace accountable
