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

// --- MemIndex --------------------------------------------------------------------

uint64_t MemIndex::count(std::string_view stream) const {
  auto it = streams_.find(stream);
  return it == streams_.end() ? 0 : it->second.size();
}

const std::vector<uint64_t>* MemIndex::locations(std::string_view stream) const {
  auto it = streams_.find(stream);
  return it == streams_.end() ? nullptr : &it->second;
}

bool MemIndex::add_event(std::string_view stream, uint64_t location) {
  auto it = streams_.find(stream);
  const bool added = it == streams_.end();
  if (added) it = streams_.emplace(std::string(stream), std::vector<uint64_t>{}).first;
  it->second.push_back(location);
  ++events_;
  return added;
}

uint64_t MemIndex::memory_bytes() const {
  uint64_t total = commands_.size() * 16 * 10 / 7;
  for (const auto& [name, locs] : streams_) {
    total += locs.capacity() * sizeof(uint64_t) + name.capacity() + 64;  // 64: node + bucket overhead
  }
  return total;
}

// A MemIndex's streams in (hash, name) order and its commands in fingerprint
// order, for write_run.
class MemRunSource final : public RunSource {
 public:
  explicit MemRunSource(const MemIndex& index) {
    streams_.reserve(index.streams_.size());
    for (const auto& [name, locs] : index.streams_) streams_.push_back({stream_hash(name), &name, &locs});
    std::sort(streams_.begin(), streams_.end(), [](const Entry& a, const Entry& b) {
      return a.hash != b.hash ? a.hash < b.hash : *a.name < *b.name;
    });
    commands_.reserve(index.commands_.size());
    index.commands_.for_all([&](uint64_t k, uint64_t v) { commands_.emplace_back(k, v); });
    // Equal fingerprints keep log order (their locations ascend), as a run expects.
    std::sort(commands_.begin(), commands_.end());
  }
  size_t stream_count() const override { return streams_.size(); }
  RunStream stream(size_t i) const override { return {streams_[i].hash, *streams_[i].name, streams_[i].locs->size()}; }
  void append_locations(size_t i, std::string* out) const override {
    for (uint64_t loc : *streams_[i].locs) append_u64(out, loc);
  }
  size_t command_count() const override { return commands_.size(); }
  std::pair<uint64_t, uint64_t> command(size_t i) const override { return commands_[i]; }

 private:
  struct Entry {
    uint64_t hash;
    const std::string* name;
    const std::vector<uint64_t>* locs;
  };
  std::vector<Entry> streams_;
  std::vector<std::pair<uint64_t, uint64_t>> commands_;
};

std::unique_ptr<RunSource> MemIndex::sorted() const { return std::make_unique<MemRunSource>(*this); }

// --- LogIndex ----------------------------------------------------------------------

uint64_t StreamLocations::operator[](uint64_t i) const {
  for (const Part& p : parts_) {
    if (i < p.count) return p.run ? p.run->location(p.entry, i) : (*p.memory)[i];
    i -= p.count;
  }
  return 0;  // out of range: callers stay below size()
}

StreamVersion LogIndex::stream_version(std::string_view stream) const {
  uint64_t n = 0;
  if (!runs_.empty()) {
    const uint64_t hash = stream_hash(stream);
    for (const auto& run : runs_) {
      const size_t entry = run->find_stream(stream, hash);
      if (entry != SIZE_MAX) n += run->stream(entry).count;
    }
  }
  if (frozen_) n += frozen_->count(stream);
  return StreamVersion(n + active_->count(stream));
}

StreamLocations LogIndex::stream_locations(std::string_view stream) const {
  StreamLocations out;
  if (!runs_.empty()) {
    const uint64_t hash = stream_hash(stream);
    for (const auto& run : runs_) {
      const size_t entry = run->find_stream(stream, hash);
      if (entry == SIZE_MAX) continue;
      StreamLocations::Part part;
      part.run = run.get();
      part.entry = entry;
      part.count = run->stream(entry).count;
      out.parts_.push_back(part);
    }
  }
  for (const MemIndex* mem : {frozen_.get(), static_cast<const MemIndex*>(active_.get())}) {
    const std::vector<uint64_t>* locs = mem ? mem->locations(stream) : nullptr;
    if (locs == nullptr) continue;
    StreamLocations::Part part;
    part.memory = locs;
    part.count = locs->size();
    out.parts_.push_back(part);
  }
  for (const auto& p : out.parts_) out.size_ += p.count;
  return out;
}

void LogIndex::add_event(std::string_view stream, uint64_t location) {
  // A stream new to the active MemIndex may still be new to the log.
  const bool new_here = active_->count(stream) == 0;
  if (new_here && stream_version(stream).value() == 0) ++stream_count_;
  active_->add_event(stream, location);
}

uint64_t LogIndex::event_count() const {
  uint64_t n = active_->event_count() + (frozen_ ? frozen_->event_count() : 0);
  for (const auto& run : runs_) n += run->location_count();
  return n;
}

uint64_t LogIndex::command_count() const {
  uint64_t n = active_->command_count() + (frozen_ ? frozen_->command_count() : 0);
  for (const auto& run : runs_) n += run->command_count();
  return n;
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
  return seek_points_.capacity() * sizeof(seek_points_[0]) + active_->memory_bytes() +
         (frozen_ ? frozen_->memory_bytes() : 0) + runs_.size() * 256;
}

uint64_t LogIndex::run_bytes() const {
  uint64_t n = 0;
  for (const auto& run : runs_) n += run->file_bytes();
  return n;
}

void LogIndex::release_resident() const {
  for (const auto& run : runs_) run->release_resident();
}

void LogIndex::restore(const CheckpointContents& contents, std::vector<std::shared_ptr<const IndexRun>> runs) {
  runs_ = std::move(runs);
  frozen_.reset();
  active_ = std::make_shared<MemIndex>();
  seek_points_ = contents.seek_points;
  stream_count_ = contents.stream_count;
}

std::shared_ptr<const MemIndex> LogIndex::freeze() {
  if (!frozen_) {
    frozen_ = std::move(active_);
    active_ = std::make_shared<MemIndex>();
  }
  return frozen_;
}

void LogIndex::install(std::vector<std::shared_ptr<const IndexRun>> runs) {
  runs_ = std::move(runs);
  frozen_.reset();
}

std::string serialize_checkpoint(const CheckpointContents& c) {
  const CheckpointMeta& meta = c.meta;
  std::string out;
  out.reserve(256 + meta.segments.size() * 16 + c.runs.size() * 16 + c.seek_points.size() * 16);
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
  append_u64(&out, c.stream_count);
  append_u32(&out, static_cast<uint32_t>(c.runs.size()));
  for (const RunRef& r : c.runs) {
    append_u64(&out, r.first_position);
    append_u64(&out, r.last_position);
  }
  append_u64(&out, c.seek_points.size());
  for (const auto& [pos, loc] : c.seek_points) {
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

Result<CheckpointContents> parse_checkpoint(std::string_view bytes) {
  if (bytes.size() < 8 + 4 + 4 + 24 + 32 + 4 + 4) return corruption("index checkpoint is cut short");
  const size_t body = bytes.size() - 4;
  if (crc32c::mask(crc32c::value(bytes.data(), body)) != get_u32(bytes.data() + body)) {
    return corruption("index checkpoint CRC mismatch");
  }
  Cursor c(bytes.substr(0, body));
  if (c.bytes(8) != std::string_view(log_format::kCheckpointMagic, 8)) return corruption("index checkpoint magic");
  if (c.u32() != log_format::kCheckpointVersion) return corruption("index checkpoint version is not supported");
  c.u32();
  CheckpointContents out;
  CheckpointMeta& meta = out.meta;
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
  if (!c.need(8 + 4)) return corruption("index checkpoint run table is cut short");
  out.stream_count = c.u64();
  const uint32_t runs = c.u32();
  if (!c.need(uint64_t{runs} * 16)) return corruption("index checkpoint run table is cut short");
  uint64_t next = 1;
  for (uint32_t i = 0; i < runs; ++i) {
    RunRef r;
    r.first_position = c.u64();
    r.last_position = c.u64();
    if (r.first_position != next || r.last_position < r.first_position) {
      return corruption("index checkpoint run " + std::to_string(i) + " does not follow the one before");
    }
    next = r.last_position + 1;
    out.runs.push_back(r);
  }
  if (next - 1 != meta.covered_position.value()) return corruption("index checkpoint runs do not end at its position");
  if (!c.need(8)) return corruption("index checkpoint seek table is cut short");
  const uint64_t seeks = c.u64();
  if (seeks != c.remaining() / 16 || c.remaining() % 16 != 0) return corruption("index checkpoint seek table size");
  out.seek_points.reserve(seeks);
  for (uint64_t i = 0; i < seeks; ++i) {
    uint64_t p = c.u64();
    out.seek_points.emplace_back(p, c.u64());
  }
  return out;
}

}  // namespace accountable
