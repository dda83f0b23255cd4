#!/usr/bin/env bash
# test-lock.sh: one process per run folder. While a run holds -o DIR (an
# flock on DIR/run.lock, for the whole run), a second ollaeval on the same
# folder is refused at once with exit 1, naming the holder's pid, and
# touches neither the journal nor the server; the first run ends with
# every item once. `ollaeval merge` into a folder in use is refused too.
# Once the holder has ended, the folder can be used again.
set -u
. tests/lib/harness.sh
synth_data

start_sim --dataset "$synth" --fixed-latency-ms 20 --parallel 8
args=(scripts/gsm8k.lua -m qwen3:8b -e "$URL" --dataset "$synth" --limit 120 -c 8 -q -o "$tmp/run")
"$bin" "${args[@]}" >/dev/null 2>"$tmp/first.err" &
first=$!
for _ in $(seq 400); do [ "$(jlines "$tmp/run/samples.jsonl")" -ge 3 ] && break; sleep 0.01; done
# the first run is held still (SIGSTOP) while the others try the folder, so
# that it cannot end before them on a loaded machine
kill -STOP "$first"
ok "the first run holds run.lock with its pid" '[ "$(cat "$tmp/run/run.lock")" = "$first" ]'
before=$(stat requests)
"$bin" "${args[@]}" >/dev/null 2>"$tmp/second.err"
rc=$?
after=$(stat requests)
ok "a second process on the same -o DIR: exit 1" '[ $rc -eq 1 ]'
ok "...naming the folder and the holder's pid" \
    'grep -qF "ollaeval: the run folder $tmp/run is in use by another ollaeval (process $first); wait for it to end, or use another -o DIR" "$tmp/second.err"'
ok "...and sending no chat request of its own (the first sent $((after - before)) meanwhile)" \
    '[ "$(grep -c "" "$tmp/second.err")" -eq 1 ]'
"$bin" merge "$tmp/run" -o "$tmp/run" >/dev/null 2>"$tmp/merge.err"
rc=$?
ok "merge into a folder in use: refused naming the holder" '[ $rc -eq 1 ] && grep -q "process $first" "$tmp/merge.err"'
kill -CONT "$first"
wait $first
rc=$?
ok "the first run completes (exit 0), each of the 120 items once" \
    '[ $rc -eq 0 ] && runcheck journal "$tmp/run/samples.jsonl" 120 >/dev/null'
ok "...no duplicate records" '[ "$(jlines "$tmp/run/samples.jsonl")" -eq 120 ]'
"$bin" "${args[@]}" >/dev/null 2>"$tmp/third.err"
rc=$?
ok "once it has ended, the folder resumes (nothing to do, exit 0)" '[ $rc -eq 0 ] && [ "$(jlines "$tmp/run/samples.jsonl")" -eq 120 ]'
finish
