// The Merkle tree's routes (docs/http-api.md, "Proofs"). Checkpoints and
// consistency proofs hold only sizes and hashes: anyone may read them, so
// that a witness or a monitor needs no account. An inclusion proof carries
// the record's bytes, so it is read with the same rights as the event.
#include <boost/json.hpp>

#include "events/record_codec.h"
#include "server/api.h"
#include "server/api_replies.h"
#include "transparency/proof_bundle.h"

namespace accountable {

using namespace api;  // NOLINT: the shared replies and parsers

namespace {

constexpr size_t kMaxCosignedNote = 16 << 10;

ApiReply reply_text(std::string body) {
  HttpResponse res{http::status::ok, 11};
  res.set(http::field::content_type, "text/plain; charset=utf-8");
  res.body() = std::move(body);
  res.prepare_payload();
  return ApiReply{std::move(res), nullptr};
}

}  // namespace

void Api::add_proof_routes() {
  router_.add(http::verb::get, "/v1/checkpoints/latest", bind_shard(&Api::get_latest_checkpoint));
  router_.add(http::verb::post, "/v1/checkpoints/cosignatures", bind_shard(&Api::post_cosignature));
  router_.add(http::verb::get, "/v1/proofs/inclusion", bind_shard(&Api::get_inclusion_proof));
  router_.add(http::verb::get, "/v1/proofs/consistency", bind_shard(&Api::get_consistency_proof));
}

// The latest tree checkpoint, as the signed note it is (c2sp.org/tlog-checkpoint).
ApiReply Api::get_latest_checkpoint(const ApiRequest&) {
  CheckpointSigner* signer = stack_.signer();
  if (signer == nullptr) return reply_error(Status(StatusCode::kNotFound, "this log signs no checkpoints"));
  if (Status s = signer->tree_status(); !s.is_ok()) return reply_error(Status(StatusCode::kUnavailable, s.message()));
  auto latest = signer->latest_tree_checkpoint();
  if (!latest) return reply_error(not_found("no tree checkpoint signed yet"));
  return reply_text(latest->note);
}

ApiReply Api::get_inclusion_proof(const ApiRequest& req) {
  auto who = caller(req);
  if (!who) return reply_error(who.status());
  CheckpointSigner* signer = stack_.signer();
  if (signer == nullptr) return reply_error(Status(StatusCode::kNotFound, "this log keeps no Merkle tree"));
  auto position = query_u64(req, "position", 0, 1, UINT64_MAX >> 1);
  if (!position) return reply_error(position.status());
  if (req.query.count("position") == 0) return reply_error(invalid_argument("required", "position"));
  // By default the proof is against the latest signed checkpoint, so that it
  // can be checked offline with the log's public key alone.
  uint64_t size = 0;
  if (req.query.count("tree_size")) {
    auto n = query_u64(req, "tree_size", 0, 1, UINT64_MAX >> 1);
    if (!n) return reply_error(n.status());
    size = *n;
  } else if (auto latest = signer->latest_tree_checkpoint(); latest && latest->body.tree_size >= *position) {
    size = latest->body.tree_size;
  } else {
    // No such proof yet (a request the schema allows, so 404 rather than 400).
    return reply_error(not_found("position " + std::to_string(*position) +
                                     " is not covered by a signed checkpoint yet; ask again after the next one, or "
                                     "give tree_size",
                                 "position"));
  }
  if (*position > size) {
    return reply_error(not_found("position " + std::to_string(*position) + " is not in a tree of " +
                                     std::to_string(size) + " leaves",
                                 "position"));
  }
  if (size > stack_.log().head().value()) {
    return reply_error(not_found("no tree of that size: the log has " +
                                     std::to_string(stack_.log().head().value()) + " events",
                                 "tree_size"));
  }
  auto batch = stack_.log().read_all(GlobalPosition(*position), 1);
  if (!batch) return reply_error(batch.status());
  if (batch->events.empty() || batch->events[0].position.value() != *position) {
    return reply_error(not_found("no event at that position", "position"));
  }
  const RecordedEvent& e = batch->events[0];
  std::string partner_filter(e.partner);
  if (Status s = restrict_to_own_partner(*who, &partner_filter); !s.is_ok()) return reply_error(s);
  if (partner_filter != e.partner) {
    return reply_error(Status(StatusCode::kForbidden, "only your own partner's events can be read", "position"));
  }
  auto raw = record_codec::record_payload_of(e);
  if (!raw) return reply_error(raw.status());
  auto tree = signer->tree_at_head();
  if (!tree) return reply_error(Status(StatusCode::kUnavailable, tree.status().message()));
  InclusionBundle bundle;
  bundle.position = *position;
  bundle.tree_size = size;
  bundle.record = std::string(*raw);
  auto proof = (*tree)->inclusion_proof(*position - 1, size);
  if (!proof) return reply_error(proof.status());
  bundle.proof = std::move(*proof);
  auto root = (*tree)->root_at(size);
  if (!root) return reply_error(root.status());
  bundle.root = *root;
  if (auto c = signer->tree_checkpoint_at(size)) bundle.checkpoint = c->note;
  return reply_json(to_json(bundle));
}

ApiReply Api::get_consistency_proof(const ApiRequest& req) {
  CheckpointSigner* signer = stack_.signer();
  if (signer == nullptr) return reply_error(Status(StatusCode::kNotFound, "this log keeps no Merkle tree"));
  if (req.query.count("from") == 0) return reply_error(invalid_argument("required", "from"));
  if (req.query.count("to") == 0) return reply_error(invalid_argument("required", "to"));
  auto from = query_u64(req, "from", 0, 1, UINT64_MAX >> 1);
  if (!from) return reply_error(from.status());
  auto to = query_u64(req, "to", 0, 1, UINT64_MAX >> 1);
  if (!to) return reply_error(to.status());
  // Well-formed but for trees that do not exist (or a proof that cannot): no such proof.
  if (*from > *to) return reply_error(not_found("no proof from a larger tree to a smaller one", "from"));
  if (*to > stack_.log().head().value()) {
    return reply_error(not_found("no tree of that size: the log has " + std::to_string(stack_.log().head().value()) +
                                     " events",
                                 "to"));
  }
  auto tree = signer->tree_at_head();
  if (!tree) return reply_error(Status(StatusCode::kUnavailable, tree.status().message()));
  ConsistencyBundle bundle;
  bundle.from = *from;
  bundle.to = *to;
  auto proof = (*tree)->consistency_proof(*from, *to);
  if (!proof) return reply_error(proof.status());
  bundle.proof = std::move(*proof);
  auto from_root = (*tree)->root_at(*from);
  auto to_root = (*tree)->root_at(*to);
  if (!from_root) return reply_error(from_root.status());
  if (!to_root) return reply_error(to_root.status());
  bundle.from_root = *from_root;
  bundle.to_root = *to_root;
  return reply_json(to_json(bundle));
}

// A witness hands back its cosigned copy of one of our checkpoints. Kept only
// when a witness this server trusts cosigned it (serve --witness-key).
ApiReply Api::post_cosignature(const ApiRequest& req) {
  CheckpointSigner* signer = stack_.signer();
  if (signer == nullptr) return reply_error(Status(StatusCode::kNotFound, "this log signs no checkpoints"));
  if (options_.witness_keys.empty()) {
    return reply_error(Status(StatusCode::kForbidden, "this server trusts no witness (serve --witness-key)"));
  }
  const std::string& body = req.http.body();
  if (body.size() > kMaxCosignedNote) {
    return reply_error(invalid_argument("at most " + std::to_string(kMaxCosignedNote) + " bytes", "body"));
  }
  auto kept = signer->add_cosigned(body, options_.witness_keys);
  if (!kept) return reply_error(kept.status());
  return reply_json(json::object{{"cosignatures", *kept}});
}

}  // namespace accountable
