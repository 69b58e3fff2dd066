// acct verify --data DIR: offline check of the whole log (docs/log-format.md).
#include <cstdio>

#include "cli/commands.h"
#include "events/log_verify.h"

namespace accountable::cli {

void add_verify_command(CLI::App& app, int* exit_code) {
  auto* cmd = app.add_subcommand("verify", "Check every segment: framing, CRCs, positions, versions, hash chain");
  auto data = std::make_shared<std::string>("./data");
  cmd->add_option("--data", *data, "data folder")->capture_default_str();
  cmd->callback([data, exit_code] {
    auto report = verify_log(posix_env(), *data);
    if (!report) {
      std::fprintf(stderr, "verify: %s\n", report.status().to_string().c_str());
      *exit_code = 2;
      return;
    }
    const VerifyReport& r = *report;
    std::printf("segments %llu, commits %llu, events %llu, streams %llu, bytes %llu\n",
                static_cast<unsigned long long>(r.segments), static_cast<unsigned long long>(r.commits),
                static_cast<unsigned long long>(r.events), static_cast<unsigned long long>(r.streams),
                static_cast<unsigned long long>(r.bytes));
    std::printf("head position %llu, head hash %s\n", static_cast<unsigned long long>(r.head.value()),
                hex_encode(r.head_hash.data(), r.head_hash.size()).c_str());
    if (r.torn_tail) {
      std::printf("note: torn tail in %s at offset %llu (%s); it was never acknowledged and open will cut it off\n",
                  r.torn_tail->segment.c_str(), static_cast<unsigned long long>(r.torn_tail->offset),
                  r.torn_tail->reason.c_str());
    }
    if (!r.ok()) {
      std::printf("FAILED at position %llu (%s offset %llu): %s\n",
                  static_cast<unsigned long long>(r.problem->position.value()), r.problem->segment.c_str(),
                  static_cast<unsigned long long>(r.problem->offset), r.problem->reason.c_str());
      *exit_code = 1;
      return;
    }
    std::printf("OK\n");
  });
}

}  // namespace accountable::cli
