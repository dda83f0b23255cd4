#!/usr/bin/env bash
# test-storage.sh: the run folder cannot take more, and nothing is lost.
#   - a file-size limit (`ulimit -f`: writes past 16 KiB fail as on a full
#     disk), and a real full disk (a 200 KiB tmpfs, when this user can mount
#     one): the run stops at once with exit 4 and "disk full (or read-only,
#     or folder removed): nothing lost, resume after fixing", every record
#     written before is whole, and a re-run with -o DIR once there is room
#     completes the run with the metrics of an uninterrupted one;
#   - the resume of a complete run on a full disk keeps its summary.json;
#   - a read-only run folder: exit 4 before any request, naming the reason,
#     with no traceback;
#   - the run folder deleted mid-run: noticed at the next record, exit 4.
set -u
. tests/lib/harness.sh
synth_data

start_sim --time-scale 0 --dataset "$synth"
args=(scripts/gsm8k.lua -m qwen3:8b -e "$URL" --dataset "$synth" --limit 100 -q)
"$bin" "${args[@]}" -o "$tmp/ref" >/dev/null 2>&1
ok "reference run: complete" '[ "$(runcheck get "$tmp/ref/summary.json" status)" = complete ]'
msg="disk full (or read-only, or folder removed): nothing lost, resume after fixing"

# SIGXFSZ ignored, as a full disk sends no signal: the write fails with EFBIG
(trap '' XFSZ; ulimit -f 16; exec "$bin" "${args[@]}" -o "$tmp/full") >/dev/null 2>"$tmp/full.err"
rc=$?
n=$(jlines "$tmp/full/samples.jsonl")
ok "a write fails: exit 4" '[ $rc -eq 4 ]'
ok "...stderr names the journal, the error, what it means and how to go on" \
    'grep -qF "ollaeval: stopped: cannot write the run folder ($tmp/full/samples.jsonl: File too large): $msg: re-run with -o $tmp/full" "$tmp/full.err"'
ok "...no traceback" '! grep -q traceback "$tmp/full.err"'
ok "...the journal holds some records ($n), fewer than 100, every line whole" \
    '[ "$n" -ge 1 ] && [ "$n" -lt 100 ] && [ "$(tail -c 1 "$tmp/full/samples.jsonl" | od -An -c | tr -d " ")" = "\n" ]'
"$bin" "${args[@]}" -o "$tmp/full" >/dev/null 2>"$tmp/again.err"
rc=$?
ok "with room again, -o DIR completes the run (exit 0), each item once" \
    '[ $rc -eq 0 ] && runcheck journal "$tmp/full/samples.jsonl" 100 >/dev/null'
ok "...with the metrics of the uninterrupted run" \
    'runcheck same "$tmp/ref/summary.json" "$tmp/full/summary.json" >/dev/null'

# --- the run folder deleted mid-run ------------------------------------------------
start_sim slow --dataset "$synth" --fixed-latency-ms 20 --parallel 4
"$bin" scripts/gsm8k.lua -m qwen3:8b -e "$URL" --dataset "$synth" --limit 200 -c 4 -q -o "$tmp/gone" \
    >/dev/null 2>"$tmp/gone.err" &
pid=$!
for _ in $(seq 400); do [ "$(jlines "$tmp/gone/samples.jsonl")" -ge 5 ] && break; sleep 0.01; done
rm -rf "$tmp/gone"
wait $pid
rc=$?
ok "the run folder deleted mid-run: exit 4" '[ $rc -eq 4 ]'
ok "...the message says the file was removed and how to go on" \
    'grep -q "the file was removed (was the run folder deleted?)): $msg" "$tmp/gone.err"'

# --- a real full disk and a read-only folder (tmpfs; needs mount rights) ------------
mnt=$tmp/mnt
mkdir -p "$mnt"
if mount -t tmpfs -o size=200k tmpfs "$mnt" 2>/dev/null; then
    mounted() { umount "$mnt" 2>/dev/null; }
    trap 'mounted; cleanup' EXIT
    head -n 300 "$synth" >"$tmp/300.jsonl"
    a300=(scripts/gsm8k.lua -m qwen3:8b -e "$URL" --dataset "$tmp/300.jsonl" -q -c 8)
    "$bin" "${a300[@]}" -o "$tmp/ref300" >/dev/null 2>&1
    "$bin" "${a300[@]}" -o "$mnt/run" >/dev/null 2>"$tmp/enospc.err"
    rc=$?
    n=$(jlines "$mnt/run/samples.jsonl")
    ok "a full disk (200 KiB tmpfs, 300 items): exit 4, 'No space left on device'" \
        '[ $rc -eq 4 ] && grep -qF "No space left on device): $msg" "$tmp/enospc.err"'
    ok "...the journal is not emptied: $n whole records" \
        '[ "$n" -ge 1 ] && [ "$(tail -c 1 "$mnt/run/samples.jsonl" | od -An -c | tr -d " ")" = "\n" ]'
    "$bin" "${a300[@]}" -o "$mnt/run" >/dev/null 2>"$tmp/enospc2.err"
    rc=$?
    m=$(jlines "$mnt/run/samples.jsonl")
    ok "...a resume on the still full disk: exit 4 again, nothing lost ($n -> $m records)" \
        '[ $rc -eq 4 ] && [ "$m" -ge "$n" ]'
    cp -r "$mnt/run" "$tmp/moved"
    umount "$mnt"
    "$bin" "${a300[@]}" -o "$tmp/moved" >/dev/null 2>&1
    rc=$?
    ok "...on a disk with room, the run completes with the metrics of the uninterrupted run" \
        '[ $rc -eq 0 ] && runcheck journal "$tmp/moved/samples.jsonl" 300 >/dev/null &&
         runcheck same "$tmp/ref300/summary.json" "$tmp/moved/summary.json" >/dev/null'

    # a complete run whose disk then fills up: its summary.json must survive a resume
    mount -t tmpfs -o size=400k tmpfs "$mnt"
    cp -r "$tmp/ref" "$mnt/done"
    cp "$mnt/done/summary.json" "$tmp/summary.before"
    dd if=/dev/zero of="$mnt/filler" bs=4k 2>/dev/null
    "$bin" "${args[@]}" -o "$mnt/done" >/dev/null 2>"$tmp/donefull.err"
    rc=$?
    ok "resume of a complete run on a full disk: exit 4, summary.json unchanged, no .tmp left" \
        '[ $rc -eq 4 ] && cmp -s "$tmp/summary.before" "$mnt/done/summary.json" && [ ! -e "$mnt/done/summary.json.tmp" ]'
    ok "...the journal unchanged" 'cmp -s "$tmp/ref/samples.jsonl" "$mnt/done/samples.jsonl"'
    umount "$mnt"

    # read-only from the start
    mount -t tmpfs -o size=400k tmpfs "$mnt"
    mkdir -p "$mnt/ro"
    mount -o remount,ro "$mnt"
    before=$(stat requests)
    "$bin" "${args[@]}" -o "$mnt/ro" >/dev/null 2>"$tmp/ro.err"
    rc=$?
    ok "a read-only run folder: exit 4, 'Read-only file system' and the advice, no traceback" \
        '[ $rc -eq 4 ] && grep -qF "Read-only file system): $msg" "$tmp/ro.err" && ! grep -q traceback "$tmp/ro.err"'
    ok "...before any request" '[ "$(stat requests)" = "$before" ]'
    umount "$mnt"
else
    pass "a full disk and a read-only folder # SKIP cannot mount a tmpfs here"
fi
finish
