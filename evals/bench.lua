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
--               its steady window (from the first completion to the end of
--               the point, when the requests still running are cut); a
--               point lasts --point-seconds, or longer when answers are
--               slow (its first completion, then half a point or half an
--               answer more), and the whole bench, warm-up included, keeps
--               within the time budget (--quick: a first look), the sweep
--               stopping when the next point would not fit (the verdict
--               then says the knee was not pinned down); a point counts
--               the 503s and 429s it waited out (requeued in the window,
--               not failed) apart from its failures
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
-- seconds of the budget kept for the end (the model's /api/show, the files)
local RESERVE_S = 2

local OPTIONS = {
    { name = "quick", type = "flag", help = "a first look: 60 s in all, 6-s points" },
    { name = "budget", type = "number", min = 5, arg = "SECONDS",
      help = "wall time for the whole bench, warm-up included (default 180, --quick 60)" },
    { name = "point-seconds", type = "number", min = 0.2, arg = "SECONDS",
      help = "least length of one point of the sweep (default 15, --quick 6); with slow answers "
             .. "a point runs on to half of it (or of an answer) past its first completion" },
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


-- One request; returns a sample {t0, t1, ok, cut, class, ttft, tokens,
-- queue, load}. cutting(): true once the point has ended; a request still
-- running then was cut (cancelled) and counts as cut, with the tokens it
-- streamed and its first-token time, not as a failure.
local function never() return false end

local function one(B, url, messages, opt, cutting)
    cutting = cutting or never
    local t0 = now()
    local first, chunks = nil, 0
    local function on_token()
        first = first or now()
        chunks = chunks + 1
        if cutting() then return false end
    end
    local res, _, kind, info = chat { endpoint = url, messages = messages, stream = true, retries = 0,
                                      on_token = on_token,
                                      options = { temperature = 0, num_predict = opt["num-predict"],
                                                  num_ctx = opt["num-ctx"] } }
    local s = { t0 = t0, t1 = now(), ok = res ~= nil }
    if cutting() and (not res or res.done_reason == "stopped") then
        s.ok, s.cut, s.tokens = false, true, chunks
        s.ttft = first and first - t0 or nil
        return s
    end
    if not res then
        s.class = class_of(kind, info)
        return s
    end
    s.ttft, s.tokens = res.ttft_ms or (first and first - t0), res.completion_tokens or chunks
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
-- c). The point lasts `seconds`, or until `steady` seconds after its first
-- completion if that is later (slow answers: the steady window is measured
-- whatever the service time), never past `hard` (ms: the budget's end);
-- then the requests still running or waiting are cut (cancelled), so no
-- point waits for its longest answers. It counts what ran in its steady
-- window, from the first completion (every worker has sent) to the cut:
-- each request by the share of it inside the window (its tokens spread
-- over its decode; a cut request by the tokens it streamed), so the long
-- answers of a heavy-tailed length distribution do not make the count
-- jump. The queue wait is taken from the requests sent in the steady
-- window (in the first round c <= slots never waits and c = slots + 1
-- waits once); a cut request's wait is its time to first token, or its
-- whole wait if it had none (a lower bound), less the sequential TTFT
-- (base_ttft). p.first_s: seconds to the first completion (nil: none).
local function measure(url, c, seconds, steady, hard, next_prompt, opt, base_ttft)
    -- the window's overload counters before the point: 503s and 429s are
    -- waited out in its FIFO (requeued, not failed), so the point counts them apart
    local n503, n429 = select(9, ollaeval.window(url, c))
    local samples, started = {}, 0
    local t_start = now()
    local stop = math.min(t_start + seconds * 1000, hard)
    local first = math.huge
    local ended = false
    local function cutting() return ended end
    local function worker()
        while not ended and ollaeval.interrupted() == 0 do
            started = started + 1
            local s = one(nil, url, next_prompt(), opt, cutting)
            samples[#samples + 1] = s
            if s.ok and s.t1 < first then
                first = s.t1
                stop = math.min(max(stop, first + steady * 1000), hard)
            end
        end
    end
    local tasks = {}
    for k = 1, c do tasks[k] = spawn(worker) end
    local stopper = spawn(function()
        -- no point ends before its first completion, unless the budget does
        while (now() < stop or first == math.huge) and now() < hard and ollaeval.interrupted() == 0 do
            sleep(max(1, math.min(first == math.huge and 50 or stop - now(), hard - now())))
        end
        ended = true
        ollaeval.cancel_all()
    end)
    for _, t in ipairs(tasks) do wait(t) end
    wait(stopper)
    local from, to = math.min(first, t_start + 0.25 * seconds * 1000), math.min(stop, now())
    if to - from < 0.1 * seconds * 1000 then from, to = t_start, now() end
    local p = { concurrency = c, ok = 0, cut = 0, failed = {}, seconds = (to - from) / 1000,
                first_s = first < math.huge and (first - t_start) / 1000 or nil,
                length_s = (now() - t_start) / 1000 }
    for _, k in ipairs { "overload", "rate", "server", "timeout", "connection", "other" } do p.failed[k] = 0 end
    local tokens, reqs, ttft, tpot, e2e, queue, queue_all = 0, 0, {}, {}, {}, {}, {}
    local function share(a, b)
        if b <= a then return (a > from and a <= to) and 1 or 0 end
        return math.max(0, math.min(b, to) - math.max(a, from)) / (b - a)
    end
    base_ttft = base_ttft or 0
    for _, s in ipairs(samples) do
        local q
        if s.ok then
            p.ok = p.ok + 1
            reqs = reqs + share(s.t0, s.t1)
            tokens = tokens + s.tokens * share(s.t0 + (s.ttft or 0), s.t1)
            e2e[#e2e + 1] = s.t1 - s.t0
            if s.ttft then
                ttft[#ttft + 1] = s.ttft
                if s.tokens > 1 then tpot[#tpot + 1] = (s.t1 - s.t0 - s.ttft) / (s.tokens - 1) end
            end
            q = s.queue
        elseif s.cut then
            p.cut = p.cut + 1
            tokens = tokens + s.tokens * share(s.t0 + (s.ttft or 0), s.t1)
            q = max(0, (s.ttft or (s.t1 - s.t0)) - base_ttft)
        else
            p.failed[s.class] = p.failed[s.class] + 1
        end
        if q then
            queue_all[#queue_all + 1] = q
            if s.t0 >= from then queue[#queue + 1] = q end
        end
    end
    if #queue == 0 then queue = queue_all end
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
    -- the service time of one answer: the warm-up's without the load, then
    -- each point's time to its first completion. A point lasts its set
    -- length or until its steady window has run `steady` seconds after the
    -- first completion; the next point's length is predicted from the last
    -- one's, and the budget (warm-up included) must hold it.
    local service_s = max(0, (w.t1 - w.t0) - (w.load or 0)) / 1000
    local base_point, base_seq = plan.point.seconds, plan.sequential.seconds
    local steady = 0.5 * base_point
    local hard = t_bench + (plan.budget_s - RESERVE_S) * 1000
    local points, seq_ttft, why_stop, first_s = {}, nil, nil, service_s
    while ollaeval.interrupted() == 0 do
        plan.point.seconds = max(base_point, 1.2 * first_s + steady)
        local spent = (now() - t_bench) / 1000 + RESERVE_S
        local c, why = report.next_concurrency(plan, points, spent)
        if not c then
            why_stop = why
            say("bench: sweep done (%s)", why)
            break
        end
        local secs = base_point
        if c == 1 and #points == 0 then secs = base_seq end
        local p = measure(url, c, secs, steady, hard, next_prompt, opt, seq_ttft)
        if p.ok == 0 and p.cut > 0 and now() >= hard then
            -- the budget ended the point before anything completed
            why_stop = "time budget spent"
            say("bench: c=%d cut by the time budget before a completion: not used", c)
            break
        end
        points[#points + 1] = p
        if c == 1 and #points == 1 then
            seq_ttft = p.ttft_ms and p.ttft_ms.p50 or nil
            steady = max(steady, 0.5 * (p.e2e_ms and p.e2e_ms.p50 / 1000 or service_s))
        end
        first_s = max(first_s, p.first_s or p.length_s)
        say("bench: c=%d (%s, %.0f s): %d ok, %d cut at the end, %.2f req/s, %.0f tok/s", c, why, p.length_s,
            p.ok, p.cut, p.requests_per_s, p.output_tokens_per_s)
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
                                    kv_bytes_per_token = kv, load_ms = load_ms, stopped = why_stop,
                                    budget_s = plan.budget_s }
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
