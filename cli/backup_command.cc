// acct backup --data DIR --to DEST: a consistent copy of a data folder, also
// while `acct serve` runs on it (it does not take DATA/LOCK).
// acct restore --from BACKUP --data DIR: the copy back, checked against its
// MANIFEST first. docs/backup.md.
#include <boost/json.hpp>
#include <cstdio>
#include <memory>
#include <string>

#include "backup/backup.h"
#include "backup/restore.h"
#include "cli/commands.h"

namespace accountable::cli {

namespace {

void print_json(const boost::json::value& v) { std::printf("%s\n", boost::json::serialize(v).c_str()); }

boost::json::object summary(const Manifest& m, uint64_t bytes, double seconds) {
  return {{"head_position", m.head.value()},
          {"head_hash", hex_encode(m.head_hash.data(), m.head_hash.size())},
          {"files", m.files.size()},
          {"bytes", bytes},
          {"seconds", seconds}};
}

}  // namespace

void add_backup_command(CLI::App& app, int* exit_code) {
  auto* cmd = app.add_subcommand(
      "backup", "Copy a data folder consistently (also while acct serve runs on it) into a new folder with a MANIFEST");
  struct Args {
    std::string data = "./data";
    std::string to;
  };
  auto args = std::make_shared<Args>();
  cmd->add_option("--data", args->data, "data folder to copy (read only; its lock is not taken)")->capture_default_str();
  cmd->add_option("--to", args->to, "the backup folder: must not exist or be empty")->required();
  cmd->callback([args, exit_code] {
    BackupOptions options;
    options.data_dir = args->data;
    options.dest_dir = args->to;
    auto report = take_backup(options);
    if (!report) {
      std::fprintf(stderr, "backup: %s\n", report.status().to_string().c_str());
      *exit_code = 1;
      return;
    }
    boost::json::object line = summary(report->manifest, report->bytes, report->seconds);
    line.emplace("backup", args->to);
    line.emplace("torn_bytes_cut", report->torn_bytes);
    line.emplace("purges_applied", report->purges_applied);
    print_json(line);
  });
}

void add_restore_command(CLI::App& app, int* exit_code) {
  auto* cmd = app.add_subcommand("restore", "Check a backup against its MANIFEST and copy it into a new data folder");
  struct Args {
    std::string from;
    std::string data;
  };
  auto args = std::make_shared<Args>();
  cmd->add_option("--from", args->from, "the backup folder (written by acct backup)")->required();
  cmd->add_option("--data", args->data, "the data folder to create: must not exist or be empty")->required();
  cmd->callback([args, exit_code] {
    RestoreOptions options;
    options.backup_dir = args->from;
    options.data_dir = args->data;
    auto report = restore_backup(options);
    if (!report) {
      std::fprintf(stderr, "restore: %s\n", report.status().to_string().c_str());
      *exit_code = 1;
      return;
    }
    boost::json::object line = summary(report->manifest, report->bytes, report->seconds);
    line.emplace("restored", args->data);
    line.emplace("from", args->from);
    print_json(line);
  });
}

}  // namespace accountable::cli
