#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <string_view>

namespace accountable::testing {

// A fresh, empty folder on the real file system for the running test, named
// after it and the process (ctest -j2 runs tests of one binary in parallel
// processes), removed again at the end. Tests that need the in-memory file
// system use FaultInjectionEnv instead.
class ScratchDir {
 public:
  explicit ScratchDir(std::string_view prefix)
      : path_((std::filesystem::temp_directory_path() /
               (std::string(prefix) + "-" + std::to_string(::getpid()) + "-" +
                ::testing::UnitTest::GetInstance()->current_test_info()->name()))
                  .string()) {
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~ScratchDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;

  const std::string& path() const { return path_; }
  std::string file(std::string_view name) const { return path_ + "/" + std::string(name); }

 private:
  std::string path_;
};

}  // namespace accountable::testing
