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
// handed to the caller once in the reply (never logged).
Status issue_password(AccountStack& stack, const PartnerId& partner, const UserId& user, CommandReply& reply) {
  auto password = stack.credentials().issue_temporary_password(partner, user);
  if (password) {
    reply.password = TemporaryPassword{partner, user, std::move(*password)};
  } else {
    reply.password_error = password.status();
    spdlog::error("command {} committed but no temporary password was issued for user {}: {}",
                  reply.command.command_id.to_string(), user.to_string(), password.status().to_string());
  }
  return Status::ok();  // the command stands; the caller says the password is missing
}

// Tokens die with the password they were issued for, and with the user.
Status revoke_tokens(TokenStore& tokens, const PartnerId& partner, const UserId& user, CommandReply& reply) {
  if (Status s = tokens.revoke_user(partner, user); !s.is_ok()) {
    spdlog::error("tokens of user {} not revoked: {}", user.to_string(), s.to_string());
    reply.notes["token_revocation_error"] = s.to_string();
  }
  return Status::ok();
}

}  // namespace

CommitEffects commit_effects(AccountStack& stack, TokenStore* tokens) {
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
                                                    UserId(out.created_ids.at(1).bytes()), k.reply);
                            });
  effects.on_password<CreateUser>("CreateUser: credential store: the user's temporary password",
                         [&stack](const CreateUser& c, Committed& k) {
                           return issue_password(stack, c.partner_id,
                                                 UserId(k.reply.outcome.created_ids.at(0).bytes()), k.reply);
                         });
  effects.on_password<ResetPassword>("ResetPassword: credential store: a new temporary password",
                            [&stack](const ResetPassword& c, Committed& k) {
                              return issue_password(stack, c.partner_id, c.user_id, k.reply);
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
  effects.on<ResetPassword>("ResetPassword: tokens: revoke the user's",
                            [tokens](const ResetPassword& c, Committed& k) {
                              return revoke_tokens(*tokens, c.partner_id, c.user_id, k.reply);
                            });
  effects.on<DeactivateUser>("DeactivateUser: tokens: revoke the user's",
                             [tokens](const DeactivateUser& c, Committed& k) {
                               return revoke_tokens(*tokens, c.partner_id, c.user_id, k.reply);
                             });
  effects.on<PurgeUser>("PurgeUser: tokens: revoke the user's", [tokens](const PurgeUser& c, Committed& k) {
    return revoke_tokens(*tokens, c.partner_id, c.user_id, k.reply);
  });
  effects.on<ChangePassword>("ChangePassword: tokens: the user's no longer need a password change",
                             [tokens](const ChangePassword& c, Committed&) {
                               return tokens->clear_must_change(c.partner_id, c.user_id);
                             });
  effects.on<IssueAuditorAccess>(
      "IssueAuditorAccess: tokens: the auditor's token", [tokens](const IssueAuditorAccess& c, Committed& k) {
        TokenGrant g;
        g.kind = TokenGrant::Kind::kAuditor;
        g.partner = c.partner_id;
        g.grant = AuditorGrantId(k.reply.outcome.created_ids.at(0).bytes());
        g.expires_at = c.valid_until;
        auto token = tokens->issue(g);
        if (token) {
          k.reply.notes["auditor_token"] = *token;  // returned once; only its hash is kept
          sodium_memzero(token->data(), token->size());
        } else {
          k.reply.notes["auditor_token_error"] = token.status().to_string();
        }
        return Status::ok();
      });
  return effects;
}

}  // namespace accountable
