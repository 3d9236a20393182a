#!/usr/bin/env bash
# Create (or reuse) the project's virtual environment and install the pinned dependencies into it.
# Idempotent: a stamp records the hash of the lock and project files, so a second call installs nothing.
#   PYTHON=python3.12 scripts/setup_env.sh      pick the interpreter (default: python3.11, else the first python3.1x >= 3.11)
#   HYBRIDLIB_VENV=path                         venv location (default: .venv)
#   HYBRIDLIB_TORCH="torch==2.13.0"             torch requirement installed first (CPU build where the local wheel exists)
#   HYBRIDLIB_TORCH_INDEX=URL                   index for torch, e.g. https://download.pytorch.org/whl/cpu
set -euo pipefail
cd "$(dirname "$0")/.."
venv=${HYBRIDLIB_VENV:-.venv}

pick_python() {
  for candidate in ${PYTHON:-} python3.11 python3.12 python3.13 python3; do  # 3.11 first: the tested one
    if command -v "$candidate" >/dev/null 2>&1 &&
       "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
      echo "$candidate"; return 0
    fi
  done
  echo "setup_env.sh: no Python >= 3.11 found (the pinned transformers 5 / numpy 2.4 need it); set PYTHON=/path/to/python3.11" >&2
  return 1
}

if [ ! -x "$venv/bin/python" ]; then
  python=$(pick_python)
  echo "creating $venv with $($python --version)"
  "$python" -m venv "$venv"
fi
py="$venv/bin/python"
stamp="$venv/.hybridlib-installed"
want=$(cat requirements.lock pyproject.toml | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
  exit 0
fi
echo "installing pinned dependencies into $venv (once)"
"$py" -m pip install -q --upgrade pip
if ! "$py" -c 'import torch' 2>/dev/null; then
  "$py" -m pip install -q "${HYBRIDLIB_TORCH:-torch==2.13.0}" ${HYBRIDLIB_TORCH_INDEX:+--index-url "$HYBRIDLIB_TORCH_INDEX"}
fi
"$py" -m pip install -q -r requirements.lock
"$py" -m pip install -q --no-deps -e .
"$py" -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (hybridlib)" >/dev/null
echo "$want" > "$stamp"
