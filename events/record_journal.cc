#include "events/record_journal.h"

#include "events/coding.h"
#include "events/crc32c.h"

namespace accountable {

namespace {

constexpr uint8_t kPut = 1;
constexpr uint8_t kErase = 2;
constexpr size_t kRecordHeader = 8;  // u32 len, u32 crc

uint32_t crc_of(std::string_view bytes) { return crc32c::mask(crc32c::value(bytes.data(), bytes.size())); }

std::string encode_record(const RecordJournal::Change& c) {
  std::string payload;
  payload.push_back(static_cast<char>(c.second ? kPut : kErase));
  coding::append_u32(&payload, static_cast<uint32_t>(c.first.size()));
  payload += c.first;
  if (c.second) payload += *c.second;
  std::string out;
  coding::append_u32(&out, static_cast<uint32_t>(payload.size()));
  coding::append_u32(&out, crc_of(payload));
  out += payload;
  return out;
}

// Is there a whole record with a good CRC starting anywhere at or after
// `from`? (A journal is compacted while small, so this scan stays short.)
bool valid_record_after(std::string_view b, size_t from) {
  for (size_t at = from; at + kRecordHeader + 5 <= b.size(); ++at) {
    const uint32_t len = coding::get_u32(b.data() + at);
    if (len < 5 || b.size() - at - kRecordHeader < len) continue;
    const std::string_view payload = b.substr(at + kRecordHeader, len);
    const auto op = static_cast<uint8_t>(payload[0]);
    if ((op == kPut || op == kErase) && crc_of(payload) == coding::get_u32(b.data() + at + 4)) return true;
  }
  return false;
}

}  // namespace

std::string RecordJournal::journal_magic() const { return magic_.substr(0, 7) + "J"; }

std::string RecordJournal::encode_snapshot(std::string_view magic, const Map& all) {
  std::string out(magic);
  coding::append_u32(&out, static_cast<uint32_t>(all.size()));
  for (const auto& [key, value] : all) {
    coding::append_u32(&out, static_cast<uint32_t>(key.size()));
    out += key;
    coding::append_u32(&out, static_cast<uint32_t>(value.size()));
    out += value;
  }
  coding::append_u32(&out, crc_of(out));
  return out;
}

Result<RecordJournal::Map> RecordJournal::decode_snapshot(std::string_view magic, std::string_view b,
                                                          const std::string& name) {
  auto bad = [&](const std::string& why) { return Status(StatusCode::kCorruption, name + ": " + why); };
  if (b.size() < magic.size() + 8 || b.substr(0, magic.size()) != magic) return bad("not a snapshot of this store");
  if (crc_of(b.substr(0, b.size() - 4)) != coding::get_u32(b.data() + b.size() - 4)) return bad("CRC mismatch");
  const std::string_view body = b.substr(0, b.size() - 4);
  size_t at = magic.size();
  const uint32_t count = coding::get_u32(body.data() + at);
  at += 4;
  Map out;
  for (uint32_t i = 0; i < count; ++i) {
    std::string parts[2];
    for (std::string& part : parts) {
      if (body.size() - at < 4) return bad("entry " + std::to_string(i) + " runs past the end");
      const uint32_t len = coding::get_u32(body.data() + at);
      at += 4;
      if (body.size() - at < len) return bad("entry " + std::to_string(i) + " runs past the end");
      part.assign(body.data() + at, len);
      at += len;
    }
    out[std::move(parts[0])] = std::move(parts[1]);
  }
  if (at != body.size()) return bad(std::to_string(body.size() - at) + " bytes after the last entry");
  return out;
}

Result<std::unique_ptr<RecordJournal>> RecordJournal::open(Env* env, const std::string& path, std::string_view magic,
                                                           Map* out, uint64_t* torn_bytes) {
  if (magic.size() != 8) return invalid_argument("a journal's magic is 8 bytes", "magic");
  std::unique_ptr<RecordJournal> j(new RecordJournal(env, path, std::string(magic)));
  out->clear();
  if (torn_bytes) *torn_bytes = 0;
  if (env->file_exists(path)) {
    auto bytes = env->read_file(path);
    if (!bytes) return bytes.status();
    auto map = decode_snapshot(magic, *bytes, path);
    if (!map) return map.status();
    *out = std::move(*map);
  }
  const std::string jpath = j->journal_path();
  if (!env->file_exists(jpath)) {
    ACCT_RETURN_IF_ERROR(j->start_journal());
    return j;
  }
  auto bytes = env->read_file(jpath);
  if (!bytes) return bytes.status();
  const std::string_view b = *bytes;
  const std::string jmagic = j->journal_magic();
  if (b.size() < jmagic.size() || b.substr(0, jmagic.size()) != jmagic) {
    return Status(StatusCode::kCorruption, jpath + ": not a journal of this store");
  }
  size_t at = jmagic.size();
  uint64_t records = 0;
  while (at < b.size()) {
    const size_t left = b.size() - at;
    const uint32_t len = left >= kRecordHeader ? coding::get_u32(b.data() + at) : 0;
    const bool whole = left >= kRecordHeader && left - kRecordHeader >= len;
    const bool crc_ok = whole && crc_of(b.substr(at + kRecordHeader, len)) == coding::get_u32(b.data() + at + 4);
    if (!crc_ok) {
      // Torn (the tail of a write the power cut, maybe garbled) when no whole
      // record follows; a damaged record with good ones after it is corruption.
      if (!valid_record_after(b, at + 1)) break;
      return Status(StatusCode::kCorruption, jpath + " at offset " + std::to_string(at) + ": " +
                                                 (whole ? "CRC mismatch" : "a record runs past the end") +
                                                 ", and whole records follow it (nothing is skipped)");
    }
    const std::string_view payload = b.substr(at + kRecordHeader, len);
    auto bad = [&](const std::string& why) {
      return Status(StatusCode::kCorruption, jpath + " at offset " + std::to_string(at) + ": " + why);
    };
    if (len < 5) return bad("a record too short for its header");
    const uint8_t op = static_cast<uint8_t>(payload[0]);
    const uint32_t klen = coding::get_u32(payload.data() + 1);
    if (klen > len - 5) return bad("a key longer than its record");
    std::string key(payload.substr(5, klen));
    if (op == kPut) {
      (*out)[std::move(key)] = std::string(payload.substr(5 + klen));
    } else if (op == kErase) {
      if (len != 5 + klen) return bad("an erase with a value");
      out->erase(key);
    } else {
      return bad("unknown operation " + std::to_string(op));
    }
    at += kRecordHeader + len;
    ++records;
  }
  if (at < b.size()) {
    if (torn_bytes) *torn_bytes = b.size() - at;
    ACCT_RETURN_IF_ERROR(env->truncate_file(jpath, at));
  }
  auto file = env->reopen_writable_file(jpath);
  if (!file) return file.status();
  j->journal_ = std::move(*file);
  j->journal_records_ = records;
  j->good_size_ = at;
  return j;
}

Status RecordJournal::start_journal() {
  if (!poisoned_.is_ok()) return poisoned_;
  if (journal_) journal_->close().ignore();
  journal_.reset();
  ACCT_RETURN_IF_ERROR(env_->write_file_atomically(journal_path(), journal_magic()));
  auto file = env_->reopen_writable_file(journal_path());
  if (!file) return file.status();
  journal_ = std::move(*file);
  journal_records_ = 0;
  good_size_ = journal_magic().size();
  append_failed_ = false;
  return Status::ok();
}

Status RecordJournal::append(const std::vector<Change>& changes) {
  if (changes.empty()) return Status::ok();
  if (!journal_) return Status(StatusCode::kInternal, journal_path() + " is not open");
  if (append_failed_) {
    // The last append may have left part of a record: cut it off first, or
    // this one would follow garbage that a reopen cannot tell from corruption.
    ACCT_RETURN_IF_ERROR(journal_->truncate(good_size_));
    append_failed_ = false;
  }
  if (!poisoned_.is_ok()) return poisoned_;
  std::string bytes;
  for (const Change& c : changes) bytes += encode_record(c);
  if (Status s = journal_->append(bytes); !s.is_ok()) {
    append_failed_ = true;  // e.g. a full disk: cut off and go on once there is room
    return s;
  }
  if (Status s = journal_->sync(); !s.is_ok()) {
    // As the log: after a failed fsync the kernel may have dropped the pages;
    // a later fsync could succeed for data that is gone. Restart to recover.
    poisoned_ = Status(StatusCode::kPoisoned, journal_path() + " refuses changes after a failed fsync (" +
                                                  s.message() + "); restart the process to recover");
    return poisoned_;
  }
  good_size_ += bytes.size();
  journal_records_ += changes.size();
  return Status::ok();
}

Status RecordJournal::compact(const Map& all) {
  ACCT_RETURN_IF_ERROR(env_->write_file_atomically(path_, encode_snapshot(magic_, all)));
  return start_journal();
}

}  // namespace accountable
