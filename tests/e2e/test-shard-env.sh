#!/usr/bin/env bash
# test-shard-env.sh: --shard from a cluster's array-job environment, as
# docs/cluster.md maps it: Slurm's SLURM_ARRAY_TASK_ID / _COUNT / _MIN /
# _STEP, Kubernetes' JOB_COMPLETION_INDEX with --shard-count or
# $OLLAEVAL_SHARD_COUNT; --shard on the command line wins; bad or
# out-of-range values are usage errors naming the variable; the default run
# folder names the shard; array tasks merge into the whole run.
set -u
. tests/lib/harness.sh
synth_data
start_sim sh --time-scale 0 --parallel 32 --accuracy 0.6 --seed 5 --dataset "$synth"; sh=$URL

# Runs 12 items in a clean environment plus the given variables; prints the
# recorded shard and the number of items. Usage: shard_of DIR VAR=VALUE... -- ARGS...
shard_of() {
    local dir=$1; shift
    local vars=()
    while [ $# -gt 0 ] && [ "$1" != "--" ]; do vars+=("$1"); shift; done
    [ "${1:-}" = "--" ] && shift
    env -u SLURM_ARRAY_TASK_ID -u SLURM_ARRAY_TASK_COUNT -u SLURM_ARRAY_TASK_MIN -u SLURM_ARRAY_TASK_STEP \
        -u JOB_COMPLETION_INDEX -u OLLAEVAL_SHARD_COUNT "${vars[@]}" \
        "$bin" scripts/gsm8k.lua -q -m qwen3:8b -e "$sh" --dataset "$synth" --limit 12 -o "$dir" "$@" \
        >/dev/null 2>"$dir.err"
    local rc=$?
    [ $rc -eq 0 ] || { echo "rc=$rc $(head -c 300 "$dir.err")"; return; }
    echo "$(get "$dir/run.json" config.shard) $(get "$dir/summary.json" counts.n)"
}
# The usage error of a run with the given variables: "rc message".
refused() {
    local vars=()
    while [ $# -gt 0 ] && [ "$1" != "--" ]; do vars+=("$1"); shift; done
    [ "${1:-}" = "--" ] && shift
    local err
    err=$(env -u SLURM_ARRAY_TASK_ID -u SLURM_ARRAY_TASK_COUNT -u SLURM_ARRAY_TASK_MIN -u SLURM_ARRAY_TASK_STEP \
        -u JOB_COMPLETION_INDEX -u OLLAEVAL_SHARD_COUNT "${vars[@]}" \
        "$bin" scripts/gsm8k.lua -q -m qwen3:8b -e "$sh" --dataset "$synth" --limit 12 -o "$tmp/never" "$@" 2>&1 >/dev/null)
    echo "$? $err"
}

# Slurm
r=$(shard_of "$tmp/s0" SLURM_ARRAY_TASK_ID=0 SLURM_ARRAY_TASK_COUNT=4 SLURM_ARRAY_TASK_MIN=0)
ok "Slurm --array=0-3, task 0 is shard 1/4 ($r)" '[ "$r" = "1/4 3" ]'
r=$(shard_of "$tmp/s3" SLURM_ARRAY_TASK_ID=3 SLURM_ARRAY_TASK_COUNT=4 SLURM_ARRAY_TASK_MIN=0)
ok "Slurm --array=0-3, task 3 is shard 4/4 ($r)" '[ "$r" = "4/4 3" ]'
r=$(shard_of "$tmp/s1" SLURM_ARRAY_TASK_ID=1 SLURM_ARRAY_TASK_COUNT=3 SLURM_ARRAY_TASK_MIN=1)
ok "Slurm --array=1-3, task 1 is shard 1/3 ($r)" '[ "$r" = "1/3 4" ]'
r=$(shard_of "$tmp/s12" SLURM_ARRAY_TASK_ID=12 SLURM_ARRAY_TASK_COUNT=3 SLURM_ARRAY_TASK_MIN=10)
ok "Slurm --array=10-12, task 12 is shard 3/3 ($r)" '[ "$r" = "3/3 4" ]'
r=$(shard_of "$tmp/st" SLURM_ARRAY_TASK_ID=4 SLURM_ARRAY_TASK_COUNT=3 SLURM_ARRAY_TASK_MIN=0 SLURM_ARRAY_TASK_STEP=2)
ok "Slurm --array=0-4:2, task 4 is shard 3/3 ($r)" '[ "$r" = "3/3 4" ]'
r=$(shard_of "$tmp/snomin" SLURM_ARRAY_TASK_ID=2 SLURM_ARRAY_TASK_COUNT=4)
ok "Slurm without _MIN counts from 0: task 2 is shard 3/4 ($r)" '[ "$r" = "3/4 3" ]'
r=$(shard_of "$tmp/scount" SLURM_ARRAY_TASK_ID=1 SLURM_ARRAY_TASK_MIN=0 -- --shard-count 6)
ok "Slurm with --shard-count and no _COUNT: shard 2/6 ($r)" '[ "$r" = "2/6 2" ]'
r=$(shard_of "$tmp/swin" SLURM_ARRAY_TASK_ID=3 SLURM_ARRAY_TASK_COUNT=4 SLURM_ARRAY_TASK_MIN=0 -- --shard 1/2)
ok "--shard on the command line wins over Slurm ($r)" '[ "$r" = "1/2 6" ]'

# Kubernetes Indexed Jobs
r=$(shard_of "$tmp/k0" JOB_COMPLETION_INDEX=0 -- --shard-count 3)
ok "JOB_COMPLETION_INDEX=0 with --shard-count 3 is shard 1/3 ($r)" '[ "$r" = "1/3 4" ]'
r=$(shard_of "$tmp/k2" JOB_COMPLETION_INDEX=2 OLLAEVAL_SHARD_COUNT=3)
ok "JOB_COMPLETION_INDEX=2 with OLLAEVAL_SHARD_COUNT=3 is shard 3/3 ($r)" '[ "$r" = "3/3 4" ]'
r=$(shard_of "$tmp/kw" JOB_COMPLETION_INDEX=1 OLLAEVAL_SHARD_COUNT=2 -- --shard-count 4)
ok "--shard-count wins over OLLAEVAL_SHARD_COUNT ($r)" '[ "$r" = "2/4 3" ]'
r=$(shard_of "$tmp/whole1" SLURM_ARRAY_TASK_ID=2 SLURM_ARRAY_TASK_COUNT=4 -- --shard 1/1)
ok "--shard 1/1 in an array task: every item ($r)" '[ "$r" = "1/1 12" ]'
env -u JOB_COMPLETION_INDEX SLURM_ARRAY_TASK_ID=2 SLURM_ARRAY_TASK_COUNT=4 SLURM_ARRAY_TASK_MIN=0 \
    "$bin" scripts/gsm8k.lua -m qwen3:8b -e "$sh" --dataset "$synth" --limit 12 -o "$tmp/said" >/dev/null 2>"$tmp/said.err"
ok "the shard taken from the environment is said on stderr" 'grep -q "shard 3/4 from SLURM_ARRAY_TASK_ID=2" "$tmp/said.err"'
r=$(shard_of "$tmp/none")
ok "no array environment: the whole run ($r)" '[ "$r" = "1/1 12" ]'

# refused, with the variable named, exit status 2
r=$(refused JOB_COMPLETION_INDEX=3 OLLAEVAL_SHARD_COUNT=3)
ok "JOB_COMPLETION_INDEX beyond the count is refused" '[ "${r%% *}" = 2 ] && grep -q "JOB_COMPLETION_INDEX=3 is beyond the 3 shards" <<<"$r"'
r=$(refused JOB_COMPLETION_INDEX=1)
ok "JOB_COMPLETION_INDEX without a count is refused" '[ "${r%% *}" = 2 ] && grep -q -- "--shard-count" <<<"$r"'
r=$(refused SLURM_ARRAY_TASK_ID=4 SLURM_ARRAY_TASK_COUNT=4 SLURM_ARRAY_TASK_MIN=0)
ok "SLURM_ARRAY_TASK_ID beyond the array is refused" '[ "${r%% *}" = 2 ] && grep -q "SLURM_ARRAY_TASK_ID=4 is task 5 of the array, beyond its 4 tasks" <<<"$r"'
r=$(refused SLURM_ARRAY_TASK_ID=0 SLURM_ARRAY_TASK_COUNT=3 SLURM_ARRAY_TASK_MIN=1)
ok "SLURM_ARRAY_TASK_ID below _MIN is refused" '[ "${r%% *}" = 2 ] && grep -q "SLURM_ARRAY_TASK_ID=0 is not in the array" <<<"$r"'
r=$(refused SLURM_ARRAY_TASK_ID=3 SLURM_ARRAY_TASK_COUNT=3 SLURM_ARRAY_TASK_MIN=0 SLURM_ARRAY_TASK_STEP=2)
ok "an id off the array's step is refused" '[ "${r%% *}" = 2 ] && grep -q "STEP 2" <<<"$r"'
r=$(refused SLURM_ARRAY_TASK_ID=2)
ok "SLURM_ARRAY_TASK_ID without a count is refused" '[ "${r%% *}" = 2 ] && grep -q "SLURM_ARRAY_TASK_COUNT" <<<"$r"'
r=$(refused SLURM_ARRAY_TASK_ID=x1 SLURM_ARRAY_TASK_COUNT=3)
ok "a non-numeric SLURM_ARRAY_TASK_ID is refused" '[ "${r%% *}" = 2 ] && grep -q "SLURM_ARRAY_TASK_ID=.x1. is not a whole number" <<<"$r"'
r=$(refused JOB_COMPLETION_INDEX=-1 OLLAEVAL_SHARD_COUNT=3)
ok "a negative JOB_COMPLETION_INDEX is refused" '[ "${r%% *}" = 2 ] && grep -q "JOB_COMPLETION_INDEX=.-1. is not a whole number" <<<"$r"'
r=$(refused JOB_COMPLETION_INDEX=0 OLLAEVAL_SHARD_COUNT=0)
ok "OLLAEVAL_SHARD_COUNT=0 is refused" '[ "${r%% *}" = 2 ] && grep -q "at least 1" <<<"$r"'
r=$(refused -- --shard-count 3)
ok "--shard-count without an array index is refused" '[ "${r%% *}" = 2 ] && grep -q "needs an array-job index" <<<"$r"'
ok "no refused run made a folder" '[ ! -e "$tmp/never" ]'

# the default run folder names the shard; array tasks merge into the whole run
mkdir -p "$tmp/cwd"
( cd "$tmp/cwd" && for k in 0 1 2; do
    env -u SLURM_ARRAY_TASK_ID JOB_COMPLETION_INDEX=$k OLLAEVAL_SHARD_COUNT=3 \
        "$bin" "$root/scripts/gsm8k.lua" -q -m qwen3:8b -e "$sh" --dataset "$synth" --limit 12 \
        >/dev/null 2>&1 &
  done; wait )
n=$(ls -1d "$tmp"/cwd/runs/*-shard*of3-* 2>/dev/null | wc -l)
ok "three tasks started at once: three folders named by shard ($n)" '[ "$n" = 3 ]'
ok "shard 2's folder holds shard 2" '[ "$(get "$(ls -1d "$tmp"/cwd/runs/*-shard2of3-*)/run.json" config.shard)" = 2/3 ]'
"$bin" merge "$tmp"/cwd/runs/*-shard*of3-* -o "$tmp/merged" >/dev/null 2>&1
"$bin" scripts/gsm8k.lua -q -m qwen3:8b -e "$sh" --dataset "$synth" --limit 12 -o "$tmp/whole" >/dev/null 2>&1
ok "the merged array run equals the whole run" \
    '[ "$(get "$tmp/merged/summary.json" counts.n)" = 12 ] && [ "$(get "$tmp/merged/summary.json" metrics.accuracy)" = "$(get "$tmp/whole/summary.json" metrics.accuracy)" ]'
done_testing
