#include "bench/domain_bench.h"

#include <atomic>
#include <mutex>
#include <thread>

#include "app/command_pipeline.h"
#include "bench/bench_report.h"
#include "bench/command_mix.h"
#include "events/env.h"

namespace accountable::bench {

namespace {

CommandRequest request_for(Command command) {
  CommandRequest r;
  r.id = CommandId::random();
  r.command = std::move(command);
  r.digest = command_digest(ParsedCommand{r.id, r.command});
  return r;
}

}  // namespace

Status aggregate_workload(const BenchOptions& o) {
  Workspace ws(o, "aggregate");
  auto stack = open_bench_stack(ws.dir());
  if (!stack) return stack.status();
  auto accounts = seed_bench_accounts(**stack, 1, 1);
  if (!accounts) return accounts.status();
  const BenchPartner& p = accounts->partners.at(0);
  const Principal admin = PartnerUser{p.partner, p.admin, {}, true};
  const std::string stream = partner_stream(p.partner);
  const uint64_t target = o.events ? o.events : 10'000;
  // The partner-stream commands of the mix (support, pin, unpin, organization).
  const uint64_t partner_steps[] = {0, 1, 4, 5};
  const auto load_start = Clock::now();
  for (uint64_t i = 0; (*stack)->log().stream_version(stream).value() < target; ++i) {
    auto out = (*stack)->engine().execute(admin, request_for(mix_command(*accounts, 0, 0, partner_steps[i % 4] + 8 * i)));
    if (!out) return Status(out.status().code(), "aggregate: set-up command failed: " + out.status().message());
  }
  const double load_seconds = seconds_since(load_start);
  const uint64_t events = (*stack)->log().stream_version(stream).value();

  // The stack's engine keeps states in memory; a second engine over the same
  // log, without that cache, shows what a snapshot plus its tail costs.
  auto snapshots = SnapshotStore::open(posix_env(), ws.dir());
  if (!snapshots) return snapshots.status();
  EngineOptions uncached_options;
  uncached_options.snapshots = snapshots->get();
  uncached_options.cipher = &(*stack)->cipher();
  uncached_options.state_cache_entries = 0;
  Engine uncached((*stack)->log(), uncached_options);

  enum class Mode { kCached, kSnapshot, kReplay };
  auto time_loads = [&](const char* name, int loads, Mode mode) -> Status {
    Figure f{name, static_cast<uint64_t>(loads), 0, {}, {}};
    uint64_t version_sum = 0;
    const auto start = Clock::now();
    for (int i = 0; i < loads; ++i) {
      const auto t0 = Clock::now();
      auto state = mode == Mode::kCached     ? (*stack)->engine().load<PartnerState>(stream)
                   : mode == Mode::kSnapshot ? uncached.load<PartnerState>(stream)
                                             : uncached.replay<PartnerState>(stream);
      if (!state) return state.status();
      f.latencies_us.push_back(micros_between(t0, Clock::now()));
      version_sum += state->version.value();
    }
    f.seconds = seconds_since(start);
    if (version_sum != events * static_cast<uint64_t>(loads)) {
      return Status(StatusCode::kInternal, std::string(name) + ": a load did not reach the stream's head");
    }
    f.extra.emplace_back("stream_events", static_cast<double>(events));
    f.extra.emplace_back("us_per_load", f.seconds * 1e6 / loads);
    f.extra.emplace_back("load_seconds", load_seconds);
    print(f);
    return Status::ok();
  };
  ACCT_RETURN_IF_ERROR(time_loads("aggregate-cached", 20000, Mode::kCached));
  ACCT_RETURN_IF_ERROR(time_loads("aggregate-snapshot", 2000, Mode::kSnapshot));
  ACCT_RETURN_IF_ERROR(time_loads("aggregate-replay", 50, Mode::kReplay));
  return (*stack)->close();
}

Status commands_workload(const BenchOptions& o) {
  Workspace ws(o, "commands");
  auto stack = open_bench_stack(ws.dir());
  if (!stack) return stack.status();
  constexpr size_t kThreads = 16;
  auto accounts = seed_bench_accounts(**stack, kThreads, 1);
  if (!accounts) return accounts.status();
  const uint64_t n = o.events ? o.events : 16'000;
  // Requests are built before the clock starts: ids, digests, commands.
  std::vector<std::vector<CommandRequest>> requests(kThreads);
  for (size_t t = 0; t < kThreads; ++t) {
    for (uint64_t i = 0; i < n / kThreads; ++i) requests[t].push_back(request_for(mix_command(*accounts, t, 0, i)));
  }
  std::vector<std::vector<double>> latencies(kThreads);
  std::atomic<uint64_t> failures{0}, retries{0};
  std::mutex failure_mu;
  std::string first_failure;
  const LogStats before = (*stack)->log().stats();
  const double cpu_before = process_cpu_seconds();
  const auto start = Clock::now();
  std::vector<std::thread> threads;
  for (size_t t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      const BenchPartner& p = accounts->partners[t];
      const Principal admin = PartnerUser{p.partner, p.admin, {}, true};
      latencies[t].reserve(requests[t].size());
      for (const CommandRequest& r : requests[t]) {
        const auto t0 = Clock::now();
        auto out = (*stack)->engine().execute(admin, r);
        latencies[t].push_back(micros_between(t0, Clock::now()));
        if (!out) {
          if (failures.fetch_add(1) == 0) {
            std::lock_guard lock(failure_mu);
            first_failure = out.status().to_string();
          }
          continue;
        }
        retries += static_cast<uint64_t>(out->attempts - 1);
      }
    });
  }
  for (auto& th : threads) th.join();
  Figure f{"commands", 0, seconds_since(start), {}, {}};
  const double cpu = process_cpu_seconds() - cpu_before;
  for (auto& v : latencies) {
    f.events += v.size();
    f.latencies_us.insert(f.latencies_us.end(), v.begin(), v.end());
  }
  const LogStats after = (*stack)->log().stats();
  const uint64_t fsyncs = after.fsyncs - before.fsyncs;
  f.extra.emplace_back("threads", kThreads);
  f.extra.emplace_back("failures", static_cast<double>(failures.load()));
  f.extra.emplace_back("retries", static_cast<double>(retries.load()));
  f.extra.emplace_back("fsyncs", static_cast<double>(fsyncs));
  f.extra.emplace_back("commits_per_fsync",
                       static_cast<double>(after.commits_appended - before.commits_appended) / std::max<uint64_t>(fsyncs, 1));
  f.extra.emplace_back("cpu_seconds", cpu);
  f.extra.emplace_back("cpu_us_per_command", cpu * 1e6 / static_cast<double>(std::max<uint64_t>(f.events, 1)));
  print(f);
  if (failures > 0) {
    return Status(StatusCode::kInternal, "commands: " + std::to_string(failures.load()) +
                                             " commands failed; the first: " + first_failure);
  }
  return (*stack)->close();
}

}  // namespace accountable::bench
