-- evals/gsm8k.lua: GSM8K (grade-school math, 1,319 test problems) as a
-- library: the suite file is scripts/gsm8k.lua, which takes its extract and
-- strict from here; bench/ and the tests use the rest. Prompt:
-- zero-shot, reason step by step, last line "#### N"; `shots = K` adds K
-- worked examples from the train split as chat turns, the same K for every
-- item (fixed seed), so a sharded or resumed run sees identical prompts.
-- Grading: extract.lua finds the answer (last anchored answer, else the last
-- number), numeric.lua compares it with the gold number.

local extract = require "evals.extract"
local numeric = require "evals.numeric"
local template = require "evals.template"

local find, format, gsub, match = string.find, string.format, string.gsub, string.match
local type, ipairs, error, setmetatable = type, ipairs, error, setmetatable

local M = {
    name = "gsm8k",
    version = "2", -- 2: graded by the current extraction rules (conflict, truncated, JSON, ...)
    dataset = {
        url = "https://raw.githubusercontent.com/openai/grade-school-math/master/"
              .. "grade_school_math/data/test.jsonl",
        sha256 = "3730d312f6e3440559ace48831e51066acaca737f6eabec99bccb9e4b3c39d14",
        file = "test.jsonl",
        shared = "gsm8k/test.jsonl",
    },
    train = {
        url = "https://raw.githubusercontent.com/openai/grade-school-math/master/"
              .. "grade_school_math/data/train.jsonl",
        sha256 = "17f347dc51477c50d4efb83959dbb7c56297aba886e5544ee2aaed3024813465",
        file = "train.jsonl",
        shared = "gsm8k/train.jsonl",
    },
    -- the runner offers --shots already; declared here so the suite stands
    -- alone. The few-shot seed is the engine's --seed (opts.seed).
    options = {
        { name = "shots", type = "integer", default = 0, min = 0,
          help = "few-shot examples from the train split" },
    },
}

local INSTRUCTION = "Solve the following math problem step by step. "
    .. "At the end, write the final answer on its own line in the form "
    .. "\"#### N\", where N is just the number.\n\n"

local USER = INSTRUCTION .. "{{question}}"


-- A train solution as a worked example: "<<48/2=24>>" calculator notes go.
local function worked(item)
    return { question = item.question,
             answer = (gsub(item.answer, "<<[^>]*>>", "")) }
end


local shot_cache = setmetatable({}, { __mode = "k" })  -- pool -> {key -> shots}

local function shots_for(pool, k, seed)
    local per_pool = shot_cache[pool]
    if not per_pool then per_pool = {}; shot_cache[pool] = per_pool end
    local key = k .. ":" .. seed
    if not per_pool[key] then
        local picked = template.fewshot(pool, k, seed)
        for i, ex in ipairs(picked) do picked[i] = worked(ex) end
        per_pool[key] = picked
    end
    return per_pool[key]
end


-- prompt(item, opts) -> chat messages. opts.shots, opts.fewshot_pool (train
-- items), opts.seed.
function M.prompt(item, opts)
    opts = opts or {}
    local k = opts.shots or 0
    local spec = { user = USER }
    if k > 0 then
        if type(opts.fewshot_pool) ~= "table" then
            error("gsm8k.prompt: shots > 0 needs opts.fewshot_pool (train items)", 2)
        end
        spec.fewshot = { examples = shots_for(opts.fewshot_pool, k, opts.seed or 1234),
                         assistant = "{{answer}}", mode = "multiturn" }
    end
    local msgs, err = template.messages(spec, item)
    if not msgs then error("gsm8k.prompt: " .. err, 2) end
    return msgs
end


-- extract(text [, item [, trace]]) -> answer, rule, s, e  (nil, reason [, s, e]
-- when there is none). Inline "<think>" blocks are dropped; an unclosed one
-- yields no answer. With the item, its question tells givens and the asked
-- quantity apart (extract.lua rules 3 and 5). s, e: the answer's byte span
-- in text.
local OPTS = {}
local last_content, last_answer, last_status     -- strict after extract: the same split

function M.extract(text, item, trace)
    local answer, status, offset = extract.answer_text(text)
    last_content, last_answer, last_status = text, answer, status
    if status == "unclosed" then
        if trace then trace.reason = "unclosed_think" end
        return nil, "unclosed_think"
    end
    if trace then trace.offset = offset end
    local opts = OPTS                             -- reused: extract keeps no reference
    opts.question = type(item) == "table" and item.question or nil
    opts.trace = trace
    local a, rule, s, e = extract.extract(answer, opts)
    opts.question, opts.trace = nil, nil
    if s then s, e = s + offset, e + offset end
    return a, rule, s, e
end


function M.strict(text)
    local answer, status
    if text == last_content and text ~= nil then       -- (a string: extract checked it)
        answer, status = last_answer, last_status
    else
        answer, status = extract.answer_text(text)
    end
    if status == "unclosed" then return nil end
    return extract.strict(answer)
end


-- gold(item) -> "70000": the text after the first "####", commas removed.
-- (A plain find for "####", then the pattern anchored there: unanchored, it
-- would be tried at every byte of the solution.)
function M.gold(item)
    local a = find(item.answer, "####", 1, true)
    local g = a and match(item.answer, "^####%s*(.-)%s*$", a)
    return g and (gsub(g, ",", ""))
end


function M.correct(answer, gold)
    return numeric.equal(answer, gold)
end


-- Index-based ids are stable because the dataset is pinned by sha256.
function M.id(item, index)
    return format("gsm8k-test-%04d", index)
end


return M
