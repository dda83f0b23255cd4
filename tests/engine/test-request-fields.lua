-- test-request-fields.lua: every field of a request is checked before
-- anything is allocated (run under ASan with detect_leaks=1 by
-- `make test-asan`: an error path that leaked would fail it), a request
-- never outlives an error in on_token, and a sleeping task can be woken.
local T = require "tests.lib.tap"
local sim = require "tests.lib.sim"
local core = require "ollaeval.core"

local s = sim.start { "--time-scale", "0.02", "--tokens-max", "200" }
local msgs = { { role = "user", content = "Tell me about the sea." } }

-- each bad field raises a message naming it, through http{} and core.request
local bad = {
    { "no url", {}, "'url' %(a string%) is required" },
    { "url not a string", { url = 1 }, "'url'" },
    { "method not a string", { url = s.url, method = 1 }, "'method'" },
    { "body not a string", { url = s.url, body = {} }, "'body'" },
    { "headers not a table", { url = s.url, headers = "x" }, "'headers'" },
    { "a header value that is a table", { url = s.url, headers = { X = {} } }, "header 'X' must be a string, got table" },
    { "a header name that is not a string", { url = s.url, headers = { "x" } }, "header names must be strings" },
    { "timeout not a number", { url = s.url, timeout = "9" }, "'timeout'" },
    { "connect_timeout not a number", { url = s.url, connect_timeout = "9" }, "'connect_timeout' must be a number of seconds" },
    { "idle_timeout not a number", { url = s.url, idle_timeout = {} }, "'idle_timeout' must be a number of seconds" },
    { "max_body not whole", { url = s.url, max_body = 1.5 }, "'max_body' must be a whole number" },
    { "max_body negative", { url = s.url, max_body = -1 }, "'max_body' must be a whole number" },
}
for _, case in ipairs(bad) do
    local what, spec, want = case[1], case[2], case[3]
    local ok, err = pcall(http, spec)
    T.ok(not ok and tostring(err):find(want), "http{}: " .. what .. " raises: " .. tostring(err))
    ok, err = pcall(core.request, spec)
    T.ok(not ok and tostring(err):find(want), "core.request: " .. what .. " raises: " .. tostring(err))
end
for _, f in ipairs { "bogus", 1 } do
    local ok, err = pcall(core.request, { url = s.url, stream = f })
    T.ok(not ok and err:find("'stream' must be \"ndjson\" or \"sse\""), "core.request: stream=" .. tostring(f) .. " raises")
end
local ok, err = pcall(core.request, "x")
T.ok(not ok and err:find("table expected"), "core.request without a table raises")
ok, err = pcall(core.request_next)
T.ok(not ok and err:find("no request in progress"), "request_next without a request raises")

-- a request inside on_token raises (the task has one in progress), and the
-- streamed request does not outlive the error
ok, err = pcall(chat, { model = "qwen3:8b", endpoint = s.url, messages = msgs,
    on_token = function() http { url = s.url .. "/api/version" } end })
T.ok(not ok and tostring(err):find("already has a request in progress"), "http{} inside on_token raises: " .. tostring(err))
local st = ollaeval.stats()
T.eq(st.inflight + st.queued, 0, "the streamed request ended with the error")
ok, err = pcall(chat, { model = "qwen3:8b", endpoint = s.url, messages = msgs,
    on_token = function() error("boom") end })
T.ok(not ok and tostring(err):find("boom"), "an error in on_token comes out of chat{}")
local r, cerr = chat { model = "qwen3:8b", endpoint = s.url, messages = msgs }
T.ok(r and #r.content > 0, "the task makes requests again afterwards: " .. tostring(cerr))

-- the same in a task that ends with the error: its request is released
local t = spawn(function()
    chat { model = "qwen3:8b", endpoint = s.url, messages = msgs, on_token = function() error("late", 0) end }
end)
local tok, terr = wait(t)
T.ok(not tok and tostring(terr):find("late"), "a task whose on_token raises fails with that error")
st = ollaeval.stats()
T.eq(st.inflight + st.queued, 0, "and leaves no request behind")

-- streamed text through core.request + core.request_next
core.request { method = "POST", url = s.url .. "/api/chat", stream = "ndjson", progress = true,
    body = '{"model":"qwen3:8b","messages":[{"role":"user","content":"hi"}]}' }
local texts, what, res = 0, nil, nil
repeat
    local a, b = core.request_next()
    what = a
    if a == "text" then texts = texts + 1 else res = b end
until what == "done"
T.ok(texts > 0, "request_next gives \"text\" as it arrives (" .. texts .. " times)")
T.ok(res and res.status == 200 and #res.stream.content > 0, "then \"done\" with the response")

-- wake: a sleeper resumes at once, its sleep() saying so
local t0 = now()
local sleeper = spawn(function() return sleep(60000) end)
sleep(5)
T.eq(wake(sleeper), true, "wake() wakes a sleeping task")
local wok, woken = wait(sleeper)
T.ok(wok and woken == true and now() - t0 < 5000, "its sleep() returns true, early")
T.eq(wake(sleeper), false, "a task that is not sleeping is not woken")
T.eq(sleep(1), nil, "a sleep that runs out returns nothing")

s.stop()
T.done()
