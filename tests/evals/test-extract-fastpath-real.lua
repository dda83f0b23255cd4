-- tests/evals/test-extract-fastpath-real.lua: extract.lua's shortcuts against
-- its full rules (opts.full) on real text: the 5,276 labelled GSM8K model
-- solutions (as written, with "#### N", and "The answer is \boxed{N}" after a
-- <think> block: the shapes bench/grade.lua times) and the modern-styles set
-- (tests/evals/gsm8k_styles.lua), each with and without its question. Every
-- (value, rule, s, e) and every strict answer must be identical. Needs the
-- real data (skipped without).

local T = require "tests.lib.tap"
local cjson = require "cjson"
local X = require "evals.extract"
local gsm8k = require "evals.gsm8k"

local DIR = T.shared("datasets/gsm8k/")
T.need_data(DIR .. "test.jsonl", DIR .. "example_model_solutions.jsonl")
local MODELS = { "6b_finetuning", "6b_verification", "175b_finetuning", "175b_verification" }
local styles = dofile("tests/evals/gsm8k_styles.lua")

local test = {}
for line in io.lines(DIR .. "test.jsonl") do test[#test + 1] = cjson.decode(line) end

local n, diffs, sdiffs = 0, 0, 0
local function compare(content, question)
    local text = X.answer_text(content)
    local a = { X.extract(text, { question = question }) }
    local sa = X.strict(text)                                  -- may reuse the cut
    local b = { X.extract(text, { question = question, full = true }) }
    local sb = X.strict(text, { full = true })
    n = n + 1
    if a[1] ~= b[1] or a[2] ~= b[2] or a[3] ~= b[3] or a[4] ~= b[4] then
        diffs = diffs + 1
        if diffs <= 5 then
            T.diag(("fast %s %s %s %s, full %s %s %s %s: %q"):format(tostring(a[1]),
                tostring(a[2]), tostring(a[3]), tostring(a[4]), tostring(b[1]), tostring(b[2]),
                tostring(b[3]), tostring(b[4]), content:sub(-200)))
        end
    end
    if sa ~= sb then
        sdiffs = sdiffs + 1
        if sdiffs <= 5 then T.diag(("strict %s vs %s: %q"):format(tostring(sa), tostring(sb),
            content:sub(-200))) end
    end
end

local i, styled = 0, 0
for line in io.lines(DIR .. "example_model_solutions.jsonl") do
    i = i + 1
    local row, item = cjson.decode(line), test[i]
    for _, m in ipairs(MODELS) do
        local s = row[m].solution
        for _, text in ipairs({ s, (s:gsub("\nA: ([^\n]*)$", "\n#### %1")),
                                "<think>Let me work it out.</think>"
                                .. (s:gsub("\nA: ([^\n]*)$", "\nThe answer is $\\boxed{%1}$.")) }) do
            compare(text, nil)
            compare(text, item.question)
        end
        local working, answer = s:match("^(.*)\nA: ([^\n]*)$")
        if working then
            local ctx = { working = working, answer = answer, label = row[m].is_correct,
                          question = item.question, gold = gsm8k.gold(item) }
            for _, st in ipairs(styles.list) do
                local text = st.rewrite(ctx)
                if text then
                    styled = styled + 1
                    compare(text, item.question)
                    compare(text, nil)
                end
            end
        end
    end
end
T.eq(i, 1319, "one solutions row per test item")
T.ok(styled > 60000, ("%d modern-style texts"):format(styled))
T.diag(("%d comparisons"):format(n))
T.eq(diffs, 0, "extract: shortcuts and full rules agree on value, rule and span")
T.eq(sdiffs, 0, "strict: reused cut and full rules agree")

T.done()
