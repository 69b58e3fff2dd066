#include "app/command_pipeline.h"

#include "aggregates/dispatch.h"
#include "events/sha256.h"

namespace accountable {

namespace {

// The ids a command created, by the meaning commands.h gives new_ids.
boost::json::object created_json(const Command& c, const CommandOutcome& out) {
  boost::json::object r;
  auto id = [&](size_t i) { return out.created_ids.at(i).to_string(); };
  if (std::holds_alternative<EnrollPartner>(c)) {
    r["partner_id"] = id(0);
    r["admin_user_id"] = id(1);
  } else if (std::holds_alternative<CreateUser>(c)) {
    r["user_id"] = id(0);
  } else if (std::holds_alternative<AddLocation>(c) || std::holds_alternative<AddProfileLocation>(c)) {
    r["location_id"] = id(0);
  } else if (std::holds_alternative<FileTaxExemption>(c) || std::holds_alternative<RenewTaxExemption>(c)) {
    r["exemption_id"] = id(0);
  } else if (std::holds_alternative<IssueAuditorAccess>(c)) {
    r["grant_id"] = id(0);
  }
  return r;
}

bool may_hand_out_password(const Principal& actor, const Command& command) {
  if (std::holds_alternative<Operator>(actor)) return true;
  const auto* user = std::get_if<PartnerUser>(&actor);
  const std::optional<PartnerId> partner = state_keys(command).partner;
  return user != nullptr && partner && user->partner_id == *partner;
}

// The reply's body from the outcome; the effects add to it.
CommandReply reply_for(ParsedCommand parsed, CommandOutcome outcome) {
  CommandReply reply{std::move(parsed), std::move(outcome), {}, std::nullopt, Status::ok(), {}, Status::ok()};
  boost::json::object& body = reply.body;
  body["command_id"] = reply.command.command_id.to_string();
  body["position"] = reply.outcome.first_position.value();
  body["last_position"] = reply.outcome.last_position.value();
  body["duplicate"] = reply.outcome.duplicate;
  boost::json::array events;
  for (const ExecutedEvent& e : reply.outcome.events) {
    events.push_back(boost::json::object{{"stream", e.stream}, {"version", e.version.value()}, {"type", e.type}});
  }
  body["events"] = std::move(events);
  body["result"] = created_json(reply.command.command, reply.outcome);
  return reply;
}

}  // namespace

CommandPipeline::CommandPipeline(AccountStack& stack, TokenStore* tokens, SecurityLog* security)
    : stack_(stack), effects_(commit_effects(stack, tokens, security)) {}

bool CommandPipeline::issues_password(const Command& c) const { return effects_.hands_out_password(c); }

std::array<unsigned char, 16> command_digest(const ParsedCommand& parsed) {
  const Hash256 digest = sha256(command_to_json(parsed));
  std::array<unsigned char, 16> out{};
  std::copy_n(digest.begin(), out.size(), out.begin());
  return out;
}

boost::json::object error_object(const Status& s) {
  boost::json::object e;
  e["code"] = status_code_name(s.code());
  e["message"] = s.message();
  if (!s.field().empty()) e["field"] = s.field();
  return e;
}

Result<CommandReply> CommandPipeline::run(const Principal& actor, std::string_view json_text) {
  auto parsed = parse_command_json(json_text);
  if (!parsed) return parsed.status();
  return run(actor, std::move(*parsed));
}

Status CommandPipeline::accepted(const Command& command) const {
  if (!accepted_as_command_text(command_name(command))) {
    return invalid_argument("ChangePassword is not accepted as a command: the new password must not travel inside it "
                            "(use POST /v1/me/password)",
                            "type");
  }
  return Status::ok();
}

namespace {

CommandRequest request_for(const ParsedCommand& parsed) {
  CommandRequest request;
  request.id = parsed.command_id;
  request.digest = command_digest(parsed);
  request.command = parsed.command;
  request.correlation_id = CorrelationId(request.id.bytes());
  request.causation_id = CausationId(request.id.bytes());
  return request;
}

// The batch whose write or fsync failed may still have reached the file (a
// restart then finds it): say what a client should do about it.
Status explain(Status s) {
  if (s.code() != StatusCode::kPoisoned) return s;
  return Status(StatusCode::kPoisoned,
                s.message() +
                    ". This command may or may not have been written: once the server is back, send it again "
                    "with the same command_id (commands are idempotent by id)",
                s.field());
}

}  // namespace

Result<CommandReply> CommandPipeline::run(const Principal& actor, ParsedCommand parsed) {
  if (Status s = accepted(parsed.command); !s.is_ok()) return s;
  CommandRequest request = request_for(parsed);
  auto reply = execute(actor, std::move(parsed), std::move(request), {});
  if (!reply) return explain(reply.status());
  // A command sent again after a failed effect finds its first commit and runs
  // the effects meant for retries (the key store's).
  if (!reply->failure.is_ok()) return reply->failure;
  return reply;
}

bool CommandPipeline::runs_async(const Command& c) const { return !effects_.has_effects(c); }

void CommandPipeline::run_async(const Principal& actor, ParsedCommand parsed, Engine::Executor run_on,
                                ReplyCallback done) {
  if (Status s = accepted(parsed.command); !s.is_ok()) return done(s);
  if (!runs_async(parsed.command)) {
    return done(Status(StatusCode::kInternal, "a command with effects beside the log does not run asynchronously"));
  }
  CommandRequest request = request_for(parsed);
  auto command = std::make_shared<ParsedCommand>(std::move(parsed));
  stack_.engine().execute_async(actor, std::move(request), std::move(run_on),
                                [command, done = std::move(done)](Result<CommandOutcome> outcome) {
                                  if (!outcome) return done(explain(outcome.status()));
                                  done(reply_for(std::move(*command), std::move(*outcome)));
                                });
}

Result<CommandReply> CommandPipeline::change_password(const Principal& actor, const PartnerId& partner,
                                                      const UserId& user, std::string_view new_password) {
  ParsedCommand parsed{CommandId::random(), ChangePassword{partner, user}};
  CommandRequest request = request_for(parsed);
  return execute(actor, std::move(parsed), std::move(request), new_password);
}

Result<CommandReply> CommandPipeline::execute(const Principal& actor, ParsedCommand parsed, CommandRequest request,
                                              std::string_view new_password) {
  // A temporary password's argon2id work comes before the commit: when the
  // hashing gate is full the command is refused (kBusy) with nothing written,
  // and the commit is never left waiting for a hash it cannot get.
  // Only for an actor who may be allowed (the operator, or a user of the
  // command's partner; the engine reads the user's roles and decides): others
  // should not cost a hashing.
  std::optional<PreparedPassword> prepared;
  if (effects_.hands_out_password(request.command) && may_hand_out_password(actor, request.command)) {
    auto p = stack_.credentials().prepare_temporary_password();
    if (!p) return p.status();
    prepared = std::move(*p);
  }
  auto outcome = stack_.engine().execute(actor, request);
  if (!outcome) return outcome.status();

  CommandReply reply = reply_for(std::move(parsed), std::move(*outcome));
  Committed committed{actor, reply, new_password, prepared ? &*prepared : nullptr};
  effects_.run(committed);
  return reply;
}

}  // namespace accountable
