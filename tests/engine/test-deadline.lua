-- test-deadline.lua: a call's deadline holds while its request waits in the
-- window's FIFO, not only at a requeue or a retry: against one slot that
-- holds each request 1.5 s and a window of 1, the call in flight (a
-- deadline of 1.2 s) ends by then, its transfer cut to what is left, and
-- the two queued ones (0.6 s, so they pass while the first is still in
-- flight and nothing can send them) end by the window's timer, as kind
-- "deadline", saying they waited in the queue; nothing is left behind. A
-- deadline that does not pass changes nothing.
local T = require "tests.lib.tap"
local sim = require "tests.lib.sim"

local s = sim.start { "--parallel", "1", "--fixed-latency-ms", "1500", "--time-scale", "0" }
ollaeval.window(s.url, 1)
local out = {}
local function one(k, deadline)
    local t0 = now()
    local r, err, kind = chat { model = "qwen3:8b", endpoint = s.url, deadline = deadline, retries = 3,
        messages = { { role = "user", content = "q" .. k } } }
    out[k] = { ok = r ~= nil, err = err, kind = kind, ms = now() - t0 }
end
local ts = {}
for k = 1, 3 do ts[k] = spawn(one, k, k == 1 and 1.2 or 0.6) end
for _, t in ipairs(ts) do wait(t) end
T.ok(not out[1].ok and out[1].kind == "timeout" and out[1].err:find("deadline of 1.2 s", 1, true),
    "the call in flight ends as its deadline passes (" .. tostring(out[1].err) .. ")")
for k = 2, 3 do
    local o = out[k]
    T.eq(o.kind, "deadline", "queued call " .. k .. " ends as kind deadline")
    T.ok(o.err and o.err:find("waiting in the window's queue", 1, true) and o.err:find("raise --deadline", 1, true),
        "...its message says it waited in the queue and what to do (" .. tostring(o.err) .. ")")
end
for k = 1, 3 do
    local d = k == 1 and 1200 or 600
    T.ok(out[k].ms >= d - 50 and out[k].ms < (k == 1 and 1480 or 1150),
        string.format("call %d ended at its deadline of %d ms: %.0f ms (the slot is busy 1.5 s per request)", k, d,
            out[k].ms))
end
local _, inflight, queued = ollaeval.window(s.url)
T.ok(inflight == 0 and queued == 0, "nothing is left in the window (" .. inflight .. " in flight, " .. queued .. " queued)")

-- a deadline long enough: every call is answered, one after the other
sleep(1600) -- the slot frees (the first request above is still held by the server)
for k = 1, 2 do ts[k] = spawn(one, k, 10) end
for k = 1, 2 do wait(ts[k]) end
T.ok(out[1].ok and out[2].ok, "with a deadline of 10 s both queued calls are answered")
T.ok(out[2].ms > 2500, string.format("...the second after waiting for the first (%.0f ms)", out[2].ms))
s.stop()
T.done()
