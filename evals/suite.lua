-- suite.lua: a suite table checked and completed before a run (the contract
-- is docs/suites.md). check() names every problem a user can fix: a
-- missing or mistyped field is an error, an unknown field a warning with the
-- nearest known name (a misspelt `strcit` must not pass silently).
--
--   check(suite, file) -> spec  or  nil, err; spec.warnings lists warnings
--   differs(a, b, skip_code) -> what, a's, b's  or  nil: run.json configs
-- spec = {suite=, file=, dir=, name=, version=, samples=, solve=(function),
--         metrics = {{name=, reduce=}, ...} (evals/metrics.lua),
--         group = function(item) -> group | nil, meta = function(item) ->
--         table | nil, models = function(opt) -> list, vote = function | nil,
--         dataset =, train = (a file beside the suite: {local_path=, ...})}
local reduce = require "evals.reduce"

local cjson = require "cjson"

local M = {}

local format, concat = string.format, table.concat

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


-- differs(a, b, skip_code): what else makes two runs' configs (run.json)
-- the same run, beyond journal.differs: the samples, the suite's options, the
-- other models, the engine, the modules loaded (not with skip_code). ->
-- what differs, a's value, b's value (as text), or nil. text(v): a config
-- value as text. The runner (resume) and `ollaeval merge` use them.
function M.text(v)
    if type(v) == "table" then
        local keys = {}
        for k in pairs(v) do keys[#keys + 1] = tostring(k) end
        table.sort(keys)
        local parts = {}
        for _, k in ipairs(keys) do parts[#parts + 1] = k .. "=" .. tostring(v[k] ~= nil and v[k] or v[tonumber(k)]) end
        return "{" .. concat(parts, ", ") .. "}"
    end
    if v == nil or v == cjson.null then return "none" end
    if math.type(v) == "float" and v == math.floor(v) then return format("%d", v) end
    return tostring(v)
end

local function module_map(list)
    local m = {}
    for _, x in ipairs(list or {}) do m[x.name] = x end
    return m
end

function M.differs(old, new, skip_code)
    if M.text(old.samples or 1) ~= M.text(new.samples) then return "samples", M.text(old.samples or 1), M.text(new.samples) end
    local oo, no = old.suite_options or {}, new.suite_options or {}
    local keys = {}
    for k in pairs(oo) do keys[k] = true end
    for k in pairs(no) do keys[k] = true end
    local sorted = {}
    for k in pairs(keys) do sorted[#sorted + 1] = k end
    table.sort(sorted)
    for _, k in ipairs(sorted) do
        if M.text(oo[k]) ~= M.text(no[k]) then return "suite option --" .. k, M.text(oo[k]), M.text(no[k]) end
    end
    local om, nm = old.models or {}, new.models or {}
    if concat(om, ",") ~= concat(nm, ",") then return "other models", concat(om, ", "), concat(nm, ", ") end
    if M.text(old.engine) ~= M.text(new.engine) and old.engine ~= nil then return "engine version", M.text(old.engine), M.text(new.engine) end
    if skip_code then return nil end
    local a, b = module_map(old.modules), module_map(new.modules)
    for _, x in ipairs(new.modules or {}) do
        local y = a[x.name]
        if y and (y.sha256 ~= x.sha256 or y.origin ~= x.origin) then
            return "module " .. x.name, format("%s %s", tostring(y.origin), tostring(y.sha256)),
                format("%s %s", tostring(x.origin), tostring(x.sha256))
        end
    end
    for _, y in ipairs(old.modules or {}) do
        local x = b[y.name]
        if not x and y.origin ~= "embedded" then return "module " .. y.name, "loaded", "not loaded" end
    end
    return nil
end


-- looks_like(t): a file's returned table is a suite (for the prelude: a
-- script returning it is run through the runner).
function M.looks_like(t)
    return type(t) == "table" and (t.solve ~= nil or t.prompt ~= nil or t.name ~= nil and t.dataset ~= nil)
end


return M
