// The notifications view through the engine: price lists by market and
// permission (a later month is a preview), the read mark never reaching past
// its own event, a purged user's feed going, and a rebuild equal to the
// incremental file.
#include "projections/notifications_view.h"

#include <gtest/gtest.h>

#include "projections/testing/view_world.h"
#include "schema/notification_ids.h"

namespace accountable {
namespace {

using testing::at;
using testing::ViewWorld;

PriceList list_of(std::string market, std::string currency, int month, BillingModel model, const std::string& offer,
                  Timestamp from, Timestamp to) {
  PriceList l;
  l.market = std::move(market);
  l.currency = std::move(currency);
  l.year = 2026;
  l.month = month;
  l.billing_model = model;
  PriceRow r = testing::row(offer, from, to);
  r.list_price_micros = 10'000'000;
  r.erp_price_micros = 12'000'000;
  l.rows.push_back(r);
  return l;
}

class NotificationsViewTest : public ::testing::Test {
 protected:
  void SetUp() override {
    contoso = w.enroll();
    bill = w.create_user(PartnerUser{contoso.partner, contoso.admin, {Role::kGlobalAdmin}, true},
                         contoso.partner, "bill@contoso.com", {Role::kBillingAdmin});
    sam = w.create_user(PartnerUser{contoso.partner, contoso.admin, {Role::kGlobalAdmin}, true},
                        contoso.partner, "sam@contoso.com", {Role::kSalesAgent});
  }

  std::vector<Notification> feed(ViewSet& views, const UserId& user, bool reads_price_lists,
                                 NotificationQuery q = {}) {
    std::vector<Notification> out;
    const Status s = views.read(NotificationsView::kName, [&](Db& db) -> Status {
      auto page = NotificationsView::feed(db, NotificationReader{contoso.partner, user, reads_price_lists}, q);
      if (!page) return page.status();
      out = page->items;
      unread = page->unread_count;
      return Status::ok();
    });
    EXPECT_TRUE(s.is_ok()) << s.to_string();
    return out;
  }
  static std::vector<std::string> kinds(const std::vector<Notification>& items) {
    std::vector<std::string> out;
    for (const Notification& n : items) out.push_back(n.kind);
    return out;
  }

  ViewWorld w{at("2026-02-10T09:00:00Z")};
  testing::Enrolled contoso;
  UserId bill, sam;
  uint64_t unread = 0;
};

TEST_F(NotificationsViewTest, PriceListsByMarketAndPermissionALaterMonthIsAPreview) {
  w.must_execute(testing::op(), PublishOffer{testing::offer("offer-a", BillingModel::kLicenseBased)}, "offer");
  w.must_execute(testing::op(), PublishOffer{testing::offer("offer-u", BillingModel::kUsageBased)}, "offer");
  // April's license-based list, published in February: a preview.
  w.must_execute(testing::op(),
                 PublishPriceList{list_of("US", "USD", 4, BillingModel::kLicenseBased, "offer-a",
                                          at("2026-04-01T00:00:00Z"), at("2026-04-30T00:00:00Z"))},
                 "april");
  // February's usage-based list: in effect now.
  w.must_execute(testing::op(),
                 PublishPriceList{list_of("US", "USD", 2, BillingModel::kUsageBased, "offer-u",
                                          at("2026-02-01T00:00:00Z"), at("2026-02-28T00:00:00Z"))},
                 "february");
  // Another market's: not Contoso's (a US partner).
  w.must_execute(testing::op(),
                 PublishPriceList{list_of("GB", "GBP", 2, BillingModel::kUsageBased, "offer-u",
                                          at("2026-02-01T00:00:00Z"), at("2026-02-28T00:00:00Z"))},
                 "gb");
  auto views = w.open_views();
  ASSERT_TRUE(views->catch_up().is_ok());

  const std::vector<Notification> bills = feed(*views, bill, true);
  ASSERT_GE(bills.size(), 3u);
  EXPECT_EQ(kinds(bills)[0], "price_list_published");
  EXPECT_EQ(bills[0].details, R"({"market":"US","currency":"USD","month":"2026-02","billing_model":"usage_based"})");
  EXPECT_EQ(kinds(bills)[1], "price_list_preview");
  EXPECT_EQ(bills[1].details, R"({"market":"US","currency":"USD","month":"2026-04","billing_model":"license_based"})");
  EXPECT_EQ(kinds(bills)[2], "role_assigned");
  EXPECT_EQ(bills.size(), 3u) << "nothing older than bill's creation";
  EXPECT_EQ(bills[0].partner_id, contoso.partner);
  EXPECT_EQ(bills[0].id, log_notification_id(bills[0].position));

  // Without the permission (a Sales agent): no price lists.
  EXPECT_EQ(kinds(feed(*views, sam, false)), std::vector<std::string>{"role_assigned"});
  // A user of no partner here, or of another: nothing.
  EXPECT_TRUE(feed(*views, UserId::random(), true).empty());
}

TEST_F(NotificationsViewTest, AReadMarkStopsAtItsOwnEventAndAPurgeTakesTheFeed) {
  const Principal bills_self = w.user(bill);
  // Far past the head: clamped to the command's own position.
  w.must_execute(bills_self, MarkNotificationsRead{contoso.partner, bill, 1'000'000, {}}, "mark");
  w.must_execute(testing::op(), SuspendPartner{contoso.partner, SuspensionReason::kAbuse, 0, "note"}, "suspend");
  const uint64_t reinstated =
      w.must_execute(testing::op(), ReinstatePartner{contoso.partner}, "reinstate").first_position.value();
  // By id: the reinstatement only; an id of a later position does not count yet.
  w.must_execute(bills_self,
                 MarkNotificationsRead{contoso.partner, bill, 0,
                                       {log_notification_id(reinstated), log_notification_id(reinstated + 100)}},
                 "mark");
  auto views = w.open_views();
  ASSERT_TRUE(views->catch_up().is_ok());
  std::vector<Notification> items = feed(*views, bill, true);
  ASSERT_EQ(kinds(items), (std::vector<std::string>{"partner_reinstated", "partner_suspended", "role_assigned"}));
  EXPECT_TRUE(items[0].read);
  EXPECT_FALSE(items[1].read);
  EXPECT_TRUE(items[2].read);
  EXPECT_EQ(unread, 1u);
  NotificationQuery only_unread;
  only_unread.unread_only = true;
  EXPECT_EQ(kinds(feed(*views, bill, true, only_unread)), std::vector<std::string>{"partner_suspended"});
  // Sam's state is his own.
  EXPECT_EQ(feed(*views, sam, false).size(), 3u);
  EXPECT_EQ(unread, 3u);

  // Incremental equals a rebuild from position 0.
  const std::string before = views->dump(NotificationsView::kName).value();
  ASSERT_TRUE(views->rebuild(NotificationsView::kName).is_ok());
  EXPECT_EQ(views->dump(NotificationsView::kName).value(), before);

  // A purged user's feed and read state go with them.
  const Principal admin = w.user(contoso.admin);
  w.must_execute(admin, DeactivateUser{contoso.partner, sam}, "deactivate");
  w.clock.set(plus_days(w.clock.now(), kRestoreWindowDays + 1));
  w.must_execute(admin, PurgeUser{contoso.partner, sam}, "purge");
  ASSERT_TRUE(views->catch_up().is_ok());
  EXPECT_TRUE(feed(*views, sam, false).empty());
  const std::string dump = views->dump(NotificationsView::kName).value();
  // Ids are stored as blobs: the dump shows them as x'<hex>'.
  const std::string sam_hex = hex_encode(sam.bytes().data(), sam.bytes().size());
  const std::string bill_hex = hex_encode(bill.bytes().data(), bill.bytes().size());
  EXPECT_EQ(dump.find(sam_hex), std::string::npos);
  EXPECT_NE(dump.find(bill_hex), std::string::npos);  // the search would find Sam's rows
  // A build from position 0 deletes them too (the rows it holds for Sam, before anything is written).
  ASSERT_TRUE(views->rebuild(NotificationsView::kName).is_ok());
  EXPECT_EQ(views->dump(NotificationsView::kName).value(), dump);
}

TEST_F(NotificationsViewTest, ABuildThatWritesWhatItHoldsAsItGoesEqualsTheLiveFile) {
  // The live file: built now, then applied incrementally, in batches of one event.
  ViewSetOptions live_options;
  live_options.batch_events = 1;
  auto live_views = w.open_views(live_options);
  ASSERT_TRUE(live_views->catch_up().is_ok());
  // Rows for several users, a partner's and a market's, and a purge among them.
  w.must_execute(testing::op(), PublishOffer{testing::offer("offer-u", BillingModel::kUsageBased)}, "offer");
  w.must_execute(testing::op(),
                 PublishPriceList{list_of("US", "USD", 2, BillingModel::kUsageBased, "offer-u",
                                          at("2026-02-01T00:00:00Z"), at("2026-02-28T00:00:00Z"))},
                 "february");
  const Principal admin = w.user(contoso.admin);
  // One role per category: Sam's Sales agent goes before Helpdesk agent comes.
  w.must_execute(admin, RemoveRole{contoso.partner, sam, Role::kSalesAgent}, "remove");
  w.must_execute(admin, AssignRole{contoso.partner, sam, Role::kHelpdeskAgent}, "assign");
  w.must_execute(testing::op(), SuspendPartner{contoso.partner, SuspensionReason::kAbuse, 0, "note"}, "suspend");
  w.must_execute(admin, DeactivateUser{contoso.partner, sam}, "deactivate");
  w.clock.set(plus_days(w.clock.now(), kRestoreWindowDays + 1));
  w.must_execute(admin, PurgeUser{contoso.partner, sam}, "purge");
  w.must_execute(admin, RemoveRole{contoso.partner, bill, Role::kBillingAdmin}, "remove");
  w.must_execute(testing::op(), ReinstatePartner{contoso.partner}, "reinstate");

  ASSERT_TRUE(live_views->catch_up().is_ok());
  const std::string live = live_views->dump(NotificationsView::kName).value();
  live_views.reset();
  // The default build holds every row to its end; this one may hold one row,
  // so it writes at the end of every batch of two events and must still
  // delete Sam's written rows at the purge, in SQL.
  ViewSetOptions options;
  options.build_batch_events = 2;
  options.views = {ProjectionDefinition{std::string(NotificationsView::kName), NotificationsView::kVersion,
                                        [] { return std::make_unique<NotificationsView>(1); }}};
  auto views = w.open_views(options);
  ASSERT_TRUE(views->rebuild(NotificationsView::kName).is_ok());
  const std::string built = views->dump(NotificationsView::kName).value();
  EXPECT_EQ(built, live);
  EXPECT_EQ(built.find(hex_encode(sam.bytes().data(), sam.bytes().size())), std::string::npos);
  EXPECT_NE(built.find("price_list_published"), std::string::npos);
  EXPECT_NE(built.find("partner_reinstated"), std::string::npos);
  EXPECT_NE(built.find("role_removed"), std::string::npos);
}

}  // namespace
}  // namespace accountable
