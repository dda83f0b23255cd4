#!/bin/sh
# Installs what vendor/deps.txt lists and is missing: the Debian packages
# (apt-get; needs root or sudo), then, when npm is there, the npm packages
# (lines "npm:NAME@VERSION") into build/node/ of this repository (npm
# install --prefix build/node; nothing global, no browser download).
#   vendor/install.sh          install what is missing
#   vendor/install.sh --check  exit 1 and name what is missing, install nothing
set -eu
here=$(dirname "$0")
node_dir="$here/../build/node"
list=$(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$here/deps.txt" | awk '{print $1}')
pkgs=$(printf '%s\n' "$list" | grep -v '^npm:' || true)
npm_pkgs=$(printf '%s\n' "$list" | sed -n 's/^npm://p')
missing=""
for p in $pkgs; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $p"
    fi
done
# an npm package is missing when npm could install it and its version is not in build/node
npm_missing=""
if command -v npm >/dev/null 2>&1; then
    for p in $npm_pkgs; do
        name=${p%@*} version=${p##*@}
        if ! grep -qs "\"version\": \"$version\"" "$node_dir/node_modules/$name/package.json"; then
            npm_missing="$npm_missing $p"
        fi
    done
fi
[ -z "$missing" ] && [ -z "$npm_missing" ] && exit 0
if [ "${1:-}" = "--check" ]; then
    echo "ollaeval: missing packages:$missing$npm_missing" >&2
    exit 1
fi
if [ -n "$missing" ]; then
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
fi
if [ -n "$npm_missing" ]; then
    echo "ollaeval: installing into build/node:$npm_missing" >&2
    mkdir -p "$node_dir"
    # shellcheck disable=SC2086
    PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm install --prefix "$node_dir" --no-audit --no-fund --no-save \
        --loglevel=error $npm_missing >&2
fi
