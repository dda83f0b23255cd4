-- math500.lua: MATH-500, the 500 MATH test problems of "Let's Verify Step by
-- Step"; the last \boxed{} answer (else an anchored expression) compared
-- with the gold answer as LaTeX (evals/latex.lua); accuracy per subject.
--   ollaeval scripts/math500.lua -m qwen3:8b
local latex = require "evals.latex"

local LAST_LINE = { { "####%s*(.-)", "marker" }, { "%*%*(.-)%*%*", "bold" },
                    { "[Ff]inal [Aa]nswer:%s*(.-)", "final_line" }, { "[Tt]he answer is:?%s*(.-)", "answer_is" } }

return {
    name = "math500",
    version = "1",
    dataset = {
        -- openai/prm800k keeps the file in Git LFS: this is its media URL
        url = "https://media.githubusercontent.com/media/openai/prm800k/7ecc794703b2877f63226f2477a49b34f9b25163/"
              .. "prm800k/math_splits/test.jsonl",
        sha256 = "35dc41080a3680858b27fa7e0533d2d547825316fc5dafe5d316f4ccc5a06132",
        file = "math500-test.jsonl", shared = "math500/test.jsonl",
    },
    group_by = "subject",
    metadata = { "subject", "level" },

    prompt = function(item)
        return { { role = "user", content = item.problem
            .. "\n\nPlease reason step by step, and put your final answer within \\boxed{}." } }
    end,
    extract = function(text)
        local a, rule = latex.extract(text)
        if a and rule ~= "last_number" then return a, rule end
        local last = text:match("([^\n]*)%s*$")          -- "#### X", "**X**", "Final answer: X" lines
        for _, r in ipairs(LAST_LINE) do
            local m = last:match("^%s*" .. r[1] .. "%.?%s*$")
            if m and m ~= "" then return m, r[2] end
        end
        return a, rule
    end,
    gold = function(item) return item.answer end,
    correct = function(answer, gold) return latex.equal(answer, gold) end,
    id = function(item) return item.unique_id end,
}
