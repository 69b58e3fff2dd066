#include "transparency/event_proof.h"

#include "events/merkle.h"
#include "events/record_codec.h"
#include "events/tree_checkpoint.h"
#include "schema/json_codec.h"
#include "schema/personal_data.h"

namespace accountable {
namespace json = boost::json;
namespace {

// Offline there is no key store: every sealed field reads as erased, which
// the comparison below counts instead of comparing.
class NoKeys final : public PersonalDataCipher {
 public:
  Result<std::string> seal(const std::string&, std::string_view) override {
    return Status(StatusCode::kInternal, "no key store offline");
  }
  Result<std::string> open(const std::string&, std::string_view) override { return not_found("offline"); }
  Status erase(const std::string&) override { return Status::ok(); }
};

Status mismatch(const std::string& field, const std::string& why) { return invalid_argument(why, field); }

bool is_erased_marker(const json::value& v) {
  return v.is_object() && v.as_object().size() == 1 && v.as_object().contains("erased") &&
         v.as_object().at("erased") == json::value(true);
}

// The record's data (sealed fields as erased markers) against the served one.
Status compare_data(const json::value& record, const json::value& served, const std::string& path,
                    EventProofReport* report) {
  if (is_erased_marker(record)) {
    report->sealed_fields += 1;  // personal data: sealed in the log, clear (or erased) in the answer
    return Status::ok();
  }
  if (record.is_object() && served.is_object()) {
    const json::object& r = record.as_object();
    const json::object& s = served.as_object();
    if (r.size() != s.size()) return mismatch(path, "the event's data has other members than the record's");
    for (const auto& [key, value] : r) {
      const json::value* other = s.if_contains(key);
      if (other == nullptr) return mismatch(path + "." + std::string(key), "missing from the event");
      if (Status st = compare_data(value, *other, path + "." + std::string(key), report); !st.is_ok()) return st;
    }
    return Status::ok();
  }
  if (record.is_array() && served.is_array()) {
    if (record.as_array().size() != served.as_array().size()) return mismatch(path, "a list of another length");
    for (size_t i = 0; i < record.as_array().size(); ++i) {
      if (Status st = compare_data(record.as_array()[i], served.as_array()[i], path + "[" + std::to_string(i) + "]",
                                   report);
          !st.is_ok()) {
        return st;
      }
    }
    return Status::ok();
  }
  report->fields_compared += 1;
  if (record != served) {
    return mismatch(path, "the event says " + json::serialize(served) + ", the signed record " + json::serialize(record));
  }
  return Status::ok();
}

}  // namespace

Result<EventProofReport> check_event_proof(const InclusionBundle& bundle, std::string_view checkpoint_note,
                                           const PublicKey& log_key, const json::object* event) {
  EventProofReport report;
  // 1. The checkpoint: signed by the log's key.
  const std::string note(checkpoint_note.empty() ? std::string_view(bundle.checkpoint) : checkpoint_note);
  if (note.empty()) return invalid_argument("no signed checkpoint: give one (the proof carries none)", "checkpoint");
  auto checkpoint = parse_tree_checkpoint(note);
  if (!checkpoint) return checkpoint.status();
  if (Status s = check_tree_checkpoint(*checkpoint, log_key); !s.is_ok()) return s;
  report.origin = checkpoint->body.origin;
  report.tree_size = checkpoint->body.tree_size;
  report.root = checkpoint->body.root;
  if (bundle.tree_size != checkpoint->body.tree_size) {
    return invalid_argument("the proof is for tree size " + std::to_string(bundle.tree_size) +
                                ", the checkpoint signs tree size " + std::to_string(checkpoint->body.tree_size),
                            "tree_size");
  }
  // 2. The record: it hashes to its own hash, and it sits at the position.
  auto record = record_codec::decode_record(bundle.record);
  if (!record) return invalid_argument("the record does not decode: " + record.status().message(), "record");
  if (record_codec::compute_record_hash(bundle.record) != record->hash) {
    return invalid_argument("the record's bytes do not hash to the hash it carries", "record");
  }
  if (record->position.value() != bundle.position) {
    return invalid_argument("the record is at position " + std::to_string(record->position.value()) +
                                ", the proof names " + std::to_string(bundle.position),
                            "position");
  }
  report.position = bundle.position;
  report.record_hash = record->hash;
  // 3. The record's leaf is in the signed tree.
  if (Status s = merkle::verify_inclusion(bundle.position - 1, checkpoint->body.tree_size,
                                          merkle::leaf_hash(record->hash), bundle.proof, checkpoint->body.root);
      !s.is_ok()) {
    return invalid_argument("the record is not in the signed tree: " + s.message(), "proof");
  }
  if (event == nullptr) return report;

  // 4. The event as served is that record. Members go by their names in the
  // events API, the exports (envelope_members) and the history.
  NoKeys no_keys;
  const json::object rendered = recorded_event_json(*record, &no_keys);
  struct Alias {
    const char* record;
    std::vector<const char*> served;
  };
  const Alias aliases[] = {{"position", {"position"}},
                           {"stream", {"stream"}},
                           {"version", {"version", "stream_version"}},
                           {"type", {"type", "event_type"}},
                           {"schema_version", {"schema_version"}},
                           {"event_id", {"event_id"}},
                           {"command_id", {"command_id"}},
                           {"correlation_id", {"correlation_id"}},
                           {"causation_id", {"causation_id"}},
                           {"actor", {"actor"}},
                           {"recorded_at", {"recorded_at"}},
                           {"partner", {"partner"}}};
  if (event->if_contains("position") == nullptr) return invalid_argument("the event has no position", "position");
  for (const Alias& a : aliases) {
    for (const char* name : a.served) {
      const json::value* served = event->if_contains(name);
      if (served == nullptr) continue;
      report.fields_compared += 1;
      if (*served != rendered.at(a.record)) {
        return invalid_argument("the event says " + json::serialize(*served) + ", the signed record " +
                                    json::serialize(rendered.at(a.record)),
                                name);
      }
    }
  }
  if (const json::value* hash = event->if_contains("hash"); hash != nullptr) {
    report.fields_compared += 1;
    if (*hash != json::value(json::string(hash_hex(record->hash)))) {
      return invalid_argument("the event's hash is not the signed record's", "hash");
    }
  }
  if (const json::value* data = event->if_contains("data"); data != nullptr) {
    if (rendered.contains("data_error")) {
      report.notes.push_back("the record's data does not decode in this build: " +
                             json::serialize(rendered.at("data_error")));
    } else if (Status s = compare_data(rendered.at("data"), *data, "data", &report); !s.is_ok()) {
      return s;
    }
  } else {
    report.notes.push_back("the event has no data member: only its envelope was compared");
  }
  if (report.sealed_fields > 0) {
    report.notes.push_back(std::to_string(report.sealed_fields) +
                           " personal field(s) are sealed in the record: their clear text is not checked offline");
  }
  return report;
}

}  // namespace accountable
