-- test-backoff.lua: a retry's backoff does not hold a map worker's place.
-- With one worker (concurrency 1) and a window of 1, the first request
-- fails with a 500: while its item waits out the backoff, the next items
-- run in its place (they finish first), never more than one request in
-- flight; then it is retried and scored. The stand-in workers end with
-- the map (the idle check after this file finds no task left).
local T = require "tests.lib.tap"
local sim = require "tests.lib.sim"

local s = sim.start { "--fault-500", "1", "--fault-first", "1", "--fixed-latency-ms", "1" }
ollaeval.window(s.url, 1)
local done, attempts = {}, {}
local list = {}
for i = 1, 8 do list[i] = i end
local n = map(list, function(i)
    local r = chat { model = "qwen3:8b", endpoint = s.url, retries = 2, messages = { { role = "user", content = "q" .. i } } }
    done[#done + 1] = i
    attempts[i] = r and r.attempts
end, { concurrency = 1 })
T.eq(n, 8, "8 items taken")
T.eq(#done, 8, "...all 8 done")
T.eq(attempts[1], 2, "item 1 failed once (a 500) and was answered on its second attempt")
T.ok(done[1] ~= 1, "while item 1 waited out its backoff, other items ran in its place (done in order "
    .. table.concat(done, ",") .. ")")
local _, inflight, queued, max_inflight = ollaeval.window(s.url)
T.ok(max_inflight == 1 and inflight == 0 and queued == 0, "the window of 1 never had more than 1 in flight (" .. max_inflight .. ")")
T.eq(s.stats().http_500 or s.stats().faults["500"], 1, "the server failed exactly one request")
s.stop()
T.done()
