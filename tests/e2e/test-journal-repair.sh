#!/usr/bin/env bash
# test-journal-repair.sh: a journal with malformed lines in the middle (a
# line cut short, a line of NUL bytes, as after a power loss) is refused on
# resume with exit 1, naming the line and --repair-journal, and left as it
# was. With --repair-journal the good records stay as they were, the bad
# lines move to samples.jsonl.bad, only their items are redone, and the run
# ends with each item once and the metrics of an uninterrupted run.
set -u
. tests/lib/harness.sh
synth_data

limit=60
start_sim --time-scale 0 --dataset "$synth"
args=(scripts/gsm8k.lua -m qwen3:8b -e "$URL" --dataset "$synth" --limit $limit -q -c 1) # -c 1: line N of the journal is item N
"$bin" "${args[@]}" -o "$tmp/ref" >/dev/null 2>&1
ok "reference run: complete" '[ "$(get "$tmp/ref/summary.json" status)" = complete ]'

cp -r "$tmp/ref" "$tmp/bad"
j=$tmp/bad/samples.jsonl
sed -i '7s/.*/{"id": "gsm8k-test-0007", "half/' "$j"
awk 'NR == 20 { printf "%s\n", "\0\0\0\0\0\0\0\0" ; next } { print }' "$j" >"$j.new" && mv "$j.new" "$j"
cp "$j" "$tmp/bad.before"
"$bin" "${args[@]}" -o "$tmp/bad" >/dev/null 2>"$tmp/refuse.err"
rc=$?
ok "a malformed line in the middle: exit 1, naming line 7 and --repair-journal" \
    '[ $rc -eq 1 ] && grep -q "samples.jsonl:7: the journal has a malformed record in the middle; .*--repair-journal" "$tmp/refuse.err"'
ok "...the journal untouched" 'cmp -s "$tmp/bad.before" "$j"'

# the requests of a resume with nothing to do (the preflight's), to subtract
before=$(stat generate_requests)
"$bin" "${args[@]}" -o "$tmp/ref" >/dev/null 2>&1
idle=$(( $(stat generate_requests) - before ))
before=$(stat generate_requests)
"$bin" "${args[@]/-q/}" -o "$tmp/bad" --repair-journal >/dev/null 2>"$tmp/repair.err"
rc=$?
after=$(( $(stat generate_requests) - idle ))
ok "--repair-journal: exit 0, saying what it moved" \
    '[ $rc -eq 0 ] && grep -q "2 malformed lines moved to $j.bad" "$tmp/repair.err"'
ok "...the two bad lines are in samples.jsonl.bad" \
    '[ "$(wc -l <"$j.bad")" -eq 2 ] && grep -q "\"half" "$j.bad"'
ok "...only their two items were redone ($((after - before)) chat requests)" '[ $((after - before)) -eq 2 ]'
ok "...each of the $limit items once, the metrics of the uninterrupted run" \
    'runcheck journal "$j" $limit >/dev/null && runcheck same "$tmp/ref/summary.json" "$tmp/bad/summary.json" >/dev/null'
ok "...the good records kept as they were" \
    '[ "$(grep -av -e gsm8k-test-0007 -e gsm8k-test-0020 "$j" | head -n 57 | md5sum)" = "$(grep -av -e gsm8k-test-0007 -e gsm8k-test-0020 "$tmp/ref/samples.jsonl" | head -n 57 | md5sum)" ]'
finish
