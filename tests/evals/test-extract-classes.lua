-- tests/evals/test-extract-classes.lua: the answer styles of issue 16, one
-- block per class, each with several surface forms, right and wrong, and the
-- look-alikes that must not change. Rows: { text, answer (nil = none),
-- rule or reason, q = question (optional), gold = for a grading check }.
-- Every answer's span must be the answer: text:sub(s, e) == answer.

local T = require "tests.lib.tap"
local X = require "evals.extract"
local N = require "evals.numeric"
local gsm8k = require "evals.gsm8k"

local Q_SAVE = "Mia earns $5,000 a week and saves all of it. How many weeks does she need "
    .. "to save the down payment of $10,000?"
local Q_SPEAK = "Sam speaks 5 pages in 6 minutes. How many minutes does he need to speak 10 pages?"
local Q_FARM = "A farm has 20 animals, sheep and geese, and 3 times as many sheep as geese. "
    .. "How many geese are there?"
local Q_SHEEP = "A farm has 20 animals, sheep and geese, and 3 times as many sheep as geese. "
    .. "How many sheep are there?"
local Q_ROBE = "A robe takes 2 bolts of blue fiber and half that much white fiber. "
    .. "How many bolts in total does it take?"

local classes = {
    ["1 restated given after the answer"] = {
        { "She saves $5,000 a week, so 10000 / 5000 = 2.\nSo she needs 2 weeks to save the "
          .. "down payment of $10,000.", "2", "conclusion", q = Q_SAVE, gold = "2" },
        { "10000 / 5000 = 2.\nSo she needs 2 weeks to save the down payment of $10,000.",
          "2", "conclusion", gold = "2" },          -- no question: the last result
        { "6 / 5 = 1.2 minutes per page, 1.2 * 10 = 12.\nIt takes 12 minutes to speak 10 pages.",
          "12", "conclusion", q = Q_SPEAK, gold = "12" },
        { "1.2 * 10 = 12.\nHe needs 12 minutes to speak 10 pages.", "12", "conclusion" },
        { "1.2 * 10 = 12.\nHe needs 13 minutes to speak 10 pages.", "13", "conclusion",
          q = Q_SPEAK, gold = "12" },               -- wrong answer stays wrong
        -- look-alikes: a given restated before the answer; one number only
        { "To save the down payment of $10,000 she needs 2 weeks.", "2", "last_number",
          q = Q_SAVE },
        { "For 10 pages he needs 12 minutes.", "12", "last_number", q = Q_SPEAK },
        { "She needs 2 weeks.", "2", "last_number" },
    },
    ["2 structured answers"] = {
        { '{"reasoning": "5 * 24 = 120", "answer": "120"}', "120", "json", gold = "120" },
        { '```json\n{\n  "reasoning": "5 * 24 = 120",\n  "answer": 120\n}\n```', "120", "json" },
        { '{"steps": ["16 - 3 - 4 = 9", "9 * 2 = 18"], "final_answer": "$18"}', "$18", "json" },
        { '{"Answer": "18 dollars"}', "18 dollars", "json" },
        { '{"reasoning": "we have 16 - 3 - 4 = 9 eggs", "answer": "Janet makes $18 a day"}',
          "$18", "json" },
        { '{"reasoning": "16 - 3 - 4 = 9 eggs at $2", "answer": "Cannot be determined"}', nil,
          "not_a_number" },
        { '{"reasoning": "9 * 2 = 18", "answer": "unknown"}', nil, "not_a_number" },
        { '{"reasoning": "9 * 2 = 18", "answer": null}', nil, "not_a_number" },
        { '```json\n{"answer": "120"}\n```\nThe final answer is 150.', nil, "conflict" },
        { '{"answer": "120"}\nThe final answer is 120.', "120", "answer_is" },
        -- look-alike: a number in a reasoning field is not an answer field
        { '{"reasoning": "9 * 2 = 18"}', "18", "last_number" },
    },
    ["3 two different final answers"] = {
        { "9 * 2 = 18\nAnswer: 18\nThe final answer is 20.", nil, "conflict" },
        { "#### 18\n\n**Final Answer:** 20", nil, "conflict" },
        { "\\boxed{18}\nThe answer is 19.", nil, "conflict" },
        { "16 - 3 - 4 = 9\n9 * 2 = 18\nAnswer: 20", nil, "conflict" },
        { "She makes 9 * 2 = $18 every day\nA: 20", nil, "conflict" },
        -- look-alikes: self-corrections, the same answer twice, a rounded result
        { "Answer: 20\nWait, I made a mistake: 9 * 2 = 18.\nAnswer: 18", "18", "answer_colon" },
        { "The answer is 20. Actually, the answer is 18.", "18", "answer_is" },
        { "\\boxed{20}\nLet me recheck. 16 - 3 - 4 = 9, 9 * 2 = 18.\n\\boxed{18}", "18", "boxed" },
        { "#### 18\nThe answer is 18.", "18", "answer_is" },
        { "She needs 580 / 110 = 5.27 bags\nA: 5", "5", "answer_colon" },
        { "each wash costs 24/240 = $0.10\nFinal answer: 10", "10", "final_line" }, -- cents
        { "It takes 90 / 45 = 2 hours\n#### 120", "120", "marker" },              -- minutes
        { "She makes 9 * 2 = 18 dollars\nA: 18", "18", "answer_colon" },
        { "16 feet * 2 = 32 feet. This is taller than the window, so it took three days.\n"
          .. "#### 3", "3", "marker", gold = "3" },   -- the line goes on past its result
    },
    ["4 cut off mid-working"] = {
        { "16 - 3 - 4 = 9 eggs.\nShe makes 9 * 2 =", nil, "truncated", gold = "18" },
        { "16 - 3 - 4 = 9 eggs.\nShe makes 9 * 2 = $<<9*2=18", nil, "truncated" },
        { "16 - 3 - 4 = 9 eggs.\nSo the price will be $9 + $9.", nil, "truncated" },
        { "16 - 3 - 4 = 9 eggs, and 9 * 2 = 18 dollars, which is the", nil, "truncated" },
        { "First, 16 - 3 - 4 = 9. Then 9 \195\151", nil, "truncated" },
        { "She makes \\(9 \\times 2 = 18", nil, "truncated" },
        { "40 / 2 = 20 shirts.\n30 - 20 = 10 more shirts with no", nil, "truncated" },
        { "2 * 270 = 540 kilograms.\n540 * 2 = 1080 kilograms of meat.\nThe answer", nil,
          "truncated", gold = "1080" },
        -- look-alikes: complete endings without punctuation
        { "16 - 3 - 4 = 9\nShe makes $18 a day at the farmers' market", "$18", "last_number" },
        { "16 - 3 - 4 = 9 eggs, 9 * 2 = 18", "18", "last_number" },
        { "So she makes **$18**", "$18", "bold" },
        { "3 * 2 = 6, so the pens cost $6 each", "$6", "last_number" },
    },
    ["5 run-on text after the answer"] = {
        { "9 * 2 = 18\nThe answer is 18.\n\nUser: Thanks! Now: Tom has 3 apples and buys 4.\n"
          .. "Assistant: 3 + 4 = 7. The answer is 7.", "18", "answer_is" },
        { "9 * 2 = 18. So she makes $18.\nHuman: what about 5 eggs?\nAssistant: 5 * 2 = 10",
          "$18", "last_number" },
        { "#### 18<|im_start|>user\nNext one. #### 7", "18", "marker" },
        { "9 * 2 = 18 dollars.\nProblem: A train goes 60 miles in 2 hours. 60 / 2 = 30.",
          "18", "last_number" },
        { "9 * 2 = 18, so she makes $18 a day.\n\nJanet's ducks lay 16 eggs per day. How much "
          .. "does she make every day?", "$18", "last_number" },
        { "9 * 2 = 18, so she makes $18 a day.\n\nSam speaks 5 pages in 6 minutes. How many "
          .. "minutes does he need to speak 10 pages?", "$18", "last_number", q = Q_SPEAK },
        -- look-alikes: the question restated before the working stays
        { "Question: Janet has 16 eggs, eats 3 and bakes 4.\n16 - 3 - 4 = 9, 9 * 2 = 18\n#### 18",
          "18", "marker" },
        { "Sam speaks 5 pages in 6 minutes. How many minutes does he need to speak 10 pages?\n"
          .. "6 / 5 * 10 = 12\n#### 12", "12", "marker", q = Q_SPEAK },
        { "9 * 2 = 18. Is that right? Yes: she makes 18 dollars.", "18", "last_number" },
    },
    ["6 headings, labels, clock times, units"] = {
        { "16 - 3 - 4 = 9\n9 * 2 = 18\n\n### Final Answer:\nJanet makes $18 every day.",
          "$18", "final_line" },
        { "### Final Answer\n\nShe sells 9 eggs and makes $18.", "$18", "final_line" },
        { "**Final Answer**\nJanet makes $18 every day from her 16 eggs.", "$18", "final_line",
          q = "Janet's ducks lay 16 eggs. How much does she make?" },
        { "He leaves at 11:00 am and drives 3 hours.\n#### 2:00 pm", "2:00 pm", "marker",
          gold = "2" },
        { "The answer is 2:30.", "2:30", "answer_is", gold = "2.5" },
        { "He arrives at 2:00 pm.", "2:00 pm", "last_number", gold = "2" },
        { "The class runs from 1:30 pm to 2:45 pm.", "2:45 pm", "last_number", gold = "2.75" },
        -- look-alikes: a unit the question asks for; a plain answer line
        { "Answer: 18 dollars", "18", "answer_colon", gold = "18" },
        { "The answer is 5 km.", "5", "answer_is", gold = "5" },
        { "#### 12 minutes", "12", "marker", gold = "12" },
        { "Final answer: 18", "18", "final_line" },
    },
    ["7 several quantities"] = {
        { "Answer: 45,27", nil, "several" },
        { "The answer is 45, 27.", nil, "several" },
        { "#### 18, 19", nil, "several" },
        { "The answer is 15 sheep and 5 geese.", "5", "answer_is", q = Q_FARM, gold = "5" },
        { "The answer is 15 sheep and 5 geese.", "15", "answer_is", q = Q_SHEEP, gold = "15" },
        { "The answer is 15 sheep and 5 geese.", nil, "several" },
        { "Answer: 3 bolts of blue and 1.5 of white", nil, "several", q = Q_ROBE, gold = "3" },
        { "Answer: 18 and 19", nil, "several" },
        { "Answer: 3 bolts of blue and 1.5 bolts of white", nil, "several", q = Q_ROBE },
        -- look-alikes: thousands commas, a comma after the answer, one measure
        { "Answer: 45,270", "45,270", "answer_colon", gold = "45270" },
        { "The answer is 1,234,567.", "1,234,567", "answer_is" },
        { "Answer: 18, which she earns daily", "18", "answer_colon" },
        { "The answer is 2 hours and 30 minutes.", "2", "answer_is" },
    },
    ["8 number forms"] = {
        { "The answer is 2^10.", "2^10", "answer_is", gold = "1024" },
        { "#### 1.5 x 10^6", "1.5 x 10^6", "marker", gold = "1500000" },
        { "The answer is $1.5 \\times 10^{6}$.", "$1.5 \\times 10^{6}", "answer_is",
          gold = "1500000" },
        { "Answer: 3e5", "3e5", "answer_colon", gold = "300000" },
        { "Answer: 2.5 million", "2.5 million", "answer_colon", gold = "2500000" },
        { "The answer is eighteen.", "eighteen", "answer_is", gold = "18" },
        { "The answer is one of the two: 9 * 2 = 18.", "18", "answer_is" },
        { "The answer is two and a half thousand.", "two and a half thousand", "answer_is",
          gold = "2500" },
        { "The population grows to 2.5 million", "2.5 million", "last_number", gold = "2500000" },
        { "Answer: about 18 or 19", nil, "hedged" },
        { "The answer is between 18 and 20.", nil, "hedged" },
        { "She makes about 18 or 19 dollars.", nil, "hedged" },
        { "Answer: 18 to 20 dollars", nil, "hedged" },
        { "Answer: roughly 18-19", nil, "hedged" },
        -- look-alikes: an approximate but committed answer; "from X to Y"
        { "Answer: about 18", "18", "answer_colon" },
        { "The answer is approximately 3.14.", "3.14", "answer_is" },
        { "Her savings grew from $500 to $800.", "$800", "last_number" },
        { "Answer: 18 or so", "18", "answer_colon" },
    },
}

local names = {}
for k in pairs(classes) do names[#names + 1] = k end
table.sort(names)
for _, name in ipairs(names) do
    local rows = classes[name]
    T.ok(#rows >= 8, ("%s: %d fixtures"):format(name, #rows))
    for i, r in ipairs(rows) do
        local text, want, want_rule = r[1], r[2], r[3]
        local got, rule, s, e = X.extract(text, { question = r.q })
        local label = (("%s row %d %q"):format(name, i, #text > 40 and text:sub(1, 37) .. "..."
                       or text)):gsub("\\\n", "\\n")
        if T.eq(got, want, label .. " answer") then
            T.eq(rule, want_rule, label .. " rule")
            if want then
                T.eq(text:sub(s or 0, e or -1), want, label .. " span")
                T.ok(N.normalize(want) ~= nil, label .. " normalises")
            end
        end
        if r.gold then
            local ok = got ~= nil and N.equal(got, r.gold)
            T.eq(ok, want ~= nil and N.equal(want, r.gold), label .. " grades against " .. r.gold)
        end
    end
end

-- the trace: every candidate with its span; the winner and the reason
local tr = {}
local a = X.extract("#### 18\nThe final answer is 20.", { trace = tr })
T.eq(a, nil, "trace: conflict gives no answer")
T.eq(tr.reason, "conflict", "trace: reason")
T.eq(#tr.candidates, 2, "trace: both candidates")
T.eq(tr.candidates[tr.winner].raw, "20", "trace: the winner is the last one")
tr = {}
X.extract("9 * 2 = 18\n#### 18\n\nQuestion: Tom has 3 apples. 3 + 4 = 7\n#### 7", { trace = tr })
T.ok(tr.cut and tr.cut.why:find("new problem", 1, true), "trace: the run-on cut and why")

-- spans through gsm8k.extract are positions in the original content
local content = "<think>\nThe examples say #### 5.\n</think>\n\nShe makes 9 * 2 = 18.\n#### 18"
local ans, rule, s, e = gsm8k.extract(content)
T.eq(ans, "18", "gsm8k.extract after a think block")
T.eq(content:sub(s, e), "18", "gsm8k.extract span is in the content")
T.eq(s, #content - 1, "gsm8k.extract span start")
T.eq(select(2, gsm8k.extract("Answer: 3 bolts of blue and 1.5 of white", { question = Q_ROBE })),
     "several", "gsm8k.extract passes the item's question")

T.done()
