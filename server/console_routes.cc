// The web console (docs/console.md): GET / answers console/web/index.html and
// GET /console/{asset} the other files of console/web/, all built into the
// binary. The console is a client of the public API like any other: these two
// routes serve files and nothing else.
#include <boost/json.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "server/api.h"
#include "server/api_replies.h"
#include "server/console_assets.h"

namespace accountable {

using namespace api;  // NOLINT: the shared replies

namespace {

std::string_view content_type_of(std::string_view name) {
  auto ends = [&](std::string_view ext) {
    return name.size() >= ext.size() && name.substr(name.size() - ext.size()) == ext;
  };
  if (ends(".html")) return "text/html; charset=utf-8";
  if (ends(".css")) return "text/css; charset=utf-8";
  if (ends(".js")) return "text/javascript; charset=utf-8";
  if (ends(".svg")) return "image/svg+xml";
  if (ends(".png")) return "image/png";
  return "application/octet-stream";
}

const ConsoleAssetBytes* find_asset(std::string_view name) {
  for (const ConsoleAssetBytes& a : kConsoleAssetFiles) {
    if (a.name == name) return &a;
  }
  return nullptr;
}

ApiReply reply_file(std::string_view name, std::string bytes) {
  HttpResponse res{http::status::ok, 11};
  res.set(http::field::content_type, content_type_of(name));
  set_console_security_headers(res);
  res.body() = std::move(bytes);
  res.prepare_payload();
  return ApiReply{std::move(res), nullptr};
}

// A console file by name: from `dir` when set (a plain file name only: the
// route gives one path segment; dot files and folders are refused), else built in.
ApiReply reply_console_file(const std::string& dir, const std::string& name) {
  if (!dir.empty()) {
    const bool plain = !name.empty() && name.front() != '.' && name.find('/') == std::string::npos &&
                       name.find('\\') == std::string::npos;
    const std::string path = dir + "/" + name;
    std::error_code ec;
    std::ifstream in;
    if (plain && std::filesystem::is_regular_file(path, ec)) in.open(path, std::ios::binary);
    if (in.is_open() && in) {
      std::ostringstream bytes;
      bytes << in.rdbuf();
      return reply_file(name, bytes.str());
    }
  } else if (const ConsoleAssetBytes* asset = find_asset(name)) {
    return reply_file(asset->name, std::string(reinterpret_cast<const char*>(asset->bytes), asset->size));
  }
  return reply_error(Status(StatusCode::kNotFound, "the console has no file " + name, "asset"));
}

}  // namespace

void set_console_security_headers(HttpResponse& res) {
  // Scripts and styles only from this origin (no inline script, no eval), no
  // plug-ins, no framing, API calls only to this origin; images may be data:
  // URLs (the chart is drawn as SVG in the page, not fetched).
  res.set("Content-Security-Policy",
          "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
          "font-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'; object-src 'none'");
  res.set("X-Content-Type-Options", "nosniff");
  res.set("X-Frame-Options", "DENY");
  res.set("Referrer-Policy", "no-referrer");
  res.set("Cross-Origin-Opener-Policy", "same-origin");
  res.set("Cross-Origin-Resource-Policy", "same-origin");
  res.set("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=(), usb=()");
  // The files change with the binary: revalidate each time (they are small).
  res.set(http::field::cache_control, "no-cache");
}

void Api::add_console_routes() {
  router_.add(http::verb::get, "/", bind(&Api::get_console_index));
  router_.add(http::verb::get, "/console/{asset}", bind(&Api::get_console_asset));
}

ApiReply Api::get_console_index(const ApiRequest&) { return reply_console_file(options_.console_dir, "index.html"); }

ApiReply Api::get_console_asset(const ApiRequest& req) {
  return reply_console_file(options_.console_dir, req.path_params.at("asset"));
}

}  // namespace accountable
