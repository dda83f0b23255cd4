#!/usr/bin/env bash
# test-multi.sh: several endpoints at once. Two simulators behind two -e
# options share the load according to their speed; killing one mid-run
# loses nothing; --shard I/N slices and `ollaeval merge` recombines them.
set -u
. tests/lib/harness.sh
synth_data
served() { curl -s "$1/stats" > "$tmp/st.json"; get "$tmp/st.json" completed; }

# 1. load follows speed: a server 3x faster serves about 3x the requests
start_sim fast --fixed-latency-ms 20 --parallel 64 --dataset "$synth"; fast=$URL
start_sim slow --fixed-latency-ms 60 --parallel 64 --dataset "$synth"; slow=$URL
"$bin" scripts/gsm8k.lua -q -m qwen3:8b -e "$fast" -e "$slow" -c 4 --dataset "$synth" --limit 240 -o "$tmp/two" >/dev/null 2>&1
rc=$?
f=$(served "$fast"); s=$(served "$slow")
ok "two endpoints: the run completes" '[ $rc -eq 0 ] && [ "$(get "$tmp/two/summary.json" counts.scored)" = 240 ]'
ok "the faster endpoint served more ($f vs $s)" '[ "$f" -gt $((2 * s)) ] && [ "$s" -gt 10 ]'
ok "the summary lists both endpoints" '[ "$(get "$tmp/two/summary.json" endpoints.2)" != nil ]'

# 2. URL#N: its own window
start_sim w1 --fixed-latency-ms 30 --parallel 64 --dataset "$synth"; w1=$URL
"$bin" scripts/gsm8k.lua -q -m qwen3:8b -e "$w1#2" -c 16 --dataset "$synth" --limit 20 -o "$tmp/win" >/dev/null 2>&1
curl -s "$w1/stats" > "$tmp/st.json"
ok "URL#2 keeps 2 in flight although -c is 16" '[ "$(get "$tmp/st.json" max_generating)" = 2 ]'

# 3. one endpoint dies mid-run: its requests go to the other, nothing is lost
start_sim a --fixed-latency-ms 40 --parallel 64 --dataset "$synth"; a=$URL
start_sim b --fixed-latency-ms 40 --parallel 64 --dataset "$synth"; b=$URL; bpid=$PID
"$bin" scripts/gsm8k.lua -q -m qwen3:8b -e "$a" -e "$b" -c 8 --dataset "$synth" --limit 300 -o "$tmp/kill" >/dev/null 2>"$tmp/kill.err" &
run=$!
sleep 0.8; kill -9 "$bpid"
wait $run; rc=$?
ok "killing one server mid-run: exit 0" '[ $rc -eq 0 ]'
ok "every item scored, no errors" '[ "$(get "$tmp/kill/summary.json" counts.scored)" = 300 ] && [ "$(get "$tmp/kill/summary.json" counts.errors)" = 0 ]'
ok "the dead server was taken out of rotation" 'grep -q "out of rotation" "$tmp/kill.err" || [ "$(get "$tmp/kill/summary.json" counts.scored)" = 300 ]'

# 4. --shard and merge: the merged run equals the whole run
start_sim sh --time-scale 0 --parallel 32 --accuracy 0.6 --seed 3 --dataset "$synth"; sh=$URL
"$bin" scripts/gsm8k.lua -q -m qwen3:8b -e "$sh" -c 8 --dataset "$synth" --limit 200 -o "$tmp/whole" >/dev/null 2>&1
for i in 1 2 3; do
    "$bin" scripts/gsm8k.lua -q -m qwen3:8b -e "$sh" -c 8 --dataset "$synth" --limit 200 --shard $i/3 -o "$tmp/shard$i" >/dev/null 2>&1
done
ok "shards split the items (67+67+66)" '[ "$(get "$tmp/shard1/summary.json" counts.n) $(get "$tmp/shard2/summary.json" counts.n) $(get "$tmp/shard3/summary.json" counts.n)" = "67 67 66" ]'
out=$("$bin" merge "$tmp/shard1" "$tmp/shard2" "$tmp/shard3" -o "$tmp/merged" 2>&1); rc=$?
ok "merge exits 0" '[ $rc -eq 0 ]'
ok "merged: 200 items" '[ "$(get "$tmp/merged/summary.json" counts.scored)" = 200 ]'
ok "merged accuracy equals the whole run's" '[ "$(get "$tmp/merged/summary.json" metrics.accuracy)" = "$(get "$tmp/whole/summary.json" metrics.accuracy)" ]'
ok "merged journal has each item once" '[ "$(cut -d, -f1 "$tmp/merged/samples.jsonl" | wc -l)" = 200 ] && [ "$(grep -o "\"id\":\"[^\"]*\"" "$tmp/merged/samples.jsonl" | sort -u | wc -l)" = 200 ]'
err=$("$bin" merge "$tmp/shard1" "$tmp/shard1" -o "$tmp/m2" 2>&1); rc=$?
ok "merge refuses the same shard twice" '[ $rc -ne 0 ] && grep -q "both shard" <<<"$err"'
# a folder holding shard 2's items under another shard name: the overlap is
# found by id (each shard's ids in a compact set), before anything is written
cp -r "$tmp/shard2" "$tmp/ov"; rm -f "$tmp/ov/run.lock"
sed -i 's#"shard":"2/3"#"shard":"4/4"#' "$tmp/ov/run.json"
first=$(head -n 1 "$tmp/shard2/samples.jsonl" | grep -o '"id":"[^"]*"' | cut -d'"' -f4)
err=$("$bin" merge "$tmp/shard1" "$tmp/shard2" "$tmp/ov" -o "$tmp/m4" 2>&1); rc=$?
ok "merge refuses shards that overlap, naming the first item in both ($first)" \
    '[ $rc -eq 1 ] && grep -qF "item $first is in both $tmp/shard2 and $tmp/ov" <<<"$err" && [ ! -e "$tmp/m4/samples.jsonl" ]'
"$bin" scripts/gsm8k.lua -q -m llama3.2:3b -e "$sh" --dataset "$synth" --limit 10 --shard 2/3 -o "$tmp/other" >/dev/null 2>&1
err=$("$bin" merge "$tmp/shard1" "$tmp/other" -o "$tmp/m3" 2>&1); rc=$?
ok "merge refuses runs of different models" '[ $rc -ne 0 ] && grep -q "differ in model" <<<"$err"'
lines=$(wc -l <"$tmp/shard1/samples.jsonl")
err=$("$bin" merge "$tmp/shard1" -o "$tmp/shard1" 2>&1); rc=$?
ok "merge refuses to write over one of its inputs, and the input's journal is untouched" \
    '[ $rc -ne 0 ] && grep -q "already holds a run" <<<"$err" && [ "$(wc -l <"$tmp/shard1/samples.jsonl")" = "$lines" ] && [ "$lines" -gt 0 ]'
err=$("$bin" merge "$tmp/shard1" "$tmp/shard2" "$tmp/shard3" -o "$tmp/merged" 2>&1); rc=$?
ok "merge refuses an -o that already holds a run (the earlier merge)" '[ $rc -ne 0 ] && grep -q "choose another -o" <<<"$err"'
err=$("$bin" scripts/gsm8k.lua -m qwen3:8b --shard 4/3 x 2>&1); rc=$?
ok "a bad --shard is a usage error" '[ $rc -eq 2 ] && grep -q -- "--shard" <<<"$err"'
done_testing
