// acct history --data DIR --partner ID [--from TIME] [--to TIME] [--format table|jsonl|csv]:
// the partner's timeline replayed from the log, each event with who, when,
// which command, and the fields it changed (docs/audit.md).
#include <cstdio>
#include <memory>
#include <string>

#include <boost/json.hpp>

#include "aggregates/partner_history.h"
#include "app/account_stack.h"
#include "cli/commands.h"

namespace accountable::cli {

void add_history_command(CLI::App& app, int* exit_code) {
  auto* cmd = app.add_subcommand("history", "A partner's timeline: every event with the fields it changed");
  struct Args {
    std::string data = "./data";
    std::string partner;
    std::string from, to;
    std::string format = "table";
  };
  auto args = std::make_shared<Args>();
  cmd->add_option("--data", args->data, "data folder")->capture_default_str();
  cmd->add_option("--partner", args->partner, "partner id (UUID)")->required();
  cmd->add_option("--from", args->from, "first time shown (RFC 3339 or a date), inclusive");
  cmd->add_option("--to", args->to, "end of the times shown (RFC 3339 or a date), exclusive");
  cmd->add_option("--format", args->format, "table, jsonl or csv")
      ->capture_default_str()
      ->check(CLI::IsMember({"table", "jsonl", "csv"}));
  cmd->callback([args, exit_code] {
    auto fail = [&](int code, const std::string& what) {
      std::fprintf(stderr, "history: %s\n", what.c_str());
      *exit_code = code;
    };
    auto partner = PartnerId::parse(args->partner);
    if (!partner) return fail(2, "--partner: " + partner.status().to_string());
    HistoryOptions options;
    if (!args->from.empty()) {
      auto t = parse_timestamp(args->from);
      if (!t) return fail(2, "--from: " + t.status().to_string());
      options.from_time = *t;
    }
    if (!args->to.empty()) {
      auto t = parse_timestamp(args->to);
      if (!t) return fail(2, "--to: " + t.status().to_string());
      options.to_time = *t;
    }
    AccountStackOptions stack_options;
    stack_options.data_dir = args->data;
    stack_options.sign_checkpoints = false;  // a reader: it must not add signatures to the folder
    auto stack = AccountStack::open(stack_options);
    if (!stack) return fail(2, stack.status().to_string());
    auto lines = partner_history((*stack)->log(), &(*stack)->cipher(), *partner, options);
    if (!lines) {
      (*stack)->close().ignore();
      return fail(1, lines.status().to_string());
    }
    if (args->format == "csv") std::printf("%s\n", history_csv_header().c_str());
    for (const HistoryLine& line : *lines) {
      if (args->format == "jsonl") {
        std::printf("%s\n", boost::json::serialize(history_line_json(line)).c_str());
      } else if (args->format == "csv") {
        std::printf("%s\n", history_csv_row(line).c_str());
      } else {
        std::printf("%s", history_table_row(line).c_str());
      }
    }
    if (Status closed = (*stack)->close(); !closed.is_ok()) return fail(1, "close: " + closed.to_string());
    *exit_code = 0;
  });
}

}  // namespace accountable::cli
