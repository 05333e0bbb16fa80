#!/usr/bin/env bash
# Debian's chromium for the end-to-end browser test (never a browser Playwright downloads).
set -euo pipefail
if [ -x /usr/bin/chromium ]; then
  exit 0
fi
if [ "$(id -u)" -eq 0 ]; then
  sudo=""
elif command -v sudo >/dev/null; then
  sudo="sudo"
else
  echo "chromium is missing and this user cannot install it: ask for 'apt-get install chromium'" >&2
  exit 1
fi
echo "installing Debian's chromium (for the browser test)…" >&2
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends chromium >/dev/null
