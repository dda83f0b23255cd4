#!/usr/bin/env bash
# bench/pipeline.sh BINARY [N...]: the whole GSM8K pipeline as a user runs it
# (prompt, request, response, extraction, grading, journal, summary), at N
# items each (default 1319 100000 1000000: the test set repeated), against
# `ollaeval sim --time-scale 0 --parallel 64` with -c 64. For each N: CPU µs
# per item (user+sys), items/s and peak RSS of `ollaeval`, the same with
# --stream (µs per streamed chunk over the non-streamed run), and the
# Python baseline (bench/baseline.py: asyncio + aiohttp, the same requests
# and grading) up to 100,000 items, in the same run so the ratio is side by
# side; at 1,319 items also bench/stages.lua, the Lua stages' CPU one by
# one. With BEFORE=OLD_BINARY, OLD_BINARY is measured the same way in the
# same run, for a before/after ratio on the same simulator and machine.
# Needs GNU time and Debian's python3-aiohttp (vendor/deps.txt).
set -u
cd "$(dirname "$0")/.."
bin=${1:-./ollaeval}
shift
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(1319 100000 1000000)
tmp=$(mktemp -d)
trap 'kill $SIM_PID 2>/dev/null; rm -rf "$tmp"' EXIT
. scripts/start-sim.sh

. bench/data.sh
bench_data "$bin" "$tmp" || exit 1
src=$DATA
start_sim_bg -b "$bin" -l "$tmp/sim.log" --quiet --time-scale 0 --parallel 64 --dataset "$src" || exit 1
url=$SIM_URL

measure() { # measure LABEL N CMD... : one line of figures
    local label=$1 n=$2 t0 t1
    shift 2
    t0=$(curl -s "$url/stats" | grep -o '"tokens":[0-9]*' | cut -d: -f2)
    /usr/bin/time -f "%e %U %S %M" -o "$tmp/time" "$@" >/dev/null 2>"$tmp/err" || {
        echo "$label: failed: $(tail -n 3 "$tmp/err")"; return; }
    t1=$(curl -s "$url/stats" | grep -o '"tokens":[0-9]*' | cut -d: -f2)
    read -r wall user sys rss <"$tmp/time"
    awk -v l="$label" -v n="$n" -v w="$wall" -v u="$user" -v s="$sys" -v r="$rss" -v c=$((t1 - t0)) 'BEGIN {
        printf "%-26s %8d items  %7.1f us/item  %8.0f items/s  peak RSS %6.1f MB  %9d chunks  cpu %.2f s\n",
            l, n, (u + s) * 1e6 / n, n / (w > 0 ? w : 1e-9), r / 1024, c, u + s }' | tee -a "$tmp/rows"
}

for n in "${sizes[@]}"; do
    data=$tmp/data-$n.jsonl
    awk -v n="$n" '{ line[NR] = $0 } END { for (i = 0; i < n; i++) print line[i % NR + 1] }' "$src" >"$data"
    echo "== $n items"
    echo "\$ $bin scripts/gsm8k.lua -q -m qwen3:8b -e $url -c 64 --dataset DATA -o DIR [--stream]"
    measure "ollaeval" "$n" "$bin" scripts/gsm8k.lua -q -m qwen3:8b -e "$url" -c 64 --dataset "$data" -o "$tmp/o-$n"
    measure "ollaeval --stream" "$n" "$bin" scripts/gsm8k.lua -q -m qwen3:8b -e "$url" -c 64 --dataset "$data" -o "$tmp/s-$n" --stream
    if [ -n "${BEFORE:-}" ]; then
        echo "\$ $BEFORE scripts/gsm8k.lua ... (BEFORE, the same run)"
        measure "before" "$n" "$BEFORE" scripts/gsm8k.lua -q -m qwen3:8b -e "$url" -c 64 --dataset "$data" -o "$tmp/b-$n"
        measure "before --stream" "$n" "$BEFORE" scripts/gsm8k.lua -q -m qwen3:8b -e "$url" -c 64 --dataset "$data" -o "$tmp/bs-$n" --stream
        rm -rf "$tmp/b-$n" "$tmp/bs-$n"
    fi
    if [ "$n" -le 1319 ] && [ -s "$tmp/o-$n/samples.jsonl" ]; then
        echo "\$ $bin --trust bench/stages.lua RUN/samples.jsonl DATA 3   (the Lua stages alone, CPU per item)"
        "$bin" --trust bench/stages.lua "$tmp/o-$n/samples.jsonl" "$data" 3
    fi
    if [ "$n" -le 100000 ]; then
        echo "\$ /usr/bin/python3 bench/baseline.py $url DATA OUT -c 64 [--stream]"
        measure "python asyncio+aiohttp" "$n" /usr/bin/python3 bench/baseline.py "$url" "$data" "$tmp/py-$n.jsonl" -c 64
        measure "python --stream" "$n" /usr/bin/python3 bench/baseline.py "$url" "$data" "$tmp/pys-$n.jsonl" -c 64 --stream
    fi
    rm -rf "$tmp/o-$n" "$tmp/s-$n" "$tmp/py-$n.jsonl" "$tmp/pys-$n.jsonl" "$data"
done
echo "== ratios (same run)"
awk '
    /^ollaeval --stream/ { n = $3; so[n] = $5; sch[n] = $(NF - 4); scpu[n] = $(NF - 1); next }
    /^ollaeval/ { n = $2; o[n] = $4; ocpu[n] = $(NF - 1); next }
    /^before --stream/ { n = $3; bso[n] = $5; next }
    /^before/ { n = $2; b[n] = $4; next }
    /^python asyncio/ { n = $3; p[n] = $5; next }
    /^python --stream/ { n = $3; ps[n] = $5; next }
    END {
        for (n in o) {
            line = sprintf("%d items: ollaeval %.1f us/item", n, o[n])
            if (p[n]) line = line sprintf(", python %.1f us/item: %.1fx less CPU", p[n], p[n] / o[n])
            if (sch[n] > 0) line = line sprintf("; --stream %.2f us/chunk over the non-streamed run", (scpu[n] - ocpu[n]) * 1e6 / sch[n])
            if (ps[n]) line = line sprintf("; streamed: python %.1fx more CPU", ps[n] / so[n])
            if (b[n]) line = line sprintf("; before %.1f us/item: %.2fx", b[n], b[n] / o[n])
            if (bso[n]) line = line sprintf(", streamed before %.1f us/item: %.2fx", bso[n], bso[n] / so[n])
            print line
        }
    }' "$tmp/rows"
