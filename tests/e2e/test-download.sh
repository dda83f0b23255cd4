#!/usr/bin/env bash
# test-download.sh: a suite's public dataset is fetched once into the cache
# with libcurl (here from a file:// URL, as the network is closed), its
# sha256 checked, and said so; the next run uses the cached copy; a cached
# copy that was tampered with is fetched again. When the download fails, the
# copy in the shared folder ($OLLAEVAL_SHARED/datasets/) is used, its sha256
# checked too; when nothing gives the data, the error lists what was tried
# and what to do. (The synthetic fixture stands for the dataset.)
set -u
. tests/lib/harness.sh
synth_data

sum=$(sha256sum "$synth" | cut -d' ' -f1)
mkdir -p "$tmp/scripts"
# the GSM8K suite, with its dataset at a local URL, in a module beside its script
cat > "$tmp/scripts/mygsm_suite.lua" <<LUA
local suite = {}
for k, v in pairs(require "evals.gsm8k") do suite[k] = v end
suite.name = "mygsm"
suite.dataset = { url = "file://$synth", sha256 = "$sum", file = "test.jsonl" }
return suite
LUA
cat > "$tmp/scripts/mygsm.lua" <<'LUA'
return require("evals.runner").main("mygsm_suite")
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

# the download fails: the shared folder's copy (suite.dataset.shared)
cat > "$tmp/scripts/mygsm_suite.lua" <<LUA
local suite = {}
for k, v in pairs(require "evals.gsm8k") do suite[k] = v end
suite.name = "mygsm"
suite.dataset = { url = "file://$tmp/nowhere/test.jsonl", sha256 = "$sum", file = "test.jsonl", shared = "mine/test.jsonl" }
return suite
LUA
mkdir -p "$tmp/shared/datasets/mine"
cp "$synth" "$tmp/shared/datasets/mine/test.jsonl"
export OLLAEVAL_CACHE="$tmp/cache2" OLLAEVAL_SHARED="$tmp/shared"
"$bin" "$tmp/scripts/mygsm.lua" -m qwen3:8b -e "$URL" --limit 20 -o "$tmp/r4" >/dev/null 2>"$tmp/r4.err"
rc=$?
ok "the download fails: the shared copy is used, sha256 verified, and said so (exit 0)" \
    '[ $rc -eq 0 ] && grep -q "dataset: download failed: .*nowhere/test.jsonl" "$tmp/r4.err" &&
     grep -q "dataset: $tmp/shared/datasets/mine/test.jsonl (shared copy, sha256 verified)" "$tmp/r4.err" &&
     [ "$(get "$tmp/r4/summary.json" dataset.path)" = "$tmp/shared/datasets/mine/test.jsonl" ]'
printf 'x' >> "$tmp/shared/datasets/mine/test.jsonl"
t0=$(date +%s%N)
"$bin" "$tmp/scripts/mygsm.lua" -m qwen3:8b -e "$URL" --limit 20 -o "$tmp/r5" >/dev/null 2>"$tmp/r5.err"
rc=$?
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
ok "a shared copy with the wrong sha256 is not used: exit 1 at once (${ms} ms), before any request" \
    '[ $rc -eq 1 ] && [ $ms -lt 2000 ] && grep -q "shared: $tmp/shared/datasets/mine/test.jsonl has sha256 [0-9a-f]*, expected $sum; not used" "$tmp/r5.err" &&
     [ ! -e "$tmp/r5/run.json" ]'
ok "...the error lists the cache, the download and the shared folder, and what to do" \
    'grep -q "^ollaeval: no usable copy of the dataset test.jsonl; tried:" "$tmp/r5.err" &&
     grep -q "^  cache: no copy at $tmp/cache2/" "$tmp/r5.err" && grep -q "^  download failed: " "$tmp/r5.err" &&
     grep -q "^Pass --dataset PATH (a copy of test.jsonl), or connect to the internet and run again." "$tmp/r5.err"'
OLLAEVAL_SHARED=$tmp/none "$bin" "$tmp/scripts/mygsm.lua" -m qwen3:8b -e "$URL" -o "$tmp/r6" >/dev/null 2>"$tmp/r6.err"
rc=$?
ok "no shared folder: exit 1 naming where it looked" \
    '[ $rc -eq 1 ] && grep -q "^  shared: no $tmp/none/datasets/mine/test.jsonl (set OLLAEVAL_SHARED" "$tmp/r6.err"'
finish
