#!/usr/bin/env bash
# Training on CPU: AnnotateForge's trainer vs Ultralytics' `yolo train`, same machine, same
# generated dataset files, same model (from yaml, random init), imgsz, batch, epochs, seeds and
# default hyperparameters (optimizer=auto, mosaic, …). Runs alternate sides per seed so
# background load hits both alike. Prints a markdown table (also $OUT_DIR/train_bench.md):
# s/epoch (wall time incl. per-epoch validation, from each side's results.csv `time` column),
# training images/s, peak RSS (/usr/bin/time), final mAP50-95 (mean ± std over seeds).
#
#   tools/bench/train_vs_ultralytics.sh                           # detect, defaults below
#   TASK=segment EPOCHS=30 SEEDS="0 1 2" IMGSZ=160 tools/bench/train_vs_ultralytics.sh
#   PROFILE=dev ...   # use the dev build (af-engine is opt-level 3 there; saves a release build)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
source scripts/env.sh
PEER="$ROOT/tools/ultralytics-peer.sh"
TASK="${TASK:-detect}"
EPOCHS="${EPOCHS:-15}"
IMGSZ="${IMGSZ:-128}"
BATCH="${BATCH:-16}"
TRAIN="${TRAIN:-96}"
VAL="${VAL:-32}"
SEEDS="${SEEDS:-0 1 2}"
THREADS="${THREADS:-$(nproc)}"
PROFILE="${PROFILE:-release}"
OUT_DIR="${OUT_DIR:-$ROOT/target/bench/train}"
mkdir -p "$OUT_DIR"
"$PEER" setup >/dev/null
if [ "$PROFILE" = release ]; then flag=--release; dir=release; else flag=; dir=debug; fi
cargo build -q $flag -p af-engine --example train --example synth_dataset
EX="$CARGO_TARGET_DIR/$dir/examples"
DATA_DIR="$OUT_DIR/data-$TASK"
rm -rf "$DATA_DIR" "$OUT_DIR/runs"
"$EX/synth_dataset" "$TASK" "$DATA_DIR" --train "$TRAIN" --val "$VAL" --size "$IMGSZ" --classes 3 --objects 1,4 >/dev/null
case "$TASK" in
  detect) MODEL=yolov8n.yaml; DATA="$DATA_DIR/data.yaml" ;;
  segment) MODEL=yolov8n-seg.yaml; DATA="$DATA_DIR/data.yaml" ;;
  classify) MODEL=yolov8n-cls.yaml; DATA="$DATA_DIR" ;;
  *) echo "TASK must be detect, segment or classify" >&2; exit 2 ;;
esac
ours() {
  /usr/bin/time -f %M -o "$OUT_DIR/rss-ours-$1" "$EX/train" --task "$TASK" --data "$DATA" --model "$MODEL" \
    --epochs "$EPOCHS" --imgsz "$IMGSZ" --batch "$BATCH" --seed "$1" --device cpu --threads "$THREADS" \
    --project "$OUT_DIR/runs" --name "ours-$1" --exist-ok --json > "$OUT_DIR/ours-$1.jsonl"
}
theirs() {
  /usr/bin/time -f %M -o "$OUT_DIR/rss-theirs-$1" "$PEER" python tools/bench/ultralytics_train.py --model "$MODEL" \
    --data "$DATA" --epochs "$EPOCHS" --imgsz "$IMGSZ" --batch "$BATCH" --seed "$1" --threads "$THREADS" \
    --project "$OUT_DIR/runs" --name "theirs-$1" > "$OUT_DIR/theirs-$1.log" 2>&1
}
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)" | tee "$OUT_DIR/load.txt" >&2
i=0
for s in $SEEDS; do
  echo "seed $s …" >&2
  if (( i++ % 2 )); then theirs "$s"; ours "$s"; else ours "$s"; theirs "$s"; fi
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$OUT_DIR/load.txt" >&2

python3 - "$OUT_DIR" "$TASK" "$TRAIN" "$SEEDS" <<'PY' | tee "$OUT_DIR/train_bench.md"
import csv, statistics, sys
out, task, n_train, seeds = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4].split()
keys = {"detect": ["metrics/mAP50-95(B)"], "segment": ["metrics/mAP50-95(B)", "metrics/mAP50-95(M)"],
        "classify": ["metrics/accuracy_top1"]}[task]
def side(name):
    r = {"s_epoch": [], "img_s": [], "rss": []} | {k: [] for k in keys}
    for s in seeds:
        rows = [{k.strip(): v for k, v in row.items()} for row in csv.DictReader(open(f"{out}/runs/{name}-{s}/results.csv"))]
        t = [float(row["time"]) for row in rows]
        per_epoch = statistics.median([b - a for a, b in zip([0.0] + t, t)][1:] or t)  # first epoch warms up
        r["s_epoch"].append(per_epoch)
        r["img_s"].append(n_train / per_epoch)
        r["rss"].append(int(open(f"{out}/rss-{name}-{s}").read().split()[-1]) / 1024)
        for k in keys:
            r[k].append(float(rows[-1][k]))
    return r
ours, theirs = side("ours"), side("theirs")
ms = lambda v: f"{statistics.mean(v):.3f} ± {statistics.stdev(v) if len(v) > 1 else 0:.3f}"
print("| metric | AnnotateForge | Ultralytics 8.4.190 | ratio (ours/theirs) |")
print("|---|---|---|---|")
for label, k, fmt in [("s/epoch (median, incl. val)", "s_epoch", "{:.2f}"), ("train images/s", "img_s", "{:.1f}"),
                      ("peak RSS MiB (max)", "rss", "{:.0f}")]:
    a = max(ours[k]) if k == "rss" else statistics.median(ours[k])
    b = max(theirs[k]) if k == "rss" else statistics.median(theirs[k])
    print(f"| {label} | {fmt.format(a)} | {fmt.format(b)} | {a / b:.2f}× |")
for k in keys:
    print(f"| final {k} (mean ± std, seeds {' '.join(seeds)}) | {ms(ours[k])} | {ms(theirs[k])} | Δ {statistics.mean(ours[k]) - statistics.mean(theirs[k]):+.3f} |")
for name, r in (("ours", ours), ("theirs", theirs)):
    print(f"\n{name} per seed: " + "; ".join(f"seed {s}: {r['s_epoch'][i]:.2f} s/epoch, {r['rss'][i]:.0f} MiB, " +
          ", ".join(f"{k.split('/')[-1]} {r[k][i]:.3f}" for k in keys) for i, s in enumerate(seeds)))
PY
