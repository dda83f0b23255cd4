#!/usr/bin/env bash
# test-sim-capacity.sh: what a concurrency controller and a bench measure
# against: a slot count that changes during a run (--parallel-schedule),
# 503s only while a model loads (--queue-limit loading) beside the fixed
# --max-queue limit, Ollama's server timings (consistent with the simulated
# delays, queue wait = total - load - prompt - eval), llama-server's
# "timings" on /v1 (--v1-timings), and the /stats fields they read. Prints TAP.
set -u
. tests/lib/harness.sh
sims_under_valgrind

BUSY='{"error":"server busy, please try again.  maximum pending requests exceeded"}'
# burst N PREFIX [JSON fields]: N concurrent chats in the background, bodies in
# $tmp/PREFIX.bN, statuses in $tmp/PREFIX.sN
burst() {
    local i
    for i in $(seq "$1"); do
        curl -s -o "$tmp/$2.b$i" -w '%{http_code}' "$URL/api/chat" \
            -d '{"model":"llama3.2:3b","stream":false'"${3:-}"',"messages":[{"role":"user","content":"'"$2 $i"'"}]}' >"$tmp/$2.s$i" &
    done
}
waitall() { wait $(jobs -p | grep -v -F "$(printf '%s\n' "${sim_pids[@]}")") 2>/dev/null; }
count() { cat "$tmp/$1".s* | grep -o "$2" | wc -l; }
ms() { grep -oE "\"$2\":[0-9]+" "$1" | tail -n1 | cut -d: -f2; }
until_stat() { # until_stat KEY VALUE: polls /stats for up to 5 s
    local _
    for _ in $(seq 100); do [ "$(stat "$1")" = "$2" ] && return 0; sleep 0.05; done
    return 1
}

# ---- a slot schedule: 1 slot, 3 from 15 s, 2 from 30 s of simulated time
# (at --time-scale 0.1: 1.5 s and 3 s of real time)
start_sim --time-scale 0.1 --parallel-schedule 0:1,15:3,30:2 --fixed-latency-ms 6000
check "/stats slots: 1 at the start" [ "$(stat slots)" = 1 ]
burst 6 sched
check "6 requests on 1 slot: 1 generating, 5 queued" eval 'until_stat queued 5 && [ "$(stat generating)" = 1 ]'
check "at 15 simulated seconds: 3 slots" until_stat slots 3
check "... and the queue admitted into them: 3 generating, 3 queued" eval 'until_stat generating 3 && [ "$(stat queued)" = 3 ]'
check "at 30 simulated seconds: 2 slots" until_stat slots 2
check "... running requests finish, none admitted: 3 generating, 3 queued" eval '[ "$(stat generating)" = 3 ] && [ "$(stat queued)" = 3 ]'
check "/stats max_queued 5" [ "$(stat max_queued)" = 5 ]
stop_sim "$PID"
waitall
for bad in "0:4,0:8" "4" "0:0" "10:2,5:3" "0:4,x"; do
    "$bin" sim --parallel-schedule "$bad" >/dev/null 2>"$tmp/e"; rc=$?
    check "--parallel-schedule '$bad' refused (exit 2, one line)" eval '[ $rc = 2 ] && grep -q -- "--parallel-schedule" "$tmp/e" && [ $(wc -l <"$tmp/e") = 1 ]'
done
"$bin" sim --queue-limit sometimes >/dev/null 2>"$tmp/e"; rc=$?
check "--queue-limit sometimes refused" eval '[ $rc = 2 ] && grep -q -- "--queue-limit" "$tmp/e"'

# ---- 503 only while loading (Ollama since v0.11.5)
LOADQ="--parallel 1 --max-queue 1 --load-time 800 --token-ms 4 --tokens-min 50 --tokens-max 50 --prefill-ms-per-token 0"
start_sim $LOADQ --queue-limit loading
burst 1 cold
sleep 0.2
burst 4 loading
waitall
check "while loading: 1 + 1 queued served, 3 get 503" eval '[ "$(count cold 200)$(count loading 200)" = 11 ] && [ "$(count loading 503)" = 3 ]'
check "... with the exact busy body" eval '[ "$(grep -lF "$BUSY" "$tmp"/loading.b* | wc -l)" = 3 ]'
burst 12 warm
waitall
check "warm: 12 at once on 1 slot and a queue of 1, no 503" eval '[ "$(count warm 200)" = 12 ]'
mq=$(stat max_queued)
check "/stats: http_503 3, max_queued $mq > --max-queue (unbounded when warm)" eval '[ "$(stat http_503)" = 3 ] && [ "$mq" -ge 3 ]'
start_sim $LOADQ
burst 1 cold2
sleep 0.2
burst 4 loading2
waitall
burst 12 warm2
waitall
check "--queue-limit always (default): the warm burst gets 503s too ($(count warm2 503) of 12)" eval '[ "$(count warm2 503)" -ge 5 ] && [ "$(stat max_queued)" = 1 ]'

# ---- the context window: truncation and reloads
start_sim --time-scale 0 --num-ctx 100
x120=$(printf 'e%.0s' $(seq 120))
FEW='{"role":"system","content":"You are careful here."},{"role":"user","content":"'$x120'"},{"role":"assistant","content":"'$x120'"},{"role":"user","content":"'$x120'"},{"role":"user","content":"and now the real question?"}'
# bytes: 20+4, 3 x (120+4), 26+4 = 426: 107 tokens; without the oldest exemplar 302: 76
req POST /api/chat -d '{"model":"llama3.2:3b","stream":false,"messages":['"$FEW"']}'
check "--num-ctx 100: a 107-token chat loses its oldest exemplar (76 tokens), silently" eval 'is 200 && has "\"prompt_eval_count\":76," && [ "$(stat truncated_prompts)" = 1 ]'
req POST /api/chat -d '{"model":"llama3.2:3b","stream":false,"truncate":false,"messages":['"$FEW"']}'
check "truncate:false: 400 the input length exceeds the context length" eval 'is 400 && body_is "{\"error\":\"the input length exceeds the context length\"}"'
req POST /api/chat -d '{"model":"llama3.2:3b","stream":false,"truncate":false,"options":{"num_ctx":1000},"messages":['"$FEW"']}'
check "the request's num_ctx wins: it fits (107 tokens)" eval 'is 200 && has "\"prompt_eval_count\":107,"'
req POST /api/generate -d '{"model":"qwen3:8b","stream":false,"think":false,"prompt":"'"$(printf 'p%.0s' $(seq 1000))"'"}'
check "a prompt that cannot fit is cut to the context (100)" eval 'is 200 && has "\"prompt_eval_count\":100,"'
req POST /v1/chat/completions -d '{"model":"llama3.2:3b","messages":['"$FEW"']}'
check "/v1 has no num_ctx: --num-ctx applies" eval 'is 200 && has "\"prompt_tokens\":76,"'
req POST /api/chat -d '{"model":"llama3.2:3b","stream":false,"truncate":"no","messages":['"$FEW"']}'
check "truncate of the wrong type: 400" eval 'is 400 && has "ChatRequest.truncate of type *bool"'

start_sim --load-time 300 --token-ms 1 --tokens-min 5 --tokens-max 5 --prefill-ms-per-token 0 --parallel 1 --max-queue 0 --queue-limit loading
ctxchat() { curl -s -o "$tmp/$1" -w '%{http_code}' "$URL/api/chat" -d '{"model":"llama3.2:3b","stream":false,"options":{"num_ctx":'"$2"'},"messages":[{"role":"user","content":"'"$1"'"}]}' >"$tmp/$1.s"; }
ctxchat c1 2048; ctxchat c2 2048
check "same num_ctx: loaded once (load_duration 300 ms, then none)" eval '[ "$(ms "$tmp/c1" load_duration)" -ge 290000000 ] && [ "$(ms "$tmp/c2" load_duration)" -lt 50000000 ] && [ "$(stat reloads)" = 0 ]'
ctxchat c3 4096 &
sleep 0.1
ctxchat c4 4096
waitall
check "another num_ctx reloads the model (300 ms again, /stats reloads 1)" eval '[ "$(ms "$tmp/c3" load_duration)" -ge 290000000 ] && [ "$(stat reloads)" = 1 ]'
check "... and a request during the reload gets the busy 503 (--queue-limit loading)" eval '[ "$(cat "$tmp/c4.s")" = 503 ] && grep -qF "$BUSY" "$tmp/c4"'
check "/api/ps shows the new context" eval 'curl -s "$URL/api/ps" | grep -q "\"context_length\":4096"'

# ---- Ollama's timings
start_sim --parallel 1 --load-time 300 --token-ms 10 --tokens-min 20 --tokens-max 20 --prefill-ms-per-token 1
long=$(printf 'x%.0s' $(seq 400)) # 401 bytes + 4 per message: 102 prompt tokens, 102 ms of prefill
for i in 1 2; do
    curl -s -o "$tmp/t$i" "$URL/api/chat" -d '{"model":"llama3.2:3b","stream":false,"messages":[{"role":"user","content":"'"$long$i"'"}]}' &
    sleep 0.05
done
waitall
for i in 1 2; do
    eval "tot$i=\$(ms $tmp/t$i total_duration) ld$i=\$(ms $tmp/t$i load_duration) pe$i=\$(ms $tmp/t$i prompt_eval_duration) ev$i=\$(ms $tmp/t$i eval_duration)"
done
check "counts: prompt_eval_count 102, eval_count 20" eval '[ "$(ms "$tmp/t1" prompt_eval_count)" = 102 ] && [ "$(ms "$tmp/t1" eval_count)" = 20 ]'
check "first request: load_duration ~300 ms ($((ld1 / 1000000)))" eval '[ "$ld1" -ge 290000000 ] && [ "$ld1" -le 450000000 ]'
check "prompt_eval_duration ~102 ms ($((pe1 / 1000000)))" eval '[ "$pe1" -ge 101000000 ] && [ "$pe1" -le 104000000 ]'
check "eval_duration ~200 ms ($((ev1 / 1000000)))" eval '[ "$ev1" -ge 190000000 ] && [ "$ev1" -le 400000000 ]'
check "first request: hardly any queue wait (total - parts = $(((tot1 - ld1 - pe1 - ev1) / 1000000)) ms)" eval '[ $((tot1 - ld1 - pe1 - ev1)) -ge 0 ] && [ $((tot1 - ld1 - pe1 - ev1)) -lt 50000000 ]'
w2=$(((tot2 - ld2 - pe2 - ev2) / 1000000))
check "second request waited for the slot: total - parts = $w2 ms (~550)" eval '[ "$w2" -ge 450 ] && [ "$w2" -le 1500 ]'
check "second request: no load time left to pay" eval '[ "$ld2" -lt 50000000 ]'
curl -s -o "$tmp/ts" "$URL/api/chat" -d '{"model":"llama3.2:3b","messages":[{"role":"user","content":"'"$long"'"}]}'
check "streamed: the final NDJSON line has the same timings" eval 'tail -n1 "$tmp/ts" | grep -qE "\"done\":true,.*\"total_duration\":[0-9]+,\"load_duration\":[0-9]+,\"prompt_eval_count\":102,\"prompt_eval_duration\":1[0-9]{8},\"eval_count\":20,\"eval_duration\":[0-9]+"'
req POST /v1/chat/completions -d '{"model":"llama3.2:3b","messages":[{"role":"user","content":"hi"}]}'
check "/v1 without --v1-timings: no timings (as Ollama)" eval 'is 200 && lacks "\"timings\""'

start_sim --time-scale 0.1 --token-ms 10 --tokens-min 20 --tokens-max 20 --v1-timings
req POST /v1/chat/completions -d '{"model":"llama3.2:3b","messages":[{"role":"user","content":"hi"}]}'
check "/v1 --v1-timings: llama-server's timings object" eval 'is 200 && hasre "\"usage\":\{[^}]*\},\"timings\":\{\"cache_n\":0,\"prompt_n\":[0-9]+,\"prompt_ms\":[0-9.]+,\"prompt_per_token_ms\":[0-9.]+,\"prompt_per_second\":[0-9.]+,\"predicted_n\":20,\"predicted_ms\":[0-9.]+,\"predicted_per_token_ms\":[0-9.]+,\"predicted_per_second\":[0-9.]+\}\}$"'
pms=$(grep -oE '"predicted_ms":[0-9]+' "$tmp/b" | cut -d: -f2)
check "... predicted_ms ~20 (20 tokens at 1 ms: $pms)" eval '[ "$pms" -ge 19 ] && [ "$pms" -le 80 ]'
req POST /v1/chat/completions -d '{"model":"llama3.2:3b","stream":true,"messages":[{"role":"user","content":"hi"}]}'
check "/v1 stream: timings on the finish chunk" eval 'grep -q "\"finish_reason\":\"stop\"}\],\"timings\":{\"cache_n\":0,.*\"predicted_n\":20," "$tmp/b" && [ "$(grep -c timings "$tmp/b")" = 1 ]'

finish
