// ShardRouter: the HTTP routes of a node of a cluster with S > 1 shards
// (docs/cluster.md, "Shards"). Each shard has its own unchanged
// Api over its own stack, tokens and views; this router takes every request
// first, picks the shard it belongs to, and hands it to that shard's route:
//   - POST /v1/commands: the partner the command names (state_keys), or for
//     EnrollPartner the partner it will create (Engine::enrolled_partner);
//     commands without a partner (the catalog, price lists) go to shard 0;
//   - POST /v1/sessions: the body's partner_id;
//   - /v1/partners/{id}/...: that partner;
//   - /v1/me/..., /v1/pricing/...: the caller's, from the bearer token (a
//     partner user's or auditor's token is issued by its partner's shard and
//     names it in its first byte, TokenStore::set_token_shard; the
//     operator's is every shard's and goes to shard 0). The price lists and
//     the catalog's offers live in shard 0, and every shard's views read them
//     there (ViewQueries' catalog views);
//   - /v1/streams/{stream}: the shard whose log has the stream (catalog: 0);
//   - /v1/events and its SSE stream: ?shard=, else ?partner=, else the
//     caller's, else 0;
//   - /healthz: every shard's, merged; /v1/views/{name}/rebuild: every shard;
//   - /metrics and /v1/openapi.yaml: shard 0 (the metrics are the node's).
// Positions are per shard; each shard's Api speaks the min_position tokens
// (server/shard_positions.h). Every answer of a routed request names its
// shard in the header Accountable-Shard.
// A shard this node does not lead answers a write with its 307 to the leader
// as usual; the leader's router picks the same shard.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "aggregates/context.h"
#include "app/token_store.h"
#include "events/event_log.h"
#include "server/router.h"

namespace accountable {

struct ShardEndpoints {
  const Router* routes = nullptr;      // the shard's Api::router()
  const TokenStore* tokens = nullptr;  // the shard's tokens
  const EventLog* log = nullptr;       // the shard's log (which streams it has)
};

class ShardRouter {
 public:
  // `shard_of`: the shard of a partner id's canonical text (cluster/shard_map.h).
  // Every shard's routes must be the same table (S Apis built alike); a
  // route this router has no rule for is a bug: std::logic_error.
  ShardRouter(std::vector<ShardEndpoints> shards, std::function<uint32_t(std::string_view partner_id)> shard_of,
              const Clock* clock = nullptr);

  const Router& router() const { return router_; }
  uint32_t shards() const { return static_cast<uint32_t>(shards_.size()); }

 private:
  enum class Rule {
    kCommand,     // the command's partner
    kSession,     // the body's partner_id
    kPartner,     // the path's {id}
    kCaller,      // the bearer token's shard (price lists: read there from shard 0's views)
    kStream,      // the shard whose log has the stream
    kEvents,      // ?shard=, ?partner=, the caller's
    kHealth,      // every shard, merged
    kEveryShard,  // run on every shard
    kExpiring,    // every shard's expiring tax certificates, merged into one page
    kDirectory,   // every shard's public directory listings, merged into one page
    kShardZero,
  };
  static Rule rule_for(const std::string& pattern);
  ApiReply handle(size_t route, Rule rule, const ApiRequest& req) const;
  ApiReply on_shard(size_t route, uint32_t shard, const ApiRequest& req) const;
  ApiReply health(size_t route, const ApiRequest& req) const;
  ApiReply every_shard(size_t route, const ApiRequest& req) const;
  ApiReply merged_expiring(size_t route, const ApiRequest& req) const;
  ApiReply merged_directory(size_t route, const ApiRequest& req) const;
  // The shard the bearer token names; nullopt: no token, a malformed one
  // (shard 0 answers 401) or the operator's.
  std::optional<uint32_t> caller_shard(const ApiRequest& req) const;
  uint32_t partner_shard(std::string_view partner_text) const;

  std::vector<ShardEndpoints> shards_;
  std::function<uint32_t(std::string_view)> shard_of_;
  const Clock* clock_;
  SystemClock system_clock_;
  Router router_;
};

}  // namespace accountable
