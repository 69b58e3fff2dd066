// acct verify --data DIR [--public-key FILE]: offline check of the whole log
// and of its signed checkpoints (docs/log-format.md). Needs no private key.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>

#include <boost/json.hpp>

#include "cli/commands.h"
#include "events/data_layout.h"
#include "events/log_verify.h"
#include "events/tree_verify.h"
#include "events/signed_checkpoint.h"

namespace accountable::cli {

namespace {

using ull = unsigned long long;

// Progress on stderr, only when a person watches (stdout is a terminal).
// `*shown` tells the caller to end the progress line.
VerifyProgress terminal_progress(std::shared_ptr<bool> shown) {
  if (!::isatty(STDOUT_FILENO)) return {};
  const auto start = std::chrono::steady_clock::now();
  return [start, shown](uint64_t done, uint64_t total, uint64_t events) {
    *shown = true;
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const double rate = seconds > 0 ? static_cast<double>(events) / seconds : 0;
    const double fraction = total > 0 ? static_cast<double>(done) / static_cast<double>(total) : 1;
    const double eta = fraction > 0 ? seconds * (1 - fraction) / fraction : 0;
    std::fprintf(stderr, "\rverify: %5.1f%% done, %llu events, %.0f events/s, ETA %.0f s   ", 100 * fraction,
                 static_cast<ull>(events), rate, eta);
    std::fflush(stderr);
  };
}

void print_log_report(const VerifyReport& r) {
  std::printf("segments %llu, commits %llu, events %llu, streams %llu, bytes %llu\n", static_cast<ull>(r.segments),
              static_cast<ull>(r.commits), static_cast<ull>(r.events), static_cast<ull>(r.streams),
              static_cast<ull>(r.bytes));
  std::printf("head position %llu, head hash %s\n", static_cast<ull>(r.head.value()),
              hex_encode(r.head_hash.data(), r.head_hash.size()).c_str());
  if (r.torn_tail) {
    std::printf("note: torn tail in %s at offset %llu (%s); it was never acknowledged and open will cut it off\n",
                r.torn_tail->segment.c_str(), static_cast<ull>(r.torn_tail->offset), r.torn_tail->reason.c_str());
  }
  if (!r.ok()) {
    const VerifyProblem& p = *r.problem;
    const ull position = p.position.value();
    if (p.kind == VerifyProblem::Kind::kHashChain) {
      // Bytes changed with their CRCs recomputed: only the chain catches it.
      std::printf("FAILED at position %llu (%s offset %llu): hash chain break at position %llu (%s)\n", position,
                  p.segment.c_str(), static_cast<ull>(p.offset), position, p.reason.c_str());
    } else {
      std::printf("FAILED at position %llu (%s offset %llu): %s\n", position, p.segment.c_str(),
                  static_cast<ull>(p.offset), p.reason.c_str());
    }
  }
}

// `missing_is_a_note`: no checkpoint at all is said as a note, not a failure.
void print_signature_report(const SignatureReport& s, bool missing_is_a_note) {
  std::printf("signatures: %llu checkpoint(s), %llu verified, %llu failed", static_cast<ull>(s.checkpoints),
              static_cast<ull>(s.verified), static_cast<ull>(s.failed));
  if (s.not_checked > 0) std::printf(", %llu not checked (past the log's failure)", static_cast<ull>(s.not_checked));
  std::printf(", last verified position %llu\n", static_cast<ull>(s.last_verified_position));
  if (s.unsigned_events > 0) {
    std::printf("note: %llu event(s) after position %llu are not covered by a signature (yet)\n",
                static_cast<ull>(s.unsigned_events), static_cast<ull>(s.last_verified_position));
  }
  if (s.problem) {
    const bool note = missing_is_a_note && s.problem->kind == SignatureProblem::Kind::kNoCheckpoints;
    std::printf("%s: %s\n", note ? "note" : "FAILED", s.problem->message.c_str());
  }
}

// A file of checkpoints: one signed note, or JSON lines with a "checkpoint"
// member (serve --publish-checkpoints, a witness's state file).
Result<std::vector<std::string>> read_checkpoint_notes(Env* env, const std::string& path) {
  auto text = env->read_file(path);
  if (!text) return text.status();
  std::vector<std::string> notes;
  if (!text->empty() && text->front() == '{') {
    size_t start = 0;
    while (start < text->size()) {
      size_t end = text->find('\n', start);
      if (end == std::string::npos) end = text->size();
      const std::string line = text->substr(start, end - start);
      start = end + 1;
      if (line.empty()) continue;
      boost::json::error_code ec;
      boost::json::value v = boost::json::parse(line, ec);
      if (ec || !v.is_object() || !v.as_object().contains("checkpoint") || !v.at("checkpoint").is_string()) {
        return invalid_argument("a line without a \"checkpoint\" string", "checkpoint");
      }
      notes.emplace_back(v.at("checkpoint").as_string());
    }
  } else {
    notes.push_back(*text);
  }
  return notes;
}

void print_tree_report(const TreeVerifyReport& t, uint64_t events) {
  if (t.files_present) {
    std::printf("tree: %llu leaves in merkle/, checked against the log\n", static_cast<ull>(t.file_leaves));
  } else if (events > 0) {
    std::printf("note: no merkle/ tree files (the next open builds them from the log)\n");
  }
  if (t.file_problem) std::printf("FAILED: tree files damaged: %s\n", t.file_problem->c_str());
  if (t.external > 0) {
    std::printf("checkpoints kept outside the folder: %llu, %llu given by the log\n", static_cast<ull>(t.external),
                static_cast<ull>(t.external_verified));
  }
  std::printf("tree checkpoints: %llu, %llu verified, %llu failed, last verified tree size %llu", static_cast<ull>(t.checkpoints),
              static_cast<ull>(t.verified), static_cast<ull>(t.failed), static_cast<ull>(t.last_verified_size));
  if (t.verified > 0) std::printf(", root %s", hex_encode(t.last_verified_root.data(), t.last_verified_root.size()).c_str());
  std::printf("\n");
  if (t.problem) std::printf("FAILED: %s\n", t.problem->c_str());
  if (t.witness_keys > 0) {
    if (t.witnessed_size > 0) {
      std::printf("witnesses: tree size %llu cosigned by %llu of %llu witness key(s) (quorum %llu)\n",
                  static_cast<ull>(t.witnessed_size), static_cast<ull>(t.witnessed_by), static_cast<ull>(t.witness_keys),
                  static_cast<ull>(t.quorum));
      if (events > t.witnessed_size) {
        std::printf("note: %llu event(s) after tree size %llu are not witnessed (yet)\n",
                    static_cast<ull>(events - t.witnessed_size), static_cast<ull>(t.witnessed_size));
      }
    }
    if (t.witness_problem) std::printf("FAILED: witnesses: %s\n", t.witness_problem->c_str());
  }
}

}  // namespace

void add_verify_command(CLI::App& app, int* exit_code) {
  auto* cmd = app.add_subcommand(
      "verify", "Check every segment (framing, CRCs, positions, versions, hash chain) and the signed checkpoints");
  struct Args {
    std::string data = "./data";
    std::string public_key;
    std::vector<std::string> witness_keys;
    uint64_t witness_quorum = 0;
    std::vector<std::string> checkpoints;
  };
  auto args = std::make_shared<Args>();
  cmd->add_option("--data", args->data, "data folder")->capture_default_str();
  cmd->add_option("--public-key", args->public_key,
                  "the signing public key, kept out of band (from `acct keys export-public`)");
  cmd->add_option("--witness-key", args->witness_keys,
                  "a witness's verifier key file (from `acct witness --key`); repeat for several")
      ->take_all();
  cmd->add_option("--checkpoint", args->checkpoints,
                  "a tree checkpoint kept outside the folder: a signed note, or a file of published checkpoints "
                  "(serve --publish-checkpoints); the log must still give each one")
      ->take_all();
  cmd->add_option("--witness-quorum", args->witness_quorum,
                  "how many of the witness keys must have cosigned (default: all of them)");
  cmd->callback([args, exit_code] {
    if (Status s = refuse_shard_parent(args->data); !s.is_ok()) {
      std::fprintf(stderr, "verify: %s\n", s.to_string().c_str());
      *exit_code = 2;
      return;
    }
    Env* env = posix_env();
    auto shown = std::make_shared<bool>(false);
    const VerifyProgress progress = terminal_progress(shown);
    auto end_progress = [shown] {
      if (*shown) std::fputc('\n', stderr);
    };

    // Which key: the one given (proof), else the copy next to the data (a consistency check only).
    std::optional<PublicKey> key;
    std::string key_source;
    if (!args->public_key.empty()) {
      auto k = read_public_key_file(env, args->public_key);
      if (!k) {
        std::fprintf(stderr, "verify: --public-key: %s\n", k.status().to_string().c_str());
        *exit_code = 2;
        return;
      }
      key = *k;
      key_source = "given with --public-key (" + args->public_key + ")";
    } else if (const std::string pub = signing_pub_path(args->data); env->file_exists(pub)) {
      auto k = read_public_key_file(env, pub);
      if (!k) {
        std::fprintf(stderr, "verify: %s\n", k.status().to_string().c_str());
        *exit_code = 2;
        return;
      }
      key = *k;
      key_source = "from " + pub;
    }

    if (!key && !args->witness_keys.empty()) {
      std::fprintf(stderr, "verify: --witness-key needs the log's public key (--public-key, or %s)\n",
                   signing_pub_path(args->data).c_str());
      *exit_code = 2;
      return;
    }
    if (!key) {
      auto report = verify_log(env, args->data, progress);
      end_progress();
      if (!report) {
        std::fprintf(stderr, "verify: %s\n", report.status().to_string().c_str());
        *exit_code = 2;
        return;
      }
      print_log_report(*report);
      std::printf("note: signatures not checked (no --public-key and no %s)\n", signing_pub_path(args->data).c_str());
      if (!report->ok()) {
        *exit_code = 1;
        return;
      }
      std::printf("OK\n");
      return;
    }

    SignedVerifyOptions verify_options;
    verify_options.progress = progress;
    for (const std::string& path : args->witness_keys) {
      auto vkey = read_witness_key_file(env, path);
      if (!vkey) {
        std::fprintf(stderr, "verify: %s\n", vkey.status().to_string().c_str());
        *exit_code = 2;
        return;
      }
      verify_options.witness_keys.push_back(*vkey);
    }
    if (args->witness_quorum > verify_options.witness_keys.size()) {
      std::fprintf(stderr, "verify: --witness-quorum %llu is more than the %zu witness key(s) given\n",
                   static_cast<ull>(args->witness_quorum), verify_options.witness_keys.size());
      *exit_code = 2;
      return;
    }
    verify_options.witness_quorum = args->witness_quorum;
    for (const std::string& path : args->checkpoints) {
      auto notes = read_checkpoint_notes(env, path);
      if (!notes) {
        std::fprintf(stderr, "verify: --checkpoint %s: %s\n", path.c_str(), notes.status().to_string().c_str());
        *exit_code = 2;
        return;
      }
      verify_options.external_checkpoints.insert(verify_options.external_checkpoints.end(), notes->begin(),
                                                 notes->end());
    }
    auto report = verify_signed_log(env, args->data, *key, verify_options);
    end_progress();
    if (!report) {
      std::fprintf(stderr, "verify: %s\n", report.status().to_string().c_str());
      *exit_code = 2;
      return;
    }
    print_log_report(report->log);
    std::printf("signing key %s, %s\n", public_key_text(*key).c_str(), key_source.c_str());
    print_signature_report(report->signatures, /*missing_is_a_note=*/args->public_key.empty());
    print_tree_report(report->tree, report->log.head.value());
    if (args->public_key.empty()) {
      std::printf(
          "note: that key sits next to the data, so whoever can rewrite the log can replace it too; only a key kept "
          "out of band (acct keys export-public, then verify --public-key FILE) proves the log was not rewritten\n");
    }
    // Nothing signed yet is a failure only when the auditor asked for proof
    // with their own key; otherwise it is said, and the log's checks decide.
    const bool nothing_signed_is_a_note = args->public_key.empty() && report->signatures.problem &&
                                          report->signatures.problem->kind == SignatureProblem::Kind::kNoCheckpoints &&
                                          report->signatures.failed == 0;
    if (!report->log.ok() || (!report->signatures.ok() && !nothing_signed_is_a_note) || !report->tree.ok()) {
      *exit_code = 1;
      return;
    }
    if (nothing_signed_is_a_note) std::printf("note: nothing is signed yet; the log's own checks passed\n");
    std::printf("OK\n");
  });
}

}  // namespace accountable::cli
