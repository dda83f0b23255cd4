#!/usr/bin/env bash
# test-streams.sh: streamed answers against a hostile server of our own
# (tests/lib/hostile.c, built here with cc): an endless stream ends as a
# clear error with memory bounded by the body cap (64 MiB), never growing
# until the timeout; a malformed final chunk (no message, a content that is
# not a string, `choices: []`) is a protocol failure that is retried, as in
# the non-streamed path (where done:false is one too); a Retry-After
# given as an HTTP-date is waited out; a redirected POST stays a POST.
set -u
. tests/lib/harness.sh
cc -O1 -o "$tmp/hostile" tests/lib/hostile.c || { echo "Bail out! cannot build tests/lib/hostile.c"; exit 1; }
cat >"$tmp/client.lua" <<'LUA'
-- client.lua URL stream|plain RETRIES: one chat; prints the outcome and VmHWM (KiB)
local url, stream, retries = arg[1], arg[2] == "stream", tonumber(arg[3])
local r, err, kind, info = chat { model = "m", endpoint = url, stream = stream, retries = retries,
    messages = { { role = "user", content = "2+2?" } } }
local hwm = io.open("/proc/self/status"):read("a"):match("VmHWM:%s*(%d+)")
if r then print(string.format("ok\t%s\t%d\t%d\t%s", r.content, r.attempts, r.overloads, hwm))
else print(string.format("err\t%s\t%s\t%d\t%s", kind, err, info.attempts, hwm)) end
LUA
hpids=()
hostile() { # MODE N: starts the server, sets HURL
    "$tmp/hostile" "$@" >"$tmp/h.port" & hpids+=($!)
    for _ in $(seq 100); do [ -s "$tmp/h.port" ] && break; sleep 0.02; done
    HURL=http://127.0.0.1:$(cat "$tmp/h.port"); : >"$tmp/h.port"
}
client() { OLLAEVAL_BACKOFF_MS=5 "$bin" --trust --timeout 20 "$tmp/client.lua" "$@"; }

hostile endless 0
t0=$(date +%s%N)
out=$(client "$HURL" stream 0)
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
hwm=$(echo "$out" | cut -f5)
echo "# endless stream: $out (${ms} ms)"
ok "an endless stream ends as a protocol error naming the cap, long before the 20 s timeout (${ms} ms)" \
    '[ "$(echo "$out" | cut -f2)" = protocol ] && echo "$out" | grep -q "streamed text exceeds the cap of 67108864 bytes" && [ $ms -lt 10000 ]'
# the bound is the cap plus the buffer's growth (ASan's quarantine adds its own)
case "$bin" in *asan*) bound=1024 ;; *) bound=200 ;; esac
ok "...memory stays bounded by the cap: peak RSS $((hwm / 1024)) MiB < $bound MiB (it grew ~380 MB/s without it)" \
    '[ "$hwm" -lt $((bound * 1024)) ]'

for m in nomsg content42; do
    hostile $m 1
    out=$(client "$HURL" stream 2)
    ok "streamed final chunk '$m' then a good answer: retried, scored on attempt 2 ($out)" \
        '[ "$(echo "$out" | cut -f1-3)" = "ok	The answer is 4.	2" ]'
    hostile $m 0
    out=$(client "$HURL" stream 1)
    ok "...always '$m': a protocol error after 2 attempts, never an empty answer ($out)" \
        '[ "$(echo "$out" | cut -f2)" = protocol ] && [ "$(echo "$out" | cut -f4)" = 2 ]'
done
hostile sse-empty 1
out=$(client "$HURL/v1" stream 2)
ok "SSE 'choices: []' then [DONE], then a good stream: retried, scored ($out)" \
    '[ "$(echo "$out" | cut -f1-3)" = "ok	The answer is 4.	2" ]'
hostile sse-empty 0
out=$(client "$HURL/v1" stream 0)
ok "...always: a protocol error naming the empty choices ($out)" \
    '[ "$(echo "$out" | cut -f2)" = protocol ] && echo "$out" | grep -q "no choice"'

hostile notdone 1
out=$(client "$HURL" plain 2)
ok "a non-streamed answer with done:false: a protocol failure, retried, scored on attempt 2 ($out)" \
    '[ "$(echo "$out" | cut -f1-3)" = "ok	The answer is 4.	2" ]'

hostile redirect 0
out=$(client "$HURL" plain 0)
ok "a 301 on /api/chat: the POST is sent again to the new place, not turned into a GET ($out)" \
    '[ "$(echo "$out" | cut -f1-3)" = "ok	The answer is 4.	1" ]'

hostile 429-date 1
t0=$(date +%s%N)
out=$(client "$HURL" plain 0)
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
ok "429 with Retry-After as an HTTP-date 2 s ahead: waited out (${ms} ms), 1 attempt, 1 overload ($out)" \
    '[ "$(echo "$out" | cut -f1,3,4)" = "ok	1	1" ] && [ $ms -ge 900 ] && [ $ms -lt 5000 ]'

for p in "${hpids[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
done_testing
