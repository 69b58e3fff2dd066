#include "aggregates/catalog.h"

#include <gtest/gtest.h>

#include "aggregates/rule_errors.h"
#include "aggregates/testing/expect.h"

namespace accountable {
namespace {

using namespace accountable::testing;  // NOLINT: test helpers only

TEST(PublishOffer, HappyPathDuplicateAndValidation) {
  World w(at("2026-03-02T12:00:00Z"));
  ASSERT_TRUE(run(w, op(), PublishOffer{offer("o-1")}).is_ok());
  EXPECT_EQ(w.catalog_state().offers.at("o-1").offer, offer("o-1"));
  EXPECT_TRUE(is_code(run(w, op(), PublishOffer{offer("o-1")}), StatusCode::kConflict, "offer.offer_id"));
  Offer bad = offer("o-2");
  bad.display_name = "";
  EXPECT_TRUE(is_invalid(run(w, op(), PublishOffer{bad}), "offer.display_name"));
  bad = offer("o 2");
  EXPECT_TRUE(is_invalid(run(w, op(), PublishOffer{bad}), "offer.offer_id"));
  bad = offer("o-2");
  bad.segment = static_cast<Segment>(5);
  EXPECT_TRUE(is_invalid(run(w, op(), PublishOffer{bad}), "offer.segment"));
  bad = offer("o-2");
  bad.base_offer_ids = {"o-1"};
  EXPECT_TRUE(is_rule(run(w, op(), PublishOffer{bad}), rule::kAddOnBaseOffers, "offer.base_offer_ids"));
}

TEST(PublishOffer, AddOnNeedsLiveBaseOffers) {
  World w(at("2026-03-02T12:00:00Z"));
  ASSERT_TRUE(run(w, op(), PublishOffer{offer("base")}).is_ok());
  Offer add_on = offer("add-on");
  add_on.secondary_license_type = SecondaryLicenseType::kAddOn;
  EXPECT_TRUE(is_rule(run(w, op(), PublishOffer{add_on}), rule::kAddOnBaseOffers, "offer.base_offer_ids"));
  add_on.base_offer_ids = {"base", "missing"};
  Status s = run(w, op(), PublishOffer{add_on});
  EXPECT_TRUE(is_rule(s, rule::kAddOnBaseOffers));
  EXPECT_EQ(s.field(), "offer.base_offer_ids[1]");
  add_on.base_offer_ids = {"base"};
  EXPECT_TRUE(run(w, op(), PublishOffer{add_on}).is_ok());
}

TEST(UpdateOffer, HappyPathNotFoundAndRetired) {
  World w(at("2026-03-02T12:00:00Z"));
  ASSERT_TRUE(run(w, op(), PublishOffer{offer("o-1")}).is_ok());
  Offer o = offer("o-1");
  o.display_name = "Renamed";
  ASSERT_TRUE(run(w, op(), UpdateOffer{o}).is_ok());
  EXPECT_EQ(w.catalog_state().offers.at("o-1").offer.display_name, "Renamed");
  EXPECT_TRUE(is_code(run(w, op(), UpdateOffer{offer("o-9")}), StatusCode::kNotFound, "offer.offer_id"));
  ASSERT_TRUE(run(w, op(), RetireOffer{"o-1"}).is_ok());
  EXPECT_TRUE(is_rule(run(w, op(), UpdateOffer{o}), rule::kOfferRetired));
}

TEST(RetireOffer, OnceOnly) {
  World w(at("2026-03-02T12:00:00Z"));
  ASSERT_TRUE(run(w, op(), PublishOffer{offer("o-1")}).is_ok());
  ASSERT_TRUE(run(w, op(), RetireOffer{"o-1"}).is_ok());
  EXPECT_TRUE(w.catalog_state().offers.at("o-1").retired);
  EXPECT_TRUE(is_rule(run(w, op(), RetireOffer{"o-1"}), rule::kOfferRetired));
  EXPECT_TRUE(is_code(run(w, op(), RetireOffer{"o-2"}), StatusCode::kNotFound, "offer_id"));
}

TEST(PublishPriceList, LicenseBasedListsArePreviewed30DaysAhead) {
  World w(at("2026-04-01T00:00:00Z"));  // 30 days before May
  ASSERT_TRUE(run(w, op(), PublishOffer{offer("o-1", BillingModel::kLicenseBased)}).is_ok());
  PriceList may = price_list("US", 2026, 5, {"o-1"}, BillingModel::kLicenseBased);
  w.clock.set(at("2026-04-01T00:00:00.000001Z"));
  EXPECT_TRUE(is_rule(run(w, op(), PublishPriceList{may}), rule::kPriceListPreview));
  w.clock.set(at("2026-04-01T00:00:00Z"));
  ASSERT_TRUE(run(w, op(), PublishPriceList{may}).is_ok());
  EXPECT_TRUE(is_code(run(w, op(), PublishPriceList{may}), StatusCode::kConflict, "price_list"));
  // A previewed list does not make the offer orderable before its month.
  CatalogState c = w.catalog_state();
  EXPECT_TRUE(is_rule(check_orderable(c, "o-1", "US", at("2026-04-15T00:00:00Z"), "offer_id"), rule::kOfferOrderable));
  EXPECT_TRUE(check_orderable(c, "o-1", "US", at("2026-05-15T00:00:00Z"), "offer_id").is_ok());
  EXPECT_TRUE(is_rule(check_orderable(c, "o-1", "US", at("2026-06-01T00:00:00Z"), "offer_id"), rule::kOfferOrderable));
}

TEST(PublishPriceList, UsageBasedListsHaveNoPreview) {
  World w(at("2026-03-02T12:00:00Z"));
  ASSERT_TRUE(run(w, op(), PublishOffer{offer("o-1")}).is_ok());
  EXPECT_TRUE(is_rule(run(w, op(), PublishPriceList{price_list("US", 2026, 4, {"o-1"})}),
                      rule::kUsagePriceListCurrentMonth));
  EXPECT_TRUE(is_rule(run(w, op(), PublishPriceList{price_list("US", 2026, 2, {"o-1"})}),
                      rule::kUsagePriceListCurrentMonth));
  EXPECT_TRUE(run(w, op(), PublishPriceList{price_list("US", 2026, 3, {"o-1"})}).is_ok());
}

TEST(PublishPriceList, Validates) {
  World w(at("2026-03-02T12:00:00Z"));
  ASSERT_TRUE(run(w, op(), PublishOffer{offer("o-1")}).is_ok());
  auto publish = [&](auto mutate) {
    PriceList l = price_list("US", 2026, 3, {"o-1"});
    mutate(l);
    return run(w, op(), PublishPriceList{l});
  };
  EXPECT_TRUE(is_invalid(publish([](auto& l) { l.market = "USA"; }), "price_list.market"));
  EXPECT_TRUE(is_invalid(publish([](auto& l) { l.currency = "US"; }), "price_list.currency"));
  EXPECT_TRUE(is_invalid(publish([](auto& l) { l.month = 13; }), "price_list.month"));
  EXPECT_TRUE(is_invalid(publish([](auto& l) { l.rows.clear(); }), "price_list.rows"));
  EXPECT_TRUE(is_rule(publish([](auto& l) { l.rows[0].valid_to = Timestamp{0}; }), rule::kValidityOrder,
                      "price_list.rows[0].valid_to"));
  EXPECT_TRUE(is_invalid(publish([](auto& l) { l.rows[0].list_price_micros = -1; }),
                         "price_list.rows[0].list_price_micros"));
  EXPECT_TRUE(is_invalid(publish([](auto& l) { l.rows[0].change_code = static_cast<ChangeCode>(4); }),
                         "price_list.rows[0].change_code"));
  Status unknown = publish([](auto& l) { l.rows[0].offer_id = "o-404"; });
  EXPECT_TRUE(is_rule(unknown, rule::kPriceListOffers));
  EXPECT_EQ(unknown.field(), "price_list.rows[0].offer_id");
}

TEST(PublishPriceList, DeletedRowsDoNotMakeOffersOrderable) {
  World w(at("2026-03-02T12:00:00Z"));
  ASSERT_TRUE(run(w, op(), PublishOffer{offer("o-1")}).is_ok());
  PriceList l = price_list("US", 2026, 3, {});
  l.rows.push_back(row("o-1", month_start(2026, 3), month_end(2026, 3), ChangeCode::kDel));
  ASSERT_TRUE(run(w, op(), PublishPriceList{l}).is_ok());
  EXPECT_TRUE(is_rule(check_orderable(w.catalog_state(), "o-1", "US", w.clock.now(), "offer_id"),
                      rule::kOfferOrderable));
}

}  // namespace
}  // namespace accountable
