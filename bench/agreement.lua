-- bench/agreement.lua: agreement of the GSM8K suite's extract + correct with
-- careful labels, on the 5,276 real model solutions as written and on the
-- modern-styles set (tests/evals/gsm8k_styles.lua: the same solutions in
-- the answer styles of issue 16). Prints agreement per style and class.
--   ./ollaeval bench/agreement.lua [--no-question] [--show STYLE]
-- Run from another checkout's root to measure that version's grader (the
-- evals/ modules are found on ./?.lua before the embedded ones).

local cjson = require "cjson"
local gsm8k = require "evals.gsm8k"
local styles = dofile((os.getenv("STYLES") or "tests/evals/gsm8k_styles.lua"))

local SHARED = os.getenv("OLLAEVAL_SHARED") or "../shared"
local DIR = SHARED .. "/datasets/gsm8k/"
local MODELS = { "6b_finetuning", "6b_verification", "175b_finetuning", "175b_verification" }
local with_question, show = true, nil
local args = { ... }
if #args == 0 and arg then args = arg end
for i = 1, #args do
    if args[i] == "--no-question" then with_question = false end
    if args[i] == "--show" then show = args[i + 1] end
end

local test = {}
for line in io.lines(DIR .. "test.jsonl") do test[#test + 1] = cjson.decode(line) end

local per, order = {}, {}
for _, st in ipairs(styles.list) do per[st.name] = { n = 0, agree = 0 }; order[#order + 1] = st end
local shown = 0
local i = 0
for line in io.lines(DIR .. "example_model_solutions.jsonl") do
    i = i + 1
    local row, item = cjson.decode(line), test[i]
    local gold = gsm8k.gold(item)
    for _, m in ipairs(MODELS) do
        local sol = row[m]
        local working, answer = sol.solution:match("^(.*)\nA: ([^\n]*)$")
        if working then
            local ctx = { working = working, answer = answer, label = sol.is_correct,
                          question = item.question, gold = gold }
            for _, st in ipairs(order) do
                local text, label = st.rewrite(ctx)
                if text then
                    local a = gsm8k.extract(text, with_question and item or nil)
                    local ok = a ~= nil and gsm8k.correct(a, gold)
                    local p = per[st.name]
                    p.n = p.n + 1
                    if ok == label then p.agree = p.agree + 1
                    elseif show == st.name and shown < 10 then
                        shown = shown + 1
                        print(("--- %d:%s label=%s answer=%s gold=%s\n%s"):format(
                            i, m, tostring(label), tostring(a), gold, text:sub(-300)))
                    end
                end
            end
        end
    end
end
local cls, tn, ta = {}, 0, 0
for _, st in ipairs(order) do
    local p = per[st.name]
    print(("class %-2s %-36s %5d/%5d  %7.2f%%"):format(st.class, st.name, p.agree, p.n,
        p.n > 0 and 100 * p.agree / p.n or 0))
    local c = cls[st.class] or { n = 0, agree = 0 }
    cls[st.class] = c
    c.n, c.agree = c.n + p.n, c.agree + p.agree
    if st.class ~= "-" then tn, ta = tn + p.n, ta + p.agree end
end
for _, k in ipairs({ "-", "1", "2", "3", "4", "5", "6", "7", "8" }) do
    local c = cls[k]
    if c then print(("class %s total %5d/%5d  %7.2f%%"):format(k, c.agree, c.n, 100 * c.agree / c.n)) end
end
print(("modern-styles set (classes 1-8): %d/%d  %.2f%%"):format(ta, tn, 100 * ta / tn))
