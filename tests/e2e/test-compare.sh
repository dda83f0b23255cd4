#!/usr/bin/env bash
# test-compare.sh: `ollaeval compare RUN_A RUN_B`. A hand-made pair with known
# discordant counts reproduces the hand-computed McNemar p, paired interval
# and MDE; two simulator runs of different --accuracy and --seed on the same
# synthetic data give a consistent 2x2 table; --fail-if-worse sets the exit
# status; runs over different datasets are refused, different prompts warned
# about; per-group differences carry Holm and BH adjusted p-values.
set -u
. tests/lib/harness.sh
mkrun() { "$bin" --trust tests/lib/mkrun.lua "$@"; }
near() { awk -v a="$1" -v b="$2" -v t="$3" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(d <= t) }'; }

# 1. known discordant counts: 10 right in A only, 3 in B only, 50 both, 37 neither.
# B - A = -0.07; SE = sqrt((13 - 100 * 0.07^2) / 99) / 10; McNemar 2 * 378 / 8192
mkrun "$tmp/pa" --pair 10,3,50,37 --side a
mkrun "$tmp/pb" --pair 10,3,50,37 --side b
"$bin" compare "$tmp/pa" "$tmp/pb" -o "$tmp/c1" >"$tmp/c1.out" 2>&1
rc=$?
j=$tmp/c1/compare.json
ok "compare of a hand-made pair: exit 0" '[ $rc -eq 0 ]'
ok "compare.json and compare.html written to -o DIR" '[ -s "$j" ] && [ -s "$tmp/c1/compare.html" ]'
ok "100 items matched" '[ "$(get "$j" matched)" = 100 ]'
ok "2x2: regressed 10, fixed 3, both right 50, both wrong 37" \
    '[ "$(get "$j" table.regressed table.fixed table.both_right table.both_wrong | tr "\n" " ")" = "10 3 50 37 " ]'
ok "accuracy A 0.60, B 0.53" 'near "$(get "$j" accuracy_a)" 0.60 1e-12 && near "$(get "$j" accuracy_b)" 0.53 1e-12'
ok "B - A = -0.07" 'near "$(get "$j" delta)" -0.07 1e-12'
ok "McNemar exact p = 2 * 378/8192 = 0.0922852" 'near "$(get "$j" mcnemar_p)" 0.09228515625 1e-10'
ok "SE of the difference = sqrt(12.51/99)/10 = 0.0355477" 'near "$(get "$j" se)" 0.0355476633 1e-9'
ok "paired 95% CI -0.139673 .. -0.000327" 'near "$(get "$j" ci95.1)" -0.139673 1e-6 && near "$(get "$j" ci95.2)" -0.000327 1e-6'
ok "MDE = 2.8016 * SE = 0.099590" 'near "$(get "$j" mde)" 0.099590 1e-6'
ok "paired bootstrap interval close to the analytic one" \
    'near "$(get "$j" bootstrap.lo)" -0.14 0.015 && near "$(get "$j" bootstrap.hi)" 0 0.015 && [ "$(get "$j" bootstrap.resamples)" = 10000 ]'
ok "regressed bucket lists items 1..10" '[ "$(get "$j" buckets.regressed.1)" = item-00001 ] && [ "$(get "$j" buckets.regressed.10)" = item-00010 ] && [ "$(get "$j" buckets.regressed.11)" = nil ]'
ok "fixed bucket lists items 11..13" '[ "$(get "$j" buckets.fixed.1)" = item-00011 ] && [ "$(get "$j" buckets.fixed.3)" = item-00013 ]'
ok "the terminal shows the difference, p and the MDE" \
    'grep -q "difference B - A   -7.00 pp" "$tmp/c1.out" && grep -q "McNemar exact p    0.0923" "$tmp/c1.out" && grep -q "below 9.96 pp" "$tmp/c1.out"'
cp "$j" "$tmp/c1.json"
"$bin" compare "$tmp/pa" "$tmp/pb" -o "$tmp/c1" >/dev/null 2>&1
ok "the same runs give the same compare.json and compare.html bytes" 'cmp -s "$j" "$tmp/c1.json"'
"$bin" compare "$tmp/pa" "$tmp/pb" --seed 5 -o "$tmp/c1s" >/dev/null 2>&1
ok "--seed changes the bootstrap draw, not the analytic numbers" \
    '[ "$(get "$tmp/c1s/compare.json" bootstrap.seed)" = 5 ] && [ "$(get "$tmp/c1s/compare.json" mcnemar_p)" = "$(get "$j" mcnemar_p)" ]'

# 2. the gate: B is 7 pp worse
"$bin" compare "$tmp/pa" "$tmp/pb" --fail-if-worse 1pp -o "$tmp/g1" >"$tmp/g1.out" 2>&1
ok "--fail-if-worse 1pp with B 7 pp worse: exit 1" '[ $? -eq 1 ] && grep -q "gate               FAILED" "$tmp/g1.out"'
"$bin" compare "$tmp/pa" "$tmp/pb" --fail-if-worse 8pp -o "$tmp/g2" >/dev/null 2>&1
ok "--fail-if-worse 8pp: exit 0" '[ $? -eq 0 ]'
"$bin" compare "$tmp/pb" "$tmp/pa" --fail-if-worse=0 -o "$tmp/g3" >/dev/null 2>&1
ok "reversed (B better), --fail-if-worse=0: exit 0" '[ $? -eq 0 ] && near "$(get "$tmp/g3/compare.json" delta)" 0.07 1e-12'
"$bin" compare "$tmp/pa" "$tmp/pb" --fail-if-worse lots >/dev/null 2>"$tmp/g4.err"
ok "--fail-if-worse lots: usage error, exit 2" '[ $? -eq 2 ] && grep -q "percentage points" "$tmp/g4.err"'
"$bin" compare "$tmp/pa" >/dev/null 2>"$tmp/u.err"
ok "one run folder: exit 2 with the usage" '[ $? -eq 2 ] && grep -q "usage: ollaeval compare" "$tmp/u.err"'
"$bin" compare "$tmp/pa" "$tmp/nothing" >/dev/null 2>"$tmp/u2.err"
ok "a folder that is not a run: exit 2, named" '[ $? -eq 2 ] && grep -q "nothing is not a run folder" "$tmp/u2.err"'
"$bin" compare --help >"$tmp/h.out" 2>&1
ok "compare --help documents the gate's exit status" '[ $? -eq 0 ] && grep -q "exit 1 when B - A is below" "$tmp/h.out"'

# 3. refused: different datasets; warned: different prompts; items in one run only
mkrun "$tmp/other" --pair 10,3,50,37 --side b --dataset-sha "$(printf 'cd%.0s' $(seq 32))"
"$bin" compare "$tmp/pa" "$tmp/other" -o "$tmp/c3" >/dev/null 2>"$tmp/c3.err"
ok "different datasets: refused, exit 2" '[ $? -eq 2 ] && grep -q "different datasets" "$tmp/c3.err" && [ ! -e "$tmp/c3/compare.json" ]'
mkrun "$tmp/pp" --pair 10,3,50,37 --side b --prompt-suffix " Think."
"$bin" compare "$tmp/pa" "$tmp/pp" -o "$tmp/c4" >"$tmp/c4.out" 2>&1
ok "different prompts: compared, with a warning naming the count" \
    '[ $? -eq 0 ] && grep -q "warning: the prompts differ for 100 of 100 matched items (first: item-00001" "$tmp/c4.out" && [ "$(get "$tmp/c4/compare.json" prompts_differ)" = 100 ]'
mkrun "$tmp/short" --n 40 --acc 0.5
mkrun "$tmp/long" --n 60 --acc 0.5
"$bin" compare "$tmp/short" "$tmp/long" -o "$tmp/c5" >"$tmp/c5.out" 2>&1
ok "items in one run only are counted, not compared" \
    '[ $? -eq 0 ] && [ "$(get "$tmp/c5/compare.json" only_b)" = 20 ] && [ "$(get "$tmp/c5/compare.json" matched)" = 40 ] && grep -q "A only 0, B only 20" "$tmp/c5.out"'
ok "identical answers on the shared items: delta 0, McNemar p 1" \
    '[ "$(get "$tmp/c5/compare.json" delta)" = 0 ] && [ "$(get "$tmp/c5/compare.json" mcnemar_p)" = 1 ]'

mkrun "$tmp/fa" --n 200 --acc 0.5 --faults
mkrun "$tmp/fb" --n 200 --acc 0.5
"$bin" compare "$tmp/fa" "$tmp/fb" -o "$tmp/c8" >"$tmp/c8.out" 2>&1
ok "items that errored in one run are left out and counted (items 97 and 194)" \
    '[ $? -eq 0 ] && [ "$(get "$tmp/c8/compare.json" errored matched | tr "\n" " ")" = "2 198 " ] && grep -q "2 matched items ended with an error in A or B and are left out" "$tmp/c8.out"'

# 4. per group: Holm >= p, BH between p and Holm
mkrun "$tmp/ga" --pair 30,6,100,64 --side a --groups 4
mkrun "$tmp/gb" --pair 30,6,100,64 --side b --groups 4
"$bin" compare "$tmp/ga" "$tmp/gb" -o "$tmp/c6" >"$tmp/c6.out" 2>&1
g=$tmp/c6/compare.json
ok "4 groups compared" '[ "$(get "$g" groups.4.group)" = g3 ] && [ "$(get "$g" groups.5)" = nil ]'
ok "group sizes add up to the items" '[ $(( $(get "$g" groups.1.n) + $(get "$g" groups.2.n) + $(get "$g" groups.3.n) + $(get "$g" groups.4.n) )) = 200 ]'
bad=0
for i in 1 2 3 4; do
    read -r p h b < <(get "$g" groups.$i.p groups.$i.p_holm groups.$i.p_bh | tr '\n' ' ')
    awk -v p="$p" -v h="$h" -v b="$b" 'BEGIN { exit !(h >= p - 1e-12 && b >= p - 1e-12 && b <= h + 1e-12) }' || bad=1
done
ok "each group: p <= BH <= Holm" '[ $bad = 0 ]'
ok "the terminal lists the groups" 'grep -q "per group (B - A; p exact McNemar, Holm and BH adjusted across 4 groups)" "$tmp/c6.out"'

# 5. two simulator runs on the same synthetic data: --accuracy 0.8 / 0.55, other seeds
synth=$(synth_data 400)
start_sim s1 --time-scale 0 --parallel 16 --accuracy 0.8 --seed 1 --dataset "$synth"
"$bin" scripts/gsm8k.lua -q -m qwen3:8b -e "$URL" -c 8 --dataset "$synth" -o "$tmp/ra" >/dev/null 2>&1
start_sim s2 --time-scale 0 --parallel 16 --accuracy 0.55 --seed 2 --dataset "$synth"
"$bin" scripts/gsm8k.lua -q -m qwen3:8b -e "$URL" -c 8 --dataset "$synth" -o "$tmp/rb" >/dev/null 2>&1
"$bin" compare "$tmp/ra" "$tmp/rb" --fail-if-worse 1pp >"$tmp/c7.out" 2>&1
rc=$?
j=$tmp/compare-ra-vs-rb/compare.json
ok "simulator runs: B (0.55) worse than A (0.8) trips the gate, exit 1" '[ $rc -eq 1 ]'
ok "default -o: compare-ra-vs-rb beside RUN_B" '[ -s "$j" ] && [ -s "$tmp/compare-ra-vs-rb/compare.html" ]'
ok "400 items matched" '[ "$(get "$j" matched)" = 400 ]'
accA=$(get "$tmp/ra/summary.json" metrics.accuracy)
accB=$(get "$tmp/rb/summary.json" metrics.accuracy)
ok "accuracies equal the runs' summary.json ($accA, $accB)" \
    'near "$(get "$j" accuracy_a)" "$accA" 1e-9 && near "$(get "$j" accuracy_b)" "$accB" 1e-9'
ok "2x2 margins: A right = regressed + both right" \
    '[ "$(awk -v a="$accA" "BEGIN { printf \"%d\", a * 400 + 0.5 }")" = $(( $(get "$j" table.regressed) + $(get "$j" table.both_right) )) ]'
ok "the four cells add up to 400" \
    '[ $(( $(get "$j" table.regressed) + $(get "$j" table.fixed) + $(get "$j" table.both_right) + $(get "$j" table.both_wrong) )) = 400 ]'
ok "a 25 pp drop on 400 items is significant (McNemar p < 0.001) and beyond the MDE" \
    'awk -v p="$(get "$j" mcnemar_p)" -v d="$(get "$j" delta)" -v m="$(get "$j" mde)" "BEGIN { exit !(p < 0.001 && -d > m) }"'
ok "delta inside its own bootstrap interval" \
    'awk -v d="$(get "$j" delta)" -v l="$(get "$j" bootstrap.lo)" -v h="$(get "$j" bootstrap.hi)" "BEGIN { exit !(l <= d && d <= h) }"'
ok "paired token and latency ratios" '[ "$(get "$j" performance.tokens_pairs)" -gt 300 ] && [ "$(get "$j" performance.tokens_ratio_median)" != nil ]'
finish
