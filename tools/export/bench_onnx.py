#!/usr/bin/env python3
"""ONNX Runtime latency of exported models, and agreement between two exports of the same
weights (ours vs Ultralytics'), run with the torch venv's Python:

    python tools/export/bench_onnx.py [--threads 2] [--runs 30] OURS.onnx [THEIRS.onnx]

One random 1x3xHxW input (H, W from the file); CPU execution provider, `intra_op_num_threads`
= --threads, sequential execution, default graph optimisations; 5 warm-up runs, then the
median and mean of --runs. With two files: both timed (interleaved) and the largest output
difference relative to max(1, max|ours|). Prints one JSON line.
"""
import argparse
import json
import statistics
import time

import numpy as np
import onnxruntime as ort

ap = argparse.ArgumentParser()
ap.add_argument("--threads", type=int, default=2)
ap.add_argument("--runs", type=int, default=30)
ap.add_argument("files", nargs="+")
a = ap.parse_args()


def session(path):
    so = ort.SessionOptions()
    so.intra_op_num_threads = a.threads
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    return ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])


sessions = [session(f) for f in a.files]
shape = [d if isinstance(d, int) else 1 for d in sessions[0].get_inputs()[0].shape]
x = np.random.default_rng(0).random(shape, dtype=np.float32)
outs = [s.run(None, {"images": x}) for s in sessions]
for s in sessions:
    for _ in range(5):
        s.run(None, {"images": x})
times = [[] for _ in sessions]
for r in range(a.runs):
    order = range(len(sessions)) if r % 2 == 0 else reversed(range(len(sessions)))
    for i in order:
        t = time.perf_counter()
        sessions[i].run(None, {"images": x})
        times[i].append((time.perf_counter() - t) * 1e3)
res = {"onnxruntime": ort.__version__, "threads": a.threads, "input": shape}
for name, f, t in zip(["ours", "theirs"], a.files, times):
    res[name] = {"file": f, "p50_ms": statistics.median(t), "mean_ms": statistics.fmean(t)}
if len(outs) == 2:
    rel = []
    for o, u in zip(outs[0], outs[1]):
        rel.append(float(np.max(np.abs(o - u)) / max(1.0, float(np.max(np.abs(o))))))
    res["max_rel_diff_vs_theirs"] = max(rel)
print(json.dumps(res))
