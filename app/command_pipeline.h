// CommandPipeline: every command of the process runs here, whoever sends it:
// POST /v1/commands and POST /v1/me/password (server/), `acct exec` and the
// demo, the benches' seeding. It
//   1. parses the JSON form (or takes a typed command),
//   2. has the engine decide and append it (aggregates/engine.h),
//   3. runs the command's after-commit effects beside the log, in the order
//      app/command_effects.cc lists them: the key store (a purged user's key),
//      the credential store (temporary passwords, a new password, a purged
//      user's credential), the token store (revocation, the auditor token);
//   4. answers with the outcome as JSON.
// A temporary password is handed to the caller once (never logged, never in the
// log): `acct exec` writes it to a 0600 file, the HTTP API returns it once.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>

#include "app/account_stack.h"
#include "app/command_effects.h"
#include "schema/json_codec.h"

namespace accountable {

class CommandPipeline {
 public:
  // `tokens`: the sign-in tokens to revoke and issue after a commit; null where
  // nobody signs in (`acct exec`, the demo, the benches). `security`: where
  // those revocations and issued auditor tokens are recorded (null: nowhere).
  explicit CommandPipeline(AccountStack& stack, TokenStore* tokens = nullptr, SecurityLog* security = nullptr);

  // Does this command hand out a temporary password when it succeeds?
  bool issues_password(const Command& c) const;

  // Parses, executes and completes one command. A refused command (any error)
  // wrote nothing. ChangePassword is refused here: its new password travels
  // beside the command (change_password below), never in it.
  Result<CommandReply> run(const Principal& actor, std::string_view json_text);
  Result<CommandReply> run(const Principal& actor, ParsedCommand parsed);

  // run() without holding a thread while the commit waits for its fsync
  // (Engine::execute_async: `done` runs once, through run_on or, refused
  // early, on this thread). Only for commands with nothing to do beside the
  // log (runs_async): passwords, keys and tokens are written by blocking
  // effects, and those commands take run().
  bool runs_async(const Command& c) const;
  using ReplyCallback = std::function<void(Result<CommandReply>)>;
  void run_async(const Principal& actor, ParsedCommand parsed, Engine::Executor run_on, ReplyCallback done);

  // ChangePassword for `user` of `partner`, with the new password beside the
  // command: recorded first (audit), then stored. An error after the commit
  // is in the reply's `failure` (the old password still works: retry).
  Result<CommandReply> change_password(const Principal& actor, const PartnerId& partner, const UserId& user,
                                       std::string_view new_password);

 private:
  // ChangePassword is refused as command text (kInvalidArgument, field "type").
  Status accepted(const Command& command) const;
  // Steps 2 and 3 for a request whose id and digest are set.
  Result<CommandReply> execute(const Principal& actor, ParsedCommand parsed, CommandRequest request,
                               std::string_view new_password);

  AccountStack& stack_;
  CommitEffects effects_;
};

// The request's idempotency digest: the first 16 bytes of SHA-256 of the
// command's canonical JSON (so the same command id with other content conflicts).
std::array<unsigned char, 16> command_digest(const ParsedCommand& parsed);

// {"code", "message", "field"?} of a Status.
boost::json::object error_object(const Status& s);

}  // namespace accountable
