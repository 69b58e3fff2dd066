#include "aggregates/user.h"

#include <algorithm>

#include "aggregates/roles.h"
#include "aggregates/rule_errors.h"
#include "aggregates/validation.h"
#include "schema/notification_ids.h"

namespace accountable {

namespace {

Status require_user(const PartnerState& p, const UserState& u, const PartnerId& partner_id, const UserId& user_id) {
  ACCT_RETURN_IF_ERROR(require_partner(p, partner_id));
  if (!u.exists || u.user_id != user_id || u.partner_id != partner_id) {
    return not_found("no user " + user_id.to_string() + " in this partner", "user_id");
  }
  if (u.status == UserStatus::kPurged) return not_found("the user was purged", "user_id");
  return Status::ok();
}

Status require_active(const UserState& u) {
  if (u.status != UserStatus::kActive) return rule_violated(rule::kUserInactive, "the user is deactivated", "user_id");
  return Status::ok();
}

// Managing a Global admin (profile, password, lifecycle) would let a lesser
// admin take over a Global admin's account: only a Global admin may.
Status check_may_manage(const Principal& actor, const UserState& target) {
  const auto* user = std::get_if<PartnerUser>(&actor);
  if (user && target.roles.count(Role::kGlobalAdmin) && !user->roles.count(Role::kGlobalAdmin)) {
    return forbidden("missing permission: manage a Global admin (only a Global admin may)", "user_id");
  }
  return Status::ok();
}

// A command on one's own account (ChangePassword, UpdateOwnProfile): the
// matrix's permission, the actor must be that user (`what` names the refusal
// otherwise), who exists and is active.
Status check_own_account(const PartnerState& p, const UserState& u, const CommandContext& ctx,
                         std::string_view command, const PartnerId& partner_id, const UserId& user_id,
                         const std::string& what) {
  ACCT_RETURN_IF_ERROR(authorize_command(ctx.actor, command, partner_id));
  const auto* self = std::get_if<PartnerUser>(&ctx.actor);
  if (!self || self->user_id != user_id) return forbidden("missing permission: " + what + " (only one's own)", "user_id");
  ACCT_RETURN_IF_ERROR(require_user(p, u, partner_id, user_id));
  return require_active(u);
}

bool is_last_active_global_admin(const PartnerState& p, const UserId& id) {
  return p.active_global_admins.size() == 1 && p.active_global_admins.count(id) == 1;
}

StreamWrite user_write(const UserState& u, std::vector<DomainEvent> events) {
  return StreamWrite{user_stream(u.user_id), expect_version_of(u.version), std::move(events)};
}

StreamWrite partner_write(const PartnerState& p, std::vector<DomainEvent> events) {
  return StreamWrite{partner_stream(p.partner_id), expect_version_of(p.version), std::move(events)};
}

Status check_roles(const std::vector<Role>& roles, const Principal& actor) {
  for (size_t i = 0; i < roles.size(); ++i) {
    std::string field = "roles[" + std::to_string(i) + "]";
    if (!is_valid_role(roles[i])) return invalid_argument("unknown role", field);
    for (size_t j = 0; j < i; ++j) {
      if (field_rule<CreateUser>("roles").unique && roles[j] == roles[i]) {
        return invalid_argument("role listed twice", field);
      }
      if (role_category(roles[j]) == role_category(roles[i])) {
        return rule_violated(rule::kOneRolePerCategory,
                             "a user holds at most one role per category (" +
                                 std::string(category_name(role_category(roles[i]))) + ")",
                             field);
      }
    }
    Status grant = authorize_grant(actor, roles[i]);
    if (!grant.is_ok()) return Status(grant.code(), grant.message(), field);
  }
  return Status::ok();
}

}  // namespace

std::string_view user_status_name(UserStatus s) {
  switch (s) {
    case UserStatus::kActive: return "active";
    case UserStatus::kDeactivated: return "deactivated";
    case UserStatus::kPurged: return "purged";
  }
  return "unknown";
}

PartnerUser principal_of(const UserState& u) {
  return PartnerUser{u.partner_id, u.user_id, u.roles, u.exists && u.status == UserStatus::kActive};
}

UserState evolve(UserState s, const DomainEvent& event) {
  s.version = s.version.next();
  std::visit(
      [&s](const auto& e) {
        using T = std::decay_t<decltype(e)>;
        if constexpr (std::is_same_v<T, UserCreated>) {
          s.exists = true;
          s.user_id = e.user_id;
          s.partner_id = e.partner_id;
          s.profile = e.profile;
          s.email_fingerprint = e.email_fingerprint;
        } else if constexpr (std::is_same_v<T, UserProfileUpdated>) {
          s.profile = e.profile;
          s.email_fingerprint = e.email_fingerprint;
        } else if constexpr (std::is_same_v<T, RoleAssigned>) {
          s.roles.insert(e.role);
        } else if constexpr (std::is_same_v<T, RoleRemoved>) {
          s.roles.erase(e.role);
        } else if constexpr (std::is_same_v<T, PasswordSet>) {
          s.must_change_password = e.must_change_at_next_sign_in;
        } else if constexpr (std::is_same_v<T, UserDeactivated>) {
          s.status = UserStatus::kDeactivated;
          s.deactivated_at = e.at;
        } else if constexpr (std::is_same_v<T, UserRestored>) {
          s.status = UserStatus::kActive;
        } else if constexpr (std::is_same_v<T, UserPurged>) {
          s.status = UserStatus::kPurged;
          s.profile = PersonalContact{s.profile.subject, {}};
          s.email_fingerprint.clear();
          s.roles.clear();
        }
      },
      event);
  return s;
}

Result<Decision> decide(const PartnerState& p, const CreateUser& c, const CommandContext& ctx) {
  ACCT_RETURN_IF_ERROR(authorize_command(ctx.actor, CreateUser::kName, c.partner_id));
  ACCT_RETURN_IF_ERROR(require_partner(p, c.partner_id));
  ACCT_RETURN_IF_ERROR(check_contact(c.profile, "profile"));
  ACCT_RETURN_IF_ERROR(check_roles(c.roles, ctx.actor));
  if (ctx.email_fingerprint.empty()) return internal_error("the handler supplied no email fingerprint");
  for (const auto& [id, fp] : p.users) {
    if (fp == ctx.email_fingerprint) return conflict("the email is already used in the partner", "profile.email");
  }
  auto user_id = ctx.id<UserId>(0);
  if (!user_id) return user_id.status();

  std::vector<DomainEvent> user_events{
      UserCreated{*user_id, c.partner_id, PersonalContact{user_subject(*user_id), c.profile}, ctx.email_fingerprint}};
  for (Role r : c.roles) user_events.push_back(RoleAssigned{r});
  user_events.push_back(PasswordSet{PasswordReason::kCreated, principal_id(ctx.actor), true});

  std::vector<DomainEvent> partner_events{PartnerUserAdded{*user_id, ctx.email_fingerprint}};
  if (std::find(c.roles.begin(), c.roles.end(), Role::kGlobalAdmin) != c.roles.end()) {
    partner_events.push_back(GlobalAdminActivated{*user_id});
  }
  Decision d;
  d.writes.push_back(StreamWrite{user_stream(*user_id), ExpectedVersion::no_stream(), std::move(user_events)});
  d.writes.push_back(partner_write(p, std::move(partner_events)));
  return d;
}

Result<Decision> decide(const PartnerState& p, const UserState& u, const UpdateUserProfile& c,
                        const CommandContext& ctx) {
  ACCT_RETURN_IF_ERROR(authorize_command(ctx.actor, UpdateUserProfile::kName, c.partner_id));
  ACCT_RETURN_IF_ERROR(require_user(p, u, c.partner_id, c.user_id));
  ACCT_RETURN_IF_ERROR(check_may_manage(ctx.actor, u));
  ACCT_RETURN_IF_ERROR(require_active(u));
  ACCT_RETURN_IF_ERROR(check_contact(c.profile, "profile"));
  if (ctx.email_fingerprint.empty()) return internal_error("the handler supplied no email fingerprint");
  Decision d;
  d.writes.push_back(
      user_write(u, {UserProfileUpdated{PersonalContact{user_subject(u.user_id), c.profile}, ctx.email_fingerprint}}));
  if (ctx.email_fingerprint != u.email_fingerprint) {
    for (const auto& [id, fp] : p.users) {
      if (id != u.user_id && fp == ctx.email_fingerprint) {
        return conflict("the email is already used in the partner", "profile.email");
      }
    }
    d.writes.push_back(partner_write(p, {PartnerUserEmailChanged{u.user_id, ctx.email_fingerprint}}));
  }
  return d;
}

// The same event as UpdateUserProfile, with the email (and so its
// fingerprint and the partner's email claim) left as it is.
Result<Decision> decide(const PartnerState& p, const UserState& u, const UpdateOwnProfile& c,
                        const CommandContext& ctx) {
  ACCT_RETURN_IF_ERROR(check_own_account(p, u, ctx, UpdateOwnProfile::kName, c.partner_id, c.user_id,
                                         "change another user's profile"));
  ACCT_RETURN_IF_ERROR(check_field(c.first_name, field_rule<UpdateOwnProfile>("first_name"), "first_name"));
  ACCT_RETURN_IF_ERROR(check_field(c.last_name, field_rule<UpdateOwnProfile>("last_name"), "last_name"));
  ACCT_RETURN_IF_ERROR(check_field(c.phone, field_rule<UpdateOwnProfile>("phone"), "phone"));
  ContactDetails profile = u.profile.value;
  profile.first_name = c.first_name;
  profile.last_name = c.last_name;
  profile.phone = c.phone;
  return Decision{
      {user_write(u, {UserProfileUpdated{PersonalContact{user_subject(u.user_id), profile}, u.email_fingerprint}})}};
}

// Only the form of the ids is checked: the aggregate does not see the feed, and
// marking an id that names nothing is harmless (the view keeps it, nothing shows it).
Result<Decision> decide(const PartnerState& p, const UserState& u, const MarkNotificationsRead& c,
                        const CommandContext& ctx) {
  ACCT_RETURN_IF_ERROR(check_own_account(p, u, ctx, MarkNotificationsRead::kName, c.partner_id, c.user_id,
                                         "mark another user's notifications read"));
  using M = MarkNotificationsRead;
  if (c.up_to > static_cast<uint64_t>(field_rule<M>("up_to").max)) {
    return invalid_argument("must be a log position", "up_to");
  }
  ACCT_RETURN_IF_ERROR(check_list(c.ids, field_rule<M>("ids"), field_rule<M>("ids[]"), "ids"));
  if (c.up_to == 0 && c.ids.empty()) {
    return rule_violated(rule::kMarkReadNamesSome, "give up_to (a position) or ids, or both", "ids");
  }
  return Decision{{user_write(u, {NotificationsRead{c.up_to, c.ids, ctx.now}})}};
}

Result<Decision> decide(const PartnerState& p, const UserState& u, const AssignRole& c, const CommandContext& ctx) {
  ACCT_RETURN_IF_ERROR(authorize_command(ctx.actor, AssignRole::kName, c.partner_id));
  if (!is_valid_role(c.role)) return invalid_argument("unknown role", "role");
  ACCT_RETURN_IF_ERROR(authorize_grant(ctx.actor, c.role));
  ACCT_RETURN_IF_ERROR(require_user(p, u, c.partner_id, c.user_id));
  ACCT_RETURN_IF_ERROR(check_may_manage(ctx.actor, u));
  ACCT_RETURN_IF_ERROR(require_active(u));
  if (u.roles.count(c.role)) return conflict("the user already holds " + std::string(role_name(c.role)), "role");
  for (Role held : u.roles) {
    if (role_category(held) == role_category(c.role)) {
      return rule_violated(rule::kOneRolePerCategory,
                           "the user already holds " + std::string(role_name(held)) + " in category " +
                               std::string(category_name(role_category(c.role))),
                           "role");
    }
  }
  Decision d;
  d.writes.push_back(user_write(u, {RoleAssigned{c.role}}));
  if (c.role == Role::kGlobalAdmin) d.writes.push_back(partner_write(p, {GlobalAdminActivated{u.user_id}}));
  return d;
}

Result<Decision> decide(const PartnerState& p, const UserState& u, const RemoveRole& c, const CommandContext& ctx) {
  ACCT_RETURN_IF_ERROR(authorize_command(ctx.actor, RemoveRole::kName, c.partner_id));
  if (!is_valid_role(c.role)) return invalid_argument("unknown role", "role");
  ACCT_RETURN_IF_ERROR(authorize_grant(ctx.actor, c.role));
  ACCT_RETURN_IF_ERROR(require_user(p, u, c.partner_id, c.user_id));
  ACCT_RETURN_IF_ERROR(check_may_manage(ctx.actor, u));
  ACCT_RETURN_IF_ERROR(require_active(u));
  if (!u.roles.count(c.role)) return not_found("the user does not hold " + std::string(role_name(c.role)), "role");
  Decision d;
  d.writes.push_back(user_write(u, {RoleRemoved{c.role}}));
  if (c.role == Role::kGlobalAdmin) {
    if (is_last_active_global_admin(p, u.user_id)) {
      return rule_violated(rule::kLastGlobalAdmin, "the partner must keep at least one active Global admin", "role");
    }
    d.writes.push_back(partner_write(p, {GlobalAdminDeactivated{u.user_id}}));
  }
  return d;
}

Result<Decision> decide(const PartnerState& p, const UserState& u, const ResetPassword& c, const CommandContext& ctx) {
  ACCT_RETURN_IF_ERROR(authorize_command(ctx.actor, ResetPassword::kName, c.partner_id));
  ACCT_RETURN_IF_ERROR(require_user(p, u, c.partner_id, c.user_id));
  ACCT_RETURN_IF_ERROR(check_may_manage(ctx.actor, u));
  ACCT_RETURN_IF_ERROR(require_active(u));
  return Decision{{user_write(u, {PasswordSet{PasswordReason::kReset, principal_id(ctx.actor), true}})}};
}

Result<Decision> decide(const PartnerState& p, const UserState& u, const ChangePassword& c,
                        const CommandContext& ctx) {
  ACCT_RETURN_IF_ERROR(check_own_account(p, u, ctx, ChangePassword::kName, c.partner_id, c.user_id,
                                         "change another user's password"));
  return Decision{{user_write(u, {PasswordSet{PasswordReason::kChanged, principal_id(ctx.actor), false}})}};
}

Result<Decision> decide(const PartnerState& p, const UserState& u, const DeactivateUser& c,
                        const CommandContext& ctx) {
  ACCT_RETURN_IF_ERROR(authorize_command(ctx.actor, DeactivateUser::kName, c.partner_id));
  ACCT_RETURN_IF_ERROR(require_user(p, u, c.partner_id, c.user_id));
  ACCT_RETURN_IF_ERROR(check_may_manage(ctx.actor, u));
  ACCT_RETURN_IF_ERROR(require_active(u));
  Decision d;
  d.writes.push_back(user_write(u, {UserDeactivated{ctx.now}}));
  if (p.active_global_admins.count(u.user_id)) {
    if (is_last_active_global_admin(p, u.user_id)) {
      return rule_violated(rule::kLastGlobalAdmin,
                           "the partner must keep at least one active Global admin; this is the last one", "user_id");
    }
    d.writes.push_back(partner_write(p, {GlobalAdminDeactivated{u.user_id}}));
  }
  return d;
}

Result<Decision> decide(const PartnerState& p, const UserState& u, const RestoreUser& c, const CommandContext& ctx) {
  ACCT_RETURN_IF_ERROR(authorize_command(ctx.actor, RestoreUser::kName, c.partner_id));
  ACCT_RETURN_IF_ERROR(require_partner(p, c.partner_id));
  if (u.exists && u.user_id == c.user_id && u.status == UserStatus::kPurged) {
    return rule_violated(rule::kRestoreWindow, "the user was purged and cannot be restored", "user_id");
  }
  ACCT_RETURN_IF_ERROR(require_user(p, u, c.partner_id, c.user_id));
  ACCT_RETURN_IF_ERROR(check_may_manage(ctx.actor, u));
  if (u.status != UserStatus::kDeactivated) {
    return rule_violated(rule::kUserActive, "only a deactivated user can be restored", "user_id");
  }
  if (ctx.now > plus_days(u.deactivated_at, kRestoreWindowDays)) {
    return rule_violated(rule::kRestoreWindow, "a deactivated user can be restored only within 30 days", "user_id");
  }
  Decision d;
  d.writes.push_back(user_write(u, {UserRestored{ctx.now}}));
  if (u.roles.count(Role::kGlobalAdmin)) d.writes.push_back(partner_write(p, {GlobalAdminActivated{u.user_id}}));
  return d;
}

Result<Decision> decide(const PartnerState& p, const UserState& u, const PurgeUser& c, const CommandContext& ctx) {
  ACCT_RETURN_IF_ERROR(authorize_command(ctx.actor, PurgeUser::kName, c.partner_id));
  ACCT_RETURN_IF_ERROR(require_user(p, u, c.partner_id, c.user_id));
  ACCT_RETURN_IF_ERROR(check_may_manage(ctx.actor, u));
  if (u.status != UserStatus::kDeactivated) {
    return rule_violated(rule::kUserActive, "only a deactivated user can be purged", "user_id");
  }
  // Choice: purge never cuts the restore window short, whoever asks.
  if (ctx.now <= plus_days(u.deactivated_at, kRestoreWindowDays)) {
    return rule_violated(rule::kPurgeAfterWindow, "a user can be purged only after its 30-day restore window",
                         "user_id");
  }
  Decision d;
  d.writes.push_back(user_write(u, {UserPurged{ctx.now}}));
  d.writes.push_back(partner_write(p, {PartnerUserRemoved{u.user_id}}));
  return d;
}

}  // namespace accountable
