// acct read --data DIR [--stream S] [--from N] [--limit N]: prints events as
// JSON lines (docs/cli.md). Without --stream it reads $all.
#include <boost/json.hpp>
#include <cstdio>

#include "cli/commands.h"
#include "events/event_log.h"
#include "schema/json_codec.h"

namespace accountable::cli {

namespace {

std::string base64(std::string_view in) {
  static constexpr char kTable[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    const uint32_t n = static_cast<uint8_t>(in[i]) << 16 | static_cast<uint8_t>(in[i + 1]) << 8 |
                       static_cast<uint8_t>(in[i + 2]);
    for (int s : {18, 12, 6, 0}) out += kTable[(n >> s) & 63];
  }
  if (i < in.size()) {
    uint32_t n = static_cast<uint8_t>(in[i]) << 16;
    if (i + 1 < in.size()) n |= static_cast<uint8_t>(in[i + 1]) << 8;
    out += kTable[(n >> 18) & 63];
    out += kTable[(n >> 12) & 63];
    out += i + 1 < in.size() ? kTable[(n >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

boost::json::object to_json(const RecordedEvent& e) {
  boost::json::object o = envelope_json(e);
  if (e.partner.empty()) o.erase("partner");
  o["payload_base64"] = base64(e.payload);
  o["hash"] = hex_encode(e.hash.data(), e.hash.size());
  return o;
}

}  // namespace

void add_read_command(CLI::App& app, int* exit_code) {
  auto* cmd = app.add_subcommand("read", "Print events as JSON lines: one stream, or $all");
  struct Args {
    std::string data = "./data";
    std::string stream;
    uint64_t from = 1;
    size_t limit = 100;
  };
  auto args = std::make_shared<Args>();
  cmd->add_option("--data", args->data, "data folder")->capture_default_str();
  cmd->add_option("--stream", args->stream, "stream id (default: $all)");
  cmd->add_option("--from", args->from, "first version (stream) or position ($all)")->capture_default_str();
  cmd->add_option("--limit", args->limit, "at most this many events")->capture_default_str()->check(
      CLI::Range(size_t{1}, size_t{1'000'000}));
  cmd->callback([args, exit_code] {
    LogOptions options;
    options.data_dir = args->data;
    auto log = EventLog::open(options);
    if (!log) {
      std::fprintf(stderr, "read: %s\n", log.status().to_string().c_str());
      *exit_code = 1;
      return;
    }
    auto batch = args->stream.empty() ? (*log)->read_all(GlobalPosition(args->from), args->limit)
                                      : (*log)->read_stream(args->stream, StreamVersion(args->from), args->limit);
    if (!batch) {
      std::fprintf(stderr, "read: %s\n", batch.status().to_string().c_str());
      *exit_code = 1;
      return;
    }
    for (const RecordedEvent& e : batch->events) std::printf("%s\n", boost::json::serialize(to_json(e)).c_str());
  });
}

}  // namespace accountable::cli
