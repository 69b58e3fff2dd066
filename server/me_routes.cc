// "Who am I" (issue 22): GET /v1/me answers the caller's principal, user
// record, roles and the permissions they imply; PATCH /v1/me changes the
// caller's own name and phone (UpdateOwnProfile). The permissions are the
// matrix's (permissions_of in aggregates/roles.h), never a list of their own.
#include <boost/json.hpp>

#include "aggregates/roles.h"
#include "aggregates/user.h"
#include "server/api.h"
#include "server/api_replies.h"
#include "server/shard_positions.h"

namespace accountable {

using namespace api;  // NOLINT: the shared replies and parsers

namespace {

std::string_view kind_name(const Principal& who) {
  if (std::holds_alternative<PartnerUser>(who)) return "user";
  if (std::holds_alternative<Operator>(who)) return "operator";
  if (std::holds_alternative<Auditor>(who)) return "auditor";
  return "anonymous";
}

json::array role_names(const std::vector<Role>& roles) {
  json::array out;
  for (Role r : roles) out.emplace_back(enum_name(r));
  return out;
}

// Every role by its category (a user holds at most one per category), so a
// client's form can say so without a copy of the rule.
json::array role_categories_json() {
  json::array out;
  for (RoleCategory c : {RoleCategory::kAdmin, RoleCategory::kAgent, RoleCategory::kIncentives,
                         RoleCategory::kReferralAndMarketing}) {
    json::array roles;
    for (Role r : all_roles()) {
      if (role_category(r) == c) roles.emplace_back(enum_name(r));
    }
    out.push_back(json::object{{"category", category_name(c)}, {"roles", std::move(roles)}});
  }
  return out;
}

// The body of GET /v1/me (and of PATCH /v1/me's answer). `user`: the caller's
// user record, for a partner user only.
json::object me_json(const Principal& who, const UserState* user) {
  json::array permissions;
  for (Permission p : permissions_of(who)) {
    const PermissionRule& rule = permission_rule(p);
    permissions.push_back(json::object{{"code", rule.code}, {"name", rule.name}});
  }
  const std::optional<PartnerId> partner = own_partner(who);
  json::object out{{"principal", principal_id(who)},
                   {"kind", kind_name(who)},
                   {"partner_id", partner ? json::value(partner->to_string()) : json::value(nullptr)},
                   {"user", nullptr},
                   {"roles", json::array{}},
                   {"permissions", std::move(permissions)},
                   {"grantable_roles", role_names(grantable_roles(who))},
                   {"role_categories", role_categories_json()}};
  if (user) {
    const ContactDetails& c = user->profile.value;
    out["user"] = json::object{{"user_id", user->user_id.to_string()},
                               {"first_name", c.first_name},
                               {"last_name", c.last_name},
                               {"email", c.email},
                               {"phone", c.phone},
                               {"status", user_status_name(user->status)},
                               {"must_change_password", user->must_change_password}};
    // In all_roles() order, as the role enum spells them.
    std::vector<Role> held;
    for (Role r : all_roles()) {
      if (user->roles.count(r)) held.push_back(r);
    }
    out["roles"] = role_names(held);
  }
  return out;
}

// PATCH /v1/me's fields: a JSON object with at least one of first_name,
// last_name, phone (strings); anything else is refused, naming it.
Status apply_patch(const json::object& body, UpdateOwnProfile* c) {
  if (body.empty()) return invalid_argument("give at least one of first_name, last_name, phone");
  for (const auto& kv : body) {
    const std::string key(kv.key());
    std::string* target = key == "first_name" ? &c->first_name
                          : key == "last_name"  ? &c->last_name
                          : key == "phone"      ? &c->phone
                                                : nullptr;
    if (key == "email") {
      return invalid_argument("is not changed here: a user manager changes it (UpdateUserProfile)", key);
    }
    if (!target) return invalid_argument("is not a field of PATCH /v1/me (first_name, last_name, phone)", key);
    if (!kv.value().is_string()) return invalid_argument("must be a string", key);
    *target = std::string(kv.value().as_string());
  }
  return Status::ok();
}

}  // namespace

void Api::add_me_routes() {
  router_.add(http::verb::get, "/v1/me", bind(&Api::get_me));
  router_.add(http::verb::patch, "/v1/me", bind(&Api::patch_me));
}

// Operators and auditors have no user record: they get their principal, its
// partner (an auditor's) and permissions, with "user": null and no roles.
// A temporary password does not stop this read (the client learns it must
// change it here), as with GET /v1/me/sessions.
ApiReply Api::get_me(const ApiRequest& req) {
  auto grant = authenticate(req, /*allow_must_change=*/true);
  if (!grant) return reply_error(grant.status());
  auto who = current_principal(*grant);
  if (!who) return reply_error(who.status());
  const auto* user = std::get_if<PartnerUser>(&*who);
  if (!user) return reply_json(me_json(*who, nullptr));
  if (Status s = authorize(*who, Permission::kReadOwnProfile, user->partner_id); !s.is_ok()) return reply_error(s);
  auto state = stack_.engine().load<UserState>(user_stream(user->user_id));
  if (!state) return reply_error(state.status());
  return reply_json(me_json(*who, &*state));
}

ApiReply Api::patch_me(const ApiRequest& req) {
  if (auto elsewhere = route_write(req)) return std::move(*elsewhere);
  auto finish = [&](const Status& s) {
    metrics_.count_command(UpdateOwnProfile::kName, status_code_name(s.code()));
    return reply_error(s);
  };
  auto grant = authenticate(req);
  if (!grant) return finish(grant.status());
  if (grant->kind != TokenGrant::Kind::kUser) {
    return finish(Status(StatusCode::kForbidden,
                         "only partner users have a user record to change; the operator and auditors have none"));
  }
  auto who = current_principal(*grant);
  if (!who) return finish(who.status());
  auto body = parse_body_object(req);
  if (!body) return finish(body.status());
  // Fields not given keep their current value.
  auto before = stack_.engine().load<UserState>(user_stream(grant->user));
  if (!before) return finish(before.status());
  const ContactDetails& current = before->profile.value;
  UpdateOwnProfile change{grant->partner, grant->user, current.first_name, current.last_name, current.phone};
  if (Status s = apply_patch(*body, &change); !s.is_ok()) return finish(s);
  auto reply = pipeline_.run(*who, ParsedCommand{CommandId::random(), change});
  if (!reply) return finish(reply.status());
  metrics_.count_command(UpdateOwnProfile::kName, "ok");
  auto after = stack_.engine().load<UserState>(user_stream(grant->user));
  if (!after) return reply_error(after.status());
  json::object out = me_json(*who, &*after);
  const uint64_t last = reply->outcome.last_position.value();
  out["position"] = reply->outcome.first_position.value();
  out["last_position"] = last;
  out["min_position"] = position_token(options_.shard, last);
  return reply_json(out);
}

}  // namespace accountable
