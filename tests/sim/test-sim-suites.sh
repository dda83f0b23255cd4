#!/usr/bin/env bash
# test-sim-suites.sh: what dry-running every suite needs from the simulator:
# temperature > 0 with a seed draws the answer again (deterministic per seed,
# at the configured accuracy); lettered choices answered with a letter in the
# usual forms; LaTeX answers in \boxed{} in equivalent forms, recorded as
# made correct; a judge prompt answered with a verdict line; stop sequences;
# JSON-schema format / response_format answered with an object of the
# schema's shape; bad /v1 bodies refused as OpenAI does. Prints TAP.
set -u
. tests/lib/harness.sh
sims_under_valgrind
synth_data

# text FILE: the reply's text (chat, generate or /v1), JSON-decoded
cat >"$tmp/text.lua" <<'L'
local d = require("cjson").decode(io.open(arg[1]):read("a"))
local t = d.message and d.message.content or d.response or d.choices[1].message.content
io.write(t)
L
text() { "$bin" --trust "$tmp/text.lua" "${1:-$tmp/b}"; }
question() { sed -n "$1p" "$synth" | sed 's/^{"question": "\(.*\)", "answer": .*/\1/'; }
gold() { sed -n "$1p" "$synth" | sed 's/.*#### \([0-9-]*\)"}$/\1/'; }
# lastnum: the last number of the reply's last line, commas removed
lastnum() { text | tail -n1 | tr -d , | grep -oE '[0-9]+' | tail -n1; }
ask() { # ask I OPTIONS_JSON: chat about synthetic item I with those options
    req POST /api/chat -d '{"model":"llama3.2:3b","stream":false,"options":{'"$2"'},"messages":[{"role":"user","content":"Solve.\nQuestion: '"$(question "$1")"'"}]}'
}

# ---- temperature and seed
start_sim --time-scale 0 --dataset "$synth" --accuracy 0.5 --seed 3
ask 1 '"temperature":0,"seed":1'; a=$(text)
ask 1 '"temperature":0,"seed":2'; b=$(text)
ask 1 '"seed":3'; c=$(text)
check "temperature 0 or unset: the seed changes nothing" eval '[ "$a" = "$b" ] && [ "$a" = "$c" ]'
for s in 1 2 3 4 5 6; do ask 1 '"temperature":0.7,"seed":'$s; text >"$tmp/s$s"; done
n=$(for s in 1 2 3 4 5 6; do md5sum <"$tmp/s$s"; done | sort -u | wc -l)
check "temperature 0.7: six seeds, $n different replies" [ "$n" -ge 3 ]
ask 1 '"temperature":0.7,"seed":4'
check "same seed again: the same reply" eval '[ "$(text)" = "$(cat "$tmp/s4")" ]'
# sampled answers over many items, in one process (the same requests as ask
# and the same reading as lastnum): "RIGHT ALL DIFFER", RIGHT of ALL
# answers at seeds 11-14 right, DIFFER items where seeds 11 and 12 disagree
cat >"$tmp/sampled.lua" <<'L'
local cjson = require "cjson"
local url, file = arg[1], arg[2]
local items = {}
for line in io.lines(file) do
    items[#items + 1] = cjson.decode(line)
    if #items == 30 then break end
end
local function lastnum(i, seed)
    local res = assert(http { url = url .. "/api/chat", body = cjson.encode {
        model = "llama3.2:3b", stream = false, options = { temperature = 0.8, seed = seed },
        messages = { { role = "user", content = "Solve.\nQuestion: " .. items[i].question } } } })
    assert(res.status == 200, res.body)
    local last = cjson.decode(res.body).message.content:gsub("\n$", ""):match("[^\n]*$")
    local n
    for d in last:gsub(",", ""):gmatch("%d+") do n = d end
    return n
end
local right, all, differ = 0, 0, 0
for i = 1, #items do
    local gold = items[i].answer:match("#### ([0-9-]*)$")
    for seed = 11, 14 do
        if lastnum(i, seed) == gold then right = right + 1 end
        all = all + 1
    end
end
for i = 1, #items do
    if lastnum(i, 11) ~= lastnum(i, 12) then differ = differ + 1 end
end
print(right, all, differ)
return 0
L
read -r ok_n all d < <("$bin" --trust "$tmp/sampled.lua" "$URL" "$synth")
check "sampled answers keep the accuracy: $ok_n of $all right at 0.5" eval '[ "$all" = 120 ] && [ "$ok_n" -ge 42 ] && [ "$ok_n" -le 78 ]'
check "two seeds disagree on some items ($d of 30), as majority voting needs" eval '[ "$d" -ge 5 ]'
req POST /v1/chat/completions -d '{"model":"llama3.2:3b","temperature":1,"seed":1,"messages":[{"role":"user","content":"'"$(question 2)"'"}]}'; v1=$(text)
req POST /v1/chat/completions -d '{"model":"llama3.2:3b","temperature":1,"seed":2,"messages":[{"role":"user","content":"'"$(question 2)"'"}]}'; v2=$(text)
req POST /v1/chat/completions -d '{"model":"llama3.2:3b","temperature":1,"seed":3,"messages":[{"role":"user","content":"'"$(question 2)"'"}]}'; v3=$(text)
check "/v1: top-level temperature and seed vary the reply" eval '[ "$v1" != "$v2" ] || [ "$v1" != "$v3" ]'
nos=""
for k in 1 2 3 4; do ask 3 '"temperature":0.9'; nos+="$(text | md5sum)"$'\n'; done
check "temperature > 0 without a seed: a fresh draw each time" [ "$(printf '%s' "$nos" | sort -u | wc -l)" -ge 2 ]

start_sim --time-scale 0 --dataset "$synth" --accuracy 0.5 --seed 3 --answers-out "$tmp/all.jsonl" --answers-all
seen=0
for sd in 21 22 23; do ask 1 '"temperature":0.7,"seed":'$sd; [ "$(lastnum)" = "$(gold 1)" ] && seen=$((seen + 1)); done
ask 1 ''
check "--answers-all: every answer recorded, each sample with its seed, one first" eval '[ "$(grep -c "^{\"index\":0," "$tmp/all.jsonl")" = 4 ] && [ "$(grep -c "\"first\":true" "$tmp/all.jsonl")" = 1 ] && grep -q "\"seed\":21,\"first\":true}$" "$tmp/all.jsonl" && grep -q "\"seed\":23,\"first\":false}$" "$tmp/all.jsonl" && tail -n1 "$tmp/all.jsonl" | grep -q "\"given\":\"[0-9]*\",\"first\":false}$"'
check "... /stats still counts the item once" [ "$(($(stat correct) + $(stat wrong)))" = 1 ]
right=$(grep "\"seed\":" "$tmp/all.jsonl" | grep -c '"correct":true')
check "... and says which samples were made right ($right of 3), as the replies show" [ "$right" = "$seen" ]

# ---- lettered choices (MMLU's shape)
for i in 0 1 2 3 4 5 6 7 8 9 10 11 12 13; do
    printf '{"question": "Which of these statements about topic number %d is the true one here?", "type": "college_biology", "choices": ["w%d", "x%d", "y%d", "z%d"], "answer": %d}\n' "$i" "$i" "$i" "$i" "$i" $((i % 4))
done >"$tmp/mmlu.jsonl"
letter() { echo "ABCD" | cut -c $(($1 % 4 + 1)); }
mc() { req POST /api/chat -d '{"model":"llama3.2:3b","stream":false,"messages":[{"role":"user","content":"Which of these statements about topic number '"$1"' is the true one here?\nA. w\nB. x\nC. y\nD. z\nAnswer with the letter."}]}'; }
start_sim --time-scale 0 --dataset "$tmp/mmlu.jsonl" --accuracy 1 --answers-out "$tmp/mc.jsonl"
forms="" good=0
for i in $(seq 0 13); do
    mc "$i"
    L=$(letter "$i") last=$(text | tail -n1)
    case "$last" in
        "Answer: $L" | "The answer is ($L)." | "The correct answer is $L." | "**Answer: $L**" | \
            "Therefore, the answer is \$\\boxed{$L}\$." | "The answer is $L." | "Answer: ($L)") good=$((good + 1)) ;;
        *) echo "# item $i: $last" ;;
    esac
    forms+="${last//$L/L}"$'\n'
done
check "lettered choices: every reply ends naming the gold letter" [ "$good" = 14 ]
check "... in $(printf '%s' "$forms" | sort -u | wc -l) surface forms" [ "$(printf '%s' "$forms" | sort -u | wc -l)" -ge 5 ]
check "... and is recorded right, with the letter as given" eval '[ "$(grep -c "\"correct\":true" "$tmp/mc.jsonl")" = 14 ] && grep -qF "{\"index\":1,\"correct\":true,\"gold\":\"B\",\"given\":\"B\"}" "$tmp/mc.jsonl"'
start_sim --time-scale 0 --dataset "$tmp/mmlu.jsonl" --accuracy 0
bad=0
for i in $(seq 0 13); do mc "$i"; text | tail -n1 | grep -q "[^A-Z]$(letter "$i")[^A-Z]*$" || bad=$((bad + 1)); done
check "accuracy 0: another letter every time" [ "$bad" = 14 ]

# ---- LaTeX answers (MATH's shape)
cat >"$tmp/math.jsonl" <<'J'
{"problem": "What is one divided by two, written as a common fraction in lowest terms?", "answer": "\\frac{1}{2}", "subject": "Prealgebra"}
{"problem": "Convert the point $(0,3)$ in rectangular coordinates to polar coordinates.", "answer": "\\left( 3, \\frac{\\pi}{2} \\right)", "subject": "Precalculus"}
{"problem": "Compute the length of the hypotenuse with legs six and nine, in simplest radical form.", "answer": "3\\sqrt{13}", "subject": "Geometry"}
{"problem": "How many positive divisors does the number sixteen have in total, counting itself?", "answer": "5", "subject": "Number Theory"}
J
boxed() { text | tail -n1 | sed 's/.*boxed{\(.*\)}\$.*/\1/'; }
canon() { sed 's/\\left//g; s/\\right//g; s/\\dfrac/\\frac/g; s/ //g; s/\\frac\([0-9]\)\([0-9]\)/\\frac{\1}{\2}/g'; }
start_sim --time-scale 0 --dataset "$tmp/math.jsonl" --accuracy 1 --answers-out "$tmp/math.out"
mq() { req POST /api/chat -d '{"model":"llama3.2:3b","stream":false,"options":{"temperature":0.6,"seed":'"$2"'},"messages":[{"role":"user","content":"Solve, and put the answer in \\boxed{}.\n'"$(sed -n "$1p" "$tmp/math.jsonl" | sed 's/^{"problem": "\([^"]*\)".*/\1/')"'"}]}'; }
: >"$tmp/half" >"$tmp/tuple"
for s in $(seq 24); do mq 1 "$s"; boxed >>"$tmp/half"; echo >>"$tmp/half"; mq 2 "$s"; boxed >>"$tmp/tuple"; echo >>"$tmp/tuple"; done
nh=$(sort -u "$tmp/half" | wc -l) nt=$(sort -u "$tmp/tuple" | wc -l)
check "\\frac{1}{2} written $nh ways: $(sort -u "$tmp/half" | tr '\n' ' ')" eval '[ "$nh" -ge 3 ] && [ -z "$(grep -vxE "\\\\d?frac(\\{1\\}\\{2\\}|12)|0\\.5" "$tmp/half")" ] && grep -qx "0.5" "$tmp/half"'
check "the tuple written $nt ways, all equal to (3, pi/2)" eval '[ "$nt" -ge 3 ] && [ -z "$(canon <"$tmp/tuple" | grep -vxF "(3,\\frac{\\pi}{2})")" ]'
mq 3 1; r3=$(boxed); mq 4 1; r4=$(boxed)
check "3\\sqrt{13} and 5 come back in \\boxed{}" eval '[ "$r3" = "3\\sqrt{13}" ] && [ "$r4" = 5 ]'
check "--answers-out: LaTeX answers recorded as made correct, with the form given" eval '[ "$(grep -c "\"correct\":true" "$tmp/math.out")" = 4 ] && grep -q "{\"index\":1,\"correct\":true,\"gold\":\"\\\\\\\\left( 3, \\\\\\\\frac{\\\\\\\\pi}{2} \\\\\\\\right)\",\"given\":\"" "$tmp/math.out"'
start_sim --time-scale 0 --dataset "$tmp/math.jsonl" --accuracy 0 --answers-out "$tmp/math0.out"
mq 1 1; w1=$(boxed); mq 4 1; w4=$(boxed)
check "accuracy 0: a LaTeX answer that is not equal, recorded wrong" eval '[ "$(printf "%s" "$w1" | canon)" != "\\frac{1}{2}" ] && [ "$w1" != 0.5 ] && [ "$w4" != 5 ] && [ "$(grep -c "\"correct\":false" "$tmp/math0.out")" = 2 ]'

# ---- the judge
judge() { # judge I STUDENT_ANSWER [instruction]: a judge prompt about synthetic item I
    local q a
    q=$(question "$1") a=$(sed -n "$1p" "$synth" | sed 's/.*"answer": "\(.*\)"}$/\1/')
    req POST /api/chat -d '{"model":"llama3.2:3b","stream":false,"messages":[{"role":"user","content":"You are grading a student'"'"'s answer to a math word problem.\n\nProblem:\n'"$q"'\n\nReference solution:\n'"$a"'\n\nStudent'"'"'s answer:\n'"$2"'\n\n'"${3:-Is the student'"'"'s final answer the same as the reference'"'"'s? Reply with one line of reasoning, then a last line \\\"VERDICT: CORRECT\\\" or \\\"VERDICT: INCORRECT\\\".}"'"}]}'
}
start_sim --time-scale 0 --dataset "$synth" --accuracy 1 --answers-out "$tmp/j.out"
g5=$(gold 5)
judge 5 "We add them up.\nThe answer is $g5."
check "judge, a right answer: VERDICT: CORRECT on the last line, after a reason" eval '[ "$(text | tail -n1)" = "VERDICT: CORRECT" ] && [ "$(text | grep -c .)" -ge 2 ]'
judge 5 "We add them up.\n#### $((g5 + 3))"
check "judge, a wrong answer: VERDICT: INCORRECT, naming both" eval '[ "$(text | tail -n1)" = "VERDICT: INCORRECT" ] && text | grep -q "$((g5 + 3))"'
judge 5 "So the result is:\n\n**$g5**" "Grade the answer above."
check "\"grade the\" without VERDICT is a judge prompt too" eval '[ "$(text | tail -n1)" = "VERDICT: CORRECT" ]'
check "verdicts are not recorded as answers to the item" eval '[ ! -s "$tmp/j.out" ] && [ "$(stat correct)" = 0 ]'
start_sim --time-scale 0 --dataset "$synth" --accuracy 0
judge 5 "The answer is $g5."
check "judge at accuracy 0: the verdict is wrong" eval '[ "$(text | tail -n1)" = "VERDICT: INCORRECT" ]'
printf '%s\n' '{"question": "A teacher has to grade the tests of 6 classes with 5 tests each. How many tests are there?", "answer": "6*5=<<6*5=30>>30\n#### 30"}' >"$tmp/grade.jsonl"
start_sim --time-scale 0 --dataset "$tmp/grade.jsonl" --accuracy 1
req POST /api/chat -d '{"model":"llama3.2:3b","stream":false,"messages":[{"role":"user","content":"A teacher has to grade the tests of 6 classes with 5 tests each. How many tests are there?"}]}'
check "a question that itself says \"grade the\" is answered, not judged" eval 'text | grep -q 30 && ! text | grep -q VERDICT'
start_sim --time-scale 0 --dataset "$tmp/math.jsonl" --accuracy 1
req POST /api/chat -d '{"model":"llama3.2:3b","stream":false,"messages":[{"role":"user","content":"Problem: What is one divided by two, written as a common fraction in lowest terms?\nStudent: so it is $\\boxed{\\dfrac12}$\nGive a VERDICT."}]}'
check "judge on LaTeX: \\dfrac12 is \\frac{1}{2}" eval '[ "$(text | tail -n1)" = "VERDICT: CORRECT" ]'

# ---- stop sequences
start_sim --time-scale 0 --tokens-min 40 --tokens-max 40 --dataset "$synth" --accuracy 1 --answers-out "$tmp/stop.out"
P='"messages":[{"role":"user","content":"Tell me about systems."}]'
req POST /api/chat -d '{"model":"llama3.2:3b","stream":false,'"$P"'}'; full=$(text)
w=$(printf '%s' "$full" | tr -s ' \n' '\n\n' | sed -n 5p)
req POST /api/chat -d '{"model":"llama3.2:3b","stream":false,"options":{"stop":["zzz"," '"$w"'"]},'"$P"'}'
cut=$(text)
check "stop: the text ends before the first stop string" eval '[ -n "$cut" ] && [ "${full#"$cut $w"}" != "$full" ] && [ "${cut% $w*}" = "$cut" ]'
check "... done_reason stop, fewer tokens" eval 'has "\"done_reason\":\"stop\"" && [ "$(grep -oE "\"eval_count\":[0-9]+" "$tmp/b" | cut -d: -f2)" -lt 40 ]'
curl -s -o "$tmp/st" "$URL/api/chat" -d '{"model":"llama3.2:3b","options":{"stop":[" '"$w"'"]},'"$P"'}'
check "streamed: the same cut, done_reason stop" eval '[ "$(grep -o "\"content\":\"[^\"]*\"" "$tmp/st" | sed "s/\"content\":\"//; s/\"$//" | tr -d "\n")" = "$cut" ] && tail -n1 "$tmp/st" | grep -q "\"done_reason\":\"stop\""'
req POST /v1/chat/completions -d '{"model":"llama3.2:3b","stop":" '"$w"'",'"$P"'}'
check "/v1 stop as a string: the same cut, finish_reason stop" eval '[ "$(text)" = "$cut" ] && has "\"finish_reason\":\"stop\""'
ask 6 '"stop":["\n"]'
check "a stop that cuts the final answer: recorded wrong, given empty" eval '[ "$(text | grep -c .)" = 1 ] && grep -q "{\"index\":5,\"correct\":false,\"gold\":\"[0-9]*\",\"given\":\"\"}" "$tmp/stop.out"'

# ---- JSON schema
cat >"$tmp/get.lua" <<'L'
local cjson = require "cjson"
local d = cjson.decode(io.open(arg[1]):read("a"))
local t = d.message and d.message.content or d.choices[1].message.content
local o = cjson.decode(t)
for i = 2, #arg do
    local v = o[arg[i]]
    if math.type(v) == "float" and v == math.floor(v) then v = math.floor(v) end
    print(type(v) .. " " .. tostring(v))
end
L
field() { "$bin" --trust "$tmp/get.lua" "$tmp/b" "$@"; }
start_sim --time-scale 0 --dataset "$synth" --accuracy 1
SCH='{"type":"object","properties":{"reasoning":{"type":"string"},"answer":{"type":"integer"},"confident":{"type":"boolean"}},"required":["reasoning","answer"]}'
req POST /api/chat -d '{"model":"llama3.2:3b","stream":false,"format":'"$SCH"',"messages":[{"role":"user","content":"'"$(question 7)"'"}]}'
check "format schema: an object of its shape, answer an integer = gold" eval '[ "$(field answer confident | tr "\n" "|")" = "number $(gold 7)|boolean true|" ] && field reasoning | grep -q "^string There"'
check "... properties in the schema's order" eval 'text | grep -q "^{\"reasoning\": \".*\", \"answer\": $(gold 7), \"confident\": true}$"'
start_sim --time-scale 0 --dataset "$tmp/mmlu.jsonl" --accuracy 1
req POST /v1/chat/completions -d '{"model":"llama3.2:3b","response_format":{"type":"json_schema","json_schema":{"name":"a","schema":{"type":"object","properties":{"letter":{"type":"string"}}}}},"messages":[{"role":"user","content":"Which of these statements about topic number 2 is the true one here?"}]}'
check "/v1 json_schema without \"answer\": the first string property holds it" eval '[ "$(field letter)" = "string C" ]'
req POST /v1/chat/completions -d '{"model":"llama3.2:3b","response_format":{"type":"json_object"},"messages":[{"role":"user","content":"Which of these statements about topic number 3 is the true one here?"}]}'
check "/v1 json_object: {reasoning, answer}" eval '[ "$(field answer)" = "string D" ] && field reasoning | grep -q "^string Let"'

# ---- bad /v1 bodies
req POST /v1/chat/completions -d '{"model":"llama3.2:3b","messages":[]}'
check "/v1 empty messages: 400 as OpenAI" eval 'is 400 && body_is "{\"error\":{\"message\":\"[] is too short - '"'"'messages'"'"'\",\"type\":\"invalid_request_error\",\"param\":null,\"code\":null}}"'
req POST /v1/chat/completions -d '{"model":"llama3.2:3b"}'
check "/v1 no messages: 400 missing_required_parameter" eval 'is 400 && body_is "{\"error\":{\"message\":\"Missing required parameter: '"'"'messages'"'"'.\",\"type\":\"invalid_request_error\",\"param\":\"messages\",\"code\":\"missing_required_parameter\"}}"'
req POST /v1/chat/completions -d '{"model":"llama3.2:3b","messages":"hi"}'
check "/v1 messages a string: 400" eval 'is 400 && has "\"type\":\"invalid_request_error\"" && has "cannot unmarshal string"'
req POST /v1/chat/completions -d '{"model":"llama3.2:3b","temperature":"hot","messages":[{"role":"user","content":"x"}]}'
check "/v1 temperature a string: 400" eval 'is 400 && has "ChatCompletionRequest.temperature of type float64"'
req POST /v1/chat/completions -d '{"model":"llama3.2:3b","stop":[1],"messages":[{"role":"user","content":"x"}]}'
check "/v1 stop with a number: 400" eval 'is 400 && has "\"type\":\"invalid_request_error\""'
req POST /v1/chat/completions -d '{"model":"llama3.2:3b","messages":[{"role":5,"content":"x"}]}'
check "/v1 a message with a numeric role: 400" eval 'is 400 && has "messages.role"'

finish
