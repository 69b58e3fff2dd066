#include "backup/manifest.h"

#include <algorithm>
#include <boost/json.hpp>

namespace accountable {

namespace json = boost::json;

namespace {

Status bad(const std::string& field, const std::string& why) {
  return Status(StatusCode::kCorruption, std::string(kManifestName) + ": " + field + " " + why, field);
}

// Lower-case hex only: the manifest is written by us, one spelling.
bool hex32(std::string_view text, Hash256* out) {
  if (text.size() != 64) return false;
  for (size_t i = 0; i < 32; ++i) {
    int v = 0;
    for (size_t j = 0; j < 2; ++j) {
      const char c = text[2 * i + j];
      int d;
      if (c >= '0' && c <= '9') {
        d = c - '0';
      } else if (c >= 'a' && c <= 'f') {
        d = c - 'a' + 10;
      } else {
        return false;
      }
      v = v * 16 + d;
    }
    (*out)[i] = static_cast<unsigned char>(v);
  }
  return true;
}

bool starts_with(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }
bool ends_with(std::string_view s, std::string_view p) {
  return s.size() >= p.size() && s.substr(s.size() - p.size()) == p;
}

// A file name the key store writes: escaped subject or partner uuid, then the suffix.
bool store_file_name(std::string_view name, std::string_view suffix) {
  if (!ends_with(name, suffix) || name.size() == suffix.size() || name.size() > 255) return false;
  for (char c : name.substr(0, name.size() - suffix.size())) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
                    c == '-' || c == '%';
    if (!ok) return false;
  }
  return true;
}

bool segment_name(std::string_view name) {
  if (name.size() != 28 || !starts_with(name, "seg-") || !ends_with(name, ".log")) return false;
  return std::all_of(name.begin() + 4, name.begin() + 24, [](char c) { return c >= '0' && c <= '9'; });
}

Result<uint64_t> get_u64(const json::object& o, const std::string& key, const std::string& field) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr) return bad(field, "is missing");
  if (v->is_uint64()) return v->as_uint64();
  if (v->is_int64() && v->as_int64() >= 0) return static_cast<uint64_t>(v->as_int64());
  return bad(field, "is not a non-negative integer");
}

Result<std::string> get_string(const json::object& o, const std::string& key, const std::string& field) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr) return bad(field, "is missing");
  if (!v->is_string()) return bad(field, "is not a string");
  return std::string(v->as_string());
}

Result<Hash256> get_hash(const json::object& o, const std::string& key, const std::string& field) {
  auto text = get_string(o, key, field);
  if (!text) return text.status();
  Hash256 h{};
  if (!hex32(*text, &h)) return bad(field, "is not 64 lower-case hex digits");
  return h;
}

}  // namespace

bool is_backup_path(std::string_view path) {
  static constexpr std::string_view kFixed[] = {"operator.token",         "keys/signing.key",
                                                "keys/signing.pub",       "secrets/credentials",
                                                "secrets/tokens",         "secrets/tokens.journal",
                                                "signatures/checkpoints"};
  if (std::find(std::begin(kFixed), std::end(kFixed), path) != std::end(kFixed)) return true;
  if (starts_with(path, "log/")) return segment_name(path.substr(4));
  if (starts_with(path, "keys/subjects/")) return store_file_name(path.substr(14), ".key");
  if (starts_with(path, "keys/partners/")) return store_file_name(path.substr(14), ".secret");
  return false;
}

const std::vector<std::string>& backup_dirs() {
  static const std::vector<std::string> dirs = {"log", "keys", "keys/subjects", "keys/partners", "secrets",
                                                "signatures"};
  return dirs;
}

std::string encode_manifest(const Manifest& m) {
  json::object o;
  o["format"] = kManifestFormat;
  o["version"] = m.version;
  o["created_at"] = format_timestamp(m.created_at);
  o["source"] = m.source;
  o["head_position"] = m.head.value();
  o["head_hash"] = hex_encode(m.head_hash.data(), m.head_hash.size());
  json::array files;
  for (const BackupFile& f : m.files) {
    files.push_back(json::object{
        {"path", f.path}, {"size", f.size}, {"sha256", hex_encode(f.sha256.data(), f.sha256.size())}});
  }
  o["files"] = std::move(files);
  return json::serialize(o) + "\n";
}

Result<Manifest> parse_manifest(std::string_view text) {
  boost::system::error_code ec;
  json::value doc = json::parse(json::string_view(text.data(), text.size()), ec);
  if (ec) return bad("(document)", "is not JSON: " + ec.message());
  if (!doc.is_object()) return bad("(document)", "is not a JSON object");
  const json::object& o = doc.as_object();
  Manifest m;
  auto format = get_string(o, "format", "format");
  if (!format) return format.status();
  if (*format != kManifestFormat) return bad("format", "is '" + *format + "', not '" + std::string(kManifestFormat) + "'");
  auto version = get_u64(o, "version", "version");
  if (!version) return version.status();
  if (*version != kManifestVersion) {
    return bad("version", "is " + std::to_string(*version) + "; this build reads version " +
                              std::to_string(kManifestVersion));
  }
  m.version = kManifestVersion;
  auto created = get_string(o, "created_at", "created_at");
  if (!created) return created.status();
  auto created_at = parse_timestamp(*created);
  if (!created_at) return bad("created_at", "is not an RFC 3339 time");
  m.created_at = *created_at;
  auto source = get_string(o, "source", "source");
  if (!source) return source.status();
  m.source = *source;
  auto head = get_u64(o, "head_position", "head_position");
  if (!head) return head.status();
  m.head = GlobalPosition(*head);
  auto head_hash = get_hash(o, "head_hash", "head_hash");
  if (!head_hash) return head_hash.status();
  m.head_hash = *head_hash;

  const json::value* files = o.if_contains("files");
  if (files == nullptr) return bad("files", "is missing");
  if (!files->is_array()) return bad("files", "is not an array");
  for (size_t i = 0; i < files->as_array().size(); ++i) {
    const std::string field = "files[" + std::to_string(i) + "]";
    const json::value& v = files->as_array()[i];
    if (!v.is_object()) return bad(field, "is not an object");
    BackupFile f;
    auto path = get_string(v.as_object(), "path", field + ".path");
    if (!path) return path.status();
    if (!is_backup_path(*path)) return bad(field + ".path", "'" + *path + "' is not a file a data folder holds");
    f.path = *path;
    auto size = get_u64(v.as_object(), "size", field + ".size");
    if (!size) return size.status();
    f.size = *size;
    auto sha = get_hash(v.as_object(), "sha256", field + ".sha256");
    if (!sha) return sha.status();
    f.sha256 = *sha;
    if (!m.files.empty() && !(m.files.back().path < f.path)) {
      return bad(field + ".path", "'" + f.path + "' is out of order or listed twice");
    }
    m.files.push_back(std::move(f));
  }
  return m;
}

}  // namespace accountable
