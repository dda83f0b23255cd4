-- tests/evals/test-extract-fastpath.lua: extract.lua's shortcuts (the byte
-- checks that skip a rule's own test, the cut reused by strict) never change
-- a result: on a grid of answer shapes built from pieces (working, anchors,
-- values, endings, run-ons; with and without a question), extract with its
-- shortcuts and with opts.full give the same (value, rule, s, e), and strict
-- right after extract (reusing its cut) the same as strict alone with
-- opts.full. test-extract-fastpath-real.lua does the same on the real
-- solutions and the modern-styles set.

local T = require "tests.lib.tap"
local X = require "evals.extract"

local Q = "Mia earns $5,000 a week and saves all of it. How many weeks does she need "
    .. "to save the down payment of $10,000?"

local WORKING = {
    "",
    "Janet sells 16 - 3 - 4 = 9 duck eggs a day.\n",
    "She makes 9 * 2 = <<9*2=18>>18 dollars.\n",
    "He pays 3 * $5 = $15.\n\n",
    "The total is 4 + 5 = 9\nWait, let me recheck: 9 * 2 = 18\n",
    "Answer: 17\n",
}

local ANCHORS = {                       -- V is the value
    "#### V", "A: V", "Answer: V", "The answer is V.", "The final answer is $\\boxed{V}$.",
    "**V**", "Final answer: V", "### Final Answer\n\nThe result is V.", '{"answer": "V"}',
    "So she needs V weeks to save $10,000.", "V", "It is V",
}

local VALUES = {
    "18", "19", "1,234", "18.50", "$18", "2:00 pm", "2.5 million", "about 18 or 19",
    "18, 27", "15 sheep and 5 geese", "unknown", "3 * 6 = 18", "-5", "1/2", "between 18 and 20",
    "18-19", "eighteen",
}

local ENDINGS = {
    "", "\n", ".", " dollars", "\nUser: thanks\nAssistant: 7",
    "\nQuestion: What is 2+2?\nAnswer: 4", "<|im_end|>garbage 5", "\n\n" .. Q, "\n\n" .. Q .. "\n#### 5", " - 3", " =",
    " the", "?", " or so", " to 20",
}

local function same(a, b)
    for k = 1, 4 do
        if a[k] ~= b[k] then return false end
    end
    return true
end

local n, diffs, sdiffs = 0, 0, 0
for _, w in ipairs(WORKING) do
    for _, anchor in ipairs(ANCHORS) do
        for _, v in ipairs(VALUES) do
            local body = w .. anchor:gsub("V", (v:gsub("%%", "%%%%")))
            for _, ending in ipairs(ENDINGS) do
                local text = body .. ending
                for _, q in ipairs({ false, Q }) do
                    local opts = { question = q or nil }
                    local fast = { X.extract(text, opts) }
                    local fast_strict = X.strict(text)                -- may reuse the cut
                    local slow = { X.extract(text, { question = q or nil, full = true }) }
                    local slow_strict = X.strict(text, { full = true })
                    n = n + 1
                    if not same(fast, slow) then
                        diffs = diffs + 1
                        if diffs <= 5 then
                            T.diag(("%q q=%s: fast %s %s %s %s, full %s %s %s %s"):format(text,
                                tostring(q and true), tostring(fast[1]), tostring(fast[2]),
                                tostring(fast[3]), tostring(fast[4]), tostring(slow[1]),
                                tostring(slow[2]), tostring(slow[3]), tostring(slow[4])))
                        end
                    end
                    if fast_strict ~= slow_strict then
                        sdiffs = sdiffs + 1
                        if sdiffs <= 5 then
                            T.diag(("strict %q: %s vs %s"):format(text, tostring(fast_strict),
                                tostring(slow_strict)))
                        end
                    end
                end
            end
        end
    end
end
T.ok(n > 30000, ("%d answers compared"):format(n))
T.eq(diffs, 0, "extract: shortcuts and full rules agree on value, rule and span")
T.eq(sdiffs, 0, "strict after extract (reused cut) agrees with strict alone")

-- the shortcuts are taken: a question whose first bytes are not in the text
-- leaves the cut to strict; a full run never reuses it
local text = "So 9 * 2 = 18.\n#### 18"
X.extract(text, { question = Q })
T.eq(X.strict(text), "18", "strict after extract")
T.eq(X.strict(text, { full = true }), "18", "strict with full")
local repeated = "9 * 2 = 18\nSo the result is 18.\n\n" .. Q
T.eq(select(1, X.cut_runon(repeated, Q)), "9 * 2 = 18\nSo the result is 18.\n",
     "a repeated question is still cut")
T.eq(select(1, X.cut_runon(repeated, Q, true)), "9 * 2 = 18\nSo the result is 18.\n",
     "... and with full")

-- answer_text is split_reasoning without the reasoning: same text and offset
for _, c in ipairs({ "", " ", "   ", "\n\t", " a ", "a", "a ", " a", "\n\n18\n",
                     "<think>x</think>  18 ", "<think>x", "x</think>18", "rethink> 5" }) do
    local t1, _, st1, off1 = X.split_reasoning(c)
    local t2, st2, off2 = X.answer_text(c)
    T.ok(t1 == t2 and st1 == st2 and off1 == off2, ("answer_text(%q) = %q, %s, %d"):format(c, t2, st2, off2))
end
T.eq(X.answer_text("   "), "", "blank content: empty answer")
T.eq(select(3, X.answer_text(" \n 18 ")), 3, "offset of a trimmed answer")

-- strict right after extract takes its answer from extract's candidates: a
-- number right after the anchor, never a number word or a value picked from
-- an expression; a cut that depends on the question is not shared
local G = require "evals.gsm8k"
for _, c in ipairs({ { "So 9 * 2 = 18.\nThe answer is eighteen.", nil },
                     { "The answer is 3 * 6 = 18.", nil },
                     { "The answer is $\\boxed{18}$.", "18" },
                     { "#### 17\nThe answer is 18.", "18" },
                     { "The answer is 18.\n#### 19", "19" },
                     { "The answer is \\boxed{}.", nil },
                     { "The answer is unknown.", nil } }) do
    X.extract(c[1], { question = Q })
    T.eq(X.strict(c[1]), c[2], ("strict after extract: %q"):format(c[1]))
    T.eq(X.strict(c[1], { full = true }), c[2], ("strict alone: %q"):format(c[1]))
end
local rep = "9 * 2 = 18\nSo the result is 18.\n\n" .. Q .. "\n#### 5"
T.eq(X.extract(rep, { question = Q }), "18", "the repeated question and its answer are cut with the question")
T.eq(X.strict(rep), "5", "... strict (no question) still sees the #### 5")
local content = "<think>hm</think>\n9 * 2 = 18\nThe answer is 18."
T.eq(G.extract(content, { question = Q }), "18", "gsm8k.extract after <think>")
T.eq(G.strict(content), "18", "gsm8k.strict after gsm8k.extract, the same content")
T.eq(G.strict("The answer is 7."), "7", "gsm8k.strict on other content")

-- the question's head is that of the trimmed question (trailing spaces and
-- a short question)
local short = "How many eggs are left?"
local t = "9 * 2 = 18\nSo 18 eggs.\n" .. short .. " It says 4\n#### 4"
for _, q in ipairs({ short, short .. "   ", "  " .. short .. "\n", Q .. "  \n" }) do
    local a1, a2, a3 = X.cut_runon(t, q)
    local b1, b2, b3 = X.cut_runon(t, q, true)
    T.ok(a1 == b1 and a2 == b2 and a3 == b3, ("cut_runon with question %q: %q, %s"):format(q, a1,
        tostring(a3)))
end
local qsp = "  " .. Q .. "  "
local rq = "9 * 2 = 18\nSo the result is 18.\n\n" .. Q .. "\n#### 5"
T.eq(select(1, X.cut_runon(rq, qsp)), "9 * 2 = 18\nSo the result is 18.\n",
     "a question with spaces around is still found repeated")

-- gold: the text after the first "####", commas removed
T.eq(G.gold({ answer = "a\nb #### 1,234 \n" }), "1234", "gold with a comma")
T.eq(G.gold({ answer = "x #### 5 #### 6" }), "5 #### 6", "gold after the first ####")
T.eq(G.gold({ answer = "no marker" }), nil, "no gold without ####")
T.eq(G.gold({ answer = "####" }), "", "an empty gold")

T.done()
