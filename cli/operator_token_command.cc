// acct operator-token rotate --data DIR [--file FILE]: replaces the operator's
// bearer token (DATA/operator.token, or the node's file of a sharded cluster
// node) with a new one. Works while `acct serve` runs on the folder: the server
// takes the new file on its next operator request, and the old token is
// refused from then on (app/token_store.h). Prints the file's path, never the
// token.
#include <cstdio>
#include <memory>
#include <string>

#include "app/token_store.h"
#include "cli/commands.h"

namespace accountable::cli {

void add_operator_token_command(CLI::App& app, int* exit_code) {
  auto* cmd = app.add_subcommand("operator-token", "The operator's bearer token");
  cmd->require_subcommand(1);
  auto* rotate = cmd->add_subcommand("rotate", "Replace the operator token; a running server refuses the old one at once");
  struct Args {
    std::string data = "./data";
    std::string file;
  };
  auto args = std::make_shared<Args>();
  rotate->add_option("--data", args->data, "data folder")->capture_default_str();
  rotate->add_option("--file", args->file, "the token file, when not DATA/operator.token");
  rotate->callback([args, exit_code] {
    Env* env = posix_env();
    const std::string path = args->file.empty() ? join_path(args->data, "operator.token") : args->file;
    if (!env->file_exists(path)) {
      std::fprintf(stderr, "operator-token: %s does not exist (acct serve creates it on first start)\n",
                   path.c_str());
      *exit_code = 2;
      return;
    }
    if (Status s = TokenStore::rotate_operator_token(env, path); !s.is_ok()) {
      std::fprintf(stderr, "operator-token: %s\n", s.to_string().c_str());
      *exit_code = 2;
      return;
    }
    std::printf("operator-token: a new token is in %s; the old one is refused from the next request on\n",
                path.c_str());
  });
}

}  // namespace accountable::cli
