// TEST ONLY. Reads a whole folder tree through an Env, for tests that must
// prove a secret appears in no file of the data folder.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "events/env.h"

namespace accountable::testing {

// Every file under `dir`, recursively, through the Env only.
inline void collect_files(Env* env, const std::string& dir, std::vector<std::string>* out) {
  auto names = env->list_dir(dir);
  ASSERT_TRUE(names.is_ok()) << names.status().to_string();
  for (const auto& name : *names) {
    const std::string path = join_path(dir, name);
    if (env->list_dir(path).is_ok()) {
      collect_files(env, path, out);
    } else {
      out->push_back(path);
    }
  }
}

// Every byte of every file under `dir`, each file followed by a NUL; `files`
// receives the file count.
inline std::string all_bytes(Env* env, const std::string& dir, size_t* files = nullptr) {
  std::vector<std::string> paths;
  collect_files(env, dir, &paths);
  std::string all;
  for (const auto& p : paths) {
    auto bytes = env->read_file(p);
    EXPECT_TRUE(bytes.is_ok()) << p << ": " << bytes.status().to_string();
    if (bytes) all += *bytes + '\x00';
  }
  if (files) *files = paths.size();
  return all;
}

}  // namespace accountable::testing
