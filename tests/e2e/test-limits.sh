#!/usr/bin/env bash
# test-limits.sh: input limits at the command line. Seconds must be finite and
# at least 1 ms (inf, nan and 0.0001 would mean "no timeout" or an
# unserialisable summary); -c is capped at 4096 with a message, and a huge
# -c spawns no more workers than items (it stays small in memory).
set -u
. tests/lib/harness.sh
synth_data
for v in inf nan 0.0001 1e7 -1; do
    "$bin" --timeout "$v" scripts/gsm8k.lua >/dev/null 2>"$tmp/e"
    rc=$?
    ok "--timeout $v: a usage error (exit 2), one line" '[ $rc -eq 2 ] && [ "$(grep -c . "$tmp/e")" -eq 1 ] && grep -q -- "--timeout" "$tmp/e"'
done
"$bin" --idle-timeout 0.0001 scripts/gsm8k.lua >/dev/null 2>"$tmp/e"
ok "--idle-timeout 0.0001: out of range (exit 2)" '[ $? -eq 2 ] && grep -q "out of range" "$tmp/e"'
start_sim --time-scale 0 --dataset "$synth"
cat >"$tmp/rss.lua" <<'LUA'
local n = 0
map(function() n = n + 1; if n <= 10 then return n end end, function() sleep(1) end)
print(io.open("/proc/self/status"):read("a"):match("VmHWM:%s*(%d+)"))
LUA
out=$("$bin" --trust -c 2147483647 -e "$URL" "$tmp/rss.lua" 2>"$tmp/e")
rc=$?
ok "-c 2147483647: capped at 4096, saying so" '[ $rc -eq 0 ] && grep -q "capped at 4096" "$tmp/e"'
ok "...10 items run in small memory (peak $((out / 1024)) MiB < 100 MiB)" '[ "$out" -lt 102400 ]'
gsm8k -e "$URL" --dataset "$synth" -o "$tmp/big" --limit 20 -c 100000 -q >/dev/null 2>&1
ok "a run with -c 100000: every item scored, exit 0" '[ $? -eq 0 ] && runcheck journal "$tmp/big/samples.jsonl" 20 >/dev/null'
stop_sim "$PID"
done_testing
