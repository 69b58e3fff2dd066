// TEST ONLY. A data folder in a fresh temporary directory with the real
// pieces the CLI wires together: the event log, the key store and its
// cipher, the Engine (on a FixedClock), and the views over them.
// Setup failures throw, which GoogleTest reports as a failed test.
#pragma once

#include <stdlib.h>

#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "aggregates/engine.h"
#include "aggregates/key_store.h"
#include "aggregates/testing/fixtures.h"
#include "events/sha256.h"
#include "projections/view_queries.h"
#include "projections/view_set.h"

namespace accountable::testing {

// A directory under $TMPDIR (or /tmp), removed with everything in it.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "acct-views-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

template <class T>
T must_value(Result<T> r, const char* what) {
  if (!r) throw std::runtime_error(std::string(what) + ": " + r.status().to_string());
  return std::move(r).value();
}

class ViewWorld {
 public:
  explicit ViewWorld(Timestamp start) : clock(start) { open_log(); }
  ~ViewWorld() { close_log(); }

  // Closes and reopens the log, key store and engine (a process restart).
  // The views must be closed first: they hold the log.
  void restart() {
    close_log();
    open_log();
  }

  std::unique_ptr<ViewSet> open_views(ViewSetOptions options = {}) {
    return must_value(ViewSet::open(dir.path(), *log, cipher.get(), std::move(options)), "open views");
  }

  Result<CommandOutcome> execute(const Principal& actor, Command command) {
    CommandRequest r;
    r.id = CommandId::random();
    const Hash256 digest = sha256(r.id.to_string());
    std::copy_n(digest.begin(), r.digest.size(), r.digest.begin());
    r.command = std::move(command);
    r.correlation_id = CorrelationId(r.id.bytes());
    r.causation_id = CausationId(r.id.bytes());
    auto out = engine->execute(actor, r);
    // After a committed purge, what the command pipeline does (app/command_effects.cc).
    if (const auto* purge = std::get_if<PurgeUser>(&r.command); out && purge != nullptr) {
      if (Status s = forget_user(*engine, *cipher, purge->user_id); !s.is_ok()) return s;
    }
    return out;
  }

  CommandOutcome must_execute(const Principal& actor, Command command, const char* what) {
    return must_value(execute(actor, std::move(command)), what);
  }

  Enrolled enroll(EnrollPartner c = enroll_command()) {
    CommandOutcome out = must_execute(op(), std::move(c), "enroll");
    return {PartnerId(out.created_ids.at(0).bytes()), UserId(out.created_ids.at(1).bytes())};
  }

  UserId create_user(const Principal& actor, const PartnerId& partner, std::string email, std::vector<Role> roles,
                     std::string first = "Sam", std::string last = "User") {
    CommandOutcome out = must_execute(
        actor, CreateUser{partner, contact(std::move(first), std::move(last), std::move(email)), std::move(roles)},
        "create user");
    return UserId(out.created_ids.at(0).bytes());
  }

  // The principal of a partner user as a handler builds it: roles from its stream.
  Principal user(const UserId& id) const {
    return principal_of(must_value(engine->load<UserState>(user_stream(id)), "load user"));
  }

  TempDir dir;
  FixedClock clock;
  std::unique_ptr<EventLog> log;
  std::unique_ptr<KeyStore> keys;
  std::unique_ptr<KeyStoreCipher> cipher;
  std::unique_ptr<Engine> engine;

 private:
  void open_log() {
    LogOptions options;
    options.data_dir = dir.path();
    log = must_value(EventLog::open(options), "open log");
    keys = must_value(KeyStore::open(posix_env(), dir.path()), "open key store");
    cipher = std::make_unique<KeyStoreCipher>(*keys);
    EngineOptions eo;
    eo.clock = &clock;
    eo.cipher = cipher.get();
    eo.fingerprint = [k = keys.get()](const PartnerId& partner, std::string_view email) {
      return k->email_fingerprint_bytes(partner, email);
    };
    engine = std::make_unique<Engine>(*log, eo);
  }
  void close_log() {
    engine.reset();
    cipher.reset();
    keys.reset();
    if (log) log->close().ignore();
    log.reset();
  }
};

}  // namespace accountable::testing
