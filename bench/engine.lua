-- bench/engine.lua: what the engine itself costs. Run by bench/run against
-- `ollaeval sim`.
--   --mode cpu      chat{} against a server that answers at once: requests/s
--                   and CPU microseconds per request of this process
--   --mode window   a fixed delay L per request: wall time against n*L/N
--   --mode rss      N requests in flight at once: peak resident memory
local cjson = require "cjson"

local opt = options {
    { name = "mode", type = "string", choices = { "cpu", "window", "rss" }, default = "cpu" },
    { name = "n", type = "integer", default = 10000, help = "requests" },
    { name = "latency", type = "number", default = 0, help = "the server's fixed latency (ms), for --mode window" },
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
map(function() i = i + 1; if i <= opt.n then return i end end, function()
    local r = chat { messages = msgs, model = "qwen3:8b", retries = 0, options = gen }
    if not r then errors = errors + 1 end
end, { concurrency = c })
local cpu, wall = os.clock() - cpu0, (now() - t0) / 1000

local out = {
    mode = opt.mode, n = opt.n, concurrency = c, errors = errors,
    wall_s = wall, rps = opt.n / wall, cpu_us_per_req = cpu / opt.n * 1e6,
    rss_start_kb = rss0, rss_peak_kb = rss_kb("VmHWM"),
}
if opt.mode == "window" then
    out.ideal_s = opt.n * opt.latency / 1000 / c
    out.overhead_pct = (wall / out.ideal_s - 1) * 100
end
print(cjson.encode(out))
