#!/usr/bin/env python3
"""Checks files written by `annotateforge export` against the engine's own outputs.

    python tools/export/check_onnx.py CASE_DIR [CASE_DIR ...]

Each CASE_DIR holds a `case.json` (written by host/engine/tests/export_python.rs):

    {"task": "detect", "nc": 3, "names": [...], "imgsz": 64, "batch": 2, "dynamic": true,
     "onnx": "model.onnx", "torchscript": "model.torchscript",
     "input": "input.npy", "outputs": {"output0": "output0.npy", "output1": "output1.npy"}}

For the ONNX file: the ONNX checker (full check, with shape inference), opset >= 17, the
`images` input and Ultralytics' output names and shapes, only standard operators and no
BatchNormalization (folded into the convs), Ultralytics' metadata_props (names as a Python
dict literal, stride, task, imgsz, ...), then ONNX Runtime on the engine's input: every output
within max|a-b| <= 1e-4 * max(1, max|ref|) of the engine's, per part (boxes, scores, mask
coefficients) so large box coordinates do not loosen the check on scores; with a dynamic
batch, batch 1 too. For the TorchScript file: torch.jit.load (with its extra/config.txt
metadata) and the same comparison. Exits non-zero on the first failure, naming it.
"""
import ast
import json
import sys
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort

ALLOWED_OPS = {
    "Conv", "Sigmoid", "Mul", "Add", "Sub", "Div", "Concat", "Split", "Slice", "MaxPool", "Resize",
    "Reshape", "Transpose", "Softmax", "ConvTranspose", "GlobalAveragePool", "Flatten", "Gemm",
}
REL_TOL = 1e-4


class CheckFailed(Exception):
    pass


def expect(cond, message):
    if not cond:
        raise CheckFailed(message)


def parts(task, nc):
    """(name, channel slice) of output0's parts, compared each with its own magnitude."""
    if task == "classify":
        return [("probs", slice(None))]
    p = [("boxes", slice(0, 4)), ("scores", slice(4, 4 + nc))]
    if task == "segment":
        p.append(("mask coefficients", slice(4 + nc, None)))
    return p


def compare(label, got, ref, task, nc, output):
    got = np.asarray(got, dtype=np.float32)
    expect(got.shape == ref.shape, f"{label} {output}: shape {got.shape}, engine {ref.shape}")
    sections = parts(task, nc) if output == "output0" else [("prototypes", slice(None))]
    worst = []
    for name, sl in sections:
        a = got[:, sl] if got.ndim > 1 else got
        b = ref[:, sl] if ref.ndim > 1 else ref
        diff = float(np.max(np.abs(a - b))) if a.size else 0.0
        tol = REL_TOL * max(1.0, float(np.max(np.abs(b))) if b.size else 0.0)
        expect(np.all(np.isfinite(a)), f"{label} {output} {name}: non-finite values")
        expect(diff <= tol, f"{label} {output} {name}: max|a-b| = {diff:.3g} > {tol:.3g}")
        worst.append(f"{name} {diff:.2g}/{tol:.2g}")
    return ", ".join(worst)


def dims(value_info):
    return [d.dim_param if d.dim_param else d.dim_value for d in value_info.type.tensor_type.shape.dim]


def check_onnx(case, d, x, refs):
    task, nc, imgsz, batch = case["task"], case["nc"], case["imgsz"], case["batch"]
    path = d / case["onnx"]
    model = onnx.load(str(path))
    onnx.checker.check_model(model, full_check=True)
    opset = max(o.version for o in model.opset_import if o.domain in ("", "ai.onnx"))
    expect(opset >= 17, f"opset {opset} < 17")
    g = model.graph
    b = "batch" if case["dynamic"] else batch
    expect([i.name for i in g.input] == ["images"], f"inputs {[i.name for i in g.input]}")
    expect(dims(g.input[0]) == [b, 3, imgsz, imgsz], f"images shape {dims(g.input[0])}")
    expect(g.input[0].type.tensor_type.elem_type == onnx.TensorProto.FLOAT, "images is not float32")
    names = ["output0", "output1"] if task == "segment" else ["output0"]
    expect([o.name for o in g.output] == names, f"outputs {[o.name for o in g.output]}, want {names}")
    for o in g.output:
        want = [b] + list(refs[o.name].shape[1:])
        expect(dims(o) == want, f"{o.name} shape {dims(o)}, want {want}")
    ops = {n.op_type for n in g.node}
    expect(ops <= ALLOWED_OPS, f"non-standard operators {sorted(ops - ALLOWED_OPS)}")
    expect("BatchNormalization" not in ops, "BatchNormalization left in the graph")
    meta = {p.key: p.value for p in model.metadata_props}
    for key in ("description", "author", "date", "version", "license", "stride", "task", "batch", "imgsz", "names", "args"):
        expect(key in meta, f"metadata_props has no `{key}`")
    # What Ultralytics' AutoBackend does with them: int() and ast.literal_eval().
    expect(ast.literal_eval(meta["names"]) == dict(enumerate(case["names"])), f"names {meta['names']!r}")
    expect(ast.literal_eval(meta["imgsz"]) == [imgsz, imgsz], f"imgsz {meta['imgsz']!r}")
    expect(int(meta["stride"]) == (1 if task == "classify" else 32), f"stride {meta['stride']!r}")
    expect(int(meta["batch"]) == batch, f"batch {meta['batch']!r}")
    expect(meta["task"] == task, f"task {meta['task']!r}")
    expect(isinstance(ast.literal_eval(meta["args"]), dict), f"args {meta['args']!r}")

    so = ort.SessionOptions()
    so.intra_op_num_threads = 2
    sess = ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
    got = sess.run(names, {"images": x})
    report = [compare("onnxruntime", g_, refs[n], task, nc, n) for n, g_ in zip(names, got)]
    if case["dynamic"] and x.shape[0] > 1:
        one = sess.run(names, {"images": x[:1]})
        for n, g_ in zip(names, one):
            compare("onnxruntime batch 1", g_, refs[n][:1], task, nc, n)
        report.append("batch 1 too")
    return f"onnx ok (opset {opset}, {len(g.node)} nodes, {sorted(ops)}): " + "; ".join(report)


def check_torchscript(case, d, x, refs):
    import torch

    task, nc = case["task"], case["nc"]
    extra = {"config.txt": ""}
    m = torch.jit.load(str(d / case["torchscript"]), map_location="cpu", _extra_files=extra)
    expect(extra["config.txt"], "no extra/config.txt metadata")
    meta = json.loads(extra["config.txt"])
    expect({int(k): v for k, v in meta["names"].items()} == dict(enumerate(case["names"])), f"config.txt names {meta['names']}")
    expect(meta["task"] == task and meta["imgsz"] == [case["imgsz"]] * 2, f"config.txt {meta}")
    with torch.no_grad():
        y = m(torch.from_numpy(x))
    ys = list(y) if isinstance(y, (tuple, list)) else [y]
    names = ["output0", "output1"] if task == "segment" else ["output0"]
    expect(len(ys) == len(names), f"torchscript returned {len(ys)} outputs, want {len(names)}")
    report = [compare("torchscript", t.numpy(), refs[n], task, nc, n) for n, t in zip(names, ys)]
    return "torchscript ok: " + "; ".join(report)


def main(dirs):
    print(f"onnx {onnx.__version__}, onnxruntime {ort.__version__}, numpy {np.__version__}")
    failed = 0
    for dir_ in dirs:
        d = Path(dir_)
        case = json.loads((d / "case.json").read_text())
        x = np.load(d / case["input"])
        refs = {k: np.load(d / v) for k, v in case["outputs"].items()}
        for fmt, check in (("onnx", check_onnx), ("torchscript", check_torchscript)):
            if not case.get(fmt):
                continue
            try:
                print(f"{case['task']}: {check(case, d, x, refs)}")
            except Exception as e:  # noqa: BLE001 - every failure is reported, then counted
                failed += 1
                print(f"{case['task']} {fmt} FAILED: {type(e).__name__}: {e}")
    print(f"{'FAILED' if failed else 'all checks passed'} ({failed} failure(s))")
    return 1 if failed else 0


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1:]))
