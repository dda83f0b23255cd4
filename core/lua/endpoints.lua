-- ollaeval.endpoints: the servers requests go to (-e URL, repeatable;
-- URL#N, URL#auto or URL#auto:N gives one its own window, as -c), which
-- one a request goes to, which are out of rotation, and the adaptation of
-- fixed windows (AIMD). The windows themselves are in C (req.c):
-- core.window(url) finds a URL's by its scheme://host:port; an auto window
-- is driven by its controller in C (core/autowin.c), not from here.
local core = require "ollaeval.core"
local options = require "ollaeval.options"
local D = require "ollaeval.defaults"

local floor, max, format = math.floor, math.max, string.format

local M = {}

local limits = {} -- endpoint URL -> its own window (URL#N: N, URL#auto[:N]: the string)
local bounds = {} -- endpoint URL -> most requests its window may hold (N, or auto's bound)

-- size(spec) -> what core.window takes ("auto", "auto:N" or the integer N),
-- the most in flight it allows; nil for anything else.
function M.size(spec)
    spec = tostring(spec)
    if spec == "auto" then return "auto", 256 end
    local n = spec:match("^auto:(%d+)$")
    if n and tonumber(n) >= 1 then return spec, tonumber(n) end
    n = spec:match("^(%d+)$")
    if n and tonumber(n) >= 1 then return tonumber(n), tonumber(n) end
    return nil
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
    local spec, bound = M.size(O.concurrency)
    for _, e in ipairs(eps) do
        if not limits[e] then bounds[e] = bound end
        core.window(e, limits[e] or spec)
    end
    return eps
end

-- auto(url) -> true when the URL's window is driven by the controller
function M.auto(url)
    return select(6, core.window(url)) == "auto"
end

-- capacity() -> the most requests all endpoints' windows may hold at once
-- (map's default number of tasks)
function M.capacity()
    local n = 0
    for _, e in ipairs(M.list) do n = n + (bounds[e] or 1) end
    return n
end

-- ---- health: which endpoints are in rotation ----

local health = {} -- url -> {fails=, down_until=}

local function healthy(url)
    local h = health[url]
    return not h or h.down_until <= core.now()
end

-- ok(url): the endpoint answered; back in rotation if it was out.
function M.ok(url)
    local h = health[url]
    if h then
        if h.down_until > 0 then options.log("endpoint %s answers again: back in rotation", url) end
        health[url] = nil
    end
end

-- failed(url): a connection failure or timeout. Three in a row take an
-- endpoint out of rotation for 10 s; then the next request probes it.
function M.failed(url)
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

-- ---- window adaptation: additive increase, multiplicative decrease ----
-- Halve an endpoint's window when the server says it is overloaded, grow it
-- by one after `limit` successes in a row, never above its configured size.
-- Fixed windows only: an auto window's controller sees the same 503s and
-- 429s in C.

local aimd = {} -- endpoint URL -> {ok=, max=, last_cut=}

local function adapt(url)
    local w = aimd[url]
    if not w then
        w = { ok = 0, max = bounds[url] or 1, last_cut = -1e9 }
        aimd[url] = w
    end
    return w
end

-- overloaded(url): a 503 or 429: the window halves (once a second at most).
function M.overloaded(url)
    if M.auto(url) then return end
    local w = adapt(url)
    local t = core.now()
    if t - w.last_cut < 1000 then return end
    w.last_cut, w.ok = t, 0
    local limit = core.window(url)
    core.window(url, max(1, floor(limit / 2)))
end

-- coped(url): a success: the window grows back by one after `limit` of them.
function M.coped(url)
    if M.auto(url) then return end
    local w = adapt(url)
    local limit = core.window(url)
    if limit >= w.max then return end
    w.ok = w.ok + 1
    if w.ok >= limit then
        w.ok = 0
        core.window(url, limit + 1)
    end
end

return M
