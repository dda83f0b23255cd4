-- ollaeval.endpoints: the servers requests go to (-e URL, repeatable;
-- URL#N, URL#auto or URL#auto:N gives one its own window, as -c), which
-- one a request goes to, which are out of rotation, and when a dead
-- endpoint pauses the run. The windows are in C (req.c): core.window(url)
-- finds a URL's by its scheme://host:port. A fixed window (-c N) adapts to
-- overload there (slow start, halving on 503/429); an auto window is
-- driven by its controller (core/autowin.c). Neither is adjusted from here.
local core = require "ollaeval.core"
local options = require "ollaeval.options"
local D = require "ollaeval.defaults"

local format = string.format

local M = {}

local limits = {} -- endpoint URL -> its own window (URL#N: N, URL#auto[:N]: the string)
local bounds = {} -- endpoint URL -> most requests its window may hold (N, or auto's bound)
local creds = {}  -- endpoint URL -> "user:password" from the -e URL (never recorded)

-- size(spec) -> what core.window takes ("auto", "auto:N" or the integer N),
-- the most in flight it allows (N at most max-concurrency); nil for
-- anything else.
function M.size(spec)
    spec = tostring(spec)
    local cap = D["max-concurrency"]
    if spec == "auto" then return "auto", 256 end
    local n = tonumber(spec:match("^auto:(%d+)$"))
    if n and n >= 1 then
        n = math.min(n, cap)
        return "auto:" .. math.tointeger(n), math.tointeger(n)
    end
    n = tonumber(spec:match("^(%d+)$"))
    if n and n >= 1 then
        n = math.tointeger(math.min(n, cap))
        return n, n
    end
    return nil
end

-- strip_userinfo(s) -> s with every "user:password@" of a URL removed
function M.strip_userinfo(s)
    return (s:gsub("(%a[%w+.-]*://)[^/@%s]*@", "%1"))
end

-- userpwd(url) -> the credentials the -e URL carried, for basic auth
function M.userpwd(url)
    return creds[url]
end

local function normalize_url(u)
    if not u:find("^%a[%w+.-]*://") then
        u = "http://" .. u
    end
    local scheme, info, rest = u:match("^(%a[%w+.-]*://)([^/@]*)@(.*)$")
    local cred
    if scheme then u, cred = scheme .. rest, info end
    u = u:gsub("/+$", "")
    -- a bare host gets Ollama's port, as the ollama client does
    if not u:find("^%a[%w+.-]*://[^/]*:%d+") and not u:find("^https://") then
        u = u:gsub("^(%a[%w+.-]*://[^/]+)", "%1:11434", 1)
    end
    if cred then creds[u] = cred end
    return u
end

-- init(): reads -e (else $OLLAMA_HOST, else the default), sizes each
-- window; M.list is the list of endpoint URLs (also options.endpoint).
function M.init()
    local O = options.engine
    local eps = O.endpoint
    if not eps then
        local h = os.getenv("OLLAMA_HOST")
        eps = { (h and h ~= "") and h or D.endpoint }
    end
    for i, e in ipairs(eps) do
        local url, n = e:match("^(.-)#(auto:?%d*)$")
        if not url then url, n = e:match("^(.-)#(%d+)$") end
        eps[i] = normalize_url(url or e)
        if n then
            local spec, bound = M.size(n)
            if not spec then options.usage_error(format("-e %s: '#%s' is not #N, #auto or #auto:N", e, n)) end
            limits[eps[i]], bounds[eps[i]] = spec, bound
        end
    end
    O.endpoint = eps
    M.list = eps
    for _, e in ipairs(eps) do
        if O.api == "openai" and not e:find("/v1$") then
            options.log("note: --api openai with %s: OpenAI-compatible servers answer at /v1/chat/completions; "
                .. "did you mean -e %s/v1?", e, e)
        end
    end
    local spec, bound = M.size(O.concurrency)
    for _, e in ipairs(eps) do
        if not limits[e] then bounds[e] = bound end
        local s = limits[e] or spec
        -- -c N: an adaptive window up to N (req.c); auto: the controller
        if math.type(s) == "integer" then core.window_adapt(e, s) else core.window(e, s) end
    end
    return eps
end

-- auto(url) -> true when the URL's window is driven by the controller
M.auto = core.window_auto

-- capacity() -> the most requests all endpoints' windows may hold at once
-- (map's default number of tasks)
function M.capacity()
    local n = 0
    for _, e in ipairs(M.list) do n = n + (bounds[e] or 1) end
    return n
end

-- ---- health: which endpoints are in rotation ----

local health = {} -- url -> {fails=, down_until=}
local streak = 0   -- connection failures in a row, any endpoint (see paused())

local function healthy(url)
    local h = health[url]
    return not h or h.down_until <= core.now()
end

-- ok(url): the endpoint answered; back in rotation if it was out.
function M.ok(url)
    streak = 0 -- refusals in a row
    local h = health[url]
    if h then
        if h.down_until > 0 then options.log("endpoint %s answers again: back in rotation", url) end
        health[url] = nil
    end
end

-- pick(avoid): the endpoint with the least outstanding work relative to its
-- window, among those in rotation (all of them, if none is), avoiding
-- `avoid` when there is another choice.
function M.pick(avoid)
    local eps = M.list
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

-- ---- a single endpoint that stays down: the run pauses ----
-- PAUSE_AFTER connection failures in a row on the only endpoint (or on
-- every endpoint) stop the attempts: one task probes it (GET /) every 2 s
-- for --down-wait seconds while the others wait; if it answers, they go
-- on; else every chat{} returns nil, msg, "paused" and the runner stops
-- with exit status 5. A success anywhere resets the count.

local PAUSE_AFTER = 5
local probing = false
local paused_msg = nil

-- paused() -> the message once the run is paused, else nil
function M.paused()
    return paused_msg
end

local function probe(url)
    local res = core.request { method = "GET", url = url .. "/", timeout = 2, connect_timeout = 2 }
    return res ~= nil
end

local function all_down()
    if #M.list == 1 then return true end
    for _, e in ipairs(M.list) do
        if healthy(e) then return false end
    end
    return true
end

-- connection_failed(url) -> a "paused" message when the run must pause
-- (after probing the endpoint for --down-wait seconds), else nil.
local function connection_failed(url)
    streak = streak + 1
    if paused_msg then return paused_msg end
    if streak < PAUSE_AFTER or not all_down() then return nil end
    if probing then -- another task probes: wait for its verdict
        while probing do core.sleep(100) end
        return paused_msg
    end
    probing = true
    local wait_s = options.engine["down-wait"] or D["down-wait"]
    options.log("endpoint %s refused %d connections in a row: probing it for %g s before pausing the run",
        url, streak, wait_s)
    local t_end = core.now() + wait_s * 1000
    local up = false
    while core.now() < t_end and core.interrupted() == 0 do
        if probe(url) then up = true break end
        core.sleep(math.min(2000, math.max(0, t_end - core.now())))
    end
    if up then
        streak = 0
        options.log("endpoint %s answers again: going on", url)
    else
        paused_msg = string.format("paused: the endpoint %s stayed down (%d connections refused in a row, "
            .. "then %g s of probes); start it, then run the same command again to resume", url, streak, wait_s)
    end
    probing = false
    return paused_msg
end

-- failed(url, kind) -> nil, or the "paused" message (see above). A
-- connection failure ("refused": could not connect at all) or a timeout; three in a row take one of several
-- endpoints out of rotation for 10 s, then the next request probes it.
local function mark_failed(url)
    if #M.list < 2 then return end
    local h = health[url] or { fails = 0, down_until = 0 }
    health[url] = h
    h.fails = h.fails + 1
    if h.fails >= 3 then
        if h.down_until <= core.now() then
            options.log("endpoint %s failed %d times in a row: out of rotation for 10 s", url, h.fails)
        end
        h.down_until = core.now() + 10000
    end
end

function M.failed(url, kind)
    mark_failed(url)
    if kind == "refused" then return connection_failed(url) end
    return nil
end

return M
