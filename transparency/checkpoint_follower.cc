#include "transparency/checkpoint_follower.h"

#include <boost/json.hpp>

#include "events/merkle.h"

namespace accountable {
namespace json = boost::json;
namespace {

Status conflict(std::string message) { return Status(StatusCode::kConflict, std::move(message)); }

}  // namespace

Result<std::string> HttpCheckpointSource::latest_checkpoint() { return client_.get_ok("/v1/checkpoints/latest"); }

Result<ConsistencyBundle> HttpCheckpointSource::consistency(uint64_t from, uint64_t to) {
  auto body = client_.get_ok("/v1/proofs/consistency?from=" + std::to_string(from) + "&to=" + std::to_string(to));
  if (!body) return body.status();
  json::error_code ec;
  json::value v = json::parse(*body, ec);
  if (ec) return invalid_argument("the consistency proof is not JSON: " + ec.message(), "proof");
  return consistency_bundle_from_json(v);
}

Result<std::string> HttpCheckpointSource::post_cosigned(const std::string& note) {
  auto answer = client_.post("/v1/checkpoints/cosignatures", note, "text/plain; charset=utf-8");
  if (!answer) return answer.status();
  if (answer->status != 200) {
    return Status(StatusCode::kUnavailable, "the log answered " + std::to_string(answer->status) + ": " +
                                                answer->body.substr(0, 300));
  }
  return std::move(answer->body);
}

Result<std::optional<FollowedCheckpoint>> load_followed(Env* env, const std::string& path) {
  if (!env->file_exists(path)) return std::optional<FollowedCheckpoint>();
  auto text = env->read_file(path);
  if (!text) return text.status();
  json::error_code ec;
  json::value v = json::parse(*text, ec);
  if (ec || !v.is_object()) return corruption(path + ": not a JSON object");
  const json::object& o = v.as_object();
  FollowedCheckpoint c;
  try {
    c.origin = std::string(o.at("origin").as_string());
    c.tree_size = o.at("tree_size").to_number<uint64_t>();
    auto root = hash_from_hex(std::string_view(o.at("root").as_string()), "root");
    if (!root) return corruption(path + ": " + root.status().message());
    c.root = *root;
    c.note = std::string(o.at("checkpoint").as_string());
    c.seen_at = std::string(o.at("seen_at").as_string());
    c.delivered = o.at("delivered").as_bool();
  } catch (const std::exception& e) {
    return corruption(path + ": " + e.what());
  }
  return std::optional<FollowedCheckpoint>(std::move(c));
}

Status save_followed(Env* env, const std::string& path, const FollowedCheckpoint& c) {
  const json::object o{{"origin", c.origin},           {"tree_size", c.tree_size},
                       {"root", hash_hex(c.root)},     {"checkpoint", c.note},
                       {"seen_at", c.seen_at},         {"delivered", c.delivered}};
  return env->write_file_atomically(path, json::serialize(o) + "\n");
}

Result<FollowStep> follow_checkpoint(CheckpointSource& source, const PublicKey& log_key,
                                     const std::optional<FollowedCheckpoint>& last, TreeCheckpoint* seen) {
  auto note = source.latest_checkpoint();
  if (!note) return note.status();
  auto checkpoint = parse_tree_checkpoint(*note);
  if (!checkpoint) return checkpoint.status();
  // A checkpoint not signed by the log's key is not the log speaking.
  if (Status s = check_tree_checkpoint(*checkpoint, log_key); !s.is_ok()) return s;
  if (seen != nullptr) *seen = *checkpoint;
  FollowStep step;
  step.checkpoint = *checkpoint;
  if (!last) {
    step.outcome = FollowOutcome::kFirst;
    return step;
  }
  step.previous_size = last->tree_size;
  const uint64_t m = last->tree_size;
  const uint64_t n = checkpoint->body.tree_size;
  if (checkpoint->body.origin != last->origin) {
    return conflict("the log now signs as " + checkpoint->body.origin + ", not " + last->origin +
                    ": its first record was rewritten, or this is another log (tree size " + std::to_string(n) +
                    " against " + std::to_string(m) + " seen at " + last->seen_at + ")");
  }
  if (n < m) {
    return conflict("tree size " + std::to_string(n) + " is smaller than tree size " + std::to_string(m) +
                    " seen at " + last->seen_at + ": the log was rolled back");
  }
  if (n == m) {
    if (checkpoint->body.root != last->root) {
      return conflict("tree size " + std::to_string(n) + " now has root " + hash_hex(checkpoint->body.root) +
                      ", but had root " + hash_hex(last->root) + " at " + last->seen_at +
                      ": the log was rewritten (a fork)");
    }
    step.outcome = FollowOutcome::kUnchanged;
    return step;
  }
  auto proof = source.consistency(m, n);
  if (!proof) return proof.status();
  // The roots must be the ones remembered and signed, not the proof's own.
  Status s = merkle::verify_consistency(m, n, last->root, checkpoint->body.root, proof->proof);
  if (!s.is_ok()) {
    return conflict("tree size " + std::to_string(n) + " is not consistent with tree size " + std::to_string(m) +
                    " seen at " + last->seen_at + ": " + s.message() +
                    "; the log was rewritten at or before position " + std::to_string(m));
  }
  step.outcome = FollowOutcome::kGrown;
  return step;
}

}  // namespace accountable
