-- bench/grade.lua: GSM8K grading throughput, extract + numeric comparison
-- over N responses (default 1,000,000: the 5,276 real solutions, cycled, in
-- three styles: as written "A: N", "#### N" and "The answer is \boxed{N}."
-- after a <think> block). Prints responses per second and microseconds per
-- answer (os.clock, CPU time) over the mix, then for each style alone, then
-- the mix graded as a run grades a sample (evals/solve.lua's grade: extract
-- with the item's question, correct, strict, correct).
--   ./ollaeval --trust bench/grade.lua [N]
-- Instructions per answer (callgrind, the grading loop alone): the mix's
-- three styles 169k/174k/143k before evals/extract.lua's "Cost" rules and
-- 87k/87k/97k after (measured apart, the grading a run does on simulator
-- answers: 338k -> 129k). On a loaded 2-core machine that is about 30 -> 20
-- us per answer for the mix. Then strict taking its answer from extract's
-- candidates, the bold rule and the gold without patterns tried at every
-- byte, the question read only when asked: 79k/80k/85k, and as a run grades
-- 122k -> 90k here, 142k -> 90k on simulator answers.

local cjson = require "cjson"
local gsm8k = require "evals.gsm8k"

local SHARED = os.getenv("OLLAEVAL_SHARED") or "../shared"
local DIR = SHARED .. "/datasets/gsm8k/"
local TOTAL = tonumber(arg and arg[1]) or 1000000

local test, golds = {}, {}
for line in io.lines(DIR .. "test.jsonl") do
    local item = cjson.decode(line)
    test[#test + 1], golds[#golds + 1] = item, gsm8k.gold(item)
end

local texts, gold_of, item_of = {}, {}, {}
local by_style = { {}, {}, {} }
local i = 0
for line in io.lines(DIR .. "example_model_solutions.jsonl") do
    i = i + 1
    local row = cjson.decode(line)
    for _, m in ipairs({ "6b_finetuning", "6b_verification", "175b_finetuning",
                         "175b_verification" }) do
        local s = row[m].solution
        local n = #texts
        texts[n + 1] = s
        texts[n + 2] = (s:gsub("\nA: ([^\n]*)$", "\n#### %1"))
        texts[n + 3] = "<think>Let me work it out.</think>"
                       .. (s:gsub("\nA: ([^\n]*)$", "\nThe answer is $\\boxed{%1}$."))
        for k = 1, 3 do
            gold_of[n + k], item_of[n + k] = golds[i], test[i]
            table.insert(by_style[k], n + k)
        end
    end
end

local extract, correct, strict = gsm8k.extract, gsm8k.correct, gsm8k.strict
local n, bytes = #texts, 0
for k = 1, n do bytes = bytes + #texts[k] end

-- grade `total` responses picked by index list idx (nil: all, in order)
local function run(total, idx, as_run)
    local m = idx and #idx or n
    local t0 = os.clock()
    local right = 0
    for k = 1, total do
        local j = (k - 1) % m + 1
        if idx then j = idx[j] end
        local answer = extract(texts[j], as_run and item_of[j] or nil)
        if answer and correct(answer, gold_of[j]) then right = right + 1 end
        if as_run then
            local sa = strict(texts[j])
            if sa then correct(sa, gold_of[j]) end
        end
    end
    return os.clock() - t0, right
end

local dt, right = run(TOTAL)
print(("graded %d responses (%d distinct, mean %d bytes) in %.2f s CPU"):format(
    TOTAL, n, bytes // n, dt))
print(("%.0f responses/s (%.1f us per answer); %d correct (%.2f%%)"):format(TOTAL / dt,
    1e6 * dt / TOTAL, right, 100 * right / TOTAL))
local part = math.max(1, TOTAL // 6)
for k, name in ipairs({ "as written (A: N)", "#### N", "<think> + The answer is \\boxed{N}" }) do
    local d = run(part, by_style[k])
    print(("  %-36s %5.1f us per answer"):format(name, 1e6 * d / part))
end
local d = run(part, nil, true)
print(("  %-36s %5.1f us per answer"):format("as a run grades (question, strict)", 1e6 * d / part))
