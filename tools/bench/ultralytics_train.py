"""Ultralytics' side of tools/bench/train_vs_ultralytics.sh: `yolo train` from yaml, offline,
pretrained=False, amp=False, on CPU with every core (Ultralytics defaults to cores-1)."""
import argparse
import os

import ultralytics.utils.torch_utils as tu

p = argparse.ArgumentParser()
for k in ("model", "data", "project", "name"):
    p.add_argument(f"--{k}", required=True)
for k in ("epochs", "imgsz", "batch", "seed", "threads"):
    p.add_argument(f"--{k}", type=int, required=True)
a = p.parse_args()
tu.NUM_THREADS = a.threads or os.cpu_count()

from ultralytics import YOLO  # noqa: E402

YOLO(a.model).train(
    data=a.data, epochs=a.epochs, imgsz=a.imgsz, batch=a.batch, seed=a.seed, device="cpu",
    pretrained=False, amp=False, plots=False, project=a.project, name=a.name, exist_ok=True,
    verbose=False,
)
