-- ollaeval.endpoints: the servers requests go to (-e URL, repeatable;
-- URL#N gives one its own window of N), which one a request goes to, which
-- are out of rotation, and the adaptation of their windows (AIMD). The
-- windows themselves are in C (req.c): core.window(url) finds a URL's by
-- its scheme://host:port.
local core = require "ollaeval.core"
local options = require "ollaeval.options"
local D = require "ollaeval.defaults"

local floor, max = math.floor, math.max

local M = {}

local limits = {} -- endpoint URL -> its own window size (URL#N)

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
        local url, n = e:match("^(.-)#(%d+)$")
        eps[i] = normalize_url(url or e)
        if n then limits[eps[i]] = tonumber(n) end
    end
    O.endpoint = eps
    M.list = eps
    for _, e in ipairs(eps) do core.window(e, limits[e] or O.concurrency) end
    return eps
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

local aimd = {} -- endpoint URL -> {ok=, max=, last_cut=}

local function adapt(url)
    local w = aimd[url]
    if not w then
        w = { ok = 0, max = limits[url] or options.engine.concurrency, last_cut = -1e9 }
        aimd[url] = w
    end
    return w
end

-- overloaded(url): a 503 or 429: the window halves (once a second at most).
function M.overloaded(url)
    local w = adapt(url)
    local t = core.now()
    if t - w.last_cut < 1000 then return end
    w.last_cut, w.ok = t, 0
    local limit = core.window(url)
    core.window(url, max(1, floor(limit / 2)))
end

-- coped(url): a success: the window grows back by one after `limit` of them.
function M.coped(url)
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
