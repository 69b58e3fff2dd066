// acct witness: a separate process with its own key that cosigns a log's
// checkpoints only after checking each is consistent with the last one it
// cosigned (docs/witness.md). acct audit watch: the same check, for an
// auditor, without a key. Both print one JSON line per run (cron-friendly).
#include <csignal>
#include <cstdio>
#include <ctime>
#include <memory>
#include <string>
#include <thread>

#include <boost/json.hpp>

#include "cli/commands.h"
#include "events/signed_checkpoint.h"
#include "events/types.h"
#include "transparency/checkpoint_follower.h"

namespace accountable::cli {
namespace {

namespace json = boost::json;

volatile std::sig_atomic_t g_stop = 0;
void on_signal(int) { g_stop = 1; }

// Exit codes: 0 fine, 1 an inconsistent checkpoint (the alarm), 2 anything else.
constexpr int kAlarm = 1;
constexpr int kError = 2;

struct FollowArgs {
  std::string log;
  std::string state;
  std::string log_key;
  int shard = -1;
  unsigned interval = 0;  // seconds between polls; 0: one poll
};

void add_follow_options(CLI::App* cmd, FollowArgs* a, const char* log_key_option) {
  cmd->add_option("--log", a->log, "the log's base URL, http://host:port")->required();
  cmd->add_option("--state", a->state, "folder for what this process remembers between runs")->required();
  cmd->add_option(log_key_option, a->log_key, "the log's public key (from `acct keys export-public`), kept out of band")
      ->required();
  cmd->add_option("--shard", a->shard, "a cluster node's shard (S > 1)");
  cmd->add_option("--interval", a->interval, "poll every this many seconds until stopped (default: poll once)");
}

void print_line(const json::object& o) {
  std::printf("%s\n", json::serialize(o).c_str());
  std::fflush(stdout);
}

std::string now_text() {
  return format_timestamp(Timestamp{std::chrono::duration_cast<std::chrono::microseconds>(
                                        std::chrono::system_clock::now().time_since_epoch())
                                        .count()});
}

// One poll. `cosign` turns the check into a witness's cosignature.
int poll_once(const FollowArgs& a, const PublicKey& log_key, const std::string& state_path, const SigningKey* key,
              const std::string& witness_name) {
  Env* env = posix_env();
  json::object line{{"log", a.log}, {"checked_at", now_text()}};
  auto fail = [&](int code, const Status& s, bool alarm) {
    line["ok"] = false;
    if (alarm) line["inconsistent"] = true;
    line["error"] = s.message();
    print_line(line);
    return code;
  };
  auto last = load_followed(env, state_path);
  if (!last) return fail(kError, last.status(), false);
  auto client = LogClient::create(a.log, a.shard >= 0 ? std::optional<uint32_t>(a.shard) : std::nullopt);
  if (!client) return fail(kError, client.status(), false);
  HttpCheckpointSource source(*client);
  TreeCheckpoint seen;
  auto step = follow_checkpoint(source, log_key, *last, &seen);
  if (!step) {
    const bool alarm = step.status().code() == StatusCode::kConflict;
    if (alarm) {
      // The checkpoint that broke: the first inconsistent tree size this process saw.
      line["first_inconsistent_tree_size"] = seen.body.tree_size;
      if (*last) line["consistent_tree_size"] = (*last)->tree_size;
      std::fprintf(stderr, "ALARM: %s\n", step.status().message().c_str());
    }
    return fail(alarm ? kAlarm : kError, step.status(), alarm);
  }
  const TreeCheckpoint& c = step->checkpoint;
  line["origin"] = c.body.origin;
  line["tree_size"] = c.body.tree_size;
  line["root"] = hash_hex(c.body.root);
  line["previous_tree_size"] = step->previous_size;
  line["outcome"] = step->outcome == FollowOutcome::kFirst       ? "first"
                    : step->outcome == FollowOutcome::kUnchanged ? "unchanged"
                                                                 : "grown";
  FollowedCheckpoint remembered;
  remembered.origin = c.body.origin;
  remembered.tree_size = c.body.tree_size;
  remembered.root = c.body.root;
  remembered.note = c.note;
  remembered.seen_at = now_text();
  if (key != nullptr) {
    bool deliver = true;
    if (step->outcome == FollowOutcome::kUnchanged) {
      remembered = **last;  // nothing new to cosign; deliver again only if that failed before
      deliver = !remembered.delivered;
    } else {
      auto note = parse_signed_note(c.note);
      if (!note) return fail(kError, note.status(), false);
      const auto seconds = static_cast<uint64_t>(std::time(nullptr));
      note->signatures.push_back(key->cosign(note->text, witness_name, seconds));
      remembered.note = note->encode();
      remembered.delivered = false;
      // Remembered before it is sent: a cosignature is never given twice for
      // different views of the same size.
      if (Status s = save_followed(env, state_path, remembered); !s.is_ok()) return fail(kError, s, false);
      line["cosigned"] = true;
    }
    if (deliver) {
      auto posted = source.post_cosigned(remembered.note);
      line["delivered"] = posted.is_ok();
      if (!posted) {
        line["delivery_error"] = posted.status().message();
      } else {
        remembered.delivered = true;
        if (Status s = save_followed(env, state_path, remembered); !s.is_ok()) return fail(kError, s, false);
      }
    }
  } else if (step->outcome != FollowOutcome::kUnchanged) {
    if (Status s = save_followed(env, state_path, remembered); !s.is_ok()) return fail(kError, s, false);
  }
  line["ok"] = true;
  print_line(line);
  return 0;
}

// Polls once, or every `interval` seconds until SIGINT/SIGTERM; an alarm ends it.
int run(const FollowArgs& a, const PublicKey& log_key, const std::string& state_path, const SigningKey* key,
        const std::string& witness_name) {
  if (a.interval == 0) return poll_once(a, log_key, state_path, key, witness_name);
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  int code = 0;
  while (!g_stop) {
    code = poll_once(a, log_key, state_path, key, witness_name);
    if (code == kAlarm) return code;
    for (unsigned i = 0; i < a.interval * 10 && !g_stop; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return code;
}

Result<PublicKey> load_log_key(const std::string& path) { return read_public_key_file(posix_env(), path); }

}  // namespace

void add_witness_command(CLI::App& app, int* exit_code) {
  auto* cmd = app.add_subcommand("witness",
                                 "Cosign a log's checkpoints after checking each is consistent with the last one "
                                 "cosigned (c2sp.org/tlog-cosignature); refuse loudly otherwise");
  auto args = std::make_shared<FollowArgs>();
  auto key_path = std::make_shared<std::string>();
  auto name = std::make_shared<std::string>();
  add_follow_options(cmd, args.get(), "--log-key");
  cmd->add_option("--key", *key_path, "this witness's private key file (created, mode 0600, if missing)")->required();
  cmd->add_option("--name", *name, "this witness's name in its cosignatures (default: acct-witness-<key hex>)");
  cmd->callback([args, key_path, name, exit_code] {
    Env* env = posix_env();
    auto key = SigningKey::open_or_create_file(env, *key_path);
    if (!key) {
      std::fprintf(stderr, "witness: --key: %s\n", key.status().to_string().c_str());
      *exit_code = kError;
      return;
    }
    NoteVerifierKey vkey;
    vkey.name = name->empty() ? "acct-witness-" + hex_encode((*key)->public_key().data(), 4) : *name;
    vkey.type = NoteKeyType::kCosignatureV1;
    vkey.key = (*key)->public_key();
    // The verifier key, for auditors' `acct verify --witness-key` and the
    // log's `serve --witness-key`: public, written beside the key.
    const std::string vkey_path = *key_path + ".vkey";
    if (Status s = env->write_file_atomically(vkey_path, vkey.text() + "\n"); !s.is_ok()) {
      std::fprintf(stderr, "witness: %s\n", s.to_string().c_str());
      *exit_code = kError;
      return;
    }
    auto log_key = load_log_key(args->log_key);
    if (!log_key) {
      std::fprintf(stderr, "witness: --log-key: %s\n", log_key.status().to_string().c_str());
      *exit_code = kError;
      return;
    }
    if (Status s = env->create_dir(args->state); !s.is_ok()) {
      std::fprintf(stderr, "witness: --state: %s\n", s.to_string().c_str());
      *exit_code = kError;
      return;
    }
    *exit_code = run(*args, *log_key, join_path(args->state, "witness.json"), key->get(), vkey.name);
  });
}

void add_audit_command(CLI::App& app, int* exit_code) {
  auto* audit = app.add_subcommand("audit", "An auditor's checks of a running log");
  audit->require_subcommand(1);
  auto* cmd = audit->add_subcommand(
      "watch", "Check the log's latest checkpoint against the last one seen (consistency proof); exit 1 naming the "
               "first inconsistent tree size");
  auto args = std::make_shared<FollowArgs>();
  add_follow_options(cmd, args.get(), "--public-key");
  cmd->callback([args, exit_code] {
    auto log_key = load_log_key(args->log_key);
    if (!log_key) {
      std::fprintf(stderr, "audit watch: --public-key: %s\n", log_key.status().to_string().c_str());
      *exit_code = kError;
      return;
    }
    if (Status s = posix_env()->create_dir(args->state); !s.is_ok()) {
      std::fprintf(stderr, "audit watch: --state: %s\n", s.to_string().c_str());
      *exit_code = kError;
      return;
    }
    *exit_code = run(*args, *log_key, join_path(args->state, "audit-watch.json"), nullptr, "");
  });
}

}  // namespace accountable::cli
