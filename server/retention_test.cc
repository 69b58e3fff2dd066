// The retention job (issue 22, item 4): a user deactivated more than 30 days
// ago is purged as the operator; before that it waits; a dry run writes
// nothing; a run is bounded; a run repeated before the view saw the purge (a
// crash between the two) is answered from the first commit; a user purged by
// hand meanwhile is refused, not purged twice; the scheduler purges by itself.
#include "server/retention.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>

#include "aggregates/user.h"
#include "server/testing/http_test_client.h"

namespace accountable {
namespace {

using namespace http_test;

constexpr std::chrono::microseconds kDay{86'400'000'000LL};

class Retention : public ServerFixture {
 protected:
  void SetUp() override {
    clock_ = &stepped_;
    ServerFixture::SetUp();
    if (HasFatalFailure()) return;
    std::string temp;
    std::tie(a_, std::ignore, temp) = enroll();
    ASSERT_FALSE(a_.empty());
    ada_ = sign_in_and_change(a_, "ada@contoso.example", temp);
  }

  // A user of A with a role, deactivated now; its id.
  std::string deactivated_user(const std::string& email) {
    auto [id, temp] = create_user(ada_, a_, email, {"sales_agent"});
    Reply r = command(ada_, json::object{{"type", "DeactivateUser"}, {"partner_id", a_}, {"user_id", id}});
    EXPECT_EQ(r.status, 200u) << r.body;
    return id;
  }

  // The user's status in the directory view, caught up first.
  std::string status_of(const std::string& user) {
    EXPECT_TRUE(views_->catch_up().is_ok());
    Reply r = request(http::verb::get, "/v1/partners/" + a_ + "/users", "", admin_now());
    const json::value body = r.json();
    if (!body.is_array()) return "";
    for (const json::value& u : body.as_array()) {
      if (u.at("user_id").as_string() == user) return std::string(u.at("status").as_string());
    }
    return "";
  }

  // Ada's token, signed in again (sessions expire while the test moves 31 days on).
  std::string admin_now() { return sign_in(a_, "ada@contoso.example", "a-long-new-password").first; }

  Result<RetentionReport> run(bool dry_run = false, size_t max_per_run = 100) {
    RetentionOptions options;
    options.max_per_run = max_per_run;
    CommandPipeline pipeline(*stack_);
    return run_retention(pipeline, *views_, now(), options, dry_run);
  }

  SteppedClock stepped_{parse_timestamp("2026-12-01T00:00:00Z").value()};
  std::string a_, ada_;
};

TEST_F(Retention, AUserWaitsThirtyDaysThenIsPurgedAsTheOperator) {
  const std::string sam = deactivated_user("sam@contoso.example");
  const Timestamp deactivated = now();
  ASSERT_TRUE(views_->catch_up().is_ok());

  auto early = run();
  ASSERT_TRUE(early.is_ok()) << early.status().to_string();
  EXPECT_TRUE(early->results.empty());
  EXPECT_EQ(early->waiting, 1u);
  ASSERT_TRUE(early->next_due_at.has_value());
  EXPECT_EQ(*early->next_due_at, plus_days(deactivated, kRestoreWindowDays));

  // Exactly 30 days later the restore window is still open (PurgeUser's rule: after it).
  stepped_.advance(30 * kDay);
  EXPECT_TRUE(run()->results.empty());
  stepped_.advance(std::chrono::seconds(1));

  const uint64_t before = head();
  auto dry = run(/*dry_run=*/true);
  ASSERT_TRUE(dry.is_ok());
  ASSERT_EQ(dry->results.size(), 1u);
  EXPECT_EQ(dry->results[0].outcome, RetentionOutcome::kWouldPurge);
  EXPECT_EQ(head(), before) << "a dry run writes nothing";

  auto purged = run();
  ASSERT_TRUE(purged.is_ok()) << purged.status().to_string();
  ASSERT_EQ(purged->results.size(), 1u);
  EXPECT_EQ(purged->results[0].outcome, RetentionOutcome::kPurged) << purged->results[0].error;
  EXPECT_EQ(purged->results[0].item.user.user_id.to_string(), sam);
  EXPECT_EQ(status_of(sam), "purged");
  // As the operator, with the derived command id, in the user's stream.
  Reply events = request(http::verb::get, "/v1/streams/user-" + sam, "", operator_token_);
  ASSERT_EQ(events.status, 200u) << events.body;
  const json::value body = events.json();
  const json::object& last = body.at("events").as_array().back().as_object();
  EXPECT_EQ(last.at("type").as_string(), "UserPurged");
  EXPECT_EQ(last.at("actor").as_string().rfind("operator:", 0), 0u) << events.body;
  EXPECT_EQ(last.at("command_id").as_string(),
            retention_command_id(UserId::parse(sam).value(), deactivated).to_string());
  // Nothing is due any more.
  auto after = run();
  ASSERT_TRUE(after.is_ok());
  EXPECT_TRUE(after->results.empty());
  EXPECT_EQ(after->waiting, 0u);
}

TEST_F(Retention, ARunIsBoundedAndTheNextTakesTheRestOldestFirst) {
  const std::string first = deactivated_user("first@contoso.example");
  stepped_.advance(std::chrono::hours(1));
  const std::string second = deactivated_user("second@contoso.example");
  stepped_.advance(std::chrono::hours(1));
  const std::string third = deactivated_user("third@contoso.example");
  stepped_.advance(31 * kDay);
  ASSERT_TRUE(views_->catch_up().is_ok());

  auto one = run(false, 2);
  ASSERT_TRUE(one.is_ok());
  ASSERT_EQ(one->results.size(), 2u);
  EXPECT_EQ(one->results[0].item.user.user_id.to_string(), first);
  EXPECT_EQ(one->results[1].item.user.user_id.to_string(), second);
  EXPECT_EQ(one->due_left, 1u);
  EXPECT_EQ(status_of(third), "inactive");
  auto two = run(false, 2);
  ASSERT_TRUE(two.is_ok());
  ASSERT_EQ(two->results.size(), 1u);
  EXPECT_EQ(two->results[0].item.user.user_id.to_string(), third);
  EXPECT_EQ(two->results[0].outcome, RetentionOutcome::kPurged);
  EXPECT_EQ(two->due_left, 0u);
  EXPECT_EQ(status_of(third), "purged");
}

// The view has not seen the purge yet (the process stopped between the
// commit and the view's apply): the repeat is answered from the first commit.
// A user purged by hand meanwhile is refused, and nothing is written twice.
TEST_F(Retention, ARepeatBeforeTheViewCatchesUpIsIdempotent) {
  const std::string sam = deactivated_user("sam@contoso.example");
  const std::string tia = deactivated_user("tia@contoso.example");
  stepped_.advance(31 * kDay);
  ASSERT_TRUE(views_->catch_up().is_ok());
  ASSERT_TRUE(views_->stop().is_ok());  // the view keeps both as inactive from here

  Reply by_hand = command(admin_now(), json::object{{"type", "PurgeUser"}, {"partner_id", a_}, {"user_id", tia}});
  ASSERT_EQ(by_hand.status, 200u) << by_hand.body;
  auto first = run();
  ASSERT_TRUE(first.is_ok());
  ASSERT_EQ(first->results.size(), 2u);
  const uint64_t after_first = head();
  auto second = run();
  ASSERT_TRUE(second.is_ok());
  EXPECT_EQ(head(), after_first) << "the repeat wrote nothing";
  for (const RetentionReport* r : {&*first, &*second}) {
    for (const RetentionResult& x : r->results) {
      const std::string id = x.item.user.user_id.to_string();
      if (id == tia) {
        EXPECT_EQ(x.outcome, RetentionOutcome::kRefused) << x.error;
        EXPECT_NE(x.error.find("purged"), std::string::npos) << x.error;
      } else {
        EXPECT_EQ(id, sam);
        EXPECT_EQ(x.outcome, r == &*first ? RetentionOutcome::kPurged : RetentionOutcome::kAlreadyDone) << x.error;
      }
    }
  }
  EXPECT_EQ(status_of(sam), "purged");
}

TEST_F(Retention, TheSchedulerRunsAtStartAndCountsItsPurges) {
  const std::string sam = deactivated_user("sam@contoso.example");
  stepped_.advance(31 * kDay);
  ASSERT_TRUE(views_->catch_up().is_ok());
  CommandPipeline pipeline(*stack_);
  {
    RetentionScheduler job({{&pipeline, views_.get()}}, nullptr, stepped_, std::chrono::hours(1), RetentionOptions{});
    // The first run starts with the scheduler; wait for it (bounded: 30 s).
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (job.totals().runs.load() == 0 && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    ASSERT_EQ(job.totals().runs.load(), 1u);
    EXPECT_EQ(job.totals().purged.load(), 1u);
    EXPECT_EQ(job.totals().refused.load(), 0u);
    EXPECT_EQ(job.totals().last_run_micros.load(), now().micros);
  }  // stops at once: the interval's wait ends on the stop
  EXPECT_EQ(status_of(sam), "purged");
  // A shard this node does not lead is left alone.
  ada_ = admin_now();
  const std::string tia = deactivated_user("tia@contoso.example");
  stepped_.advance(31 * kDay);
  ASSERT_TRUE(views_->catch_up().is_ok());
  {
    RetentionScheduler job({{&pipeline, views_.get()}}, [](uint32_t) { return false; }, stepped_,
                           std::chrono::hours(1), RetentionOptions{});
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (job.totals().runs.load() == 0 && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    EXPECT_EQ(job.totals().purged.load(), 0u);
  }
  EXPECT_EQ(status_of(tia), "inactive");
}

}  // namespace
}  // namespace accountable
