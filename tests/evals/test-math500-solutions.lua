-- tests/evals/test-math500-solutions.lua: evals/latex.lua on the 500 MATH-500
-- reference solutions (../shared/datasets/math500/test.jsonl): the answer
-- extracted from each solution equals the item's answer, and against the
-- next item's answer it is equal exactly when the two answers are (no false
-- match). Needs the real data (skipped without).

local T = require "tests.lib.tap"
local cjson = require "cjson"
local L = require "evals.latex"

local FILE = T.shared("datasets/math500/test.jsonl")
T.need_data(FILE)

local rows = {}
for line in io.lines(FILE) do rows[#rows + 1] = cjson.decode(line) end
T.eq(#rows, 500, "500 problems")

local right, rules, first_bad = 0, {}, nil
local consistent, first_odd = 0, nil
for i, r in ipairs(rows) do
    local a, rule = L.extract(r.solution)
    rules[rule] = (rules[rule] or 0) + 1
    if a and L.equal(a, r.answer) then
        right = right + 1
    elseif not first_bad then
        first_bad = ("%s: extracted %q, answer %q"):format(r.unique_id, tostring(a), r.answer)
    end
    local other = rows[i % #rows + 1].answer
    if L.equal(a, other) == L.equal(r.answer, other) then
        consistent = consistent + 1
    elseif not first_odd then
        first_odd = ("%s: %q vs the next answer %q"):format(r.unique_id, tostring(a), other)
    end
end
if first_bad then T.diag("first miss: " .. first_bad) end
if first_odd then T.diag("first inconsistency: " .. first_odd) end
local names = {}
for k, v in pairs(rules) do names[#names + 1] = k .. "=" .. v end
table.sort(names)
T.diag("rules: " .. table.concat(names, " "))
T.eq(right, 500, "every reference solution grades as its own answer")
T.eq(consistent, 500, "against the next item's answer: equal only when the answers are")
T.eq(rules.boxed, 500, "every reference solution's answer is in a box")

T.done()
