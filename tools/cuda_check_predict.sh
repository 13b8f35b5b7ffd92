#!/usr/bin/env bash
# CUDA check for inference (run on a GPU machine): predicts the parity fixture images with the
# fixture weights on cpu and on cuda:0 and compares the results (same detections, boxes within
# 0.05 px, confidences within 1e-3 relative, classify probabilities within 1e-4), then prints
# the CUDA timings. Exit status 0 = consistent. With AF_BIN set, that prebuilt binary is used
# (a GPU machine without cargo; LD_LIBRARY_PATH must hold torch's lib/).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
if [ -n "${AF_BIN:-}" ]; then
  BIN="$AF_BIN"
else
  source scripts/env.sh
  cargo build -q --release --bin annotateforge
  BIN="$CARGO_TARGET_DIR/release/annotateforge"
fi
F=host/engine/tests/fixtures
OUT="$(mktemp -d)"
trap 'rm -rf "$OUT"' EXIT
"$BIN" predict --device cuda:0 --model $F/ultralytics-parity/det_model.safetensors --imgsz 128 \
  --output "$OUT/probe.json" $F/predict/det_a_128x128.png || { echo "CUDA is not usable by the engine"; exit 1; }
for m in det seg cls; do
  imgs=$F/predict/det_*.png; size=128; conf=0.005
  [ $m = cls ] && { imgs=$F/predict/cls_*.png; size=64; }
  for d in cpu cuda:0; do
    "$BIN" predict --device $d --model $F/ultralytics-parity/${m}_model.safetensors --imgsz $size --conf $conf --batch 2 $imgs --output "$OUT/$m-${d%%:*}.json"
  done
done
python3 - "$OUT" <<'PY'
import json, sys
d = sys.argv[1]
for m in ("det", "seg", "cls"):
    cpu, gpu = (json.load(open(f"{d}/{m}-{x}.json")) for x in ("cpu", "cuda"))
    for a, b in zip(cpu, gpu):
        if m == "cls":
            pa = {c["class_id"]: c["confidence"] for c in a["classes"]}
            pb = {c["class_id"]: c["confidence"] for c in b["classes"]}
            assert all(abs(pa[k] - pb[k]) < 1e-4 for k in pa), (a["image"], pa, pb)
            continue
        # Matched as sets: GPU convolutions round differently, so near-equal confidences may
        # swap places and detections right at the threshold may come or go.
        da, db = a.get("detections", []), b.get("detections", [])
        assert abs(len(da) - len(db)) <= 2 + len(da) // 100, (m, a["image"], len(da), len(db))
        def same(x, y):
            return (x["class_id"] == y["class_id"] and max(abs(p - q) for p, q in zip(x["bbox"], y["bbox"])) < 0.05
                    and abs(x["confidence"] - y["confidence"]) <= 1e-3 * x["confidence"] + 1e-6)
        missing = [x for x in da if x["confidence"] > 0.006 and not any(same(x, y) for y in db)]
        assert not missing, (m, a["image"], missing[:3])
    t = gpu[-1]["timing"]
    print(f"{m}: cpu and cuda agree on {len(cpu)} images; cuda per image: {t['preprocess_ms']:.2f} pre, {t['inference_ms']:.2f} inf, {t['postprocess_ms']:.2f} post ms")
print("CUDA inference consistent with CPU")
PY
