#!/usr/bin/env bash
# test-sim-answers.sh: dataset answers: the simulator recognises a
# GSM8K-shaped question inside a prompt (the synthetic fixture, $synth),
# ends its solution in the gold answer (accuracy 1) or a wrong number
# (accuracy 0), varies the final-answer form, keeps the answer out of the
# thinking, is deterministic, and reports what it answered in /stats and
# --answers-out. Prints TAP.
set -u
. tests/lib/harness.sh
sims_under_valgrind
synth_data
data=$synth

# question I: the question text of line I (1-based), JSON-escaped as stored.
question() { sed -n "$1p" "$data" | sed 's/^{"question": "\(.*\)", "answer": .*/\1/'; }
# gold I: the number after "####" on line I; steps1 I: its first worked step
# without the <<calculator>> note, as the simulator writes it.
gold() { sed -n "$1p" "$data" | sed 's/.*#### \([0-9-]*\)"}$/\1/'; }
steps1() { sed -n "$1p" "$data" | sed 's/.*"answer": "//; s/\\n.*//; s/<<[^>]*>>//g'; }
ask() { # ask I [extra JSON fields]: a chat with a few-shot-like prefix
    local q; q=$(question "$1")
    req POST /api/chat -d '{"model":"qwen3:8b","stream":false'"${2:-}"',"messages":[{"role":"system","content":"You are a careful solver."},{"role":"user","content":"Solve the problem. End with #### N.\n\nQuestion: '"$q"'\nAnswer:"}]}'
}
content() { sed 's/.*"content":"\(.*\)","thinking".*/\1/; s/.*"content":"\(.*\)"},"done".*/\1/' "$tmp/b"; }
GOLD=()
for i in $(seq 8); do GOLD+=("$(gold "$i")"); done

start_sim --time-scale 0 --dataset "$data" --accuracy 1 --seed 3 --answers-out "$tmp/ans.jsonl"
forms=""
good=0
for i in 0 1 2 3 4 5 6 7; do
    ask $((i + 1)) ',"think":false'
    c=$(content)
    g=${GOLD[$i]}
    gc=$(printf "%'d" "$g" 2>/dev/null || echo "$g")
    if printf '%s' "$c" | grep -qE "(^|[^0-9,])($g|$gc)([^0-9,]|$)"; then good=$((good + 1)); fi
    forms+=$(printf '%s' "$c" | sed 's/.*\\n//' | sed 's/[0-9,]\+/N/g')"|"
done
check "accuracy 1: every answer ends in the gold number" [ "$good" = 8 ]
nforms=$(printf '%s' "$forms" | tr '|' '\n' | sort -u | wc -l)
check "final-answer forms vary across items ($nforms kinds)" [ "$nforms" -ge 3 ]
check "/stats: 8 correct, ids 0..7" eval 'curl -s "$URL/stats" | grep -qF "\"answers\":{\"correct\":8,\"wrong\":0,\"correct_ids\":[0,1,2,3,4,5,6,7],\"wrong_ids\":[]}"'
check "--answers-out: one JSONL line per item" eval '[ $(wc -l <"$tmp/ans.jsonl") = 8 ] && grep -qF "{\"index\":0,\"correct\":true,\"gold\":\"${GOLD[0]}\",\"given\":\"${GOLD[0]}\"}" "$tmp/ans.jsonl"'
ask 1 ',"think":false'
c1=$(content)
ask 1 ',"think":false'
check "same item twice: identical answer" [ "$c1" = "$(content)" ]
check "a repeated item is recorded once" [ "$(wc -l <"$tmp/ans.jsonl")" = 8 ]
ask 3
th=$(sed 's/.*"thinking":"\(.*\)"},"done".*/\1/' "$tmp/b")
check "thinking present and free of answer markers" eval '[ -n "$th" ] && ! printf "%s" "$th" | grep -qiE "####|boxed|answer|[0-9]"'
check "thinking request: same content as without thinking" eval '[ "$(content)" = "$(ask 3 ",\"think\":false"; content)" ]'
req POST /api/generate -d '{"model":"llama3.2:3b","stream":false,"prompt":"Q: '"$(question 1)"'"}'
check "/api/generate prompts are recognised too" eval 'has "\"response\":\"$(steps1 1)"'
req POST /v1/chat/completions -d '{"model":"llama3.2:3b","messages":[{"role":"user","content":"'"$(question 2)"'"}]}'
check "/v1 prompts are recognised too" eval 'has "\"content\":\"$(steps1 2)"'
req POST /api/chat -d '{"model":"qwen3:8b","stream":false,"think":false,"messages":[{"role":"user","content":"What is the capital of France?"}]}'
check "unknown prompt: filler without a final answer line" eval 'is 200 && lacks "####"'
ask 10 ',"think":false,"options":{"num_predict":5}'
check "answer cut by num_predict: done_reason length, recorded wrong" eval 'has "\"done_reason\":\"length\"" && grep -q "{\"index\":9,\"correct\":false,\"gold\":\"[0-9]*\",\"given\":\"\"}" "$tmp/ans.jsonl"'

start_sim --time-scale 0 --dataset "$data" --accuracy 0 --seed 3 --answers-out "$tmp/wrong.jsonl"
bad=0
for i in 0 1 2 3; do
    ask $((i + 1)) ',"think":false'
    g=${GOLD[$i]}
    last=$(content | sed 's/.*\\n//')
    printf '%s' "$last" | grep -qE "(^|[^0-9,])$g([^0-9,]|$)" || bad=$((bad + 1))
done
check "accuracy 0: final lines never give the gold number" [ "$bad" = 4 ]
check "/stats: 4 wrong" eval 'curl -s "$URL/stats" | grep -qF "\"correct\":0,\"wrong\":4,\"correct_ids\":[],\"wrong_ids\":[0,1,2,3]"'
check "--answers-out records wrong answers" eval '[ $(grep -c "\"correct\":false" "$tmp/wrong.jsonl") = 4 ] && ! grep -qF "\"gold\":\"${GOLD[0]}\",\"given\":\"${GOLD[0]}\"" "$tmp/wrong.jsonl"'

# accuracy 0.5 over 40 items: deterministic per seed, roughly half right.
start_sim --time-scale 0 --dataset "$data" --accuracy 0.5 --seed 11
for i in $(seq 40); do ask "$i" ',"think":false'; done
c=$(curl -s "$URL/stats" | grep -oE '"correct":[0-9]+' | cut -d: -f2)
check "accuracy 0.5: between 10 and 30 of 40 correct ($c)" eval '[ "$c" -ge 10 ] && [ "$c" -le 30 ]'
ids1=$(curl -s "$URL/stats" | grep -oE '"correct_ids":\[[0-9,]*\]')
start_sim --time-scale 0 --dataset "$data" --accuracy 0.5 --seed 11
for i in $(seq 40 -1 1); do ask "$i" ',"think":false'; done
check "same seed, other order: same items correct" [ "$ids1" = "$(curl -s "$URL/stats" | grep -oE '"correct_ids":\[[0-9,]*\]')" ]

# Other dataset shapes: MATH-style "problem" and MMLU-style choices.
cat >"$tmp/math.jsonl" <<'J'
{"problem": "Compute the value of the integral of x from zero to two, exactly.", "answer": "2"}
{"problem": "Simplify the fraction fourteen over three and give it in lowest terms.", "answer": "\\frac{14}{3}"}
J
cat >"$tmp/mmlu.jsonl" <<'J'
{"question": "Which organelle is known as the powerhouse of the cell in eukaryotes?", "choices": ["nucleus", "mitochondrion", "ribosome", "golgi"], "answer": 1}
J
start_sim --time-scale 0 --dataset "$tmp/math.jsonl" --accuracy 1
req POST /api/chat -d '{"model":"llama3.2:3b","stream":false,"messages":[{"role":"user","content":"Simplify the fraction fourteen   over three and give it in lowest terms."}]}'
check "MATH-style dataset: problem field, latex gold in \\boxed{}, whitespace-normalised match" hasre 'boxed\{\\\\d?frac\{14\}\{3\}\}'
start_sim --time-scale 0 --dataset "$tmp/mmlu.jsonl" --accuracy 1
req POST /api/chat -d '{"model":"llama3.2:3b","stream":false,"messages":[{"role":"user","content":"Which organelle is known as the powerhouse of the cell in eukaryotes?\nA. nucleus\nB. mitochondrion"}]}'
check "MMLU-style dataset: integer answer with choices gives letter B" eval 'curl -s "$URL/stats" | grep -qF "\"correct_ids\":[0]" && content | grep -qE "(B\.?|\{B\}|\*\*B\*\*|: B)$"'
# A question repeated in the same words (MMLU has some): each asking goes to
# the next twin not answered yet, so each twin gets its line in --answers-out.
cat >"$tmp/twins.jsonl" <<'J'
{"question": "Which organelle is known as the powerhouse of the cell in eukaryotes?", "choices": ["nucleus", "mitochondrion", "ribosome", "golgi"], "answer": 1}
{"question": "What is two plus two?", "choices": ["3", "4"], "answer": 1}
{"question": "Which organelle is known as the powerhouse of the cell in eukaryotes?", "choices": ["nucleus", "mitochondrion", "ribosome", "golgi"], "answer": 1}
{"question": "What is two plus two?", "choices": ["3", "4"], "answer": 1}
{"question": "Which organelle is known as the powerhouse of the cell in eukaryotes?", "choices": ["nucleus", "ribosome"], "answer": 0}
J
start_sim --time-scale 0 --dataset "$tmp/twins.jsonl" --accuracy 1 --answers-out "$tmp/twins-ans.jsonl"
for q in "Which organelle is known as the powerhouse of the cell in eukaryotes?\nA. nucleus\nB. mitochondrion\nC. ribosome\nD. golgi" "What is two plus two?\nA. 3\nB. 4"; do
    for _ in 1 2 3; do
        req POST /api/chat -d '{"model":"llama3.2:3b","stream":false,"messages":[{"role":"user","content":"'"$q"'"}]}'
    done
done
idx=$(sed 's/^{"index":\([0-9]*\),.*/\1/' "$tmp/twins-ans.jsonl" | sort -n | tr '\n' ' ')
check "a question asked again goes to its next twin: lines for items 0 1 2 3, not 4 (other choices) ($idx)" \
    [ "$idx" = "0 1 2 3 " ]
check "the twins are recorded correct" [ "$(grep -c '"correct":true' "$tmp/twins-ans.jsonl")" = 4 ]

"$bin" sim --dataset "$tmp/none.jsonl" >/dev/null 2>"$tmp/e"; rc=$?
check "missing dataset: exit 2 naming --dataset" eval '[ $rc = 2 ] && grep -q -- "--dataset" "$tmp/e"'

finish
