-- test-badserver.lua: what a server can send that is wrong, at the API
-- level, against `ollaeval sim` over real HTTP: a body over the cap, a 200
-- whose JSON lacks the fields of the API, an HTML error page, truncated
-- JSON. Each is `nil, err, kind` naming the URL, never a raise or a crash.
local T = require "tests.lib.tap"
local sim = require "tests.lib.sim"

local s = sim.start { "--time-scale", "0" }
local msgs = { { role = "user", content = "What is 2+2?" } }

-- a body larger than the cap
local r, err, kind = http { url = s.url .. "/api/tags", max_body = 100 }
T.eq(kind, "protocol", "a body over max_body: kind protocol (" .. tostring(err) .. ")")
T.ok(r == nil and type(err) == "string" and err:find("100", 1, true), "...the message gives the cap")
T.ok(err and err:find(s.url, 1, true), "...and names the URL")
r = http { url = s.url .. "/api/tags", max_body = 1 << 20 }
T.ok(r and r.status == 200, "the same body under the cap is fine")

-- a 200 with JSON that is not an Ollama chat response (an OpenAI body, here
-- reached through a query string that swallows the /api/chat suffix)
local _, e2, k2, info = chat { model = "qwen3:8b", endpoint = s.url .. "/v1/chat/completions?x=", api = "ollama",
    messages = msgs, retries = 0 }
T.eq(k2, "protocol", "a 200 without message.content: kind protocol (" .. tostring(e2) .. ")")
T.ok(e2 and e2:find("/v1/chat/completions", 1, true), "...the message names the URL")
T.eq(info and info.attempts, 1, "...one attempt with retries=0")
s.stop()

-- an HTML error page (nginx's 502): kind http, the status, the page shortened
local h = sim.start { "--time-scale", "0", "--fault-html", "1" }
local _, e3, k3, i3 = chat { model = "qwen3:8b", endpoint = h.url, messages = msgs, retries = 1 }
T.eq(k3, "http", "an HTML 502 page: kind http")
T.ok(e3 and e3:find("HTTP 502 from " .. h.url .. "/api/chat", 1, true), "...'HTTP 502 from URL': " .. tostring(e3))
T.ok(e3 and #e3 < 400 and not e3:find("\n"), "...on one short line")
T.eq(i3 and i3.attempts, 2, "...502 is retried (2 attempts with retries=1)")
T.eq(i3 and i3.status, 502, "...info.status is 502")
h.stop()

-- truncated JSON with a matching Content-Length
local t = sim.start { "--time-scale", "0", "--fault-truncate", "1" }
local _, e4, k4, i4 = chat { model = "qwen3:8b", endpoint = t.url, messages = msgs, retries = 2 }
T.eq(k4, "protocol", "truncated JSON: kind protocol (" .. tostring(e4) .. ")")
T.eq(i4 and i4.attempts, 3, "...retried")
t.stop()

T.done()
