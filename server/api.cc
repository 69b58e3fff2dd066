#include "server/api.h"

#include <sodium.h>
#include <spdlog/spdlog.h>

#include <boost/json.hpp>
#include <charconv>
#include <map>

#include "aggregates/partner_history.h"
#include "aggregates/user.h"
#include "events/subscription.h"
#include "projections/view_json.h"
#include "schema/json_codec.h"
#include "server/http_server.h"
#include "server/openapi_yaml.h"

namespace accountable {

namespace json = boost::json;

namespace {

ApiReply reply_json(const json::value& body, http::status status = http::status::ok) {
  return ApiReply{json_response(status, json::serialize(body)), nullptr};
}

ApiReply reply_error(const Status& s) { return ApiReply{error_response(s), nullptr}; }

// A view answer: its JSON (view_json.h), or the error.
template <class T>
ApiReply reply_result(const Result<T>& r) {
  if (!r) return reply_error(r.status());
  return reply_json(to_json(*r));
}

ApiReply reply_with_status(const Status& s, http::status status) {
  HttpResponse res = error_response(s);
  res.result(status);
  return ApiReply{std::move(res), nullptr};
}

// An unsigned integer query parameter in [min, max]; `fallback` when absent.
Result<uint64_t> query_u64(const ApiRequest& req, const std::string& key, uint64_t fallback, uint64_t min,
                           uint64_t max) {
  auto it = req.query.find(key);
  if (it == req.query.end()) return fallback;
  uint64_t v = 0;
  const std::string& s = it->second;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || end != s.data() + s.size()) {
    return invalid_argument("must be a whole number from " + std::to_string(min) + " to " + std::to_string(max), key);
  }
  if (v < min || v > max) {
    return invalid_argument("must be from " + std::to_string(min) + " to " + std::to_string(max), key);
  }
  return v;
}

Result<Timestamp> query_time(const ApiRequest& req, const std::string& key, Timestamp fallback) {
  auto it = req.query.find(key);
  if (it == req.query.end() || it->second.empty()) return fallback;
  auto t = parse_timestamp(it->second);
  if (!t) return invalid_argument("must be an RFC 3339 UTC time or a date (2026-11-24)", key);
  return *t;
}

Result<YearMonth> parse_month(const ApiRequest& req, const std::string& key) {
  auto it = req.query.find(key);
  if (it == req.query.end()) return invalid_argument("is required (YYYY-MM)", key);
  const std::string& s = it->second;
  YearMonth m;
  if (s.size() != 7 || s[4] != '-' || std::from_chars(s.data(), s.data() + 4, m.year).ec != std::errc() ||
      std::from_chars(s.data() + 5, s.data() + 7, m.month).ec != std::errc() || m.month < 1 || m.month > 12) {
    return invalid_argument("must be a month, YYYY-MM", key);
  }
  return m;
}

Result<PartnerId> path_partner(const ApiRequest& req) {
  auto id = PartnerId::parse(req.path_params.at("id"));
  if (!id) return invalid_argument("is not a partner id (UUID)", "id");
  return *id;
}

Result<json::object> parse_body_object(const ApiRequest& req) {
  json::error_code ec;
  json::value v = json::parse(req.http.body(), ec);
  if (ec) return invalid_argument("the body is not valid JSON: " + ec.message());
  if (!v.is_object()) return invalid_argument("the body must be a JSON object");
  return std::move(v.as_object());
}

Result<std::string> string_field(const json::object& o, const std::string& key) {
  auto it = o.find(key);
  if (it == o.end()) return invalid_argument("is required", key);
  if (!it->value().is_string()) return invalid_argument("must be a string", key);
  return std::string(it->value().as_string());
}

// Server-Sent Events over a log subscription: `id` is the position, so a
// client resumes with Last-Event-ID.
class EventStream final : public ResponseStream {
 public:
  // `still_allowed` re-checks the caller (token, user, permission) before each
  // batch is sent: a token revoked or expired, or a user deactivated, ends the stream.
  EventStream(const EventLog& log, GlobalPosition from, AllFilter filter, PersonalDataCipher* cipher,
              std::function<Status()> still_allowed)
      : subscription_(log, from, std::move(filter), 256), cipher_(cipher), still_allowed_(std::move(still_allowed)) {}
  std::string content_type() const override { return "text/event-stream"; }
  std::optional<std::string> next(std::chrono::milliseconds wait) override {
    if (ended_) return std::nullopt;
    auto batch = subscription_.next(wait);
    if (Status s = still_allowed_(); !s.is_ok()) {
      ended_ = true;
      return "event: error\ndata: " + json::serialize(json::object{{"error", error_object(s)}}) + "\n\n";
    }
    if (!batch) {
      return "event: error\ndata: " + json::serialize(json::object{{"error", error_object(batch.status())}}) + "\n\n";
    }
    if (batch->events.empty()) {
      // Quiet: a comment now and then keeps proxies from closing the stream and
      // lets the server notice a client that went away.
      if (++quiet_rounds_ % 15 == 0) return std::string(": keep-alive\n\n");
      return std::string();
    }
    quiet_rounds_ = 0;
    std::string out;
    for (const RecordedEvent& e : batch->events) {
      out += "id: " + std::to_string(e.position.value()) + "\nevent: " + std::string(e.type) + "\ndata: " +
             json::serialize(recorded_event_json(e, cipher_)) + "\n\n";
    }
    return out;
  }

 private:
  Subscription subscription_;
  PersonalDataCipher* cipher_;
  std::function<Status()> still_allowed_;
  unsigned quiet_rounds_ = 0;
  bool ended_ = false;
};

// A copy of a credential, wiped when the last holder lets go.
struct WipedString {
  std::string value;
  explicit WipedString(std::string v) : value(std::move(v)) {}
  ~WipedString() { sodium_memzero(value.data(), value.size()); }
  WipedString(const WipedString&) = delete;
  WipedString& operator=(const WipedString&) = delete;
};

}  // namespace

Api::Api(AccountStack& stack, TokenStore& tokens, Metrics& metrics, ViewSet* views, ApiOptions options)
    : stack_(stack),
      tokens_(tokens),
      metrics_(metrics),
      views_(views),
      queries_(views ? std::make_unique<ViewQueries>(*views) : nullptr),
      options_(options),
      runner_(stack) {
  add_routes();
}

std::string_view Api::openapi_yaml() { return kOpenApiYaml; }

Timestamp Api::now() const { return options_.clock ? options_.clock->now() : system_clock_.now(); }

void Api::add_routes() {
  using V = http::verb;
  auto bind = [this](ApiReply (Api::*fn)(const ApiRequest&)) {
    return [this, fn](const ApiRequest& r) { return (this->*fn)(r); };
  };
  router_.add(V::post, "/v1/commands", bind(&Api::post_command));
  router_.add(V::post, "/v1/sessions", bind(&Api::post_session));
  router_.add(V::post, "/v1/me/password", bind(&Api::post_my_password));
  router_.add(V::get, "/v1/streams/{stream}", bind(&Api::get_stream));
  router_.add(V::get, "/v1/events", bind(&Api::get_events));
  router_.add(V::get, "/v1/events/subscribe", bind(&Api::subscribe));
  router_.add(V::get, "/v1/partners/{id}/catalog", bind(&Api::get_catalog));
  router_.add(V::get, "/v1/pricing/{market}/{currency}", bind(&Api::get_pricing));
  router_.add(V::get, "/v1/partners/{id}/users", bind(&Api::get_users));
  router_.add(V::get, "/v1/partners/{id}/profile", bind(&Api::get_profile));
  router_.add(V::get, "/v1/partners/{id}/history", bind(&Api::get_history));
  router_.add(V::get, "/v1/partners/{id}/state", bind(&Api::get_state));
  router_.add(V::get, "/healthz", bind(&Api::get_health));
  router_.add(V::get, "/metrics", bind(&Api::get_metrics));
  router_.add(V::get, "/v1/openapi.yaml", bind(&Api::get_openapi));
  router_.add(V::post, "/v1/views/{name}/rebuild", bind(&Api::post_view_rebuild));
}

Result<TokenGrant> Api::authenticate(const ApiRequest& req, bool allow_must_change) const {
  auto it = req.http.find(http::field::authorization);
  if (it == req.http.end()) return Status(StatusCode::kUnauthenticated, "an Authorization: Bearer token is required");
  std::string_view value = it->value();
  constexpr std::string_view kBearer = "Bearer ";
  if (value.size() <= kBearer.size() || value.substr(0, kBearer.size()) != kBearer) {
    return Status(StatusCode::kUnauthenticated, "the Authorization header must be 'Bearer <token>'");
  }
  auto grant = tokens_.authenticate(value.substr(kBearer.size()), now());
  if (!grant) return grant.status();
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
  return p;
}

Result<Principal> Api::caller(const ApiRequest& req) const {
  auto grant = authenticate(req);
  if (!grant) return grant.status();
  return current_principal(*grant);
}

// ---- commands --------------------------------------------------------------------------

ApiReply Api::post_command(const ApiRequest& req) {
  auto parsed = parse_command_json(req.http.body());
  const std::string type = parsed ? std::string(command_name(parsed->command)) : "unparsed";
  auto finish = [&](const Status& s) {
    metrics_.count_command(type, s.is_ok() ? "ok" : status_code_name(s.code()));
    return reply_error(s);
  };
  auto grant = authenticate(req);
  if (!grant) return finish(grant.status());
  if (!parsed) return finish(parsed.status());
  const Command command = parsed->command;
  auto reply = runner_.run(grant->principal(), std::move(*parsed));
  if (!reply) return finish(reply.status());
  metrics_.count_command(type, "ok");

  json::object body = std::move(reply->body);
  json::object& result = body["result"].as_object();
  if (reply->password) {
    // Returned once, here; never logged. The caller hands it to the person.
    result["temporary_password"] = reply->password->password;
    sodium_memzero(reply->password->password.data(), reply->password->password.size());
  } else if (!reply->password_error.is_ok()) {
    result["temporary_password_error"] = reply->password_error.to_string();
  }
  if (!reply->outcome.duplicate) {
    // Tokens die with the password they were issued for, and with the user.
    std::optional<std::pair<PartnerId, UserId>> revoke;
    if (const auto* r = std::get_if<ResetPassword>(&command)) revoke = std::make_pair(r->partner_id, r->user_id);
    if (const auto* d = std::get_if<DeactivateUser>(&command)) revoke = std::make_pair(d->partner_id, d->user_id);
    if (const auto* p = std::get_if<PurgeUser>(&command)) revoke = std::make_pair(p->partner_id, p->user_id);
    if (revoke) {
      if (Status s = tokens_.revoke_user(revoke->first, revoke->second); !s.is_ok()) {
        spdlog::error("tokens of user {} not revoked: {}", revoke->second.to_string(), s.to_string());
        result["token_revocation_error"] = s.to_string();
      }
    }
    if (const auto* a = std::get_if<IssueAuditorAccess>(&command)) {
      TokenGrant g;
      g.kind = TokenGrant::Kind::kAuditor;
      g.partner = a->partner_id;
      g.grant = AuditorGrantId(reply->outcome.created_ids.at(0).bytes());
      g.expires_at = a->valid_until;
      auto token = tokens_.issue(g);
      if (token) {
        result["auditor_token"] = *token;  // returned once; only its hash is kept
        sodium_memzero(token->data(), token->size());
      } else {
        result["auditor_token_error"] = token.status().to_string();
      }
    }
  }
  return reply_json(body);
}

// ---- sessions ---------------------------------------------------------------------------

ApiReply Api::post_session(const ApiRequest& req) {
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
  const auto wait = sign_in_limiter_.wait_before_attempt(account, SignInLimiter::Clock::now());
  if (wait.count() > 0) {
    ApiReply r = reply_with_status(Status(StatusCode::kBusy, "too many failed sign-ins for this account; retry in " +
                                                                 std::to_string((wait.count() + 999) / 1000) + " s"),
                                   http::status::too_many_requests);
    r.response.set(http::field::retry_after, std::to_string((wait.count() + 999) / 1000));
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
  bool active = false;
  if (verified && user && user->has_value()) {
    auto state = stack_.engine().load<UserState>(user_stream(who));
    active = state && state->exists && principal_of(*state).active;
  }
  if (!verified || !active) {
    sign_in_limiter_.record_failure(account, SignInLimiter::Clock::now());
    spdlog::info("sign-in refused for partner {}", partner->to_string());
    return reply_error(refused);
  }
  sign_in_limiter_.record_success(account);
  TokenGrant g;
  g.kind = TokenGrant::Kind::kUser;
  g.partner = *partner;
  g.user = who;
  g.expires_at = Timestamp{now().micros + std::chrono::duration_cast<std::chrono::microseconds>(options_.user_token_ttl).count()};
  g.must_change_password = verified->must_change;
  auto token = tokens_.issue(g);
  if (!token) return reply_error(token.status());
  json::object out{{"token", *token},
                   {"must_change_password", g.must_change_password},
                   {"expires_at", format_timestamp(g.expires_at)},
                   {"partner_id", partner->to_string()},
                   {"user_id", who.to_string()}};
  sodium_memzero(token->data(), token->size());
  spdlog::info("user {} of partner {} signed in", who.to_string(), partner->to_string());
  return reply_json(out);
}

ApiReply Api::post_my_password(const ApiRequest& req) {
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
  if (!verified) return reply_error(Status(StatusCode::kForbidden, "the old password is wrong", "old"));

  // The change is recorded first (audit), then stored; if storing fails the old
  // password keeps working and the caller retries.
  CommandRequest request;
  request.id = CommandId::random();
  request.command = ChangePassword{grant->partner, grant->user};
  const ParsedCommand parsed{request.id, request.command};
  request.digest = command_digest(parsed);
  request.correlation_id = CorrelationId(request.id.bytes());
  request.causation_id = CausationId(request.id.bytes());
  auto outcome = stack_.engine().execute(grant->principal(), request);
  metrics_.count_command("ChangePassword", outcome ? "ok" : status_code_name(outcome.status().code()));
  if (!outcome) return reply_error(outcome.status());
  if (Status s = stack_.credentials().set_password(grant->partner, grant->user, *new_password); !s.is_ok()) {
    return reply_error(Status(StatusCode::kInternal, "the change was recorded but the new password could not be stored (" +
                                                         s.message() + "); the old password still works: retry"));
  }
  if (Status s = tokens_.clear_must_change(grant->partner, grant->user); !s.is_ok()) return reply_error(s);
  return reply_json(json::object{{"changed", true}, {"position", outcome->first_position.value()}});
}

// ---- event reads --------------------------------------------------------------------------

namespace {

// Who may read raw events of which partner. The operator reads everything; the
// auditor and partner users read their own partner's events, with the audit
// history permission; the catalog stream needs the price-list permission.
Status may_read_partner_events(const Principal& who, const std::string& partner) {
  if (std::holds_alternative<Operator>(who)) return Status::ok();
  if (partner.empty()) {
    // The catalog (no partner): the price-list permission, held in one's own
    // partner (as the pricing view asks it); a partner user always has one.
    std::optional<PartnerId> own;
    if (const auto* u = std::get_if<PartnerUser>(&who)) own = u->partner_id;
    return authorize(who, Permission::kReadPriceLists, own);
  }
  auto id = PartnerId::parse(partner);
  if (!id) return Status(StatusCode::kNotFound, "not found");
  return authorize(who, Permission::kReadAuditHistory, *id);
}

std::optional<std::string> own_partner(const Principal& who) {
  if (const auto* u = std::get_if<PartnerUser>(&who)) return u->partner_id.to_string();
  if (const auto* a = std::get_if<Auditor>(&who)) return a->partner_id.to_string();
  return std::nullopt;
}

// $all reads: the operator reads every partner (or the one asked for); anyone
// else reads only their own partner's events, with the audit permission.
Status restrict_to_own_partner(const Principal& who, AllFilter* filter) {
  if (std::holds_alternative<Operator>(who)) return Status::ok();
  auto own = own_partner(who);
  if (!own) return Status(StatusCode::kForbidden, "missing permission read the audit history");
  if (!filter->partner.empty() && filter->partner != *own) {
    return Status(StatusCode::kForbidden, "only your own partner's events can be read", "partner");
  }
  filter->partner = *own;
  return may_read_partner_events(who, *own);
}

}  // namespace

ApiReply Api::get_stream(const ApiRequest& req) {
  auto who = caller(req);
  if (!who) return reply_error(who.status());
  const std::string& stream = req.path_params.at("stream");
  if (Status s = validate_stream_id(stream, "stream"); !s.is_ok()) return reply_error(s);
  auto from = query_u64(req, "from", 1, 1, UINT64_MAX >> 1);
  if (!from) return reply_error(from.status());
  auto limit = query_u64(req, "limit", options_.default_read_limit, 1, options_.max_read_limit);
  if (!limit) return reply_error(limit.status());
  auto batch = stack_.log().read_stream(stream, StreamVersion(*from), *limit);
  if (!batch) return reply_error(batch.status());
  const Status absent(StatusCode::kNotFound, "no stream " + stream, "stream");
  auto may_read = [&](const RecordedEvent& e) -> Status {
    Status s = may_read_partner_events(*who, std::string(e.partner));
    // Another tenant's stream reads as absent, not as forbidden.
    if (!s.is_ok() && s.code() == StatusCode::kForbidden && !e.partner.empty() && own_partner(*who) &&
        *own_partner(*who) != e.partner) {
      return absent;
    }
    return s;
  };
  if (batch->events.empty()) {
    // A page past the end is authorized on the stream's first event, so that it
    // tells a caller without access nothing (not even that the stream exists).
    auto first = stack_.log().read_stream(stream, StreamVersion(1), 1);
    if (!first) return reply_error(first.status());
    if (first->events.empty()) return reply_error(absent);
    if (Status s = may_read(first->events.front()); !s.is_ok()) return reply_error(s);
  }
  json::array events;
  for (const RecordedEvent& e : batch->events) {
    if (Status s = may_read(e); !s.is_ok()) return reply_error(s);
    events.push_back(recorded_event_json(e, &stack_.cipher()));
  }
  return reply_json(json::object{{"stream", stream},
                                 {"version", stack_.log().stream_version(stream).value()},
                                 {"events", std::move(events)}});
}

ApiReply Api::get_events(const ApiRequest& req) {
  auto who = caller(req);
  if (!who) return reply_error(who.status());
  auto from = query_u64(req, "from", 1, 1, UINT64_MAX >> 1);
  if (!from) return reply_error(from.status());
  auto limit = query_u64(req, "limit", options_.default_read_limit, 1, options_.max_read_limit);
  if (!limit) return reply_error(limit.status());
  AllFilter filter;
  if (auto t = req.query.find("type"); t != req.query.end()) filter.types.push_back(t->second);
  if (auto p = req.query.find("partner"); p != req.query.end()) filter.partner = p->second;
  if (Status s = restrict_to_own_partner(*who, &filter); !s.is_ok()) return reply_error(s);
  auto batch = stack_.log().read_all(GlobalPosition(*from), *limit, filter);
  if (!batch) return reply_error(batch.status());
  json::array events;
  for (const RecordedEvent& e : batch->events) events.push_back(recorded_event_json(e, &stack_.cipher()));
  return reply_json(json::object{{"events", std::move(events)},
                                 {"next", batch->next_position.value()},
                                 {"end_of_log", batch->end_of_log},
                                 {"head", stack_.log().head().value()}});
}

ApiReply Api::subscribe(const ApiRequest& req) {
  auto who = caller(req);
  if (!who) return reply_error(who.status());
  auto from = query_u64(req, "from", 1, 1, UINT64_MAX >> 1);
  if (!from) return reply_error(from.status());
  uint64_t start = *from;
  if (auto last = req.http.find("Last-Event-ID"); last != req.http.end()) {
    uint64_t id = 0;
    std::string_view v = last->value();
    auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), id);
    if (ec != std::errc() || end != v.data() + v.size() || id >= (UINT64_MAX >> 1)) {
      return reply_error(invalid_argument("Last-Event-ID must be a position", "Last-Event-ID"));
    }
    start = id + 1;
  }
  AllFilter filter;
  if (auto p = req.query.find("partner"); p != req.query.end()) filter.partner = p->second;
  if (Status s = restrict_to_own_partner(*who, &filter); !s.is_ok()) return reply_error(s);
  // The stream outlives this request: the caller is checked again before each
  // batch, from the same Authorization value (kept in memory only, wiped).
  auto authorization = std::make_shared<WipedString>(std::string(req.http[http::field::authorization]));
  auto still_allowed = [this, authorization, partner = filter.partner]() -> Status {
    HttpRequest probe;
    probe.set(http::field::authorization, authorization->value);
    const ApiRequest again{probe, "", {}, {}};
    auto current = caller(again);
    if (!current) return current.status();
    AllFilter f;
    f.partner = partner;
    return restrict_to_own_partner(*current, &f);
  };
  ApiReply r{json_response(http::status::ok, ""), nullptr};
  r.stream = std::make_shared<EventStream>(stack_.log(), GlobalPosition(start), std::move(filter), &stack_.cipher(),
                                           std::move(still_allowed));
  return r;
}

// ---- views --------------------------------------------------------------------------------

#define ACCT_VIEW_PROLOGUE()                                                                      \
  if (!queries_) return reply_error(Status(StatusCode::kBusy, "the views are not running"));     \
  auto who = caller(req);                                                                         \
  if (!who) return reply_error(who.status());                                                     \
  QueryOptions qo;                                                                                \
  qo.wait = options_.min_position_wait;                                                           \
  if (req.query.count("min_position")) {                                                          \
    auto mp = query_u64(req, "min_position", 0, 0, UINT64_MAX >> 1);                              \
    if (!mp) return reply_error(mp.status());                                                     \
    qo.min_position = GlobalPosition(*mp);                                                        \
  }

ApiReply Api::get_catalog(const ApiRequest& req) {
  ACCT_VIEW_PROLOGUE();
  auto partner = path_partner(req);
  if (!partner) return reply_error(partner.status());
  auto date = query_time(req, "date", now());
  if (!date) return reply_error(date.status());
  CatalogFilter filter;
  if (auto s = req.query.find("segment"); s != req.query.end()) {
    if (s->second == "enterprise") filter.segment = Segment::kEnterprise;
    else if (s->second == "small_business") filter.segment = Segment::kSmallBusiness;
    else if (s->second == "government") filter.segment = Segment::kGovernment;
    else return reply_error(invalid_argument("must be enterprise, small_business or government", "segment"));
  }
  if (auto b = req.query.find("billing_model"); b != req.query.end()) {
    if (b->second == "license_based") filter.billing_model = BillingModel::kLicenseBased;
    else if (b->second == "usage_based") filter.billing_model = BillingModel::kUsageBased;
    else return reply_error(invalid_argument("must be license_based or usage_based", "billing_model"));
  }
  return reply_result(queries_->catalog(*who, *partner, *date, filter, qo));
}

ApiReply Api::get_pricing(const ApiRequest& req) {
  ACCT_VIEW_PROLOGUE();
  const std::string& market = req.path_params.at("market");
  const std::string& currency = req.path_params.at("currency");
  auto date = query_time(req, "date", now());
  if (!date) return reply_error(date.status());
  const std::string view = req.query.count("view") ? req.query.at("view") : "";
  if (auto offer = req.query.find("offer"); offer != req.query.end()) {
    if (view == "history") {
      return reply_result(queries_->price_history(*who, offer->second, market, currency, qo));
    }
    auto quote = queries_->price(*who, offer->second, market, currency, *date, qo);
    if (!quote) return reply_error(quote.status());
    if (!quote->has_value()) {
      return reply_error(Status(StatusCode::kNotFound, "no price for offer " + offer->second + " in " + market + "/" +
                                                           currency + " on that date",
                                "offer"));
    }
    return reply_json(to_json(*quote));
  }
  if (view == "preview") {
    return reply_result(queries_->price_list_preview(*who, market, *date, currency, qo));
  }
  if (view == "diff") {
    auto from = parse_month(req, "from_month");
    if (!from) return reply_error(from.status());
    auto to = parse_month(req, "to_month");
    if (!to) return reply_error(to.status());
    return reply_result(queries_->price_diff(*who, market, currency, *from, *to, qo));
  }
  if (!view.empty()) return reply_error(invalid_argument("must be preview, diff or history (with offer)", "view"));
  return reply_result(queries_->price_list(*who, market, *date, currency, qo));
}

ApiReply Api::get_users(const ApiRequest& req) {
  ACCT_VIEW_PROLOGUE();
  auto partner = path_partner(req);
  if (!partner) return reply_error(partner.status());
  if (auto r = req.query.find("role"); r != req.query.end()) {
    std::optional<Role> role;
    for (Role candidate : all_roles()) {
      if (role_json_name(candidate) == r->second) role = candidate;
    }
    if (!role) return reply_error(invalid_argument("is not a role (e.g. global_admin)", "role"));
    return reply_result(queries_->role_holders(*who, *partner, *role, qo));
  }
  std::optional<DirectoryStatus> status;
  if (auto s = req.query.find("status"); s != req.query.end()) {
    if (s->second == "active") status = DirectoryStatus::kActive;
    else if (s->second == "inactive") status = DirectoryStatus::kInactive;
    else if (s->second == "purged") status = DirectoryStatus::kPurged;
    else return reply_error(invalid_argument("must be active, inactive or purged", "status"));
  }
  return reply_result(queries_->users(*who, *partner, status, qo));
}

ApiReply Api::get_profile(const ApiRequest& req) {
  ACCT_VIEW_PROLOGUE();
  auto partner = path_partner(req);
  if (!partner) return reply_error(partner.status());
  auto date = query_time(req, "date", now());
  if (!date) return reply_error(date.status());
  return reply_result(queries_->profile(*who, *partner, *date, qo));
}

ApiReply Api::get_history(const ApiRequest& req) {
  ACCT_VIEW_PROLOGUE();
  auto partner = path_partner(req);
  if (!partner) return reply_error(partner.status());
  auto from = query_u64(req, "from", 1, 1, UINT64_MAX >> 1);
  if (!from) return reply_error(from.status());
  auto limit = query_u64(req, "limit", options_.default_read_limit, 1, options_.max_read_limit);
  if (!limit) return reply_error(limit.status());
  if (req.query.count("from_time") || req.query.count("to_time")) {
    auto from_time = query_time(req, "from_time", Timestamp{0});
    if (!from_time) return reply_error(from_time.status());
    auto to_time = query_time(req, "to_time", Timestamp{INT64_MAX});
    if (!to_time) return reply_error(to_time.status());
    return reply_history(
        queries_->timeline_between(*who, *partner, *from_time, *to_time, GlobalPosition(*from), *limit, qo), *partner);
  }
  return reply_history(queries_->timeline(*who, *partner, GlobalPosition(*from), *limit, qo), *partner);
}

// The view's page, each entry with what it changed: command_type, actor_name
// and changes, from the states before and after the event replayed from the
// log (aggregates/partner_history.h). The view is never ahead of the log.
ApiReply Api::reply_history(const Result<AuditPage>& page, const PartnerId& partner) const {
  if (!page) return reply_error(page.status());
  json::value out = to_json(*page);
  if (page->entries.empty()) return reply_json(out);
  HistoryOptions options;
  options.from_position = page->entries.front().position;
  options.to_position = page->entries.back().position;
  auto lines = partner_history(stack_.log(), &stack_.cipher(), partner, options);
  if (!lines) return reply_error(lines.status());
  std::map<uint64_t, const HistoryLine*> by_position;
  for (const HistoryLine& l : *lines) by_position[l.position.value()] = &l;
  for (json::value& entry : out.at("entries").as_array()) {
    auto it = by_position.find(entry.at("position").to_number<uint64_t>());
    if (it == by_position.end()) continue;
    json::object line = history_line_json(*it->second);
    json::object& e = entry.as_object();
    for (const char* key : {"command_type", "actor_name", "changes"}) e[key] = std::move(line[key]);
  }
  return reply_json(out);
}

// The partner's aggregates as of a time or a position, replayed from the log
// (not the views: the answer is what the log proves). Same permission as the history.
ApiReply Api::get_state(const ApiRequest& req) {
  auto who = caller(req);
  if (!who) return reply_error(who.status());
  auto partner = path_partner(req);
  if (!partner) return reply_error(partner.status());
  if (Status s = authorize(*who, Permission::kReadAuditHistory, *partner); !s.is_ok()) return reply_error(s);
  const bool by_time = req.query.count("as_of") > 0;
  if (by_time == (req.query.count("at_position") > 0)) {
    return reply_error(invalid_argument("give exactly one of as_of (a time) and at_position", "as_of"));
  }
  AsOf point;
  if (by_time) {
    if (req.query.at("as_of").empty()) return reply_error(invalid_argument("must be an RFC 3339 UTC time", "as_of"));
    auto t = query_time(req, "as_of", Timestamp{});
    if (!t) return reply_error(t.status());
    point.time = *t;
  } else {
    auto n = query_u64(req, "at_position", 0, 0, UINT64_MAX >> 1);
    if (!n) return reply_error(n.status());
    point.position = GlobalPosition(*n);
  }
  auto states = partner_state_as_of(stack_.log(), &stack_.cipher(), *partner, point);
  if (!states) return reply_error(states.status());
  return reply_json(partner_states_json(*partner, *states, point));
}

#undef ACCT_VIEW_PROLOGUE

// Blue/green rebuild while the server serves: the old file answers queries
// until the new one has caught up and is swapped in. Operator only.
ApiReply Api::post_view_rebuild(const ApiRequest& req) {
  if (!views_) return reply_error(Status(StatusCode::kBusy, "the views are not running"));
  auto grant = authenticate(req);
  if (!grant) return reply_error(grant.status());
  if (grant->kind != TokenGrant::Kind::kOperator) {
    return reply_error(Status(StatusCode::kForbidden, "missing permission rebuild views (the operator's)"));
  }
  const std::string& name = req.path_params.at("name");
  if (Status s = views_->rebuild(name); !s.is_ok()) return reply_error(s);
  auto status = views_->status(name);
  if (!status) return reply_error(status.status());
  return reply_json(to_json(*status));
}

// ---- operations --------------------------------------------------------------------------

ApiReply Api::get_health(const ApiRequest&) {
  bool healthy = true;
  json::object log{{"head", stack_.log().head().value()}};
  const Status log_health = stack_.log().health();
  log["writable"] = log_health.is_ok();
  if (!log_health.is_ok()) {
    log["error"] = log_health.message();  // e.g. poisoned after a failed fsync: reads go on, writes are refused
    healthy = false;
  }
  json::object health{{"log", std::move(log)}};
  if (views_) {
    json::array views;
    for (const ViewStatus& v : views_->lag()) {
      json::object o{{"name", v.name}, {"position", v.position.value()}, {"lag", v.lag}, {"serving", v.serving}};
      if (!v.error.is_ok()) {
        o["error"] = v.error.message();
        healthy = false;
      }
      views.push_back(std::move(o));
    }
    health["views"] = std::move(views);
  }
  for (const HealthContributor& c : health_) c(health, &healthy);
  health["status"] = healthy ? "ok" : "degraded";
  return reply_json(health, healthy ? http::status::ok : http::status::service_unavailable);
}

ApiReply Api::get_metrics(const ApiRequest&) {
  HttpResponse res{http::status::ok, 11};
  res.set(http::field::content_type, "text/plain; version=0.0.4");
  res.body() = metrics_.render();
  res.prepare_payload();
  return ApiReply{std::move(res), nullptr};
}

ApiReply Api::get_openapi(const ApiRequest&) {
  HttpResponse res{http::status::ok, 11};
  res.set(http::field::content_type, "application/yaml");
  res.body() = std::string(openapi_yaml());
  res.prepare_payload();
  return ApiReply{std::move(res), nullptr};
}

}  // namespace accountable
