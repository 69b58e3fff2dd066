#include "app/command_effects.h"

#include <sodium.h>

#include <spdlog/spdlog.h>

namespace accountable {

void CommitEffects::run(Committed& committed) const {
  const size_t command = committed.reply.command.command.index();
  for (const Entry& e : entries_) {
    if (e.command != command) continue;
    if (committed.reply.outcome.duplicate && !e.also_on_duplicate) continue;
    if (Status s = e.run(committed); !s.is_ok()) {
      committed.reply.failure = std::move(s);
      return;
    }
  }
}

bool CommitEffects::hands_out_password(const Command& command) const {
  for (const Entry& e : entries_) {
    if (e.command == command.index() && e.password) return true;
  }
  return false;
}

bool CommitEffects::has_effects(const Command& command) const {
  for (const Entry& e : entries_) {
    if (e.command == command.index()) return true;
  }
  return false;
}

std::vector<std::string> CommitEffects::describe() const {
  std::vector<std::string> out;
  for (const Entry& e : entries_) {
    out.push_back(std::string(e.what) + (e.also_on_duplicate ? " (also on a retry)" : ""));
  }
  return out;
}

namespace {

using When = CommitEffects::When;

// A temporary password for `user` of `partner`, into the credential store;
// handed to the caller once in the reply (never logged). The hash was made
// before the commit (CommandPipeline); only the store is left here.
//
// A retry (a duplicate) gets a new password only when the first run's never
// reached the store: the process stopped between the commit and the store, or
// the store failed, or (in a cluster) the leader that committed died first.
// Then the credential is older than the commit, or missing. Only the actor who
// issued the command gets it, and only for an active user. A password stored
// at or after the commit is never replaced by a retry.
Status issue_password(AccountStack& stack, const PartnerId& partner, const UserId& user, Committed& k) {
  CommandReply& reply = k.reply;
  if (reply.outcome.duplicate) {
    if (reply.outcome.first_actor != principal_id(k.actor)) return Status::ok();
    const auto set_at = stack.credentials().password_set_at(partner, user);
    if (set_at && set_at->micros >= reply.outcome.committed_at.micros) return Status::ok();
    auto state = stack.engine().load<UserState>(user_stream(user));
    if (!state || !state->exists || state->status != UserStatus::kActive) return Status::ok();
    spdlog::warn("command {}: its temporary password for user {} was never stored; issuing a new one to the retry",
                 reply.command.command_id.to_string(), user.to_string());
  }
  Result<PreparedPassword> prepared = k.prepared && !k.prepared->hash.empty()
                                          ? Result<PreparedPassword>(std::move(*k.prepared))
                                          : stack.credentials().prepare_temporary_password();
  Result<std::string> password = prepared ? stack.credentials().store_temporary_password(partner, user,
                                                                                         std::move(*prepared))
                                          : Result<std::string>(prepared.status());
  if (password) {
    reply.password = TemporaryPassword{partner, user, std::move(*password)};
    if (reply.outcome.duplicate) reply.notes["temporary_password_reissued"] = true;
  } else {
    reply.password_error = password.status();
    spdlog::error("command {} committed but no temporary password was issued for user {}: {}",
                  reply.command.command_id.to_string(), user.to_string(), password.status().to_string());
  }
  return Status::ok();  // the command stands; the caller says the password is missing, and may retry
}

// The security log's line for tokens a command revoked: who did it, and whose.
void note_revoked(SecurityLog* security, const Committed& k, const PartnerId& partner, const std::string& whose,
                  const Status& s) {
  if (security == nullptr) return;
  security->record(SecurityEvent{"tokens_revoked", s.is_ok() ? "ok" : "failed", principal_id(k.actor),
                                 partner.to_string(), "", "",
                                 std::string(command_name(k.reply.command.command)) + " of " + whose});
}

// Tokens die with the password they were issued for, and with the user.
Status revoke_tokens(TokenStore& tokens, SecurityLog* security, const PartnerId& partner, const UserId& user,
                     Committed& k) {
  const Status s = tokens.revoke_user(partner, user);
  if (!s.is_ok()) {
    spdlog::error("tokens of user {} not revoked: {}", user.to_string(), s.to_string());
    k.reply.notes["token_revocation_error"] = s.to_string();
  }
  note_revoked(security, k, partner, "user:" + user.to_string(), s);
  return Status::ok();
}

}  // namespace

CommitEffects commit_effects(AccountStack& stack, TokenStore* tokens, SecurityLog* security) {
  CommitEffects effects;

  // ---- the key store -------------------------------------------------------------
  // A committed purge (or a retry of one) destroys the user's key: from then on
  // every replay, view and export reads their personal data as erased.
  effects.on<PurgeUser>(
      "PurgeUser: key store: destroy the user's key, forget the engine's cached states",
      [&stack](const PurgeUser& c, Committed&) { return forget_user(stack.engine(), stack.cipher(), c.user_id); },
      When::kAlsoOnDuplicate);

  // ---- the credential store --------------------------------------------------------
  // A retried command was answered from its first commit: its password was issued then.
  effects.on_password<EnrollPartner>("EnrollPartner: credential store: the first admin's temporary password",
                            [&stack](const EnrollPartner&, Committed& k) {
                              const CommandOutcome& out = k.reply.outcome;
                              return issue_password(stack, PartnerId(out.created_ids.at(0).bytes()),
                                                    UserId(out.created_ids.at(1).bytes()), k);
                            });
  effects.on_password<CreateUser>("CreateUser: credential store: the user's temporary password",
                         [&stack](const CreateUser& c, Committed& k) {
                           return issue_password(stack, c.partner_id,
                                                 UserId(k.reply.outcome.created_ids.at(0).bytes()), k);
                         });
  effects.on_password<ResetPassword>("ResetPassword: credential store: a new temporary password",
                            [&stack](const ResetPassword& c, Committed& k) {
                              return issue_password(stack, c.partner_id, c.user_id, k);
                            });
  // The change is recorded first (audit), then stored; if storing fails the old
  // password keeps working and the caller retries.
  effects.on<ChangePassword>(
      "ChangePassword: credential store: the new password", [&stack](const ChangePassword& c, Committed& k) {
        if (Status s = stack.credentials().set_password(c.partner_id, c.user_id, k.new_password); !s.is_ok()) {
          return Status(StatusCode::kInternal, "the change was recorded but the new password could not be stored (" +
                                                   s.message() + "); the old password still works: retry");
        }
        return Status::ok();
      });
  effects.on<PurgeUser>("PurgeUser: credential store: erase the user's credential",
                        [&stack](const PurgeUser& c, Committed&) {
                          if (Status erased = stack.credentials().erase(c.partner_id, c.user_id); !erased.is_ok()) {
                            spdlog::error("user {} purged but the credential was not erased: {}",
                                          c.user_id.to_string(), erased.to_string());
                          }
                          return Status::ok();
                        });

  // ---- the sign-in tokens (where there are any: the HTTP server) ---------------------
  if (tokens == nullptr) return effects;
  effects.on<ResetPassword>(
      "ResetPassword: tokens: revoke the user's",
      [tokens, security](const ResetPassword& c, Committed& k) {
        return revoke_tokens(*tokens, security, c.partner_id, c.user_id, k);
      },
      When::kAlsoOnDuplicate);
  effects.on<DeactivateUser>("DeactivateUser: tokens: revoke the user's",
                             [tokens, security](const DeactivateUser& c, Committed& k) {
                               return revoke_tokens(*tokens, security, c.partner_id, c.user_id, k);
                             });
  effects.on<PurgeUser>("PurgeUser: tokens: revoke the user's", [tokens, security](const PurgeUser& c, Committed& k) {
    return revoke_tokens(*tokens, security, c.partner_id, c.user_id, k);
  });
  effects.on<ChangePassword>("ChangePassword: tokens: the user's no longer need a password change",
                             [tokens](const ChangePassword& c, Committed&) {
                               return tokens->clear_must_change(c.partner_id, c.user_id);
                             });
  effects.on<IssueAuditorAccess>(
      "IssueAuditorAccess: tokens: the auditor's token",
      [tokens, security](const IssueAuditorAccess& c, Committed& k) {
        TokenGrant g;
        g.kind = TokenGrant::Kind::kAuditor;
        g.partner = c.partner_id;
        g.grant = AuditorGrantId(k.reply.outcome.created_ids.at(0).bytes());
        g.expires_at = c.valid_until;
        auto token = tokens->issue(g);
        if (security != nullptr) {
          security->record(SecurityEvent{"auditor_token_issued", token ? "ok" : "failed", principal_id(k.actor),
                                         c.partner_id.to_string(), "", "",
                                         "auditor:" + g.grant.to_string() + " until " + format_timestamp(g.expires_at)});
        }
        if (token) {
          k.reply.notes["auditor_token"] = *token;  // returned once; only its hash is kept
          sodium_memzero(token->data(), token->size());
        } else {
          k.reply.notes["auditor_token_error"] = token.status().to_string();
        }
        return Status::ok();
      });
  // A retried revocation revokes again: the first may have been cut short
  // between its commit and this step (Api::current_principal refuses the
  // grant's tokens meanwhile, from the partner's state).
  effects.on<RevokeAuditorAccess>(
      "RevokeAuditorAccess: tokens: revoke the grant's",
      [tokens, security](const RevokeAuditorAccess& c, Committed& k) {
        const Status s = tokens->revoke_auditor_grant(c.partner_id, c.grant_id);
        if (!s.is_ok()) {
          spdlog::error("tokens of auditor grant {} not revoked: {}", c.grant_id.to_string(), s.to_string());
          k.reply.notes["token_revocation_error"] = s.to_string();
        }
        note_revoked(security, k, c.partner_id, "auditor:" + c.grant_id.to_string(), s);
        return Status::ok();
      },
      When::kAlsoOnDuplicate);
  return effects;
}

}  // namespace accountable
