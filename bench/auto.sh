#!/usr/bin/env bash
# bench/auto.sh BINARY [CELLS]: issue 13's targets for -c auto, measured end
# to end: the real binary over real HTTP against the simulator, each figure
# with its command (make bench runs it; bench/autostat.lua reads the runs).
#   grid      slots P x queue limit Q (all 30 cells of P in {1,2,4,8,16,32},
#             Q in {0,1,2,8,512}): -c auto against the best of the fixed
#             windows {P, P+1, P+2} measured in the same run. Throughput is
#             the server's slot utilisation over a measured segment (the
#             simulator's schedule 0:P,W:P,T:P: warm-up W, then T - W, then
#             the drain), so neither the ramp-up nor the last answers'
#             tail decide it: every policy runs the same items on the same
#             slots, so busy slot time is work done (the simulator counts a
#             reply's tokens as they are sent, so tokens per segment would
#             favour the streamed auto runs over the unstreamed fixed
#             ones); items/s over the whole run is shown too. Also
#             the 503s (every one requeued: the scored records waited out as
#             many, and all items are scored, no errors) and
#             the server's deepest queue against the controller's margin.
#   schedule  slots changing mid-run (AUTO_SCHEDULE, default 0:4,60:8,120:2,
#             then 60 s later 16 slots to drain): for auto, the time from
#             each change until the window is back at slots + margin (+-1),
#             in mean service times of the new segment; each segment's output
#             tokens/s against the best fixed c in {2,3,4,6,8,10} for it. The
#             fixed runs stream too (--stream): the simulator fixes an
#             unstreamed reply's speed when it starts, so after 4 -> 8 such
#             replies would go on at the 4-slot speed and beat the slots.
#             Segments of 60 simulated s are 4-6 mean service times; after
#             8 -> 2 the requests already running drain at their own pace,
#             so shorter ones are decided by which answers were running.
#             At AUTO_SCHED_SCALE (default 0.2: the engine's start-up and the
#             controller's 0.5-s filter period stay small against them)
#   util      4 slots, the whole GSM8K test set (1,319 items): slot
#             utilisation (slot_busy_ms / (4 x wall)) of auto and of -c 4
#   bench     `ollaeval bench` at its defaults for P in {1, 4, 8}: the slot
#             estimate, the recommendation, the wall time
# The simulated model (qwen3:8b: about 360 output tokens an answer, 20 ms a
# token, 0.15 batch penalty) gives mean service times of 7.2 x (1 + 0.15 x
# (P - 1)) simulated seconds; AUTO_SCALE (the simulator's --time-scale,
# default 0.03) shrinks them to real time: 0.22 s for P=1, 1.2 s for P=32.
# AUTO_MEASURE is the measured segment in mean service times (default 6).
# CELLS limits the grid ("4:512 2:0"); AUTO_QUICK=1 runs a subset of 8
# cells and skips bench; AUTO_PARTS the sections (default "grid schedule
# util bench"). GSM8K from ../shared when present, else the synthetic set.
set -u
cd "$(dirname "$0")/.."
bin=${1:-./ollaeval}
all="1:0 1:1 1:2 1:8 1:512 2:0 2:1 2:2 2:8 2:512 4:0 4:1 4:2 4:8 4:512 8:0 8:1 8:2 8:8 8:512 16:0 16:1 16:2 16:8 16:512 32:0 32:1 32:2 32:8 32:512"
quick="1:0 2:0 2:1 4:2 4:512 8:0 8:8 16:2"
if [ "${AUTO_QUICK:-0}" = 1 ]; then
    cells=${2:-$quick}
    parts=${AUTO_PARTS:-grid schedule util}
else
    cells=${2:-$all}
    parts=${AUTO_PARTS:-grid schedule util bench}
fi
scale=${AUTO_SCALE:-0.03}
sched_scale=${AUTO_SCHED_SCALE:-0.2}
measure=${AUTO_MEASURE:-6}
schedule=${AUTO_SCHEDULE:-0:4,60:8,120:2}
part() { [[ " $parts " == *" $1 "* ]]; }
tmp=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$tmp"' EXIT
data=${OLLAEVAL_SHARED:-../shared}/datasets/gsm8k/test.jsonl
dname="GSM8K test"
if [ ! -s "$data" ]; then
    data=$tmp/synthetic.jsonl dname="synthetic GSM8K-shaped"
    "$bin" --trust scripts/synthetic.lua --n 1319 >"$data" || exit 1
fi
. scripts/start-sim.sh
get() { "$bin" --trust tests/lib/runcheck.lua get "$@"; }
stat() { "$bin" --trust bench/autostat.lua "$@"; }
calc() { awk "BEGIN{$1}"; }
# one TAG SIMFLAGS -- RUNFLAGS: one run against a fresh simulator; the run
# folder is $tmp/TAG, the simulator's /stats at its end $tmp/TAG.stats
one() {
    local tag=$1 sf=() rf=()
    shift
    while [ "$1" != -- ]; do sf+=("$1"); shift; done; shift
    rf=("$@")
    start_sim_bg -b "$bin" -l "$tmp/sim.log" --quiet --dataset "$data" --time-scale "$scale" "${sf[@]}" || exit 1
    echo "\$ ollaeval sim --time-scale $scale ${sf[*]}; ollaeval scripts/gsm8k.lua -q -m qwen3:8b ${rf[*]}" >&2
    rm -rf "${tmp:?}/$tag"
    "$bin" scripts/gsm8k.lua -q -m qwen3:8b -e "$SIM_URL" --dataset "$data" -o "$tmp/$tag" "${rf[@]}" \
        >/dev/null 2>"$tmp/$tag.err"
    local rc=$?
    curl -s "$SIM_URL/stats" >"$tmp/$tag.stats"
    kill "$SIM_PID"; wait "$SIM_PID" 2>/dev/null
    if [ $rc != 0 ]; then
        echo "bench/auto.sh: the run above exited with $rc:" >&2
        tail -5 "$tmp/$tag.err" >&2
    fi
}
echo "# $(date -u '+%F %T') UTC, $dname ($data), $(nproc) cores, time-scale $scale"

part grid && {
echo "== grid: -c auto against the best fixed c in {P, P+1, P+2}"
echo "   (measured segment: $measure mean service times after a warm-up of 1.5; util = slot utilisation there)"
printf '%3s %4s %5s %6s %6s %3s %6s %7s %6s %5s %8s %5s %6s %s\n' P Q items auto best c ratio \
    items/s ratio 503s requeued maxq margin lost
worst=9 fails=0 t_grid=$SECONDS
for cell in $cells; do
    P=${cell%%:*} Q=${cell##*:}
    svc=$(calc "print 7.2 * (1 + 0.15 * ($P - 1))") # mean service time, simulated s
    W=$(calc "printf \"%.1f\", 1.5 * $svc") T=$(calc "printf \"%.1f\", (1.5 + $measure) * $svc")
    items=$(calc "printf \"%d\", 1.3 * $P * ($measure + 2.5) + 4")
    sf=(--parallel-schedule "0:$P,$W:$P,$T:$P" --max-queue "$Q")
    one auto "${sf[@]}" -- --limit "$items"
    read -r a_ips _ a_util scored total errs n503 maxq margin requeued < <(stat cell "$tmp/auto" "$tmp/auto.stats" "$scale")
    best=0 bestc=0 best_ips=0
    for c in "$P" $((P + 1)) $((P + 2)); do
        one fixed "${sf[@]}" -- --limit "$items" -c "$c"
        read -r f_ips _ f_util _ < <(stat cell "$tmp/fixed" "$tmp/fixed.stats" "$scale")
        if calc "exit !($f_util > $best)"; then best=$f_util bestc=$c; fi
        if calc "exit !($f_ips > $best_ips)"; then best_ips=$f_ips; fi
    done
    ratio=$(calc "printf \"%.3f\", $a_util / $best")
    lost=$((total - scored + errs))
    ok=1
    calc "exit !($ratio >= 0.97)" || ok=0
    if [ "$Q" -ge 2 ] && [ "$n503" -gt 0 ]; then ok=0; fi
    [ "$maxq" -le "$margin" ] || ok=0
    [ "$lost" = 0 ] || ok=0
    [ "$requeued" = "$n503" ] || ok=0
    [ $ok = 1 ] || fails=$((fails + 1))
    worst=$(calc "print ($ratio < $worst) ? $ratio : $worst")
    printf '%3s %4s %5s %6.4f %6.4f %3s %6s %7.2f %6.3f %5s %8s %5s %6s %s%s\n' "$P" "$Q" "$items" \
        "$a_util" "$best" "$bestc" "$ratio" "$a_ips" "$(calc "print $a_ips / $best_ips")" "$n503" \
        "$requeued" "$maxq" "$margin" "$lost" \
        "$([ $ok = 1 ] || echo '  MISSES A TARGET')"
done
echo "grid: worst ratio $worst; $fails cell(s) missing a target; $((SECONDS - t_grid)) s"
}

part schedule && {
# the change points, and a last one that drains the tail quickly
sched="$schedule,$(($(echo "$schedule" | tr ',' '\n' | tail -1 | cut -d: -f1) + 60)):16"
grid_scale=$scale scale=$sched_scale
echo "== slots changing mid-run: --parallel-schedule $sched (the last segment drains), time-scale $scale"
# about 75 items are served before the drain (4 x 60 / 10.5 + 8 x 60 / 15 + 2 x 60 / 8.3, and those in flight)
n_sched=${AUTO_SCHED_ITEMS:-95}
one sched --parallel-schedule "$sched" -- --limit "$n_sched"
stat segments "$tmp/sched" "$tmp/sched.stats" "$scale" >"$tmp/seg.auto"
declare -A best bestc
for c in 2 3 4 6 8 10; do
    one fixed --parallel-schedule "$sched" -- --limit "$n_sched" -c "$c" --stream
    while read -r k _ _ _ tok _; do
        if calc "exit !($tok > ${best[$k]:-0})"; then best[$k]=$tok bestc[$k]=$c; fi
    done < <(stat segments "$tmp/fixed" "$tmp/fixed.stats" "$scale")
done
printf '%3s %5s %13s %8s %8s %3s %6s %6s %9s %9s %8s %5s %5s\n' seg slots simulated_s auto_tok best_tok c \
    ratio util svc_ms settle_ms settle/S 503s maxq
while read -r k slots t0 t1 tok util svc n503 maxq settle; do
    printf '%3s %5s %6s-%-6s %8.1f %8.1f %3s %6.3f %6.3f %9.1f %9.0f %8s %5s %5s\n' "$k" "$slots" "$t0" "$t1" \
        "$tok" "${best[$k]}" "${bestc[$k]}" "$(calc "printf \"%.3f\", $tok / ${best[$k]}")" "$util" "$svc" \
        "$settle" "$(calc "printf \"%.2f\", $settle / $svc")" "$n503" "$maxq"
done <"$tmp/seg.auto"
echo "auto: $(get "$tmp/sched/summary.json" window.1.text); $(get "$tmp/sched.stats" http_503) 503s;" \
    "scored $(get "$tmp/sched/summary.json" counts.scored) of $n_sched, errors $(get "$tmp/sched/summary.json" counts.errors)"
scale=$grid_scale
}

part util && {
echo "== utilisation, 4 slots, all 1,319 items"
for c in auto 4; do
    one util --parallel 4 -- -c "$c"
    wall=$(get "$tmp/util/summary.json" wall_time_s)
    echo "-c $c: utilisation $(calc "printf \"%.4f\", $(get "$tmp/util.stats" slot_busy_ms) / (4 * $wall * 1000)")" \
        "($(get "$tmp/util/summary.json" this_session.items_per_s) items/s, scored" \
        "$(get "$tmp/util/summary.json" counts.scored), errors $(get "$tmp/util/summary.json" counts.errors))"
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
