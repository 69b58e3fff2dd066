#include "transparency/proof_bundle.h"

#include <sodium.h>

#include "events/merkle.h"
#include "events/types.h"

namespace accountable {
namespace json = boost::json;
namespace {

Result<uint64_t> member_u64(const json::object& o, const char* name) {
  const json::value* v = o.if_contains(name);
  if (v == nullptr || !(v->is_uint64() || (v->is_int64() && v->as_int64() >= 0))) {
    return invalid_argument(std::string("expected a whole number"), name);
  }
  return v->is_uint64() ? v->as_uint64() : static_cast<uint64_t>(v->as_int64());
}

Result<std::string> member_string(const json::object& o, const char* name) {
  const json::value* v = o.if_contains(name);
  if (v == nullptr || !v->is_string()) return invalid_argument(std::string("expected a string"), name);
  return std::string(v->as_string());
}

Result<Hash256> member_hash(const json::object& o, const char* name) {
  auto text = member_string(o, name);
  if (!text) return text.status();
  return hash_from_hex(*text, name);
}

Result<std::vector<Hash256>> member_hashes(const json::object& o, const char* name) {
  const json::value* v = o.if_contains(name);
  if (v == nullptr || !v->is_array()) return invalid_argument("expected an array of hashes", name);
  if (v->as_array().size() > 128) return invalid_argument("more hashes than a tree of 2^64 leaves needs", name);
  std::vector<Hash256> out;
  for (size_t i = 0; i < v->as_array().size(); ++i) {
    const json::value& h = v->as_array()[i];
    const std::string field = std::string(name) + "[" + std::to_string(i) + "]";
    if (!h.is_string()) return invalid_argument("expected a hex hash", field);
    auto parsed = hash_from_hex(std::string_view(h.as_string()), field);
    if (!parsed) return parsed.status();
    out.push_back(*parsed);
  }
  return out;
}

json::array hashes_json(const std::vector<Hash256>& hashes) {
  json::array a;
  for (const Hash256& h : hashes) a.push_back(json::string(hash_hex(h)));
  return a;
}

}  // namespace

std::string hash_hex(const Hash256& h) { return hex_encode(h.data(), h.size()); }

Result<Hash256> hash_from_hex(std::string_view text, const std::string& field) {
  Hash256 out{};
  if (text.size() != 64) return invalid_argument("expected 64 lower-case hex digits", field);
  for (size_t i = 0; i < 32; ++i) {
    int v = 0;
    for (size_t k = 0; k < 2; ++k) {
      const char c = text[2 * i + k];
      int d = -1;
      if (c >= '0' && c <= '9') d = c - '0';
      if (c >= 'a' && c <= 'f') d = c - 'a' + 10;
      if (d < 0) return invalid_argument("expected 64 lower-case hex digits", field);
      v = v * 16 + d;
    }
    out[i] = static_cast<unsigned char>(v);
  }
  return out;
}

std::string base64_encode(std::string_view bytes) {
  std::string out(sodium_base64_ENCODED_LEN(bytes.size(), sodium_base64_VARIANT_ORIGINAL), '\0');
  sodium_bin2base64(out.data(), out.size(), reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(),
                    sodium_base64_VARIANT_ORIGINAL);
  out.pop_back();  // the terminating NUL
  return out;
}

Result<std::string> base64_decode(std::string_view text, const std::string& field) {
  std::string out(text.size() / 4 * 3 + 3, '\0');
  size_t len = 0;
  const char* end = nullptr;
  if (sodium_base642bin(reinterpret_cast<unsigned char*>(out.data()), out.size(), text.data(), text.size(), nullptr,
                        &len, &end, sodium_base64_VARIANT_ORIGINAL) != 0 ||
      end != text.data() + text.size()) {
    return invalid_argument("expected base64 (RFC 4648, padded)", field);
  }
  out.resize(len);
  return out;
}

json::object to_json(const InclusionBundle& b) {
  Hash256 record_hash{};  // a record's last 32 bytes are its own hash
  if (b.record.size() >= record_hash.size()) std::copy(b.record.end() - 32, b.record.end(), record_hash.begin());
  return json::object{{"position", b.position},
                      {"leaf_index", b.position - 1},
                      {"tree_size", b.tree_size},
                      {"record_hash", hash_hex(record_hash)},
                      {"leaf_hash", hash_hex(merkle::leaf_hash(record_hash))},
                      {"record", base64_encode(b.record)},
                      {"proof", hashes_json(b.proof)},
                      {"root", hash_hex(b.root)},
                      {"checkpoint", b.checkpoint.empty() ? json::value(nullptr) : json::value(json::string(b.checkpoint))}};
}

Result<InclusionBundle> inclusion_bundle_from_json(const json::value& v) {
  if (!v.is_object()) return invalid_argument("expected a JSON object (an inclusion proof)", "proof");
  const json::object& o = v.as_object();
  InclusionBundle b;
  auto position = member_u64(o, "position");
  if (!position) return position.status();
  if (*position == 0) return invalid_argument("positions start at 1", "position");
  b.position = *position;
  auto size = member_u64(o, "tree_size");
  if (!size) return size.status();
  b.tree_size = *size;
  auto record = member_string(o, "record");
  if (!record) return record.status();
  auto raw = base64_decode(*record, "record");
  if (!raw) return raw.status();
  b.record = std::move(*raw);
  auto proof = member_hashes(o, "proof");
  if (!proof) return proof.status();
  b.proof = std::move(*proof);
  auto root = member_hash(o, "root");
  if (!root) return root.status();
  b.root = *root;
  if (const json::value* c = o.if_contains("checkpoint"); c != nullptr && c->is_string()) {
    b.checkpoint = std::string(c->as_string());
  }
  return b;
}

json::object to_json(const ConsistencyBundle& b) {
  return json::object{{"from", b.from},
                      {"to", b.to},
                      {"from_root", hash_hex(b.from_root)},
                      {"to_root", hash_hex(b.to_root)},
                      {"proof", hashes_json(b.proof)}};
}

Result<ConsistencyBundle> consistency_bundle_from_json(const json::value& v) {
  if (!v.is_object()) return invalid_argument("expected a JSON object (a consistency proof)", "proof");
  const json::object& o = v.as_object();
  ConsistencyBundle b;
  auto from = member_u64(o, "from");
  if (!from) return from.status();
  auto to = member_u64(o, "to");
  if (!to) return to.status();
  auto from_root = member_hash(o, "from_root");
  if (!from_root) return from_root.status();
  auto to_root = member_hash(o, "to_root");
  if (!to_root) return to_root.status();
  auto proof = member_hashes(o, "proof");
  if (!proof) return proof.status();
  b.from = *from;
  b.to = *to;
  b.from_root = *from_root;
  b.to_root = *to_root;
  b.proof = std::move(*proof);
  return b;
}

}  // namespace accountable
