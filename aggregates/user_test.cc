#include "aggregates/user.h"

#include <gtest/gtest.h>

#include "aggregates/rule_errors.h"
#include "aggregates/testing/expect.h"

namespace accountable {
namespace {

using namespace accountable::testing;  // NOLINT: test helpers only

// ---- CreateUser ----------------------------------------------------------------------

TEST(CreateUser, CreatesUserWithTemporaryPasswordFactAndClaimsEmail) {
  RichWorld r;
  auto d = r.w.decide(r.admin(), CreateUser{r.p.partner, contact("Li", "Wei", "li@contoso.com"),
                                            {Role::kBillingAdmin, Role::kAdminAgent}});
  ASSERT_TRUE(d.is_ok()) << d.status().to_string();
  UserId id = r.w.last_id<UserId>(0);
  ASSERT_NE(d->find(partner_stream(r.p.partner)), nullptr) << "the email claim is guarded by the partner stream";
  EXPECT_EQ(d->find(user_stream(id))->expected.kind(), ExpectedVersion::Kind::kNoStream);
  ASSERT_TRUE(r.w.store.append(*d).is_ok());
  UserState u = r.w.user_state(id);
  EXPECT_EQ(u.roles, (std::set<Role>{Role::kBillingAdmin, Role::kAdminAgent}));
  EXPECT_TRUE(u.must_change_password);
  EXPECT_EQ(u.profile.subject, user_subject(id));
  EXPECT_EQ(u.profile.value.email, "li@contoso.com");
  auto events = r.w.store.read(user_stream(id));
  const auto& pw = std::get<PasswordSet>(events.back());
  EXPECT_EQ(pw.reason, PasswordReason::kCreated);
  EXPECT_EQ(pw.by, "user:" + r.p.admin.to_string());
  EXPECT_TRUE(pw.must_change_at_next_sign_in);
}

TEST(CreateUser, GlobalAdminJoinsTheActiveSet) {
  RichWorld r;
  UserId id = create_user(r.w, r.admin(), r.p.partner, "ga2@contoso.com", {Role::kGlobalAdmin});
  EXPECT_EQ(r.w.partner_state(r.p.partner).active_global_admins, (std::set<UserId>{r.p.admin, id}));
}

TEST(CreateUser, EmailIsUniqueWithinThePartnerOnly) {
  RichWorld r;
  Status dup = run(r.w, r.admin(), CreateUser{r.p.partner, contact("T", "T", "TARGET@contoso.com"), {}});
  EXPECT_TRUE(is_code(dup, StatusCode::kConflict, "profile.email"));
  // The same address in another partner is fine.
  ASSERT_TRUE(run(r.w, op(), ReinstatePartner{r.other.partner}).is_ok());
  EXPECT_TRUE(run(r.w, r.w.user(r.other.admin), CreateUser{r.other.partner, contact("T", "T", "target@contoso.com"), {}})
                  .is_ok());
}

TEST(CreateUser, Validates) {
  RichWorld r;
  auto create = [&](ContactDetails c, std::vector<Role> roles = {}) {
    return run(r.w, r.admin(), CreateUser{r.p.partner, std::move(c), std::move(roles)});
  };
  EXPECT_TRUE(is_invalid(create(contact("", "X", "x@contoso.com")), "profile.first_name"));
  EXPECT_TRUE(is_invalid(create(contact(std::string(51, 'a'), "X", "x@contoso.com")), "profile.first_name"));
  EXPECT_TRUE(is_invalid(create(contact("X", std::string(51, 'a'), "x@contoso.com")), "profile.last_name"));
  EXPECT_TRUE(is_invalid(create(contact("X", "Y", "x@localhost")), "profile.email"));
  EXPECT_TRUE(is_invalid(create(contact("X", "Y", "x@contoso.com"), {static_cast<Role>(42)}), "roles[0]"));
  EXPECT_TRUE(is_invalid(create(contact("X", "Y", "x@contoso.com"), {Role::kSalesAgent, Role::kSalesAgent}),
                         "roles[1]"));
  Status two_admin = create(contact("X", "Y", "x@contoso.com"), {Role::kBillingAdmin, Role::kAccountAdmin});
  EXPECT_TRUE(is_rule(two_admin, rule::kOneRolePerCategory));
  EXPECT_EQ(two_admin.field(), "roles[1]");
}

// ---- UpdateUserProfile ----------------------------------------------------------------

TEST(UpdateUserProfile, SameEmailTouchesOnlyTheUserStream) {
  RichWorld r;
  auto d = r.w.decide(r.admin(), UpdateUserProfile{r.p.partner, r.target, contact("Tia", "Tar", "target@contoso.com")});
  ASSERT_TRUE(d.is_ok()) << d.status().to_string();
  EXPECT_EQ(d->writes.size(), 1u);
  ASSERT_TRUE(r.w.store.append(*d).is_ok());
  EXPECT_EQ(r.w.user_state(r.target).profile.value.first_name, "Tia");
}

TEST(UpdateUserProfile, NewEmailMovesTheClaimAndReleasesTheOld) {
  RichWorld r;
  auto d = r.w.decide(r.admin(), UpdateUserProfile{r.p.partner, r.target, contact("T", "T", "t2@contoso.com")});
  ASSERT_TRUE(d.is_ok());
  EXPECT_EQ(d->writes.size(), 2u);
  ASSERT_TRUE(r.w.store.append(*d).is_ok());
  EXPECT_EQ(r.w.partner_state(r.p.partner).users.at(r.target), fake_fingerprint("t2@contoso.com"));
  EXPECT_TRUE(run(r.w, r.admin(), CreateUser{r.p.partner, contact("N", "N", "target@contoso.com"), {}}).is_ok());
}

TEST(UpdateUserProfile, RefusesEmailOfAnotherUserAndInactiveOrUnknownUsers) {
  RichWorld r;
  EXPECT_TRUE(is_code(run(r.w, r.admin(), UpdateUserProfile{r.p.partner, r.target, contact("T", "T", "ada@contoso.com")}),
                      StatusCode::kConflict, "profile.email"));
  EXPECT_TRUE(is_rule(run(r.w, r.admin(),
                          UpdateUserProfile{r.p.partner, r.restorable, contact("R", "R", "restore.me@contoso.com")}),
                      rule::kUserInactive));
  EXPECT_TRUE(is_code(run(r.w, r.admin(), UpdateUserProfile{r.p.partner, UserId(), contact("R", "R", "r@contoso.com")}),
                      StatusCode::kNotFound, "user_id"));
  EXPECT_TRUE(is_invalid(run(r.w, r.admin(), UpdateUserProfile{r.p.partner, r.target, contact("T", "", "t@contoso.com")}),
                         "profile.last_name"));
}

// ---- UpdateOwnProfile ---------------------------------------------------------------------

TEST(UpdateOwnProfile, ChangesNameAndPhoneAndKeepsTheEmailAndItsClaim) {
  RichWorld r;
  const EmailFingerprint claim = r.w.partner_state(r.p.partner).users.at(r.target);
  auto d = r.w.decide(r.w.user(r.target), UpdateOwnProfile{r.p.partner, r.target, "Tamsin", "Tarn", "+1 425 555 0199"});
  ASSERT_TRUE(d.is_ok()) << d.status().to_string();
  ASSERT_EQ(d->writes.size(), 1u) << "only the user's stream: the email claim does not move";
  ASSERT_TRUE(r.w.store.append(*d).is_ok());
  const UserState u = r.w.user_state(r.target);
  EXPECT_EQ(u.profile.value.first_name, "Tamsin");
  EXPECT_EQ(u.profile.value.last_name, "Tarn");
  EXPECT_EQ(u.profile.value.phone, "+1 425 555 0199");
  EXPECT_EQ(u.profile.value.email, "target@contoso.com");
  EXPECT_EQ(u.email_fingerprint, claim);
  EXPECT_EQ(r.w.partner_state(r.p.partner).users.at(r.target), claim);
  // An empty phone clears it.
  ASSERT_TRUE(run(r.w, r.w.user(r.target), UpdateOwnProfile{r.p.partner, r.target, "Tamsin", "Tarn", ""}).is_ok());
  EXPECT_EQ(r.w.user_state(r.target).profile.value.phone, "");
}

TEST(UpdateOwnProfile, OnlyOnesOwnEvenForAGlobalAdmin) {
  RichWorld r;
  Status other = run(r.w, r.admin(), UpdateOwnProfile{r.p.partner, r.target, "Not", "Mine", ""});
  EXPECT_TRUE(is_code(other, StatusCode::kForbidden, "user_id")) << other.to_string();
  EXPECT_EQ(r.w.user_state(r.target).profile.value.first_name, "Sam") << "nothing written";
  EXPECT_TRUE(is_code(run(r.w, testing::op(), UpdateOwnProfile{r.p.partner, r.target, "Op", "Erator", ""}),
                      StatusCode::kForbidden));
  // Another partner's user naming themselves under this partner: outside their partner.
  EXPECT_TRUE(is_code(run(r.w, r.w.user(r.other.admin), UpdateOwnProfile{r.p.partner, r.other.admin, "E", "F", ""}),
                      StatusCode::kForbidden, "partner_id"));
}

TEST(UpdateOwnProfile, ValidatesEachFieldByName) {
  RichWorld r;
  const Principal self = r.w.user(r.target);
  EXPECT_TRUE(is_invalid(run(r.w, self, UpdateOwnProfile{r.p.partner, r.target, "", "Tarn", ""}), "first_name"));
  EXPECT_TRUE(is_invalid(run(r.w, self, UpdateOwnProfile{r.p.partner, r.target, "T", std::string(51, 'x'), ""}),
                         "last_name"));
  EXPECT_TRUE(is_invalid(run(r.w, self, UpdateOwnProfile{r.p.partner, r.target, "T", "T", "call me"}), "phone"));
  EXPECT_EQ(r.w.user_state(r.target).profile.value.first_name, "Sam") << "nothing written";
}

// ---- MarkNotificationsRead ---------------------------------------------------------------

TEST(MarkNotificationsRead, WritesNotificationsReadOnTheUsersOwnStream) {
  RichWorld r;
  const std::string tax = "tax.4d2c1b0a-9e8f-4a7b-8c6d-5e4f3a2b1c0d.1798761600000000";
  auto d = r.w.decide(r.w.user(r.target), MarkNotificationsRead{r.p.partner, r.target, 42, {"7", tax}});
  ASSERT_TRUE(d.is_ok()) << d.status().to_string();
  ASSERT_EQ(d->writes.size(), 1u) << "only the user's stream";
  EXPECT_EQ(d->writes[0].stream, user_stream(r.target));
  ASSERT_EQ(d->writes[0].events.size(), 1u);
  const auto* e = std::get_if<NotificationsRead>(&d->writes[0].events[0]);
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->up_to, 42u);
  EXPECT_EQ(e->ids, (std::vector<std::string>{"7", tax}));
  EXPECT_EQ(e->at, r.w.clock.now());
}

TEST(MarkNotificationsRead, OnlyOnesOwnAndEachIdByName) {
  RichWorld r;
  const Principal self = r.w.user(r.target);
  const StreamVersion before = r.w.user_state(r.target).version;
  EXPECT_TRUE(is_code(run(r.w, r.admin(), MarkNotificationsRead{r.p.partner, r.target, 1, {}}),
                      StatusCode::kForbidden, "user_id"));
  EXPECT_TRUE(is_code(run(r.w, testing::op(), MarkNotificationsRead{r.p.partner, r.target, 1, {}}),
                      StatusCode::kForbidden));
  EXPECT_TRUE(is_rule(run(r.w, self, MarkNotificationsRead{r.p.partner, r.target, 0, {}}), rule::kMarkReadNamesSome,
                      "ids"));
  EXPECT_TRUE(is_invalid(run(r.w, self, MarkNotificationsRead{r.p.partner, r.target, UINT64_MAX, {}}), "up_to"));
  EXPECT_TRUE(is_invalid(run(r.w, self, MarkNotificationsRead{r.p.partner, r.target, 0, {"3", "0"}}), "ids[1]"));
  EXPECT_TRUE(is_invalid(run(r.w, self, MarkNotificationsRead{r.p.partner, r.target, 0, {"3", "3"}}), "ids[1]"));
  EXPECT_TRUE(is_invalid(run(r.w, self, MarkNotificationsRead{r.p.partner, r.target, 0, {"tax.x.1"}}), "ids[0]"));
  EXPECT_TRUE(is_invalid(
      run(r.w, self, MarkNotificationsRead{r.p.partner, r.target, 0,
                                           {"tax.4D2C1B0A-9E8F-4A7B-8C6D-5E4F3A2B1C0D.1"}}),  // one spelling: lower case
      "ids[0]"));
  std::vector<std::string> many;
  for (size_t i = 1; i <= kMaxNotificationIds + 1; ++i) many.push_back(std::to_string(i));
  EXPECT_TRUE(is_invalid(run(r.w, self, MarkNotificationsRead{r.p.partner, r.target, 0, many}), "ids"));
  many.pop_back();
  EXPECT_EQ(r.w.user_state(r.target).version, before) << "nothing written";
  EXPECT_TRUE(run(r.w, self, MarkNotificationsRead{r.p.partner, r.target, 0, many}).is_ok());
  // A deactivated user marks nothing (their principal is no longer active).
  EXPECT_TRUE(is_code(run(r.w, r.w.user(r.restorable), MarkNotificationsRead{r.p.partner, r.restorable, 1, {}}),
                      StatusCode::kUnauthenticated));
}

// ---- roles --------------------------------------------------------------------------------

TEST(AssignRole, HappyPathAndOneRolePerCategory) {
  RichWorld r;
  ASSERT_TRUE(run(r.w, r.admin(), AssignRole{r.p.partner, r.target, Role::kHelpdeskAgent}).is_ok());
  EXPECT_TRUE(r.w.user_state(r.target).roles.count(Role::kHelpdeskAgent));
  Status same_category = run(r.w, r.admin(), AssignRole{r.p.partner, r.target, Role::kBusinessProfileAdmin});
  EXPECT_TRUE(is_rule(same_category, rule::kOneRolePerCategory));
  EXPECT_NE(same_category.message().find("Referral and marketing"), std::string::npos);
  EXPECT_TRUE(is_code(run(r.w, r.admin(), AssignRole{r.p.partner, r.target, Role::kReferralAdmin}),
                      StatusCode::kConflict, "role"));
  EXPECT_TRUE(is_invalid(run(r.w, r.admin(), AssignRole{r.p.partner, r.target, static_cast<Role>(99)}), "role"));
  EXPECT_TRUE(is_rule(run(r.w, r.admin(), AssignRole{r.p.partner, r.restorable, Role::kIncentivesUser}),
                      rule::kUserInactive));
}

TEST(AssignRole, GlobalAdminIsRecordedOnThePartnerStream) {
  RichWorld r;
  auto d = r.w.decide(r.admin(), AssignRole{r.p.partner, r.target, Role::kGlobalAdmin});
  ASSERT_TRUE(d.is_ok());
  ASSERT_NE(d->find(partner_stream(r.p.partner)), nullptr);
  ASSERT_TRUE(r.w.store.append(*d).is_ok());
  EXPECT_TRUE(r.w.partner_state(r.p.partner).active_global_admins.count(r.target));
}

TEST(RemoveRole, HappyPathNotHeldAndLastGlobalAdmin) {
  RichWorld r;
  ASSERT_TRUE(run(r.w, r.admin(), RemoveRole{r.p.partner, r.target, Role::kReferralAdmin}).is_ok());
  EXPECT_TRUE(r.w.user_state(r.target).roles.empty());
  EXPECT_TRUE(is_code(run(r.w, r.admin(), RemoveRole{r.p.partner, r.target, Role::kReferralAdmin}),
                      StatusCode::kNotFound, "role"));
  Status last = run(r.w, r.admin(), RemoveRole{r.p.partner, r.p.admin, Role::kGlobalAdmin});
  EXPECT_TRUE(is_rule(last, rule::kLastGlobalAdmin));
  EXPECT_TRUE(r.w.user_state(r.p.admin).roles.count(Role::kGlobalAdmin));
}

TEST(RemoveRole, AccountAdminRemovesOnlyItsListedRoles) {
  RichWorld r;
  Principal aa = r.w.user(create_user(r.w, r.admin(), r.p.partner, "aa@contoso.com", {Role::kAccountAdmin}));
  UserId agent = create_user(r.w, r.admin(), r.p.partner, "agent@contoso.com", {Role::kSalesAgent});
  EXPECT_TRUE(is_code(run(r.w, aa, RemoveRole{r.p.partner, agent, Role::kSalesAgent}), StatusCode::kForbidden, "role"));
  EXPECT_TRUE(run(r.w, aa, RemoveRole{r.p.partner, r.target, Role::kReferralAdmin}).is_ok());
}

// ---- passwords ---------------------------------------------------------------------------

TEST(ResetPassword, RecordsOnlyTheFact) {
  RichWorld r;
  ASSERT_TRUE(run(r.w, r.admin(), ResetPassword{r.p.partner, r.target}).is_ok());
  PasswordSet pw = std::get<PasswordSet>(r.w.store.read(user_stream(r.target)).back());
  EXPECT_EQ(pw.reason, PasswordReason::kReset);
  EXPECT_EQ(pw.by, "user:" + r.p.admin.to_string());
  EXPECT_TRUE(pw.must_change_at_next_sign_in);
  EXPECT_TRUE(is_rule(run(r.w, r.admin(), ResetPassword{r.p.partner, r.restorable}), rule::kUserInactive));
  EXPECT_TRUE(is_code(run(r.w, r.admin(), ResetPassword{r.p.partner, UserId()}), StatusCode::kNotFound));
}

TEST(ChangePassword, OnlyOnesOwn) {
  RichWorld r;
  Principal target = r.w.user(r.target);
  ASSERT_TRUE(run(r.w, target, ChangePassword{r.p.partner, r.target}).is_ok());
  UserState u = r.w.user_state(r.target);
  EXPECT_FALSE(u.must_change_password);
  EXPECT_TRUE(is_code(run(r.w, r.admin(), ChangePassword{r.p.partner, r.target}), StatusCode::kForbidden, "user_id"));
}

// ---- lifecycle -----------------------------------------------------------------------------

TEST(DeactivateUser, HappyPathTwiceAndLastGlobalAdmin) {
  RichWorld r;
  ASSERT_TRUE(run(r.w, r.admin(), DeactivateUser{r.p.partner, r.target}).is_ok());
  UserState u = r.w.user_state(r.target);
  EXPECT_EQ(u.status, UserStatus::kDeactivated);
  EXPECT_EQ(u.deactivated_at, r.w.clock.now());
  EXPECT_FALSE(std::get<PartnerUser>(r.w.user(r.target)).active);
  EXPECT_TRUE(is_rule(run(r.w, r.admin(), DeactivateUser{r.p.partner, r.target}), rule::kUserInactive));
  EXPECT_TRUE(is_rule(run(r.w, r.admin(), DeactivateUser{r.p.partner, r.p.admin}), rule::kLastGlobalAdmin));
}

TEST(DeactivateUser, AnotherGlobalAdminCanBeDeactivated) {
  RichWorld r;
  UserId ga2 = create_user(r.w, r.admin(), r.p.partner, "ga2@contoso.com", {Role::kGlobalAdmin});
  ASSERT_TRUE(run(r.w, r.admin(), DeactivateUser{r.p.partner, ga2}).is_ok());
  EXPECT_EQ(r.w.partner_state(r.p.partner).active_global_admins, std::set<UserId>{r.p.admin});
  // Restoring brings it back into the active set.
  ASSERT_TRUE(run(r.w, r.admin(), RestoreUser{r.p.partner, ga2}).is_ok());
  EXPECT_EQ(r.w.partner_state(r.p.partner).active_global_admins.size(), 2u);
}

TEST(RestoreUser, OnlyWithin30Days) {
  RichWorld r;  // restorable was deactivated on 2026-02-20T12:00Z
  EXPECT_TRUE(is_rule(run(r.w, r.admin(), RestoreUser{r.p.partner, r.target}), rule::kUserActive));
  r.w.clock.set(at("2026-03-22T12:00:00.000001Z"));
  EXPECT_TRUE(is_rule(run(r.w, r.admin(), RestoreUser{r.p.partner, r.restorable}), rule::kRestoreWindow));
  r.w.clock.set(at("2026-03-22T12:00:00Z"));  // exactly 30 days: still restorable
  ASSERT_TRUE(run(r.w, r.admin(), RestoreUser{r.p.partner, r.restorable}).is_ok());
  EXPECT_EQ(r.w.user_state(r.restorable).status, UserStatus::kActive);
  EXPECT_TRUE(std::get<PartnerUser>(r.w.user(r.restorable)).active);
}

TEST(PurgeUser, OnlyAfterTheRestoreWindow) {
  RichWorld r;
  EXPECT_TRUE(is_rule(run(r.w, r.admin(), PurgeUser{r.p.partner, r.target}), rule::kUserActive));
  EXPECT_TRUE(is_rule(run(r.w, op(), PurgeUser{r.p.partner, r.restorable}), rule::kPurgeAfterWindow));
  r.w.clock.set(at("2026-03-22T12:00:00.000001Z"));
  EXPECT_TRUE(run(r.w, op(), PurgeUser{r.p.partner, r.restorable}).is_ok());
}

TEST(PurgeUser, ErasesPersonalDataReleasesEmailAndIsFinal) {
  RichWorld r;  // purgeable was deactivated 36 days ago
  ASSERT_TRUE(run(r.w, r.admin(), PurgeUser{r.p.partner, r.purgeable}).is_ok());
  UserState u = r.w.user_state(r.purgeable);
  EXPECT_EQ(u.status, UserStatus::kPurged);
  EXPECT_TRUE(u.profile.value.email.empty());
  EXPECT_EQ(u.profile.subject, user_subject(r.purgeable)) << "the subject stays: its key is what gets destroyed";
  EXPECT_FALSE(r.w.partner_state(r.p.partner).users.count(r.purgeable));
  EXPECT_TRUE(run(r.w, r.admin(), CreateUser{r.p.partner, contact("P", "M", "purge.me@contoso.com"), {}}).is_ok());
  EXPECT_TRUE(is_rule(run(r.w, r.admin(), RestoreUser{r.p.partner, r.purgeable}), rule::kRestoreWindow));
  EXPECT_TRUE(is_code(run(r.w, r.admin(), PurgeUser{r.p.partner, r.purgeable}), StatusCode::kNotFound));
  EXPECT_TRUE(is_code(run(r.w, r.admin(), ResetPassword{r.p.partner, r.purgeable}), StatusCode::kNotFound));
}

TEST(ManagingAGlobalAdmin, OnlyAGlobalAdminMay) {
  RichWorld r;
  UserId ga2 = create_user(r.w, r.admin(), r.p.partner, "ga2@contoso.com", {Role::kGlobalAdmin});
  Principal uma =
      r.w.user(create_user(r.w, r.admin(), r.p.partner, "uma@contoso.com", {Role::kUserManagementAdmin}));
  EXPECT_TRUE(is_code(run(r.w, uma, DeactivateUser{r.p.partner, ga2}), StatusCode::kForbidden, "user_id"));
  EXPECT_TRUE(is_code(run(r.w, uma, UpdateUserProfile{r.p.partner, ga2, contact("G", "A", "ga2@contoso.com")}),
                      StatusCode::kForbidden, "user_id"));
  EXPECT_TRUE(is_code(run(r.w, uma, RemoveRole{r.p.partner, ga2, Role::kGlobalAdmin}), StatusCode::kForbidden, "role"));
  // Roles too: a lesser admin may not add or take away a Global admin's other roles.
  Principal aa = r.w.user(create_user(r.w, r.admin(), r.p.partner, "aa2@contoso.com", {Role::kAccountAdmin}));
  EXPECT_TRUE(
      is_code(run(r.w, uma, AssignRole{r.p.partner, ga2, Role::kReferralAdmin}), StatusCode::kForbidden, "user_id"));
  EXPECT_TRUE(
      is_code(run(r.w, aa, AssignRole{r.p.partner, ga2, Role::kReferralAdmin}), StatusCode::kForbidden, "user_id"));
  ASSERT_TRUE(run(r.w, r.admin(), AssignRole{r.p.partner, ga2, Role::kReferralAdmin}).is_ok());
  EXPECT_TRUE(
      is_code(run(r.w, uma, RemoveRole{r.p.partner, ga2, Role::kReferralAdmin}), StatusCode::kForbidden, "user_id"));
  EXPECT_TRUE(
      is_code(run(r.w, aa, RemoveRole{r.p.partner, ga2, Role::kReferralAdmin}), StatusCode::kForbidden, "user_id"));
  ASSERT_TRUE(run(r.w, r.admin(), RemoveRole{r.p.partner, ga2, Role::kReferralAdmin}).is_ok());
  ASSERT_TRUE(run(r.w, r.admin(), DeactivateUser{r.p.partner, ga2}).is_ok());
  r.w.clock.advance_days(31);
  EXPECT_TRUE(is_code(run(r.w, uma, PurgeUser{r.p.partner, ga2}), StatusCode::kForbidden, "user_id"));
  EXPECT_TRUE(run(r.w, op(), PurgeUser{r.p.partner, ga2}).is_ok());
}

}  // namespace
}  // namespace accountable
