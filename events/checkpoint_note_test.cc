// The C2SP note formats: published vectors (the specs' own examples and the Go
// implementation's tests) first, then every strictness rule, then cosignatures.
#include "events/checkpoint_note.h"

#include <gtest/gtest.h>
#include <sodium.h>

#include <string>

namespace accountable {
namespace {

namespace note_fmt = checkpoint_note_format;

// --- published vectors -------------------------------------------------------

// c2sp.org/signed-note, "Example".
constexpr std::string_view kSpecVkey = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k";
constexpr std::string_view kSpecText = "This is an example message.\n";
constexpr std::string_view kSpecSignatureLine =
    "— example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n";

// c2sp.org/signed-note, the opening example: a text that holds an empty line.
constexpr std::string_view kSpecPoemText =
    "Ognuno sta solo sul cuor della terra\n"
    "trafitto da un raggio di sole:\n"
    "\n"
    "ed è subito sera.\n";
constexpr std::string_view kSpecPoemSignatureLine =
    "— quasimodo.example/salvatore "
    "NnugSzTjtVAewIS+Z/iJhUPeFDkO/5QQ2i5ddnGITLlC+EhfLW9oJKONrMouFSQU0xMcXxj99ihAQwaqP3ZekRwNtIc=\n";

// c2sp.org/tlog-cosignature, the example checkpoint with a log signature and a cosignature.
constexpr std::string_view kSpecCheckpointText =
    "example.com/behind-the-sofa\n"
    "20852163\n"
    "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";
constexpr std::string_view kSpecCheckpointSignatures =
    "— example.com/behind-the-sofa "
    "Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n"
    "— witness.example.com/w1 "
    "jWbPPwAAAABkGFDLEZMHwSRaJNiIDoe9DYn/zXcrtPHeolMI5OWXEhZCB9dlrDJsX3b2oyin1nPZqhf5nNo0xUe+mbIUBkBIfZ+qnA==\n";

// golang.org/x/mod/sumdb/note, note_test.go.
constexpr std::string_view kPeterVkey = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
constexpr std::string_view kPeterSkeyBase64 = "AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";  // 0x01 || seed
constexpr std::string_view kEnochVkey = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop";
constexpr std::string_view kGoText =
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n";
constexpr std::string_view kPeterSignatureLine =
    "— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";
constexpr std::string_view kEnochSignatureLine =
    "— EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n";

// github.com/transparency-dev/formats, note/note_cosigv1_test.go and note/note_verifier_test.go.
constexpr std::string_view kRemoraCosignerVkey = "remora.n621.de+da77ade7+BOvN63jn/bLvkieywe8R6UYAtVtNbZpXh34x7onlmtw2";
constexpr std::string_view kTestVkeyWithPlusInBase64 = "TEST+7997405c+AQcC+FTVKf0jlTdHDY3rbevmnKxxPjigCXlVtGe6RIr6";
constexpr std::string_view kRekorEcdsaVkey =
    "rekor.sigstore.dev+c0d23d6a+"
    "AjBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABNhtmPtrWm3U1eQXBogSMdGvXwBcK5AW5i0hrZLOC96l+smGNM7nwZ4QvFK/4sueRoVj//QP22Ni4Qt9DPfkWLc=";
constexpr std::string_view kRekorNote =
    "Rekor\n798034\nf+7CoKgXKE/tNys9TTXcr/ad6U/K3xvznmzew9y6SP0=\n\n"
    "— rekor.sigstore.dev wNI9ajBEAiARInWIWyCdyG27CO6LPnPekyw20qO0YJfoaPaowGp/XgIgc+qEHS3+GKVClgqq20uDLet7MCoTURUCRdxwWBHHufk=\n";
constexpr std::string_view kCosignatureWithTimestamp1727964367 =
    "ZGhGuQAAAABm/qTPeyKXD+R2rzyQsxPiP8mXum7qq/iF0u4vanlqJyocWODBt97w9uL+8qT7S5gxEHWWOworDcFiEBYJXORmnFBOBA==";

// --- helpers -------------------------------------------------------------------

struct KeyPair {
  PublicKey public_key{};
  std::array<uint8_t, 64> secret_key{};
};

// Deterministic keys, so that a failure reproduces.
KeyPair key_pair_from_seed(uint8_t fill) {
  EXPECT_GE(sodium_init(), 0);
  std::array<uint8_t, 32> seed;
  seed.fill(fill);
  KeyPair k;
  crypto_sign_seed_keypair(k.public_key.data(), k.secret_key.data(), seed.data());
  return k;
}

NoteVerifierKey verifier(std::string name, NoteKeyType type, const PublicKey& key) {
  NoteVerifierKey v;
  v.name = std::move(name);
  v.type = type;
  v.key = key;
  return v;
}

NoteVerifierKey must_parse_vkey(std::string_view text) {
  auto key = parse_verifier_key(text);
  EXPECT_TRUE(key.is_ok()) << key.status().to_string();
  return key.is_ok() ? *key : NoteVerifierKey{};
}

SignedNote must_parse_note(std::string_view text) {
  auto note = parse_signed_note(text);
  EXPECT_TRUE(note.is_ok()) << note.status().to_string();
  return note.is_ok() ? *note : SignedNote{};
}

std::string checkpoint_text(std::string_view origin, uint64_t size, uint8_t root_fill) {
  CheckpointBody body;
  body.origin = std::string(origin);
  body.tree_size = size;
  body.root.fill(root_fill);
  return body.text();
}

// The checkpoint error message, or "" when it parsed.
std::string checkpoint_error(std::string_view text) {
  auto body = parse_checkpoint_body(text);
  if (body.is_ok()) return "";
  EXPECT_EQ(body.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(body.status().field(), "checkpoint");
  return body.status().message();
}

std::string note_error(std::string_view text) {
  auto note = parse_signed_note(text);
  if (note.is_ok()) return "";
  EXPECT_EQ(note.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(note.status().field(), "note");
  return note.status().message();
}

std::string vkey_error(std::string_view text) {
  auto key = parse_verifier_key(text);
  if (key.is_ok()) return "";
  EXPECT_EQ(key.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(key.status().field(), "vkey");
  return key.status().message();
}

#define EXPECT_CONTAINS(haystack, needle)                                         \
  do {                                                                            \
    const std::string h_ = (haystack);                                            \
    EXPECT_NE(h_.find(needle), std::string::npos) << "'" << h_ << "' lacks '" << (needle) << "'"; \
  } while (0)

// --- the signed-note spec example -------------------------------------------

TEST(CheckpointNoteTest, SpecExampleVerifierKeyVerifiesTheSpecExampleNote) {
  const NoteVerifierKey key = must_parse_vkey(kSpecVkey);
  EXPECT_EQ(key.name, "example.com/foo");
  EXPECT_EQ(key.type, NoteKeyType::kEd25519);
  EXPECT_EQ(key.key_id(), 0x530d903au);
  EXPECT_EQ(key.text(), kSpecVkey);
  EXPECT_EQ(must_parse_vkey(std::string(kSpecVkey) + "\n").text(), kSpecVkey);  // as read from a file

  const std::string encoded = std::string(kSpecText) + "\n" + std::string(kSpecSignatureLine);
  const SignedNote note = must_parse_note(encoded);
  EXPECT_EQ(note.text, kSpecText);
  ASSERT_EQ(note.signatures.size(), 1u);
  EXPECT_EQ(note.signatures[0].key_name, "example.com/foo");
  EXPECT_EQ(note.signatures[0].key_id, 0x530d903au);
  EXPECT_EQ(note.signatures[0].signature.size(), 64u);
  EXPECT_EQ(note.encode(), encoded);
  EXPECT_EQ(check_note_signature(note, key).check, NoteSignatureCheck::kValid);

  for (size_t i = 0; i < note.text.size(); ++i) {
    SignedNote flipped = note;
    flipped.text[i] = static_cast<char>(flipped.text[i] ^ 0x01);
    EXPECT_EQ(check_note_signature(flipped, key).check, NoteSignatureCheck::kBad) << "byte " << i;
  }

  const KeyPair other = key_pair_from_seed(7);
  EXPECT_EQ(check_note_signature(note, verifier("example.com/foo", NoteKeyType::kEd25519, other.public_key)).check,
            NoteSignatureCheck::kAbsent);
  EXPECT_EQ(check_note_signature(note, verifier("example.com/bar", NoteKeyType::kEd25519, key.key)).check,
            NoteSignatureCheck::kAbsent);
}

// --- golang.org/x/mod/sumdb/note vectors ---------------------------------------

TEST(CheckpointNoteTest, SigningWithTheGoTestKeyGivesTheGoTestSignatureByteForByte) {
  ASSERT_GE(sodium_init(), 0);
  unsigned char skey[33];
  size_t skey_len = 0;
  ASSERT_EQ(sodium_base642bin(skey, sizeof skey, kPeterSkeyBase64.data(), kPeterSkeyBase64.size(), nullptr, &skey_len,
                              nullptr, sodium_base64_VARIANT_ORIGINAL),
            0);
  ASSERT_EQ(skey_len, 33u);
  ASSERT_EQ(skey[0], 0x01);
  KeyPair peter;
  crypto_sign_seed_keypair(peter.public_key.data(), peter.secret_key.data(), skey + 1);

  const NoteVerifierKey vkey = must_parse_vkey(kPeterVkey);
  EXPECT_EQ(vkey.key, peter.public_key);
  EXPECT_EQ(vkey.key_id(), 0xc74f20a3u);

  const NoteSignature signature = sign_note(kGoText, "PeterNeumann", peter.secret_key);  // Ed25519 is deterministic
  EXPECT_EQ(signature.key_id, 0xc74f20a3u);
  EXPECT_EQ(signature.line(), kPeterSignatureLine);
  SignedNote note{std::string(kGoText), {signature}};
  EXPECT_EQ(note.encode(), std::string(kGoText) + "\n" + std::string(kPeterSignatureLine));
}

TEST(CheckpointNoteTest, GoTestNoteVerifiesUnderBothGoTestKeys) {
  const SignedNote note =
      must_parse_note(std::string(kGoText) + "\n" + std::string(kPeterSignatureLine) + std::string(kEnochSignatureLine));
  EXPECT_EQ(note.text, kGoText);
  ASSERT_EQ(note.signatures.size(), 2u);
  EXPECT_EQ(note.signatures[1].key_id, 0xaf0cfe78u);

  const NoteVerifierKey peter = must_parse_vkey(kPeterVkey);
  const NoteVerifierKey enoch = must_parse_vkey(kEnochVkey);
  EXPECT_EQ(enoch.key_id(), 0xaf0cfe78u);
  EXPECT_EQ(check_note_signature(note, peter).check, NoteSignatureCheck::kValid);
  EXPECT_EQ(check_note_signature(note, enoch).check, NoteSignatureCheck::kValid);

  // Go's "Invalid signature" case: four characters pushed into the base64.
  std::string mangled(kPeterSignatureLine);
  mangled.insert(60, "ABCD");
  const SignedNote bad = must_parse_note(std::string(kGoText) + "\n" + mangled + std::string(kEnochSignatureLine));
  EXPECT_EQ(check_note_signature(bad, peter).check, NoteSignatureCheck::kBad);
  EXPECT_EQ(check_note_signature(bad, enoch).check, NoteSignatureCheck::kValid);

  // A valid signature next to a bad one from the same key: the bad one wins.
  SignedNote both = note;
  both.signatures.push_back(bad.signatures[0]);
  EXPECT_EQ(check_note_signature(both, peter).check, NoteSignatureCheck::kBad);
}

TEST(CheckpointNoteTest, EveryManglingOfTheGoTestVerifierKeyIsRefused) {
  ASSERT_TRUE(parse_verifier_key(kPeterVkey).is_ok());
  const std::string vkey(kPeterVkey);
  for (size_t i = 0; i <= vkey.size(); ++i) {
    for (size_t j = i + 1; j <= vkey.size(); ++j) {
      if (i == 0 && j == vkey.size()) continue;
      EXPECT_FALSE(parse_verifier_key(vkey.substr(i, j - i)).is_ok()) << vkey.substr(i, j - i);
    }
  }
  for (size_t i = 0; i < vkey.size(); ++i) {
    std::string changed = vkey;
    ++changed[i];
    EXPECT_FALSE(parse_verifier_key(changed).is_ok()) << changed;
  }
  // Go's two hand-made bad keys, each with a matching key id: a key of the wrong length (its
  // base64 ends in non-zero bits, which Go's decoder lets through and ours does not) and an
  // unknown algorithm.
  EXPECT_CONTAINS(vkey_error("PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY=="),
                  "not canonical base64");
  EXPECT_CONTAINS(vkey_error("PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"),
                  "unsupported signature type 0x65");
}

TEST(CheckpointNoteTest, GoTestMalformedNotesAreRefused) {
  const std::string text(kGoText);
  const std::string peter(kPeterSignatureLine);
  const std::string bad_messages[] = {
      text,
      text + "\n",
      text + "\n" + peter.substr(0, peter.size() - 1),
      "\x01" + text + "\n" + peter,
      "\xff" + text + "\n" + peter,
      text + "\n" + "— Bad Name x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=",
      text + "\n" + peter + "Unexpected line.\n",
  };
  for (const std::string& message : bad_messages) EXPECT_NE(note_error(message), "") << message;
}

// --- transparency-dev/formats and sigstore vectors -------------------------------

TEST(CheckpointNoteTest, PublishedCosignerAndLogKeysParseWithTheirKeyIds) {
  const NoteVerifierKey remora = must_parse_vkey(kRemoraCosignerVkey);
  EXPECT_EQ(remora.type, NoteKeyType::kCosignatureV1);
  EXPECT_EQ(remora.key_id(), 0xda77ade7u);
  EXPECT_EQ(remora.text(), kRemoraCosignerVkey);

  const NoteVerifierKey test = must_parse_vkey(kTestVkeyWithPlusInBase64);  // '+' inside the base64
  EXPECT_EQ(test.name, "TEST");
  EXPECT_EQ(test.type, NoteKeyType::kEd25519);
  EXPECT_EQ(test.key_id(), 0x7997405cu);
  EXPECT_EQ(test.text(), kTestVkeyWithPlusInBase64);

  // The same name and key as a cosigner has another id: the type is hashed in.
  EXPECT_NE(note_key_id(test.name, NoteKeyType::kCosignatureV1, test.key), test.key_id());
  EXPECT_NE(vkey_error("TEST+7997405c+BAcC+FTVKf0jlTdHDY3rbevmnKxxPjigCXlVtGe6RIr6"), "");  // type byte changed to 0x04
}

TEST(CheckpointNoteTest, RekorEcdsaKeyIsAnUnsupportedTypeButItsCheckpointParses) {
  EXPECT_CONTAINS(vkey_error(kRekorEcdsaVkey), "unsupported signature type 0x02");
  const SignedNote note = must_parse_note(kRekorNote);
  EXPECT_EQ(note.encode(), kRekorNote);
  ASSERT_EQ(note.signatures.size(), 1u);
  EXPECT_EQ(note.signatures[0].key_id, 0xc0d23d6au);
  auto body = parse_checkpoint_body(note.text);
  ASSERT_TRUE(body.is_ok()) << body.status().to_string();
  EXPECT_EQ(body->origin, "Rekor");
  EXPECT_EQ(body->tree_size, 798034u);
  EXPECT_TRUE(body->extensions.empty());
  EXPECT_EQ(body->text(), note.text);
}

TEST(CheckpointNoteTest, PublishedCosignaturesCarryTheirTimestampBigEndian) {
  // tlog-cosignature's example: its signed-message example uses "time 1679315147".
  const SignedNote spec = must_parse_note(std::string(kSpecCheckpointText) + "\n" + std::string(kSpecCheckpointSignatures));
  ASSERT_EQ(spec.signatures.size(), 2u);
  EXPECT_EQ(spec.signatures[0].signature.size(), 64u);  // the log's Ed25519 signature
  const std::string& cosignature = spec.signatures[1].signature;
  ASSERT_EQ(cosignature.size(), 72u);
  uint64_t timestamp = 0;
  for (int i = 0; i < 8; ++i) timestamp = (timestamp << 8) | static_cast<uint8_t>(cosignature[i]);
  EXPECT_EQ(timestamp, 1679315147u);

  // transparency-dev/formats: this cosignature carries 1727964367.
  const SignedNote formats = must_parse_note(std::string(kSpecCheckpointText) + "\n— w " +
                                             std::string(kCosignatureWithTimestamp1727964367) + "\n");
  ASSERT_EQ(formats.signatures[0].signature.size(), 72u);
  timestamp = 0;
  for (int i = 0; i < 8; ++i) timestamp = (timestamp << 8) | static_cast<uint8_t>(formats.signatures[0].signature[i]);
  EXPECT_EQ(timestamp, 1727964367u);
}

// --- verifier keys -----------------------------------------------------------------

TEST(CheckpointNoteTest, GeneratedVerifierKeysRoundTripForBothTypes) {
  const KeyPair k = key_pair_from_seed(1);
  for (NoteKeyType type : {NoteKeyType::kEd25519, NoteKeyType::kCosignatureV1}) {
    const NoteVerifierKey key = verifier("log.example/a", type, k.public_key);
    const NoteVerifierKey parsed = must_parse_vkey("  " + key.text() + "\r\n");
    EXPECT_EQ(parsed.name, key.name);
    EXPECT_EQ(parsed.type, type);
    EXPECT_EQ(parsed.key, key.key);
    EXPECT_EQ(parsed.text(), key.text());
  }
  EXPECT_NE(note_key_id("log.example/a", NoteKeyType::kEd25519, k.public_key),
            note_key_id("log.example/a", NoteKeyType::kCosignatureV1, k.public_key));
  EXPECT_NE(note_key_id("log.example/a", NoteKeyType::kEd25519, k.public_key),
            note_key_id("log.example/b", NoteKeyType::kEd25519, k.public_key));
}

TEST(CheckpointNoteTest, VerifierKeyErrorsSayWhatIsWrong) {
  const std::string material = "+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k";
  EXPECT_CONTAINS(vkey_error("example.com/foo"), "expected <name>+<key id>+<base64 key>");
  EXPECT_CONTAINS(vkey_error("+530d903a" + material), "key name is empty");
  EXPECT_CONTAINS(vkey_error("example com+530d903a" + material), "contains a space");
  EXPECT_CONTAINS(vkey_error("example\xc2\xa0" "com+530d903a" + material), "contains a space");  // U+00A0
  EXPECT_CONTAINS(vkey_error("example\xff+530d903a" + material), "not valid UTF-8");
  EXPECT_CONTAINS(vkey_error("example.com/foo+530D903A" + material), "lower-case hex");
  EXPECT_CONTAINS(vkey_error("example.com/foo+530d903" + material), "not 8 hex digits");
  EXPECT_CONTAINS(vkey_error("example.com/foo+530d903b" + material), "key id does not match");
  EXPECT_CONTAINS(vkey_error("example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2"),
                  "not canonical base64");
  EXPECT_CONTAINS(vkey_error("example.com/foo+530d903a+Aeky eRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k"),
                  "not canonical base64");
  EXPECT_CONTAINS(vkey_error("example.com/foo+530d903a+"), "key is empty");
  EXPECT_CONTAINS(vkey_error("example.com/foo+530d903a+AQ=="), "0 bytes, expected 32");
  EXPECT_CONTAINS(vkey_error("example.com/foo+530d903a+AQE="), "1 bytes, expected 32");
  EXPECT_CONTAINS(vkey_error("x\n" + std::string(kSpecVkey)), "contains a space");  // only surrounding whitespace
}

// --- checkpoint bodies -----------------------------------------------------------

TEST(CheckpointNoteTest, CheckpointBodyRoundTrips) {
  CheckpointBody body;
  body.origin = "accountable.example/log";
  body.tree_size = 18446744073709551615u;
  for (size_t i = 0; i < body.root.size(); ++i) body.root[i] = static_cast<unsigned char>(i * 7);
  body.extensions = {"first extension", "— second, with UTF-8"};
  const std::string text = body.text();
  auto parsed = parse_checkpoint_body(text);
  ASSERT_TRUE(parsed.is_ok()) << parsed.status().to_string();
  EXPECT_EQ(parsed->origin, body.origin);
  EXPECT_EQ(parsed->tree_size, body.tree_size);
  EXPECT_EQ(parsed->root, body.root);
  EXPECT_EQ(parsed->extensions, body.extensions);
  EXPECT_EQ(parsed->text(), text);

  auto spec = parse_checkpoint_body(kSpecCheckpointText);
  ASSERT_TRUE(spec.is_ok()) << spec.status().to_string();
  EXPECT_EQ(spec->origin, "example.com/behind-the-sofa");
  EXPECT_EQ(spec->tree_size, 20852163u);
  EXPECT_EQ(spec->text(), kSpecCheckpointText);

  auto empty_tree = parse_checkpoint_body(checkpoint_text("log", 0, 0));
  ASSERT_TRUE(empty_tree.is_ok()) << empty_tree.status().to_string();
  EXPECT_EQ(empty_tree->tree_size, 0u);
}

TEST(CheckpointNoteTest, CheckpointBodyStrictnessNamesTheLine) {
  const std::string root = "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=";  // 32 bytes
  const std::string root31 = "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxqw==";  // 31 bytes
  ASSERT_EQ(checkpoint_error("log\n5\n" + root + "\n"), "");

  EXPECT_EQ(checkpoint_error("log\n042\n" + root + "\n"), "checkpoint line 2 (tree size): leading zero");
  EXPECT_EQ(checkpoint_error("log\n00\n" + root + "\n"), "checkpoint line 2 (tree size): leading zero");
  EXPECT_EQ(checkpoint_error("log\n18446744073709551616\n" + root + "\n"),
            "checkpoint line 2 (tree size): does not fit in 64 bits");
  EXPECT_EQ(checkpoint_error("log\n99999999999999999999\n" + root + "\n"),
            "checkpoint line 2 (tree size): does not fit in 64 bits");
  EXPECT_EQ(checkpoint_error("log\n\n" + root + "\n"), "checkpoint line 2 (tree size): empty");
  for (const char* size : {"+5", "-1", " 5", "5 ", "x5", "5e3", "٣"}) {
    EXPECT_EQ(checkpoint_error("log\n" + std::string(size) + "\n" + root + "\n"),
              "checkpoint line 2 (tree size): not a decimal number")
        << size;
  }

  EXPECT_EQ(checkpoint_error("log\n5\n" + root31 + "\n"), "checkpoint line 3 (root hash): decodes to 31 bytes, expected 32");
  EXPECT_EQ(checkpoint_error("log\n5\nnot base64!\n"), "checkpoint line 3 (root hash): not canonical base64");
  EXPECT_EQ(checkpoint_error("log\n5\n" + root.substr(0, 43) + "\n"),  // padding missing
            "checkpoint line 3 (root hash): not canonical base64");
  EXPECT_EQ(checkpoint_error("log\n5\n" + root.substr(0, 42) + "J=\n"),  // non-zero bits after the last byte
            "checkpoint line 3 (root hash): not canonical base64");
  EXPECT_EQ(checkpoint_error("log\n5\nCsUYapGGPo4dkMgIAUqom/Xajj7h 2fB2MPA3j2jxq2I=\n"),
            "checkpoint line 3 (root hash): not canonical base64");
  EXPECT_EQ(checkpoint_error("log\n5\n" + root + "=\n"), "checkpoint line 3 (root hash): not canonical base64");
  EXPECT_EQ(checkpoint_error("log\n5\n\n"), "checkpoint line 3 (root hash): decodes to 0 bytes, expected 32");

  EXPECT_EQ(checkpoint_error("\n5\n" + root + "\n"), "checkpoint line 1 (origin): empty");
  EXPECT_EQ(checkpoint_error("log\n5\n" + root), "checkpoint line 3 (root hash): does not end in a newline");
  EXPECT_EQ(checkpoint_error("log\n5\n" + root + "\next"), "checkpoint line 4 (extension): does not end in a newline");
  EXPECT_EQ(checkpoint_error("log\n5\n" + root + "\n\n"), "checkpoint line 4 (extension): empty");
  EXPECT_EQ(checkpoint_error("log\n5\n" + root + "\nok\n\n"), "checkpoint line 5 (extension): empty");
  EXPECT_EQ(checkpoint_error("lo\tg\n5\n" + root + "\n"), "checkpoint line 1 (origin): control character 0x09 at byte 2");
  EXPECT_EQ(checkpoint_error("log\n5\r\n" + root + "\n"), "checkpoint line 2 (tree size): control character 0x0d at byte 1");
  EXPECT_EQ(checkpoint_error("log\n5\n" + root + "\nx\x7f\x01\n"),
            "checkpoint line 4 (extension): control character 0x01 at byte 2");
  EXPECT_EQ(checkpoint_error("l\xc0\xafg\n5\n" + root + "\n"), "checkpoint line 1 (origin): invalid UTF-8 at byte 1");
  EXPECT_EQ(checkpoint_error("log\n5\n"), "checkpoint: 2 lines, expected at least 3 (origin, tree size, root hash)");
  EXPECT_EQ(checkpoint_error(""), "checkpoint: 0 lines, expected at least 3 (origin, tree size, root hash)");
}

// --- signed notes ------------------------------------------------------------------

TEST(CheckpointNoteTest, TheLastBlankLineSeparatesTheTextFromTheSignatures) {
  const std::string encoded = std::string(kSpecPoemText) + "\n" + std::string(kSpecPoemSignatureLine);
  const SignedNote poem = must_parse_note(encoded);
  EXPECT_EQ(poem.text, kSpecPoemText);  // the empty line inside stays in the text
  ASSERT_EQ(poem.signatures.size(), 1u);
  EXPECT_EQ(poem.signatures[0].key_name, "quasimodo.example/salvatore");
  EXPECT_EQ(poem.encode(), encoded);

  const SignedNote blank_text = must_parse_note("\n\n" + std::string(kSpecSignatureLine));
  EXPECT_EQ(blank_text.text, "\n");
}

TEST(CheckpointNoteTest, SignedNoteRoundTripsByteForByte) {
  const std::string checkpoint(kSpecCheckpointText);
  const std::string encoded = checkpoint + "\n" + std::string(kSpecCheckpointSignatures);
  const SignedNote note = must_parse_note(encoded);
  EXPECT_EQ(note.text, checkpoint);
  ASSERT_EQ(note.signatures.size(), 2u);
  EXPECT_EQ(note.signatures[0].key_name, "example.com/behind-the-sofa");
  EXPECT_EQ(note.signatures[1].key_name, "witness.example.com/w1");
  EXPECT_EQ(note.encode(), encoded);

  // Built, encoded, parsed: the same value; duplicates are kept in order.
  const KeyPair k = key_pair_from_seed(3);
  SignedNote built;
  built.text = checkpoint;
  built.signatures = {sign_note(checkpoint, "a.example/log", k.secret_key),
                      cosign_checkpoint(checkpoint, "b.example/w", k.secret_key, 5),
                      sign_note(checkpoint, "a.example/log", k.secret_key)};
  const SignedNote reparsed = must_parse_note(built.encode());
  EXPECT_EQ(reparsed.encode(), built.encode());
  ASSERT_EQ(reparsed.signatures.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(reparsed.signatures[i].key_name, built.signatures[i].key_name);
    EXPECT_EQ(reparsed.signatures[i].key_id, built.signatures[i].key_id);
    EXPECT_EQ(reparsed.signatures[i].signature, built.signatures[i].signature);
  }
  EXPECT_EQ(built.signatures[0].line().substr(0, 4), "\xe2\x80\x94 ");
}

TEST(CheckpointNoteTest, SignedNoteStrictness) {
  const std::string text(kSpecText);
  const std::string line(kSpecSignatureLine);
  EXPECT_EQ(note_error(text + "\n" + line), "");

  EXPECT_EQ(note_error(text + "\n"), "signed note: no signature lines after the blank line");
  EXPECT_EQ(note_error(text + "\n" + line + "\n"), "signed note: no signature lines after the blank line");
  EXPECT_EQ(note_error(text + line), "signed note: no blank line between the text and the signatures");
  EXPECT_EQ(note_error(text + "\n" + line.substr(0, line.size() - 1)), "signed note: does not end in a newline");
  EXPECT_EQ(note_error(""), "signed note: does not end in a newline");
  EXPECT_EQ(note_error(text + "\n" + line + "Unexpected line.\n"),
            "signed note: signature line 2: does not start with an em dash (U+2014) and a space");
  EXPECT_EQ(note_error(text + "\n- example.com/foo AAAAAAAA\n"),
            "signed note: signature line 1: does not start with an em dash (U+2014) and a space");
  EXPECT_EQ(note_error(text + "\n— example.com/foo\n"),
            "signed note: signature line 1: no space between the key name and the signature");
  EXPECT_EQ(note_error(text + "\n—  AAAAAAAA\n"), "signed note: signature line 1: the key name is empty");
  EXPECT_EQ(note_error(text + "\n— a+b AAAAAAAA\n"), "signed note: signature line 1: the key name contains '+'");
  EXPECT_EQ(note_error(text + "\n— a\xe3\x80\x80" "b AAAAAAAA\n"),  // U+3000
            "signed note: signature line 1: the key name contains a space");

  const std::string bad_base64 = "signed note: signature line 1: the signature is not canonical base64";
  EXPECT_EQ(note_error(text + "\n— a AAAAAAA\n"), bad_base64);     // wrong length
  EXPECT_EQ(note_error(text + "\n— a AAAAAAA=B\n"), bad_base64);   // padding inside
  EXPECT_EQ(note_error(text + "\n— a AAAA AAAA\n"), bad_base64);   // a space inside
  EXPECT_EQ(note_error(text + "\n— a AAAAAAB=\n"), bad_base64);    // non-zero bits after the last byte
  EXPECT_EQ(note_error(text + "\n— a AAAA_AA=\n"), bad_base64);    // URL-safe alphabet
  EXPECT_EQ(note_error(text + "\n— a AAAAAA==\n"),
            "signed note: signature line 1: the signature has 4 bytes, expected a 4-byte key id and at least one more");
  EXPECT_EQ(note_error(text + "\n— a AAAAAAA=\n"), "");  // 5 bytes: a key id and one byte

  EXPECT_EQ(note_error("Tab\there\n\n" + line), "signed note: control character 0x09 at byte 3");
  EXPECT_EQ(note_error(text + "\n" + line.substr(0, line.size() - 1) + "\r\n"),
            "signed note: control character 0x0d at byte " + std::to_string(text.size() + line.size()));
  EXPECT_EQ(note_error("caf\xc3\n\n" + line), "signed note: invalid UTF-8 at byte 3");
  EXPECT_EQ(note_error("\xed\xa0\x80\n\n" + line), "signed note: invalid UTF-8 at byte 0");  // a surrogate
}

TEST(CheckpointNoteTest, SignatureCountAndSizeAreBounded) {
  std::string lines;
  for (size_t i = 0; i < note_fmt::kMaxSignatures; ++i) lines += kSpecSignatureLine;
  const std::string text(kSpecText);
  EXPECT_EQ(must_parse_note(text + "\n" + lines).signatures.size(), 100u);
  EXPECT_EQ(note_error(text + "\n" + lines + std::string(kSpecSignatureLine)),
            "signed note: 101 signature lines, at most 100 allowed");

  const std::string line(kSpecSignatureLine);
  const std::string big_text = std::string(note_fmt::kMaxNoteBytes - 1 - line.size() - 1, 'a') + "\n";
  EXPECT_EQ(note_error(big_text + "\n" + line), "");  // exactly 1 MiB
  EXPECT_EQ(note_error("a" + big_text + "\n" + line), "signed note: 1048577 bytes, more than the 1048576 allowed");
}

// --- signing and checking ----------------------------------------------------------

TEST(CheckpointNoteTest, NoteSignaturesFromUnknownKeysAreIgnored) {
  const KeyPair log = key_pair_from_seed(10);
  const KeyPair stranger = key_pair_from_seed(11);
  const std::string text = checkpoint_text("log.example", 3, 0xab);
  const NoteVerifierKey key = verifier("log.example", NoteKeyType::kEd25519, log.public_key);

  SignedNote note{text, {sign_note(text, "other.example", stranger.secret_key)}};
  EXPECT_EQ(check_note_signature(note, key).check, NoteSignatureCheck::kAbsent);
  // The known name with another key's id, or the known id under another name: not this key's, ignored.
  note.signatures.push_back(sign_note(text, "log.example", stranger.secret_key));
  NoteSignature renamed = sign_note(text, "log.example", log.secret_key);
  renamed.key_name = "log.example/other";
  note.signatures.push_back(renamed);
  EXPECT_EQ(check_note_signature(note, key).check, NoteSignatureCheck::kAbsent);

  note.signatures.push_back(sign_note(text, "log.example", log.secret_key));
  const NoteSignatureResult valid = check_note_signature(note, key);
  EXPECT_EQ(valid.check, NoteSignatureCheck::kValid);
  EXPECT_EQ(valid.timestamp, 0u);

  // A matching id whose signature is not Ed25519-sized cannot verify.
  NoteSignature short_signature = sign_note(text, "log.example", log.secret_key);
  short_signature.signature.pop_back();
  note.signatures.push_back(short_signature);
  EXPECT_EQ(check_note_signature(note, key).check, NoteSignatureCheck::kBad);
}

TEST(CheckpointNoteTest, CosignatureVerifiesWithItsTimestamp) {
  const KeyPair witness = key_pair_from_seed(20);
  const std::string text = checkpoint_text("log.example", 42, 0x11);
  const NoteSignature cosignature = cosign_checkpoint(text, "witness.example/w1", witness.secret_key, 1679315147);
  ASSERT_EQ(cosignature.signature.size(), 72u);
  EXPECT_EQ(cosignature.signature.substr(0, 8), std::string("\x00\x00\x00\x00\x64\x18\x50\xcb", 8));  // big-endian
  const NoteVerifierKey key = verifier("witness.example/w1", NoteKeyType::kCosignatureV1, witness.public_key);
  EXPECT_EQ(cosignature.key_id, key.key_id());

  // The signed message is the spec's: header, time line, then the whole checkpoint.
  const std::string message = "cosignature/v1\ntime 1679315147\n" + text;
  EXPECT_EQ(crypto_sign_verify_detached(reinterpret_cast<const unsigned char*>(cosignature.signature.data() + 8),
                                        reinterpret_cast<const unsigned char*>(message.data()), message.size(),
                                        witness.public_key.data()),
            0);

  const SignedNote note = must_parse_note(SignedNote{text, {cosignature}}.encode());
  const NoteSignatureResult result = check_note_signature(note, key);
  EXPECT_EQ(result.check, NoteSignatureCheck::kValid);
  EXPECT_EQ(result.timestamp, 1679315147u);
}

TEST(CheckpointNoteTest, CosignatureWithAnotherTimestampOrBodyIsBad) {
  const KeyPair witness = key_pair_from_seed(21);
  const std::string text = checkpoint_text("log.example", 42, 0x11);
  const NoteVerifierKey key = verifier("w", NoteKeyType::kCosignatureV1, witness.public_key);
  const NoteSignature cosignature = cosign_checkpoint(text, "w", witness.secret_key, 1000);

  SignedNote other_time{text, {cosignature}};
  other_time.signatures[0].signature[7] = static_cast<char>(other_time.signatures[0].signature[7] + 1);  // 1001
  EXPECT_EQ(check_note_signature(other_time, key).check, NoteSignatureCheck::kBad);
  EXPECT_EQ(check_note_signature(other_time, key).timestamp, 0u);

  SignedNote other_body{checkpoint_text("log.example", 43, 0x11), {cosignature}};
  EXPECT_EQ(check_note_signature(other_body, key).check, NoteSignatureCheck::kBad);

  CheckpointBody extended = *parse_checkpoint_body(text);
  extended.extensions.push_back("extension lines are signed too");
  SignedNote other_extensions{extended.text(), {cosignature}};
  EXPECT_EQ(check_note_signature(other_extensions, key).check, NoteSignatureCheck::kBad);

  // Only checkpoints are cosigned: a valid signature over something else does not count.
  const std::string not_a_checkpoint = "hello\n";
  SignedNote not_checkpoint{not_a_checkpoint, {cosign_checkpoint(not_a_checkpoint, "w", witness.secret_key, 1000)}};
  EXPECT_EQ(check_note_signature(not_checkpoint, key).check, NoteSignatureCheck::kBad);

  // tlog-cosignature caps the timestamp at 2^63 - 1.
  SignedNote too_late{text, {cosign_checkpoint(text, "w", witness.secret_key, uint64_t{1} << 63)}};
  EXPECT_EQ(check_note_signature(too_late, key).check, NoteSignatureCheck::kBad);
  SignedNote latest{text, {cosign_checkpoint(text, "w", witness.secret_key, (uint64_t{1} << 63) - 1)}};
  EXPECT_EQ(check_note_signature(latest, key).check, NoteSignatureCheck::kValid);
  EXPECT_EQ(check_note_signature(latest, key).timestamp, (uint64_t{1} << 63) - 1);
}

TEST(CheckpointNoteTest, LogKeysAndCosignerKeysDoNotMatchEachOther) {
  const KeyPair k = key_pair_from_seed(30);
  const std::string text = checkpoint_text("log.example", 7, 0x22);
  const NoteVerifierKey as_log = verifier("same.example", NoteKeyType::kEd25519, k.public_key);
  const NoteVerifierKey as_cosigner = verifier("same.example", NoteKeyType::kCosignatureV1, k.public_key);
  EXPECT_NE(as_log.key_id(), as_cosigner.key_id());

  const SignedNote cosigned{text, {cosign_checkpoint(text, "same.example", k.secret_key, 99)}};
  EXPECT_EQ(check_note_signature(cosigned, as_log).check, NoteSignatureCheck::kAbsent);
  EXPECT_EQ(check_note_signature(cosigned, as_cosigner).check, NoteSignatureCheck::kValid);

  const SignedNote signed_by_log{text, {sign_note(text, "same.example", k.secret_key)}};
  EXPECT_EQ(check_note_signature(signed_by_log, as_cosigner).check, NoteSignatureCheck::kAbsent);
  EXPECT_EQ(check_note_signature(signed_by_log, as_log).check, NoteSignatureCheck::kValid);
}

TEST(CheckpointNoteTest, RepeatedCosignaturesMustAllVerifyAndReportTheLatestTime) {
  const KeyPair witness = key_pair_from_seed(40);
  const std::string text = checkpoint_text("log.example", 9, 0x33);
  const NoteVerifierKey key = verifier("w", NoteKeyType::kCosignatureV1, witness.public_key);
  SignedNote note{text,
                  {cosign_checkpoint(text, "w", witness.secret_key, 200), cosign_checkpoint(text, "w", witness.secret_key, 300),
                   cosign_checkpoint(text, "w", witness.secret_key, 100)}};
  const NoteSignatureResult result = check_note_signature(note, key);
  EXPECT_EQ(result.check, NoteSignatureCheck::kValid);
  EXPECT_EQ(result.timestamp, 300u);

  NoteSignature bad = cosign_checkpoint(text, "w", witness.secret_key, 400);
  bad.signature.back() = static_cast<char>(bad.signature.back() ^ 0x80);
  note.signatures.push_back(bad);
  EXPECT_EQ(check_note_signature(note, key).check, NoteSignatureCheck::kBad);
}

}  // namespace
}  // namespace accountable
