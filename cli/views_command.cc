// acct views: the read views offline (docs/views.md). The log's folder lock
// means these run only while no server holds DATA; with a server running, use
// POST /v1/views/{name}/rebuild (operator) and the view routes.
//
//   acct views status  --data DIR            catch up, print every view's position and lag
//   acct views rebuild --data DIR [NAME]     blue/green rebuild of NAME (or every view)
//   acct views query   --data DIR --as ACTOR catalog|pricing|users|profile|history [options]
#include <boost/json.hpp>
#include <cstdio>

#include "app/account_stack.h"
#include "cli/commands.h"
#include "projections/view_json.h"
#include "projections/view_queries.h"

namespace accountable::cli {

namespace {

struct ViewsArgs {
  std::string data = "./data";
  std::string name;  // rebuild: one view, or all
  std::string as = "operator";
  std::string question;
  std::string partner, market, currency, offer, date;
  uint64_t from = 1;
  size_t limit = 100;
};

void print_json(const boost::json::value& v) { std::printf("%s\n", boost::json::serialize(v).c_str()); }

int fail(const char* what, const Status& s) {
  std::fprintf(stderr, "views %s: %s\n", what, s.to_string().c_str());
  return 1;
}

template <class T>
int print_result(const Result<T>& r) {
  if (!r) return fail("query", r.status());
  print_json(to_json(*r));
  return 0;
}

// The views of DATA with everything up to the head applied.
Result<std::unique_ptr<ViewSet>> open_views(AccountStack& stack) {
  auto views = ViewSet::open(stack.data_dir(), stack.log(), &stack.cipher());
  if (!views) return views.status();
  ACCT_RETURN_IF_ERROR((*views)->catch_up());
  return views;
}

int run_query(AccountStack& stack, const ViewsArgs& a) {
  auto views = open_views(stack);
  if (!views) return fail("open", views.status());
  auto actor = resolve_actor(stack, a.as);
  if (!actor) return fail("--as", actor.status());
  Principal who = *actor;
  if (auto* u = std::get_if<PartnerUser>(&who)) {  // ViewQueries trusts the principal: read the current roles
    auto state = stack.engine().load<UserState>(user_stream(u->user_id));
    if (!state) return fail("--as", state.status());
    who = principal_of(*state);
  }
  Timestamp date = SystemClock().now();
  if (!a.date.empty()) {
    auto t = parse_timestamp(a.date);
    if (!t) return fail("--date", invalid_argument("must be an RFC 3339 time or a date", "date"));
    date = *t;
  }
  ViewQueries q(**views);
  std::optional<PartnerId> partner;
  if (!a.partner.empty()) {
    auto p = PartnerId::parse(a.partner);
    if (!p) return fail("--partner", invalid_argument("is not a UUID", "partner"));
    partner = *p;
  }
  auto need_partner = [&]() -> bool {
    if (partner) return true;
    std::fprintf(stderr, "views query %s: --partner is required\n", a.question.c_str());
    return false;
  };
  if (a.question == "catalog") return need_partner() ? print_result(q.catalog(who, *partner, date)) : 2;
  if (a.question == "users") return need_partner() ? print_result(q.users(who, *partner)) : 2;
  if (a.question == "profile") return need_partner() ? print_result(q.profile(who, *partner, date)) : 2;
  if (a.question == "history") {
    return need_partner() ? print_result(q.timeline(who, *partner, GlobalPosition(a.from), a.limit)) : 2;
  }
  if (a.question == "pricing") {
    if (a.market.empty() || a.currency.empty()) {
      std::fprintf(stderr, "views query pricing: --market and --currency are required\n");
      return 2;
    }
    if (!a.offer.empty()) return print_result(q.price(who, a.offer, a.market, a.currency, date));
    return print_result(q.price_list(who, a.market, date, a.currency));
  }
  std::fprintf(stderr, "views query: unknown question '%s' (catalog, pricing, users, profile, history)\n",
               a.question.c_str());
  return 2;
}

}  // namespace

void add_views_command(CLI::App& app, int* exit_code) {
  auto* cmd = app.add_subcommand("views", "The read views offline: status, rebuild, query (docs/views.md)");
  cmd->require_subcommand(1);
  auto args = std::make_shared<ViewsArgs>();
  auto with_stack = [args, exit_code](std::function<int(AccountStack&)> body) {
    return [args, exit_code, body] {
      AccountStackOptions options;
      options.data_dir = args->data;
      auto stack = AccountStack::open(options);  // takes DATA/LOCK: not beside a running server
      if (!stack) {
        *exit_code = fail("open", stack.status());
        return;
      }
      *exit_code = body(**stack);
      if (Status s = (*stack)->close(); !s.is_ok() && *exit_code == 0) *exit_code = fail("close", s);
    };
  };

  auto* status = cmd->add_subcommand("status", "Catch every view up to the head and print positions and lag");
  status->add_option("--data", args->data, "data folder")->capture_default_str();
  status->callback(with_stack([](AccountStack& stack) {
    auto views = open_views(stack);
    if (!views) return fail("status", views.status());
    print_json(to_json((*views)->lag()));
    return 0;
  }));

  auto* rebuild = cmd->add_subcommand("rebuild", "Rebuild a view (or every view) from position 0 and swap it in");
  rebuild->add_option("--data", args->data, "data folder")->capture_default_str();
  rebuild->add_option("name", args->name, "the view (catalog, pricing, directory, profile, audit, listings); all if omitted");
  rebuild->callback(with_stack([args](AccountStack& stack) {
    auto views = ViewSet::open(stack.data_dir(), stack.log(), &stack.cipher());
    if (!views) return fail("rebuild", views.status());
    std::vector<std::string> names = args->name.empty() ? (*views)->names() : std::vector<std::string>{args->name};
    for (const std::string& name : names) {
      if (Status s = (*views)->rebuild(name); !s.is_ok()) return fail("rebuild", s);
    }
    print_json(to_json((*views)->lag()));
    return 0;
  }));

  auto* query = cmd->add_subcommand("query", "Ask a view a question as ACTOR, print JSON");
  query->add_option("--data", args->data, "data folder")->capture_default_str();
  query->add_option("--as", args->as, "operator, or user:<partner id>/<email>")->capture_default_str();
  query->add_option("question", args->question, "catalog, pricing, users, profile or history")->required();
  query->add_option("--partner", args->partner, "partner id");
  query->add_option("--market", args->market, "pricing: market (ISO country)");
  query->add_option("--currency", args->currency, "pricing: currency");
  query->add_option("--offer", args->offer, "pricing: one offer's price");
  query->add_option("--date", args->date, "as of this date (default now)");
  query->add_option("--from", args->from, "history: first position")->capture_default_str();
  query->add_option("--limit", args->limit, "history: page size")->capture_default_str();
  query->callback(with_stack([args](AccountStack& stack) { return run_query(stack, *args); }));
}

}  // namespace accountable::cli
