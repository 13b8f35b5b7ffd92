#!/usr/bin/env bash
# Weights both ways with the pinned Ultralytics peer (offline):
#  1. the engine saves seeded det/seg/cls models; Ultralytics loads them with
#     load_state_dict(strict=True) and reproduces our eval outputs;
#  2. Ultralytics writes .pt checkpoints; tools/pt_to_safetensors.py converts them; the engine
#     loads the result (task, classes, imgsz from the metadata) and reproduces their outputs.
# Usage: tools/parity/ultralytics_roundtrip.sh   (from anywhere; ~2 minutes the first time)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
source scripts/env.sh
PEER="$ROOT/tools/ultralytics-peer.sh"
"$PEER" setup >/dev/null
DIR="$(mktemp -d)"
trap 'rm -rf "$DIR"' EXIT
export AF_ROUNDTRIP_DIR="$DIR"
echo "== ours -> Ultralytics"
cargo test -q -p af-engine --test ultralytics_roundtrip export_for_ultralytics -- --ignored --exact
"$PEER" python tools/parity/ultralytics_roundtrip.py check-ours "$DIR"
echo "== Ultralytics .pt -> pt_to_safetensors.py -> ours"
"$PEER" python tools/parity/ultralytics_roundtrip.py make-pt "$DIR"
cargo test -q -p af-engine --test ultralytics_roundtrip import_from_ultralytics -- --ignored --exact --nocapture
