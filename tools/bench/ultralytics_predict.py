"""Inference benchmark, Ultralytics' side of predict_vs_ultralytics.sh (run with the peer).

    ultralytics_predict.py --model M.safetensors --images DIR --imgsz N [--threads T] [--runs R]
                           [--batch B] [--batch-runs K] [--conf C]

Builds the v8 model of the task named in the weights' metadata from its yaml, loads the same
weights our side uses (load_state_dict strict), and times `YOLO.predict` on images decoded
once (BGR arrays, as cv2.imread gives them): the median single-image latency with
Ultralytics' own per-stage split, and batch-B throughput. Prints one JSON line.
`--threads` overrides the thread count Ultralytics' select_device sets on CPU
(min(8, cpu_count - 1), i.e. 1 on a 2-core machine).
"""
import argparse
import json
import statistics
import time
from pathlib import Path

import cv2
import torch
from safetensors import safe_open
from safetensors.torch import load_file

import ultralytics.utils.torch_utils as tu
from ultralytics import YOLO
from ultralytics.nn.tasks import ClassificationModel, DetectionModel, SegmentationModel

ap = argparse.ArgumentParser()
ap.add_argument("--model", required=True)
ap.add_argument("--images", required=True)
ap.add_argument("--imgsz", type=int, required=True)
ap.add_argument("--threads", type=int)
ap.add_argument("--runs", type=int, default=30)
ap.add_argument("--batch", type=int, default=16)
ap.add_argument("--batch-runs", type=int, default=5)
ap.add_argument("--conf", type=float, default=0.25)
a = ap.parse_args()

if a.threads:
    tu.NUM_THREADS = a.threads  # what select_device passes to torch.set_num_threads
with safe_open(a.model, "pt") as f:
    meta = f.metadata()
task, nc = meta["task"], int(meta["nc"])
cls, yaml = {"detect": (DetectionModel, "yolov8n.yaml"), "segment": (SegmentationModel, "yolov8n-seg.yaml"),
             "classify": (ClassificationModel, "yolov8n-cls.yaml")}[task]
y = YOLO(yaml, task=task)
y.model = cls(yaml, nc=nc, verbose=False)
y.model.load_state_dict(load_file(a.model), strict=True)
y.model.names = {i: f"class{i}" for i in range(nc)}
imgs = [cv2.imread(str(p)) for p in sorted(Path(a.images).iterdir())]

kw = dict(imgsz=a.imgsz, conf=a.conf, device="cpu", verbose=False)
for im in imgs[:3]:
    y.predict(im, **kw)  # warm-up (first call builds the predictor and fuses the model)
total, pre, inf, post, dets = [], [], [], [], 0
for r in range(a.runs):
    t = time.perf_counter()
    res = y.predict(imgs[r % len(imgs)], **kw)[0]
    total.append((time.perf_counter() - t) * 1e3)
    pre.append(res.speed["preprocess"]); inf.append(res.speed["inference"]); post.append(res.speed["postprocess"])
    dets += 0 if res.boxes is None else len(res.boxes)
batch = [imgs[i % len(imgs)] for i in range(a.batch)]
y.predict(batch, **kw)
t = time.perf_counter()
for _ in range(a.batch_runs):
    y.predict(batch, **kw)
throughput = a.batch * a.batch_runs / (time.perf_counter() - t)
print(json.dumps({
    "side": "ultralytics", "task": task, "imgsz": a.imgsz, "threads": torch.get_num_threads(),
    "latency_ms_median": statistics.median(total), "latency_ms_mean": statistics.mean(total),
    "preprocess_ms": statistics.median(pre), "inference_ms": statistics.median(inf), "postprocess_ms": statistics.median(post),
    "detections_per_image": dets / a.runs, "batch": a.batch, "throughput_img_s": throughput,
}))
