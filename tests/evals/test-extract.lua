-- tests/evals/test-extract.lua: answer extraction, one row per answer style:
-- { text, expected raw answer (nil = none), expected rule }.

local T = require "tests.lib.tap"
local X = require "evals.extract"
local N = require "evals.numeric"

local MINUS = "\226\136\146"

local rows = {
    -- markers -------------------------------------------------------------
    { "9 * 2 = 18\n#### 18", "18", "marker" },
    { "#### 18", "18", "marker" },
    { "####18", "18", "marker" },
    { "She earns $18.\n#### $18", "$18", "marker" },
    { "#### 1,234.50", "1,234.50", "marker" },
    { "#### $1,234.50", "$1,234.50", "marker" },
    { "#### -5", "-5", "marker" },
    { "#### " .. MINUS .. "5", MINUS .. "5", "marker" },
    { "#### 18 dollars", "18", "marker" },
    { "#### 18.", "18", "marker" },
    { "#### 0.5", "0.5", "marker" },
    { "#### .5", ".5", "marker" },
    { "#### 3/4", "3/4", "marker" },
    { "#### 25%", "25%", "marker" },
    { "#### **18**", "18", "marker" },
    { "#### \\boxed{18}", "18", "marker" },
    { "####\n18", "18", "marker" },
    { "First 12.\n#### 12\nWait, I made a mistake: 16 - 3 - 4 = 9, 9 * 2 = 18.\n#### 18",
      "18", "marker" },
    { "The examples end in #### 72 and #### 10. Ours: 16-3-4=9 eggs, 9*2=18.\n#### 18",
      "18", "marker" },
    -- a markdown heading is not a marker
    { "#### Step 1: eggs left\n16 - 3 - 4 = 9\n#### Step 2: money\n9 * 2 = 18 dollars",
      "18", "last_number" },
    -- a "#### Final answer" heading: its value is the next line
    { "#### Final answer\nJanet makes 18 dollars.", "18", "final_line" },
    { "End your answer with #### N.\n16-3-4 = 9, 9*2 = 18", "18", "last_number" },
    -- run-ons: made-up next problems after the answer are cut
    { "9 * 2 = 18\n#### 18\n\nQuestion: Tom has 3 apples and buys 4 more. How many?\n"
      .. "Answer: 3 + 4 = 7\n#### 7", "18", "marker" },
    { "The answer is 18.\n\nQ: A farmer has 5 cows. How many legs?\nA: 5 * 4 = 20. "
      .. "The answer is 20.", "18", "answer_is" },
    { "#### 18<|im_end|>\n#### 5", "18", "marker" },
    { "#### 18</s>Question: x\n#### 9", "18", "marker" },
    -- a restated question before any answer is not a run-on
    { "Let me restate.\nQuestion: Janet has 16 eggs, eats 3, bakes 4.\n"
      .. "16 - 3 - 4 = 9, 9 * 2 = 18\n#### 18", "18", "marker" },

    -- "The answer is" ----------------------------------------------------
    { "So the answer is 18.", "18", "answer_is" },
    { "The answer is 18", "18", "answer_is" },
    { "THE ANSWER IS 18.", "18", "answer_is" },
    { "The final answer is 18. I hope it is correct.", "18", "answer_is" },
    { "The final answer is $18.", "$18", "answer_is" },
    { "The final answer is $\\boxed{18}$.", "18", "answer_is" },
    { "The answer is: 42", "42", "answer_is" },
    { "The answer is **18**.", "18", "answer_is" },
    { "The answer is $1,080.", "$1,080", "answer_is" },
    { "The answer is -3.", "-3", "answer_is" },
    { "The answer is 3.75.", "3.75", "answer_is" },
    { "The answer is \\(\\frac{1}{2}\\).", "\\frac{1}{2}", "answer_is" },
    { "The answer is 3 * 6 = 18.", "18", "answer_is" },
    { "The answer is that she earns 18 dollars. Then she rests 2 days.", "18", "answer_is" },
    { "The answer is 20. Wait, that is wrong: 9 * 2 = 18. The answer is 18.",
      "18", "answer_is" },
    { "The answer is 18 dollars per day for 7 days.", "18", "answer_is" },
    { "Thus the answer is 5,000 meters.", "5,000", "answer_is" },
    { "Final answer is 64", "64", "answer_is" },
    { "She pays $5 for each of 3 items. The answer is 15", "15", "answer_is" },
    { "The answer is\n18", "18", "answer_is" },

    -- "Answer:" -----------------------------------------------------------
    { "16 - 3 - 4 = 9\n9 * 2 = 18\nAnswer: 18", "18", "answer_colon" },
    { "ANSWER: 18", "18", "answer_colon" },
    { "Answer: $18", "$18", "answer_colon" },
    { "Answer: 3 * 6 = 18", "18", "answer_colon" },
    { "Answer: She makes $18 every day.", "$18", "answer_colon" },
    { "**Answer:** 18", "18", "answer_colon" },
    { "**Answer**: 18", "18", "answer_colon" },
    { "Answer: \\boxed{18}", "18", "answer_colon" },
    { "Answer: -7", "-7", "answer_colon" },
    { "Answer: 1,000,000", "1,000,000", "answer_colon" },
    { "She makes 9 * 2 = $<<9*2=18>>18 every day.\nA: 18", "18", "answer_colon" },
    { "A: 90,000", "90,000", "answer_colon" },
    { "A: -1.8 billion", "-1.8 billion", "answer_colon" },
    { "Q: What is 2+2?\nA: Let's think. 2 + 2 = 4. The answer is 4.", "4", "answer_is" },
    { "Answer: 18\n\nExplanation: 16 - 3 - 4 = 9 eggs, 9 * 2.", "18", "answer_colon" },

    -- \boxed ----------------------------------------------------------------
    { "So she makes $\\boxed{18}$ dollars.", "18", "boxed" },
    { "\\boxed{18}", "18", "boxed" },
    { "\\boxed{\\$18}", "\\$18", "boxed" },
    { "\\boxed{18 \\text{ dollars}}", "18 \\text{ dollars}", "boxed" },
    { "\\boxed{1,234}", "1,234", "boxed" },
    { "\\boxed{\\frac{1}{2}}", "\\frac{1}{2}", "boxed" },
    { "\\boxed{\\dfrac{3}{4}}", "\\dfrac{3}{4}", "boxed" },
    { "\\boxed{70,000}", "70,000", "boxed" },
    { "is $\\boxed{11,\\! 111,\\! 111,\\! 100}$", "11,\\! 111,\\! 111,\\! 100", "boxed" },
    { "\\fbox{42}", "42", "boxed" },
    { "\\boxed { 18 }", "18", "boxed" },
    { "First try \\boxed{20}. Recheck: 9*2=18, so \\boxed{18}.", "18", "boxed" },
    { "\\boxed{840}.,but let me explain. **Final Answer** \\boxed{840}", "840", "boxed" },
    { "\\[\n\\boxed{-12}\n\\]", "-12", "boxed" },
    { "Thus, Janet makes \\(\\boxed{18}\\) dollars every day.", "18", "boxed" },
    { "$\\boxed{28}$ pct", "28", "boxed" },
    { "The answer is 20.\n\nActually \\boxed{18}", "18", "boxed" },
    { "\\boxed{18}\n\nSo the answer is 18.", "18", "answer_is" },

    -- "Final answer:" ---------------------------------------------------------
    { "Final answer: 18", "18", "final_line" },
    { "**Final Answer:** 18", "18", "final_line" },
    { "**Final Answer:** $1,234.50", "$1,234.50", "final_line" },
    { "**Final Answer**\n\n18", "18", "final_line" },
    { "### Final Answer\n$18$", "$18", "final_line" },
    { "Final Answer: The largest $n$ is 34.", "34", "final_line" },
    { "FINAL ANSWER: 7", "7", "final_line" },
    { "Final answer: 3 * 6 = 18", "18", "final_line" },
    { "**Final Answer:** \\boxed{18}", "18", "boxed" },      -- tie: boxed ranks higher

    -- bold -------------------------------------------------------------------
    { "So Janet makes **$18** every day.", "$18", "bold" },
    { "She makes **18 dollars**.", "18", "bold" },
    { "**Total: 18**", "18", "bold" },
    { "**$1,234.50**", "$1,234.50", "bold" },
    { "Step 1: **9** eggs. Step 2: 9 * 2 = 18.", "18", "last_number" },
    { "**Step 1:** 16 - 3 - 4 = 9.\n**Step 2:** 9 * 2 = 18.\n\nSo she makes **$18**.",
      "$18", "bold" },
    { "The answer is 20.\nOn second thought: **18**", "18", "bold" },

    -- thinking-model output (after split_reasoning) ------------------------------
    { "Okay, let me see. 16 - 3 = 13, 13 - 4 = 9. 9 * 2 = 18. Yes.\n\n"
      .. "Janet makes $18 every day at the farmers' market.", "$18", "last_number" },
    { "**Solution**\n\n1. Eggs left: 16 - 3 - 4 = 9\n2. Money: 9 × $2 = $18\n\n"
      .. "**Answer:** Janet makes **$18** per day.", "$18", "answer_colon" },

    -- last number -------------------------------------------------------------------
    { "She makes 18", "18", "last_number" },
    { "16 - 3 - 4 = 9 eggs, 9 * 2 = 18 dollars.", "18", "last_number" },
    { "It costs $1,234.50.", "$1,234.50", "last_number" },
    { "The temperature is -5 degrees.", "-5", "last_number" },
    { "The change is " .. MINUS .. "5.", MINUS .. "5", "last_number" },
    { "So 10-4", "4", "last_number" },
    { "That is 28% of the total", "28%", "last_number" },
    { "She drinks .5 liters", ".5", "last_number" },
    { "He ran 3.25 miles.", "3.25", "last_number" },
    { "She uses 1/2 cup", "1/2", "last_number" },
    { "The total is 1,000.99\226\130\172", "1,000.99", "last_number" },
    { "so the number is 10 which is 1,000.99m\194\178", "1,000.99", "last_number" },
    { "AZYUK2A", nil, "no_answer" },
    { "I need 5 cups of H2O", "5", "last_number" },
    { "The cost is \\$18.", "\\$18", "last_number" },
    { "total: -$5", "-$5", "last_number" },
    { "calc <<48/2=24>>24 clips", "24", "last_number" },
    { "", nil, "no_answer" },
    { "I don't know.", nil, "no_answer" },
    { "The answer is unknown.", nil, "not_a_number" },
    { "The answer is unknown, but 5 is close.", "5", "answer_is" },

    -- priority: the last anchored answer wins; two different final answers
    -- with nothing between them (no working, no correction) are a conflict
    { "#### 18\nThe answer is 18.", "18", "answer_is" },
    { "The answer is 18.\n#### 18", "18", "marker" },
    { "\\boxed{5}\n#### 18", nil, "conflict" },
    { "#### 5\n\\boxed{18}", nil, "conflict" },
    { "Answer: 5\nThe answer is 18", nil, "conflict" },
    { "The answer is 18.\nAnswer: 5 apples were eaten before.", nil, "conflict" },
    { "#### 5\nWait, 9 * 2 = 18.\n\\boxed{18}", "18", "boxed" },
    { "#### 18\n(She sold 9 eggs at $2 each.)", "18", "marker" },
}

for i, r in ipairs(rows) do
    local text, want, want_rule = r[1], r[2], r[3]
    local got, rule = X.extract(text)
    local label = ("row %d %q"):format(i, #text > 50 and text:sub(1, 47) .. "..." or text)
    label = label:gsub("\\\n", "\\n")
    if T.eq(got, want, label .. " answer") then
        T.eq(rule, want_rule, label .. " rule")
    end
end
T.ok(#rows >= 100, ("at least 100 extraction rows (%d)"):format(#rows))

-- every extracted answer in the table is a number the grader understands
for i, r in ipairs(rows) do
    if r[2] then T.ok(N.normalize(r[2]) ~= nil, ("row %d answer normalises"):format(i)) end
end

-- strict: "#### N" and "The answer is N" only, number right after the anchor
local strict_rows = {
    { "#### 18", "18" },
    { "The answer is 18.", "18" },
    { "The final answer is 18", "18" },
    { "#### 5\n#### 18", "18" },
    { "#### 18\nQuestion: new problem\n#### 5", "18" },
    { "\\boxed{18}", nil },
    { "Answer: 18", nil },
    { "The answer is 3 * 6 = 18.", nil },
    { "She makes 18 dollars.", nil },
    { "The answer is $18.", "$18" },
    { "#### Step 1\n16", nil },
}
for i, r in ipairs(strict_rows) do
    T.eq(X.strict(r[1]), r[2], (("strict row %d %q"):format(i, r[1]):gsub("\\\n", "\\n")))
end

-- split_reasoning
local function split(c, t) return { X.split_reasoning(c, t) } end
local s = split("<think>16-3-4=9 #### 5</think>\n\n#### 18")
T.eq(s[1], "#### 18", "closed think: answer after it")
T.eq(s[2], "16-3-4=9 #### 5", "closed think: reasoning inside it")
T.eq(s[3], "ok", "closed think: status ok")
s = split("<think>let me see, #### 72 in the example...")
T.eq(s[1], "", "unclosed think: no answer text")
T.eq(s[3], "unclosed", "unclosed think: status")
T.eq(s[2], "let me see, #### 72 in the example...", "unclosed think: reasoning kept")
s = split("pre-filled thoughts #### 5\n</think>\n\nJanet makes $18.")
T.eq(s[1], "Janet makes $18.", "bare </think>: text after it")
T.eq(s[2], "pre-filled thoughts #### 5\n", "bare </think>: reasoning before it")
s = split("<think>a</think>x<think>b</think>#### 18")
T.eq(s[1], "#### 18", "two think blocks: after the last")
s = split("<think>a</think>#### 5\n<think>more thoughts")
T.eq(s[3], "unclosed", "a think reopened at the end is unclosed")
s = split("#### 18", "16 - 3 - 4 = 9")
T.eq(s[1], "#### 18", "thinking field: content is the answer")
T.eq(s[2], "16 - 3 - 4 = 9", "thinking field: returned as reasoning")
T.eq(s[3], "ok", "thinking field: status")
s = split(nil, "thought")
T.eq(s[1], "", "nil content is empty")
s = split("  #### 18  ")
T.eq(s[1], "#### 18", "plain content trimmed")
T.eq(s[2], nil, "plain content: no reasoning")
s = split("<think>\n\n</think>\n\nThe answer is 7.")
T.eq(s[1], "The answer is 7.", "empty think block")
T.eq(X.extract(X.split_reasoning("<think>The answer is 5</think>The answer is 18")),
     "18", "answer outside the think block wins")

-- robustness: random token soup never raises and answers are non-empty
local P = require "evals.template"
local TOKENS = { "####", " ", "\n", "The answer is", "answer", "Answer:", "A:", "\\boxed{",
                 "}", "{", "**", "$", "\\$", "-", MINUS, "1", "23", ",", ".", "/", "%",
                 "\\frac", "<think>", "</think>", "Question:", "\nQ:", "final", "=", "*",
                 "x", "\\text{", "\\(", "\\)", "\226\128\137", "\195\151", "(", ")" }
local rng, raised, empty = P.rng(2024), 0, 0
for _ = 1, 5000 do
    local parts = {}
    for k = 1, rng:int(30) do parts[k] = TOKENS[rng:int(#TOKENS)] end
    local text = table.concat(parts)
    local ok, answer = pcall(function()
        X.strict(text)
        return X.extract((X.split_reasoning(text)))
    end)
    if not ok then
        raised = raised + 1
        if raised == 1 then T.diag(("raised on %q: %s"):format(text, answer)) end
    elseif answer == "" then
        empty = empty + 1
    end
end
T.eq(raised, 0, "5,000 random texts: extract and strict never raise")
T.eq(empty, 0, "5,000 random texts: no empty answers")

-- degenerate (looping) responses stay linear: 100 KB takes ~0.2 s, where a
-- quadratic scan took ~25 s. The bound is loose for sanitizer builds; no
-- timing under valgrind.
local timing = (os.getenv("OLLAEVAL_VALGRIND") or "") == ""
for _, unit in ipairs({ "Answer: y ", "answer is ", "\\boxed{", "#### 5 ", "\nQ" }) do
    local text = string.rep(unit, 100000 // #unit)
    local t0 = os.clock()
    X.extract(text)
    X.strict(text)
    local dt = os.clock() - t0
    T.ok(not timing or dt < 5, (("looping %q x %d: %.3f s"):format(unit, 100000 // #unit, dt)
                                :gsub("\\\n", "\\n")))
end

-- programmer errors raise
T.ok(not pcall(X.extract, nil), "extract(nil) raises")
T.ok(not pcall(X.extract, 18), "extract(number) raises")
T.ok(not pcall(X.split_reasoning, {}), "split_reasoning(table) raises")

T.done()
