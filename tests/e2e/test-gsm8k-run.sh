#!/usr/bin/env bash
# test-gsm8k-run.sh: scripts/gsm8k.lua end to end against `ollaeval sim`
# serving the synthetic GSM8K-shaped problems: with --accuracy 1.0 the score
# is 100%; with --accuracy p it equals exactly the number of items the
# simulator answered correctly; the run folder holds what the README promises.
# (The real GSM8K test set: test-gsm8k-real.sh.)
set -u
. tests/lib/harness.sh
synth_data

# 1. accuracy 1.0 over the whole test set: 100%
start_sim perfect --time-scale 0 --parallel 16 --accuracy 1.0 --dataset "$synth" --tokens-max 1500
"$bin" scripts/gsm8k.lua -q -m qwen3:8b -e "$URL" -c 16 --dataset "$synth" -o "$tmp/perfect" >"$tmp/perfect.out" 2>"$tmp/perfect.err"
rc=$?
ok "accuracy 1.0 run exits 0" '[ $rc -eq 0 ]'
read -r acc scored errors status <<<"$(get "$tmp/perfect/summary.json" metrics.accuracy counts.scored counts.errors status | tr '\n' ' ')"
ok "all 1319 items scored, no errors" '[ "$scored" = 1319 ] && [ "$errors" = 0 ]'
ok "accuracy is exactly 1 (got $acc)" '[ "$acc" = 1 ] || [ "$acc" = 1.0 ]'
ok "status complete" '[ "$status" = complete ]'
ok "stdout has the table and the run folder" 'grep -q "accuracy *100.00%" "$tmp/perfect.out" && grep -q "$tmp/perfect" "$tmp/perfect.out"'
ok "-q: nothing on stderr" '[ ! -s "$tmp/perfect.err" ]'

# 2. accuracy 0.7: the score is the simulator's own count of correct answers
start_sim p70 --time-scale 0 --parallel 16 --accuracy 0.7 --seed 7 --dataset "$synth" --answers-out "$tmp/answers.jsonl"
"$bin" scripts/gsm8k.lua -q -m qwen3:8b -e "$URL" -c 16 --dataset "$synth" --limit 600 -o "$tmp/p70" >/dev/null 2>&1
stats=$(curl -s "$URL/stats")
echo "$stats" > "$tmp/stats.json"
sim_correct=$(get "$tmp/stats.json" answers.correct)
read -r correct scored <<<"$(get "$tmp/p70/summary.json" counts.scored | { read -r s; c=$(grep -c '"correct":true' "$tmp/p70/samples.jsonl"); echo "$c $s"; })"
ok "600 items scored" '[ "$scored" = 600 ]'
ok "correct answers ($correct) = the simulator's count ($sim_correct)" '[ "$correct" = "$sim_correct" ] && [ "$correct" -gt 300 ] && [ "$correct" -lt 500 ]'
acc=$(get "$tmp/p70/summary.json" metrics.accuracy)
ok "accuracy = correct / scored" '[ "$(awk -v c="$correct" -v a="$acc" "BEGIN{print (a*600 - c < 1e-9 && c - a*600 < 1e-9) ? 1 : 0}")" = 1 ]'

# 3. the run folder
s="$tmp/p70/summary.json"
for k in suite.name suite.version suite.sha256 dataset.sha256 model.name model.digest endpoints.1 \
         server_version options.seed counts.n counts.scored counts.errors metrics.accuracy \
         metrics.accuracy_stderr metrics.accuracy_ci95.1 metrics.accuracy_ci95.2 metrics.strict_accuracy \
         metrics.no_answer_rate metrics.truncated_rate latency_ms.p50 latency_ms.p95 latency_ms.p99 \
         tokens.completion_mean wall_time_s; do
    v=$(get "$s" "$k")
    ok "summary.json has $k ($v)" '[ "$v" != nil ]'
done
ok "model digest is 64 hex" '[[ "$(get "$s" model.digest)" =~ ^[0-9a-f]{64}$ ]]'
ok "dataset sha256 is the file's" '[ "$(get "$s" dataset.sha256)" = "$(sha256sum "$synth" | cut -d" " -f1)" ]'
ok "samples.jsonl has 600 lines" '[ "$(get "$tmp/p70/samples.jsonl" "#lines")" = 600 ]'
line=$(head -n 1 "$tmp/p70/samples.jsonl")
for k in '"id":' '"messages":' '"content":' '"answer":' '"rule":' '"gold":' '"correct":' '"completion_tokens":' '"latency_ms":' '"attempts":'; do
    ok "a sample record has $k" 'grep -q "$k" <<<"$line"'
done
ok "run.json records the command" 'grep -q "scripts/gsm8k.lua" "$tmp/p70/run.json"'
printf '%s\n' "$line" >"$tmp/rec1.json"
read -r c_msg c_content c_thinking c_lat c_model <<<"$(get "$tmp/rec1.json" calls.1.messages calls.1.content \
    calls.1.thinking calls.1.latency_ms calls.1.model | tr '\n' ' ')"
ok "the graded call in calls leaves out messages, content and thinking (the record's own), keeps its figures" \
    '[ "$c_msg $c_content $c_thinking" = "nil nil nil" ] && [ "$c_lat" != nil ] && [ "$c_model" = qwen3:8b ] &&
     [ "$(get "$tmp/rec1.json" calls.2)" = nil ] && [ "$(get "$tmp/rec1.json" content)" != nil ] &&
     [ "$(get "$tmp/rec1.json" messages.1.role)" = user ]'

# 3b. the items as the plan's count kept them (a dataset up to runner.HOLD_BYTES)
# and as the run reads them again (a larger one, here HOLD_BYTES = 0): the
# same items, indexes and verdicts, with --limit and --shard
cat >"$tmp/streamed.lua" <<'LUA'
local runner = require "evals.runner"
runner.HOLD_BYTES = 0
local suite = dofile("scripts/gsm8k.lua")
return runner.run(suite, "scripts/gsm8k.lua", options(runner.options_for(suite)))
LUA
cat >"$tmp/tuples.lua" <<'LUA'
local cjson = require "cjson"
local out = {}
for l in io.lines(arg[1]) do
    local r = cjson.decode(l)
    out[#out + 1] = string.format("%s %d %s %s %s", r.id, r.index, tostring(r.gold), tostring(r.answer), tostring(r.correct))
end
table.sort(out)
print(table.concat(out, "\n"))
LUA
start_sim hold --time-scale 0 --parallel 8 --accuracy 0.7 --seed 7 --dataset "$synth"
"$bin" scripts/gsm8k.lua -q -m qwen3:8b -e "$URL" -c 8 --dataset "$synth" --limit 300 --shard 2/3 -o "$tmp/held" \
    >/dev/null 2>&1; rc1=$?
"$bin" --trust "$tmp/streamed.lua" -q -m qwen3:8b -e "$URL" -c 8 --dataset "$synth" --limit 300 --shard 2/3 \
    -o "$tmp/streamed" >/dev/null 2>&1; rc2=$?
"$bin" --trust "$tmp/tuples.lua" "$tmp/held/samples.jsonl" >"$tmp/held.tuples"
"$bin" --trust "$tmp/tuples.lua" "$tmp/streamed/samples.jsonl" >"$tmp/streamed.tuples"
ok "items kept from the count and items read again: both runs exit 0, 100 items each" \
    '[ $rc1 -eq 0 ] && [ $rc2 -eq 0 ] && [ "$(grep -c . "$tmp/held.tuples")" = 100 ]'
ok "...the same ids, indexes (2, 5, 8, ...), gold, answers and verdicts" \
    'cmp -s "$tmp/held.tuples" "$tmp/streamed.tuples" && grep -q "^gsm8k-test-0299 299 " "$tmp/held.tuples"'
ok "...the same summary" 'runcheck same "$tmp/held/summary.json" "$tmp/streamed/summary.json"'

# 4. progress: plain lines when stderr is not a terminal
start_sim slow --parallel 4 --fixed-latency-ms 150 --dataset "$synth"
"$bin" scripts/gsm8k.lua -m qwen3:8b -e "$URL" -c 4 --dataset "$synth" --limit 8 -o "$tmp/slow" >/dev/null 2>"$tmp/slow.err"
ok "stderr names the dataset and the run" 'grep -q "dataset:" "$tmp/slow.err" && grep -q "8 items" "$tmp/slow.err"'
ok "no terminal escapes when stderr is a file" '! grep -q $'"'"'\e'"'"' "$tmp/slow.err"'

# 5. no server: one clear line, fast
start=$(date +%s%N)
err=$("$bin" scripts/gsm8k.lua -m qwen3:8b -e http://127.0.0.1:9 --dataset "$synth" 2>&1 >/dev/null); rc=$?
ms=$(( ($(date +%s%N) - start) / 1000000 ))
ok "no server: exit 1 within 2 s ($ms ms)" '[ $rc -eq 1 ] && [ $ms -lt 2000 ]'
ok "no server: says so and what to do" 'grep -q "no server answers at http://127.0.0.1:9" <<<"$err" && [ "$(grep -c . <<<"$err")" -le 2 ]'
err=$("$bin" scripts/gsm8k.lua -m nosuch:1b -e "$URL" --dataset "$synth" 2>&1 >/dev/null); rc=$?
ok "unknown model: exit 1, names it and the pull command" '[ $rc -eq 1 ] && grep -q "ollama pull nosuch:1b" <<<"$err"'
done_testing
