#include "projections/view_file.h"

#include <chrono>

#include "events/env.h"

namespace accountable {

namespace {

constexpr std::string_view kMetaSchema =
    "CREATE TABLE view_meta("
    "name TEXT PRIMARY KEY, "
    "version INTEGER NOT NULL, "
    "position INTEGER NOT NULL, "
    "head_hash_hex TEXT NOT NULL, "
    "built_at TEXT NOT NULL)";

Status expect_pragma(Db& db, std::string_view pragma, std::string_view expected) {
  auto got = db.query_text(pragma);
  if (!got) return got.status();
  if (*got != expected) {
    return Status(StatusCode::kInternal,
                  db.path() + ": \"" + std::string(pragma) + "\" gave \"" + *got + "\", wanted \"" + std::string(expected) + "\"");
  }
  return Status::ok();
}

Result<ViewMeta> load_meta(Db& db) {
  auto has = db.query_int("SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = 'view_meta'");
  if (!has) return has.status();
  if (*has == 0) return not_found(db.path() + ": not a view file (no view_meta table)");
  auto stmt = db.prepare("SELECT name, version, position, head_hash_hex, built_at FROM view_meta");
  if (!stmt) return stmt.status();
  auto row = (*stmt)->step();
  if (!row) return row.status();
  if (!*row) return not_found(db.path() + ": view_meta is empty");
  ViewMeta meta;
  meta.name = (*stmt)->column_text(0);
  meta.version = static_cast<int>((*stmt)->column_int(1));
  meta.position = GlobalPosition(static_cast<uint64_t>((*stmt)->column_int(2)));
  meta.head_hash_hex = (*stmt)->column_text(3);
  meta.built_at = (*stmt)->column_text(4);
  return meta;
}

}  // namespace

ViewFile::ViewFile(std::string path, std::unique_ptr<Db> db, std::unique_ptr<Projection> projection, ViewMeta meta)
    : path_(std::move(path)), db_(std::move(db)), projection_(std::move(projection)), meta_(std::move(meta)) {}

ViewFile::~ViewFile() {
  // Statements first, then the projection's, then the connection.
  save_checkpoint_.reset();
  begin_.reset();
  commit_.reset();
  rollback_.reset();
  projection_.reset();
  db_.reset();
}

Result<ViewMeta> ViewFile::read_meta(const std::string& path) {
  auto db = Db::open(path, DbMode::kReadWrite);
  if (!db) return db.status();
  return load_meta(**db);
}

Status ViewFile::prepare() {
  auto save = db_->prepare("UPDATE view_meta SET position = ?1, head_hash_hex = ?2");
  if (!save) return save.status();
  save_checkpoint_ = std::move(*save);
  // A live file takes the write lock up front so a commit never meets a reader's upgrade.
  auto begin = db_->prepare(building_ ? "BEGIN" : "BEGIN IMMEDIATE");
  auto commit = db_->prepare("COMMIT");
  auto rollback = db_->prepare("ROLLBACK");
  for (const auto* s : {&begin, &commit, &rollback}) {
    if (!*s) return s->status();
  }
  begin_ = std::move(*begin);
  commit_ = std::move(*commit);
  rollback_ = std::move(*rollback);
  return projection_->prepare(*db_);
}

Result<std::unique_ptr<ViewFile>> ViewFile::open_live(const std::string& path, const ProjectionDefinition& definition) {
  auto db = Db::open(path, DbMode::kReadWrite);
  if (!db) return db.status();
  ACCT_RETURN_IF_ERROR(expect_pragma(**db, "PRAGMA journal_mode = WAL", "wal"));
  // 2 MiB of page cache per live file (docs/memory.md): the live apply touches
  // a few pages per event; a miss is a read from the OS's page cache. At 8 MiB
  // the five files' caches filled over hours and held 40 MiB.
  ACCT_RETURN_IF_ERROR((*db)->exec("PRAGMA synchronous = NORMAL; PRAGMA secure_delete = ON; "
                                   "PRAGMA cache_size = -2048; PRAGMA temp_store = MEMORY"));
  auto meta = load_meta(**db);
  if (!meta) return meta.status();
  if (meta->name != definition.name || meta->version != definition.version) {
    return Status(StatusCode::kConflict, path + ": holds view " + meta->name + " version " +
                                             std::to_string(meta->version) + ", this build has " + definition.name +
                                             " version " + std::to_string(definition.version));
  }
  std::unique_ptr<ViewFile> file(new ViewFile(path, std::move(*db), definition.make(), std::move(*meta)));
  ACCT_RETURN_IF_ERROR(file->prepare());
  return file;
}

Result<std::unique_ptr<ViewFile>> ViewFile::create_for_build(const std::string& path,
                                                             const ProjectionDefinition& definition,
                                                             Timestamp built_at, size_t max_held_rows) {
  auto db = Db::open(path, DbMode::kReadWrite);
  if (!db) return db.status();
  // Nothing reads this file until it is sealed and renamed, and a crash throws
  // it away: no journal, no fsync, one big cache.
  ACCT_RETURN_IF_ERROR(expect_pragma(**db, "PRAGMA journal_mode = OFF", "off"));
  // The cache is a ceiling, allocated as pages are used: a view whose B-trees
  // fit in it is built without rereading pages (keys such as user ids are random).
  ACCT_RETURN_IF_ERROR((*db)->exec("PRAGMA synchronous = OFF; PRAGMA secure_delete = ON; "
                                   "PRAGMA locking_mode = EXCLUSIVE; PRAGMA cache_size = -262144; "
                                   "PRAGMA temp_store = MEMORY"));
  std::unique_ptr<Projection> projection = definition.make();
  ACCT_RETURN_IF_ERROR((*db)->exec("BEGIN"));
  ACCT_RETURN_IF_ERROR((*db)->exec(kMetaSchema));
  for (const std::string& ddl : projection->schema()) ACCT_RETURN_IF_ERROR((*db)->exec(ddl));
  {
    auto insert = (*db)->prepare(
        "INSERT INTO view_meta(name, version, position, head_hash_hex, built_at) VALUES (?1, ?2, 0, '', ?3)");
    if (!insert) return insert.status();
    (*insert)->bind_text(1, definition.name).bind_int(2, definition.version).bind_text(3, format_timestamp(built_at));
    ACCT_RETURN_IF_ERROR((*insert)->run());
  }
  ACCT_RETURN_IF_ERROR((*db)->exec("COMMIT"));
  ViewMeta meta{definition.name, definition.version, GlobalPosition(0), "", format_timestamp(built_at)};
  std::unique_ptr<ViewFile> file(new ViewFile(path, std::move(*db), std::move(projection), std::move(meta)));
  file->building_ = true;
  ACCT_RETURN_IF_ERROR(file->prepare());
  file->projection_->set_build_max_held_rows(max_held_rows);
  ACCT_RETURN_IF_ERROR(file->projection_->begin_build());
  return file;
}

Result<uint64_t> ViewFile::apply(const std::vector<ViewEvent>& batch) {
  const auto started = std::chrono::steady_clock::now();
  auto result = apply_batch(batch);
  last_apply_seconds_ = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return result;
}

Result<uint64_t> ViewFile::apply_batch(const std::vector<ViewEvent>& batch) {
  if (!db_) return Status(StatusCode::kInternal, path_ + ": the file is closed");
  size_t first = 0;
  while (first < batch.size() && batch[first].record().position <= meta_.position) ++first;
  if (first == batch.size()) return uint64_t{0};

  // A live file commits each batch; a building file is one transaction from
  // its first batch to seal() (a failed build is deleted, never resumed).
  if (!in_transaction_) {
    ACCT_RETURN_IF_ERROR(begin_->run());
    in_transaction_ = true;
  }
  auto abort = [this](Status why) {
    rollback_->run().ignore();  // the transaction's changes and checkpoint go together
    in_transaction_ = false;
    projection_->abort_batch();
    return why;
  };
  if (Status begun = projection_->begin_batch(); !begun.is_ok()) return abort(begun);
  for (size_t i = first; i < batch.size(); ++i) {
    Status applied = projection_->apply(batch[i]);
    if (!applied.is_ok()) {
      return abort(Status(applied.code(), "view " + meta_.name + ", event at position " +
                                              std::to_string(batch[i].record().position.value()) + " (" +
                                              std::string(batch[i].record().type) + "): " + applied.message(),
                          applied.field()));
    }
  }
  if (Status finished = projection_->finish_batch(); !finished.is_ok()) {
    return abort(Status(finished.code(), "view " + meta_.name + ", end of batch: " + finished.message()));
  }
  const RecordedEvent& last = batch.back().record();
  save_checkpoint_->bind_int(1, static_cast<int64_t>(last.position.value()))
      .bind_text(2, hex_encode(last.hash.data(), last.hash.size()));
  if (Status saved = save_checkpoint_->run(); !saved.is_ok()) return abort(saved);
  if (!building_) {
    if (Status committed = commit_->run(); !committed.is_ok()) return abort(committed);
    in_transaction_ = false;
  }
  meta_.position = last.position;
  meta_.head_hash_hex = hex_encode(last.hash.data(), last.hash.size());
  return static_cast<uint64_t>(batch.size() - first);
}

void ViewFile::truncate_wal() {
  if (!db_ || building_) return;
  // Do not wait for readers: the runner must not stall on a slow query.
  sqlite3_busy_timeout(db_->handle(), 0);
  db_->exec("PRAGMA wal_checkpoint(TRUNCATE)").ignore();
  sqlite3_busy_timeout(db_->handle(), 5000);
}

Status ViewFile::seal() {
  if (!db_) return Status(StatusCode::kInternal, path_ + ": the file is closed");
  if (building_) {
    // The build's transaction ends here: what the projection kept in memory,
    // the checkpoint, the secondary indexes, then COMMIT, all together.
    if (!in_transaction_) {
      ACCT_RETURN_IF_ERROR(begin_->run());
      in_transaction_ = true;
    }
    ACCT_RETURN_IF_ERROR(projection_->finish_build());
    save_checkpoint_->bind_int(1, static_cast<int64_t>(meta_.position.value())).bind_text(2, meta_.head_hash_hex);
    ACCT_RETURN_IF_ERROR(save_checkpoint_->run());
    for (const std::string& ddl : projection_->indexes()) ACCT_RETURN_IF_ERROR(db_->exec(ddl));
    ACCT_RETURN_IF_ERROR(commit_->run());
    in_transaction_ = false;
  }
  ACCT_RETURN_IF_ERROR(expect_pragma(*db_, "PRAGMA journal_mode = DELETE", "delete"));
  save_checkpoint_.reset();
  begin_.reset();
  commit_.reset();
  rollback_.reset();
  projection_.reset();
  db_.reset();
  // SQLite wrote without fsync (synchronous=OFF): make every byte durable
  // before the file's new name is.
  auto file = posix_env()->reopen_writable_file(path_);
  if (!file) return file.status();
  ACCT_RETURN_IF_ERROR((*file)->sync());
  return (*file)->close();
}

}  // namespace accountable
