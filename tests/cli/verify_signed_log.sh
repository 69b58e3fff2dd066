#!/usr/bin/env bash
# Signed checkpoints end to end with the real binary: `acct exec` writes events
# (each run signs its final head), `acct keys export-public` gives the public
# key, and `acct verify --public-key` passes, also after a PurgeUser (erasure
# destroys a key, not log bytes); then four kinds of tampering, each on a copy
# of the folder, are told apart and named (exit 1):
#   a flipped byte -> CRC mismatch; a record changed with its CRCs recomputed ->
#   hash chain break; the chain rewritten consistently -> signature mismatch;
#   the log cut short -> signed position missing.
# Forging needs CRC32C and SHA-256 over the format: python3 does it below.
set -euo pipefail
acct="$1"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
data="$work/data"
seg_name="log/seg-00000000000000000001.log"

run() {  # run LABEL AS JSON [env...]: one command through acct exec, output in $work/LABEL.out
  local label="$1" as="$2" json="$3"
  shift 3
  echo "$json" | env "$@" "$acct" exec --data "$data" --as "$as" --passwords-file "$work/$label.pw" \
    >"$work/$label.out" 2>"$work/$label.err" || { cat "$work/$label.out" "$work/$label.err"; exit 1; }
  grep -q '"ok":true' "$work/$label.out" || { cat "$work/$label.out"; exit 1; }
}

enroll='{"type":"EnrollPartner","command_id":"7a1b2c3d-4e5f-4a6b-8c7d-000000000001","admin":{"first_name":"Ada","last_name":"Lovelace","email":"ada@contoso.com","phone":"+1 425 555 0100"},"partner_name":"Contoso","mpn_id":"1234567","legal":{"company_name":"Contoso Ltd","address":{"line1":"1 Main Street","line2":"","city":"Redmond","state":"WA","postal_code":"98052","country":"US","region":"West"},"primary_contact":{"first_name":"Pat","last_name":"Legal","email":"pat@contoso.com","phone":""},"approver_email":"approver@contoso.com","approver_address":{"line1":"1 Main Street","line2":"","city":"Redmond","state":"WA","postal_code":"98052","country":"US","region":"West"}},"tenant_id":"6f1b1d0e-8a43-4c59-9f64-0c1f5b6a7d11","default_domain":"contoso.onmicrosoft.com","language":"en","culture":"en-us","billing_currency":"USD"}'
run enroll operator "$enroll"
partner=$(grep -o '"partner_id":"[0-9a-f-]*"' "$work/enroll.out" | cut -d'"' -f4)
admin="user:$partner/ada@contoso.com"
run create "$admin" '{"type":"CreateUser","command_id":"7a1b2c3d-4e5f-4a6b-8c7d-00000000000a","partner_id":"'"$partner"'","profile":{"first_name":"Sam","last_name":"User","email":"sam@contoso.com","phone":""},"roles":["billing_admin"]}'
sam=$(grep -o '"user_id":"[0-9a-f-]*"' "$work/create.out" | cut -d'"' -f4)
run deactivate "$admin" '{"type":"DeactivateUser","command_id":"7a1b2c3d-4e5f-4a6b-8c7d-000000000010","partner_id":"'"$partner"'","user_id":"'"$sam"'"}'

# The signing key: created on first open, exported as one line.
[ -f "$data/keys/signing.key" ] && [ -f "$data/keys/signing.pub" ]
[ "$(stat -c %a "$data/keys/signing.key")" = "600" ]
"$acct" keys export-public --data "$data" > "$work/stdout.key"
grep -Eq '^ed25519:[0-9a-f]{64}$' "$work/stdout.key"
[ "$(wc -l < "$work/stdout.key")" -eq 1 ]
"$acct" keys export-public --data "$data" --to "$work/auditor.pub" 2>/dev/null
cmp -s "$work/stdout.key" "$work/auditor.pub"
pub="$work/auditor.pub"

"$acct" verify --data "$data" --public-key "$pub" > "$work/good.txt"
cat "$work/good.txt"
tail -1 "$work/good.txt" | grep -q '^OK$'
grep -q "signatures: 3 checkpoint(s), 3 verified, 0 failed" "$work/good.txt"

# Without --public-key: the key next to the data is used, and verify says it proves nothing.
"$acct" verify --data "$data" > "$work/local.txt"
grep -q "from $data/keys/signing.pub" "$work/local.txt"
grep -q "only a key kept out of band" "$work/local.txt"
tail -1 "$work/local.txt" | grep -q '^OK$'

# PurgeUser, 31 days later (the restore window must be over): the system clock is
# moved forward for that one process by a tiny LD_PRELOAD shim.
source "$(dirname "$0")/clock_shift.bash"
preload=$(clock_shift_preload "$acct" "$work")
cp "$data/$seg_name" "$work/before-purge.log"
sam_key="$data/keys/subjects/user%3A$sam.key"
[ -f "$sam_key" ] || { ls "$data/keys/subjects"; echo "no key file for user:$sam"; exit 1; }
sam_key_size=$(stat -c %s "$sam_key")
run purge operator '{"type":"PurgeUser","command_id":"7a1b2c3d-4e5f-4a6b-8c7d-000000000012","partner_id":"'"$partner"'","user_id":"'"$sam"'"}' \
  LD_PRELOAD="$preload" ACCT_TEST_CLOCK_SHIFT_S=$((31 * 86400))
# Erasure is the subject's key file turned into a tombstone (32 key bytes fewer).
[ "$(stat -c %s "$sam_key")" -eq $((sam_key_size - 32)) ] || { echo "the subject key was not destroyed"; exit 1; }
# Nothing already written changed: the purge only appended.
# (Up to its last commit before the purge: the zero-filled space after it,
# docs/log-format.md "Preallocated segments", is where the purge was written.)
log_bytes=$(grep -o "bytes [0-9]*" "$work/good.txt" | tr -dc 0-9)
[ "$log_bytes" -gt 0 ]
cmp -n "$log_bytes" "$work/before-purge.log" "$data/$seg_name"
"$acct" verify --data "$data" --public-key "$pub" > "$work/purged.txt"
cat "$work/purged.txt"
tail -1 "$work/purged.txt" | grep -q '^OK$'
grep -q "signatures: 4 checkpoint(s), 4 verified, 0 failed" "$work/purged.txt"
head=$(grep -o "head position [0-9]*" "$work/purged.txt" | tr -dc 0-9)

# tamper.py MODE SEGMENT: forges the segment in place; prints what it did.
cat > "$work/tamper.py" <<'EOF'
import hashlib, struct, sys

mode, path = sys.argv[1], sys.argv[2]
seg = bytearray(open(path, "rb").read())
HEADER, FH, CH = 32, 9, 56

def crc32c(data):
    crc = 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF

def masked(data):
    c = crc32c(data)
    return (((c >> 15) | (c << 17)) + 0xA282EAD8) & 0xFFFFFFFF

def commits():
    at = HEADER
    while at + FH <= len(seg):
        (length,) = struct.unpack_from("<I", seg, at + 4)
        if length == 0:
            break  # the zero-filled tail after the last commit (docs/log-format.md)
        records, r = [], CH
        while r < length:
            (rlen,) = struct.unpack_from("<I", seg, at + FH + r + 4)
            p = at + FH + r + FH
            records.append((struct.unpack_from("<Q", seg, p)[0], p, rlen, at + FH + r))
            r += FH + rlen
        yield at, length, records
        at += FH + length

def reseal():
    for at, length, records in commits():
        for _, p, rlen, frame in records:
            struct.pack_into("<I", seg, frame, masked(seg[frame + 8:p + rlen]))
        struct.pack_into("<I", seg, at, masked(seg[at + 8:at + FH + length]))

all_records = [r for _, _, rs in commits() for r in rs]
target = all_records[len(all_records) // 2]  # a record in the middle of the log
pos, p, rlen, _ = target
if mode == "flip":
    seg[p + 40] ^= 0x10
elif mode == "crc":
    seg[p + rlen - 65] ^= 0x20  # last payload byte, before the two hashes
    reseal()
elif mode == "rechain":
    seg[p + rlen - 65] ^= 0x20
    chain = bytes(32)
    for rpos, rp, rl, _ in all_records:
        if rpos >= pos:
            seg[rp + rl - 64:rp + rl - 32] = chain
            seg[rp + rl - 32:rp + rl] = hashlib.sha256(bytes(seg[rp:rp + rl - 32])).digest()
        chain = bytes(seg[rp + rl - 32:rp + rl])
    reseal()
elif mode == "cut":
    last = list(commits())[-1]
    pos = last[2][0][0] - 1  # the log now ends before the last commit
    del seg[last[0]:]
open(path, "wb").write(seg)
print(pos)
EOF

absent() {  # absent PATTERN: the last verify output must not name another kind
  if grep -q "$1" "$out"; then echo "unexpected '$1' in the report"; exit 1; fi
}

tamper() {  # tamper MODE: copy the folder, forge it, verify with the public key; sets $pos, $out
  local mode="$1"
  rm -rf "$work/t-$mode"
  cp -a "$data" "$work/t-$mode"
  pos=$(python3 "$work/tamper.py" "$mode" "$work/t-$mode/$seg_name")
  out="$work/t-$mode.txt"
  set +e
  "$acct" verify --data "$work/t-$mode" --public-key "$pub" > "$out"
  local rc=$?
  set -e
  echo "--- $mode (position $pos)"
  cat "$out"
  [ "$rc" -eq 1 ] || { echo "$mode: expected exit 1, got $rc"; exit 1; }
  if grep -q '^OK$' "$out"; then echo "$mode: verify said OK"; exit 1; fi
}

tamper flip
grep -Eq "^FAILED at position [0-9]+ \(seg-00000000000000000001.log offset [0-9]+\): CRC mismatch" "$out"
absent "hash chain break\|signature mismatch\|is missing"

tamper crc
grep -q "^FAILED at position $pos (seg-00000000000000000001.log offset [0-9]*): hash chain break at position $pos " "$out"
absent "CRC mismatch\|signature mismatch\|is missing"

tamper rechain
grep -Eq "^FAILED: signature mismatch at checkpoint [0-9]+ \(position [0-9]+\)" "$out"
signed=$(grep -o "signature mismatch at checkpoint [0-9]* (position [0-9]*)" "$out" | grep -o "position [0-9]*" | tr -dc 0-9)
[ "$signed" -ge "$pos" ] || { echo "named checkpoint position $signed is before the change at $pos"; exit 1; }
absent "CRC mismatch\|hash chain break\|is missing"

tamper cut
grep -q "^FAILED: signed position $head is missing (log ends at $pos)" "$out"
absent "CRC mismatch\|hash chain break\|signature mismatch"

# The public key of another folder does not verify this one.
mkdir -p "$work/other"
echo '{"type":"CreateUser","command_id":"nope"}' | "$acct" exec --data "$work/other/d" --as operator >/dev/null 2>&1 || true
"$acct" keys export-public --data "$work/other/d" > "$work/other.pub"
set +e
"$acct" verify --data "$data" --public-key "$work/other.pub" > "$work/other.txt"
rc=$?
set -e
[ "$rc" -eq 1 ] || { echo "another key: expected exit 1, got $rc"; exit 1; }
grep -q "^FAILED: bad signature at checkpoint 1 " "$work/other.txt"
echo "verify named every kind of tampering"
