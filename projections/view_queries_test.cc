// Who may ask which view (DOMAIN.md's read permissions through authorize()),
// and the JSON form of each result.
#include "projections/view_queries.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "projections/testing/view_world.h"
#include "projections/view_json.h"

namespace accountable {
namespace {

using testing::at;
using testing::ViewWorld;

// The status of each kind of question for one principal about one partner.
struct Answers {
  StatusCode catalog, profile, pricing, directory, audit;
};

class QueriesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    p = w.enroll();
    other = w.enroll(testing::enroll_command("eve@fabrikam.com"));
    const Principal admin = w.user(p.admin);
    auto make = [&](const char* email, std::vector<Role> roles) {
      return w.create_user(admin, p.partner, email, std::move(roles));
    };
    sales = make("sales@contoso.com", {Role::kSalesAgent});
    helpdesk = make("help@contoso.com", {Role::kHelpdeskAgent});
    billing = make("billing@contoso.com", {Role::kBillingAdmin});
    agent = make("agent@contoso.com", {Role::kAdminAgent});
    user_admin = make("users@contoso.com", {Role::kUserManagementAdmin});
    account_admin = make("account@contoso.com", {Role::kAccountAdmin});
    no_role = make("none@contoso.com", {});
    w.must_execute(testing::op(), PublishOffer{testing::offer("offer-1")}, "offer");
    w.must_execute(testing::op(), PublishPriceList{testing::price_list("US", 2026, 3, {"offer-1"})}, "prices");
    auto grant = w.must_execute(testing::op(), IssueAuditorAccess{p.partner, "audit@kpmg.example", at("2026-12-31T00:00:00Z")},
                                "auditor");
    auditor = Auditor{AuditorGrantId(grant.created_ids.at(0).bytes()), p.partner};
    views = w.open_views();
    testing::must(views->catch_up(), "catch up");
  }

  Principal as(const UserId& id) { return w.user(id); }

  Answers ask(const Principal& who) {
    ViewQueries q(*views);
    const Timestamp now = at("2026-03-02T12:00:00Z");
    return Answers{q.catalog(who, p.partner, now).status().code(), q.profile(who, p.partner, now).status().code(),
                   q.price(who, "offer-1", "US", "USD", now).status().code(),
                   q.users(who, p.partner).status().code(),
                   q.timeline(who, p.partner, GlobalPosition(1), 10).status().code()};
  }

  ViewWorld w{at("2026-03-02T12:00:00Z")};
  testing::Enrolled p, other;
  UserId sales, helpdesk, billing, agent, user_admin, account_admin, no_role;
  Auditor auditor;
  std::unique_ptr<ViewSet> views;
};

constexpr StatusCode kOk = StatusCode::kOk;
constexpr StatusCode kNo = StatusCode::kForbidden;

void expect(const char* who, const Answers& got, StatusCode catalog, StatusCode profile,
            StatusCode pricing, StatusCode directory, StatusCode audit) {
  SCOPED_TRACE(who);
  EXPECT_EQ(got.catalog, catalog) << "catalog";
  EXPECT_EQ(got.profile, profile) << "profile";
  EXPECT_EQ(got.pricing, pricing) << "pricing";
  EXPECT_EQ(got.directory, directory) << "directory";
  EXPECT_EQ(got.audit, audit) << "audit";
}

TEST_F(QueriesTest, TheReadPermissionsOfTheDomain) {
  //                                          catalog profile pricing directory audit
  expect("global admin", ask(as(p.admin)), kOk, kOk, kOk, kOk, kOk);
  expect("sales agent", ask(as(sales)), kOk, kOk, kNo, kNo, kNo);
  expect("helpdesk agent", ask(as(helpdesk)), kOk, kOk, kNo, kNo, kNo);
  expect("billing admin", ask(as(billing)), kOk, kOk, kOk, kNo, kNo);
  expect("admin agent", ask(as(agent)), kOk, kOk, kOk, kNo, kNo);
  expect("user management admin", ask(as(user_admin)), kOk, kOk, kNo, kOk, kNo);
  expect("account admin", ask(as(account_admin)), kOk, kOk, kNo, kOk, kNo);
  expect("no role", ask(as(no_role)), kNo, kNo, kNo, kNo, kNo);
  expect("another partner's admin", ask(as(other.admin)), kNo, kNo, kOk, kNo, kNo);  // prices are not the partner's
  expect("operator", ask(testing::op()), kNo, kNo, kNo, kNo, kOk);
  expect("the partner's auditor", ask(auditor), kNo, kNo, kNo, kNo, kOk);
  expect("another partner's auditor", ask(Auditor{auditor.grant_id, other.partner}), kNo, kNo, kNo, kNo, kNo);
  const StatusCode unauth = StatusCode::kUnauthenticated;
  expect("anonymous", ask(Anonymous{}), unauth, unauth, unauth, unauth, unauth);
  PartnerUser deactivated = std::get<PartnerUser>(as(p.admin));
  deactivated.active = false;
  expect("deactivated", ask(deactivated), unauth, unauth, unauth, unauth, unauth);
}

TEST_F(QueriesTest, ARefusedQueryIsRefusedBeforeItWaits) {
  ViewQueries q(*views);
  QueryOptions far;
  far.min_position = GlobalPosition(w.log->head().value() + 1000);
  far.wait = std::chrono::milliseconds(1);
  EXPECT_EQ(q.price(as(sales), "offer-1", "US", "USD", at("2026-03-02T12:00:00Z"), far).status().code(), kNo);
  EXPECT_EQ(q.price(as(billing), "offer-1", "US", "USD", at("2026-03-02T12:00:00Z"), far).status().code(),
            StatusCode::kNotYet);
}

TEST_F(QueriesTest, EveryResultHasAJsonForm) {
  ViewQueries q(*views);
  const Principal admin = as(p.admin);
  const Timestamp now = at("2026-03-02T12:00:00Z");
  auto catalog = q.catalog(admin, p.partner, now).value();
  auto j = to_json(catalog);
  EXPECT_EQ(j.at("market"), boost::json::value("US"));
  EXPECT_EQ(j.at("segments").at(0).at("segment"), boost::json::value("enterprise"));
  EXPECT_EQ(j.at("segments").at(0).at("offers").at(0).at("offer_id"), boost::json::value("offer-1"));

  auto price = q.price(admin, "offer-1", "US", "USD", now).value();
  j = to_json(price);
  EXPECT_EQ(j.at("row").at("list_price_micros"), boost::json::value(10'000'000));
  EXPECT_EQ(j.at("row").at("change_code"), boost::json::value("ADD"));
  EXPECT_TRUE(to_json(q.price(admin, "nope", "US", "USD", now).value()).is_null());
  EXPECT_EQ(to_json(q.price_list(admin, "US", now).value()).as_array().size(), 1u);
  EXPECT_TRUE(to_json(q.price_list_preview(admin, "US", now).value()).as_array().empty());
  EXPECT_EQ(to_json(q.price_history(admin, "offer-1").value()).as_array().size(), 1u);
  j = to_json(q.price_diff(admin, "US", "USD", {2026, 2}, {2026, 3}).value());
  EXPECT_EQ(j.at("added").as_array().size(), 1u);

  auto users = q.users(admin, p.partner).value();
  ASSERT_EQ(users.size(), 8u);
  j = to_json(users);
  EXPECT_EQ(j.at(0).at("status"), boost::json::value("active"));
  EXPECT_EQ(j.at(0).at("roles").at(0), boost::json::value("global_admin"));
  EXPECT_EQ(j.at(1).at("email"), boost::json::value("sales@contoso.com"));
  auto holders = q.role_holders(admin, p.partner, Role::kSalesAgent).value();
  ASSERT_EQ(holders.size(), 1u);
  EXPECT_EQ(holders[0].user_id, sales);

  j = to_json(q.profile(admin, p.partner, now).value());
  EXPECT_EQ(j.at("legal").at("primary_contact").at("email"), boost::json::value("pat@contoso.com"));
  EXPECT_EQ(j.at("network").at("partner_name"), boost::json::value("Contoso"));
  EXPECT_EQ(j.at("vetting").at("status"), boost::json::value("none"));

  auto page = q.timeline(admin, p.partner, GlobalPosition(1), 3).value();
  ASSERT_EQ(page.entries.size(), 3u);
  ASSERT_TRUE(page.next.has_value());
  j = to_json(page);
  EXPECT_EQ(j.at("entries").at(0).at("event_type"), boost::json::value("PartnerEnrolled"));
  EXPECT_EQ(j.at("entries").at(0).at("actor"), boost::json::value("operator:platform"));
  EXPECT_EQ(j.at("next"), boost::json::value(page.next->value()));
  auto rest = q.timeline(admin, p.partner, *page.next, kMaxAuditPage).value();
  EXPECT_FALSE(rest.next.has_value());
  EXPECT_GT(rest.entries.front().position, page.entries.back().position);

  j = to_json(views->lag());
  EXPECT_EQ(j.as_array().size(), 7u);
  EXPECT_EQ(j.at(0).at("lag"), boost::json::value(0));
}

TEST_F(QueriesTest, ATimelinePagesByTimeRange) {
  ViewQueries q(*views);
  const Principal admin = as(p.admin);
  auto all = q.timeline(admin, p.partner, GlobalPosition(1), kMaxAuditPage).value();
  ASSERT_GE(all.entries.size(), 4u);
  const Timestamp from = all.entries[1].recorded_at;
  const Timestamp to = all.entries[3].recorded_at;
  auto window = q.timeline_between(admin, p.partner, from, to, GlobalPosition(1), kMaxAuditPage).value();
  size_t expected = 0;
  for (const AuditEntry& e : all.entries) expected += (from <= e.recorded_at && e.recorded_at < to) ? 1 : 0;
  ASSERT_EQ(window.entries.size(), expected);
  for (const AuditEntry& e : window.entries) {
    EXPECT_LE(from, e.recorded_at);
    EXPECT_LT(e.recorded_at, to);
  }
  // Every event of the partner's streams, none of another partner's or of the catalog.
  for (const AuditEntry& e : all.entries) {
    EXPECT_TRUE(e.stream.find(p.partner.to_string()) != std::string::npos || e.stream.rfind("user-", 0) == 0)
        << e.stream;
    EXPECT_NE(e.stream, "catalog");
  }
}

}  // namespace
}  // namespace accountable
