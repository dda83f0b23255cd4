#!/usr/bin/env bash
# test-retry-policy.sh: what the engine does about replies that are not an
# answer, end to end with the real binary. The hostile server
# (tests/lib/hostile.c) and the simulator's fault flags give:
#  - a 429 without Retry-After in auto mode: the window alone holds new
#    sends, for its backoff (OLLAEVAL_BACKOFF_MS); the controller does not
#    add a hold of its own (it held 1 s more per 429 before);
#  - a 429 that says the account is out of quota (OpenAI's
#    insufficient_quota): every item fails at once, not at the deadline,
#    with a message naming the endpoint and what to do; the run exits 3 and
#    --retry-errors redoes the items;
#  - a 500 outage longer than the retries' backoff: the items that ran out
#    of retries end as errors saying a resume redoes them; exit 3, and the
#    resume scores every item.
set -u
. tests/lib/harness.sh
synth_data
cc -O1 -o "$tmp/hostile" tests/lib/hostile.c || { echo "Bail out! cannot build tests/lib/hostile.c"; exit 1; }
cat >"$tmp/client.lua" <<'LUA'
local r, err, kind, info = chat { model = "m", endpoint = arg[1], retries = 0,
    messages = { { role = "user", content = "2+2?" } } }
if r then print(string.format("ok\t%s\t%d\t%d", r.content, r.attempts, r.overloads))
else print(string.format("err\t%s\t%s", kind, err)) end
LUA
hpids=()
hostile() { # MODE N: starts the server, sets HURL
    "$tmp/hostile" "$@" >"$tmp/h.port" & hpids+=($!)
    for _ in $(seq 100); do [ -s "$tmp/h.port" ] && break; sleep 0.02; done
    HURL=http://127.0.0.1:$(cat "$tmp/h.port"); : >"$tmp/h.port"
}
ms_since() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }

# 1. one owner of the hold
hostile 429 3
t0=$(date +%s%N)
out=$(OLLAEVAL_BACKOFF_MS=20 "$bin" --trust --timeout 10 "$tmp/client.lua" "$HURL")
ms=$(ms_since $t0)
ok "auto mode, 3 × 429 without Retry-After then an answer: 1 attempt, 3 overloads waited out ($out)" \
    '[ "$(echo "$out" | cut -f1,3,4)" = "ok	1	3" ]'
ok "...in ${ms} ms: only the window's backoff held (20, 40, 80 ms at most), not 1 s more per 429 as well" \
    '[ $ms -lt 1500 ]'

# 2. out of quota
hostile quota 0
t0=$(date +%s%N)
out=$("$bin" --trust --timeout 10 --deadline 8 "$tmp/client.lua" "$HURL/v1")
ms=$(ms_since $t0)
ok "a 429 insufficient_quota fails at once (${ms} ms, not at the deadline of 8 s) as kind quota ($out)" \
    '[ "$(echo "$out" | cut -f2)" = quota ] && [ $ms -lt 3000 ]'
ok "...naming the endpoint and what to do" \
    'echo "$out" | grep -qF "the account behind $HURL/v1 has no credit or quota left" && echo "$out" | grep -qF -- "--retry-errors"'
hostile quota 8
t0=$(date +%s%N)
"$bin" scripts/gsm8k.lua -m m -e "$HURL/v1" --dataset "$synth" --limit 8 --deadline 8 -o "$tmp/q" \
    >"$tmp/q.out" 2>"$tmp/q.err"
rc=$? ms=$(ms_since $t0)
ok "a run of 8 items out of quota: exit 3 ($rc) in ${ms} ms, 8 errors, each saying out of quota" \
    '[ $rc -eq 3 ] && [ $ms -lt 6000 ] && [ "$(get "$tmp/q/summary.json" counts.errors)" = 8 ] &&
     [ "$(grep -c "out of quota: the account behind" "$tmp/q/samples.jsonl")" = 8 ]'
"$bin" scripts/gsm8k.lua -m m -e "$HURL/v1" --dataset "$synth" --limit 8 --deadline 8 -o "$tmp/q" --retry-errors >"$tmp/q2.out" 2>"$tmp/q2.err"
rc=$?
ok "...with credit again, --retry-errors redoes them: exit 0 ($rc), 8 scored" \
    '[ $rc -eq 0 ] && [ "$(get "$tmp/q/summary.json" counts.scored)" = 8 ]'

# 3. a 500 outage longer than the backoff (probe rows 7 and 43)
start_sim s500 --time-scale 0 --fault-500 1 --fault-first 30 --dataset "$synth"
"$bin" scripts/gsm8k.lua -q -m qwen3:8b -e "$URL" --dataset "$synth" --limit 10 -c 2 --retries 2 -o "$tmp/o" \
    >"$tmp/o.out" 2>"$tmp/o.err"
rc=$?
nerr=$(get "$tmp/o/summary.json" counts.errors)
ok "a 500 outage over the first 30 requests (3 attempts of 10 items), --retries 2: exit 3 ($rc), all $nerr items end as errors" \
    '[ $rc -eq 3 ] && [ "$nerr" = 10 ]'
ok "...each error says it gave up after 3 attempts and that a resume redoes it" \
    '[ "$(grep -c "gave up after 3 attempts over .* a resume of the run (-o RUN, or --retry-errors) redoes it" "$tmp/o/samples.jsonl")" = "$nerr" ]'
"$bin" scripts/gsm8k.lua -q -m qwen3:8b -e "$URL" --dataset "$synth" --limit 10 -c 2 --retries 2 -o "$tmp/o" \
    >/dev/null 2>&1
rc=$?
ok "...the resume after the outage: exit 0 ($rc), all 10 scored, nothing lost" \
    '[ $rc -eq 0 ] && [ "$(get "$tmp/o/summary.json" counts.scored)" = 10 ]'

for p in "${hpids[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
finish
