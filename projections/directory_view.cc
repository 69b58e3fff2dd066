#include "projections/directory_view.h"

#include <algorithm>
#include <map>

#include "projections/bulk_insert.h"
#include "projections/row_cache.h"
#include "projections/view_codec.h"
#include "schema/stream_names.h"

namespace accountable {

namespace {

constexpr std::string_view kUserColumns =
    "u.user_id, u.partner_id, u.status, u.first_name, u.last_name, u.email, u.phone, u.erased, u.created_at, "
    "u.changed_at, u.deactivated_at, u.must_change_password, u.roles";

DirectoryUser user_from_row(const Statement& s) {
  DirectoryUser u;
  u.user_id = UserId::parse(s.column_text(0)).value();
  u.partner_id = PartnerId::parse(s.column_text(1)).value();
  u.status = enum_from_name<DirectoryStatus>(s.column_text(2)).value_or(DirectoryStatus::kActive);
  u.profile = ContactDetails{s.column_text(3), s.column_text(4), s.column_text(5), s.column_text(6)};
  u.erased = s.column_int(7) != 0;
  u.created_at = s.column_time(8);
  u.changed_at = s.column_time(9);
  if (!s.column_is_null(10)) u.deactivated_at = s.column_time(10);
  u.must_change_password = s.column_int(11) != 0;
  for (const std::string& name : string_list_from_text(s.column_text(12))) {
    if (auto role = enum_from_text<Role>(name)) u.roles.push_back(*role);
  }
  return u;
}

// Roles as stored: names in enum order.
std::string roles_text(const std::vector<Role>& roles) {
  std::vector<std::string> names;
  for (Role r : roles) names.emplace_back(enum_text(r));
  return string_list_text(names);
}

std::vector<Role> roles_of_text(const std::string& text) {
  std::vector<Role> out;
  for (const std::string& name : string_list_from_text(text)) {
    if (auto role = enum_from_text<Role>(name)) out.push_back(*role);
  }
  return out;
}

// Runs a user query.
Result<std::vector<DirectoryUser>> run_users(Statement& users) {
  std::vector<DirectoryUser> out;
  while (true) {
    auto row = users.step();
    if (!row) return row.status();
    if (!*row) break;
    out.push_back(user_from_row(users));
  }
  return out;
}

}  // namespace

std::string_view directory_status_name(DirectoryStatus s) { return enum_text(s); }

std::vector<std::string> DirectoryView::schema() const {
  return {
      // Personal columns are NULL once erased (erased = 1).
      "CREATE TABLE directory_user("
      "user_id TEXT PRIMARY KEY, partner_id TEXT NOT NULL, status TEXT NOT NULL, "
      "first_name TEXT, last_name TEXT, email TEXT, phone TEXT, erased INTEGER NOT NULL, "
      "created_at INTEGER NOT NULL, created_position INTEGER NOT NULL, "
      "changed_at INTEGER NOT NULL, changed_position INTEGER NOT NULL, "
      "deactivated_at INTEGER, must_change_password INTEGER NOT NULL DEFAULT 0, "
      "roles TEXT NOT NULL DEFAULT '[]') WITHOUT ROWID",
  };
}

std::vector<std::string> DirectoryView::indexes() const {
  return {
      "CREATE INDEX directory_user_by_partner ON directory_user(partner_id, created_position)",
      // The retention job's queue (inactive): the deactivated users by date.
      "CREATE INDEX directory_user_inactive ON directory_user(deactivated_at, user_id) WHERE status = 'inactive'",
  };
}

struct DirectoryView::Row {
  std::string partner_id;
  DirectoryStatus status = DirectoryStatus::kActive;
  bool erased = false;
  // NULL (nullopt) when erased.
  std::optional<std::string> first_name, last_name, email, phone;
  int64_t created_at = 0, created_position = 0, changed_at = 0, changed_position = 0;
  std::optional<int64_t> deactivated_at;
  bool must_change_password = false;
  uint32_t roles = 0;  // bit r: Role r held (stored as names in enum order)
  bool dirty = false;
  bool stored = false;  // the table has it: written back with UPDATE, not INSERT

  void set_profile(const PersonalContact& p) {
    erased = p.erased;
    if (p.erased) {
      first_name.reset();
      last_name.reset();
      email.reset();
      phone.reset();
    } else {
      first_name = p.value.first_name;
      last_name = p.value.last_name;
      email = p.value.email;
      phone = p.value.phone;
    }
  }
};

namespace {

constexpr std::string_view kDirectoryRowColumns =
    "user_id, partner_id, status, first_name, last_name, email, phone, erased, created_at, created_position, "
    "changed_at, changed_position, deactivated_at, must_change_password, roles";

uint32_t role_bits(const std::string& text) {
  uint32_t bits = 0;
  for (Role r : roles_of_text(text)) {
    if (static_cast<unsigned>(r) < 32) bits |= uint32_t{1} << static_cast<unsigned>(r);
  }
  return bits;
}

std::string role_bits_text(uint32_t bits) {
  if (bits == 0) return "[]";
  std::vector<Role> roles;
  for (unsigned r = 0; r < 32; ++r) {
    if (bits & (uint32_t{1} << r)) roles.push_back(static_cast<Role>(r));
  }
  return roles_text(roles);
}

// The row outlives the statement's run(): bound without a copy.
void bind_optional(Statement& s, int index, const std::optional<std::string>& v) {
  if (v) {
    s.bind_text_unowned(index, *v);
  } else {
    s.bind_null(index);
  }
}

}  // namespace

// partner_id and created_position never change, and they are what the index holds.
DirectoryView::DirectoryView() = default;
DirectoryView::~DirectoryView() = default;

Status DirectoryView::prepare(Db& db) {
  auto select = db.prepare("SELECT " + std::string(kDirectoryRowColumns) + " FROM directory_user WHERE user_id = ?1");
  if (!select) return select.status();
  auto insert = db.prepare("INSERT INTO directory_user(" + std::string(kDirectoryRowColumns) +
                           ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)");
  if (!insert) return insert.status();
  // partner_id and created_position never change (and the index holds them): an UPDATE leaves them alone.
  auto update = db.prepare(
      "UPDATE directory_user SET status = ?3, first_name = ?4, last_name = ?5, email = ?6, phone = ?7, erased = ?8, "
      "created_at = ?9, changed_at = ?11, changed_position = ?12, deactivated_at = ?13, must_change_password = ?14, "
      "roles = ?15 WHERE user_id = ?1");
  if (!update) return update.status();
  std::string head = "INSERT INTO directory_user(";
  head += kDirectoryRowColumns;
  head += ")";
  auto insert_many = db.prepare(multi_row_insert(head, 15, kRowsPerBulkInsert));
  if (!insert_many) return insert_many.status();
  insert_many_ = std::move(*insert_many);
  select_ = std::move(*select);
  insert_ = std::move(*insert);
  update_ = std::move(*update);
  return Status::ok();
}

Result<DirectoryView::Row*> DirectoryView::find(std::string_view user) {
  return find_cached_or_stored(rows_, *select_, user, [](const Statement& s) {
    auto row = std::make_unique<Row>();
    row->stored = true;
    row->partner_id = s.column_text(1);
    row->status = enum_from_name<DirectoryStatus>(s.column_text(2)).value_or(DirectoryStatus::kActive);
    row->first_name = s.column_optional_text(3);
    row->last_name = s.column_optional_text(4);
    row->email = s.column_optional_text(5);
    row->phone = s.column_optional_text(6);
    row->erased = s.column_int(7) != 0;
    row->created_at = s.column_int(8);
    row->created_position = s.column_int(9);
    row->changed_at = s.column_int(10);
    row->changed_position = s.column_int(11);
    if (!s.column_is_null(12)) row->deactivated_at = s.column_int(12);
    row->must_change_password = s.column_int(13) != 0;
    row->roles = role_bits(s.column_text(14));
    return row;
  });
}

DirectoryView::Row& DirectoryView::insert(std::string_view user) {
  auto row = std::make_unique<Row>();
  row->dirty = true;
  Row& out = *row;
  auto it = rows_.find(user);
  if (it == rows_.end()) it = rows_.emplace(std::string(user), nullptr).first;
  out.stored = it->second && it->second->stored;  // replacing a stored row: still an UPDATE
  it->second = std::move(row);
  return out;
}

Status DirectoryView::flush() {
  using Dirty = std::pair<const std::string*, const Row*>;
  std::vector<Dirty> dirty;
  dirty.reserve(rows_.size());
  for (const auto& [key, row] : rows_) {
    if (row && row->dirty) dirty.emplace_back(&key, row.get());
  }
  std::sort(dirty.begin(), dirty.end(), [](const auto& a, const auto& b) { return *a.first < *b.first; });
  // New rows first (a build's are all new), several to an INSERT; then the updates. Each in key order.
  auto updates = std::stable_partition(dirty.begin(), dirty.end(), [](const Dirty& d) { return !d.second->stored; });
  // Binds the row's columns of kDirectoryRowColumns from parameter p on (p + 1 and p + 9 only for an INSERT).
  auto bind = [](Statement& s, int p, const Dirty& d) {
    const auto& [key, row] = d;
    s.bind_text_unowned(p, *key);
    if (!row->stored) s.bind_text_unowned(p + 1, row->partner_id).bind_int(p + 9, row->created_position);
    s.bind_text_unowned(p + 2, directory_status_name(row->status));
    bind_optional(s, p + 3, row->first_name);
    bind_optional(s, p + 4, row->last_name);
    bind_optional(s, p + 5, row->email);
    bind_optional(s, p + 6, row->phone);
    s.bind_int(p + 7, row->erased ? 1 : 0)
        .bind_int(p + 8, row->created_at)
        .bind_int(p + 10, row->changed_at)
        .bind_int(p + 11, row->changed_position);
    if (row->deactivated_at) {
      s.bind_int(p + 12, *row->deactivated_at);
    } else {
      s.bind_null(p + 12);
    }
    s.bind_int(p + 13, row->must_change_password ? 1 : 0).bind_text(p + 14, role_bits_text(row->roles));
  };
  ACCT_RETURN_IF_ERROR(insert_rows(*insert_many_, *insert_, 15, dirty.begin(), updates, bind));
  for (auto it = updates; it != dirty.end(); ++it) {
    bind(*update_, 1, *it);
    ACCT_RETURN_IF_ERROR(update_->run());
  }
  rows_.clear();
  return Status::ok();
}

Status DirectoryView::begin_build() {
  whole_build_ = true;
  return Status::ok();
}

Status DirectoryView::begin_batch() {
  if (!whole_build_) rows_.clear();
  return Status::ok();
}

Status DirectoryView::finish_batch() {
  // A build keeps every user in memory and writes each once, in key order, at its end.
  if (whole_build_ && rows_.size() < build_max_held_rows_) return Status::ok();
  return flush();
}

Status DirectoryView::finish_build() { return flush(); }

Status DirectoryView::apply(const ViewEvent& event) {
  const RecordedEvent& r = event.record();
  auto user_text = uuid_after(r.stream, kUserStreamPrefix);
  if (!user_text) return Status::ok();
  const std::string_view user = *user_text;  // no copy: most events only look their user up
  const auto position = static_cast<int64_t>(r.position.value());
  auto decoded = event.decoded();
  if (!decoded) return decoded.status();
  const DomainEvent* e = *decoded;

  if (e != nullptr) {
    if (const auto* created = std::get_if<UserCreated>(e)) {
      Row& row = insert(user);
      row.partner_id = created->partner_id.to_string();
      row.status = DirectoryStatus::kActive;
      row.created_at = r.recorded_at.micros;
      row.created_position = position;
      row.changed_at = r.recorded_at.micros;
      row.changed_position = position;
      row.set_profile(created->profile);
      return Status::ok();
    }
  }
  auto found = find(user);
  if (!found) return found.status();
  Row* row = *found;
  if (row == nullptr) return Status::ok();  // events of a user the view never saw created
  // Any event of the user's stream is a change of the user.
  row->dirty = true;
  row->changed_at = r.recorded_at.micros;
  row->changed_position = position;
  if (e == nullptr) return Status::ok();

  auto bit = [](Role role) {
    return static_cast<unsigned>(role) < 32 ? uint32_t{1} << static_cast<unsigned>(role) : uint32_t{0};
  };
  if (const auto* updated = std::get_if<UserProfileUpdated>(e)) {
    row->set_profile(updated->profile);
  } else if (const auto* assigned = std::get_if<RoleAssigned>(e)) {
    row->roles |= bit(assigned->role);
  } else if (const auto* removed = std::get_if<RoleRemoved>(e)) {
    row->roles &= ~bit(removed->role);
  } else if (const auto* password = std::get_if<PasswordSet>(e)) {
    row->must_change_password = password->must_change_at_next_sign_in;
  } else if (const auto* deactivated = std::get_if<UserDeactivated>(e)) {
    row->status = DirectoryStatus::kInactive;
    row->deactivated_at = deactivated->at.micros;
  } else if (std::holds_alternative<UserRestored>(*e)) {
    row->status = DirectoryStatus::kActive;
    row->deactivated_at.reset();
  } else if (std::holds_alternative<UserPurged>(*e)) {
    row->status = DirectoryStatus::kPurged;
    row->set_profile(PersonalContact{"", {}, true});
    row->roles = 0;
  }
  return Status::ok();
}

Result<std::vector<DirectoryUser>> DirectoryView::users(Db& db, const PartnerId& partner,
                                                        std::optional<DirectoryStatus> status) {
  auto s = db.prepare("SELECT " + std::string(kUserColumns) +
                      " FROM directory_user u WHERE u.partner_id = ?1 AND (?2 IS NULL OR u.status = ?2)"
                      " ORDER BY u.created_position");
  if (!s) return s.status();
  (*s)->bind_text(1, partner.to_string());
  if (status) (*s)->bind_text(2, directory_status_name(*status));
  return run_users(**s);
}

Result<std::vector<DirectoryUser>> DirectoryView::holders(Db& db, const PartnerId& partner, Role role) {
  auto all = users(db, partner, std::nullopt);
  if (!all) return all.status();
  std::vector<DirectoryUser> out;
  for (DirectoryUser& u : *all) {
    if (std::find(u.roles.begin(), u.roles.end(), role) != u.roles.end()) out.push_back(std::move(u));
  }
  return out;
}

Result<std::vector<InactiveUser>> DirectoryView::inactive(Db& db, size_t limit) {
  auto s = db.prepare(
      "SELECT partner_id, user_id, deactivated_at FROM directory_user WHERE status = 'inactive' "
      "ORDER BY deactivated_at, user_id LIMIT ?1");
  if (!s) return s.status();
  (*s)->bind_int(1, static_cast<int64_t>(std::min<size_t>(limit, 1'000'000'000)));
  std::vector<InactiveUser> out;
  while (true) {
    auto row = (*s)->step();
    if (!row) return row.status();
    if (!*row) break;
    auto partner = PartnerId::parse((*s)->column_text(0));
    auto user = UserId::parse((*s)->column_text(1));
    if (!partner || !user) return Status(StatusCode::kCorruption, "directory_user: a stored id is not a UUID");
    out.push_back(InactiveUser{*partner, *user, (*s)->column_time(2)});
  }
  return out;
}

Result<DirectoryUser> DirectoryView::user(Db& db, const PartnerId& partner, const UserId& user) {
  auto s = db.prepare("SELECT " + std::string(kUserColumns) +
                      " FROM directory_user u WHERE u.partner_id = ?1 AND u.user_id = ?2");
  if (!s) return s.status();
  (*s)->bind_text(1, partner.to_string()).bind_text(2, user.to_string());
  auto found = run_users(**s);
  if (!found) return found.status();
  if (found->empty()) {
    return not_found("no user " + user.to_string() + " in partner " + partner.to_string(), "user_id");
  }
  return std::move(found->front());
}

}  // namespace accountable
