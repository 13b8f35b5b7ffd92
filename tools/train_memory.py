#!/usr/bin/env python3
"""Peak resident memory of tiny training runs, to calibrate the server's training-memory
estimate (host/server/src/jobs/limits.rs, `max_train_memory_mb`).

Each run is `annotateforge train` for one epoch on a generated dataset with exactly `batch`
training images (one optimiser step at the full batch) and 2 validation images; its peak RSS
is the kernel's `ru_maxrss` of the finished process.

    source scripts/env.sh
    cargo build --bin annotateforge && cargo build -p af-engine --example synth_dataset
    python3 tools/train_memory.py detect:n:320:1 detect:n:320:8 detect:s:320:4 ...

Each argument is task:scale:imgsz:batch[:epochs[:mosaic]] (default 1 epoch, mosaic 0); the
output is one JSON line per run.
"""

import json
import os
import subprocess
import sys
import tempfile
import time

TARGET = os.environ.get("CARGO_TARGET_DIR", "target")
BIN = os.environ.get("AF_BIN", os.path.join(TARGET, "debug", "annotateforge"))
SYNTH = os.path.join(TARGET, "debug", "examples", "synth_dataset")


def dataset(root, task, train):
    out = os.path.join(root, f"{task}-{train}")
    if not os.path.exists(out):
        subprocess.run([SYNTH, task, out, "--train", str(train), "--val", "2", "--size", "256", "--classes", "3", "--seed", "1"],
                       check=True, stdout=subprocess.DEVNULL)
    return out if task == "classify" else os.path.join(out, "data.yaml")


def run(root, task, scale, imgsz, batch, epochs=1, mosaic=0.0):
    suffix = {"detect": "", "segment": "-seg", "classify": "-cls"}[task]
    data = dataset(root, task, batch)
    cmd = [BIN, "train", "--task", task, "--data", data, "--model", f"yolov8{scale}{suffix}.yaml", "--epochs", str(epochs),
           "--imgsz", str(imgsz), "--batch", str(batch), "--device", "cpu", "--project", os.path.join(root, "runs"),
           "--name", "run", "--exist-ok", "--json", f"mosaic={mosaic}"]
    t0 = time.time()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    err = proc.stderr.read().decode(errors="replace")
    if status != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({status}):\n{err[-2000:]}")
    return {"task": task, "scale": scale, "imgsz": imgsz, "batch": batch, "epochs": epochs, "mosaic": mosaic,
            "peak_rss_mb": round(usage.ru_maxrss / 1024, 1), "seconds": round(time.time() - t0, 1)}


def main():
    root = tempfile.mkdtemp(prefix="af-train-memory-")
    for arg in sys.argv[1:]:
        task, scale, imgsz, batch, *rest = arg.split(":")
        epochs = int(rest[0]) if rest else 1
        mosaic = float(rest[1]) if len(rest) > 1 else 0.0
        print(json.dumps(run(root, task, scale, int(imgsz), int(batch), epochs, mosaic)), flush=True)


if __name__ == "__main__":
    main()
