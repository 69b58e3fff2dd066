// Cross-stream invariants under concurrency: decisions made from states loaded at
// the same version, then committed one after the other through the store's
// expected-version check (the log's atomic multi-stream append).
#include <gtest/gtest.h>

#include "aggregates/rule_errors.h"
#include "aggregates/testing/fixtures.h"

namespace accountable {
namespace {

using testing::Enrolled;
using testing::World;

struct TwoAdmins {
  World w{testing::at("2026-03-02T12:00:00Z")};
  Enrolled p = testing::enroll(w);
  UserId a = p.admin;
  UserId b = testing::create_user(w, w.user(p.admin), p.partner, "bob@contoso.com", {Role::kGlobalAdmin});
};

TEST(LastGlobalAdminRace, DemotingEachOtherLeavesExactlyOne) {
  TwoAdmins t;
  ASSERT_EQ(t.w.partner_state(t.p.partner).active_global_admins.size(), 2u);
  Principal as_a = t.w.user(t.a), as_b = t.w.user(t.b);
  const Command a_demotes_b = RemoveRole{t.p.partner, t.b, Role::kGlobalAdmin};
  const Command b_demotes_a = RemoveRole{t.p.partner, t.a, Role::kGlobalAdmin};

  // Both decide from the same versions: each sees two Global admins and is allowed.
  auto d1 = t.w.decide(as_a, a_demotes_b);
  auto d2 = t.w.decide(as_b, b_demotes_a);
  ASSERT_TRUE(d1.is_ok()) << d1.status().to_string();
  ASSERT_TRUE(d2.is_ok()) << d2.status().to_string();
  // Each decision writes the partner stream that guards the invariant.
  ASSERT_NE(d1->find(partner_stream(t.p.partner)), nullptr);
  ASSERT_NE(d2->find(partner_stream(t.p.partner)), nullptr);

  size_t before = t.w.store.total_events();
  EXPECT_TRUE(t.w.store.append(*d1).is_ok());
  Status second = t.w.store.append(*d2);
  EXPECT_EQ(second.code(), StatusCode::kWrongExpectedVersion);
  EXPECT_EQ(second.field(), partner_stream(t.p.partner));
  EXPECT_EQ(t.w.store.total_events(), before + 2) << "the refused commit wrote nothing";

  PartnerState after = t.w.partner_state(t.p.partner);
  EXPECT_EQ(after.active_global_admins, std::set<UserId>{t.a});

  // The handler retries from fresh state. With B's fresh principal, B is no longer
  // a Global admin and may not remove roles at all.
  auto retry = t.w.decide(t.w.user(t.b), b_demotes_a);
  EXPECT_EQ(retry.status().code(), StatusCode::kForbidden);
  // Even with B's stale principal (still Global admin), fresh state refuses it on the rule.
  auto stale = t.w.decide(as_b, b_demotes_a);
  EXPECT_EQ(stale.status().code(), StatusCode::kRuleViolated);
  EXPECT_EQ(testing::rule_of(stale.status()), rule::kLastGlobalAdmin);
  EXPECT_EQ(t.w.partner_state(t.p.partner).active_global_admins.size(), 1u);
}

TEST(LastGlobalAdminRace, BothSteppingDownLeavesExactlyOne) {
  TwoAdmins t;
  auto d1 = t.w.decide(t.w.user(t.a), RemoveRole{t.p.partner, t.a, Role::kGlobalAdmin});
  auto d2 = t.w.decide(t.w.user(t.b), RemoveRole{t.p.partner, t.b, Role::kGlobalAdmin});
  ASSERT_TRUE(d1.is_ok());
  ASSERT_TRUE(d2.is_ok());
  EXPECT_TRUE(t.w.store.append(*d2).is_ok());
  EXPECT_EQ(t.w.store.append(*d1).code(), StatusCode::kWrongExpectedVersion);
  // Retry from fresh state: A is still a Global admin but now the last one.
  auto retry = t.w.decide(t.w.user(t.a), RemoveRole{t.p.partner, t.a, Role::kGlobalAdmin});
  EXPECT_EQ(retry.status().code(), StatusCode::kRuleViolated);
  EXPECT_EQ(testing::rule_of(retry.status()), rule::kLastGlobalAdmin);
  EXPECT_EQ(t.w.partner_state(t.p.partner).active_global_admins, std::set<UserId>{t.a});
}

TEST(LastGlobalAdminRace, DeactivatingEachOtherLeavesExactlyOne) {
  TwoAdmins t;
  auto d1 = t.w.decide(t.w.user(t.a), DeactivateUser{t.p.partner, t.b});
  auto d2 = t.w.decide(t.w.user(t.b), DeactivateUser{t.p.partner, t.a});
  ASSERT_TRUE(d1.is_ok());
  ASSERT_TRUE(d2.is_ok());
  EXPECT_TRUE(t.w.store.append(*d1).is_ok());
  EXPECT_EQ(t.w.store.append(*d2).code(), StatusCode::kWrongExpectedVersion);
  EXPECT_EQ(t.w.decide(t.w.user(t.b), DeactivateUser{t.p.partner, t.a}).status().code(),
            StatusCode::kUnauthenticated);  // B is deactivated now
  EXPECT_EQ(t.w.partner_state(t.p.partner).active_global_admins, std::set<UserId>{t.a});
  EXPECT_EQ(t.w.user_state(t.a).status, UserStatus::kActive);
}

TEST(LastGlobalAdminRace, DemoteAndDeactivateTheOtherAtOnce) {
  TwoAdmins t;
  auto d1 = t.w.decide(t.w.user(t.a), RemoveRole{t.p.partner, t.a, Role::kGlobalAdmin});
  auto d2 = t.w.decide(t.w.user(t.b), DeactivateUser{t.p.partner, t.b});
  ASSERT_TRUE(d1.is_ok());
  ASSERT_TRUE(d2.is_ok());
  EXPECT_TRUE(t.w.store.append(*d1).is_ok());
  EXPECT_EQ(t.w.store.append(*d2).code(), StatusCode::kWrongExpectedVersion);
  EXPECT_EQ(t.w.partner_state(t.p.partner).active_global_admins, std::set<UserId>{t.b});
}

TEST(EmailUniquenessRace, SameEmailCreatedTwiceAtOnce) {
  TwoAdmins t;
  const Command create = CreateUser{t.p.partner, testing::contact("C", "D", "same@contoso.com"), {}};
  auto d1 = t.w.decide(t.w.user(t.a), create);
  auto d2 = t.w.decide(t.w.user(t.b), create);
  ASSERT_TRUE(d1.is_ok());
  ASSERT_TRUE(d2.is_ok());
  EXPECT_TRUE(t.w.store.append(*d1).is_ok());
  EXPECT_EQ(t.w.store.append(*d2).code(), StatusCode::kWrongExpectedVersion);
  auto retry = t.w.decide(t.w.user(t.b), create);
  EXPECT_EQ(retry.status().code(), StatusCode::kConflict);
  EXPECT_EQ(retry.status().field(), "profile.email");
}

TEST(PinRace, FifthAndSixthPinAtOnceKeepAtMostFive) {
  testing::RichWorld r;  // offer-1 pinned; offer-2, offer-3 orderable
  for (const char* id : {"offer-4", "offer-5", "offer-6"}) {
    testing::must(r.w.execute(testing::op(), PublishOffer{testing::offer(id)}), "offer");
  }
  PriceList eur = testing::price_list("US", 2026, 3, {"offer-4", "offer-5", "offer-6"});
  eur.currency = "EUR";  // a second list for the month, so the new offers are orderable
  testing::must(r.w.execute(testing::op(), PublishPriceList{eur}), "price list");
  for (const char* id : {"offer-2", "offer-3", "offer-4"}) {
    testing::must(r.w.execute(r.admin(), PinOffer{r.p.partner, id}), "pin");
  }
  // Four pinned; two agents pin a fifth and a sixth offer at once.
  auto d1 = r.w.decide(r.admin(), PinOffer{r.p.partner, "offer-5"});
  auto d2 = r.w.decide(r.admin(), PinOffer{r.p.partner, "offer-6"});
  ASSERT_TRUE(d1.is_ok()) << d1.status().to_string();
  ASSERT_TRUE(d2.is_ok()) << d2.status().to_string();
  EXPECT_TRUE(r.w.store.append(*d1).is_ok());
  EXPECT_EQ(r.w.store.append(*d2).code(), StatusCode::kWrongExpectedVersion);
  auto retry = r.w.decide(r.admin(), PinOffer{r.p.partner, "offer-6"});
  EXPECT_EQ(retry.status().code(), StatusCode::kRuleViolated);
  EXPECT_EQ(testing::rule_of(retry.status()), rule::kMaxPins);
  EXPECT_EQ(r.w.partner_state(r.p.partner).pinned_offers.size(), 5u);
}

TEST(SuspensionRace, PinDecidedBeforeSuspensionCannotCommitAfterIt) {
  testing::RichWorld r;
  auto pin = r.w.decide(r.admin(), PinOffer{r.p.partner, "offer-2"});
  ASSERT_TRUE(pin.is_ok());
  testing::must(r.w.execute(testing::op(), SuspendPartner{r.p.partner, SuspensionReason::kAbuse, 0, ""}), "suspend");
  EXPECT_EQ(r.w.store.append(*pin).code(), StatusCode::kWrongExpectedVersion);
  auto retry = r.w.decide(r.admin(), PinOffer{r.p.partner, "offer-2"});
  EXPECT_EQ(testing::rule_of(retry.status()), rule::kSuspendedCannotPin);
}

}  // namespace
}  // namespace accountable
