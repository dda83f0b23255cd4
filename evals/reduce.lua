-- reduce.lua: the reducers, from the samples of one item to one number in
-- [0, 1] (pure; docs/suites.md, "Samples and metrics"). A sample here is
-- {value = number in [0, 1], or nil when unscored; answer = string or nil}.
-- A sample is correct when its value is 1. Unscored samples take no part;
-- a reducer returns nil when it has nothing to reduce.
--
--   first(samples)          the value of the first scored sample
--   mean(samples)           the mean value of the scored samples
--   maj(samples, k, key)    majority vote over the answers of the first k
--                           scored samples (key(answer) normalises them; ties
--                           go to the answer given first); the value of the
--                           first sample that gave it; 0 when none answered
--   pass_at(n, c, k)        the unbiased pass@k estimator (Chen et al. 2021):
--                           1 - C(n-c, k) / C(n, k); nil when n < k
--   pass(samples, k)        pass_at over the scored samples
--   parse(name)             "first" | "mean" | "maj@K" | "pass@K" ->
--                           function(samples, key) -> value | nil, and K
local M = {}

local function scored(samples)
    local out = {}
    for _, s in ipairs(samples) do
        if s.value ~= nil then out[#out + 1] = s end
    end
    return out
end


function M.first(samples)
    for _, s in ipairs(samples) do
        if s.value ~= nil then return s.value end
    end
    return nil
end


function M.mean(samples)
    local sum, n = 0, 0
    for _, s in ipairs(samples) do
        if s.value ~= nil then sum, n = sum + s.value, n + 1 end
    end
    if n == 0 then return nil end
    return sum / n
end


function M.maj(samples, k, key)
    local list = scored(samples)
    if #list == 0 then return nil end
    k = math.min(k or #list, #list)
    local votes, first_of, best, bestn = {}, {}, nil, 0
    for i = 1, k do
        local a = list[i].answer
        if a ~= nil then
            local v = key and key(a) or a
            if v ~= nil then
                v = tostring(v)
                votes[v] = (votes[v] or 0) + 1
                first_of[v] = first_of[v] or i
            end
        end
    end
    for v, n in pairs(votes) do
        if n > bestn or (n == bestn and first_of[v] < first_of[best]) then best, bestn = v, n end
    end
    if not best then return 0 end
    return list[first_of[best]].value
end


function M.pass_at(n, c, k)
    if n < k then return nil end
    if n - c < k then return 1 end
    local p = 1
    for i = n - c + 1, n do p = p * (1 - k / i) end
    return 1 - p
end


function M.pass(samples, k)
    local n, c = 0, 0
    for _, s in ipairs(samples) do
        if s.value ~= nil then
            n = n + 1
            if s.value == 1 then c = c + 1 end
        end
    end
    if n == 0 then return nil end
    return M.pass_at(n, c, k)
end


-- parse(name) -> reducer, k  or  nil, err
function M.parse(name)
    if name == "first" then return M.first end
    if name == "mean" then return M.mean end
    local kind, k = tostring(name):match("^(%a+)@(%d+)$")
    k = tonumber(k)
    if k and k >= 1 then
        if kind == "maj" then return function(s, key) return M.maj(s, k, key) end, k end
        if kind == "pass" then return function(s) return M.pass(s, k) end, k end
    end
    return nil, string.format("unknown reducer '%s' (first, mean, maj@K, pass@K, or a function)", tostring(name))
end


return M
