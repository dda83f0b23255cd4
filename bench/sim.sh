#!/usr/bin/env bash
# bench/sim.sh BINARY: the simulator's own throughput at --time-scale 0, and
# 10,000 open connections, measured with wrk (Debian's `wrk` package; the
# benchmark is skipped when it is missing). Simulator on core 0, wrk on core 1.
set -u
bin=${1:-./ollaeval}
if ! command -v wrk >/dev/null; then echo "bench/sim.sh: wrk is not installed (apt-get install wrk): skipped"; exit 0; fi
tmp=$(mktemp -d); trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$tmp"' EXIT
ulimit -n 65536 2>/dev/null || true
taskset -c 0 "$bin" sim --port 0 --quiet --time-scale 0 --parallel 64 >"$tmp/log" 2>&1 &
for _ in $(seq 100); do grep -q "listening on" "$tmp/log" && break; sleep 0.05; done
url=$(grep -o 'http://[0-9.:]*' "$tmp/log" | head -n 1)
for c in 64 10000; do
    echo "\$ taskset -c 1 wrk -t1 -c$c -d10s -s bench/wrk-chat.lua $url/api/chat"
    taskset -c 1 wrk -t1 -c$c -d10s -s bench/wrk-chat.lua "$url/api/chat" | grep -E "Requests/sec|Socket errors|requests in"
done
curl -s "$url/stats" | grep -o '"max_connections":[0-9]*'
