#!/usr/bin/env bash
# A cluster of 3 nodes with S = 3 shards over 3 brokers of its own
# (docs/cluster.md, "Shards"), under the load of 8 HTTP clients that enrol
# partners at random nodes (each partner lands on the shard of its id, so
# every shard takes commands), through:
#   1. the node that leads shard 1 killed (kill -9): other nodes lead every
#      shard again; the time is printed;
#   2. that node restarted with its data folder: it reads every shard on
#      from its resume point and catches up.
# A partner enrolled before the faults (its admin's password changed) signs
# in at every node after them and reads its directory in clear everywhere.
# Then, for every shard: every acknowledged command is in every node's copy
# exactly once, in the shard and at the position it was acknowledged with;
# all copies hold the same events and the same head hash; `acct verify`
# passes on each node's folder of each shard; kcat and Python's
# confluent_kafka (read_committed) see every event of every shard exactly
# once, in order per partner (tests/kafka/interop_check.py).
# The single-shard faults (zombie, broker stop, empty joiner) are
# tests/kafka/cluster.sh's.
source "$(dirname "$0")/common.bash"
source "$(dirname "$0")/cluster_common.bash"

start_own_cluster 3
echo "own Kafka cluster: $brokers"
name="sh$$"
shards=3
pick_ports 1 2 3
all="$(url_of 1),$(url_of 2),$(url_of 3)"

"$acct" cluster keygen --out "$work/cluster.key" >/dev/null
start_node 1
cp "$work/n1/operator.token" "$work/operator.token"
start_node 2
start_node 3
declare -A leader_of=()
# The group settles in rounds (cooperative-sticky: a node that joins late gets
# its shard in a later rebalance), balanced when each node leads one shard.
# Wait for that (bounded), so that the setup's writes below do not meet a
# planned move: a commit whose password then cannot be stored is answered
# with temporary_password_error, and a retry does not issue it again.
settled=""
for ((i = 0; i < 150; i++)); do
  for s in 0 1 2; do
    leader_of[$s]=$(wait_leader 60 "$s" 1 2 3)
  done
  if [ "$(printf '%s\n' "${leader_of[@]}" | sort -u | wc -l)" -eq 3 ]; then
    settled=1
    break
  fi
  sleep 0.2
done
[ -n "$settled" ] || { echo "FAIL: the leaders' group did not spread the 3 shards over the 3 nodes"; exit 1; }
echo "leaders: shard 0: node ${leader_of[0]}, shard 1: node ${leader_of[1]}, shard 2: node ${leader_of[2]}"
$client account create --nodes "$all" --token-file "$work/operator.token" --out "$work/account.json"

: >"$work/acked"
$client load --kind enroll --nodes "$all" --token-file "$work/operator.token" \
  --acked "$work/acked" --stop-file "$work/stop" --clients 8 --max-seconds 600 >"$work/load.out" 2>&1 &
load_pid=$!
wait_acks 60 60

# 1. The leader of shard 1 killed: its shards (one or more) move to the others.
killed=${leader_of[1]}
others=()
for n in 1 2 3; do [ "$n" != "$killed" ] && others+=("$n"); done
kill -9 "${node_pid[$killed]}"
killed_at=$(date +%s.%N)
for s in 0 1 2; do
  leader_of[$s]=$(wait_leader 90 "$s" "${others[@]}")
done
echo "leader of shard 1 (node $killed) killed: every shard led again after $(echo "$(date +%s.%N) - $killed_at" | bc) s" \
  "(shard 0: node ${leader_of[0]}, 1: node ${leader_of[1]}, 2: node ${leader_of[2]})"
wait_acks 60 40

# 2. Restarted with its folder: every shard reads on from its resume point.
start_node "$killed"
resumed=$(curl -s -m 2 "$(url_of "$killed")/healthz" |
  $python -c 'import json,sys; print(" ".join(str(s["resumed_from"]) for s in json.load(sys.stdin)["cluster"]["shard"]))')
echo "node $killed restarted: read on from offsets $resumed"
for r in $resumed; do
  [ "$r" -gt 0 ] || { echo "FAIL: node $killed read a shard's partition from its start again ($resumed)"; exit 1; }
done
wait_acks 60 30

touch "$work/stop"
wait "$load_pid" || { echo "FAIL: the load clients failed"; cat "$work/load.out"; exit 1; }
load_pid=""
cat "$work/load.out"

heads=$(same_heads 1 2 3) || exit 1
echo "heads (shard:head:hash): $(echo "$heads" | tr '\n' ' ')"
shard_heads=$(echo "$heads" | cut -d: -f2 | paste -sd,)

$client check --shards 3 --nodes "$all" --token-file "$work/operator.token" --acked "$work/acked" --min-acked 150
$client account check --nodes "$all" --account "$work/account.json"

# acct cluster status: three members, a leader per shard, every copy at lag 0.
"$acct" cluster status --kafka-brokers "$brokers" --cluster-name "$name" >"$work/status.json"
$python - "$work/status.json" "$shard_heads" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
heads = [int(h) for h in sys.argv[2].split(",")]
assert s["shards"] == 3, s
assert sorted(s["members"]) == ["n1", "n2", "n3"], s["members"]
assert sorted(l["shard"] for l in s["leaders"]) == [0, 1, 2], s["leaders"]
for n in s["nodes"]:
    assert n["reachable"], n
    for sh in n["shards"]:
        assert sh["head"] == heads[sh["shard"]] and sh["lag_positions"] == 0, n
print("cluster status: 3 members, a leader per shard, every copy at heads %s" % heads)
PY

for n in 1 2 3; do
  kill -TERM "${node_pid[$n]}"
  wait "${node_pid[$n]}" || { echo "FAIL: node $n exited $?"; tail -20 "$work/n$n.err"; exit 1; }
  unset "node_pid[$n]"
  for s in 0 1 2; do
    "$acct" verify --data "$work/n$n/shard-$s" >"$work/verify-n$n-s$s.txt" 2>&1 || true
    tail -1 "$work/verify-n$n-s$s.txt" | grep -q '^OK$' ||
      { cat "$work/verify-n$n-s$s.txt"; echo "FAIL: acct verify on node $n shard $s"; exit 1; }
  done
done
# Each node signed its copy's final head at close: every copy of a shard gives
# the same Merkle root at the same size as the others (its own key signed it).
heads_array=(${shard_heads//,/ })
for s in 0 1 2; do
  roots=$(for n in 1 2 3; do
    sed -n 's/.*last verified tree size \([0-9]*\), root \([0-9a-f]*\).*/\1 \2/p' "$work/verify-n$n-s$s.txt"
  done | sort -u)
  [ "$(wc -l <<<"$roots")" = 1 ] && [ "$(cut -d' ' -f1 <<<"$roots")" = "${heads_array[$s]}" ] ||
    { echo "FAIL: shard $s: the nodes' tree roots differ or miss the head ${heads_array[$s]}: $roots"; exit 1; }
done
echo "every node's copy of each shard gives the same tree root at its head"

# Downstream: clients we did not write, read_committed; positions are per shard.
timeout 120 kcat -C -b "$brokers" -t "$name.events" -o beginning -e -q -X isolation.level=read_committed \
  -f '%k\t%p\t%o\t%h\t%s\n' >"$work/kcat.tsv" 2>"$work/kcat.err"
"$python" "$here/interop_check.py" --schema "$root/docs/kafka-event.schema.json" \
  --kcat "$work/kcat.tsv" --brokers "$brokers" --topic "$name.events" --head "$shard_heads"
echo "cluster with 3 shards: heads $shard_heads, every acknowledged command once on every node, verify OK on each"
