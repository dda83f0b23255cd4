-- idset.lua: a set of item ids in little memory, for resume (the ids the
-- journal has scored) and merge (the ids of each shard). A Lua table of 1M
-- string ids costs about 100 MB; ids here mostly cost a bit each:
--   a number id that is a whole number in 0..2^53      one bit of a bitmap
--   a string id "<prefix><digits>" (gsm8k-test-0042)   one bit of the
--        bitmap of its prefix and its width (digits with a leading zero,
--        like 0042, are told from 42 by the width)
--   anything else (and past MAX_PREFIXES prefixes)     a key of a table
-- The bitmaps are Lua tables of 64-bit integers, word w holding the
-- numbers 64w..64w+63: dense ids (a dataset's line indexes) cost 1 bit
-- each, 16 bytes per 64 ids.
--
--   new()          -> set: set:add(id) -> true when id was not in it yet,
--                     set:has(id) -> boolean, set.n (how many)
local M = {}

local type, tointeger, tonumber, match = type, math.tointeger, tonumber, string.match

-- Beyond this many prefix/width bitmaps, new ones go to the plain table:
-- ids that all differ in their prefix gain nothing from bitmaps.
M.MAX_PREFIXES = 64

local MAX = 2 ^ 53

local Set = {}
Set.__index = Set

function M.new()
    return setmetatable({ n = 0, maps = {}, nmaps = 0, other = {} }, Set)
end

-- The bitmap key and number of an id, or nil (the plain table).
local function split(id)
    local t = type(id)
    if t == "number" then
        local k = tointeger(id)
        if k and k >= 0 and k < MAX then return "#", k end
        return nil
    end
    if t ~= "string" then return nil end
    local prefix, digits = match(id, "^(.-)(%d+)$")
    if not prefix or #digits > 15 then return nil end
    local key = prefix .. (#digits > 1 and digits:byte(1) == 48 and "\0" .. #digits or "\0")
    return key, tointeger(tonumber(digits))
end

-- (the word of number k, and its bit)
local function word_bit(k)
    return k // 64 + 1, 1 << (k % 64)
end

function Set:has(id)
    if self.n == 0 then return false end -- (a fresh run's: no id to split)
    local key, k = split(id)
    local map = key and self.maps[key]
    if map then
        local w, bit = word_bit(k)
        return ((map[w] or 0) & bit) ~= 0
    end
    return self.other[id] == true
end

function Set:add(id)
    local key, k = split(id)
    local map = key and self.maps[key]
    if key and not map and self.nmaps < M.MAX_PREFIXES then
        map = {}
        self.maps[key], self.nmaps = map, self.nmaps + 1
    end
    if map then
        local w, bit = word_bit(k)
        local old = map[w] or 0
        if old & bit ~= 0 then return false end
        map[w] = old | bit
    else
        if id ~= id or id == nil then error("idset.add: an id expected", 2) end
        if self.other[id] then return false end
        self.other[id] = true
    end
    self.n = self.n + 1
    return true
end

return M
