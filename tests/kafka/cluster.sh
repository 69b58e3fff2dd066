#!/usr/bin/env bash
# A cluster of 3 nodes over 3 brokers of its own (docs/cluster.md), under the
# load of 8 HTTP clients that send commands to random nodes, through:
#   1. the leader killed (kill -9): another node leads; the time is printed;
#   2. the killed node restarted with its data folder: it reads on from its
#      resume point and catches up;
#   3. a zombie: the leader stopped (SIGSTOP) until another node leads, then
#      continued: a command sent straight to it fails and never reaches any
#      log, and it follows again;
#   4. one broker stopped for a while, then started again;
#   5. a fourth node with an empty data folder joins and catches up.
# Personal data: a partner enrolled (and its admin's password changed) before
# the faults reads back in clear on every node after them, the joined node
# included, and the admin signs in at every node (keys, credentials and
# tokens replicated: tests/kafka/cluster_client.py "account").
# Then: every acknowledged command is in every node's copy exactly once, at
# the position it was acknowledged with; all copies hold the same events and
# the same head hash; `acct verify` passes on each folder; kcat and Python's
# confluent_kafka (read_committed) see every event of the downstream topic
# exactly once, in order per partner (tests/kafka/interop_check.py).
source "$(dirname "$0")/common.bash"
source "$(dirname "$0")/cluster_common.bash"

start_own_cluster 3
echo "own Kafka cluster: $brokers"
name="it$$"
shards=1
pick_ports 1 2 3 4

"$acct" cluster keygen --out "$work/cluster.key" >/dev/null
start_node 1
cp "$work/n1/operator.token" "$work/operator.token"
start_node 2
start_node 3
leader=$(wait_leader 60 0 1 2 3)
echo "node $leader leads"
$client account create --nodes "$(url_of 1),$(url_of 2),$(url_of 3)" --token-file "$work/operator.token" \
  --out "$work/account.json"

: >"$work/acked"
$client load --nodes "$(url_of 1),$(url_of 2),$(url_of 3)" --token-file "$work/operator.token" \
  --acked "$work/acked" --stop-file "$work/stop" --clients 8 --max-seconds 600 >"$work/load.out" 2>&1 &
load_pid=$!
wait_acks 60 50

# 1. The leader killed.
others=()
for n in 1 2 3; do [ "$n" != "$leader" ] && others+=("$n"); done
kill -9 "${node_pid[$leader]}"
killed_at=$(date +%s.%N)
killed=$leader
leader=$(wait_leader 90 0 "${others[@]}")
echo "leader killed: node $leader leads after $(echo "$(date +%s.%N) - $killed_at" | bc) s"
wait_acks 60 50

# 2. Restarted with its folder: it reads on from its resume point, not from the topic's start.
start_node "$killed"
resumed=$(curl -s -m 2 "$(url_of "$killed")/healthz" |
  $python -c 'import json,sys; print(json.load(sys.stdin)["cluster"]["shard"][0]["resumed_from"])')
echo "node $killed restarted: read on from offset $resumed"
[ "$resumed" -gt 0 ] || { echo "FAIL: node $killed read the replication topic from its start again"; exit 1; }
wait_acks 60 20

# 3. A zombie.
zombie=$leader
kill -STOP "${node_pid[$zombie]}"
others=()
for n in 1 2 3; do [ "$n" != "$zombie" ] && others+=("$n"); done
leader=$(wait_leader 90 0 "${others[@]}")
echo "zombie: node $zombie stopped; node $leader leads"
kill -CONT "${node_pid[$zombie]}"
zombie_command=$(cat /proc/sys/kernel/random/uuid)
answer=$($client post --node "$(url_of "$zombie")" --token-file "$work/operator.token" --command-id "$zombie_command")
echo "zombie answered: ${answer:0:160}"
case "$answer" in
  200*) echo "FAIL: the fenced leader acknowledged a command"; exit 1 ;;
esac
for ((i = 0; i < 300; i++)); do
  [ "$(role_of "$zombie")" = follower ] && break
  sleep 0.2
done
[ "$(role_of "$zombie")" = follower ] || { echo "FAIL: node $zombie is $(role_of "$zombie"), not a follower"; exit 1; }
wait_acks 60 20

# 4. A broker stopped under load, then started again.
"$kafka" stop-node 2 --dir "$cluster_dir" 2>>"$work/kafka.err"
wait_acks 120 50
"$kafka" start-node 2 --dir "$cluster_dir" 2>>"$work/kafka.err"
wait_acks 60 20

# 5. A node with an empty folder joins.
start_node 4
wait_acks 60 20

touch "$work/stop"
wait "$load_pid" || { echo "FAIL: the load clients failed"; cat "$work/load.out"; exit 1; }
load_pid=""
cat "$work/load.out"
grep -q '"given_up": 0' "$work/load.out" || echo "note: some commands were given up (never acknowledged)"

# Every copy reaches the same head, with the same hash.
nodes="1 2 3 4"
heads=$(same_heads $nodes) || exit 1
echo "heads: $heads"
head=$(echo "$heads" | cut -d: -f2)

$client check --nodes "$(url_of 1),$(url_of 2),$(url_of 3),$(url_of 4)" --token-file "$work/operator.token" \
  --acked "$work/acked" --min-acked 200 --absent "$zombie_command"
$client account check --nodes "$(url_of 1),$(url_of 2),$(url_of 3),$(url_of 4)" --account "$work/account.json"

# acct cluster status: four members, the leader, every copy at lag 0.
"$acct" cluster status --kafka-brokers "$brokers" --cluster-name "$name" >"$work/status.json"
$python - "$work/status.json" "$leader" "$head" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
leader, head = "n" + sys.argv[2], int(sys.argv[3])
assert s["shards"] == 1, s
assert sorted(s["members"]) == ["n1", "n2", "n3", "n4"], s["members"]
assert [l["node_id"] for l in s["leaders"]] == [leader], s["leaders"]
assert len(s["nodes"]) == 4 and all(n["reachable"] for n in s["nodes"]), s["nodes"]
for n in s["nodes"]:
    sh = n["shards"][0]
    assert sh["head"] == head and sh["lag_positions"] == 0, n
    assert (sh["role"] == "leader") == (n["node_id"] == leader), n
print("cluster status: 4 members, leader %s, every copy at %d" % (leader, head))
PY

for n in $nodes; do
  kill -TERM "${node_pid[$n]}"
  wait "${node_pid[$n]}" || { echo "FAIL: node $n exited $?"; tail -20 "$work/n$n.err"; exit 1; }
  unset "node_pid[$n]"
  "$acct" verify --data "$work/n$n" | tail -1 | grep -q '^OK$' || { echo "FAIL: acct verify on node $n"; exit 1; }
done
# Byte for byte up to the last commit (each node zero-fills ahead as it likes).
n1_bytes=$("$acct" verify --data "$work/n1" | grep -o "bytes [0-9]*" | tr -dc 0-9)
n4_bytes=$("$acct" verify --data "$work/n4" | grep -o "bytes [0-9]*" | tr -dc 0-9)
[ "$n1_bytes" -gt 0 ] && [ "$n1_bytes" = "$n4_bytes" ] ||
  { echo "FAIL: node 1's log holds $n1_bytes bytes, node 4's $n4_bytes"; exit 1; }
cmp -n "$n1_bytes" "$work/n1/log/seg-00000000000000000001.log" "$work/n4/log/seg-00000000000000000001.log" ||
  { echo "FAIL: node 4's segment is not byte for byte node 1's"; exit 1; }

# Downstream: clients we did not write, read_committed.
timeout 120 kcat -C -b "$brokers" -t "$name.events" -o beginning -e -q -X isolation.level=read_committed \
  -f '%k\t%p\t%o\t%h\t%s\n' >"$work/kcat.tsv" 2>"$work/kcat.err"
"$python" "$here/interop_check.py" --schema "$root/docs/kafka-event.schema.json" \
  --kcat "$work/kcat.tsv" --brokers "$brokers" --topic "$name.events" --head "$head"
echo "cluster: $head events, every acknowledged command once on every node, verify OK on each"
