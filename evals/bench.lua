-- bench.lua: `ollaeval bench -m MODEL [-e URL]`: how fast is this server
-- sequentially and concurrently, and what concurrency (and
-- OLLAMA_NUM_PARALLEL) to use. It measures; evals/bench_report.lua plans
-- the sweep and says what the points mean (docs/auto.md).
--
--   warm-up     one request (the model loads: its load time is reported)
--   sequential  the baseline at concurrency 1
--   sweep       the next concurrency from bench_report.next_concurrency
--               (doubling to the knee, then refining), each point a closed
--               loop of c requests with a fixed window of c, measured in
--               its steady window (from the c-th completion to the last
--               send), all within the time budget (--quick: a first look);
--               a point counts the 503s and 429s it waited out (requeued
--               in the window, not failed) apart from its failures
--   output      the table and the verdict on stdout; bench.json, bench.svg
--               and points.jsonl in the bench folder (-o, else
--               runs/bench-MODEL-TIME)
-- Prompts are GSM8K's (the dataset resolution of evals/data.lua), else the
-- synthetic problems (saying so), taken in order so no prompt repeats
-- until all have been used. M.main returns the exit status: 0 done, 1 the
-- server failed or the folder could not be written, 2 a usage error.
local cjson_safe = require "cjson.safe"
local data = require "evals.data"
local journal = require "evals.journal"
local report = require "evals.bench_report"
local metrics = require "evals.metrics"

local M = {}

local format, floor, max = string.format, math.floor, math.max
local stderr = io.stderr
local O = ollaeval.options

local OPTIONS = {
    { name = "quick", type = "flag", help = "a first look: 60 s in all, 6-s points" },
    { name = "budget", type = "number", min = 5, arg = "SECONDS",
      help = "wall time for the whole bench (default 180, --quick 60)" },
    { name = "point-seconds", type = "number", min = 0.2, arg = "SECONDS",
      help = "length of one point of the sweep (default 15, --quick 6)" },
    { name = "max-c", type = "integer", min = 1, default = 64, help = "highest concurrency tried" },
    { name = "dataset", type = "string", arg = "PATH", help = "JSONL of GSM8K-shaped prompts (default: GSM8K)" },
    { name = "num-predict", type = "integer", min = 1, default = 1024, help = "maximum tokens per answer" },
    { name = "num-ctx", type = "integer", min = 1, default = 8192, help = "context window sent (KV memory estimate)" },
}


local function say(fmt, ...)
    if not O.quiet then stderr:write(format(fmt, ...), "\n") end
end


-- The prompts: GSM8K's questions, else the synthetic problems.
local function prompts(opt)
    local suite = require "evals.gsm8k"
    local path, err = data.resolve(suite.dataset, opt.dataset, function() end)
    local items
    if path then
        items, err = data.load(path)
    end
    if not items or #items == 0 then
        say("bench: GSM8K is not available (%s): using %d synthetic GSM8K-shaped problems instead",
            tostring(err or "empty"), 1319)
        items, path = require("evals.synthetic").items(1319, 1), "synthetic"
    end
    local list = {}
    for i, it in ipairs(items) do list[i] = suite.prompt(it, { shots = 0 }) end
    return list, path
end


local function pct(list, p)
    if #list == 0 then return nil end
    table.sort(list)
    return metrics.percentile(list, p)
end


local function dist(list)
    if #list == 0 then return nil end
    return { p50 = pct(list, 50), p95 = pct(list, 95) }
end


local CLASS = { [503] = "overload", [429] = "rate" }

-- A failed request's class, for the point's `failed` counts.
local function class_of(kind, info)
    if kind == "http" then
        local st = info and info.status
        return CLASS[st] or ((st or 0) >= 500 and "server" or "other")
    elseif kind == "timeout" or kind == "connection" then
        return kind
    elseif kind == "server" then
        return "server"
    end
    return "other"
end


-- One request; returns a sample {t0, t1, ok, class, ttft, tokens, queue, load}.
local function one(B, url, messages, opt)
    local t0 = now()
    local res, _, kind, info = chat { endpoint = url, messages = messages, stream = true, retries = 0,
                                      options = { temperature = 0, num_predict = opt["num-predict"],
                                                  num_ctx = opt["num-ctx"] } }
    local s = { t0 = t0, t1 = now(), ok = res ~= nil }
    if not res then
        s.class = class_of(kind, info)
        return s
    end
    s.ttft, s.tokens = res.ttft_ms, res.completion_tokens or 0
    local raw = type(res.raw) == "table" and res.raw or {}
    local total, load = tonumber(raw.total_duration), tonumber(raw.load_duration)
    local pe, ev = tonumber(raw.prompt_eval_duration), tonumber(raw.eval_duration)
    if total and load and pe and ev then
        s.queue = max(0, total - load - pe - ev) / 1e6
        s.load = load / 1e6
    end
    return s
end


-- Measures concurrency c: a closed loop of c requests (a fixed window of
-- c) for `seconds` and at least min_requests; the point counts what
-- completed in its steady window, from the c-th completion to the last send.
local function measure(url, c, seconds, min_requests, next_prompt, opt)
    -- the window's overload counters before the point: 503s and 429s are
    -- waited out in its FIFO (requeued, not failed), so the point counts them apart
    local n503, n429 = select(9, ollaeval.window(url, c))
    local samples, started = {}, 0
    local t_start = now()
    local deadline = t_start + seconds * 1000
    local last_send = t_start
    local function worker()
        while (now() < deadline or started < min_requests) and ollaeval.interrupted() == 0 do
            started = started + 1
            last_send = now()
            samples[#samples + 1] = one(nil, url, next_prompt(), opt)
        end
    end
    local tasks = {}
    for k = 1, c do tasks[k] = spawn(worker) end
    for _, t in ipairs(tasks) do wait(t) end
    -- the steady window: from the first completion (every worker has sent)
    -- to the last send. Each request counts by the share of it inside the
    -- window (its tokens spread over its decode), so the long answers of a
    -- heavy-tailed length distribution do not make the count jump.
    local first = math.huge
    for _, s in ipairs(samples) do first = math.min(first, s.t1) end
    local from, to = math.min(first, t_start + 0.25 * seconds * 1000), last_send
    if to - from < 0.25 * seconds * 1000 then from, to = t_start, now() end
    local p = { concurrency = c, ok = 0, failed = {}, seconds = (to - from) / 1000 }
    for _, k in ipairs { "overload", "rate", "server", "timeout", "connection", "other" } do p.failed[k] = 0 end
    local tokens, reqs, ttft, tpot, e2e, queue = 0, 0, {}, {}, {}, {}
    local function share(a, b)
        if b <= a then return (a > from and a <= to) and 1 or 0 end
        return math.max(0, math.min(b, to) - math.max(a, from)) / (b - a)
    end
    for _, s in ipairs(samples) do
        if s.ok then
            p.ok = p.ok + 1
            reqs = reqs + share(s.t0, s.t1)
            tokens = tokens + s.tokens * share(s.t0 + (s.ttft or 0), s.t1)
            e2e[#e2e + 1] = s.t1 - s.t0
            if s.ttft then
                ttft[#ttft + 1] = s.ttft
                if s.tokens > 1 then tpot[#tpot + 1] = (s.t1 - s.t0 - s.ttft) / (s.tokens - 1) end
            end
            if s.queue then queue[#queue + 1] = s.queue end
        else
            p.failed[s.class] = p.failed[s.class] + 1
        end
    end
    local secs = p.seconds > 0 and p.seconds or 1e-9
    p.requests_per_s = reqs / secs
    p.output_tokens_per_s = tokens / secs
    p.ttft_ms, p.tpot_ms, p.e2e_ms, p.queue_ms = dist(ttft), dist(tpot), dist(e2e), dist(queue)
    p.sent = started
    local m503, m429 = select(9, ollaeval.window(url))
    p.requeued = { overload = m503 - n503, rate = m429 - n429 }
    return p
end


local function write(path, text)
    local f, err = io.open(path, "wb")
    if not f then return nil, err end
    local ok, werr = f:write(text)
    f:close()
    if not ok then return nil, werr end
    return true
end


function M.main(...)
    local opt = options(OPTIONS)
    if #opt[0] > 0 then
        stderr:write("ollaeval bench: unexpected argument '", opt[0][1], "' (see ollaeval bench --help)\n")
        return 2
    end
    local model = O.model
    if not model then
        stderr:write("ollaeval bench: no model: pass -m NAME (for example -m qwen3:8b)\n")
        return 2
    end
    if #ollaeval.endpoints > 1 then
        stderr:write("ollaeval bench: one server at a time: pass a single -e URL\n")
        return 2
    end
    local url = ollaeval.endpoints[1]
    local plan = report.plan { quick = opt.quick, budget_s = opt.budget, max_c = opt["max-c"],
                               point_s = opt["point-seconds"] }
    if opt["point-seconds"] then
        plan.sequential.seconds = math.min(plan.sequential.seconds, opt["point-seconds"])
    end
    local list, source = prompts(opt)
    local k, wrapped = 0, false
    local function next_prompt()
        k = k + 1
        if k > #list then k, wrapped = 1, true end
        return list[k]
    end
    local dir = journal.folder("bench", model, O.out, false)
    data.mkdir_p(dir)
    say("bench: %s at %s, prompts from %s, budget %d s%s", model, url, source, plan.budget_s,
        opt.quick and " (--quick)" or "")
    local t_bench = now()
    -- warm-up: the model loads
    ollaeval.window(url, 1)
    local w = one(nil, url, next_prompt(), opt)
    if not w.ok then
        stderr:write(format("ollaeval bench: the warm-up request to %s failed (%s); is the model %s served there?\n",
            url, w.class, model))
        return 1
    end
    local load_ms = w.load or (w.t1 - w.t0)
    say("bench: warm-up done in %.1f s (model load %.1f s)", (w.t1 - w.t0) / 1000, load_ms / 1000)
    local spent0 = (now() - t_bench) / 1000
    local points = {}
    while ollaeval.interrupted() == 0 do
        local spent = (now() - t_bench) / 1000 - spent0
        local c, why = report.next_concurrency(plan, points, spent)
        if not c then
            say("bench: sweep done (%s)", why)
            break
        end
        local secs, minr = plan.point.seconds, plan.point.min_requests_per_c * c
        if c == 1 and #points == 0 then secs, minr = plan.sequential.seconds, plan.sequential.min_requests end
        local p = measure(url, c, secs, minr, next_prompt, opt)
        points[#points + 1] = p
        say("bench: c=%d (%s): %d ok, %.2f req/s, %.0f tok/s", c, why, p.ok, p.requests_per_s,
            p.output_tokens_per_s)
    end
    if wrapped then say("bench: every prompt was used once; later points reused them from the start") end
    -- KV memory per token, from /api/show (Ollama only)
    local kv
    local res = http { url = url .. "/api/show", method = "POST", body = cjson_safe.encode({ model = model }),
                       timeout = 10 }
    if res and res.status == 200 then
        local j = cjson_safe.decode(res.body)
        kv = type(j) == "table" and report.kv_bytes_per_token(j.model_info) or nil
    end
    local R, err = report.analyse { points = points, model = model, num_ctx = opt["num-ctx"],
                                    kv_bytes_per_token = kv, load_ms = load_ms }
    if not R then
        stderr:write("ollaeval bench: ", err, "\n")
        return 1
    end
    io.stdout:write(report.text(R))
    io.stdout:flush()
    local J = report.json(R)
    J.endpoint, J.prompts, J.command, J.ollaeval = url, source, ollaeval.command, ollaeval.version
    J.wall_time_s = (now() - t_bench) / 1000
    local ok, werr = journal.write_json(dir .. "/bench.json", J)
    if ok then ok, werr = write(dir .. "/bench.svg", report.svg(R)) end
    if ok then
        local lines = {}
        for _, p in ipairs(points) do lines[#lines + 1] = journal.encode(p) end
        ok, werr = write(dir .. "/points.jsonl", table.concat(lines, "\n") .. "\n")
    end
    if not ok then
        stderr:write(format("ollaeval bench: cannot write %s: %s\n", dir, tostring(werr)))
        return 1
    end
    say("bench: %s/bench.json, bench.svg (%.0f s in all)", dir, J.wall_time_s)
    return ollaeval.interrupted() > 0 and 130 or 0
end


return M
