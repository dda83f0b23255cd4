-- mmlu.lua: MMLU-STEM, 3,018 four-choice questions of 18 subjects; accuracy
-- overall and per subject. Letters: evals/mmlu.lua.
local mmlu = require "evals.mmlu"
local URL = "https://raw.githubusercontent.com/QwenLM/Qwen2.5-Math/a45202bd16f1ec06f433442dc1152d0074773465/"
return {
    name = "mmlu_stem",
    dataset = { url = URL .. "evaluation/data/mmlu_stem/test.jsonl", file = "mmlu_stem-test.jsonl",
                sha256 = "fd7c16f96067d285638abb5aaef9cd8a063b11454e14cb64df93141a58691478", shared = "mmlu_stem/test.jsonl" },
    group_by = "type",                 -- the subject
    metadata = { "type" },
    prompt = mmlu.prompt,
    extract = function(text, item) return mmlu.letter(text, item and #item.choices) end,
    gold = function(item) return mmlu.LETTERS[item.answer + 1] end,
    correct = function(answer, gold) return answer == gold end,
    id = function(item, index) return string.format("mmlu-%s-%04d", item.type, index) end,
}
