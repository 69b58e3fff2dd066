// The Kafka message that carries one record of the state outside the log
// (aggregates/secret_record.h) between the nodes of a cluster (docs/cluster.md,
// "State outside the log"):
//
//   topic      <cluster>.secrets: one partition, compacted
//   key        "<shard>/<record key>", e.g. "0/key/user:<uuid>"
//   value      "ACCTSEC1" | nonce[24] | XChaCha20-Poly1305(plaintext), with the
//              associated data "ACCTSEC1" | key; or no value (a tombstone:
//              the credential or token is gone)
//   header     acct-run: the writing process's run id (a node skips its own
//              run's records: it made those changes itself, in that order)
//
// The cluster key (32 bytes) is kept out of band, in a file on every node
// (`acct cluster keygen`), never in Kafka: no key, hash or token rests or
// travels there in the clear.
#pragma once

#include <array>
#include <string>
#include <string_view>

#include "events/status.h"

namespace accountable::cluster {

inline constexpr std::string_view kSecretMagic = "ACCTSEC1";
inline constexpr std::string_view kRunHeader = "acct-run";

using ClusterKey = std::array<unsigned char, 32>;

std::string seal_secret_value(const ClusterKey& key, std::string_view message_key, std::string_view plaintext);

// kCorruption when the value is not a sealed record, or fails authentication
// (altered, moved to another key, or sealed under another cluster key).
Result<std::string> open_secret_value(const ClusterKey& key, std::string_view message_key, std::string_view value);

// The cluster key file: 64 hex digits and a newline, mode 0600.
// kInvalidArgument (field "cluster-key") naming what is wrong.
Result<ClusterKey> read_cluster_key_file(const std::string& path);
// A new random key into `path`; refuses to replace an existing file.
Status write_cluster_key_file(const std::string& path);

}  // namespace accountable::cluster
