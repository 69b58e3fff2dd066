// Checking an event offline (`acct verify-proof`): with only the log's public
// key, a signed checkpoint and an inclusion proof, show that the event is in
// the signed tree, and that the event as an API or an export served it is the
// record the tree commits to. No access to the data folder (docs/audit.md,
// "Proofs").
#pragma once

#include <boost/json.hpp>
#include <string>
#include <vector>

#include "events/checkpoint_note.h"
#include "events/status.h"
#include "transparency/proof_bundle.h"

namespace accountable {

struct EventProofReport {
  uint64_t position = 0;
  uint64_t tree_size = 0;
  std::string origin;
  Hash256 root{};
  Hash256 record_hash{};
  // With an event: its members compared with the record, and the personal
  // fields the record holds sealed (their clear text cannot be checked
  // without the subject's key, which is the point of sealing them).
  size_t fields_compared = 0;
  size_t sealed_fields = 0;
  std::vector<std::string> notes;
};

// `checkpoint_note`: the log's signed checkpoint of the proof's tree size
// (the bundle's own when empty). `event`: an event as GET /v1/events, /history
// or an export line gave it, or null to check the record alone. Any failure is
// kInvalidArgument naming what does not hold.
Result<EventProofReport> check_event_proof(const InclusionBundle& bundle, std::string_view checkpoint_note,
                                           const PublicKey& log_key, const boost::json::object* event);

}  // namespace accountable
