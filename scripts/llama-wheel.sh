#!/usr/bin/env bash
# Build and install llama-cpp-python (pinned in pyproject.toml) from source, for x86-64-v3
# (AVX2, FMA, F16C) without its AVX-512/AMX code paths: llama.cpp's default -march=native
# build dies with "illegal instruction" (AMX `tilezero`) on virtual machines that advertise
# AMX but do not let a process use it, as this project's machines do. The wheel is cached
# under ~/.cache/ragdesk/wheels by version and flags (pip's own cache cannot tell builds with
# other flags apart), so later set-ups install it in seconds.
# RAGDESK_LLAMA_CMAKE_ARGS replaces the flags (e.g. "-DGGML_NATIVE=ON" on a known host,
# "-DGGML_CUDA=on" for a GPU).
set -euo pipefail
cd "$(dirname "$0")/.."

version=$(grep -oE 'llama-cpp-python==[0-9.]+' pyproject.toml | head -1 | cut -d= -f3)
[ -n "$version" ] || { echo "no llama-cpp-python pin in pyproject.toml" >&2; exit 2; }
default_flags=""
if [ "$(uname -m)" = x86_64 ]; then
  default_flags="-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON"
  default_flags+=" -DGGML_BMI2=ON -DGGML_AVX512=OFF"
fi
flags=${RAGDESK_LLAMA_CMAKE_ARGS:-$default_flags}
key=$(printf '%s' "$flags" | sha256sum | cut -c1-12)
cache=${XDG_CACHE_HOME:-$HOME/.cache}/ragdesk/wheels/llama-cpp-python-$version-$key
wheel=$(ls "$cache"/llama_cpp_python-"$version"-*.whl 2>/dev/null | head -1 || true)
if [ -z "$wheel" ]; then
  echo "compiling llama-cpp-python $version (flags: ${flags:-default}; ~15 min on 2 cores, once)..." >&2
  mkdir -p "$cache"
  CMAKE_ARGS="$flags" .venv/bin/pip wheel --quiet --no-deps --no-cache-dir -w "$cache" \
    "llama-cpp-python==$version" 2>&1 | grep -v "is ignored" >&2 || true
  wheel=$(ls "$cache"/llama_cpp_python-"$version"-*.whl 2>/dev/null | head -1 || true)
  [ -n "$wheel" ] || { echo "llama-cpp-python did not build: see above" >&2; exit 1; }
fi
# where llama_cpp is installed, found without importing it (its dependencies may not be yet)
where='import importlib.util as u, pathlib as p; s = u.find_spec("llama_cpp"); print(p.Path(s.origin).parent.parent if s else "")'
installed=$(.venv/bin/python -c "$where")
marker="$installed/.ragdesk-llama-$key"
if [ -z "$installed" ] || [ ! -e "$marker" ]; then
  .venv/bin/pip install --quiet --force-reinstall --no-deps "$wheel" 2>&1 | grep -v "is ignored" >&2 || true
  installed=$(.venv/bin/python -c "$where")
  touch "$installed/.ragdesk-llama-$key"  # its dependencies come with ragdesk's install
fi
