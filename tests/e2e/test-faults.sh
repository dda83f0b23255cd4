#!/usr/bin/env bash
# test-faults.sh: 1,319 GSM8K-shaped problems (the synthetic fixture) through the runner
# against a simulator that fails 30% of generation requests (5% each of 500,
# 503, 429, connection resets, closed connections and stalls past the
# request timeout) ends with every item scored and the same
# metrics as a fault-free run. Also: Retry-After is honoured, exhausted
# retries mark items as errored without aborting the run (and a re-run redoes
# them), AIMD lets -c 64 through a queue of 8, and the fail-fast messages
# (unknown model, 400, a server that does not answer).
set -u
. tests/lib/harness.sh
synth_data

# --- the full set, fault-free and with faults ------------------------------
start_sim clean --time-scale 0 --dataset "$synth"
clean_url=$URL
gsm8k -e "$clean_url" --dataset "$synth" -o "$tmp/clean" -c 16 -q >/dev/null 2>"$tmp/clean.err"
rc=$?
ok "fault-free full run: exit 0" '[ $rc -eq 0 ]'
ok "fault-free full run: 1,319 items scored" '[ "$(runcheck get "$tmp/clean/summary.json" counts.scored)" = 1319 ]'

# (its 429s carry no Retry-After, and the backoff base is 20 ms: the waits
# are the engine's own, short; Retry-After itself is tested below)
start_sim faults --time-scale 0 --dataset "$synth" --stall-ms 400 \
    --fault-500 0.05 --fault-503 0.05 --fault-429 0.05 --fault-reset 0.05 --fault-close 0.05 \
    --fault-stall 0.05 --retry-after 0
faults_url=$URL
t0=$(date +%s%N)
OLLAEVAL_BACKOFF_MS=20 gsm8k -e "$faults_url" --dataset "$synth" -o "$tmp/faults" -c 16 --timeout 0.3 --retries 10 -q \
    >/dev/null 2>"$tmp/faults.err"
rc=$?
secs=$(( ($(date +%s%N) - t0) / 1000000000 ))
echo "# 1,319 items with 30% faults: ${secs}s"
ok "faulty full run: exit 0" '[ $rc -eq 0 ]'
ok "faulty full run: status complete" '[ "$(runcheck get "$tmp/faults/summary.json" status)" = complete ]'
ok "faulty full run: every item scored exactly once, no errors" \
    'runcheck journal "$tmp/faults/samples.jsonl" 1319 >"$tmp/j.out" && grep -q "errors 0" "$tmp/j.out"'
runcheck same "$tmp/clean/summary.json" "$tmp/faults/summary.json" >"$tmp/same.out"
rc=$?
ok "faulty full run: the same counts, accuracy and every metric as the fault-free run" '[ $rc -eq 0 ]'
sed 's/^/# /' "$tmp/same.out"
for k in 500 503 429 reset close stall; do
    c=$(runcheck stats "$faults_url" "faults.$k")
    ok "the simulator injected $k faults ($c)" '[ "$c" -gt 20 ]'
done
gen=$(runcheck stats "$faults_url" generate_requests)
read -r attempts most over < <(runcheck attempts "$tmp/faults/samples.jsonl")
# libcurl silently re-sends a request whose reused keep-alive connection
# closes before any byte of the response, so a `close` fault may not count
# as an attempt; every other fault does. 503 and 429 are overloads waited
# out in the window, not attempts: they spend no retry.
closes=$(runcheck stats "$faults_url" faults.close)
sent=$((attempts + over))
ok "attempts ($attempts) + overloads ($over) recorded: the requests the server got ($gen), less hidden closes (<= $closes)" \
    '[ "$sent" -le "$gen" ] && [ $((gen - sent)) -le "$closes" ]'
ok "...503 and 429 were waited out, not counted as attempts ($over overloads)" '[ "$over" -gt 40 ]'
ok "some items needed 3 or more attempts (most: $most)" '[ "$most" -ge 3 ]'
stop_sim "$PID"

# --- Retry-After -------------------------------------------------------------
start_sim ra --time-scale 0 --dataset "$synth" --fault-429 1 --fault-first 1
gsm8k -e "$URL" --dataset "$synth" -o "$tmp/ra" --limit 1 -q >/dev/null 2>&1
lat=$(runcheck get "$tmp/ra/summary.json" latency_ms.p50)
ok "429 with Retry-After: 1 is retried after a second, not the backoff (${lat} ms)" \
    '[ "${lat%.*}" -ge 1000 ] && [ "${lat%.*}" -lt 3000 ]'
ok "429 then success: 1 attempt and 1 overload recorded (a 429 spends no retry)" \
    '[ "$(runcheck attempts "$tmp/ra/samples.jsonl")" = "1 1 1" ]'
stop_sim "$PID"

# --- exhausted retries: errored items, the run goes on; a re-run redoes them --
start_sim dead --time-scale 0 --dataset "$synth" --fault-500 1
gsm8k -e "$URL" --dataset "$synth" -o "$tmp/dead" --limit 6 --retries 2 -q >/dev/null 2>"$tmp/dead.err"
rc=$?
ok "retries exhausted on every item: the run still ends, incomplete (exit 3)" '[ $rc -eq 3 ]'
ok "...with each item recorded as an error after 3 attempts" \
    '[ "$(runcheck errors "$tmp/dead/samples.jsonl" | grep -c "	http	HTTP 500 from ")" -eq 6 ] &&
     [ "$(runcheck get "$tmp/dead/summary.json" counts.errors)" = 6 ] &&
     [ "$(grep -c "\"attempts\":3" "$tmp/dead/samples.jsonl")" -eq 6 ]'
ok "...the summary is partial and stderr says how to retry them" \
    '[ "$(runcheck get "$tmp/dead/summary.json" status)" = partial ] && grep -q "re-run with -o $tmp/dead" "$tmp/dead.err"'
ok "...the simulator got 18 requests" '[ "$(runcheck stats "$URL" generate_requests)" = 18 ]'
stop_sim "$PID"
gsm8k -e "$clean_url" --dataset "$synth" -o "$tmp/dead" --limit 6 -q >/dev/null 2>&1
rc=$?
ok "re-run against a working server: the errored items are redone, status complete" \
    '[ $rc -eq 0 ] && [ "$(runcheck get "$tmp/dead/summary.json" status)" = complete ] &&
     runcheck journal "$tmp/dead/samples.jsonl" 6 >/dev/null'

# --- AIMD: -c 64 against a queue of 8 ------------------------------------------
start_sim aimd --dataset "$synth" --parallel 4 --max-queue 8 --fixed-latency-ms 10
OLLAEVAL_BACKOFF_MS=500 gsm8k -e "$URL" --dataset "$synth" -o "$tmp/aimd" --limit 160 -c 64 -q \
    >/dev/null 2>"$tmp/aimd.err"
rc=$?
busy=$(runcheck stats "$URL" http_503)
ok "-c 64 against --max-queue 8: exit 0, all 160 items scored" \
    '[ $rc -eq 0 ] && runcheck journal "$tmp/aimd/samples.jsonl" 160 >"$tmp/j.out" && grep -q "errors 0" "$tmp/j.out"'
ok "...the server did refuse requests (503 x $busy), and never queued more than 8" \
    '[ "$busy" -gt 0 ] && [ "$(runcheck stats "$URL" max_queued)" -le 8 ]'
stop_sim "$PID"

# --- fail fast ------------------------------------------------------------------
t0=$(date +%s%N)
gsm8k -m nosuch:model -e "$clean_url" --dataset "$synth" -o "$tmp/nomodel" -q >/dev/null 2>"$tmp/nomodel.err"
rc=$?
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
ok "unknown model: exit 1 at once (${ms} ms)" '[ $rc -eq 1 ] && [ $ms -lt 2000 ]'
ok "...saying how to pull it" \
    'grep -qF "model '"'"'nosuch:model'"'"' is not on the server at $clean_url; pull it with \`ollama pull nosuch:model\`" "$tmp/nomodel.err"'
sed 's/^/# /' "$tmp/nomodel.err"

before=$(runcheck stats "$clean_url" generate_requests)
"$bin" scripts/gsm8k.lua -m llama3.2:3b --think true -e "$clean_url" --dataset "$synth" -o "$tmp/bad400" \
    --limit 200 -c 4 -q >/dev/null 2>"$tmp/bad400.err"
rc=$?
after=$(runcheck stats "$clean_url" generate_requests)
ok "HTTP 400: exit 1 with the server's message" \
    '[ $rc -eq 1 ] && grep -q "HTTP 400 from .*does not support thinking" "$tmp/bad400.err"'
ok "...and the run stopped early ($((after - before)) of 200 requests sent)" '[ $((after - before)) -lt 20 ]'
grep "stopped" "$tmp/bad400.err" | sed 's/^/# /'

t0=$(date +%s%N)
gsm8k -e http://127.0.0.1:1 --dataset "$synth" -o "$tmp/refused" >/dev/null 2>"$tmp/refused.err"
rc=$?
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
ok "no server (refused): exit 1 within 2 s (${ms} ms), one line naming the URL and what to do" \
    '[ $rc -eq 1 ] && [ $ms -lt 2000 ] && [ "$(grep -c "^ollaeval:" "$tmp/refused.err")" -eq 1 ] &&
     grep -q "no server answers at http://127.0.0.1:1.*ollama serve" "$tmp/refused.err"'

# a server that accepts connections but never answers (a stopped process)
start_sim frozen --time-scale 0
kill -STOP "$PID"
t0=$(date +%s%N)
gsm8k -e "$URL" --dataset "$synth" -o "$tmp/frozen" >/dev/null 2>"$tmp/frozen.err"
rc=$?
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
kill -CONT "$PID"
ok "a server that never answers: exit 1 within 2 s (${ms} ms), one line" \
    '[ $rc -eq 1 ] && [ $ms -lt 2000 ] && [ "$(grep -c "^ollaeval:" "$tmp/frozen.err")" -eq 1 ] &&
     grep -q "no server answers at $URL" "$tmp/frozen.err"'
sed 's/^/# /' "$tmp/frozen.err"

done_testing
