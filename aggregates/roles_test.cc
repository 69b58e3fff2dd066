// The permission matrix, tested against DOMAIN.md written out independently here:
// every principal (each role, no role, operator, auditor) against every command.
#include "aggregates/roles.h"

#include <gtest/gtest.h>

#include <functional>
#include <map>
#include <set>

#include "aggregates/testing/fixtures.h"

namespace accountable {
namespace {

using testing::RichWorld;

const std::string kGA = "Global admin", kUMA = "User management admin", kBA = "Billing admin",
                  kAA = "Account admin", kMPN = "MPN partner admin", kAdminAgent = "Admin agent",
                  kSalesAgent = "Sales agent", kHelpdesk = "Helpdesk agent", kIncAdmin = "Incentives admin",
                  kIncUser = "Incentives user", kRefAdmin = "Referral admin", kBPA = "Business profile admin",
                  kNoRole = "no role", kOperator = "operator", kAuditor = "auditor";

// DOMAIN.md "What each role may do", transcribed by hand (not read from roles.cc).
const std::map<std::string, std::set<std::string>>& expected_matrix() {
  static const std::set<std::string> kEveryUser = {kGA,      kUMA,      kBA,     kAA,      kMPN,
                                                   kAdminAgent, kSalesAgent, kHelpdesk, kIncAdmin, kIncUser,
                                                   kRefAdmin, kBPA,     kNoRole};
  static const std::map<std::string, std::set<std::string>> kMatrix = {
      {"EnrollPartner", {kOperator}},
      {"UpdateLegalProfile", {kGA}},
      {"UpdateSupportProfile", {kGA}},
      {"UpdateBillingProfile", {kGA, kBA}},
      {"UpdateOrganizationProfile", {kGA}},
      {"AddLocation", {kGA, kAA}},
      {"RemoveLocation", {kGA, kAA}},
      {"FileTaxExemption", {kGA, kBA}},
      {"RevokeTaxExemption", {kGA, kBA}},
      {"RenewTaxExemption", {kGA, kBA}},
      {"CreateUser", {kGA, kUMA}},
      {"UpdateUserProfile", {kGA, kUMA}},
      {"AssignRole", {kGA, kUMA, kAA}},  // of a role on the Account admin list
      {"RemoveRole", {kGA, kUMA, kAA}},  // idem
      {"ResetPassword", {kGA, kUMA}},
      {"ChangePassword", kEveryUser},
      {"UpdateOwnProfile", kEveryUser},  // one's own name and phone (issue 22)
      {"MarkNotificationsRead", kEveryUser},  // one's own feed's read state (issue 22)
      {"DeactivateUser", {kGA, kUMA}},
      {"RestoreUser", {kGA, kUMA}},
      {"PurgeUser", {kGA, kUMA, kOperator}},
      {"CreateBusinessProfile", {kGA, kBPA, kRefAdmin}},
      {"UpdateBusinessProfile", {kGA, kBPA, kRefAdmin}},
      {"AddProfileLocation", {kGA, kBPA, kRefAdmin}},
      {"RemoveProfileLocation", {kGA, kBPA, kRefAdmin}},
      {"PublishBusinessProfile", {kGA, kBPA, kRefAdmin}},
      {"UnpublishBusinessProfile", {kGA, kBPA, kRefAdmin}},
      {"PinOffer", {kGA, kAdminAgent, kSalesAgent}},
      {"UnpinOffer", {kGA, kAdminAgent, kSalesAgent}},
      {"ReorderPins", {kGA, kAdminAgent, kSalesAgent}},
      {"PublishOffer", {kOperator}},
      {"UpdateOffer", {kOperator}},
      {"RetireOffer", {kOperator}},
      {"PublishPriceList", {kOperator}},
      {"SetVettingStatus", {kOperator}},
      {"SuspendPartner", {kOperator}},
      {"ReinstatePartner", {kOperator}},
      {"IssueAuditorAccess", {kOperator}},
      {"RevokeAuditorAccess", {kOperator}},
      // Not in DOMAIN.md's table (choices, docs/aggregates.md): accepting the
      // reseller agreement binds the company like the legal profile does; the
      // rest is the operator's vetting and its earned tags.
      {"AcceptResellerAgreement", {kGA}},
      {"AcceptTaxId", {kOperator}},
      {"SetAuthorizedRegions", {kOperator}},
      {"SetEarnedTags", {kOperator}},
      {"CorrectMpnId", {kOperator}},
  };
  return kMatrix;
}

// A RichWorld plus one user per role and one without a role.
struct MatrixWorld : RichWorld {
  std::map<std::string, Principal> principals;
  std::map<std::string, UserId> user_ids;
  MatrixWorld() {
    principals[kGA] = admin();
    user_ids[kGA] = p.admin;
    int n = 0;
    for (Role r : all_roles()) {
      if (r == Role::kGlobalAdmin) continue;
      UserId id = testing::create_user(w, admin(), p.partner, "role" + std::to_string(n++) + "@contoso.com", {r});
      principals[std::string(role_name(r))] = w.user(id);
      user_ids[std::string(role_name(r))] = id;
    }
    UserId none = testing::create_user(w, admin(), p.partner, "norole@contoso.com", {});
    principals[kNoRole] = w.user(none);
    user_ids[kNoRole] = none;
    principals[kOperator] = testing::op();
    principals[kAuditor] = Auditor{auditor_grant, p.partner};
    testing::must(w.execute(admin(), UpdateBillingProfile{p.partner, BillingProfileInput{"Contoso Ltd", testing::address(),
                                                                                       testing::contact("Bo", "Bill", "bo@contoso.com"),
                                                                                       "PO-1", "US-987"},
                                                        "USD"}),
                  "billing profile with a tax id");
  }
};

// One valid command per name, acting on the MatrixWorld; `self` is the actor's user id
// (or the target user when the actor is not a partner user).
std::vector<Command> commands_for(const MatrixWorld& m, const UserId& self) {
  using testing::address;
  using testing::contact;
  const PartnerId& p = m.p.partner;
  PriceList preview = testing::price_list("US", 2026, 5, {"offer-2"}, BillingModel::kLicenseBased);
  Offer updated = testing::offer("offer-3");
  updated.display_name = "Renamed";
  return {
      testing::enroll_command("new.admin@northwind.com"),
      UpdateLegalProfile{p, testing::legal("US")},
      UpdateSupportProfile{p, SupportProfile{"support@contoso.com", "+1 800 555 0100", "https://contoso.com/help"}},
      UpdateBillingProfile{p, BillingProfileInput{"Contoso Ltd", address(), contact("Bo", "Bill", "bo@contoso.com"),
                                                  "PO-1", "US-123"},
                           "USD"},
      UpdateOrganizationProfile{p, "contoso.com", "it@contoso.com", "en", "en-us"},
      AddLocation{p, address("US"), "1111111"},
      RemoveLocation{p, m.location},
      FileTaxExemption{p, "OR", "cert-or", testing::at("2026-03-01T00:00:00Z"), testing::at("2027-03-01T00:00:00Z")},
      RevokeTaxExemption{p, m.exemption, "replaced"},
      RenewTaxExemption{p, m.exemption, "cert-2027", testing::at("2026-12-01T00:00:00Z"),
                        testing::at("2028-01-01T00:00:00Z")},
      CreateUser{p, contact("New", "Person", "new.person@contoso.com"), {}},
      UpdateUserProfile{p, m.target, contact("Tara", "Target", "tara@contoso.com")},
      AssignRole{p, m.target, Role::kIncentivesUser},
      RemoveRole{p, m.target, Role::kReferralAdmin},
      ResetPassword{p, m.target},
      ChangePassword{p, self},
      DeactivateUser{p, m.target},
      RestoreUser{p, m.restorable},
      PurgeUser{p, m.purgeable},
      CreateBusinessProfile{p, "latam", testing::profile_details()},
      UpdateBusinessProfile{p, "emea", testing::profile_details()},
      AddProfileLocation{p, "emea", address("FR"), ""},
      RemoveProfileLocation{p, "emea", m.emea_location},
      PublishBusinessProfile{p, "emea"},
      UnpublishBusinessProfile{p, "apac"},
      PinOffer{p, "offer-2"},
      UnpinOffer{p, "offer-1"},
      ReorderPins{p, {"offer-1"}},
      PublishOffer{testing::offer("offer-9")},
      UpdateOffer{updated},
      RetireOffer{"offer-3"},
      PublishPriceList{preview},
      SetVettingStatus{p, VettingStatus::kAuthorized, VettingSubStatus::kDecision},
      SuspendPartner{p, SuspensionReason::kBillingOverdue, 61, "invoice 42"},
      ReinstatePartner{m.other.partner},
      IssueAuditorAccess{p, "second.auditor@kpmg.example", testing::at("2026-06-30T00:00:00Z")},
      AcceptResellerAgreement{p, "2020-01"},
      AcceptTaxId{p, "US-987"},
      SetAuthorizedRegions{p, {"apac", "emea", "latam", "na"}},
      SetEarnedTags{p, {"Gold Cloud Platform"}, {"Azure Expert MSP"}},
      RevokeAuditorAccess{p, m.auditor_grant, "engagement ended early"},
      UpdateOwnProfile{p, self, "Self", "Named", "+1 425 555 0123"},
      MarkNotificationsRead{p, self, 1, {"1"}},
      CorrectMpnId{p, "4099999", "a typo at enrollment"},
  };
}

TEST(PermissionMatrix, EveryCommandHasARowAndEveryPermissionARule) {
  MatrixWorld m;
  auto commands = commands_for(m, m.target);
  ASSERT_EQ(commands.size(), std::variant_size_v<Command>);
  std::set<std::string_view> names;
  for (const Command& c : commands) {
    names.insert(command_name(c));
    EXPECT_TRUE(permission_for_command(command_name(c)).has_value()) << command_name(c);
    EXPECT_TRUE(expected_matrix().count(std::string(command_name(c)))) << command_name(c);
  }
  EXPECT_EQ(names.size(), std::variant_size_v<Command>) << "commands_for must list each command once";
  for (const CommandPermission& cp : command_permissions()) {
    EXPECT_NE(permission_rule(cp.permission).name, "unknown permission") << cp.command;
  }
}

TEST(PermissionMatrix, EveryPrincipalAgainstEveryCommand) {
  const MatrixWorld base;
  int allowed = 0, refused = 0;
  for (const auto& [label, principal] : base.principals) {
    UserId self = base.user_ids.count(label) ? base.user_ids.at(label) : base.target;
    for (const Command& command : commands_for(base, self)) {
      std::string name(command_name(command));
      bool expect_allowed = expected_matrix().at(name).count(label) > 0;
      MatrixWorld m = base;  // fresh copy: each case starts from the same state
      auto decision = m.w.decide(principal, command);
      if (expect_allowed) {
        ++allowed;
        EXPECT_TRUE(decision.is_ok()) << label << " should be allowed " << name << ": "
                                      << decision.status().to_string();
        if (decision.is_ok()) {
          EXPECT_TRUE(m.w.store.append(*decision).is_ok()) << label << " " << name;
        }
      } else {
        ++refused;
        EXPECT_EQ(decision.status().code(), StatusCode::kForbidden)
            << label << " should be refused " << name << ", got " << decision.status().to_string();
        EXPECT_NE(decision.status().message().find("missing permission"), std::string::npos)
            << decision.status().message();
      }
    }
  }
  EXPECT_EQ(allowed + refused, 15 * static_cast<int>(std::variant_size_v<Command>));  // 15 principals
  EXPECT_GT(allowed, 0);
}

TEST(PermissionMatrix, AnonymousIsUnauthenticatedForEveryCommand) {
  const MatrixWorld base;
  for (const Command& command : commands_for(base, base.target)) {
    MatrixWorld m = base;
    auto d = m.w.decide(Anonymous{}, command);
    EXPECT_EQ(d.status().code(), StatusCode::kUnauthenticated) << command_name(command);
  }
}

TEST(PermissionMatrix, DeactivatedUserIsUnauthenticated) {
  RichWorld r;
  PartnerUser stale = std::get<PartnerUser>(r.w.user(r.restorable));
  EXPECT_FALSE(stale.active);
  auto d = r.w.decide(stale, ChangePassword{r.p.partner, r.restorable});
  EXPECT_EQ(d.status().code(), StatusCode::kUnauthenticated);
}

TEST(PermissionMatrix, UserOfAnotherPartnerIsForbidden) {
  RichWorld r;
  Principal other_admin = r.w.user(r.other.admin);
  auto d = r.w.decide(other_admin, UpdateSupportProfile{r.p.partner, SupportProfile{"s@x.com", "", ""}});
  EXPECT_EQ(d.status().code(), StatusCode::kForbidden);
  EXPECT_EQ(d.status().field(), "partner_id");
}

TEST(PermissionMatrix, ReadPermissionsFollowDomain) {
  PartnerId p = PartnerId(GeneratedId::Bytes{1});
  auto user = [&](std::set<Role> roles) { return Principal(PartnerUser{p, UserId(), std::move(roles), true}); };
  EXPECT_TRUE(authorize(user({Role::kAdminAgent}), Permission::kReadPriceLists, p).is_ok());
  EXPECT_TRUE(authorize(user({Role::kBillingAdmin}), Permission::kReadPriceLists, p).is_ok());
  EXPECT_EQ(authorize(user({Role::kSalesAgent}), Permission::kReadPriceLists, p).code(), StatusCode::kForbidden);
  EXPECT_EQ(authorize(user({Role::kHelpdeskAgent}), Permission::kReadPriceLists, p).code(), StatusCode::kForbidden);
  EXPECT_TRUE(authorize(user({Role::kIncentivesUser}), Permission::kReadCatalog, p).is_ok());
  EXPECT_EQ(authorize(user({}), Permission::kReadCatalog, p).code(), StatusCode::kForbidden);
  EXPECT_TRUE(authorize(user({Role::kAccountAdmin}), Permission::kReadUserDirectory, p).is_ok());
  EXPECT_EQ(authorize(user({Role::kBillingAdmin}), Permission::kReadUserDirectory, p).code(), StatusCode::kForbidden);
  EXPECT_TRUE(authorize(user({Role::kGlobalAdmin}), Permission::kReadAuditHistory, p).is_ok());
  EXPECT_EQ(authorize(user({Role::kUserManagementAdmin}), Permission::kReadAuditHistory, p).code(),
            StatusCode::kForbidden);
  EXPECT_TRUE(authorize(Operator{"x"}, Permission::kReadAuditHistory, p).is_ok());
  EXPECT_TRUE(authorize(Auditor{AuditorGrantId(), p}, Permission::kReadAuditHistory, p).is_ok());
  EXPECT_EQ(authorize(Auditor{AuditorGrantId(), PartnerId()}, Permission::kReadAuditHistory, p).code(),
            StatusCode::kForbidden);
  EXPECT_TRUE(authorize(user({}), Permission::kReadOwnProfile, p).is_ok());
  // One's own feed: every user, no other principal (no user record).
  EXPECT_TRUE(authorize(user({}), Permission::kReadOwnNotifications, p).is_ok());
  EXPECT_EQ(authorize(Operator{"x"}, Permission::kReadOwnNotifications, p).code(), StatusCode::kForbidden);
  EXPECT_EQ(authorize(Auditor{AuditorGrantId(), p}, Permission::kReadOwnNotifications, p).code(),
            StatusCode::kForbidden);
}

TEST(Roles, CategoriesFollowDomain) {
  EXPECT_EQ(all_roles().size(), static_cast<size_t>(kRoleCount));
  std::map<RoleCategory, int> per_category;
  for (Role r : all_roles()) ++per_category[role_category(r)];
  EXPECT_EQ(per_category[RoleCategory::kAdmin], 5);
  EXPECT_EQ(per_category[RoleCategory::kAgent], 3);
  EXPECT_EQ(per_category[RoleCategory::kIncentives], 2);
  EXPECT_EQ(per_category[RoleCategory::kReferralAndMarketing], 2);
  EXPECT_EQ(role_category(Role::kBusinessProfileAdmin), RoleCategory::kReferralAndMarketing);
  EXPECT_EQ(role_category(Role::kMpnPartnerAdmin), RoleCategory::kAdmin);
}

// Who may grant what: every role-managing role against every role, via AssignRole.
TEST(Roles, GrantableRolesPerGranter) {
  const std::set<Role> kAccountAdminList = {Role::kAccountAdmin,        Role::kMpnPartnerAdmin, Role::kBusinessProfileAdmin,
                                            Role::kReferralAdmin,       Role::kIncentivesAdmin, Role::kIncentivesUser};
  const RichWorld base;
  for (Role granter : {Role::kGlobalAdmin, Role::kUserManagementAdmin, Role::kAccountAdmin}) {
    for (Role role : all_roles()) {
      RichWorld r = base;
      Principal actor = r.admin();
      if (granter != Role::kGlobalAdmin) {
        actor = r.w.user(testing::create_user(r.w, r.admin(), r.p.partner, "granter@contoso.com", {granter}));
      }
      UserId fresh = testing::create_user(r.w, r.admin(), r.p.partner, "fresh@contoso.com", {});
      auto d = r.w.decide(actor, AssignRole{r.p.partner, fresh, role});
      bool expect = granter == Role::kGlobalAdmin ||
                    (granter == Role::kUserManagementAdmin && role != Role::kGlobalAdmin) ||
                    (granter == Role::kAccountAdmin && kAccountAdminList.count(role));
      if (expect) {
        EXPECT_TRUE(d.is_ok()) << role_name(granter) << " grants " << role_name(role) << ": " << d.status().to_string();
      } else {
        EXPECT_EQ(d.status().code(), StatusCode::kForbidden) << role_name(granter) << " grants " << role_name(role);
        EXPECT_EQ(d.status().field(), "role");
      }
    }
  }
}

TEST(Roles, NobodyRaisesAUserAboveTheirOwnRights) {
  RichWorld r;
  Principal uma = r.w.user(testing::create_user(r.w, r.admin(), r.p.partner, "uma@contoso.com",
                                                {Role::kUserManagementAdmin}));
  auto d = r.w.decide(uma, AssignRole{r.p.partner, r.target, Role::kGlobalAdmin});
  EXPECT_EQ(d.status().code(), StatusCode::kForbidden);
  EXPECT_NE(d.status().message().find("Global admin"), std::string::npos);
  auto created = r.w.decide(uma, CreateUser{r.p.partner, testing::contact("A", "B", "ab@contoso.com"),
                                            {Role::kGlobalAdmin}});
  EXPECT_EQ(created.status().code(), StatusCode::kForbidden);
  EXPECT_EQ(created.status().field(), "roles[0]");
  // Nor may a lesser admin take over a Global admin's account.
  auto reset = r.w.decide(uma, ResetPassword{r.p.partner, r.p.admin});
  EXPECT_EQ(reset.status().code(), StatusCode::kForbidden);
}

}  // namespace
}  // namespace accountable
