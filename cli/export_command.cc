// acct export --data DIR --partner ID --format jsonl|csv [--to FILE]: every
// event of the partner with its envelope and decoded payload, then a trailer
// with the head position, head hash and the latest signed checkpoint.
// acct verify-export --data DIR --file EXPORT [--public-key FILE]: checks an
// export against the log and names the first mismatch (docs/audit.md).
#include <cstdio>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>

#include "aggregates/partner_export.h"
#include "app/account_stack.h"
#include "cli/commands.h"

namespace accountable::cli {

namespace {

Result<std::unique_ptr<AccountStack>> open_for_reading(const std::string& data) {
  AccountStackOptions options;
  options.data_dir = data;
  options.sign_checkpoints = false;  // a reader: it must not add signatures to the folder
  return AccountStack::open(options);
}

}  // namespace

void add_export_command(CLI::App& app, int* exit_code) {
  auto* cmd = app.add_subcommand("export", "Export a partner's events (JSON lines or CSV) with a signed trailer");
  struct Args {
    std::string data = "./data";
    std::string partner;
    std::string format = "jsonl";
    std::string to;
  };
  auto args = std::make_shared<Args>();
  cmd->add_option("--data", args->data, "data folder")->capture_default_str();
  cmd->add_option("--partner", args->partner, "partner id (UUID)")->required();
  cmd->add_option("--format", args->format, "jsonl or csv")
      ->capture_default_str()
      ->check(CLI::IsMember({"jsonl", "csv"}));
  cmd->add_option("--to", args->to, "write to this file (default: stdout)");
  cmd->callback([args, exit_code] {
    auto fail = [&](int code, const std::string& what) {
      std::fprintf(stderr, "export: %s\n", what.c_str());
      *exit_code = code;
    };
    auto partner = PartnerId::parse(args->partner);
    if (!partner) return fail(2, "--partner: " + partner.status().to_string());
    auto stack = open_for_reading(args->data);
    if (!stack) return fail(2, stack.status().to_string());
    auto log = read_partner_log((*stack)->log(), *partner);
    if (!log) {
      (*stack)->close().ignore();
      return fail(1, log.status().to_string());
    }
    auto lines = export_partner(*log, &(*stack)->cipher(), posix_env(), args->data, *partner,
                                args->format == "csv" ? ExportFormat::kCsv : ExportFormat::kJsonl);
    if (Status closed = (*stack)->close(); !closed.is_ok()) return fail(1, "close: " + closed.to_string());
    if (!lines) return fail(1, lines.status().to_string());
    std::string text;
    for (const std::string& l : *lines) text += l + "\n";
    if (args->to.empty()) {
      std::fwrite(text.data(), 1, text.size(), stdout);
    } else {
      std::ofstream out(args->to, std::ios::binary | std::ios::trunc);
      out << text;
      out.close();
      if (!out) return fail(1, "cannot write " + args->to);
      std::fprintf(stderr, "export: %zu lines written to %s\n", lines->size(), args->to.c_str());
    }
    *exit_code = 0;
  });
}

void add_verify_export_command(CLI::App& app, int* exit_code) {
  auto* cmd = app.add_subcommand("verify-export", "Check an export against the log; name the first mismatch");
  struct Args {
    std::string data = "./data";
    std::string file;
    std::string public_key;
  };
  auto args = std::make_shared<Args>();
  cmd->add_option("--data", args->data, "data folder")->capture_default_str();
  cmd->add_option("--file", args->file, "the export (JSON lines or CSV)")->required();
  cmd->add_option("--public-key", args->public_key,
                  "the signing public key, kept out of band (from `acct keys export-public`)");
  cmd->callback([args, exit_code] {
    auto fail = [&](int code, const std::string& what) {
      std::fprintf(stderr, "verify-export: %s\n", what.c_str());
      *exit_code = code;
    };
    std::ifstream in(args->file, std::ios::binary);
    if (!in) return fail(2, "cannot read " + args->file);
    std::stringstream buffer;
    buffer << in.rdbuf();
    std::optional<PublicKey> key;
    if (!args->public_key.empty()) {
      auto k = read_public_key_file(posix_env(), args->public_key);
      if (!k) return fail(2, "--public-key: " + k.status().to_string());
      key = *k;
    }
    auto stack = open_for_reading(args->data);
    if (!stack) return fail(2, stack.status().to_string());
    auto check = verify_export((*stack)->log(), &(*stack)->cipher(), buffer.str(), key);
    (*stack)->close().ignore();
    if (!check) return fail(2, check.status().to_string());
    for (const std::string& note : check->notes) std::printf("%s\n", note.c_str());
    if (!check->ok) {
      std::printf("MISMATCH at line %zu, field %s: %s\n", check->line, check->field.c_str(), check->message.c_str());
      *exit_code = 1;
      return;
    }
    std::printf("OK\n");
    *exit_code = 0;
  });
}

}  // namespace accountable::cli
