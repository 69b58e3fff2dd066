// The subcommands of `acct`. Each file registers one; main.cc wires them up.
// Subcommands are thin: parse flags, call the library, print, return an exit code.
#pragma once

#include <CLI/CLI.hpp>

namespace accountable::cli {

// Each adds its subcommand to `app`; the callback stores the exit code in `*exit_code`.
void add_serve_command(CLI::App& app, int* exit_code);
void add_verify_command(CLI::App& app, int* exit_code);
void add_keys_command(CLI::App& app, int* exit_code);
void add_read_command(CLI::App& app, int* exit_code);
void add_bench_command(CLI::App& app, int* exit_code);
void add_exec_command(CLI::App& app, int* exit_code);
void add_views_command(CLI::App& app, int* exit_code);
void add_relay_command(CLI::App& app, int* exit_code);
void add_history_command(CLI::App& app, int* exit_code);
void add_state_command(CLI::App& app, int* exit_code);
void add_export_command(CLI::App& app, int* exit_code);
void add_verify_export_command(CLI::App& app, int* exit_code);
void add_backup_command(CLI::App& app, int* exit_code);
void add_restore_command(CLI::App& app, int* exit_code);
void add_cluster_command(CLI::App& app, int* exit_code);
void add_witness_command(CLI::App& app, int* exit_code);
void add_audit_command(CLI::App& app, int* exit_code);
void add_proof_command(CLI::App& app, int* exit_code);
void add_verify_proof_command(CLI::App& app, int* exit_code);
void add_operator_token_command(CLI::App& app, int* exit_code);
void add_security_log_command(CLI::App& app, int* exit_code);
void add_retention_command(CLI::App& app, int* exit_code);

}  // namespace accountable::cli
