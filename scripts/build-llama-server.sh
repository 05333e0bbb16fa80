#!/usr/bin/env bash
# Build llama.cpp's `llama-server` (continuous batching) from the llama.cpp sources that the
# pinned llama-cpp-python sdist vendors, so the server and the in-process path run the same
# llama.cpp. Cached like pip's wheel: a no-op when the binary for this version is there.
# Prints the binary's path. Needs cmake and a C++ compiler; ~10-20 min on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."

version=$(grep -oE 'llama-cpp-python==[0-9.]+' pyproject.toml | head -1 | cut -d= -f3)
[ -n "$version" ] || { echo "no llama-cpp-python pin in pyproject.toml" >&2; exit 2; }
# OFF (the default, and the Docker image): x86-64-v3 (AVX2, FMA, F16C), no AVX-512/AMX code
# paths, which crash with "illegal instruction" on some virtual machines that advertise them.
# ON: -march=native. CMAKE_ARGS adds cmake options (e.g. -DGGML_CUDA=on).
native=${GGML_NATIVE:-OFF}
cache=${XDG_CACHE_HOME:-$HOME/.cache}/ragdesk/llama-server
dest="$cache/$version-native-$native"
if [ -x "$dest/llama-server" ]; then
  echo "$dest/llama-server"
  exit 0
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "building llama-server from llama-cpp-python $version's llama.cpp (cached in $dest)..." >&2
python3 -m pip download --quiet --no-deps --no-binary :all: \
  "llama-cpp-python==$version" -d "$work" 2>&1 | grep -v "is ignored" >&2 || true
tar -xzf "$work"/llama_cpp_python-"$version".tar.gz -C "$work"
src="$work/llama_cpp_python-$version/vendor/llama.cpp"
portable=()
[ "$native" = OFF ] && portable=(-DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON \
  -DGGML_BMI2=ON -DGGML_AVX512=OFF)
generator=()
command -v ninja >/dev/null && generator=(-G Ninja)
# No web UI (it would be fetched from a model hub or built with npm): ragdesk only uses the API.
cmake -S "$src" -B "$work/build" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release \
  -DBUILD_SHARED_LIBS=OFF -DGGML_NATIVE="$native" -DLLAMA_BUILD_TESTS=OFF \
  -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_TOOLS=ON -DLLAMA_BUILD_SERVER=ON \
  -DLLAMA_OPENSSL=OFF -DLLAMA_BUILD_UI=OFF -DLLAMA_USE_PREBUILT_UI=OFF "${portable[@]}" \
  ${CMAKE_ARGS:-} >&2
cmake --build "$work/build" --target llama-server -j "${BUILD_JOBS:-$(nproc)}" >&2
mkdir -p "$dest"
install -m 0755 "$work/build/bin/llama-server" "$dest/llama-server.tmp"
mv "$dest/llama-server.tmp" "$dest/llama-server"
echo "$dest/llama-server"
