// Purged users: their personal data reads as erased in the directory and the
// audit timeline, whether the view saw them before the purge (overwritten) or
// is rebuilt after it (the key is gone), and no view file keeps the bytes.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "projections/testing/view_world.h"
#include "projections/view_json.h"

namespace accountable {
namespace {

using testing::at;
using testing::ViewWorld;

constexpr const char* kEmail = "pat.purged@contoso.com";
constexpr const char* kName = "Patricia-Unique";

// Every byte of every file under DATA/views.
std::string view_file_bytes(const std::string& data_dir) {
  std::string all;
  for (const auto& entry : std::filesystem::directory_iterator(data_dir + "/views")) {
    std::ifstream in(entry.path(), std::ios::binary);
    all.append(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  return all;
}

struct PurgeScenario {
  ViewWorld w{at("2026-01-02T12:00:00Z")};
  testing::Enrolled p;
  UserId pat;
  UserId kim;
  std::unique_ptr<ViewSet> views;

  PurgeScenario() {
    p = w.enroll();
    pat = w.create_user(w.user(p.admin), p.partner, kEmail, {Role::kSalesAgent}, kName, "Gone");
    kim = w.create_user(w.user(p.admin), p.partner, "kim@contoso.com", {Role::kHelpdeskAgent}, "Kim", "Stays");
    w.must_execute(w.user(p.admin),
                   UpdateUserProfile{p.partner, pat, testing::contact(kName, "Renamed", kEmail)}, "update pat");
  }
  void purge() {
    w.must_execute(w.user(p.admin), DeactivateUser{p.partner, pat}, "deactivate");
    w.clock.advance_days(31);
    w.must_execute(testing::op(), PurgeUser{p.partner, pat}, "purge");
  }
  DirectoryUser directory_entry(const UserId& id) {
    std::optional<DirectoryUser> out;
    testing::must(views->read("directory",
                              [&](Db& db) {
                                auto r = DirectoryView::user(db, p.partner, id);
                                if (r) out = *r;
                                return r.status();
                              }),
                  "directory");
    return *out;
  }
  // The timeline entries of the user's stream.
  std::vector<AuditEntry> timeline_of(const UserId& id) {
    std::vector<AuditEntry> out;
    ViewQueries q(*views);
    auto page = q.timeline(testing::op(), p.partner, GlobalPosition(1), kMaxAuditPage);
    testing::must(page.status(), "timeline");
    for (const AuditEntry& e : page->entries) {
      if (e.stream == user_stream(id)) out.push_back(e);
    }
    return out;
  }
};

void expect_erased(PurgeScenario& s, const char* when) {
  SCOPED_TRACE(when);
  DirectoryUser pat = s.directory_entry(s.pat);
  EXPECT_EQ(pat.status, DirectoryStatus::kPurged);
  EXPECT_TRUE(pat.erased);
  EXPECT_EQ(pat.profile, ContactDetails{});
  EXPECT_TRUE(pat.roles.empty());
  const std::string json = boost::json::serialize(to_json(pat));
  EXPECT_NE(json.find("\"email\":\"erased\""), std::string::npos) << json;
  EXPECT_EQ(json.find(kEmail), std::string::npos) << json;

  const auto entries = s.timeline_of(s.pat);
  int personal = 0;
  for (const AuditEntry& e : entries) {
    if (e.event_type == "UserCreated" || e.event_type == "UserProfileUpdated") {
      ++personal;
      EXPECT_EQ(e.fields.at("profile"), boost::json::value("erased")) << e.event_type;
    }
    EXPECT_EQ(boost::json::serialize(e.fields).find(kEmail), std::string::npos) << e.event_type;
  }
  EXPECT_EQ(personal, 2);
  EXPECT_EQ(entries.back().event_type, "UserPurged");

  // Others are untouched.
  DirectoryUser kim = s.directory_entry(s.kim);
  EXPECT_FALSE(kim.erased);
  EXPECT_EQ(kim.profile.email, "kim@contoso.com");
  bool shown = false;
  for (const AuditEntry& e : s.timeline_of(s.kim)) {
    if (e.event_type == "UserCreated") shown = e.fields.at("profile").at("email") == boost::json::value("kim@contoso.com");
  }
  EXPECT_TRUE(shown) << "the timeline shows personal data of users who are not purged";

  // No view file (database, WAL, journal) holds the purged user's data any more.
  const std::string bytes = view_file_bytes(s.w.dir.path());
  EXPECT_EQ(bytes.find(kEmail), std::string::npos);
  EXPECT_EQ(bytes.find(kName), std::string::npos);
}

TEST(PersonalDataInViews, APurgeOverwritesWhatTheViewsShowed) {
  PurgeScenario s;
  s.views = s.w.open_views();
  ASSERT_TRUE(s.views->start().is_ok());
  ASSERT_TRUE(s.views->wait_for("directory", s.w.log->head(), std::chrono::steady_clock::now() + std::chrono::seconds(60)).is_ok());
  DirectoryUser before = s.directory_entry(s.pat);
  EXPECT_EQ(before.profile.email, kEmail) << "shown in clear while the user exists";
  EXPECT_EQ(before.profile.last_name, "Renamed");
  EXPECT_NE(view_file_bytes(s.w.dir.path()).find(kEmail), std::string::npos) << "the directory stores it (until the purge)";

  s.purge();
  ASSERT_TRUE(s.views->stop().is_ok());
  ASSERT_TRUE(s.views->catch_up().is_ok());
  expect_erased(s, "incremental");
  const std::string incremental = s.views->dump("directory").value();
  ASSERT_TRUE(s.views->rebuild("directory").is_ok());
  EXPECT_EQ(s.views->dump("directory").value(), incremental) << "overwritten rows equal rows built after the purge";
  ASSERT_TRUE(s.views->rebuild("audit").is_ok());
  expect_erased(s, "rebuilt");
}

TEST(PersonalDataInViews, AViewBuiltAfterThePurgeNeverSawTheData) {
  PurgeScenario s;
  s.purge();
  s.views = s.w.open_views();
  ASSERT_TRUE(s.views->catch_up().is_ok());
  expect_erased(s, "built after the purge");
}

TEST(PersonalDataInViews, ATimelineShowsAPurgedSubjectAsErasedEvenIfItsKeyStillOpens) {
  // The engine destroys the key just after the commit; the view does not wait for it.
  UserCreated created{UserId::random(), PartnerId::random(), {}, "fp"};
  created.profile = PersonalContact{user_subject(created.user_id), testing::contact("Lee", "Key", "lee@x.example")};
  const EncodedEvent encoded = encode_event(created);  // no cipher installed: clear form
  auto shown = audit_fields(encoded.type, encoded.schema_version, encoded.bytes, [](const std::string&) { return false; });
  ASSERT_TRUE(shown.is_ok());
  EXPECT_EQ(shown->at("profile").at("email"), boost::json::value("lee@x.example"));
  auto hidden = audit_fields(encoded.type, encoded.schema_version, encoded.bytes,
                             [&](const std::string& subject) { return subject == user_subject(created.user_id); });
  ASSERT_TRUE(hidden.is_ok());
  EXPECT_EQ(hidden->at("profile"), boost::json::value("erased"));
  auto unknown = audit_fields("SomethingNew", 1, "bytes", [](const std::string&) { return false; });
  ASSERT_TRUE(unknown.is_ok());
  EXPECT_TRUE(unknown->is_null()) << "an event type this build does not know has no fields to show";
}

TEST(PersonalDataInViews, EveryEventWithPersonalDataIsKnownToTheTimeline) {
  // docs/events.md: six events hold personal data; the timeline must know where.
  int with_personal = 0;
  DomainEvent samples[] = {PartnerEnrolled{}, LegalProfileUpdated{}, BillingProfileUpdated{}, AuditorAccessIssued{},
                           UserCreated{},     UserProfileUpdated{}};
  for (const DomainEvent& e : samples) with_personal += personal_fields(e).empty() ? 0 : 1;
  EXPECT_EQ(with_personal, 6);
  EXPECT_EQ(personal_fields(PartnerEnrolled{}).size(), 2u);
  EXPECT_TRUE(personal_fields(RoleAssigned{}).empty());
}

}  // namespace
}  // namespace accountable
