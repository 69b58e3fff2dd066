#include "server/api.h"

#include "aggregates/partner.h"
#include "aggregates/user.h"
#include "server/api_replies.h"
#include "server/openapi_yaml.h"
#include "server/shard_positions.h"
#include "server/store_health.h"

namespace accountable {

using namespace api;  // NOLINT: the shared replies and parsers

Api::Api(AccountStack& stack, TokenStore& tokens, Metrics& metrics, ViewSet* views, ApiOptions options)
    : stack_(stack),
      tokens_(tokens),
      metrics_(metrics),
      views_(views),
      queries_(views ? std::make_unique<ViewQueries>(*views, options.catalog_views) : nullptr),
      options_(options),
      pipeline_(stack, &tokens, options_.security_log.get()),
      sign_in_(options_.sign_in_guard ? options_.sign_in_guard : std::make_shared<SignInGuard>()),
      directory_limiter_(options_.directory_limiter ? options_.directory_limiter : std::make_shared<RateLimiter>()) {
  StoreHealth::process().register_data_folder(stack.data_dir());
  add_routes();
}

std::string_view Api::openapi_yaml() {
  static const std::string kWhole = [] {
    std::string out;
    for (std::string_view part : kOpenApiYamlParts) out += part;
    return out;
  }();
  return kWhole;
}

Timestamp Api::now() const { return options_.clock ? options_.clock->now() : system_clock_.now(); }

std::optional<ApiReply> Api::route_write(const ApiRequest& req) const {
  if (!options_.command_target) return std::nullopt;
  auto target = options_.command_target();
  if (target && !*target) return std::nullopt;
  if (!target) {
    HttpResponse res = error_response(target.status());
    res.set(http::field::retry_after, "1");
    return ApiReply{std::move(res), nullptr};
  }
  // The leader's URL with the same path and query: a client that follows a
  // 307 repeats the method and the body there (RFC 9110, 15.4.8).
  const std::string location = **target + std::string(req.http.target());
  boost::json::object body{{"code", "not_leader"},
                           {"message", "this node does not take writes; repeat the request at " + location},
                           {"location", location}};
  HttpResponse res = json_response(http::status::temporary_redirect, boost::json::serialize(body));
  res.set(http::field::location, location);
  return ApiReply{std::move(res), nullptr};
}

Status Api::check_position_written(const EventLog& log, uint64_t position) const {
  if (options_.command_target) return Status::ok();
  const uint64_t head = log.head().value();
  if (position <= head) return Status::ok();
  return not_found("position " + std::to_string(position) + " was never written: the log ends at " +
                       std::to_string(head),
                   "min_position");
}

void Api::add_routes() {
  add_command_routes();
  add_session_routes();
  add_me_routes();
  add_notification_routes();
  add_readiness_routes();
  add_event_routes();
  add_view_routes();
  add_directory_routes();
  add_audit_routes();
  add_proof_routes();
  add_operation_routes();
  add_console_routes();
  add_security_routes();
}

Api::Handler Api::bind(ApiReply (Api::*fn)(const ApiRequest&)) {
  return [this, fn](const ApiRequest& r) { return (this->*fn)(r); };
}

// The routes of one shard's log take ?shard= (a cluster's shard router sends
// the request to that shard's Api): 0-255, and this Api's own, else 404.
Api::Handler Api::bind_shard(ApiReply (Api::*fn)(const ApiRequest&)) {
  return [this, fn](const ApiRequest& r) {
    if (r.query.count("shard")) {
      auto s = query_u64(r, "shard", 0, 0, kMaxShardParam);
      if (!s) return reply_error(s.status());
      if (*s != options_.shard) {
        return reply_error(not_found("this server has no shard " + std::to_string(*s) + " (it serves shard " +
                                         std::to_string(options_.shard) + ")",
                                     "shard"));
      }
    }
    return (this->*fn)(r);
  };
}

Result<TokenGrant> Api::authenticate(const ApiRequest& req, bool allow_must_change) const {
  auto token = bearer_token(req.http);
  if (!token) return token.status();
  auto grant = tokens_.authenticate(*token, now());
  if (!grant) return grant.status();
  // Every use of the operator's token, once per request (the SSE stream's
  // re-checks carry no path).
  if (grant->kind == TokenGrant::Kind::kOperator && !req.path.empty()) {
    note_security(SecurityEvent{"operator_token_used", "ok", principal_id(grant->principal()), "", "", req.client_address,
                                std::string(req.http.method_string()) + " " + req.path});
  }
  if (grant->must_change_password && !allow_must_change) {
    return Status(StatusCode::kForbidden,
                  "a temporary password must be changed first (POST /v1/me/password)");
  }
  return grant;
}

Result<Principal> Api::current_principal(const TokenGrant& grant) const {
  Principal p = grant.principal();
  if (const auto* who = std::get_if<PartnerUser>(&p)) {
    auto state = stack_.engine().load<UserState>(user_stream(who->user_id));
    if (!state) return state.status();
    if (!state->exists || state->partner_id != who->partner_id) {
      return Status(StatusCode::kUnauthenticated, "the token's user no longer exists");
    }
    PartnerUser current = principal_of(*state);
    if (!current.active) return Status(StatusCode::kUnauthenticated, "the user is deactivated");
    return Principal(current);
  }
  if (const auto* auditor = std::get_if<Auditor>(&p)) {
    // The partner's state is the authority: a revocation whose token step was
    // cut short (or not yet replicated) still shuts the auditor out.
    auto state = stack_.engine().load<PartnerState>(partner_stream(auditor->partner_id));
    if (!state) return state.status();
    auto it = state->auditor_grants.find(auditor->grant_id);
    if (it == state->auditor_grants.end() || !auditor_grant_open(it->second, now())) {
      return Status(StatusCode::kUnauthenticated, "the auditor access was revoked or has ended");
    }
  }
  return p;
}

void Api::note_security(SecurityEvent e) const {
  if (options_.security_log) options_.security_log->record(std::move(e));
}

Result<Principal> Api::caller(const ApiRequest& req) const {
  auto grant = authenticate(req);
  if (!grant) return grant.status();
  return current_principal(*grant);
}

}  // namespace accountable
