#!/usr/bin/env bash
# test-suites.sh: suite files run directly (ollaeval FILE.lua), against
# `ollaeval sim` on synthetic fixtures: a suite beside its helper module and
# data file, unknown-field warnings, MMLU with groups, maj@k and pass@k,
# a judge, a self-check, unscored items, every call recorded, script errors
# (printed once, "every item is failing", --retry-errors), run.json's record
# of what produced the run, shards and merge with groups and samples intact.
# (The real MMLU and MATH-500: test-suites-real.sh.)
set -u
. tests/lib/harness.sh
synth_data

# An MMLU-shaped fixture: 60 questions of three subjects, four choices.
mm=$tmp/mmlu.jsonl
for i in $(seq 1 60); do
    s=$(( i % 3 )); subj=$([ $s = 0 ] && echo algebra || ([ $s = 1 ] && echo biology || echo physics))
    printf '{"question":"Question %d of the fixture: which of these is choice %d?","type":"%s","choices":["w%d","x%d","y%d","z%d"],"answer":%d}\n' \
        "$i" "$i" "$subj" "$i" "$i" "$i" "$i" $(( i % 4 ))
done >"$mm"

start_sim g --time-scale 0 --parallel 8 --accuracy 0.7 --seed 3 --dataset "$synth" --answers-out "$tmp/g-answers.jsonl"
G=$URL
start_sim m --time-scale 0 --parallel 8 --accuracy 0.6 --dataset "$mm" --answers-out "$tmp/m-answers.jsonl"
MM=$URL

# 1. a suite in its own folder: a helper module and the data beside it; run from elsewhere
mkdir -p "$tmp/team" "$tmp/elsewhere"
head -n 20 "$synth" >"$tmp/team/problems.jsonl"
cat >"$tmp/team/helper.lua" <<'LUA'
return { ask = function(q) return "Solve: " .. q .. "\nEnd with #### N." end }
LUA
cat >"$tmp/team/suite.lua" <<'LUA'
local helper = require "helper"
local extract, numeric = require "evals.extract", require "evals.numeric"
return {
    name = "team", dataset = "problems.jsonl", strcit = true,
    prompt = function(item) return { { role = "user", content = helper.ask(item.question) } } end,
    extract = extract.extract,
    gold = function(item) return item.answer:match("####%s*(%S+)") end,
    correct = numeric.equal,
}
LUA
(cd "$tmp/elsewhere" && "$bin" ../team/suite.lua -m qwen3:8b -e "$G" -o "$tmp/team-run" >"$tmp/team.out" 2>"$tmp/team.err"); rc=$?
ok "a suite file runs directly from another folder (exit 0)" '[ $rc -eq 0 ]'
ok "...its data file beside it: 20 items" '[ "$(get "$tmp/team-run/summary.json" counts.scored)" = 20 ]'
ok "...its helper module beside it is recorded in run.json, with its sha256" \
    'grep -q "\"name\":\"helper\"" "$tmp/team-run/run.json" && grep -q "$(sha256sum "$tmp/team/helper.lua" | cut -c1-64)" "$tmp/team-run/run.json"'
ok "a misspelt field is named, with the field it may mean" \
    'grep -q "unknown field '"'"'strcit'"'"'.*did you mean '"'"'strict'"'"'" "$tmp/team.err"'
ok "the table shows no strict accuracy for a suite without strict" '! grep -q "strict" "$tmp/team.out"'
ok "the progress figures say items/s" 'grep -q "items/s" "$tmp/team.out"'
echo 'return { ask = function(q) return "Please solve: " .. q .. "\nEnd with #### N." end }' >"$tmp/team/helper.lua"
(cd "$tmp/elsewhere" && "$bin" ../team/suite.lua -m qwen3:8b -e "$G" -o "$tmp/team-run" >/dev/null 2>"$tmp/team2.err"); rc=$?
ok "an edited helper module: resume refuses, naming the module (exit 1)" \
    '[ $rc -eq 1 ] && grep -q "its module helper was" "$tmp/team2.err"'

# 2. a file that returns nothing, or a number, stays a plain script
echo 'print("plain")' >"$tmp/plain.lua"; echo 'return 7' >"$tmp/seven.lua"
out=$("$bin" --trust "$tmp/plain.lua" 2>&1); rc=$?
ok "a script returning nothing: runs, exit 0" '[ $rc -eq 0 ] && [ "$out" = plain ]'
"$bin" --trust "$tmp/seven.lua" >/dev/null 2>&1; rc=$?
ok "a script returning 7: exit 7" '[ $rc -eq 7 ]'

# 3. MMLU: letters, per subject; the score is the simulator's own count
"$bin" scripts/mmlu.lua -m qwen3:8b -e "$MM" --dataset "$mm" -o "$tmp/mm" -q >"$tmp/mm.out" 2>&1; rc=$?
sim_correct=$(grep -c '"correct":true' "$tmp/m-answers.jsonl")
ok "mmlu: exit 0, 60 scored" '[ $rc -eq 0 ] && [ "$(get "$tmp/mm/summary.json" counts.scored)" = 60 ]'
ok "mmlu: correct answers = the simulator's count ($sim_correct)" \
    '[ "$(grep -c "\"correct\":true" "$tmp/mm/samples.jsonl")" = "$sim_correct" ]'
read -r ga gb gp <<<"$(get "$tmp/mm/summary.json" groups.algebra.n groups.biology.n groups.physics.n | tr '\n' ' ')"
ok "mmlu: accuracy per subject, 20 items each ($ga $gb $gp)" '[ "$ga" = 20 ] && [ "$gb" = 20 ] && [ "$gp" = 20 ]'
ok "mmlu: the table has a row per subject" 'grep -q "by type:" "$tmp/mm.out" && grep -q "biology" "$tmp/mm.out"'
ok "mmlu: each record has the subject as its group and metadata" \
    'head -n1 "$tmp/mm/samples.jsonl" | grep -q "\"group\":\"biology\"" && head -n1 "$tmp/mm/samples.jsonl" | grep -q "\"metadata\":{\"type\":\"biology\"}"'
# shards and merge keep the groups
for i in 1 2; do "$bin" scripts/mmlu.lua -m qwen3:8b -e "$MM" --dataset "$mm" --shard $i/2 -o "$tmp/mm-s$i" -q >/dev/null 2>&1; done
"$bin" merge "$tmp/mm-s1" "$tmp/mm-s2" -o "$tmp/mm-merged" >/dev/null 2>&1; rc=$?
ok "mmlu: merged shards keep the per-subject accuracy of the whole run" \
    '[ $rc -eq 0 ] && [ "$(get "$tmp/mm-merged/summary.json" groups.biology.accuracy groups.physics.accuracy metrics.accuracy)" = "$(get "$tmp/mm/summary.json" groups.biology.accuracy groups.physics.accuracy metrics.accuracy)" ]'

# 4. gsm8k_maj: five samples per item, each its own seed; maj@5, pass@1, pass@5
"$bin" scripts/gsm8k_maj.lua -m qwen3:8b -e "$G" --dataset "$synth" --limit 30 -o "$tmp/maj" -q >"$tmp/maj.out" 2>&1; rc=$?
rec=$(head -n1 "$tmp/maj/samples.jsonl")
ok "maj: exit 0, 30 items" '[ $rc -eq 0 ] && [ "$(get "$tmp/maj/summary.json" counts.scored)" = 30 ]'
ok "maj: 150 calls, five per record" '[ "$(get "$tmp/maj/summary.json" counts.calls)" = 150 ] && [ "$(grep -o "\"sample\":" <<<"$rec" | wc -l)" = 5 ]'
seeds=$(grep -o '"seed":[0-9]*' <<<"$rec" | sort -u | wc -l)
ok "maj: five different seeds, the first is --seed" '[ "$seeds" -ge 5 ] && grep -q "\"seed\":$(get "$tmp/maj/run.json" config.seed)[,}]" <<<"$rec"'
ok "maj: the temperature is the suite's 0.7" '[ "$(get "$tmp/maj/run.json" config.options.temperature)" = 0.7 ]'
for k in maj@5 pass@1 pass@5; do
    v=$(get "$tmp/maj/summary.json" "metrics.$k")
    ok "maj: summary.json has $k ($v) with its interval" '[ "$v" != nil ] && [ "$(get "$tmp/maj/summary.json" "metrics.${k}_ci95.1")" != nil ]'
done
ok "maj: the samples differ (the simulator draws per seed at 0.7): pass@5 > maj@5 > pass@1" \
    'awk -v a="$(get "$tmp/maj/summary.json" metrics.pass@5)" -v m="$(get "$tmp/maj/summary.json" metrics.maj@5)" -v b="$(get "$tmp/maj/summary.json" metrics.pass@1)" "BEGIN{exit !(a >= m && m > b)}"'
ok "maj: no accuracy line (not declared)" '! grep -q "^  accuracy" "$tmp/maj.out"'
for i in 1 2; do "$bin" scripts/gsm8k_maj.lua -m qwen3:8b -e "$G" --dataset "$synth" --limit 30 --shard $i/2 -o "$tmp/maj-s$i" -q >/dev/null 2>&1; done
"$bin" merge "$tmp/maj-s1" "$tmp/maj-s2" -o "$tmp/maj-merged" >/dev/null 2>&1; rc=$?
ok "maj: merged shards keep maj@5, pass@1, pass@5 of the whole run" \
    '[ $rc -eq 0 ] && [ "$(get "$tmp/maj-merged/summary.json" metrics.maj@5 metrics.pass@1 metrics.pass@5)" = "$(get "$tmp/maj/summary.json" metrics.maj@5 metrics.pass@1 metrics.pass@5)" ]'
"$bin" scripts/gsm8k_maj.lua -m qwen3:8b -e "$G" --dataset "$synth" --limit 15 -o "$tmp/maj-r" -q >/dev/null 2>&1
"$bin" scripts/gsm8k_maj.lua -m qwen3:8b -e "$G" --dataset "$synth" --limit 30 -o "$tmp/maj-r" -q >/dev/null 2>"$tmp/maj-r.err"; rc=$?
ok "maj: a resumed run equals the whole run" \
    '[ $rc -eq 0 ] && [ "$(get "$tmp/maj-r/summary.json" metrics.maj@5 metrics.pass@5)" = "$(get "$tmp/maj/summary.json" metrics.maj@5 metrics.pass@5)" ] && [ "$(jlines "$tmp/maj-r/samples.jsonl")" = 30 ]'
"$bin" scripts/gsm8k_maj.lua -m qwen3:8b -e "$G" --dataset "$synth" --limit 30 --samples 3 -o "$tmp/maj-r" -q >/dev/null 2>"$tmp/maj-r2.err"; rc=$?
ok "maj: resume with other --samples is refused, naming it" '[ $rc -eq 1 ] && grep -q "its samples was 5, this run.s is 3" "$tmp/maj-r2.err"'

# killed mid-run (SIGKILL), then resumed: the same metrics as the whole run
start_sim slow --parallel 4 --fixed-latency-ms 15 --accuracy 0.7 --seed 3 --dataset "$synth"
"$bin" scripts/gsm8k_maj.lua -m qwen3:8b -e "$URL" --dataset "$synth" --limit 30 -o "$tmp/maj-k" -q >/dev/null 2>&1 &
kpid=$!
for _ in $(seq 1 400); do [ "$(jlines "$tmp/maj-k/samples.jsonl")" -ge 6 ] && break; sleep 0.02; done
kill -9 $kpid 2>/dev/null; wait $kpid 2>/dev/null
nk=$(jlines "$tmp/maj-k/samples.jsonl")
"$bin" scripts/gsm8k_maj.lua -m qwen3:8b -e "$G" --dataset "$synth" --limit 30 -o "$tmp/maj-k" -q >/dev/null 2>&1; rc=$?
ok "maj: killed after $nk items and resumed: the metrics of the whole run, each item once" \
    '[ $rc -eq 0 ] && [ "$nk" -lt 30 ] && runcheck journal "$tmp/maj-k/samples.jsonl" 30 >/dev/null &&
     [ "$(get "$tmp/maj-k/summary.json" metrics.maj@5 metrics.pass@1 metrics.pass@5)" = "$(get "$tmp/maj/summary.json" metrics.maj@5 metrics.pass@1 metrics.pass@5)" ]'

# 5. the judge: two calls per item, the judge's model, verdicts or unscored
"$bin" scripts/judge.lua --help >"$tmp/judge.help" 2>&1
ok "judge --help lists --judge-model" 'grep -q -- "--judge-model MODEL" "$tmp/judge.help"'
"$bin" scripts/judge.lua -m qwen3:8b --judge-model nosuch:1b -e "$G" --dataset "$synth" --limit 5 -o "$tmp/j0" -q >/dev/null 2>"$tmp/j0.err"; rc=$?
ok "judge: an unknown judge model stops the run before any item (exit 1)" \
    '[ $rc -eq 1 ] && grep -q "nosuch:1b" "$tmp/j0.err" && [ "$(jlines "$tmp/j0/samples.jsonl")" = 0 ]'
"$bin" scripts/judge.lua -m qwen3:8b --judge-model llama3.2:3b -e "$G" --dataset "$synth" --limit 12 -o "$tmp/j" -q >"$tmp/j.out" 2>&1; rc=$?
rec=$(head -n1 "$tmp/j/samples.jsonl")
ok "judge: exit 0 (unscored items are not errors)" '[ $rc -eq 0 ]'
ok "judge: each record has two calls, the second by the judge's model" \
    'grep -q "\"name\":\"judge\"" <<<"$rec" && grep -q "\"model\":\"llama3.2:3b\"" <<<"$rec" && [ "$(get "$tmp/j/summary.json" counts.calls)" = 24 ]'
ok "judge: run.json records --judge-model and the judge among the models" \
    '[ "$(get "$tmp/j/run.json" config.suite_options.judge-model config.models.1)" = "$(printf "llama3.2:3b\nllama3.2:3b")" ]'
ok "judge: every item scored or unscored with the reason" \
    '[ $(( $(get "$tmp/j/summary.json" counts.scored) + $(get "$tmp/j/summary.json" counts.unscored) )) = 12 ]'
ok "judge: verdicts and explanations recorded" \
    'grep -q "\"explanation\":\"[^\"]*VERDICT: [A-Z]*\"" "$tmp/j/samples.jsonl" && grep -q "\"score_metadata\":{\"verdict\":\"\(IN\)\?CORRECT\"}" "$tmp/j/samples.jsonl"'
"$bin" scripts/judge.lua -m qwen3:8b --judge-model qwen3:8b -e "$G" --dataset "$synth" --limit 12 -o "$tmp/j" -q >/dev/null 2>"$tmp/j2.err"; rc=$?
ok "judge: resume with another judge is refused, naming the option" \
    '[ $rc -eq 1 ] && grep -q "suite option --judge-model was llama3.2:3b" "$tmp/j2.err"'

"$bin" scripts/judge.lua -m qwen3:8b --judge-model llama3.2:3b -e "$G" --dataset "$synth" --limit 12 --shard 1/2 -o "$tmp/js1" -q >/dev/null 2>&1
"$bin" scripts/judge.lua -m qwen3:8b --judge-model qwen3:8b -e "$G" --dataset "$synth" --limit 12 --shard 2/2 -o "$tmp/js2" -q >/dev/null 2>&1
err=$("$bin" merge "$tmp/js1" "$tmp/js2" -o "$tmp/js-merged" 2>&1); rc=$?
ok "judge: shards graded by different judges are not merged, naming the option" \
    '[ $rc -eq 1 ] && grep -q "suite option --judge-model" <<<"$err"'

# 6. self-check: two turns, the second graded
"$bin" scripts/selfcheck.lua -m qwen3:8b -e "$G" --dataset "$synth" --limit 10 -o "$tmp/sc" -q >/dev/null 2>&1; rc=$?
rec=$(head -n1 "$tmp/sc/samples.jsonl")
ok "selfcheck: exit 0, 20 calls" '[ $rc -eq 0 ] && [ "$(get "$tmp/sc/summary.json" counts.calls)" = 20 ]'
ok "selfcheck: the graded call is the second turn (4 messages), the first answer in the score's metadata" \
    '[ "$(grep -o "\"role\":" <<<"$rec" | wc -l)" = 4 ] && [ "$(head -n1 "$tmp/sc/samples.jsonl" >"$tmp/sc1.json"; get "$tmp/sc1.json" messages.3.role)" = user ] && grep -q "\"first_answer\"" <<<"$rec"'

# 7. script errors: once per message, "every item is failing", --retry-errors
mkdir -p "$tmp/bug"
sed 's/item.question/item.questoin/' scripts/gsm8k.lua >"$tmp/bug/gsm8k.lua"
"$bin" --trust "$tmp/bug/gsm8k.lua" -m qwen3:8b -e "$G" --dataset "$synth" --limit 200 -o "$tmp/bug-run" >/dev/null 2>"$tmp/bug.err"; rc=$?
ok "a suite failing on every item stops: exit 1, 'every item is failing'" '[ $rc -eq 1 ] && grep -q "every item is failing" "$tmp/bug.err"'
ok "...after about 20 items, not 200 ($(jlines "$tmp/bug-run/samples.jsonl"))" '[ "$(jlines "$tmp/bug-run/samples.jsonl")" -lt 60 ]'
ok "...the error printed once with its traceback, then counted" \
    '[ "$(grep -c "^ollaeval: item" "$tmp/bug.err")" = 1 ] && [ "$(grep -c "stack traceback" "$tmp/bug.err")" -le 2 ] && grep -q "items raised this error" "$tmp/bug.err"'
cp scripts/gsm8k.lua "$tmp/bug/gsm8k.lua"
"$bin" --trust "$tmp/bug/gsm8k.lua" -m qwen3:8b -e "$G" --dataset "$synth" --limit 200 -o "$tmp/bug-run" >/dev/null 2>"$tmp/bug2.err"; rc=$?
ok "the fixed suite without --retry-errors: refused, and --retry-errors named" '[ $rc -eq 1 ] && grep -q -- "--retry-errors" "$tmp/bug2.err"'
"$bin" --trust "$tmp/bug/gsm8k.lua" -m qwen3:8b -e "$G" --dataset "$synth" --limit 200 -o "$tmp/bug-run" --retry-errors -q >/dev/null 2>"$tmp/bug3.err"; rc=$?
ok "--retry-errors: exit 0, 200 scored" '[ $rc -eq 0 ] && [ "$(get "$tmp/bug-run/summary.json" counts.scored counts.errors)" = "$(printf "200\n0")" ]'
ok "--retry-errors: run.json records the change of the suite" \
    '[ "$(get "$tmp/bug-run/run.json" retries.1.changed.1.what)" = suite_sha256 ]'
# some items failing: exit 3, each distinct message once with its count
sed 's/(item.question or error("missing field .question."))/(#item.question % 2 == 0 and error("an odd one out") or item.question)/' scripts/gsm8k.lua >"$tmp/bug/gsm8k.lua"
"$bin" --trust "$tmp/bug/gsm8k.lua" -m qwen3:8b -e "$G" --dataset "$synth" --limit 60 -o "$tmp/some" >/dev/null 2>"$tmp/some.err"; rc=$?
n_err=$(get "$tmp/some/summary.json" counts.errors)
ok "some items raising: exit 3 ($n_err errors)" '[ $rc -eq 3 ] && [ "$n_err" -gt 1 ]'
ok "...the message printed once, and counted ($n_err items)" \
    '[ "$(grep -c "^ollaeval: item" "$tmp/some.err")" = 1 ] && grep -q "^ollaeval: $n_err items raised this error" "$tmp/some.err"'

# 8. run.json: what produced the run
for k in config.engine config.samples config.metrics.1 config.modules.1.name config.suite_sha256 config.options.temperature; do
    v=$(get "$tmp/maj/run.json" "$k")
    ok "run.json has $k ($v)" '[ "$v" != nil ]'
done
finish
