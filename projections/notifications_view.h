// NotificationsView (view "notifications"; docs/views.md): each user's feed
// (issue 22, item 7; GET /v1/me/notifications). One row per event that
// notifies someone, keyed by its log position, with its audience:
//
//   kind                     event                 audience
//   role_assigned/_removed   RoleAssigned/Removed  that user
//   vetting_status_changed   VettingStatusChanged  every user of the partner
//   partner_suspended        PartnerSuspended      every user of the partner
//   partner_reinstated       PartnerReinstated     every user of the partner
//   price_list_published     PriceListPublished    users of partners in that market (the country of
//   price_list_preview         (a later month: preview)   the legal address) who may read price lists
//
// Who of a partner or market reads a row is decided when read, from the
// reader's CURRENT roles (the price-list permission), so a role change needs
// no rewrite and a rebuild equals the incremental file. A user sees nothing
// older than their own creation. Expiring tax certificates are not events:
// the reader derives them from the profile view (ViewQueries::notifications).
//
// Read state: NotificationsRead (MarkNotificationsRead) moves the user's
// "read up to" mark, never past that event's own position, and records the
// ids it names. Rows hold no personal data: kinds, roles, statuses, markets.
#pragma once

#include <array>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "projections/projection.h"

namespace accountable {

struct Notification {
  std::string id;    // schema/notification_ids.h
  std::string kind;  // the table above, or "tax_certificate_expiring"
  Timestamp at;
  PartnerId partner_id;
  bool read = false;
  std::string details;  // a JSON object, as text
  uint64_t position = 0;  // of the event; 0 for a derived one
  friend bool operator==(const Notification&, const Notification&) = default;
};

// Who reads, as their current state says.
struct NotificationReader {
  PartnerId partner_id;
  UserId user_id;
  bool reads_price_lists = false;  // Permission::kReadPriceLists now
};

struct NotificationQuery {
  bool unread_only = false;
  size_t limit = 20;
  std::optional<uint64_t> before;  // newest first: only positions below (the cursor)
};

struct NotificationPage {
  std::vector<Notification> items;  // newest first
  uint64_t unread_count = 0;        // of the log's notifications (all pages)
  std::optional<uint64_t> next;     // the cursor of the next page, when more may follow
};

class NotificationsView final : public Projection {
 public:
  static constexpr std::string_view kName = "notifications";
  // 2: one table per audience keyed by (audience, position), ids as 16-byte
  // blobs, no secondary index; a build holds its rows in memory and writes them sorted.
  static constexpr int kVersion = 2;

  // A build holds at most about `rows_held_by_a_build` rows before it writes
  // them (tests make it small to exercise the writes during the build).
  explicit NotificationsView(size_t rows_held_by_a_build = kRowsHeldByABuild) : rows_held_(rows_held_by_a_build) {}
  std::string_view name() const override { return kName; }
  int version() const override { return kVersion; }
  std::vector<std::string> schema() const override;
  Status prepare(Db& db) override;
  Status apply(const ViewEvent& event) override;
  Status begin_build() override;
  Status finish_batch() override;
  Status finish_build() override;
  // ~0.7 us a row
  uint64_t build_seal_nanos() const override { return (built_rows_.size() + built_users_.size()) * 700; }
  void abort_batch() override;

  // The reader's feed, newest first.
  static Result<NotificationPage> feed(Db& db, const NotificationReader& reader, const NotificationQuery& q);
  // The reader's notifications after `position`, oldest first, at most `limit` (the SSE stream).
  static Result<std::vector<Notification>> after(Db& db, const NotificationReader& reader, uint64_t position,
                                                 size_t limit);
  // Which of `ids` (derived notifications' ids) the user marked read.
  static Result<std::set<std::string>> marked_read(Db& db, const UserId& user, const std::vector<std::string>& ids);

 private:
  using Key = std::array<unsigned char, 16>;  // a user's or partner's id, as stored
  enum class Audience : uint8_t { kUser, kPartner, kMarket };
  struct KeyHash {
    size_t operator()(const Key& k) const;
  };

  Status run(std::string_view key, const std::function<void(Statement&)>& bind);
  Status add(const RecordedEvent& r, std::string_view kind, Audience audience, std::string_view key,
             std::string details);
  // Writes what a build held in memory, each table in key order.
  Status flush_build();

  // About 100 bytes a row: twice RowCache's bound of rows, about as much memory.
  static constexpr size_t kRowsHeldByABuild = size_t{1} << 19;

  const size_t rows_held_;
  std::map<std::string, std::unique_ptr<Statement>, std::less<>> statements_;
  bool whole_build_ = false;
  // During a build from position 0 (nothing reads the file before it is
  // sealed): the rows of the three audience tables and of notification_user,
  // in log order, written once, sorted by key, at its end. A user purged
  // meanwhile is in purged_, and their earlier rows are left out then.
  struct BuiltRow {
    Audience audience;
    Key id;              // the user's or partner's (zeros for a market's row)
    std::string market;  // a market's row
    int64_t position;
    std::string_view kind;     // a literal
    int64_t at;
    std::string_view details;  // in details_ (a few distinct texts: roles, statuses)
  };
  struct BuiltUser {
    Key user;
    Key partner;
    int64_t since;
  };
  std::vector<BuiltRow> built_rows_;
  std::vector<BuiltUser> built_users_;
  std::unordered_map<Key, int64_t, KeyHash> purged_;  // a user purged during the build: at which position
  std::unordered_set<std::string> details_;
  bool flushed_ = false;  // a build wrote some rows before its end (more than it holds)
};

}  // namespace accountable
