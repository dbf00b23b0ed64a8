#!/usr/bin/env bash
# deps.sh: make sure the Debian 12 packages auditd builds and tests with are installed.
# As root: installs what is missing with apt-get. Otherwise: names the missing packages and fails.
set -euo pipefail

PACKAGES=(
  build-essential cmake pkg-config
  libsqlite3-dev libsodium-dev libssl-dev libxml2-dev libxslt1-dev libmicrohttpd-dev libcjson-dev check
  libcurl4-gnutls-dev libmosquitto-dev mosquitto mosquitto-clients libxgboost-dev
  gnutls-bin openssl sqlite3 procps curl
  chromium nodejs python3
  libpq-dev postgresql-15
)
# npm comes with the machine's Node.js; Debian's own nodejs needs its npm package.
command -v npm >/dev/null 2>&1 || PACKAGES+=(npm)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "auditd needs these Debian packages: ${missing[*]}" >&2
  echo "install them with: sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
echo "installing: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
