#!/usr/bin/env bash
# Export benchmark (issue 16): export time and file size per task, and single-image latency of
# the exported ONNX under ONNX Runtime vs the engine's libtorch forward vs Ultralytics' own ONNX
# export of the same weights (pinned peer, ../shared/tools/ultralytics-peer.sh), 2 threads.
#
#   tools/export/bench.sh [OUT_DIR]        # default /tmp/af-export-bench; THREADS=2 RUNS=30
#
# Weights: the yolov8n / -seg / -cls state dicts of the parity fixture (Ultralytics' own init,
# nc 3 / 3 / 5). Detect and segment at 640, classify at 224. Prints JSON lines and `uptime`.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck source=../../scripts/env.sh
source "$ROOT/scripts/env.sh"
OUT="${1:-/tmp/af-export-bench}"; THREADS="${THREADS:-2}"; RUNS="${RUNS:-30}"
PEER="$ROOT/../shared/tools/ultralytics-peer.sh"
F="$ROOT/host/engine/tests/fixtures/ultralytics-parity"
mkdir -p "$OUT"
cargo build -q --release -p af-engine --example bench_export
uptime
"$CARGO_TARGET_DIR/release/examples/bench_export" --out "$OUT" --imgsz 640 --threads "$THREADS" --runs "$RUNS" \
  "$F/det_model.safetensors" "$F/seg_model.safetensors" "$F/cls_model.safetensors"
for t in det:640 seg:640 cls:224; do
  n=${t%%:*}; s=${t##*:}
  if [ -x "$PEER" ]; then
    "$PEER" python "$ROOT/tools/export/ultralytics_export.py" "$F/${n}_model.safetensors" "$OUT/ultralytics-$n-$s.onnx" "$s" 2>/dev/null | tail -1
    theirs="$OUT/ultralytics-$n-$s.onnx"
  else
    theirs=""
  fi
  "$TORCH_VENV/bin/python" "$ROOT/tools/export/bench_onnx.py" --threads "$THREADS" --runs "$RUNS" "$OUT/${n}_model-$s.onnx" $theirs
done
uptime
