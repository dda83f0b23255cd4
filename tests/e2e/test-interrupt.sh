#!/usr/bin/env bash
# test-interrupt.sh: Ctrl-C and SIGTERM, with real signals to the ollaeval
# process. The first stops new requests, lets those in flight finish (all
# recorded), writes summary.json marked partial, prints the command that
# resumes, and exits 130; that command completes the run with the metrics of
# an uninterrupted one. Past the grace period (OLLAEVAL_GRACE_MS here) the
# requests still in flight are cancelled, not recorded as errors. A second
# Ctrl-C exits at once with every journal line whole.
set -u
. tests/lib/harness.sh
synth_data

limit=40
ms_since() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }
wait_lines() { # FILE N: until FILE has N lines (at most 5 s)
    for _ in $(seq 1000); do
        [ "$(jlines "$1")" -ge "$2" ] && return 0
        sleep 0.005
    done
    return 1
}

# the reference: the same items, uninterrupted, on a fast simulator
start_sim fast --time-scale 0 --dataset "$synth"
fast=$URL
gsm8k -e "$fast" --dataset "$synth" --limit $limit -q -o "$tmp/ref" >/dev/null 2>&1
ok "reference run complete" '[ "$(runcheck get "$tmp/ref/summary.json" status)" = complete ]'

# --- one SIGINT: in-flight requests finish, partial summary, resume hint ----------
start_sim slow --dataset "$synth" --parallel 4 --fixed-latency-ms 200
slow=$URL
"$bin" scripts/gsm8k.lua -m qwen3:8b -e "$slow" --dataset "$synth" --limit $limit -c 4 -o "$tmp/int" \
    >"$tmp/int.out" 2>"$tmp/int.err" &
pid=$!
wait_lines "$tmp/int/samples.jsonl" 8
kill -INT $pid
t0=$(date +%s%N)
wait $pid
rc=$?
ms=$(ms_since "$t0")
n_int=$(jlines "$tmp/int/samples.jsonl")
ok "SIGINT: exit 130 once the requests in flight are done (${ms} ms)" '[ $rc -eq 130 ] && [ $ms -lt 1500 ]'
ok "...summary.json written, status partial, $n_int of $limit items" \
    '[ "$(runcheck get "$tmp/int/summary.json" status)" = partial ] && [ "$(runcheck get "$tmp/int/summary.json" counts.n)" = "$n_int" ] &&
     [ "$n_int" -lt $limit ]'
ok "...no new request after the signal, and every request the server answered is in the journal" \
    '[ "$(runcheck stats "$slow" completed)" = "$n_int" ] && [ "$(runcheck stats "$slow" generate_requests)" = "$n_int" ] &&
     runcheck journal "$tmp/int/samples.jsonl" "$n_int" >/dev/null'
ok "...the table on stdout is marked partial" 'grep -q "\[partial\]" "$tmp/int.out"'
hint=$(sed -n 's/^ollaeval: interrupted; resume with: //p' "$tmp/int.err")
ok "...stderr names the command that resumes: $hint" \
    '[ -n "$hint" ] && grep -q "^ollaeval scripts/gsm8k.lua .*-o $tmp/int" <<<"$hint" && [ "$(grep -o -- " -o " <<<"$hint" | wc -l)" -eq 1 ]'
# run the hint as printed, with this binary in place of `ollaeval`
eval "\"\$bin\" ${hint#ollaeval }" >/dev/null 2>"$tmp/resume.err"
rc=$?
ok "the printed command resumes the run to completion (exit 0)" \
    '[ $rc -eq 0 ] && [ "$(runcheck get "$tmp/int/summary.json" status)" = complete ]'
ok "...each item scored once, the same metrics as the uninterrupted run" \
    'runcheck journal "$tmp/int/samples.jsonl" $limit >/dev/null && runcheck same "$tmp/ref/summary.json" "$tmp/int/summary.json" >/dev/null'

# --- SIGTERM behaves as the first Ctrl-C ------------------------------------------
"$bin" scripts/gsm8k.lua -m qwen3:8b -e "$slow" --dataset "$synth" --limit $limit -c 4 -q -o "$tmp/term" \
    >/dev/null 2>"$tmp/term.err" &
pid=$!
wait_lines "$tmp/term/samples.jsonl" 4
kill -TERM $pid
wait $pid
rc=$?
ok "SIGTERM: exit 130, summary partial, journal whole" \
    '[ $rc -eq 130 ] && [ "$(runcheck get "$tmp/term/summary.json" status)" = partial ] &&
     runcheck journal "$tmp/term/samples.jsonl" "$(jlines "$tmp/term/samples.jsonl")" >/dev/null'

# --- past the grace period: cancelled, not errors ------------------------------------
start_sim stuck --dataset "$synth" --parallel 4 --fixed-latency-ms 5000
OLLAEVAL_GRACE_MS=300 "$bin" scripts/gsm8k.lua -m qwen3:8b -e "$URL" --dataset "$synth" --limit 8 -c 4 \
    -o "$tmp/grace" >/dev/null 2>"$tmp/grace.err" &
pid=$!
for _ in $(seq 200); do [ "$(runcheck stats "$URL" generating)" -ge 4 ] && break; sleep 0.02; done
kill -INT $pid
t0=$(date +%s%N)
wait $pid
rc=$?
ms=$(ms_since "$t0")
ok "SIGINT with requests stuck past the grace period (300 ms): exit 130 after it (${ms} ms)" \
    '[ $rc -eq 130 ] && [ $ms -ge 250 ] && [ $ms -lt 2000 ]'
ok "...the cancelled requests are not recorded as errors" \
    '[ "$(runcheck get "$tmp/grace/summary.json" counts.errors)" = 0 ] && [ "$(jlines "$tmp/grace/samples.jsonl")" = 0 ]'
ok "...stderr says it is finishing the requests in flight, and how to resume" \
    'grep -q "interrupted: finishing the 4 requests in flight" "$tmp/grace.err" && grep -q "resume with: " "$tmp/grace.err"'
gsm8k -e "$fast" --dataset "$synth" --limit 8 -q -o "$tmp/grace" >/dev/null 2>&1
ok "...and a resume does them all" \
    '[ "$(runcheck get "$tmp/grace/summary.json" status)" = complete ] && runcheck journal "$tmp/grace/samples.jsonl" 8 >/dev/null'

# --- a second SIGINT exits at once, the journal intact ---------------------------------
# stalls of 5 s hold some requests while others finish, so there is a journal
start_sim stall --dataset "$synth" --parallel 8 --fixed-latency-ms 20 --fault-stall 0.2 --stall-ms 5000
"$bin" scripts/gsm8k.lua -m qwen3:8b -e "$URL" --dataset "$synth" --limit $limit -c 8 -o "$tmp/twice" \
    >/dev/null 2>"$tmp/twice.err" &
pid=$!
wait_lines "$tmp/twice/samples.jsonl" 10
kill -INT $pid
sleep 0.2
alive=0; kill -0 $pid 2>/dev/null && alive=1
kill -INT $pid
t0=$(date +%s%N)
wait $pid
rc=$?
ms=$(ms_since "$t0")
ok "still waiting for the stalled requests after the first SIGINT" '[ $alive -eq 1 ]'
ok "second SIGINT: exit 130 at once (${ms} ms)" '[ $rc -eq 130 ] && [ $ms -lt 500 ]'
ok "...saying so" 'grep -q "interrupted twice: exiting now; the journal is intact" "$tmp/twice.err"'
n_twice=$(jlines "$tmp/twice/samples.jsonl")
ok "...every journal line is a whole record ($n_twice lines)" \
    '[ "$n_twice" -ge 10 ] && runcheck journal "$tmp/twice/samples.jsonl" "$n_twice" >/dev/null'
gsm8k -e "$fast" --dataset "$synth" --limit $limit -q -o "$tmp/twice" >/dev/null 2>&1
rc=$?
ok "...and a resume completes it with the metrics of the uninterrupted run" \
    '[ $rc -eq 0 ] && runcheck journal "$tmp/twice/samples.jsonl" $limit >/dev/null &&
     runcheck same "$tmp/ref/summary.json" "$tmp/twice/summary.json" >/dev/null'

done_testing
