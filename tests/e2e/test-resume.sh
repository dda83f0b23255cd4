#!/usr/bin/env bash
# test-resume.sh: samples.jsonl is the journal of record. A run killed with
# SIGKILL at random moments (16 kill points in 4 chains of kill, resume,
# kill, ...: the first kill of a chain after a random 0-150 ms, so during
# start-up or the first requests; the others once the journal reaches a random
# line count, plus a random 0-20 ms) and then resumed ends with every item recorded exactly once, as
# scored, and the same summary metrics as an uninterrupted run. A torn last
# record is detected and dropped; a malformed record in the middle is
# refused; resume refuses a different suite file, dataset, model or options.
# The seed of the kill delays is printed; KILL_SEED=N replays it.
set -u
. tests/lib/harness.sh
synth_data

limit=200
start_sim slow --dataset "$synth" --parallel 8 --fixed-latency-ms 30
url=$URL
args=(scripts/gsm8k.lua -m qwen3:8b -e "$url" --dataset "$synth" --limit $limit -c 8)
run() { "$bin" "${args[@]}" -q "$@"; }
msleep() { sleep "$(printf '%d.%03d' $(($1 / 1000)) $(($1 % 1000)))"; }

run -o "$tmp/ref" >/dev/null 2>"$tmp/ref.err"
rc=$?
ok "uninterrupted run: exit 0, $limit items scored" \
    '[ $rc -eq 0 ] && runcheck journal "$tmp/ref/samples.jsonl" $limit >/dev/null'

# --- SIGKILL at random points, then resume ------------------------------------
seed=${KILL_SEED:-$(( $(date +%s) % 100000 ))}
echo "# KILL_SEED=$seed"
RANDOM=$seed
kills=0 midrun=0 chains=4 per_chain=4
for c in $(seq $chains); do
    dir="$tmp/chain$c"
    for k in $(seq $per_chain); do
        # first round starts the run; later ones resume it (-o DIR, or --resume -o DIR)
        resume=()
        [ "$k" -gt 1 ] && [ $((k % 2)) -eq 0 ] && resume=(--resume)
        # the binary itself in the background (not a function: $! must be ollaeval)
        "$bin" "${args[@]}" "${resume[@]}" -o "$dir" >/dev/null 2>>"$tmp/chain$c.err" &
        pid=$!
        before=$(jlines "$dir/samples.jsonl")
        if [ "$k" -eq 1 ]; then
            ms=$((RANDOM % 150)) what="after ${ms} ms"
            msleep $ms
        else
            # a random point of what is left to do
            # (at least 24 items before the end, so the run is still going
            # when the kill lands, however loaded the machine)
            room=$((limit - 24 - before)); [ $room -ge 1 ] || room=1
            target=$((before + 1 + RANDOM % room))
            for _ in $(seq 1000); do
                [ "$(jlines "$dir/samples.jsonl")" -ge $target ] && break
                kill -0 "$pid" 2>/dev/null || break
                sleep 0.005
            done
            ms=$((RANDOM % 20)) what="at journal line $target + ${ms} ms"
            msleep $ms
        fi
        kill -9 "$pid" 2>/dev/null
        wait "$pid"
        rc=$?
        kills=$((kills + 1))
        lines=$(jlines "$dir/samples.jsonl")
        if [ "$rc" -eq 137 ] && [ "$lines" -gt "$before" ] && [ "$lines" -lt $limit ]; then midrun=$((midrun + 1)); fi
        echo "# chain $c kill $k $what: exit $rc, journal $before -> $lines lines"
    done
    "$bin" "${args[@]}" -o "$dir" >/dev/null 2>>"$tmp/chain$c.err"
    rc=$?
    ok "chain $c: the final resume exits 0 with status complete" \
        '[ $rc -eq 0 ] && [ "$(runcheck get "$dir/summary.json" status)" = complete ]'
    runcheck journal "$dir/samples.jsonl" $limit >"$tmp/j.out"
    jrc=$?
    ok "chain $c: every line whole JSON, each of the $limit ids scored exactly once ($(tail -n 1 "$tmp/j.out"))" \
        '[ $jrc -eq 0 ] && grep -q "errors 0" "$tmp/j.out"'
    [ $jrc -eq 0 ] || sed 's/^/# /' "$tmp/j.out"
    runcheck same "$tmp/ref/summary.json" "$dir/summary.json" >"$tmp/same.out"
    src=$?
    ok "chain $c: the same counts and metrics as the uninterrupted run" '[ $src -eq 0 ]'
    [ $src -eq 0 ] || sed 's/^/# /' "$tmp/same.out"
done
ok "$kills SIGKILLs, $midrun of them mid-run with a partial journal (want >= 10)" '[ $midrun -ge 10 ]'
ok "the resumes said they were resuming" 'grep -q "resuming .*chain1: [0-9]* records in the journal" "$tmp/chain1.err"'

# --- --resume alone finds the newest run of the suite and model under runs/ ---
mkdir -p "$tmp/cwd"
(cd "$tmp/cwd" || exit
    "$bin" "$root/scripts/gsm8k.lua" -m qwen3:8b -e "$url" --dataset "$synth" --limit 20 -q >/dev/null 2>&1 &
    pid=$!
    for _ in $(seq 400); do
        [ "$(cat runs/*/samples.jsonl 2>/dev/null | grep -c '')" -ge 3 ] && break
        sleep 0.005
    done
    kill -9 $pid; wait $pid 2>/dev/null)
(cd "$tmp/cwd" && "$bin" "$root/scripts/gsm8k.lua" -m qwen3:8b -e "$url" --dataset "$synth" --limit 20 --resume \
    >/dev/null 2>"$tmp/cwd.err")
rc=$?
d=$(ls -d "$tmp"/cwd/runs/gsm8k-qwen3_8b-* 2>/dev/null | head -n 1)
ok "--resume alone continues the newest run under runs/ (one folder, complete)" \
    '[ $rc -eq 0 ] && [ "$(ls -d "$tmp"/cwd/runs/*/ | wc -l)" -eq 1 ] &&
     [ "$(runcheck get "$d/summary.json" status)" = complete ] && runcheck journal "$d/samples.jsonl" 20 >/dev/null'

# --- torn records ---------------------------------------------------------------
cp -r "$tmp/ref" "$tmp/torn"
size=$(wc -c <"$tmp/torn/samples.jsonl")
last=$(tail -n 1 "$tmp/torn/samples.jsonl" | wc -c)
truncate -s $((size - last / 2)) "$tmp/torn/samples.jsonl"   # half of the last record
"$bin" "${args[@]}" -o "$tmp/torn" >/dev/null 2>"$tmp/torn.err"
rc=$?
ok "a torn last record (cut mid-JSON) is reported with its line and redone" \
    '[ $rc -eq 0 ] && grep -q "ignoring a torn last record at $tmp/torn/samples.jsonl:$limit" "$tmp/torn.err"'
ok "...ending with each id once and the same metrics" \
    'runcheck journal "$tmp/torn/samples.jsonl" $limit >/dev/null && runcheck same "$tmp/ref/summary.json" "$tmp/torn/summary.json" >/dev/null'

cp -r "$tmp/ref" "$tmp/nonl"
truncate -s $((size - 1)) "$tmp/nonl/samples.jsonl"   # whole JSON, no newline
"$bin" "${args[@]}" -o "$tmp/nonl" >/dev/null 2>"$tmp/nonl.err"
rc=$?
ok "a last record without its newline is torn too: redone, each id once, same metrics" \
    '[ $rc -eq 0 ] && grep -q "torn last record" "$tmp/nonl.err" && runcheck journal "$tmp/nonl/samples.jsonl" $limit >/dev/null &&
     runcheck same "$tmp/ref/summary.json" "$tmp/nonl/summary.json" >/dev/null'

cp -r "$tmp/ref" "$tmp/mid"
sed -i '7s/.*/{"id": "gsm8k-test-0007", "half/' "$tmp/mid/samples.jsonl"
cp "$tmp/mid/samples.jsonl" "$tmp/mid.before"
run -o "$tmp/mid" >/dev/null 2>"$tmp/mid.err"
rc=$?
ok "a malformed record in the middle: exit 1 naming the file and line 7, journal untouched" \
    '[ $rc -eq 1 ] && grep -q "samples.jsonl:7: the journal has a malformed record" "$tmp/mid.err" &&
     cmp -s "$tmp/mid.before" "$tmp/mid/samples.jsonl"'

# --- resume refuses what differs --------------------------------------------------
refuse() { # DESC FIELD ARGS...: resuming $tmp/ref with ARGS fails naming FIELD
    local desc=$1 field=$2
    shift 2
    cp "$tmp/ref/samples.jsonl" "$tmp/ref.journal"
    "$@" >/dev/null 2>"$tmp/refuse.err"
    local rc=$?
    ok "resume refuses $desc: exit 1, naming $field" \
        '[ $rc -eq 1 ] && grep -q "cannot resume $tmp/ref: its $field was" "$tmp/refuse.err" &&
         cmp -s "$tmp/ref.journal" "$tmp/ref/samples.jsonl"'
}
refuse "another model" model gsm8k -m llama3.2:3b -e "$url" --dataset "$synth" --limit $limit -q -o "$tmp/ref"
refuse "another temperature" "option temperature" run --temperature 0.5 -o "$tmp/ref"
refuse "another seed" seed run --seed 7 -o "$tmp/ref"
refuse "another think setting" think run --think false -o "$tmp/ref"
head -n 300 "$synth" >"$tmp/subset.jsonl"
refuse "another dataset" dataset_sha256 gsm8k -e "$url" --dataset "$tmp/subset.jsonl" --limit $limit -q -o "$tmp/ref"
mkdir -p "$tmp/alt/scripts" "$tmp/alt/evals"
cp scripts/gsm8k.lua "$tmp/alt/scripts/"
{ cat evals/gsm8k.lua; echo "-- edited"; } >"$tmp/alt/evals/gsm8k.lua"
refuse "an edited suite file" suite_sha256 "$bin" --lua-path "$tmp/alt" "$tmp/alt/scripts/gsm8k.lua" -m qwen3:8b -e "$url" \
    --dataset "$synth" --limit $limit -q -o "$tmp/ref"
run -o "$tmp/ref" >/dev/null 2>&1
rc=$?
ok "...and the same settings resume it (nothing to do, exit 0)" '[ $rc -eq 0 ] && runcheck same "$tmp/ref/summary.json" "$tmp/ref/summary.json" >/dev/null'

done_testing
