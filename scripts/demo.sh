#!/usr/bin/env bash
# scripts/demo.sh [RUN OPTIONS...] (make demo DEMO_ARGS="--limit 40"): an
# evaluation end to end, whatever the machine has.
#   The server: a local Ollama when one answers at $OLLAMA_HOST (default
#   http://localhost:11434), with $MODEL or its first model; else the
#   built-in simulator (scripts/start-sim.sh), whose answers are right 85% of
#   the time by construction.
#   The data: GSM8K's test set when it can be had (scripts/dataset.lua: the
#   cache, the download, the shared folder); else the project's own
#   synthetic problems (scripts/synthetic.lua), run as the suite "synthetic"
#   so nothing calls them GSM8K.
# The first lines say which. RUN OPTIONS go to the run (--limit N, -c N, ...).
# The binary: ./ollaeval, or $OLLAEVAL (the tests run it with the build they
# test, the sanitizer build among them).
# Exit status: the run's (README: 0 every item scored).
set -u
cd "$(dirname "$0")/.."
bin=${OLLAEVAL:-./ollaeval}
host=${OLLAMA_HOST:-http://localhost:11434}
case "$host" in *://*) ;; *) host="http://$host" ;; esac
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# the data
if data=$("$bin" --trust scripts/dataset.lua --suite evals.gsm8k 2>"$tmp/dataset.err"); then
    suite=scripts/gsm8k.lua what="GSM8K ($data)"
else
    # made once into the dataset cache (evals/data.lua's cache_dir)
    cache=${OLLAEVAL_CACHE:-${XDG_CACHE_HOME:-${HOME:-.}/.cache}/ollaeval}
    data=$cache/synthetic-1319.jsonl
    mkdir -p "$cache" && { [ -s "$data" ] || "$bin" scripts/synthetic.lua --n 1319 >"$data"; } || exit 1
    suite=scripts/gsm8k_synthetic.lua
    what="synthetic problems, not GSM8K ($data)"
    echo "demo: offline: synthetic problems, not GSM8K" >&2
    echo "      (no copy of GSM8K's test set could be had; it tried:" >&2
    sed -n 's/^  /        /p' "$tmp/dataset.err" >&2
    echo "      for GSM8K: connect to the internet, or run scripts/gsm8k.lua with --dataset PATH)" >&2
fi

# the server
if curl -s -m 2 "$host/api/version" >/dev/null 2>&1; then
    model=${MODEL:-$(curl -s -m 5 "$host/api/tags" | grep -o '"name":"[^"]*"' | head -n 1 | cut -d'"' -f4)}
    if [ -z "$model" ]; then
        echo "demo: Ollama answers at $host but has no model; pull one (ollama pull qwen3:8b) or set MODEL" >&2
        exit 1
    fi
    echo "demo: Ollama answers at $host: evaluating $model on $what" >&2
    "$bin" "$suite" -m "$model" -e "$host" --dataset "$data" "$@"
    exit
fi

. scripts/start-sim.sh
start_sim_bg -b "$bin" -l "$tmp/sim.log" --quiet --parallel 8 --time-scale 0.01 --accuracy 0.85 --dataset "$data" ||
    exit 1
trap 'kill "$SIM_PID" 2>/dev/null; wait "$SIM_PID" 2>/dev/null; rm -rf "$tmp"' EXIT
echo "demo: no Ollama at $host: the built-in simulator at $SIM_URL answers, on $what" >&2
echo "      (simulated answers, 85% correct by construction: a dry run, not a model's score)" >&2
"$bin" "$suite" -m qwen3:8b -e "$SIM_URL" -c 8 --dataset "$data" "$@"
