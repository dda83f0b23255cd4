#!/usr/bin/env bash
# test-sim-faults.sh: each injected fault kind (500, 503, 429, close, reset,
# stream error, truncate, stall, html), the schedule flags, determinism of
# rate-based faults with retries that can succeed, and the /stats counts.
# Prints TAP.
set -u
. tests/lib/harness.sh
sims_under_valgrind

CHAT='{"model":"llama3.2:3b","messages":[{"role":"user","content":"hello"}]'
OAI='{"model":"llama3.2:3b","stream":true,"messages":[{"role":"user","content":"hello"}]'
COMMON="--time-scale 0 --tokens-min 10 --tokens-max 10"
# rc_of CURLARGS...: curl's exit code; body in $tmp/b.
rc_of() { rm -f "$tmp/b"; curl -s -o "$tmp/b" "$@"; echo $?; }

start_sim $COMMON --fault-500 1
req POST /api/chat -d "$CHAT"'}'
check "500 fault: status and Ollama error body" eval 'is 500 && has "{\"error\":\"model runner has unexpectedly stopped"'
req POST /v1/chat/completions -d "$OAI"'}'
check "500 fault on /v1: api_error" eval 'is 500 && has "\"type\":\"api_error\""'
check "/stats counts 500 faults" eval '[ "$(curl -s "$URL/stats" | grep -oE "\"500\":[0-9]+")" = "\"500\":2" ]'

start_sim $COMMON --fault-503 1
req POST /api/chat -d "$CHAT"'}'
check "503 fault: exact busy message" eval 'is 503 && body_is "{\"error\":\"server busy, please try again.  maximum pending requests exceeded\"}"'
check "/stats http_503" [ "$(stat http_503)" = 1 ]

start_sim $COMMON --fault-429 1
req POST /v1/chat/completions -d "$OAI"'}'
check "429 fault: Retry-After: 1" eval 'is 429 && hdr "Retry-After: 1" && has "\"error\":{"'

start_sim $COMMON --fault-close 1
rc=$(rc_of "$URL/api/chat" -d "$CHAT"'}')
check "close fault: connection closed, nothing sent (curl 52)" eval '[ "$rc" = 52 ] && [ ! -s "$tmp/b" ]'
check "the server survives a closed connection" eval 'req GET /api/version; is 200'

start_sim --time-scale 0 --tokens-min 10 --tokens-max 10 --fault-reset 1
rc=$(rc_of "$URL/api/chat" -d "$CHAT"'}')
check "reset fault, streaming: part of the stream, then RST (curl 56)" eval '[ "$rc" = 56 ] && grep -q "\"done\":false" "$tmp/b" && ! grep -q "\"done\":true" "$tmp/b"'
rc=$(rc_of "$URL/api/chat" -d "$CHAT"',"stream":false}')
check "reset fault, non-streaming: body cut, connection reset" eval '[ "$rc" = 56 ] || [ "$rc" = 18 ]'
check "/stats counts resets" [ "$(stat reset)" = 2 ]

start_sim $COMMON --fault-stream-error 1
req POST /api/chat -d "$CHAT"'}'
check "stream error: 200, error line last, no done:true" eval 'is 200 && tail -n1 "$tmp/b" | grep -qxF "{\"error\":\"an error was encountered while running the model\"}" && ! has "\"done\":true"'
req POST /v1/chat/completions -d "$OAI"'}'
check "stream error on /v1: data: {\"error\"...}, no [DONE]" eval 'has "data: {\"error\":{\"message\":" && ! has "[DONE]"'
req POST /api/chat -d "$CHAT"',"stream":false}'
check "stream error when not streaming: 500" eval 'is 500 && has "an error was encountered"'

start_sim $COMMON --fault-truncate 1
req POST /api/chat -d "$CHAT"',"stream":false}'
len=$(grep -i '^Content-Length:' "$tmp/h" | tr -dc 0-9)
check "truncate: 200, body shorter than full JSON, length matches" eval 'is 200 && [ "$len" = "$(wc -c <"$tmp/b")" ] && ! has "\"done\":true"'
req POST /api/chat -d "$CHAT"'}'
check "truncate, streaming: last line cut, no done:true" eval 'is 200 && ! tail -n1 "$tmp/b" | grep -q "}$" && ! has "\"done\":true"'

start_sim $COMMON --fault-stall 1 --stall-ms 300
t=$(curl -s -o "$tmp/b" -w '%{time_total}' "$URL/api/chat" -d "$CHAT"'}')
check "stall: ~300 ms without bytes, then a complete stream" eval '[ "$(awk "BEGIN{print ($t >= 0.28)}")" = 1 ] && grep -q "\"done\":true" "$tmp/b"'
t=$(curl -s -o "$tmp/b" -w '%{time_total}' "$URL/api/chat" -d "$CHAT"',"stream":false}')
check "stall, non-streaming: delayed but complete" eval '[ "$(awk "BEGIN{print ($t >= 0.28)}")" = 1 ] && grep -q "\"done\":true" "$tmp/b"'

start_sim $COMMON --fault-html 1
req POST /api/generate -d '{"model":"llama3.2:3b","prompt":"x"}'
check "html fault: 502 text/html page" eval 'is 502 && hdr "Content-Type: text/html" && has "<html>"'

start_sim $COMMON --fault-500 1 --fault-first 2
c=""
for i in 1 2 3 4; do req POST /api/chat -d "$CHAT"',"stream":false}'; c+="$S "; done
check "--fault-first 2: two 500s, then success" [ "$c" = "500 500 200 200 " ]
start_sim $COMMON --fault-503 1 --fault-after 2
c=""
for i in 1 2 3; do req POST /api/chat -d "$CHAT"',"stream":false}'; c+="$S "; done
check "--fault-after 2: faults from the third request" [ "$c" = "200 200 503 " ]
start_sim $COMMON --fault-500 1 --fault-close 1 --fault-first 2
req POST /api/chat -d "$CHAT"',"stream":false}'
rc=$(rc_of "$URL/api/chat" -d "$CHAT"',"stream":false}')
check "--fault-first with two kinds: they take turns" eval 'is 500 && [ "$rc" = 52 ]'

# Rates: deterministic per (seed, prompt, attempt); retries can succeed.
# Not run in $(...): a simulator started in a subshell would not reach sim_pids,
# so finish() would neither stop nor check it.
run_rates() {
    start_sim $COMMON --fault-500 0.5 --seed 5
    RATES=""
    for p in a b c d e f g h; do
        for try in 1 2 3 4 5 6 7 8; do
            req POST /api/chat -d '{"model":"llama3.2:3b","stream":false,"messages":[{"role":"user","content":"'$p'"}]}'
            [ "$S" = 200 ] && break
        done
        RATES+="$p$try "
    done
}
run_rates; r1=$RATES
run_rates; r2=$RATES
check "rate 0.5: every prompt succeeds within 8 retries" eval '! echo "$r1" | grep -q "[a-h]8 \|^$"'
check "rate 0.5: same seed gives the same failures ($r1)" [ "$r1" = "$r2" ]
check "rate 0.5: some prompts needed retries" eval 'echo "$r1" | grep -q "[a-h][2-7]"'

finish
