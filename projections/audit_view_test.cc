// The audit view's file (version 3): a build holds its rows and writes them,
// partner by partner, at its end (or whenever it holds too many); either way
// the file equals the one applied event by event. A version-2 file is rebuilt
// at start-up and answers as before.
#include "projections/audit_view.h"

#include <gtest/gtest.h>

#include "projections/testing/view_world.h"

namespace accountable {
namespace {

using testing::at;
using testing::ViewWorld;

// Two partners whose events interleave in the log, and a purge (an erased_subject row).
struct AuditScenario {
  ViewWorld w{at("2026-03-02T12:00:00Z")};
  testing::Enrolled contoso, fabrikam;
  UserId sam;

  AuditScenario() {
    contoso = w.enroll();
    fabrikam = w.enroll(testing::enroll_command("zed@fabrikam.com"));
    const Principal contoso_admin = w.user(contoso.admin);
    const Principal fabrikam_admin = w.user(fabrikam.admin);
    sam = w.create_user(contoso_admin, contoso.partner, "sam@contoso.com", {Role::kSalesAgent});
    w.create_user(fabrikam_admin, fabrikam.partner, "kim@fabrikam.com", {Role::kHelpdeskAgent});
    w.must_execute(contoso_admin, RemoveRole{contoso.partner, sam, Role::kSalesAgent}, "remove");
    w.must_execute(contoso_admin, DeactivateUser{contoso.partner, sam}, "deactivate");
    w.clock.set(plus_days(w.clock.now(), kRestoreWindowDays + 1));
    w.must_execute(contoso_admin, PurgeUser{contoso.partner, sam}, "purge");
    w.create_user(fabrikam_admin, fabrikam.partner, "lou@fabrikam.com", {Role::kSalesAgent});
  }

  // The partner's whole timeline, read in pages of two (the pagination).
  std::vector<uint64_t> timeline(ViewSet& views, const PartnerId& partner) {
    std::vector<uint64_t> positions;
    GlobalPosition from(1);
    for (int page = 0; page < 1000; ++page) {
      AuditPage p;
      const Status s = views.read(AuditView::kName, [&](Db& db) -> Status {
        auto got = AuditView::page(db, *w.log, w.cipher.get(), partner, from, 2);
        if (!got) return got.status();
        p = std::move(*got);
        return Status::ok();
      });
      EXPECT_TRUE(s.is_ok()) << s.to_string();
      for (const AuditEntry& e : p.entries) positions.push_back(e.position.value());
      if (!s.is_ok() || !p.next) break;
      from = *p.next;
    }
    return positions;
  }
};

TEST(AuditView, ABuildEqualsTheFileAppliedEventByEventWhetherItHoldsItsRowsOrWritesThemAsItGoes) {
  AuditScenario s;
  ViewSetOptions live_options;
  live_options.batch_events = 1;
  auto live_views = s.w.open_views(live_options);
  ASSERT_TRUE(live_views->catch_up().is_ok());
  // The views are built first (from position 0); what follows is applied live, one event per batch.
  const Principal contoso_admin = s.w.user(s.contoso.admin);
  s.w.create_user(contoso_admin, s.contoso.partner, "ann@contoso.com", {Role::kBillingAdmin});
  s.w.create_user(s.w.user(s.fabrikam.admin), s.fabrikam.partner, "bo@fabrikam.com", {Role::kSalesAgent});
  ASSERT_TRUE(live_views->catch_up().is_ok());
  const std::string live = live_views->dump(AuditView::kName).value();
  const std::vector<uint64_t> contoso_timeline = s.timeline(*live_views, s.contoso.partner);
  const std::vector<uint64_t> fabrikam_timeline = s.timeline(*live_views, s.fabrikam.partner);
  live_views.reset();
  EXPECT_GT(contoso_timeline.size(), 8u);
  EXPECT_TRUE(std::is_sorted(contoso_timeline.begin(), contoso_timeline.end()));
  EXPECT_NE(live.find("erased_subject\n'"), std::string::npos) << "the purge is recorded";

  // The default build holds every row to its end.
  {
    auto views = s.w.open_views();
    ASSERT_TRUE(views->rebuild(AuditView::kName).is_ok());
    EXPECT_EQ(views->dump(AuditView::kName).value(), live);
  }
  // This one holds at most one row: it writes them at the end of every batch
  // of two events, so each partner's rows arrive in several sorted runs.
  ViewSetOptions options;
  options.build_batch_events = 2;
  options.views = {ProjectionDefinition{std::string(AuditView::kName), AuditView::kVersion,
                                        [] { return std::make_unique<AuditView>(1); }}};
  auto views = s.w.open_views(options);
  ASSERT_TRUE(views->rebuild(AuditView::kName).is_ok());
  EXPECT_EQ(views->dump(AuditView::kName).value(), live);
  EXPECT_EQ(s.timeline(*views, s.contoso.partner), contoso_timeline);
  EXPECT_EQ(s.timeline(*views, s.fabrikam.partner), fabrikam_timeline);
}

TEST(AuditView, AVersion2FileIsRebuiltAtStartUpAndAnswersAsBefore) {
  AuditScenario s;
  std::string built;
  std::vector<uint64_t> contoso_timeline;
  {
    auto views = s.w.open_views();
    ASSERT_TRUE(views->catch_up().is_ok());
    built = views->dump(AuditView::kName).value();
    contoso_timeline = s.timeline(*views, s.contoso.partner);
  }
  ASSERT_FALSE(contoso_timeline.empty());
  {
    // The same rows in version 2's layout: a rowid table by position and two indexes.
    auto db = testing::must_value(Db::open(s.w.dir.path() + "/views/audit.db", DbMode::kReadWrite), "open audit.db");
    ASSERT_TRUE(db->exec("ALTER TABLE audit_event RENAME TO audit_event_v3; "
                         "CREATE TABLE audit_event(position INTEGER PRIMARY KEY, partner_key INTEGER NOT NULL, "
                         "recorded_at INTEGER NOT NULL); "
                         "INSERT INTO audit_event SELECT position, partner_key, recorded_at FROM audit_event_v3; "
                         "DROP TABLE audit_event_v3; "
                         "CREATE INDEX audit_event_by_partner ON audit_event(partner_key); "
                         "CREATE INDEX audit_event_by_time ON audit_event(partner_key, recorded_at); "
                         "UPDATE view_meta SET version = 2")
                    .is_ok());
  }
  auto views = s.w.open_views();
  const ViewStatus audit = views->status(AuditView::kName).value();
  EXPECT_FALSE(audit.serving) << "a version-2 file is not queried with version-3 code";
  EXPECT_EQ(audit.build_reason, "version 2 -> " + std::to_string(AuditView::kVersion));
  EXPECT_EQ(views->read(AuditView::kName, [](Db&) { return Status::ok(); }).code(), StatusCode::kNotYet);
  ASSERT_TRUE(views->catch_up().is_ok());
  EXPECT_TRUE(views->status(AuditView::kName)->serving);
  EXPECT_EQ(views->status(AuditView::kName)->rebuilds, 1u);
  EXPECT_EQ(views->dump(AuditView::kName).value(), built);
  EXPECT_EQ(s.timeline(*views, s.contoso.partner), contoso_timeline);
}

}  // namespace
}  // namespace accountable
