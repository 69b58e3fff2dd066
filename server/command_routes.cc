#include "server/api.h"

#include <sodium.h>

#include <boost/json.hpp>

#include "server/api_replies.h"
#include "server/shard_positions.h"
#include "server/store_health.h"

namespace accountable {

using namespace api;  // NOLINT: the shared replies and parsers

void Api::add_command_routes() {
  router_.add(http::verb::post, "/v1/commands", bind(&Api::post_command),
              [this](const ApiRequest& req, const JobRunner& run_on, ReplyFn reply) {
                return post_command_fast(req, run_on, std::move(reply));
              });
}

ApiReply Api::post_command(const ApiRequest& req) {
  if (auto elsewhere = route_write(req)) return std::move(*elsewhere);
  auto parsed = parse_command_json(req.http.body());
  const std::string type = parsed ? std::string(command_name(parsed->command)) : "unparsed";
  auto grant = authenticate(req);
  if (!grant) return command_answer(type, grant.status());
  if (!parsed) return command_answer(type, parsed.status());
  return command_answer(type, pipeline_.run(grant->principal(), std::move(*parsed)));
}

// The same steps, with the commit's wait off the thread. Commands with effects
// beside the log (passwords, keys, tokens: blocking file and argon2id work)
// are declined here and take post_command on the worker pool.
bool Api::post_command_fast(const ApiRequest& req, const JobRunner& run_on, ReplyFn reply) {
  auto parsed = parse_command_json(req.http.body());
  if (parsed && !pipeline_.runs_async(parsed->command)) return false;
  if (auto elsewhere = route_write(req)) {
    reply(std::move(*elsewhere));
    return true;
  }
  const std::string type = parsed ? std::string(command_name(parsed->command)) : "unparsed";
  auto grant = authenticate(req);
  if (!grant) {
    reply(command_answer(type, grant.status()));
    return true;
  }
  if (!parsed) {
    reply(command_answer(type, parsed.status()));
    return true;
  }
  pipeline_.run_async(grant->principal(), std::move(*parsed), run_on,
                      [this, type, reply = std::move(reply)](Result<CommandReply> done) {
                        reply(command_answer(type, std::move(done)));
                      });
  return true;
}

ApiReply Api::command_answer(const std::string& type, Result<CommandReply> done) const {
  metrics_.count_command(type, done ? "ok" : status_code_name(done.status().code()));
  if (!done) return reply_error(done.status());

  json::object body = std::move(done->body);
  // Where the command landed, as a token every read's min_position takes.
  body["shard"] = options_.shard;
  body["min_position"] = position_token(options_.shard, body["last_position"].to_number<uint64_t>());
  json::object& result = body["result"].as_object();
  if (done->password) {
    // Returned once, here; never logged. The caller hands it to the person.
    result["temporary_password"] = done->password->password;
    sodium_memzero(done->password->password.data(), done->password->password.size());
  } else if (!done->password_error.is_ok()) {
    result["temporary_password_error"] = std::string(status_code_name(done->password_error.code())) + ": " +
                                         StoreHealth::process().public_message(done->password_error);
  }
  // What the token effects said (a revocation error, the auditor's token: returned once).
  for (auto& note : done->notes) {
    json::value value = std::move(note.value());
    if (note.key().ends_with("_error") && value.is_string()) {
      value = json::string(StoreHealth::process().public_message(Status(StatusCode::kIOError, std::string(value.as_string()))));
    }
    result[note.key()] = std::move(value);
  }
  return reply_json(body);
}

}  // namespace accountable
