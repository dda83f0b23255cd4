-- gsm8k.lua: GSM8K, 1,319 grade-school math problems, as one suite file.
--   ollaeval scripts/gsm8k.lua -m qwen3:8b                 # all of it
--   ollaeval scripts/gsm8k.lua -m qwen3:8b --limit 50 -c 8 # a quick look
--   ollaeval scripts/gsm8k.lua --help                      # every option
-- Prompt: reason step by step, last line "#### N"; --shots K adds K worked
-- examples from the train split (the same for every item). Grading: the
-- answer (evals/gsm8k.lua, evals/extract.lua) compared as a number
-- (evals/numeric.lua). The runner does the rest (docs/suites.md).
local lib = require "evals.gsm8k"        -- GSM8K's answer extraction (evals/extract.lua)
local numeric = require "evals.numeric"
local template = require "evals.template"

local BASE = "https://raw.githubusercontent.com/openai/grade-school-math/master/grade_school_math/data/"
local ASK = "Solve the following math problem step by step. At the end, write the final answer on its own "
    .. "line in the form \"#### N\", where N is just the number.\n\n"

return {
    name = "gsm8k",
    version = "2", -- 2: graded by the current extraction rules (conflict, truncated, JSON, ...)
    dataset = { url = BASE .. "test.jsonl", file = "test.jsonl", shared = "gsm8k/test.jsonl",
                sha256 = "3730d312f6e3440559ace48831e51066acaca737f6eabec99bccb9e4b3c39d14" },
    train = { url = BASE .. "train.jsonl", file = "train.jsonl", shared = "gsm8k/train.jsonl",
              sha256 = "17f347dc51477c50d4efb83959dbb7c56297aba886e5544ee2aaed3024813465" },

    prompt = function(item, ctx)
        local msgs = {}
        for _, ex in ipairs(template.fewshot(ctx.fewshot_pool or {}, ctx.shots, ctx.seed)) do
            msgs[#msgs + 1] = { role = "user", content = ASK .. ex.question }
            msgs[#msgs + 1] = { role = "assistant", content = (ex.answer:gsub("<<[^>]*>>", "")) }
        end
        msgs[#msgs + 1] = { role = "user", content = ASK .. (item.question or error("missing field 'question'")) }
        return msgs
    end,
    extract = lib.extract,             -- (text, item): the last anchored answer, else the concluding number
    strict = lib.strict,               -- the "#### N" line only
    gold = function(item)              -- after "####" (found plainly: an unanchored pattern tries every byte)
        local a = item.answer:find("####", 1, true)
        local g = a and item.answer:match("^####%s*(.-)%s*$", a)
        return g and (g:gsub(",", ""))
    end,
    correct = numeric.equal,
    id = function(_, index) return string.format("gsm8k-test-%04d", index) end,
}
