#!/usr/bin/env python3
"""Convert an Ultralytics YOLOv8 checkpoint (.pt) into the safetensors file AnnotateForge loads.

    python tools/pt_to_safetensors.py yolov8n.pt [more.pt ...] [--out-dir WEIGHTS_DIR]

writes WEIGHTS_DIR/yolov8n.safetensors (default: beside the .pt): the float32 state dict
under Ultralytics' own names (`model.0.conv.weight`, ...; the EMA weights when the checkpoint
has them), plus header metadata AnnotateForge reads: task, scale, nc, class names (JSON) and
the training image size. Put the file in the server's weights directory and a job config
naming `yolov8n.pt` starts from it; nothing is ever downloaded.

Needs `torch`, `safetensors` and `ultralytics` (the .pt is a pickle of Ultralytics classes),
e.g. `pip install ultralytics safetensors` in any virtualenv, or `tools/ultralytics-peer.sh
python tools/pt_to_safetensors.py ...`. Only open checkpoints you trust: unpickling runs code.
"""
import argparse
import json
from pathlib import Path

import torch
from safetensors.torch import save_file

TASKS = {"DetectionModel": "detect", "SegmentationModel": "segment", "ClassificationModel": "classify"}


def convert(pt: Path, out_dir: Path) -> Path:
    ckpt = torch.load(pt, map_location="cpu", weights_only=False)
    model = ckpt.get("ema") or ckpt["model"] if isinstance(ckpt, dict) else ckpt
    task = TASKS.get(type(model).__name__)
    if task is None:
        raise SystemExit(f"{pt}: {type(model).__name__} is not a YOLOv8 detect/segment/classify model")
    state = {k: v.detach().float().contiguous() if v.is_floating_point() else v.contiguous() for k, v in model.state_dict().items()}
    names = model.names if isinstance(model.names, dict) else dict(enumerate(model.names))
    meta = {"task": task, "nc": str(len(names)), "names": json.dumps([names[i] for i in range(len(names))])}
    scale = (getattr(model, "yaml", None) or {}).get("scale")
    if scale:
        meta["scale"] = scale
    imgsz = (ckpt.get("train_args") or {}).get("imgsz") if isinstance(ckpt, dict) else None
    if isinstance(imgsz, int):
        meta["imgsz"] = str(imgsz)
    out = out_dir / f"{pt.stem}.safetensors"
    save_file(state, str(out), metadata=meta)
    print(f"{pt} -> {out}: {task}, {len(names)} classes, {len(state)} tensors")
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("checkpoints", nargs="+", type=Path)
    ap.add_argument("--out-dir", type=Path, help="where to write (default: beside each .pt)")
    args = ap.parse_args()
    for pt in args.checkpoints:
        out_dir = args.out_dir or pt.parent
        out_dir.mkdir(parents=True, exist_ok=True)
        convert(pt, out_dir)


if __name__ == "__main__":
    main()
