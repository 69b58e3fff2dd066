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
// Not yet here (issue 3, still open): snapshots, encryption of personal data
// per subject, the credential store behind CreateUser/ResetPassword.
#pragma once

#include <array>
#include <functional>
#include <string>
#include <vector>

#include "aggregates/dispatch.h"
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
  int attempts = 0;                      // decisions made (> 1 after version conflicts)
};

// The keyed hash of an email within a partner (DOMAIN.md: unique per partner).
using FingerprintFn = std::function<Result<EmailFingerprint>(const PartnerId& partner, std::string_view email)>;

struct EngineOptions {
  const Clock* clock = nullptr;  // null: the system clock
  int max_attempts = 5;
  FingerprintFn fingerprint;     // required by commands that carry an email
};

class Engine {
 public:
  Engine(EventLog& log, EngineOptions options);

  Result<CommandOutcome> execute(const Principal& actor, const CommandRequest& request);

  // Replays one stream into its state; also returns the stream's version.
  template <class State>
  Result<State> load(const std::string& stream) const;

  // The ids a command creates, derived from its command id, so that a retry of
  // the same command decides on the same ids.
  static std::vector<GeneratedId> ids_for(const CommandId& id, size_t count = 2);

 private:
  Result<CommandOutcome> answer_duplicate(const CommitResult& earlier) const;
  Result<EmailFingerprint> fingerprint_for(const Command& command, const std::vector<GeneratedId>& ids) const;

  EventLog& log_;
  EngineOptions options_;
  SystemClock system_clock_;
};

}  // namespace accountable
