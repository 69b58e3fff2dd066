// A test engine over the real log on the in-memory fault-injecting Env, with
// the real key store sealing personal data, and Contoso enrolled. Shared by
// the personal-data, snapshot-adjacent and state-cache tests.
#pragma once

#include <memory>

#include "aggregates/engine.h"
#include "aggregates/key_store.h"
#include "aggregates/testing/fixtures.h"
#include "testing/fault_env.h"

namespace accountable::testing {

struct SealedEngine {
  FaultInjectionEnv env;
  FixedClock clock{at("2026-03-02T12:00:00Z")};
  std::unique_ptr<EventLog> log;
  std::unique_ptr<KeyStore> keys;
  std::unique_ptr<KeyStoreCipher> cipher;
  std::unique_ptr<SnapshotStore> snapshots;  // only when asked for
  std::unique_ptr<Engine> engine;
  PartnerId partner;
  UserId admin;

  // snapshot_every 0: no snapshot store.
  explicit SealedEngine(uint64_t snapshot_every = 0) {
    LogOptions options;
    options.data_dir = "/data";
    options.env = &env;
    log = std::move(EventLog::open(options).value());
    keys = std::move(KeyStore::open(&env, "/data").value());
    cipher = std::make_unique<KeyStoreCipher>(*keys);
    if (snapshot_every > 0) snapshots = std::move(SnapshotStore::open(&env, "/data").value());
    engine = make_engine(snapshot_every);
    auto enrolled = run(*engine, op(), enroll_command());
    partner = PartnerId(enrolled.value().created_ids.at(0).bytes());
    admin = UserId(enrolled.value().created_ids.at(1).bytes());
  }

  // Another engine over the same log and keys (its own state cache).
  std::unique_ptr<Engine> make_engine(uint64_t snapshot_every = 0) {
    EngineOptions eo;
    eo.clock = &clock;
    eo.fingerprint = [this](const PartnerId& p, std::string_view email) { return keys->email_fingerprint_bytes(p, email); };
    eo.cipher = cipher.get();
    eo.snapshots = snapshots.get();
    eo.snapshot_every = snapshot_every;
    return std::make_unique<Engine>(*log, eo);
  }

  Result<CommandOutcome> run(Engine& e, const Principal& actor, Command command, CommandId id = CommandId::random()) {
    CommandRequest r;
    r.id = id;
    r.digest[0] = 1;
    r.command = std::move(command);
    auto out = e.execute(actor, r);
    // After a committed purge, what the command pipeline does (app/command_effects.cc).
    if (const auto* purge = std::get_if<PurgeUser>(&r.command); out && purge != nullptr) {
      if (Status s = forget_user(e, *cipher, purge->user_id); !s.is_ok()) return s;
    }
    return out;
  }
  Result<CommandOutcome> run(const Principal& actor, Command command, CommandId id = CommandId::random()) {
    return run(*engine, actor, std::move(command), id);
  }
  Principal as_admin() const { return PartnerUser{partner, admin, {}, true}; }
};

}  // namespace accountable::testing
