"""Seeds a fresh AnnotateForge server for the schemathesis run: an admin and a normal user,
each with a project holding a real image and an annotation, and the user a viewer of the
admin's project, so the fixed path parameters in schemathesis.toml name things that exist.

Usage: seed.py BASE_URL OUT_ENV_FILE. Writes shell assignments (tokens and ids) to OUT_ENV_FILE.
Standard library only: it runs with any python3.
"""

import json
import struct
import sys
import urllib.request
import zlib

BASE = sys.argv[1].rstrip("/")
OUT = sys.argv[2]


def png(w: int, h: int, seed: int) -> bytes:
    # Filter byte 0, then one RGB pixel per column.
    rows = b"".join(b"\x00" + b"".join(bytes(((x ^ seed) & 255, y & 255, seed)) for x in range(w)) for y in range(h))
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    ihdr = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def call(method: str, path: str, token: str | None = None, body=None, raw: bytes | None = None, content_type: str | None = None):
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    req = urllib.request.Request(BASE + path, data=data, method=method)
    if data is not None:
        req.add_header("content-type", content_type or "application/json")
    if token:
        req.add_header("authorization", f"Bearer {token}")
    with urllib.request.urlopen(req) as res:
        text = res.read()
        return json.loads(text) if text else None


def user(email: str) -> tuple[str, int]:
    creds = {"email": email, "password": "schemathesis-password"}
    made = call("POST", "/api/v1/auth/register", body=creds)
    token = call("POST", "/api/v1/auth/login", body=creds)["access_token"]
    return token, made["id"]


def upload(token: str, project: int, name: str, data: bytes) -> int:
    boundary = "schemathesis-seed-boundary"
    body = (
        f"--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"{name}\"\r\n"
        "Content-Type: image/png\r\n\r\n"
    ).encode() + data + f"\r\n--{boundary}--\r\n".encode()
    out = call("POST", f"/api/v1/projects/{project}/images", token, raw=body, content_type=f"multipart/form-data; boundary={boundary}")
    return out["images"][0]["id"]


def seed(token: str, name: str, seed_byte: int) -> dict:
    project = call("POST", "/api/v1/projects", token, {"name": name, "description": "seeded for schemathesis"})["id"]
    image = upload(token, project, f"{name}.png", png(64, 48, seed_byte))
    call("PATCH", f"/api/v1/images/{image}", token, {"class_label": "circle"})
    box = {"type": "box", "data": {"corners": [[4, 4], [40, 4], [40, 30], [4, 30]]}, "class_label": "circle"}
    annotation = call("POST", f"/api/v1/images/{image}/annotations", token, box)["id"]
    # Queued only (the server runs with --no-worker): a real job for the job routes.
    config = {
        "name": f"{name} job",
        "task_type": "detect",
        "projects": [project],
        "class_mapping": {"circle": 0},
        "split": {"train_ratio": 0.5, "val_ratio": 0.5},
        "hyperparameters": {"epochs": 1, "imgsz": 64, "batch": 2},
    }
    job = call("POST", "/api/v1/training/jobs", token, config)["id"]
    return {"project": project, "image": image, "annotation": annotation, "job": job}


admin_token, admin_id = user("admin@schemathesis.test")
user_token, user_id = user("user@schemathesis.test")
admin = seed(admin_token, "admin-project", 7)
mine = seed(user_token, "user-project", 9)
call("POST", f"/api/v1/projects/{admin['project']}/members", admin_token, {"user_id": user_id, "role": "viewer"})
with open(OUT, "w") as f:
    for key, value in {
        "ADMIN_TOKEN": admin_token,
        "USER_TOKEN": user_token,
        "ADMIN_ID": admin_id,
        "USER_ID": user_id,
        "ADMIN_PROJECT": admin["project"],
        "ADMIN_IMAGE": admin["image"],
        "ADMIN_ANNOTATION": admin["annotation"],
        "USER_PROJECT": mine["project"],
        "USER_IMAGE": mine["image"],
        "USER_ANNOTATION": mine["annotation"],
        "ADMIN_JOB": admin["job"],
        "USER_JOB": mine["job"],
    }.items():
        f.write(f"{key}={value}\n")
