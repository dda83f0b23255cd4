-- ollaeval.chat: chat{}: one attempt (send, stream, parse) and the retry
-- policy around it (which failures are retried, the backoff, the endpoint
-- of the next attempt, the window adaptation).
local cjson = require "cjson"
local cjson_safe = require "cjson.safe"
local core = require "ollaeval.core"
local options = require "ollaeval.options"
local backends = require "ollaeval.backends"
local endpoints = require "ollaeval.endpoints"
local cache = require "ollaeval.cache"
local checkfield = require("ollaeval.http").checkfield
local D = require "ollaeval.defaults"

local min, random = math.min, math.random
local format, concat = string.format, table.concat
local server_message = backends.server_message

local M = {}

-- HTTP statuses worth another attempt.
local RETRY_STATUS = { [429] = true, [500] = true, [502] = true, [503] = true, [504] = true }

-- The first retry waits BACKOFF_MS (with jitter), each next one twice as
-- long, up to 30 s. OLLAEVAL_BACKOFF_MS changes the base (tests use a few ms).
local BACKOFF_MS = tonumber(os.getenv("OLLAEVAL_BACKOFF_MS") or "") or D["backoff-ms"]

local function retry_delay(attempt, res)
    local ra = res and res.retry_after
    if ra then return min(ra * 1000, 60000) end
    local base = min(BACKOFF_MS * 2 ^ (attempt - 1), 30000)
    return base * (0.5 + random() * 0.5)
end

-- Takes the rest of a cancelled streamed request: its end.
local function drain()
    while true do
        local what, res, err, kind = core.request_next()
        if what == "done" then return res, err, kind end
    end
end

-- A streamed request whose text goes to on_token as it arrives. Returns
-- res or nil, err, kind, like core.request, and whether on_token stopped it.
local function streamed(spec, on_token)
    spec.progress = true
    core.request(spec)
    local acc_c, acc_t = {}, {}
    while true do
        local what, a, b, c = core.request_next()
        if what == "done" then return a, b, c, nil end
        acc_c[#acc_c + 1], acc_t[#acc_t + 1] = a, b
        local ok, go = pcall(on_token, a, b)
        if not ok then -- the request must not outlive the error
            core.request_cancel()
            drain()
            error(go, 0)
        end
        if go == false then
            core.request_cancel()
            drain()
            return nil, nil, nil, { content = concat(acc_c), thinking = concat(acc_t) }
        end
    end
end

-- One attempt: sends, waits (passing streamed text to on_token), and
-- returns fields, nil, nil, res, raw  or  nil, err, kind, res.
local function attempt(backend, url, body, req, stream)
    local B = backends.by_name[backend]
    local O = options.engine
    local spec = {
        method = "POST", url = url, body = body, headers = backends.headers(backend),
        timeout = req.timeout or O.timeout, connect_timeout = D["connect-timeout"],
        idle_timeout = stream and (req.idle_timeout or O["idle-timeout"]) or nil,
        stream = stream and B.stream or nil,
    }
    local res, err, kind, stopped
    if stream and req.on_token then
        res, err, kind, stopped = streamed(spec, req.on_token)
    else
        res, err, kind = core.request(spec)
    end
    if stopped then
        return { content = stopped.content, thinking = stopped.thinking, done_reason = "stopped",
                 prompt_tokens = 0, completion_tokens = 0 }, nil, nil, nil
    end
    if not res then return nil, kind .. ": " .. err, kind, nil end
    if res.status ~= 200 then
        return nil, format("HTTP %d from %s: %s", res.status, url, server_message(res.body)), "http", res
    end
    if stream then
        local s = res.stream
        local f = B.final(s.final)
        return {
            content = s.content, thinking = s.thinking, done_reason = s.done_reason,
            prompt_tokens = s.prompt_tokens, completion_tokens = s.completion_tokens,
            ttft_ms = s.ttft_ms, ttfc_ms = s.ttfc_ms, itl_ms = s.itl_ms, chunks = s.chunks,
        }, nil, nil, res, f
    end
    local j, jerr = cjson_safe.decode(res.body)
    if type(j) ~= "table" then
        return nil, format("protocol: invalid JSON from %s: %s", url, jerr or "not an object"), "protocol", res
    end
    if j.error ~= nil and j.error ~= cjson.null then
        return nil, "server: " .. server_message(res.body), "server", res
    end
    local fields, perr = B.parse(j)
    if not fields then return nil, format("protocol: %s: %s", url, perr), "protocol", res end
    return fields, nil, nil, res, j
end

-- chat{messages=, model=, options=, think=, format=, endpoint=, timeout=,
-- retries=, stream=, on_token=, sample=, cache=} -> response or nil, err,
-- kind, info (docs/api.md). Retries what can be retried, on another endpoint
-- when there are several; shrinks an overloaded endpoint's window. With
-- --cache, an identical request is answered from the cache (ollaeval.cache:
-- cache.lookup before sending, cache.store after a success).
function M.chat(req)
    options.check_help()
    if type(req) ~= "table" then error("chat{}: expected a table", 2) end
    if type(req.messages) ~= "table" or #req.messages == 0 then
        error("chat{}: 'messages' must be a non-empty list of {role=, content=}", 2)
    end
    for i, m in ipairs(req.messages) do
        if type(m) ~= "table" or type(m.role) ~= "string" or type(m.content) ~= "string" then
            error(format("chat{}: messages[%d] must be {role=string, content=string}", i), 2)
        end
    end
    checkfield(req, "options", "table", "chat{}")
    checkfield(req, "on_token", "function", "chat{}")
    checkfield(req, "cache", "boolean", "chat{}")
    if req.sample ~= nil and (math.type(req.sample) ~= "integer" or req.sample < 1) then
        error("chat{}: 'sample' must be a whole number >= 1 (the sample index)", 2)
    end
    local O = options.engine
    local model = req.model or O.model
    if not model then error("chat{}: no model: pass -m NAME or chat{model=...}", 2) end
    local stream = req.stream
    if stream == nil then stream = O.stream or req.on_token ~= nil end
    local retries = req.retries or O.retries
    local info = { attempts = 0 }
    local t0 = core.now()
    local hit, ckey = cache.lookup(req, model)
    if hit then
        hit.latency_ms = core.now() - t0
        return hit
    end
    local endpoint = req.endpoint
    local fields, err, kind, res, raw
    while true do
        info.attempts = info.attempts + 1
        local url_base = req.endpoint or endpoints.pick(endpoint)
        endpoint = url_base
        local backend = req.api or backends.of(url_base)
        local B = backends.by_name[backend] or error("chat{}: unknown api '" .. tostring(backend) .. "'", 2)
        local body = cjson.encode(B.body(req, model, stream and true or false))
        local url = url_base .. B.path
        fields, err, kind, res, raw = attempt(backend, url, body, req, stream)
        if res then
            info.status, info.ms, info.ttfb_ms, info.queued_ms = res.status, res.total_ms, res.ttfb_ms, res.queued_ms
        end
        local retry = false
        if fields then
            endpoints.coped(url_base)
            endpoints.ok(url_base)
            break
        elseif kind == "http" then
            info.server_message = server_message(res.body)
            if res.status == 503 or res.status == 429 then endpoints.overloaded(url_base) end
            retry = RETRY_STATUS[res.status] or false
        elseif kind == "connection" or kind == "timeout" then
            endpoints.failed(url_base)
            retry = true
        elseif kind == "protocol" or kind == "server" then
            retry = true
        end
        if not retry or info.attempts > retries or core.interrupted() > 0 then
            info.endpoint = url_base
            return nil, err, kind, info
        end
        core.sleep(retry_delay(info.attempts, res))
    end
    fields.latency_ms = core.now() - t0
    fields.request_ms, fields.ttfb_ms, fields.queued_ms = info.ms, info.ttfb_ms, info.queued_ms
    fields.attempts, fields.endpoint, fields.raw = info.attempts, endpoint, raw
    fields.model = type(raw) == "table" and raw.model or model
    cache.store(ckey, fields)
    return fields
end

return M
