// Roles, their categories, and THE permission matrix of DOMAIN.md, as data.
//
// Every authorization decision of the domain goes through authorize() /
// authorize_grant() below; no handler tests roles on its own. The tables live in
// roles.cc: kPermissionRules (permission -> who), kCommandPermissions (command ->
// permission) and kGrantableRoles (who may assign or remove which roles).
#pragma once

#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "aggregates/principal.h"
#include "events/status.h"

namespace accountable {

enum class RoleCategory : uint8_t { kAdmin, kAgent, kIncentives, kReferralAndMarketing };

RoleCategory role_category(Role role);
std::string_view role_name(Role role);          // "Global admin"
std::string_view category_name(RoleCategory c);  // "Admin"
std::vector<Role> all_roles();
bool is_valid_role(Role role);

enum class Permission : uint8_t {
  kUpdateLegalProfile,
  kUpdateSupportProfile,
  kUpdateOrganizationProfile,
  kManageBilling,  // billing profile, tax ids, tax exemptions
  kManageLocations,
  kManageUsers,  // create, change profile, reset password, deactivate, restore
  kPurgeUsers,
  kManageRoles,  // which roles: see kGrantableRoles
  kManageBusinessProfiles,
  kPinOffers,
  kChangeOwnPassword,
  kReadPriceLists,
  kReadCatalog,
  kReadUserDirectory,
  kReadAuditHistory,
  kReadOwnProfile,
  kUpdateOwnProfile,  // one's own name and phone (not the email: a user manager's)
  kEnrollPartners,
  kOperateCatalog,  // offers and price lists
  kVetPartners,  // vetting status, accepting tax ids, authorized regions
  kSuspendPartners,
  kIssueAuditorAccess,
  kAcceptResellerAgreement,
  kAwardEarnedTags,
  kRebuildViews,  // blue/green rebuild of a read view while serving
  kReadSalesReadiness,  // what keeps the partner from selling (GET /v1/partners/{id}/readiness)
  kCorrectMpnIds,       // the partner network (MPN) id given at enrollment
  kReadOwnNotifications,  // one's own feed (GET /v1/me/notifications) and its read state
};

// Who holds a permission.
struct PermissionRule {
  Permission permission;
  std::string_view code;         // stable snake_case id (GET /v1/me's "permissions")
  std::string_view name;         // used in kForbidden messages: "missing permission <name>"
  std::vector<Role> roles;       // partner users holding any of these roles
  bool any_role = false;         // any partner user with at least one role
  bool every_user = false;       // any active partner user, even with no role
  bool operator_principal = false;
  bool auditor_principal = false;
};
const std::vector<PermissionRule>& permission_rules();
const PermissionRule& permission_rule(Permission p);

// Command name (the command struct's kName) -> permission needed to issue it.
struct CommandPermission {
  std::string_view command;
  Permission permission;
};
const std::vector<CommandPermission>& command_permissions();
std::optional<Permission> permission_for_command(std::string_view command);

// Roles a holder of `role` may assign or remove. A Global admin may grant any
// role; a User management admin any role except Global admin (nobody raises a
// user above their own rights); an Account admin only the listed six.
struct GrantRule {
  Role holder;
  std::vector<Role> grantable;
};
const std::vector<GrantRule>& grant_rules();

// The permissions `who` holds in its own partner (a partner user's or an
// auditor's; none for the operator), in the matrix's order: each rule of
// permission_rules() that authorize() grants. GET /v1/me lists them.
std::vector<Permission> permissions_of(const Principal& who);

// The roles `who` may assign or remove (authorize_grant), in all_roles() order.
std::vector<Role> grantable_roles(const Principal& who);

// Does the principal hold `permission`, acting on `partner` (nullopt for
// partner-less actions such as catalog publishing)? kUnauthenticated for an
// anonymous or inactive principal, kForbidden naming the permission otherwise.
Status authorize(const Principal& actor, Permission permission, const std::optional<PartnerId>& partner);

// authorize() for the command's permission.
Status authorize_command(const Principal& actor, std::string_view command, const std::optional<PartnerId>& partner);

// May the actor assign (or remove) `role`? kForbidden naming the role if not.
Status authorize_grant(const Principal& actor, Role role);

// ---- raw events (GET /v1/streams, /v1/events, the SSE subscription) ------------
//
// The operator reads everything. The auditor and partner users read their own
// partner's events, with the audit history permission; the catalog's events
// (no partner) need the price-list permission, held in one's own partner.

// The partner the principal belongs to (a partner user's or an auditor's).
std::optional<PartnerId> own_partner(const Principal& who);

// May `who` read an event of `partner` (its text in the envelope; empty for
// the catalog)? A partner that is not a UUID reads as kNotFound.
Status authorize_partner_events(const Principal& who, std::string_view partner);

// Reads of $all: the operator reads every partner (or the one asked for in
// `partner_filter`); anyone else only their own partner's events, with the
// audit permission: the filter is set to their partner (asking for another one
// is kForbidden, field "partner").
Status restrict_to_own_partner(const Principal& who, std::string* partner_filter);

}  // namespace accountable
