#!/usr/bin/env bash
# test-bench.sh: `ollaeval bench` against the simulator (small --time-scale,
# short points): it infers the slot count, recommends a concurrency in
# [P, P+2] (a slow model too, within its budget), writes bench.json,
# bench.svg and points.jsonl, and falls back
# to the synthetic problems when GSM8K cannot be had, saying so; 503s that
# a point waited out are counted per point and named in the verdict.
set -u
. tests/lib/harness.sh
synth_data

start_sim p4 --parallel 4 --time-scale 0.25 --dataset "$synth"
"$bin" bench -m llama3.2:3b -e "$URL" --dataset "$synth" --budget 50 --point-seconds 3 -o "$tmp/b4" >"$tmp/b4.out" 2>"$tmp/b4.err"
rc=$?
ok "bench: exit 0" '[ $rc -eq 0 ]'
ok "4 slots inferred" '[ "$(get "$tmp/b4/bench.json" slots_estimate)" = 4 ]'
rc4=$(get "$tmp/b4/bench.json" recommended_concurrency)
ok "recommends a concurrency in [4, 6] ($rc4)" '[ "$rc4" -ge 4 ] && [ "$rc4" -le 6 ]'
ok "bench.json: sequential, points, speedup" '[ "$(get "$tmp/b4/bench.json" sequential.concurrency)" = 1 ] &&
   [ "$(get "$tmp/b4/bench.json" points.3.concurrency)" != nil ] && [ "$(get "$tmp/b4/bench.json" speedup_at_recommended)" != nil ]'
ok "bench.svg and points.jsonl" 'grep -q "<svg" "$tmp/b4/bench.svg" && [ "$(jlines "$tmp/b4/points.jsonl")" -ge 4 ]'
ok "the verdict on stdout" 'grep -q "4 slots (looks like OLLAMA_NUM_PARALLEL=4)" "$tmp/b4.out"'
ok "warm-up and load time reported" 'grep -q "warm-up done" "$tmp/b4.err"'

# a slow model (answers of several seconds, points set shorter): each point
# runs on past its first completion, the budget holds the warm-up and every
# point, and the slot count is still exact
start_sim slow --parallel 4 --time-scale 0.25 --dataset "$synth"
"$bin" bench -m qwen3:8b -e "$URL" --dataset "$synth" --budget 40 --point-seconds 1 -o "$tmp/bs" >"$tmp/bs.out" 2>"$tmp/bs.err"
rc=$?
rcs=$(get "$tmp/bs/bench.json" recommended_concurrency)
wall=$(get "$tmp/bs/bench.json" wall_time_s)
ok "a slow model: exit 0, 4 slots inferred, recommends a concurrency in [4, 6] ($rcs)" \
    '[ $rc -eq 0 ] && [ "$(get "$tmp/bs/bench.json" slots_estimate)" = 4 ] && [ "$rcs" -ge 4 ] && [ "$rcs" -le 6 ]'
ok "...within its budget of 40 s, warm-up included ($wall s)" '[ "${wall%%.*}" -lt 40 ]'

"$bin" bench -m qwen3:8b -e "$URL" --dataset "$synth" --budget 12 --point-seconds 1 -o "$tmp/bt" >"$tmp/bt.out" 2>/dev/null
ok "...a budget too short for the knee: the verdict says so, not a guess" \
    '[ "$(get "$tmp/bt/bench.json" budget_short)" = true ] && grep -q "time budget (12 s) ran out" "$tmp/bt.out"'

start_sim p1 --parallel 1 --time-scale 0.25 --dataset "$synth"
"$bin" bench -q -m llama3.2:3b -e "$URL" --dataset "$tmp/none.jsonl" --budget 25 --point-seconds 3 -o "$tmp/b1" >"$tmp/b1.out" 2>"$tmp/b1.err"
ok "1 slot inferred, with the synthetic problems" '[ "$(get "$tmp/b1/bench.json" slots_estimate)" = 1 ] && [ "$(get "$tmp/b1/bench.json" prompts)" = synthetic ]'
"$bin" bench -m llama3.2:3b -e "$URL" --dataset "$tmp/none.jsonl" --budget 5 --point-seconds 1 -o "$tmp/b1b" >/dev/null 2>"$tmp/b1b.err"
ok "says so when GSM8K cannot be had" 'grep -q "GSM8K is not available" "$tmp/b1b.err"'

# a short server queue: points beyond 2 slots + 1 queued draw 503s, which
# are waited out (requeued, not failed): counted per point and named in the verdict
start_sim q1 --parallel 2 --max-queue 1 --time-scale 0.25 --dataset "$synth"
"$bin" bench -m llama3.2:3b -e "$URL" --dataset "$synth" --budget 30 --point-seconds 2 --max-c 8 -o "$tmp/bq" \
    >"$tmp/bq.out" 2>"$tmp/bq.err"
rc=$?
n503=$(runcheck stats "$URL" http_503)
cat >"$tmp/sum.lua" <<'LUA'
local j = require("cjson").decode(io.open(arg[1]):read("a"))
local n = 0
for _, p in ipairs(j.points) do n = n + p.requeued.overload end
print(math.tointeger(n) or n)
LUA
sum=$("$bin" --trust "$tmp/sum.lua" "$tmp/bq/bench.json")
ok "a queue of 1: exit 0, the server sent $n503 503s, and bench.json counts them per point as requeued ($sum)" \
    '[ $rc -eq 0 ] && [ "$n503" -gt 0 ] && [ "$sum" = "$n503" ]'
ok "...the table has a 503/429 column and the verdict names the points that drew overload" \
    'grep -q "503/429" "$tmp/bq.out" && grep -qE "overload: c=[0-9]+ drew [0-9]+ 503s" "$tmp/bq.out"'
ok "...2 slots still inferred" '[ "$(get "$tmp/bq/bench.json" slots_estimate)" = 2 ]'

err=$("$bin" bench 2>&1); rc=$?
ok "no model: usage error" '[ $rc -eq 2 ] && grep -q "pass -m" <<<"$err"'
finish
