// The C2SP text formats for transparency-log checkpoints, so that the log's
// checkpoints can be read, signed and cosigned by the tools of that ecosystem
// (witnesses, monitors) and not only by our own auditor:
//   c2sp.org/signed-note        notes, signature lines, verifier keys (vkeys)
//   c2sp.org/tlog-checkpoint    the checkpoint body: origin, tree size, root hash
//   c2sp.org/tlog-cosignature   timestamped Ed25519 cosignatures ("cosignature/v1")
//
// Parsing is strict: anything the specs do not allow is kInvalidArgument, with a
// message that names the line at fault. Base64 is RFC 4648 with padding, and only
// its canonical form is accepted, so that a parsed value encodes to the same bytes.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "events/sha256.h"
#include "events/status.h"

namespace accountable {

using PublicKey = std::array<uint8_t, 32>;  // Ed25519 (RFC 8032) public key
using Signature = std::array<uint8_t, 64>;  // Ed25519 detached signature

namespace checkpoint_note_format {
// The em dash (U+2014) and space that open every signature line.
inline constexpr std::string_view kSignatureLinePrefix = "\xe2\x80\x94 ";
// signed-note lets verifiers bound a note; these are the bounds of the Go implementation.
inline constexpr size_t kMaxSignatures = 100;
inline constexpr size_t kMaxNoteBytes = size_t{1} << 20;
// The first line of the cosignature/v1 signed message (domain separation).
inline constexpr std::string_view kCosignatureHeader = "cosignature/v1\n";
}  // namespace checkpoint_note_format

// Signature types of c2sp.org/signed-note.
enum class NoteKeyType : uint8_t { kEd25519 = 0x01, kCosignatureV1 = 0x04 };

// key ID = SHA-256(name || 0x0A || type || public key)[:4], big-endian uint32.
// The type is hashed in, so the same key and name get a different id per type.
uint32_t note_key_id(std::string_view name, NoteKeyType type, const PublicKey& key);

// A verifier key: "<name>+<8 lower-case hex key id>+<base64(type || 32-byte key)>".
struct NoteVerifierKey {
  std::string name;
  NoteKeyType type = NoteKeyType::kEd25519;
  PublicKey key{};
  uint32_t key_id() const;
  std::string text() const;  // the vkey form above
};
// Strict parse of a vkey (surrounding whitespace/newline tolerated, nothing else):
// name non-empty, no spaces or '+'; the key id must equal note_key_id(...);
// type must be 0x01 or 0x04; key 32 bytes. Errors name what is wrong.
Result<NoteVerifierKey> parse_verifier_key(std::string_view text);

// The checkpoint body (c2sp.org/tlog-checkpoint): origin, tree size, root hash, extension lines.
struct CheckpointBody {
  std::string origin;
  uint64_t tree_size = 0;
  Hash256 root{};
  std::vector<std::string> extensions;  // extension lines without their newline; each non-empty
  std::string text() const;  // "origin\n<size>\n<base64 root>\n" then each extension + "\n"
};
// Strict: at least three lines, every line ends in '\n', origin non-empty; tree size decimal with
// no leading zeros ("0" allowed), fits in u64; root is base64 of exactly 32 bytes; extension lines
// non-empty; valid UTF-8 with no control characters other than '\n'.
// Errors name the line ("checkpoint line 2 (tree size): ...").
Result<CheckpointBody> parse_checkpoint_body(std::string_view text);

struct NoteSignature {
  std::string key_name;
  uint32_t key_id = 0;
  std::string signature;  // the bytes after the 4-byte key id (Ed25519: 64; cosignature: 8 + 64)
  std::string line() const;  // "— <name> <base64(key id BE || signature)>\n"  (— is U+2014, UTF-8 e2 80 94)
};

struct SignedNote {
  std::string text;  // the note text, ending in '\n' (for a checkpoint: CheckpointBody::text())
  std::vector<NoteSignature> signatures;
  std::string encode() const;  // text + "\n" + every signature line
};
// Strict parse per c2sp.org/signed-note: the text is separated from the signatures by the LAST
// blank line; at least one signature line; at most 100 signature lines and 1 MiB in all;
// valid UTF-8 with no control chars other than '\n'; key names non-empty without Unicode
// spaces or '+'; each signature base64 decodes to >= 5 bytes. Signature lines are kept in
// order, duplicates included, so that encode() gives back the same bytes.
Result<SignedNote> parse_signed_note(std::string_view note);

// Ed25519 note signature (type 0x01) over the note text. `secret_key` is libsodium's 64-byte
// form (seed || public key), as crypto_sign_seed_keypair produces. `key_name` must be a valid
// key name: it is not checked here (no error channel), but parse_signed_note refuses a bad one.
NoteSignature sign_note(std::string_view text, std::string_view key_name, const std::array<uint8_t, 64>& secret_key);

// A timestamped Ed25519 cosignature (type 0x04, c2sp.org/tlog-cosignature "cosignature/v1"):
// signs "cosignature/v1\ntime <timestamp>\n" + checkpoint_text; the signature bytes are
// timestamp (u64 big-endian) || 64-byte signature. The spec caps the timestamp at 2^63 - 1;
// check_note_signature reports a larger one as kBad.
NoteSignature cosign_checkpoint(std::string_view checkpoint_text, std::string_view cosigner_name,
                                const std::array<uint8_t, 64>& secret_key, uint64_t timestamp_seconds);

// Outcome of looking for `key`'s signature in a note: verifiers MUST ignore signatures whose
// (name, key id) do not match a known key; a matching one that fails is kBad.
enum class NoteSignatureCheck { kAbsent, kValid, kBad };
struct NoteSignatureResult {
  NoteSignatureCheck check = NoteSignatureCheck::kAbsent;
  uint64_t timestamp = 0;  // cosignatures only: the signed time, seconds since the epoch
                           // (the latest one if the key cosigned more than once)
};
// For kEd25519 keys: checks an Ed25519 note signature over note.text. For kCosignatureV1 keys:
// checks the cosignature/v1 message over note.text (which must be a checkpoint body). If several
// signature lines match the key's name and id, all must verify (any bad one makes kBad).
NoteSignatureResult check_note_signature(const SignedNote& note, const NoteVerifierKey& key);

}  // namespace accountable
