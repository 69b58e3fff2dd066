#include "app/command_runner.h"

#include <sodium.h>

#include <spdlog/spdlog.h>

#include "events/sha256.h"

namespace accountable {

namespace {

// Which user receives a temporary password when this command succeeds.
std::optional<std::pair<PartnerId, UserId>> password_recipient(const Command& c, const CommandOutcome& out) {
  if (std::holds_alternative<EnrollPartner>(c)) {
    return std::make_pair(PartnerId(out.created_ids.at(0).bytes()), UserId(out.created_ids.at(1).bytes()));
  }
  if (const auto* u = std::get_if<CreateUser>(&c)) return std::make_pair(u->partner_id, UserId(out.created_ids.at(0).bytes()));
  if (const auto* r = std::get_if<ResetPassword>(&c)) return std::make_pair(r->partner_id, r->user_id);
  return std::nullopt;
}

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
  } else if (std::holds_alternative<FileTaxExemption>(c)) {
    r["exemption_id"] = id(0);
  } else if (std::holds_alternative<IssueAuditorAccess>(c)) {
    r["grant_id"] = id(0);
  }
  return r;
}

}  // namespace

bool CommandRunner::issues_password(const Command& c) {
  return std::holds_alternative<EnrollPartner>(c) || std::holds_alternative<CreateUser>(c) ||
         std::holds_alternative<ResetPassword>(c);
}

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

Result<CommandReply> CommandRunner::run(const Principal& actor, std::string_view json_text) {
  auto parsed = parse_command_json(json_text);
  if (!parsed) return parsed.status();
  return run(actor, std::move(*parsed));
}

Result<CommandReply> CommandRunner::run(const Principal& actor, ParsedCommand parsed) {
  if (std::holds_alternative<ChangePassword>(parsed.command)) {
    return invalid_argument("ChangePassword is not accepted as a command: the new password must not travel inside it "
                            "(use POST /v1/me/password)",
                            "type");
  }
  CommandRequest request;
  request.id = parsed.command_id;
  request.digest = command_digest(parsed);
  request.command = parsed.command;
  request.correlation_id = CorrelationId(parsed.command_id.bytes());
  request.causation_id = CausationId(parsed.command_id.bytes());
  auto outcome = stack_.engine().execute(actor, request);
  if (!outcome) {
    if (outcome.status().code() == StatusCode::kPoisoned) {
      // The batch whose write or fsync failed may still have reached the file
      // (a restart then finds it): say what a client should do about it.
      return Status(StatusCode::kPoisoned,
                    outcome.status().message() +
                        ". This command may or may not have been written: once the server is back, send it again "
                        "with the same command_id (commands are idempotent by id)",
                    outcome.status().field());
    }
    return outcome.status();
  }

  CommandReply reply{std::move(parsed), std::move(*outcome), {}, std::nullopt, Status::ok()};
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

  // A retried command was answered from its first commit: its password was issued then.
  if (!reply.outcome.duplicate) {
    if (auto who = password_recipient(reply.command.command, reply.outcome)) {
      auto password = stack_.credentials().issue_temporary_password(who->first, who->second);
      if (password) {
        reply.password = TemporaryPassword{who->first, who->second, std::move(*password)};
      } else {
        reply.password_error = password.status();
        spdlog::error("command {} committed but no temporary password was issued for user {}: {}",
                      reply.command.command_id.to_string(), who->second.to_string(), password.status().to_string());
      }
    }
    if (const auto* purge = std::get_if<PurgeUser>(&reply.command.command)) {
      if (Status erased = stack_.credentials().erase(purge->partner_id, purge->user_id); !erased.is_ok()) {
        spdlog::error("user {} purged but the credential was not erased: {}", purge->user_id.to_string(),
                      erased.to_string());
      }
    }
  }
  return reply;
}

}  // namespace accountable
