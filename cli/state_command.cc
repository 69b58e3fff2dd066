// acct state --data DIR --partner ID (--as-of TIME | --at-position N): the
// partner's aggregates (profiles, users and roles, pins, business profiles)
// exactly as they were at that point, replayed from the log, as one JSON
// document (docs/audit.md, "State JSON").
#include <cstdio>
#include <memory>
#include <string>

#include <boost/json.hpp>

#include "aggregates/partner_history.h"
#include "app/account_stack.h"
#include "cli/commands.h"

namespace accountable::cli {

void add_state_command(CLI::App& app, int* exit_code) {
  auto* cmd = app.add_subcommand("state", "A partner's state as of a time or a log position, as JSON");
  struct Args {
    std::string data = "./data";
    std::string partner;
    std::string as_of;
    uint64_t at_position = 0;
  };
  auto args = std::make_shared<Args>();
  cmd->add_option("--data", args->data, "data folder")->capture_default_str();
  cmd->add_option("--partner", args->partner, "partner id (UUID)")->required();
  auto* as_of = cmd->add_option("--as-of", args->as_of, "after the last event recorded at or before this time");
  auto* at = cmd->add_option("--at-position", args->at_position, "after the event at this log position");
  as_of->excludes(at);
  cmd->callback([args, exit_code, as_of, at] {
    auto fail = [&](int code, const std::string& what) {
      std::fprintf(stderr, "state: %s\n", what.c_str());
      *exit_code = code;
    };
    auto partner = PartnerId::parse(args->partner);
    if (!partner) return fail(2, "--partner: " + partner.status().to_string());
    AsOf point;
    if (as_of->count() > 0) {
      auto t = parse_timestamp(args->as_of);
      if (!t) return fail(2, "--as-of: " + t.status().to_string());
      point.time = *t;
    } else if (at->count() > 0) {
      point.position = GlobalPosition(args->at_position);
    } else {
      return fail(2, "give --as-of TIME or --at-position N");
    }
    AccountStackOptions stack_options;
    stack_options.data_dir = args->data;
    stack_options.sign_checkpoints = false;  // a reader: it must not add signatures to the folder
    auto stack = AccountStack::open(stack_options);
    if (!stack) return fail(2, stack.status().to_string());
    auto states = partner_state_as_of((*stack)->log(), &(*stack)->cipher(), *partner, point);
    if (!states) {
      (*stack)->close().ignore();
      return fail(states.status().code() == StatusCode::kInvalidArgument ? 2 : 1, states.status().to_string());
    }
    std::printf("%s\n", boost::json::serialize(partner_states_json(*partner, *states, point)).c_str());
    if (Status closed = (*stack)->close(); !closed.is_ok()) return fail(1, "close: " + closed.to_string());
    *exit_code = 0;
  });
}

}  // namespace accountable::cli
