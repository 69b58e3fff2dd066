// `acct serve` as a child process of the benchmark (the `http` and `cluster`
// workloads): started from this very binary (/proc/self/exe), its stdout and
// stderr into a file, which is also where its port is read from. Every wait
// is bounded; the destructor kills a child that is still running.
#pragma once

#include <cstdint>

#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

#include "events/status.h"

namespace accountable::bench {

class ServeProcess {
 public:
  ServeProcess() = default;
  ~ServeProcess();  // kill_now() if still running
  ServeProcess(const ServeProcess&) = delete;
  ServeProcess& operator=(const ServeProcess&) = delete;

  // Spawns `acct ARGS...` (e.g. {"serve", "--data", D, ...}) with its output
  // to `log_path`. Returns at once.
  Status spawn(const std::vector<std::string>& args, const std::string& log_path);
  // Waits until the child printed "listening on http://127.0.0.1:PORT", at
  // most `limit`; fails if it exited before.
  Status wait_listening(std::chrono::milliseconds limit);
  Status start(const std::vector<std::string>& args, const std::string& log_path, std::chrono::milliseconds limit) {
    ACCT_RETURN_IF_ERROR(spawn(args, log_path));
    return wait_listening(limit);
  }
  // Waits for the child to exit by itself, at most `limit`; returns its exit
  // code, or -1 if it was still running (then it is killed) or died of a signal.
  int wait_exit(std::chrono::milliseconds limit);

  // SIGTERM, then waits at most `limit`; SIGKILL after that. Fails if the
  // child had to be killed or did not exit with 0.
  Status stop(std::chrono::milliseconds limit);
  // SIGKILL and reap, no questions.
  void kill_now();

  // CPU seconds the child has used so far (all its threads), from /proc; 0
  // once it has exited.
  double cpu_seconds() const;
  // Context switches of every thread alive now (voluntary + not): threads
  // that ended before are not counted.
  uint64_t context_switches() const;

  bool running() const { return pid_ > 0; }
  pid_t pid() const { return pid_; }
  unsigned short port() const { return port_; }
  const std::string& log_path() const { return log_path_; }

 private:
  pid_t pid_ = -1;
  unsigned short port_ = 0;
  std::string log_path_;
};

// A TCP port on 127.0.0.1 that was free a moment ago (bound to port 0, then
// closed): for a child that must be told its port before it starts.
Result<unsigned short> free_loopback_port();

// The acct binary this process runs from.
Result<std::string> acct_binary();

}  // namespace accountable::bench
