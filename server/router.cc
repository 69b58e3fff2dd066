#include "server/router.h"

#include <algorithm>

namespace accountable {

namespace {

std::vector<std::string_view> split_path(std::string_view path) {
  std::vector<std::string_view> out;
  size_t at = 1;  // past the leading '/'
  while (at <= path.size()) {
    size_t slash = path.find('/', at);
    if (slash == std::string_view::npos) slash = path.size();
    out.push_back(path.substr(at, slash - at));
    at = slash + 1;
  }
  return out;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool valid_utf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
    if (n == 0 || i + n > s.size()) return false;
    for (size_t k = 1; k < n; ++k) {
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return false;
    }
    i += n;
  }
  return true;
}

}  // namespace

Result<std::string> percent_decode(std::string_view s, const std::string& field) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%') {
      const int hi = i + 1 < s.size() ? hex_value(s[i + 1]) : -1;
      const int lo = i + 2 < s.size() ? hex_value(s[i + 2]) : -1;
      if (hi < 0 || lo < 0) return invalid_argument("bad percent escape at byte " + std::to_string(i), field);
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else if (s[i] == '+' && field != "path") {
      out.push_back(' ');
    } else {
      out.push_back(s[i]);
    }
  }
  if (out.find('\0') != std::string::npos) return invalid_argument("must not contain NUL bytes", field);
  if (!valid_utf8(out)) return invalid_argument("is not valid UTF-8", field);
  return out;
}

Status parse_target(std::string_view target, std::string* path, std::map<std::string, std::string>* query) {
  if (target.empty() || target[0] != '/') return invalid_argument("the request target must start with '/'", "path");
  const size_t q = target.find('?');
  auto decoded = percent_decode(target.substr(0, q), "path");
  if (!decoded) return decoded.status();
  *path = std::move(*decoded);
  if (q == std::string_view::npos) return Status::ok();
  std::string_view rest = target.substr(q + 1);
  while (!rest.empty()) {
    const size_t amp = rest.find('&');
    std::string_view pair = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? std::string_view() : rest.substr(amp + 1);
    if (pair.empty()) continue;
    const size_t eq = pair.find('=');
    auto key = percent_decode(pair.substr(0, eq), "query");
    if (!key) return key.status();
    auto value = percent_decode(eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1),
                                "query." + *key);
    if (!value) return value.status();
    (*query)[*key] = std::move(*value);
  }
  return Status::ok();
}

void Router::add(http::verb method, std::string pattern, RouteHandler handler, AsyncRouteHandler fast) {
  routes_.push_back(Route{method, std::move(pattern), std::move(handler), std::move(fast)});
}

Router::Match Router::match(http::verb method, std::string_view path) const {
  Match m;
  const auto segments = split_path(path);
  for (const Route& r : routes_) {
    const auto pattern = split_path(r.pattern);
    if (pattern.size() != segments.size()) continue;
    std::map<std::string, std::string> params;
    bool ok = true;
    for (size_t i = 0; i < pattern.size() && ok; ++i) {
      const std::string_view p = pattern[i];
      if (p.size() > 2 && p.front() == '{' && p.back() == '}') {
        if (segments[i].empty()) ok = false;
        else params[std::string(p.substr(1, p.size() - 2))] = std::string(segments[i]);
      } else {
        ok = p == segments[i];
      }
    }
    if (!ok) continue;
    if (r.method != method) {
      m.path_known = true;
      if (std::find(m.allowed.begin(), m.allowed.end(), r.method) == m.allowed.end()) m.allowed.push_back(r.method);
      continue;
    }
    m.route = &r;
    m.params = std::move(params);
    return m;
  }
  return m;
}

}  // namespace accountable
