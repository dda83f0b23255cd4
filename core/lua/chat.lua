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
local answered = require "ollaeval.answered"
local tasks = require "ollaeval.tasks"
local checkfield = require("ollaeval.http").checkfield
local D = require "ollaeval.defaults"

local min, max, random, mtype = math.min, math.max, math.random, math.type
local format, concat = string.format, table.concat
local server_message = backends.server_message

local M = {}

-- What to do about an account out of quota (a 429 with insufficient_quota,
-- or a 402): waiting does not help, so the request fails at once.
local QUOTA_HINT = "out of quota: the account behind %s has no credit or quota left, so waiting will "
    .. "not help; add credit or raise the limit with the provider (or pass another key or -e endpoint), "
    .. "then redo these items: re-run with -o RUN (or --retry-errors)"

-- HTTP statuses worth another attempt (a real failure: spends a retry).
-- 503 and 429 are overload, not failure: the request waits in its window's
-- FIFO (req.c) until the per-call deadline, spending no retry.
local RETRY_STATUS = { [500] = true, [502] = true, [504] = true }

-- The first retry waits BACKOFF_MS (with jitter), each next one twice as
-- long, up to 30 s. OLLAEVAL_BACKOFF_MS changes the base (tests use a few ms).
local BACKOFF_MS = tonumber(os.getenv("OLLAEVAL_BACKOFF_MS") or "") or D["backoff-ms"]

local function retry_delay(attempt, res)
    local ra = res and res.retry_after -- > 0 when given (lapi.c: seconds or an HTTP-date)
    if ra and ra > 0 then return min(ra * 1000, 60000) end
    local base = min(BACKOFF_MS * 2 ^ (attempt - 1), 30000)
    return base * (0.5 + random() * 0.5)
end

-- Takes the rest of a cancelled streamed request: its end.
local function drain()
    while true do
        local what, res, err, kind, over = core.request_next()
        if what == "done" then return res, err, kind, over end
    end
end

-- A streamed request whose text goes to on_token as it arrives. Returns
-- res or nil, err, kind, like core.request, and whether on_token stopped it.
local function streamed(spec, on_token)
    spec.progress = true
    core.request(spec)
    local acc_c, acc_t = {}, {}
    while true do
        local what, a, b, c, d = core.request_next()
        if what == "done" then return a, b, c, nil, d end
        acc_c[#acc_c + 1], acc_t[#acc_t + 1] = a, b
        local ok, go = pcall(on_token, a, b)
        if not ok then -- the request must not outlive the error
            core.request_cancel()
            drain()
            error(go, 0)
        end
        if go == false then
            core.request_cancel()
            local _, _, _, over = drain()
            return nil, nil, nil, { content = concat(acc_c), thinking = concat(acc_t) }, over
        end
    end
end

-- ---- Ollama's defaults, made explicit ----

-- Options Ollama loads the model with: a change reloads it (protocols.md
-- §3.4), so each must stay the same for a model during the run.
local LOAD_TIME = { "num_ctx", "num_batch", "num_gpu", "num_thread", "main_gpu", "use_mmap",
    "use_mlock", "draft_num_predict" }
local NLOAD = #LOAD_TIME
local load_seen = {} -- endpoint -> model -> {option -> value}

-- t[k], made an empty table on first use (the per-URL level of the caches below)
local function sub(t, k)
    local v = t[k]
    if not v then
        v = {}
        t[k] = v
    end
    return v
end

local function check_load_time(url_base, model, o)
    local by_model = sub(load_seen, url_base)
    local seen = by_model[model]
    if not seen then
        seen = {}
        for i = 1, NLOAD do local k = LOAD_TIME[i] seen[k] = o and o[k] end
        by_model[model] = seen
        return
    end
    -- the usual case first: the same values as before (LOAD_TIME, spelt out)
    if o == nil then
        if next(seen) == nil then return end -- none sent, none seen
    elseif o.num_ctx == seen.num_ctx and o.num_batch == seen.num_batch and o.num_gpu == seen.num_gpu
        and o.num_thread == seen.num_thread and o.main_gpu == seen.main_gpu and o.use_mmap == seen.use_mmap
        and o.use_mlock == seen.use_mlock and o.draft_num_predict == seen.draft_num_predict then
        return
    end
    for i = 1, NLOAD do
        local k = LOAD_TIME[i]
        local v = o and o[k]
        if v ~= seen[k] then
            error(format("chat{}: options.%s is %s, but earlier requests to %s at %s sent %s: it is a "
                .. "load-time option (Ollama reloads the model when it changes); keep it the same for "
                .. "the whole run", k, tostring(v), model, url_base, tostring(seen[k])), 3)
        end
    end
end

-- The server's default for think, made explicit: Ollama turns thinking on
-- by itself for a model whose /api/show capabilities has "thinking"; we say
-- so in every request instead (true, else false). nil when the server is
-- not Ollama (no /api/show). Cached per server and model.
local think_cache = {} -- root URL -> model -> true | false | "none" | "pending"
local root_of = {} -- endpoint URL -> its root (without /v1)

local function default_think(url_base, model)
    local root = root_of[url_base]
    if not root then
        root = url_base:gsub("/v1$", "")
        root_of[url_base] = root
    end
    local by_model = sub(think_cache, root)
    local v = by_model[model]
    if v == true or v == false then return v end
    while v == "pending" do
        core.sleep(10)
        v = by_model[model]
    end
    if v == nil then
        by_model[model] = "pending"
        local res = core.request { method = "POST", url = root .. "/api/show", timeout = 30,
            body = cjson.encode { model = model }, headers = { ["Content-Type"] = "application/json" },
            userpwd = endpoints.userpwd(url_base) }
        local j = res and res.status == 200 and cjson_safe.decode(res.body)
        if type(j) == "table" and type(j.capabilities) == "table" then
            v = false
            for _, c in ipairs(j.capabilities) do if c == "thinking" then v = true end end
        elseif res then
            -- not Ollama (or it does not know the model: the chat's own 404
            -- says so): send nothing
            v = "none"
        else
            by_model[model] = nil -- no answer: ask again next time
            return nil
        end
        by_model[model] = v
    end
    if v == "none" then return nil end
    return v
end

-- Errors that say the prompt does not fit the context (Ollama with
-- truncate=false, llama-server, vLLM): not retried, kind "context".
local function context_error(msg)
    return msg:find("exceeds the context length", 1, true) or msg:find("exceeds the available context size", 1, true)
        or msg:find("maximum context length", 1, true) or msg:find("context_length_exceeded", 1, true)
end

-- One attempt: sends, waits (passing streamed text to on_token), and
-- returns fields, nil, nil, res, raw  or  nil, err, kind, res. stream: the
-- request streams on the wire (asked for, or the endpoint's window is auto
-- and counts first tokens); record: the caller asked for streaming, so the
-- stream's timings are part of the answer. left_s: the seconds left of the
-- call's deadline (the request is requeued on 503/429 until then).
local headers_of = {} -- backend -> its request headers (read by core.request only)
-- The spec of every attempt: core.request reads each field of it before it
-- returns or yields (lapi.c) and keeps none, so one table serves them all,
-- each field set anew for each attempt.
local spec = { method = "POST", url = nil, body = nil, headers = nil, userpwd = nil, timeout = nil,
               connect_timeout = nil, idle_timeout = nil, stream = nil, requeue = true, deadline = nil,
               progress = nil }

local function attempt(backend, url_base, url, body, req, stream, record, left_s)
    local B = backends.by_name[backend]
    local O = options.engine
    local headers = headers_of[backend]
    if not headers then
        headers = backends.headers(backend)
        headers_of[backend] = headers
    end
    local left = max(left_s, 0.001)
    spec.url, spec.body, spec.headers, spec.userpwd = url, body, headers, endpoints.userpwd(url_base)
    spec.timeout, spec.connect_timeout = min(req.timeout or O.timeout, left), D["connect-timeout"]
    spec.idle_timeout = stream and (req.idle_timeout or O["idle-timeout"]) or nil
    spec.stream, spec.deadline, spec.progress = stream and B.stream or nil, left, nil
    local res, err, kind, stopped, over
    if stream and req.on_token then
        res, err, kind, stopped, over = streamed(spec, req.on_token)
    else
        res, err, kind, over = core.request(spec)
    end
    if stopped then
        return { content = stopped.content, thinking = stopped.thinking, done_reason = "stopped",
                 prompt_tokens = nil, completion_tokens = nil }, nil, nil, { overloads = over }
    end
    -- a failure without a response still says how many overloads it waited out
    if not res then return nil, kind .. ": " .. err, kind, { overloads = over, failed = true } end
    if res.status ~= 200 then
        local msg = server_message(res.body)
        if res.status == 400 and context_error(msg) then
            return nil, format("context: HTTP 400 from %s: %s (the prompt does not fit the model's context: "
                .. "raise num_ctx, e.g. --num-ctx, or shorten the prompt)", url, msg), "context", res
        end
        if res.out_of_quota or res.status == 402 then
            return nil, format("quota: HTTP %d from %s: %s (" .. QUOTA_HINT .. ")", res.status,
                answered.where(url, res), msg, url_base), "quota", res
        end
        return nil, format("HTTP %d from %s: %s", res.status, answered.where(url, res), msg), "http", res
    end
    if stream and res.stream then
        local s = res.stream
        local f = B.final(s.final)
        local fields = {
            content = s.content, thinking = s.thinking, done_reason = s.done_reason,
            prompt_tokens = s.prompt_tokens, completion_tokens = s.completion_tokens,
        }
        if record then
            fields.ttft_ms, fields.ttfc_ms, fields.itl_ms, fields.chunks = s.ttft_ms, s.ttfc_ms, s.itl_ms, s.chunks
        end
        return fields, nil, nil, res, f
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
    -- a server that ignored stream:true answered in one body (http.c saw
    -- it): an answer like any other, its text given to on_token at once
    if stream and req.on_token then req.on_token(fields.content, fields.thinking or "") end
    return fields, nil, nil, res, j
end

-- The info of a failed call (docs/api.md): made only then.
local function info_of(endpoint, attempts, overloads, status, ms, ttfb_ms, queued_ms, server_msg)
    return { attempts = attempts, overloads = overloads, status = status, ms = ms, ttfb_ms = ttfb_ms,
             queued_ms = queued_ms, endpoint = endpoint, server_message = server_msg }
end

-- chat{messages=, model=, options=, think=, format=, endpoint=, timeout=,
-- deadline=, retries=, stream=, on_token=, sample=, cache=} -> response or
-- nil, err, kind, info (docs/api.md). Retries what can be retried, on another
-- endpoint when there are several; shrinks an overloaded endpoint's window.
-- With --cache, an identical request is answered from the cache
-- (ollaeval.cache: cache.lookup before sending, cache.store after a success).
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
    -- (checkfield raises for the caller; called only for a field of another type)
    local ro = req.options
    if ro ~= nil and type(ro) ~= "table" then checkfield(req, "options", "table", "chat{}") end
    local ka = req.keep_alive
    if ka ~= nil and (ka == 0 or ka == "0" or (type(ka) == "string" and ka:match("^0+[smh]?$"))) then
        error("chat{}: keep_alive=0 unloads the model for every client of the server after this request; "
            .. "leave it out (the server's default) or give a duration", 2)
    end
    local v = req.on_token
    if v ~= nil and type(v) ~= "function" then checkfield(req, "on_token", "function", "chat{}") end
    v = req.deadline
    if v ~= nil and type(v) ~= "number" then checkfield(req, "deadline", "number", "chat{}") end
    v = req.cache
    if v ~= nil and type(v) ~= "boolean" then checkfield(req, "cache", "boolean", "chat{}") end
    v = req.sample
    if v ~= nil and (mtype(v) ~= "integer" or v < 1) then
        error("chat{}: 'sample' must be a whole number >= 1 (the sample index)", 2)
    end
    local O = options.engine
    local model = req.model or O.model
    if not model then error("chat{}: no model: pass -m NAME or chat{model=...}", 2) end
    local stream = req.stream
    if stream == nil then stream = O.stream or req.on_token ~= nil end
    local retries = req.retries or O.retries
    -- how the call goes: the info of a failure (info_of), the figures of an answer
    local attempts, overloads, status, ms, ttfb_ms, queued_ms, smsg = 0, 0, nil, nil, nil, nil, nil
    local t0 = core.now()
    local hit, ckey = cache.lookup(req, model)
    if hit then
        hit.latency_ms = core.now() - t0
        return hit
    end
    local deadline_s = req.deadline or O.deadline
    local endpoint = req.endpoint
    local fields, err, kind, res, raw
    local waited = 0 -- ms the attempts waited in the window's FIFO before their first send
    while true do
        attempts = attempts + 1
        local paused = endpoints.paused()
        if paused then
            return nil, paused, "paused", info_of(endpoint, attempts, overloads, status, ms, ttfb_ms, queued_ms, smsg)
        end
        local url_base = req.endpoint or endpoints.pick(endpoint)
        endpoint = url_base
        local backend = req.api or backends.of(url_base)
        local B = backends.by_name[backend] or error("chat{}: unknown api '" .. tostring(backend) .. "'", 2)
        check_load_time(url_base, model, ro)
        local think = req.think
        if think == nil then think = default_think(url_base, model) end
        -- an auto window counts first tokens: the request streams on the wire
        local wire = stream or endpoints.auto(url_base)
        local body = cjson.encode(B.body(req, model, wire and true or false, think))
        local url = backends.url(B, url_base)
        local left_s = deadline_s - (core.now() - t0) / 1000
        fields, err, kind, res, raw = attempt(backend, url_base, url, body, req, wire, stream, left_s)
        if res then overloads = overloads + (res.overloads or 0) end
        if res and res.failed then res = nil end
        if res then
            status, ms, ttfb_ms, queued_ms = res.status, res.total_ms, res.ttfb_ms, res.queued_ms
            waited = waited + (res.queued_ms or 0)
        end
        local retry = false
        if fields then
            endpoints.ok(url_base)
            break
        elseif kind == "http" then
            smsg = server_message(res.body)
            if res.status == 503 or res.status == 429 then
                -- requeued by req.c until the deadline: now it has passed
                err = format("%s (overloaded: %d replies of 503/429 within the deadline of %g s; "
                    .. "lower -c, or raise --deadline)", err, overloads + 1, deadline_s)
            end
            retry = RETRY_STATUS[res.status] or false
        elseif kind == "connection" then
            retry = true
            -- refused or unresolvable (not a reset mid-answer): may pause the run
            local refused = err:find("Couldn't connect", 1, true) or err:find("resolve host", 1, true)
            local p = endpoints.failed(url_base, refused and "refused" or kind)
            if p then
                return nil, p, "paused", info_of(url_base, attempts, overloads, status, ms, ttfb_ms, queued_ms, smsg)
            end
        elseif kind == "timeout" then
            endpoints.failed(url_base, kind)
            retry = true
        elseif kind == "protocol" or kind == "server" then
            retry = true
        elseif kind == "quota" then
            smsg = server_message(res.body)
        elseif kind == "deadline" then
            -- it waited in the window's FIFO until its deadline (req.c)
            if overloads > 0 or err:find("after 503/429 replies", 1, true) then
                err = format("%s (overloaded: %d replies of 503/429 to this call within the deadline of %g s; "
                    .. "lower -c, or raise --deadline)", err, overloads, deadline_s)
            else
                err = format("%s (gave up: the deadline of %g s for this request has passed; raise --deadline)",
                    err, deadline_s)
            end
        end
        err = backends.scrub(err) -- a server may echo the API key back
        local delay = retry and retry_delay(attempts, res)
        if retry and core.now() + delay > t0 + deadline_s * 1000 and core.interrupted() == 0 then
            return nil, format("%s (gave up: the deadline of %g s for this request has passed)", err, deadline_s),
                kind, info_of(url_base, attempts, overloads, status, ms, ttfb_ms, queued_ms, smsg)
        end
        if retry and attempts > retries and core.interrupted() == 0 then
            return nil, format("%s (gave up after %d attempt%s over %.1f s: the item ends as an error; a "
                .. "resume of the run (-o RUN, or --retry-errors) redoes it, or raise --retries)", err,
                attempts, attempts == 1 and "" or "s", (core.now() - t0) / 1000), kind,
                info_of(url_base, attempts, overloads, status, ms, ttfb_ms, queued_ms, smsg)
        end
        if not retry or attempts > retries or core.interrupted() > 0 then
            return nil, err, kind, info_of(url_base, attempts, overloads, status, ms, ttfb_ms, queued_ms, smsg)
        end
        tasks.backoff(delay) -- a map worker lends its place meanwhile
    end
    -- not counting the time in the window's FIFO before each attempt was
    -- first sent (an auto window holds many); overload waits count
    fields.latency_ms = core.now() - t0 - waited
    fields.request_ms, fields.ttfb_ms, fields.queued_ms = ms, ttfb_ms, queued_ms
    fields.attempts, fields.endpoint, fields.raw = attempts, endpoint, raw
    fields.overloads = overloads
    fields.model = type(raw) == "table" and raw.model or model
    answered.check(endpoint, model, fields, res) -- another model or server answered: warned, recorded
    if ckey then cache.store(ckey, fields) end
    return fields
end

return M
