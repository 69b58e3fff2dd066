// Pricing as of a date: month boundaries, valid_from / valid_to edges (both
// inclusive, to the microsecond), currencies and markets, preview, history and
// the month-to-month diff. Lists are published through the engine.
#include "projections/pricing_view.h"

#include <gtest/gtest.h>

#include "projections/testing/view_world.h"

namespace accountable {
namespace {

using testing::at;
using testing::ViewWorld;

constexpr int64_t kMicro = 1;

PriceRow priced(const std::string& offer, ChangeCode code, Timestamp from, Timestamp to, int64_t list) {
  PriceRow r = testing::row(offer, from, to, code);
  r.list_price_micros = list;
  r.erp_price_micros = list + 1'000'000;
  return r;
}

PriceList list_of(std::string market, std::string currency, int month, BillingModel model, std::vector<PriceRow> rows) {
  PriceList l;
  l.market = std::move(market);
  l.currency = std::move(currency);
  l.year = 2026;
  l.month = month;
  l.billing_model = model;
  l.rows = std::move(rows);
  return l;
}

class PricingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* id : {"offer-a", "offer-b", "offer-c", "offer-d"}) {
      w.must_execute(testing::op(), PublishOffer{testing::offer(id, BillingModel::kLicenseBased)}, id);
    }
    w.must_execute(testing::op(), PublishOffer{testing::offer("offer-u", BillingModel::kUsageBased)}, "offer-u");
    const Timestamp apr = at("2026-04-01T00:00:00Z");
    const Timestamp apr_mid = at("2026-04-15T12:00:00Z");
    const Timestamp apr_end{at("2026-05-01T00:00:00Z").micros - kMicro};
    const Timestamp may = at("2026-05-01T00:00:00Z");
    const Timestamp may_end{at("2026-06-01T00:00:00Z").micros - kMicro};
    // License-based lists: published at least 30 days ahead (now is February 10).
    april = w.must_execute(testing::op(),
                           PublishPriceList{list_of("US", "USD", 4, BillingModel::kLicenseBased,
                                                    {priced("offer-a", ChangeCode::kAdd, apr, apr_mid, 10'000'000),
                                                     priced("offer-a", ChangeCode::kChg, Timestamp{apr_mid.micros + kMicro},
                                                            apr_end, 11'000'000),
                                                     priced("offer-b", ChangeCode::kAdd, apr, apr_end, 20'000'000),
                                                     priced("offer-c", ChangeCode::kAdd, at("2026-04-10T00:00:00Z"),
                                                            apr_end, 30'000'000)})},
                           "april")
                .first_position;
    w.must_execute(testing::op(),
                   PublishPriceList{list_of("GB", "GBP", 4, BillingModel::kLicenseBased,
                                            {priced("offer-a", ChangeCode::kAdd, apr, apr_end, 9'000'000)})},
                   "april GB");
    may_list = w.must_execute(testing::op(),
                              PublishPriceList{list_of("US", "USD", 5, BillingModel::kLicenseBased,
                                                       {priced("offer-a", ChangeCode::kUnc, may, may_end, 11'000'000),
                                                        priced("offer-b", ChangeCode::kChg, may, may_end, 25'000'000),
                                                        priced("offer-c", ChangeCode::kDel, may, may_end, 30'000'000),
                                                        priced("offer-d", ChangeCode::kAdd, may, may_end, 40'000'000)})},
                              "may")
                   .first_position;
    // Usage-based prices are published within their month.
    w.clock.set(at("2026-04-05T09:00:00Z"));
    w.must_execute(testing::op(),
                   PublishPriceList{list_of("US", "USD", 4, BillingModel::kUsageBased,
                                            {priced("offer-u", ChangeCode::kAdd, apr, apr_end, 5'000'000)})},
                   "april usage");
    views = w.open_views();
    testing::must(views->catch_up(), "catch up");
  }

  Result<std::optional<PriceQuote>> price(const std::string& offer, const std::string& market,
                                          const std::string& currency, const char* when) {
    std::optional<PriceQuote> out;
    Status s = views->read("pricing", [&](Db& db) {
      auto r = PricingView::price(db, offer, market, currency, at(when));
      if (r) out = *r;
      return r.status();
    });
    if (!s.is_ok()) return s;
    return out;
  }
  // The list price on that date, or -1 when there is none.
  int64_t list_price(const std::string& offer, const char* when, const std::string& market = "US",
                     const std::string& currency = "USD") {
    auto q = price(offer, market, currency, when);
    EXPECT_TRUE(q.is_ok()) << q.status().to_string();
    return q.is_ok() && q->has_value() ? (*q)->row.list_price_micros : -1;
  }
  template <class T, class Fn>
  T read(Fn&& fn) {
    std::optional<T> out;
    Status s = views->read("pricing", [&](Db& db) {
      auto r = fn(db);
      if (r) out = std::move(*r);
      return r.status();
    });
    EXPECT_TRUE(s.is_ok()) << s.to_string();
    return out.value_or(T{});
  }

  ViewWorld w{at("2026-02-10T12:00:00Z")};
  GlobalPosition april, may_list;
  std::unique_ptr<ViewSet> views;
};

TEST_F(PricingTest, TheListOfTheDatesMonthAppliesFromItsFirstMicrosecond) {
  EXPECT_EQ(list_price("offer-a", "2026-03-31T23:59:59.999999Z"), -1) << "no March list";
  EXPECT_EQ(list_price("offer-a", "2026-04-01T00:00:00Z"), 10'000'000);
  EXPECT_EQ(list_price("offer-a", "2026-04-30T23:59:59.999999Z"), 11'000'000);
  EXPECT_EQ(list_price("offer-b", "2026-04-30T23:59:59.999999Z"), 20'000'000);
  EXPECT_EQ(list_price("offer-b", "2026-05-01T00:00:00Z"), 25'000'000) << "May's list from May 1st";
  EXPECT_EQ(list_price("offer-a", "2026-05-01T00:00:00Z"), 11'000'000) << "UNC rows are prices too";
  EXPECT_EQ(list_price("offer-a", "2026-06-01T00:00:00Z"), -1) << "no June list";
}

TEST_F(PricingTest, ValidFromAndValidToAreInclusive) {
  EXPECT_EQ(list_price("offer-a", "2026-04-15T12:00:00Z"), 10'000'000) << "at valid_to";
  EXPECT_EQ(list_price("offer-a", "2026-04-15T12:00:00.000001Z"), 11'000'000) << "one microsecond later: the next row";
  EXPECT_EQ(list_price("offer-c", "2026-04-09T23:59:59.999999Z"), -1) << "before valid_from";
  EXPECT_EQ(list_price("offer-c", "2026-04-10T00:00:00Z"), 30'000'000) << "at valid_from";
  EXPECT_EQ(list_price("offer-c", "2026-05-10T00:00:00Z"), -1) << "a DEL row is no price";
  EXPECT_EQ(list_price("offer-d", "2026-04-20T00:00:00Z"), -1) << "not in April's list";
}

TEST_F(PricingTest, MarketAndCurrencyMustBothMatch) {
  EXPECT_EQ(list_price("offer-a", "2026-04-02T00:00:00Z", "GB", "GBP"), 9'000'000);
  EXPECT_EQ(list_price("offer-a", "2026-04-02T00:00:00Z", "US", "GBP"), -1);
  EXPECT_EQ(list_price("offer-a", "2026-04-02T00:00:00Z", "GB", "USD"), -1);
  auto q = price("offer-a", "US", "USD", "2026-04-02T00:00:00Z").value().value();
  EXPECT_EQ(q.list.position, april);
  EXPECT_EQ(q.list.month, 4);
  EXPECT_EQ(q.list.billing_model, BillingModel::kLicenseBased);
  EXPECT_EQ(q.list.published_at, at("2026-02-10T12:00:00Z"));
  EXPECT_EQ(q.row_index, 0);
  EXPECT_EQ(q.row.erp_price_micros, 11'000'000);
  EXPECT_EQ(list_price("offer-u", "2026-04-02T00:00:00Z"), 5'000'000) << "usage-based lists too";
}

TEST_F(PricingTest, CurrentListPreviewAndHistory) {
  auto current = read<std::vector<PriceListView>>(
      [](Db& db) { return PricingView::current_list(db, "US", at("2026-04-20T00:00:00Z"), ""); });
  ASSERT_EQ(current.size(), 2u) << "the license-based and the usage-based lists of April";
  EXPECT_EQ(current[0].list.position, april);
  EXPECT_EQ(current[0].rows.size(), 4u);
  EXPECT_EQ(current[1].list.billing_model, BillingModel::kUsageBased);
  auto gbp = read<std::vector<PriceListView>>(
      [](Db& db) { return PricingView::current_list(db, "US", at("2026-04-20T00:00:00Z"), "GBP"); });
  EXPECT_TRUE(gbp.empty());

  auto preview = read<std::vector<PriceListView>>(
      [](Db& db) { return PricingView::preview(db, "US", at("2026-04-20T00:00:00Z"), "USD"); });
  ASSERT_EQ(preview.size(), 1u);
  EXPECT_EQ(preview[0].list.position, may_list);
  EXPECT_EQ(preview[0].list.month, 5);
  auto december = read<std::vector<PriceListView>>(
      [](Db& db) { return PricingView::preview(db, "US", at("2026-12-31T23:59:59Z"), ""); });
  EXPECT_TRUE(december.empty()) << "January 2027 has no list";

  auto history = read<std::vector<PriceQuote>>([](Db& db) { return PricingView::history(db, "offer-a", "US", "USD"); });
  ASSERT_EQ(history.size(), 3u);
  EXPECT_EQ(history[0].row.list_price_micros, 10'000'000);
  EXPECT_EQ(history[1].row.list_price_micros, 11'000'000);
  EXPECT_EQ(history[2].list.month, 5);
  auto everywhere = read<std::vector<PriceQuote>>([](Db& db) { return PricingView::history(db, "offer-a", "", ""); });
  EXPECT_EQ(everywhere.size(), 4u) << "the GB row too";
}

TEST_F(PricingTest, DiffBetweenTwoMonths) {
  auto d = read<PriceDiff>([](Db& db) { return PricingView::diff(db, "US", "USD", {2026, 4}, {2026, 5}); });
  ASSERT_EQ(d.added.size(), 1u);
  EXPECT_EQ(d.added[0].offer_id, "offer-d");
  ASSERT_EQ(d.changed.size(), 1u);
  EXPECT_EQ(d.changed[0].before.offer_id, "offer-b");
  EXPECT_EQ(d.changed[0].before.list_price_micros, 20'000'000);
  EXPECT_EQ(d.changed[0].after.list_price_micros, 25'000'000);
  ASSERT_EQ(d.removed.size(), 2u) << "offer-c (DEL) and offer-u (no usage list in May)";
  EXPECT_EQ(d.removed[0].offer_id, "offer-c");
  EXPECT_EQ(d.removed[1].offer_id, "offer-u");
  // offer-a: April's last row (11) and May's UNC row (11) are the same terms.
  auto same = read<PriceDiff>([](Db& db) { return PricingView::diff(db, "US", "USD", {2026, 5}, {2026, 5}); });
  EXPECT_TRUE(same.added.empty() && same.changed.empty() && same.removed.empty());
}

TEST(MonthOf, CalendarMonthsInUtc) {
  EXPECT_EQ(month_of(at("2026-04-30T23:59:59.999999Z")), (YearMonth{2026, 4}));
  EXPECT_EQ(month_of(at("2026-05-01T00:00:00Z")), (YearMonth{2026, 5}));
  EXPECT_EQ(month_of(Timestamp{-1}), (YearMonth{1969, 12}));
  EXPECT_EQ(next_month({2026, 12}), (YearMonth{2027, 1}));
}

}  // namespace
}  // namespace accountable
