-- test-window.lua: the endpoint window. The adaptive window against a server with 2 slots and no
-- queue (503 beyond): it starts small (slow start), is cut on overload at
-- most once per round trip, and 503s are waited out in the queue, never
-- spent as retries (every chat succeeds with retries = 0, attempts = 1).
-- Retry-After in both forms; the same in an auto window (the controller
-- learns the cap, nothing is spent as a retry); yielding calls where Lua
-- cannot yield.
local T = require "tests.lib.tap"
local sim = require "tests.lib.sim"

local s = sim.start { "--parallel", "2", "--max-queue", "0", "--fixed-latency-ms", "30" }
local core = require "ollaeval.core"
core.window_adapt(s.url, 64)
T.eq((ollaeval.window(s.url)), 4, "an adaptive window of 64 starts at 4 (slow start)")
local fails, attempts, overloads = 0, 0, 0
map(function() return true end and (function()
    local n = 0
    return function() n = n + 1; if n <= 60 then return n end end
end)(), function()
    local r = chat { model = "qwen3:8b", endpoint = s.url, retries = 0,
        messages = { { role = "user", content = "w" } } }
    if not r then fails = fails + 1 return end
    attempts, overloads = attempts + r.attempts, overloads + r.overloads
end, { concurrency = 60 })
local limit, _, _, max_inflight, _, w_over, cuts = ollaeval.window(s.url)
local st = s.stats()
T.eq(fails, 0, "60 chats with retries = 0 through 2 slots and no queue: none fails")
T.eq(attempts, 60, "...one attempt each: a 503 spends no retry")
T.ok(st.http_503 > 0 and overloads == st.http_503,
    "...the server refused " .. st.http_503 .. " and the replies count them as overloads (" .. overloads .. ")")
T.ok(w_over == st.http_503, "...the window counted every overload reply (" .. w_over .. ")")
T.ok(cuts >= 1 and cuts < w_over, "...and was cut at most once per round trip: " .. cuts .. " cuts for " .. w_over)
T.ok(max_inflight < 64 and limit <= 8, "...it never went near 64 (peak " .. max_inflight .. ", now " .. limit .. ")")
s.stop()

-- Retry-After as an HTTP-date, through a one-off server is in
-- tests/e2e/test-streams.sh; here the seconds form via the simulator's 429
local r = sim.start { "--time-scale", "0", "--fault-429", "1", "--fault-first", "1" }
local t0 = now()
local res = chat { model = "qwen3:8b", endpoint = r.url, retries = 0, messages = { { role = "user", content = "x" } } }
local ms = now() - t0
T.ok(res and res.attempts == 1 and res.overloads == 1, "a 429 then an answer: 1 attempt, 1 overload")
T.ok(ms >= 950 and ms < 3000, "...after its Retry-After: 1 (" .. math.floor(ms) .. " ms)")
r.stop()

-- the same back-pressure with an auto window (-c auto): the controller
-- learns its cap from the 503s, and each is still requeued at the front,
-- never spent as a retry
local a = sim.start { "--parallel", "2", "--max-queue", "0", "--fixed-latency-ms", "30" }
ollaeval.window(a.url, "auto")
local afails, aattempts, aover = 0, 0, 0
map((function()
    local n = 0
    return function() n = n + 1; if n <= 40 then return n end end
end)(), function()
    local r = chat { model = "qwen3:8b", endpoint = a.url, retries = 0,
        messages = { { role = "user", content = "w" } } }
    if not r then afails = afails + 1 return end
    aattempts, aover = aattempts + r.attempts, aover + r.overloads
end, { concurrency = 40 })
local _, _, _, amax, _, a_over, _, amode = ollaeval.window(a.url)
local ast = a.stats()
local asum = require("cjson").decode(ollaeval.window_summary(a.url))
T.eq(amode, "auto", "auto window: its mode is auto")
T.eq(afails, 0, "auto: 40 chats with retries = 0 through 2 slots and no queue: none fails")
T.eq(aattempts, 40, "...one attempt each: a 503 spends no retry in auto mode either")
T.ok(ast.http_503 > 0 and aover == ast.http_503 and a_over == ast.http_503,
    "...the server refused " .. ast.http_503 .. "; replies (" .. aover .. ") and window (" .. a_over .. ") count them")
T.ok(asum.n503 == ast.http_503 and asum.cap >= 1 and asum.cap <= 2,
    "...the controller saw every 503 (" .. asum.n503 .. ") and learned a cap of " .. asum.cap)
T.ok(amax <= 4, "...in flight at most slots + margin (" .. amax .. ")")
a.stop()

local ar = sim.start { "--time-scale", "0", "--fault-429", "1", "--fault-first", "1" }
ollaeval.window(ar.url, "auto")
local at0 = now()
local ares = chat { model = "qwen3:8b", endpoint = ar.url, retries = 0, messages = { { role = "user", content = "x" } } }
local ams = now() - at0
T.ok(ares and ares.attempts == 1 and ares.overloads == 1, "auto: a 429 then an answer: 1 attempt, 1 overload")
T.ok(ams >= 950 and ams < 3000, "...after its Retry-After: 1 (" .. math.floor(ams) .. " ms)")
ar.stop()

-- calls that wait cannot run inside a C call: a clear error, no state touched
local ok, err = pcall(table.sort, { 3, 1, 2 }, function(a, b) sleep(1) return a < b end)
T.ok(not ok and tostring(err):find("sleep%(%) cannot be called here"), "sleep() in a table.sort comparator: " .. tostring(err))
local ok2, err2 = pcall(string.gsub, "ab", "%w", function() return chat { model = "m", endpoint = "http://127.0.0.1:1",
    messages = { { role = "user", content = "x" } } } end)
T.ok(not ok2 and tostring(err2):find("http{} cannot be called here"), "chat{} in a gsub callback: " .. tostring(err2))
local c = sim.start { "--time-scale", "0" }
local res2 = chat { model = "qwen3:8b", endpoint = c.url, messages = { { role = "user", content = "x" } } }
T.ok(res2 and res2.content, "...and the task's next chat works (no request left behind)")
T.eq(ollaeval.stats().inflight + ollaeval.stats().queued, 0, "...nothing in flight or queued")
c.stop()

-- the window's modes through ollaeval.window (as -c: N fixed, "auto",
-- "auto:N"), the controller fed by streamed chat{} requests (window.jsonl
-- lines, the finding), and the requests an auto window does not gate
-- (http{} that does not stream goes out at once)
local cjson = require "cjson"

local sm = sim.start { "--parallel", "2", "--time-scale", "0.02", "--tokens-max", "150" }
local url = sm.url

local mlimit, _, _, _, _, _, _, mode = ollaeval.window(url, 3)
T.ok(mlimit == 3 and mode == "fixed", "window(url, 3): a fixed window of 3")
mlimit, _, _, _, _, _, _, mode = ollaeval.window(url, "auto:4")
T.eq(mode, "auto", "window(url, 'auto:4'): the controller")
T.ok(mlimit >= 1 and mlimit <= 4, "an auto window starts within its bound: " .. mlimit)
local okx, errx = pcall(ollaeval.window, url, "auto:x")
T.ok(not okx and tostring(errx):find("auto, auto:N or N"), "a bad size raises naming the forms")
T.eq((function() ollaeval.window("http://127.0.0.1:1", 2); return ollaeval.window_summary("http://127.0.0.1:1") end)(), nil, "a fixed window has no finding")

-- streamed chat{} requests feed the controller
ollaeval.window_log()
map({ 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12 }, function(i)
    local r, e = chat { endpoint = url, messages = { { role = "user", content = "q " .. i } }, model = "llama3.2:3b" }
    T.ok(r and r.ttft_ms == nil, "item " .. i .. ": answered, no stream metrics without --stream " .. tostring(e))
end, { concurrency = 12 })
local mst = sm.stats()
T.ok(mst.max_generating <= 2 and mst.max_queued <= 2, "at most slots at work and the margin queued: "
    .. mst.max_generating .. ", " .. mst.max_queued)
local text = ollaeval.window_log()
local n, last = 0, nil
for line in text:gmatch("[^\n]+") do
    n = n + 1
    last = cjson.decode(line)
end
T.ok(n >= 2 and last.endpoint and last.window and last.reason and last.unconfirmed, n .. " window changes logged")
T.eq(select(1, ollaeval.window_log()), "", "the log is drained once taken")
local f = cjson.decode(ollaeval.window_summary(url))
T.eq(f.slots, 2, "the finding: 2 slots (" .. f.text .. ")")

-- http{} without streaming is not gated: it goes out at once
local hr = http { url = url .. "/api/tags" }
T.eq(hr and hr.status, 200, "http{} in auto mode: sent at once")
sm.stop()
T.done()
