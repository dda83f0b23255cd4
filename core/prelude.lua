-- prelude.lua: the Lua half of ollaeval's API, embedded in the binary and run
-- once before the script. It turns the C primitives of `core` (lapi.c) into
-- the documented globals: chat{}, http{}, spawn, wait, sleep, now, map,
-- jsonl, options{}. The reference for all of them is docs/api.md.
local core = ...

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
O.retries = O.retries or 4
O.seed = O.seed or 0


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

do
    local eps = O.endpoint
    if not eps then
        eps = { os.getenv("OLLAMA_HOST") or "http://localhost:11434" }
        if eps[1] == "" then eps[1] = "http://localhost:11434" end
    end
    for i, e in ipairs(eps) do eps[i] = normalize_url(e) end
    O.endpoint = eps
    ollaeval.endpoints = eps
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
            local left = "--" .. o.name .. (o.type ~= "flag" and (" " .. (o.arg or o.type:upper())) or "")
            local def = o.default ~= nil and o.type ~= "flag" and format(" (default %s)", tostring(o.default)) or ""
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
        method = req.method, url = req.url, headers = req.headers, body = req.body,
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
local aimd = {}
local function window_of(url)
    local key = url:match("^(%a[%w+.-]*://[^/?#]+)") or url
    local w = aimd[key]
    if not w then
        w = { ok = 0, max = O.concurrency, last_cut = -1e9 }
        aimd[key] = w
    end
    return key, w
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

local function retry_delay(attempt, res)
    local ra = res and res.headers and tonumber(res.headers["retry-after"])
    if ra then return min(ra * 1000, 60000) end
    local base = min(500 * 2 ^ (attempt - 1), 30000)
    return base * (0.5 + random() * 0.5)
end

-- request_json(url, body_table, opts) -> decoded table, nil, nil, info  or
-- nil, err, kind, info. Retries what can be retried; info = {attempts=,
-- status=, ms=, ttfb_ms=, queued_ms=}.
local function request_json(url, payload, opts)
    local body = cjson.encode(payload)
    local retries = opts.retries or O.retries
    local info = { attempts = 0 }
    local res, err, kind
    while true do
        info.attempts = info.attempts + 1
        res, err, kind = core.request {
            method = "POST", url = url, body = body,
            headers = opts.headers or { ["Content-Type"] = "application/json" },
            timeout = opts.timeout or O.timeout,
        }
        local retry = false
        if res then
            info.status, info.ms, info.ttfb_ms, info.queued_ms = res.status, res.total_ms, res.ttfb_ms, res.queued_ms
            if res.status == 200 then
                local j, jerr = cjson_safe.decode(res.body)
                if type(j) == "table" and j.error == nil then
                    coped(url)
                    return j, nil, nil, info
                end
                if type(j) == "table" then
                    err, kind = "server error: " .. server_message(res.body), "server"
                else
                    err, kind = format("invalid JSON from %s: %s", url, jerr or "not an object"), "protocol"
                end
                retry = true
            else
                local msg = server_message(res.body)
                err, kind = format("HTTP %d from %s: %s", res.status, url, msg), "http"
                info.server_message = msg
                if res.status == 503 or res.status == 429 then overloaded(url) end
                retry = RETRY_STATUS[res.status] or false
            end
        else
            err = kind .. ": " .. err
            retry = kind == "connection" or kind == "timeout"
        end
        if not retry or info.attempts > retries or core.interrupted() > 0 then
            return nil, err, kind, info
        end
        core.sleep(retry_delay(info.attempts, res))
    end
end
ollaeval.request_json = request_json

-- Endpoint choice for requests that name none: the one with the least
-- outstanding work relative to its window.
local function pick_endpoint()
    local eps = O.endpoint
    if #eps == 1 then return eps[1] end
    local best, score = eps[1], math.huge
    for _, e in ipairs(eps) do
        local limit, inflight, queued = core.window(e)
        local s = (inflight + queued) / limit
        if s < score then best, score = e, s end
    end
    return best
end
ollaeval.pick_endpoint = pick_endpoint

-- chat{messages=, model=, options=, think=, format=, endpoint=, timeout=,
-- retries=} -> response or nil, err, kind, info (see docs/api.md)
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
    local model = req.model or O.model
    if not model then error("chat{}: no model: pass -m NAME or chat{model=...}", 2) end
    local endpoint = req.endpoint or pick_endpoint()
    local payload = {
        model = model, messages = req.messages, stream = false,
        options = req.options, think = req.think, format = req.format,
        keep_alive = req.keep_alive,
    }
    local t0 = core.now()
    local j, err, kind, info = request_json(endpoint .. "/api/chat", payload, req)
    if not j then return nil, err, kind, info end
    local msg = j.message
    if type(msg) ~= "table" or type(msg.content) ~= "string" then
        return nil, format("protocol: the response from %s has no message.content", endpoint), "protocol", info
    end
    local thinking = msg.thinking
    return {
        content = msg.content,
        thinking = type(thinking) == "string" and thinking or nil,
        done_reason = type(j.done_reason) == "string" and j.done_reason or nil,
        prompt_tokens = tonumber(j.prompt_eval_count) or 0,
        completion_tokens = tonumber(j.eval_count) or 0,
        latency_ms = core.now() - t0,
        request_ms = info.ms, ttfb_ms = info.ttfb_ms, queued_ms = info.queued_ms,
        attempts = info.attempts, model = j.model, endpoint = endpoint, raw = j,
    }
end


-- ---------------------------------------------------------------------------
-- Data

-- jsonl(path) -> iterator of item, line_number. Streams the file; blank
-- lines are skipped; a malformed line raises "FILE:LINE: ...". The file
-- must exist: a missing one raises at once.
function jsonl(path)
    if type(path) ~= "string" then error("jsonl(path): path must be a string", 2) end
    local f, err = io.open(path, "rb")
    if not f then error(err, 2) end
    local n = 0
    return function()
        while true do
            local line = f:read("L")
            if not line then
                f:close()
                return nil
            end
            n = n + 1
            if line:sub(-1) ~= "\n" and f:read(0) == nil then
                -- last line without a newline: fine when it parses
            end
            line = line:gsub("\r?\n$", "")
            if line:find("%S") then
                if n == 1 then line = line:gsub("^\239\187\191", "") end -- UTF-8 BOM
                if not utf8.len(line) then
                    f:close()
                    error(format("%s:%d: invalid UTF-8", path, n), 0)
                end
                local item, jerr = cjson_safe.decode(line)
                if item == nil then
                    f:close()
                    error(format("%s:%d: invalid JSON: %s", path, n, jerr), 0)
                end
                return item, n
            end
        end
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

-- log(fmt, ...): a line on stderr, unless -q
function log(fmt, ...)
    if not O.quiet then stderr:write(format(fmt, ...), "\n") end
end

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
