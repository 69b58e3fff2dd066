#include "app/security_log.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <filesystem>

#include "events/coding.h"
#include "events/crc32c.h"

namespace accountable {
namespace json = boost::json;
using coding::append_u32;
using coding::get_u32;

namespace {

constexpr std::string_view kMagic = "ACCTSEC1";
constexpr std::string_view kSuffix = ".seclog";
constexpr size_t kFrame = 8;                  // u32 len | u32 crc
constexpr uint32_t kMaxRecordBytes = 64 << 10;  // a record is a few hundred bytes; more is damage

std::string file_name(uint64_t first_seq) {
  char name[32];
  std::snprintf(name, sizeof(name), "%020" PRIu64, first_seq);
  return std::string(name) + std::string(kSuffix);
}

// The first seq a file's name gives, or nullopt for another file.
std::optional<uint64_t> first_seq_of(const std::string& name) {
  if (name.size() != 20 + kSuffix.size() || name.substr(20) != kSuffix) return std::nullopt;
  uint64_t v = 0;
  for (size_t i = 0; i < 20; ++i) {
    if (name[i] < '0' || name[i] > '9') return std::nullopt;
    v = v * 10 + static_cast<uint64_t>(name[i] - '0');
  }
  return v;
}

struct LogFile {
  uint64_t first_seq;
  std::string path;
};

Result<std::vector<LogFile>> list_files(Env* env, const std::string& dir) {
  if (!env->file_exists(dir)) return std::vector<LogFile>{};
  auto names = env->list_dir(dir);
  if (!names) return names.status();
  std::vector<LogFile> files;
  for (const std::string& n : *names) {
    if (auto seq = first_seq_of(n)) files.push_back(LogFile{*seq, join_path(dir, n)});
  }
  std::sort(files.begin(), files.end(), [](const LogFile& a, const LogFile& b) { return a.first_seq < b.first_seq; });
  return files;
}

std::string hex(const Hash256& h) { return hex_encode(h.data(), h.size()); }

uint64_t seq_of(const json::object& o) {
  const json::value& v = o.at("seq");
  return v.is_uint64() ? v.as_uint64() : static_cast<uint64_t>(v.as_int64());
}

// What a file holds, record by record.
struct Scan {
  uint64_t good_end = 0;  // offset after the last intact record
  uint64_t records = 0;
  uint64_t last_seq = 0;
  Hash256 last_hash{};
  bool torn = false;      // a record runs past the end (a crash mid-append)
  std::string damage;     // a record failed its check: where and why
};

// Calls `each(offset, payload, object)` for every intact record, in order;
// stops at the first torn or damaged one.
template <class Each>
Scan scan_file(std::string_view bytes, const std::string& path, Each each) {
  Scan s;
  if (bytes.size() < kMagic.size()) {
    s.torn = true;  // a crash before the header was synced
    return s;
  }
  if (bytes.substr(0, kMagic.size()) != kMagic) {
    s.damage = path + ": not a security log file (bad magic)";
    return s;
  }
  uint64_t off = kMagic.size();
  s.good_end = off;
  while (off < bytes.size()) {
    if (bytes.size() - off < kFrame) {
      s.torn = true;
      break;
    }
    const uint32_t len = get_u32(bytes.data() + off);
    const uint32_t crc = get_u32(bytes.data() + off + 4);
    if (len > kMaxRecordBytes) {
      s.damage = path + ": record at offset " + std::to_string(off) + " claims " + std::to_string(len) + " bytes";
      break;
    }
    if (bytes.size() - off - kFrame < len) {
      s.torn = true;
      break;
    }
    const std::string_view payload = bytes.substr(off + kFrame, len);
    if (crc32c::unmask(crc) != crc32c::value(payload.data(), payload.size())) {
      s.damage = path + ": record at offset " + std::to_string(off) + " fails its checksum";
      break;
    }
    boost::system::error_code ec;
    json::value v = json::parse(payload, ec);
    const json::value* seq = !ec && v.is_object() ? v.as_object().if_contains("seq") : nullptr;
    // (boost::json reads a seq below 2^63 as int64)
    if (seq == nullptr || !(seq->is_uint64() || (seq->is_int64() && seq->as_int64() > 0))) {
      s.damage = path + ": record at offset " + std::to_string(off) + " is not a security record";
      break;
    }
    each(off, payload, v.as_object());
    s.records++;
    s.last_seq = seq_of(v.as_object());
    s.last_hash = sha256(payload);
    off += kFrame + len;
    s.good_end = off;
  }
  return s;
}

}  // namespace

std::string SecurityLog::folder(const std::string& data_dir) { return join_path(data_dir, "security"); }

Result<std::unique_ptr<SecurityLog>> SecurityLog::open(Env* env, const std::string& data_dir, const Clock* clock,
                                                       SecurityLogOptions options) {
  std::unique_ptr<SecurityLog> log(new SecurityLog(env, folder(data_dir), clock, options));
  if (Status s = env->create_dir(log->dir_); !s.is_ok()) return s;
  auto files = list_files(env, log->dir_);
  if (!files) return files.status();
  // Continue the chain from the newest intact record.
  bool reopen_last = false;
  for (size_t i = files->size(); i-- > 0;) {
    const LogFile& f = (*files)[i];
    auto bytes = env->read_file(f.path);
    if (!bytes) return bytes.status();
    Scan s = scan_file(*bytes, f.path, [](uint64_t, std::string_view, const json::object&) {});
    const bool last = i + 1 == files->size();
    if (last && s.damage.empty()) {
      if (s.torn) {
        spdlog::warn("security log: {} bytes of a torn record cut off the end of {}", bytes->size() - s.good_end,
                     f.path);
        if (s.good_end < kMagic.size()) {
          if (Status st = env->remove_file(f.path); !st.is_ok()) return st;
        } else if (Status st = env->truncate_file(f.path, s.good_end); !st.is_ok()) {
          return st;
        }
      }
      reopen_last = s.good_end >= kMagic.size();
      log->good_size_ = s.good_end;
      log->file_path_ = f.path;
    } else if (last) {
      spdlog::error("security log: {}; writing goes on in a new file (acct security-log verify reports it)",
                    s.damage);
    }
    if (s.records > 0) {
      log->next_seq_ = s.last_seq + 1;
      log->prev_ = s.last_hash;
      break;
    }
    if (!last) break;  // an older file without records: nothing to continue
  }
  if (reopen_last) {
    auto file = env->reopen_writable_file(log->file_path_);
    if (!file) return file.status();
    log->file_ = std::move(*file);
  } else {
    // A damaged last file that would share the new file's name keeps its
    // bytes under another name, for verify to report.
    const std::string path = join_path(log->dir_, file_name(log->next_seq_));
    if (env->file_exists(path)) {
      if (Status s = env->rename_file(path, path + ".damaged"); !s.is_ok()) return s;
    }
    if (Status s = log->open_file_locked(log->next_seq_); !s.is_ok()) return s;
  }
  log->stats_.next_seq = log->next_seq_;
  log->apply_retention();
  log->writer_ = std::thread([raw = log.get()] { raw->run(); });
  return log;
}

SecurityLog::~SecurityLog() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  wake_.notify_all();
  if (writer_.joinable()) writer_.join();
  if (file_) (void)file_->close();
}

Status SecurityLog::open_file_locked(uint64_t first_seq) {
  const std::string path = join_path(dir_, file_name(first_seq));
  auto file = env_->new_writable_file(path);
  if (!file) return file.status();
  if (Status s = (*file)->append(kMagic); !s.is_ok()) return s;
  if (Status s = (*file)->sync(); !s.is_ok()) return s;
  if (Status s = env_->sync_dir(dir_); !s.is_ok()) return s;
  file_ = std::move(*file);
  file_path_ = path;
  good_size_ = kMagic.size();
  return Status::ok();
}

void SecurityLog::record(SecurityEvent event) {
  const Timestamp at = clock_ != nullptr ? clock_->now() : SystemClock().now();
  {
    std::lock_guard lock(mu_);
    ++enqueued_;
    if (stop_ || queue_.size() >= options_.max_queued) {
      ++stats_.dropped;
      ++lost_pending_;
      ++finished_;
      return;
    }
    queue_.push_back(Queued{std::move(event), at});
  }
  wake_.notify_one();
}

Status SecurityLog::flush(std::chrono::milliseconds wait) {
  std::unique_lock lock(mu_);
  const uint64_t target = enqueued_;
  if (!done_.wait_for(lock, wait, [&] { return finished_ >= target; })) {
    return Status(StatusCode::kNotYet, "the security log did not catch up within " + std::to_string(wait.count()) +
                                           " ms");
  }
  return Status::ok();
}

SecurityLogStats SecurityLog::stats() const {
  std::lock_guard lock(mu_);
  return stats_;
}

void SecurityLog::run() {
  for (;;) {
    std::deque<Queued> batch;
    {
      std::unique_lock lock(mu_);
      wake_.wait(lock, [&] { return stop_ || !queue_.empty(); });
      if (queue_.empty() && stop_) return;
      batch.swap(queue_);
      lost_ += lost_pending_;
      lost_pending_ = 0;
    }
    const size_t n = batch.size();
    write_batch(batch);
    {
      std::lock_guard lock(mu_);
      finished_ += n;
    }
    done_.notify_all();
  }
}

void SecurityLog::write_batch(std::deque<Queued>& batch) {
  auto fail = [&](const Status& s, bool poison) {
    std::lock_guard lock(mu_);
    stats_.dropped += batch.size();
    stats_.write_failures++;
    stats_.last_error = std::string(status_code_name(s.code()));
    stats_.failing = true;
    if (poison) stats_.poisoned = true;
  };
  {
    std::lock_guard lock(mu_);
    if (stats_.poisoned) {
      stats_.dropped += batch.size();
      return;
    }
  }
  if (!file_) {
    // A rotation failed: try again to open the next file.
    if (Status s = open_file_locked(next_seq_); !s.is_ok()) {
      lost_ += batch.size();
      fail(s, false);
      return;
    }
  }
  if (cut_needed_) {
    // A failed write may have left part of a batch: cut it before appending.
    if (Status s = file_->truncate(good_size_); !s.is_ok()) {
      lost_ += batch.size();
      fail(s, false);
      return;
    }
    cut_needed_ = false;
  }
  uint64_t seq = next_seq_;
  Hash256 prev = prev_;
  std::string bytes;
  uint64_t written = 0;
  auto add = [&](const SecurityEvent& e, Timestamp at) {
    json::object o;
    o["seq"] = seq++;
    o["at"] = format_timestamp(at);
    o["kind"] = e.kind;
    for (auto [key, value] : {std::pair{"outcome", &e.outcome}, std::pair{"principal", &e.principal},
                              std::pair{"partner", &e.partner}, std::pair{"session", &e.session},
                              std::pair{"client_address", &e.client_address}, std::pair{"detail", &e.detail}}) {
      if (!value->empty()) o[key] = *value;
    }
    o["prev"] = hex(prev);
    const std::string payload = json::serialize(o);
    append_u32(&bytes, static_cast<uint32_t>(payload.size()));
    append_u32(&bytes, crc32c::mask(crc32c::value(payload.data(), payload.size())));
    bytes += payload;
    prev = sha256(payload);
    ++written;
  };
  if (lost_ > 0) {
    SecurityEvent marker;
    marker.kind = "records_dropped";
    marker.detail = std::to_string(lost_) + " records were not written (queue full or write failed)";
    add(marker, batch.empty() ? SystemClock().now() : batch.front().at);
  }
  for (const Queued& q : batch) add(q.event, q.at);
  if (Status s = file_->append(bytes); !s.is_ok()) {
    // Nothing of this batch counts: what part of it reached the file is cut
    // off before the next append.
    cut_needed_ = true;
    spdlog::error("security log: {} records not written: {}", batch.size(), status_code_name(s.code()));
    lost_ += batch.size();
    fail(s, false);
    return;
  }
  if (Status s = file_->sync(); !s.is_ok()) {
    spdlog::error("security log: fsync failed ({}); nothing more is written until a restart",
                  status_code_name(s.code()));
    fail(s, true);
    return;
  }
  good_size_ = file_->size();
  next_seq_ = seq;
  prev_ = prev;
  lost_ = 0;
  {
    std::lock_guard lock(mu_);
    stats_.written += written;
    stats_.next_seq = next_seq_;
    stats_.failing = false;
  }
  if (good_size_ >= options_.max_file_bytes) {
    (void)file_->close();
    file_.reset();
    if (Status s = open_file_locked(next_seq_); !s.is_ok()) {
      spdlog::error("security log: the next file could not be opened: {}", status_code_name(s.code()));
    }
    apply_retention();
  }
}

void SecurityLog::apply_retention() {
  auto files = list_files(env_, dir_);
  if (!files) return;
  uint64_t total = 0;
  std::vector<std::pair<LogFile, uint64_t>> sized;
  for (const LogFile& f : *files) {
    auto size = env_->file_size(f.path);
    const uint64_t n = size ? *size : 0;
    total += n;
    sized.emplace_back(f, n);
  }
  const auto too_old = std::filesystem::file_time_type::clock::now() - options_.retention;
  for (const auto& [f, size] : sized) {
    if (f.path == file_path_) break;  // the open file, and everything newer, stays
    std::error_code ec;
    const auto written = std::filesystem::last_write_time(f.path, ec);
    const bool expired = !ec && written < too_old;
    if (!expired && total <= options_.max_total_bytes) break;
    if (Status s = env_->remove_file(f.path); !s.is_ok()) {
      spdlog::warn("security log: retention could not delete {}: {}", f.path, status_code_name(s.code()));
      break;
    }
    spdlog::info("security log: {} deleted by retention ({})", f.path, expired ? "age" : "total size");
    total -= size;
  }
}

Result<SecurityLog::Page> SecurityLog::read(Env* env, const std::string& dir, uint64_t from, size_t limit,
                                            const std::function<bool(const json::object&)>& keep) {
  Page page;
  page.next = from;
  auto files = list_files(env, dir);
  if (!files) return files.status();
  size_t start = 0;
  for (size_t i = 0; i < files->size(); ++i) {
    if ((*files)[i].first_seq <= from) start = i;
  }
  for (size_t i = start; i < files->size(); ++i) {
    auto bytes = env->read_file((*files)[i].path);
    if (!bytes) return bytes.status();
    bool full = false;
    Scan s = scan_file(*bytes, (*files)[i].path, [&](uint64_t, std::string_view, const json::object& o) {
      const uint64_t seq = seq_of(o);
      if (full || seq < from) return;
      if (page.records.size() == limit) {
        full = true;  // there is more after this page
        return;
      }
      page.next = seq + 1;
      if (!keep || keep(o)) page.records.push_back(o);
    });
    if (!s.damage.empty()) return corruption("security log " + s.damage);
    if (full) {
      page.end = false;
      return page;
    }
  }
  return page;
}

Result<SecurityLog::Verification> SecurityLog::verify(Env* env, const std::string& dir) {
  Verification v;
  auto files = list_files(env, dir);
  if (!files) return files.status();
  if (env->file_exists(dir)) {
    auto names = env->list_dir(dir);
    if (!names) return names.status();
    for (const std::string& n : *names) {
      if (n.size() > 8 && n.substr(n.size() - 8) == ".damaged") {
        v.damage = join_path(dir, n) + ": a damaged file set aside at start";
        return v;
      }
    }
  }
  std::optional<Hash256> prev;
  for (size_t i = 0; i < files->size() && v.damage.empty(); ++i) {
    const LogFile& f = (*files)[i];
    auto bytes = env->read_file(f.path);
    if (!bytes) return bytes.status();
    v.files++;
    Scan s = scan_file(*bytes, f.path, [&](uint64_t off, std::string_view payload, const json::object& o) {
      if (!v.damage.empty()) return;
      const uint64_t seq = seq_of(o);
      const std::string where = f.path + ": record " + std::to_string(seq) + " at offset " + std::to_string(off);
      const json::value* p = o.if_contains("prev");
      const std::string claimed = p != nullptr && p->is_string() ? std::string(p->as_string()) : "";
      if (v.records == 0) {
        v.first_seq = seq;
        v.chain_starts_at_genesis = seq == 1;
        if (seq == 1 && claimed != hex(Hash256{})) v.damage = where + ": the first record's prev is not zero";
      } else if (seq != v.last_seq + 1) {
        v.damage = where + ": follows record " + std::to_string(v.last_seq);
      } else if (claimed != hex(*prev)) {
        v.damage = where + ": prev does not match the previous record (a record was changed or removed)";
      }
      if (!v.damage.empty()) return;
      if (f.first_seq > seq) v.damage = where + ": precedes its file's first seq";
      prev = sha256(payload);
      v.last_seq = seq;
      v.records++;
    });
    if (v.damage.empty() && !s.damage.empty()) v.damage = s.damage;
    // A torn tail is a crash mid-append: the next start cuts it off. Only the
    // newest file may have one.
    if (v.damage.empty() && s.torn && i + 1 < files->size()) {
      v.damage = f.path + ": a torn record at offset " + std::to_string(s.good_end) + " before a later file";
    }
  }
  return v;
}

}  // namespace accountable
