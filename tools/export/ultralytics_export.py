#!/usr/bin/env python3
"""Ultralytics' own ONNX export of a weights file of ours (run with the pinned peer's Python:
../shared/tools/ultralytics-peer.sh python tools/export/ultralytics_export.py W.safetensors OUT.onnx IMGSZ).

Builds the v8 model of the task the state dict's keys say from its yaml, loads the weights
(load_state_dict strict), and runs `YOLO.export(format="onnx")` with its defaults (opset 18
on torch 2.11, onnxslim). Prints one JSON line: the file, its size, the export time.
"""
import json
import shutil
import sys
import time

from safetensors.torch import load_file
from ultralytics import YOLO
from ultralytics.nn.tasks import ClassificationModel, DetectionModel, SegmentationModel

weights, out, imgsz = sys.argv[1], sys.argv[2], int(sys.argv[3])
sd = {k: v.float() for k, v in load_file(weights).items()}
if "model.9.linear.weight" in sd:
    task, nc = "classify", sd["model.9.linear.weight"].shape[0]
else:
    task = "segment" if any(k.startswith("model.22.proto.") for k in sd) else "detect"
    nc = sd["model.22.cv3.0.2.bias"].shape[0]
cls, yaml = {"detect": (DetectionModel, "yolov8n.yaml"), "segment": (SegmentationModel, "yolov8n-seg.yaml"),
             "classify": (ClassificationModel, "yolov8n-cls.yaml")}[task]
y = YOLO(yaml, task=task)
args = y.model.args  # the defaults YOLO(yaml) gives a fresh model; the exporter reads them
y.model = cls(yaml, nc=nc, verbose=False)
y.model.load_state_dict(sd, strict=True)
y.model.names = {i: f"class{i}" for i in range(nc)}
y.model.args = args
y.model.task = task
t = time.perf_counter()
f = y.export(format="onnx", imgsz=imgsz, verbose=False)
seconds = time.perf_counter() - t
shutil.move(f, out)
import os  # noqa: E402

print(json.dumps({"task": task, "file": out, "bytes": os.path.getsize(out), "export_s": seconds}))
