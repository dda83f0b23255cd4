-- evals/template.lua: prompt templates, chat messages and few-shot selection.
--
--   render(str, item)              "{{question}}", "{{meta.source}}" -> string
--   messages(spec, item)           chat message list (see below)
--   fewshot(examples, k, seed)     k examples, the same ones for the same seed
--   rng(seed)                      the deterministic generator behind fewshot
--
-- A messages spec:
--   { system = "template"?, user = "template",
--     fewshot = { examples = {...}, k = 5?, seed = 1234?,
--                 user = "template"?      -- a shot's question (default: spec.user)
--                 assistant = "template", -- a shot's answer
--                 mode = "multiturn" | "single",
--                 separator = "\n\n"? } }
-- "multiturn" puts each shot in its own user/assistant turn pair; "single"
-- writes the shots and the question into one user message.

local M = {}

local gsub, match, find, format = string.gsub, string.match, string.find, string.format
local concat = table.concat
local type, tostring, tonumber, error, ipairs = type, tostring, tonumber, error, ipairs
local math_type = math.type


-- Looks up "a.b.c" in item; returns value or nil.
local function lookup(item, path)
    local v = item[path]
    if v ~= nil or not find(path, ".", 1, true) then return v end
    v = item
    for key in path:gmatch("[^%.]+") do
        if type(v) ~= "table" then return nil end
        local n = tonumber(key)
        local next_v = v[key]
        if next_v == nil and n then next_v = v[n] end
        v = next_v
    end
    return v
end


-- render(str, item) -> string, or nil, err naming a missing field.
function M.render(str, item)
    if type(str) ~= "string" then
        error("template.render: template must be a string, got " .. type(str), 2)
    end
    if type(item) ~= "table" then
        error("template.render: item must be a table, got " .. type(item), 2)
    end
    local err
    local out = gsub(str, "{{%s*([%w_%.]+)%s*}}", function(path)
        if err then return "" end
        local v = lookup(item, path)
        local t = type(v)
        if t == "string" then return v end
        if t == "number" then
            return math_type(v) == "integer" and format("%d", v) or tostring(v)
        end
        if t == "boolean" then return tostring(v) end
        err = v == nil and format("template: missing field '%s'", path)
              or format("template: field '%s' is a %s, not text", path, t)
        return ""
    end)
    if err then return nil, err end
    return out
end


-- Deterministic PRNG -------------------------------------------------------

-- xorshift32 (Marsaglia 2003) on 32-bit values held in Lua integers: shifts,
-- xors and masks only, so the sequence is the same on every Lua 5.4 build.
-- Changing it changes which few-shot examples a suite picks: bump the suite
-- version if you do.
local MASK = 0xffffffff

local Rng = {}
Rng.__index = Rng


function M.rng(seed)
    if math_type(seed) ~= "integer" then
        if type(seed) == "number" and seed == seed // 1 then
            seed = seed // 1
        else
            error("template.rng: seed must be an integer, got " .. tostring(seed), 2)
        end
    end
    -- spread the seed over 32 bits (Knuth's multiplicative hash); never 0
    local s = ((seed & MASK) * 2654435761 + 0x9e3779b9) & MASK
    if s == 0 then s = 0x6d2b79f5 end
    return setmetatable({ state = s }, Rng)
end


-- Next 32-bit value, 1 .. 2^32-1.
function Rng:next()
    local x = self.state
    x = x ~ ((x << 13) & MASK)
    x = x ~ (x >> 17)
    x = x ~ ((x << 5) & MASK)
    self.state = x
    return x
end


-- Uniform-ish integer in 1..n (multiply-shift; bias < n / 2^32).
function Rng:int(n)
    return ((self:next() * n) >> 32) + 1
end


-- Few-shot ------------------------------------------------------------------

-- fewshot(examples, k, seed) -> list of k examples (all, shuffled, if k >= #examples).
-- A partial Fisher-Yates shuffle of a copy; the input is not modified.
function M.fewshot(examples, k, seed)
    if type(examples) ~= "table" then
        error("template.fewshot: examples must be a list", 2)
    end
    if math_type(k) ~= "integer" and not (type(k) == "number" and k == k // 1) then
        error("template.fewshot: k must be an integer", 2)
    end
    local n = #examples
    k = k // 1
    if k > n then k = n end
    -- none to pick (no shots, or no examples): the seed is checked as below
    if k <= 0 and (seed == nil or math_type(seed) == "integer") then return {} end
    local idx = {}
    for i = 1, n do idx[i] = i end
    local r = M.rng(seed or 1234)
    local out = {}
    for i = 1, k do
        local j = i - 1 + r:int(n - i + 1)
        idx[i], idx[j] = idx[j], idx[i]
        out[i] = examples[idx[i]]
    end
    return out
end


-- Messages ------------------------------------------------------------------

local function shots_of(fs)
    local ex = fs.examples or {}
    if fs.k then return M.fewshot(ex, fs.k, fs.seed) end
    return ex
end


-- messages(spec, item) -> { {role=, content=}, ... }  or nil, err
function M.messages(spec, item)
    if type(spec) ~= "table" or type(spec.user) ~= "string" then
        error("template.messages: spec.user template required", 2)
    end
    local msgs = {}
    local err
    if spec.system then
        local s
        s, err = M.render(spec.system, item)
        if not s then return nil, err end
        msgs[1] = { role = "system", content = s }
    end
    local question
    question, err = M.render(spec.user, item)
    if not question then return nil, err end
    local fs = spec.fewshot
    if fs then
        if type(fs.assistant) ~= "string" then
            error("template.messages: fewshot.assistant template required", 2)
        end
        local mode = fs.mode or "multiturn"
        if mode ~= "multiturn" and mode ~= "single" then
            error("template.messages: fewshot.mode must be 'multiturn' or 'single'", 2)
        end
        local parts = {}
        for _, ex in ipairs(shots_of(fs)) do
            local q, a
            q, err = M.render(fs.user or spec.user, ex)
            if not q then return nil, "fewshot: " .. err end
            a, err = M.render(fs.assistant, ex)
            if not a then return nil, "fewshot: " .. err end
            if mode == "multiturn" then
                msgs[#msgs + 1] = { role = "user", content = q }
                msgs[#msgs + 1] = { role = "assistant", content = a }
            else
                parts[#parts + 1] = q .. "\n" .. a
            end
        end
        if mode == "single" and #parts > 0 then
            parts[#parts + 1] = question
            question = concat(parts, fs.separator or "\n\n")
        end
    end
    msgs[#msgs + 1] = { role = "user", content = question }
    return msgs
end


return M
