-- ollaeval.backends: how chat{} speaks to a server: Ollama's native API or
-- an OpenAI-compatible one. Per backend: the path, the stream format, the
-- request body, and the parser of an answer; plus which backend a URL
-- speaks, its headers (the API key) and the server's message in an error.
local cjson = require "cjson"
local cjson_safe = require "cjson.safe"
local options = require "ollaeval.options"
local D = require "ollaeval.defaults"

local floor = math.floor

local M = {}

local function api_key()
    local name = options.engine["api-key-env"] or D["api-key-env"]
    local k = os.getenv(name)
    return k ~= "" and k or nil
end

-- scrub(s) -> s without the API key's value (nor "Bearer <key>"): for every
-- server message before it is stored or shown
function M.scrub(s)
    local key = api_key()
    if type(s) ~= "string" or not key or #key < 4 then return s end
    local out, i = {}, 1
    while true do
        local a, b = s:find(key, i, true)
        if not a then break end
        local pre = s:sub(i, a - 1):gsub("Bearer%s*$", "")
        out[#out + 1] = pre .. "[API key]"
        i = b + 1
    end
    out[#out + 1] = s:sub(i)
    return table.concat(out)
end

-- headers(backend) -> the request headers (with the API key for openai)
function M.headers(backend)
    local h = { ["Content-Type"] = "application/json" }
    local key = backend == "openai" and api_key()
    if key then h["Authorization"] = "Bearer " .. key end
    return h
end

-- of(url) -> "ollama" or "openai": --api, else "openai" for a URL ending in /v1
local kind_of = {} -- url -> what its ending says
function M.of(url)
    local api = options.engine.api
    if api then return api end
    local k = kind_of[url]
    if not k then
        k = url:find("/v1$") and "openai" or "ollama"
        kind_of[url] = k
    end
    return k
end

-- url(B, url_base) -> the URL of backend B's chat endpoint at url_base
local urls = setmetatable({}, { __mode = "k" }) -- B -> url_base -> URL
function M.url(B, url_base)
    local of = urls[B]
    if not of then
        of = {}
        urls[B] = of
    end
    local u = of[url_base]
    if not u then
        u = url_base .. B.path
        of[url_base] = u
    end
    return u
end

-- server_message(body): the server's own message from an error body:
-- Ollama's {"error":"..."}, OpenAI-style {"error":{"message":...}}, vLLM's
-- old {"message":...}; else the body, shortened.
function M.server_message(body)
    return M.scrub(M.raw_message(body))
end

function M.raw_message(body)
    local j = cjson_safe.decode(body or "")
    if type(j) == "table" then
        local e = j.error
        if type(e) == "string" then return e end
        if type(e) == "table" and type(e.message) == "string" then return e.message end
        if type(j.message) == "string" then return j.message end
    end
    body = (body or ""):gsub("%s+", " ")
    if #body > 200 then body = body:sub(1, 200) .. "..." end
    return body
end

-- A token count from JSON (a float to cjson), as an integer; nil (unknown)
-- if absent: Ollama omits a zero count, and a missing count is not 0.
local tointeger = math.tointeger
local function count(v)
    local i = tointeger(v) -- (the usual case: a whole float)
    if i then return i end
    v = tonumber(v)
    return v and tointeger(floor(v)) or nil
end

local function effort(think)
    if think == true then return "medium" end
    if think == false then return "none" end
    return think
end

-- The backends by name: path, stream (format), body(req, model, stream,
-- think) (think: what to send for think, default req.think), parse(decoded
-- answer) -> fields or nil, err, final(done chunk) -> table. The fields
-- table is made with room for what chat{} adds to it (the nil fields of
-- the constructor size it; they are not set).
M.by_name = {
    ollama = {
        path = "/api/chat", stream = "ndjson",
        body = function(req, model, stream, think)
            if think == nil then think = req.think end
            -- truncate=false: a prompt longer than num_ctx is an error, never
            -- silently shortened (Ollama drops the oldest turns otherwise)
            return {
                model = model, messages = req.messages, stream = stream,
                options = req.options, think = think, format = req.format,
                keep_alive = req.keep_alive, truncate = false,
            }
        end,
        parse = function(j)
            local m = j.message
            if type(m) ~= "table" or type(m.content) ~= "string" then
                return nil, "the response has no message.content"
            end
            if j.done == false then return nil, "the response says done:false (not a whole answer)" end
            return {
                content = m.content,
                thinking = type(m.thinking) == "string" and m.thinking or nil,
                done_reason = type(j.done_reason) == "string" and j.done_reason or nil,
                prompt_tokens = count(j.prompt_eval_count),
                completion_tokens = count(j.eval_count),
                latency_ms = nil, request_ms = nil, ttfb_ms = nil, queued_ms = nil, attempts = nil,
                endpoint = nil, raw = nil, overloads = nil, model = nil,
            }
        end,
        final = function(f) -- the done:true chunk of a stream
            return cjson_safe.decode(f or "") or {}
        end,
    },
    openai = {
        path = "/chat/completions", stream = "sse",
        body = function(req, model, stream, think)
            if think == nil then think = req.think end
            local o = req.options or {}
            local b = {
                model = model, messages = req.messages, stream = stream,
                temperature = o.temperature, top_p = o.top_p, seed = o.seed, stop = o.stop,
            }
            -- reasoning models (OpenAI o-series) refuse max_tokens
            local mct = req.max_completion_tokens
            if mct == nil then mct = options.engine["max-completion-tokens"] end
            if mct then b.max_completion_tokens = o.num_predict else b.max_tokens = o.num_predict end
            if stream then b.stream_options = { include_usage = true } end
            if think ~= nil then b.reasoning_effort = effort(think) end
            if req.format == "json" then
                b.response_format = { type = "json_object" }
            elseif type(req.format) == "table" then
                b.response_format = { type = "json_schema", json_schema = { name = "answer", schema = req.format } }
            end
            return b
        end,
        parse = function(j)
            local c = type(j.choices) == "table" and j.choices[1]
            local m = type(c) == "table" and c.message
            if type(m) ~= "table" then return nil, "the response has no choices[1].message" end
            local content = m.content
            if content == cjson.null or content == nil then content = "" end
            if type(content) ~= "string" then return nil, "message.content is not a string" end
            local r = m.reasoning
            if type(r) ~= "string" then r = m.reasoning_content end
            local u = type(j.usage) == "table" and j.usage or {}
            local details = type(u.completion_tokens_details) == "table" and u.completion_tokens_details or {}
            return {
                content = content,
                thinking = type(r) == "string" and r or nil,
                done_reason = type(c.finish_reason) == "string" and c.finish_reason or nil,
                prompt_tokens = count(u.prompt_tokens),
                completion_tokens = count(u.completion_tokens),
                thinking_tokens = count(details.reasoning_tokens),
                latency_ms = nil, request_ms = nil, ttfb_ms = nil, queued_ms = nil, attempts = nil,
                endpoint = nil, raw = nil, overloads = nil, model = nil,
            }
        end,
        final = function() return {} end,
    },
}

return M
