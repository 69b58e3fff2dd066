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

#include "app/account_stack.h"
#include "app/command_pipeline.h"
#include "cli/commands.h"

namespace accountable::cli {

namespace {

constexpr size_t kMaxLineBytes = kMaxCommandJsonBytes;

void print_line(const boost::json::object& o) {
  std::string line = boost::json::serialize(o);
  line.push_back('\n');
  std::fwrite(line.data(), 1, line.size(), stdout);
  std::fflush(stdout);
}

void print_error(const Status& s) { print_line(boost::json::object{{"ok", false}, {"error", error_object(s)}}); }

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
    AccountStackOptions options;
    options.data_dir = args->data;
    auto stack = AccountStack::open(options);  // takes DATA/LOCK: refuses while a server holds the folder
    if (!stack) {
      std::fprintf(stderr, "exec: %s\n", stack.status().to_string().c_str());
      *exit_code = 2;
      return;
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
    auto actor = resolve_actor(**stack, args->as);
    if (!actor) {
      std::fprintf(stderr, "exec: --as: %s\n", actor.status().to_string().c_str());
      *exit_code = 2;
      if (passwords_fd >= 0) ::close(passwords_fd);
      return;
    }
    CommandPipeline pipeline(**stack);

    std::string line;
    size_t line_number = 0;
    int failures = 0;
    while (std::getline(std::cin, line)) {
      ++line_number;
      if (line.empty()) continue;
      if (line.size() > kMaxLineBytes) {
        print_error(invalid_argument("line " + std::to_string(line_number) + " is longer than " +
                                     std::to_string(kMaxLineBytes) + " bytes"));
        ++failures;
        continue;
      }
      auto parsed = parse_command_json(line);
      if (!parsed) {
        print_error(parsed.status());
        ++failures;
        continue;
      }
      if (pipeline.issues_password(parsed->command) && passwords_fd < 0) {
        print_error(invalid_argument("this command issues a temporary password; run with --passwords-file FILE to "
                                     "receive it",
                                     "passwords_file"));
        ++failures;
        continue;
      }
      auto reply = pipeline.run(*actor, std::move(*parsed));
      if (!reply) {
        print_error(reply.status());
        ++failures;
        continue;
      }
      boost::json::object out{{"ok", true}};
      for (auto& [key, value] : reply->body) out[key] = std::move(value);
      boost::json::object& result = out["result"].as_object();
      if (reply->password) {
        TemporaryPassword& p = *reply->password;
        std::string entry = p.partner.to_string() + " " + p.user.to_string() + " " + p.password + "\n";
        const bool written = ::write(passwords_fd, entry.data(), entry.size()) == static_cast<ssize_t>(entry.size()) &&
                             ::fsync(passwords_fd) == 0;
        sodium_memzero(entry.data(), entry.size());
        sodium_memzero(p.password.data(), p.password.size());
        result["temporary_password"] = written ? "written to " + args->passwords_file : "not written: I/O error";
        if (!written) ++failures;
      } else if (!reply->password_error.is_ok()) {
        result["temporary_password"] = "not issued: " + reply->password_error.to_string();
        ++failures;
      }
      print_line(out);
    }
    if (passwords_fd >= 0) ::close(passwords_fd);
    if (Status closed = (*stack)->close(); !closed.is_ok()) {
      std::fprintf(stderr, "exec: close: %s\n", closed.to_string().c_str());
      ++failures;
    }
    *exit_code = failures == 0 ? 0 : 1;
  });
}

}  // namespace accountable::cli
