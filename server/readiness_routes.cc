// "Can we sell, and if not, why" (issue 22): GET /v1/partners/{id}/readiness
// lists every blocker of the partner at once, from sale_blockers() over the
// partner's state as the engine has it now: the same function whose first
// refusing blocker is PinOffer's refusal (aggregates/partner.h), so the list
// and the command cannot disagree. Who clears a blocker is read from the
// permission matrix, not written here.
#include <boost/json.hpp>

#include "aggregates/partner.h"
#include "aggregates/roles.h"
#include "server/api.h"
#include "server/api_replies.h"

namespace accountable {

using namespace api;  // NOLINT: the shared replies and parsers

namespace {

// Who may issue `command`, as the matrix says: "operator" and/or role names.
json::array cleared_by(std::string_view command) {
  json::array out;
  const std::optional<Permission> p = permission_for_command(command);
  if (!p) return out;
  const PermissionRule& rule = permission_rule(*p);
  if (rule.operator_principal) out.emplace_back("operator");
  for (Role r : rule.roles) out.emplace_back(enum_name(r));
  return out;
}

}  // namespace

void Api::add_readiness_routes() {
  router_.add(http::verb::get, "/v1/partners/{id}/readiness", bind(&Api::get_readiness));
}

ApiReply Api::get_readiness(const ApiRequest& req) {
  auto who = caller(req);
  if (!who) return reply_error(who.status());
  auto partner = path_partner(req);
  if (!partner) return reply_error(partner.status());
  if (Status s = authorize(*who, Permission::kReadSalesReadiness, *partner); !s.is_ok()) return reply_error(s);
  auto state = stack_.engine().load<PartnerState>(partner_stream(*partner));
  if (!state) return reply_error(state.status());
  if (!state->enrolled) return reply_error(Status(StatusCode::kNotFound, "no partner " + partner->to_string(), "id"));
  const Timestamp at = now();
  json::array blockers;
  bool can_pin = true;
  for (const SaleBlocker& b : sale_blockers(*state, at)) {
    can_pin = can_pin && !b.refuses_pin_offer;
    blockers.push_back(json::object{
        {"code", b.code},
        {"message", b.message},
        {"clears_with", b.clears_with},
        {"cleared_by", cleared_by(b.clears_with)},
        {"refuses_pin_offer", b.refuses_pin_offer},
        {"due_at", b.due_at ? json::value(format_timestamp(*b.due_at)) : json::value(nullptr)}});
  }
  const bool ready = blockers.empty();
  return reply_json(json::object{{"partner_id", partner->to_string()},
                                 {"as_of", format_timestamp(at)},
                                 {"version", state->version.value()},
                                 {"ready_to_sell", ready},
                                 {"can_pin_offers", can_pin},
                                 {"blockers", std::move(blockers)}});
}

}  // namespace accountable
