#include "events/tree_checkpoint.h"

namespace accountable {

namespace tree_fmt = tree_checkpoint_format;

std::string log_origin(const Hash256& first_record_hash) {
  return std::string(tree_fmt::kOriginPrefix) + hex_encode(first_record_hash.data(), 8);
}

NoteVerifierKey log_verifier_key(std::string_view origin, const PublicKey& key) {
  NoteVerifierKey k;
  k.name = std::string(origin);
  k.type = NoteKeyType::kEd25519;
  k.key = key;
  return k;
}

TreeCheckpoint sign_tree_checkpoint(const std::string& origin, const TreeHead& head, Timestamp t,
                                    const SigningKey& key) {
  TreeCheckpoint c;
  c.body.origin = origin;
  c.body.tree_size = head.size;
  c.body.root = head.root;
  c.body.extensions.push_back(std::string(tree_fmt::kTimeExtension) + format_timestamp(t));
  c.signed_at = t;
  SignedNote note;
  note.text = c.body.text();
  note.signatures.push_back(key.sign_note(note.text, origin));
  c.note = note.encode();
  return c;
}

Result<TreeCheckpoint> parse_tree_checkpoint(std::string_view note) {
  auto signed_note = parse_signed_note(note);
  if (!signed_note) return signed_note.status();
  auto body = parse_checkpoint_body(signed_note->text);
  if (!body) return body.status();
  if (body->origin.rfind(tree_fmt::kOriginPrefix, 0) != 0) {
    return invalid_argument("checkpoint line 1 (origin): '" + body->origin + "' is not an Accountable log's origin",
                            "checkpoint");
  }
  if (body->extensions.size() != 1 || body->extensions[0].rfind(tree_fmt::kTimeExtension, 0) != 0) {
    return invalid_argument("checkpoint line 4: expected one extension line 'time <RFC 3339 UTC>'", "checkpoint");
  }
  auto t = parse_timestamp(std::string_view(body->extensions[0]).substr(tree_fmt::kTimeExtension.size()));
  if (!t) return invalid_argument("checkpoint line 4 (time): " + t.status().message(), "checkpoint");
  TreeCheckpoint c;
  c.note = std::string(note);
  c.body = std::move(*body);
  c.signed_at = *t;
  return c;
}

Result<NoteVerifierKey> read_witness_key_file(Env* env, const std::string& path) {
  auto text = env->read_file(path);
  if (!text) return text.status();
  if (text->size() > 4096) return invalid_argument(path + ": not a verifier key file (too long)", "witness-key");
  auto vkey = parse_verifier_key(*text);
  if (!vkey) return invalid_argument(path + ": " + vkey.status().message(), "witness-key");
  if (vkey->type != NoteKeyType::kCosignatureV1) {
    return invalid_argument(path + ": not a cosignature (type 0x04) verifier key", "witness-key");
  }
  return vkey;
}

Status check_tree_checkpoint(const TreeCheckpoint& checkpoint, const PublicKey& key) {
  auto note = parse_signed_note(checkpoint.note);
  if (!note) return note.status();
  const NoteVerifierKey vkey = log_verifier_key(checkpoint.body.origin, key);
  switch (check_note_signature(*note, vkey).check) {
    case NoteSignatureCheck::kValid:
      return Status::ok();
    case NoteSignatureCheck::kBad:
      return invalid_argument("the checkpoint of tree size " + std::to_string(checkpoint.body.tree_size) +
                                  " carries a signature by key " + vkey.text() + " that does not verify",
                              "checkpoint");
    case NoteSignatureCheck::kAbsent:
      break;
  }
  return invalid_argument("the checkpoint of tree size " + std::to_string(checkpoint.body.tree_size) +
                              " is not signed by the log key " + vkey.text(),
                          "checkpoint");
}

}  // namespace accountable
