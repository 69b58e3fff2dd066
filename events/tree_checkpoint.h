// Tree checkpoints: what the log signs about its Merkle tree, as a C2SP
// checkpoint (c2sp.org/tlog-checkpoint) in a signed note, so that witnesses
// and monitors of that ecosystem can read it (docs/log-format.md, "Tree
// checkpoints"):
//
//   accountable/3f2a9c0d41b7e815                 origin: the log's id
//   1048576                                      tree size (leaves = positions 1..N)
//   CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I= root hash (RFC 9162), base64
//   time 2026-12-03T17:00:00.123456Z             when it was signed (extension line)
//
//   — accountable/3f2a9c0d41b7e815 <base64(key id || Ed25519 signature)>
//
// The origin comes from the log's first record, so every copy of one log (a
// cluster's nodes) has the same origin and the same roots, and each shard has
// its own.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "events/checkpoint_note.h"
#include "events/merkle_tree.h"
#include "events/signed_checkpoint.h"
#include "events/types.h"

namespace accountable {

namespace tree_checkpoint_format {
inline constexpr std::string_view kOriginPrefix = "accountable/";
inline constexpr std::string_view kTimeExtension = "time ";
}  // namespace tree_checkpoint_format

struct TreeCheckpoint {
  std::string note;  // the signed note, byte for byte
  CheckpointBody body;
  Timestamp signed_at;
  TreeHead head() const { return TreeHead{body.tree_size, body.root}; }
};

// "accountable/" and the first 8 bytes of the log's first record hash, in hex.
std::string log_origin(const Hash256& first_record_hash);

// The verifier key of a log's checkpoints: its origin as key name, type 0x01.
NoteVerifierKey log_verifier_key(std::string_view origin, const PublicKey& key);

// Builds and signs the checkpoint of `head` at time `t`.
TreeCheckpoint sign_tree_checkpoint(const std::string& origin, const TreeHead& head, Timestamp t,
                                    const SigningKey& key);

// Parses a checkpoint note: a C2SP checkpoint body whose origin starts with
// "accountable/" and with one "time" extension line. Signatures not checked.
Result<TreeCheckpoint> parse_tree_checkpoint(std::string_view note);

// A witness's verifier key file (`acct witness` writes `<key>.vkey`): one
// vkey of type 0x04 (a cosignature key); kInvalidArgument naming the file otherwise.
Result<NoteVerifierKey> read_witness_key_file(Env* env, const std::string& path);

// OK when `key` (the log's public key) signed the note; kInvalidArgument
// saying why not.
Status check_tree_checkpoint(const TreeCheckpoint& checkpoint, const PublicKey& key);

}  // namespace accountable
