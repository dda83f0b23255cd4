-- tests/evals/test-gsm8k-solutions.lua: the GSM8K grader against 5,276 real model
-- solutions (OpenAI's GPT-3 6B/175B finetuning and verification samples,
-- example_model_solutions.jsonl) and their is_correct labels; plus gold()
-- over the 1,319 test items.

local T = require "tests.lib.tap"
local cjson = require "cjson"
local gsm8k = require "evals.gsm8k"
local numeric = require "evals.numeric"

local SHARED = os.getenv("OLLAEVAL_SHARED") or "../shared"
local DIR = SHARED .. "/datasets/gsm8k/"
T.need_data(DIR .. "test.jsonl", DIR .. "example_model_solutions.jsonl", DIR .. "train.jsonl")
local MODELS = { "6b_finetuning", "6b_verification", "175b_finetuning",
                 "175b_verification" }

-- Labels we knowingly disagree with: "line:model" -> reason. Keep it tiny.
local EXCEPTIONS = {}


local function read_jsonl(path)
    local rows = {}
    for line in io.lines(path) do
        if line ~= "" then rows[#rows + 1] = cjson.decode(line) end
    end
    return rows
end


local test = read_jsonl(DIR .. "test.jsonl")
T.eq(#test, 1319, "test split has 1,319 items")

-- gold() gives a normalisable number for every test item
local bad_gold = 0
for i, item in ipairs(test) do
    local g = gsm8k.gold(item)
    if not (g and numeric.normalize(g)) then
        bad_gold = bad_gold + 1
        T.diag(("item %d: gold %q"):format(i, tostring(g)))
    end
end
T.eq(bad_gold, 0, "gold() is a number for every test item")
T.eq(gsm8k.gold(test[1]), "18", "gold of item 1")
T.eq(gsm8k.gold(test[3]), "70000", "gold of item 3 has its comma removed")

-- the solutions, scored
local rows = read_jsonl(DIR .. "example_model_solutions.jsonl")
T.eq(#rows, 1319, "one solutions row per test item")
local n, agree, labelled_true, computed_true, misaligned = 0, 0, 0, 0, 0
local rules, disagreements = {}, {}
for i, row in ipairs(rows) do
    local item = test[i]
    if not (item and item.question == row.question) then misaligned = misaligned + 1 end
    local gold = gsm8k.gold(item)
    for _, m in ipairs(MODELS) do
        local sol = row[m]
        local answer, rule = gsm8k.extract(sol.solution)
        local ok = answer ~= nil and gsm8k.correct(answer, gold)
        n = n + 1
        rules[rule] = (rules[rule] or 0) + 1
        if sol.is_correct then labelled_true = labelled_true + 1 end
        if ok then computed_true = computed_true + 1 end
        local key = i .. ":" .. m
        if ok == sol.is_correct or EXCEPTIONS[key] then
            agree = agree + 1
        else
            disagreements[#disagreements + 1] = ("%s label=%s computed=%s answer=%q gold=%s"):format(
                key, tostring(sol.is_correct), tostring(ok), tostring(answer), gold)
        end
    end
end
T.eq(misaligned, 0, "solutions rows line up with test.jsonl (same questions)")
for _, d in ipairs(disagreements) do T.diag(d) end
T.diag(("agreement %d/%d (%.2f%%); labelled correct %d, computed correct %d")
       :format(agree, n, 100 * agree / n, labelled_true, computed_true))
local names = {}
for r, c in pairs(rules) do names[#names + 1] = r .. "=" .. c end
table.sort(names)
T.diag("rules: " .. table.concat(names, " "))
T.eq(n, 5276, "5,276 solutions scored")
T.eq(#disagreements, 0, "computed correctness reproduces every is_correct label")

-- The same solutions rewritten into other answer styles must grade the same:
-- this exercises the other rules on 5,276 real texts each.
local STYLES = {
    { "marker", function(s) return (s:gsub("\nA: ([^\n]*)$", "\n#### %1")) end },
    { "answer_is", function(s)
        return (s:gsub("\nA: ([^\n]*)$", "\nThe answer is %1.")) end },
    { "boxed after <think>", function(s)
        return "<think>The examples say #### 72 and #### 10.</think>\n"
               .. (s:gsub("\nA: ([^\n]*)$", "\nSo the final answer is $\\boxed{%1}$.")) end },
    { "bold", function(s)
        return (s:gsub("\nA: ([^\n]*)$", "\n**Answer:** **%1**")) end },
    { "run-on", function(s)
        return s .. "\n\nQuestion: Tom has 3 apples and eats one. How many are left?\n"
               .. "Answer: 3 - 1 = 2\n#### 2" end },
}
for _, style in ipairs(STYLES) do
    local name, rewrite = style[1], style[2]
    local same, total, first_bad = 0, 0, nil
    for i, row in ipairs(rows) do
        local gold = gsm8k.gold(test[i])
        for _, m in ipairs(MODELS) do
            local answer = gsm8k.extract(rewrite(row[m].solution))
            local ok = answer ~= nil and gsm8k.correct(answer, gold)
            total = total + 1
            if ok == row[m].is_correct or EXCEPTIONS[i .. ":" .. m] then
                same = same + 1
            elseif not first_bad then
                first_bad = ("%d:%s answer=%q"):format(i, m, tostring(answer))
            end
        end
    end
    if first_bad then T.diag(name .. ": first disagreement " .. first_bad) end
    T.eq(same, total, ("style %s: labels reproduced"):format(name))
end

-- the suite contract
T.eq(gsm8k.name, "gsm8k", "name")
T.eq(type(gsm8k.version), "string", "version is a string")
T.ok(gsm8k.dataset.url:match("^https://raw%.githubusercontent%.com/openai/grade%-school%-math/")
     and gsm8k.dataset.file == "test.jsonl", "dataset url and file")
T.ok(#gsm8k.dataset.sha256 == 64 and #gsm8k.train.sha256 == 64, "sha256 pinned")
T.eq(gsm8k.id(test[1], 1), "gsm8k-test-0001", "id")
T.eq(gsm8k.id(test[1319], 1319), "gsm8k-test-1319", "id of the last item")
local msgs = gsm8k.prompt(test[1])
T.eq(#msgs, 1, "zero-shot: one user message")
T.eq(msgs[1].role, "user", "zero-shot role")
T.ok(msgs[1].content:find(test[1].question, 1, true) and msgs[1].content:find("####", 1, true),
     "zero-shot prompt holds the question and asks for '#### N'")
local train = read_jsonl(DIR .. "train.jsonl")
T.eq(#train, 7473, "train split has 7,473 items")
local five = gsm8k.prompt(test[1], { shots = 5, fewshot_pool = train })
T.eq(#five, 11, "5 shots: 5 user/assistant pairs + the question")
T.eq(five[11].content, msgs[1].content, "question last, same as zero-shot")
T.ok(not five[2].content:find("<<", 1, true) and five[2].content:find("####", 1, true),
     "shot answers without calculator notes, ending in '#### N'")
local again = gsm8k.prompt(test[2], { shots = 5, fewshot_pool = train })
T.eq(again[1].content, five[1].content, "the same shots for every item")
T.eq(gsm8k.extract(five[2].content), gsm8k.gold(train[
    (function() for j, t in ipairs(train) do
        if five[1].content:find(t.question, 1, true) then return j end end end)()]),
    "a shot's answer grades as its own gold")
T.ok(not pcall(gsm8k.prompt, test[1], { shots = 2 }), "shots without a pool raises")
T.eq(gsm8k.extract("<think>#### 5"), nil, "unclosed think: no answer")
T.eq(select(2, gsm8k.extract("<think>#### 5")), "unclosed_think", "unclosed think: reason")
T.eq(gsm8k.strict("#### 18"), "18", "strict marker")
T.eq(gsm8k.strict("\\boxed{18}"), nil, "strict ignores boxed")
T.ok(gsm8k.correct("$70,000.00", "70000"), "correct() is numeric")
T.eq(gsm8k.options[1].name, "shots", "options declare shots")

T.done()
