-- bench/engine.lua: what the engine itself costs. Run by bench/run against
-- `ollaeval sim`.
--   --mode cpu      chat{} against a server that answers at once: requests/s
--                   and CPU microseconds per request of this process
--   --mode gsm8k    the same with GSM8K-length replies: one chat{} per line of
--                   --data (GSM8K's questions, cycled to --n; the simulator
--                   started with --dataset answers each with its thinking
--                   text, ~2.5 KB bodies), nothing else per request
--   --mode window   a fixed delay L per request: wall time against n*L/N
--   --mode rss      N requests in flight at once: peak resident memory
local cjson = require "cjson"

local opt = options {
    { name = "mode", type = "string", choices = { "cpu", "gsm8k", "window", "rss" }, default = "cpu" },
    { name = "n", type = "integer", default = 10000, help = "requests" },
    { name = "latency", type = "number", default = 0, help = "the server's fixed latency (ms), for --mode window" },
    { name = "data", type = "string", help = "a JSONL file of {question=} lines, for --mode gsm8k" },
}

local function rss_kb(field)
    local f = io.open("/proc/self/status")
    local s = f:read("a")
    f:close()
    return tonumber(s:match(field .. ":%s*(%d+)"))
end

local url = ollaeval.endpoints[1]
local c = ollaeval.options.concurrency
local msgs = { { role = "user", content = "Say something short." } }
local errors = 0
-- a short answer, so the figure is the engine's cost, not the cost of decoding a long text
local gen = { num_predict = 8, temperature = 0 }

-- --mode gsm8k: the prompts, built before the clock starts (the figure is
-- the request's cost, not the dataset's)
local prompts
if opt.mode == "gsm8k" then
    if not opt.data then error("--mode gsm8k needs --data FILE (GSM8K-shaped JSONL)") end
    local ASK = "Solve the following math problem step by step. At the end, write the final answer on "
        .. "its own line in the form \"#### N\", where N is just the number.\n\n"
    prompts = {}
    for line in io.lines(opt.data) do
        local q = cjson.decode(line).question
        prompts[#prompts + 1] = { { role = "user", content = ASK .. q } }
    end
    if #prompts == 0 then error("--data " .. opt.data .. ": no lines") end
end

-- warm up the connections (not for rss: there each request takes seconds)
if opt.mode ~= "rss" then
    map(function() end, function() end)
    local w = 0
    map(function() w = w + 1; if w <= c then return w end end, function()
        chat { messages = msgs, model = "qwen3:8b", options = { num_predict = 8 } }
    end, { concurrency = c })
end

local rss0 = rss_kb("VmRSS")
local cpu0, t0 = os.clock(), now()
local i = 0
local bytes = 0
map(function() i = i + 1; if i <= opt.n then return i end end, function(k)
    local r
    if prompts then
        r = chat { messages = prompts[(k - 1) % #prompts + 1], model = "qwen3:8b", retries = 0 }
        if r then bytes = bytes + #r.content + #(r.thinking or "") end
    else
        r = chat { messages = msgs, model = "qwen3:8b", retries = 0, options = gen }
    end
    if not r then errors = errors + 1 end
end, { concurrency = c })
local cpu, wall = os.clock() - cpu0, (now() - t0) / 1000

local out = {
    mode = opt.mode, n = opt.n, concurrency = c, errors = errors,
    wall_s = wall, rps = opt.n / wall, cpu_us_per_req = cpu / opt.n * 1e6,
    rss_start_kb = rss0, rss_peak_kb = rss_kb("VmHWM"),
}
if prompts then out.text_bytes_per_req = bytes / opt.n end
if opt.mode == "window" then
    out.ideal_s = opt.n * opt.latency / 1000 / c
    out.overhead_pct = (wall / out.ideal_s - 1) * 100
end
print(cjson.encode(out))
