-- bench/stages.lua: where the Lua pipeline's CPU goes, stage by stage, on
-- the records of a real run (a samples.jsonl of GSM8K-length answers), each
-- stage through the code a run uses: the dataset line (jsonl), the prompt
-- (the suite's), the request body (the Ollama backend's, encoded), the
-- response (decoded, parsed), extraction and grading (evals/solve.lua's
-- grade), the record (evals/record.lua), its journal line (journal.line),
-- and the summary's pass over the journal. CPU µs per item for each, from
-- os.clock over R rounds. Needs --trust (it reads and writes files).
--   ./ollaeval --trust bench/stages.lua RUN_DIR/samples.jsonl DATASET.jsonl [R]
local cjson = require "cjson"
local cjson_safe = require "cjson.safe"
local backends = require "ollaeval.backends"
local journal = require "evals.journal"
local record = require "evals.record"
local solve = require "evals.solve"
local summary = require "evals.summary"

local jpath, dpath, R = arg[1], arg[2], tonumber(arg[3] or "") or 5
if not (jpath and dpath) then
    io.stderr:write("usage: ollaeval --trust bench/stages.lua RUN_DIR/samples.jsonl DATASET.jsonl [ROUNDS]\n")
    return 2
end
local suite = dofile("scripts/gsm8k.lua")
local recs, items = {}, {}
for line in io.lines(jpath) do recs[#recs + 1] = cjson.decode(line) end
local n = #recs
local ollama = backends.by_name.ollama
local responses = {}
for i, r in ipairs(recs) do
    responses[i] = cjson.encode({ model = "qwen3:8b", created_at = "2026-01-01T00:00:00Z", done = true,
        done_reason = "stop", message = { role = "assistant", content = r.content, thinking = r.thinking },
        prompt_eval_count = r.prompt_tokens, eval_count = r.completion_tokens,
        total_duration = 123456789, load_duration = 1234, prompt_eval_duration = 12345, eval_duration = 123456 })
end

local function stage(name, fn)
    local t0 = os.clock()
    for _ = 1, R do for i = 1, n do fn(i) end end
    local us = (os.clock() - t0) * 1e6 / (R * n)
    print(string.format("%-36s %8.2f us/item", name, us))
    return us
end

local total = 0
total = total + stage("dataset line (jsonl)", function(i)
    if i == 1 then items = {} end
    if i == 1 or not items.iter then items.iter = jsonl(dpath) end
    local item = items.iter()
    if not item then items.iter = jsonl(dpath) item = items.iter() end
    items[i] = item
end)
local msgs = {}
local ctx = { shots = 0, seed = 1234 }
total = total + stage("prompt (suite.prompt)", function(i) msgs[i] = suite.prompt(items[i], ctx) end)
local opts = { temperature = 0, seed = 1234, num_predict = 2048, num_ctx = 8192 }
local bodies = {}
total = total + stage("request body (backend body, encode)", function(i)
    bodies[i] = cjson.encode(ollama.body({ messages = msgs[i], options = opts, think = true },
        "qwen3:8b", false))
end)
local res = {}
total = total + stage("response (decode, parse)", function(i)
    local j = cjson_safe.decode(responses[i])
    local f = ollama.parse(j)
    f.raw = j
    res[i] = f
end)
local graded = {}
total = total + stage("extract + grade (solve.grade)", function(i)
    graded[i] = solve.grade(suite, res[i], recs[i].gold, items[i])
end)
local out = {}
total = total + stage("record (record.item)", function(i)
    local r, f, s = recs[i], res[i], graded[i]
    s.calls = { { model = "qwen3:8b", messages = msgs[i], endpoint = "http://127.0.0.1:11434",
                  content = f.content, thinking = f.thinking, done_reason = f.done_reason,
                  prompt_tokens = f.prompt_tokens, completion_tokens = f.completion_tokens,
                  latency_ms = 12.5, attempts = 1, overloads = 0 } }
    s.sample, s.seed = 1, 1234
    out[i] = record.item({ index = r.index, item = items[i] }, r.id, r.gold, { s })
end)
total = total + stage("journal line (journal.line)", function(i) journal.line(out[i]) end)
local t0 = os.clock()
local info = { metrics = { { name = "accuracy", reduce = require("evals.reduce").parse("mean") } }, strict = true,
               answers = true }
for _ = 1, R do
    summary.summarize({ each = function(fn) return journal.latest(jpath, fn) end }, info)
end
local us = (os.clock() - t0) * 1e6 / (R * n)
print(string.format("%-36s %8.2f us/item", "journal read + summary", us))
total = total + us
print(string.format("%-36s %8.2f us/item", "sum of the Lua stages", total))
