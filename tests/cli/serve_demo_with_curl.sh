#!/usr/bin/env bash
# `acct serve --demo` seeds a partner and prints curl lines; every line works as
# printed (run here with bash against the live server). Then SIGTERM during a
# burst of commands: the server exits 0 and every acknowledged command is there
# after a restart. The data folder's parents do not exist yet: serve makes them.
set -euo pipefail
acct="$1"
work=$(mktemp -d)
pid=""
cleanup() { [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
data="$work/not/made/yet/data"

start_server() {
  : >"$work/out"
  "$acct" serve --data "$data" --listen 127.0.0.1:0 "$@" >"$work/out" 2>"$work/err" &
  pid=$!
  for _ in $(seq 1 300); do grep -q "^listening on" "$work/out" && break; sleep 0.1; done
  grep -q "^listening on" "$work/out" || { cat "$work/err"; exit 1; }
  base=$(sed -n 's/^listening on \(http:[^ ]*\).*/\1/p' "$work/out")
}

start_server --demo
for _ in $(seq 1 50); do grep -q "operator.token" "$work/out" && break; sleep 0.1; done
# The printed lines, exactly as printed.
sed -n '/^export ACCT=/,/operator.token/p' "$work/out" >"$work/demo.sh"
lines=$(wc -l <"$work/demo.sh")
[ "$lines" -ge 8 ] || { echo "expected the curl lines, got:"; cat "$work/out"; exit 1; }
bash -euo pipefail "$work/demo.sh" >"$work/demo.out" 2>&1 || { cat "$work/demo.out"; exit 1; }
grep -q '"status":"ok"' "$work/demo.out"                 # healthz
grep -q '"azure-plan"' "$work/demo.out"                  # the catalog, pricing
grep -q 'Change Code,Valid From,Valid To' "$work/demo.out"  # the price list as CSV
grep -q ',azure-plan,' "$work/demo.out"
grep -q 'grace@contoso.example' "$work/demo.out"         # the directory
grep -q '"partner_name":"Contoso Cloud Services","region":"na"' "$work/demo.out"  # the public directory
grep -q '"position"' "$work/demo.out"                    # the command
grep -q '"events"' "$work/demo.out"                      # operator $all read
if grep -q '"error"' "$work/demo.out"; then echo "a demo line failed:"; cat "$work/demo.out"; exit 1; fi
# The retention job ran at start (nothing is due in the demo) and /metrics counts it.
for _ in $(seq 1 100); do
  curl -s -m 5 "$base/metrics" >"$work/metrics"
  grep -q '^acct_retention_runs_total [1-9]' "$work/metrics" && break
  sleep 0.1
done
grep -q '^acct_retention_runs_total [1-9]' "$work/metrics" || { grep retention "$work/metrics"; exit 1; }
grep -q '^acct_retention_purges_total{result="purged"} 0' "$work/metrics"
# The server's output names the operator token file, never a token or password.
token=$(cat "$data/operator.token")
! grep -q "$token" "$work/out" "$work/err"
! grep -q "acct_" "$work/err"

# SIGTERM while commands are in flight: the acknowledged ones survive.
op="Authorization: Bearer $token"
acked="$work/acked"
: >"$acked"
for i in $(seq 1 40); do
  id=$(cat /proc/sys/kernel/random/uuid)
  body='{"type":"PublishOffer","command_id":"'"$id"'","offer":{"offer_id":"burst-'"$i"'","display_name":"Burst '"$i"'","segment":"enterprise","license_agreement_type":"corporate","purchase_unit":"1 Month","secondary_license_type":"non_specific","base_offer_ids":[],"end_customer_type":"corporate","billing_model":"usage_based"}}'
  ( out=$(curl -s -m 10 -H "$op" -X POST "$base/v1/commands" -d "$body" || true)
    case "$out" in *'"position"'*) echo "$id" >>"$acked" ;; esac ) &
  [ "$i" -eq 20 ] && kill -TERM "$pid"
done
wait_rc=0
wait "$pid" || wait_rc=$?
pid=""
wait || true
[ "$wait_rc" -eq 0 ] || { echo "serve exited $wait_rc"; cat "$work/err"; exit 1; }
n=$(wc -l <"$acked")
"$acct" verify --data "$data" | tail -1 | grep -q '^OK$'
start_server
token=$(cat "$data/operator.token")
for id in $(cat "$acked"); do
  found=$(curl -s -H "Authorization: Bearer $token" "$base/v1/events?type=OfferPublished&limit=1000" | grep -c "$id" || true)
  [ "$found" -ge 1 ] || { echo "acknowledged command $id is missing after restart"; exit 1; }
done
kill -TERM "$pid"; wait "$pid"; pid=""

# --views-gather-us: out of range is refused, naming the option; in range, a
# read with the write's min_position sees the write, though the views apply
# it up to 100 ms after its commit.
rc=0
timeout 20 "$acct" serve --data "$data" --listen 127.0.0.1:0 --views-gather-us 100001 >"$work/out" 2>"$work/err" || rc=$?
# 0, or 124 (killed by timeout: it was serving), means it was accepted.
if [ "$rc" -eq 0 ] || [ "$rc" -eq 124 ]; then echo "--views-gather-us 100001 was accepted (exit $rc)"; exit 1; fi
grep -q -- "--views-gather-us" "$work/err" || { echo "the refusal does not name the option:"; cat "$work/err"; exit 1; }
start_server --views-gather-us 100000
partner=$(sed -n 's|.*/v1/partners/\([0-9a-f-]*\)/catalog.*|\1|p' "$work/demo.sh")
ACCT="$base"
eval "$(grep '^TOKEN=' "$work/demo.sh")"  # the demo's own sign-in line
for i in 1 2 3; do
  id=$(cat /proc/sys/kernel/random/uuid)
  reply=$(curl -s -m 10 -H "Authorization: Bearer $TOKEN" -X POST "$base/v1/commands" -d '{"type":"UpdateSupportProfile","command_id":"'"$id"'","partner_id":"'"$partner"'","support":{"email":"gather-'"$i"'@contoso.example","phone":"+1 800 555 0100","website":""}}')
  min=$(printf '%s' "$reply" | sed -n 's/.*"min_position":"\([^"]*\)".*/\1/p')
  [ -n "$min" ] || { echo "no min_position in: $reply"; exit 1; }
  curl -s -m 10 -H "Authorization: Bearer $TOKEN" "$base/v1/partners/$partner/profile?min_position=$min" \
    | grep -q "gather-$i@contoso.example" || { echo "read $i did not see its write"; exit 1; }
done
kill -TERM "$pid"; wait "$pid"; pid=""
echo "demo lines ran ($lines lines); $n commands acknowledged around SIGTERM, all present after restart;" \
  "with --views-gather-us 100000 each read with min_position saw its write"
