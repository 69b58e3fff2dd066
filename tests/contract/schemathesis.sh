#!/usr/bin/env bash
# The API contract, checked by a tool we did not write: Schemathesis (PyPI,
# pinned in scripts/python-tools.txt) generates requests from docs/openapi.yaml
# (valid and invalid ones, at the edges of every schema) and sends them to a
# real `acct serve --demo` on loopback, as the operator, with every check on:
# no 5xx, every status and body as documented, schema-valid requests accepted,
# schema-invalid ones refused, auth enforced, Allow on 405. A fixed seed and a
# bounded number of examples per operation (5) keep it deterministic in what it
# sends. Any failure fails the test; the report is printed.
set -euo pipefail
acct="$1"
source_dir="$(cd "$(dirname "$0")/../.." && pwd)"
st="$source_dir/build-tools/python/bin/st"
[ -x "$st" ] || { echo "no $st: run scripts/install-deps (scripts/python-tools)"; exit 1; }

work=$(mktemp -d)
pid=""
cleanup() { [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

# The server-wide caps (directory searches, failed sign-ins) are raised out of
# the way: they answer 503 by design when a whole server is flooded, and a
# fuzzer floods it. They have tests of their own (server/rate_limiter_test.cc,
# server/sign_in_limits_test.cc); the per-address 429s stay on.
: >"$work/out"
"$acct" serve --data "$work/data" --listen 127.0.0.1:0 --demo \
  --directory-searches-per-minute 1000000 --directory-searches-per-second 1000000 \
  --sign-in-global-failures 0 \
  >"$work/out" 2>"$work/err" &
pid=$!
for _ in $(seq 1 300); do grep -q "^listening on" "$work/out" && break; sleep 0.1; done
grep -q "^listening on" "$work/out" || { cat "$work/err"; exit 1; }
base=$(sed -n 's/^listening on \(http:[^ ]*\).*/\1/p' "$work/out")
for _ in $(seq 1 100); do [ -s "$work/data/operator.token" ] && break; sleep 0.1; done
token=$(cat "$work/data/operator.token")

# Two runs: as the operator with generated ids, then as the demo partner's
# Global admin with its partner id in every {id} (so that the partner's routes
# are reached, not only their 403/404), leaving out the two calls that would
# end the admin's own session.
partner=$(sed -n 's/^demo partner \([0-9a-f-]*\) seeded.*/\1/p' "$work/out")
signin=$(sed -n 's/^TOKEN=$(curl -s -X POST $ACCT\/v1\/sessions -d '"'"'\([^'"'"']*\)'"'"'.*/\1/p' "$work/out")
[ -n "$partner" ] && [ -n "$signin" ] || { echo "no demo partner or sign-in line in:"; cat "$work/out"; exit 1; }
admin=$(curl -s -m 10 -X POST "$base/v1/sessions" -d "$signin" | "$source_dir/build-tools/python/bin/python" -c \
  'import sys, json; print(json.load(sys.stdin)["token"])')
cp "$source_dir/tests/contract/schemathesis.toml" "$work/partner.toml"
printf '\n[parameters]\n"path.id" = "%s"\n' "$partner" >>"$work/partner.toml"

run_st() {  # config, token, report, extra arguments...
  local config="$1" bearer="$2" report="$3"
  shift 3
  (cd "$work" && timeout 1200 "$st" --no-color --config-file "$config" run "$source_dir/docs/openapi.yaml" \
    --url "$base" \
    --header "Authorization: Bearer $bearer" \
    --checks all \
    --phases examples,coverage,fuzzing \
    --seed 20261205 \
    --generation-database none \
    --max-examples 5 \
    --workers 1 \
    --request-timeout 30 "$@" >"$report" 2>&1)
}

failed=0
for who in operator admin; do
  set +e
  if [ "$who" = operator ]; then
    run_st "$source_dir/tests/contract/schemathesis.toml" "$token" "$work/report-$who"
  else
    run_st "$work/partner.toml" "$admin" "$work/report-$who" \
      --exclude-path /v1/sessions/current --exclude-path '/v1/me/sessions/{id}'
  fi
  rc=$?
  set -e
  echo "==== Schemathesis as the $who (exit $rc) ===="
  cat "$work/report-$who"
  # It tested the operations (a spec it could not load would not get here).
  grep -Eq "Tested: *[0-9]+" "$work/report-$who" || rc=1
  [ "$rc" -eq 0 ] || failed=1
done
if ! kill -0 "$pid" 2>/dev/null; then
  echo "acct serve died during the run:"
  tail -n 50 "$work/err"
  exit 1
fi
[ "$failed" -eq 0 ] || { echo "schemathesis failed"; exit 1; }
