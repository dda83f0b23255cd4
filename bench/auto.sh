#!/usr/bin/env bash
# bench/auto.sh BINARY [CELLS]: issue 13's targets for -c auto against the
# simulator, each figure with its command (make bench runs it).
#   grid       slots P x queue limit Q: auto's items/s against the best of
#              the fixed windows {P, P+1, P+2, 2P} measured in the same run,
#              the 503s (all retried: errors must be 0) and the server's
#              deepest queue (/stats max_queued, against the margin 2)
#   schedule   slots 4 -> 8 -> 2 (--parallel-schedule 0:4,30:8,60:2): the
#              window's changes around each step (window.jsonl)
#   util       4 slots, all 1,319 items: slot utilisation (slot_busy_ms /
#              (4 x wall)) of auto and of -c 4
#   bench      `ollaeval bench` at its defaults for P in {1, 4, 8}: the slot
#              estimate, the recommendation, the wall time
# CELLS limits the grid ("4:512 2:0"); AUTO_SCALE the simulator's
# --time-scale (default 0.05), AUTO_LIMIT the items per grid run (300);
# AUTO_PARTS the sections to run (default "grid schedule util bench").
set -u
cd "$(dirname "$0")/.."
bin=${1:-./ollaeval}
cells=${2:-"1:0 1:1 1:2 1:8 1:512 2:0 2:1 2:2 2:8 2:512 4:0 4:1 4:2 4:8 4:512 8:0 8:1 8:2 8:8 8:512 16:0 16:1 16:2 16:8 16:512 32:0 32:1 32:2 32:8 32:512"}
scale=${AUTO_SCALE:-0.05}
limit=${AUTO_LIMIT:-300}
parts=${AUTO_PARTS:-grid schedule util bench}
part() { [[ " $parts " == *" $1 "* ]]; }
tmp=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$tmp"' EXIT
data=${OLLAEVAL_SHARED:-../shared}/datasets/gsm8k/test.jsonl
if [ ! -s "$data" ]; then
    data=$tmp/synthetic.jsonl
    "$bin" scripts/synthetic.lua --n 1319 >"$data" || exit 1
fi
. scripts/start-sim.sh
get() { "$bin" tests/lib/runcheck.lua get "$@"; }
# one run against a fresh simulator: prints "items/s 503s max_queued errors"
one() { # one SIMFLAGS -- RUNFLAGS
    local sf=() rf=()
    while [ "$1" != -- ]; do sf+=("$1"); shift; done; shift
    rf=("$@")
    start_sim_bg -b "$bin" -l "$tmp/sim.log" --quiet --dataset "$data" "${sf[@]}" || exit 1
    echo "\$ ollaeval sim ${sf[*]}; ollaeval scripts/gsm8k.lua -q -m qwen3:8b ${rf[*]}" >&2
    rm -rf "$tmp/run"
    "$bin" scripts/gsm8k.lua -q -m qwen3:8b -e "$SIM_URL" --dataset "$data" -o "$tmp/run" "${rf[@]}" >/dev/null 2>&1
    curl -s "$SIM_URL/stats" >"$tmp/st.json"
    kill "$SIM_PID"; wait "$SIM_PID" 2>/dev/null
    printf '%s %s %s %s %s\n' "$(get "$tmp/run/summary.json" this_session.items_per_s)" \
        "$(get "$tmp/st.json" http_503)" "$(get "$tmp/st.json" max_queued)" \
        "$(get "$tmp/run/summary.json" counts.errors)" "$(get "$tmp/st.json" slot_busy_ms)"
}

part grid && {
echo "== grid: -c auto against the best fixed c (time-scale $scale, $limit items)"
printf '%4s %4s %9s %9s %6s %6s %6s %6s\n' P Q auto best best_c ratio 503s maxq
for cell in $cells; do
    P=${cell%%:*} Q=${cell##*:}
    read -r a n503 maxq errs _ < <(one --parallel "$P" --max-queue "$Q" --time-scale "$scale" -- --limit "$limit")
    best=0 bestc=0
    for c in $P $((P + 1)) $((P + 2)) $((2 * P)); do
        read -r f _ < <(one --parallel "$P" --max-queue "$Q" --time-scale "$scale" -- --limit "$limit" -c "$c")
        if awk "BEGIN{exit !($f > $best)}"; then best=$f bestc=$c; fi
    done
    printf '%4s %4s %9.2f %9.2f %6s %6.3f %6s %6s%s\n' "$P" "$Q" "$a" "$best" "$bestc" \
        "$(awk "BEGIN{print $a / $best}")" "$n503" "$maxq" "$([ "$errs" = 0 ] || echo "  ERRORS $errs")"
done

}

part schedule && {
echo "== schedule 0:4,30:8,60:2 (time-scale 1): the window around each step"
start_sim_bg -b "$bin" -l "$tmp/sim.log" --quiet --dataset "$data" --parallel-schedule 0:4,30:8,60:2 || exit 1
echo "\$ ollaeval sim --parallel-schedule 0:4,30:8,60:2; ollaeval scripts/gsm8k.lua -m qwen3:8b --limit 700" >&2
"$bin" scripts/gsm8k.lua -q -m qwen3:8b -e "$SIM_URL" --dataset "$data" --limit 700 -o "$tmp/sched" >/dev/null 2>&1
kill "$SIM_PID"
grep -o '"t":[0-9.]*,"in_flight":[0-9]*,"unconfirmed":[0-9]*,"window":[0-9]*' "$tmp/sched/window.jsonl" | tail -40
get "$tmp/sched/summary.json" window.1.text
}

part util && {
echo "== utilisation, 4 slots, all 1,319 items (time-scale $scale)"
for c in auto 4; do
    read -r ips _ _ errs busy < <(one --parallel 4 --time-scale "$scale" -- -c "$c")
    wall=$(get "$tmp/run/summary.json" wall_time_s)
    echo "-c $c: utilisation $(awk "BEGIN{printf \"%.4f\", $busy / (4 * $wall * 1000)}") ($ips items/s, errors $errs)"
done
}

part bench && {
echo "== ollaeval bench at its defaults (simulator at time-scale 1)"
for P in 1 4 8; do
    start_sim_bg -b "$bin" -l "$tmp/sim.log" --quiet --dataset "$data" --parallel "$P" || exit 1
    echo "\$ ollaeval sim --parallel $P; ollaeval bench -m llama3.2:3b" >&2
    "$bin" bench -q -m llama3.2:3b -e "$SIM_URL" --dataset "$data" -o "$tmp/bench$P" >/dev/null 2>&1
    kill "$SIM_PID"
    echo "P=$P: slots $(get "$tmp/bench$P/bench.json" slots_estimate), recommended -c $(get "$tmp/bench$P/bench.json" recommended_concurrency), $(get "$tmp/bench$P/bench.json" wall_time_s) s"
done
}
