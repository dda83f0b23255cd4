#!/usr/bin/env bash
# test-rescore.sh: `ollaeval rescore` grades a run again from its journal,
# asking no model (the simulator is gone by then). With the run's own suite
# the new folder has the run's metrics and the very same records; with a
# suite whose extract() is stricter, exactly the items whose verdict that
# rule changes change; run.json says where the responses came from (the
# source's sha256s); errors are copied; the source folder is untouched;
# bad arguments are refused clearly.
set -u
. tests/lib/harness.sh
synth_data
start_sim c --time-scale 0 --parallel 16 --accuracy 0.6 --seed 11 --fault-500 0.08 --dataset "$synth"; c=$URL
"$bin" scripts/gsm8k.lua -q -m qwen3:8b -e "$c" -c 8 --dataset "$synth" --limit 80 --retries 0 -o "$tmp/src" >/dev/null 2>&1
rc=$?
errs=$(get "$tmp/src/summary.json" counts.errors)
ok "the source run has scored items and some errors ($errs, exit $rc)" '[ $rc -eq 3 ] && [ "$errs" -gt 0 ] && [ "$(get "$tmp/src/summary.json" counts.scored)" -gt 50 ]'
stop_sim c
before=$(cd "$tmp/src" && sha256sum run.json samples.jsonl summary.json)

# 1. the run's own suite: the same run
out=$("$bin" rescore "$tmp/src" -o "$tmp/same" 2>&1); rc=$?
ok "rescore with the run's suite, no server up: exit 0" '[ $rc -eq 0 ]' || echo "# $out"
ok "the same counts and metrics" '"$bin" --trust tests/lib/runcheck.lua same "$tmp/src/summary.json" "$tmp/same/summary.json"'
ok "the very same records, field by field" '"$bin" --trust tests/lib/records.lua same "$tmp/src/samples.jsonl" "$tmp/same/samples.jsonl"'
ok "the same per-item verdicts" '[ "$("$bin" --trust tests/lib/records.lua verdicts "$tmp/src/samples.jsonl")" = "$("$bin" --trust tests/lib/records.lua verdicts "$tmp/same/samples.jsonl")" ]'
ok "the error records are there, copied" '[ "$(get "$tmp/same/summary.json" counts.errors)" = "$errs" ]'
ok "it says no verdict changed" 'grep -q "verdicts changed   0 (0 now correct, 0 now wrong)" <<<"$out"'
ok "run.json names the source folder" '[ "$(get "$tmp/same/run.json" rescored_from.dir)" = "$tmp/src" ]'
ok "and the sha256 of its samples.jsonl, run.json and summary.json" \
    '[ "$(get "$tmp/same/run.json" rescored_from.samples_sha256)" = "$(sha256sum < "$tmp/src/samples.jsonl" | cut -d" " -f1)" ] &&
     [ "$(get "$tmp/same/run.json" rescored_from.run_json_sha256)" = "$(sha256sum < "$tmp/src/run.json" | cut -d" " -f1)" ] &&
     [ "$(get "$tmp/same/run.json" rescored_from.summary_sha256)" = "$(sha256sum < "$tmp/src/summary.json" | cut -d" " -f1)" ]'
cfg() { get "$1/run.json" config.suite config.suite_sha256 config.dataset_sha256 config.model config.shard config.seed config.options.temperature config.options.num_predict; }
ok "the config is the source's (same run, same shard)" '[ "$(cfg "$tmp/same")" = "$(cfg "$tmp/src")" ]'
ok "a report.html is written" '[ -s "$tmp/same/report.html" ] && grep -q "qwen3:8b" "$tmp/same/report.html"'

# 2. a stricter extract: only "#### N" counts; the verdicts that change are
# exactly those where the flexible and the strict reading disagreed
cat > "$tmp/strict.lua" <<'LUA'
local g = require "evals.gsm8k"
local s = {}
for k, v in pairs(g) do s[k] = v end
s.name, s.version = "gsm8k-strict", "1s"
s.extract = function(text)
    local a = g.strict(text)
    return a, a and "strict" or nil
end
return s
LUA
out=$("$bin" rescore "$tmp/src" --suite "$tmp/strict.lua" -o "$tmp/strict" 2>&1); rc=$?
want=$("$bin" --trust tests/lib/records.lua count-ne "$tmp/src/samples.jsonl" correct strict_correct)
ok "a stricter suite: exit 0" '[ $rc -eq 0 ]' || echo "# $out"
ok "each item's verdict is now the strict one" '"$bin" --trust tests/lib/records.lua field-eq "$tmp/src/samples.jsonl" strict_correct "$tmp/strict/samples.jsonl" correct'
ok "so $want verdicts changed, and it says so" '[ "$want" -gt 0 ] && grep -q "verdicts changed   $want " <<<"$out" && [ "$(get "$tmp/strict/run.json" rescored_from.changed)" = "$want" ]'
first=$(grep -m1 "changed items" <<<"$out" | grep -oE "gsm8k-test-[0-9]+")
ok "it lists the changed items, whose verdicts differ ($first)" '[ -n "$first" ] &&
    [ "$("$bin" --trust tests/lib/records.lua verdicts "$tmp/src/samples.jsonl" | grep "^$first " | cut -d" " -f2)" != "$("$bin" --trust tests/lib/records.lua verdicts "$tmp/strict/samples.jsonl" | grep "^$first " | cut -d" " -f2)" ]'
ok "the other fields are kept (content, tokens, gold)" '"$bin" --trust tests/lib/records.lua same "$tmp/src/samples.jsonl" "$tmp/strict/samples.jsonl" answer,rule,span,correct,score'
ok "the new suite is recorded, with its sha256" '[ "$(get "$tmp/strict/run.json" config.suite)" = gsm8k-strict ] && [ "$(get "$tmp/strict/run.json" config.suite_sha256)" = "$(sha256sum < "$tmp/strict.lua" | cut -d" " -f1)" ]'
ok "the accuracy is the strict accuracy" '[ "$(get "$tmp/strict/summary.json" metrics.accuracy)" = "$(get "$tmp/src/summary.json" metrics.strict_accuracy)" ]'

# 3. refusals, and the source never changes
out=$("$bin" rescore "$tmp/nowhere" 2>&1); rc=$?
ok "not a run folder: exit 2, named" '[ $rc -eq 2 ] && grep -q "nowhere is not a run folder" <<<"$out"'
out=$("$bin" rescore "$tmp/src" -o "$tmp/src" 2>&1); rc=$?
ok "-o the source folder: refused" '[ $rc -eq 2 ] && grep -q "the run being rescored" <<<"$out"'
out=$("$bin" rescore "$tmp/src" -o "$tmp/same" 2>&1); rc=$?
ok "-o an existing run folder: refused" '[ $rc -eq 2 ] && grep -q "a run folder already" <<<"$out"'
echo 'return 42' > "$tmp/notsuite.lua"
out=$("$bin" rescore "$tmp/src" --suite "$tmp/notsuite.lua" -o "$tmp/x1" 2>&1); rc=$?
ok "a file that returns no suite: exit 1, named" '[ $rc -eq 1 ] && grep -q "notsuite.lua does not return a suite table" <<<"$out"'
printf 'local g = require "evals.gsm8k"\nreturn { name = "x", version = 1, correct = g.correct, extract = function() error("boom") end }\n' > "$tmp/raises.lua"
out=$("$bin" rescore "$tmp/src" --suite "$tmp/raises.lua" -o "$tmp/x2" 2>&1); rc=$?
ok "a suite that raises while grading: exit 1, names the item" '[ $rc -eq 1 ] && grep -q "item gsm8k-test-.* raised an error while grading" <<<"$out"'
out=$("$bin" rescore 2>&1); rc=$?
ok "no RUN_DIR: usage, exit 2" '[ $rc -eq 2 ] && grep -q "usage: ollaeval rescore" <<<"$out"'
out=$("$bin" rescore --help 2>&1); rc=$?
ok "--help: exit 0" '[ $rc -eq 0 ] && grep -q "usage: ollaeval rescore" <<<"$out"'
ok "the source folder is unchanged" '[ "$(cd "$tmp/src" && sha256sum run.json samples.jsonl summary.json)" = "$before" ]'
done_testing
