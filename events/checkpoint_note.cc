#include "events/checkpoint_note.h"

#include <sodium.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <optional>

#include "events/types.h"

namespace accountable {
namespace {

namespace note_fmt = checkpoint_note_format;

static_assert(sizeof(PublicKey) == crypto_sign_PUBLICKEYBYTES);
static_assert(sizeof(Signature) == crypto_sign_BYTES);
static_assert(crypto_sign_SECRETKEYBYTES == 64);

constexpr size_t kKeyIdBytes = 4;
constexpr size_t kTimestampBytes = 8;
constexpr uint64_t kMaxCosignatureTimestamp = std::numeric_limits<int64_t>::max();  // tlog-cosignature

bool sodium_ready() {
  static const bool ready = sodium_init() >= 0;  // sodium_init is idempotent and thread-safe
  return ready;
}

// The signing functions have no error channel, and a process without a working
// libsodium cannot sign anything: stop rather than hand out a bogus signature.
void require_sodium() {
  if (sodium_ready()) return;
  std::fputs("accountable: libsodium failed to initialise\n", stderr);
  std::abort();
}

const unsigned char* bytes_of(std::string_view s) { return reinterpret_cast<const unsigned char*>(s.data()); }

void append_u32_be(std::string* out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out->push_back(static_cast<char>((v >> shift) & 0xff));
}
void append_u64_be(std::string* out, uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8) out->push_back(static_cast<char>((v >> shift) & 0xff));
}
uint32_t get_u32_be(std::string_view p) {
  uint32_t v = 0;
  for (size_t i = 0; i < 4; ++i) v = (v << 8) | static_cast<uint8_t>(p[i]);
  return v;
}
uint64_t get_u64_be(std::string_view p) {
  uint64_t v = 0;
  for (size_t i = 0; i < 8; ++i) v = (v << 8) | static_cast<uint8_t>(p[i]);
  return v;
}

std::string base64_encode(std::string_view bytes) {
  std::string out(sodium_base64_ENCODED_LEN(bytes.size(), sodium_base64_VARIANT_ORIGINAL), '\0');
  sodium_bin2base64(out.data(), out.size(), bytes_of(bytes), bytes.size(), sodium_base64_VARIANT_ORIGINAL);
  out.pop_back();  // the terminating NUL
  return out;
}

// Canonical RFC 4648 base64 with padding only, so that one value has one text.
// libsodium (1.0.18) already refuses missing padding and non-zero bits after the
// last byte; comparing with the re-encoding keeps that guarantee in this file.
std::optional<std::string> base64_decode(std::string_view text) {
  if (text.size() % 4 != 0) return std::nullopt;
  std::string out(text.size() / 4 * 3, '\0');
  size_t decoded = 0;
  const char* end = nullptr;
  if (sodium_base642bin(reinterpret_cast<unsigned char*>(out.data()), out.size(), text.data(), text.size(),
                        /*ignore=*/nullptr, &decoded, &end, sodium_base64_VARIANT_ORIGINAL) != 0 ||
      end != text.data() + text.size()) {
    return std::nullopt;
  }
  out.resize(decoded);
  if (base64_encode(out) != text) return std::nullopt;
  return out;
}

std::string hex_byte(uint8_t b) {
  const unsigned char c = b;
  return "0x" + hex_encode(&c, 1);
}

// Decodes the UTF-8 sequence at s[*i] into *code_point and advances *i past it.
// False for anything that is not valid UTF-8: truncated or overlong sequences,
// surrogates, code points above U+10FFFF.
bool next_code_point(std::string_view s, size_t* i, char32_t* code_point) {
  const auto byte = [&](size_t k) { return static_cast<uint8_t>(s[k]); };
  const uint8_t lead = byte(*i);
  size_t length;
  char32_t cp;
  char32_t min;
  if (lead < 0x80) {
    *code_point = lead;
    *i += 1;
    return true;
  } else if ((lead & 0xe0) == 0xc0) {
    length = 2, cp = lead & 0x1f, min = 0x80;
  } else if ((lead & 0xf0) == 0xe0) {
    length = 3, cp = lead & 0x0f, min = 0x800;
  } else if ((lead & 0xf8) == 0xf0) {
    length = 4, cp = lead & 0x07, min = 0x10000;
  } else {
    return false;
  }
  if (s.size() - *i < length) return false;
  for (size_t k = 1; k < length; ++k) {
    const uint8_t continuation = byte(*i + k);
    if ((continuation & 0xc0) != 0x80) return false;
    cp = (cp << 6) | (continuation & 0x3f);
  }
  if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
  *code_point = cp;
  *i += length;
  return true;
}

// Go's unicode.IsSpace, which is what the reference implementation refuses in key names.
bool is_unicode_space(char32_t c) {
  switch (c) {
    case '\t': case '\n': case '\v': case '\f': case '\r': case ' ':
    case 0x85: case 0xa0: case 0x1680: case 0x2028: case 0x2029: case 0x202f: case 0x205f: case 0x3000:
      return true;
    default:
      return c >= 0x2000 && c <= 0x200a;
  }
}

// The signed-note character rules: valid UTF-8 and no control characters but
// '\n'. Returns what is wrong (with the byte offset), or an empty string.
std::string text_problem(std::string_view text) {
  for (size_t i = 0; i < text.size();) {
    const uint8_t b = static_cast<uint8_t>(text[i]);
    if (b < 0x20 && b != '\n') return "control character " + hex_byte(b) + " at byte " + std::to_string(i);
    char32_t cp;
    const size_t at = i;
    if (!next_code_point(text, &i, &cp)) return "invalid UTF-8 at byte " + std::to_string(at);
  }
  return {};
}

// Key names: non-empty, valid UTF-8, no Unicode spaces, no '+' (it separates
// the parts of a vkey), no control characters. Returns what is wrong, or "".
std::string key_name_problem(std::string_view name) {
  if (name.empty()) return "the key name is empty";
  for (size_t i = 0; i < name.size();) {
    char32_t cp;
    if (!next_code_point(name, &i, &cp)) return "the key name is not valid UTF-8";
    if (cp == '+') return "the key name contains '+'";
    if (is_unicode_space(cp)) return "the key name contains a space";
    if (cp < 0x20) return "the key name contains a control character";
  }
  return {};
}

std::string checkpoint_line_label(size_t number) {
  std::string label = "checkpoint line " + std::to_string(number);
  switch (number) {
    case 1: return label + " (origin)";
    case 2: return label + " (tree size)";
    case 3: return label + " (root hash)";
    default: return label + " (extension)";
  }
}

Status checkpoint_error(size_t line_number, const std::string& why) {
  return invalid_argument(checkpoint_line_label(line_number) + ": " + why, "checkpoint");
}

Status note_error(const std::string& why) { return invalid_argument("signed note: " + why, "note"); }

Status vkey_error(const std::string& why) { return invalid_argument("verifier key: " + why, "vkey"); }

// Decimal without leading zeros ("0" alone is zero); nothing else. The error
// message says what is wrong, for the caller to put the line in front of it.
Result<uint64_t> parse_tree_size(std::string_view text) {
  if (text.empty()) return invalid_argument("empty");
  if (text.size() > 1 && text[0] == '0') return invalid_argument("leading zero");
  uint64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return invalid_argument("not a decimal number");
    const uint64_t digit = static_cast<uint64_t>(c - '0');
    if (value > (std::numeric_limits<uint64_t>::max() - digit) / 10) return invalid_argument("does not fit in 64 bits");
    value = value * 10 + digit;
  }
  return value;
}

std::string cosignature_message(uint64_t timestamp, std::string_view checkpoint_text) {
  std::string m(note_fmt::kCosignatureHeader);
  m += "time ";
  m += std::to_string(timestamp);
  m += '\n';
  m += checkpoint_text;
  return m;
}

bool ed25519_valid(std::string_view signature, std::string_view message, const PublicKey& key) {
  return signature.size() == crypto_sign_BYTES &&
         crypto_sign_verify_detached(bytes_of(signature), bytes_of(message), message.size(), key.data()) == 0;
}

std::string ed25519_sign(std::string_view message, const std::array<uint8_t, 64>& secret_key) {
  Signature signature{};
  crypto_sign_detached(signature.data(), nullptr, bytes_of(message), message.size(), secret_key.data());
  return std::string(reinterpret_cast<const char*>(signature.data()), signature.size());
}

// One matching signature line: whether it verifies, and the time it carries.
struct LineCheck {
  bool valid = false;
  uint64_t timestamp = 0;
};

LineCheck check_cosignature(std::string_view signature, std::string_view text, const PublicKey& key) {
  if (signature.size() != kTimestampBytes + crypto_sign_BYTES) return {};
  const uint64_t timestamp = get_u64_be(signature);
  if (timestamp > kMaxCosignatureTimestamp) return {};
  // A cosigner vouches for a tree head: a note that is not a checkpoint cannot carry one.
  if (!parse_checkpoint_body(text).is_ok()) return {};
  const bool valid = ed25519_valid(signature.substr(kTimestampBytes), cosignature_message(timestamp, text), key);
  return {valid, timestamp};
}

}  // namespace

uint32_t note_key_id(std::string_view name, NoteKeyType type, const PublicKey& key) {
  Sha256 hash;
  hash.update(name);
  const char separator_and_type[2] = {'\n', static_cast<char>(type)};
  hash.update(std::string_view(separator_and_type, 2));
  hash.update(std::string_view(reinterpret_cast<const char*>(key.data()), key.size()));
  const Hash256 digest = hash.finish();
  return get_u32_be(std::string_view(reinterpret_cast<const char*>(digest.data()), kKeyIdBytes));
}

uint32_t NoteVerifierKey::key_id() const { return note_key_id(name, type, key); }

std::string NoteVerifierKey::text() const {
  std::string id;
  append_u32_be(&id, key_id());
  std::string material(1, static_cast<char>(type));
  material.append(reinterpret_cast<const char*>(key.data()), key.size());
  return name + "+" + hex_encode(bytes_of(id), id.size()) + "+" + base64_encode(material);
}

Result<NoteVerifierKey> parse_verifier_key(std::string_view text) {
  auto space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
  while (!text.empty() && space(text.front())) text.remove_prefix(1);
  while (!text.empty() && space(text.back())) text.remove_suffix(1);

  // The name cannot hold '+' and the key id is hex, so the first two '+' split
  // the parts; base64 may contain '+' itself.
  const size_t name_end = text.find('+');
  if (name_end == std::string_view::npos) return vkey_error("expected <name>+<key id>+<base64 key>");
  const size_t id_end = text.find('+', name_end + 1);
  if (id_end == std::string_view::npos) return vkey_error("expected <name>+<key id>+<base64 key>");
  const std::string_view name = text.substr(0, name_end);
  const std::string_view id_hex = text.substr(name_end + 1, id_end - name_end - 1);
  const std::string_view material_b64 = text.substr(id_end + 1);

  if (std::string why = key_name_problem(name); !why.empty()) return vkey_error(why);
  if (id_hex.size() != 8) return vkey_error("the key id is not 8 hex digits");
  uint32_t id = 0;
  for (char c : id_hex) {
    int digit;
    if (c >= '0' && c <= '9') {
      digit = c - '0';
    } else if (c >= 'a' && c <= 'f') {
      digit = c - 'a' + 10;
    } else {
      return vkey_error("the key id is not 8 lower-case hex digits");
    }
    id = (id << 4) | static_cast<uint32_t>(digit);
  }
  const std::optional<std::string> material = base64_decode(material_b64);
  if (!material) return vkey_error("the key is not canonical base64");
  if (material->empty()) return vkey_error("the key is empty");
  const uint8_t type = static_cast<uint8_t>((*material)[0]);
  if (type != static_cast<uint8_t>(NoteKeyType::kEd25519) && type != static_cast<uint8_t>(NoteKeyType::kCosignatureV1)) {
    return vkey_error("unsupported signature type " + hex_byte(type) + " (supported: 0x01 Ed25519, 0x04 cosignature/v1)");
  }
  NoteVerifierKey key;
  if (material->size() != 1 + key.key.size()) {
    return vkey_error("the public key has " + std::to_string(material->size() - 1) + " bytes, expected 32");
  }
  key.name = std::string(name);
  key.type = static_cast<NoteKeyType>(type);
  std::copy(material->begin() + 1, material->end(), key.key.begin());
  if (key.key_id() != id) return vkey_error("the key id does not match the name, type and public key");
  return key;
}

std::string CheckpointBody::text() const {
  std::string out = origin + "\n" + std::to_string(tree_size) + "\n" +
                    base64_encode(std::string_view(reinterpret_cast<const char*>(root.data()), root.size())) + "\n";
  for (const std::string& line : extensions) out += line + "\n";
  return out;
}

Result<CheckpointBody> parse_checkpoint_body(std::string_view text) {
  std::vector<std::string_view> lines;
  for (size_t start = 0; start < text.size();) {
    const size_t newline = text.find('\n', start);
    if (newline == std::string_view::npos) return checkpoint_error(lines.size() + 1, "does not end in a newline");
    lines.push_back(text.substr(start, newline - start));
    start = newline + 1;
  }
  if (lines.size() < 3) {
    return invalid_argument("checkpoint: " + std::to_string(lines.size()) +
                                " lines, expected at least 3 (origin, tree size, root hash)",
                            "checkpoint");
  }
  for (size_t i = 0; i < lines.size(); ++i) {
    if (std::string why = text_problem(lines[i]); !why.empty()) return checkpoint_error(i + 1, why);
  }

  CheckpointBody body;
  if (lines[0].empty()) return checkpoint_error(1, "empty");
  body.origin = std::string(lines[0]);

  const Result<uint64_t> size = parse_tree_size(lines[1]);
  if (!size) return checkpoint_error(2, size.status().message());
  body.tree_size = *size;

  const std::optional<std::string> root = base64_decode(lines[2]);
  if (!root) return checkpoint_error(3, "not canonical base64");
  if (root->size() != body.root.size()) {
    return checkpoint_error(3, "decodes to " + std::to_string(root->size()) + " bytes, expected 32");
  }
  std::copy(root->begin(), root->end(), body.root.begin());

  for (size_t i = 3; i < lines.size(); ++i) {
    if (lines[i].empty()) return checkpoint_error(i + 1, "empty");
    body.extensions.emplace_back(lines[i]);
  }
  return body;
}

std::string NoteSignature::line() const {
  std::string blob;
  blob.reserve(kKeyIdBytes + signature.size());
  append_u32_be(&blob, key_id);
  blob += signature;
  return std::string(note_fmt::kSignatureLinePrefix) + key_name + " " + base64_encode(blob) + "\n";
}

std::string SignedNote::encode() const {
  std::string out = text + "\n";
  for (const NoteSignature& s : signatures) out += s.line();
  return out;
}

Result<SignedNote> parse_signed_note(std::string_view note) {
  if (note.size() > note_fmt::kMaxNoteBytes) {
    return note_error(std::to_string(note.size()) + " bytes, more than the " + std::to_string(note_fmt::kMaxNoteBytes) +
                      " allowed");
  }
  if (std::string why = text_problem(note); !why.empty()) return note_error(why);
  if (note.empty() || note.back() != '\n') return note_error("does not end in a newline");

  // The text may itself hold empty lines: only the last one separates it from the signatures.
  const size_t blank = note.rfind("\n\n");
  if (blank == std::string_view::npos) return note_error("no blank line between the text and the signatures");
  SignedNote parsed;
  parsed.text = std::string(note.substr(0, blank + 1));
  std::string_view rest = note.substr(blank + 2);
  if (rest.empty()) return note_error("no signature lines after the blank line");

  size_t line_count = 0;
  for (char c : rest) line_count += c == '\n';
  if (line_count > note_fmt::kMaxSignatures) {
    return note_error(std::to_string(line_count) + " signature lines, at most " +
                      std::to_string(note_fmt::kMaxSignatures) + " allowed");
  }
  parsed.signatures.reserve(line_count);
  for (size_t number = 1; !rest.empty(); ++number) {
    const size_t newline = rest.find('\n');  // found: the note ends in a newline
    std::string_view line = rest.substr(0, newline);
    rest.remove_prefix(newline + 1);
    const std::string label = "signature line " + std::to_string(number) + ": ";

    if (line.substr(0, note_fmt::kSignatureLinePrefix.size()) != note_fmt::kSignatureLinePrefix) {
      return note_error(label + "does not start with an em dash (U+2014) and a space");
    }
    line.remove_prefix(note_fmt::kSignatureLinePrefix.size());
    const size_t space = line.find(' ');
    if (space == std::string_view::npos) return note_error(label + "no space between the key name and the signature");
    const std::string_view name = line.substr(0, space);
    if (std::string why = key_name_problem(name); !why.empty()) return note_error(label + why);
    const std::optional<std::string> blob = base64_decode(line.substr(space + 1));
    if (!blob) return note_error(label + "the signature is not canonical base64");
    if (blob->size() <= kKeyIdBytes) {
      return note_error(label + "the signature has " + std::to_string(blob->size()) +
                        " bytes, expected a 4-byte key id and at least one more");
    }
    NoteSignature signature;
    signature.key_name = std::string(name);
    signature.key_id = get_u32_be(*blob);
    signature.signature = blob->substr(kKeyIdBytes);
    parsed.signatures.push_back(std::move(signature));
  }
  return parsed;
}

NoteSignature sign_note(std::string_view text, std::string_view key_name, const std::array<uint8_t, 64>& secret_key) {
  require_sodium();
  PublicKey public_key;
  crypto_sign_ed25519_sk_to_pk(public_key.data(), secret_key.data());
  NoteSignature s;
  s.key_name = std::string(key_name);
  s.key_id = note_key_id(key_name, NoteKeyType::kEd25519, public_key);
  s.signature = ed25519_sign(text, secret_key);
  return s;
}

NoteSignature cosign_checkpoint(std::string_view checkpoint_text, std::string_view cosigner_name,
                                const std::array<uint8_t, 64>& secret_key, uint64_t timestamp_seconds) {
  require_sodium();
  PublicKey public_key;
  crypto_sign_ed25519_sk_to_pk(public_key.data(), secret_key.data());
  NoteSignature s;
  s.key_name = std::string(cosigner_name);
  s.key_id = note_key_id(cosigner_name, NoteKeyType::kCosignatureV1, public_key);
  append_u64_be(&s.signature, timestamp_seconds);
  s.signature += ed25519_sign(cosignature_message(timestamp_seconds, checkpoint_text), secret_key);
  return s;
}

NoteSignatureResult check_note_signature(const SignedNote& note, const NoteVerifierKey& key) {
  NoteSignatureResult result;
  const uint32_t id = key.key_id();
  bool any_bad = false;
  for (const NoteSignature& s : note.signatures) {
    if (s.key_name != key.name || s.key_id != id) continue;  // not this key's: ignored, as the spec requires
    LineCheck line;
    if (!sodium_ready()) {
      line.valid = false;  // cannot verify, so it is not valid
    } else if (key.type == NoteKeyType::kEd25519) {
      line.valid = ed25519_valid(s.signature, note.text, key.key);
    } else if (key.type == NoteKeyType::kCosignatureV1) {
      line = check_cosignature(s.signature, note.text, key.key);
    }  // any other type cannot be verified: a matching line is bad
    if (!line.valid) {
      any_bad = true;
      continue;
    }
    result.timestamp = std::max(result.timestamp, line.timestamp);
    result.check = NoteSignatureCheck::kValid;
  }
  if (any_bad) return {NoteSignatureCheck::kBad, 0};
  return result;
}

}  // namespace accountable
