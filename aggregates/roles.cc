#include "aggregates/roles.h"

#include <algorithm>
#include <string>

#include "aggregates/rule_errors.h"

namespace accountable {

namespace {

using R = Role;

struct RoleInfo {
  Role role;
  std::string_view name;
  RoleCategory category;
};

// The category of each role follows the grouping of DOMAIN.md.
const RoleInfo kRoles[] = {
    {R::kGlobalAdmin, "Global admin", RoleCategory::kAdmin},
    {R::kUserManagementAdmin, "User management admin", RoleCategory::kAdmin},
    {R::kBillingAdmin, "Billing admin", RoleCategory::kAdmin},
    {R::kAccountAdmin, "Account admin", RoleCategory::kAdmin},
    {R::kMpnPartnerAdmin, "MPN partner admin", RoleCategory::kAdmin},
    {R::kAdminAgent, "Admin agent", RoleCategory::kAgent},
    {R::kSalesAgent, "Sales agent", RoleCategory::kAgent},
    {R::kHelpdeskAgent, "Helpdesk agent", RoleCategory::kAgent},
    {R::kIncentivesAdmin, "Incentives admin", RoleCategory::kIncentives},
    {R::kIncentivesUser, "Incentives user", RoleCategory::kIncentives},
    {R::kReferralAdmin, "Referral admin", RoleCategory::kReferralAndMarketing},
    {R::kBusinessProfileAdmin, "Business profile admin", RoleCategory::kReferralAndMarketing},
};

const RoleInfo* find_role(Role role) {
  for (const RoleInfo& r : kRoles) {
    if (r.role == role) return &r;
  }
  return nullptr;
}

}  // namespace

// ---- THE MATRIX (DOMAIN.md "What each role may do") ----------------------------
const std::vector<PermissionRule>& permission_rules() {
  static const std::vector<PermissionRule> kRules = {
      {Permission::kUpdateLegalProfile, "update_legal_profile", "update legal profile", {R::kGlobalAdmin}},
      {Permission::kUpdateSupportProfile, "update_support_profile", "update support profile", {R::kGlobalAdmin}},
      {Permission::kUpdateOrganizationProfile, "update_organization_profile", "update organization profile", {R::kGlobalAdmin}},
      {Permission::kManageBilling, "manage_billing", "manage billing profile, tax ids and tax exemptions",
       {R::kGlobalAdmin, R::kBillingAdmin}},
      {Permission::kManageLocations, "manage_locations", "add and remove locations", {R::kGlobalAdmin, R::kAccountAdmin}},
      {Permission::kManageUsers, "manage_users", "manage users", {R::kGlobalAdmin, R::kUserManagementAdmin}},
      // Purging ends the restore window; the retention job runs as the operator.
      {Permission::kPurgeUsers, "purge_users", "purge users", {R::kGlobalAdmin, R::kUserManagementAdmin}, false, false, true},
      {Permission::kManageRoles, "manage_roles", "assign and remove roles",
       {R::kGlobalAdmin, R::kUserManagementAdmin, R::kAccountAdmin}},
      {Permission::kManageBusinessProfiles, "manage_business_profiles", "manage business profiles",
       {R::kGlobalAdmin, R::kBusinessProfileAdmin, R::kReferralAdmin}},
      {Permission::kPinOffers, "pin_offers", "pin and unpin catalog offers", {R::kGlobalAdmin, R::kAdminAgent, R::kSalesAgent}},
      {Permission::kChangeOwnPassword, "change_own_password", "change own password", {}, false, true},
      {Permission::kReadPriceLists, "read_price_lists", "read price lists and offers", {R::kGlobalAdmin, R::kBillingAdmin, R::kAdminAgent}},
      {Permission::kReadCatalog, "read_catalog", "read the catalog", {}, true},
      {Permission::kReadUserDirectory, "read_user_directory", "read the user directory",
       {R::kGlobalAdmin, R::kUserManagementAdmin, R::kAccountAdmin}},
      {Permission::kReadAuditHistory, "read_audit_history", "read the audit history", {R::kGlobalAdmin}, false, false, true, true},
      {Permission::kReadOwnProfile, "read_own_profile", "read own profile", {}, false, true},
      {Permission::kUpdateOwnProfile, "update_own_profile", "change own name and phone", {}, false, true},
      // What each notification says is filtered by the reader's current roles
      // (projections/notifications_view.h), not by this permission.
      {Permission::kReadOwnNotifications, "read_own_notifications", "read own notifications", {}, false, true},
      {Permission::kEnrollPartners, "enroll_partners", "enroll partners", {}, false, false, true},
      {Permission::kOperateCatalog, "operate_catalog", "publish offers and price lists", {}, false, false, true},
      {Permission::kVetPartners, "vet_partners", "vet partners (vetting status, tax ids, authorized regions)", {}, false, false, true},
      {Permission::kSuspendPartners, "suspend_partners", "suspend and reinstate partners", {}, false, false, true},
      {Permission::kIssueAuditorAccess, "issue_auditor_access", "issue and revoke auditor access", {}, false, false, true},
      // Accepting a contract binds the company: the legal profile's owner.
      {Permission::kAcceptResellerAgreement, "accept_reseller_agreement", "accept the reseller agreement", {R::kGlobalAdmin}},
      {Permission::kAwardEarnedTags, "award_earned_tags", "award earned tags", {}, false, false, true},
      {Permission::kCorrectMpnIds, "correct_mpn_ids", "correct partner network (MPN) ids", {}, false, false, true},
      {Permission::kRebuildViews, "rebuild_views", "rebuild views", {}, false, false, true},
      // As the profile's non-personal parts (any user with a role); the operator
      // clears most blockers (vetting, regions, VAT ids) and reads all state anyway.
      {Permission::kReadSalesReadiness, "read_sales_readiness", "read what keeps the partner from selling", {}, true,
       false, true},
  };
  return kRules;
}

const std::vector<CommandPermission>& command_permissions() {
  static const std::vector<CommandPermission> kCommands = {
      {"EnrollPartner", Permission::kEnrollPartners},
      {"UpdateLegalProfile", Permission::kUpdateLegalProfile},
      {"UpdateSupportProfile", Permission::kUpdateSupportProfile},
      {"UpdateBillingProfile", Permission::kManageBilling},
      {"UpdateOrganizationProfile", Permission::kUpdateOrganizationProfile},
      {"AddLocation", Permission::kManageLocations},
      {"RemoveLocation", Permission::kManageLocations},
      {"FileTaxExemption", Permission::kManageBilling},
      {"RevokeTaxExemption", Permission::kManageBilling},
      {"RenewTaxExemption", Permission::kManageBilling},
      {"CreateUser", Permission::kManageUsers},
      {"UpdateUserProfile", Permission::kManageUsers},
      {"AssignRole", Permission::kManageRoles},
      {"RemoveRole", Permission::kManageRoles},
      {"ResetPassword", Permission::kManageUsers},
      {"ChangePassword", Permission::kChangeOwnPassword},
      {"UpdateOwnProfile", Permission::kUpdateOwnProfile},
      {"MarkNotificationsRead", Permission::kReadOwnNotifications},
      {"DeactivateUser", Permission::kManageUsers},
      {"RestoreUser", Permission::kManageUsers},
      {"PurgeUser", Permission::kPurgeUsers},
      {"CreateBusinessProfile", Permission::kManageBusinessProfiles},
      {"UpdateBusinessProfile", Permission::kManageBusinessProfiles},
      {"AddProfileLocation", Permission::kManageBusinessProfiles},
      {"RemoveProfileLocation", Permission::kManageBusinessProfiles},
      {"PublishBusinessProfile", Permission::kManageBusinessProfiles},
      {"UnpublishBusinessProfile", Permission::kManageBusinessProfiles},
      {"PinOffer", Permission::kPinOffers},
      {"UnpinOffer", Permission::kPinOffers},
      {"ReorderPins", Permission::kPinOffers},
      {"PublishOffer", Permission::kOperateCatalog},
      {"UpdateOffer", Permission::kOperateCatalog},
      {"RetireOffer", Permission::kOperateCatalog},
      {"PublishPriceList", Permission::kOperateCatalog},
      {"SetVettingStatus", Permission::kVetPartners},
      {"SuspendPartner", Permission::kSuspendPartners},
      {"ReinstatePartner", Permission::kSuspendPartners},
      {"IssueAuditorAccess", Permission::kIssueAuditorAccess},
      {"RevokeAuditorAccess", Permission::kIssueAuditorAccess},
      {"CorrectMpnId", Permission::kCorrectMpnIds},
      {"AcceptResellerAgreement", Permission::kAcceptResellerAgreement},
      {"AcceptTaxId", Permission::kVetPartners},
      {"SetAuthorizedRegions", Permission::kVetPartners},
      {"SetEarnedTags", Permission::kAwardEarnedTags},
  };
  return kCommands;
}

const std::vector<GrantRule>& grant_rules() {
  static const std::vector<GrantRule> kGrants = {
      {R::kGlobalAdmin,
       {R::kGlobalAdmin, R::kUserManagementAdmin, R::kBillingAdmin, R::kAccountAdmin, R::kMpnPartnerAdmin,
        R::kAdminAgent, R::kSalesAgent, R::kHelpdeskAgent, R::kIncentivesAdmin, R::kIncentivesUser, R::kReferralAdmin,
        R::kBusinessProfileAdmin}},
      {R::kUserManagementAdmin,
       {R::kUserManagementAdmin, R::kBillingAdmin, R::kAccountAdmin, R::kMpnPartnerAdmin, R::kAdminAgent,
        R::kSalesAgent, R::kHelpdeskAgent, R::kIncentivesAdmin, R::kIncentivesUser, R::kReferralAdmin,
        R::kBusinessProfileAdmin}},
      {R::kAccountAdmin,
       {R::kAccountAdmin, R::kMpnPartnerAdmin, R::kBusinessProfileAdmin, R::kReferralAdmin, R::kIncentivesAdmin,
        R::kIncentivesUser}},
  };
  return kGrants;
}
// ---- end of the matrix ------------------------------------------------------------

RoleCategory role_category(Role role) {
  const RoleInfo* r = find_role(role);
  return r ? r->category : RoleCategory::kAdmin;
}

std::string_view role_name(Role role) {
  const RoleInfo* r = find_role(role);
  return r ? r->name : "unknown role";
}

std::string_view category_name(RoleCategory c) {
  switch (c) {
    case RoleCategory::kAdmin: return "Admin";
    case RoleCategory::kAgent: return "Agent";
    case RoleCategory::kIncentives: return "Incentives";
    case RoleCategory::kReferralAndMarketing: return "Referral and marketing";
  }
  return "unknown category";
}

std::vector<Role> all_roles() {
  std::vector<Role> out;
  for (const RoleInfo& r : kRoles) out.push_back(r.role);
  return out;
}

bool is_valid_role(Role role) { return find_role(role) != nullptr; }

const PermissionRule& permission_rule(Permission p) {
  for (const PermissionRule& r : permission_rules()) {
    if (r.permission == p) return r;
  }
  // Every enumerator has a row; a missing one is a programming error caught by tests.
  static const PermissionRule kNobody{p, "unknown", "unknown permission", {}};
  return kNobody;
}

std::optional<Permission> permission_for_command(std::string_view command) {
  for (const CommandPermission& c : command_permissions()) {
    if (c.command == command) return c.permission;
  }
  return std::nullopt;
}

std::string principal_id(const Principal& p) {
  struct {
    std::string operator()(const Anonymous&) const { return "anonymous"; }
    std::string operator()(const PartnerUser& u) const { return "user:" + u.user_id.to_string(); }
    std::string operator()(const Operator& o) const { return "operator:" + o.name; }
    std::string operator()(const Auditor& a) const { return "auditor:" + a.grant_id.to_string(); }
  } visitor;
  return std::visit(visitor, p);
}

Status authorize(const Principal& actor, Permission permission, const std::optional<PartnerId>& partner) {
  const PermissionRule& rule = permission_rule(permission);
  auto missing = [&] { return forbidden("missing permission: " + std::string(rule.name), "actor"); };
  if (std::holds_alternative<Anonymous>(actor)) return unauthenticated("no authenticated principal");
  if (std::holds_alternative<Operator>(actor)) return rule.operator_principal ? Status::ok() : missing();
  if (const auto* a = std::get_if<Auditor>(&actor)) {
    if (!rule.auditor_principal) return missing();
    if (partner && *partner != a->partner_id) return forbidden("auditor access covers another partner", "partner_id");
    return Status::ok();
  }
  const auto& user = std::get<PartnerUser>(actor);
  if (!user.active) return unauthenticated("the user is deactivated");
  if (!partner || *partner != user.partner_id) {
    return forbidden("missing permission: " + std::string(rule.name) + " (outside the user's partner)", "partner_id");
  }
  if (rule.every_user) return Status::ok();
  if (rule.any_role && !user.roles.empty()) return Status::ok();
  for (Role r : rule.roles) {
    if (user.roles.count(r)) return Status::ok();
  }
  return missing();
}

std::vector<Permission> permissions_of(const Principal& who) {
  std::vector<Permission> out;
  for (const PermissionRule& rule : permission_rules()) {
    if (authorize(who, rule.permission, own_partner(who)).is_ok()) out.push_back(rule.permission);
  }
  return out;
}

std::vector<Role> grantable_roles(const Principal& who) {
  std::vector<Role> out;
  for (Role r : all_roles()) {
    if (authorize_grant(who, r).is_ok()) out.push_back(r);
  }
  return out;
}

Status authorize_command(const Principal& actor, std::string_view command, const std::optional<PartnerId>& partner) {
  auto p = permission_for_command(command);
  if (!p) return internal_error("command " + std::string(command) + " has no row in the permission matrix");
  return authorize(actor, *p, partner);
}

Status authorize_grant(const Principal& actor, Role role) {
  const auto* user = std::get_if<PartnerUser>(&actor);
  if (!user) return forbidden("only partner users assign roles", "actor");
  for (const GrantRule& g : grant_rules()) {
    if (!user->roles.count(g.holder)) continue;
    if (std::find(g.grantable.begin(), g.grantable.end(), role) != g.grantable.end()) return Status::ok();
  }
  return forbidden("missing permission: assign or remove role " + std::string(role_name(role)), "role");
}

// ---- raw events ------------------------------------------------------------------

std::optional<PartnerId> own_partner(const Principal& who) {
  if (const auto* u = std::get_if<PartnerUser>(&who)) return u->partner_id;
  if (const auto* a = std::get_if<Auditor>(&who)) return a->partner_id;
  return std::nullopt;
}

Status authorize_partner_events(const Principal& who, std::string_view partner) {
  if (std::holds_alternative<Operator>(who)) return Status::ok();
  if (partner.empty()) {
    // The catalog (no partner): the price-list permission, held in one's own
    // partner (as the pricing view asks it); a partner user always has one.
    std::optional<PartnerId> own;
    if (const auto* u = std::get_if<PartnerUser>(&who)) own = u->partner_id;
    return authorize(who, Permission::kReadPriceLists, own);
  }
  auto id = PartnerId::parse(partner);
  if (!id) return Status(StatusCode::kNotFound, "not found");
  return authorize(who, Permission::kReadAuditHistory, *id);
}

Status restrict_to_own_partner(const Principal& who, std::string* partner_filter) {
  if (std::holds_alternative<Operator>(who)) return Status::ok();
  auto own = own_partner(who);
  if (!own) return Status(StatusCode::kForbidden, "missing permission read the audit history");
  const std::string own_text = own->to_string();
  if (!partner_filter->empty() && *partner_filter != own_text) {
    return Status(StatusCode::kForbidden, "only your own partner's events can be read", "partner");
  }
  *partner_filter = own_text;
  return authorize_partner_events(who, own_text);
}

}  // namespace accountable
