# shellcheck shell=bash
# Sourced by every script: where the heavy, reusable installs live (outside the clone, so CI
# and repeated runs reuse them) and the environment the build needs to find libtorch.
AF_CACHE="${AF_CACHE:-$HOME/.cache/annotateforge}"
TORCH_VENV="${TORCH_VENV:-$AF_CACHE/torch-venv}"
export AF_CACHE TORCH_VENV
# tch 0.24 builds against the libtorch inside the torch==2.11.0 wheel (LIBTORCH_USE_PYTORCH).
export LIBTORCH_USE_PYTORCH=1
export PATH="$TORCH_VENV/bin:$HOME/.cargo/bin:$PATH"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$AF_CACHE/target}"
if [ -x "$TORCH_VENV/bin/python" ]; then
  TORCH_LIB="$("$TORCH_VENV/bin/python" -c 'import os, torch; print(os.path.join(os.path.dirname(torch.__file__), "lib"))' 2>/dev/null || true)"
  if [ -n "$TORCH_LIB" ]; then
    export TORCH_LIB
    export LD_LIBRARY_PATH="$TORCH_LIB${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  fi
fi
