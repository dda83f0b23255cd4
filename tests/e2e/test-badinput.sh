#!/usr/bin/env bash
# test-badinput.sh: bad input fails cleanly through the whole runner. Each
# case gets a clear message naming the file and line, or the item and the
# request, and loses nothing already done. Datasets and suites are the
# hand-written files in tests/badinput/; the 100 MB line is made here in a temp
# folder. Servers that misbehave (an HTML error page, truncated JSON, a stall,
# a reset) turn into per-item errors and the run goes on.
set -u
. tests/lib/harness.sh
synth_data
bad=tests/badinput

start_sim sim --time-scale 0 --dataset "$synth" --dataset "$bad/pens.jsonl"
url=$URL
ds() { # NAME ARGS...: the GSM8K runner on tests/badinput/NAME into $tmp/NAME
    local name=$1
    shift
    gsm8k -e "$url" --dataset "$bad/$name" -o "$tmp/$name" "$@" >"$tmp/$name.out" 2>"$tmp/$name.err"
}
err_has() { grep -qF -- "$2" "$tmp/$1.err"; }

# --- datasets --------------------------------------------------------------------
ds malformed.jsonl; rc=$?
ok "malformed JSON on line 3: exit 1 naming FILE:3 before any request" \
    '[ $rc -eq 1 ] && err_has malformed.jsonl "ollaeval: $bad/malformed.jsonl:3: invalid JSON:" &&
     [ ! -e "$tmp/malformed.jsonl/samples.jsonl" ]'
ds invalid-utf8.jsonl; rc=$?
ok "invalid UTF-8 on line 2: exit 1 naming FILE:2" \
    '[ $rc -eq 1 ] && err_has invalid-utf8.jsonl "ollaeval: $bad/invalid-utf8.jsonl:2: invalid UTF-8"'
ds empty.jsonl; rc=$?
ok "an empty file: exit 1, 'the dataset is empty'" \
    '[ $rc -eq 1 ] && err_has empty.jsonl "ollaeval: $bad/empty.jsonl: the dataset is empty"'
ds blank-lines.jsonl; rc=$?
ok "only blank lines: exit 1, 'the dataset is empty'" \
    '[ $rc -eq 1 ] && err_has blank-lines.jsonl "the dataset is empty"'
ds not-an-object.jsonl; rc=$?
ok "a line that is not an object (null): exit 1 naming FILE:2" \
    '[ $rc -eq 1 ] && err_has not-an-object.jsonl "$bad/not-an-object.jsonl:2: expected a JSON object or array, got null"'
ds bom-crlf-no-final-newline.jsonl -q; rc=$?
ok "a BOM, CRLF, a blank line and no final newline are fine: 2 items scored" \
    '[ $rc -eq 0 ] && runcheck journal "$tmp/bom-crlf-no-final-newline.jsonl/samples.jsonl" 2 >/dev/null'
gsm8k -e "$url" --dataset "$tmp/nonexistent.jsonl" -o "$tmp/missing" >/dev/null 2>"$tmp/missing.err"; rc=$?
ok "a missing file: exit 1 naming it" \
    '[ $rc -eq 1 ] && grep -q "^ollaeval: dataset: $tmp/nonexistent.jsonl: No such file or directory" "$tmp/missing.err"'

ds missing-field.jsonl; rc=$?
ok "an item without the field the suite needs: the run goes on and ends incomplete (exit 3), 2 of 3 scored" \
    '[ $rc -eq 3 ] && [ "$(runcheck get "$tmp/missing-field.jsonl/summary.json" counts.scored)" = 2 ]'
ok "...its error names the item, FILE:2 and the field, with a traceback" \
    'err_has missing-field.jsonl "item gsm8k-test-0002 ($bad/missing-field.jsonl:2):" &&
     err_has missing-field.jsonl "missing field '"'"'question'"'"'" && err_has missing-field.jsonl "stack traceback"'
ok "...and it is recorded as that item's error in the journal" \
    '[ "$(runcheck errors "$tmp/missing-field.jsonl/samples.jsonl" | cut -f1,2)" = "$(printf "gsm8k-test-0002\tscript")" ]'
ds no-gold.jsonl; rc=$?
ok "an item without a gold answer is an error naming FILE:1, not a wrong answer (exit 3)" \
    '[ $rc -eq 3 ] && err_has no-gold.jsonl "$bad/no-gold.jsonl:1): the item has no gold answer" &&
     [ "$(runcheck get "$tmp/no-gold.jsonl/summary.json" counts.errors)" = 1 ] &&
     [ "$(runcheck get "$tmp/no-gold.jsonl/summary.json" counts.scored)" = 1 ]'

# a 100 MB line, made here: refused at once by the line limit, naming FILE:2
"$bin" --trust /dev/stdin "$tmp/big.jsonl" <<'LUA'
local f = assert(io.open(arg[1], "wb"))
f:write('{"question": "What is 6 times 7?", "answer": "#### 42"}\n')
f:write('{"question": "', string.rep("x", 100 * 1024 * 1024), '", "answer": "#### 1"}\n')
f:close()
LUA
t0=$(date +%s%N)
gsm8k -e "$url" --dataset "$tmp/big.jsonl" -o "$tmp/big" >/dev/null 2>"$tmp/big.err"; rc=$?
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
ok "a 100 MB line: exit 1 naming FILE:2 and the limit (${ms} ms), before any request" \
    '[ $rc -eq 1 ] && grep -q "big.jsonl:2: the line is 104857[0-9]* bytes, longer than the limit of 16777216" "$tmp/big.err" &&
     [ ! -e "$tmp/big/samples.jsonl" ]'
rm -f "$tmp/big.jsonl"

# a download whose sha256 does not match: refused, nothing cached
mkdir -p "$tmp/cache"
SUITE=$bad/suites/bad-checksum.lua BADINPUT_URL="$url/api/tags" OLLAEVAL_CACHE="$tmp/cache" \
    "$bin" --trust $bad/run-suite.lua -m qwen3:8b -e "$url" -o "$tmp/dl" >/dev/null 2>"$tmp/dl.err"; rc=$?
ok "a download with the wrong sha256: exit 1 naming the URL and both sums" \
    '[ $rc -eq 1 ] && grep -q "^  download of $url/api/tags: sha256 is [0-9a-f]\{64\}, expected 0\{64\}; the file was not used" "$tmp/dl.err"'
ok "...and nothing is left in the cache" '[ -z "$(ls -A "$tmp/cache")" ]'

# --- suites ----------------------------------------------------------------------
SUITE=$bad/suites/syntax-error.lua "$bin" --trust $bad/run-suite.lua -m qwen3:8b -e "$url" \
    --dataset $bad/pens.jsonl -o "$tmp/syn" >/dev/null 2>"$tmp/syn.err"; rc=$?
ok "a suite with a syntax error: exit 1 naming FILE:4" \
    '[ $rc -eq 1 ] && grep -q "^ollaeval: .*$bad/suites/syntax-error.lua:4:" "$tmp/syn.err"'
SUITE=$bad/suites/missing-extract.lua "$bin" --trust $bad/run-suite.lua -m qwen3:8b -e "$url" \
    --dataset $bad/pens.jsonl -o "$tmp/noext" >/dev/null 2>"$tmp/noext.err"; rc=$?
ok "a suite missing a required field: exit 1 naming the file and the field" \
    '[ $rc -eq 1 ] && grep -q "$bad/suites/missing-extract.lua: the suite is missing the required field .extract." "$tmp/noext.err"'
SUITE=$bad/suites/item-error.lua "$bin" --trust $bad/run-suite.lua -m qwen3:8b -e "$url" -c 1 \
    --dataset $bad/pens.jsonl -o "$tmp/item" >/dev/null 2>"$tmp/item.err"; rc=$?
ok "a runtime error in one item: the run goes on and ends incomplete (exit 3), 3 of 4 scored" \
    '[ $rc -eq 3 ] && [ "$(runcheck get "$tmp/item/summary.json" counts.scored)" = 3 ] &&
     [ "$(runcheck get "$tmp/item/summary.json" counts.errors)" = 1 ]'
ok "...recorded as that item's error, with the message and a traceback" \
    'runcheck errors "$tmp/item/samples.jsonl" | grep -q "^gsm8k-test-0002	script	.*item-error.lua:8: no pens allowed" &&
     grep -q "stack traceback" "$tmp/item/samples.jsonl"'
ok "...and reported on stderr with the item and FILE:LINE" \
    'grep -q "item gsm8k-test-0002 ($bad/pens.jsonl:2): .*no pens allowed" "$tmp/item.err"'
SUITE=$bad/suites/item-error.lua "$bin" --trust $bad/run-suite.lua -m qwen3:8b -e "$url" -c 1 --fail-fast \
    --dataset $bad/pens.jsonl -o "$tmp/ff" >/dev/null 2>"$tmp/ff.err"; rc=$?
ok "--fail-fast: the first item error stops the run, exit 1" \
    '[ $rc -eq 1 ] && grep -q "stopped: item gsm8k-test-0002 raised an error (--fail-fast)" "$tmp/ff.err" &&
     [ "$(runcheck get "$tmp/ff/summary.json" status)" = failed ] && [ "$(runcheck get "$tmp/ff/summary.json" counts.n)" -lt 4 ]'

# --- servers that misbehave: per-item errors naming the request, the run goes on ---
fault() { # NAME KIND EXTRA...: 4 items against a sim failing every request with KIND
    local name=$1 kind=$2
    shift 2
    start_sim "$name" --time-scale 0 --dataset "$synth" --fault-$kind 1 "$@"
    gsm8k -e "$URL" --dataset "$synth" --limit 4 --retries 1 -o "$tmp/$name" -q ${TIMEOUT:+--timeout $TIMEOUT} \
        >/dev/null 2>"$tmp/$name.err"
    frc=$?
    stop_sim "$PID"
    runcheck errors "$tmp/$name/samples.jsonl" >"$tmp/$name.errors"
}
fault html html
ok "an HTML error page: each item an error 'HTTP 502 from URL/api/chat', shortened; exit 3" \
    '[ $frc -eq 3 ] && [ "$(grep -c "	http	HTTP 502 from http://127.0.0.1:[0-9]*/api/chat: " "$tmp/html.errors")" -eq 4 ] &&
     [ "$(awk "{ if (length(\$0) > 400) n++ } END { print n + 0 }" "$tmp/html.errors")" -eq 0 ]'
fault truncate truncate
ok "truncated JSON: each item a protocol error naming the URL; exit 3" \
    '[ $frc -eq 3 ] && [ "$(grep -c "	protocol	.*http://127.0.0.1:[0-9]*/api/chat" "$tmp/truncate.errors")" -eq 4 ]'
fault reset reset
ok "a connection reset: each item a connection error naming the URL; exit 3" \
    '[ $frc -eq 3 ] && [ "$(grep -c "	connection	.*http://127.0.0.1:[0-9]*/api/chat" "$tmp/reset.errors")" -eq 4 ]'
t0=$(date +%s%N)
TIMEOUT=0.3 fault stall stall --stall-ms 3000
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
ok "a stall past --timeout 0.3: each item a timeout error (exit 3), and the run does not wait out the stalls (${ms} ms)" \
    '[ $frc -eq 3 ] && [ "$(grep -c "	timeout	.*http://127.0.0.1:[0-9]*/api/chat" "$tmp/stall.errors")" -eq 4 ] && [ $ms -lt 2500 ]'
ok "...the summaries count the errors, and re-running redoes them" \
    '[ "$(runcheck get "$tmp/stall/summary.json" counts.errors)" = 4 ] &&
     gsm8k -e "$url" --dataset "$synth" --limit 4 -o "$tmp/stall" -q >/dev/null 2>&1 &&
     runcheck journal "$tmp/stall/samples.jsonl" 4 >/dev/null && [ "$(runcheck get "$tmp/stall/summary.json" status)" = complete ]'

done_testing
