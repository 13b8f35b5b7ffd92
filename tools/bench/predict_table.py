"""Markdown table from predict_vs_ultralytics.sh's JSON lines (one line per side, case, round).

    python3 predict_table.py predict_bench.jsonl [out.md]

Each side is taken at its best round (lowest single-image latency, highest batch throughput):
background load only ever slows a run down, so the best round is the closest to the machine's
real speed for both. The ratio of the per-round medians is given too (it shows how stable the
comparison was). Stage split = preprocess + inference + postprocess ms of the best round.
"""
import json
import statistics
import sys

rows = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
groups = {}
for r in rows:
    groups.setdefault((r["task"], r["imgsz"], r["threads"]), {}).setdefault(r["side"], []).append(r)

out = [
    "| task | imgsz | threads | rounds | latency ms: ours | Ultralytics | ours / theirs (median of rounds) "
    "| ours pre+inf+post | theirs pre+inf+post | batch-16 img/s: ours | Ultralytics | ours / theirs |",
    "|---|---|---|---|---|---|---|---|---|---|---|---|",
]
for (task, imgsz, threads), sides in groups.items():
    o, u = sides.get("annotateforge"), sides.get("ultralytics")
    if not (o and u):
        continue
    lat = lambda rs: min(rs, key=lambda r: r["latency_ms_median"])
    thr = lambda rs: max(r["throughput_img_s"] for r in rs)
    med = lambda rs: statistics.median(r["latency_ms_median"] for r in rs)
    split = lambda r: f'{r["preprocess_ms"]:.1f}+{r["inference_ms"]:.1f}+{r["postprocess_ms"]:.1f}'
    lo, lu = lat(o), lat(u)
    out.append(
        f'| {task} | {imgsz} | {threads} | {min(len(o), len(u))} | {lo["latency_ms_median"]:.1f} | {lu["latency_ms_median"]:.1f} '
        f'| {lo["latency_ms_median"] / lu["latency_ms_median"]:.2f} ({med(o) / med(u):.2f}) | {split(lo)} | {split(lu)} '
        f'| {thr(o):.1f} | {thr(u):.1f} | {thr(o) / thr(u):.2f} |'
    )
table = "\n".join(out)
if len(sys.argv) > 2:
    open(sys.argv[2], "w").write(table + "\n")
print(table)
