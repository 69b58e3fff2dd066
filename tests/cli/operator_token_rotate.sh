#!/usr/bin/env bash
# `acct operator-token rotate --data DIR` while `acct serve` runs on DIR: the
# old operator token is refused from the next request on, the new one works,
# and neither token appears in what either process prints.
set -euo pipefail
acct="$1"
work=$(mktemp -d)
pid=""
cleanup() { [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
data="$work/data"
"$acct" serve --data "$data" --listen 127.0.0.1:0 >"$work/out" 2>"$work/err" &
pid=$!
for _ in $(seq 1 300); do grep -q "^listening on" "$work/out" && break; sleep 0.1; done
grep -q "^listening on" "$work/out" || { cat "$work/err"; exit 1; }
base=$(sed -n 's/^listening on \(http:[^ ]*\).*/\1/p' "$work/out")
code() { curl -s -m 10 -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $1" "$base/v1/events?limit=1"; }

old=$(cat "$data/operator.token")
[ "$(code "$old")" = 200 ] || { echo "the first token does not work"; exit 1; }
"$acct" operator-token rotate --data "$data" >"$work/rotate.out" 2>&1
new=$(cat "$data/operator.token")
[ "$new" != "$old" ] || { echo "the token did not change"; exit 1; }
[ "$(stat -c %a "$data/operator.token")" = 600 ] || { echo "the token file is not 0600"; exit 1; }
[ "$(code "$old")" = 401 ] || { echo "the old token still works"; exit 1; }
[ "$(code "$new")" = 200 ] || { echo "the new token does not work"; exit 1; }
for t in "$old" "$new"; do
  if grep -q -- "$t" "$work/rotate.out" "$work/out" "$work/err"; then echo "a token was printed"; exit 1; fi
done
grep -q "was rotated" "$work/err" || { echo "the server did not log the rotation"; cat "$work/err"; exit 1; }
# A folder with no token yet is refused clearly.
if "$acct" operator-token rotate --data "$work/nowhere" 2>"$work/none.err"; then echo "rotated nothing"; exit 1; fi
grep -q "does not exist" "$work/none.err"
kill -TERM "$pid"; wait "$pid"; pid=""
echo "operator token rotated while serving: old refused at once, new accepted"
