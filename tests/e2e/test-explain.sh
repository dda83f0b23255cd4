#!/usr/bin/env bash
# test-explain.sh: `ollaeval explain RUN_DIR ITEM_ID` on a run made against
# the simulator (synthetic GSM8K-shaped problems): it names the rule that
# fired, marks the answer's span in the content, lists the candidates, and
# gives the gold and the verdict, matching the record; on edited records it
# shows a conflict (no single answer) and a run-on cut; wrong ids, folders
# and arguments fail with a clear line and status 1 or 2.
set -u
. tests/lib/harness.sh

synth_data
start_sim --time-scale 0 --parallel 8 --accuracy 0.6 --seed 3 --dataset "$synth"
"$bin" scripts/gsm8k.lua -q -m qwen3:8b -e "$URL" -c 8 --dataset "$synth" --limit 40 -o "$tmp/run" >/dev/null 2>"$tmp/run.err"
rc=$?
ok "the run exits 0" '[ $rc -eq 0 ]'

# one correct and one wrong record, as the runner wrote them
cat >"$tmp/pick.lua" <<'LUA'
local cjson = require "cjson"
local want = arg[2] == "true"
for line in io.lines(arg[1]) do
    local r = cjson.decode(line)
    if r.correct == want and r.answer ~= nil and r.answer ~= cjson.null then
        print(r.id, r.answer, r.rule, r.gold)
        return
    end
end
LUA
read -r cid cans crule cgold <<<"$("$bin" --trust "$tmp/pick.lua" "$tmp/run/samples.jsonl" true)"
read -r wid wans wrule wgold <<<"$("$bin" --trust "$tmp/pick.lua" "$tmp/run/samples.jsonl" false)"
ok "the run has a correct ($cid) and a wrong ($wid) answer" '[ -n "$cid" ] && [ -n "$wid" ]'

out=$("$bin" explain "$tmp/run" "$cid" 2>&1); rc=$?
ok "explain a correct item: exit 0" '[ $rc -eq 0 ]'
ok "names the item and its journal line" 'grep -q "^item $cid  (.*samples.jsonl line [0-9]*)" <<<"$out"'
ok "the recorded answer and rule ($cans, $crule)" 'grep -q "^answer    \"$cans\"   rule: $crule   bytes [0-9]*-[0-9]*" <<<"$out"'
ok "gold and verdict" 'grep -q "^gold      \"$cgold\"" <<<"$out" && grep -q "^verdict   correct" <<<"$out"'
ok "the answer is marked in the content" 'grep -qF "[[$cans]]" <<<"$out"'
ok "the chosen candidate is starred" 'grep -q "^  \* $crule " <<<"$out"'
ok "no 'recorded' line: the re-run agrees with the record" '! grep -q "^recorded" <<<"$out"'

out=$("$bin" explain "$tmp/run/" "$wid" 2>&1); rc=$?
ok "explain a wrong item: exit 0, verdict wrong" '[ $rc -eq 0 ] && grep -q "^verdict   wrong" <<<"$out"'

# edited records: two final answers; an invented next problem
cat >"$tmp/edit.lua" <<'LUA'
local cjson = require "cjson"
local out = io.open(arg[2], "wb")
for line in io.lines(arg[1]) do
    local r = cjson.decode(line)
    if r.index == 1 then r.content = "16 - 3 - 4 = 9\nAnswer: 18\nThe final answer is 20." end
    if r.index == 2 then
        r.content = "9 * 2 = 18\n#### 18\n\nQuestion: Tom has 3 apples and buys 4.\n3 + 4 = 7\n#### 7"
        r.gold = "18"
    end
    out:write(cjson.encode(r), "\n")
end
out:close()
LUA
mkdir -p "$tmp/edited"
cp "$tmp/run/run.json" "$tmp/edited/"
"$bin" --trust "$tmp/edit.lua" "$tmp/run/samples.jsonl" "$tmp/edited/samples.jsonl"
out=$("$bin" explain "$tmp/edited" gsm8k-test-0001 2>&1); rc=$?
ok "two final answers: no answer, reason conflict" '[ $rc -eq 0 ] && grep -q "^answer    (none)   reason: conflict" <<<"$out"'
ok "both candidates listed, the later one rejected" 'grep -q "answer_colon *\"18\"" <<<"$out" && grep -q "^  \* answer_is *\"20\".*rejected: conflict" <<<"$out"'
ok "the record's different grade is pointed out" 'grep -q "^recorded" <<<"$out"'
out=$("$bin" explain "$tmp/edited" gsm8k-test-0002 2>&1); rc=$?
ok "run-on: the cut is shown and the answer before it wins" '[ $rc -eq 0 ] && grep -q "^run-on    cut at byte 20 .*new problem Question:" <<<"$out" && grep -q "^answer    \"18\"   rule: marker" <<<"$out" && grep -q "^verdict   correct" <<<"$out"'

# errors
out=$("$bin" explain "$tmp/run" gsm8k-test-9999 2>&1); rc=$?
ok "unknown item: exit 1, names it" '[ $rc -eq 1 ] && grep -q "no item gsm8k-test-9999" <<<"$out"'
out=$("$bin" explain "$tmp/nosuch" gsm8k-test-0001 2>&1); rc=$?
ok "not a run folder: exit 1, says so" '[ $rc -eq 1 ] && grep -q "is not a run folder" <<<"$out"'
out=$("$bin" explain "$tmp/run" 2>&1); rc=$?
ok "missing ITEM_ID: exit 2 with the usage" '[ $rc -eq 2 ] && grep -q "usage: ollaeval explain RUN_DIR ITEM_ID" <<<"$out"'
ok "--help lists explain" '"$bin" --help | grep -q "explain RUN_DIR ITEM_ID"'
finish
