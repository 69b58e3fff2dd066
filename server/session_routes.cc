#include "server/api.h"

#include <sodium.h>
#include <spdlog/spdlog.h>

#include <boost/json.hpp>

#include "aggregates/user.h"
#include "server/api_replies.h"
#include "server/store_health.h"

namespace accountable {

using namespace api;  // NOLINT: the shared replies and parsers

void Api::add_session_routes() {
  router_.add(http::verb::post, "/v1/sessions", bind(&Api::post_session));
  router_.add(http::verb::delete_, "/v1/sessions/current", bind(&Api::delete_current_session));
  router_.add(http::verb::get, "/v1/me/sessions", bind(&Api::get_my_sessions));
  router_.add(http::verb::delete_, "/v1/me/sessions/{id}", bind(&Api::delete_my_session));
  router_.add(http::verb::post, "/v1/me/password", bind(&Api::post_my_password));
}

ApiReply Api::post_session(const ApiRequest& req) {
  // In a cluster a sign-in is a write (the token is replicated): the shard's leader takes it.
  if (auto elsewhere = route_write(req)) return std::move(*elsewhere);
  auto body = parse_body_object(req);
  if (!body) return reply_error(body.status());
  auto partner_text = string_field(*body, "partner_id");
  if (!partner_text) return reply_error(partner_text.status());
  auto email = string_field(*body, "email");
  if (!email) return reply_error(email.status());
  auto password = string_field(*body, "password");
  if (!password) return reply_error(password.status());
  auto partner = PartnerId::parse(*partner_text);
  if (!partner) return reply_error(invalid_argument("is not a partner id (UUID)", "partner_id"));

  // The limiter's key is the account as the credential lookup sees it (the
  // email fingerprint's normalization: trimmed, ASCII lower case), so that
  // " Ada@x " and "ada@x" share one budget of failures.
  const std::string account = partner->to_string() + "/" + KeyStore::normalize_email(*email);
  const auto verdict = sign_in_->check(account, req.client_address, SignInGuard::Clock::now());
  if (verdict.refusal != SignInGuard::Refusal::kNone) {
    const std::string seconds = std::to_string((verdict.wait.count() + 999) / 1000);
    const bool global = verdict.refusal == SignInGuard::Refusal::kGlobal;
    const std::string what = verdict.refusal == SignInGuard::Refusal::kAccount ? "for this account"
                             : global                                         ? "on this server"
                                                                              : "from this address";
    note_security(SecurityEvent{"sign_in", "refused", "anonymous", "", "", req.client_address,
                                "partner " + partner->to_string() + ": too many failed sign-ins " + what});
    ApiReply r = reply_with_status(Status(StatusCode::kBusy, "too many failed sign-ins " + what + "; retry in " +
                                                                 seconds + " s"),
                                   global ? http::status::service_unavailable : http::status::too_many_requests);
    r.response.set(http::field::retry_after, seconds);
    return r;
  }
  const Status refused(StatusCode::kUnauthenticated, "wrong partner, email or password");
  // An unknown partner is looked up no further: the email fingerprint would
  // create (and write) a secret for any partner id an anonymous caller names.
  const bool partner_known = stack_.log().stream_version(partner_stream(*partner)).value() > 0;
  auto user = partner_known ? find_user_by_email(stack_, *partner, *email)
                            : Result<std::optional<UserId>>(std::optional<UserId>());
  // An unknown account still pays for one verification, so timing does not
  // tell which accounts exist.
  const UserId who = user && user->has_value() ? **user : UserId::random();
  auto verified = stack_.credentials().verify(*partner, who, *password);
  sodium_memzero(password->data(), password->size());
  // The argon2id gate is full: not a failed sign-in (503 busy, Retry-After).
  const bool known = user && user->has_value();
  // The partner's readers see the lines of their own partner; an unknown
  // partner's stay the operator's (the id is anyone's guess).
  const std::string partner_seen = partner_known ? partner->to_string() : "";
  const std::string principal = known ? "user:" + who.to_string() : "anonymous";
  if (!verified && verified.status().code() == StatusCode::kBusy) {
    note_security(SecurityEvent{"sign_in", "refused", principal, partner_seen, "", req.client_address,
                                "the password hashing is at capacity (503 busy)"});
    return reply_error(verified.status());
  }
  bool active = false;
  if (verified && user && user->has_value()) {
    auto state = stack_.engine().load<UserState>(user_stream(who));
    active = state && state->exists && principal_of(*state).active;
  }
  if (!verified || !active) {
    sign_in_->record_failure(account, req.client_address, SignInGuard::Clock::now());
    note_security(SecurityEvent{"sign_in", "failed", principal, partner_seen, "", req.client_address,
                                !partner_known ? "unknown partner " + partner->to_string()
                                : !known       ? "unknown email"
                                : !verified    ? "wrong password"
                                               : "the user is deactivated"});
    spdlog::info("sign-in refused for partner {} from {}", partner->to_string(), req.client_address);
    return reply_error(refused);
  }
  sign_in_->record_success(account);
  TokenGrant g;
  g.kind = TokenGrant::Kind::kUser;
  g.partner = *partner;
  g.user = who;
  g.expires_at = Timestamp{now().micros + std::chrono::duration_cast<std::chrono::microseconds>(options_.user_token_ttl).count()};
  g.must_change_password = verified->must_change;
  g.created_at = now();
  g.client_address = req.client_address;
  g.session = SessionId::random();  // chosen here, so that the security log names it
  auto token = tokens_.issue(g);
  if (!token) return reply_error(token.status());
  json::object out{{"token", *token},
                   {"must_change_password", g.must_change_password},
                   {"expires_at", format_timestamp(g.expires_at)},
                   {"partner_id", partner->to_string()},
                   {"user_id", who.to_string()}};
  sodium_memzero(token->data(), token->size());
  spdlog::info("user {} of partner {} signed in", who.to_string(), partner->to_string());
  note_security(SecurityEvent{"sign_in", "ok", principal, partner_seen, g.session.to_string(), req.client_address,
                              g.must_change_password ? "must change the temporary password" : ""});
  return reply_json(out);
}

ApiReply Api::post_my_password(const ApiRequest& req) {
  if (auto elsewhere = route_write(req)) return std::move(*elsewhere);
  auto grant = authenticate(req, /*allow_must_change=*/true);
  if (!grant) return reply_error(grant.status());
  if (grant->kind != TokenGrant::Kind::kUser) {
    return reply_error(Status(StatusCode::kForbidden, "only partner users have a password here"));
  }
  auto body = parse_body_object(req);
  if (!body) return reply_error(body.status());
  auto old_password = string_field(*body, "old");
  if (!old_password) return reply_error(old_password.status());
  auto new_password = string_field(*body, "new");
  if (!new_password) return reply_error(new_password.status());
  struct Wipe {
    std::string& a;
    std::string& b;
    ~Wipe() {
      sodium_memzero(a.data(), a.size());
      sodium_memzero(b.data(), b.size());
    }
  } wipe{*old_password, *new_password};

  if (Status s = CredentialStore::check_new_password(*new_password); !s.is_ok()) return reply_error(s);
  if (*new_password == *old_password) return reply_error(invalid_argument("must differ from the old password", "new"));
  auto verified = stack_.credentials().verify(grant->partner, grant->user, *old_password);
  if (!verified && verified.status().code() == StatusCode::kBusy) return reply_error(verified.status());
  const std::string principal = "user:" + grant->user.to_string();
  if (!verified) {
    note_security(SecurityEvent{"password_change", "failed", principal, grant->partner.to_string(),
                                grant->session.to_string(), req.client_address, "the old password is wrong"});
    return reply_error(Status(StatusCode::kForbidden, "the old password is wrong", "old"));
  }

  // Recorded first (audit), then stored, then the user's tokens no longer ask
  // for a change (app/command_effects.cc).
  auto reply = pipeline_.change_password(grant->principal(), grant->partner, grant->user, *new_password);
  metrics_.count_command("ChangePassword", reply ? "ok" : status_code_name(reply.status().code()));
  if (!reply) return reply_error(reply.status());
  if (!reply->failure.is_ok()) return reply_error(reply->failure);
  // A new password ends every other session of the user; this one goes on.
  json::object out{{"changed", true}, {"position", reply->outcome.first_position.value()}};
  auto token = bearer_token(req.http);
  const Status ended = token ? tokens_.revoke_user_except(grant->partner, grant->user, *token) : token.status();
  if (!ended.is_ok()) {
    spdlog::error("user {}: password changed, other sessions not ended: {}", grant->user.to_string(),
                  ended.to_string());
    out["other_sessions_error"] = StoreHealth::process().public_message(ended);
  }
  note_security(SecurityEvent{"password_change", "ok", principal, grant->partner.to_string(),
                              grant->session.to_string(), req.client_address,
                              ended.is_ok() ? "every other session ended" : "the other sessions were NOT ended"});
  return reply_json(out);
}

// Sign-out: the presented token dies (a user's or an auditor's; the
// operator's is rotated with `acct operator-token rotate`).
ApiReply Api::delete_current_session(const ApiRequest& req) {
  if (auto elsewhere = route_write(req)) return std::move(*elsewhere);
  auto grant = authenticate(req, /*allow_must_change=*/true);
  if (!grant) return reply_error(grant.status());
  if (grant->kind == TokenGrant::Kind::kOperator) {
    return reply_error(Status(StatusCode::kForbidden,
                              "the operator token does not sign out: replace it with acct operator-token rotate"));
  }
  auto token = bearer_token(req.http);
  if (!token) return reply_error(token.status());
  if (Status s = tokens_.revoke_token(*token); !s.is_ok()) return reply_error(s);
  note_security(SecurityEvent{"sign_out", "ok", principal_id(grant->principal()), grant->partner.to_string(),
                              grant->session.to_string(), req.client_address, ""});
  return reply_json(json::object{{"signed_out", true}});
}

namespace {
// The caller's user grant, or the refusal: sessions are partner users'.
Result<TokenGrant> user_grant(Result<TokenGrant> grant) {
  if (!grant) return grant;
  if (grant->kind != TokenGrant::Kind::kUser) {
    return Status(StatusCode::kForbidden,
                  "only partner users have sessions here (sign out with DELETE /v1/sessions/current)");
  }
  return grant;
}
}  // namespace

ApiReply Api::get_my_sessions(const ApiRequest& req) {
  auto grant = user_grant(authenticate(req, /*allow_must_change=*/true));
  if (!grant) return reply_error(grant.status());
  json::array sessions;
  for (const SessionInfo& s : tokens_.sessions_of(grant->partner, grant->user, now())) {
    sessions.push_back(json::object{{"session_id", s.session.to_string()},
                                    {"created_at", format_timestamp(s.created_at)},
                                    {"last_used_at", format_timestamp(s.last_used_at)},
                                    {"expires_at", format_timestamp(s.expires_at)},
                                    {"client_address", s.client_address},
                                    {"current", s.session == grant->session}});
  }
  return reply_json(json::object{{"sessions", std::move(sessions)}});
}

ApiReply Api::delete_my_session(const ApiRequest& req) {
  if (auto elsewhere = route_write(req)) return std::move(*elsewhere);
  auto grant = user_grant(authenticate(req, /*allow_must_change=*/true));
  if (!grant) return reply_error(grant.status());
  auto id = SessionId::parse(req.path_params.at("id"));
  if (!id) return reply_error(invalid_argument("is not a session id (UUID)", "id"));
  if (Status s = tokens_.revoke_session(grant->partner, grant->user, *id); !s.is_ok()) return reply_error(s);
  note_security(SecurityEvent{"session_revoked", "ok", "user:" + grant->user.to_string(), grant->partner.to_string(),
                              id->to_string(), req.client_address, "ended from session " + grant->session.to_string()});
  return reply_json(json::object{{"revoked", true}, {"session_id", id->to_string()}});
}

}  // namespace accountable
