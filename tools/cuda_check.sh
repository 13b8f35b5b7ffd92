#!/usr/bin/env bash
# CUDA smoke check of training (for a GPU machine): builds the binary, generates a small shape
# dataset, trains yolov8n from scratch for 2 epochs on CUDA with mixed precision (autocast +
# gradient scaling) and then 1 epoch in full precision, and prints the device, throughput and
# losses per epoch. Exit status is non-zero if anything fails or CUDA is not used.
#
#   tools/cuda_check.sh            # detect at imgsz 320, batch 32
#   TASK=segment tools/cuda_check.sh
#   AF_BIN=… AF_SYNTH=… tools/cuda_check.sh   # prebuilt binaries (a GPU machine without cargo);
#                                             # LD_LIBRARY_PATH must hold torch's lib/
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
TASK="${TASK:-detect}"
IMGSZ="${IMGSZ:-320}"
BATCH="${BATCH:-32}"
WORK="${WORK:-$(mktemp -d)}"
if [ -n "${AF_BIN:-}" ]; then
  BIN="$AF_BIN"; SYNTH="${AF_SYNTH:?AF_SYNTH must name the synth_dataset example binary}"
else
  # shellcheck source=../scripts/env.sh
  source scripts/env.sh
  cargo build --release -q --bin annotateforge -p annotateforge
  cargo build --release -q -p af-engine --example synth_dataset
  BIN="$CARGO_TARGET_DIR/release/annotateforge"; SYNTH="$CARGO_TARGET_DIR/release/examples/synth_dataset"
fi
"$SYNTH" "$TASK" "$WORK/data" --train 512 --val 64 --size "$IMGSZ" --classes 3 --objects 1,6 >/dev/null
case "$TASK" in
  detect) MODEL=yolov8n.yaml; DATA="$WORK/data/data.yaml" ;;
  segment) MODEL=yolov8n-seg.yaml; DATA="$WORK/data/data.yaml" ;;
  classify) MODEL=yolov8n-cls.yaml; DATA="$WORK/data" ;;
esac
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader || true
summary() {  # events (JSON lines) → one line per epoch
  python3 -c '
import json, sys
for line in sys.stdin:
    e = json.loads(line)
    if e["type"] == "started":
        print(f"device={e[\"device\"]} model={e[\"model\"]} optimizer={e[\"optimizer\"]} train_images={e[\"train_images\"]}")
        if not e["device"].startswith("cuda"):
            sys.exit("not training on CUDA")
    elif e["type"] == "epoch_end":
        m = e["metrics"]
        losses = " ".join(f"{k}={v:.4f}" for k, v in sorted(m.items()) if k.startswith("train/"))
        q = " ".join(f"{k}={v:.4f}" for k, v in sorted(m.items()) if k.startswith("metrics/"))
        print(f"epoch {e[\"epoch\"]}: {e[\"images_per_second\"]:.1f} img/s, {e[\"epoch_time_seconds\"]:.1f} s, {losses} {q}")
    elif e["type"] == "finished":
        print("finished:", e["outcome"]["best"])
'
}
echo "== $TASK, CUDA, mixed precision"
"$BIN" train --task "$TASK" --data "$DATA" --model "$MODEL" --epochs 2 --imgsz "$IMGSZ" --batch "$BATCH" \
  --device cuda --project "$WORK/runs" --name amp --json | summary
echo "== $TASK, CUDA, full precision"
"$BIN" train --task "$TASK" --data "$DATA" --model "$MODEL" --epochs 1 --imgsz "$IMGSZ" --batch "$BATCH" \
  --device cuda --no-amp --project "$WORK/runs" --name fp32 --json | summary
echo "cuda check passed ($WORK)"
