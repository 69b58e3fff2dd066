// acct exec --data DIR --as ACTOR [--passwords-file FILE]: runs commands given
// as JSON lines on stdin (docs/commands.md) through Engine::execute and prints
// one JSON line per command on stdout. The offline way to drive and import data.
//
// Temporary passwords (EnrollPartner's first admin, CreateUser, ResetPassword)
// never go to stdout or stderr: they are appended to FILE, created with mode
// 0600 and synced, and a command that would issue one is refused up front when
// no FILE was given.
#include <fcntl.h>
#include <sodium.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <cstdio>
#include <iostream>

#include "aggregates/command_json.h"
#include "aggregates/credential_store.h"
#include "aggregates/engine.h"
#include "aggregates/key_store.h"
#include "cli/commands.h"
#include "events/sha256.h"

namespace accountable::cli {

namespace {

constexpr size_t kMaxLineBytes = kMaxCommandJsonBytes;

boost::json::object error_json(const Status& s) {
  boost::json::object e;
  e["code"] = status_code_name(s.code());
  e["message"] = s.message();
  if (!s.field().empty()) e["field"] = s.field();
  boost::json::object out;
  out["ok"] = false;
  out["error"] = std::move(e);
  return out;
}

void print_line(const boost::json::object& o) {
  std::string line = boost::json::serialize(o);
  line.push_back('\n');
  std::fwrite(line.data(), 1, line.size(), stdout);
  std::fflush(stdout);
}

// Which user receives a temporary password when this command succeeds.
std::optional<std::pair<PartnerId, UserId>> password_recipient(const Command& c, const CommandOutcome& out) {
  if (std::holds_alternative<EnrollPartner>(c)) {
    return std::make_pair(PartnerId(out.created_ids.at(0).bytes()), UserId(out.created_ids.at(1).bytes()));
  }
  if (const auto* u = std::get_if<CreateUser>(&c)) return std::make_pair(u->partner_id, UserId(out.created_ids.at(0).bytes()));
  if (const auto* r = std::get_if<ResetPassword>(&c)) return std::make_pair(r->partner_id, r->user_id);
  return std::nullopt;
}

bool issues_password(const Command& c) {
  return std::holds_alternative<EnrollPartner>(c) || std::holds_alternative<CreateUser>(c) ||
         std::holds_alternative<ResetPassword>(c);
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

// "operator", or "user:<partner id>/<email>" resolved through the partner's directory.
Result<Principal> parse_actor(const std::string& text, Engine& engine, KeyStore& keys) {
  if (text == "operator") return Principal(Operator{"cli"});
  const std::string prefix = "user:";
  const size_t slash = text.find('/');
  if (text.rfind(prefix, 0) != 0 || slash == std::string::npos) {
    return invalid_argument("--as takes 'operator' or 'user:<partner id>/<email>'", "as");
  }
  auto partner = PartnerId::parse(text.substr(prefix.size(), slash - prefix.size()));
  if (!partner) return invalid_argument("--as: the partner id is not a UUID", "as");
  auto fingerprint = keys.email_fingerprint_bytes(*partner, text.substr(slash + 1));
  if (!fingerprint) return fingerprint.status();
  auto state = engine.load<PartnerState>(partner_stream(*partner));
  if (!state) return state.status();
  for (const auto& [user, fp] : state->users) {
    if (fp == *fingerprint) return Principal(PartnerUser{*partner, user, {}, true});  // rights: read by execute()
  }
  return Status(StatusCode::kUnauthenticated, "--as: no user with that email in partner " + partner->to_string());
}

}  // namespace

void add_exec_command(CLI::App& app, int* exit_code) {
  auto* cmd = app.add_subcommand("exec", "Run commands given as JSON lines on stdin; one JSON result line each");
  struct Args {
    std::string data = "./data";
    std::string as;
    std::string passwords_file;
  };
  auto args = std::make_shared<Args>();
  cmd->add_option("--data", args->data, "data folder")->capture_default_str();
  cmd->add_option("--as", args->as, "actor: operator, or user:<partner id>/<email>")->required();
  cmd->add_option("--passwords-file", args->passwords_file,
                  "new file (mode 0600) that receives the temporary passwords this run issues");
  cmd->callback([args, exit_code] {
    if (sodium_init() < 0) {
      std::fprintf(stderr, "exec: libsodium failed to initialise\n");
      *exit_code = 2;
      return;
    }
    LogOptions options;
    options.data_dir = args->data;
    auto log = EventLog::open(options);  // takes DATA/LOCK: refuses while a server holds the folder
    if (!log) {
      std::fprintf(stderr, "exec: %s\n", log.status().to_string().c_str());
      *exit_code = 2;
      return;
    }
    auto keys = KeyStore::open(posix_env(), args->data);
    auto credentials = CredentialStore::open(posix_env(), args->data);
    auto snapshots = SnapshotStore::open(posix_env(), args->data);
    for (const Status& s : {keys.status(), credentials.status(), snapshots.status()}) {
      if (!s.is_ok()) {
        std::fprintf(stderr, "exec: %s\n", s.to_string().c_str());
        *exit_code = 2;
        return;
      }
    }
    int passwords_fd = -1;
    if (!args->passwords_file.empty()) {
      passwords_fd = ::open(args->passwords_file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
      if (passwords_fd < 0) {
        std::fprintf(stderr, "exec: cannot create %s (it must not exist yet)\n", args->passwords_file.c_str());
        *exit_code = 2;
        return;
      }
      // The file's name must survive a crash like its lines do (each is fsynced).
      if (Status synced = posix_env()->sync_dir(parent_dir(args->passwords_file)); !synced.is_ok()) {
        std::fprintf(stderr, "exec: %s\n", synced.to_string().c_str());
        ::close(passwords_fd);
        *exit_code = 2;
        return;
      }
    }
    EngineOptions engine_options;
    engine_options.fingerprint = [k = keys->get()](const PartnerId& partner, std::string_view email) {
      return k->email_fingerprint_bytes(partner, email);
    };
    engine_options.snapshots = snapshots->get();
    KeyStoreCipher cipher(**keys);
    engine_options.cipher = &cipher;
    Engine engine(**log, engine_options);
    auto actor = parse_actor(args->as, engine, **keys);
    if (!actor) {
      std::fprintf(stderr, "exec: %s\n", actor.status().to_string().c_str());
      *exit_code = 2;
      if (passwords_fd >= 0) ::close(passwords_fd);
      return;
    }

    std::string line;
    size_t line_number = 0;
    int failures = 0;
    while (std::getline(std::cin, line)) {
      ++line_number;
      if (line.empty()) continue;
      if (line.size() > kMaxLineBytes) {
        print_line(error_json(invalid_argument("line " + std::to_string(line_number) + " is longer than " +
                                               std::to_string(kMaxLineBytes) + " bytes")));
        ++failures;
        continue;
      }
      auto parsed = parse_command_json(line);
      if (!parsed) {
        print_line(error_json(parsed.status()));
        ++failures;
        continue;
      }
      if (std::holds_alternative<ChangePassword>(parsed->command)) {
        // The new password must reach the credential store beside the command,
        // never in it; exec has no such channel (the server's /v1/me/password will).
        print_line(error_json(invalid_argument(
            "ChangePassword is not available through exec: the new password would have to travel in the command",
            "type")));
        ++failures;
        continue;
      }
      if (issues_password(parsed->command) && passwords_fd < 0) {
        print_line(error_json(invalid_argument(
            "this command issues a temporary password; run with --passwords-file FILE to receive it",
            "passwords_file")));
        ++failures;
        continue;
      }
      CommandRequest request;
      request.id = parsed->command_id;
      const Hash256 digest = sha256(command_to_json(*parsed));
      std::copy_n(digest.begin(), request.digest.size(), request.digest.begin());
      request.command = parsed->command;
      request.correlation_id = CorrelationId(parsed->command_id.bytes());
      request.causation_id = CausationId(parsed->command_id.bytes());
      auto outcome = engine.execute(*actor, request);
      if (!outcome) {
        print_line(error_json(outcome.status()));
        ++failures;
        continue;
      }
      boost::json::object out;
      out["ok"] = true;
      out["command_id"] = parsed->command_id.to_string();
      out["position"] = outcome->first_position.value();
      out["last_position"] = outcome->last_position.value();
      out["duplicate"] = outcome->duplicate;
      boost::json::array events;
      for (const ExecutedEvent& e : outcome->events) {
        events.push_back(boost::json::object{{"stream", e.stream}, {"version", e.version.value()}, {"type", e.type}});
      }
      out["events"] = std::move(events);
      boost::json::object result = created_json(parsed->command, *outcome);
      // A retried command was answered from its first commit: its password was issued then.
      if (auto who = outcome->duplicate ? std::nullopt : password_recipient(parsed->command, *outcome)) {
        auto password = (*credentials)->issue_temporary_password(who->first, who->second);
        if (!password) {
          result["temporary_password"] = "not issued: " + password.status().to_string();
          ++failures;
        } else {
          std::string entry = who->first.to_string() + " " + who->second.to_string() + " " + *password + "\n";
          const bool written = ::write(passwords_fd, entry.data(), entry.size()) == static_cast<ssize_t>(entry.size()) &&
                               ::fsync(passwords_fd) == 0;
          sodium_memzero(entry.data(), entry.size());
          sodium_memzero(password->data(), password->size());
          result["temporary_password"] = written ? "written to " + args->passwords_file : "not written: I/O error";
          if (!written) ++failures;
        }
      }
      out["result"] = std::move(result);
      print_line(out);
    }
    if (passwords_fd >= 0) ::close(passwords_fd);
    *exit_code = failures == 0 ? 0 : 1;
  });
}

}  // namespace accountable::cli
