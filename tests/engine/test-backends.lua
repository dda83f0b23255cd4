-- test-backends.lua: chat{} over each backend and stream format against
-- `ollaeval sim`: Ollama's /api/chat (JSON, NDJSON stream) and the
-- OpenAI-compatible /v1/chat/completions (JSON, SSE), reasoning fields,
-- streaming metrics, on_token, and every mid-stream fault.
local T = require "tests.lib.tap"
local sim = require "tests.lib.sim"

local msgs = { { role = "user", content = "Tell me about the sea." } }
local s = sim.start { "--time-scale", "0.02", "--tokens-max", "400" }

-- the same deterministic answer through all four paths
local ref
for _, api in ipairs { "ollama", "openai" } do
    for _, stream in ipairs { false, true } do
        local ep = api == "openai" and s.url .. "/v1" or s.url
        local what = api .. (stream and " streamed" or " plain")
        local r, err = chat { model = "qwen3:8b", endpoint = ep, stream = stream, think = true, messages = msgs }
        T.ok(r ~= nil, what .. ": answers (" .. tostring(err) .. ")")
        if r then
            ref = ref or r
            T.eq(r.content, ref.content, what .. ": same content")
            T.eq(r.thinking, ref.thinking, what .. ": same thinking, kept apart from content")
            T.ok(r.thinking and #r.thinking > 0 and not r.content:find("<think>", 1, true), what .. ": thinking is separate")
            T.eq(r.done_reason, "stop", what .. ": done_reason")
            T.eq(r.completion_tokens, ref.completion_tokens, what .. ": token counts")
            T.eq(math.type(r.completion_tokens), "integer", what .. ": counts are integers")
            if stream then
                T.ok(r.ttft_ms and r.ttft_ms > 0 and r.ttfc_ms and r.ttfc_ms >= r.ttft_ms,
                    what .. ": time to first token, then to first content token")
                T.ok(r.itl_ms and r.itl_ms > 0 and r.chunks > 10, what .. ": inter-token latency over " .. tostring(r.chunks) .. " chunks")
            end
        end
    end
end

-- num_predict caps the answer: done_reason "length" on both APIs
for _, ep in ipairs { s.url, s.url .. "/v1" } do
    local r = chat { model = "qwen3:8b", endpoint = ep, stream = true, options = { num_predict = 20 }, messages = msgs }
    T.eq(r and r.done_reason, "length", ep .. ": num_predict gives done_reason length")
end

-- the body's parts other than the messages are kept between requests
-- (chat.lua): a request that changes them (options, think, model, another
-- question) is sent as asked, each time, on both APIs
for _, ep in ipairs { s.url, s.url .. "/v1" } do
    local seq = {
        { n = 20, think = true, want = "length" }, { n = 20, think = true, want = "length" },
        { n = 2000, think = true, want = "stop" }, { n = 20, think = false, want = "length" },
        { n = 2000, think = false, want = "stop" }, { n = 20, think = true, want = "length" },
    }
    local why = {}
    for i, q in ipairs(seq) do
        local m = { { role = "user", content = (i % 2 == 0) and "Tell me about the sea." or "What is 6 times 7?" } }
        local r = chat { model = "qwen3:8b", endpoint = ep, think = q.think, options = { num_predict = q.n },
            messages = m }
        why[#why + 1] = tostring(r and r.done_reason)
        if not (r and r.done_reason == q.want) then why.bad = true end
    end
    T.ok(not why.bad, ep .. ": num_predict changed from request to request is the one sent (" .. table.concat(why, " ") .. ")")
    local a = chat { model = "qwen3:8b", endpoint = ep, messages = msgs }
    local b = chat { model = "llama3.2:3b", endpoint = ep, messages = msgs }
    local c = chat { model = "qwen3:8b", endpoint = ep, messages = msgs }
    T.ok(a and b and c and a.model == "qwen3:8b" and b.model == "llama3.2:3b" and c.model == "qwen3:8b",
        ep .. ": the model of each request is the one sent (" .. tostring(a and a.model) .. ", "
        .. tostring(b and b.model) .. ", " .. tostring(c and c.model) .. ")")
end

-- on_token sees the text as it arrives, and can stop the generation
local pieces, thoughts = {}, {}
local r = chat { model = "qwen3:8b", endpoint = s.url, think = true, messages = msgs,
    on_token = function(c, t) pieces[#pieces + 1] = c; thoughts[#thoughts + 1] = t end }
T.eq(table.concat(pieces), r.content, "on_token: the content deltas add up to the content")
T.eq(table.concat(thoughts), r.thinking, "on_token: the thinking deltas add up to the thinking")
local seen = 0
local stopped = chat { model = "qwen3:8b", endpoint = s.url, think = false, messages = msgs,
    on_token = function(c) seen = seen + 1; if seen == 3 then return false end end }
T.eq(stopped.done_reason, "stopped", "on_token returning false stops the generation")
T.ok(#stopped.content > 0 and #stopped.content < #ref.content, "a stopped answer keeps what came before")
T.eq(ollaeval.stats().inflight, 0, "the stopped request is no longer in flight")
s.stop()

-- llama-server's reasoning_content, and <think> in content
local s2 = sim.start { "--time-scale", "0", "--reasoning-field", "reasoning_content" }
for _, stream in ipairs { false, true } do
    local r2 = chat { model = "qwen3:8b", endpoint = s2.url .. "/v1", stream = stream, think = true, messages = msgs }
    T.ok(r2 and r2.thinking and #r2.thinking > 0, "reasoning_content is read into thinking" .. (stream and " (SSE)" or ""))
end
s2.stop()
local s3 = sim.start { "--time-scale", "0", "--think-in-content" }
local r3 = chat { model = "qwen3:8b", endpoint = s3.url, think = true, messages = msgs }
T.ok(r3 and r3.content:find("^<think>") and r3.thinking == nil, "--think-in-content: tags stay in content for the suite to split")
s3.stop()

-- mid-stream faults: a clean nil, err, never a partial answer taken as complete
local faults = {
    { "--fault-stream-error", "server", "error in the stream" },
    { "--fault-reset", nil, nil },
    { "--fault-truncate", nil, nil },
    { "--fault-close", "connection", nil },
    { "--fault-html", "http", "502" },
    { "--fault-500", "http", "500" },
}
for _, f in ipairs(faults) do
    local sf = sim.start { "--time-scale", "0", f[1], "1" }
    for _, api in ipairs { "ollama", "openai" } do
        for _, stream in ipairs { true, false } do
            local ep = api == "openai" and sf.url .. "/v1" or sf.url
            local rr, err, kind = chat { model = "qwen3:8b", endpoint = ep, stream = stream, retries = 0, messages = msgs }
            local what = f[1] .. " " .. api .. (stream and " streamed" or " plain")
            T.ok(rr == nil and type(err) == "string" and type(kind) == "string", what .. ": nil, err, kind (" .. tostring(kind) .. ": " .. tostring(err) .. ")")
            local mid = f[1] == "--fault-stream-error" and not stream -- before any byte: a plain 500
            if f[2] and not mid then T.eq(kind, f[2], what .. ": kind") end
            if f[3] and not mid then T.ok(err and err:find(f[3], 1, true), what .. ": message says '" .. f[3] .. "'") end
        end
    end
    sf.stop()
end

-- the idle timeout between chunks
local ss = sim.start { "--time-scale", "0.02", "--fault-stall", "1", "--stall-ms", "4000" }
local t0 = now()
local rs, es, ks = chat { model = "qwen3:8b", endpoint = ss.url, stream = true, idle_timeout = 1, retries = 0, messages = msgs }
T.eq(ks, "timeout", "a stalled stream hits the idle timeout (" .. tostring(es) .. ")")
T.ok(now() - t0 < 3500, "well before the stall ends")
ss.stop()

-- an API key goes in the Authorization header of OpenAI-style requests only
T.eq(ollaeval.headers_for("openai")["Authorization"], os.getenv("OPENAI_API_KEY") and ("Bearer " .. os.getenv("OPENAI_API_KEY")) or nil,
    "the key comes from OPENAI_API_KEY")
T.eq(ollaeval.headers_for("ollama")["Authorization"], nil, "no key to Ollama's native API")
T.eq(ollaeval.backend_of("http://h:1/v1"), "openai", "a URL ending in /v1 speaks the OpenAI API")
T.eq(ollaeval.backend_of("http://h:1"), "ollama", "otherwise Ollama's")
T.done()
