// Writes the golden fixtures that do not exist yet: tests/golden/<Type>.v<N>.bin.
//
//   generate_golden [DIR]      (default: ACCT_GOLDEN_DIR, else the source folder)
//
// A fixture is written once and never edited: an existing file is left alone.
// If its bytes differ from what the sample encodes to today, that is reported
// (exit 1): either the sample in golden_samples.h or the codec changed, and a
// schema change must add a new version, not rewrite an old fixture.
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <iterator>
#include <string>

#include "tests/golden/golden_samples.h"

#ifndef ACCT_GOLDEN_DIR
#define ACCT_GOLDEN_DIR "tests/golden"
#endif

int main(int argc, char** argv) {
  std::string dir = ACCT_GOLDEN_DIR;
  if (const char* env = std::getenv("ACCT_GOLDEN_DIR")) dir = env;
  if (argc > 1) dir = argv[1];
  int written = 0, kept = 0, differing = 0;
  for (const auto& f : accountable::golden::fixtures()) {
    std::string path = dir + "/" + f.file_name();
    std::string bytes = f.encode();
    // "x": exclusive create (fails if the file exists); never truncates a fixture.
    std::FILE* out = std::fopen(path.c_str(), "wbx");
    if (out == nullptr) {
      std::ifstream in(path, std::ios::binary);
      if (!in) {
        std::cerr << "cannot create " << path << "\n";
        return 2;
      }
      std::string old((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      if (old != bytes) {
        std::cerr << "kept " << path << " but today's sample encodes differently (not overwritten)\n";
        ++differing;
      }
      ++kept;
      continue;
    }
    bool ok = std::fwrite(bytes.data(), 1, bytes.size(), out) == bytes.size();
    ok = (std::fclose(out) == 0) && ok;
    if (!ok) {
      std::cerr << "write failed: " << path << "\n";
      return 2;
    }
    std::cout << "wrote " << path << " (" << bytes.size() << " bytes)\n";
    ++written;
  }
  std::cout << written << " written, " << kept << " kept\n";
  return differing == 0 ? 0 : 1;
}
