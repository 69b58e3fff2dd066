// acct proof inclusion|consistency: fetch a proof from a running log.
// acct verify-proof: check an event against a signed checkpoint offline,
// with only the log's public key (docs/audit.md, "Proofs").
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <sstream>
#include <string>

#include <boost/json.hpp>

#include "cli/commands.h"
#include "events/signed_checkpoint.h"
#include "transparency/event_proof.h"
#include "transparency/log_client.h"

namespace accountable::cli {
namespace {

namespace json = boost::json;

int print_answer(const Result<std::string>& body, const char* what) {
  if (!body) {
    std::fprintf(stderr, "proof %s: %s\n", what, body.status().to_string().c_str());
    return 2;
  }
  std::printf("%s\n", body->c_str());
  return 0;
}

// The event to compare: a file holding one event, an answer of /v1/events
// ("events") or /history ("entries"), or export lines; the one at `position`.
Result<json::object> find_event(const std::string& text, uint64_t position) {
  auto at_position = [position](const json::value& v) {
    return v.is_object() && v.as_object().if_contains("position") != nullptr &&
           v.as_object().at("position").is_number() && v.as_object().at("position").to_number<uint64_t>() == position;
  };
  json::error_code ec;
  json::value whole = json::parse(text, ec);
  std::vector<json::value> candidates;
  if (!ec) {
    candidates.push_back(whole);
    for (const char* list : {"events", "entries"}) {
      if (whole.is_object() && whole.as_object().if_contains(list) && whole.at(list).is_array()) {
        for (const json::value& v : whole.at(list).as_array()) candidates.push_back(v);
      }
    }
  } else {
    std::istringstream lines(text);
    std::string line;
    while (std::getline(lines, line)) {
      json::value v = json::parse(line, ec);
      if (!ec) candidates.push_back(std::move(v));
    }
  }
  for (const json::value& v : candidates) {
    if (at_position(v)) return v.as_object();
  }
  return invalid_argument("no event at position " + std::to_string(position) + " in the file", "event");
}

}  // namespace

void add_proof_command(CLI::App& app, int* exit_code) {
  auto* cmd = app.add_subcommand("proof", "Fetch a Merkle proof from a running log (JSON on stdout)");
  cmd->require_subcommand(1);
  struct Args {
    std::string log;
    int shard = -1;
    uint64_t position = 0, tree_size = 0, from = 0, to = 0;
  };
  auto args = std::make_shared<Args>();
  auto client = [args]() {
    return LogClient::create(args->log, args->shard >= 0 ? std::optional<uint32_t>(args->shard) : std::nullopt);
  };
  auto* inclusion = cmd->add_subcommand(
      "inclusion", "The event at a position is in the tree of a size (default: the latest signed checkpoint's)");
  inclusion->add_option("--log", args->log, "the log's base URL, http://host:port")->required();
  inclusion->add_option("--position", args->position, "the event's position")->required();
  inclusion->add_option("--tree-size", args->tree_size, "the tree size (default: the latest signed checkpoint's)");
  inclusion->add_option("--shard", args->shard, "a cluster node's shard (S > 1)");
  inclusion->callback([args, client, exit_code] {
    // The token that may read the event: from the environment, never argv.
    const char* token = std::getenv("ACCT_TOKEN");
    if (token == nullptr) {
      std::fprintf(stderr, "proof inclusion: set ACCT_TOKEN to a token that may read the event\n");
      *exit_code = 2;
      return;
    }
    auto c = client();
    if (!c) {
      *exit_code = print_answer(c.status(), "inclusion");
      return;
    }
    std::string query = "/v1/proofs/inclusion?position=" + std::to_string(args->position);
    if (args->tree_size > 0) query += "&tree_size=" + std::to_string(args->tree_size);
    *exit_code = print_answer(c->get_ok(query, token), "inclusion");
  });
  auto* consistency = cmd->add_subcommand("consistency", "The tree of one size is a prefix of the tree of another");
  consistency->add_option("--log", args->log, "the log's base URL, http://host:port")->required();
  consistency->add_option("--from", args->from, "the smaller tree size")->required();
  consistency->add_option("--to", args->to, "the larger tree size")->required();
  consistency->add_option("--shard", args->shard, "a cluster node's shard (S > 1)");
  consistency->callback([args, client, exit_code] {
    auto c = client();
    if (!c) {
      *exit_code = print_answer(c.status(), "consistency");
      return;
    }
    *exit_code = print_answer(
        c->get_ok("/v1/proofs/consistency?from=" + std::to_string(args->from) + "&to=" + std::to_string(args->to)),
        "consistency");
  });
}

void add_verify_proof_command(CLI::App& app, int* exit_code) {
  auto* cmd = app.add_subcommand(
      "verify-proof", "Offline: check that an event is in a signed checkpoint, with only the log's public key");
  struct Args {
    std::string public_key, proof, checkpoint, event;
  };
  auto args = std::make_shared<Args>();
  cmd->add_option("--public-key", args->public_key, "the log's public key, kept out of band")->required();
  cmd->add_option("--proof", args->proof, "an inclusion proof (acct proof inclusion, GET /v1/proofs/inclusion)")
      ->required();
  cmd->add_option("--checkpoint", args->checkpoint,
                  "the signed checkpoint to check against (default: the one inside the proof)");
  cmd->add_option("--event", args->event,
                  "the event as served: one event, an answer of /v1/events or /history, or export lines");
  cmd->callback([args, exit_code] {
    Env* env = posix_env();
    // Names the field at fault (a member of the proof or of the event).
    auto fail = [exit_code](const std::string& what, const Status& s) {
      const std::string field = s.field().empty() ? "" : s.field() + ": ";
      std::printf("FAILED: %s%s%s\n", what.c_str(), field.c_str(), s.message().c_str());
      *exit_code = 1;
    };
    auto key = read_public_key_file(env, args->public_key);
    if (!key) {
      std::fprintf(stderr, "verify-proof: --public-key: %s\n", key.status().to_string().c_str());
      *exit_code = 2;
      return;
    }
    auto proof_text = env->read_file(args->proof);
    if (!proof_text) {
      std::fprintf(stderr, "verify-proof: --proof: %s\n", proof_text.status().to_string().c_str());
      *exit_code = 2;
      return;
    }
    json::error_code ec;
    json::value proof_json = json::parse(*proof_text, ec);
    if (ec) return fail("the proof is not JSON: ", Status(StatusCode::kInvalidArgument, ec.message()));
    auto bundle = inclusion_bundle_from_json(proof_json);
    if (!bundle) return fail("the proof: ", bundle.status());
    std::string checkpoint;
    if (!args->checkpoint.empty()) {
      auto text = env->read_file(args->checkpoint);
      if (!text) {
        std::fprintf(stderr, "verify-proof: --checkpoint: %s\n", text.status().to_string().c_str());
        *exit_code = 2;
        return;
      }
      checkpoint = *text;
    }
    std::optional<json::object> event;
    if (!args->event.empty()) {
      auto text = env->read_file(args->event);
      if (!text) {
        std::fprintf(stderr, "verify-proof: --event: %s\n", text.status().to_string().c_str());
        *exit_code = 2;
        return;
      }
      auto found = find_event(*text, bundle->position);
      if (!found) return fail("", found.status());
      event = *found;
    }
    auto report = check_event_proof(*bundle, checkpoint, *key, event ? &*event : nullptr);
    if (!report) return fail("", report.status());
    std::printf("checkpoint: %s, tree size %llu, root %s, signed by %s\n", report->origin.c_str(),
                static_cast<unsigned long long>(report->tree_size), hash_hex(report->root).c_str(),
                public_key_text(*key).c_str());
    std::printf("record: position %llu, hash %s, in the tree (inclusion proof of %zu hashes)\n",
                static_cast<unsigned long long>(report->position), hash_hex(report->record_hash).c_str(),
                bundle->proof.size());
    if (event) {
      std::printf("event: %zu member(s) equal to the signed record's\n", report->fields_compared);
    }
    for (const std::string& n : report->notes) std::printf("note: %s\n", n.c_str());
    std::printf("OK\n");
  });
}

}  // namespace accountable::cli
