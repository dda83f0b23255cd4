-- test-engine.lua: the Lua API of the engine against `ollaeval sim` over
-- real HTTP on loopback: chat{}, http{}, failures as nil, err, kind, the
-- sliding window, queue time outside the timeout, tasks, map, jsonl.
local T = require "tests.lib.tap"
local sim = require "tests.lib.sim"
local cjson = require "cjson"

local s = sim.start { "--parallel", "64", "--fixed-latency-ms", "100" }

-- chat{} at top level: the script's chunk is itself a task
local r, err, kind = chat { model = "qwen3:8b", endpoint = s.url,
    messages = { { role = "user", content = "What is 2+2?" } } }
T.ok(r ~= nil, "chat{} answers: " .. tostring(err))
if r then
    T.ok(type(r.content) == "string" and #r.content > 0, "response has content")
    T.eq(r.done_reason, "stop", "done_reason is stop")
    T.ok(r.prompt_tokens > 0 and r.completion_tokens > 0, "token counts are read")
    T.ok(r.latency_ms >= 100, "latency includes the server's 100 ms")
    T.eq(r.attempts, 1, "one attempt")
    T.eq(type(r.raw), "table", "raw response kept")
end

-- http{}: the raw primitive
local v = http { url = s.url .. "/api/version" }
T.ok(v and v.status == 200, "http{} GET /api/version")
T.ok(v and v.headers["content-type"]:find("application/json", 1, true), "headers are parsed, lowercased")
T.ok(v and cjson.decode(v.body).version, "body is the server's")

-- failures come back as nil, err, kind
local _, e1, k1 = http { url = "http://127.0.0.1:1/", timeout = 2 }
T.eq(k1, "connection", "refused connection: kind 'connection'")
T.ok(e1 and e1:find("127.0.0.1:1", 1, true), "the message names the URL")

local _, e2, k2, info = chat { model = "nosuch:model", endpoint = s.url,
    messages = { { role = "user", content = "hi" } } }
T.eq(k2, "http", "unknown model: kind 'http'")
T.ok(e2 and e2:find("404", 1, true) and e2:find("not found", 1, true), "message has the status and the server's text: " .. tostring(e2))
T.eq(info and info.attempts, 1, "404 is not retried")

local _, e3, k3 = http { url = s.url .. "/api/chat", method = "POST", timeout = 0.03,
    body = cjson.encode { model = "qwen3:8b", stream = false, messages = { { role = "user", content = "x" } } } }
T.eq(k3, "timeout", "a slow answer past the timeout: kind 'timeout' (" .. tostring(e3) .. ")")

T.ok(not pcall(chat, { messages = "nope" }), "misuse raises")
T.ok(not pcall(http, {}), "http{} without url raises")

-- the sliding window: at most N in flight, the next starts as one ends
ollaeval.window(s.url, 8)
local t0 = now()
local n = 0
map(function() n = n + 1; if n <= 40 then return n end end, function()
    local ok = chat { model = "qwen3:8b", endpoint = s.url, messages = { { role = "user", content = "w" } } }
    assert(ok, "chat failed in map")
end, { concurrency = 40 })
local wall = now() - t0
local limit, inflight, queued, max_inflight = ollaeval.window(s.url)
T.eq(max_inflight, 8, "never more than 8 requests in flight")
local st = s.stats()
T.ok(st.max_generating <= 8, "the server saw at most 8 at once: " .. tostring(st.max_generating))
-- 40 requests of 100 ms through 8 slots: 5 rounds; batch-and-wait would be the
-- same here, so the next check uses uneven latencies
T.ok(wall >= 500, "40 x 100 ms through 8 slots takes at least 500 ms: " .. math.floor(wall))

-- queue time is not request time: 3 requests of 100 ms through one slot,
-- each with a 350 ms timeout, all succeed (the last waits 200 ms queued)
ollaeval.window(s.url, 1)
local tasks = {}
for i = 1, 3 do
    tasks[i] = spawn(function()
        return chat { model = "qwen3:8b", endpoint = s.url, timeout = 0.35, retries = 0,
            messages = { { role = "user", content = "q" .. i } } }
    end)
end
for i, t in ipairs(tasks) do
    local ok, res, cerr = wait(t)
    T.ok(ok and res ~= nil, "queued request " .. i .. " not timed out by its wait: " .. tostring(cerr))
end

-- tasks: results, errors with tracebacks, isolation
local a = spawn(function(x, y) sleep(10) return x + y, "two" end, 40, 2)
local b = spawn(function() error("boom in b") end)
local c = spawn(function() sleep(20) return "c survives" end)
local ok, sum, two = wait(a)
T.ok(ok and sum == 42 and two == "two", "wait returns ok and every result")
local okb, tb = wait(b)
T.ok(not okb and tb:find("boom in b", 1, true) and tb:find("stack traceback", 1, true), "an error comes with its traceback")
T.eq(select(2, wait(c)), "c survives", "an error in one task does not stop another")
T.ok(not pcall(wait, "x"), "wait on a non-task raises")
local co = coroutine.wrap(function() return pcall(sleep, 1) end)
T.eq(co(), false, "sleep in a plain coroutine raises instead of hanging")

-- map: bounded live tasks over a lazy iterator
local produced, live, max_live = 0, 0, 0
map(function()
    produced = produced + 1
    if produced <= 2000 then return produced end
end, function(i)
    live = live + 1
    if live > max_live then max_live = live end
    sleep(0)
    live = live - 1
end, { concurrency = 16 })
T.eq(max_live, 16, "map keeps exactly 16 items live")
T.eq(produced, 2001, "map pulls the iterator to its end")
local errs = {}
map({ 1, 2, 3 }, function(i) if i == 2 then error("item two") end end,
    { on_error = function(item, idx, tb) errs[#errs + 1] = { item, tb } end })
T.ok(#errs == 1 and errs[1][1] == 2 and errs[1][2]:find("item two", 1, true), "map hands an item's error to on_error")

-- jsonl: streams, names FILE:LINE on a malformed line
local path = os.tmpname()
local f = io.open(path, "w")
f:write('{"a":1}\n\n{"a":2}\n{"a":\n')
f:close()
local got, lerr = {}, nil
local okj, jerr = pcall(function() for item, ln in jsonl(path) do got[#got + 1] = ln end end)
T.ok(not okj and jerr:find(path .. ":4:", 1, true), "malformed line 4 is named: " .. tostring(jerr))
T.eq(#got, 2, "lines before it were read")
os.remove(path)

s.stop()
T.done()
