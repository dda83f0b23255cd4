#!/usr/bin/env bash
# test-storage.sh: the run folder cannot take more (here a file-size limit,
# `ulimit -f`, so that writes past 16 KiB fail as on a full disk): the run
# stops with exit 4 naming the file and the error, every record written
# before is whole, and a re-run with -o DIR once there is room completes the
# run with the metrics of an uninterrupted one.
set -u
. tests/lib/harness.sh
synth_data

start_sim --time-scale 0 --dataset "$synth"
args=(scripts/gsm8k.lua -m qwen3:8b -e "$URL" --dataset "$synth" --limit 100 -q)
"$bin" "${args[@]}" -o "$tmp/ref" >/dev/null 2>&1
ok "reference run: complete" '[ "$(runcheck get "$tmp/ref/summary.json" status)" = complete ]'

# SIGXFSZ ignored, as a full disk sends no signal: the write fails with EFBIG
(trap '' XFSZ; ulimit -f 16; exec "$bin" "${args[@]}" -o "$tmp/full") >/dev/null 2>"$tmp/full.err"
rc=$?
n=$(jlines "$tmp/full/samples.jsonl")
ok "a write fails: exit 4" '[ $rc -eq 4 ]'
ok "...stderr names the journal, the error and how to go on" \
    'grep -q "^ollaeval: stopped: cannot write the run folder ($tmp/full/samples.jsonl: File too large); every record before it is kept: .* re-run with -o $tmp/full" "$tmp/full.err"'
ok "...the journal holds some records ($n), fewer than 100" '[ "$n" -ge 1 ] && [ "$n" -lt 100 ]'
"$bin" "${args[@]}" -o "$tmp/full" >/dev/null 2>"$tmp/again.err"
rc=$?
ok "with room again, -o DIR completes the run (exit 0), each item once" \
    '[ $rc -eq 0 ] && runcheck journal "$tmp/full/samples.jsonl" 100 >/dev/null'
ok "...with the metrics of the uninterrupted run" \
    'runcheck same "$tmp/ref/summary.json" "$tmp/full/summary.json" >/dev/null'
finish
