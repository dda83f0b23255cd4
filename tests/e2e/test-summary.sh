#!/usr/bin/env bash
# test-summary.sh: summary.json as the run accumulates it, on real runs of
# the binary against the simulator. With more calls than metrics.sketch
# keeps exactly (2,048), the latency percentiles are within its 0.5% of
# the exact percentiles of the journal's latencies; the summary of a run
# (accumulated as records are appended) and of a resumed run equal, to
# the last digit, the summary `ollaeval merge` streams from the journal;
# the resumed run sends only the items not yet scored.
set -u
. tests/lib/harness.sh
synth_data
data=$tmp/data-3000.jsonl
awk '{ line[NR] = $0 } END { for (i = 0; i < 3000; i++) print line[i % NR + 1] }' "$synth" >"$data"
start_sim --time-scale 0 --parallel 64 --dataset "$synth"
gsm() { "$bin" scripts/gsm8k.lua -q -m qwen3:8b -e "$URL" -c 64 --dataset "$data" "$@"; }

# percentiles and numbers of summary.json against what the journal holds
cat >"$tmp/exact.lua" <<'LUA'
local cjson = require "cjson"
local metrics = require "evals.metrics"
local function rd(p) local f = assert(io.open(p)) local s = f:read("a") f:close() return cjson.decode(s) end
local cmd, a, b = arg[1], arg[2], arg[3]
if cmd == "lat" then -- summary.json's latency percentiles vs the exact ones
    local lat = {}
    for line in io.lines(b) do
        for _, c in ipairs(cjson.decode(line).calls or {}) do lat[#lat + 1] = c.latency_ms end
    end
    local s, worst = rd(a), 0
    for _, p in ipairs { 50, 95, 99 } do
        local e, got = metrics.percentile(lat, p), s.latency_ms["p" .. p]
        worst = math.max(worst, math.abs(got - e) / e)
    end
    print(string.format("%d %.6f", #lat, worst))
else -- the same numbers: every metric, the counts, tokens and latencies
    local x, y = rd(a), rd(b)
    local bad = {}
    for _, k in ipairs { "metrics", "tokens", "latency_ms" } do
        for name, v in pairs(x[k]) do
            if cjson.encode(v) ~= cjson.encode(y[k][name]) then bad[#bad + 1] = k .. "." .. name end
        end
    end
    for _, k in ipairs { "n", "scored", "errors", "unscored", "calls", "truncated_thinking" } do
        if x.counts[k] ~= y.counts[k] then bad[#bad + 1] = "counts." .. k end
    end
    print(#bad == 0 and "same" or table.concat(bad, " "))
end
LUA
exact() { "$bin" --trust "$tmp/exact.lua" "$@"; }

gsm -o "$tmp/whole" >/dev/null 2>&1; rc=$?
ok "3,000 items: exit 0" '[ $rc -eq 0 ] && [ "$(get "$tmp/whole/summary.json" counts.scored)" = 3000 ]'
read -r calls worst <<<"$(exact lat "$tmp/whole/summary.json" "$tmp/whole/samples.jsonl")"
ok "latency p50/p95/p99 of $calls calls within 0.5% of the exact percentiles of the journal (worst $worst)" \
    '[ "$calls" = 3000 ] && awk -v w="$worst" "BEGIN { exit !(w <= 0.005) }"'
ok "tokens: the means over the 3,000 items that report them" \
    '[ "$(get "$tmp/whole/summary.json" tokens.prompt_items)" = 3000 ] &&
     [ "$(get "$tmp/whole/summary.json" tokens.completion_items)" = 3000 ]'
"$bin" merge "$tmp/whole" -o "$tmp/whole-m" >/dev/null 2>&1
ok "the summary accumulated during the run equals the one streamed from its journal (merge)" \
    '[ "$(exact same "$tmp/whole/summary.json" "$tmp/whole-m/summary.json")" = same ]'

# resume: 1,200 first, then the rest into the same folder
gsm -o "$tmp/res" --limit 1200 >/dev/null 2>&1
before=$(curl -s "$URL/stats" | grep -o '"completed":[0-9]*' | cut -d: -f2)
gsm -o "$tmp/res" >/dev/null 2>&1; rc=$?
after=$(curl -s "$URL/stats" | grep -o '"completed":[0-9]*' | cut -d: -f2)
ok "resumed: exit 0, 1,200 already scored, $((after - before)) requests sent for the other 1,800" \
    '[ $rc -eq 0 ] && [ "$(get "$tmp/res/summary.json" this_session.items)" = 1800 ] && [ $((after - before)) = 1800 ] &&
     [ "$(get "$tmp/res/summary.json" counts.n)" = 3000 ]'
"$bin" merge "$tmp/res" -o "$tmp/res-m" >/dev/null 2>&1
ok "the resumed run's summary (the journal read at resume, then each append) equals its journal's" \
    '[ "$(exact same "$tmp/res/summary.json" "$tmp/res-m/summary.json")" = same ]'
ok "...and the metrics equal the run in one go" \
    '[ "$(get "$tmp/res/summary.json" metrics.accuracy)" = "$(get "$tmp/whole/summary.json" metrics.accuracy)" ]'
finish
