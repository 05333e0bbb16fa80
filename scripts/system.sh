#!/usr/bin/env bash
# Debian packages the tests and the optional features use, installed with apt when missing:
#   chromium                        the end-to-end browser tests (never a browser Playwright downloads)
#   slapd, ldap-utils               a real LDAP directory for the sign-in tests (started by the tests)
#   openssl                         the test directory's self-signed certificate (StartTLS/LDAPS)
#   tesseract-ocr(-eng, -spa)       OCR of pages without a text layer (English, Spanish)
#   antiword, catdoc, libreoffice-* legacy .doc/.xls/.ppt conversion (and making test files)
#   acl                             getfacl/setfacl: permissions taken from the file share
#   poppler-utils, imagemagick      rendering test scans
#   fonts-dejavu-core               the font of the Spanish test scan
#   cmake, g++, ninja-build         compiling llama-server (scripts/build-llama-server.sh)
#   nodejs (npm), unzip             scripts/helm.sh: helm from the npm registry (chart tests)
set -euo pipefail
packages=(
  chromium
  slapd ldap-utils openssl
  tesseract-ocr tesseract-ocr-eng tesseract-ocr-spa
  antiword catdoc libreoffice-writer-nogui libreoffice-calc-nogui libreoffice-impress-nogui
  acl
  poppler-utils imagemagick fonts-dejavu-core
  cmake g++ ninja-build
  nodejs unzip
)
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" \
    || missing+=("$package")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -eq 0 ]; then
  sudo=""
elif command -v sudo >/dev/null; then
  sudo="sudo"
else
  echo "missing Debian packages and this user cannot install them: ask for" \
    "'apt-get install ${missing[*]}'" >&2
  exit 1
fi
echo "installing Debian packages: ${missing[*]}…" >&2
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
