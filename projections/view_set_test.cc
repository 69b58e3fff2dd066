// The runner: checkpoints, restarts, read-your-writes waits, version stamps,
// blue/green rebuilds while queries run. Over the real log, key store and
// engine in a temporary folder (projections/testing/view_world.h).
#include "projections/view_set.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <thread>

#include "projections/testing/view_world.h"
#include "projections/view_registry.h"

namespace accountable {
namespace {

using testing::at;
using testing::ViewWorld;

constexpr auto kGenerous = std::chrono::seconds(60);  // only bounds a hang; never reached when it works

// A partner with an admin, two more users, an offer and a price list.
struct Scenario {
  ViewWorld w{at("2026-03-02T12:00:00Z")};
  testing::Enrolled p;
  UserId sam;

  Scenario() {
    p = w.enroll();
    sam = w.create_user(w.user(p.admin), p.partner, "sam@contoso.com", {Role::kSalesAgent});
    w.must_execute(testing::op(), PublishOffer{testing::offer("offer-1")}, "offer");
    w.must_execute(testing::op(), PublishPriceList{testing::price_list("US", 2026, 3, {"offer-1"})}, "prices");
  }
  void more(int n) {
    for (int i = 0; i < n; ++i) {
      std::string email = "u";  // built in steps: GCC 12's -Wrestrict misfires on "literal" + std::string at -O3
      email += std::to_string(i);
      email += "@contoso.com";
      w.create_user(w.user(p.admin), p.partner, email, {Role::kHelpdeskAgent});
    }
  }
};

TEST(ViewSet, CatchUpBuildsEveryViewAndLeavesNoLag) {
  Scenario s;
  auto views = s.w.open_views();
  for (const ViewStatus& v : views->lag()) {
    EXPECT_FALSE(v.serving) << v.name << ": nothing built yet";
    EXPECT_EQ(v.build_reason, "new view");
  }
  ASSERT_TRUE(views->catch_up().is_ok());
  const GlobalPosition head = s.w.log->head();
  ASSERT_EQ(views->names().size(), 7u);
  for (const ViewStatus& v : views->lag()) {
    EXPECT_TRUE(v.serving) << v.name;
    EXPECT_EQ(v.position, head) << v.name;
    EXPECT_EQ(v.lag, 0u) << v.name;
    EXPECT_EQ(v.rebuilds, 1u) << v.name << ": the first build is swapped in like a rebuild";
    EXPECT_TRUE(v.error.is_ok()) << v.name;
    EXPECT_TRUE(std::filesystem::exists(s.w.dir.path() + "/views/" + v.name + ".db")) << v.name;
  }
  // More commands: the live files take them in batches, and report their lag until then.
  s.more(2);
  auto behind = views->status("directory");
  ASSERT_TRUE(behind.is_ok());
  EXPECT_GT(behind->lag, 0u);
  ASSERT_TRUE(views->catch_up().is_ok());
  EXPECT_EQ(views->status("directory")->lag, 0u);
  EXPECT_GT(views->status("directory")->events_applied, 0u);
}

// A build creates the secondary indexes after its last row: the swapped-in
// file must have every one of them, or queries would scan whole tables.
TEST(ViewSet, ABuiltFileHasEveryIndexOfItsView) {
  Scenario s;
  auto views = s.w.open_views();
  ASSERT_TRUE(views->catch_up().is_ok());
  for (const ProjectionDefinition& def : builtin_projections()) {
    std::vector<std::string> expected;
    for (const std::string& ddl : def.make()->indexes()) {
      const std::string name = ddl.substr(std::string("CREATE INDEX ").size());
      expected.push_back(name.substr(0, name.find(' ')));
    }
    std::sort(expected.begin(), expected.end());
    std::vector<std::string> found;
    Status read = views->read(def.name, [&](Db& db) -> Status {
      auto q = db.prepare("SELECT name FROM sqlite_schema WHERE type = 'index' AND sql IS NOT NULL ORDER BY name");
      if (!q) return q.status();
      while (true) {
        auto row = (*q)->step();
        if (!row) return row.status();
        if (!*row) return Status::ok();
        found.push_back((*q)->column_text(0));
      }
    });
    ASSERT_TRUE(read.is_ok()) << read.to_string();
    EXPECT_EQ(found, expected) << def.name;
  }
}

TEST(ViewSet, ARestartResumesFromTheCheckpointAndDoesNotReplayFromZero) {
  Scenario s;
  uint64_t first_head = 0;
  {
    auto views = s.w.open_views();
    ASSERT_TRUE(views->catch_up().is_ok());
    first_head = s.w.log->head().value();
    for (const ViewStatus& v : views->lag()) EXPECT_EQ(v.events_built, first_head) << v.name;
  }
  s.w.restart();  // the log and the key store too
  s.more(3);
  const uint64_t head = s.w.log->head().value();
  ASSERT_GT(head, first_head);
  auto views = s.w.open_views();
  for (const ViewStatus& v : views->lag()) {
    EXPECT_TRUE(v.serving) << v.name << ": the stored file serves at once";
    EXPECT_EQ(v.position.value(), first_head) << v.name;
  }
  ASSERT_TRUE(views->catch_up().is_ok());
  for (const ViewStatus& v : views->lag()) {
    // Only the events after the checkpoint went through the projection.
    EXPECT_EQ(v.events_applied, head - first_head) << v.name;
    EXPECT_EQ(v.events_built, 0u) << v.name;
    EXPECT_EQ(v.rebuilds, 0u) << v.name;
    EXPECT_EQ(v.position.value(), head) << v.name;
  }
}

TEST(ViewSet, WaitForAnswersOnceTheRunnerReachedThePosition) {
  Scenario s;
  auto views = s.w.open_views();
  ASSERT_TRUE(views->start().is_ok());
  ViewQueries queries(*views);
  CommandOutcome out = s.w.must_execute(
      s.w.user(s.p.admin), CreateUser{s.p.partner, testing::contact("Ann", "New", "ann@contoso.com"), {Role::kBillingAdmin}},
      "create ann");
  const UserId ann(out.created_ids.at(0).bytes());
  QueryOptions after;
  after.min_position = out.last_position;
  after.wait = std::chrono::duration_cast<std::chrono::milliseconds>(kGenerous);
  auto users = queries.users(s.w.user(s.p.admin), s.p.partner, std::nullopt, after);
  ASSERT_TRUE(users.is_ok()) << users.status().to_string();
  bool found = false;
  for (const DirectoryUser& u : *users) found = found || (u.user_id == ann && u.profile.first_name == "Ann");
  EXPECT_TRUE(found) << "read-your-writes: the user just created is listed";
  EXPECT_TRUE(views->stop().is_ok());
  EXPECT_FALSE(views->running());
}

TEST(ViewSet, WaitForGivesNotYetWhenThePositionIsNotReachedInTime) {
  Scenario s;
  auto views = s.w.open_views();
  ASSERT_TRUE(views->catch_up().is_ok());  // no runner: nothing moves after this
  const GlobalPosition at_now = s.w.log->head();
  s.more(1);
  const GlobalPosition wanted = s.w.log->head();
  Status late = views->wait_for("directory", wanted, std::chrono::steady_clock::now() + std::chrono::milliseconds(20));
  EXPECT_EQ(late.code(), StatusCode::kNotYet);
  EXPECT_NE(late.message().find("view directory is at position " + std::to_string(at_now.value())), std::string::npos)
      << late.message();
  EXPECT_NE(late.message().find("asked for " + std::to_string(wanted.value())), std::string::npos) << late.message();
  // Through the query API too, and the reached position answers at once.
  ViewQueries queries(*views);
  QueryOptions options;
  options.min_position = wanted;
  options.wait = std::chrono::milliseconds(20);
  EXPECT_EQ(queries.users(s.w.user(s.p.admin), s.p.partner, std::nullopt, options).status().code(),
            StatusCode::kNotYet);
  options.min_position = at_now;
  EXPECT_TRUE(queries.users(s.w.user(s.p.admin), s.p.partner, std::nullopt, options).is_ok());
  EXPECT_TRUE(views->wait_for("directory", at_now, std::chrono::steady_clock::now()).is_ok());
  EXPECT_EQ(views->wait_for("nope", at_now, std::chrono::steady_clock::now()).code(), StatusCode::kNotFound);
}

// Commits that come one after another are applied together once the runner
// has let them gather (live_gather): one live transaction per view for 20
// commands, where applying each commit as it is seen takes about 20. The
// gather here (5 s) is far longer than 20 commands take; the test lasts that long.
TEST(ViewSet, CommitsComingTogetherShareOneLiveTransaction) {
  Scenario s;
  ViewSetOptions options;
  options.live_gather = std::chrono::seconds(5);
  auto views = s.w.open_views(options);
  ASSERT_TRUE(views->start().is_ok());
  ASSERT_TRUE(views->wait_for("directory", s.w.log->head(), std::chrono::steady_clock::now() + kGenerous).is_ok());
  const uint64_t batches_before = views->status("directory")->batches;
  s.more(20);
  ASSERT_TRUE(views->wait_for("directory", s.w.log->head(), std::chrono::steady_clock::now() + kGenerous).is_ok());
  // One, or two if the runner stepped on the first commit before it gathered.
  EXPECT_LE(views->status("directory")->batches - batches_before, 2u);
  EXPECT_TRUE(views->stop().is_ok());
}

ViewSetOptions with_version(std::string_view name, int version) {
  ViewSetOptions options;
  for (ProjectionDefinition d : builtin_projections()) {
    if (d.name == name) d.version = version;
    options.views.push_back(std::move(d));
  }
  return options;
}

TEST(ViewSet, AChangedVersionStampRebuildsThatViewByItself) {
  Scenario s;
  std::string before;
  {
    auto views = s.w.open_views();
    ASSERT_TRUE(views->catch_up().is_ok());
    before = views->dump("catalog").value();
  }
  auto views = s.w.open_views(with_version("catalog", CatalogView::kVersion + 1));
  auto catalog = views->status("catalog").value();
  EXPECT_FALSE(catalog.serving) << "an old version is not queried with new code";
  EXPECT_TRUE(catalog.building);
  EXPECT_EQ(catalog.build_reason,
            "version " + std::to_string(CatalogView::kVersion) + " -> " + std::to_string(CatalogView::kVersion + 1));
  EXPECT_EQ(views->read("catalog", [](Db&) { return Status::ok(); }).code(), StatusCode::kNotYet);
  EXPECT_TRUE(views->status("pricing")->serving) << "other views are untouched";
  ASSERT_TRUE(views->catch_up().is_ok());
  catalog = views->status("catalog").value();
  EXPECT_TRUE(catalog.serving);
  EXPECT_EQ(catalog.rebuilds, 1u);
  EXPECT_EQ(catalog.events_built, s.w.log->head().value());
  EXPECT_EQ(views->status("pricing")->rebuilds, 0u);
  // Same content; the new stamp is stored.
  std::string after = views->dump("catalog").value();
  const std::string old_stamp = "'catalog'|" + std::to_string(CatalogView::kVersion) + "|";
  const std::string new_stamp = "'catalog'|" + std::to_string(CatalogView::kVersion + 1) + "|";
  ASSERT_NE(before.find(old_stamp), std::string::npos);
  ASSERT_NE(after.find(new_stamp), std::string::npos);
  after.replace(after.find(new_stamp), new_stamp.size(), old_stamp);
  EXPECT_EQ(after, before);
}

TEST(ViewSet, AViewWhoseLastEventIsNotInTheLogIsRebuilt) {
  Scenario big;
  big.more(2);
  {
    auto views = big.w.open_views();
    ASSERT_TRUE(views->catch_up().is_ok());
  }
  // Another data folder whose log is shorter and different, given the first one's views.
  ViewWorld other(at("2026-03-02T12:00:00Z"));
  other.enroll(testing::enroll_command("zed@fabrikam.com"));
  std::filesystem::copy(big.w.dir.path() + "/views", other.dir.path() + "/views",
                        std::filesystem::copy_options::recursive);
  auto views = other.open_views();
  for (const ViewStatus& v : views->lag()) {
    EXPECT_FALSE(v.serving) << v.name;
    EXPECT_NE(v.build_reason.find("log"), std::string::npos) << v.name << ": " << v.build_reason;
  }
  ASSERT_TRUE(views->catch_up().is_ok());
  for (const ViewStatus& v : views->lag()) {
    EXPECT_TRUE(v.serving) << v.name;
    EXPECT_EQ(v.position, other.log->head()) << v.name;
  }
  auto users = views->dump("directory").value();
  EXPECT_EQ(users.find("sam@contoso.com"), std::string::npos) << "nothing of the other log is left";
}

TEST(ViewSet, AnUnfinishedBuildLeftByACrashIsDiscardedAtOpen) {
  Scenario s;
  {
    auto views = s.w.open_views();
    ASSERT_TRUE(views->catch_up().is_ok());
  }
  const std::string building = s.w.dir.path() + "/views/audit.db.building";
  std::ofstream(building) << "half a build";
  std::ofstream(building + "-journal") << "x";
  auto views = s.w.open_views();
  EXPECT_FALSE(std::filesystem::exists(building));
  EXPECT_FALSE(std::filesystem::exists(building + "-journal"));
  EXPECT_TRUE(views->status("audit")->serving);
}

TEST(ViewSet, RebuildGivesTheSameFileAsTheIncrementalBuild) {
  Scenario s;
  auto views = s.w.open_views();
  ASSERT_TRUE(views->start().is_ok());
  s.more(3);
  s.w.must_execute(s.w.user(s.p.admin), AcceptResellerAgreement{s.p.partner, "2019-10"}, "agreement");
  s.w.must_execute(s.w.user(s.p.admin), PinOffer{s.p.partner, "offer-1"}, "pin");
  s.w.must_execute(s.w.user(s.p.admin), DeactivateUser{s.p.partner, s.sam}, "deactivate");
  ASSERT_TRUE(views->wait_for("audit", s.w.log->head(), std::chrono::steady_clock::now() + kGenerous).is_ok());
  ASSERT_TRUE(views->stop().is_ok());
  ASSERT_TRUE(views->catch_up().is_ok());
  for (const std::string& name : views->names()) {
    const std::string incremental = views->dump(name).value();
    const uint64_t generation = views->status(name)->generation;
    ASSERT_TRUE(views->rebuild(name).is_ok()) << name;
    EXPECT_EQ(views->dump(name).value(), incremental) << name;
    EXPECT_GT(views->status(name)->generation, generation) << name;
  }
  EXPECT_EQ(views->rebuild("nope").code(), StatusCode::kNotFound);
}

TEST(ViewSet, StopIsPromptWhenIdleAndStartIsIdempotent) {
  Scenario s;
  auto views = s.w.open_views();
  ASSERT_TRUE(views->start().is_ok());
  ASSERT_TRUE(views->start().is_ok());
  EXPECT_TRUE(views->running());
  ASSERT_TRUE(views->wait_for("profile", s.w.log->head(), std::chrono::steady_clock::now() + kGenerous).is_ok());
  EXPECT_TRUE(views->stop().is_ok());
  EXPECT_TRUE(views->stop().is_ok());
  EXPECT_FALSE(views->running());
}

}  // namespace
}  // namespace accountable
