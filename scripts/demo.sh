#!/usr/bin/env bash
# scripts/demo.sh (make demo): GSM8K end to end. Against a local Ollama when
# one answers at $OLLAMA_HOST (default http://localhost:11434), with
# $MODEL or the first model it has; otherwise against `ollaeval sim` on a free
# port, serving the real GSM8K test set. Says plainly which it did.
set -u
cd "$(dirname "$0")/.."
bin=./ollaeval
shared=${OLLAEVAL_SHARED:-../shared}
data="$shared/datasets/gsm8k/test.jsonl"
host=${OLLAMA_HOST:-http://localhost:11434}
case "$host" in *://*) ;; *) host="http://$host" ;; esac
dataset=()
[ -f "$data" ] && dataset=(--dataset "$data")

if curl -s -m 2 "$host/api/version" >/dev/null 2>&1; then
    model=${MODEL:-$(curl -s -m 5 "$host/api/tags" | grep -o '"name":"[^"]*"' | head -n 1 | cut -d'"' -f4)}
    if [ -z "$model" ]; then
        echo "demo: Ollama answers at $host but has no model; pull one (ollama pull qwen3:8b) or set MODEL" >&2
        exit 1
    fi
    echo "demo: Ollama answers at $host: evaluating $model on GSM8K" >&2
    exec "$bin" scripts/gsm8k.lua -m "$model" -e "$host" "${dataset[@]}" "$@"
fi

if [ ! -f "$data" ]; then
    echo "demo: no Ollama at $host, and the simulator needs the GSM8K test set at $data" >&2
    echo "      (set OLLAEVAL_SHARED to the folder that holds datasets/gsm8k/test.jsonl)" >&2
    exit 1
fi
log=$(mktemp)
"$bin" sim --port 0 --parallel 8 --time-scale 0.01 --accuracy 0.85 --dataset "$data" >"$log" 2>&1 &
sim=$!
trap 'kill $sim 2>/dev/null; wait $sim 2>/dev/null; rm -f "$log"' EXIT
for _ in $(seq 50); do grep -q "listening on" "$log" && break; sleep 0.1; done
url=$(grep -o 'http://[0-9.:]*' "$log" | head -n 1)
if [ -z "$url" ]; then
    echo "demo: the simulator did not start:" >&2; cat "$log" >&2; exit 1
fi
echo "demo: no Ollama at $host: running against the built-in simulator at $url" >&2
echo "      (simulated answers, 85% correct by construction: a dry run, not a model's score)" >&2
"$bin" scripts/gsm8k.lua -m qwen3:8b -e "$url" -c 8 "${dataset[@]}" "$@"
