// Signed checkpoints: Ed25519 signatures over (position, head hash) of the
// log's hash chain, so that an auditor holding only the public key can prove
// that the chain was not rewritten (docs/log-format.md, "Signed checkpoints").
//
// Files:
//   DATA/keys/signing.key             the private Ed25519 seed, with a checksum (mode 0600)
//   DATA/keys/signing.pub             the public key, one line: "ed25519:<64 hex digits>"
//   DATA/signatures/checkpoints       append-only, CRC-framed signed checkpoints
//
// Only the process that owns the data folder writes them (CheckpointSigner,
// events/checkpoint_signer.h). Everything else here is read-only and needs no
// private key.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "events/checkpoint_note.h"
#include "events/env.h"
#include "events/sha256.h"
#include "events/status.h"

namespace accountable {

struct SignedCheckpoint {
  uint64_t position = 0;          // a log position; the log's hash chain value at it is head_hash
  Hash256 head_hash{};
  int64_t recorded_at_micros = 0;  // when it was signed, microseconds since the Unix epoch, UTC
  std::array<uint8_t, 64> signature{};
};

// --- paths and formats (docs/log-format.md) --------------------------------
std::string signing_key_path(const std::string& data_dir);     // DATA/keys/signing.key
std::string signing_pub_path(const std::string& data_dir);     // DATA/keys/signing.pub
std::string checkpoints_path(const std::string& data_dir);     // DATA/signatures/checkpoints

namespace signed_checkpoint_format {
inline constexpr std::string_view kDomain = "accountable/signed-checkpoint";  // signed-message prefix
inline constexpr uint32_t kVersion = 1;
inline constexpr std::string_view kFileMagic = "ACCTSIG1";
inline constexpr size_t kFileHeaderSize = 16;    // magic, version u32, masked crc u32
inline constexpr uint8_t kRecordType = 1;       // a chain checkpoint (SignedCheckpoint)
inline constexpr uint8_t kTreeRecordType = 2;   // a tree checkpoint: a signed note (events/tree_checkpoint.h)
inline constexpr uint8_t kCosignedRecordType = 3;  // a tree checkpoint as a witness cosigned it
inline constexpr size_t kMaxNoteBytes = 16 << 10;
inline constexpr size_t kRecordHeaderSize = 4 + 4 + 1;  // crc, length, type
inline constexpr size_t kPayloadSize = 8 + 32 + 8 + 64;  // position, hash, recorded_at, signature
inline constexpr size_t kFrameSize = 4 + 4 + 1 + kPayloadSize;  // crc, length, type, payload
inline constexpr std::string_view kKeyMagic = "ACCTSGNK";
inline constexpr size_t kKeyFileSize = 8 + 4 + 32 + 4;  // magic, version u32, seed, masked crc u32
inline constexpr std::string_view kPublicKeyPrefix = "ed25519:";
}  // namespace signed_checkpoint_format

// The exact bytes that are signed:
//   domain "accountable/signed-checkpoint" 0x00, version u32 = 1,
//   position u64, head_hash[32], recorded_at i64   (little-endian)
std::string checkpoint_message(const SignedCheckpoint& c);

// --- reading (no private key needed) ---------------------------------------

// Every checkpoint in DATA/signatures/, oldest first (a torn last record is skipped).
// kNotFound when DATA/signatures/checkpoints does not exist; kCorruption naming
// the file and the byte offset of a bad record that is not the torn last one.
Result<std::vector<SignedCheckpoint>> read_signed_checkpoints(Env* env, const std::string& data_dir);

// The public key from DATA/keys/signing.pub, or from a file written by `acct keys export-public`.
Result<std::array<uint8_t, 32>> read_public_key_file(Env* env, const std::string& path);

bool signature_valid(const SignedCheckpoint& c, const std::array<uint8_t, 32>& public_key);

std::string public_key_text(const std::array<uint8_t, 32>& public_key);  // the exported one-line form
Result<PublicKey> parse_public_key_text(std::string_view text);           // tolerates surrounding whitespace

// The parsed checkpoints file, for the writer and for tests.
struct CheckpointFileContents {
  std::vector<SignedCheckpoint> checkpoints;  // chain checkpoints, in file order
  std::vector<std::string> tree_notes;        // tree checkpoints (signed notes), in file order
  std::vector<std::string> cosigned_notes;    // the same with witnesses' cosignatures, in file order
  uint64_t valid_bytes = 0;  // header plus every good record
  uint64_t torn_bytes = 0;   // a torn last record after valid_bytes (ignored; cut on the next open)
};
// `bytes` is the whole file; `path` is only used in error messages.
Result<CheckpointFileContents> parse_checkpoints_file(std::string_view bytes, const std::string& path);
std::string encode_checkpoints_file_header();
std::string encode_checkpoint_record(const SignedCheckpoint& c);
std::string encode_note_record(uint8_t type, std::string_view note);  // kTreeRecordType or kCosignedRecordType
// The whole file (kNotFound when there is none), as parse_checkpoints_file reads it.
Result<CheckpointFileContents> read_checkpoints_file(Env* env, const std::string& data_dir);

// --- the signing key (owner of the data folder only) -------------------------

class SigningKey {
 public:
  // Loads DATA/keys/signing.key, or creates the pair (seed file written
  // atomically, then signing.pub) when there is none. A key file that fails its
  // checksum is kCorruption naming the file; signing.pub is rewritten if
  // missing and must otherwise match the seed.
  static Result<std::unique_ptr<SigningKey>> open_or_create(Env* env, const std::string& data_dir);
  // Loads an existing key only (kNotFound if there is none).
  static Result<std::unique_ptr<SigningKey>> load(Env* env, const std::string& data_dir);
  ~SigningKey();  // wipes the secret key
  SigningKey(const SigningKey&) = delete;
  SigningKey& operator=(const SigningKey&) = delete;

  const PublicKey& public_key() const { return public_key_; }
  // Fills in c.signature over checkpoint_message(c).
  void sign(SignedCheckpoint* c) const;
  // An Ed25519 signature line (c2sp.org/signed-note) over a note's text.
  NoteSignature sign_note(std::string_view text, std::string_view key_name) const;
  // A timestamped cosignature line (c2sp.org/tlog-cosignature) over a checkpoint's text.
  NoteSignature cosign(std::string_view checkpoint_text, std::string_view cosigner_name, uint64_t unix_seconds) const;
  // The key file at `path` (the format of keys/signing.key), created with a
  // new random seed when missing: a witness's own key.
  static Result<std::unique_ptr<SigningKey>> open_or_create_file(Env* env, const std::string& path);

 private:
  SigningKey() = default;
  static Result<std::unique_ptr<SigningKey>> load_file(Env* env, const std::string& path);
  PublicKey public_key_{};
  std::array<uint8_t, 64> secret_key_{};  // libsodium's seed || public key form
};

// --- the append-only checkpoints file (owner of the data folder only) ------

class CheckpointFile {
 public:
  // Creates DATA/signatures/checkpoints if missing (header written
  // atomically), cuts a torn last record, fails on corruption before it.
  static Result<std::unique_ptr<CheckpointFile>> open(Env* env, const std::string& data_dir);
  // Appends one record and syncs it: the checkpoint counts once this returns OK.
  Status append(const SignedCheckpoint& c);
  Status append_tree_note(const std::string& note);
  Status append_cosigned_note(const std::string& note);
  const std::vector<SignedCheckpoint>& checkpoints() const { return checkpoints_; }
  const std::vector<std::string>& tree_notes() const { return tree_notes_; }
  const std::vector<std::string>& cosigned_notes() const { return cosigned_notes_; }
  uint64_t truncated_bytes_at_open() const { return truncated_bytes_at_open_; }
  Status close();

 private:
  CheckpointFile() = default;
  Status append_note(uint8_t type, const std::string& note);
  std::unique_ptr<WritableFile> file_;
  std::vector<SignedCheckpoint> checkpoints_;
  std::vector<std::string> tree_notes_;
  std::vector<std::string> cosigned_notes_;
  uint64_t truncated_bytes_at_open_ = 0;
};

}  // namespace accountable
