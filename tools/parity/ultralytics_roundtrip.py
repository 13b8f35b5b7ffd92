"""Weights moving both ways between AnnotateForge and Ultralytics 8.4.190 (run by
ultralytics_roundtrip.sh with the pinned peer).

    check-ours DIR  load every ours_<task>.safetensors (written by the engine) into the
                    Ultralytics model of that task with load_state_dict(strict=True) and
                    compare its eval output on the saved input with ours.
    make-pt DIR     save Ultralytics checkpoints (.pt, half precision like a trained run) of
                    seeded models, convert them with tools/pt_to_safetensors.py, and store
                    Ultralytics' own output on a fixed input for the engine to compare.
"""
import subprocess
import sys
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file
from ultralytics.nn.tasks import ClassificationModel, DetectionModel, SegmentationModel

ROOT = Path(__file__).resolve().parents[2]
MODELS = {
    "detect": (DetectionModel, "yolov8n.yaml", 3),
    "segment": (SegmentationModel, "yolov8n-seg.yaml", 3),
    "classify": (ClassificationModel, "yolov8n-cls.yaml", 5),
}


def eval_output(model, x):
    with torch.no_grad():
        y = model.eval()(x)
    # detect: (y, raw); segment: ((y, proto), raw); classify: (probs, logits)
    if isinstance(y, tuple) and isinstance(y[0], tuple):
        return y[0][0]
    return y[0] if isinstance(y, tuple) else y


def check_ours(d: Path):
    worst = 0.0
    for task, (cls, yaml, nc) in MODELS.items():
        sd = load_file(d / f"ours_{task}.safetensors")
        io = load_file(d / f"ours_{task}_io.safetensors")
        model = cls(yaml, nc=nc, verbose=False)
        model.load_state_dict(sd, strict=True)  # raises on any missing / unexpected / mis-shaped key
        out = eval_output(model, io["input"])
        diff = (out - io["output"]).abs().max().item() / max(1.0, io["output"].abs().max().item())
        worst = max(worst, diff)
        print(f"{task}: Ultralytics loaded {len(sd)} tensors strictly; eval output relative diff {diff:.2e}")
        assert diff <= 1e-4, f"{task}: outputs differ ({diff})"
    print(f"ours -> Ultralytics: OK (worst {worst:.2e})")


def make_pt(d: Path):
    for task, (cls, yaml, nc) in MODELS.items():
        torch.manual_seed(7)
        model = cls(yaml, nc=nc, verbose=False)
        model.names = {i: f"thing{i}" for i in range(nc)}
        size = 64 if task == "classify" else 128
        x = torch.rand(2, 3, size, size, generator=torch.Generator().manual_seed(1))
        # A checkpoint as Ultralytics' trainer writes it: half-precision EMA model + train_args.
        pt = d / f"theirs_{task}.pt"
        torch.save({"model": None, "ema": model.half(), "train_args": {"imgsz": size}}, pt)
        out = eval_output(model.float(), x)  # the weights as stored (rounded to half), run in f32
        save_file({"input": x.contiguous(), "output": out.contiguous()}, str(d / f"theirs_{task}_io.safetensors"))
    pts = [str(d / f"theirs_{t}.pt") for t in MODELS]
    subprocess.run([sys.executable, str(ROOT / "tools/pt_to_safetensors.py"), *pts], check=True)


if __name__ == "__main__":
    {"check-ours": check_ours, "make-pt": make_pt}[sys.argv[1]](Path(sys.argv[2]))
