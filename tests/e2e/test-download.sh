#!/usr/bin/env bash
# test-download.sh: a suite's public dataset is fetched once into the cache
# with libcurl (here from a file:// URL, as the network is closed), its
# sha256 checked, and said so; the next run uses the cached copy; a cached
# copy that was tampered with is fetched again.
set -u
. tests/lib/harness.sh
synth_data

sum=$(sha256sum "$synth" | cut -d' ' -f1)
mkdir -p "$tmp/evals" "$tmp/scripts"
# the GSM8K suite, with its dataset at a local URL
cat > "$tmp/evals/mygsm.lua" <<LUA
local suite = {}
for k, v in pairs(require "evals.gsm8k") do suite[k] = v end
suite.name = "mygsm"
suite.dataset = { url = "file://$synth", sha256 = "$sum", file = "test.jsonl" }
return suite
LUA
cat > "$tmp/scripts/mygsm.lua" <<'LUA'
local runner = require "evals.runner"
local suite = require "evals.mygsm"
return runner.run(suite, package.searchpath("evals.mygsm", package.path), options(runner.options_for(suite)))
LUA
start_sim --time-scale 0 --dataset "$synth"
export OLLAEVAL_CACHE="$tmp/cache"
"$bin" "$tmp/scripts/mygsm.lua" -m qwen3:8b -e "$URL" --limit 20 -o "$tmp/r1" >/dev/null 2>"$tmp/r1.err"
rc=$?
ok "first run: exit 0" '[ $rc -eq 0 ]'
ok "it says it downloads, then that the checksum was verified" 'grep -q "dataset: downloading file://" "$tmp/r1.err" && grep -q "sha256 verified" "$tmp/r1.err"'
cached=$(ls "$tmp/cache"/*test.jsonl 2>/dev/null | head -n 1)
ok "the file is in the cache, whole" '[ -n "$cached" ] && cmp -s "$cached" "$synth"'
ok "the run records the dataset's sha256" '[ "$(get "$tmp/r1/summary.json" dataset.sha256)" = "$sum" ]'
"$bin" "$tmp/scripts/mygsm.lua" -m qwen3:8b -e "$URL" --limit 20 -o "$tmp/r2" >/dev/null 2>"$tmp/r2.err"
ok "second run: uses the cache, verified, no download" 'grep -q "(cached, sha256 verified)" "$tmp/r2.err" && ! grep -q downloading "$tmp/r2.err"'
printf 'x' >> "$cached"
"$bin" "$tmp/scripts/mygsm.lua" -m qwen3:8b -e "$URL" --limit 20 -o "$tmp/r3" >/dev/null 2>"$tmp/r3.err"
rc=$?
ok "a tampered cache file is noticed and fetched again" '[ $rc -eq 0 ] && grep -q "wrong sha256" "$tmp/r3.err" && cmp -s "$cached" "$synth"'
finish
