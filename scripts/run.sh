#!/usr/bin/env bash
# Sets up everything (idempotent), builds the front end and the host, and starts AnnotateForge
# on http://127.0.0.1:8000 with SQLite in ./data and a demo project ready to train on.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
"$ROOT/scripts/setup.sh"
# shellcheck source=env.sh
source "$ROOT/scripts/env.sh"
if [ -f frontend/package.json ]; then
  (cd frontend && npm run -s build)
fi
cargo build --release --bin annotateforge
exec "$CARGO_TARGET_DIR/release/annotateforge" serve --data-dir "${AF_DATA_DIR:-$ROOT/data}" --demo "$@"
