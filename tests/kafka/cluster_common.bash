# Sourced by tests/kafka/cluster*.sh after common.bash (not a test itself):
# nodes of a cluster on loopback, each on a free port, and the waits on them.
# The caller sets $name (the cluster's name) and $shards, and has run
# start_own_cluster (which sets $brokers).
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
client="$python $here/cluster_client.py"

declare -A node_pid=()
stop_nodes() {
  local n
  for n in "${!node_pid[@]}"; do
    kill -CONT "${node_pid[$n]}" 2>/dev/null || true
    kill -9 "${node_pid[$n]}" 2>/dev/null || true
  done
}
on_exit() {
  local rc=$? n
  set +e  # the exit code is decided; what follows must all run, cleanup last
  if [ "$rc" -ne 0 ]; then
    for n in "${!node_pid[@]}"; do
      echo "----- node $n: /healthz -----"
      curl -s -m 2 "$(url_of "$n")/healthz" || true
      echo
    done
    if [ -n "${ACCT_CLUSTER_TEST_KEEP:-}" ]; then mkdir -p "$ACCT_CLUSTER_TEST_KEEP" && cp "$work"/n*.err "$ACCT_CLUSTER_TEST_KEEP"/; fi
    for f in "$work"/n*.err; do
      echo "----- warnings and errors of $f -----"
      grep -E "warn|error|fail" "$f" | grep -v "GETPID\|FindCoord" | tail -n 30 || true
    done
  fi
  stop_nodes
  if [ -n "${load_pid:-}" ]; then kill "$load_pid" 2>/dev/null || true; fi
  (exit "$rc")
  cleanup
}
trap on_exit EXIT

# A free port per node N given, below the ephemeral range (32768 and up),
# where outgoing connections cannot take it between the pick and the bind.
declare -A node_port=()
pick_ports() {
  local n
  for n in "$@"; do
    node_port[$n]=$($python - "${node_port[@]}" <<'PY'
import random, socket, sys
taken = set(int(p) for p in sys.argv[1:])
for _ in range(1000):
    port = random.randrange(20000, 32000)
    if port in taken:
        continue
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", port))
    except OSError:
        continue
    finally:
        s.close()
    print(port)
    break
PY
)
    [ -n "${node_port[$n]}" ] || { echo "FAIL: no free port for node $n"; exit 1; }
  done
}
port_of() { echo "${node_port[$1]}"; }
url_of() { echo "http://127.0.0.1:$(port_of "$1")"; }

# Starts node N on its folder (kept across restarts); waits until it serves.
# The operator's token ($work/operator.token, once node 1 made it) is copied
# into a new folder, so that one token works on every node.
start_node() {
  local n=$1 i
  mkdir -p "$work/n$n"
  [ -f "$work/n$n/operator.token" ] || { [ -f "$work/operator.token" ] && cp "$work/operator.token" "$work/n$n/"; }
  "$acct" serve --cluster --cluster-name "$name" --node-id "n$n" --kafka-brokers "$brokers" --cluster-key "$work/cluster.key" \
    --shards "$shards" --kafka-topic "$name.events" --listen "127.0.0.1:$(port_of "$n")" --advertise "$(url_of "$n")" \
    --data "$work/n$n" >>"$work/n$n.out" 2>>"$work/n$n.err" &
  node_pid[$n]=$!
  for ((i = 0; i < 600; i++)); do
    curl -sf -m 2 "$(url_of "$n")/healthz" >/dev/null 2>&1 && return 0
    kill -0 "${node_pid[$n]}" 2>/dev/null || { echo "FAIL: node $n exited"; tail -20 "$work/n$n.err"; exit 1; }
    sleep 0.2
  done
  echo "FAIL: node $n did not serve within 120 s"
  exit 1
}

# The role of node $1 in shard $2 (0 if not given): leader, follower, ... or down.
role_of() {
  curl -s -m 2 "$(url_of "$1")/healthz" 2>/dev/null |
    $python -c 'import json,sys; print(json.load(sys.stdin)["cluster"]["shard"][int(sys.argv[1])]["role"])' "${2:-0}" \
      2>/dev/null || echo down
}

# Prints the node that leads shard $2, among the nodes given after it,
# waiting at most $1 s.
wait_leader() {
  local seconds=$1 shard=$2 i n
  shift 2
  for ((i = 0; i < seconds * 5; i++)); do
    for n in "$@"; do
      if [ "$(role_of "$n" "$shard")" = leader ]; then
        echo "$n"
        return 0
      fi
    done
    sleep 0.2
  done
  echo "FAIL: no leader of shard $shard among nodes $* after ${seconds}s" >&2
  return 1
}

acked_count() { wc -l <"$work/acked" | tr -d ' '; }

# Waits (at most $1 s) until $2 more commands were acknowledged.
wait_acks() {
  local seconds=$1 more=$2 from i
  from=$(acked_count)
  for ((i = 0; i < seconds * 5; i++)); do
    [ "$(acked_count)" -ge $((from + more)) ] && return 0
    sleep 0.2
  done
  echo "FAIL: fewer than $more commands acknowledged in ${seconds}s (load: $(tail -3 "$work/load.out"))"
  exit 1
}

# Waits until every node given has, for every shard, the same head and head
# hash; prints one line per shard: "<head> <hash>". Fails after 60 s.
same_heads() {
  local i n heads=""
  for ((i = 0; i < 300; i++)); do
    heads=$(for n in "$@"; do curl -s -m 2 "$(url_of "$n")/healthz" |
      $python -c 'import json,sys; print(" ".join("%d:%d:%s" % (s["shard"], s["head"], s["head_hash"]) for s in json.load(sys.stdin)["cluster"]["shard"]))'; done | sort -u)
    [ "$(echo "$heads" | wc -l)" -eq 1 ] && break
    sleep 0.2
  done
  [ "$(echo "$heads" | wc -l)" -eq 1 ] || { echo "FAIL: the copies differ: $heads" >&2; return 1; }
  echo "$heads" | tr ' ' '\n'
}
