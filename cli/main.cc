// acct: the command-line entry point of Accountable.
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "cli/commands.h"

int main(int argc, char** argv) {
  // Logs go to stderr, so that stdout carries only the command's output (JSON lines).
  spdlog::set_default_logger(spdlog::stderr_color_mt("acct"));

  CLI::App app{"acct: Accountable, an event-sourced account engine"};
  app.require_subcommand(1);
  int exit_code = 0;
  accountable::cli::add_serve_command(app, &exit_code);
  accountable::cli::add_verify_command(app, &exit_code);
  accountable::cli::add_keys_command(app, &exit_code);
  accountable::cli::add_read_command(app, &exit_code);
  accountable::cli::add_bench_command(app, &exit_code);
  accountable::cli::add_exec_command(app, &exit_code);
  accountable::cli::add_relay_command(app, &exit_code);
  accountable::cli::add_views_command(app, &exit_code);
  accountable::cli::add_history_command(app, &exit_code);
  accountable::cli::add_state_command(app, &exit_code);
  accountable::cli::add_export_command(app, &exit_code);
  accountable::cli::add_verify_export_command(app, &exit_code);
  accountable::cli::add_backup_command(app, &exit_code);
  accountable::cli::add_restore_command(app, &exit_code);
  accountable::cli::add_cluster_command(app, &exit_code);
  accountable::cli::add_witness_command(app, &exit_code);
  accountable::cli::add_audit_command(app, &exit_code);
  accountable::cli::add_proof_command(app, &exit_code);
  accountable::cli::add_verify_proof_command(app, &exit_code);
  accountable::cli::add_operator_token_command(app, &exit_code);
  accountable::cli::add_security_log_command(app, &exit_code);
  accountable::cli::add_retention_command(app, &exit_code);
  CLI11_PARSE(app, argc, argv);
  return exit_code;
}
