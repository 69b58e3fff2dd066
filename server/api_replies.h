// Shared by the route files of the HTTP API (server/*_routes.cc): replies and
// the parsing of query parameters, path ids and JSON bodies. Not an interface
// of the server.
#pragma once

#include <sodium.h>

#include <boost/json.hpp>
#include <algorithm>
#include <charconv>
#include <iterator>
#include <optional>
#include <string>

#include "app/command_pipeline.h"
#include "schema/enum_names.h"
#include "server/http_server.h"
#include "server/router.h"

namespace accountable::api {

namespace json = boost::json;

inline ApiReply reply_json(const json::value& body, http::status status = http::status::ok) {
  return ApiReply{json_response(status, json::serialize(body)), nullptr};
}

inline ApiReply reply_error(const Status& s) { return ApiReply{error_response(s), nullptr}; }

// A view answer: its JSON (view_json.h), or the error.
template <class T>
ApiReply reply_result(const Result<T>& r) {
  if (!r) return reply_error(r.status());
  return reply_json(to_json(*r));
}

// A copy of a credential, wiped when the last holder lets go (an SSE stream
// re-checks its caller from it).
struct WipedString {
  std::string value;
  explicit WipedString(std::string v) : value(std::move(v)) {}
  ~WipedString() { sodium_memzero(value.data(), value.size()); }
  WipedString(const WipedString&) = delete;
  WipedString& operator=(const WipedString&) = delete;
};

inline ApiReply reply_with_status(const Status& s, http::status status) {
  HttpResponse res = error_response(s);
  res.result(status);
  return ApiReply{std::move(res), nullptr};
}

// An unsigned integer query parameter in [min, max]; `fallback` when absent.
inline Result<uint64_t> query_u64(const ApiRequest& req, const std::string& key, uint64_t fallback, uint64_t min,
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

inline Result<Timestamp> query_time(const ApiRequest& req, const std::string& key, Timestamp fallback) {
  auto it = req.query.find(key);
  if (it == req.query.end()) return fallback;
  auto t = parse_timestamp(it->second);
  if (!t) return invalid_argument("must be an RFC 3339 UTC time or a date (2026-11-24)", key);
  return *t;
}

inline Result<YearMonth> parse_month(const ApiRequest& req, const std::string& key) {
  auto it = req.query.find(key);
  if (it == req.query.end()) return invalid_argument("is required (YYYY-MM)", key);
  const std::string& s = it->second;
  const bool digits = s.size() == 7 && s[4] == '-' &&
                      std::all_of(s.begin(), s.begin() + 4, [](char c) { return c >= '0' && c <= '9'; }) &&
                      std::all_of(s.begin() + 5, s.end(), [](char c) { return c >= '0' && c <= '9'; });
  YearMonth m;
  if (digits) {
    m.year = std::stoi(s.substr(0, 4));
    m.month = std::stoi(s.substr(5, 2));
  }
  if (!digits || m.month < 1 || m.month > 12) return invalid_argument("must be a month, YYYY-MM", key);
  return m;
}

// The token of "Authorization: Bearer <token>" (not checked here).
inline Result<std::string_view> bearer_token(const HttpRequest& req) {
  auto it = req.find(http::field::authorization);
  if (it == req.end()) return Status(StatusCode::kUnauthenticated, "an Authorization: Bearer token is required");
  std::string_view value = it->value();
  constexpr std::string_view kBearer = "Bearer ";
  if (value.size() <= kBearer.size() || value.substr(0, kBearer.size()) != kBearer) {
    return Status(StatusCode::kUnauthenticated, "the Authorization header must be 'Bearer <token>'");
  }
  return value.substr(kBearer.size());
}

inline Result<PartnerId> path_partner(const ApiRequest& req) {
  auto id = PartnerId::parse(req.path_params.at("id"));
  if (!id) return invalid_argument("is not a partner id (UUID)", "id");
  return *id;
}

inline Result<json::object> parse_body_object(const ApiRequest& req) {
  json::error_code ec;
  json::value v = json::parse(req.http.body(), ec);
  if (ec) return invalid_argument("the body is not valid JSON: " + ec.message());
  if (!v.is_object()) return invalid_argument("the body must be a JSON object");
  return std::move(v.as_object());
}

inline Result<std::string> string_field(const json::object& o, const std::string& key) {
  auto it = o.find(key);
  if (it == o.end()) return invalid_argument("is required", key);
  if (!it->value().is_string()) return invalid_argument("must be a string", key);
  return std::string(it->value().as_string());
}

// The spellings of an enum (schema/enum_names.h) for a message: "a, b or c".
template <NamedEnum E>
std::string enum_alternatives() {
  std::string out;
  const size_t n = std::size(EnumNames<E>::kNames);
  for (size_t i = 0; i < n; ++i) {
    if (i > 0) out += i + 1 == n ? " or " : ", ";
    out += EnumNames<E>::kNames[i].name;
  }
  return out;
}

// An enum query parameter in its spelling; `out` is left alone when absent.
template <NamedEnum E>
Status query_enum(const ApiRequest& req, const std::string& key, std::optional<E>* out) {
  auto it = req.query.find(key);
  if (it == req.query.end()) return Status::ok();
  auto value = enum_from_name<E>(it->second);
  if (!value) return invalid_argument("must be " + enum_alternatives<E>(), key);
  *out = *value;
  return Status::ok();
}

}  // namespace accountable::api
