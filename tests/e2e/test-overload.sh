#!/usr/bin/env bash
# test-overload.sh: overload is back-pressure, never a failure. The 1,319
# synthetic problems against a simulator with 4 slots and a short queue
# (503 beyond), far more requests in flight than it holds (-c 32/64/256),
# with and without 500s: every item is scored, with exactly the fault-free
# run's metrics (the simulator's answers are deterministic per item and
# seed), 503s spend no retry. A cell of the grid is one run; `make test`
# runs a few cells, OVERLOAD_GRID=full (bench/overload.sh) all 27.
# Also: a per-request deadline bounds the time spent on an endpoint that is
# always busy, and a single endpoint that goes down pauses the run (exit 5)
# instead of burning every item's attempts; a resume finishes it.
set -u
. tests/lib/harness.sh
synth_data
scale=${OVERLOAD_TIME_SCALE:-0.001}
export OLLAEVAL_BACKOFF_MS=${OLLAEVAL_BACKOFF_MS:-50}

start_sim clean --time-scale 0 --dataset "$synth"
gsm8k -e "$URL" --dataset "$synth" -o "$tmp/clean" -c 16 -q >/dev/null 2>&1
ok "fault-free reference run: 1,319 scored" '[ "$(get "$tmp/clean/summary.json" counts.scored)" = 1319 ]'
stop_sim "$PID"

# cell C Q F: -c C against --parallel 4 --max-queue Q with --fault-500 F
cell() {
    local c=$1 q=$2 f=$3 name="c$1-q$2-f$3" rc t0 secs
    start_sim "$name" --parallel 4 --max-queue "$q" --fault-500 "$f" --time-scale "$scale" --dataset "$synth"
    t0=$(date +%s%N)
    gsm8k -e "$URL" --dataset "$synth" -o "$tmp/$name" -c "$c" -q >/dev/null 2>"$tmp/$name.err"
    rc=$?
    secs=$(( ($(date +%s%N) - t0) / 1000000 ))
    local b503 f500 maxq read_att
    b503=$(runcheck stats "$URL" http_503) f500=$(runcheck stats "$URL" faults.500)
    maxq=$(runcheck stats "$URL" max_queued)
    read_att=$(runcheck attempts "$tmp/$name/samples.jsonl")
    echo "# cell -c $c --max-queue $q --fault-500 $f: ${secs} ms, exit $rc, 503 x $b503, 500 x $f500, attempts/most/overloads $read_att"
    ok "-c $c --max-queue $q --fault-500 $f: exit 0, every item scored once, no errors" \
        '[ $rc -eq 0 ] && runcheck journal "$tmp/$name/samples.jsonl" 1319 >"$tmp/j.out" && grep -q "errors 0" "$tmp/j.out"'
    ok "...the same counts, accuracy and metrics as the fault-free run" \
        'runcheck same "$tmp/clean/summary.json" "$tmp/$name/summary.json" >"$tmp/same.out"'
    ok "...the server never queued more than $q" '[ "$maxq" -le "$q" ]'
    stop_sim "$PID"
}

if [ "${OVERLOAD_GRID:-}" = full ]; then
    for c in 32 64 256; do for q in 0 2 8; do for f in 0 0.05 0.1; do cell "$c" "$q" "$f"; done; done; done
else
    cell 256 0 0
    cell 64 2 0.05
    cell 32 8 0.1
    cell 256 2 0.1
fi

# --- 503 spends no retry; a window that grows past capacity is cut --------------
start_sim busy --parallel 2 --max-queue 0 --fixed-latency-ms 20 --dataset "$synth"
gsm8k -e "$URL" --dataset "$synth" -o "$tmp/busy" --limit 120 -c 64 --retries 0 -q >/dev/null 2>&1
rc=$?
ok "--retries 0, -c 64 against 2 slots and no queue: every item scored (503s are waited out)" \
    '[ $rc -eq 0 ] && runcheck journal "$tmp/busy/samples.jsonl" 120 >/dev/null'
ok "...the server refused some ($(runcheck stats "$URL" http_503) x 503) and held at most 2 connections busy" \
    '[ "$(runcheck stats "$URL" http_503)" -gt 0 ] && [ "$(runcheck stats "$URL" max_generating)" -le 2 ]'
stop_sim "$PID"

# --- the deadline bounds an endpoint that is always busy ------------------------
start_sim always503 --time-scale 0 --dataset "$synth" --fault-503 1
t0=$(date +%s%N)
gsm8k -e "$URL" --dataset "$synth" -o "$tmp/deadline" --limit 2 --deadline 1 -q >/dev/null 2>"$tmp/deadline.err"
rc=$?
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
ok "always 503 with --deadline 1: the run ends incomplete (exit 3) in a few seconds (${ms} ms)" \
    '[ $rc -eq 3 ] && [ $ms -lt 8000 ]'
ok "...each item an error saying it was overloaded until the deadline (a 503, or its wait in the queue), after 1 attempt" \
    '[ "$(runcheck errors "$tmp/deadline/samples.jsonl" | grep -cE "(HTTP 503 |waiting in the window.s queue).*overloaded: .*deadline of 1 s")" -eq 2 ] &&
     [ "$(grep -cE "\"attempts\":1[,}]" "$tmp/deadline/samples.jsonl")" -eq 2 ]'
stop_sim "$PID"

# --- a single endpoint that goes down pauses the run ----------------------------
start_sim down --dataset "$synth" --fixed-latency-ms 20 --parallel 4
port=$PORT url=$URL
gsm8k -e "$url" --dataset "$synth" -o "$tmp/down" -c 4 --down-wait 1 -q >/dev/null 2>"$tmp/down.err" &
run=$!
for _ in $(seq 200); do [ "$(jlines "$tmp/down/samples.jsonl")" -ge 20 ] && break; sleep 0.05; done
stop_sim "$PID"
t0=$(date +%s%N)
wait "$run"
rc=$?
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
sed 's/^/# /' "$tmp/down.err"
ok "the endpoint stops mid-run: exit 5 (paused) within a few seconds (${ms} ms)" '[ $rc -eq 5 ] && [ $ms -lt 10000 ]'
ok "...stderr says the endpoint stayed down and how to resume" \
    'grep -q "paused: the endpoint $url stayed down" "$tmp/down.err" && grep -q "run the same command again" "$tmp/down.err"'
ok "...summary.json's status is paused" '[ "$(get "$tmp/down/summary.json" status)" = paused ]'
ok "...no item was recorded as an error (all are redone on resume)" \
    '[ -z "$(runcheck errors "$tmp/down/samples.jsonl")" ]'
start_sim up --dataset "$synth" --time-scale 0 --port "$port"
gsm8k -e "$url" --dataset "$synth" -o "$tmp/down" -c 16 -q >/dev/null 2>&1
rc=$?
ok "...the same command once the endpoint is back: every item scored, exit 0" \
    '[ $rc -eq 0 ] && runcheck journal "$tmp/down/samples.jsonl" 1319 >/dev/null'
stop_sim "$PID"

done_testing
