// What happens beside the log after a command commits, per command: the one
// list is commit_effects() in command_effects.cc. The command pipeline
// (app/command_pipeline.h) runs it; nothing else acts on a commit.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>

#include "aggregates/engine.h"
#include "app/account_stack.h"
#include "app/security_log.h"
#include "app/token_store.h"
#include "schema/json_codec.h"

namespace accountable {

struct TemporaryPassword {
  PartnerId partner;
  UserId user;
  std::string password;  // the only copy; the receiver wipes it (sodium_memzero)
};

struct CommandReply {
  ParsedCommand command;
  CommandOutcome outcome;
  // {"command_id", "position", "last_position", "duplicate", "events": [...], "result": {created ids}}.
  boost::json::object body;
  std::optional<TemporaryPassword> password;  // issued by this run (not on a duplicate)
  Status password_error;                      // the command committed but the password was not issued
  // What the token effects have to say, for the HTTP answer's "result", in
  // order: token_revocation_error, auditor_token (a secret, returned once: the
  // receiver wipes it) or auditor_token_error.
  boost::json::object notes;
  // An effect that failed after the commit and stopped the ones after it; the
  // command is committed (its message says what to do).
  Status failure;
};

// What an effect sees of a committed command.
struct Committed {
  const Principal& actor;
  CommandReply& reply;             // the command and its outcome; effects add to it
  std::string_view new_password;   // ChangePassword only: it travels beside the command
  // A command that hands out a temporary password: made before the commit
  // (CommandPipeline), stored by the effect.
  PreparedPassword* prepared = nullptr;
};

class CommitEffects {
 public:
  enum class When { kFirstCommit, kAlsoOnDuplicate };  // a duplicate: answered from the command's first commit

  // Adds an effect of command type C, after the ones already added for it.
  // A non-ok status stops the command's remaining effects and is the reply's failure.
  template <class C>
  void on(std::string_view what, std::function<Status(const C&, Committed&)> effect,
          When when = When::kFirstCommit) {
    add<C>(what, std::move(effect), when, false);
  }
  // An effect that hands out a temporary password (in the reply's `password`).
  // It runs on a retry too: it decides itself whether the first commit's
  // password was stored (issue_password in command_effects.cc).
  template <class C>
  void on_password(std::string_view what, std::function<Status(const C&, Committed&)> effect) {
    add<C>(what, std::move(effect), When::kAlsoOnDuplicate, true);
  }

  // Runs the effects of the committed command, in the order they were added.
  void run(Committed& committed) const;

  // Does the command hand out a temporary password when it succeeds?
  bool hands_out_password(const Command& command) const;
  // Has the command any effect at all (on a first commit or a retry)?
  bool has_effects(const Command& command) const;

  // "PurgeUser: key store: ..." lines, in order (for docs and tests).
  std::vector<std::string> describe() const;

 private:
  struct Entry {
    size_t command;  // the index in Command
    std::string_view what;
    bool also_on_duplicate;
    bool password;
    std::function<Status(Committed&)> run;
  };
  template <class C>
  void add(std::string_view what, std::function<Status(const C&, Committed&)> effect, When when, bool password) {
    entries_.push_back(Entry{Command(C{}).index(), what, when == When::kAlsoOnDuplicate, password,
                             [effect = std::move(effect)](Committed& c) {
                               return effect(std::get<C>(c.reply.command.command), c);
                             }});
  }
  std::vector<Entry> entries_;
};

// THE list of after-commit effects, over the stack's stores (and the sign-in
// tokens, when there are any, and the security log that records their
// revocations).
CommitEffects commit_effects(AccountStack& stack, TokenStore* tokens, SecurityLog* security = nullptr);

}  // namespace accountable
