#!/usr/bin/env bash
# Create .venv and install ragdesk with pinned dependencies; a no-op when nothing changed.
set -euo pipefail
cd "$(dirname "$0")/.."

python_bin=${PYTHON:-}
if [ -z "$python_bin" ]; then
  for candidate in python3.11 python3; do
    if command -v "$candidate" >/dev/null && "$candidate" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
      python_bin=$candidate; break
    fi
  done
fi
[ -n "$python_bin" ] || { echo "ragdesk needs Python 3.11 (set PYTHON=/path/to/python3.11)" >&2; exit 2; }

[ -x .venv/bin/python ] || "$python_bin" -m venv .venv
stamp=.venv/.ragdesk-installed
want=$(cat pyproject.toml constraints.txt scripts/llama-wheel.sh | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null || true)" != "$want" ]; then
  echo "setting up .venv (first time: a few minutes)..." >&2
  .venv/bin/python -m pip install --quiet --upgrade pip 2>&1 | grep -v "is ignored" >&2 || true
  # The CPU build of torch first, so that nothing later pulls a multi-GB CUDA build.
  .venv/bin/pip install --quiet -c constraints.txt "torch==2.13.0" 2>&1 | grep -v "is ignored" >&2 || true
  scripts/llama-wheel.sh   # llama-cpp-python built without AVX-512/AMX code (see the script)
  .venv/bin/pip install --quiet -c constraints.txt -e ".[test]" 2>&1 | grep -v "is ignored" >&2 || true
  .venv/bin/python -c "import torch, sentence_transformers, unstructured, qdrant_edge, llama_cpp, rag_core" \
    || { echo "setup failed: see the pip output above" >&2; exit 1; }
  echo "$want" > "$stamp"
fi
