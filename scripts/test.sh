#!/usr/bin/env bash
# Sets up everything (idempotent) and runs every test: Rust unit + integration tests
# (SQLite and a throwaway PostgreSQL cluster, real wasm plugins, tiny real libtorch training),
# the front end's component tests, and the browser end-to-end tests in headless Chromium.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
"$ROOT/scripts/setup.sh"
# shellcheck source=env.sh
source "$ROOT/scripts/env.sh"
step() { printf '\n\033[1;32m==> %s\033[0m\n' "$*"; }
start=$(date +%s)

step "Rust: build and test the workspace"
cargo test --workspace --no-fail-fast

if [ -f frontend/package.json ]; then
  step "front end: type-check, component tests, production build"
  (cd frontend && npm run -s typecheck && npm run -s test && npm run -s build)
fi

if [ -f tests/browser/run.mjs ]; then
  step "browser end-to-end tests (headless Chromium)"
  # `cargo test` above already built the binary (integration tests run it); a separate
  # `cargo build` would compile wasmtime and sqlx again under another feature set.
  [ -x "$CARGO_TARGET_DIR/debug/annotateforge" ] || cargo build --bin annotateforge
  node tests/browser/run.mjs
fi

step "all tests passed in $(( $(date +%s) - start )) s"
