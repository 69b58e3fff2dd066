// acct serve: the main job. Opens the data folder (log, keys, credentials,
// snapshots), runs the views and, with --kafka-brokers, the Kafka relay (or,
// with --cluster, joins a cluster over those brokers: docs/cluster.md), and
// serves the HTTP API until SIGINT or SIGTERM; then stops accepting, lets
// in-flight requests finish, stops the relay and the views and closes the log
// (drained and checkpointed). With --tls-cert/--tls-key it serves HTTPS and
// reloads the certificate on SIGHUP; plain HTTP off loopback needs --plain-http.
#include <pthread.h>
#include <signal.h>
#include <spdlog/spdlog.h>

#include <boost/asio/ip/address.hpp>
#include <cstdio>
#include <filesystem>

#include "app/account_stack.h"
#include "app/shard_secrets.h"
#include "app/token_store.h"
#include "cli/commands.h"
#include "cluster/cluster_node.h"
#include "cluster/secret_message.h"
#include "cluster/shard_map.h"
#include "consumers/relay.h"
#include "projections/view_set.h"
#include "server/api.h"
#include "server/demo.h"
#include "consumers/checkpoint_topic.h"
#include "server/http_server.h"
#include "server/listen_address.h"
#include "transparency/checkpoint_publishers.h"
#include "server/memory.h"
#include "server/metrics.h"
#include "server/retention.h"
#include "server/shard_router.h"
#include "server/tls_context.h"

namespace accountable::cli {

namespace {

struct ServeArgs {
  std::string data = "./data";
  std::string recovery = "fail";
  std::string listen = "127.0.0.1:8080";
  TlsFiles tls;             // both set: HTTPS (docs/http-api.md, "TLS")
  bool plain_http = false;  // plain HTTP on an address that is not loopback
  size_t io_threads = 2;
  size_t workers = 64;
  size_t max_connections = 1024;
  size_t body_limit = 1 << 20;
  size_t read_timeout_ms = 15'000;
  size_t idle_timeout_ms = 60'000;
  bool demo = false;
  RelayOptions relay;                   // used when relay.brokers is set
  std::vector<std::string> kafka_config;  // KEY=VALUE producer settings
  bool cluster = false;                 // a node of a cluster (docs/cluster.md); relay.brokers are its brokers
  cluster::ClusterOptions node;
  std::string cluster_key_file;
  size_t session_timeout_ms = 6000;
  std::vector<std::string> publish_checkpoints;  // files or http:// endpoints
  std::string checkpoint_topic = "accountable.checkpoints";
  std::vector<std::string> witness_key_files;
  uint64_t sign_every_events = 10'000;
  uint64_t sign_every_seconds = 60;
  // Sign-in and password hashing limits (docs/http-api.md, "Sign-in limits").
  size_t argon2_concurrency = 0;  // 0: one per core
  size_t argon2_queue = 64;
  size_t argon2_wait_ms = 2000;
  double sign_in_address_failures = 30;  // per minute per client address
  double sign_in_global_failures = 50;   // per second, the whole node
  uint64_t min_free_bytes = 64ull << 20;  // /healthz: a store with less free space is degraded
  std::string console_dir;                // "": the console's built-in files
  // The security log (docs/security-log.md).
  uint64_t security_log_retention_days = 400;
  uint64_t security_log_max_mib = 1024;
  // Memory bounds (docs/memory.md).
  int malloc_arenas = 2;
  size_t malloc_mmap_threshold_kib = 1024;
  size_t memory_trim_seconds = 10;
  size_t log_release_ms = 1000;
  size_t key_cache_subjects = KeyStore::kDefaultCachedSubjects;
  size_t credential_cache_entries = CredentialStore::kDefaultCachedCredentials;
  size_t state_cache_entries = 4096;
  // How long the views' live runner lets commits gather before it applies
  // them (docs/views.md, "The runner"; 0: at once).
  uint32_t views_gather_us = 0;
  // The public directory's rate limit (docs/http-api.md).
  double directory_address_per_minute = 120;
  double directory_global_per_second = 200;
  // The retention job (docs/retention.md).
  uint64_t retention_interval_seconds = 3600;  // 0: off
  size_t retention_max_per_run = 100;
};

// The security log's lines on /metrics.
void expose_security_log(Metrics& metrics, std::shared_ptr<SecurityLog> log) {
  metrics.add_gauge("acct_security_log_records_total",
                    "Security log records written, and dropped (queue full, or a write failed).",
                    [log] {
                      const SecurityLogStats s = log->stats();
                      return std::vector<std::pair<std::string, double>>{{"result=\"written\"", double(s.written)},
                                                                         {"result=\"dropped\"", double(s.dropped)}};
                    },
                    "counter");
  metrics.add_gauge("acct_security_log_write_failures_total", "Batches the security log failed to write or sync.",
                    [log] {
                      return std::vector<std::pair<std::string, double>>{{"", double(log->stats().write_failures)}};
                    },
                    "counter");
}

// The retention job's lines on /metrics.
void expose_retention(Metrics& metrics, const RetentionScheduler& job) {
  const RetentionTotals* t = &job.totals();
  auto one = [](double v) { return std::vector<std::pair<std::string, double>>{{"", v}}; };
  metrics.add_gauge("acct_retention_runs_total", "Runs of the retention job.",
                    [t, one] { return one(double(t->runs.load())); }, "counter");
  metrics.add_gauge("acct_retention_purges_total",
                    "Users the retention job purged (30 days after deactivation), and those it could not.",
                    [t] {
                      return std::vector<std::pair<std::string, double>>{
                          {"result=\"purged\"", double(t->purged.load())},
                          {"result=\"refused\"", double(t->refused.load())},
                          {"result=\"failed\"", double(t->failed.load())}};
                    },
                    "counter");
  metrics.add_gauge("acct_retention_due_left", "Users due for purging that the last run left for the next (its bound).",
                    [t, one] { return one(double(t->due_left.load())); });
  metrics.add_gauge("acct_retention_last_run_timestamp_seconds", "When the retention job last ran (0: not yet).",
                    [t, one] { return one(double(t->last_run_micros.load()) / 1e6); });
}

// The sign-in budgets' and the argon2id gate's lines on /metrics.
void expose_sign_in(Metrics& metrics, std::shared_ptr<SignInGuard> guard, std::shared_ptr<ConcurrencyGate> gate) {
  metrics.add_gauge("acct_sign_in_failures_total", "Failed sign-ins (wrong partner, email or password).",
                    [guard] { return std::vector<std::pair<std::string, double>>{{"", double(guard->counters().failures)}}; },
                    "counter");
  metrics.add_gauge(
      "acct_sign_in_refused_total", "Sign-ins refused before the password check, by the budget that was empty.",
      [guard] {
        const SignInGuard::Counters c = guard->counters();
        return std::vector<std::pair<std::string, double>>{{"budget=\"account\"", double(c.refused_account)},
                                                           {"budget=\"address\"", double(c.refused_address)},
                                                           {"budget=\"global\"", double(c.refused_global)}};
      },
      "counter");
  metrics.add_gauge("acct_sign_in_tracked_addresses", "Client addresses with a failure budget in use.", [guard] {
    return std::vector<std::pair<std::string, double>>{{"", double(guard->counters().tracked_addresses)}};
  });
  metrics.add_gauge("acct_sign_in_limit", "The configured sign-in budgets (0: off).", [guard] {
    return std::vector<std::pair<std::string, double>>{
        {"budget=\"address_failures_per_minute\"", guard->options().address_failures_per_minute},
        {"budget=\"global_failures_per_second\"", guard->options().global_failures_per_second}};
  });
  metrics.add_gauge("acct_argon2_active", "argon2id computations running, and the most at once.", [gate] {
    const ConcurrencyGate::Stats st = gate->stats();
    return std::vector<std::pair<std::string, double>>{{"", double(st.active)}, {"of=\"peak\"", double(st.peak_active)},
                                                       {"of=\"limit\"", double(gate->options().limit)}};
  });
  metrics.add_gauge("acct_argon2_waiting", "Callers waiting for an argon2id place.", [gate] {
    return std::vector<std::pair<std::string, double>>{{"", double(gate->stats().waiting)}};
  });
  metrics.add_gauge(
      "acct_argon2_refused_total", "Hashings refused (503 busy): the queue was full, or the wait ran out.",
      [gate] {
        const ConcurrencyGate::Stats st = gate->stats();
        return std::vector<std::pair<std::string, double>>{{"reason=\"queue_full\"", double(st.refused_queue_full)},
                                                           {"reason=\"timeout\"", double(st.refused_timeout)}};
      },
      "counter");
}

// The cluster's lines on /metrics and /healthz: this node's role in each
// shard, how far its copies are behind, and how often it took a lead.
void expose_cluster(const cluster::ClusterNode& node, Metrics& metrics, Api& api) {
  auto per_shard = [&node](double (*pick)(const cluster::ShardStatus&)) {
    return [&node, pick] {
      std::vector<std::pair<std::string, double>> out;
      for (const cluster::ShardStatus& s : node.status().shard) {
        out.emplace_back("shard=\"" + std::to_string(s.shard) + "\"", pick(s));
      }
      return out;
    };
  };
  metrics.add_gauge("acct_cluster_leader", "1 when this node leads the shard, else 0.",
                    per_shard([](const cluster::ShardStatus& s) { return s.role == cluster::ShardRole::kLeader ? 1.0 : 0.0; }));
  metrics.add_gauge("acct_cluster_failed", "1 when this node's copy of the shard stopped following (see /healthz).",
                    per_shard([](const cluster::ShardStatus& s) { return s.role == cluster::ShardRole::kFailed ? 1.0 : 0.0; }));
  metrics.add_gauge("acct_cluster_head_position", "The head position of this node's copy of the shard.",
                    per_shard([](const cluster::ShardStatus& s) { return static_cast<double>(s.head); }));
  metrics.add_gauge("acct_cluster_replication_lag_batches", "Batches in the shard's Kafka partition not yet read here.",
                    per_shard([](const cluster::ShardStatus& s) { return static_cast<double>(s.lag_batches); }));
  metrics.add_gauge("acct_cluster_replication_lag_seconds",
                    "Age of the last batch applied here when it was applied; 0 when caught up.",
                    per_shard([](const cluster::ShardStatus& s) { return s.lag_seconds; }));
  metrics.add_gauge("acct_cluster_leadership_changes", "Times this node took the lead of the shard.",
                    per_shard([](const cluster::ShardStatus& s) { return static_cast<double>(s.leadership_changes); }));
  metrics.add_gauge("acct_cluster_secrets_applied",
                    "Records of the secrets topic (keys, credentials, tokens) from other nodes applied here.", [&node] {
                      return std::vector<std::pair<std::string, double>>{
                          {"", static_cast<double>(node.status().secrets_applied)}};
                    });
  metrics.add_gauge("acct_cluster_secrets_failed",
                    "1 when a record of the secrets topic failed authentication here (see /healthz).", [&node] {
                      return std::vector<std::pair<std::string, double>>{
                          {"", node.status().secrets_failed ? 1.0 : 0.0}};
                    });
  api.add_health([&node](boost::json::object& health, bool* healthy) {
    const cluster::ClusterStatus status = node.status();
    for (const cluster::ShardStatus& s : status.shard) {
      if (s.role == cluster::ShardRole::kFailed) *healthy = false;
    }
    if (status.secrets_failed) *healthy = false;  // nothing after a record that failed authentication is applied
    health["cluster"] = cluster::cluster_status_json(status);
  });
}

// The relay's lines on /metrics and /healthz. A failed relay does not make the
// server unhealthy: commands are still accepted and the relay resumes from its
// checkpoint in Kafka when restarted; acct_relay_failed says it stopped.
void expose_relay(const Relay& relay, Metrics& metrics, Api& api) {
  auto gauge = [&relay](double (*pick)(const RelayStatus&)) {
    return [&relay, pick] { return std::vector<std::pair<std::string, double>>{{"", pick(relay.status())}}; };
  };
  metrics.add_gauge("acct_relay_lag_positions", "Log positions not yet committed to Kafka by the relay.",
                    gauge([](const RelayStatus& s) { return static_cast<double>(s.lag); }));
  metrics.add_gauge("acct_relay_publish_rate_events_per_second", "Events committed to Kafka per second, last 10 s.",
                    gauge([](const RelayStatus& s) { return s.publish_rate; }));
  metrics.add_gauge("acct_relay_events_published", "Events committed to Kafka by this process.",
                    gauge([](const RelayStatus& s) { return static_cast<double>(s.events_published); }));
  metrics.add_gauge("acct_relay_checkpoint_position", "The last log position committed to Kafka.",
                    gauge([](const RelayStatus& s) { return static_cast<double>(s.checkpoint_position); }));
  metrics.add_gauge("acct_relay_failed", "1 when the relay stopped on a fatal error (see /healthz), else 0.",
                    gauge([](const RelayStatus& s) { return s.fatal ? 1.0 : 0.0; }));
  metrics.add_gauge("acct_relay_producer_restarts", "Stuck producers the relay replaced (a commit or abort that did not end).",
                    gauge([](const RelayStatus& s) { return static_cast<double>(s.producer_restarts); }));
  metrics.add_gauge("acct_relay_stalled_seconds",
                    "Seconds since the relay last committed or was caught up while events wait; 0 when caught up.",
                    gauge([](const RelayStatus& s) { return s.stalled_seconds; }));
  api.add_health([&relay](boost::json::object& health, bool*) { health["relay"] = relay_status_json(relay.status()); });
}

Status parse_listen(const std::string& text, std::string* address, unsigned short* port) {
  const size_t colon = text.rfind(':');
  if (colon == std::string::npos) return invalid_argument("must be ADDRESS:PORT, e.g. 127.0.0.1:8080", "listen");
  *address = text.substr(0, colon);
  try {
    const unsigned long p = std::stoul(text.substr(colon + 1));
    if (p > 65535) throw std::out_of_range("port");
    *port = static_cast<unsigned short>(p);
  } catch (const std::exception&) {
    return invalid_argument("the port must be a number from 0 to 65535", "listen");
  }
  return Status::ok();
}

// The transport flags against each other and the listen address: HTTPS needs
// both files; plain HTTP off loopback only when asked for (tokens and
// passwords would cross the network in clear).
Status check_transport(const ServeArgs& args, const std::string& address) {
  const bool cert = !args.tls.cert_file.empty();
  const bool key = !args.tls.key_file.empty();
  if (cert != key) {
    return invalid_argument(std::string("--tls-cert and --tls-key go together: ") +
                                (cert ? "--tls-key is missing" : "--tls-cert is missing"),
                            cert ? "tls-key" : "tls-cert");
  }
  if (cert && args.plain_http) {
    return invalid_argument("--plain-http and --tls-cert/--tls-key exclude each other", "plain-http");
  }
  boost::system::error_code ec;
  boost::asio::ip::make_address(address, ec);
  if (ec) return invalid_argument("--listen " + args.listen + ": " + address + " is not an IP address", "listen");
  if (!cert && !args.plain_http && !is_loopback_address(address)) {
    return invalid_argument("--listen " + args.listen + ": " + address +
                                " is not a loopback address, and plain HTTP would carry tokens and passwords in "
                                "clear: serve HTTPS with --tls-cert FILE --tls-key FILE, or give --plain-http to "
                                "serve plain HTTP there anyway (e.g. behind a TLS proxy)",
                            "listen");
  }
  return Status::ok();
}

// Logs what a TLS context serves: the certificate, never the key.
void log_tls(const TlsContext& tls, const TlsFiles& files, const char* what) {
  spdlog::info("tls: {} {} (subject {}, serial {}, valid until {})", what, files.cert_file, tls.subject, tls.serial,
               tls.not_after);
  for (const std::string& w : tls.warnings) spdlog::warn("tls: {}", w);
}

// One shard's parts on this node: its stack (log, keys, credentials,
// snapshots), tokens, replicated secrets, views and routes. A single node and
// a cluster with S = 1 have one, over DATA; S > 1 has one per DATA/shard-<s>.
struct ShardParts {
  std::unique_ptr<AccountStack> stack;
  std::unique_ptr<TokenStore> tokens;
  std::unique_ptr<ShardSecrets> secrets;
  std::unique_ptr<ViewSet> views;
  std::unique_ptr<Api> api;
};

int serve(const ServeArgs& args) {
  const bool tls = !args.tls.cert_file.empty();
  // Block the stop signals (and with TLS, SIGHUP: reload) in every thread
  // (threads inherit the mask), then wait for them on this one. Without TLS
  // SIGHUP keeps its default action, as before.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  if (tls) sigaddset(&stop_signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  configure_malloc(args.malloc_arenas, args.malloc_mmap_threshold_kib * 1024);  // before the threads start

  HttpServerOptions http;
  if (Status s = parse_listen(args.listen, &http.address, &http.port); !s.is_ok()) {
    std::fprintf(stderr, "serve: --listen %s\n", s.to_string().c_str());
    return 2;
  }
  if (Status s = check_transport(args, http.address); !s.is_ok()) {
    std::fprintf(stderr, "serve: %s\n", s.message().c_str());
    return 2;
  }
  // The certificate and key are checked before the data folder is opened.
  if (tls) {
    auto context = make_tls_context(args.tls);
    if (!context) {
      std::fprintf(stderr, "serve: %s\n", context.status().message().c_str());
      return 2;
    }
    log_tls(*context, args.tls, "serving the certificate of");
    http.tls = context->context;
  }
  http.io_threads = args.io_threads;
  http.workers = args.workers;
  http.limits.max_connections = args.max_connections;
  http.limits.body_bytes = args.body_limit;
  http.limits.read_timeout = std::chrono::milliseconds(args.read_timeout_ms);
  http.limits.idle_timeout = std::chrono::milliseconds(args.idle_timeout_ms);

  const uint32_t shard_count = args.cluster ? args.node.shards : 1;
  // S > 1: a folder per shard, and one operator token for the node.
  auto shard_dir = [&](uint32_t s) {
    return shard_count == 1 ? args.data : join_path(args.data, "shard-" + std::to_string(s));
  };
  const std::string operator_token_file = shard_count == 1 ? "" : join_path(args.data, "operator.token");
  // A folder keeps one layout: refuse to start S > 1 over a single log, or
  // S = 1 over shard folders, rather than serve an empty copy beside them.
  const bool has_single_log = std::filesystem::exists(join_path(args.data, "log"));
  const bool has_shard_folders = std::filesystem::exists(join_path(args.data, "shard-0"));
  if ((shard_count > 1 && has_single_log) || (shard_count == 1 && has_shard_folders)) {
    std::fprintf(stderr,
                 "serve: --data %s holds %s, but this node runs %u shard(s): a node with --shards S > 1 keeps "
                 "each shard in DATA/shard-<s>, and one shard keeps its log in DATA/log (docs/cluster.md)\n",
                 args.data.c_str(), has_single_log ? "a single log (log/)" : "shard folders (shard-0/...)",
                 shard_count);
    return 2;
  }
  std::unique_ptr<cluster::ClusterNode> node;
  if (args.cluster) node = std::make_unique<cluster::ClusterNode>(args.node);
  // --data and any parents not made yet, as mkdir -p.
  if (Status s = create_dirs(posix_env(), args.data); !s.is_ok()) {
    std::fprintf(stderr, "serve: cannot create --data %s: %s\n", args.data.c_str(), s.to_string().c_str());
    return 1;
  }
  SystemClock clock;  // before the shards: their secrets read it until they go
  // Every signed tree checkpoint leaves the folder (docs/witness.md). Made
  // before the stacks, so that it outlives their signers on every way out.
  std::vector<CheckpointPublisher> publishers;
  for (const std::string& destination : args.publish_checkpoints) {
    auto p = checkpoint_publisher_for(destination);
    if (!p) {
      std::fprintf(stderr, "serve: --publish-checkpoints: %s\n", p.status().to_string().c_str());
      return 1;
    }
    publishers.push_back(std::move(*p));
  }
  std::unique_ptr<CheckpointTopic> checkpoint_topic;
  if (!args.relay.brokers.empty()) {
    CheckpointTopicOptions topic_options;
    topic_options.brokers = args.relay.brokers;
    topic_options.topic = args.checkpoint_topic;
    topic_options.client_config = args.relay.producer_config;
    topic_options.replication_factor = args.cluster ? args.node.replication_factor : args.relay.replication_factor;
    topic_options.min_insync_replicas = args.cluster ? args.node.min_insync_replicas : args.relay.min_insync_replicas;
    auto topic = CheckpointTopic::open(topic_options);
    if (!topic) {
      std::fprintf(stderr, "serve: checkpoints topic %s: %s\n", args.checkpoint_topic.c_str(),
                   topic.status().to_string().c_str());
      return 1;
    }
    checkpoint_topic = std::move(*topic);
    publishers.push_back(checkpoint_topic->publisher());
  }
  std::vector<NoteVerifierKey> witness_keys;
  for (const std::string& path : args.witness_key_files) {
    auto vkey = read_witness_key_file(posix_env(), path);
    if (!vkey) {
      std::fprintf(stderr, "serve: %s\n", vkey.status().to_string().c_str());
      return 1;
    }
    witness_keys.push_back(*vkey);
  }
  std::vector<ShardParts> shards(shard_count);
  // Closed on every way out (close is idempotent), shard 0 last: the others
  // read its catalog.
  struct CloseStacks {
    std::vector<ShardParts>& shards;
    ~CloseStacks() {
      for (auto it = shards.rbegin(); it != shards.rend(); ++it) {
        if (it->stack) it->stack->close().ignore();
      }
    }
  };
  CloseStacks close_stacks{shards};
  // One argon2id gate for every shard: it bounds the node's memory.
  CredentialStoreOptions hashing;
  hashing.max_concurrent_hashes = args.argon2_concurrency;
  hashing.max_waiting_hashes = args.argon2_queue;
  hashing.max_hash_wait = std::chrono::milliseconds(args.argon2_wait_ms);
  const std::shared_ptr<ConcurrencyGate> hashing_gate = make_hashing_gate(hashing);
  for (uint32_t s = 0; s < shard_count; ++s) {
    AccountStackOptions options;
    options.data_dir = shard_dir(s);
    options.credentials.hashing_gate = hashing_gate;
    options.key_cache_subjects = args.key_cache_subjects;
    options.credentials.max_cached_credentials = args.credential_cache_entries;
    options.state_cache_entries = args.state_cache_entries;
    options.checkpoint_publishers = publishers;
    options.sign_every_events = args.sign_every_events;
    options.sign_every = std::chrono::seconds(args.sign_every_seconds);
    options.recovery = args.recovery == "truncate" ? RecoveryMode::kTruncate : RecoveryMode::kFailOnCorruption;
    if (node) {
      options.replicator = node->replicator(s);
      options.max_batch_bytes = 4u << 20;  // one batch, one Kafka message (cluster_node.cc)
    }
    if (s > 0) options.catalog_shard = shards[0].stack.get();
    auto stack = AccountStack::open(options);
    if (!stack) {
      std::fprintf(stderr, "serve: cannot open %s: %s\n", options.data_dir.c_str(),
                   stack.status().to_string().c_str());
      return 1;
    }
    shards[s].stack = std::move(*stack);
  }
  for (uint32_t s = 0; s < shard_count; ++s) {
    bool created = false;
    auto tokens = TokenStore::open(posix_env(), shard_dir(s), clock.now(), &created, operator_token_file);
    if (!tokens) {
      std::fprintf(stderr, "serve: tokens: %s\n", tokens.status().to_string().c_str());
      return 1;
    }
    // The log line names the file, never the token.
    if (s == 0) {
      spdlog::info("operator token {} {}", created ? "created in" : "read from", (*tokens)->operator_token_path());
    }
    shards[s].tokens = std::move(*tokens);
    if (shard_count > 1) shards[s].tokens->set_token_shard(static_cast<uint8_t>(s));
    // In a cluster the keys, credentials and tokens are replicated too.
    shards[s].secrets = std::make_unique<ShardSecrets>(*shards[s].stack, shards[s].tokens.get(), clock);
  }

  // The node's threads write into the stacks' logs and the stores: on every
  // way out of this function it stops before they are closed and destroyed.
  struct StopFirst {
    cluster::ClusterNode* node;
    ~StopFirst() {
      if (node) node->stop();
    }
  } stop_node_first{node.get()};
  if (node) {
    // Catch up with the cluster before serving anything.
    for (uint32_t s = 0; s < shard_count; ++s) {
      shards[s].secrets->enable_replication(node->secret_publisher(s));
      node->attach(s, &shards[s].stack->log(), &shards[s].stack->cipher(), shards[s].secrets.get());
    }
    if (Status s = node->start(); !s.is_ok()) {
      std::fprintf(stderr, "serve: cluster: %s\n", s.to_string().c_str());
      return 1;
    }
    spdlog::info("cluster {}: node {} joined ({} shard(s)), advertised at {}", args.node.name, args.node.node_id,
                 args.node.shards, args.node.advertise);
  }
  for (uint32_t s = 0; s < shard_count; ++s) {
    const LogStats stats = shards[s].stack->log().stats();
    spdlog::info("opened {}: head position {}, {} streams, index {}", shard_dir(s), stats.head.value(), stats.streams,
                 stats.opened_from_checkpoint ? "loaded from checkpoint" : "built from the log");
  }

  std::optional<DemoInfo> demo;
  if (args.demo) {
    auto seeded = seed_demo(*shards[0].stack, clock.now(), shards[0].tokens.get());
    if (!seeded) {
      std::fprintf(stderr, "serve: --demo: %s\n", seeded.status().to_string().c_str());
      return 1;
    }
    demo = std::move(*seeded);
    if (Status s = write_demo_auditor_token(&*demo, args.data); !s.is_ok()) {
      std::fprintf(stderr, "serve: --demo: the auditor's token: %s\n", s.to_string().c_str());
      return 1;
    }
  }

  // Views stop before their logs close, on every way out.
  struct StopViews {
    std::vector<ShardParts>& shards;
    int* code;
    ~StopViews() {
      for (ShardParts& p : shards) {
        if (!p.views) continue;
        if (Status s = p.views->stop(); !s.is_ok()) {
          spdlog::error("views: {}", s.to_string());
          *code = 1;
        }
      }
    }
  };
  int code = 0;
  StopViews stop_views{shards, &code};
  for (uint32_t s = 0; s < shard_count; ++s) {
    ViewSetOptions view_options;
    view_options.live_gather = std::chrono::microseconds(args.views_gather_us);
    auto views = ViewSet::open(shard_dir(s), shards[s].stack->log(), &shards[s].stack->cipher(), view_options);
    if (!views) {
      std::fprintf(stderr, "serve: views: %s\n", views.status().to_string().c_str());
      return 1;
    }
    shards[s].views = std::move(*views);
    if (Status st = shards[s].views->start(); !st.is_ok()) {
      std::fprintf(stderr, "serve: views: %s\n", st.to_string().c_str());
      return 1;
    }
  }

  std::vector<const EventLog*> logs;
  for (ShardParts& p : shards) logs.push_back(&p.stack->log());
  Metrics metrics(logs);
  metrics.add_gauge("acct_view_lag_positions", "Log positions a view is behind the head.", [&shards] {
    std::vector<std::pair<std::string, double>> out;
    for (size_t s = 0; s < shards.size(); ++s) {
      const std::string shard_label = shards.size() == 1 ? "" : "shard=\"" + std::to_string(s) + "\",";
      for (const ViewStatus& v : shards[s].views->lag()) {
        out.emplace_back(shard_label + "view=\"" + v.name + "\"", static_cast<double>(v.lag));
      }
    }
    return out;
  });
  SignInGuardOptions guard_options;
  guard_options.address_failures_per_minute = args.sign_in_address_failures;
  guard_options.global_failures_per_second = args.sign_in_global_failures;
  const auto sign_in_guard = std::make_shared<SignInGuard>(guard_options);
  expose_sign_in(metrics, sign_in_guard, hashing_gate);
  RateLimiterOptions directory_options;
  directory_options.per_address_per_minute = args.directory_address_per_minute;
  directory_options.global_per_second = args.directory_global_per_second;
  const auto directory_limiter = std::make_shared<RateLimiter>(directory_options);
  SecurityLogOptions security_options;
  security_options.retention = std::chrono::hours(24 * args.security_log_retention_days);
  security_options.max_total_bytes = args.security_log_max_mib << 20;
  auto opened_security_log = SecurityLog::open(posix_env(), args.data, nullptr, security_options);
  if (!opened_security_log) {
    std::fprintf(stderr, "serve: security log: %s\n", opened_security_log.status().to_string().c_str());
    return 1;
  }
  const std::shared_ptr<SecurityLog> security_log = std::move(*opened_security_log);
  expose_security_log(metrics, security_log);
  std::vector<ShardMemory> memory_owners;
  for (ShardParts& p : shards) memory_owners.push_back(ShardMemory{p.stack.get(), p.tokens.get()});
  expose_memory(metrics, std::move(memory_owners));
  // Stopped before the logs close (reset below; on an early return it goes
  // before the stacks, which were made before it).
  auto trimmer = std::make_unique<MemoryTrimmer>(logs, std::chrono::seconds(args.memory_trim_seconds),
                                                 std::chrono::milliseconds(args.log_release_ms));
  for (uint32_t s = 0; s < shard_count; ++s) {
    ApiOptions api_options;
    api_options.sign_in_guard = sign_in_guard;
    api_options.directory_limiter = directory_limiter;
    api_options.security_log = security_log;
    api_options.min_free_bytes = args.min_free_bytes;
    api_options.console_dir = args.console_dir;
    if (node) api_options.command_target = [n = node.get(), s] { return n->command_target(s); };
    if (s > 0) api_options.catalog_views = shards[0].views.get();
    api_options.shard = s;
    api_options.witness_keys = witness_keys;
    shards[s].api = std::make_unique<Api>(*shards[s].stack, *shards[s].tokens, metrics, shards[s].views.get(),
                                          api_options);
  }
  Api& api = *shards[0].api;  // /metrics, and the node's lines of /healthz
  if (node) expose_cluster(*node, metrics, api);
  std::unique_ptr<ShardRouter> shard_router;
  if (shard_count > 1) {
    std::vector<ShardEndpoints> endpoints;
    for (ShardParts& p : shards) endpoints.push_back({&p.api->router(), p.tokens.get(), &p.stack->log()});
    shard_router = std::make_unique<ShardRouter>(
        std::move(endpoints), [shard_count](std::string_view partner) { return cluster::shard_of(partner, shard_count); });
  }
  std::unique_ptr<Relay> relay;
  if (!args.relay.brokers.empty() && !args.cluster) {
    relay = std::make_unique<Relay>(shards[0].stack->log(), &shards[0].stack->cipher(), args.relay);
    if (Status s = relay->start(); !s.is_ok()) {
      std::fprintf(stderr, "serve: relay: %s\n", s.to_string().c_str());
      return 1;
    }
    expose_relay(*relay, metrics, api);
    spdlog::info("relay: publishing to {} at {}", args.relay.topic, args.relay.brokers);
  }
  // The retention job: its own pipelines, with the token effects (a purge
  // revokes the user's sessions); stopped before the views and the stacks.
  std::vector<std::unique_ptr<CommandPipeline>> retention_pipelines;
  std::unique_ptr<RetentionScheduler> retention;
  if (args.retention_interval_seconds > 0) {
    std::vector<RetentionScheduler::Shard> parts;
    for (ShardParts& p : shards) {
      retention_pipelines.push_back(std::make_unique<CommandPipeline>(*p.stack, p.tokens.get(), security_log.get()));
      parts.push_back({retention_pipelines.back().get(), p.views.get()});
    }
    std::function<bool(uint32_t)> may_write;
    if (node) {
      may_write = [n = node.get()](uint32_t s) {
        auto target = n->command_target(s);
        return target.is_ok() && !target->has_value();
      };
    }
    RetentionOptions retention_options;
    retention_options.max_per_run = args.retention_max_per_run;
    retention = std::make_unique<RetentionScheduler>(std::move(parts), std::move(may_write), clock,
                                                     std::chrono::seconds(args.retention_interval_seconds),
                                                     retention_options);
    expose_retention(metrics, *retention);
  }
  HttpServer server(http, shard_router ? shard_router->router() : api.router(),
                    [&metrics](const std::string& route, unsigned status) { metrics.count_http(route, status); });
  if (Status s = server.start(); !s.is_ok()) {
    std::fprintf(stderr, "serve: %s\n", s.to_string().c_str());
    return 1;
  }
  const std::string base_url = std::string(tls ? "https://" : "http://") + http.address + ":" +
                               std::to_string(server.port());
  std::printf("listening on %s (data %s)\n", base_url.c_str(), args.data.c_str());
  if (demo) {
    std::printf("demo partner %s seeded (%llu events); try:\n\n%s\n", demo->partner.to_string().c_str(),
                static_cast<unsigned long long>(demo->head.value()),
                demo_curl_lines(*demo, base_url, args.data).c_str());
  }
  std::fflush(stdout);

  int signal_number = 0;
  for (;;) {
    sigwait(&stop_signals, &signal_number);
    if (signal_number != SIGHUP) break;
    // Reload: new connections get the new certificate, open ones keep theirs;
    // a bad file leaves the one in use.
    auto context = make_tls_context(args.tls);
    if (!context) {
      spdlog::error("tls: SIGHUP: reload failed, still serving the previous certificate: {}",
                    context.status().message());
      continue;
    }
    if (Status s = server.set_tls_context(context->context); !s.is_ok()) {
      spdlog::error("tls: SIGHUP: {}", s.message());
      continue;
    }
    log_tls(*context, args.tls, "SIGHUP: reloaded; new connections get the certificate of");
  }
  spdlog::info("signal {}: stopping (in-flight requests finish)", signal_number);
  server.stop(std::chrono::milliseconds(10'000));
  retention.reset();  // a run in progress finishes its current purge
  if (node) node->stop();  // leaves the leaders' group: another node takes the shards at once
  if (relay) {
    relay->stop();  // aborts an open transaction; the next start resumes from the checkpoint
    const RelayStatus last = relay->status();
    spdlog::info("relay: stopped at position {} ({} events published)", last.checkpoint_position,
                 last.events_published);
  }
  for (ShardParts& p : shards) {
    if (!p.views) continue;
    if (Status s = p.views->stop(); !s.is_ok()) {
      spdlog::error("views: {}", s.to_string());
      code = 1;
    }
    p.views.reset();
  }
  trimmer.reset();
  for (auto it = shards.rbegin(); it != shards.rend(); ++it) {
    if (Status s = it->stack->close(); !s.is_ok()) {
      spdlog::error("close: {}", s.to_string());
      code = 1;
    }
  }
  spdlog::info("stopped");
  return code;
}

}  // namespace

void add_serve_command(CLI::App& app, int* exit_code) {
  auto* cmd = app.add_subcommand("serve", "Serve the HTTP API over the data folder (docs/http-api.md)");
  auto args = std::make_shared<ServeArgs>();
  cmd->add_option("--data", args->data, "data folder (created, with its parents, if missing)")->capture_default_str();
  cmd->add_option("--listen", args->listen,
                  "ADDRESS:PORT (port 0: any free port); plain HTTP off loopback needs --plain-http")
      ->capture_default_str();
  cmd->add_option("--tls-cert", args->tls.cert_file,
                  "serve HTTPS with this PEM certificate (then any intermediates); with --tls-key; SIGHUP reloads");
  cmd->add_option("--tls-key", args->tls.key_file, "the certificate's PEM private key, unencrypted (mode 0600)");
  cmd->add_flag("--plain-http", args->plain_http,
                "serve plain HTTP on an address that is not loopback (tokens and passwords in clear)");
  cmd->add_option("--threads", args->io_threads, "network threads")->capture_default_str();
  cmd->add_option("--workers", args->workers,
                  "threads running reads, and the commands with effects beside the log (which wait for "
                  "their fsync there)")
      ->capture_default_str();
  cmd->add_option("--max-connections", args->max_connections, "open connections at most")->capture_default_str();
  cmd->add_option("--body-limit", args->body_limit, "largest request body in bytes")->capture_default_str();
  cmd->add_option("--read-timeout-ms", args->read_timeout_ms, "time to send a whole request")->capture_default_str();
  cmd->add_option("--idle-timeout-ms", args->idle_timeout_ms, "keep-alive wait for the next request")
      ->capture_default_str();
  cmd->add_option("--recovery", args->recovery,
                  "on corruption before the tail: fail (default), or truncate: move the bad part and every "
                  "later segment into DATA/quarantine and open with what is before it")
      ->check(CLI::IsMember({"fail", "truncate"}))
      ->capture_default_str();
  cmd->add_flag("--demo", args->demo, "seed a demo partner into an empty data folder and print curl lines");
  cmd->add_option("--kafka-brokers", args->relay.brokers,
                  "run the Kafka relay inside the server: bootstrap servers host:port[,...] (docs/kafka-events.md)");
  cmd->add_option("--kafka-topic", args->relay.topic, "the relay's events topic")->capture_default_str();
  cmd->add_option("--kafka-partitions", args->relay.partitions, "partitions of the events topic if the relay creates it")
      ->capture_default_str();
  cmd->add_option("--kafka-replication-factor", args->relay.replication_factor,
                  "replication factor of topics the relay creates (-1: the broker's default)")
      ->capture_default_str();
  cmd->add_option("-X,--kafka-config", args->kafka_config,
                  "extra librdkafka producer setting KEY=VALUE (repeatable)");
  cmd->add_flag("--cluster", args->cluster,
                "run as a node of a cluster over the Kafka brokers of --kafka-brokers (docs/cluster.md)");
  cmd->add_option("--node-id", args->node.node_id, "cluster: this node's unique id");
  cmd->add_option("--advertise", args->node.advertise,
                  "cluster: this node's base URL for clients, e.g. http://10.0.0.5:8080 (writes are redirected there)");
  cmd->add_option("--cluster-key", args->cluster_key_file,
                  "cluster: the file of the key that seals the replicated secrets, the same on every node "
                  "(acct cluster keygen --out FILE)");
  cmd->add_option("--shards", args->node.shards, "cluster: S, fixed when the cluster is created")->capture_default_str();
  cmd->add_option("--cluster-name", args->node.name, "cluster: prefix of its topics, group and transactional ids")
      ->capture_default_str();
  cmd->add_option("--replication-factor", args->node.replication_factor,
                  "cluster: replication factor of the topics it creates")
      ->capture_default_str();
  cmd->add_option("--min-insync-replicas", args->node.min_insync_replicas,
                  "cluster: min.insync.replicas of the topics it creates")
      ->capture_default_str();
  cmd->add_option("--publish-checkpoints", args->publish_checkpoints,
                  "also send every signed tree checkpoint to this file (JSON lines, fsynced) or http:// endpoint; "
                  "repeat for several (docs/witness.md)")
      ->take_all();
  cmd->add_option("--sign-every-events", args->sign_every_events,
                  "sign the head (chain and tree checkpoints) when it moved this far (0: not by count)")
      ->capture_default_str();
  cmd->add_option("--sign-every-seconds", args->sign_every_seconds,
                  "or when this long passed and the head moved (0: not by time)")
      ->capture_default_str();
  cmd->add_option("--checkpoint-topic", args->checkpoint_topic,
                  "with --kafka-brokers: the topic every signed tree checkpoint goes to")
      ->capture_default_str();
  cmd->add_option("--witness-key", args->witness_key_files,
                  "a witness's verifier key file: its cosignatures are kept (POST /v1/checkpoints/cosignatures); "
                  "repeat for several")
      ->take_all();
  cmd->add_option("--argon2-concurrency", args->argon2_concurrency,
                  "password hashings (argon2id, 64 MiB each) at once; 0: one per core")
      ->capture_default_str();
  cmd->add_option("--argon2-queue", args->argon2_queue, "callers that may wait for a hashing place; more get 503 busy")
      ->capture_default_str();
  cmd->add_option("--argon2-wait-ms", args->argon2_wait_ms, "longest wait for a hashing place, then 503 busy")
      ->capture_default_str();
  cmd->add_option("--sign-in-address-failures", args->sign_in_address_failures,
                  "failed sign-ins per minute from one client address before 429 (0: no limit)")
      ->capture_default_str();
  cmd->add_option("--sign-in-global-failures", args->sign_in_global_failures,
                  "failed sign-ins per second on the whole node before 503 (0: no cap)")
      ->capture_default_str();
  cmd->add_option("--console-dir", args->console_dir,
                  "serve the web console's files from this folder instead of the built-in copy (for work on "
                  "the console: a changed file shows on reload)")
      ->check(CLI::ExistingDirectory);
  cmd->add_option("--min-free-bytes", args->min_free_bytes,
                  "/healthz calls a store degraded below this much free space on its file system")
      ->capture_default_str();
  cmd->add_option("--security-log-retention-days", args->security_log_retention_days,
                  "security log files older than this are deleted")
      ->capture_default_str()
      ->check(CLI::Range(uint64_t{1}, uint64_t{36500}));
  cmd->add_option("--security-log-max-mib", args->security_log_max_mib,
                  "the security log's files past this total are deleted, oldest first")
      ->capture_default_str()
      ->check(CLI::Range(uint64_t{16}, uint64_t{1} << 20));
  cmd->add_option("--malloc-arenas", args->malloc_arenas,
                  "malloc arenas at most (glibc M_ARENA_MAX; 0: glibc's default, 8 per core) (docs/memory.md)")
      ->capture_default_str();
  cmd->add_option("--malloc-mmap-threshold-kib", args->malloc_mmap_threshold_kib,
                  "allocations from this size on are mapped, and unmapped when freed (glibc M_MMAP_THRESHOLD, fixed; "
                  "0: glibc's dynamic threshold) (docs/memory.md)")
      ->capture_default_str()
      ->check(CLI::Range(size_t{0}, size_t{32} * 1024));
  cmd->add_option("--memory-trim-seconds", args->memory_trim_seconds,
                  "return malloc's free pages to the kernel this often (malloc_trim; 0: never)")
      ->capture_default_str();
  cmd->add_option("--log-release-ms", args->log_release_ms,
                  "unmap the log's pages that reads mapped in, this often (they stay in the page cache; 0: never)")
      ->capture_default_str();
  cmd->add_option("--views-gather-us", args->views_gather_us,
                  "let commits gather this long before the views apply them: fewer view transactions under "
                  "load, a read without min_position sees a write that much later (0: apply at once)")
      ->check(CLI::Range(uint32_t{0}, uint32_t{100'000}))
      ->capture_default_str();
  cmd->add_option("--key-cache-subjects", args->key_cache_subjects,
                  "data subjects whose key the key store holds in memory; the others are read from their file")
      ->capture_default_str();
  cmd->add_option("--credential-cache-entries", args->credential_cache_entries,
                  "users whose password hash the credential store holds in memory; the others are read from its file")
      ->capture_default_str();
  cmd->add_option("--state-cache-entries", args->state_cache_entries,
                  "aggregate states the engine keeps in memory, per state type (0: none)")
      ->capture_default_str();
  cmd->add_option("--directory-searches-per-minute", args->directory_address_per_minute,
                  "public directory searches per minute per client address, as many at once (0: no limit)")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1e6));
  cmd->add_option("--directory-searches-per-second", args->directory_global_per_second,
                  "public directory searches per second for the whole node, as many at once (0: no limit)")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1e6));
  cmd->add_option("--retention-interval-seconds", args->retention_interval_seconds,
                  "purge users 30 days after their deactivation, as the operator, this often (the first run at "
                  "start; 0: never) (docs/retention.md)")
      ->capture_default_str();
  cmd->add_option("--retention-max-per-run", args->retention_max_per_run,
                  "users the retention job purges per run and shard at most; the rest wait for the next run")
      ->capture_default_str()
      ->check(CLI::Range(size_t{1}, size_t{100'000}));
  cmd->add_option("--session-timeout-ms", args->session_timeout_ms,
                  "cluster: a node silent this long loses its shards (the floor of a failover)")
      ->capture_default_str();
  cmd->callback([args, exit_code] {
    for (const std::string& kv : args->kafka_config) {
      if (Status s = kafka::parse_property(kv, &args->relay.producer_config, "kafka-config"); !s.is_ok()) {
        std::fprintf(stderr, "serve: %s\n", s.to_string().c_str());
        *exit_code = 2;
        return;
      }
    }
    if (args->cluster) {
      args->node.brokers = args->relay.brokers;
      args->node.events_topic = args->relay.topic;
      args->node.client_config = args->relay.producer_config;
      args->node.session_timeout = std::chrono::milliseconds(args->session_timeout_ms);
      args->node.resume_dir = join_path(args->data, "cluster");
      Status s = args->cluster_key_file.empty()
                     ? invalid_argument("is required with --cluster (acct cluster keygen --out FILE)", "cluster-key")
                     : Status::ok();
      if (s.is_ok()) {
        auto key = cluster::read_cluster_key_file(args->cluster_key_file);
        if (key) {
          args->node.cluster_key = *key;
        } else {
          s = key.status();
        }
      }
      if (s.is_ok()) s = args->node.validate();
      if (s.is_ok() && args->demo) s = invalid_argument("--demo seeds a single node; not with --cluster", "demo");
      if (!s.is_ok()) {
        std::fprintf(stderr, "serve: %s\n", s.to_string().c_str());
        *exit_code = 2;
        return;
      }
    } else if (!args->relay.brokers.empty()) {
      if (Status s = args->relay.validate(); !s.is_ok()) {
        std::fprintf(stderr, "serve: %s\n", s.to_string().c_str());
        *exit_code = 2;
        return;
      }
    }
    *exit_code = serve(*args);
  });
}

}  // namespace accountable::cli
