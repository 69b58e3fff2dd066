// The catalog as a partner sees it: orderable offers grouped by segment,
// pinned offers first in the partner's order, filters, and what happens to a
// pin whose offer is retired (shown, marked unavailable: docs/views.md).
#include "projections/catalog_view.h"

#include <gtest/gtest.h>

#include "projections/testing/view_world.h"

namespace accountable {
namespace {

using testing::at;
using testing::ViewWorld;

Offer offer_in(const std::string& id, Segment segment, BillingModel model = BillingModel::kUsageBased) {
  Offer o = testing::offer(id, model);
  o.segment = segment;
  return o;
}

std::vector<std::string> ids(const std::vector<Offer>& offers) {
  std::vector<std::string> out;
  for (const Offer& o : offers) out.push_back(o.offer_id);
  return out;
}

class CatalogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    us = w.enroll();
    gb = w.enroll(testing::enroll_command("eve@fabrikam.co.uk", "GB"));
    w.must_execute(w.user(us.admin), AcceptResellerAgreement{us.partner, "2019-10"}, "agreement");
    for (const Offer& o : {offer_in("ent-1", Segment::kEnterprise), offer_in("ent-2", Segment::kEnterprise, BillingModel::kLicenseBased),
                           offer_in("late-1", Segment::kEnterprise), offer_in("sb-1", Segment::kSmallBusiness),
                           offer_in("gov-1", Segment::kGovernment), offer_in("unpriced", Segment::kEnterprise),
                           offer_in("gb-only", Segment::kEnterprise)}) {
      w.must_execute(testing::op(), PublishOffer{o}, "offer");
    }
    PriceList us_list = testing::price_list("US", 2026, 3, {"ent-1", "ent-2", "sb-1", "gov-1", "late-1"});
    us_list.rows[4].valid_from = at("2026-03-15T00:00:00Z");  // late-1: orderable from the 15th
    w.must_execute(testing::op(), PublishPriceList{us_list}, "US prices");
    PriceList gb_list = testing::price_list("GB", 2026, 3, {"gb-only"});
    gb_list.currency = "GBP";
    w.must_execute(testing::op(), PublishPriceList{gb_list}, "GB prices");
    for (const char* id : {"sb-1", "ent-1", "gov-1"}) w.must_execute(w.user(us.admin), PinOffer{us.partner, id}, id);
    w.must_execute(w.user(us.admin), ReorderPins{us.partner, {"gov-1", "sb-1", "ent-1"}}, "reorder");
    views = w.open_views();
    testing::must(views->catch_up(), "catch up");
  }

  CatalogPage page(const PartnerId& p, const char* when, CatalogFilter filter = {}) {
    testing::must(views->catch_up(), "catch up");
    std::optional<CatalogPage> out;
    Status s = views->read("catalog", [&](Db& db) {
      auto r = CatalogView::query(db, p, at(when), filter);
      if (r) out = *r;
      return r.status();
    });
    testing::must(s, "catalog query");
    return *out;
  }

  ViewWorld w{at("2026-03-02T12:00:00Z")};
  testing::Enrolled us, gb;
  std::unique_ptr<ViewSet> views;
};

TEST_F(CatalogTest, PinsComeFirstInThePartnersOrderThenOffersBySegment) {
  CatalogPage p = page(us.partner, "2026-03-02T12:00:00Z");
  EXPECT_EQ(p.market, "US");
  ASSERT_EQ(p.pinned.size(), 3u);
  EXPECT_EQ(p.pinned[0].offer.offer_id, "gov-1");
  EXPECT_EQ(p.pinned[1].offer.offer_id, "sb-1");
  EXPECT_EQ(p.pinned[2].offer.offer_id, "ent-1");
  for (const auto& pin : p.pinned) EXPECT_TRUE(pin.available) << pin.offer.offer_id;
  // Pinned offers are not repeated below; late-1 is not orderable yet; unpriced never; gb-only elsewhere.
  ASSERT_EQ(p.segments.size(), 1u);
  EXPECT_EQ(p.segments[0].segment, Segment::kEnterprise);
  EXPECT_EQ(ids(p.segments[0].offers), (std::vector<std::string>{"ent-2"}));

  CatalogPage later = page(us.partner, "2026-03-20T00:00:00Z");
  ASSERT_EQ(later.segments.size(), 1u);
  EXPECT_EQ(ids(later.segments[0].offers), (std::vector<std::string>{"ent-2", "late-1"})) << "by display name";
}

TEST_F(CatalogTest, OffersOutsideTheirPriceValidityAreLeftOut) {
  CatalogPage april = page(us.partner, "2026-04-01T00:00:00Z");  // no April list
  EXPECT_TRUE(april.segments.empty());
  ASSERT_EQ(april.pinned.size(), 3u);
  for (const auto& pin : april.pinned) {
    EXPECT_FALSE(pin.available);
    EXPECT_EQ(pin.unavailable_reason, "not orderable on this date");
  }
  CatalogPage last = page(us.partner, "2026-03-31T23:59:59.999999Z");
  EXPECT_TRUE(last.pinned[0].available) << "the list's last microsecond";
}

TEST_F(CatalogTest, ARetiredPinnedOfferStaysPinnedButUnavailable) {
  w.must_execute(testing::op(), RetireOffer{"ent-1"}, "retire");
  CatalogPage p = page(us.partner, "2026-03-02T12:00:00Z");
  ASSERT_EQ(p.pinned.size(), 3u);
  EXPECT_EQ(p.pinned[2].offer.offer_id, "ent-1");
  EXPECT_FALSE(p.pinned[2].available);
  EXPECT_EQ(p.pinned[2].unavailable_reason, "retired");
  w.must_execute(w.user(us.admin), UnpinOffer{us.partner, "ent-1"}, "unpin");
  p = page(us.partner, "2026-03-02T12:00:00Z");
  EXPECT_EQ(p.pinned.size(), 2u);
  for (const auto& s : p.segments) {
    for (const Offer& o : s.offers) EXPECT_NE(o.offer_id, "ent-1") << "a retired offer is never listed";
  }
}

TEST_F(CatalogTest, FiltersApplyToPinsAndSegments) {
  CatalogFilter government;
  government.segment = Segment::kGovernment;
  CatalogPage p = page(us.partner, "2026-03-20T00:00:00Z", government);
  ASSERT_EQ(p.pinned.size(), 1u);
  EXPECT_EQ(p.pinned[0].offer.offer_id, "gov-1");
  EXPECT_TRUE(p.segments.empty());

  CatalogFilter license;
  license.billing_model = BillingModel::kLicenseBased;
  p = page(us.partner, "2026-03-20T00:00:00Z", license);
  EXPECT_TRUE(p.pinned.empty());
  ASSERT_EQ(p.segments.size(), 1u);
  EXPECT_EQ(ids(p.segments[0].offers), (std::vector<std::string>{"ent-2"}));

  w.must_execute(w.user(us.admin), UnpinOffer{us.partner, "sb-1"}, "unpin");
  CatalogFilter small;
  small.segment = Segment::kSmallBusiness;
  small.billing_model = BillingModel::kUsageBased;
  p = page(us.partner, "2026-03-20T00:00:00Z", small);
  ASSERT_EQ(p.segments.size(), 1u);
  EXPECT_EQ(p.segments[0].segment, Segment::kSmallBusiness);
  EXPECT_EQ(ids(p.segments[0].offers), (std::vector<std::string>{"sb-1"})) << "unpinned: back among its segment";
}

TEST_F(CatalogTest, TheMarketIsThePartnersLegalCountry) {
  CatalogPage p = page(gb.partner, "2026-03-20T00:00:00Z");
  EXPECT_EQ(p.market, "GB");
  EXPECT_TRUE(p.pinned.empty());
  ASSERT_EQ(p.segments.size(), 1u);
  EXPECT_EQ(ids(p.segments[0].offers), (std::vector<std::string>{"gb-only"}));
  Status unknown = views->read("catalog", [](Db& db) {
    return CatalogView::query(db, PartnerId::random(), at("2026-03-20T00:00:00Z"), {}).status();
  });
  EXPECT_EQ(unknown.code(), StatusCode::kNotFound);
}

TEST_F(CatalogTest, AnUpdatedOfferShowsItsNewFields) {
  Offer renamed = offer_in("ent-2", Segment::kGovernment, BillingModel::kLicenseBased);
  renamed.display_name = "Renamed";
  w.must_execute(testing::op(), UpdateOffer{renamed}, "update");
  CatalogPage p = page(us.partner, "2026-03-02T12:00:00Z");
  ASSERT_EQ(p.segments.size(), 1u);
  EXPECT_EQ(p.segments[0].segment, Segment::kGovernment);
  EXPECT_EQ(p.segments[0].offers[0].display_name, "Renamed");
}

}  // namespace
}  // namespace accountable
