#!/usr/bin/env bash
# test-sim-datasets.sh: the simulator against the real MMLU (STEM) and
# MATH-500 test sets: every item's question is recognised in a suite-like
# prompt, MMLU replies name a letter, MATH replies give a \boxed{} answer in
# varied but equivalent forms, and --answers-out records which answers were
# made correct at the configured accuracy. Needs ../shared (need_data).
set -u
. tests/lib/harness.sh
mmlu="${OLLAEVAL_SHARED:-$root/../shared}/datasets/mmlu_stem/test.jsonl"
math="${OLLAEVAL_SHARED:-$root/../shared}/datasets/math500/test.jsonl"
need_data "$mmlu" "$math"

# ask.lua URL DATASET KIND OUT: one chat per item (16 at a time), prompts as
# the suites build them; OUT gets the last line of each reply; for MMLU it
# prints how many replies end naming the item's own gold letter
cat >"$tmp/ask.lua" <<'L'
local cjson = require "cjson"
local url, path, kind, out = arg[1], arg[2], arg[3], arg[4]
local items = {}
for item in jsonl(path) do items[#items + 1] = item end
local replies, right = {}, 0
map(items, function(item, i)
    local p
    if kind == "mmlu" then
        p = { "The following is a multiple choice question. Answer with the letter.\n\n", item.question, "\n" }
        for k, c in ipairs(item.choices) do p[#p + 1] = string.char(64 + k) .. ". " .. c .. "\n" end
        p[#p + 1] = "Answer:"
    else
        p = { "Solve the following problem. Put the final answer in \\boxed{}.\n\n", item.problem }
    end
    local body = cjson.encode({ model = "llama3.2:3b", stream = false, think = false,
        messages = { { role = "user", content = table.concat(p) } } })
    local r = assert(http { url = url .. "/api/chat", body = body })
    assert(r.status == 200, r.body)
    local text = cjson.decode(r.body).message.content
    local last, letter = text:match("[^\n]*$"), nil
    replies[i] = last
    if kind == "mmlu" then
        for l in last:gmatch("%f[%w](%u)%f[%W]") do letter = l end
        if letter == string.char(65 + item.answer) then right = right + 1 end
    end
end, { concurrency = 16 })
if kind == "mmlu" then print(right) end
local f = assert(io.open(out, "w"))
f:write(table.concat(replies, "\n"), "\n")
f:close()
L

# ---- MMLU
n=$(grep -c . "$mmlu")
start_sim --time-scale 0 --dataset "$mmlu" --accuracy 1 --answers-out "$tmp/mmlu.out"
right=$("$bin" --trust "$tmp/ask.lua" "$URL" "$mmlu" mmlu "$tmp/mmlu.replies" 2>"$tmp/e") || head -n 20 "$tmp/e"
# a few questions repeat with the same choices in the same order: those the
# simulator cannot tell apart (it answers the first)
check "MMLU at accuracy 1: $right of $n replies name their own gold letter" eval '[ "$right" -ge $((n * 995 / 1000)) ]'
rec=$(grep -c . "$tmp/mmlu.out")
check "... $rec recorded, all right, /stats agrees" eval '[ "$rec" -ge $((n * 99 / 100)) ] && [ "$(grep -c "\"correct\":true" "$tmp/mmlu.out")" = "$rec" ] && [ "$(stat correct)" = "$rec" ]'
bad=$(grep -cvE '"given":"[A-J]"}$' "$tmp/mmlu.out")
check "... each answer a letter ($bad not)" [ "$bad" = 0 ]
forms=$(sed 's/[A-J]/L/g' "$tmp/mmlu.replies" | sort -u | wc -l)
check "... in $forms surface forms" [ "$forms" -ge 5 ]
start_sim --time-scale 0 --dataset "$mmlu" --accuracy 0.7 --seed 5
"$bin" --trust "$tmp/ask.lua" "$URL" "$mmlu" mmlu "$tmp/mmlu7.replies" >/dev/null 2>&1
c=$(stat correct)
check "MMLU at accuracy 0.7: $c of $n right" eval '[ "$c" -ge $((n * 66 / 100)) ] && [ "$c" -le $((n * 74 / 100)) ]'

# ---- MATH-500
n=$(grep -c . "$math")
start_sim --time-scale 0 --dataset "$math" --accuracy 1 --answers-out "$tmp/math.out"
"$bin" --trust "$tmp/ask.lua" "$URL" "$math" math "$tmp/math.replies" >/dev/null 2>"$tmp/e" || head -n 20 "$tmp/e"
check "MATH-500: all $n problems recognised and answered right" eval '[ "$(grep -c . "$tmp/math.out")" = "$n" ] && [ "$(grep -c "\"correct\":true" "$tmp/math.out")" = "$n" ]'
boxed=$(grep -c 'boxed{' "$tmp/math.replies")
check "... every reply has a \\boxed{} answer ($boxed)" [ "$boxed" = "$n" ]
# given differs from gold in writing for a good share of the items (variants)
varied=$(sed 's/.*"gold":\(.*\),"given":\(.*\)}$/\1 \2/' "$tmp/math.out" | awk '{ if ($1 != $2) v++ } END { print v + 0 }')
check "... $varied of $n written differently from the gold (equivalent forms)" eval '[ "$varied" -ge $((n / 10)) ] && [ "$varied" -lt "$n" ]'
check "... a fraction given as a decimal somewhere" grep -qE '"gold":"\\\\d?frac\{1\}\{2\}","given":"0.5"|"given":"[0-9]*\.[0-9]+"' "$tmp/math.out"
start_sim --time-scale 0 --dataset "$math" --accuracy 0.6 --seed 2 --answers-out "$tmp/math6.out"
"$bin" --trust "$tmp/ask.lua" "$URL" "$math" math "$tmp/math6.replies" >/dev/null 2>&1
c=$(grep -c '"correct":true' "$tmp/math6.out")
check "MATH-500 at accuracy 0.6: $c of $n made correct" eval '[ "$c" -ge 260 ] && [ "$c" -le 340 ]'

finish
