#!/usr/bin/env bash
# The insider attacks of issue 18, end to end with the real binary and real
# processes (docs/witness.md):
#  - two witnesses and an auditor's `acct audit watch` follow a serving log;
#    every checkpoint also goes to a file outside the folder (and, in the
#    first run, to an HTTP endpoint);
#  - PurgeUser changes no leaf: proofs taken before it still verify offline;
#  - A: an attacker who holds the signing key rewrites one event (every hash
#    and CRC recomputed, checkpoints deleted, the tree rebuilt and re-signed):
#    the witnesses refuse, audit watch exits 1 naming the tree size, and
#    `acct verify` fails with the witness keys and with the published copy;
#  - B: the whole folder rolled back to an older copy: the same;
#  - C: the log cut short, the checkpoints file cut short, the tree cut short:
#    each reported.
set -euo pipefail
acct="$1"
here="$(cd "$(dirname "$0")" && pwd)"
work=$(mktemp -d)
server_pid=""
cleanup() {
  [ -z "$server_pid" ] || kill -TERM "$server_pid" 2>/dev/null || true
  [ -z "$server_pid" ] || wait "$server_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
data="$work/data"
published="$work/published.jsonl"  # the honest log's checkpoints, kept outside its folder
publish_to="$published"
fail() { echo "FAIL: $*"; exit 1; }

start() {  # start DATA [extra serve flags]
  local dir="$1"
  shift
  "$acct" serve --data "$dir" --listen 127.0.0.1:0 --sign-every-seconds 1 --publish-checkpoints "$publish_to" \
    "$@" > "$work/serve.out" 2> "$work/serve.err" &
  server_pid=$!
  for _ in $(seq 1 300); do
    url=$(grep -o 'http://127.0.0.1:[0-9]*' "$work/serve.out" 2>/dev/null | head -1 || true)
    [ -n "$url" ] && return 0
    kill -0 "$server_pid" 2>/dev/null || { cat "$work/serve.err"; fail "serve exited"; }
    sleep 0.1
  done
  fail "serve did not start"
}
stop() {
  kill -TERM "$server_pid"
  wait "$server_pid" || true
  server_pid=""
}
head_of() { curl -sf "$url/healthz" | python3 -c 'import json,sys; print(json.load(sys.stdin)["log"]["head"])'; }
signed_size() { curl -sf "$url/v1/checkpoints/latest" | sed -n 2p; }
wait_signed() {  # until the latest checkpoint covers the head (signed every second)
  local head
  head=$(head_of)
  # Signed every second; 60 s leaves room for a sanitizer build on a busy machine.
  for _ in $(seq 1 600); do
    [ "$(signed_size || echo 0)" = "$head" ] && return 0
    sleep 0.1
  done
  fail "the head $head was not signed within 60 s"
}
exec_as() {  # exec_as ACTOR JSON [env...]: one command through acct exec (server stopped)
  local as="$1" json="$2"
  shift 2
  rm -f "$work/pw"
  echo "$json" | env "$@" "$acct" exec --data "$data" --as "$as" --passwords-file "$work/pw" > "$work/exec.out" 2>&1 \
    || { cat "$work/exec.out"; fail "exec"; }
  grep -q '"ok":true' "$work/exec.out" || { cat "$work/exec.out"; fail "exec refused"; }
}
uuid() { python3 -c 'import uuid; print(uuid.uuid4())'; }
enroll_json() {
  echo '{"type":"EnrollPartner","command_id":"'"$(uuid)"'","admin":{"first_name":"Ada","last_name":"Lovelace","email":"'"$1"'","phone":""},"partner_name":"Contoso","mpn_id":"1234567","legal":{"company_name":"Contoso Ltd","address":{"line1":"1 Main Street","line2":"","city":"Redmond","state":"WA","postal_code":"98052","country":"US","region":"West"},"primary_contact":{"first_name":"Pat","last_name":"Legal","email":"pat@contoso.com","phone":""},"approver_email":"approver@contoso.com","approver_address":{"line1":"1 Main Street","line2":"","city":"Redmond","state":"WA","postal_code":"98052","country":"US","region":"West"}},"tenant_id":"'"$(uuid)"'","default_domain":"contoso.onmicrosoft.com","language":"en","culture":"en-us","billing_currency":"USD"}'
}
enroll_http() {  # a new partner through the API, as the operator; a refusal shows the reply and the server's log
  local code
  code=$(curl -s -o "$work/enrol.out" -w '%{http_code}' -X POST -H "Authorization: Bearer $(cat "$data/operator.token")" \
    "$url/v1/commands" -d "$(enroll_json "ada-$(uuid | cut -c1-8)@contoso.com")") || code="no reply"
  [ "$code" = 200 ] || { cat "$work/enrol.out"; tail -20 "$work/serve.err"; fail "enrol over HTTP: $code"; }
}
witness() {  # witness N: one poll of witness N; its JSON line in $work/wN.out, exit code returned
  local rc=0
  "$acct" witness --key "$work/w$1.key" --name "witness$1.example" --state "$work/w$1" --log "$url" \
    --log-key "$work/log.pub" > "$work/w$1.out" 2> "$work/w$1.err" || rc=$?
  return $rc
}
watch() {
  local rc=0
  "$acct" audit watch --log "$url" --state "$work/auditor" --public-key "$work/log.pub" > "$work/watch.out" \
    2> "$work/watch.err" || rc=$?
  return $rc
}
verify_rc() {  # verify_rc DATA [flags]: prints verify's output into $work/verify.out, returns its exit code
  local dir="$1" rc=0
  shift
  "$acct" verify --data "$dir" --public-key "$work/log.pub" "$@" > "$work/verify.out" 2>&1 || rc=$?
  return $rc
}

# --- a partner with a user who is then deactivated (acct exec) ---------------
exec_as operator "$(enroll_json ada@contoso.com)"
partner=$(grep -o '"partner_id":"[0-9a-f-]*"' "$work/exec.out" | cut -d'"' -f4)
exec_as "user:$partner/ada@contoso.com" '{"type":"CreateUser","command_id":"'"$(uuid)"'","partner_id":"'"$partner"'","profile":{"first_name":"Sam","last_name":"User","email":"sam@contoso.com","phone":"+1 425 555 0101"},"roles":["billing_admin"]}'
sam=$(grep -o '"user_id":"[0-9a-f-]*"' "$work/exec.out" | cut -d'"' -f4)
exec_as "user:$partner/ada@contoso.com" '{"type":"DeactivateUser","command_id":"'"$(uuid)"'","partner_id":"'"$partner"'","user_id":"'"$sam"'"}'
"$acct" keys export-public --data "$data" --to "$work/log.pub" 2> /dev/null

# --- serving, followed by two witnesses and an auditor -----------------------
# An HTTP endpoint that keeps what is posted to it (serve --publish-checkpoints URL).
python3 - "$work/endpoint.port" "$work/endpoint.received" <<'PY' &
import http.server, sys
port_file, received = sys.argv[1], sys.argv[2]
class Keep(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        with open(received, "ab") as f:
            f.write(body + b"--end--\n")
        self.send_response(204)
        self.end_headers()
    def log_message(self, *args):
        pass
server = http.server.HTTPServer(("127.0.0.1", 0), Keep)
open(port_file, "w").write(str(server.server_address[1]))
server.timeout = 1
for _ in range(900):  # at most 15 minutes, then it goes away on its own
    server.handle_request()
PY
endpoint_pid=$!
for _ in $(seq 1 50); do [ -s "$work/endpoint.port" ] && break; sleep 0.1; done
endpoint="http://127.0.0.1:$(cat "$work/endpoint.port")/checkpoints"
start "$data" --publish-checkpoints "$endpoint"
enroll_http
wait_signed
n1=$(signed_size)
for _ in $(seq 1 300); do grep -q -F -- "$(curl -sf "$url/v1/checkpoints/latest" | tail -1)" "$work/endpoint.received" 2>/dev/null && break; sleep 0.1; done
grep -q -F -- "$(curl -sf "$url/v1/checkpoints/latest" | tail -1)" "$work/endpoint.received" ||
  fail "the latest checkpoint did not reach the HTTP endpoint"
kill "$endpoint_pid" 2>/dev/null || true
# The first poll creates each witness's key (and its .vkey); the log does not
# trust them yet, so the cosignature is kept and delivered later.
witness 1 || fail "witness 1: $(cat "$work/w1.out")"
witness 2 || fail "witness 2: $(cat "$work/w2.out")"
grep -q '"delivered":false' "$work/w1.out" || fail "an untrusted witness's cosignature was taken"
stop
start "$data" --witness-key "$work/w1.key.vkey" --witness-key "$work/w2.key.vkey"
witness 1 || fail "witness 1: $(cat "$work/w1.out")"
grep -q '"delivered":true' "$work/w1.out" || fail "witness 1 did not deliver: $(cat "$work/w1.out")"
witness 2 || fail "witness 2: $(cat "$work/w2.out")"
watch || fail "watch: $(cat "$work/watch.out")"
grep -q "\"tree_size\":$n1" "$work/watch.out" || fail "watch saw $(cat "$work/watch.out")"

# Proofs of every event, taken now (before the purge).
export ACCT_TOKEN
ACCT_TOKEN=$(cat "$data/operator.token")
for p in $(seq 1 "$n1"); do
  "$acct" proof inclusion --log "$url" --position "$p" > "$work/proof-$p.json" || fail "proof of $p"
done
curl -sf -H "Authorization: Bearer $ACCT_TOKEN" "$url/v1/events?from=1&limit=1000" > "$work/events-before.json"
for p in $(seq 1 "$n1"); do
  "$acct" verify-proof --public-key "$work/log.pub" --proof "$work/proof-$p.json" --event "$work/events-before.json" \
    > "$work/vp.out" || { cat "$work/vp.out"; fail "verify-proof of $p"; }
done
# Into a file, not a process substitution: that one ran on in the background
# after grep's first match, alongside the rest of the test.
for p in $(seq 1 "$n1"); do
  "$acct" verify-proof --public-key "$work/log.pub" --proof "$work/proof-$p.json" --event "$work/events-before.json"
done > "$work/vp-all.out"
grep -q "personal field(s) are sealed" "$work/vp-all.out" || fail "no sealed personal field was met"
stop
cp -a "$data" "$work/data-at-n1"  # the whole folder, for the rollback below

# --- PurgeUser, 31 days later: no leaf changes ------------------------------
source "$(dirname "$0")/clock_shift.bash"
preload=$(clock_shift_preload "$acct" "$work")
exec_as operator '{"type":"PurgeUser","command_id":"'"$(uuid)"'","partner_id":"'"$partner"'","user_id":"'"$sam"'"}' \
  LD_PRELOAD="$preload" ACCT_TEST_CLOCK_SHIFT_S=$((31 * 86400))
start "$data" --witness-key "$work/w1.key.vkey" --witness-key "$work/w2.key.vkey"
enroll_http
wait_signed
n2=$(signed_size)
[ "$n2" -gt "$n1" ] || fail "no growth after the purge"
# Every proof taken before the purge still verifies; the purged user's
# fields now read erased where the API serves them.
curl -sf -H "Authorization: Bearer $ACCT_TOKEN" "$url/v1/events?from=1&limit=1000" > "$work/events-after.json"
grep -q '"erased":true' "$work/events-after.json" || fail "the purge erased nothing"
for p in $(seq 1 "$n1"); do
  "$acct" verify-proof --public-key "$work/log.pub" --proof "$work/proof-$p.json" --event "$work/events-after.json" \
    > "$work/vp.out" || { cat "$work/vp.out"; fail "a proof taken before the purge fails after it ($p)"; }
done
witness 1 || fail "witness 1 after the purge: $(cat "$work/w1.out")"
witness 2 || fail "witness 2 after the purge: $(cat "$work/w2.out")"
grep -q '"outcome":"grown"' "$work/w1.out" || fail "witness 1: $(cat "$work/w1.out")"
watch || fail "watch after the purge: $(cat "$work/watch.out")"
stop
verify_rc "$data" --witness-key "$work/w1.key.vkey" --witness-key "$work/w2.key.vkey" --checkpoint "$published" \
  || { cat "$work/verify.out"; fail "verify of the honest log"; }
grep -q "witnesses: tree size $n2 cosigned by 2 of 2" "$work/verify.out" || { cat "$work/verify.out"; fail "quorum"; }

# --- A: the key holder rewrites event 3 and re-signs everything -------------
publish_to="$work/published-by-attackers.jsonl"
cp -a "$data" "$work/attack-a"
python3 "$here/tamper_log.py" rewrite "$work/attack-a" 3
rm -rf "$work/attack-a/merkle" "$work/attack-a/signatures/checkpoints" "$work/attack-a/views"
start "$work/attack-a"
wait_signed
forged=$(signed_size)
rc=0; witness 1 || rc=$?
[ "$rc" -eq 1 ] || fail "witness 1 accepted the rewritten log (exit $rc): $(cat "$work/w1.out")"
grep -q '"inconsistent":true' "$work/w1.out" || fail "witness 1: $(cat "$work/w1.out")"
grep -q "ALARM" "$work/w1.err" || fail "no alarm on stderr"
rc=0; watch || rc=$?
[ "$rc" -eq 1 ] || fail "audit watch accepted the rewritten log: $(cat "$work/watch.out")"
grep -q "\"first_inconsistent_tree_size\":$forged" "$work/watch.out" || fail "watch: $(cat "$work/watch.out")"
grep -q "\"consistent_tree_size\":$n2" "$work/watch.out" || fail "watch: $(cat "$work/watch.out")"
stop
rc=0; verify_rc "$work/attack-a" --witness-key "$work/w1.key.vkey" --witness-key "$work/w2.key.vkey" || rc=$?
[ "$rc" -eq 1 ] || { cat "$work/verify.out"; fail "verify --witness-key passed the rewritten log"; }
grep -q "no tree checkpoint is cosigned by 2 of the 2" "$work/verify.out" || { cat "$work/verify.out"; fail "A"; }
rc=0; verify_rc "$work/attack-a" --checkpoint "$published" || rc=$?
[ "$rc" -eq 1 ] || { cat "$work/verify.out"; fail "verify --checkpoint passed the rewritten log"; }
grep -q "root mismatch at the checkpoint kept outside the folder" "$work/verify.out" || { cat "$work/verify.out"; fail "A2"; }
# The witnesses' state did not move: the honest log still follows on.
start "$data" --witness-key "$work/w1.key.vkey" --witness-key "$work/w2.key.vkey"
witness 1 || fail "witness 1 after refusing the forgery: $(cat "$work/w1.out")"
stop

# --- B: the whole folder rolled back ---------------------------------------
start "$work/data-at-n1"
rc=0; witness 2 || rc=$?
[ "$rc" -eq 1 ] || fail "witness 2 accepted the rollback: $(cat "$work/w2.out")"
grep -q "rolled back" "$work/w2.out" || fail "witness 2: $(cat "$work/w2.out")"
rc=0; watch || rc=$?
[ "$rc" -eq 1 ] || fail "audit watch accepted the rollback: $(cat "$work/watch.out")"
grep -q "\"first_inconsistent_tree_size\":$n1" "$work/watch.out" || fail "watch: $(cat "$work/watch.out")"
stop
rc=0; verify_rc "$work/data-at-n1" --checkpoint "$published" || rc=$?
[ "$rc" -eq 1 ] || { cat "$work/verify.out"; fail "verify --checkpoint passed the rolled-back folder"; }
grep -q "signed tree size $n2 is missing" "$work/verify.out" || { cat "$work/verify.out"; fail "B"; }

# --- C: truncations, each on a copy -----------------------------------------
cp -a "$data" "$work/cut-log"
python3 "$here/tamper_log.py" cut "$work/cut-log" "$n1"
rc=0; verify_rc "$work/cut-log" || rc=$?
[ "$rc" -eq 1 ] && grep -q "signed tree size [0-9]* is missing (log ends at $n1)" "$work/verify.out" || { cat "$work/verify.out"; fail "C log"; }
cp -a "$data" "$work/cut-checkpoints"
size=$(stat -c %s "$work/cut-checkpoints/signatures/checkpoints")
python3 - "$work/cut-checkpoints/signatures/checkpoints" <<'PY'
import struct, sys
path = sys.argv[1]
data = open(path, "rb").read()
off, starts = 16, []
while off + 9 <= len(data):
    starts.append(off)
    off += 9 + struct.unpack_from("<I", data, off + 4)[0]
# Cut the file back before its last tree checkpoint (record type 2).
last = max(s for s in starts if data[s + 8] == 2)
open(path, "r+b").truncate(last)
PY
[ "$(stat -c %s "$work/cut-checkpoints/signatures/checkpoints")" -lt "$size" ]
rc=0; verify_rc "$work/cut-checkpoints" --checkpoint "$published" || rc=$?
[ "$rc" -eq 1 ] && grep -q "the checkpoints file has no copy of" "$work/verify.out" || { cat "$work/verify.out"; fail "C checkpoints"; }
cp -a "$data" "$work/cut-tree"
truncate -s $((16 + 32 * 5)) "$work/cut-tree/merkle/level-0"
verify_rc "$work/cut-tree" || { cat "$work/verify.out"; fail "C tree: a trailing tree is not damage"; }
grep -q "tree: 5 leaves in merkle/" "$work/verify.out" || { cat "$work/verify.out"; fail "C tree"; }
"$here/flip_byte.bash" "$work/cut-tree/merkle/level-0" $((16 + 32 * 2))
rc=0; verify_rc "$work/cut-tree" || rc=$?
[ "$rc" -eq 1 ] && grep -q "tree files damaged" "$work/verify.out" || { cat "$work/verify.out"; fail "C tree damage"; }
# The next open rebuilds it, and it signs on.
publish_to="$published"
data_backup="$data"; data="$work/cut-tree"
start "$data"
enroll_http
wait_signed
stop
data="$data_backup"
verify_rc "$work/cut-tree" --checkpoint "$published" || { cat "$work/verify.out"; fail "the rebuilt tree"; }
echo "insider attacks: witnesses refused, audit watch named tree sizes $forged and $n1, verify failed; purge kept every proof"
