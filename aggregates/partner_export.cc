#include "aggregates/partner_export.h"

#include <algorithm>
#include <boost/json.hpp>
#include <iterator>

#include "schema/json_codec.h"

namespace accountable {

namespace json = boost::json;

namespace {

// The columns of an event line, in order (CSV header and JSONL keys alike):
// "record", the envelope's members (envelope_members, schema/json_codec.h),
// "hash", "data".
struct MemberNames {
  std::vector<std::string> out{"record"};
  void add(std::string_view name) { out.emplace_back(name); }
  void number(std::string_view name, const auto&) { add(name); }
  void text(std::string_view name, const auto&) { add(name); }
  void id(std::string_view name, const auto&) { add(name); }
  void time(std::string_view name, const auto&) { add(name); }
  void partner(std::string_view name, const auto&) { add(name); }
};

const std::vector<std::string>& columns() {
  static const std::vector<std::string> kColumns = [] {
    MemberNames names;
    const PartnerEvent any{};
    envelope_members(any, names);
    names.out.emplace_back("hash");
    names.out.emplace_back("data");
    return names.out;
  }();
  return kColumns;
}

std::string hex(const Hash256& h) { return hex_encode(h.data(), h.size()); }

json::object event_line(const PartnerEvent& e) {
  json::object o;
  o["record"] = "event";
  EnvelopeObjectWriter envelope(o);
  envelope_members(e, envelope);
  o["hash"] = hex(e.hash);
  auto decoded = decode_event(e.type, e.schema_version, e.payload);
  // An event this build cannot decode is exported without its data, not guessed.
  o["data"] = decoded ? event_to_json(*decoded) : json::value();
  return o;
}

// A line as (column, text) pairs: strings as they are, other values as JSON.
using Row = std::vector<std::pair<std::string, std::string>>;

std::string text_of(const json::value& v) {
  if (v.is_string()) return std::string(v.get_string());
  return json::serialize(v);
}

Row row_of(const json::object& o) {
  Row row;
  for (const auto& kv : o) row.emplace_back(std::string(kv.key()), text_of(kv.value()));
  return row;
}

std::string csv_line(const Row& row) {
  std::string out;
  for (size_t i = 0; i < row.size(); ++i) {
    if (i > 0) out += ',';
    out += csv_field(row[i].second);
  }
  return out;
}

// One CSV line (fields may be quoted; exports never hold raw line breaks).
Result<std::vector<std::string>> parse_csv_line(std::string_view line) {
  std::vector<std::string> fields(1);
  bool quoted = false;
  for (size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted) {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
        fields.back() += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        fields.back() += c;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      fields.emplace_back();
    } else {
      fields.back() += c;
    }
  }
  if (quoted) return invalid_argument("an unterminated quoted field");
  return fields;
}

json::object checkpoint_json(const SignedCheckpoint& c) {
  return json::object{{"position", c.position},
                      {"head_hash", hex(c.head_hash)},
                      {"recorded_at", format_timestamp(Timestamp{c.recorded_at_micros})},
                      {"signature", hex_encode(c.signature.data(), c.signature.size())}};
}

template <size_t N>
bool parse_hex(std::string_view text, std::array<unsigned char, N>* out) {
  if (text.size() != 2 * N) return false;
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  for (size_t i = 0; i < N; ++i) {
    const int hi = nibble(text[2 * i]), lo = nibble(text[2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    (*out)[i] = static_cast<unsigned char>(hi << 4 | lo);
  }
  return true;
}

// The log's hash at `position` (the record's own hash).
Result<Hash256> hash_at(const EventLog& log, uint64_t position) {
  auto batch = log.read_all(GlobalPosition(position), 1);
  if (!batch) return batch.status();
  if (batch->events.empty() || batch->events.front().position.value() != position) {
    return not_found("the log has no position " + std::to_string(position));
  }
  return batch->events.front().hash;
}

// The event lines of the partner up to `head`, as the export writes them.
std::vector<json::object> event_lines(const PartnerLog& log, PersonalDataCipher* cipher, GlobalPosition head) {
  ErasingCipher erasing(cipher, log.purged_subjects);
  PersonalDataScope scope(&erasing);
  std::vector<json::object> out;
  for (const PartnerEvent& e : log.events) {
    if (e.position > head) break;
    out.push_back(event_line(e));
  }
  return out;
}

ExportCheck mismatch(ExportCheck check, size_t line, std::string field, std::string message) {
  check.ok = false;
  check.line = line;
  check.field = std::move(field);
  check.message = std::move(message);
  return check;
}

// The first difference of two rows: the column, and for `data` the JSON path inside it.
std::optional<std::pair<std::string, std::string>> first_difference(const Row& exported, const Row& expected) {
  for (size_t i = 0; i < std::max(exported.size(), expected.size()); ++i) {
    if (i >= exported.size()) return std::make_pair(expected[i].first, "missing from the export");
    if (i >= expected.size()) return std::make_pair(exported[i].first, "not in the log's form of the event");
    if (exported[i].first != expected[i].first) {
      return std::make_pair(exported[i].first, "unexpected column (the log's is " + expected[i].first + ")");
    }
    if (exported[i].second == expected[i].second) continue;
    const std::string& column = exported[i].first;
    if (column == "data") {
      json::error_code ec;
      json::value a = json::parse(exported[i].second, ec);
      if (!ec) {
        json::value b = json::parse(expected[i].second);
        auto changes = diff_json(json::object{{"data", a}}, json::object{{"data", b}});
        if (!changes.empty()) {
          return std::make_pair(changes.front().path, "the export has " + json::serialize(changes.front().before) +
                                                          ", the log has " + json::serialize(changes.front().after));
        }
      }
    }
    return std::make_pair(column, "the export has \"" + exported[i].second + "\", the log has \"" +
                                      expected[i].second + "\"");
  }
  return std::nullopt;
}

}  // namespace

Result<std::vector<std::string>> export_partner(const PartnerLog& log, PersonalDataCipher* cipher, Env* env,
                                                const std::string& data_dir, const PartnerId& partner,
                                                ExportFormat format) {
  std::vector<std::string> lines;
  if (format == ExportFormat::kCsv) {
    std::string header;
    for (const std::string& c : columns()) header += std::string(header.empty() ? "" : ",") + c;
    lines.push_back(header);
  }
  const std::vector<json::object> events = event_lines(log, cipher, log.head);
  for (const json::object& e : events) {
    lines.push_back(format == ExportFormat::kCsv ? csv_line(row_of(e)) : json::serialize(e));
  }
  json::object trailer{{"record", "trailer"},
                       {"partner_id", partner.to_string()},
                       {"events", events.size()},
                       {"head_position", log.head.value()},
                       {"head_hash", hex(log.head_hash)}};
  auto checkpoints = read_signed_checkpoints(env, data_dir);
  if (!checkpoints && checkpoints.status().code() != StatusCode::kNotFound) return checkpoints.status();
  json::value latest;  // null: the folder has no signed checkpoint at or before the head
  if (checkpoints) {
    for (const SignedCheckpoint& c : *checkpoints) {
      if (c.position <= log.head.value() && (latest.is_null() || c.position >= latest.at("position").as_uint64())) {
        latest = checkpoint_json(c);
      }
    }
  }
  trailer["signed_checkpoint"] = latest;
  if (format == ExportFormat::kCsv) {
    // The trailer row: the head in the position and hash columns, everything in data.
    Row row;
    for (const std::string& c : columns()) row.emplace_back(c, "");
    row[0].second = "trailer";
    row[1].second = std::to_string(log.head.value());
    row[13].second = hex(log.head_hash);
    row[14].second = json::serialize(trailer);
    lines.push_back(csv_line(row));
  } else {
    lines.push_back(json::serialize(trailer));
  }
  return lines;
}

Result<ExportCheck> verify_export(const EventLog& log, PersonalDataCipher* cipher, std::string_view text,
                                  const std::optional<PublicKey>& public_key) {
  std::vector<std::string_view> lines;
  for (size_t start = 0; start < text.size();) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(start, end - start);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    lines.push_back(line);
    start = end + 1;
  }
  while (!lines.empty() && lines.back().empty()) lines.pop_back();
  if (lines.empty()) return invalid_argument("the export is empty", "file");
  const bool csv = lines.front().substr(0, 7) == "record,";
  const size_t first = csv ? 1 : 0;  // index of the first event line
  if (csv) {
    std::string header;
    for (const std::string& c : columns()) header += std::string(header.empty() ? "" : ",") + c;
    if (lines.front() != header) return invalid_argument("line 1 is not the export's CSV header", "file");
  }
  if (lines.size() < first + 1) return invalid_argument("the export has no trailer", "file");

  // Each line as a row, and the trailer as JSON.
  std::vector<Row> rows;
  for (size_t i = first; i < lines.size(); ++i) {
    Row row;
    if (csv) {
      auto fields = parse_csv_line(lines[i]);
      if (!fields) return invalid_argument("line " + std::to_string(i + 1) + ": " + fields.status().message(), "file");
      for (size_t c = 0; c < fields->size(); ++c) {
        row.emplace_back(c < columns().size() ? columns()[c] : "column " + std::to_string(c + 1), (*fields)[c]);
      }
    } else {
      json::error_code ec;
      json::value v = json::parse(lines[i], ec);
      if (ec || !v.is_object()) {
        return invalid_argument("line " + std::to_string(i + 1) + " is not a JSON object", "file");
      }
      row = row_of(v.get_object());
    }
    rows.push_back(std::move(row));
  }
  const Row& trailer_row = rows.back();
  const size_t trailer_line = lines.size();
  json::object trailer;
  {
    std::string trailer_text;
    if (csv) {
      if (trailer_row.empty() || trailer_row[0].second != "trailer" || trailer_row.size() != columns().size()) {
        return invalid_argument("the last line is not the trailer", "file");
      }
      trailer_text = trailer_row.back().second;
    } else {
      trailer_text = std::string(lines.back());
    }
    json::error_code ec;
    json::value v = json::parse(trailer_text, ec);
    if (ec || !v.is_object() || v.get_object().if_contains("record") == nullptr ||
        v.at("record") != json::value("trailer")) {
      return invalid_argument("the last line is not the trailer", "file");
    }
    trailer = std::move(v.get_object());
  }
  const json::value* partner_text = trailer.if_contains("partner_id");
  const json::value* head_value = trailer.if_contains("head_position");
  const json::value* head_hash_value = trailer.if_contains("head_hash");
  if (!partner_text || !partner_text->is_string() || !head_value || !head_value->is_number() || !head_hash_value ||
      !head_hash_value->is_string()) {
    return invalid_argument("the trailer lacks partner_id, head_position or head_hash", "file");
  }
  auto partner = PartnerId::parse(std::string_view(partner_text->get_string()));
  if (!partner) return invalid_argument("the trailer's partner_id is not a UUID", "file");
  json::error_code number_ec;
  const auto head = head_value->to_number<uint64_t>(number_ec);
  if (number_ec) return invalid_argument("the trailer's head_position is not a position", "file");

  ExportCheck check;
  if (head > log.head().value()) {
    return mismatch(check, trailer_line, "head_position",
                    "the export's head " + std::to_string(head) + " is beyond the log's (" +
                        std::to_string(log.head().value()) + ")");
  }
  auto partner_log = read_partner_log(log, *partner);
  if (!partner_log) return partner_log.status();

  // Events, line by line.
  const std::vector<json::object> expected = event_lines(*partner_log, cipher, GlobalPosition(head));
  const size_t exported = rows.size() - 1;
  for (size_t i = 0; i < std::min(exported, expected.size()); ++i) {
    const size_t line = first + i + 1;
    Row want = row_of(expected[i]);
    if (auto diff = first_difference(rows[i], want)) return mismatch(check, line, diff->first, diff->second);
    ++check.events;
  }
  if (exported < expected.size()) {
    return mismatch(check, first + exported + 1, "record",
                    "the log has " + std::to_string(expected.size() - exported) +
                        " more event(s) of the partner up to the head; the first missing is at position " +
                        std::to_string(expected[exported].at("position").as_uint64()));
  }
  if (exported > expected.size()) {
    return mismatch(check, first + expected.size() + 1, "record",
                    "the export has " + std::to_string(exported - expected.size()) +
                        " event line(s) that the log does not have for this partner");
  }
  check.notes.push_back(std::to_string(check.events) + " event lines match the log");
  if (const json::value* n = trailer.if_contains("events"); !n || !n->is_number() || n->to_number<uint64_t>(number_ec) != exported) {
    return mismatch(check, trailer_line, "events", "the trailer's count is not the number of event lines");
  }

  // The head: the log's hash at that position.
  Hash256 claimed{};
  if (!parse_hex(std::string_view(head_hash_value->get_string()), &claimed)) {
    return mismatch(check, trailer_line, "head_hash", "not 64 lower-case hex digits");
  }
  if (head > 0) {
    auto actual = hash_at(log, head);
    if (!actual) return actual.status();
    if (*actual != claimed) {
      return mismatch(check, trailer_line, "head_hash",
                      "the log's hash at position " + std::to_string(head) + " is " + hex(*actual));
    }
  }
  check.notes.push_back("head hash matches the log at position " + std::to_string(head));

  // The signed checkpoint: it names the log's hash at its position, and is signed.
  const json::value* cp = trailer.if_contains("signed_checkpoint");
  if (cp == nullptr || cp->is_null()) {
    check.notes.push_back("no signed checkpoint in the export");
  } else {
    if (!cp->is_object()) return mismatch(check, trailer_line, "signed_checkpoint", "not an object");
    SignedCheckpoint c;
    const json::object& o = cp->get_object();
    const json::value* pos = o.if_contains("position");
    const json::value* hash = o.if_contains("head_hash");
    const json::value* signed_at = o.if_contains("recorded_at");
    const json::value* sig = o.if_contains("signature");
    std::optional<Timestamp> when;
    if (signed_at && signed_at->is_string()) {
      if (auto t = parse_timestamp(std::string_view(signed_at->get_string()))) when = *t;
    }
    std::array<unsigned char, 64> signature{};
    if (!pos || !pos->is_number() || !hash || !hash->is_string() || !parse_hex(std::string_view(hash->get_string()), &c.head_hash) ||
        !when || !sig || !sig->is_string() || !parse_hex(std::string_view(sig->get_string()), &signature)) {
      return mismatch(check, trailer_line, "signed_checkpoint", "lacks position, head_hash, recorded_at or signature");
    }
    c.position = pos->to_number<uint64_t>(number_ec);
    c.recorded_at_micros = when->micros;
    std::copy(signature.begin(), signature.end(), c.signature.begin());
    if (c.position > head) {
      return mismatch(check, trailer_line, "signed_checkpoint.position", "after the export's head");
    }
    if (c.position > 0) {
      auto actual = hash_at(log, c.position);
      if (!actual) return actual.status();
      if (*actual != c.head_hash) {
        return mismatch(check, trailer_line, "signed_checkpoint.head_hash",
                        "the log's hash at position " + std::to_string(c.position) + " is " + hex(*actual));
      }
    }
    if (public_key) {
      if (!signature_valid(c, *public_key)) {
        return mismatch(check, trailer_line, "signed_checkpoint.signature", "does not verify with the public key");
      }
      check.notes.push_back("signed checkpoint at position " + std::to_string(c.position) +
                            " matches the log and its signature is valid");
    } else {
      check.notes.push_back("signed checkpoint at position " + std::to_string(c.position) +
                            " matches the log; signature not checked (no public key given)");
    }
  }
  check.ok = true;
  return check;
}

}  // namespace accountable
