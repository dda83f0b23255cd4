-- tests/test-gsm8k-solutions.lua: the GSM8K grader against 5,276 real model
-- solutions (OpenAI's GPT-3 6B/175B finetuning and verification samples,
-- example_model_solutions.jsonl) and their is_correct labels; plus gold()
-- over the 1,319 test items.

local T = require "tests.tap"
local cjson = require "cjson"
local gsm8k = require "evals.gsm8k"
local numeric = require "evals.numeric"

local SHARED = os.getenv("OLLAEVAL_SHARED") or "../shared"
local DIR = SHARED .. "/datasets/gsm8k/"
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

T.done()
