#!/usr/bin/env bash
# API benchmark (not a test): starts a release server on SQLite, then on a throwaway
# PostgreSQL cluster, and runs the load client (host/server/examples/api_load.rs) against each:
# image-upload and annotation-write throughput, and list latency (p50/p99) with 50 concurrent
# clients and 10k annotations in the project. Everything listens on 127.0.0.1 and is torn
# down at the end. Results go to stdout (copy them into docs/benchmarks.md).
#   scripts/bench-api.sh [--clients N] [--annotations N] ...   (flags go to the load client)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# shellcheck source=env.sh
source "$ROOT/scripts/env.sh"
# AF_BENCH_BIN / AF_BENCH_LOAD: use already built binaries (e.g. a debug build) instead.
if [ -z "${AF_BENCH_BIN:-}" ]; then
  cargo build --release --bin annotateforge --example api_load
fi
BIN="${AF_BENCH_BIN:-$CARGO_TARGET_DIR/release/annotateforge}"
LOAD="${AF_BENCH_LOAD:-$CARGO_TARGET_DIR/release/examples/api_load}"
WORK="$(mktemp -d /tmp/af-bench-XXXXXX)"
SERVER_PID=""
PG_DATA=""
PG_BIN="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)"
as_pg() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
cleanup() {
  [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null || true
  [ -n "$PG_DATA" ] && as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" stop -m fast >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

HOOK=()  # extra load-client args for the next run_against
run_against() { # label, extra env...
  local label="$1"; shift
  local port; port="$(free_port)"
  env "$@" AF_LOG_FORMAT=json RUST_LOG=warn "$BIN" serve --bind "127.0.0.1:$port" --data-dir "$WORK/data-$label" >"$WORK/server-$label.log" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.2; done
  "$LOAD" --url "http://127.0.0.1:$port" --label "$label" "${HOOK[@]}" "${BENCH_ARGS[@]}"
  kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true; SERVER_PID=""
}

BENCH_ARGS=("$@")
echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB; $(date -u +%F)"
run_against SQLite

PG_PORT="$(free_port)"
mkdir -p "$WORK/pg"
[ "$(id -u)" -eq 0 ] && chown postgres:postgres "$WORK" "$WORK/pg"
PG_DATA="$WORK/pg/data"
as_pg "$PG_BIN/initdb" -A trust -U postgres -E UTF8 -D "$PG_DATA" >/dev/null
# Default durability settings (fsync on): the numbers are for a real deployment's setup.
as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -l "$WORK/pg/server.log" -w \
  -o "-p $PG_PORT -k $WORK/pg -c listen_addresses=127.0.0.1 -c max_connections=200" start >/dev/null
as_pg "$PG_BIN/createdb" -h 127.0.0.1 -p "$PG_PORT" -U postgres af
# Lists run after ANALYZE: right after 10k inserts the planner's statistics still describe
# an empty table (autovacuum analyzes within its one-minute naptime) and every page would
# scan and sort the whole table, which measures the stale statistics, not the server.
HOOK=(--before-lists "$PG_BIN/psql -q -h 127.0.0.1 -p $PG_PORT -U postgres -d af -c ANALYZE")
run_against PostgreSQL DATABASE_URL="postgres://postgres@127.0.0.1:$PG_PORT/af"
