#!/usr/bin/env bash
# test-journal-text.sh: the journal keeps a reply's text exactly, whatever
# it holds. A run against the simulator whose dataset answers (its replies)
# carry unicode, quotes, backslashes, slashes and control bytes has them in
# samples.jsonl as sent; a journal whose thinking holds invalid UTF-8 (raw
# bytes a server may send), NUL, DEL and "\/" goes through rescore and merge
# (each writes the journal again, journal.line) with every text byte for
# byte; report and explain read the result.
set -u
. tests/lib/harness.sh
synth_data

cat >"$tmp/odd.lua" <<'LUA'
-- odd.lua SYNTH N: the first N items, each answer after an odd prefix
local cjson = require "cjson"
local odd = { "caf\u{e9} \u{65e5}\u{672c} \u{1f600} \u{2014} \"quoted\" a/b\\c ", "path /x//y\\/z \\\\ tab\tcr\rff\f " }
local n = 0
for line in io.lines(arg[1]) do
    n = n + 1
    if n > tonumber(arg[2]) then break end
    local it = cjson.decode(line)
    it.answer = odd[(n - 1) % #odd + 1] .. it.answer
    io.write(cjson.encode(it), "\n")
end
LUA
cat >"$tmp/check.lua" <<'LUA'
-- check.lua prefixes JOURNAL: how many contents start with one of odd.lua's
-- prefixes, whole; exit 1 on a line that is not one JSON object
local cjson = require "cjson"
local odd = { "caf\u{e9} \u{65e5}\u{672c} \u{1f600} \u{2014} \"quoted\" a/b\\c ", "path /x//y\\/z \\\\ tab\tcr\rff\f " }
local whole = 0
for line in io.lines(arg[2]) do
    local r = cjson.decode(line)
    for _, p in ipairs(odd) do
        if r.content:sub(1, #p) == p then whole = whole + 1 end
    end
end
print(whole)
LUA
cat >"$tmp/mangle.lua" <<'LUA'
-- mangle.lua IN OUT: IN's records with odd bytes before each thinking,
-- written by lua-cjson (journal.encode), not by journal.line
local cjson = require "cjson"
local J = require "evals.journal"
local texts = { "\xff\xfe raw \xc3 cut \xe2\x82 surrogate \xed\xa0\x80 overlong \xc0\xaf ",
    "ctl \0\1\31\127 \"q\" \\ / \\/ // ", "caf\u{e9} \u{1f600} " }
local out = assert(io.open(arg[2], "wb"))
local n = 0
for line in io.lines(arg[1]) do
    n = n + 1
    local r = cjson.decode(line)
    r.thinking = string.rep(texts[(n - 1) % #texts + 1], 30) .. (r.thinking or "")
    out:write(J.encode(r), "\n")
end
out:close()
LUA
cat >"$tmp/same.lua" <<'LUA'
-- same.lua A B: per id, B's thinking and content are A's byte for byte;
-- every line of B is one JSON object, with no "/" escaped as "\/" (one
-- after an odd run of backslashes)
local cjson = require "cjson"
local function load(p, plain)
    local by, n = {}, 0
    for line in io.lines(p) do
        for run in line:gmatch("(\\+)/") do
            assert(not plain or #run % 2 == 0, p .. ": a \\/ escape")
        end
        local r = cjson.decode(line)
        by[r.id], n = r, n + 1
    end
    return by, n
end
local a, na = load(arg[1])
local b, nb = load(arg[2], true)
assert(na == nb and na > 0, "record counts " .. na .. " and " .. nb)
for id, r in pairs(a) do
    assert(b[id], "missing " .. id)
    assert(b[id].thinking == r.thinking, id .. ": thinking differs")
    assert(b[id].content == r.content, id .. ": content differs")
end
print("same " .. na)
LUA

"$bin" --trust "$tmp/odd.lua" "$synth" 24 >"$tmp/odd.jsonl"
start_sim s --time-scale 0 --dataset "$tmp/odd.jsonl"
"$bin" scripts/gsm8k.lua -q -m qwen3:8b -e "$URL" -c 4 --dataset "$tmp/odd.jsonl" -o "$tmp/run" >/dev/null 2>&1
rc=$?
stop_sim s
ok "a run whose replies hold unicode, quotes, backslashes and control bytes: exit 0" '[ $rc -eq 0 ] && [ "$(jlines "$tmp/run/samples.jsonl")" = 24 ]'
n=$("$bin" --trust "$tmp/check.lua" prefixes "$tmp/run/samples.jsonl")
ok "...the journal holds them as sent ($n contents start with a prefix, whole)" '[ "${n:-0}" -ge 12 ]'
out=$("$bin" --trust "$tmp/same.lua" "$tmp/run/samples.jsonl" "$tmp/run/samples.jsonl" 2>&1)
ok "...one JSON object a line, no \\/ escape" '[ "$out" = "same 24" ]' || echo "# $out"

mkdir -p "$tmp/odd"
cp "$tmp/run/run.json" "$tmp/run/summary.json" "$tmp/odd/"
"$bin" --trust "$tmp/mangle.lua" "$tmp/run/samples.jsonl" "$tmp/odd/samples.jsonl"
ok "a journal with invalid UTF-8, NUL and DEL in its thinking texts" 'grep -qa "overlong" "$tmp/odd/samples.jsonl"'
"$bin" rescore "$tmp/odd" -o "$tmp/re" >/dev/null 2>&1
ok "rescore writes it again: exit 0" '[ $? -eq 0 ]'
out=$("$bin" --trust "$tmp/same.lua" "$tmp/odd/samples.jsonl" "$tmp/re/samples.jsonl" 2>&1)
ok "...every thinking and content byte for byte" '[ "$out" = "same 24" ]' || echo "# $out"
"$bin" merge "$tmp/re" -o "$tmp/m" >/dev/null 2>&1
ok "merge writes it again: exit 0" '[ $? -eq 0 ]'
out=$("$bin" --trust "$tmp/same.lua" "$tmp/odd/samples.jsonl" "$tmp/m/samples.jsonl" 2>&1)
ok "...every thinking and content byte for byte" '[ "$out" = "same 24" ]' || echo "# $out"
"$bin" report "$tmp/m" >/dev/null 2>&1
ok "report reads it: exit 0" '[ $? -eq 0 ] && [ -s "$tmp/m/report.html" ]'
out=$("$bin" explain "$tmp/m" gsm8k-test-0001 2>&1)
ok "explain reads it" '[ $? -eq 0 ] && grep -q "^item gsm8k-test-0001" <<<"$out"'
done_testing
