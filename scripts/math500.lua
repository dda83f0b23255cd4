-- math500.lua: MATH-500 (the 500 MATH test problems of "Let's Verify Step by
-- Step"): the last \boxed{} answer compared as LaTeX (evals/math.lua,
-- evals/latex.lua); accuracy per subject.
local math_answer = require "evals.math"
return {
    name = "math500",
    dataset = { sha256 = "35dc41080a3680858b27fa7e0533d2d547825316fc5dafe5d316f4ccc5a06132",  -- Git LFS, by its media URL
                url = "https://media.githubusercontent.com/media/openai/prm800k/7ecc794703b2877f63226f2477a49b34f9b25163/"
                      .. "prm800k/math_splits/test.jsonl", file = "math500-test.jsonl", shared = "math500/test.jsonl" },
    group_by = "subject",
    metadata = { "subject", "level" },
    prompt = function(item)
        return { { role = "user", content = item.problem
            .. "\n\nPlease reason step by step, and put your final answer within \\boxed{}." } }
    end,
    extract = math_answer.extract,
    gold = function(item) return item.answer end,
    correct = math_answer.equal,
    id = function(item) return item.unique_id end,
}
