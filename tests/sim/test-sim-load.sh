#!/usr/bin/env bash
# test-sim-load.sh: the simulator's load model: P slots per model, a FIFO
# queue of at most Q behind them and the exact 503 beyond it, decode time
# that grows with active slots, load time, client disconnects freeing
# their slot, and /stats. Prints TAP.
set -u
. tests/lib/harness.sh
sims_under_valgrind

BUSY='{"error":"server busy, please try again.  maximum pending requests exceeded"}'
MSG='"messages":[{"role":"user","content":"hello"}]'

# P=2 slots, Q=3 queue places, 8 concurrent clients: 5 served, 3 get 503.
start_sim --parallel 2 --max-queue 3 --fixed-latency-ms 1000
for i in $(seq 8); do
    curl -s -o "$tmp/r$i" -w '%{http_code}' "$URL/api/chat" \
        -d '{"model":"qwen3:8b","stream":false,"messages":[{"role":"user","content":"c'$i'"}]}' >"$tmp/s$i" &
done
for _ in $(seq 100); do [ "$(stat queued)" = 3 ] && break; sleep 0.02; done # all 8 arrived
g=$(stat generating) q=$(stat queued)
check "during the burst: 2 generating, 3 queued" eval '[ "$g" = 2 ] && [ "$q" = 3 ]'
wait $(jobs -p | grep -v -F "$(printf '%s\n' "${sim_pids[@]}")") 2>/dev/null
n200=$(cat "$tmp"/s* | grep -o 200 | wc -l) n503=$(cat "$tmp"/s* | grep -o 503 | wc -l)
check "5 answered, 3 rejected with 503" eval '[ "$n200" = 5 ] && [ "$n503" = 3 ]'
f503=$(grep -lF "$BUSY" "$tmp"/r* | wc -l)
check "503 body is the exact Ollama message (two spaces)" [ "$f503" = 3 ]
check "/stats max_generating is 2 (= --parallel)" [ "$(stat max_generating)" = 2 ]
check "/stats max_queued is 3 (= --max-queue)" [ "$(stat max_queued)" = 3 ]
check "/stats http_503 is 3" [ "$(stat http_503)" = 3 ]
check "/stats completed is 5, nothing left running" eval '[ "$(stat completed)" = 5 ] && [ "$(stat generating)" = 0 ] && [ "$(stat queued)" = 0 ]'
busy=$(curl -s "$URL/stats" | grep -oE '"slot_busy_ms":[0-9]+' | cut -d: -f2)
check "/stats slot_busy_ms about 5 x 1000" eval '[ "$busy" -ge 4900 ] && [ "$busy" -le 6200 ]'

# FIFO: with one slot, requests finish in arrival order.
# Each request is sent once the previous one has arrived (so arrival order
# is known whatever the machine's load).
start_sim --parallel 1 --fixed-latency-ms 200
rm -f "$tmp/order"
for i in 1 2 3 4; do
    (curl -s -o /dev/null "$URL/api/generate" -d '{"model":"qwen3:8b","stream":false,"prompt":"p'$i'"}'; echo $i >>"$tmp/order") &
    for _ in $(seq 200); do [ "$(stat generate_requests)" = "$i" ] && break; sleep 0.01; done
done
wait $(jobs -p | grep -v -F "$(printf '%s\n' "${sim_pids[@]}")") 2>/dev/null
check "one slot: FIFO order" [ "$(tr -d '\n' <"$tmp/order")" = 1234 ]
start_sim --parallel 1 --fixed-latency-ms 100

# A client that goes away frees its slot (and its queue place).
curl -s -m 0.1 "$URL/api/generate" -d '{"model":"qwen3:8b","stream":false,"prompt":"gone"}' >/dev/null
sleep 0.05
check "disconnected client: slot freed" eval '[ "$(stat generating)" = 0 ]'
t=$(curl -s -o /dev/null -w '%{time_total}' "$URL/api/generate" -d '{"model":"qwen3:8b","stream":false,"prompt":"next"}')
check "next request gets the slot at once (~100 ms)" eval '[ "$(awk "BEGIN{print ($t < 0.3)}")" = 1 ]'

# Decode time: step = token-ms * (1 + penalty * (active - 1)).
start_sim --parallel 4 --token-ms 10 --batch-penalty 0.5 --tokens-min 20 --tokens-max 20 --prefill-ms-per-token 0
evald() { grep -oE '"eval_duration":[0-9]+' "$1" | cut -d: -f2; }
curl -s -o "$tmp/solo" "$URL/api/chat" -d '{"model":"llama3.2:3b","stream":false,'"$MSG"'}'
for i in 1 2 3 4; do
    curl -s -o "$tmp/par$i" "$URL/api/chat" -d '{"model":"llama3.2:3b","stream":false,"messages":[{"role":"user","content":"m'$i'"}]}' &
done
wait $(jobs -p | grep -v -F "$(printf '%s\n' "${sim_pids[@]}")") 2>/dev/null
solo=$(evald "$tmp/solo") par=$(cat "$tmp"/par* | grep -oE '"eval_duration":[0-9]+' | cut -d: -f2 | sort -n | tail -n1)
check "solo: 20 tokens at 10 ms (~200 ms eval_duration)" eval '[ "$solo" -ge 180000000 ] && [ "$solo" -le 320000000 ]'
check "4 active slots: each request slower (batch penalty)" eval '[ "$par" -ge $((solo * 3 / 2)) ]'
check "tokens counted in /stats" [ "$(stat tokens)" = 100 ]
curl -s -o "$tmp/st" "$URL/api/chat" -d '{"model":"llama3.2:3b",'"$MSG"'}'
check "streaming: one NDJSON line per token plus the final one" [ "$(wc -l <"$tmp/st")" = 21 ]

# Load time: only the first request to a model pays it.
start_sim --load-time 300 --time-scale 1 --token-ms 1 --tokens-min 5 --tokens-max 5
loadd() { grep -oE '"load_duration":[0-9]+' "$1" | cut -d: -f2; }
curl -s "$URL/api/ps" -o "$tmp/ps0"
curl -s -o "$tmp/l1" "$URL/api/chat" -d '{"model":"llama3.2:3b","stream":false,'"$MSG"'}'
curl -s -o "$tmp/l2" "$URL/api/chat" -d '{"model":"llama3.2:3b","stream":false,'"$MSG"'}'
check "first request: load_duration >= 300 ms" [ "$(loadd "$tmp/l1")" -ge 290000000 ]
check "second request: load_duration small" [ "$(loadd "$tmp/l2")" -lt 50000000 ]
curl -s "$URL/api/ps" -o "$tmp/ps1"
check "/api/ps: empty before, the model after" eval 'grep -qF "{\"models\":[]}" "$tmp/ps0" && grep -q "\"name\":\"llama3.2:3b\".*\"context_length\":4096" "$tmp/ps1"'

# Time scale 0: many requests, keep-alive, all answered.
start_sim --time-scale 0
urls=()
for i in $(seq 200); do urls+=(-o /dev/null "$URL/api/generate?i=$i"); done
codes=$(curl -s -w '%{http_code}\n' -X POST -d '{"model":"llama3.2:3b","stream":false,"prompt":"x"}' "${urls[@]}" | sort | uniq -c | tr -s ' ')
check "200 keep-alive requests at time scale 0" [ "$codes" = " 200 200" ]

finish
