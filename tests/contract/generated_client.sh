#!/usr/bin/env bash
# A client generated from docs/openapi.yaml by a generator we did not write
# (openapi-python-client, pinned in scripts/python-tools.txt), used against a
# real `acct serve --demo` on loopback (tests/contract/generated_client_check.py).
set -euo pipefail
acct="$1"
source_dir="$(cd "$(dirname "$0")/../.." && pwd)"
tools="$source_dir/build-tools/python/bin"
[ -x "$tools/openapi-python-client" ] || { echo "no $tools/openapi-python-client: run scripts/install-deps"; exit 1; }

work=$(mktemp -d)
pid=""
cleanup() { [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

# Generate: every operation must come out but the one the generator cannot
# express (a text/plain request body: POST /v1/checkpoints/cosignatures).
(cd "$work" && "$tools/openapi-python-client" generate --path "$source_dir/docs/openapi.yaml" --meta none \
  --output-path "$work/acct_client" >"$work/generate.log" 2>&1) || { cat "$work/generate.log"; exit 1; }
skipped=$(grep -c "Endpoint will not be generated" "$work/generate.log" || true)
if [ "$skipped" -ne 1 ] || ! grep -q "POST /v1/checkpoints/cosignatures" "$work/generate.log"; then
  echo "the generator left out other operations than the cosignature upload:"
  cat "$work/generate.log"
  exit 1
fi

: >"$work/out"
"$acct" serve --data "$work/data" --listen 127.0.0.1:0 --demo >"$work/out" 2>"$work/err" &
pid=$!
for _ in $(seq 1 300); do grep -q "^listening on" "$work/out" && break; sleep 0.1; done
grep -q "^listening on" "$work/out" || { cat "$work/err"; exit 1; }
base=$(sed -n 's/^listening on \(http:[^ ]*\).*/\1/p' "$work/out")
for _ in $(seq 1 100); do [ -s "$work/data/operator.token" ] && break; sleep 0.1; done
partner=$(sed -n 's/^demo partner \([0-9a-f-]*\) seeded.*/\1/p' "$work/out")
[ -n "$partner" ] || { echo "no demo partner in:"; cat "$work/out"; exit 1; }

PYTHONPATH="$work" "$tools/python" "$source_dir/tests/contract/generated_client_check.py" \
  "$base" "$work/data/operator.token" "$partner"
