#include "app/account_stack.h"

#include <sodium.h>

namespace accountable {

Result<std::unique_ptr<AccountStack>> AccountStack::open(const AccountStackOptions& options) {
  if (sodium_init() < 0) return Status(StatusCode::kInternal, "libsodium failed to initialise");
  std::unique_ptr<AccountStack> stack(new AccountStack());
  stack->data_dir_ = options.data_dir;
  LogOptions log_options;
  log_options.data_dir = options.data_dir;
  log_options.recovery = options.recovery;
  log_options.env = options.env;
  log_options.replicator = options.replicator;
  log_options.max_batch_bytes = options.max_batch_bytes;
  auto log = EventLog::open(log_options);  // takes DATA/LOCK first: nothing else is touched by a second process
  if (!log) return log.status();
  stack->log_ = std::move(*log);
  auto keys = KeyStore::open(posix_env(), options.data_dir, options.key_cache_subjects);
  if (!keys) return keys.status();
  stack->keys_ = std::move(*keys);
  if (options.sign_checkpoints) {
    CheckpointSignerOptions signer_options;
    signer_options.data_dir = options.data_dir;
    signer_options.every_events = options.sign_every_events;
    signer_options.every = options.sign_every;
    signer_options.publishers = options.checkpoint_publishers;
    // The system clock, not options.clock: a checkpoint records when it was
    // really signed, and test clocks are not safe to read from another thread.
    auto signer = CheckpointSigner::open(signer_options, stack->log_.get());
    if (!signer) return signer.status();
    stack->signer_ = std::move(*signer);
  }
  CredentialStoreOptions credential_options = options.credentials;
  if (credential_options.clock == nullptr) credential_options.clock = options.clock;
  auto credentials = CredentialStore::open(posix_env(), options.data_dir, credential_options);
  if (!credentials) return credentials.status();
  stack->credentials_ = std::move(*credentials);
  auto snapshots = SnapshotStore::open(posix_env(), options.data_dir);
  if (!snapshots) return snapshots.status();
  stack->snapshots_ = std::move(*snapshots);
  stack->cipher_ = std::make_unique<KeyStoreCipher>(*stack->keys_);

  EngineOptions engine_options;
  engine_options.clock = options.clock;
  engine_options.fingerprint = [k = stack->keys_.get()](const PartnerId& partner, std::string_view email) {
    return k->email_fingerprint_bytes(partner, email);
  };
  engine_options.snapshots = stack->snapshots_.get();
  engine_options.cipher = stack->cipher_.get();
  engine_options.snapshot_every = options.snapshot_every;
  engine_options.state_cache_entries = options.state_cache_entries;
  if (options.catalog_shard != nullptr) engine_options.catalog_source = &options.catalog_shard->engine();
  stack->engine_ = std::make_unique<Engine>(*stack->log_, engine_options);
  return stack;
}

AccountStack::~AccountStack() { close().ignore(); }

// The signer goes first: its final signature must be written while the log
// still holds DATA/LOCK. Callers stop appending before close.
Status AccountStack::close() {
  Status signed_head = signer_ ? signer_->close() : Status::ok();
  Status closed = log_ ? log_->close() : Status::ok();
  return closed.is_ok() ? signed_head : closed;
}

Result<std::optional<UserId>> find_user_by_email(AccountStack& stack, const PartnerId& partner,
                                                 std::string_view email) {
  auto fingerprint = stack.keys().email_fingerprint_bytes(partner, email);
  if (!fingerprint) return fingerprint.status();
  auto state = stack.engine().load<PartnerState>(partner_stream(partner));
  if (!state) return state.status();
  for (const auto& [user, fp] : state->users) {
    if (fp == *fingerprint) return std::optional<UserId>(user);
  }
  return std::optional<UserId>();
}

Result<Principal> resolve_actor(AccountStack& stack, const std::string& text) {
  if (text == "operator") return Principal(Operator{"cli"});
  const std::string prefix = "user:";
  const size_t slash = text.find('/');
  if (text.rfind(prefix, 0) != 0 || slash == std::string::npos) {
    return invalid_argument("takes 'operator' or 'user:<partner id>/<email>'", "as");
  }
  auto partner = PartnerId::parse(text.substr(prefix.size(), slash - prefix.size()));
  if (!partner) return invalid_argument("the partner id is not a UUID", "as");
  auto user = find_user_by_email(stack, *partner, text.substr(slash + 1));
  if (!user) return user.status();
  if (!user->has_value()) {
    return Status(StatusCode::kUnauthenticated, "no user with that email in partner " + partner->to_string());
  }
  return Principal(PartnerUser{*partner, **user, {}, true});  // rights: read by execute()
}

}  // namespace accountable
