// Rewrites the generated block of docs/openapi.yaml (command_schemas_block.h)
// from the parser's field tables: run it after adding or changing a command.
//   ./build-test/generate_command_schemas            rewrite docs/openapi.yaml
//   ./build-test/generate_command_schemas --check    exit 1 if it is stale
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

#include "tests/contract/command_schemas_block.h"

int main(int argc, char** argv) {
  const bool check = argc > 1 && std::string(argv[1]) == "--check";
  const std::string path = std::string(ACCT_SOURCE_DIR) + "/docs/openapi.yaml";
  std::ifstream in(path);
  std::stringstream buffer;
  buffer << in.rdbuf();
  const std::string yaml = buffer.str();
  const size_t begin = yaml.find(accountable::kCommandSchemasBegin);
  const size_t end = yaml.find(accountable::kCommandSchemasEnd);
  if (begin == std::string::npos || end == std::string::npos || end < begin) {
    std::fprintf(stderr, "%s: the generated block's BEGIN/END lines are missing\n", path.c_str());
    return 2;
  }
  const std::string block = accountable::command_schemas_block();
  const std::string updated =
      yaml.substr(0, begin) + block + yaml.substr(end + std::string(accountable::kCommandSchemasEnd).size());
  if (check) {
    if (updated == yaml) return 0;
    std::fprintf(stderr, "%s: the command schemas are stale; run generate_command_schemas\n", path.c_str());
    return 1;
  }
  std::ofstream out(path, std::ios::trunc);
  out << updated;
  std::printf("%s: %zu bytes of command schemas\n", path.c_str(), block.size());
  return out ? 0 : 1;
}
