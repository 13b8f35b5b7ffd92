"""Writes the benchmark's input images (deterministic): N 1280x720 JPEG "photos" (smooth
colour gradients, noise, a few filled shapes) into DIR. Run with the peer's Python."""
import sys
from pathlib import Path

import cv2
import numpy as np

out, n = Path(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 else 8
out.mkdir(parents=True, exist_ok=True)
rng = np.random.default_rng(0)
for i in range(n):
    h, w = 720, 1280
    yy, xx = np.mgrid[0:h, 0:w]
    img = np.stack([(xx / w * 255), (yy / h * 255), ((xx + yy) / (w + h) * 255)], -1)
    img = (img * rng.uniform(0.5, 1.0, 3) + rng.normal(0, 12, (h, w, 3))).clip(0, 255).astype(np.uint8)
    for _ in range(6):
        c = tuple(int(v) for v in rng.integers(0, 255, 3))
        x, y = int(rng.integers(0, w - 200)), int(rng.integers(0, h - 200))
        if rng.random() < 0.5:
            cv2.rectangle(img, (x, y), (x + int(rng.integers(40, 200)), y + int(rng.integers(40, 200))), c, -1)
        else:
            cv2.circle(img, (x + 100, y + 100), int(rng.integers(20, 100)), c, -1)
    cv2.imwrite(str(out / f"img_{i:02d}.jpg"), img, [cv2.IMWRITE_JPEG_QUALITY, 90])
