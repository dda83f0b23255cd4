#!/usr/bin/env bash
# test-suites-real.sh: scripts/math500.lua and scripts/mmlu.lua on the real
# MATH-500 and MMLU-STEM test sets against `ollaeval sim`: every item the
# simulator recorded is graded as the simulator made it (right or wrong),
# and the shared-folder step finds each set by its pinned sha256.
set -u
. tests/lib/harness.sh
shared=${OLLAEVAL_SHARED:-$root/../shared}
math=$shared/datasets/math500/test.jsonl
mmlu=$shared/datasets/mmlu_stem/test.jsonl
need_data "$math" "$mmlu"
export OLLAEVAL_CACHE=$tmp/cache OLLAEVAL_SHARED=$shared

# agreement FILE-of-sim-answers samples.jsonl -> "agree disagree missing"
agreement() {
    "$bin" /dev/stdin "$1" "$2" <<'LUA'
local cjson = require "cjson"
local sim = {}
for a in jsonl(arg[1]) do sim[a.index + 1] = a.correct end
local agree, dis, miss = 0, 0, 0
for r in jsonl(arg[2]) do
    local s = sim[r.index]
    if s == nil then miss = miss + 1 elseif s == (r.correct == true) then agree = agree + 1 else dis = dis + 1 end
end
print(agree, dis, miss)
return 0
LUA
}

start_sim math --time-scale 0 --parallel 16 --dataset "$math" --question-field problem --answers-out "$tmp/math-answers.jsonl"
"$bin" scripts/math500.lua -m qwen3:8b -e "$URL" -c 16 -o "$tmp/math" >"$tmp/math.out" 2>"$tmp/math.err"; rc=$?
ok "math500: exit 0, 500 scored" '[ $rc -eq 0 ] && [ "$(get "$tmp/math/summary.json" counts.scored)" = 500 ]'
ok "math500: the dataset came from the shared folder, sha256 verified" 'grep -q "shared copy, sha256 verified" "$tmp/math.err"'
read -r agree dis miss <<<"$(agreement "$tmp/math-answers.jsonl" "$tmp/math/samples.jsonl")"
ok "math500: graded as the simulator made them: $agree agree, $dis disagree, $miss not recorded by it" \
    '[ "$agree" = 500 ] && [ "$dis" = 0 ]'
ok "math500: accuracy per subject (7 subjects)" '[ "$(get "$tmp/math/summary.json" groups.Algebra.n)" != nil ] && [ "$(grep -c "^    " "$tmp/math.out")" = 7 ]'

start_sim mmlu --time-scale 0 --parallel 16 --dataset "$mmlu" --answers-out "$tmp/mmlu-answers.jsonl"
"$bin" scripts/mmlu.lua -m qwen3:8b -e "$URL" -c 16 -o "$tmp/mmlu" >"$tmp/mmlu.out" 2>"$tmp/mmlu.err"; rc=$?
ok "mmlu: exit 0, 3018 scored" '[ $rc -eq 0 ] && [ "$(get "$tmp/mmlu/summary.json" counts.scored)" = 3018 ]'
read -r agree dis miss <<<"$(agreement "$tmp/mmlu-answers.jsonl" "$tmp/mmlu/samples.jsonl")"
# (a question repeated in the set is recorded under each of its twins)
ok "mmlu: graded as the simulator made them: $agree agree, $dis disagree, $miss not recorded by it" \
    '[ "$dis" = 0 ] && [ "$agree" = 3018 ] && [ "$miss" = 0 ]'
ok "mmlu: 18 subjects, elementary_mathematics has 378" \
    '[ "$(get "$tmp/mmlu/summary.json" groups.elementary_mathematics.n)" = 378 ] && [ "$(grep -c "^    " "$tmp/mmlu.out")" = 18 ]'
finish
