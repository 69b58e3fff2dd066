#include "aggregates/engine.h"

#include <array>
#include <cstring>
#include <tuple>
#include <type_traits>
#include <unordered_map>

#include <spdlog/spdlog.h>

#include "aggregates/serial_stripes.h"
#include "aggregates/state_cache.h"
#include "aggregates/state_codec.h"
#include "events/sha256.h"

namespace accountable {

namespace {

// One state cache per aggregate of AggregateStates (aggregates/dispatch.h).
template <class Tuple>
struct CachesOf;
template <class... State>
struct CachesOf<std::tuple<State...>> {
  using type = std::tuple<StateCache<State>...>;
  static type make(size_t entries) { return type(((void)sizeof(State), entries)...); }
};
using StateCaches = CachesOf<AggregateStates>;

}  // namespace

// What a stripe's commits in flight lead to, per aggregate: stream -> the
// state after the newest commit in flight that wrote it, and that commit.
// Named, not anonymous: Engine::Pipeline holds one, and a member of a named
// class must not have a type only this file can name (-Wsubobject-linkage
// when the file is compiled inside a unity batch).
namespace engine_pipeline {
template <class State>
struct InFlightState {
  std::shared_ptr<const State> state;
  const void* owner = nullptr;
};
template <class Tuple>
struct InFlightStatesOf;
template <class... State>
struct InFlightStatesOf<std::tuple<State...>> {
  using type = std::tuple<std::unordered_map<std::string, InFlightState<State>>...>;
};
}  // namespace engine_pipeline
using engine_pipeline::InFlightState;
using InFlightStates = engine_pipeline::InFlightStatesOf<AggregateStates>::type;

namespace {

// Calls fn(state) for each state of the tuple, in order, until one fails.
template <class Tuple, class Fn>
Status for_each_state(Tuple& states, Fn&& fn) {
  Status status = Status::ok();
  std::apply([&](auto&... s) { (void)((status = fn(s), status.is_ok()) && ...); }, states);
  return status;
}

}  // namespace

// Pipelined turns: a partner's next command decides while the commits before
// it wait for their fsync, on top of the states those commits lead to, and
// its commit names the newest of them as `after` (events/envelope.h). A
// commit in flight that is not written (refused, a duplicate, a failed batch)
// dooms every later one of its generation through their links: the
// generation ends, its states go, and the next decision starts a new one on
// durable states. That is sound because the log's writer takes commits in
// queue order: when a commit's failure is known, every commit queued before
// it is durable or failed, and every one after it in its generation fails.
// A command refused on top of commits in flight is answered only once the
// newest of them is written (else it decides again): a refusal must not rest
// on a state that never was.
struct Engine::Pipeline {
  std::mutex mu;
  uint64_t generation = 0;
  std::shared_ptr<Flight> newest;  // the newest commit queued in this generation
  InFlightStates states;
};

// One commit in flight, as its stripe's pipeline sees it.
struct Engine::Flight {
  std::shared_ptr<CommitLink> link;
  bool landed = false;  // its completion ran
  std::vector<std::shared_ptr<AsyncCommand>> refused_after;  // refusals waiting for it to land
};

struct Engine::Shared {
  Shared(size_t entries, size_t max_in_flight)
      : caches(StateCaches::make(entries)), serial(kStripes, max_in_flight), pipelines(kStripes) {}
  static constexpr size_t kStripes = 256;
  StateCaches::type caches;
  template <class State>
  StateCache<State>& cache() {
    return std::get<StateCache<State>>(caches);
  }
  void clear() {
    std::apply([](auto&... c) { (c.clear(), ...); }, caches);
  }

  // Commands of one partner (or of the catalog) decide one at a time in this
  // process: they would otherwise race on the partner's stream and retry, and
  // under load could exhaust max_attempts. Expected versions still guard
  // against every other writer.
  SerialStripes serial;
  std::vector<Pipeline> pipelines;  // one per stripe of `serial`
};

Engine::Engine(EventLog& log, EngineOptions options) : log_(log), options_(std::move(options)) {
  if (options_.clock == nullptr) options_.clock = &system_clock_;
  if (options_.max_attempts < 1) options_.max_attempts = 1;
  shared_ = std::make_unique<Shared>(options_.state_cache_entries, options_.max_in_flight_per_partner);
}

Engine::~Engine() = default;

std::vector<GeneratedId> Engine::ids_for(const CommandId& id, size_t count) {
  std::vector<GeneratedId> out;
  for (size_t i = 0; i < count; ++i) {
    std::string seed = "accountable/new-id/";
    seed.append(reinterpret_cast<const char*>(id.bytes().data()), id.bytes().size());
    seed.push_back(static_cast<char>(i));
    const Hash256 h = sha256(seed);
    GeneratedId::Bytes b;
    std::memcpy(b.data(), h.data(), b.size());
    b[6] = static_cast<unsigned char>((b[6] & 0x0f) | 0x40);  // shaped like a v4 UUID
    b[8] = static_cast<unsigned char>((b[8] & 0x3f) | 0x80);
    out.emplace_back(b);
  }
  return out;
}

PartnerId Engine::enrolled_partner(const CommandId& id) { return PartnerId(ids_for(id, 1).at(0).bytes()); }

template <class State>
Result<State> Engine::load_from(const std::string& stream, State state) const {
  StreamVersion next = state.version.next();
  while (true) {
    auto batch = log_.read_stream(stream, next, 1024);
    if (!batch) return batch.status();
    PersonalDataScope sealed(options_.cipher);
    for (const RecordedEvent& e : batch->events) {
      auto event = decode_event(e.type, e.schema_version, e.payload);
      if (!event) {
        return Status(event.status().code(), "stream '" + stream + "' version " + std::to_string(e.version.value()) +
                                                 " (position " + std::to_string(e.position.value()) +
                                                 "): " + event.status().message());
      }
      state = evolve(std::move(state), *event);
    }
    if (batch->events.size() < 1024) return state;
    next = StreamVersion(next.value() + batch->events.size());
  }
}

template <class State>
Result<State> Engine::replay(const std::string& stream) const {
  return load_from(stream, State{});
}

template <class State>
Result<State> Engine::load(const std::string& stream) const {
  StateCache<State>& cache = shared_->cache<State>();
  if (auto cached = cache.get(stream); cached != nullptr && cached->version <= log_.stream_version(stream)) {
    const StreamVersion cached_version = cached->version;
    auto state = load_from(stream, State(*cached));
    if (state && state->version != cached_version) cache.put(stream, std::make_shared<const State>(*state));
    return state;
  }
  auto state = load_uncached<State>(stream);
  if (state) cache.put(stream, std::make_shared<const State>(*state));
  return state;
}

template <class State>
Result<State> Engine::load_uncached(const std::string& stream) const {
  if (options_.snapshots != nullptr) {
    if (auto snapshot = options_.snapshots->load(stream, StateSchema<State>::kVersion)) {
      PersonalDataScope sealed(options_.cipher);
      auto state = decode_state<State>(snapshot->state);
      // A snapshot ahead of the log (a log cut back by recovery) is of no use.
      if (state && state->version == snapshot->version && snapshot->version <= log_.stream_version(stream)) {
        return load_from(stream, std::move(*state));
      }
      spdlog::warn("snapshot of '{}' ignored ({}); rebuilding the state from the stream's events", stream,
                   state ? "it is ahead of the log or its version disagrees" : state.status().message());
    }
  }
  return load_from(stream, State{});
}

template <class State>
Result<State> Engine::load_deciding(const std::string& stream, Pipeline* pipeline) const {
  if (pipeline != nullptr) {
    std::lock_guard lock(pipeline->mu);
    auto& in_flight = std::get<std::unordered_map<std::string, InFlightState<State>>>(pipeline->states);
    if (auto it = in_flight.find(stream); it != in_flight.end()) return State(*it->second.state);
  }
  return load<State>(stream);
}

template <class State>
void Engine::keep_committed(const std::string& stream, const std::shared_ptr<const State>& state,
                            StreamVersion before, StreamVersion after) const {
  if (state == nullptr || state->version != after) return;  // evolve must count every event; else keep nothing
  if (options_.state_cache_entries > 0) shared_->cache<State>().put(stream, state);
  const uint64_t every = options_.snapshot_every;
  if (options_.snapshots == nullptr || every == 0 || before.value() / every == after.value() / every) return;
  std::string bytes;
  try {
    PersonalDataScope sealed(options_.cipher);  // personal data in a snapshot is sealed like in the log
    bytes = encode_state(*state);
  } catch (const PersonalDataError& e) {
    spdlog::warn("snapshot of '{}' not saved: {}", stream, e.status.to_string());
    return;
  }
  Status saved = options_.snapshots->save(stream, StateSchema<State>::kVersion, after, bytes);
  if (!saved.is_ok()) spdlog::warn("snapshot of '{}' not saved: {}", stream, saved.to_string());
}

// load<State> and replay<State> for every aggregate of AggregateStates,
// instantiated here where they are defined: the explicit instantiation below
// emits instantiate(), whose calls instantiate them.
namespace engine_detail {
template <class Tuple>
struct AggregateLoads;
template <class... State>
struct AggregateLoads<std::tuple<State...>> {
  static void instantiate(const Engine& engine, const std::string& stream);
};
template <class... State>
void AggregateLoads<std::tuple<State...>>::instantiate(const Engine& engine, const std::string& stream) {
  ((void)engine.load<State>(stream), ...);
  ((void)engine.replay<State>(stream), ...);
}
template struct AggregateLoads<AggregateStates>;
}  // namespace engine_detail

Result<EmailFingerprint> Engine::fingerprint_for(const Command& command, const std::vector<GeneratedId>& ids) const {
  std::string_view email;
  PartnerId partner;
  if (const auto* c = std::get_if<EnrollPartner>(&command)) {
    email = c->admin.email;
    partner = PartnerId(ids.at(0).bytes());
  } else if (const auto* u = std::get_if<CreateUser>(&command)) {
    email = u->profile.email;
    partner = u->partner_id;
  } else if (const auto* p = std::get_if<UpdateUserProfile>(&command)) {
    email = p->profile.email;
    partner = p->partner_id;
  } else {
    return EmailFingerprint{};
  }
  if (!options_.fingerprint) return Status(StatusCode::kInternal, "the engine has no email fingerprint function");
  return options_.fingerprint(partner, email);
}

Result<CommandOutcome> Engine::answer_duplicate(const CommitResult& earlier) const {
  CommandOutcome out;
  out.first_position = earlier.first_position;
  out.last_position = earlier.last_position;
  out.duplicate = true;
  for (const StreamWriteResult& s : earlier.streams) {
    const uint64_t count = s.last_version.value() - s.first_version.value() + 1;
    auto batch = log_.read_stream(s.stream, s.first_version, count);
    if (!batch) return batch.status();
    for (const RecordedEvent& e : batch->events) {
      out.events.push_back({s.stream, e.version, std::string(e.type)});
      if (out.first_actor.empty()) {
        out.first_actor = std::string(e.actor);
        out.committed_at = e.recorded_at;
      }
    }
  }
  return out;
}

Result<CommandOutcome> Engine::execute(const Principal& actor, const CommandRequest& request) {
  return decide_and_append(actor, request);
}

void Engine::forget_cached_states() { shared_->clear(); }

size_t Engine::cached_states() const {
  return std::apply([](const auto&... c) { return (c.size() + ...); }, shared_->caches);
}

size_t Engine::cached_states_limit() const {
  return std::apply([](const auto&... c) { return (c.capacity() + ...); }, shared_->caches);
}

Status forget_user(Engine& engine, PersonalDataCipher& cipher, const UserId& user) {
  Status erased = cipher.erase(user_subject(user));
  // The cached states may hold the user's personal data in clear, decoded
  // before the key went; from here on every load decodes it as erased.
  engine.forget_cached_states();
  if (!erased.is_ok()) {
    return Status(erased.code(), "the purge is committed but the user's key was not destroyed (" + erased.message() +
                                     "); retry the same command");
  }
  return Status::ok();
}

Result<Engine::Prepared> Engine::prepare(const CommandRequest& request) const {
  if (request.id.is_nil()) return invalid_argument("command id is required", "command_id");
  Prepared p;
  p.ids = ids_for(request.id);
  // A retry of a command that already committed gets its first result, even
  // if deciding it again now would be refused (the user it created exists).
  auto earlier = log_.find_command(request.id, request.digest);
  if (!earlier) return earlier.status();
  if (earlier->has_value()) {
    auto out = answer_duplicate(**earlier);
    if (!out) return out.status();
    out->created_ids = p.ids;  // derived from the command id: the same as the first time
    p.duplicate = std::move(*out);
    return p;
  }
  auto fingerprint = fingerprint_for(request.command, p.ids);
  if (!fingerprint) return fingerprint.status();
  p.fingerprint = *fingerprint;
  p.keys = state_keys(request.command);
  if (options_.catalog_source != nullptr && p.keys.catalog && !p.keys.partner) {
    return invalid_argument("the catalog is kept in shard 0: this shard does not take catalog commands", "type");
  }
  // Every stream but the catalog belongs to the command's partner (enrolment: the new one).
  if (p.keys.partner) {
    p.tenant = p.keys.partner->to_string();
  } else if (std::holds_alternative<EnrollPartner>(request.command)) {
    p.tenant = enrolled_partner(request.id).to_string();
  }
  p.stripe = shared_->serial.stripe_of(p.tenant.empty() && p.keys.catalog ? catalog_stream() : p.tenant);
  return p;
}

Result<Engine::Decided> Engine::decide_once(const Principal& actor, const CommandRequest& request,
                                            const Prepared& p, Pipeline* pipeline) const {
  Decided d;
  // A partner user's rights come from the user's stream as it is now, never
  // from what the caller remembers (roles may have changed since sign-in).
  d.current = actor;
  StreamVersion actor_version;  // the version of the actor's stream the rights were read at
  if (const auto* who = std::get_if<PartnerUser>(&actor)) {
    auto state = load_deciding<UserState>(user_stream(who->user_id), pipeline);
    if (!state) return state.status();
    if (!state->exists || state->partner_id != who->partner_id) {
      return Status(StatusCode::kUnauthenticated, "no such user in this partner");
    }
    d.current = principal_of(*state);
    actor_version = state->version;
  }
  // Every aggregate the command reads, from its stream; the others stay empty.
  Status loaded = for_each_state(d.states, [&](auto& state) -> Status {
    using State = std::decay_t<decltype(state)>;
    const std::optional<std::string> stream = aggregate_stream<State>(p.keys);
    if (!stream) return Status::ok();
    Result<State> s = [&] {
      if constexpr (std::is_same_v<State, CatalogState>) {
        if (options_.catalog_source != nullptr) return options_.catalog_source->load<State>(*stream);
      }
      return load_deciding<State>(*stream, pipeline);
    }();
    if (!s) return s.status();
    state = std::move(*s);
    return Status::ok();
  });
  if (!loaded.is_ok()) return loaded;
  const CommandContext ctx = CommandContext::make(d.current, *options_.clock, p.ids, p.fingerprint);
  auto decision = decide(request.command, decide_inputs(d.states), ctx);
  if (!decision) return decision.status();
  d.decision = std::move(*decision);
  // The states the writes lead to: cached after the commit, and read by the
  // next decision of the stripe while this commit is in flight. A decision
  // writes only streams it loaded (its expected versions come from them),
  // save the new streams of EnrollPartner and CreateUser, which have effects
  // and so never take the asynchronous path.
  for_each_state(d.states, [&](const auto& state) -> Status {
    using State = std::decay_t<decltype(state)>;
    const std::optional<std::string> stream = aggregate_stream<State>(p.keys);
    const StreamWrite* w = stream ? d.decision.find(*stream) : nullptr;
    if (w == nullptr) return Status::ok();
    State next = state;
    for (const DomainEvent& e : w->events) next = evolve(std::move(next), e);
    std::get<std::shared_ptr<const State>>(d.after) = std::make_shared<const State>(std::move(next));
    return Status::ok();
  }).ignore();

  CommitRequest& commit = d.commit;
  commit.command_id = request.id;
  commit.correlation_id = request.correlation_id;
  commit.causation_id = request.causation_id;
  commit.actor = principal_id(d.current);
  commit.command_digest = request.digest;
  try {
    PersonalDataScope sealed(options_.cipher);  // personal data enters the log sealed per subject
    for (const StreamWrite& w : d.decision.writes) {
      if (options_.catalog_source != nullptr && w.stream == catalog_stream()) {
        return Status(StatusCode::kInternal, "a decision wrote the catalog in a shard that does not keep it");
      }
      StreamAppend append;
      append.stream = w.stream;
      append.expected = w.expected;
      append.partner = w.stream == catalog_stream() ? std::string() : p.tenant;
      for (const DomainEvent& e : w.events) {
        EncodedEvent encoded = encode_event(e);
        append.events.push_back(
            NewEvent{EventId::random(), std::move(encoded.type), encoded.schema_version, std::move(encoded.bytes)});
      }
      commit.streams.push_back(std::move(append));
    }
  } catch (const PersonalDataError& e) {
    return e.status;  // e.g. the subject was purged: nothing of theirs may be written again
  }
  // Authority freshness: the decision holds only if the actor's rights are
  // still those it was decided with. A check-only stream makes the commit
  // depend on the actor's stream, so a racing role removal or deactivation
  // sends this command back to decide again (docs/aggregates.md).
  if (const auto* who = std::get_if<PartnerUser>(&d.current)) {
    const std::string own = user_stream(who->user_id);
    if (d.decision.find(own) == nullptr) {
      StreamAppend check;
      check.stream = own;
      check.expected = ExpectedVersion::exact(actor_version);
      check.partner = p.tenant;
      commit.streams.push_back(std::move(check));
    }
  }
  return d;
}

Result<CommandOutcome> Engine::complete(const Prepared& p, const Decided& d, const CommitResult& appended,
                                        int attempt) const {
  if (appended.duplicate) {
    auto again = answer_duplicate(appended);
    if (again) again->created_ids = p.ids;
    return again;
  }
  for (const StreamWriteResult& r : appended.streams) {
    for_each_state(d.states, [&](const auto& state) {
      using State = std::decay_t<decltype(state)>;
      if (aggregate_stream<State>(p.keys) == r.stream) {
        keep_committed(r.stream, std::get<std::shared_ptr<const State>>(d.after), state.version, r.last_version);
      }
      return Status::ok();
    }).ignore();
  }
  CommandOutcome out;
  out.first_position = appended.first_position;
  out.last_position = appended.last_position;
  out.created_ids = p.ids;
  out.attempts = attempt;
  for (const StreamWrite& w : d.decision.writes) {
    const StreamWriteResult* placed = nullptr;
    for (const StreamWriteResult& r : appended.streams) {
      if (r.stream == w.stream) placed = &r;
    }
    uint64_t v = placed ? placed->first_version.value() : 0;
    for (const DomainEvent& e : w.events) out.events.push_back({w.stream, StreamVersion(v++), std::string(event_type(e))});
  }
  return out;
}

Status Engine::gave_up() const {
  return Status(StatusCode::kWrongExpectedVersion,
                "the streams kept changing; gave up after " + std::to_string(options_.max_attempts) + " attempts");
}

Result<CommandOutcome> Engine::decide_and_append(const Principal& actor, const CommandRequest& request) {
  auto prepared = prepare(request);
  if (!prepared) return prepared.status();
  if (prepared->duplicate) return std::move(*prepared->duplicate);
  const Prepared& p = *prepared;
  SerialStripes& serial = shared_->serial;
  serial.enter(p.stripe);
  struct Leave {
    SerialStripes& serial;
    size_t stripe;
    ~Leave() { serial.leave(stripe); }
  } leave{serial, p.stripe};

  for (int attempt = 1; attempt <= options_.max_attempts; ++attempt) {
    auto decided = decide_once(actor, request, p, nullptr);  // nothing in flight: enter() waited
    if (!decided) return decided.status();
    if (options_.before_append_for_test) {
      // The hook commits a racing command through this engine: it must not
      // wait for this command's turn (a racer from another process would not).
      serial.leave(p.stripe);
      options_.before_append_for_test(attempt);
      serial.enter(p.stripe);
    }
    auto appended = log_.append(std::move(decided->commit));
    if (!appended) {
      if (appended.status().code() == StatusCode::kWrongExpectedVersion && attempt < options_.max_attempts) continue;
      return appended.status();
    }
    return complete(p, *decided, *appended, attempt);
  }
  return gave_up();
}

// An asynchronous command between its steps: what its next step needs.
struct Engine::AsyncCommand {
  Principal actor;
  CommandRequest request;
  Prepared prepared;
  Executor run_on;
  ExecuteCallback done;
  int attempt = 0;
  std::optional<Decided> decided;
  uint64_t generation = 0;         // of its stripe's pipeline, when its commit was queued
  std::shared_ptr<Flight> flight;  // its commit in flight
  Status refusal;                  // a refusal waiting for the commits it was decided on
};

void Engine::execute_async(const Principal& actor, CommandRequest request, Executor run_on, ExecuteCallback done) {
  auto prepared = prepare(request);
  if (!prepared) return done(prepared.status());
  if (prepared->duplicate) return done(std::move(*prepared->duplicate));
  auto job = std::make_shared<AsyncCommand>();
  job->actor = actor;
  job->request = std::move(request);
  job->prepared = std::move(*prepared);
  job->run_on = std::move(run_on);
  job->done = std::move(done);
  take_turn_async(job);
}

void Engine::take_turn_async(const std::shared_ptr<AsyncCommand>& job) {
  // Its turn: at once on this thread, or later from the command before it,
  // handed to run_on (the thread that passes the turn must not decide it).
  if (shared_->serial.try_enter_or_queue(job->prepared.stripe,
                                         [this, job] { job->run_on([this, job] { attempt_async(job); }); })) {
    attempt_async(job);
  }
}

void Engine::attempt_async(const std::shared_ptr<AsyncCommand>& job) {
  const size_t stripe = job->prepared.stripe;
  Pipeline& pipeline = shared_->pipelines[stripe];
  while (true) {
    ++job->attempt;
    uint64_t generation = 0;
    std::shared_ptr<Flight> after;
    {
      std::lock_guard lock(pipeline.mu);
      generation = pipeline.generation;
      after = pipeline.newest;
    }
    Result<Decided> decided = Status(StatusCode::kInternal, "internal error");
    try {
      decided = decide_once(job->actor, job->request, job->prepared, &pipeline);
    } catch (const std::exception& e) {
      // No thread of the caller's waits to catch it (execute()'s callers do):
      // the command fails and its partner's turn passes on.
      spdlog::error("deciding a command threw: {}", e.what());
      decided = Status(StatusCode::kInternal, "internal error");
    }
    if (!decided) {
      {
        std::lock_guard lock(pipeline.mu);
        if (pipeline.generation != generation) {
          if (job->attempt < options_.max_attempts) continue;  // decided on states that are gone
          shared_->serial.leave(stripe);
          return finish_async(job, gave_up());
        }
        if (after != nullptr && !after->landed) {
          // Refused on top of commits in flight: answered when they land.
          job->refusal = decided.status();
          after->refused_after.push_back(job);
          shared_->serial.leave(stripe);
          return;
        }
      }
      shared_->serial.leave(stripe);
      return finish_async(job, decided.status());
    }
    CommitRequest commit = std::move(decided->commit);
    job->decided = std::move(*decided);
    // The turn stays held here: a racer in a test must use another engine.
    if (options_.before_append_for_test) options_.before_append_for_test(job->attempt);
    job->flight = std::make_shared<Flight>();
    job->flight->link = std::make_shared<CommitLink>();
    commit.link = job->flight->link;
    if (after != nullptr) commit.after = after->link;
    {
      std::lock_guard lock(pipeline.mu);
      if (pipeline.generation != generation) {
        // A commit in flight this decision may have read from was not
        // written: its states are gone. Decide again on what is durable.
        if (job->attempt < options_.max_attempts) continue;
        shared_->serial.leave(stripe);
        return finish_async(job, gave_up());
      }
      job->generation = generation;
      pipeline.newest = job->flight;
      // What this commit leads to, for the next decision of the stripe.
      for_each_state(job->decided->after, [&](const auto& state) {
        using State = std::remove_const_t<typename std::decay_t<decltype(state)>::element_type>;
        if (state == nullptr) return Status::ok();
        const std::optional<std::string> stream = aggregate_stream<State>(job->prepared.keys);
        if (stream) {
          std::get<std::unordered_map<std::string, InFlightState<State>>>(pipeline.states)[*stream] = {state, job.get()};
        }
        return Status::ok();
      }).ignore();
    }
    // In flight before it is queued (a refusal may land at once), queued
    // before the turn passes on (the log takes commits in queue order).
    shared_->serial.take_off(stripe);
    // The log calls back on its writer thread: the rest runs on run_on, so
    // that the writer only writes.
    log_.append_async(std::move(commit), [this, job](Result<CommitResult> appended) {
      job->run_on([this, job, appended = std::move(appended)]() mutable { landed_async(job, std::move(appended)); });
    });
    shared_->serial.leave(stripe);
    return;
  }
}

void Engine::landed_async(const std::shared_ptr<AsyncCommand>& job, Result<CommitResult> appended) {
  const size_t stripe = job->prepared.stripe;
  Pipeline& pipeline = shared_->pipelines[stripe];
  const bool written = appended && !appended->duplicate;
  std::vector<std::shared_ptr<AsyncCommand>> refused_after;
  {
    std::lock_guard lock(pipeline.mu);
    job->flight->landed = true;
    refused_after.swap(job->flight->refused_after);
    if (written) {
      // Durable: its states are read from the log and the cache from now on,
      // unless a later commit in flight wrote the same stream since.
      for_each_state(pipeline.states, [&](auto& in_flight) {
        for (auto it = in_flight.begin(); it != in_flight.end();) {
          it = it->second.owner == job.get() ? in_flight.erase(it) : std::next(it);
        }
        return Status::ok();
      }).ignore();
    } else if (job->generation == pipeline.generation) {
      // Not written as decided: every later commit of its generation fails
      // through its link, so their states go, and the next decision starts
      // over from what is durable.
      ++pipeline.generation;
      pipeline.newest.reset();
      for_each_state(pipeline.states, [](auto& in_flight) {
        in_flight.clear();
        return Status::ok();
      }).ignore();
    }
  }
  // Written: every commit the refusals were decided on is durable (each
  // depends on the one before it), so they stand. Else they decide again.
  for (const auto& refused : refused_after) {
    refused->run_on([this, refused, written] {
      if (written) return finish_async(refused, refused->refusal);
      if (refused->attempt < options_.max_attempts) return take_turn_async(refused);
      finish_async(refused, gave_up());
    });
  }
  if (!appended) {
    shared_->serial.landed(stripe);
    if (appended.status().code() == StatusCode::kWrongExpectedVersion && job->attempt < options_.max_attempts) {
      return take_turn_async(job);
    }
    return finish_async(job, appended.status());
  }
  Result<CommandOutcome> outcome = Status(StatusCode::kInternal, "internal error");
  try {
    outcome = complete(job->prepared, *job->decided, *appended, job->attempt);
  } catch (const std::exception& e) {
    // Committed, but no outcome to show: the client retries with the same
    // command id and gets the first result.
    spdlog::error("completing a committed command threw: {}", e.what());
  }
  shared_->serial.landed(stripe);
  finish_async(job, std::move(outcome));
}

void Engine::finish_async(const std::shared_ptr<AsyncCommand>& job, Result<CommandOutcome> outcome) {
  ExecuteCallback done = std::move(job->done);
  done(std::move(outcome));
}

// replay is defined here, not in the header, and used outside this file
// (tests, audits): each state is instantiated here, so that no caller depends
// on the optimiser keeping an implicit instantiation (-O3 inlines them away).
template Result<PartnerState> Engine::replay<PartnerState>(const std::string&) const;
template Result<UserState> Engine::replay<UserState>(const std::string&) const;
template Result<BusinessProfileState> Engine::replay<BusinessProfileState>(const std::string&) const;
template Result<CatalogState> Engine::replay<CatalogState>(const std::string&) const;

}  // namespace accountable
