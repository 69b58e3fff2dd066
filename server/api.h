// Api: the routes of the HTTP API (docs/http-api.md, docs/openapi.yaml) over
// the account stack, the token store and the views.
//
// Identity comes only from the bearer token, never from the request body; a
// partner user's rights are read from their stream on every request.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "projections/view_queries.h"
#include "projections/view_set.h"
#include "app/account_stack.h"
#include "app/command_runner.h"
#include "server/metrics.h"
#include "server/router.h"
#include "server/sign_in_limiter.h"
#include "app/token_store.h"

namespace accountable {

struct ApiOptions {
  std::chrono::seconds user_token_ttl{12 * 3600};
  size_t default_read_limit = 100;
  size_t max_read_limit = 1000;
  std::chrono::milliseconds min_position_wait{5000};  // read-your-writes bound
  const Clock* clock = nullptr;                        // null: the system clock
};

// Extra lines of /healthz (the relay, when it runs).
using HealthContributor = std::function<void(boost::json::object& health, bool* healthy)>;

class Api {
 public:
  Api(AccountStack& stack, TokenStore& tokens, Metrics& metrics, ViewSet* views, ApiOptions options = {});

  const Router& router() const { return router_; }
  void add_health(HealthContributor contributor) { health_.push_back(std::move(contributor)); }

  // The OpenAPI document served at /v1/openapi.yaml (docs/openapi.yaml, built in).
  static std::string_view openapi_yaml();

 private:
  void add_routes();
  Timestamp now() const;

  // The caller's grant from "Authorization: Bearer <token>"; kUnauthenticated if
  // absent or invalid; kForbidden if a temporary password must be changed first
  // (unless `allow_must_change`).
  Result<TokenGrant> authenticate(const ApiRequest& req, bool allow_must_change = false) const;
  // The grant's principal with a partner user's CURRENT roles and status.
  Result<Principal> current_principal(const TokenGrant& grant) const;
  // authenticate() then current_principal(): who is asking, with current rights.
  Result<Principal> caller(const ApiRequest& req) const;

  ApiReply post_command(const ApiRequest& req);
  ApiReply post_session(const ApiRequest& req);
  ApiReply post_my_password(const ApiRequest& req);
  ApiReply get_stream(const ApiRequest& req);
  ApiReply get_events(const ApiRequest& req);
  ApiReply subscribe(const ApiRequest& req);
  ApiReply get_catalog(const ApiRequest& req);
  ApiReply get_pricing(const ApiRequest& req);
  ApiReply get_users(const ApiRequest& req);
  ApiReply get_profile(const ApiRequest& req);
  ApiReply get_history(const ApiRequest& req);
  ApiReply get_state(const ApiRequest& req);
  ApiReply reply_history(const Result<AuditPage>& page, const PartnerId& partner) const;
  ApiReply get_health(const ApiRequest& req);
  ApiReply get_metrics(const ApiRequest& req);
  ApiReply get_openapi(const ApiRequest& req);
  ApiReply post_view_rebuild(const ApiRequest& req);

  AccountStack& stack_;
  TokenStore& tokens_;
  Metrics& metrics_;
  ViewSet* views_;
  std::unique_ptr<ViewQueries> queries_;
  ApiOptions options_;
  SystemClock system_clock_;
  CommandRunner runner_;
  SignInLimiter sign_in_limiter_;
  Router router_;
  std::vector<HealthContributor> health_;
};

}  // namespace accountable
