#include "events/index_run.h"

#include <algorithm>
#include <cstdio>
#include <cstring>

#include "events/coding.h"
#include "events/crc32c.h"

namespace accountable {

using coding::append_u32;
using coding::append_u64;
using coding::get_u32;
using coding::get_u64;

namespace {

constexpr char kRunMagic[8] = {'A', 'C', 'C', 'T', 'R', 'U', 'N', '1'};
constexpr uint32_t kRunVersion = 1;
constexpr size_t kHeaderSize = 8 + 4 + 4 + 6 * 8;  // 72
constexpr size_t kStreamEntrySize = 32;             // hash, name offset, name length + reserved, first location
constexpr size_t kCommandEntrySize = 16;
constexpr size_t kWriteBuffer = 1 << 20;

uint64_t pad8(uint64_t n) { return (n + 7) & ~uint64_t{7}; }

// The lower bound of `key` in keys sorted ascending, reading key(i): a few
// interpolation steps (the keys are uniform hashes), then bisection, so that
// the worst case is still O(log n).
template <class KeyAt>
size_t lower_bound_uniform(size_t n, uint64_t key, KeyAt key_at) {
  size_t lo = 0, hi = n;  // keys below lo are < key; keys from hi on are >= key
  for (int step = 0; lo < hi; ++step) {
    size_t mid = lo + (hi - lo) / 2;
    if (step < 4 && hi - lo > 8) {
      const uint64_t first = key_at(lo), last = key_at(hi - 1);
      if (key <= first) return lo;
      if (key > last) return hi;
      const double at = static_cast<double>(key - first) / static_cast<double>(last - first);
      mid = std::min(hi - 1, lo + static_cast<size_t>(at * static_cast<double>(hi - 1 - lo)));
    }
    if (key_at(mid) < key) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  return lo;
}

// Buffers a run's bytes and their CRC on their way to the file.
class RunOutput {
 public:
  explicit RunOutput(WritableFile* file) : file_(file) { buffer_.reserve(kWriteBuffer + 4096); }
  std::string* buffer() { return &buffer_; }
  Status maybe_flush() { return buffer_.size() >= kWriteBuffer ? flush() : Status::ok(); }
  Status flush() {
    crc_ = crc32c::extend(crc_, buffer_.data(), buffer_.size());
    Status s = file_->append(buffer_);
    buffer_.clear();
    return s;
  }
  Status finish() {
    ACCT_RETURN_IF_ERROR(flush());
    append_u32(&buffer_, crc32c::mask(crc_));
    Status s = file_->append(buffer_);
    buffer_.clear();
    return s;
  }

 private:
  WritableFile* file_;
  std::string buffer_;
  uint32_t crc_ = 0;
};

struct MergedStream {
  uint64_t hash = 0;
  std::string_view name;
  uint64_t count = 0;
  std::vector<std::pair<size_t, size_t>> parts;  // (source, stream entry), oldest source first
};

// Calls f(MergedStream) for each stream of the union of `sources`, in (hash,
// name) order. Stops at the first error f returns.
template <class F>
Status for_each_merged_stream(const std::vector<const RunSource*>& sources, F&& f) {
  std::vector<size_t> at(sources.size(), 0);
  MergedStream m;
  while (true) {
    bool any = false;
    RunStream best;
    for (size_t s = 0; s < sources.size(); ++s) {
      if (at[s] >= sources[s]->stream_count()) continue;
      const RunStream c = sources[s]->stream(at[s]);
      if (!any || c.hash < best.hash || (c.hash == best.hash && c.name < best.name)) best = c;
      any = true;
    }
    if (!any) return Status::ok();
    m.hash = best.hash;
    m.name = best.name;
    m.count = 0;
    m.parts.clear();
    for (size_t s = 0; s < sources.size(); ++s) {
      if (at[s] >= sources[s]->stream_count()) continue;
      const RunStream c = sources[s]->stream(at[s]);
      if (c.hash == best.hash && c.name == best.name) {
        m.count += c.count;
        m.parts.emplace_back(s, at[s]);
        ++at[s];
      }
    }
    ACCT_RETURN_IF_ERROR(f(m));
  }
}

}  // namespace

uint64_t stream_hash(std::string_view stream) {
  uint64_t h = 0xcbf29ce484222325ULL;  // FNV-1a, then a finalizer (splitmix64) for uniform high bits
  for (unsigned char c : stream) h = (h ^ c) * 0x100000001b3ULL;
  h ^= h >> 30;
  h *= 0xbf58476d1ce4e5b9ULL;
  h ^= h >> 27;
  h *= 0x94d049bb133111ebULL;
  h ^= h >> 31;
  return h;
}

std::string run_file_name(uint64_t first_position, uint64_t last_position) {
  char name[64];
  std::snprintf(name, sizeof(name), "run-%020llu-%020llu.idx", static_cast<unsigned long long>(first_position),
                static_cast<unsigned long long>(last_position));
  return name;
}

// --- reading ----------------------------------------------------------------------

Result<std::shared_ptr<const IndexRun>> IndexRun::open(Env* env, const std::string& path, uint64_t first_position,
                                                       uint64_t last_position) {
  auto size = env->file_size(path);
  if (!size) return size.status();
  if (*size < kHeaderSize + 4) return corruption("index run " + path + " is cut short");
  auto file = env->new_random_access_file(path, *size);
  if (!file) return file.status();
  std::shared_ptr<IndexRun> run(new IndexRun());
  run->path_ = path;
  run->file_ = std::move(*file);
  std::string_view bytes;
  if (run->file_->zero_copy()) {
    ACCT_RETURN_IF_ERROR(run->file_->read(0, *size, nullptr, &bytes));
  } else {
    run->owned_.resize(*size);
    ACCT_RETURN_IF_ERROR(run->file_->read(0, *size, run->owned_.data(), &bytes));
    if (bytes.data() != run->owned_.data()) run->owned_.assign(bytes.data(), bytes.size());
    bytes = run->owned_;
  }
  if (bytes.size() != *size) return corruption("index run " + path + " is cut short");
  run->bytes_ = bytes;
  const size_t body = bytes.size() - 4;
  if (crc32c::mask(crc32c::value(bytes.data(), body)) != get_u32(bytes.data() + body)) {
    return corruption("index run " + path + ": CRC mismatch");
  }
  const char* h = bytes.data();
  if (std::memcmp(h, kRunMagic, 8) != 0) return corruption("index run " + path + ": bad magic");
  if (get_u32(h + 8) != kRunVersion) return corruption("index run " + path + ": format version is not supported");
  run->first_ = get_u64(h + 16);
  run->last_ = get_u64(h + 24);
  if (run->first_ != first_position || run->last_ != last_position) {
    return corruption("index run " + path + " covers other positions than the checkpoint says");
  }
  run->stream_count_ = get_u64(h + 32);
  run->location_count_ = get_u64(h + 40);
  run->command_count_ = get_u64(h + 48);
  run->names_bytes_ = get_u64(h + 56);
  // The tables must fill the file exactly (each count bounded first, so that no product overflows).
  const uint64_t room = body - kHeaderSize;
  if (run->stream_count_ > room / kStreamEntrySize || run->location_count_ > room / 8 ||
      run->command_count_ > room / kCommandEntrySize || run->names_bytes_ > room ||
      run->stream_count_ * kStreamEntrySize + pad8(run->names_bytes_) + run->location_count_ * 8 +
              run->command_count_ * kCommandEntrySize !=
          room) {
    return corruption("index run " + path + ": its tables do not match its size");
  }
  run->streams_at_ = kHeaderSize;
  run->names_at_ = run->streams_at_ + run->stream_count_ * kStreamEntrySize;
  run->locations_at_ = run->names_at_ + pad8(run->names_bytes_);
  run->commands_at_ = run->locations_at_ + run->location_count_ * 8;
  if (Status s = run->check(); !s.is_ok()) return corruption("index run " + path + ": " + s.message());
  run->release_resident();  // the check read every page
  return std::shared_ptr<const IndexRun>(std::move(run));
}

Status IndexRun::check() const {
  uint64_t name_at = 0, location_at = 0, prev_hash = 0;
  std::string_view prev_name;
  for (uint64_t i = 0; i < stream_count_; ++i) {
    const char* e = bytes_.data() + streams_at_ + i * kStreamEntrySize;
    const uint64_t hash = get_u64(e), name_offset = get_u64(e + 8), first = get_u64(e + 24);
    const uint32_t name_len = get_u32(e + 16);
    if (name_offset != name_at || name_len == 0 || name_len > names_bytes_ - name_at || first != location_at) {
      return corruption("stream entry " + std::to_string(i) + " is out of place");
    }
    const std::string_view name(bytes_.data() + names_at_ + name_offset, name_len);
    if (stream_hash(name) != hash) return corruption("stream entry " + std::to_string(i) + " has a wrong hash");
    if (i > 0 && (hash < prev_hash || (hash == prev_hash && name <= prev_name))) {
      return corruption("stream entry " + std::to_string(i) + " is out of order");
    }
    const RunStream s = stream(i);
    if (s.count == 0 || s.count > location_count_ - location_at) {
      return corruption("stream entry " + std::to_string(i) + " has a wrong count");
    }
    name_at += name_len;
    location_at += s.count;
    prev_hash = hash;
    prev_name = name;
  }
  if (name_at != names_bytes_ || location_at != location_count_) return corruption("the tables have unused bytes");
  uint64_t prev = 0;
  for (uint64_t i = 0; i < command_count_; ++i) {
    const uint64_t fp = command(i).first;
    if (fp == 0 || fp < prev) return corruption("command entry " + std::to_string(i) + " is out of order");
    prev = fp;
  }
  return Status::ok();
}

uint64_t IndexRun::stream_hash_at(size_t i) const { return get_u64(bytes_.data() + streams_at_ + i * kStreamEntrySize); }

RunStream IndexRun::stream(size_t i) const {
  const char* e = bytes_.data() + streams_at_ + i * kStreamEntrySize;
  RunStream s;
  s.hash = get_u64(e);
  s.name = std::string_view(bytes_.data() + names_at_ + get_u64(e + 8), get_u32(e + 16));
  const uint64_t first = get_u64(e + 24);
  const uint64_t end = i + 1 < stream_count_ ? get_u64(e + kStreamEntrySize + 24) : location_count_;
  s.count = end - first;
  return s;
}

size_t IndexRun::find_stream(std::string_view stream_name, uint64_t hash) const {
  for (size_t i = lower_bound_uniform(stream_count_, hash, [&](size_t k) { return stream_hash_at(k); });
       i < stream_count_ && stream_hash_at(i) == hash; ++i) {
    if (stream(i).name == stream_name) return i;
  }
  return SIZE_MAX;
}

uint64_t IndexRun::location(size_t stream_entry, uint64_t i) const {
  const uint64_t first = get_u64(bytes_.data() + streams_at_ + stream_entry * kStreamEntrySize + 24);
  return get_u64(bytes_.data() + locations_at_ + (first + i) * 8);
}

void IndexRun::append_locations(size_t i, std::string* out) const {
  const uint64_t first = get_u64(bytes_.data() + streams_at_ + i * kStreamEntrySize + 24);
  out->append(bytes_.data() + locations_at_ + first * 8, stream(i).count * 8);  // stored little-endian already
}

std::pair<uint64_t, uint64_t> IndexRun::command(size_t i) const {
  const char* e = bytes_.data() + commands_at_ + i * kCommandEntrySize;
  return {get_u64(e), get_u64(e + 8)};
}

size_t IndexRun::lower_bound_command(uint64_t fingerprint) const {
  return lower_bound_uniform(command_count_, fingerprint, [&](size_t k) { return command(k).first; });
}

// --- writing ----------------------------------------------------------------------

Status write_run(Env* env, const std::string& path, uint64_t first_position, uint64_t last_position,
                 const std::vector<const RunSource*>& sources) {
  // Pass 1: the sizes the header states.
  uint64_t streams = 0, locations = 0, names = 0, commands = 0;
  ACCT_RETURN_IF_ERROR(for_each_merged_stream(sources, [&](const MergedStream& m) {
    ++streams;
    locations += m.count;
    names += m.name.size();
    return Status::ok();
  }));
  for (const RunSource* s : sources) commands += s->command_count();

  const std::string tmp = path + ".tmp";
  auto file = env->new_writable_file(tmp);
  if (!file) return file.status();
  auto write_all = [&]() -> Status {
    RunOutput out(file->get());
    std::string* b = out.buffer();
    b->append(kRunMagic, 8);
    append_u32(b, kRunVersion);
    append_u32(b, 0);
    for (uint64_t v : {first_position, last_position, streams, locations, commands, names}) append_u64(b, v);
    // The stream table, then the names, then the locations, each in (hash, name) order.
    uint64_t name_at = 0, location_at = 0;
    ACCT_RETURN_IF_ERROR(for_each_merged_stream(sources, [&](const MergedStream& m) {
      append_u64(b, m.hash);
      append_u64(b, name_at);
      append_u32(b, static_cast<uint32_t>(m.name.size()));
      append_u32(b, 0);
      append_u64(b, location_at);
      name_at += m.name.size();
      location_at += m.count;
      return out.maybe_flush();
    }));
    ACCT_RETURN_IF_ERROR(for_each_merged_stream(sources, [&](const MergedStream& m) {
      b->append(m.name);
      return out.maybe_flush();
    }));
    b->append(pad8(names) - names, '\0');
    ACCT_RETURN_IF_ERROR(for_each_merged_stream(sources, [&](const MergedStream& m) {
      for (const auto& [source, entry] : m.parts) sources[source]->append_locations(entry, b);
      return out.maybe_flush();
    }));
    // The commands, merged by fingerprint (a tie keeps the older source first).
    std::vector<size_t> at(sources.size(), 0);
    while (true) {
      size_t best = SIZE_MAX;
      uint64_t best_fp = 0;
      for (size_t s = 0; s < sources.size(); ++s) {
        if (at[s] >= sources[s]->command_count()) continue;
        const uint64_t fp = sources[s]->command(at[s]).first;
        if (best == SIZE_MAX || fp < best_fp) best = s, best_fp = fp;
      }
      if (best == SIZE_MAX) break;
      const auto [fp, location] = sources[best]->command(at[best]++);
      append_u64(b, fp);
      append_u64(b, location);
      ACCT_RETURN_IF_ERROR(out.maybe_flush());
    }
    ACCT_RETURN_IF_ERROR(out.finish());
    ACCT_RETURN_IF_ERROR((*file)->sync());
    return (*file)->close();
  };
  if (Status s = write_all(); !s.is_ok()) {
    env->remove_file(tmp).ignore();  // best effort: a stale .tmp is removed at the next open
    return s;
  }
  ACCT_RETURN_IF_ERROR(env->rename_file(tmp, path));
  return env->sync_dir(parent_dir(path));
}

}  // namespace accountable
