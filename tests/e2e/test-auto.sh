#!/usr/bin/env bash
# test-auto.sh: -c auto, the default window, against the simulator (a few
# cells of issue 13's grid, at a small --time-scale; the grid with its
# throughput figures is bench/auto.sh). The window settles at slots plus
# the margin, the server's queue stays within the margin, a server without
# a queue costs a few 503s that are all retried, auto:N bounds it, every
# change is in window.jsonl and the finding in summary.json and on stdout;
# --stream still decides what the record holds.
set -u
. tests/lib/harness.sh
synth_data

# 1. 4 slots, a deep queue: settles at 6, nothing queued beyond the margin
start_sim p4 --parallel 4 --time-scale 0.02 --dataset "$synth"
"$bin" scripts/gsm8k.lua -m qwen3:8b -e "$URL" --dataset "$synth" --limit 300 -o "$tmp/p4" >"$tmp/p4.out" 2>"$tmp/p4.err"
rc=$?
curl -s "$URL/stats" > "$tmp/st.json"
ok "auto (the default): exit 0, 300 scored" '[ $rc -eq 0 ] && [ "$(get "$tmp/p4/summary.json" counts.scored)" = 300 ]'
ok "summary.json: the server ran 4 at once, the window settled at 6" \
   '[ "$(get "$tmp/p4/summary.json" window.1.slots)" = 4 ] && [ "$(get "$tmp/p4/summary.json" window.1.window)" = 6 ]'
ok "the finding on stdout" 'grep -q "window *the server ran 4 at once; the window settled at 6" "$tmp/p4.out"'
ok "the server's queue never deeper than the margin (max_queued $(get "$tmp/st.json" max_queued))" \
   '[ "$(get "$tmp/st.json" max_queued)" -le 2 ] && [ "$(get "$tmp/st.json" http_503)" = 0 ]'
ok "window.jsonl: every change, each with its fields" \
   '[ "$(jlines "$tmp/p4/window.jsonl")" -ge 3 ] && head -1 "$tmp/p4/window.jsonl" | grep -q "\"reason\":\"start\"" &&
    grep -q "\"in_flight\":.*\"unconfirmed\":.*\"window\":.*\"cap\":.*\"reason\":" "$tmp/p4/window.jsonl"'
ok "not --stream: the records hold no stream metrics" '! grep -q "ttft_ms" "$tmp/p4/samples.jsonl"'

# 2. --stream: the records hold them
"$bin" scripts/gsm8k.lua -q -m qwen3:8b -e "$URL" --dataset "$synth" --limit 20 --stream -o "$tmp/st" >/dev/null 2>&1
ok "--stream in auto mode: ttft_ms in every record" '[ "$(grep -c ttft_ms "$tmp/st/samples.jsonl")" = 20 ]'

# 3. 2 slots and no queue at all: a few 503s, every one retried, none lost
start_sim q0 --parallel 2 --max-queue 0 --time-scale 0.02 --dataset "$synth"
"$bin" scripts/gsm8k.lua -q -m qwen3:8b -e "$URL" --dataset "$synth" --limit 200 -o "$tmp/q0" >/dev/null 2>&1
rc=$?
curl -s "$URL/stats" > "$tmp/st.json"
n503=$(get "$tmp/st.json" http_503)
ok "no queue: exit 0, 200 scored, no errors" '[ $rc -eq 0 ] && [ "$(get "$tmp/q0/summary.json" counts.scored)" = 200 ]'
ok "no queue: a handful of 503s ($n503), the cap learned" '[ "$n503" -le 9 ] && [ "$(get "$tmp/q0/summary.json" window.1.n503)" = "$n503" ]'

# 4. auto:3 bounds the window; -c 5 is fixed (no window record)
start_sim b --parallel 8 --time-scale 0.02 --dataset "$synth"
"$bin" scripts/gsm8k.lua -q -m qwen3:8b -e "$URL" -c auto:3 --dataset "$synth" --limit 60 -o "$tmp/b3" >/dev/null 2>&1
curl -s "$URL/stats" > "$tmp/st.json"
ok "auto:3: never more than 3 at the server" '[ "$(get "$tmp/st.json" max_generating)" -le 3 ] && [ "$(get "$tmp/b3/summary.json" window.1.max_in_flight)" -le 3 ]'
"$bin" scripts/gsm8k.lua -q -m qwen3:8b -e "$URL" -c 5 --dataset "$synth" --limit 30 -o "$tmp/f5" >/dev/null 2>&1
ok "-c 5: fixed, no window finding in summary.json" '[ "$(get "$tmp/f5/summary.json" counts.scored)" = 30 ] && [ "$(get "$tmp/f5/summary.json" window)" = nil ]'

# 5. -c values
err=$("$bin" scripts/gsm8k.lua -c auto:0 2>&1); rc=$?
ok "-c auto:0: usage error naming the forms" '[ $rc -eq 2 ] && grep -q "auto, auto:N or N" <<<"$err"'
ok "--help shows auto, auto:N, N" '"$bin" --help | grep -q "auto|auto:N|N"'
finish
