#!/usr/bin/env bash
# test-unstreamed.sh: servers that ignore stream:true and answer one JSON
# body (an OpenAI-compatible /v1 server, or /api/chat behind a proxy that
# buffers), against the hostile server (tests/lib/hostile.c, mode nostream).
# In auto mode (the default) requests stream on the wire to count first
# tokens; such an answer must still be taken as a whole answer (http.c sees
# its Content-Type and first byte), and the window's controller, which saw
# no first token, falls back from the first-token gate (Little's law with
# Ollama's timings, else a throughput search). With --stream, or an
# on_token callback, the same holds: on_token gets the whole text at once.
set -u
. tests/lib/harness.sh
synth_data
cc -O1 -o "$tmp/hostile" tests/lib/hostile.c || { echo "Bail out! cannot build tests/lib/hostile.c"; exit 1; }
cat >"$tmp/client.lua" <<'LUA'
-- client.lua URL plain|stream|token: one chat; prints the outcome
local url, how = arg[1], arg[2]
local got = {}
local r, err, kind = chat { model = "m", endpoint = url, stream = how ~= "plain", retries = 0,
    on_token = how == "token" and function(c) got[#got + 1] = c end or nil,
    messages = { { role = "user", content = "2+2?" } } }
if r then print(string.format("ok\t%s\t%s\t%s\t%d", r.content, tostring(r.prompt_tokens),
    tostring(r.completion_tokens), #got))
else print(string.format("err\t%s\t%s", kind, err)) end
LUA
hpids=()
hostile() { # MODE N: starts the server, sets HURL
    "$tmp/hostile" "$@" >"$tmp/h.port" & hpids+=($!)
    for _ in $(seq 100); do [ -s "$tmp/h.port" ] && break; sleep 0.02; done
    HURL=http://127.0.0.1:$(cat "$tmp/h.port"); : >"$tmp/h.port"
}

hostile nostream 0
for api in "" /v1; do
    name=${api:-/api/chat}
    out=$("$bin" --trust --timeout 10 "$tmp/client.lua" "$HURL$api" plain)
    ok "$name ignores stream:true (auto mode streams on the wire): one JSON body taken as the answer ($out)" \
        '[ "$(echo "$out" | cut -f1-4)" = "ok	The answer is 4.	5	6" ]'
    out=$("$bin" --trust --timeout 10 "$tmp/client.lua" "$HURL$api" stream)
    ok "...asked to stream (--stream): the same answer ($out)" '[ "$(echo "$out" | cut -f1-4)" = "ok	The answer is 4.	5	6" ]'
    out=$("$bin" --trust --timeout 10 -c 2 "$tmp/client.lua" "$HURL$api" token)
    ok "...a fixed window with on_token: on_token gets the whole text once ($out)" \
        '[ "$(echo "$out" | cut -f1,2,5)" = "ok	The answer is 4.	1" ]'
done

hostile ndjson-json 0
out=$("$bin" --trust --timeout 10 "$tmp/client.lua" "$HURL" plain)
ok "an NDJSON stream labelled application/json (a proxy) is still read as the stream it is ($out)" \
    '[ "$(echo "$out" | cut -f1-4)" = "ok	The answer is 4.	5	6" ]'
hostile nostream 0

# a whole run in auto mode: every item scored; the controller fell back
for api in /v1 ""; do
    name=${api:-/api/chat}
    "$bin" scripts/gsm8k.lua -q -m m -e "$HURL$api" --dataset "$synth" --limit 30 -o "$tmp/run$api" \
        >"$tmp/run.out" 2>"$tmp/run.err"
    rc=$?
    ok "$name, auto mode, 30 items: exit 0 ($rc), 30 scored, no errors" \
        '[ $rc -eq 0 ] && [ "$(get "$tmp/run$api/summary.json" counts.scored)" = 30 ] &&
         [ "$(get "$tmp/run$api/summary.json" counts.errors)" = 0 ]'
    if [ -z "$api" ]; then why="single-chunk responses: Little's law on server timings"
    else why="single-chunk responses and no server timings: throughput search"; fi
    ok "...the window left the first-token gate: \"$why\" in window.jsonl" 'grep -qF "\"reason\":\"$why\"" "$tmp/run$api/window.jsonl"'
done

for p in "${hpids[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
done_testing
