#!/usr/bin/env python3
"""Loads exported files with Ultralytics itself, as its users would (run with the pinned peer's
Python: ../shared/tools/ultralytics-peer.sh python tools/export/check_ultralytics.py FILE…).

`YOLO("best.onnx")` / `YOLO("best.torchscript")` must find the task and class names in our
metadata (ONNX metadata_props, TorchScript extra/config.txt) and predict on an image: a
by-hand compatibility check, not part of the test suite (the suite never needs the peer).
"""
import sys

import numpy as np
from ultralytics import YOLO

img = (np.random.default_rng(0).random((480, 640, 3)) * 255).astype(np.uint8)
for f in sys.argv[1:]:
    m = YOLO(f)
    r = m.predict(img, verbose=False, conf=0.01)[0]
    found = {"boxes": None if r.boxes is None else len(r.boxes), "masks": None if r.masks is None else tuple(r.masks.data.shape),
             "top1": None if r.probs is None else r.probs.top1}
    print(f"{f}: task {m.task}, names {r.names}, {found}")
