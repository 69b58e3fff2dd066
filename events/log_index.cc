#include "events/log_index.h"

#include <algorithm>
#include <cstring>

#include "events/coding.h"
#include "events/crc32c.h"
#include "events/log_format.h"

namespace accountable {

using coding::append_u16;
using coding::append_u32;
using coding::append_u64;
using coding::get_u16;
using coding::get_u32;
using coding::get_u64;

void FlatU64Multimap::reserve(size_t n) {
  size_t cap = 16;
  while (cap * 7 / 10 < n) cap *= 2;
  if (cap > slots_.size()) grow(cap);
}

void FlatU64Multimap::grow(size_t new_capacity) {
  std::vector<Slot> old = std::move(slots_);
  slots_.assign(new_capacity, Slot{});
  const size_t mask = new_capacity - 1;
  for (const Slot& s : old) {
    if (s.key == 0) continue;
    size_t i = hash_slot(s.key) & mask;
    while (slots_[i].key != 0) i = (i + 1) & mask;
    slots_[i] = s;
  }
}

void FlatU64Multimap::insert(uint64_t key, uint64_t value) {
  if ((size_ + 1) * 10 > slots_.size() * 7) grow(slots_.empty() ? 16 : slots_.size() * 2);
  const size_t mask = slots_.size() - 1;
  size_t i = hash_slot(key) & mask;
  while (slots_[i].key != 0) i = (i + 1) & mask;
  slots_[i] = Slot{key, value};
  ++size_;
}

uint64_t command_fingerprint(const CommandId& id) {
  uint64_t a = 0, b = 0;
  std::memcpy(&a, id.bytes().data(), 8);
  std::memcpy(&b, id.bytes().data() + 8, 8);
  // Mixes both halves: v7 ids share their leading (time) bytes.
  uint64_t h = (a ^ (b * 0xC2B2AE3D27D4EB4FULL)) * 0x9E3779B97F4A7C15ULL;
  h ^= h >> 29;
  return h == 0 ? 1 : h;
}

StreamVersion LogIndex::stream_version(std::string_view stream) const {
  auto it = streams_.find(stream);
  return StreamVersion(it == streams_.end() ? 0 : it->second.size());
}

const std::vector<uint64_t>* LogIndex::stream_locations(std::string_view stream) const {
  auto it = streams_.find(stream);
  return it == streams_.end() ? nullptr : &it->second;
}

void LogIndex::add_event(std::string_view stream, uint64_t location) {
  auto it = streams_.find(stream);
  if (it == streams_.end()) it = streams_.emplace(std::string(stream), std::vector<uint64_t>{}).first;
  it->second.push_back(location);
  ++events_;
}

void LogIndex::note_commit_location(GlobalPosition first_position_of_commit, uint64_t commit_location) {
  constexpr uint64_t kSeekPointSpacing = 32 * 1024;
  if (!seek_points_.empty()) {
    const uint64_t last = seek_points_.back().second;
    if (log_format::location_ordinal(last) == log_format::location_ordinal(commit_location) &&
        log_format::location_offset(commit_location) - log_format::location_offset(last) < kSeekPointSpacing) {
      return;
    }
  }
  seek_points_.emplace_back(first_position_of_commit.value(), commit_location);
}

std::pair<GlobalPosition, uint64_t> LogIndex::seek(GlobalPosition position) const {
  auto it = std::upper_bound(seek_points_.begin(), seek_points_.end(), position.value(),
                             [](uint64_t p, const std::pair<uint64_t, uint64_t>& e) { return p < e.first; });
  if (it == seek_points_.begin()) {
    return {GlobalPosition(1), log_format::make_location(0, log_format::kSegmentHeaderSize)};
  }
  --it;
  return {GlobalPosition(it->first), it->second};
}

uint64_t LogIndex::memory_bytes() const {
  uint64_t total = seek_points_.capacity() * sizeof(seek_points_[0]) + commands_.size() * 16 * 10 / 7;
  for (const auto& [name, locs] : streams_) {
    total += locs.capacity() * sizeof(uint64_t) + name.capacity() + 64;  // 64: node + bucket overhead
  }
  return total;
}

std::string LogIndex::serialize(const CheckpointMeta& meta) const {
  std::string out;
  out.reserve(64 + events_ * 8 + commands_.size() * 16 + seek_points_.size() * 16 + streams_.size() * 48);
  out.append(log_format::kCheckpointMagic, 8);
  append_u32(&out, log_format::kCheckpointVersion);
  append_u32(&out, 0);
  append_u64(&out, meta.covered_position.value());
  append_u64(&out, meta.covered_end);
  append_u64(&out, meta.last_record);
  out.append(reinterpret_cast<const char*>(meta.head_hash.data()), meta.head_hash.size());
  append_u32(&out, static_cast<uint32_t>(meta.segments.size()));
  for (const auto& [base, size] : meta.segments) {
    append_u64(&out, base);
    append_u64(&out, size);
  }
  append_u64(&out, streams_.size());
  for (const auto& [name, locs] : streams_) {
    append_u16(&out, static_cast<uint16_t>(name.size()));
    out.append(name);
    append_u64(&out, locs.size());
    out.append(reinterpret_cast<const char*>(locs.data()), locs.size() * 8);
  }
  append_u64(&out, commands_.size());
  commands_.for_all([&](uint64_t k, uint64_t v) {
    append_u64(&out, k);
    append_u64(&out, v);
  });
  append_u64(&out, seek_points_.size());
  for (const auto& [pos, loc] : seek_points_) {
    append_u64(&out, pos);
    append_u64(&out, loc);
  }
  append_u32(&out, crc32c::mask(crc32c::value(out.data(), out.size())));
  return out;
}

namespace {

// Bounds-checked reader over the checkpoint bytes.
class Cursor {
 public:
  explicit Cursor(std::string_view b) : b_(b) {}
  bool need(size_t n) const { return b_.size() - at_ >= n; }
  uint16_t u16() { uint16_t v = get_u16(b_.data() + at_); at_ += 2; return v; }
  uint32_t u32() { uint32_t v = get_u32(b_.data() + at_); at_ += 4; return v; }
  uint64_t u64() { uint64_t v = get_u64(b_.data() + at_); at_ += 8; return v; }
  std::string_view bytes(size_t n) { auto v = b_.substr(at_, n); at_ += n; return v; }
  size_t remaining() const { return b_.size() - at_; }

 private:
  std::string_view b_;
  size_t at_ = 0;
};

}  // namespace

Result<std::pair<LogIndex, CheckpointMeta>> LogIndex::parse(std::string_view bytes) {
  if (bytes.size() < 8 + 4 + 4 + 24 + 32 + 4 + 4) return corruption("index checkpoint is cut short");
  const size_t body = bytes.size() - 4;
  if (crc32c::mask(crc32c::value(bytes.data(), body)) != get_u32(bytes.data() + body)) {
    return corruption("index checkpoint CRC mismatch");
  }
  Cursor c(bytes.substr(0, body));
  if (c.bytes(8) != std::string_view(log_format::kCheckpointMagic, 8)) return corruption("index checkpoint magic");
  if (c.u32() != log_format::kCheckpointVersion) return corruption("index checkpoint version is not supported");
  c.u32();
  CheckpointMeta meta;
  meta.covered_position = GlobalPosition(c.u64());
  meta.covered_end = c.u64();
  meta.last_record = c.u64();
  std::memcpy(meta.head_hash.data(), c.bytes(32).data(), 32);
  const uint32_t segments = c.u32();
  if (!c.need(uint64_t{segments} * 16)) return corruption("index checkpoint segment table is cut short");
  for (uint32_t i = 0; i < segments; ++i) {
    uint64_t base = c.u64();
    meta.segments.emplace_back(base, c.u64());
  }
  LogIndex index;
  if (!c.need(8)) return corruption("index checkpoint stream table is cut short");
  const uint64_t streams = c.u64();
  index.streams_.reserve(streams);
  for (uint64_t i = 0; i < streams; ++i) {
    if (!c.need(2)) return corruption("index checkpoint stream table is cut short");
    const uint16_t len = c.u16();
    if (!c.need(len + 8u)) return corruption("index checkpoint stream table is cut short");
    std::string name(c.bytes(len));
    const uint64_t n = c.u64();
    if (n > c.remaining() / 8) return corruption("index checkpoint stream table is cut short");
    std::vector<uint64_t> locs(n);
    std::memcpy(locs.data(), c.bytes(n * 8).data(), n * 8);
    index.events_ += n;
    index.streams_.emplace(std::move(name), std::move(locs));
  }
  if (!c.need(8)) return corruption("index checkpoint command table is cut short");
  const uint64_t commands = c.u64();
  if (commands > c.remaining() / 16) return corruption("index checkpoint command table is cut short");
  index.commands_.reserve(commands);
  for (uint64_t i = 0; i < commands; ++i) {
    uint64_t k = c.u64();
    index.commands_.insert(k, c.u64());
  }
  if (!c.need(8)) return corruption("index checkpoint seek table is cut short");
  const uint64_t seeks = c.u64();
  if (seeks != c.remaining() / 16 || c.remaining() % 16 != 0) return corruption("index checkpoint seek table size");
  index.seek_points_.reserve(seeks);
  for (uint64_t i = 0; i < seeks; ++i) {
    uint64_t p = c.u64();
    index.seek_points_.emplace_back(p, c.u64());
  }
  return std::make_pair(std::move(index), std::move(meta));
}

}  // namespace accountable
