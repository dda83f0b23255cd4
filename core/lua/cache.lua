-- ollaeval.cache: the request cache's policy (--cache; docs/cache.md): what
-- makes two chat{} requests the same request (the key), what is kept of an
-- answer, and what happens when the cache fails. The store is SQLite,
-- core.cache_open (core/lcache.c).
--
-- The key is the sha256 of a canonical JSON encoding (sorted keys, numbers
-- written one way) of everything that shapes an answer:
--   v         the key's format (KEY_VERSION)
--   api       the API kind(s) of the endpoints the request may go to
--   model     the model name as sent
--   digest    the model's digest (preflight, when every endpoint reports
--             the same one); without it, `endpoints`: the URLs themselves
--   options   every generation and load-time option as sent (temperature,
--             top_p, seed, num_predict, num_ctx, stop, ...)
--   messages  the full messages, every field of every message
--   format, think   as sent (absent: the server's default)
--   sample    the sample index (chat{sample=}, 1 when not given), so the k
--             samples of an item never collapse into one
--   seed      the seed as sent (options.seed)
-- Stream, timeouts, retries and keep_alive change how an answer arrives,
-- not what it is: they are not in the key.
--
--   key_of(req, model, endpoints) -> hex key (pure but for sha256)
--   encode(v)                     -> canonical JSON (pure)
--   lookup(req, model) -> fields (cached = true) | nil, key
--   store(key, fields)            after a successful request
--   set_digest(model, digest)     preflight's digest of a model
--   use(path)                     opens PATH now (tests); else --cache opens
--                                 it at the first lookup, once per run
-- A cache that cannot be opened, read or written is one warning on stderr,
-- and the run goes on without it.
local cjson = require "cjson"
local cjson_safe = require "cjson.safe"
local core = require "ollaeval.core"
local options = require "ollaeval.options"
local backends = require "ollaeval.backends"
local endpoints = require "ollaeval.endpoints"
local canon = require "ollaeval.canon"

local format, concat, sort = string.format, table.concat, table.sort

local M = {}

local KEY_VERSION = 1
local FILE_NAME = "requests.sqlite"

local digests = {}   -- model -> digest, from preflight
local db             -- the open store, false when off (or failed), nil before the first use
local db_path


-- encode(v) -> the canonical JSON of the key (ollaeval.canon, style KEY:
-- keys sorted, integral numbers as integers, others with 17 digits, an empty
-- table as {}, "/" unescaped; NaN, infinities and odd keys raise).
function M.encode(v)
    return canon.encode(v, canon.KEY)
end


-- ---------------------------------------------------------------------------
-- The key

-- The endpoints a request may go to, sorted, and their API kinds.
local function targets(req)
    local list = req.endpoint and { req.endpoint } or endpoints.list
    local urls, kinds, seen = {}, {}, {}
    for _, u in ipairs(list) do
        urls[#urls + 1] = u
        local k = req.api or backends.of(u)
        if not seen[k] then seen[k], kinds[#kinds + 1] = true, k end
    end
    sort(urls)
    sort(kinds)
    return urls, concat(kinds, ",")
end

function M.key_of(req, model)
    local urls, api = targets(req)
    local digest = digests[model]
    local opts = req.options or {}
    local parts = {
        v = KEY_VERSION, api = api, model = model, digest = digest,
        endpoints = not digest and urls or nil,
        options = opts, messages = req.messages, format = req.format, think = req.think,
        sample = req.sample or 1, seed = opts.seed,
    }
    return core.sha256(M.encode(parts))
end

function M.set_digest(model, digest)
    digests[model] = digest
end


-- ---------------------------------------------------------------------------
-- The store

local function warn(msg)
    io.stderr:write(format("ollaeval: warning: request cache %s: %s; going on without the cache\n",
        db_path or "?", msg))
    if db then db:close() end
    db = false
end

local function default_path()
    local dir = os.getenv("OLLAEVAL_CACHE")
    if not dir or dir == "" then
        local xdg = os.getenv("XDG_CACHE_HOME")
        dir = (xdg and xdg ~= "" and xdg or ((os.getenv("HOME") or ".") .. "/.cache")) .. "/ollaeval"
    end
    return dir .. "/" .. FILE_NAME
end

-- use(path): opens the store at path (nil: closes it, the cache is off).
function M.use(path)
    if db then db:close() end
    db, db_path = false, path
    if not path then return end
    local dir = path:match("^(.*)/[^/]*$")
    if dir and dir ~= "" then os.execute("mkdir -p '" .. dir:gsub("'", "'\\''") .. "' 2>/dev/null") end
    local s, err = core.cache_open(path)
    if not s then return warn(err) end
    db = s
end

local function store_open()
    if db == nil then
        local c = options.engine.cache
        if c then M.use(c == true and default_path() or c) else db = false end
    end
    return db or nil
end

-- The fields of an answer that are kept: what the server said, not how
-- the request went (times, endpoint, attempts).
local KEPT = { "content", "thinking", "done_reason", "prompt_tokens", "completion_tokens", "thinking_tokens", "model" }

-- lookup(req, model) -> fields (with cached = true, attempts = 0)  or  nil,
-- key (nil when the cache is off or the request opts out with cache = false).
-- A request with on_token gets the whole answer in one call of it.
function M.lookup(req, model)
    if req.cache == false then return nil end
    local s = store_open()
    if not s then return nil end
    local ok, key = pcall(M.key_of, req, model)
    if not ok then error("chat{}: " .. key, 3) end
    local v, err = s:get(key)
    if err then warn(err) return nil end
    if v == nil then return nil, key end
    local f = cjson_safe.decode(v)
    if type(f) ~= "table" or type(f.content) ~= "string" then
        return nil, key -- a damaged entry: asked again, and replaced
    end
    local r = {}
    for _, k in ipairs(KEPT) do
        local x = f[k]
        if x ~= cjson.null then r[k] = math.tointeger(x) or x end
    end
    r.cached, r.attempts = true, 0
    if req.on_token then req.on_token(r.content, r.thinking) end
    return r
end

-- store(key, fields): keeps an answer (not one stopped by on_token).
function M.store(key, fields)
    if not key or not db or fields.done_reason == "stopped" then return end
    local kept = {}
    for _, k in ipairs(KEPT) do kept[k] = fields[k] end
    local ok, err = db:put(key, cjson.encode(kept))
    if not ok then warn(err) end
end


return M
