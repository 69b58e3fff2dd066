// acct retention: the retention job offline (docs/retention.md). `acct serve`
// runs it by itself (--retention-interval-seconds); these take DATA/LOCK, so
// they run only while no server holds the folder.
//
//   acct retention status --data DIR [--now TIME]            the due users and those still in their window
//   acct retention run    --data DIR [--dry-run] [--max N]   purge the due users (at most N), print the report
#include <boost/json.hpp>
#include <cstdio>

#include "app/account_stack.h"
#include "cli/commands.h"
#include "server/retention.h"

namespace accountable::cli {

namespace {

struct RetentionArgs {
  std::string data = "./data";
  std::string now;  // status: as of this time (default now)
  bool dry_run = false;
  size_t max_per_run = 100;
  size_t scan_limit = 10'000;
};

int fail(const char* what, const Status& s) {
  std::fprintf(stderr, "retention %s: %s\n", what, s.to_string().c_str());
  return 1;
}

// The stack and its views caught up to the head, then `body`.
int with_views(const RetentionArgs& a, const std::function<int(AccountStack&, ViewSet&)>& body) {
  AccountStackOptions options;
  options.data_dir = a.data;
  auto stack = AccountStack::open(options);  // takes DATA/LOCK: not beside a running server
  if (!stack) return fail("open", stack.status());
  int code = 0;
  {
    auto views = ViewSet::open((*stack)->data_dir(), (*stack)->log(), &(*stack)->cipher());
    if (!views) return fail("views", views.status());
    if (Status s = (*views)->catch_up(); !s.is_ok()) return fail("views", s);
    code = body(**stack, **views);
  }
  if (Status s = (*stack)->close(); !s.is_ok() && code == 0) code = fail("close", s);
  return code;
}

}  // namespace

void add_retention_command(CLI::App& app, int* exit_code) {
  auto* cmd = app.add_subcommand("retention", "Users purged 30 days after deactivation: what is due, and a run");
  cmd->require_subcommand(1);
  auto args = std::make_shared<RetentionArgs>();

  auto* status = cmd->add_subcommand("status", "List the deactivated users: due for purging, and the others with "
                                               "their due time (JSON)");
  status->add_option("--data", args->data, "data folder")->capture_default_str();
  status->add_option("--now", args->now, "as of this time (RFC 3339; default now)");
  status->add_option("--limit", args->scan_limit, "deactivated users listed at most")
      ->capture_default_str()
      ->check(CLI::Range(size_t{1}, size_t{1'000'000}));
  status->callback([args, exit_code] {
    Timestamp now = SystemClock().now();
    if (!args->now.empty()) {
      auto t = parse_timestamp(args->now);
      if (!t) {
        *exit_code = fail("--now", t.status());
        return;
      }
      now = *t;
    }
    *exit_code = with_views(*args, [&](AccountStack&, ViewSet& views) {
      auto queue = retention_queue(views, now, args->scan_limit);
      if (!queue) return fail("status", queue.status());
      std::printf("%s\n", boost::json::serialize(to_json(*queue, now)).c_str());
      return 0;
    });
  });

  auto* run = cmd->add_subcommand("run", "Purge the due users as the operator (at most --max), print the report");
  run->add_option("--data", args->data, "data folder")->capture_default_str();
  run->add_flag("--dry-run", args->dry_run, "list what would be purged; write nothing");
  run->add_option("--max", args->max_per_run, "users purged at most; the rest wait for the next run")
      ->capture_default_str()
      ->check(CLI::Range(size_t{1}, size_t{100'000}));
  run->callback([args, exit_code] {
    *exit_code = with_views(*args, [&](AccountStack& stack, ViewSet& views) {
      CommandPipeline pipeline(stack);  // no token store offline: DeactivateUser revoked the sessions
      RetentionOptions options;
      options.max_per_run = args->max_per_run;
      options.scan_limit = args->scan_limit;
      auto report = run_retention(pipeline, views, SystemClock().now(), options, args->dry_run);
      if (!report) return fail("run", report.status());
      std::printf("%s\n", boost::json::serialize(to_json(*report)).c_str());
      // A failure that may pass (a full disk...) is an error exit; a refusal is not.
      return report->count(RetentionOutcome::kFailed) > 0 ? 1 : 0;
    });
  });
}

}  // namespace accountable::cli
