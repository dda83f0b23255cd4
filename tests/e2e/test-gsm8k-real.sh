#!/usr/bin/env bash
# test-gsm8k-real.sh: the real GSM8K test set (needs the shared folder:
# skipped without it, a failure under OLLAEVAL_REQUIRE_DATA=1). Found with
# no --dataset and an empty cache (downloaded, or else the shared copy), its
# sha256 is the suite's; against `ollaeval sim --accuracy 1.0` every one of
# its 1,319 items is scored correct, so extraction and grading agree with
# the gold answers of the real data; and `make demo` says it runs GSM8K.
set -u
. tests/lib/harness.sh
need_data "$gsm"

suite_sum=$(sed -n '/dataset = {/,/}/s/.*sha256 = "\([0-9a-f]*\)".*/\1/p' evals/gsm8k.lua)
start_sim perfect --time-scale 0 --parallel 16 --accuracy 1.0 --dataset "$gsm" --tokens-max 1500
OLLAEVAL_CACHE=$tmp/cache gsm8k -e "$URL" -c 16 -o "$tmp/perfect" >"$tmp/perfect.out" 2>"$tmp/perfect.err"
rc=$?
ok "no --dataset, empty cache: the dataset is found, sha256 verified" \
    'grep -q "sha256 verified" "$tmp/perfect.err" && [ "$(get "$tmp/perfect/summary.json" dataset.sha256)" = "$suite_sum" ] &&
     [ "$(sha256sum "$gsm" | cut -d" " -f1)" = "$suite_sum" ]'
read -r acc scored errors status <<<"$(get "$tmp/perfect/summary.json" metrics.accuracy counts.scored counts.errors status | tr '\n' ' ')"
ok "accuracy 1.0 on the real set: exit 0, all 1319 scored, accuracy exactly 1 (got $acc), complete" \
    '[ $rc -eq 0 ] && [ "$scored" = 1319 ] && [ "$errors" = 0 ] && { [ "$acc" = 1 ] || [ "$acc" = 1.0 ]; } &&
     [ "$status" = complete ]'

OLLAMA_HOST=http://127.0.0.1:1 OLLAEVAL_CACHE=$tmp/cache scripts/demo.sh --limit 10 -o "$tmp/demo" \
    >"$tmp/demo.out" 2>"$tmp/demo.err"
rc=$?
ok "make demo with GSM8K at hand: exit 0, says GSM8K, suite gsm8k, 10 scored" \
    '[ $rc -eq 0 ] && head -n 1 "$tmp/demo.err" | grep -q "on GSM8K (" && ! grep -q "synthetic" "$tmp/demo.err" &&
     [ "$(get "$tmp/demo/summary.json" suite.name counts.scored)" = "$(printf "gsm8k\n10")" ]'
finish
