#include "server/shard_router.h"

#include <algorithm>
#include <boost/json.hpp>
#include <stdexcept>
#include <tuple>

#include "aggregates/dispatch.h"
#include "aggregates/engine.h"
#include "projections/profile_view.h"
#include "schema/json_codec.h"
#include "server/api.h"  // before api_replies.h, which needs what it includes
#include "server/api_replies.h"
#include "server/shard_positions.h"

namespace accountable {

using namespace api;  // NOLINT: the shared replies and parsers

namespace {

constexpr std::string_view kShardHeader = "Accountable-Shard";

void name_shard(ApiReply& reply, uint32_t shard) {
  reply.response.set(kShardHeader, std::to_string(shard));
}

}  // namespace

ShardRouter::ShardRouter(std::vector<ShardEndpoints> shards, std::function<uint32_t(std::string_view)> shard_of,
                         const Clock* clock)
    : shards_(std::move(shards)), shard_of_(std::move(shard_of)), clock_(clock ? clock : &system_clock_) {
  if (shards_.empty()) throw std::logic_error("ShardRouter: no shards");
  const std::vector<Route>& table = shards_[0].routes->routes();
  for (const ShardEndpoints& s : shards_) {
    const std::vector<Route>& other = s.routes->routes();
    bool same = other.size() == table.size();
    for (size_t i = 0; same && i < table.size(); ++i) {
      same = other[i].method == table[i].method && other[i].pattern == table[i].pattern;
    }
    if (!same) throw std::logic_error("ShardRouter: the shards' route tables differ");
  }
  for (size_t i = 0; i < table.size(); ++i) {
    const Rule rule = rule_for(table[i].pattern);
    router_.add(table[i].method, table[i].pattern,
                [this, i, rule](const ApiRequest& req) { return handle(i, rule, req); });
  }
}

ShardRouter::Rule ShardRouter::rule_for(const std::string& pattern) {
  auto starts = [&](std::string_view prefix) { return pattern.rfind(prefix, 0) == 0; };
  if (pattern == "/v1/commands") return Rule::kCommand;
  if (pattern == "/v1/sessions") return Rule::kSession;
  if (pattern == "/v1/sessions/current") return Rule::kCaller;
  if (starts("/v1/partners/{id}/")) return Rule::kPartner;
  if (pattern == "/v1/me" || starts("/v1/me/") || starts("/v1/pricing/")) return Rule::kCaller;
  if (pattern == "/v1/streams/{stream}") return Rule::kStream;
  // Each shard's log has its own tree and checkpoints: ?shard=, else as events.
  if (pattern == "/v1/events" || pattern == "/v1/events/subscribe" || starts("/v1/proofs/") ||
      starts("/v1/checkpoints/")) {
    return Rule::kEvents;
  }
  if (pattern == "/healthz") return Rule::kHealth;
  if (pattern == "/v1/views/{name}/rebuild") return Rule::kEveryShard;
  if (pattern == "/v1/tax-exemptions/expiring") return Rule::kExpiring;
  if (pattern == "/v1/directory/profiles") return Rule::kDirectory;
  // The security log is the node's, shared by its shards: any answers; the
  // operator's token is known to each.
  // The console's files are the same on every shard.
  if (pattern == "/metrics" || pattern == "/v1/openapi.yaml" || pattern == "/v1/security-log" || pattern == "/" ||
      pattern == "/console/{asset}") {
    return Rule::kShardZero;
  }
  // A new route must say which shard answers it (docs/cluster.md).
  throw std::logic_error("ShardRouter: no shard rule for the route " + pattern);
}

uint32_t ShardRouter::partner_shard(std::string_view partner_text) const {
  auto id = PartnerId::parse(partner_text);
  if (!id) return 0;  // not a partner id: shard 0 answers the error
  const uint32_t s = shard_of_(id->to_string());
  return s < shards() ? s : 0;
}

std::optional<uint32_t> ShardRouter::caller_shard(const ApiRequest& req) const {
  auto token = bearer_token(req.http);
  if (!token) return std::nullopt;
  // The operator's token is every shard's: shard 0 answers for it.
  auto grant = shards_[0].tokens->authenticate(*token, clock_->now());
  if (grant && grant->kind == TokenGrant::Kind::kOperator) return std::nullopt;
  // Any other token names its shard (TokenStore::set_token_shard), so a node
  // that has not read it yet still sends it to the right shard (whose leader
  // takes a write; a read answers 401 until the token arrives).
  auto shard = TokenStore::shard_of_token(*token);
  if (!shard || *shard >= shards()) return std::nullopt;
  return *shard;
}

ApiReply ShardRouter::handle(size_t route, Rule rule, const ApiRequest& req) const {
  switch (rule) {
    case Rule::kCommand: {
      uint32_t shard = 0;
      if (auto parsed = parse_command_json(req.http.body())) {
        const StateKeys keys = state_keys(parsed->command);
        if (keys.partner) {
          shard = partner_shard(keys.partner->to_string());
        } else if (std::holds_alternative<EnrollPartner>(parsed->command)) {
          shard = partner_shard(Engine::enrolled_partner(parsed->command_id).to_string());
        }
      }  // else shard 0 answers the error
      return on_shard(route, shard, req);
    }
    case Rule::kSession: {
      uint32_t shard = 0;
      boost::system::error_code ec;
      json::value body = json::parse(req.http.body(), ec);
      if (!ec && body.is_object()) {
        if (const json::value* p = body.as_object().if_contains("partner_id"); p && p->is_string()) {
          shard = partner_shard(std::string_view(p->as_string()));
        }
      }
      return on_shard(route, shard, req);
    }
    case Rule::kPartner: {
      const uint32_t shard = partner_shard(req.path_params.at("id"));
      return on_shard(route, shard, req);
    }
    case Rule::kCaller: {
      const uint32_t shard = caller_shard(req).value_or(0);
      return on_shard(route, shard, req);
    }
    case Rule::kStream: {
      const std::string& stream = req.path_params.at("stream");
      uint32_t shard = 0;
      for (uint32_t s = 0; s < shards(); ++s) {
        if (shards_[s].log->stream_version(stream).value() > 0) {
          shard = s;
          break;
        }
      }
      return on_shard(route, shard, req);
    }
    case Rule::kEvents: {
      uint32_t shard = 0;
      if (req.query.count("shard")) {
        auto s = query_u64(req, "shard", 0, 0, kMaxShardParam);
        if (!s) return reply_error(s.status());
        if (*s >= shards()) {
          return reply_error(not_found("the cluster has no shard " + std::to_string(*s) + " (it has " +
                                           std::to_string(shards()) + ")",
                                       "shard"));
        }
        shard = static_cast<uint32_t>(*s);
      } else if (auto p = req.query.find("partner"); p != req.query.end()) {
        shard = partner_shard(p->second);
      } else {
        shard = caller_shard(req).value_or(0);
      }
      return on_shard(route, shard, req);
    }
    case Rule::kHealth:
      return health(route, req);
    case Rule::kEveryShard:
      return every_shard(route, req);
    case Rule::kExpiring:
      return merged_expiring(route, req);
    case Rule::kDirectory:
      return merged_directory(route, req);
    case Rule::kShardZero:
      return on_shard(route, 0, req);
  }
  return reply_error(Status(StatusCode::kInternal, "no shard rule"));
}

ApiReply ShardRouter::on_shard(size_t route, uint32_t shard, const ApiRequest& req) const {
  ApiReply reply = shards_[shard].routes->routes()[route].handler(req);
  name_shard(reply, shard);
  return reply;
}

ApiReply ShardRouter::health(size_t route, const ApiRequest& req) const {
  // Shard 0's answer (it carries the node's cluster object), with every
  // shard's log and views under "shards"; degraded if any shard is.
  json::object merged;
  json::array per_shard;
  bool healthy = true;
  for (uint32_t s = 0; s < shards(); ++s) {
    ApiReply reply = shards_[s].routes->routes()[route].handler(req);
    healthy = healthy && reply.response.result() == http::status::ok;
    boost::system::error_code ec;
    json::value body = json::parse(reply.response.body(), ec);
    if (ec || !body.is_object()) {
      healthy = false;
      per_shard.push_back(json::object{{"shard", s}, {"error", "unreadable health answer"}});
      continue;
    }
    json::object& o = body.as_object();
    if (s == 0) merged = o;
    o.erase("cluster");  // the node's, once at the top
    o["shard"] = s;
    per_shard.push_back(std::move(o));
  }
  merged["shards"] = std::move(per_shard);
  merged["status"] = healthy ? "ok" : "degraded";
  return reply_json(merged, healthy ? http::status::ok : http::status::service_unavailable);
}

ApiReply ShardRouter::every_shard(size_t route, const ApiRequest& req) const {
  json::array answers;
  for (uint32_t s = 0; s < shards(); ++s) {
    ApiReply reply = on_shard(route, s, req);
    if (reply.response.result() != http::status::ok) return reply;  // that shard's error; earlier shards are done
    boost::system::error_code ec;
    json::value body = json::parse(reply.response.body(), ec);
    answers.push_back(ec ? json::value(nullptr) : std::move(body));
  }
  return reply_json(json::object{{"shards", std::move(answers)}});
}

// Each shard answers its first `limit` rows after the cursor, in the global
// order (expires_on, partner id, exemption id); the first `limit` of their
// union are the page, and the cursor is global, so paging works across shards.
ApiReply ShardRouter::merged_expiring(size_t route, const ApiRequest& req) const {
  struct Row {
    ExpiringCursor key;
    json::value item;
  };
  std::vector<Row> rows;
  bool more = false;
  json::value from, until;
  for (uint32_t s = 0; s < shards(); ++s) {
    ApiReply reply = on_shard(route, s, req);
    if (reply.response.result() != http::status::ok) return reply;  // that shard's error (a bad parameter: each's)
    boost::system::error_code ec;
    json::value body = json::parse(reply.response.body(), ec);
    if (ec || !body.is_object()) return reply_error(Status(StatusCode::kInternal, "a shard's answer is not JSON"));
    json::object& page = body.as_object();
    from = page["from"];
    until = page["until"];
    more = more || !page["next"].is_null();
    for (json::value& item : page["items"].as_array()) {
      const json::object& o = item.as_object();
      auto expires = parse_timestamp(o.at("expires_on").as_string());
      auto partner = PartnerId::parse(o.at("partner_id").as_string());
      auto exemption = ExemptionId::parse(o.at("exemption_id").as_string());
      if (!expires || !partner || !exemption) {
        return reply_error(Status(StatusCode::kInternal, "a shard's expiring row does not parse"));
      }
      rows.push_back(Row{ExpiringCursor{*expires, *partner, *exemption}, std::move(item)});
    }
  }
  auto key = [](const ExpiringCursor& c) {
    return std::make_tuple(c.expires_on.micros, c.partner_id.to_string(), c.exemption_id.to_string());
  };
  std::sort(rows.begin(), rows.end(), [&](const Row& a, const Row& b) { return key(a.key) < key(b.key); });
  auto limit = query_u64(req, "limit", 100, 1, 1000);
  if (!limit) return reply_error(limit.status());
  json::array items;
  for (size_t i = 0; i < rows.size() && i < *limit; ++i) items.push_back(std::move(rows[i].item));
  json::value next = nullptr;
  if (more || rows.size() > *limit) next = json::value(expiring_cursor_text(rows[items.size() - 1].key));
  ApiReply reply = reply_json(json::object{{"from", std::move(from)},
                                           {"until", std::move(until)},
                                           {"items", std::move(items)},
                                           {"next", std::move(next)}});
  return reply;
}

// Page p of `limit` is rows [(p-1) x limit, p x limit) of the merged order, so
// each shard is asked for its first p x limit rows (at most 25 x 100); the merged order is the handler's: relevance (with q), else the
// partner's name; then partner id and region. Each shard's answer costs one
// token of the directory's rate limit.
ApiReply ShardRouter::merged_directory(size_t route, const ApiRequest& req) const {
  auto limit = query_u64(req, "limit", 20, 1, 100);
  if (!limit) return reply_error(limit.status());
  auto page = query_u64(req, "page", 1, 1, 25);
  if (!page) return reply_error(page.status());
  ApiRequest first_rows{req.http, req.path, req.path_params, req.query, req.client_address, *page * *limit};
  const bool ranked = req.query.count("q") && !req.query.at("q").empty();
  std::vector<json::value> rows;
  bool more = false;
  for (uint32_t s = 0; s < shards(); ++s) {
    ApiReply reply = on_shard(route, s, first_rows);
    if (reply.response.result() != http::status::ok) return reply;  // a bad parameter, the rate limit
    boost::system::error_code ec;
    json::value body = json::parse(reply.response.body(), ec);
    if (ec || !body.is_object()) return reply_error(Status(StatusCode::kInternal, "a shard's answer is not JSON"));
    more = more || body.at("more").as_bool();
    for (json::value& l : body.as_object()["listings"].as_array()) rows.push_back(std::move(l));
  }
  auto text = [](const json::value& l, const char* k) { return std::string(l.at(k).as_string()); };
  std::stable_sort(rows.begin(), rows.end(), [&](const json::value& a, const json::value& b) {
    if (ranked) {
      const double ra = a.at("relevance").to_number<double>(), rb = b.at("relevance").to_number<double>();
      if (ra != rb) return ra > rb;
    } else if (text(a, "partner_name") != text(b, "partner_name")) {
      return text(a, "partner_name") < text(b, "partner_name");
    }
    return std::make_pair(text(a, "partner_id"), text(a, "region")) <
           std::make_pair(text(b, "partner_id"), text(b, "region"));
  });
  json::array listings;
  const size_t from = (*page - 1) * *limit;
  for (size_t i = from; i < rows.size() && i < from + *limit; ++i) listings.push_back(std::move(rows[i]));
  more = more || rows.size() > from + *limit;
  return reply_json(json::object{{"listings", std::move(listings)}, {"more", more}});
}

}  // namespace accountable
