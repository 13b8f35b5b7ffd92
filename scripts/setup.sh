#!/usr/bin/env bash
# Idempotent set-up of everything the app and its tests need on a fresh Debian machine:
# Debian packages (PostgreSQL for the scale-out tests, Chromium for the browser tests),
# the wasm32-wasip2 Rust target for plugins, the torch==2.11.0 wheel that provides
# libtorch, and the front end's npm packages. Safe to run again: each step checks first.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=env.sh
source "$ROOT/scripts/env.sh"
log() { printf '\033[1;34m[setup]\033[0m %s\n' "$*"; }

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"

need_apt=()
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need_apt+=(postgresql)
command -v pkg-config >/dev/null 2>&1 || need_apt+=(pkg-config)
if [ "${#need_apt[@]}" -gt 0 ] && [ "${AF_SKIP_APT:-0}" != 1 ]; then
  log "installing Debian packages: ${need_apt[*]}"
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${need_apt[@]}"
fi

if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-wasip2; then
  log "adding the wasm32-wasip2 Rust target"
  rustup target add wasm32-wasip2
fi

if ! "$TORCH_VENV/bin/python" -c 'import torch; assert torch.__version__.startswith("2.11.0")' >/dev/null 2>&1; then
  log "installing torch==2.11.0 into $TORCH_VENV (libtorch for tch; ~4.6 GB, once)"
  mkdir -p "$(dirname "$TORCH_VENV")"
  [ -x "$TORCH_VENV/bin/python" ] || python3 -m venv "$TORCH_VENV"
  "$TORCH_VENV/bin/pip" install -q --upgrade pip
  "$TORCH_VENV/bin/pip" install -q torch==2.11.0 numpy
  # shellcheck source=env.sh
  source "$ROOT/scripts/env.sh"
fi

# onnx and onnxruntime beside torch: tools/export/check_onnx.py (run by the engine's
# export_python test) checks exported models with the ONNX checker and ONNX Runtime.
if ! "$TORCH_VENV/bin/python" -c 'import importlib.metadata as m; assert m.version("onnx") == "1.23.2" and m.version("onnxruntime") == "1.32.0"' >/dev/null 2>&1; then
  log "installing onnx==1.23.2 and onnxruntime==1.32.0 into $TORCH_VENV (export checks)"
  "$TORCH_VENV/bin/pip" install -q onnx==1.23.2 onnxruntime==1.32.0
fi

# schemathesis (tests/api/schemathesis.sh: property-based tests of the OpenAPI document
# against the real server), in its own venv so its dependencies never meet torch's.
SCHEMATHESIS_VENV="$AF_CACHE/schemathesis-venv"
if ! "$SCHEMATHESIS_VENV/bin/python" -c 'import importlib.metadata as m; assert m.version("schemathesis") == "4.32.5"' >/dev/null 2>&1; then
  log "installing schemathesis==4.32.5 into $SCHEMATHESIS_VENV"
  mkdir -p "$AF_CACHE"
  [ -x "$SCHEMATHESIS_VENV/bin/python" ] || python3 -m venv "$SCHEMATHESIS_VENV"
  "$SCHEMATHESIS_VENV/bin/pip" install -q --upgrade pip
  "$SCHEMATHESIS_VENV/bin/pip" install -q schemathesis==4.32.5
fi

if [ -f "$ROOT/frontend/package.json" ]; then
  if [ ! -d "$ROOT/frontend/node_modules" ] || [ "$ROOT/frontend/package-lock.json" -nt "$ROOT/frontend/node_modules/.package-lock.json" ]; then
    log "installing front-end packages"
    (cd "$ROOT/frontend" && npm ci --no-audit --no-fund)
  fi
fi
log "ready (torch libs: ${TORCH_LIB:-?}; cargo target: $CARGO_TARGET_DIR)"
