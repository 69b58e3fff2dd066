#include "events/types.h"

#include <sys/random.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <stdexcept>

#include "events/text_form.h"

namespace accountable {

void random_bytes(unsigned char* out, size_t n) {
  while (n > 0) {
    ssize_t got = ::getrandom(out, n, 0);
    if (got < 0) {
      if (errno == EINTR) continue;
      // getrandom cannot fail once the pool is initialised; running on without
      // randomness would silently weaken ids and secrets.
      throw std::runtime_error(std::string("getrandom failed: ") + std::strerror(errno));
    }
    out += got;
    n -= static_cast<size_t>(got);
  }
}

void random_id_bytes(unsigned char out[16]) {
  thread_local unsigned char pool[4096];
  thread_local size_t used = sizeof pool;
  if (used + 16 > sizeof pool) {
    random_bytes(pool, sizeof pool);
    used = 0;
  }
  std::memcpy(out, pool + used, 16);
  std::memset(pool + used, 0, 16);  // a handed-out id does not linger in the pool
  used += 16;
}

std::string hex_encode(const unsigned char* p, size_t n) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(n * 2, '0');
  for (size_t i = 0; i < n; ++i) {
    out[2 * i] = kHex[p[i] >> 4];
    out[2 * i + 1] = kHex[p[i] & 0xf];
  }
  return out;
}

int hex_digit_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

Result<std::array<unsigned char, 16>> parse_uuid_bytes(std::string_view text) {
  if (text.size() != 36 || text[8] != '-' || text[13] != '-' || text[18] != '-' || text[23] != '-') {
    return invalid_argument("expected a UUID in the form xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx");
  }
  std::array<unsigned char, 16> out{};
  size_t j = 0;
  for (size_t i = 0; i < text.size();) {
    if (text[i] == '-') {
      ++i;
      continue;
    }
    int hi = hex_digit_value(text[i]);
    int lo = hex_digit_value(text[i + 1]);
    if (hi < 0 || lo < 0) return invalid_argument("UUID has a character that is not hex");
    out[j++] = static_cast<unsigned char>(hi << 4 | lo);
    i += 2;
  }
  return out;
}

void format_uuid_to(const std::array<unsigned char, 16>& b, char* out) {
  static constexpr char kHex[] = "0123456789abcdef";
  for (size_t i = 0; i < b.size(); ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) *out++ = '-';  // 8-4-4-4-12
    *out++ = kHex[b[i] >> 4];
    *out++ = kHex[b[i] & 0xf];
  }
}

std::string format_uuid_bytes(const std::array<unsigned char, 16>& b) {
  std::string text(kUuidTextSize, '0');
  format_uuid_to(b, text.data());
  return text;
}

namespace {

bool is_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
         c == ':' || c == '@' || c == '-';
}

Status validate_name(std::string_view id, std::string_view field, std::string_view what) {
  if (id.empty() || id.size() > 128) {
    return invalid_argument(std::string(what) + " must be 1 to 128 bytes long", std::string(field));
  }
  if (id[0] == '$' || id[0] == '.') {
    return invalid_argument(std::string(what) + " must not start with '$' or '.'", std::string(field));
  }
  for (size_t i = 0; i < id.size(); ++i) {
    if (!is_name_char(id[i])) {
      return invalid_argument(std::string(what) + " has a forbidden character at byte " + std::to_string(i) +
                                  " (allowed: A-Z a-z 0-9 . _ : @ -)",
                              std::string(field));
    }
  }
  return Status::ok();
}

}  // namespace

Status validate_stream_id(std::string_view id, std::string_view field) {
  return validate_name(id, field, "stream id");
}

Status validate_partner_id(std::string_view id, std::string_view field) {
  return validate_name(id, field, "partner id");
}

Status validate_event_type(std::string_view type, std::string_view field) {
  if (type.empty() || type.size() > 64) {
    return invalid_argument("event type must be 1 to 64 bytes long", std::string(field));
  }
  for (char c : type) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.';
    if (!ok) return invalid_argument("event type allows only A-Z a-z 0-9 _ .", std::string(field));
  }
  return Status::ok();
}

Status validate_actor(std::string_view actor, std::string_view field) {
  if (actor.empty() || actor.size() > 256) {
    return invalid_argument("actor must be 1 to 256 bytes long", std::string(field));
  }
  for (char c : actor) {
    if (c < 0x21 || c > 0x7e) return invalid_argument("actor must be printable ASCII", std::string(field));
  }
  return Status::ok();
}

std::string format_timestamp(Timestamp t) {
  char buf[kTimestampTextMax];
  return std::string(buf, format_timestamp_to(t, buf));
}

size_t format_timestamp_to(Timestamp t, char* out) {
  int64_t secs = t.micros / 1000000;
  int64_t micros = t.micros % 1000000;
  if (micros < 0) {
    micros += 1000000;
    secs -= 1;
  }
  std::time_t tt = static_cast<std::time_t>(secs);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  const int n = std::snprintf(out, kTimestampTextMax, "%04d-%02d-%02dT%02d:%02d:%02d.%06lldZ", tm.tm_year + 1900,
                              tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                              static_cast<long long>(micros));
  return n < 0 ? 0 : std::min(static_cast<size_t>(n), kTimestampTextMax - 1);
}

Result<Timestamp> parse_timestamp(std::string_view text) {
  // "YYYY-MM-DD", "YYYY-MM-DDTHH:MM:SSZ" or "YYYY-MM-DDTHH:MM:SS.ffffffZ" (1-6 digits), UTC only.
  auto digits = [&text](size_t at, size_t n, int& out) {
    if (at + n > text.size()) return false;
    out = 0;
    for (size_t i = at; i < at + n; ++i) {
      if (text[i] < '0' || text[i] > '9') return false;
      out = out * 10 + (text[i] - '0');
    }
    return true;
  };
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0;
  if (text.size() < 10 || !digits(0, 4, y) || text[4] != '-' || !digits(5, 2, mo) || text[7] != '-' ||
      !digits(8, 2, d)) {
    return invalid_argument("expected a UTC time such as 2026-11-24 or 2026-11-24T13:00:00Z");
  }
  const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (mo < 1 || mo > 12 || d < 1 || d > kDays[mo - 1] + (mo == 2 && leap ? 1 : 0)) {
    return invalid_argument("is not a day of the calendar");
  }
  int64_t frac = 0;
  if (text.size() > 10) {
    if (text[10] != 'T' || !digits(11, 2, h) || text.size() < 20 || text[13] != ':' || !digits(14, 2, mi) ||
        text[16] != ':' || !digits(17, 2, s)) {
      return invalid_argument("expected a UTC time such as 2026-11-24T13:00:00Z");
    }
    if (h > 23 || mi > 59 || s > 59) return invalid_argument("time has a field out of range");
    size_t i = 19;
    if (i < text.size() && text[i] == '.') {
      size_t first = ++i;
      while (i < text.size() && i - first < 6 && text[i] >= '0' && text[i] <= '9') frac = frac * 10 + (text[i++] - '0');
      if (i == first) return invalid_argument("expected digits after '.'");
      for (size_t n = i - first; n < 6; ++n) frac *= 10;
    }
    if (i + 1 != text.size() || text[i] != 'Z') return invalid_argument("time must end with 'Z' (UTC), after at most 6 fraction digits");
  }
  std::tm tm{};
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = s;
  int64_t secs = static_cast<int64_t>(timegm(&tm));
  return Timestamp{secs * 1000000 + frac};
}

}  // namespace accountable
