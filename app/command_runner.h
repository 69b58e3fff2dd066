// CommandRunner: one command in its JSON form, run through the engine, with what
// must happen beside the log:
//  - a temporary password (EnrollPartner's first admin, CreateUser,
//    ResetPassword) is issued into the credential store AFTER the command
//    committed, and handed to the caller once (never logged, never in the log);
//  - PurgeUser also erases the user's credential.
// Shared by `acct exec` (passwords to a 0600 file) and POST /v1/commands
// (passwords in the response body, once).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <boost/json/object.hpp>

#include "schema/json_codec.h"
#include "app/account_stack.h"

namespace accountable {

struct TemporaryPassword {
  PartnerId partner;
  UserId user;
  std::string password;  // the only copy; the receiver wipes it (sodium_memzero)
};

struct CommandReply {
  ParsedCommand command;
  CommandOutcome outcome;
  // {"position", "last_position", "duplicate", "events": [...], "result": {created ids}}.
  boost::json::object body;
  std::optional<TemporaryPassword> password;  // issued by this run (not on a duplicate)
  Status password_error;                      // the command committed but the password was not issued
};

class CommandRunner {
 public:
  explicit CommandRunner(AccountStack& stack) : stack_(stack) {}

  // Does this command hand out a temporary password when it succeeds?
  static bool issues_password(const Command& c);

  // Parses, executes and completes one command. A refused command (any error)
  // wrote nothing. ChangePassword is refused here: its new password travels
  // beside the command (POST /v1/me/password), never in it.
  Result<CommandReply> run(const Principal& actor, std::string_view json_text);
  Result<CommandReply> run(const Principal& actor, ParsedCommand parsed);

 private:
  AccountStack& stack_;
};

// The request's idempotency digest: the first 16 bytes of SHA-256 of the
// command's canonical JSON (so the same command id with other content conflicts).
std::array<unsigned char, 16> command_digest(const ParsedCommand& parsed);

// {"code", "message", "field"?} of a Status.
boost::json::object error_object(const Status& s);

}  // namespace accountable
