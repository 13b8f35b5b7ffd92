"""Regenerates host/engine/tests/fixtures/predict/: test images and what Ultralytics' own
`predict` returns for them with the parity-fixture weights (detect, segment, classify).

Run with the pinned peer (Ultralytics 8.4.190, offline):
    tools/ultralytics-peer.sh python tools/parity/predict_reference.py
The images are cut from the fixture's input tensors (exact k/255 values, so PNG round-trips
losslessly) at several sizes, to exercise the letterbox's padding and the box rescaling.
"""
import json
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from safetensors.torch import load_file
from ultralytics import YOLO
from ultralytics.nn.tasks import ClassificationModel, DetectionModel, SegmentationModel

ROOT = Path(__file__).resolve().parents[2]
FIX = ROOT / "host/engine/tests/fixtures/ultralytics-parity"
OUT = ROOT / "host/engine/tests/fixtures/predict"
OUT.mkdir(parents=True, exist_ok=True)


def png(t: torch.Tensor, name: str) -> str:
    arr = (t.permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)
    Image.fromarray(arr).save(OUT / name)
    return name


def model(yaml: str, weights: str) -> YOLO:
    sd = {k: v.float() if v.is_floating_point() else v for k, v in load_file(FIX / weights).items()}
    cls = {"-seg": SegmentationModel, "-cls": ClassificationModel}.get(yaml[7:11], DetectionModel)
    nc = 5 if cls is ClassificationModel else 3
    y = YOLO(yaml)
    y.model = cls(yaml, nc=nc, verbose=False)
    y.model.load_state_dict(sd)
    y.model.names = {i: f"class{i}" for i in range(nc)}
    return y


det_in = load_file(FIX / "det_forward.safetensors")["input"]  # (2, 3, 128, 128)
cls_in = load_file(FIX / "cls_forward.safetensors")["input"]  # (2, 3, 64, 64)
det_images = [
    png(det_in[0], "det_a_128x128.png"),
    png(det_in[1][:, :96, :], "det_b_96x128.png"),  # h x w: landscape
    png(det_in[0][:, 10:110, 20:90], "det_c_100x70.png"),  # portrait, odd size: resized
    png(det_in[1][:, :, 14:114], "det_d_128x100.png"),  # padded left and right, not resized
]
cls_images = [
    png(cls_in[0], "cls_a_64x64.png"),
    png(cls_in[1][:, :, 8:56], "cls_b_64x48.png"),  # resized (shorter side 48 -> 64)
    png(det_in[1][:, 20:100, 30:94], "cls_c_80x64.png"),  # centre-cropped only
]
# Our bilinear resize differs from OpenCV's fixed-point one by at most one grey level, which a
# random-weight model amplifies; the test checks only the geometry of resized detect images.
# (Classification resizing matches PIL exactly and is compared like the rest.)
RESIZED = {"det_c_100x70.png", "cls_b_64x48.png"}

ref = {"settings": {"detect": {"imgsz": 128, "conf": 0.0003, "iou": 0.7}, "classify": {"imgsz": 64}}, "detect": {}, "segment": {}, "classify": {}}
for task, yaml, weights in [("detect", "yolov8n.yaml", "det_model.safetensors"), ("segment", "yolov8n-seg.yaml", "seg_model.safetensors")]:
    m = model(yaml, weights)
    for name in det_images:
        r = m.predict(str(OUT / name), imgsz=128, conf=0.0003, iou=0.7, verbose=False)[0]
        entry = {
            "orig_shape": list(r.orig_shape),
            "boxes_xyxy": r.boxes.xyxy.tolist(),
            "conf": r.boxes.conf.tolist(),
            "cls": r.boxes.cls.tolist(),
            "resized": name in RESIZED,
        }
        if r.masks is not None:
            entry["input_shape"] = list(r.masks.data.shape[1:])
            entry["mask_areas"] = r.masks.data.sum((1, 2)).tolist()
        ref[task][name] = entry
m = model("yolov8n-cls.yaml", "cls_model.safetensors")
for name in cls_images:
    r = m.predict(str(OUT / name), imgsz=64, verbose=False)[0]
    ref["classify"][name] = {"probs": r.probs.data.tolist(), "resized": name in RESIZED}
(OUT / "reference.json").write_text(json.dumps(ref, indent=1))
print({t: {k: len(v.get("conf", v.get("probs", []))) for k, v in ref[t].items()} for t in ("detect", "segment", "classify")})
