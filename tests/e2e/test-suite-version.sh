#!/usr/bin/env bash
# test-suite-version.sh: a suite's version is part of what makes a run the
# same run. A run folder written under another version of the GSM8K suite
# (its run.json says suite_version 1, as before grading changed) is not
# resumed, nor mixed with --retry-errors: the refusal names the versions,
# what a version means, and what to do.
set -u
. tests/lib/harness.sh
synth_data

start_sim --time-scale 0 --dataset "$synth"
args=(-e "$URL" --dataset "$synth" --limit 4 -q)
gsm8k "${args[@]}" -o "$tmp/run" >/dev/null 2>&1
rc=$?
now=$(get "$tmp/run/run.json" config.suite_version)
ok "a run of the GSM8K suite: exit 0, its run.json records suite version 2" '[ $rc -eq 0 ] && [ "$now" = 2 ]'

# the same folder as an older ollaeval left it: suite version 1
sed -i 's/"suite_version":"2"/"suite_version":"1"/' "$tmp/run/run.json"
ok "(the folder now reads as written under version 1)" '[ "$(get "$tmp/run/run.json" config.suite_version)" = 1 ]'
for flag in "" --retry-errors; do
    gsm8k "${args[@]}" -o "$tmp/run" $flag >/dev/null 2>"$tmp/err"
    rc=$?
    ok "resume${flag:+ with $flag} of a version-1 folder: refused (exit 1), naming both versions" \
        '[ $rc -eq 1 ] && grep -q "cannot resume $tmp/run: its suite version was 1, this run'"'"'s is 2; use another -o DIR" "$tmp/err"'
    ok "...and saying why: the scores would not compare" \
        'grep -q "changes with its prompt or grading, so the scores of the two would not compare" "$tmp/err"'
    sed 's/^/# /' "$tmp/err"
done
ok "nothing was added to the old journal" '[ "$(jlines "$tmp/run/samples.jsonl")" = 4 ]'
finish
