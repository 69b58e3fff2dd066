#include "server/api.h"

#include <sodium.h>

#include <boost/json.hpp>

#include "server/api_replies.h"
#include "server/shard_positions.h"
#include "server/store_health.h"

namespace accountable {

using namespace api;  // NOLINT: the shared replies and parsers

void Api::add_command_routes() { router_.add(http::verb::post, "/v1/commands", bind(&Api::post_command)); }

ApiReply Api::post_command(const ApiRequest& req) {
  if (auto elsewhere = route_write(req)) return std::move(*elsewhere);
  auto parsed = parse_command_json(req.http.body());
  const std::string type = parsed ? std::string(command_name(parsed->command)) : "unparsed";
  auto finish = [&](const Status& s) {
    metrics_.count_command(type, s.is_ok() ? "ok" : status_code_name(s.code()));
    return reply_error(s);
  };
  auto grant = authenticate(req);
  if (!grant) return finish(grant.status());
  if (!parsed) return finish(parsed.status());
  auto reply = pipeline_.run(grant->principal(), std::move(*parsed));
  if (!reply) return finish(reply.status());
  metrics_.count_command(type, "ok");

  json::object body = std::move(reply->body);
  // Where the command landed, as a token every read's min_position takes.
  body["shard"] = options_.shard;
  body["min_position"] = position_token(options_.shard, body["last_position"].to_number<uint64_t>());
  json::object& result = body["result"].as_object();
  if (reply->password) {
    // Returned once, here; never logged. The caller hands it to the person.
    result["temporary_password"] = reply->password->password;
    sodium_memzero(reply->password->password.data(), reply->password->password.size());
  } else if (!reply->password_error.is_ok()) {
    result["temporary_password_error"] = std::string(status_code_name(reply->password_error.code())) + ": " +
                                         StoreHealth::process().public_message(reply->password_error);
  }
  // What the token effects said (a revocation error, the auditor's token: returned once).
  for (auto& note : reply->notes) {
    json::value value = std::move(note.value());
    if (note.key().ends_with("_error") && value.is_string()) {
      value = json::string(StoreHealth::process().public_message(Status(StatusCode::kIOError, std::string(value.as_string()))));
    }
    result[note.key()] = std::move(value);
  }
  return reply_json(body);
}

}  // namespace accountable
