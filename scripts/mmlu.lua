-- mmlu.lua: MMLU-STEM, 3,018 four-choice questions of 18 subjects; accuracy
-- overall and per subject.
--   ollaeval scripts/mmlu.lua -m qwen3:8b [--limit 200]
local mmlu = require "evals.mmlu"

return {
    name = "mmlu_stem",
    version = "1",
    dataset = {
        url = "https://raw.githubusercontent.com/QwenLM/Qwen2.5-Math/a45202bd16f1ec06f433442dc1152d0074773465/"
              .. "evaluation/data/mmlu_stem/test.jsonl",
        sha256 = "fd7c16f96067d285638abb5aaef9cd8a063b11454e14cb64df93141a58691478",
        file = "mmlu_stem-test.jsonl", shared = "mmlu_stem/test.jsonl",
    },
    group_by = "type",                 -- the subject
    metadata = { "type" },

    prompt = function(item)
        return { { role = "user", content = string.format(
            "The following is a multiple choice question about %s.\n\n%s\n\n%s\n\n"
            .. "Answer with the letter of the correct choice, ending with \"Answer: X\".",
            item.type:gsub("_", " "), item.question, mmlu.choices(item.choices)) } }
    end,
    extract = function(text, item) return mmlu.letter(text, #item.choices) end,
    gold = function(item) return mmlu.LETTERS[item.answer + 1] end,
    correct = function(answer, gold) return answer == gold end,
    id = function(item, index) return string.format("mmlu-%s-%04d", item.type, index) end,
}
