#!/bin/sh
# Installs the Debian packages listed in vendor/deps.txt that are missing.
#   vendor/install.sh          install what is missing (apt-get; needs root or sudo)
#   vendor/install.sh --check  exit 1 and name what is missing, install nothing
set -eu
here=$(dirname "$0")
pkgs=$(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$here/deps.txt" | awk '{print $1}')
missing=""
for p in $pkgs; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $p"
    fi
done
[ -z "$missing" ] && exit 0
if [ "${1:-}" = "--check" ]; then
    echo "ollaeval: missing packages:$missing" >&2
    exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "ollaeval: not a Debian or Ubuntu system; install the equivalents of:$missing" >&2
    exit 1
fi
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "ollaeval: installing:$missing" >&2
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
# shellcheck disable=SC2086
$sudo apt-get install -y -qq --no-install-recommends $missing >&2
