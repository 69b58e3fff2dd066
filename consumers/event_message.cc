#include "consumers/event_message.h"

#include <algorithm>
#include <boost/json.hpp>
#include <charconv>
#include <memory>

#include "events/text_form.h"
#include "schema/domain_events.h"
#include "schema/event_json.h"
#include "schema/json_codec.h"

namespace accountable {

namespace json = boost::json;

namespace {

// Forwards open() to the real cipher and notes the subjects it reports as
// erased, so the message can say which empty values are erasures. Never seals
// or erases: the relay only reads.
class RecordingCipher final : public PersonalDataCipher {
 public:
  explicit RecordingCipher(PersonalDataCipher* inner) : inner_(inner) {}
  Result<std::string> seal(const std::string& subject, std::string_view) override {
    return Status(StatusCode::kInternal, "the relay never seals personal data (subject " + subject + ")");
  }
  Result<std::string> open(const std::string& subject, std::string_view sealed) override {
    auto plain = inner_->open(subject, sealed);
    if (!plain && plain.status().code() == StatusCode::kNotFound &&
        std::find(erased_.begin(), erased_.end(), subject) == erased_.end()) {
      erased_.push_back(subject);
    }
    return plain;
  }
  Status erase(const std::string& subject) override {
    return Status(StatusCode::kInternal, "the relay never erases personal data (subject " + subject + ")");
  }
  std::vector<std::string>& erased() { return erased_; }

 private:
  PersonalDataCipher* inner_;
  std::vector<std::string> erased_;
};

json::string_view jsv(std::string_view s) { return json::string_view(s.data(), s.size()); }

// The per-thread arena of a payload's JSON tree (encode_event_message): a few
// times the largest tree of the domain's events, so that none spills.
constexpr size_t kArenaBytes = 64 * 1024;

std::string at_position(GlobalPosition p) { return "event at position " + std::to_string(p.value()); }

void append_number(std::string& out, uint64_t v) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  (void)ec;  // 24 bytes always hold a uint64_t
  out.append(buf, end);
}

void append_hex(std::string& out, const unsigned char* p, size_t n) {
  static constexpr char kHex[] = "0123456789abcdef";
  for (size_t i = 0; i < n; ++i) {
    out += kHex[p[i] >> 4];
    out += kHex[p[i] & 0x0f];
  }
}

// The canonical 8-4-4-4-12 form, lower case (as format_uuid_bytes).
void append_uuid_text(std::string& out, const std::array<unsigned char, 16>& b) {
  append_hex(out, b.data(), 4);
  out += '-';
  append_hex(out, b.data() + 4, 2);
  out += '-';
  append_hex(out, b.data() + 6, 2);
  out += '-';
  append_hex(out, b.data() + 8, 2);
  out += '-';
  append_hex(out, b.data() + 10, 6);
}

void append_uuid(std::string& out, const std::array<unsigned char, 16>& b) {
  out += '"';
  append_uuid_text(out, b);
  out += '"';
}

// A JSON string: quotes, backslashes and control characters escaped; other
// bytes as they are (the log's names and actors are ASCII).
void append_string(std::string& out, std::string_view s) {
  out += '"';
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (u < 0x20) {
      static constexpr char kHex[] = "0123456789abcdef";
      out += "\\u00";
      out += kHex[u >> 4];
      out += kHex[u & 0x0f];
    } else {
      out += c;
    }
  }
  out += '"';
}

// The envelope's members (schema/json_codec.h, envelope_members) as JSON text,
// each after a comma: the partner is null when the stream has none.
struct EnvelopeTextWriter {
  std::string& out;
  void name(std::string_view n) {
    out += ",\"";
    out += n;
    out += "\":";
  }
  template <class N>
  void number(std::string_view n, const N& v) {
    name(n);
    append_number(out, envelope_number(v));
  }
  void text(std::string_view n, std::string_view v) {
    name(n);
    append_string(out, v);
  }
  template <class Id>
  void id(std::string_view n, const Id& v) {
    name(n);
    append_uuid(out, v.bytes());
  }
  void time(std::string_view n, Timestamp v) {
    char buf[kTimestampTextMax];
    text(n, std::string_view(buf, format_timestamp_to(v, buf)));
  }
  void partner(std::string_view n, std::string_view v) {
    if (v.empty()) {
      name(n);
      out += "null";
    } else {
      text(n, v);
    }
  }
};

}  // namespace

std::string_view event_message_key(const RecordedEvent& event) {
  return event.partner.empty() ? event.stream : event.partner;
}

Result<EventMessage> make_event_message(const RecordedEvent& event, PersonalDataCipher* cipher) {
  EventMessage m;
  ACCT_RETURN_IF_ERROR(encode_event_message(event, cipher, &m));
  return m;
}

Status encode_event_message(const RecordedEvent& e, PersonalDataCipher* cipher, EventMessage* m) {
  std::vector<std::string> erased;
  // Initialised by the decode itself (a placeholder error was an allocation
  // per event).
  Result<DomainEvent> decoded = [&]() -> Result<DomainEvent> {
    if (cipher != nullptr) {
      RecordingCipher recording(cipher);
      PersonalDataScope scope(&recording);
      Result<DomainEvent> d = decode_event(e.type, e.schema_version, e.payload);
      erased = std::move(recording.erased());
      return d;
    }
    PersonalDataScope scope(nullptr);  // no outer cipher leaks in
    return decode_event(e.type, e.schema_version, e.payload);
  }();
  if (!decoded) {
    return Status(decoded.status().code(),
                  at_position(e.position) + " (stream " + std::string(e.stream) + " version " +
                      std::to_string(e.version.value()) + ", type " + std::string(e.type) + " v" +
                      std::to_string(e.schema_version) + "): " + decoded.status().message(),
                  "position");
  }

  // The envelope is written as text directly (a JSON tree per event was the
  // relay's main cost in allocations); `data` is serialized into the same buffer.
  std::sort(erased.begin(), erased.end());
  std::string& out = m->value;
  out.clear();  // keeps its capacity: a buffer reused for many events
  out.reserve(640 + e.payload.size() * 2);
  out += "{\"format\":";
  append_number(out, static_cast<uint64_t>(kEventMessageFormat));
  EnvelopeTextWriter envelope{out};
  envelope_members(e, envelope);
  out += ",\"hash\":\"";
  append_hex(out, e.hash.data(), e.hash.size());
  out += "\",\"erased_subjects\":[";
  for (size_t i = 0; i < erased.size(); ++i) {
    if (i > 0) out += ',';
    append_string(out, erased[i]);
  }
  // `data` is always the type's CURRENT shape (older payloads are upcast),
  // while schema_version says how the event was written.
  out += "],\"data_schema_version\":";
  append_number(out, event_schema_version(*decoded));
  out += ",\"data\":";
  // The payload's JSON tree lives in a per-thread arena that every event
  // reuses: a tree on the heap was one allocation per object, array and
  // string. Events larger than the arena spill into blocks freed right here.
  thread_local std::unique_ptr<unsigned char[]> arena(new unsigned char[kArenaBytes]);
  json::monotonic_resource resource(arena.get(), kArenaBytes);
  const json::value data = event_to_json(*decoded, &resource);
  // One serializer per thread: reset() keeps its stack, so no allocation per
  // event. It writes straight into the tail of `out`.
  thread_local json::serializer sr;
  sr.reset(&data);
  while (!sr.done()) {
    const size_t used = out.size();
    out.resize(used + 4096);
    json::string_view chunk = sr.read(out.data() + used, 4096);
    out.resize(used + chunk.size());
  }
  out += '}';

  m->key.assign(event_message_key(e));
  // Assigned in place, so that a reused message reuses its strings.
  m->headers.resize(6);
  auto set = [&](size_t i, std::string_view name, std::string_view value) {
    m->headers[i].first.assign(name);
    m->headers[i].second.assign(value);
  };
  char num[24];
  auto number = [&num](uint64_t v) {
    auto [end, ec] = std::to_chars(num, num + sizeof num, v);
    (void)ec;  // 24 bytes always hold a uint64_t
    return std::string_view(num, static_cast<size_t>(end - num));
  };
  set(0, "event_type", e.type);
  set(1, "schema_version", number(e.schema_version));
  set(2, "position", number(e.position.value()));
  set(3, "stream", e.stream);
  set(4, "version", number(e.version.value()));
  m->headers[5].first.assign("event_id");
  m->headers[5].second.clear();
  append_uuid_text(m->headers[5].second, e.event_id.bytes());
  return Status::ok();
}

// ---- parsing -------------------------------------------------------------------

namespace {

Status missing(const char* field) { return invalid_argument("is required", field); }
Status mistyped(const char* field, const char* what) { return invalid_argument(std::string("must be ") + what, field); }

Result<const json::value*> member(const json::object& o, const char* name) {
  const json::value* v = o.if_contains(name);
  if (v == nullptr) return missing(name);
  return v;
}

Status get_string(const json::object& o, const char* name, std::string* out) {
  auto v = member(o, name);
  if (!v) return v.status();
  if (!(*v)->is_string()) return mistyped(name, "a string");
  out->assign((*v)->get_string().data(), (*v)->get_string().size());
  return Status::ok();
}

Status get_u64(const json::object& o, const char* name, uint64_t* out) {
  auto v = member(o, name);
  if (!v) return v.status();
  if ((*v)->is_uint64()) {
    *out = (*v)->get_uint64();
  } else if ((*v)->is_int64() && (*v)->get_int64() >= 0) {
    *out = static_cast<uint64_t>((*v)->get_int64());
  } else {
    return mistyped(name, "a non-negative integer");
  }
  return Status::ok();
}

template <class Id>
Status get_id(const json::object& o, const char* name, Id* out) {
  std::string text;
  ACCT_RETURN_IF_ERROR(get_string(o, name, &text));
  auto id = Id::parse(text);
  if (!id) return invalid_argument("must be a UUID: " + id.status().message(), name);
  *out = *id;
  return Status::ok();
}

// Reads the envelope's members (schema/json_codec.h, envelope_members) in
// order; the first missing or wrong one is `status`, and the rest are skipped.
struct EnvelopeReader {
  const json::object& o;
  Status status = Status::ok();

  void number(const char* name, GlobalPosition& out) {
    uint64_t n = 0;
    if (at_least_one(name, &n)) out = GlobalPosition(n);
  }
  void number(const char* name, StreamVersion& out) {
    uint64_t n = 0;
    if (at_least_one(name, &n)) out = StreamVersion(n);
  }
  void number(const char* name, uint16_t& out) {
    uint64_t n = 0;
    if (!status.is_ok() || !(status = get_u64(o, name, &n)).is_ok()) return;
    if (n == 0 || n > 0xffff) {
      status = invalid_argument("must be from 1 to 65535", name);
      return;
    }
    out = static_cast<uint16_t>(n);
  }
  void text(const char* name, std::string& out) {
    if (status.is_ok()) status = get_string(o, name, &out);
  }
  template <class Id>
  void id(const char* name, Id& out) {
    if (status.is_ok()) status = get_id(o, name, &out);
  }
  void time(const char* name, Timestamp& out) {
    std::string text;
    if (!status.is_ok() || !(status = get_string(o, name, &text)).is_ok()) return;
    auto t = parse_timestamp(text);
    if (!t) {
      status = invalid_argument("must be an RFC 3339 UTC time: " + t.status().message(), name);
      return;
    }
    out = *t;
  }
  void partner(const char* name, std::string& out) {
    if (!status.is_ok()) return;
    auto partner = member(o, name);
    if (!partner) {
      status = partner.status();
    } else if ((*partner)->is_string()) {
      out.assign((*partner)->get_string().data(), (*partner)->get_string().size());
    } else if (!(*partner)->is_null()) {
      status = mistyped(name, "a string or null");
    }
  }

 private:
  bool at_least_one(const char* name, uint64_t* n) {
    if (!status.is_ok() || !(status = get_u64(o, name, n)).is_ok()) return false;
    if (*n == 0) {
      status = invalid_argument("must be at least 1", name);
      return false;
    }
    return true;
  }
};

}  // namespace

Result<ConsumedEvent> parse_event_message(std::string_view value) {
  json::error_code ec;
  json::value doc = json::parse(jsv(value), ec);
  if (ec) return invalid_argument("the message value is not JSON: " + ec.message());
  if (!doc.is_object()) return invalid_argument("the message value must be a JSON object");
  const json::object& o = doc.get_object();
  ConsumedEvent e;
  uint64_t n = 0;
  ACCT_RETURN_IF_ERROR(get_u64(o, "format", &n));
  if (n != static_cast<uint64_t>(kEventMessageFormat)) {
    return invalid_argument("is " + std::to_string(n) + "; this consumer reads format " +
                                std::to_string(kEventMessageFormat),
                            "format");
  }
  EnvelopeReader envelope{o};
  envelope_members(e, envelope);
  ACCT_RETURN_IF_ERROR(envelope.status);
  ACCT_RETURN_IF_ERROR(get_string(o, "hash", &e.hash));
  auto erased = member(o, "erased_subjects");
  if (!erased) return erased.status();
  if (!(*erased)->is_array()) return mistyped("erased_subjects", "an array of strings");
  for (const json::value& s : (*erased)->get_array()) {
    if (!s.is_string()) return mistyped("erased_subjects", "an array of strings");
    e.erased_subjects.emplace_back(s.get_string().data(), s.get_string().size());
  }
  ACCT_RETURN_IF_ERROR(get_u64(o, "data_schema_version", &n));
  if (n == 0 || n > 0xffff) return invalid_argument("must be from 1 to 65535", "data_schema_version");
  e.data_schema_version = static_cast<uint16_t>(n);
  auto data = member(o, "data");
  if (!data) return data.status();
  if (!(*data)->is_object()) return mistyped("data", "an object");
  e.data = (*data)->get_object();
  return e;
}

}  // namespace accountable
