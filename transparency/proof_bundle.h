// The JSON shapes of the log's proofs (docs/http-api.md, "Proofs"): one home
// for the server that writes them and for the tools that read them
// (acct verify-proof, acct witness, acct audit watch). Hashes are lower-case
// hex; a record's bytes are base64 (RFC 4648).
#pragma once

#include <boost/json.hpp>
#include <cstdint>
#include <string>
#include <vector>

#include "events/sha256.h"
#include "events/status.h"

namespace accountable {

// GET /v1/proofs/inclusion: the event at `position` is leaf position - 1 of
// the tree of `tree_size` leaves.
struct InclusionBundle {
  uint64_t position = 0;
  uint64_t tree_size = 0;
  std::string record;  // the record's bytes as the log holds them: what its hash covers
  std::vector<Hash256> proof;
  Hash256 root{};
  std::string checkpoint;  // the log's signed checkpoint of tree_size, when it signed one ("" otherwise)
};
boost::json::object to_json(const InclusionBundle& b);
// kInvalidArgument naming the member at fault.
Result<InclusionBundle> inclusion_bundle_from_json(const boost::json::value& v);

// GET /v1/proofs/consistency: the tree of `from` leaves is a prefix of the
// tree of `to` leaves.
struct ConsistencyBundle {
  uint64_t from = 0;
  uint64_t to = 0;
  Hash256 from_root{};
  Hash256 to_root{};
  std::vector<Hash256> proof;
};
boost::json::object to_json(const ConsistencyBundle& b);
Result<ConsistencyBundle> consistency_bundle_from_json(const boost::json::value& v);

std::string hash_hex(const Hash256& h);
Result<Hash256> hash_from_hex(std::string_view text, const std::string& field);
std::string base64_encode(std::string_view bytes);
Result<std::string> base64_decode(std::string_view text, const std::string& field);

}  // namespace accountable
