-- tests/lib/mkrun.lua: writes a hand-made run folder (run.json,
-- samples.jsonl, summary.json) for the tests of the viewers, with counts
-- known in advance.
--
--   ollaeval tests/lib/mkrun.lua DIR [flags]
--     --n N            items (default 100)
--     --acc P          item i is correct when (i * 7919) % 1000 < P * 1000
--     --faults         every 50th item truncated, every 31st no answer,
--                      every 97th an error (before --acc decides the rest)
--     --pair B,C,RR,WW --side a|b   a paired design: B items right in A only,
--                      C right in B only, RR right in both, WW wrong in both
--                      (in that order); --side says which run this is
--     --groups K       item i in group "g<i % K>"
--     --payload        markup in ids, answers, content, model and suite names
--     --name MODEL, --dataset-sha HEX, --prompt-suffix S (changes the prompts)
--     --started ISO    run.json's start time
--     --no-summary     no summary.json (a run still going)
--     --span           records carry the span of the answer in content
--     --times          records carry t_start and t_end (ms since the start)
-- Prints nothing; exit 0.
local cjson = require "cjson"
local stats = require "evals.stats"

local args = { ... }
local dir = assert(args[1], "usage: mkrun.lua DIR [flags]")
local o = { n = 100, acc = 0.8, name = "qwen3:8b", ["dataset-sha"] = string.rep("ab", 32),
    started = "2026-01-01T00:00:00Z", ["prompt-suffix"] = "", side = "a" }
local i = 2
while i <= #args do
    local k = args[i]:match("^%-%-(.+)$")
    assert(k, "unexpected argument " .. args[i])
    if k == "faults" or k == "payload" or k == "no-summary" or k == "span" or k == "times" then
        o[k] = true
    else
        i = i + 1
        o[k] = args[i]
    end
    i = i + 1
end
local n = tonumber(o.n)
local P = '<img src=x onerror="window.__xss=1"><svg onload="window.__xss=2"></svg></script><b>'
local pair
if o.pair then
    local b, c, rr, ww = o.pair:match("^(%d+),(%d+),(%d+),(%d+)$")
    pair = { tonumber(b), tonumber(c), tonumber(rr), tonumber(ww) }
    n = pair[1] + pair[2] + pair[3] + pair[4]
end

os.execute("mkdir -p '" .. dir .. "'")
local function enc(v) return (cjson.encode(v):gsub("\\/", "/")) end
local suite = o.payload and ("suite" .. P) or "gsm8k"
local model = o.payload and (o.name .. P) or o.name
local f = assert(io.open(dir .. "/samples.jsonl", "wb"))
local scored, correct, errors, noans, trunc = 0, 0, 0, 0, 0
for idx = 1, n do
    local id = string.format("item-%05d", idx)
    if o.payload and idx % 2 == 1 then id = id .. P end
    local r = { id = id, index = idx, gold = tostring(idx % 97),
        messages = { { role = "user", content = "Question " .. idx .. "?" .. o["prompt-suffix"] } } }
    if o.groups then r.group = "g" .. (idx % tonumber(o.groups)) end
    local kind
    if pair then
        local a_right = idx <= pair[1] or (idx > pair[1] + pair[2] and idx <= pair[1] + pair[2] + pair[3])
        local b_right = (idx > pair[1] and idx <= pair[1] + pair[2] + pair[3])
        kind = (o.side == "a" and a_right or o.side == "b" and b_right) and "correct" or "wrong"
    elseif o.faults and idx % 97 == 0 then kind = "error"
    elseif o.faults and idx % 50 == 0 then kind = "truncated"
    elseif o.faults and idx % 31 == 0 then kind = "noanswer"
    elseif (idx * 7919) % 1000 < tonumber(o.acc) * 1000 then kind = "correct"
    else kind = "wrong" end
    if kind == "error" then
        r.error, r.error_kind = "HTTP 500 from the server" .. (o.payload and P or ""), "http"
        errors = errors + 1
    else
        scored = scored + 1
        local ans = kind == "correct" and r.gold or kind == "wrong" and tostring(idx % 97 + 1) or nil
        if o.payload and ans then ans = ans .. P end
        r.answer = ans
        r.correct = kind == "correct"
        r.content = "Working.\n#### " .. (ans or "")
        if o.span and ans then r.span = { 15, 14 + #ans } end
        r.done_reason = kind == "truncated" and "length" or "stop"
        r.completion_tokens = 100 + idx % 400
        r.prompt_tokens = 60
        r.latency_ms = 10 + (idx % 13) * 1.5
        r.attempts = idx % 40 == 0 and 2 or 1
        if o.times then r.t_start, r.t_end = idx * 10, idx * 10 + 25 end
        if kind == "correct" then correct = correct + 1 end
        if ans == nil then noans = noans + 1 end
        if kind == "truncated" then trunc = trunc + 1 end
    end
    f:write(enc(r), "\n")
end
f:close()
local config = { suite = suite, model = model, dataset_sha256 = o["dataset-sha"], seed = 0, shard = "1/1",
    options = { temperature = 0 } }
local rf = assert(io.open(dir .. "/run.json", "wb"))
rf:write(enc { config = config, started = o.started, ollaeval = "0.1.0", command = "mkrun" }, "\n")
rf:close()
if not o["no-summary"] then
    local metrics = {}
    if scored > 0 then
        local lo, hi = stats.wilson(correct, scored)
        metrics = { accuracy = correct / scored, accuracy_ci95 = { lo, hi },
            no_answer_rate = noans / scored, truncated_rate = trunc / scored, pass_at_1 = correct / scored }
    end
    local sf = assert(io.open(dir .. "/summary.json", "wb"))
    sf:write(enc { suite = { name = suite, version = "1" }, model = { name = model },
        dataset = { sha256 = o["dataset-sha"], items = n }, status = errors == 0 and "complete" or "partial",
        counts = { n = n, scored = scored, errors = errors, total = n }, metrics = metrics,
        finished = o.started }, "\n")
    sf:close()
end
