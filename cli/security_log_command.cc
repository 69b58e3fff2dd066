// acct security-log export|verify --data DIR: the security log
// (docs/security-log.md) read from the files, also while `acct serve` runs.
//   export [--from SEQ] [--partner ID]: one JSON object per line, oldest first.
//   verify: every checksum, the seqs and the chain of `prev`; prints one JSON
//           line; exit 1 naming the first damage.
#include <cstdio>
#include <memory>
#include <string>

#include <boost/json.hpp>

#include "app/security_log.h"
#include "cli/commands.h"

namespace accountable::cli {
namespace json = boost::json;

void add_security_log_command(CLI::App& app, int* exit_code) {
  auto* cmd = app.add_subcommand("security-log", "The security log: sign-ins, sign-outs, revocations, operator-token use");
  cmd->require_subcommand(1);
  struct Args {
    std::string data = "./data";
    uint64_t from = 1;
    std::string partner;
  };
  auto args = std::make_shared<Args>();
  auto* exp = cmd->add_subcommand("export", "Print the records as JSON lines, oldest first");
  exp->add_option("--data", args->data, "data folder")->capture_default_str();
  exp->add_option("--from", args->from, "the first seq")->capture_default_str()->check(CLI::PositiveNumber);
  exp->add_option("--partner", args->partner, "only the records of this partner id");
  exp->callback([args, exit_code] {
    const std::string dir = SecurityLog::folder(args->data);
    if (!posix_env()->file_exists(dir)) {
      std::fprintf(stderr, "security-log: %s does not exist (acct serve creates it)\n", dir.c_str());
      *exit_code = 2;
      return;
    }
    std::function<bool(const json::object&)> keep;
    if (!args->partner.empty()) {
      keep = [p = args->partner](const json::object& o) {
        const json::value* v = o.if_contains("partner");
        return v != nullptr && v->is_string() && v->as_string() == p;
      };
    }
    uint64_t from = args->from;
    for (;;) {  // bounded: each page moves `from` forward, and the files end
      auto page = SecurityLog::read(posix_env(), dir, from, 1000, keep);
      if (!page) {
        std::fprintf(stderr, "security-log: %s\n", page.status().to_string().c_str());
        *exit_code = 1;
        return;
      }
      for (const json::object& o : page->records) std::printf("%s\n", json::serialize(o).c_str());
      if (page->end || page->next <= from) break;
      from = page->next;
    }
  });
  auto* ver = cmd->add_subcommand("verify", "Check every record's checksum, the seqs and the hash chain");
  ver->add_option("--data", args->data, "data folder")->capture_default_str();
  ver->callback([args, exit_code] {
    auto v = SecurityLog::verify(posix_env(), SecurityLog::folder(args->data));
    if (!v) {
      std::fprintf(stderr, "security-log: %s\n", v.status().to_string().c_str());
      *exit_code = 1;
      return;
    }
    json::object out{{"ok", v->damage.empty()},
                     {"files", v->files},
                     {"records", v->records},
                     {"first_seq", v->first_seq},
                     {"last_seq", v->last_seq},
                     {"chain_starts_at_genesis", v->chain_starts_at_genesis}};
    if (!v->damage.empty()) out["damage"] = v->damage;
    std::printf("%s\n", json::serialize(out).c_str());
    if (!v->damage.empty()) *exit_code = 1;
  });
}

}  // namespace accountable::cli
