#include "transparency/checkpoint_publishers.h"

#include <fcntl.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <cerrno>
#include <cstring>
#include <memory>
#include <mutex>

#include "transparency/log_client.h"
#include "transparency/proof_bundle.h"

namespace accountable {
namespace {

namespace json = boost::json;

Status append_line(const std::string& path, const std::string& line) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) return io_error("open " + path + ": " + std::strerror(errno));
  size_t done = 0;
  while (done < line.size()) {
    const ssize_t n = ::write(fd, line.data() + done, line.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int e = errno;
      ::close(fd);
      return io_error("write " + path + ": " + std::strerror(e));
    }
    done += static_cast<size_t>(n);
  }
  if (::fdatasync(fd) != 0) {
    const int e = errno;
    ::close(fd);
    return io_error("fdatasync " + path + ": " + std::strerror(e));
  }
  ::close(fd);
  return Status::ok();
}

}  // namespace

Result<CheckpointPublisher> checkpoint_publisher_for(const std::string& destination) {
  if (destination.empty()) return invalid_argument("an empty destination", "publish-checkpoints");
  if (destination.rfind("http://", 0) == 0) {
    // The URL's path is the endpoint: split it off the base the client takes.
    const size_t slash = destination.find('/', 7);
    const std::string base = slash == std::string::npos ? destination : destination.substr(0, slash);
    const std::string path = slash == std::string::npos ? "/" : destination.substr(slash);
    auto client = LogClient::create(base);
    if (!client) return invalid_argument(client.status().message(), "publish-checkpoints");
    auto shared = std::make_shared<LogClient>(std::move(*client));
    return CheckpointPublisher{"endpoint " + destination, [shared, path](const TreeCheckpoint& c) -> Status {
                                 auto answer = shared->post(path, c.note, "text/plain; charset=utf-8");
                                 if (!answer) return answer.status();
                                 if (answer->status < 200 || answer->status > 299) {
                                   return Status(StatusCode::kUnavailable,
                                                 "answered " + std::to_string(answer->status));
                                 }
                                 return Status::ok();
                               }};
  }
  auto mu = std::make_shared<std::mutex>();  // every shard's signer may share one file
  return CheckpointPublisher{"file " + destination, [destination, mu](const TreeCheckpoint& c) {
                               const json::object line{{"origin", c.body.origin},
                                                       {"tree_size", c.body.tree_size},
                                                       {"root", hash_hex(c.body.root)},
                                                       {"signed_at", format_timestamp(c.signed_at)},
                                                       {"checkpoint", c.note}};
                               std::lock_guard lock(*mu);
                               return append_line(destination, json::serialize(line) + "\n");
                             }};
}

}  // namespace accountable
