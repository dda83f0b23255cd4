-- test-window.lua: the endpoint window's modes through ollaeval.window (as
-- -c: N fixed, "auto", "auto:N"), the controller fed by streamed chat{}
-- requests (window.jsonl lines, the finding), and the requests an auto
-- window does not gate (http{} that does not stream goes out at once).
local T = require "tests.lib.tap"
local sim = require "tests.lib.sim"
local cjson = require "cjson"

local s = sim.start { "--parallel", "2", "--time-scale", "0.02", "--tokens-max", "150" }
local url = s.url

local limit, _, _, _, _, mode = ollaeval.window(url, 3)
T.ok(limit == 3 and mode == "fixed", "window(url, 3): a fixed window of 3")
limit, _, _, _, _, mode = ollaeval.window(url, "auto:4")
T.eq(mode, "auto", "window(url, 'auto:4'): the controller")
T.ok(limit >= 1 and limit <= 4, "an auto window starts within its bound: " .. limit)
local ok, err = pcall(ollaeval.window, url, "auto:x")
T.ok(not ok and tostring(err):find("auto, auto:N or N"), "a bad size raises naming the forms")
T.eq((function() ollaeval.window("http://127.0.0.1:1", 2); return ollaeval.window_summary("http://127.0.0.1:1") end)(), nil, "a fixed window has no finding")

-- streamed chat{} requests feed the controller
ollaeval.window_log()
map({ 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12 }, function(i)
    local r, e = chat { endpoint = url, messages = { { role = "user", content = "q " .. i } }, model = "llama3.2:3b" }
    T.ok(r and r.ttft_ms == nil, "item " .. i .. ": answered, no stream metrics without --stream " .. tostring(e))
end, { concurrency = 12 })
local st = s.stats()
T.ok(st.max_generating <= 2 and st.max_queued <= 2, "at most slots at work and the margin queued: "
    .. st.max_generating .. ", " .. st.max_queued)
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
local r = http { url = url .. "/api/tags" }
T.eq(r and r.status, 200, "http{} in auto mode: sent at once")
s.stop()
T.done()
