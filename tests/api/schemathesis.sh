#!/usr/bin/env bash
# Property-based tests of the API against its own OpenAPI document (schemathesis, every
# check), as an admin and as a normal user, on a fresh server: a 500, a response that
# disagrees with the document, a valid-by-schema request refused or an invalid one accepted
# fails the step. Bounded: a fixed seed, few examples per operation, a hard time limit.
#
# Needs the debug binary ($CARGO_TARGET_DIR/debug/annotateforge, or AF_BIN) and the
# schemathesis venv that scripts/setup.sh installs. Settings: tests/api/schemathesis.toml.
# Writes its reports under tests/api/artifacts/ and prints the request count and duration.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
# shellcheck source=../../scripts/env.sh
source "$ROOT/scripts/env.sh"
BIN="${AF_BIN:-$CARGO_TARGET_DIR/debug/annotateforge}"
ST="$AF_CACHE/schemathesis-venv/bin/schemathesis"
[ -x "$BIN" ] || { echo "schemathesis: no server binary at $BIN (cargo build -p annotateforge --bin annotateforge)" >&2; exit 1; }
[ -x "$ST" ] || { echo "schemathesis: not installed at $ST (run scripts/setup.sh)" >&2; exit 1; }
# Examples per operation; the wall-clock limit of one run (two per role) and of all four
# together (typically about 2 minutes on 2 cores).
MAX_EXAMPLES="${AF_SCHEMATHESIS_EXAMPLES:-10}"
LIMIT_S="${AF_SCHEMATHESIS_LIMIT_S:-90}"
TOTAL_S="${AF_SCHEMATHESIS_TOTAL_S:-240}"

work="$(mktemp -d)"
artifacts="$ROOT/tests/api/artifacts"
rm -rf "$artifacts" && mkdir -p "$artifacts"
port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
base="http://127.0.0.1:$port"

# --no-worker: jobs the run creates stay queued (creating one is still checked in full), so
# no training competes with the requests for the two cores. Login limits high enough that
# the run's own logins are not refused; 429s are documented and accepted either way.
AF_LOGIN_ATTEMPTS_PER_ACCOUNT=100000 AF_LOGIN_ATTEMPTS_PER_ADDRESS=100000 RUST_LOG="${RUST_LOG:-warn}" \
  "$BIN" serve --bind "127.0.0.1:$port" --data-dir "$work/data" --no-worker >"$artifacts/server.log" 2>&1 &
server=$!
cleanup() {
  kill "$server" 2>/dev/null || true
  wait "$server" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
for _ in $(seq 1 100); do
  python3 -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=2)' "$base/healthz" >/dev/null 2>&1 && break
  kill -0 "$server" 2>/dev/null || { echo "schemathesis: the server exited:" >&2; cat "$artifacts/server.log" >&2; exit 1; }
  sleep 0.2
done

python3 tests/api/seed.py "$base" "$work/seed.env"
set -a
# shellcheck disable=SC1091
source "$work/seed.env"
set +a

total_requests=0
status=0
started=$(date +%s)
cat tests/api/schemathesis.toml tests/api/seeded.toml >"$work/seeded.toml"

# One schemathesis run: NAME CONFIG TOKEN [extra options]. Counts its requests and fails the
# step on any failure or error.
run_pass() {
  local name="$1" config="$2" token="$3"
  shift 3
  local t0 rc=0 requests limit
  t0=$(date +%s)
  limit=$(( TOTAL_S - (t0 - started) ))
  [ "$limit" -le "$LIMIT_S" ] || limit="$LIMIT_S"
  if [ "$limit" -le 0 ]; then
    echo "schemathesis: $name: no time left of the ${TOTAL_S}s budget" >&2
    status=1
    return
  fi
  echo "==> schemathesis: $name (examples per operation: $MAX_EXAMPLES, limit ${limit}s)"
  timeout --signal=INT --kill-after=15 "$limit" "$ST" --config-file "$config" run "$base/api/v1/openapi.json" \
    --url "$base" \
    --header "Authorization: Bearer $token" \
    --checks all \
    --seed 20261204 \
    --max-examples "$MAX_EXAMPLES" \
    --workers 2 \
    --request-timeout 30 \
    --report junit,ndjson \
    --report-junit-path "$artifacts/$name.junit.xml" \
    --report-ndjson-path "$artifacts/$name.ndjson" \
    --no-color "$@" >"$artifacts/$name.log" 2>&1 || rc=$?
  # The summary and any failures; the whole output is in the artifacts.
  sed -n '/^=* \(ERRORS\|FAILURES\) =*$/,$p' "$artifacts/$name.log" | grep -v '^ *$' | head -200 || true
  requests=$(python3 tests/api/count_requests.py "$artifacts/$name.ndjson")
  echo "==> schemathesis: $name: exit $rc, $requests requests in $(( $(date +%s) - t0 )) s"
  [ "$rc" -ne 124 ] || echo "schemathesis: $name ran past its ${limit}s limit" >&2
  total_requests=$(( total_requests + requests ))
  [ "$rc" -eq 0 ] || status=1
}

# First, for each role, valid requests against its seeded rows; then every phase and mode
# over random ids (404s, invalid input, the stateful phase creating and using its own rows),
# which may delete the seeded rows, so it comes last.
for role in admin user; do
  if [ "$role" = admin ]; then
    token="$ADMIN_TOKEN" project="$ADMIN_PROJECT" image="$ADMIN_IMAGE" annotation="$ADMIN_ANNOTATION" job="$ADMIN_JOB"
  else
    token="$USER_TOKEN" project="$USER_PROJECT" image="$USER_IMAGE" annotation="$USER_ANNOTATION" job="$USER_JOB"
  fi
  # Deletes are left to the second pass: here they would remove the rows the rest needs.
  AF_ST_PROJECT="$project" AF_ST_IMAGE="$image" AF_ST_ANNOTATION="$annotation" AF_ST_JOB="$job" AF_ST_MEMBER="$USER_ID" \
    run_pass "$role-seeded" "$work/seeded.toml" "$token" --mode positive --phases examples,coverage,fuzzing --exclude-method DELETE
done
run_pass admin tests/api/schemathesis.toml "$ADMIN_TOKEN"
run_pass user tests/api/schemathesis.toml "$USER_TOKEN"
echo "==> schemathesis: $total_requests requests in $(( $(date +%s) - started )) s (both roles, both passes)"
if grep -q "panicked" "$artifacts/server.log"; then
  echo "schemathesis: the server panicked (tests/api/artifacts/server.log)" >&2
  status=1
fi
exit "$status"
