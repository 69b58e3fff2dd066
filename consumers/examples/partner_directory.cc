#include "consumers/examples/partner_directory.h"

#include <boost/json.hpp>
#include <vector>

namespace accountable::examples {

namespace json = boost::json;

namespace {

// A prepared statement that finalizes itself.
class Stmt {
 public:
  Stmt(sqlite3* db, const char* sql) : db_(db) { rc_ = sqlite3_prepare_v2(db, sql, -1, &st_, nullptr); }
  ~Stmt() { sqlite3_finalize(st_); }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;
  Status prepared() const {
    return rc_ == SQLITE_OK ? Status::ok() : io_error(std::string("sqlite prepare: ") + sqlite3_errmsg(db_));
  }
  Stmt& text(int i, std::string_view v) {
    sqlite3_bind_text(st_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Stmt& integer(int i, int64_t v) {
    sqlite3_bind_int64(st_, i, v);
    return *this;
  }
  // Runs to completion (statements without rows).
  Status run() {
    const int rc = sqlite3_step(st_);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW) return io_error(std::string("sqlite: ") + sqlite3_errmsg(db_));
    return Status::ok();
  }
  bool row() { return sqlite3_step(st_) == SQLITE_ROW; }
  int64_t col_int(int i) { return sqlite3_column_int64(st_, i); }
  std::string col_text(int i) {
    const auto* p = sqlite3_column_text(st_, i);
    return p ? std::string(reinterpret_cast<const char*>(p)) : std::string();
  }

 private:
  sqlite3* db_;
  sqlite3_stmt* st_ = nullptr;
  int rc_;
};

std::string str_at(const json::object& o, std::initializer_list<const char*> path) {
  const json::object* cur = &o;
  const json::value* v = nullptr;
  for (const char* key : path) {
    if (cur == nullptr) return {};
    v = cur->if_contains(key);
    if (v == nullptr) return {};
    cur = v->if_object();
  }
  if (v == nullptr || !v->is_string()) return {};
  return std::string(v->get_string().data(), v->get_string().size());
}

}  // namespace

Result<std::unique_ptr<PartnerDirectory>> PartnerDirectory::open(const std::string& db_path) {
  sqlite3* db = nullptr;
  if (sqlite3_open(db_path.c_str(), &db) != SQLITE_OK) {
    std::string why = db ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close(db);
    return io_error("opening " + db_path + ": " + why);
  }
  std::unique_ptr<PartnerDirectory> d(new PartnerDirectory(db));
  ACCT_RETURN_IF_ERROR(d->exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"));
  ACCT_RETURN_IF_ERROR(d->exec(
      "CREATE TABLE IF NOT EXISTS partners ("
      " partner_id TEXT PRIMARY KEY, name TEXT NOT NULL, mpn_id TEXT NOT NULL, company TEXT NOT NULL,"
      " country TEXT NOT NULL, currency TEXT NOT NULL, vetting_status TEXT NOT NULL DEFAULT 'none',"
      " suspended INTEGER NOT NULL DEFAULT 0, users INTEGER NOT NULL DEFAULT 0,"
      " locations INTEGER NOT NULL DEFAULT 0, pinned_offers INTEGER NOT NULL DEFAULT 0,"
      " updated_position INTEGER NOT NULL);"
      "CREATE TABLE IF NOT EXISTS stream_versions (stream TEXT PRIMARY KEY, version INTEGER NOT NULL,"
      " position INTEGER NOT NULL);"));
  return d;
}

PartnerDirectory::~PartnerDirectory() { sqlite3_close(db_); }

Status PartnerDirectory::exec(const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string why = err ? err : "unknown error";
    sqlite3_free(err);
    return io_error(std::string("sqlite: ") + why);
  }
  return Status::ok();
}

Status PartnerDirectory::apply(const ConsumedEvent& e) {
  ACCT_RETURN_IF_ERROR(exec("BEGIN IMMEDIATE"));
  Status s = apply_locked(e);
  if (!s.is_ok()) {
    exec("ROLLBACK").ignore();
    return s;
  }
  ACCT_RETURN_IF_ERROR(exec("COMMIT"));
  ++applied_;
  return Status::ok();
}

Status PartnerDirectory::apply_locked(const ConsumedEvent& e) {
  const int64_t pos = static_cast<int64_t>(e.position.value());
  // Only partner streams change the directory; every stream's version is kept.
  if (e.stream.rfind("partner-", 0) == 0 && !e.partner.empty()) {
    const json::object& d = e.data;
    auto bump = [&](const char* column, int delta) {
      std::string sql = std::string("UPDATE partners SET ") + column + " = max(0, " + column +
                        " + ?1), updated_position = ?2 WHERE partner_id = ?3";
      Stmt st(db_, sql.c_str());
      ACCT_RETURN_IF_ERROR(st.prepared());
      return st.integer(1, delta).integer(2, pos).text(3, e.partner).run();
    };
    auto set_text = [&](const char* column, const std::string& value) {
      std::string sql = std::string("UPDATE partners SET ") + column +
                        " = ?1, updated_position = ?2 WHERE partner_id = ?3";
      Stmt st(db_, sql.c_str());
      ACCT_RETURN_IF_ERROR(st.prepared());
      return st.text(1, value).integer(2, pos).text(3, e.partner).run();
    };
    if (e.type == "PartnerEnrolled") {
      Stmt st(db_,
              "INSERT INTO partners (partner_id, name, mpn_id, company, country, currency, updated_position)"
              " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT(partner_id) DO UPDATE SET name = excluded.name,"
              " mpn_id = excluded.mpn_id, company = excluded.company, country = excluded.country,"
              " currency = excluded.currency, updated_position = excluded.updated_position");
      ACCT_RETURN_IF_ERROR(st.prepared());
      ACCT_RETURN_IF_ERROR(st.text(1, e.partner)
                               .text(2, str_at(d, {"partner_name"}))
                               .text(3, str_at(d, {"mpn_id"}))
                               .text(4, str_at(d, {"legal", "company_name"}))
                               .text(5, str_at(d, {"legal", "address", "country"}))
                               .text(6, str_at(d, {"billing_currency"}))
                               .integer(7, pos)
                               .run());
    } else if (e.type == "LegalProfileUpdated") {
      ACCT_RETURN_IF_ERROR(set_text("company", str_at(d, {"legal", "company_name"})));
    } else if (e.type == "VettingStatusChanged") {
      ACCT_RETURN_IF_ERROR(set_text("vetting_status", str_at(d, {"status"})));
    } else if (e.type == "PartnerSuspended" || e.type == "PartnerReinstated") {
      Stmt st(db_, "UPDATE partners SET suspended = ?1, updated_position = ?2 WHERE partner_id = ?3");
      ACCT_RETURN_IF_ERROR(st.prepared());
      ACCT_RETURN_IF_ERROR(st.integer(1, e.type == "PartnerSuspended" ? 1 : 0).integer(2, pos).text(3, e.partner).run());
    } else if (e.type == "PartnerUserAdded") {
      ACCT_RETURN_IF_ERROR(bump("users", 1));
    } else if (e.type == "PartnerUserRemoved") {
      ACCT_RETURN_IF_ERROR(bump("users", -1));
    } else if (e.type == "LocationAdded") {
      ACCT_RETURN_IF_ERROR(bump("locations", 1));
    } else if (e.type == "LocationRemoved") {
      ACCT_RETURN_IF_ERROR(bump("locations", -1));
    } else if (e.type == "OfferPinned") {
      ACCT_RETURN_IF_ERROR(bump("pinned_offers", 1));
    } else if (e.type == "OfferUnpinned") {
      ACCT_RETURN_IF_ERROR(bump("pinned_offers", -1));
    }
  }
  Stmt v(db_,
         "INSERT INTO stream_versions (stream, version, position) VALUES (?1, ?2, ?3)"
         " ON CONFLICT(stream) DO UPDATE SET version = excluded.version, position = excluded.position");
  ACCT_RETURN_IF_ERROR(v.prepared());
  return v.text(1, e.stream).integer(2, static_cast<int64_t>(e.version.value())).integer(3, pos).run();
}

Result<uint64_t> PartnerDirectory::last_version(std::string_view stream) {
  Stmt st(db_, "SELECT version FROM stream_versions WHERE stream = ?1");
  ACCT_RETURN_IF_ERROR(st.prepared());
  st.text(1, stream);
  return st.row() ? static_cast<uint64_t>(st.col_int(0)) : uint64_t{0};
}

Status PartnerDirectory::remember(std::string_view, uint64_t) { return Status::ok(); }

Result<std::optional<DirectoryPartner>> PartnerDirectory::find(const std::string& partner_id) {
  Stmt st(db_,
          "SELECT partner_id, name, mpn_id, company, country, currency, vetting_status, suspended, users, locations,"
          " pinned_offers, updated_position FROM partners WHERE partner_id = ?1");
  ACCT_RETURN_IF_ERROR(st.prepared());
  st.text(1, partner_id);
  if (!st.row()) return std::optional<DirectoryPartner>();
  DirectoryPartner p;
  p.partner_id = st.col_text(0);
  p.name = st.col_text(1);
  p.mpn_id = st.col_text(2);
  p.company = st.col_text(3);
  p.country = st.col_text(4);
  p.currency = st.col_text(5);
  p.vetting_status = st.col_text(6);
  p.suspended = st.col_int(7) != 0;
  p.users = st.col_int(8);
  p.locations = st.col_int(9);
  p.pinned_offers = st.col_int(10);
  p.updated_position = static_cast<uint64_t>(st.col_int(11));
  return std::optional<DirectoryPartner>(std::move(p));
}

Result<uint64_t> PartnerDirectory::partner_count() {
  Stmt st(db_, "SELECT count(*) FROM partners");
  ACCT_RETURN_IF_ERROR(st.prepared());
  return st.row() ? static_cast<uint64_t>(st.col_int(0)) : uint64_t{0};
}

Result<uint64_t> PartnerDirectory::last_position() {
  Stmt st(db_, "SELECT coalesce(max(position), 0) FROM stream_versions");
  ACCT_RETURN_IF_ERROR(st.prepared());
  return st.row() ? static_cast<uint64_t>(st.col_int(0)) : uint64_t{0};
}

}  // namespace accountable::examples
