// The views' spellings agree with the JSON form of events (docs/commands.md),
// and the stored JSON of addresses, contacts and profile details reads back.
#include "projections/view_codec.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "aggregates/testing/fixtures.h"
#include "schema/json_codec.h"

namespace accountable {
namespace {

std::string json_string(const boost::json::value& v, std::initializer_list<std::string_view> path) {
  const boost::json::value* at = &v;
  for (std::string_view key : path) at = &at->as_object().at(boost::json::string_view(key.data(), key.size()));
  return std::string(at->as_string().c_str());
}

TEST(ViewCodec, EnumSpellingsAreThoseOfTheEventJson) {
  for (int i = 0; i < kRoleCount; ++i) {
    const Role r = static_cast<Role>(i);
    EXPECT_EQ(enum_text(r), role_json_name(r));
    EXPECT_EQ(enum_from_text<Role>(enum_text(r)), r);
  }
  for (int s = 0; s <= 2; ++s) {
    for (int b = 0; b <= 1; ++b) {
      Offer o = testing::offer("o-1");
      o.segment = static_cast<Segment>(s);
      o.billing_model = static_cast<BillingModel>(b);
      o.license_agreement_type = static_cast<LicenseAgreementType>(s);
      o.secondary_license_type = static_cast<SecondaryLicenseType>(s);
      o.end_customer_type = static_cast<EndCustomerType>(s + b);
      if (o.secondary_license_type == SecondaryLicenseType::kAddOn) o.base_offer_ids = {"o-0"};
      const auto j = event_to_json(OfferPublished{o});
      EXPECT_EQ(json_string(j, {"offer", "segment"}), enum_text(o.segment));
      EXPECT_EQ(json_string(j, {"offer", "billing_model"}), enum_text(o.billing_model));
      EXPECT_EQ(json_string(j, {"offer", "license_agreement_type"}), enum_text(o.license_agreement_type));
      EXPECT_EQ(json_string(j, {"offer", "secondary_license_type"}), enum_text(o.secondary_license_type));
      EXPECT_EQ(json_string(j, {"offer", "end_customer_type"}), enum_text(o.end_customer_type));
    }
  }
  for (int c = 0; c <= 3; ++c) {
    PriceList l = testing::price_list("US", 2026, 3, {"o-1"});
    l.rows[0].change_code = static_cast<ChangeCode>(c);
    const auto j = event_to_json(PriceListPublished{l, {}});
    EXPECT_EQ(std::string(j.at("price_list").at("rows").at(0).at("change_code").as_string().c_str()),
              enum_text(l.rows[0].change_code));
  }
  for (int v = 0; v <= 3; ++v) {
    for (int sub = 0; sub <= 7; ++sub) {
      VettingStatusChanged e{static_cast<VettingStatus>(v), static_cast<VettingSubStatus>(sub)};
      const auto j = event_to_json(e);
      EXPECT_EQ(json_string(j, {"status"}), enum_text(e.status));
      EXPECT_EQ(json_string(j, {"sub_status"}), enum_text(e.sub_status));
    }
  }
  for (int r = 0; r <= 2; ++r) {
    PartnerSuspended e{static_cast<SuspensionReason>(r), 0, "", {}};
    EXPECT_EQ(json_string(event_to_json(e), {"reason"}), enum_text(e.reason));
  }
}

TEST(ViewCodec, StoredJsonReadsBack) {
  const Address a = testing::address("GB");
  EXPECT_EQ(address_from_text(address_text(a)).value(), a);
  const ContactDetails c = testing::contact("Zoë", "O'Brien", "zoe@example.com");
  EXPECT_EQ(contact_from_text(contact_text(c)).value(), c);
  BusinessProfileDetails d = testing::profile_details();
  d.target_customer_sizes = {CustomerSize::k1To9, CustomerSize::k1000Plus};
  d.allow_vendor_endorsement = true;
  EXPECT_EQ(details_from_text(details_text(d)).value(), d);
  d.logo.reset();
  EXPECT_EQ(details_from_text(details_text(d)).value(), d);
  EXPECT_EQ(string_list_from_text(string_list_text({"a", "b\"c"})), (std::vector<std::string>{"a", "b\"c"}));
  EXPECT_EQ(address_from_text("not json").status().code(), StatusCode::kCorruption);
}

TEST(ViewCodec, StreamNamesGiveTheirIds) {
  const PartnerId p = PartnerId::random();
  const UserId u = UserId::random();
  EXPECT_EQ(partner_of_stream("partner-" + p.to_string()), p);
  EXPECT_EQ(user_of_stream("user-" + u.to_string()), u);
  auto b = business_profile_of_stream("bizprofile-" + p.to_string() + "-emea-north");
  ASSERT_TRUE(b.has_value());
  EXPECT_EQ(b->first, p);
  EXPECT_EQ(b->second, "emea-north");
  EXPECT_FALSE(partner_of_stream("user-" + u.to_string()).has_value());
  EXPECT_FALSE(user_of_stream("user-nope").has_value());
  EXPECT_FALSE(business_profile_of_stream("bizprofile-" + p.to_string()).has_value());
  EXPECT_FALSE(partner_of_stream("catalog").has_value());
}

}  // namespace
}  // namespace accountable
