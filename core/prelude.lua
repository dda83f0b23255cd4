-- prelude.lua: the Lua half of ollaeval's API, embedded in the binary and run
-- once before the script. It turns the C primitives of `core` (lapi.c) into
-- the documented globals: chat{}, http{}, spawn, wait, sleep, now, map,
-- jsonl, options{}. The reference for all of them is docs/api.md.
local core = ...

-- Most garbage here dies young (request and response tables): the
-- generational collector spends less time on it.
collectgarbage("generational")

local cjson = require "cjson"
local cjson_safe = require "cjson.safe"

local ollaeval = ollaeval
local O = ollaeval.options
local floor, min, max, random = math.floor, math.min, math.max, math.random
local format, concat = string.format, table.concat
local stderr = io.stderr

-- Engine defaults (main.c checks the values; these fill what is absent).
O.concurrency = O.concurrency or 4
O.timeout = O.timeout or 900
O["idle-timeout"] = O["idle-timeout"] or 300
O.retries = O.retries or 4
O.seed = O.seed or 0


-- log(fmt, ...): a line on stderr, unless -q
function log(fmt, ...)
    if not O.quiet then stderr:write(format(fmt, ...), "\n") end
end


local function normalize_url(u)
    if not u:find("^%a[%w+.-]*://") then
        u = "http://" .. u
    end
    u = u:gsub("/+$", "")
    -- a bare host gets Ollama's port, as the ollama client does
    if not u:find("^%a[%w+.-]*://[^/]*:%d+") and not u:find("^https://") then
        u = u:gsub("^(%a[%w+.-]*://[^/]+)", "%1:11434", 1)
    end
    return u
end

-- Endpoints: -e URL (repeatable), URL#N for its own window of N.
local endpoint_limits = {}
do
    local eps = O.endpoint
    if not eps then
        local h = os.getenv("OLLAMA_HOST")
        eps = { (h and h ~= "") and h or "http://localhost:11434" }
    end
    for i, e in ipairs(eps) do
        local url, n = e:match("^(.-)#(%d+)$")
        eps[i] = normalize_url(url or e)
        if n then endpoint_limits[eps[i]] = tonumber(n) end
    end
    O.endpoint = eps
    ollaeval.endpoints = eps
    for _, e in ipairs(eps) do core.window(e, endpoint_limits[e] or O.concurrency) end
end


-- The command line as a shell would read it back (for records and hints).
do
    local parts = {}
    for i, a in ipairs(ollaeval.argv) do
        if i == 1 then a = "ollaeval" end
        if a:find("[^%w%-_./:=,@+]") then a = "'" .. a:gsub("'", "'\\''") .. "'" end
        parts[#parts + 1] = a
    end
    ollaeval.command = concat(parts, " ")
end


-- ---------------------------------------------------------------------------
-- Help and script options

local declared = {}

local function print_help()
    local out = { ollaeval.usage }
    if #declared > 0 then
        out[#out + 1] = "\noptions of " .. ollaeval.script .. ":\n"
        for _, o in ipairs(declared) do
            local argname = o.arg or (o.choices and concat(o.choices, "|")) or o.type:upper()
            local left = "--" .. o.name .. (o.type ~= "flag" and (" " .. argname) or "")
            local def = o.default ~= nil and o.type ~= "flag" and format(" (default %s)", tostring(o.default)) or ""
            if #left > 28 then left = left .. "\n" .. string.rep(" ", 30) end
            out[#out + 1] = format("  %-28s %s%s\n", left, o.help or "", def)
        end
    end
    io.stdout:write(concat(out))
    io.stdout:flush()
    os.exit(0)
end

local function usage_error(msg)
    stderr:write("ollaeval: ", msg, " (see ollaeval ", ollaeval.script, " --help)\n")
    os.exit(2)
end

local function check_help()
    if ollaeval.help then print_help() end
end

local function convert(o, v)
    if o.type == "number" or o.type == "integer" then
        local n = tonumber(v)
        if not n or (o.type == "integer" and n ~= floor(n)) then
            usage_error(format("--%s: '%s' is not a%s number", o.name, v, o.type == "integer" and " whole" or ""))
        end
        if o.min and n < o.min then usage_error(format("--%s: %s is below %s", o.name, v, o.min)) end
        if o.max and n > o.max then usage_error(format("--%s: %s is above %s", o.name, v, o.max)) end
        return o.type == "integer" and floor(n) or n
    elseif o.type == "string" then
        if o.choices then
            for _, c in ipairs(o.choices) do if c == v then return v end end
            usage_error(format("--%s: '%s' is not one of %s", o.name, v, concat(o.choices, ", ")))
        end
        return v
    end
    error("options{}: unknown type '" .. tostring(o.type) .. "' for --" .. o.name, 3)
end

-- options{ {name=, type="string"|"number"|"integer"|"flag", default=, help=}, ... }
-- Declares the script's own options, parses the script's arguments and
-- returns a table name -> value. `ollaeval SCRIPT --help` lists them.
function options(spec)
    if type(spec) ~= "table" then error("options{}: expected a list of option specs", 2) end
    local byname = {}
    for _, o in ipairs(spec) do
        if type(o.name) ~= "string" then error("options{}: every option needs a name", 2) end
        o.type = o.type or "string"
        declared[#declared + 1] = o
        byname[o.name] = o
    end
    check_help()
    local res, positional = {}, {}
    for _, o in ipairs(spec) do res[o.name] = o.default end
    local args, i = ollaeval.args, 1
    while i <= #args do
        local a = args[i]
        local name, val = a:match("^%-%-([^=]+)=(.*)$")
        name = name or a:match("^%-%-(.+)$")
        if name then
            local o = byname[name]
            if not o then usage_error("unknown option --" .. name) end
            if o.type == "flag" then
                if val then usage_error("--" .. name .. " takes no value") end
                res[name] = true
            else
                if not val then
                    i = i + 1
                    val = args[i]
                    if not val then usage_error("--" .. name .. " needs a value") end
                end
                res[name] = convert(o, val)
            end
        elseif a:sub(1, 1) == "-" and #a > 1 then
            usage_error("unknown option " .. a)
        else
            positional[#positional + 1] = a
        end
        i = i + 1
    end
    res[0] = positional
    return res
end


-- ---------------------------------------------------------------------------
-- Tasks

now = core.now

function sleep(ms)
    if type(ms) ~= "number" then error("sleep(ms): ms must be a number", 2) end
    return core.sleep(ms)
end

function spawn(fn, ...)
    if type(fn) ~= "function" then error("spawn(fn, ...): fn must be a function", 2) end
    return core.spawn(fn, ...)
end

-- wait(task) -> ok, results...   (ok=false, traceback if the task raised)
wait = core.wait

-- wait_all(tasks) -> list of {ok, results...} packed tables, in order
function wait_all(tasks)
    local out = {}
    for i, t in ipairs(tasks) do out[i] = table.pack(core.wait(t)) end
    return out
end

-- map(iter, fn, opts) runs fn(item, i) for each item of a lazy iterator (or a
-- list) with at most opts.concurrency live tasks (default: the engine's
-- concurrency times the number of endpoints). An item whose fn raises is
-- passed to opts.on_error(item, i, traceback), or reported on stderr and
-- counted as a failed task. Stops taking items when opts.stop() returns
-- true or after a Ctrl-C. Returns the number of items started.
function map(iter, fn, opts)
    check_help()
    opts = opts or {}
    if type(fn) ~= "function" then error("map(iter, fn, opts): fn must be a function", 2) end
    if type(iter) == "table" then
        local list, k = iter, 0
        iter = function()
            k = k + 1
            return list[k]
        end
    elseif type(iter) ~= "function" then
        error("map(iter, fn, opts): iter must be a function or a list", 2)
    end
    local n = opts.concurrency or O.concurrency * #O.endpoint
    local started, exhausted = 0, false
    local stop = opts.stop
    local on_error = opts.on_error
    local function next_item()
        if exhausted or core.interrupted() > 0 or (stop and stop()) then return nil end
        local item = iter()
        if item == nil then exhausted = true return nil end
        started = started + 1
        return item, started
    end
    local function worker()
        while true do
            local item, i = next_item()
            if item == nil then return end
            local ok, err = xpcall(fn, debug.traceback, item, i)
            if not ok then
                if on_error then
                    on_error(item, i, err)
                else
                    stderr:write(format("ollaeval: item %d failed: %s\n", i, tostring(err)))
                    core.task_failed()
                end
            end
        end
    end
    local tasks = {}
    for k = 1, n do tasks[k] = core.spawn(worker) end
    for _, t in ipairs(tasks) do
        local ok, err = core.wait(t)
        if not ok then error(err, 0) end -- the iterator or on_error raised
    end
    return started
end


-- ---------------------------------------------------------------------------
-- HTTP and chat

local function checkfield(t, k, ty, where)
    local v = t[k]
    if v ~= nil and type(v) ~= ty then
        error(format("%s: field '%s' must be a %s, got %s", where, k, ty, type(v)), 3)
    end
    return v
end

-- http{method=, url=, headers=, body=, timeout=} -> {status, headers, body}
-- or nil, err, kind. Never raises for a network or server failure.
function http(req)
    check_help()
    if type(req) ~= "table" then error("http{}: expected a table", 2) end
    if type(req.url) ~= "string" then error("http{}: 'url' (a string) is required", 2) end
    checkfield(req, "method", "string", "http{}")
    checkfield(req, "body", "string", "http{}")
    checkfield(req, "headers", "table", "http{}")
    checkfield(req, "timeout", "number", "http{}")
    local res, err, kind = core.request {
        method = req.method, url = req.url, headers = req.headers, body = req.body, want_headers = true,
        timeout = req.timeout or O.timeout, connect_timeout = req.connect_timeout,
        idle_timeout = req.idle_timeout, max_body = req.max_body,
    }
    if not res then return nil, kind .. ": " .. err, kind end
    return res
end

-- HTTP statuses worth another attempt.
local RETRY_STATUS = { [429] = true, [500] = true, [502] = true, [503] = true, [504] = true }

-- The server's own message from an error body: Ollama's {"error":"..."},
-- OpenAI-style {"error":{"message":...}}, vLLM's old {"message":...}.
local function server_message(body)
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
ollaeval.server_message = server_message

-- Additive increase, multiplicative decrease of an endpoint's window: halve
-- it when the server says it is overloaded, grow it by one after `limit`
-- successes in a row, never above the configured concurrency.
local aimd = {} -- endpoint URL -> {key=, ok=, max=, last_cut=}
local function window_of(url)
    local w = aimd[url]
    if not w then
        w = { key = url:match("^(%a[%w+.-]*://[^/?#]+)") or url, ok = 0,
              max = endpoint_limits[url] or O.concurrency, last_cut = -1e9 }
        aimd[url] = w
    end
    return w.key, w
end
local function overloaded(url)
    local key, w = window_of(url)
    local t = core.now()
    if t - w.last_cut < 1000 then return end -- one cut per second at most
    w.last_cut, w.ok = t, 0
    local limit = core.window(key)
    core.window(key, max(1, floor(limit / 2)))
end
local function coped(url)
    local key, w = window_of(url)
    local limit = core.window(key)
    if limit >= w.max then return end
    w.ok = w.ok + 1
    if w.ok >= limit then
        w.ok = 0
        core.window(key, limit + 1)
    end
end

-- The first retry waits BACKOFF_MS (with jitter), each next one twice as
-- long, up to 30 s. OLLAEVAL_BACKOFF_MS changes the base (tests use a few ms).
local BACKOFF_MS = tonumber(os.getenv("OLLAEVAL_BACKOFF_MS") or "") or 500

local function retry_delay(attempt, res)
    local ra = res and res.retry_after
    if ra then return min(ra * 1000, 60000) end
    local base = min(BACKOFF_MS * 2 ^ (attempt - 1), 30000)
    return base * (0.5 + random() * 0.5)
end

-- ---------------------------------------------------------------------------
-- Endpoints: which one a request goes to, and which are out of rotation

local health = {} -- url -> {fails=, down_until=}

local function healthy(url)
    local h = health[url]
    return not h or h.down_until <= core.now()
end

local function mark_ok(url)
    local h = health[url]
    if h then
        if h.down_until > 0 then log("endpoint %s answers again: back in rotation", url) end
        health[url] = nil
    end
end

-- Three connection failures or timeouts in a row take an endpoint out of
-- rotation for 10 s; then it is probed again by the next request.
local function mark_failed(url)
    if #O.endpoint < 2 then return end
    local h = health[url] or { fails = 0, down_until = 0 }
    health[url] = h
    h.fails = h.fails + 1
    if h.fails >= 3 then
        if h.down_until <= core.now() then
            log("endpoint %s failed %d times in a row: out of rotation for 10 s", url, h.fails)
        end
        h.down_until = core.now() + 10000
    end
end

-- The endpoint with the least outstanding work relative to its window,
-- among those in rotation (all of them, if none is), avoiding `avoid` when
-- there is another choice.
local function pick_endpoint(avoid)
    local eps = O.endpoint
    if #eps == 1 then return eps[1] end
    local best, score = nil, math.huge
    for pass = 1, 2 do
        for _, e in ipairs(eps) do
            if (pass == 2 or healthy(e)) and (e ~= avoid or #eps == 1) then
                local limit, inflight, queued = core.window(e)
                local sc = (inflight + queued + 1) / limit
                if sc < score then best, score = e, sc end
            end
        end
        if best then return best end
    end
    return avoid or eps[1]
end
ollaeval.pick_endpoint = pick_endpoint


-- ---------------------------------------------------------------------------
-- Backends: how chat{} speaks to a server

local function api_key()
    local name = O["api-key-env"] or "OPENAI_API_KEY"
    local k = os.getenv(name)
    return k ~= "" and k or nil
end

local function headers_for(backend)
    local h = { ["Content-Type"] = "application/json" }
    local key = backend == "openai" and api_key()
    if key then h["Authorization"] = "Bearer " .. key end
    return h
end

-- An endpoint's API: --api, else "openai" for a URL ending in /v1.
local function backend_of(url)
    if O.api then return O.api end
    return url:find("/v1$") and "openai" or "ollama"
end
ollaeval.backend_of = backend_of
ollaeval.headers_for = headers_for

-- A token count from JSON (a float to cjson), as an integer; 0 if absent.
local function count(v)
    v = tonumber(v)
    return v and math.tointeger(floor(v)) or 0
end

local function effort(think)
    if think == true then return "medium" end
    if think == false then return "none" end
    return think
end

local BACKENDS = {
    ollama = {
        path = "/api/chat", stream = "ndjson",
        body = function(req, model, stream)
            return {
                model = model, messages = req.messages, stream = stream,
                options = req.options, think = req.think, format = req.format,
                keep_alive = req.keep_alive,
            }
        end,
        -- a decoded non-streamed answer -> fields, or nil, err
        parse = function(j)
            local m = j.message
            if type(m) ~= "table" or type(m.content) ~= "string" then
                return nil, "the response has no message.content"
            end
            return {
                content = m.content,
                thinking = type(m.thinking) == "string" and m.thinking or nil,
                done_reason = type(j.done_reason) == "string" and j.done_reason or nil,
                prompt_tokens = count(j.prompt_eval_count),
                completion_tokens = count(j.eval_count),
            }
        end,
        final = function(f) -- the done:true chunk of a stream
            return cjson_safe.decode(f or "") or {}
        end,
    },
    openai = {
        path = "/chat/completions", stream = "sse",
        body = function(req, model, stream)
            local o = req.options or {}
            local b = {
                model = model, messages = req.messages, stream = stream,
                temperature = o.temperature, top_p = o.top_p, seed = o.seed, stop = o.stop,
                max_tokens = o.num_predict,
            }
            if stream then b.stream_options = { include_usage = true } end
            if req.think ~= nil then b.reasoning_effort = effort(req.think) end
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
                thinking_tokens = details.reasoning_tokens and count(details.reasoning_tokens) or nil,
            }
        end,
        final = function() return {} end,
    },
}
ollaeval.BACKENDS = BACKENDS


-- One attempt: sends, waits (passing streamed text to on_token), and
-- returns fields, nil, nil, res  or  nil, err, kind, res.
local function attempt(backend, url, body, req, stream)
    local B = BACKENDS[backend]
    local on_token = req.on_token
    local res, err, kind = core.request {
        method = "POST", url = url, body = body, headers = headers_for(backend),
        timeout = req.timeout or O.timeout,
        idle_timeout = stream and (req.idle_timeout or O["idle-timeout"]) or nil,
        stream = stream and B.stream or nil, progress = on_token ~= nil,
    }
    local acc_c, acc_t, stopped = {}, {}, false
    while res == "progress" do
        acc_c[#acc_c + 1], acc_t[#acc_t + 1] = err, kind
        if on_token(err, kind) == false then
            stopped = true
            core.request_cancel()
        end
        res, err, kind = core.request_wait()
    end
    if stopped then
        return { content = concat(acc_c), thinking = concat(acc_t), done_reason = "stopped",
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
-- retries=, stream=, on_token=} -> response or nil, err, kind, info
-- (docs/api.md). Retries what can be retried, on another endpoint when
-- there are several; shrinks an overloaded endpoint's window.
function chat(req)
    check_help()
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
    local model = req.model or O.model
    if not model then error("chat{}: no model: pass -m NAME or chat{model=...}", 2) end
    local stream = req.stream
    if stream == nil then stream = O.stream or req.on_token ~= nil end
    local retries = req.retries or O.retries
    local info = { attempts = 0 }
    local t0 = core.now()
    local endpoint = req.endpoint
    local fields, err, kind, res, raw
    while true do
        info.attempts = info.attempts + 1
        local url_base = req.endpoint or pick_endpoint(endpoint)
        endpoint = url_base
        local backend = req.api or backend_of(url_base)
        local B = BACKENDS[backend] or error("chat{}: unknown api '" .. tostring(backend) .. "'", 2)
        local body = cjson.encode(B.body(req, model, stream and true or false))
        local url = url_base .. B.path
        fields, err, kind, res, raw = attempt(backend, url, body, req, stream)
        if res then
            info.status, info.ms, info.ttfb_ms, info.queued_ms = res.status, res.total_ms, res.ttfb_ms, res.queued_ms
        end
        local retry = false
        if fields then
            coped(url_base)
            mark_ok(url_base)
            break
        elseif kind == "http" then
            info.server_message = server_message(res.body)
            if res.status == 503 or res.status == 429 then overloaded(url_base) end
            retry = RETRY_STATUS[res.status] or false
        elseif kind == "connection" or kind == "timeout" then
            mark_failed(url_base)
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
    return fields
end


-- ---------------------------------------------------------------------------
-- Data

-- jsonl(path [, opts]) -> iterator of item, line_number. Streams the file;
-- blank lines are skipped; each other line must be a JSON object or array
-- (a UTF-8 BOM and CRLF endings are fine). A malformed line, invalid UTF-8,
-- another JSON value or a line longer than opts.max_line bytes (default
-- 16 MiB) raises "FILE:LINE: ...". The file must exist: a missing one
-- raises at once.
local JSONL_MAX_LINE = 16 * 1024 * 1024

function jsonl(path, opts)
    if type(path) ~= "string" then error("jsonl(path): path must be a string", 2) end
    local max_line = opts and opts.max_line or JSONL_MAX_LINE
    local f, err = io.open(path, "rb")
    if not f then error(err, 2) end
    local n = 0
    local function fail(fmt, ...)
        f:close()
        f = nil
        error(format("%s:%d: " .. fmt, path, n, ...), 0)
    end
    return function()
        while f do
            local line = f:read("L")
            if not line then
                f:close()
                f = nil
                return nil
            end
            n = n + 1
            if #line > max_line + 2 then
                fail("the line is %d bytes, longer than the limit of %d", #line, max_line)
            end
            line = line:gsub("\r?\n$", "")
            if n == 1 then line = line:gsub("^\239\187\191", "") end -- UTF-8 BOM
            if line:find("%S") then
                if not utf8.len(line) then fail("invalid UTF-8") end
                local item, jerr = cjson_safe.decode(line)
                if item == nil then fail("invalid JSON: %s", jerr) end
                if type(item) ~= "table" then
                    fail("expected a JSON object or array, got %s", item == cjson.null and "null" or type(item))
                end
                return item, n
            end
        end
        return nil
    end
end

ollaeval.sha256 = core.sha256
ollaeval.sha256_file = core.sha256_file
ollaeval.interrupted = core.interrupted
ollaeval.stats = core.stats
ollaeval.window = core.window
ollaeval.isatty = core.isatty
ollaeval.fsync = core.fsync
ollaeval.cancel_all = core.cancel_all
ollaeval.task_failed = core.task_failed
ollaeval.usage_error = usage_error


-- The main task: runs the script's chunk with its arguments. A number it
-- returns is the exit status.
function ollaeval.main(chunk, ...)
    local r = chunk(...)
    check_help() -- a script that declared no options still answers --help
    return r
end

-- Strict globals: reading an undefined global is an error, since a typo that
-- silently reads nil would corrupt a score.
setmetatable(_G, {
    __index = function(_, k)
        error(format("undefined global '%s'", tostring(k)), 2)
    end,
})
