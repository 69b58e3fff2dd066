#!/usr/bin/env bash
# A data folder keeps one layout (docs/cluster.md, "Shards"): `serve --cluster
# --shards 3` refuses a folder that holds a single log, and `--shards 1`
# refuses one that holds shard folders, naming both layouts; nothing is
# created. Refused before any broker is contacted (the brokers here do not exist).
set -euo pipefail
acct="$1"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

"$acct" cluster keygen --out "$work/cluster.key" >/dev/null
node() {
  "$acct" serve --cluster --node-id n1 --kafka-brokers 127.0.0.1:1 --cluster-key "$work/cluster.key" \
    --advertise http://127.0.0.1:1 --listen 127.0.0.1:0 "$@"
}

"$acct" bench --data "$work" --workload W3 --events 100 --keep >/dev/null  # a single log in $work/W3/log
before=$(find "$work/W3" | sort | md5sum)
set +e
node --shards 3 --data "$work/W3" >"$work/a.out" 2>"$work/a.err"
rc=$?
set -e
cat "$work/a.err"
[ "$rc" -eq 2 ] || { echo "FAIL: expected exit 2 for --shards 3 over a single log, got $rc"; exit 1; }
grep -q "holds a single log (log/), but this node runs 3 shard(s)" "$work/a.err"
[ "$(find "$work/W3" | sort | md5sum)" = "$before" ] || { echo "FAIL: the refused start changed the folder"; exit 1; }

mkdir -p "$work/sharded/shard-0"
set +e
node --shards 1 --data "$work/sharded" >"$work/b.out" 2>"$work/b.err"
rc=$?
set -e
cat "$work/b.err"
[ "$rc" -eq 2 ] || { echo "FAIL: expected exit 2 for --shards 1 over shard folders, got $rc"; exit 1; }
grep -q "holds shard folders (shard-0/...), but this node runs 1 shard(s)" "$work/b.err"
[ ! -e "$work/sharded/log" ] || { echo "FAIL: the refused start created a log"; exit 1; }
echo "OK: each layout refused by the other"
