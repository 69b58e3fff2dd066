// The user aggregate (stream "user-<id>"): a partner user's profile, roles,
// password facts and lifecycle (active -> deactivated -> restored | purged).
//
// Decisions that touch a partner-wide invariant also write to the partner
// stream (see partner.h), expecting the version they read:
//  - email claims and changes (PartnerUserAdded / PartnerUserEmailChanged);
//  - Global admin gained or lost, by role change, deactivation or restore;
//  - purge (PartnerUserRemoved releases the email).
#pragma once

#include <set>

#include "aggregates/context.h"
#include "aggregates/partner.h"
#include "schema/commands.h"

namespace accountable {

enum class UserStatus : uint8_t { kActive, kDeactivated, kPurged };

inline constexpr int64_t kRestoreWindowDays = 30;

struct UserState {
  StreamVersion version;
  bool exists = false;
  UserId user_id;
  PartnerId partner_id;
  PersonalContact profile;  // erased (empty) once purged
  EmailFingerprint email_fingerprint;
  std::set<Role> roles;
  UserStatus status = UserStatus::kActive;
  Timestamp deactivated_at;
  bool must_change_password = false;
};

UserState evolve(UserState state, const DomainEvent& event);

// "active", "deactivated", "purged" (the state JSON, GET /v1/me).
std::string_view user_status_name(UserStatus s);

// The principal of this user, for authorization of its own commands.
PartnerUser principal_of(const UserState& u);

Result<Decision> decide(const PartnerState& p, const CreateUser& c, const CommandContext& ctx);
Result<Decision> decide(const PartnerState& p, const UserState& u, const UpdateUserProfile& c,
                        const CommandContext& ctx);
Result<Decision> decide(const PartnerState& p, const UserState& u, const UpdateOwnProfile& c,
                        const CommandContext& ctx);
Result<Decision> decide(const PartnerState& p, const UserState& u, const MarkNotificationsRead& c,
                        const CommandContext& ctx);
Result<Decision> decide(const PartnerState& p, const UserState& u, const AssignRole& c, const CommandContext& ctx);
Result<Decision> decide(const PartnerState& p, const UserState& u, const RemoveRole& c, const CommandContext& ctx);
Result<Decision> decide(const PartnerState& p, const UserState& u, const ResetPassword& c, const CommandContext& ctx);
Result<Decision> decide(const PartnerState& p, const UserState& u, const ChangePassword& c,
                        const CommandContext& ctx);
Result<Decision> decide(const PartnerState& p, const UserState& u, const DeactivateUser& c,
                        const CommandContext& ctx);
Result<Decision> decide(const PartnerState& p, const UserState& u, const RestoreUser& c, const CommandContext& ctx);
Result<Decision> decide(const PartnerState& p, const UserState& u, const PurgeUser& c, const CommandContext& ctx);

}  // namespace accountable
