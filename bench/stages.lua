-- bench/stages.lua: where the Lua pipeline's CPU goes, stage by stage, on
-- the records of a real run (a samples.jsonl of GSM8K-length answers):
-- prompt, request body encode, response decode, extraction and grading
-- (record.scored), journal encode, journal read (the summary's pass).
-- CPU µs per item for each, from os.clock over R rounds.
--   ./ollaeval bench/stages.lua RUN_DIR/samples.jsonl DATASET.jsonl [R]
local cjson = require "cjson"
local cjson_safe = require "cjson.safe"
local journal = require "evals.journal"
local record = require "evals.record"
local suite = require "evals.gsm8k"
local summary = require "evals.summary"

local jpath, dpath, R = arg[1], arg[2], tonumber(arg[3] or "") or 5
local recs, items = {}, {}
for line in io.lines(jpath) do recs[#recs + 1] = cjson.decode(line) end
for line in io.lines(dpath) do items[#items + 1] = cjson.decode(line) if #items == #recs then break end end
local n = #recs
local bodies, responses = {}, {}
for i, r in ipairs(recs) do
    responses[i] = cjson.encode({ model = "qwen3:8b", created_at = "2026-01-01T00:00:00Z", done = true,
        done_reason = "stop", message = { role = "assistant", content = r.content },
        prompt_eval_count = r.prompt_tokens, eval_count = r.completion_tokens,
        total_duration = 123456789, load_duration = 1234, prompt_eval_duration = 12345, eval_duration = 123456 })
end

local function stage(name, fn)
    local t0 = os.clock()
    for _ = 1, R do for i = 1, n do fn(i) end end
    local us = (os.clock() - t0) * 1e6 / (R * n)
    print(string.format("%-34s %8.2f us/item", name, us))
    return us
end

local total = 0
local msgs = {}
total = total + stage("prompt (suite.prompt)", function(i) msgs[i] = suite.prompt(items[i], { shots = 0 }) end)
total = total + stage("request body (cjson.encode)", function(i)
    bodies[i] = cjson.encode({ model = "qwen3:8b", messages = msgs[i], stream = false,
        options = { temperature = 0, seed = 0, num_predict = 2048, num_ctx = 8192 } })
end)
total = total + stage("response decode (cjson)", function(i) cjson_safe.decode(responses[i]) end)
local it = { index = 1 }
local out = {}
total = total + stage("extract + grade (record.scored)", function(i)
    local r = recs[i]
    out[i] = record.scored(suite, it, r.id, msgs[i], r.gold, { content = r.content, done_reason = "stop",
        prompt_tokens = r.prompt_tokens, completion_tokens = r.completion_tokens, latency_ms = 12.5, attempts = 1 })
end)
total = total + stage("journal encode (journal.encode)", function(i) journal.encode(out[i]) end)
local t0 = os.clock()
for _ = 1, R do summary.summarize(function(fn) journal.latest(jpath, fn) end) end
local us = (os.clock() - t0) * 1e6 / (R * n)
print(string.format("%-34s %8.2f us/item", "journal read + summary", us))
total = total + us
print(string.format("%-34s %8.2f us/item", "sum of the Lua stages", total))
