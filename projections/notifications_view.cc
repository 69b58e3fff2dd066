#include "projections/notifications_view.h"

#include <boost/json.hpp>
#include <algorithm>
#include <cstdio>
#include <cstring>

#include "projections/bulk_insert.h"
#include "projections/pricing_view.h"
#include "projections/view_codec.h"
#include "schema/enum_names.h"
#include "schema/notification_ids.h"

namespace accountable {

namespace json = boost::json;

namespace {

const std::pair<std::string_view, std::string_view> kNotificationStatements[] = {
    {"partner", "INSERT OR REPLACE INTO notification_partner(partner_id, market) VALUES (?1, ?2)"},
    {"user", "INSERT OR REPLACE INTO notification_user(user_id, partner_id, since) VALUES (?1, ?2, ?3)"},
    {"add_user",
     "INSERT OR REPLACE INTO notification_for_user(user_id, position, kind, at, details) VALUES (?1, ?2, ?3, ?4, ?5)"},
    {"add_partner",
     "INSERT OR REPLACE INTO notification_for_partner(partner_id, position, kind, at, details) "
     "VALUES (?1, ?2, ?3, ?4, ?5)"},
    {"add_market",
     "INSERT OR REPLACE INTO notification_for_market(market, position, kind, at, details) VALUES (?1, ?2, ?3, ?4, ?5)"},
    {"read_up_to",
     "INSERT INTO notification_read_up_to(user_id, up_to) VALUES (?1, ?2) "
     "ON CONFLICT(user_id) DO UPDATE SET up_to = max(up_to, excluded.up_to)"},
    // Ids at or below the mark say nothing more: kept out so the set stays small.
    {"prune_read",
     "DELETE FROM notification_read WHERE user_id = ?1 AND id NOT LIKE 'tax.%' AND CAST(id AS INTEGER) <= ?2"},
    {"read_id", "INSERT OR IGNORE INTO notification_read(user_id, id) VALUES (?1, ?2)"},
    {"purge_rows", "DELETE FROM notification_for_user WHERE user_id = ?1"},
    {"purge_read", "DELETE FROM notification_read WHERE user_id = ?1"},
    {"purge_up_to", "DELETE FROM notification_read_up_to WHERE user_id = ?1"},
    {"purge_user", "DELETE FROM notification_user WHERE user_id = ?1"},
};

// The audience tables' inserts of several rows, "<statement>_many".
const std::pair<std::string_view, std::string_view> kBulkInserts[] = {
    {"add_user_many", "INSERT OR REPLACE INTO notification_for_user(user_id, position, kind, at, details)"},
    {"add_partner_many", "INSERT OR REPLACE INTO notification_for_partner(partner_id, position, kind, at, details)"},
    {"add_market_many", "INSERT OR REPLACE INTO notification_for_market(market, position, kind, at, details)"},
};

// An id's 16 bytes as a blob.
std::string_view key_blob(const std::array<unsigned char, 16>& key) {
  return {reinterpret_cast<const char*>(key.data()), key.size()};
}

std::string month_text(int32_t year, int32_t month) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04d-%02d", static_cast<int>(year), static_cast<int>(month));
  return buf;
}

// The reader's rows: their own, their partner's, and their market's when they
// may read price lists; one subquery per audience so that each walks its own
// index, `where` and `tail` (ORDER BY / LIMIT) applied in each. Parameters:
// ?1 user, ?2 partner, ?3 market, ?4 reads price lists, ?5 since, ?6 read up to.
std::string mine(const std::string& columns, const std::string& where, const std::string& tail) {
  const std::string audiences[] = {"notification_for_user n WHERE n.user_id = ?1",
                                   "notification_for_partner n WHERE n.partner_id = ?2",
                                   "notification_for_market n WHERE ?4 AND n.market = ?3 AND n.market <> ''"};
  std::string out;
  for (const std::string& audience : audiences) {
    if (!out.empty()) out += " UNION ALL ";
    out += "SELECT * FROM (SELECT " + columns + " FROM " + audience + " AND n.position >= ?5" + where + tail + ")";
  }
  return out;
}

const std::string kRead =
    "(n.position <= ?6 OR EXISTS(SELECT 1 FROM notification_read r WHERE r.user_id = ?1 "
    "AND r.id = CAST(n.position AS TEXT)))";

// Binds ?1..?6; false when the user has no row (never created here, or purged).
Result<bool> bind_reader(Db& db, Statement& st, const NotificationReader& reader) {
  auto s = db.prepare(
      "SELECT u.since, COALESCE(m.up_to, 0), COALESCE(p.market, '') FROM notification_user u "
      "LEFT JOIN notification_read_up_to m ON m.user_id = u.user_id "
      "LEFT JOIN notification_partner p ON p.partner_id = u.partner_id "
      "WHERE u.user_id = ?1 AND u.partner_id = ?2");
  if (!s) return s.status();
  (*s)->bind_blob(1, key_blob(reader.user_id.bytes())).bind_blob(2, key_blob(reader.partner_id.bytes()));
  auto row = (*s)->step();
  if (!row) return row.status();
  if (!*row) return false;
  st.bind_blob(1, key_blob(reader.user_id.bytes()))
      .bind_blob(2, key_blob(reader.partner_id.bytes()))
      .bind_text(3, (*s)->column_text(2))
      .bind_int(4, reader.reads_price_lists ? 1 : 0)
      .bind_int(5, (*s)->column_int(0))
      .bind_int(6, (*s)->column_int(1));
  return true;
}

Result<std::vector<Notification>> rows(Statement& st, const NotificationReader& reader) {
  std::vector<Notification> out;
  while (true) {
    auto row = st.step();
    if (!row) return row.status();
    if (!*row) break;
    Notification n;
    n.position = static_cast<uint64_t>(st.column_int(0));
    n.id = log_notification_id(n.position);
    n.kind = st.column_text(1);
    n.at = st.column_time(2);
    n.details = st.column_text(3);
    n.read = st.column_int(4) != 0;
    n.partner_id = reader.partner_id;
    out.push_back(std::move(n));
  }
  return out;
}

const std::string kColumns = "n.position, n.kind, n.at, n.details, " + kRead + " AS is_read";

}  // namespace

std::vector<std::string> NotificationsView::schema() const {
  return {
      // Ids (user_id, partner_id) are their 16 bytes, as blobs.
      // The market of a partner: the country of its legal address (it never changes).
      "CREATE TABLE notification_partner(partner_id BLOB PRIMARY KEY, market TEXT NOT NULL) WITHOUT ROWID",
      // since: the position of UserCreated; nothing older is shown to the user.
      "CREATE TABLE notification_user(user_id BLOB PRIMARY KEY, partner_id BLOB NOT NULL, since INTEGER NOT NULL) "
      "WITHOUT ROWID",
      // One table per audience, keyed by (audience, position): a reader's rows
      // are one range of each, and no secondary index is needed.
      "CREATE TABLE notification_for_user(user_id BLOB NOT NULL, position INTEGER NOT NULL, kind TEXT NOT NULL, "
      "at INTEGER NOT NULL, details TEXT NOT NULL, PRIMARY KEY(user_id, position)) WITHOUT ROWID",
      "CREATE TABLE notification_for_partner(partner_id BLOB NOT NULL, position INTEGER NOT NULL, kind TEXT NOT NULL, "
      "at INTEGER NOT NULL, details TEXT NOT NULL, PRIMARY KEY(partner_id, position)) WITHOUT ROWID",
      "CREATE TABLE notification_for_market(market TEXT NOT NULL, position INTEGER NOT NULL, kind TEXT NOT NULL, "
      "at INTEGER NOT NULL, details TEXT NOT NULL, PRIMARY KEY(market, position)) WITHOUT ROWID",
      "CREATE TABLE notification_read_up_to(user_id BLOB PRIMARY KEY, up_to INTEGER NOT NULL) WITHOUT ROWID",
      "CREATE TABLE notification_read(user_id BLOB NOT NULL, id TEXT NOT NULL, PRIMARY KEY(user_id, id)) "
      "WITHOUT ROWID",
  };
}

Status NotificationsView::prepare(Db& db) {
  for (const auto& [key, sql] : kNotificationStatements) {
    auto s = db.prepare(sql);
    if (!s) return s.status();
    statements_[std::string(key)] = std::move(*s);
  }
  // A build writes the rows it held several to a statement (projections/bulk_insert.h).
  for (const auto& [key, head] : kBulkInserts) {
    auto s = db.prepare(multi_row_insert(head, 5, kRowsPerBulkInsert));
    if (!s) return s.status();
    statements_[std::string(key)] = std::move(*s);
  }
  return Status::ok();
}

Status NotificationsView::run(std::string_view key, const std::function<void(Statement&)>& bind) {
  auto it = statements_.find(key);
  if (it == statements_.end()) return Status(StatusCode::kInternal, "no statement " + std::string(key));
  bind(*it->second);
  return it->second->run();
}

size_t NotificationsView::KeyHash::operator()(const Key& k) const {
  // Ids are random (UUID v4): eight of their bytes are a good hash.
  uint64_t h = 0;
  std::memcpy(&h, k.data(), sizeof h);
  return static_cast<size_t>(h);
}

Status NotificationsView::begin_build() {
  whole_build_ = true;
  return Status::ok();
}

// A failed batch of a build fails the build (the file is deleted): nothing to keep.
void NotificationsView::abort_batch() {
  built_rows_.clear();
  built_users_.clear();
  purged_.clear();
  details_.clear();
}

Status NotificationsView::finish_batch() {
  // A build holds its rows to its end, within a bound (about 100 bytes a row).
  if (!whole_build_ || built_rows_.size() + built_users_.size() < rows_held_) return Status::ok();
  flushed_ = true;
  return flush_build();
}

Status NotificationsView::finish_build() { return flush_build(); }

Status NotificationsView::flush_build() {
  // Each audience table in (key, position) order: the B-trees fill left to
  // right. Sorted as compact keys, not as the rows: rows are about 100 bytes
  // and far apart, and comparing them was mostly cache misses. A row's index
  // is its log order, so it stands for the position.
  struct SortKey {
    uint64_t high, low;  // the id, big-endian: integer order is byte order
    uint32_t row;        // into built_rows_ (fewer than rows_held_)
    Audience audience;
  };
  std::vector<SortKey> keys;
  keys.reserve(built_rows_.size());
  // A row of a user purged after it is left out (as the purge's DELETE would have taken it).
  auto purged_after = [this](const Key& user, int64_t position) {
    if (purged_.empty()) return false;
    const auto it = purged_.find(user);
    return it != purged_.end() && position < it->second;
  };
  for (size_t i = 0; i < built_rows_.size(); ++i) {
    const BuiltRow& r = built_rows_[i];
    if (r.audience == Audience::kUser && purged_after(r.id, r.position)) continue;
    uint64_t high = 0, low = 0;
    std::memcpy(&high, r.id.data(), 8);
    std::memcpy(&low, r.id.data() + 8, 8);
    keys.push_back(SortKey{__builtin_bswap64(high), __builtin_bswap64(low), static_cast<uint32_t>(i), r.audience});
  }
  std::sort(keys.begin(), keys.end(), [this](const SortKey& a, const SortKey& b) {
    if (a.audience != b.audience) return a.audience < b.audience;
    if (a.high != b.high) return a.high < b.high;
    if (a.low != b.low) return a.low < b.low;
    if (a.audience == Audience::kMarket) {
      if (const int c = built_rows_[a.row].market.compare(built_rows_[b.row].market); c != 0) return c < 0;
    }
    return a.row < b.row;
  });
  // Each audience's rows are one run of the sorted keys.
  const char* const names[] = {"add_user", "add_partner", "add_market"};
  auto first = keys.begin();
  for (size_t a = 0; a < std::size(names); ++a) {
    auto last = std::find_if(first, keys.end(), [a](const SortKey& k) { return static_cast<size_t>(k.audience) != a; });
    const std::string name = names[a];
    ACCT_RETURN_IF_ERROR(insert_rows(*statements_.find(name + "_many")->second, *statements_.find(name)->second, 5,
                                     first, last, [this](Statement& s, int p, const SortKey& k) {
                                       // The rows outlive each run(): bound without copies.
                                       const BuiltRow& r = built_rows_[k.row];
                                       if (r.audience == Audience::kMarket) {
                                         s.bind_text_unowned(p, r.market);
                                       } else {
                                         s.bind_blob_unowned(p, key_blob(r.id));
                                       }
                                       s.bind_int(p + 1, r.position)
                                           .bind_text_unowned(p + 2, r.kind)
                                           .bind_int(p + 3, r.at)
                                           .bind_text_unowned(p + 4, r.details);
                                     }));
    first = last;
  }
  // Users by key, and a key's later row last (INSERT OR REPLACE keeps it).
  std::sort(built_users_.begin(), built_users_.end(), [](const BuiltUser& a, const BuiltUser& b) {
    if (a.user != b.user) return a.user < b.user;
    return a.since < b.since;
  });
  Statement& insert_user = *statements_.find("user")->second;
  for (const BuiltUser& user : built_users_) {
    if (purged_after(user.user, user.since)) continue;
    insert_user.bind_blob_unowned(1, key_blob(user.user))
        .bind_blob_unowned(2, key_blob(user.partner))
        .bind_int(3, user.since);
    ACCT_RETURN_IF_ERROR(insert_user.run());
  }
  built_rows_.clear();
  built_users_.clear();
  purged_.clear();
  details_.clear();
  return Status::ok();
}

Status NotificationsView::add(const RecordedEvent& r, std::string_view kind, Audience audience, std::string_view key,
                              std::string details) {
  const auto position = static_cast<int64_t>(r.position.value());
  if (whole_build_) {
    BuiltRow row{audience, Key{}, std::string(), position, kind, r.recorded_at.micros,
                 *details_.insert(std::move(details)).first};
    if (audience == Audience::kMarket) {
      row.market = std::string(key);
    } else {
      std::memcpy(row.id.data(), key.data(), row.id.size());
    }
    built_rows_.push_back(std::move(row));
    return Status::ok();
  }
  const std::string_view statement = audience == Audience::kUser      ? "add_user"
                                     : audience == Audience::kPartner ? "add_partner"
                                                                      : "add_market";
  return run(statement, [&](Statement& s) {
    if (audience == Audience::kMarket) {
      s.bind_text(1, key);
    } else {
      s.bind_blob(1, key);
    }
    s.bind_int(2, position).bind_text(3, kind).bind_time(4, r.recorded_at).bind_text(5, details);
  });
}

Status NotificationsView::apply(const ViewEvent& event) {
  const RecordedEvent& r = event.record();
  const std::string_view t = r.type;
  // One hash, not ten string compares: this runs for every event of the log.
  static const std::unordered_set<std::string_view> kWanted{
      PartnerEnrolled::kType, VettingStatusChanged::kType, PartnerSuspended::kType, PartnerReinstated::kType,
      UserCreated::kType,     RoleAssigned::kType,         RoleRemoved::kType,      UserPurged::kType,
      NotificationsRead::kType, PriceListPublished::kType};
  if (!kWanted.contains(t)) return Status::ok();
  auto decoded = event.decoded();
  if (!decoded) return decoded.status();
  if (*decoded == nullptr) return Status::ok();
  const DomainEvent& e = **decoded;

  if (const auto* x = std::get_if<PriceListPublished>(&e)) {
    const PriceList& list = x->price_list;
    // A list for a later month than the one it is published in is a preview
    // (the decision's time, which the 30-day preview rule also used).
    const YearMonth published = month_of(x->published_at);
    const bool preview = YearMonth{list.year, list.month} > published;
    const json::object details{{"market", list.market},
                               {"currency", list.currency},
                               {"month", month_text(list.year, list.month)},
                               {"billing_model", enum_name(list.billing_model)}};
    return add(r, preview ? "price_list_preview" : "price_list_published", Audience::kMarket, list.market,
               json::serialize(details));
  }
  if (auto partner = partner_of_stream(r.stream)) {
    const std::string_view id = key_blob(partner->bytes());
    if (const auto* x = std::get_if<PartnerEnrolled>(&e)) {
      return run("partner", [&](Statement& s) { s.bind_blob(1, id).bind_text(2, x->legal.address.country); });
    }
    if (const auto* x = std::get_if<VettingStatusChanged>(&e)) {
      const json::object details{{"status", enum_name(x->status)}, {"sub_status", enum_name(x->sub_status)}};
      return add(r, "vetting_status_changed", Audience::kPartner, id, json::serialize(details));
    }
    if (const auto* x = std::get_if<PartnerSuspended>(&e)) {
      // The reason, not the operator's free-text note.
      const json::object details{{"reason", enum_name(x->reason)}};
      return add(r, "partner_suspended", Audience::kPartner, id, json::serialize(details));
    }
    if (std::holds_alternative<PartnerReinstated>(e)) return add(r, "partner_reinstated", Audience::kPartner, id, "{}");
    return Status::ok();
  }
  auto user = user_of_stream(r.stream);
  if (!user) return Status::ok();
  const Key& key = user->bytes();
  const std::string_view uid = key_blob(key);
  if (const auto* x = std::get_if<UserCreated>(&e)) {
    if (whole_build_) {
      built_users_.push_back(BuiltUser{key, x->partner_id.bytes(), static_cast<int64_t>(r.position.value())});
      return Status::ok();
    }
    return run("user", [&](Statement& s) {
      s.bind_blob(1, uid).bind_blob(2, key_blob(x->partner_id.bytes())).bind_int(3, static_cast<int64_t>(r.position.value()));
    });
  }
  if (const auto* x = std::get_if<RoleAssigned>(&e)) {
    return add(r, "role_assigned", Audience::kUser, uid, json::serialize(json::object{{"role", enum_name(x->role)}}));
  }
  if (const auto* x = std::get_if<RoleRemoved>(&e)) {
    return add(r, "role_removed", Audience::kUser, uid, json::serialize(json::object{{"role", enum_name(x->role)}}));
  }
  if (const auto* x = std::get_if<NotificationsRead>(&e)) {
    // Never past this event: a later notification is news whatever the command said.
    const uint64_t here = r.position.value();
    const int64_t up_to = static_cast<int64_t>(std::min(x->up_to, here));
    ACCT_RETURN_IF_ERROR(run("read_up_to", [&](Statement& s) { s.bind_blob(1, uid).bind_int(2, up_to); }));
    for (const std::string& id : x->ids) {
      const auto position = log_notification_position(id);
      if (position && (*position > here || static_cast<int64_t>(*position) <= up_to)) continue;
      ACCT_RETURN_IF_ERROR(run("read_id", [&](Statement& s) { s.bind_blob(1, uid).bind_text(2, id); }));
    }
    return run("prune_read", [&](Statement& s) { s.bind_blob(1, uid).bind_int(2, up_to); });
  }
  if (std::holds_alternative<UserPurged>(e)) {
    // The user can never sign in again: their feed and read state go.
    if (whole_build_) {
      // The file is not read before it is sealed: the rows this build holds
      // for the user are left out when they are written.
      purged_[key] = static_cast<int64_t>(r.position.value());
    }
    if (!whole_build_ || flushed_) {
      ACCT_RETURN_IF_ERROR(run("purge_rows", [&](Statement& s) { s.bind_blob(1, uid); }));
      ACCT_RETURN_IF_ERROR(run("purge_user", [&](Statement& s) { s.bind_blob(1, uid); }));
    }
    for (std::string_view k : {"purge_read", "purge_up_to"}) {
      ACCT_RETURN_IF_ERROR(run(k, [&](Statement& s) { s.bind_blob(1, uid); }));
    }
  }
  return Status::ok();
}

Result<NotificationPage> NotificationsView::feed(Db& db, const NotificationReader& reader,
                                                 const NotificationQuery& q) {
  NotificationPage page;
  // Unread ones lie above the mark: the range keeps the scan there.
  const std::string unread = " AND n.position > ?6 AND NOT " + kRead;
  const std::string where = (q.before ? " AND n.position < ?7" : "") + (q.unread_only ? unread : std::string());
  const std::string sql =
      "SELECT * FROM (" + mine(kColumns, where, " ORDER BY n.position DESC LIMIT ?8") + ") ORDER BY position DESC LIMIT ?8";
  auto s = db.prepare(sql);
  if (!s) return s.status();
  auto bound = bind_reader(db, **s, reader);
  if (!bound) return bound.status();
  if (!*bound) return page;
  if (q.before) (*s)->bind_int(7, static_cast<int64_t>(*q.before));
  (*s)->bind_int(8, static_cast<int64_t>(q.limit) + 1);
  auto items = rows(**s, reader);
  if (!items) return items.status();
  page.items = std::move(*items);
  if (page.items.size() > q.limit) {
    page.items.resize(q.limit);
    page.next = page.items.back().position;
  }
  auto c = db.prepare("SELECT COUNT(*) FROM (" + mine("1", unread, "") + ")");
  if (!c) return c.status();
  auto counted = bind_reader(db, **c, reader);
  if (!counted) return counted.status();
  auto row = (*c)->step();
  if (!row) return row.status();
  if (*row) page.unread_count = static_cast<uint64_t>((*c)->column_int(0));
  return page;
}

Result<std::vector<Notification>> NotificationsView::after(Db& db, const NotificationReader& reader,
                                                           uint64_t position, size_t limit) {
  auto s = db.prepare("SELECT * FROM (" + mine(kColumns, " AND n.position > ?7", " ORDER BY n.position LIMIT ?8") +
                      ") ORDER BY position LIMIT ?8");
  if (!s) return s.status();
  auto bound = bind_reader(db, **s, reader);
  if (!bound) return bound.status();
  if (!*bound) return std::vector<Notification>{};
  (*s)->bind_int(7, static_cast<int64_t>(position)).bind_int(8, static_cast<int64_t>(limit));
  return rows(**s, reader);
}

Result<std::set<std::string>> NotificationsView::marked_read(Db& db, const UserId& user,
                                                            const std::vector<std::string>& ids) {
  std::set<std::string> out;
  auto s = db.prepare("SELECT 1 FROM notification_read WHERE user_id = ?1 AND id = ?2");
  if (!s) return s.status();
  for (const std::string& id : ids) {
    (*s)->reset();
    (*s)->bind_blob(1, key_blob(user.bytes())).bind_text(2, id);
    auto row = (*s)->step();
    if (!row) return row.status();
    if (*row) out.insert(id);
  }
  return out;
}

}  // namespace accountable
