#include "bench/serve_process.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

extern char** environ;

namespace accountable::bench {

namespace {

using Clock = std::chrono::steady_clock;

Status failure(const std::string& what) { return Status(StatusCode::kInternal, "acct serve: " + what); }

// The last `lines` lines of a file, joined with " | " (for an error message:
// the workspace and its logs may be removed afterwards).
std::string tail_of(const std::string& path, size_t lines) {
  std::ifstream in(path);
  std::vector<std::string> last;
  std::string line;
  while (std::getline(in, line)) {
    last.push_back(line);
    if (last.size() > lines) last.erase(last.begin());
  }
  std::string out;
  for (const std::string& l : last) out += (out.empty() ? "" : " | ") + l;
  return out;
}

}  // namespace

Result<std::string> acct_binary() {
  char exe[4096];
  const ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (len <= 0) return failure("cannot find the acct binary (/proc/self/exe)");
  return std::string(exe, static_cast<size_t>(len));
}

ServeProcess::~ServeProcess() { kill_now(); }

Status ServeProcess::spawn(const std::vector<std::string>& args, const std::string& log_path) {
  if (pid_ > 0) return failure("already running");
  auto exe = acct_binary();
  if (!exe) return exe.status();
  log_path_ = log_path;
  port_ = 0;
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  std::vector<std::string> all = {*exe};
  all.insert(all.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& a : all) argv.push_back(a.data());
  argv.push_back(nullptr);
  const int rc = posix_spawn(&pid_, exe->c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    pid_ = -1;
    return failure("cannot start: " + std::string(strerror(rc)));
  }
  return Status::ok();
}

Status ServeProcess::wait_listening(std::chrono::milliseconds limit) {
  if (pid_ <= 0) return failure("not running");
  const std::string marker = "listening on http://127.0.0.1:";
  const auto deadline = Clock::now() + limit;
  while (Clock::now() < deadline) {
    std::ifstream in(log_path_);
    std::string line;
    while (std::getline(in, line)) {
      if (auto at = line.find(marker); at != std::string::npos) {
        port_ = static_cast<unsigned short>(std::stoul(line.substr(at + marker.size())));
        return Status::ok();
      }
    }
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return failure("exited at start; see " + log_path_ + ": " + tail_of(log_path_, 5));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return failure("did not listen within " + std::to_string(limit.count()) + " ms; see " + log_path_ + ": " +
                 tail_of(log_path_, 5));
}

int ServeProcess::wait_exit(std::chrono::milliseconds limit) {
  if (pid_ <= 0) return -1;
  int status = 0;
  pid_t waited = 0;
  const auto deadline = Clock::now() + limit;
  while ((waited = waitpid(pid_, &status, WNOHANG)) == 0 && Clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  if (waited == 0) {
    kill_now();
    return -1;
  }
  pid_ = -1;
  return waited > 0 && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

Status ServeProcess::stop(std::chrono::milliseconds limit) {
  if (pid_ <= 0) return Status::ok();
  kill(pid_, SIGTERM);
  int status = 0;
  pid_t waited = 0;
  const auto deadline = Clock::now() + limit;
  while ((waited = waitpid(pid_, &status, WNOHANG)) == 0 && Clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (waited == 0) {
    kill_now();
    return failure("did not stop within " + std::to_string(limit.count()) + " ms of SIGTERM (killed); see " +
                   log_path_);
  }
  pid_ = -1;
  if (waited < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return failure("did not stop cleanly; see " + log_path_);
  }
  return Status::ok();
}

void ServeProcess::kill_now() {
  if (pid_ <= 0) return;
  kill(pid_, SIGKILL);
  int status = 0;
  waitpid(pid_, &status, 0);
  pid_ = -1;
}

double ServeProcess::cpu_seconds() const {
  if (pid_ <= 0) return 0;
  std::ifstream in("/proc/" + std::to_string(pid_) + "/stat");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const size_t close = text.rfind(')');
  if (close == std::string::npos) return 0;
  std::istringstream fields(text.substr(close + 2));
  std::string field;
  unsigned long long utime = 0, stime = 0;
  for (int i = 3; fields >> field; ++i) {  // field 3 is the state
    if (i == 14) utime = std::stoull(field);
    if (i == 15) {
      stime = std::stoull(field);
      break;
    }
  }
  return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

uint64_t ServeProcess::context_switches() const {
  if (pid_ <= 0) return 0;
  uint64_t total = 0;
  std::error_code ec;
  const std::string tasks = "/proc/" + std::to_string(pid_) + "/task";
  for (const auto& task : std::filesystem::directory_iterator(tasks, ec)) {
    std::ifstream in(task.path() / "status");
    std::string line;
    while (std::getline(in, line)) {
      // voluntary_ctxt_switches and nonvoluntary_ctxt_switches: a thread that
      // went to sleep (a hand-off) and one the scheduler took the core from.
      if (line.find("ctxt_switches:") == std::string::npos) continue;
      total += std::stoull(line.substr(line.find(':') + 1));
    }
  }
  return total;
}

Result<unsigned short> free_loopback_port() {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return failure(std::string("socket: ") + strerror(errno));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    const std::string why = strerror(errno);
    close(fd);
    return failure("no free port on 127.0.0.1: " + why);
  }
  close(fd);
  return static_cast<unsigned short>(ntohs(addr.sin_port));
}

}  // namespace accountable::bench
