// acct keys export-public --data DIR [--to FILE]: prints (or writes) the public
// key of the folder's checkpoint-signing key, "ed25519:<64 hex digits>", for an
// auditor to keep out of band and give to `acct verify --public-key`.
// Read-only: the key pair is created by the process that owns the folder.
#include <cstdio>
#include <memory>
#include <string>

#include "cli/commands.h"
#include "events/signed_checkpoint.h"

namespace accountable::cli {

void add_keys_command(CLI::App& app, int* exit_code) {
  auto* keys = app.add_subcommand("keys", "The data folder's signing key");
  keys->require_subcommand(1);
  auto* exp = keys->add_subcommand("export-public", "Print the public key that signs the log's checkpoints");
  struct Args {
    std::string data = "./data";
    std::string to;
  };
  auto args = std::make_shared<Args>();
  exp->add_option("--data", args->data, "data folder")->capture_default_str();
  exp->add_option("--to", args->to, "write the key to this file (one line) instead of stdout");
  exp->callback([args, exit_code] {
    Env* env = posix_env();
    // The seed is the truth (checksummed); signing.pub must agree with it.
    auto key = SigningKey::load(env, args->data);
    if (!key) {
      std::fprintf(stderr, "keys: %s%s\n", key.status().to_string().c_str(),
                   key.status().code() == StatusCode::kNotFound
                       ? " (it is created when acct serve or acct exec first opens the folder)"
                       : "");
      *exit_code = 2;
      return;
    }
    const PublicKey public_key = (*key)->public_key();
    const std::string pub_path = signing_pub_path(args->data);
    if (env->file_exists(pub_path)) {
      auto stored = read_public_key_file(env, pub_path);
      if (!stored || *stored != public_key) {
        std::fprintf(stderr, "keys: %s does not match %s\n", pub_path.c_str(), signing_key_path(args->data).c_str());
        *exit_code = 2;
        return;
      }
    }
    const std::string line = public_key_text(public_key) + "\n";
    if (args->to.empty()) {
      std::fwrite(line.data(), 1, line.size(), stdout);
      return;
    }
    if (Status s = env->write_file_atomically(args->to, line); !s.is_ok()) {
      std::fprintf(stderr, "keys: %s\n", s.to_string().c_str());
      *exit_code = 2;
      return;
    }
    std::fprintf(stderr, "keys: public key written to %s\n", args->to.c_str());
  });
}

}  // namespace accountable::cli
