#!/usr/bin/env bash
# A full disk, for real (issue 20): the data folder on a small tmpfs this test
# mounts (CI runs as root; without the right to mount it is skipped, exit 77).
# While `acct serve` runs, the file system is filled to the last byte. Then
#  - commands that touch the log, the key store, the credential store, and a
#    sign-in that touches the token store are answered 503 "no_space" with
#    Retry-After, and no error body holds a server path;
#  - /healthz answers 503 and names the stores that are low on space;
#  - once the filler is removed the same process takes writes again (no
#    restart), /healthz is ok, and after a stop `acct verify` passes with every
#    acknowledged command present.
set -euo pipefail
acct="$1"
work=$(mktemp -d)
fs="$work/fs"
pid=""
cleanup() {
  if [ -n "$pid" ]; then kill -9 "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  if mountpoint -q "$fs"; then umount "$fs" || umount -l "$fs"; fi
  rm -rf "$work"
}
trap cleanup EXIT
mkdir -p "$fs"
if ! mount -t tmpfs -o size=24m tmpfs "$fs" 2>"$work/mount.err"; then
  echo "SKIP: cannot mount a tmpfs here ($(cat "$work/mount.err")); this test needs root"
  exit 77
fi
data="$fs/data"
uuid() { cat /proc/sys/kernel/random/uuid; }

"$acct" serve --data "$data" --listen 127.0.0.1:0 --min-free-bytes 2097152 >"$work/out" 2>"$work/err" &
pid=$!
for _ in $(seq 1 300); do grep -q "^listening on" "$work/out" && break; sleep 0.1; done
grep -q "^listening on" "$work/out" || { cat "$work/err"; exit 1; }
base=$(sed -n 's/^listening on \(http:[^ ]*\).*/\1/p' "$work/out")
op="Authorization: Bearer $(cat "$data/operator.token")"

offer() {
  echo '{"type":"PublishOffer","command_id":"'"$(uuid)"'","offer":{"offer_id":"'"$1"'","display_name":"Offer '"$1"'","segment":"enterprise","license_agreement_type":"corporate","purchase_unit":"1 Month","secondary_license_type":"non_specific","base_offer_ids":[],"end_customer_type":"corporate","billing_model":"usage_based"}}'
}
enroll() {
  echo '{"type":"EnrollPartner","command_id":"'"$(uuid)"'","admin":{"first_name":"Ada","last_name":"Lovelace","email":"'"$1"'","phone":""},"partner_name":"Contoso","mpn_id":"1234567","legal":{"company_name":"Contoso Ltd","address":{"line1":"1 Main Street","line2":"","city":"Redmond","state":"WA","postal_code":"98052","country":"US","region":"West"},"primary_contact":{"first_name":"Pat","last_name":"Legal","email":"pat@contoso.com","phone":""},"approver_email":"approver@contoso.com","approver_address":{"line1":"1 Main Street","line2":"","city":"Redmond","state":"WA","postal_code":"98052","country":"US","region":"West"}},"tenant_id":"'"$(uuid)"'","default_domain":"contoso.onmicrosoft.com","language":"en","culture":"en-us","billing_currency":"USD"}'
}
# post PATH BODY [HEADER]: prints "<status> <retry-after>" then the body on the next line.
post() {
  curl -s -m 20 -D "$work/headers" -o "$work/body" -w '%{http_code}' ${3:+-H "$3"} -H 'Content-Type: application/json' \
    -X POST "$base$1" -d "$2" >"$work/code"
  printf '%s %s\n' "$(cat "$work/code")" "$(tr -d '\r' <"$work/headers" | sed -n 's/^[Rr]etry-[Aa]fter: //p')"
  cat "$work/body"; echo
}
acked="$work/acked"
: >"$acked"
remember() { sed -n 's/.*"command_id":"\([^"]*\)".*/\1/p' <<<"$1" >>"$acked"; }

# Before: a partner (its admin signs in later, while the disk is full) and an offer.
r=$(post /v1/commands "$(enroll ada@contoso.example)" "$op"); head -1 <<<"$r" | grep -q '^200' || { echo "$r"; exit 1; }
remember "$r"
partner=$(sed -n 's/.*"partner_id":"\([^"]*\)".*/\1/p' <<<"$r")
password=$(sed -n 's/.*"temporary_password":"\([^"]*\)".*/\1/p' <<<"$r")
r=$(post /v1/commands "$(offer before)" "$op"); head -1 <<<"$r" | grep -q '^200' || { echo "$r"; exit 1; }
remember "$r"

# Fill the file system to its last byte.
dd if=/dev/zero of="$fs/filler" bs=64k status=none 2>/dev/null || true
df -B1 "$fs" | tail -1

refusals=0
expect_no_space() {  # $1: what, $2: the reply of post
  local first; first=$(head -1 <<<"$2")
  if [[ "$first" != "503 "* ]]; then echo "$1: expected 503, got: $2"; exit 1; fi
  grep -q '"code":"no_space"' <<<"$2" || { echo "$1: expected no_space: $2"; exit 1; }
  [ "$(cut -d' ' -f2 <<<"$first")" = "30" ] || { echo "$1: expected Retry-After 30: $2"; exit 1; }
  if grep -q "$fs" <<<"$2"; then echo "$1: a server path in the body: $2"; exit 1; fi
  refusals=$((refusals + 1))
}
# Each store is tried until it is refused (bounded): a write that still fits
# in a page its file already has succeeds even on a full file system.
until_refused() {  # what, max tries, command... (prints the refusal)
  local what=$1 max=$2; shift 2
  local r
  for _ in $(seq 1 "$max"); do
    r=$("$@")
    case "$(head -1 <<<"$r")" in
      "200 "*) remember "$r" ;;
      *) expect_no_space "$what" "$r"; return 0 ;;
    esac
  done
  echo "$what: never refused in $max tries on a full file system"; exit 1
}
offer_now() { post /v1/commands "$(offer "full-$(uuid)")" "$op"; }
# The log (an offer writes nothing else).
until_refused "PublishOffer" 200 offer_now
expect_no_space "PublishOffer again" "$(offer_now)"
# The key store (a new partner's secret and subject keys come first).
until_refused "EnrollPartner" 5 post /v1/commands "$(enroll eve@contoso.example)" "$op"
# The token store (a sign-in appends its token to the journal), after a correct password.
sign_in_now() { post /v1/sessions '{"partner_id":"'"$partner"'","email":"ada@contoso.example","password":"'"$password"'"}'; }
until_refused "sign-in" 200 sign_in_now

health=$(curl -s -m 10 -w '\n%{http_code}' "$base/healthz")
tail -1 <<<"$health" | grep -q '^503$' || { echo "healthz: $health"; exit 1; }
grep -q '"status":"degraded"' <<<"$health"
for store in log keys tokens views; do
  grep -q "\"$store\":{\"status\":\"degraded\"" <<<"$health" || { echo "healthz does not name $store: $health"; exit 1; }
done
grep -q '"low_on_space":true' <<<"$health"
if grep -q "$fs" <<<"$health"; then echo "a server path in /healthz: $health"; exit 1; fi

# Space comes back: the same process takes writes again.
rm -f "$fs/filler"
for i in 1 2 3; do
  r=$(post /v1/commands "$(offer after-$i)" "$op"); head -1 <<<"$r" | grep -q '^200' || { echo "after: $r"; exit 1; }
  remember "$r"
done
r=$(post /v1/commands "$(enroll eve@contoso.example)" "$op"); head -1 <<<"$r" | grep -q '^200' || { echo "$r"; exit 1; }
remember "$r"
r=$(post /v1/sessions '{"partner_id":"'"$partner"'","email":"ada@contoso.example","password":"'"$password"'"}')
head -1 <<<"$r" | grep -q '^200' || { echo "sign-in after: $r"; exit 1; }
health=$(curl -s -m 10 -w '\n%{http_code}' "$base/healthz")
tail -1 <<<"$health" | grep -q '^200$' || { echo "healthz after: $health"; exit 1; }

kill -TERM "$pid"
rc=0
wait "$pid" || rc=$?
pid=""
[ "$rc" -eq 0 ] || { echo "serve exited $rc"; tail -20 "$work/err"; exit 1; }
"$acct" verify --data "$data" >"$work/verify.out"
tail -1 "$work/verify.out" | grep -q '^OK$' || { cat "$work/verify.out"; exit 1; }
"$acct" read --data "$data" --limit 1000000 >"$work/all.jsonl"
while read -r id; do grep -q "$id" "$work/all.jsonl" || { echo "acknowledged command $id is missing"; exit 1; }; done <"$acked"
echo "full disk: $refusals refusals (503 no_space, Retry-After 30, no path), $(wc -l <"$acked") acknowledged commands all present, writes resumed without a restart"
