-- ollaeval.canon: canonical JSON, the one writer of it. The same value
-- gives the same bytes: object keys sorted, each number written one way,
-- "/" not escaped, other characters escaped as lua-cjson does. Pure.
--
--   encode(v [, style]) -> string
--
-- Two styles, because two readers need different things of the same walk:
--   canon.KEY (the default): the request cache's key (ollaeval.cache).
--             Exact: integral numbers in (-2^53, 2^53) as integers (0 and
--             0.0 alike), others with 17 digits; an empty table is {}.
--             Strict: NaN or an infinity, a key that is not a string, or
--             a value JSON has not got (a function) raises. Its output
--             must never change: a change would miss every cached answer
--             (bump cache.lua's KEY_VERSION if it ever has to).
--   canon.SCRIPT: data embedded in a page's <script type="application/
--             json"> (evals/html.lua). "<", ">", "&" and U+2028/U+2029
--             are escaped as \uXXXX, so no string can close the element;
--             numbers with 14 digits, as lua-cjson writes summary.json, so
--             the page shows the figures summary.json has; NaN, infinities
--             and values JSON has not got become null; keys are written
--             with tostring; an empty table is [].
-- A table whose keys are exactly 1..#t is an array, any other an object.
-- A strict style's errors start with its `strict` field ("cache key: ...").
local cjson = require "cjson"

local format, concat, byte, sort = string.format, table.concat, string.byte, table.sort
local type, tostring, pairs, ipairs, next = type, tostring, pairs, ipairs, next
local mtype, floor, huge = math.type, math.floor, math.huge
local null = cjson.null

local M = {}

M.KEY = { digits = "%.17g", exact = 2 ^ 53, empty = "{}", strict = "cache key" }
M.SCRIPT = { digits = "%.14g", exact = 1e15, empty = "[]", strict = false, script = true }

local ESC = {
    ['"'] = '\\"', ["\\"] = "\\\\", ["\b"] = "\\b", ["\f"] = "\\f", ["\n"] = "\\n", ["\r"] = "\\r",
    ["\t"] = "\\t", ["<"] = "\\u003c", [">"] = "\\u003e", ["&"] = "\\u0026",
}
local function esc(c) return ESC[c] or format("\\u%04x", byte(c)) end

local function str(s, st)
    if st.script then
        if not s:find('[%c"\\<>&\226]') then return '"' .. s .. '"' end -- nothing to escape
        s = s:gsub('[%c"\\<>&]', esc)
        s = s:gsub("\226\128\168", "\\u2028"):gsub("\226\128\169", "\\u2029")
        return '"' .. s .. '"'
    end
    if not s:find('[%c"\\]') then return '"' .. s .. '"' end
    return '"' .. s:gsub('[%c"\\]', esc) .. '"'
end

local function number(n, st)
    if mtype(n) == "integer" then return format("%d", n) end
    if n ~= n or n == huge or n == -huge then
        if st.strict then error(st.strict .. ": a number that is not finite", 0) end
        return "null"
    end
    if n == floor(n) and n > -st.exact and n < st.exact then return format("%d", floor(n)) end
    return format(st.digits, n)
end

local function is_array(t)
    local n = #t
    if n == 0 then return false end
    local count = 0
    for _ in pairs(t) do count = count + 1 end
    return count == n
end

local function enc(v, st, out)
    local tv = type(v)
    if tv == "string" then
        out[#out + 1] = str(v, st)
    elseif tv == "number" then
        out[#out + 1] = number(v, st)
    elseif tv == "boolean" then
        out[#out + 1] = v and "true" or "false"
    elseif v == nil or v == null then
        out[#out + 1] = "null"
    elseif tv == "table" then
        if next(v) == nil then
            out[#out + 1] = st.empty
        elseif is_array(v) then
            out[#out + 1] = "["
            for i = 1, #v do
                if i > 1 then out[#out + 1] = "," end
                enc(v[i], st, out)
            end
            out[#out + 1] = "]"
        else
            local keys, orig = {}, {}
            for k in pairs(v) do
                if type(k) ~= "string" then
                    if st.strict then error(st.strict .. ": a table with a key that is not a string", 0) end
                    local s = tostring(k)
                    orig[s] = k
                    k = s
                end
                keys[#keys + 1] = k
            end
            sort(keys)
            out[#out + 1] = "{"
            for i, k in ipairs(keys) do
                if i > 1 then out[#out + 1] = "," end
                out[#out + 1] = str(k, st)
                out[#out + 1] = ":"
                local x = v[k]
                if x == nil and orig[k] ~= nil then x = v[orig[k]] end
                enc(x, st, out)
            end
            out[#out + 1] = "}"
        end
    elseif st.strict then
        error(st.strict .. ": cannot encode a " .. tv, 0)
    else
        out[#out + 1] = "null" -- functions, userdata
    end
end

function M.encode(v, style)
    local out = {}
    enc(v, style or M.KEY, out)
    return concat(out)
end

return M
