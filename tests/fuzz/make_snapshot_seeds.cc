// Writes seeds for fuzz_snapshot_state (tests/fuzz/corpus/snapshot_state/):
//   make_snapshot_seeds <out dir> <golden dir>
// Every golden event payload (tests/golden/<Type>.v<N>.bin, newest N of each
// type) is folded into each of the four aggregate states, so the seeds hold
// every field a state can fill; an empty state of each kind is a seed too.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <regex>
#include <string>

#include "aggregates/state_codec.h"
#include "schema/domain_events.h"

namespace fs = std::filesystem;
using namespace accountable;

namespace {

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

void write_seed(const fs::path& dir, const std::string& name, char selector, const std::string& bytes) {
  std::ofstream out(dir / name, std::ios::binary);
  out.write(&selector, 1);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: make_snapshot_seeds <out dir> <golden dir>\n");
    return 2;
  }
  const fs::path out = argv[1];
  fs::create_directories(out);
  std::map<std::string, std::pair<int, fs::path>> newest;  // type -> (version, file)
  const std::regex name(R"((\w+)\.v(\d+)\.bin)");
  for (const auto& entry : fs::directory_iterator(argv[2])) {
    std::smatch m;
    const std::string file = entry.path().filename().string();
    if (!std::regex_match(file, m, name)) continue;
    const int version = std::stoi(m[2]);
    auto& slot = newest[m[1]];
    if (version > slot.first) slot = {version, entry.path()};
  }
  PartnerState partner;
  UserState user;
  BusinessProfileState profile;
  CatalogState catalog;
  write_seed(out, "empty.partner", 0, encode_state(partner));
  write_seed(out, "empty.user", 1, encode_state(user));
  write_seed(out, "empty.business_profile", 2, encode_state(profile));
  write_seed(out, "empty.catalog", 3, encode_state(catalog));
  int folded = 0;
  for (const auto& [type, v] : newest) {
    auto event = decode_event(type, static_cast<uint16_t>(v.first), slurp(v.second));
    if (!event) {
      std::fprintf(stderr, "%s: %s\n", v.second.c_str(), event.status().to_string().c_str());
      return 1;
    }
    partner = evolve(std::move(partner), *event);
    user = evolve(std::move(user), *event);
    profile = evolve(std::move(profile), *event);
    catalog = evolve(std::move(catalog), *event);
    ++folded;
  }
  write_seed(out, "golden.partner", 0, encode_state(partner));
  write_seed(out, "golden.user", 1, encode_state(user));
  write_seed(out, "golden.business_profile", 2, encode_state(profile));
  write_seed(out, "golden.catalog", 3, encode_state(catalog));
  std::printf("make_snapshot_seeds: %d golden events folded into 4 states, 8 seeds in %s\n", folded,
              out.c_str());
  return 0;
}
