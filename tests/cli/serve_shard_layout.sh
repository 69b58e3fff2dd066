#!/usr/bin/env bash
# A data folder keeps one layout (docs/cluster.md, "Shards"): `serve --cluster
# --shards 3` refuses a folder that holds a single log, and `--shards 1`
# refuses one that holds shard folders, naming both layouts; nothing is
# created. Refused before any broker is contacted (the brokers here do not
# exist). verify, read and backup given a node's folder ask for one shard's.
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
# refused WHAT ARGS...: the node must exit 2 saying WHAT.
refused() {
  local what=$1 rc=0
  shift
  node "$@" >"$work/out" 2>"$work/err" || rc=$?
  cat "$work/err"
  [ "$rc" -eq 2 ] || { echo "FAIL: expected exit 2 for $*, got $rc"; exit 1; }
  grep -qF "$what" "$work/err" || { echo "FAIL: the error does not say: $what"; exit 1; }
}

before=$(find "$work/W3" | sort | md5sum)
refused "holds a single log (log/), but this node runs 3 shard(s)" --shards 3 --data "$work/W3"
[ "$(find "$work/W3" | sort | md5sum)" = "$before" ] || { echo "FAIL: the refused start changed the folder"; exit 1; }

mkdir -p "$work/sharded/shard-0"
refused "holds shard folders (shard-0/...), but this node runs 1 shard(s)" --shards 1 --data "$work/sharded"
[ ! -e "$work/sharded/log" ] || { echo "FAIL: the refused start created a log"; exit 1; }
# The offline tools name one shard's folder instead of opening (or creating)
# a log beside a node's shards.
for tool in "verify" "read" "backup --to $work/bk"; do
  rc=0
  # shellcheck disable=SC2086
  "$acct" $tool --data "$work/sharded" >"$work/out" 2>"$work/err" || rc=$?
  [ "$rc" -ne 0 ] || { echo "FAIL: acct $tool accepted a folder of shard folders"; exit 1; }
  grep -q "holds the shard folders of a cluster node" "$work/err" ||
    { echo "FAIL: acct $tool did not say why:"; cat "$work/err"; exit 1; }
done
[ ! -e "$work/sharded/log" ] || { echo "FAIL: a tool created a log beside the shards"; exit 1; }
echo "OK: each layout refused by the other; the tools ask for one shard's folder"
