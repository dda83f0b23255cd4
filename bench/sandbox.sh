#!/usr/bin/env bash
# bench/sandbox.sh BINARY [ROUNDS]: what the sandbox costs on the full GSM8K
# pipeline (prompt, request, response, extraction, grading, journal,
# summary; 1,319 items, the test set or synthetic problems of its shape)
# against `ollaeval sim --time-scale 0 --parallel 64` with -c 64: the same
# run sandboxed (the default) and with --trust, alternated ROUNDS times
# (default 5) in one session; CPU seconds (user+sys) of `ollaeval` per run,
# the median of each and the overhead of the sandbox in per cent. Two
# shapes: scripts/gsm8k.lua (the engine's own suite, so only the script is
# sandboxed), and a suite module beside its script that wraps the GSM8K
# functions in its own (every prompt/extract/correct call then crosses the
# boundary: a budget, the arguments and results copied).
set -u
cd "$(dirname "$0")/.."
bin=${1:-./ollaeval}
rounds=${2:-5}
tmp=$(mktemp -d)
trap 'kill $SIM_PID 2>/dev/null; rm -rf "$tmp"' EXIT
. scripts/start-sim.sh

. bench/data.sh
bench_data "$bin" "$tmp" || exit 1
data=$DATA
start_sim_bg -b "$bin" -l "$tmp/sim.log" --quiet --time-scale 0 --parallel 64 --dataset "$data" || exit 1
echo "\$ $bin [--trust] scripts/gsm8k.lua -q -m qwen3:8b -e $SIM_URL -c 64 --dataset $data -o DIR"
mkdir -p "$tmp/own"
cat >"$tmp/own/mine.lua" <<'LUA'
local g = require "evals.gsm8k"
local suite = {}
for k, v in pairs(g) do suite[k] = v end
suite.name = "mine"
function suite.prompt(item, opts) return g.prompt(item, opts) end
function suite.extract(text) return g.extract(text) end
function suite.gold(item) return g.gold(item) end
function suite.correct(a, b) return g.correct(a, b) end
return suite
LUA
printf 'return require("evals.runner").main("mine")\n' >"$tmp/own/run.lua"
cpu() { # cpu LABEL SCRIPT FLAGS...: one run, its CPU seconds appended to $tmp/LABEL
    local label=$1 script=$2
    shift 2
    /usr/bin/time -f "%U %S" -o "$tmp/time" "$bin" "$@" "$script" -q -m qwen3:8b -e "$SIM_URL" -c 64 \
        --dataset "$data" -o "$tmp/run-$label-$RANDOM$RANDOM" >/dev/null 2>"$tmp/err" || {
        echo "$label: failed: $(tail -n 3 "$tmp/err")"; exit 1; }
    awk '{ printf "%.3f\n", $1 + $2 }' "$tmp/time" >>"$tmp/$label"
}
for _ in $(seq "$rounds"); do
    cpu sandboxed scripts/gsm8k.lua
    cpu trusted scripts/gsm8k.lua --trust
    cpu own-sandboxed "$tmp/own/run.lua"
    cpu own-trusted "$tmp/own/run.lua" --trust
done
median() { sort -n "$tmp/$1" | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
report() { # report WHAT SANDBOXED TRUSTED
    local s t
    s=$(median "$2") t=$(median "$3")
    echo "$1, sandboxed: $(tr '\n' ' ' <"$tmp/$2")s CPU, median $s s"
    echo "$1, --trust:   $(tr '\n' ' ' <"$tmp/$3")s CPU, median $t s"
    awk -v w="$1" -v s="$s" -v t="$t" 'BEGIN { printf "%s: sandbox overhead %+.1f%% CPU (target < 5%%)\n", w, (s - t) * 100 / t }'
}
report "scripts/gsm8k.lua" sandboxed trusted
report "a suite module beside its script" own-sandboxed own-trusted
