// Engine: the one entry point that runs a command against the durable log,
// shared by the CLI, the server and the tests.
//
//   execute(actor, request):
//     a command id already in the log  -> its first result (nothing appended)
//     load the states it reads (full replay of their streams)
//     decide(state, command, context)  -> events | error (nothing appended)
//     append all writes atomically, each expecting the version it was decided on
//     a version conflict               -> load and decide again, at most max_attempts times
//
// Loads start from the stream's snapshot when there is a usable one
// (aggregates/snapshot_store.h). Personal data is sealed per data subject with
// the cipher (schema/personal_data.h). The engine decides and appends only:
// what follows a commit beside the log (a purged user's key destroyed through
// forget_user() below, passwords, tokens) is the command pipeline's
// (app/command_effects.cc).
#pragma once

#include <array>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "aggregates/dispatch.h"
#include "aggregates/snapshot_store.h"
#include "events/event_log.h"

namespace accountable {

struct CommandRequest {
  CommandId id;                             // idempotency key
  std::array<unsigned char, 16> digest{};  // identity of the command's content (same id, other digest: conflict)
  Command command;
  CorrelationId correlation_id;
  CausationId causation_id;
};

struct ExecutedEvent {
  std::string stream;
  StreamVersion version;
  std::string type;
};

struct CommandOutcome {
  GlobalPosition first_position;
  GlobalPosition last_position;
  std::vector<ExecutedEvent> events;
  std::vector<GeneratedId> created_ids;  // the ids new_ids[i] of commands.h, for the caller
  bool duplicate = false;                // answered from an earlier commit of the same id
  // A duplicate's first commit: who issued it (principal_id) and when.
  std::string first_actor;
  Timestamp committed_at;
  int attempts = 0;                      // decisions made (> 1 after version conflicts)
};

// The keyed hash of an email within a partner (DOMAIN.md: unique per partner).
using FingerprintFn = std::function<Result<EmailFingerprint>(const PartnerId& partner, std::string_view email)>;

class Engine;

struct EngineOptions {
  const Clock* clock = nullptr;  // null: the system clock
  int max_attempts = 5;
  FingerprintFn fingerprint;     // required by commands that carry an email
  SnapshotStore* snapshots = nullptr;  // null: every load replays the whole stream
  // Seals personal data in payloads and snapshots; PurgeUser erases the user's key.
  // Null: personal data is written in clear (tests of the pure domain only).
  PersonalDataCipher* cipher = nullptr;
  uint64_t snapshot_every = 100;       // snapshot a stream each time its version crosses a multiple of this
  // States kept in memory per state type (aggregates/state_cache.h), least
  // recently used out; 0 turns the cache off.
  size_t state_cache_entries = 4096;
  // A cluster with S > 1 shards (docs/cluster.md): the catalog stream lives in
  // shard 0 only. The other shards' engines read it from shard 0's engine on
  // the same node (a copy that may lag its leader) and refuse to write it.
  // Null: the catalog is in this engine's own log.
  const Engine* catalog_source = nullptr;
  // Commands of one partner whose commits may be in flight at once on the
  // asynchronous path: each decides on top of the ones before it while their
  // fsync runs (pipelined turns, docs/architecture.md). 1: one at a time.
  size_t max_in_flight_per_partner = 16;
  // Tests only: runs after each decision, before its append (attempt 1, 2, ...),
  // so a test can commit a racing command in between (through this engine
  // from execute(); through another engine from execute_async(), which keeps
  // the partner's turn held).
  std::function<void(int attempt)> before_append_for_test;
};

class Engine {
 public:
  Engine(EventLog& log, EngineOptions options);
  ~Engine();

  Result<CommandOutcome> execute(const Principal& actor, const CommandRequest& request);

  // The same without holding a thread while the commit waits for its fsync:
  // the command decides on this thread when its partner's turn is free (else
  // later, through run_on), its commit is queued to the log's writer, and the
  // turn passes on: the partner's next command decides on top of it while
  // its fsync runs (pipelined turns, engine.cc). What follows the fsync
  // (retry on a version conflict, caching, the outcome) runs through run_on. `done` runs once, through run_on or, for a
  // command refused before its turn, on this thread. run_on must run every
  // job it is given (a dropped job stalls its partner's later commands), and
  // the engine must outlive every command in flight.
  using Executor = std::function<void(std::function<void()>)>;
  using ExecuteCallback = std::function<void(Result<CommandOutcome>)>;
  void execute_async(const Principal& actor, CommandRequest request, Executor run_on, ExecuteCallback done);

  // The state of one stream: the cached state, else its snapshot (if usable),
  // plus the events after it.
  template <class State>
  Result<State> load(const std::string& stream) const;
  // The same by replaying every event, ignoring snapshots (for tests and audits).
  template <class State>
  Result<State> replay(const std::string& stream) const;

  // The ids a command creates, derived from its command id, so that a retry of
  // the same command decides on the same ids.
  static std::vector<GeneratedId> ids_for(const CommandId& id, size_t count = 2);
  // The partner an EnrollPartner with this command id creates (the first of
  // ids_for): a cluster's router knows its shard before the command runs.
  static PartnerId enrolled_partner(const CommandId& id);

  // Drops every cached state: they may hold personal data decoded in clear
  // before a subject's key went (forget_user).
  void forget_cached_states();

  // States held by the caches (all state types), and the most they may hold
  // (state_cache_entries per state type): the memory gauges of /metrics.
  size_t cached_states() const;
  size_t cached_states_limit() const;

 private:
  // A command's steps, shared by execute() and execute_async().
  struct Prepared {                         // before its turn
    std::vector<GeneratedId> ids;
    std::optional<CommandOutcome> duplicate;  // set: answered from its first commit, nothing more to do
    EmailFingerprint fingerprint;
    StateKeys keys;
    std::string tenant;                     // the partner every stream but the catalog belongs to
    size_t stripe = 0;                      // its partner's (or the catalog's) turn
  };
  // One shared state per aggregate of AggregateStates (null: not written).
  template <class Tuple>
  struct SharedStatesOf;
  template <class... State>
  struct SharedStatesOf<std::tuple<State...>> {
    using type = std::tuple<std::shared_ptr<const State>...>;
  };
  using SharedStates = typename SharedStatesOf<AggregateStates>::type;
  struct Decided {                          // one attempt's decision and the commit it makes
    Principal current;                      // the actor with the rights read from its stream now
    AggregateStates states;
    Decision decision;
    CommitRequest commit;
    SharedStates after;                     // the states the decision's writes lead to
  };
  struct AsyncCommand;
  struct Flight;
  struct Pipeline;
  Result<Prepared> prepare(const CommandRequest& request) const;
  // `pipeline`: the stripe's commits in flight, whose states it decides on top of (null: durable states only).
  Result<Decided> decide_once(const Principal& actor, const CommandRequest& request, const Prepared& p,
                              Pipeline* pipeline) const;
  Result<CommandOutcome> complete(const Prepared& p, const Decided& d, const CommitResult& appended, int attempt) const;
  Status gave_up() const;
  Result<CommandOutcome> decide_and_append(const Principal& actor, const CommandRequest& request);
  void take_turn_async(const std::shared_ptr<AsyncCommand>& job);
  void attempt_async(const std::shared_ptr<AsyncCommand>& job);
  void landed_async(const std::shared_ptr<AsyncCommand>& job, Result<CommitResult> appended);
  static void finish_async(const std::shared_ptr<AsyncCommand>& job, Result<CommandOutcome> outcome);
  Result<CommandOutcome> answer_duplicate(const CommitResult& earlier) const;
  Result<EmailFingerprint> fingerprint_for(const Command& command, const std::vector<GeneratedId>& ids) const;
  template <class State>
  Result<State> load_from(const std::string& stream, State state) const;
  template <class State>
  Result<State> load_uncached(const std::string& stream) const;
  // load(), or the state a commit in flight of the stripe leads to.
  template <class State>
  Result<State> load_deciding(const std::string& stream, Pipeline* pipeline) const;
  // After a commit: the state its write leads to is cached, and saved as a
  // snapshot when the stream's version crossed a multiple of snapshot_every.
  template <class State>
  void keep_committed(const std::string& stream, const std::shared_ptr<const State>& state, StreamVersion before,
                      StreamVersion after) const;

  EventLog& log_;
  EngineOptions options_;
  SystemClock system_clock_;
  // The state caches, the turns that run one partner's commands one at a
  // time in this process, and their pipelines (engine.cc).
  struct Shared;
  std::unique_ptr<Shared> shared_;
};

// After a committed PurgeUser (or a retry of one): destroys the user's key, so
// that every replay, view and export reads their personal data as erased, and
// drops the engine's cached states. The error says the purge is committed.
Status forget_user(Engine& engine, PersonalDataCipher& cipher, const UserId& user);

}  // namespace accountable
