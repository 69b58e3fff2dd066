#include "aggregates/business_profile.h"

#include <gtest/gtest.h>

#include "aggregates/rule_errors.h"
#include "aggregates/testing/expect.h"

namespace accountable {
namespace {

using namespace accountable::testing;  // NOLINT: test helpers only

TEST(CreateBusinessProfile, OnePerRegion) {
  RichWorld r;
  Principal bpa = r.w.user(create_user(r.w, r.admin(), r.p.partner, "bpa@contoso.com", {Role::kBusinessProfileAdmin}));
  ASSERT_TRUE(run(r.w, bpa, CreateBusinessProfile{r.p.partner, "latam", profile_details()}).is_ok());
  BusinessProfileState s = r.w.profile_state(r.p.partner, "latam");
  EXPECT_TRUE(s.exists);
  EXPECT_FALSE(s.published);
  EXPECT_EQ(s.details, profile_details());
  EXPECT_TRUE(is_code(run(r.w, bpa, CreateBusinessProfile{r.p.partner, "latam", profile_details()}),
                      StatusCode::kConflict, "region"));
}

TEST(CreateBusinessProfile, OnlyInAnAuthorizedRegion) {
  RichWorld r;
  Status s = run(r.w, r.admin(), CreateBusinessProfile{r.p.partner, "na", profile_details()});
  EXPECT_TRUE(is_rule(s, rule::kRegionAuthorized)) << s.to_string();
  EXPECT_EQ(s.field(), "region");
  EXPECT_NE(s.message().find("authorized: apac, emea, latam"), std::string::npos) << s.message();
  ASSERT_TRUE(run(r.w, op(), SetAuthorizedRegions{r.p.partner, {"apac", "emea", "latam", "na"}}).is_ok());
  EXPECT_TRUE(run(r.w, r.admin(), CreateBusinessProfile{r.p.partner, "na", profile_details()}).is_ok());
}

TEST(PublishBusinessProfile, RefusedOnceTheRegionIsNoLongerAuthorized) {
  RichWorld r;
  ASSERT_TRUE(run(r.w, op(), SetAuthorizedRegions{r.p.partner, {"apac"}}).is_ok());
  EXPECT_TRUE(is_rule(run(r.w, r.admin(), PublishBusinessProfile{r.p.partner, "emea"}), rule::kRegionAuthorized));
  // What exists stays manageable: edit and unpublish go on.
  EXPECT_TRUE(run(r.w, r.admin(), UpdateBusinessProfile{r.p.partner, "emea", profile_details()}).is_ok());
  EXPECT_TRUE(run(r.w, r.admin(), UnpublishBusinessProfile{r.p.partner, "apac"}).is_ok());
}

TEST(CreateBusinessProfile, ValidatesDetails) {
  RichWorld r;
  auto create = [&](auto mutate) {
    BusinessProfileDetails d = profile_details();
    mutate(d);
    return run(r.w, r.admin(), CreateBusinessProfile{r.p.partner, "latam", d});
  };
  EXPECT_TRUE(create([](auto& d) { d.description = std::string(2500, 'x'); }).is_ok());
  r = RichWorld();
  EXPECT_TRUE(is_invalid(create([](auto& d) { d.description = std::string(2501, 'x'); }), "details.description"));
  EXPECT_TRUE(is_invalid(create([](auto& d) { d.logo->width_px = 301; }), "details.logo.width_px"));
  EXPECT_TRUE(is_invalid(create([](auto& d) { d.logo->format = static_cast<LogoFormat>(3); }), "details.logo.format"));
  EXPECT_TRUE(is_invalid(create([](auto& d) { d.industry_focus = {"a", "b", "c", "d", "e", "f"}; }),
                         "details.industry_focus"));
  EXPECT_TRUE(is_invalid(create([](auto& d) { d.industry_focus = {""}; }), "details.industry_focus[0]"));
  EXPECT_TRUE(is_invalid(create([](auto& d) { d.website = "contoso.com"; }), "details.website"));
  EXPECT_TRUE(is_invalid(create([](auto& d) { d.linkedin_url = "https://facebook.com/contoso"; }),
                         "details.linkedin_url"));
  EXPECT_TRUE(is_invalid(create([](auto& d) { d.target_customer_sizes = {static_cast<CustomerSize>(9)}; }),
                         "details.target_customer_sizes[0]"));
  EXPECT_TRUE(is_rule(create([](auto& d) {
                        d.target_customer_sizes.clear();
                        d.refuse_referrals_outside_target_sizes = true;
                      }),
                      rule::kReferralSizesNeeded, "details.refuse_referrals_outside_target_sizes"));
  EXPECT_TRUE(is_invalid(run(r.w, r.admin(), CreateBusinessProfile{r.p.partner, "LATAM", profile_details()}),
                         "region"));
}

TEST(CreateBusinessProfile, ProductsMustBeVendorProducts) {
  RichWorld r;
  Status s = run(r.w, r.admin(),
                 CreateBusinessProfile{r.p.partner, "latam", [] {
                                         BusinessProfileDetails d = profile_details();
                                         d.products = {"offer-1", "my-own-product"};
                                         return d;
                                       }()});
  EXPECT_TRUE(is_rule(s, rule::kProductsInCatalog));
  EXPECT_EQ(s.field(), "details.products[1]");
}

TEST(UpdateBusinessProfile, HappyPathAndNotFound) {
  RichWorld r;
  BusinessProfileDetails d = profile_details();
  d.description = "Updated";
  ASSERT_TRUE(run(r.w, r.admin(), UpdateBusinessProfile{r.p.partner, "emea", d}).is_ok());
  EXPECT_EQ(r.w.profile_state(r.p.partner, "emea").details.description, "Updated");
  EXPECT_TRUE(is_code(run(r.w, r.admin(), UpdateBusinessProfile{r.p.partner, "nowhere", d}), StatusCode::kNotFound,
                      "region"));
}

TEST(AddProfileLocation, AtMostFivePerRegion) {
  RichWorld r;  // emea has one location
  for (int i = 0; i < 4; ++i) {
    ASSERT_TRUE(run(r.w, r.admin(), AddProfileLocation{r.p.partner, "emea", address("FR"), ""}).is_ok());
  }
  EXPECT_EQ(r.w.profile_state(r.p.partner, "emea").locations.size(), 5u);
  EXPECT_TRUE(is_rule(run(r.w, r.admin(), AddProfileLocation{r.p.partner, "emea", address("FR"), ""}),
                      rule::kMaxProfileLocations));
}

TEST(AddProfileLocation, Validates) {
  RichWorld r;
  Address a = address("FR");
  a.state = "IDF";
  EXPECT_TRUE(is_invalid(run(r.w, r.admin(), AddProfileLocation{r.p.partner, "emea", a, ""}), "address.state"));
  EXPECT_TRUE(is_invalid(run(r.w, r.admin(), AddProfileLocation{r.p.partner, "emea", address("FR"), "phone!"}),
                         "phone"));
}

TEST(RemoveProfileLocation, HappyPathAndNotFound) {
  RichWorld r;
  ASSERT_TRUE(run(r.w, r.admin(), RemoveProfileLocation{r.p.partner, "emea", r.emea_location}).is_ok());
  EXPECT_TRUE(r.w.profile_state(r.p.partner, "emea").locations.empty());
  EXPECT_TRUE(is_code(run(r.w, r.admin(), RemoveProfileLocation{r.p.partner, "emea", r.emea_location}),
                      StatusCode::kNotFound, "location_id"));
}

TEST(PublishBusinessProfile, PublishAndUnpublish) {
  RichWorld r;
  Principal referral = r.w.user(r.target);  // Referral admin
  ASSERT_TRUE(run(r.w, referral, PublishBusinessProfile{r.p.partner, "emea"}).is_ok());
  EXPECT_TRUE(r.w.profile_state(r.p.partner, "emea").published);
  EXPECT_TRUE(is_rule(run(r.w, referral, PublishBusinessProfile{r.p.partner, "emea"}), rule::kProfilePublished));
  ASSERT_TRUE(run(r.w, referral, UnpublishBusinessProfile{r.p.partner, "emea"}).is_ok());
  EXPECT_FALSE(r.w.profile_state(r.p.partner, "emea").published);
  EXPECT_TRUE(is_rule(run(r.w, referral, UnpublishBusinessProfile{r.p.partner, "emea"}), rule::kProfilePublished));
  EXPECT_TRUE(is_code(run(r.w, referral, PublishBusinessProfile{r.p.partner, "nowhere"}), StatusCode::kNotFound));
}

}  // namespace
}  // namespace accountable
