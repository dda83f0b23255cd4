#!/usr/bin/env bash
# test-demo.sh: `make demo` (scripts/demo.sh) on a machine with no Ollama and
# no GSM8K (no cache, no shared folder, the download failing): it runs the
# synthetic problems against the simulator, says so in its first line, exits
# 0, and nothing in the run folder calls the problems GSM8K. With a copy of
# the real set, see test-gsm8k-real.sh.
set -u
. tests/lib/harness.sh

mkdir -p "$tmp/cache"
OLLAMA_HOST=http://127.0.0.1:1 OLLAEVAL_SHARED=$tmp/noshared OLLAEVAL_CACHE=$tmp/cache \
    scripts/demo.sh --limit 20 -o "$tmp/demo" >"$tmp/demo.out" 2>"$tmp/demo.err"
rc=$?
ok "offline demo: exit 0" '[ $rc -eq 0 ]'
ok "...its first line says: offline: synthetic problems, not GSM8K" \
    '[ "$(head -n 1 "$tmp/demo.err")" = "demo: offline: synthetic problems, not GSM8K" ]'
ok "...and names what it tried (cache, download, shared folder)" \
    'grep -q "cache: no copy at $tmp/cache/" "$tmp/demo.err" && grep -q "download" "$tmp/demo.err" &&
     grep -q "shared: no $tmp/noshared/datasets/gsm8k/test.jsonl" "$tmp/demo.err"'
ok "...it ran against the simulator" 'grep -q "the built-in simulator at http://127.0.0.1:" "$tmp/demo.err"'
ok "...20 items scored, suite 'synthetic' with its note" \
    '[ "$(get "$tmp/demo/summary.json" counts.scored suite.name)" = "$(printf "20\nsynthetic")" ] &&
     grep -q "not GSM8K" "$tmp/demo/summary.json"'
ok "...the table is titled synthetic, the ids are synthetic-NNNN, none says gsm8k" \
    'grep -q "^synthetic v2  model qwen3:8b" "$tmp/demo.out" && ! grep -qi gsm8k "$tmp/demo/samples.jsonl" &&
     [ "$(grep -c "\"id\":\"synthetic-00[0-9][0-9]\"" "$tmp/demo/samples.jsonl")" = 20 ]'
ok "...the problems were written into the cache once" '[ "$(get "$tmp/cache/synthetic-1319.jsonl" "#lines")" = 1319 ]'
done_testing
