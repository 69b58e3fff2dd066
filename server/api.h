// Api: the routes of the HTTP API (docs/http-api.md, docs/openapi.yaml) over
// the account stack, the token store and the views. One file per resource,
// each registering its own routes: command_routes.cc, session_routes.cc, me_routes.cc,
// readiness_routes.cc, event_routes.cc (reads and the SSE stream), view_routes.cc, audit_routes.cc,
// operation_routes.cc. Access decisions are the permission matrix's
// (aggregates/roles.h); handlers only ask it.
//
// Identity comes only from the bearer token, never from the request body; a
// partner user's rights are read from their stream on every request.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "app/account_stack.h"
#include "app/command_pipeline.h"
#include "app/security_log.h"
#include "app/token_store.h"
#include "projections/view_queries.h"
#include "projections/view_set.h"
#include "server/metrics.h"
#include "server/router.h"
#include "server/rate_limiter.h"
#include "server/sign_in_guard.h"

namespace accountable {

struct ApiOptions {
  std::chrono::seconds user_token_ttl{12 * 3600};
  size_t default_read_limit = 100;
  size_t max_read_limit = 1000;
  std::chrono::milliseconds min_position_wait{5000};  // read-your-writes bound
  const Clock* clock = nullptr;                        // null: the system clock
  // Cluster mode: where writes go (cluster/cluster_node.h). nullopt: this
  // node takes them; a URL: the leader's, answered with a 307 to it; an
  // error: answered as such (503, Retry-After). Null: a single node.
  std::function<Result<std::optional<std::string>>()> command_target;
  // A cluster with S > 1 shards: shard 0's views on this node, which keep the
  // catalog's offers and the price lists (docs/cluster.md). Null: `views`.
  const ViewSet* catalog_views = nullptr;
  // This Api's shard (0 on a single node and with S = 1): the shard a
  // command's min_position token names, and whose part of a read's
  // min_position it waits for (server/shard_positions.h).
  uint32_t shard = 0;
  // The witnesses whose cosignatures POST /v1/checkpoints/cosignatures keeps
  // (serve --witness-key); empty: none are taken.
  std::vector<NoteVerifierKey> witness_keys;
  // The sign-in budgets (per account, per client address, global), shared by
  // every shard of a node; null: this Api makes its own with the defaults.
  std::shared_ptr<SignInGuard> sign_in_guard;
  // How often anonymous callers may search the public directory, shared by
  // every shard of a node; null: this Api makes its own with the defaults.
  std::shared_ptr<RateLimiter> directory_limiter;
  // /healthz calls a store degraded when its file system has less free space
  // than this, or when it failed a request within the window.
  uint64_t min_free_bytes = 64ull << 20;
  std::chrono::seconds store_error_window{60};
  // Where sign-ins, sign-outs, revocations and operator-token use are
  // recorded (app/security_log.h), shared by every shard of a node; null:
  // nowhere (GET /v1/security-log answers 404).
  std::shared_ptr<SecurityLog> security_log;
  // The web console's files: "" the built-in copy; a folder (serve
  // --console-dir): read from there on each request, for work on the console.
  std::string console_dir;
};

// Extra lines of /healthz (the relay, when it runs).
using HealthContributor = std::function<void(boost::json::object& health, bool* healthy)>;

// The console's security headers (CSP, nosniff, no framing, no referrer), on
// every response of the console's routes (console_routes.cc).
void set_console_security_headers(HttpResponse& res);

class Api {
 public:
  Api(AccountStack& stack, TokenStore& tokens, Metrics& metrics, ViewSet* views, ApiOptions options = {});

  const Router& router() const { return router_; }
  void add_health(HealthContributor contributor) { health_.push_back(std::move(contributor)); }

  // The OpenAPI document served at /v1/openapi.yaml (docs/openapi.yaml, built in).
  static std::string_view openapi_yaml();

 private:
  using Handler = RouteHandler;
  void add_routes();
  Handler bind(ApiReply (Api::*fn)(const ApiRequest&));
  Handler bind_shard(ApiReply (Api::*fn)(const ApiRequest&));
  Timestamp now() const;
  // Cluster mode: the 307 to the leader (or the 503) for a write this node
  // does not take; nullopt when it takes it. Asked before anything else.
  std::optional<ApiReply> route_write(const ApiRequest& req) const;
  // A read's min_position beyond the end of `log` on a single node: never
  // written, so 404 rather than a wait that cannot end. In a cluster the node
  // waits (a follower's copy may be behind the leader's).
  Status check_position_written(const EventLog& log, uint64_t position) const;

  // The caller's grant from "Authorization: Bearer <token>"; kUnauthenticated if
  // absent or invalid; kForbidden if a temporary password must be changed first
  // (unless `allow_must_change`).
  Result<TokenGrant> authenticate(const ApiRequest& req, bool allow_must_change = false) const;
  // The grant's principal with a partner user's CURRENT roles and status.
  Result<Principal> current_principal(const TokenGrant& grant) const;
  // authenticate() then current_principal(): who is asking, with current rights.
  Result<Principal> caller(const ApiRequest& req) const;
  // Records `e` in the security log, if there is one.
  void note_security(SecurityEvent e) const;

  // commands (command_routes.cc)
  void add_command_routes();
  ApiReply post_command(const ApiRequest& req);
  bool post_command_fast(const ApiRequest& req, const JobRunner& run_on, ReplyFn reply);
  // The command's answer (and its count in the metrics), from the pipeline's reply or its error.
  ApiReply command_answer(const std::string& type, Result<CommandReply> done) const;

  // sessions and one's own password (session_routes.cc)
  void add_session_routes();
  ApiReply post_session(const ApiRequest& req);
  ApiReply post_my_password(const ApiRequest& req);
  ApiReply delete_current_session(const ApiRequest& req);
  ApiReply get_my_sessions(const ApiRequest& req);
  ApiReply delete_my_session(const ApiRequest& req);

  // who am I: one's own user record, roles and permissions (me_routes.cc)
  void add_me_routes();
  ApiReply get_me(const ApiRequest& req);
  ApiReply patch_me(const ApiRequest& req);

  // one's own notifications: the feed, its read state, its SSE stream (notification_routes.cc)
  void add_notification_routes();
  ApiReply get_my_notifications(const ApiRequest& req);
  ApiReply post_my_notifications_read(const ApiRequest& req);
  ApiReply subscribe_my_notifications(const ApiRequest& req);

  // can we sell, and if not, why (readiness_routes.cc)
  void add_readiness_routes();
  ApiReply get_readiness(const ApiRequest& req);

  // raw events and the SSE stream (event_routes.cc)
  void add_event_routes();
  ApiReply get_stream(const ApiRequest& req);
  ApiReply get_events(const ApiRequest& req);
  ApiReply subscribe(const ApiRequest& req);

  // the read views (view_routes.cc)
  struct ViewRead {
    Principal who;         // the caller, with current rights
    QueryOptions options;  // min_position (read-your-writes) and its wait
  };
  // Who reads a view and with which options, or the error to reply with.
  // `reads_catalog`: the price lists, kept in shard 0 (its min_position part).
  Result<ViewRead> view_read(const ApiRequest& req, bool reads_catalog = false) const;
  void add_view_routes();
  ApiReply get_catalog(const ApiRequest& req);
  ApiReply get_pricing(const ApiRequest& req);
  ApiReply get_pricing_preview(const ApiRequest& req);
  ApiReply get_pricing_diff(const ApiRequest& req);
  ApiReply get_offer_price(const ApiRequest& req);
  ApiReply get_offer_price_history(const ApiRequest& req);
  ApiReply get_users(const ApiRequest& req);
  ApiReply get_profile(const ApiRequest& req);
  ApiReply get_expiring_tax_exemptions(const ApiRequest& req);  // a partner's, or every partner's
  // the public partner directory (directory_routes.cc)
  void add_directory_routes();
  ApiReply get_directory_profiles(const ApiRequest& req);
  ApiReply post_view_rebuild(const ApiRequest& req);

  // the audit: history, state as of, the export (audit_routes.cc)
  void add_audit_routes();
  ApiReply get_history(const ApiRequest& req);
  ApiReply get_state(const ApiRequest& req);
  ApiReply get_export(const ApiRequest& req);
  ApiReply reply_history(const Result<AuditPage>& page, const PartnerId& partner) const;

  // the Merkle tree: checkpoints, proofs, witnesses' cosignatures (proof_routes.cc)
  void add_proof_routes();
  ApiReply get_latest_checkpoint(const ApiRequest& req);
  ApiReply get_inclusion_proof(const ApiRequest& req);
  ApiReply get_consistency_proof(const ApiRequest& req);
  ApiReply post_cosignature(const ApiRequest& req);

  // the security log (security_routes.cc)
  void add_security_routes();
  ApiReply get_security_log(const ApiRequest& req);

  // operations: health, metrics, the OpenAPI document (operation_routes.cc)
  void add_operation_routes();
  ApiReply get_health(const ApiRequest& req);
  ApiReply get_metrics(const ApiRequest& req);
  ApiReply get_openapi(const ApiRequest& req);

  // the web console's files (console_routes.cc, docs/console.md)
  void add_console_routes();
  ApiReply get_console_index(const ApiRequest& req);
  ApiReply get_console_asset(const ApiRequest& req);

  AccountStack& stack_;
  TokenStore& tokens_;
  Metrics& metrics_;
  ViewSet* views_;
  std::unique_ptr<ViewQueries> queries_;
  ApiOptions options_;
  SystemClock system_clock_;
  CommandPipeline pipeline_;  // with the token effects over tokens_
  std::shared_ptr<SignInGuard> sign_in_;  // options_.sign_in_guard, or this Api's own
  std::shared_ptr<RateLimiter> directory_limiter_;  // options_.directory_limiter, or this Api's own
  Router router_;
  std::vector<HealthContributor> health_;
};

}  // namespace accountable
