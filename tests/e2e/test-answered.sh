#!/usr/bin/env bash
# test-answered.sh: who answered, against whom a request went (probe rows
# 48 and 40). A server whose answers name another model than -m: the run
# goes on, one warning names both, and every call records the model as
# answered. A redirect to another host: one warning names the final URL, and
# every call records it as final_url; a redirect on the same server records
# final_url without a warning. Against tests/lib/hostile.c, built here.
set -u
. tests/lib/harness.sh
synth=$(synth_data 6)
cc -O1 -o "$tmp/hostile" tests/lib/hostile.c || { echo "Bail out! cannot build tests/lib/hostile.c"; exit 1; }
hpids=()
hostile() { # MODE: starts the server, sets HURL and HPORT
    "$tmp/hostile" "$1" 0 >"$tmp/h.port" & hpids+=($!)
    for _ in $(seq 100); do [ -s "$tmp/h.port" ] && break; sleep 0.02; done
    HPORT=$(cat "$tmp/h.port"); HURL=http://127.0.0.1:$HPORT; : >"$tmp/h.port"
}
run() { # NAME: the GSM8K suite on the 6 problems, one at a time, against $HURL
    "$bin" scripts/gsm8k.lua -q -m m -e "$HURL" --dataset "$synth" -c 1 -o "$tmp/$1" >/dev/null 2>"$tmp/$1.err"
}
calls_with() { grep -c "\"calls\":\[{[^]]*$1" "$tmp/$2/samples.jsonl"; }

hostile othermodel
run other; rc=$?
ok "answers naming another model: the run ends, 6 items scored (exit $rc)" \
    '[ $rc -eq 0 ] && [ "$(get "$tmp/other/summary.json" counts.scored)" = 6 ]'
ok "...one warning, naming the endpoint, both models and -m" \
    '[ "$(grep -c "warning:" "$tmp/other.err")" = 1 ] &&
     grep -q "warning: $HURL answers requests for the model m as the model other:7b .*check -m" "$tmp/other.err"'
ok "...each call records the model as answered" '[ "$(calls_with "\"model\":\"other:7b\"" other)" = 6 ]'
sed 's/^/# /' "$tmp/other.err"

hostile redirect-host
run moved; rc=$?
final="http://localhost:$HPORT/moved/api/chat"
ok "a redirect to another host: answered and scored there (exit $rc)" \
    '[ $rc -eq 0 ] && [ "$(get "$tmp/moved/summary.json" counts.scored)" = 6 ]'
ok "...one warning, naming the server the requests went to and the URL they ended at" \
    '[ "$(grep -c "warning:" "$tmp/moved.err")" = 1 ] &&
     grep -qF "warning: requests to $HURL are redirected to another server, $final" "$tmp/moved.err"'
ok "...each call records final_url" '[ "$(calls_with "\"final_url\":\"$final\"" moved)" = 6 ]'
sed 's/^/# /' "$tmp/moved.err"

hostile redirect
run same; rc=$?
ok "a redirect on the same server: final_url recorded, no warning" \
    '[ $rc -eq 0 ] && [ "$(calls_with "moved" same)" = 6 ] && ! grep -q "warning:" "$tmp/same.err"'

hostile echo
run plain; rc=$?
ok "no redirect, the model as asked: no final_url, no warning" \
    '[ $rc -eq 0 ] && ! grep -q "final_url" "$tmp/plain/samples.jsonl" && ! grep -q "warning:" "$tmp/plain.err"'

for p in "${hpids[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
finish
