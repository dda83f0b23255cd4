#!/usr/bin/env bash
# test-fixed-window.sh: a fixed window (-c N) beyond the server's capacity.
# Against 2 slots and a queue of 1 (3 at once, a 503 beyond), -c 4 and
# -c 16 keep most of the throughput of -c 2: a 503 halves the window, and
# while the requests still in flight fill the halved limit the limit alone
# gates the next send (no timed hold that would leave a slot idle). Every
# item is scored, 503s are requeued. A server that answers 503 to
# everything is not hammered: with nothing in flight the backoff holds
# (OLLAEVAL_BACKOFF_MS, its default 500 ms here), doubling with each cut
# in a row. The ratios are generous: the machine may be loaded.
set -u
. tests/lib/harness.sh
synth_data
export OLLAEVAL_BACKOFF_MS=500
n=300

# run NAME C: -c C against $URL, n items; sets rc and ips (items/s of the run)
run() {
    gsm8k -e "$URL" --dataset "$synth" --limit "$n" -c "$2" -o "$tmp/$1" -q >/dev/null 2>"$tmp/$1.err"
    rc=$?
    ips=$(get "$tmp/$1/summary.json" this_session.items_per_s)
}
# at_least A F B: A >= F * B (decimals)
at_least() { awk -v a="$1" -v f="$2" -v b="$3" 'BEGIN { exit !(a >= f * b) }'; }

start_sim cap --parallel 2 --max-queue 1 --fixed-latency-ms 20 --dataset "$synth"
run c2 2
base=$ips
ok "-c 2 (the slots): exit 0, $n scored, no 503 ($base items/s)" \
   '[ $rc -eq 0 ] && [ "$(get "$tmp/c2/summary.json" counts.scored)" = $n ] && [ "$(runcheck stats "$URL" http_503)" = 0 ]'
for c in 4 16; do
    b0=$(runcheck stats "$URL" http_503)
    run "c$c" "$c"
    n503=$(( $(runcheck stats "$URL" http_503) - b0 ))
    ok "-c $c beyond capacity (2 slots + 1 queued): exit 0, $n scored, no errors ($n503 x 503, all requeued)" \
       '[ $rc -eq 0 ] && runcheck journal "$tmp/c$c/samples.jsonl" $n >"$tmp/j.out" && grep -q "errors 0" "$tmp/j.out" && [ "$n503" -gt 0 ]'
    ok "...keeps at least half the throughput of -c 2 ($ips vs $base items/s)" 'at_least "$ips" 0.5 "$base"'
    ok "...the server never had more than 2 generating and 1 queued" \
       '[ "$(runcheck stats "$URL" max_generating)" -le 2 ] && [ "$(runcheck stats "$URL" max_queued)" -le 1 ]'
done
stop_sim "$PID"

# a server that refuses everything: requests spaced by the backoff
start_sim refuse --time-scale 0 --dataset "$synth" --fault-503 1
t0=$(date +%s%N)
gsm8k -e "$URL" --dataset "$synth" --limit 8 -c 8 --deadline 4 -q -o "$tmp/refuse" >/dev/null 2>"$tmp/refuse.err"
rc=$?
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
reqs=$(runcheck stats "$URL" generate_requests)
ok "always 503, -c 8, --deadline 4: incomplete (exit 3), every item an error after its deadline (${ms} ms)" \
   '[ $rc -eq 3 ] && [ "$(runcheck errors "$tmp/refuse/samples.jsonl" | grep -c "deadline of 4 s")" -eq 8 ]'
ok "...the server saw a few requests, not a hot loop ($reqs in ${ms} ms: the first 4 of slow start, then about one per backoff)" \
   '[ "$reqs" -ge 5 ] && [ "$reqs" -le 24 ]'
finish
