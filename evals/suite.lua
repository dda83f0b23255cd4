-- suite.lua: a suite table checked and completed before a run (the contract
-- is docs/suites.md). check() names every problem a user can fix: a
-- missing or mistyped field is an error, an unknown field a warning with the
-- nearest known name (a misspelt `strcit` must not pass silently).
--
--   check(suite, file) -> spec  or  nil, err; spec.warnings lists warnings
-- spec = {suite=, file=, dir=, name=, version=, samples=, solve=(function),
--         metrics = {{name=, reduce=}, ...} (evals/metrics.lua),
--         group = function(item) -> group | nil, meta = function(item) ->
--         table | nil, models = function(opt) -> list, vote = function | nil,
--         dataset =, train = (a file beside the suite: {local_path=, ...})}
local reduce = require "evals.reduce"

local M = {}

local format = string.format

-- Every field a suite may have, and its Lua type(s).
M.FIELDS = {
    name = "string", version = "string|number", description = "string", note = "string",
    dataset = "table|string", train = "table|string", options = "table", defaults = "table",
    prompt = "function", extract = "function", gold = "function", correct = "function",
    strict = "function", split = "function", id = "function",
    solve = "function", samples = "number", metrics = "table", reduce = "string|function",
    group_by = "string|function", metadata = "table|function", models = "table|function",
    vote = "function",
}
local DECLARATIVE = { "prompt", "extract", "gold", "correct" }


-- Levenshtein distance, for "did you mean".
local function distance(a, b)
    local prev = {}
    for j = 0, #b do prev[j] = j end
    for i = 1, #a do
        local cur = { [0] = i }
        for j = 1, #b do
            local cost = a:sub(i, i) == b:sub(j, j) and 0 or 1
            cur[j] = math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
        end
        prev = cur
    end
    return prev[#b]
end

local function nearest(k)
    local best, bd
    for f in pairs(M.FIELDS) do
        local d = distance(k, f)
        if not bd or d < bd or (d == bd and f < best) then best, bd = f, d end
    end
    if bd and bd <= math.max(2, #k // 3) then return best end
end


-- A dataset given as a file beside the suite: "x.jsonl" or {file=} with
-- neither url nor shared. Anything else is resolved by evals/data.lua.
local function data_spec(d, dir)
    if d == nil then return nil end
    if type(d) == "string" then d = { file = d } end
    if d.file and not d.url and not d.shared then
        local path = d.file:sub(1, 1) == "/" and d.file or (dir .. "/" .. d.file)
        local copy = {}
        for k, v in pairs(d) do copy[k] = v end
        copy.local_path = path
        return copy
    end
    return d
end


local function metric_defs(s, file)
    local list = s.metrics or { "accuracy" }
    local defs, seen = {}, {}
    for i, m in ipairs(list) do
        local name, r
        if type(m) == "string" then
            name = m
            r = m == "accuracy" and (s.reduce or "mean") or m
        elseif type(m) == "table" and type(m.name) == "string" then
            name, r = m.name, m.reduce or "mean"
        else
            return nil, format("%s: metrics[%d] must be a name (\"accuracy\", \"maj@5\", \"pass@1\", ...) "
                .. "or {name=, reduce=}", file, i)
        end
        local fn = r
        if type(r) ~= "function" then
            local err
            fn, err = reduce.parse(r)
            if not fn then return nil, format("%s: metric '%s': %s", file, name, err) end
        end
        if seen[name] then return nil, format("%s: the metric '%s' is declared twice", file, name) end
        seen[name] = true
        defs[#defs + 1] = { name = name, reduce = fn }
    end
    return defs
end


function M.check(s, file)
    if type(s) ~= "table" then return nil, format("%s: a suite is a table", file) end
    local warnings = {}
    local unknown = {}
    for k in pairs(s) do
        if M.FIELDS[k] == nil then unknown[#unknown + 1] = tostring(k) end
    end
    table.sort(unknown)
    for _, k in ipairs(unknown) do
        local near = type(k) == "string" and nearest(k)
        warnings[#warnings + 1] = format("%s: the suite has an unknown field '%s'%s; it is ignored", file, k,
            near and format(" (did you mean '%s'?)", near) or "")
    end
    for k, t in pairs(M.FIELDS) do
        local v = s[k]
        if v ~= nil and not t:find(type(v), 1, true) then
            return nil, format("%s: the suite's field '%s' must be a %s, not a %s", file, k, t:gsub("|", " or "), type(v))
        end
    end
    if s.name == nil then
        return nil, format("%s: the suite is missing the required field 'name' (see docs/suites.md)", file)
    end
    if not s.solve then
        for _, k in ipairs(DECLARATIVE) do
            if s[k] == nil then
                return nil, format("%s: the suite is missing the required field '%s' (or give solve(item, ctx); "
                    .. "see docs/suites.md)", file, k)
            end
        end
    end
    local samples = s.samples or 1
    if samples < 1 or samples ~= math.floor(samples) then
        return nil, format("%s: samples must be a whole number >= 1, not %s", file, tostring(s.samples))
    end
    local defs, err = metric_defs(s, file)
    if not defs then return nil, err end
    local dir = file:match("^(.*)/[^/]*$") or "."
    local group = s.group_by
    if type(group) == "string" then
        local field = group
        group = function(item) return item[field] end
    end
    local meta = s.metadata
    if type(meta) == "table" then
        local fields = meta
        meta = function(item)
            local t = {}
            for _, f in ipairs(fields) do t[f] = item[f] end
            return t
        end
    end
    local models = s.models
    if type(models) == "table" then
        local list = models
        models = function() return list end
    end
    return {
        suite = s, file = file, dir = dir, name = s.name, version = tostring(s.version or "1"),
        samples = math.tointeger(samples), metrics = defs, group = group, meta = meta,
        models = models or function() return {} end, vote = s.vote,
        dataset = data_spec(s.dataset, dir), train = data_spec(s.train, dir),
        warnings = warnings,
    }
end


-- looks_like(t): a file's returned table is a suite (for the prelude: a
-- script returning it is run through the runner).
function M.looks_like(t)
    return type(t) == "table" and (t.solve ~= nil or t.prompt ~= nil or t.name ~= nil and t.dataset ~= nil)
end


return M
