-- evals/stats.lua: statistics for one run and for a paired comparison of two
-- runs over the same items. Pure: numbers and lists in, numbers and tables
-- out; no I/O, no global state (the bootstrap has its own seeded generator).
--
-- One run
--   wilson(k, n [, z])        -> lo, hi   95% Wilson score interval
--   prop_se(k, n)             -> sqrt(p(1-p)/n), the CLT standard error
--   mean_se(xs [, clusters])  -> mean, se  (se: sd/sqrt(n), or the clustered
--                                form below when clusters[i] names item i's
--                                cluster)
--   clustered_se(xs, clusters [, mean]) -> sqrt(C/(C-1) * sum_c (sum_{i in c}
--                                (x_i - mean))^2) / n  (finite-cluster form)
-- Two runs, item i scored a[i] and b[i] (booleans or numbers)
--   paired(a, b [, clusters]) -> { n, mean_a, mean_b, delta (= mean a - b),
--                                se, lo, hi (delta +- 1.96 se), mde,
--                                b (a right, b wrong), c (a wrong, b right),
--                                both_right, both_wrong (binary scores) }
--   mcnemar_exact(b, c)       -> two-sided exact p: min(1, 2 BinomCDF(min(b,c);
--                                b+c, 1/2)); 1 when b + c = 0
--   bootstrap(a, b, opts)     -> { resamples, seed, lo, hi, p }  paired
--                                bootstrap of delta: items (or whole clusters,
--                                opts.clusters) resampled with replacement,
--                                opts.resamples times (default
--                                resamples_for(units): 10,000, fewer for
--                                large n so as to stay within 1e7 draws, at
--                                least 500), seeded by opts.seed (default 1):
--                                the same inputs give the same result. lo, hi: the
--                                2.5 and 97.5 percentiles; p: two-sided, twice
--                                the smaller share of resampled deltas at or
--                                beyond 0 on either side.
--   mde(se [, alpha, power])  -> the smallest true difference a two-sided
--                                test at alpha (0.05) detects with this power
--                                (0.8): (z(1-alpha/2) + z(power)) * se, about
--                                2.80 se
--   holm(ps), bh(ps)          -> adjusted p-values, in the order given (Holm's
--                                step-down; Benjamini-Hochberg q-values)
--   z(p)                      -> the standard normal quantile
-- Errors in the arguments (mismatched lengths, bad counts) raise.

local metrics = require "evals.metrics"

local M = {}

local sqrt, log, exp, floor = math.sqrt, math.log, math.exp, math.floor
local huge = math.huge
local type, error, ipairs, pairs = type, error, ipairs, pairs
local sort = table.sort

local Z95 = 1.959963984540054


local function num(x, fn)
    if x == true then return 1 end
    if x == false then return 0 end
    if type(x) ~= "number" or x ~= x then
        error("stats." .. fn .. ": number or boolean expected, got " .. tostring(x), 3)
    end
    return x
end


-- (the formula is metrics.wilson's; here z defaults to the exact 95% one,
-- and n <= 0 raises)
function M.wilson(k, n, z)
    if type(k) ~= "number" or type(n) ~= "number" or n <= 0 or k < 0 or k > n then
        error("stats.wilson: need 0 <= k <= n and n > 0", 2)
    end
    return metrics.wilson(k, n, z or Z95)
end


function M.prop_se(k, n)
    if type(k) ~= "number" or type(n) ~= "number" or n <= 0 or k < 0 or k > n then
        error("stats.prop_se: need 0 <= k <= n and n > 0", 2)
    end
    local p = k / n
    return sqrt(p * (1 - p) / n)
end


function M.clustered_se(xs, clusters, mean)
    local n = #xs
    if n == 0 then return nil end
    if #clusters ~= n then error("stats.clustered_se: one cluster per value expected", 2) end
    if not mean then
        mean = 0
        for i = 1, n do mean = mean + num(xs[i], "clustered_se") end
        mean = mean / n
    end
    local sums, count = {}, 0
    for i = 1, n do
        local c = clusters[i]
        if c == nil then error("stats.clustered_se: value " .. i .. " has no cluster", 2) end
        if not sums[c] then count = count + 1; sums[c] = 0 end
        sums[c] = sums[c] + num(xs[i], "clustered_se") - mean
    end
    if count < 2 then return nil end
    local ss = 0
    for _, s in pairs(sums) do ss = ss + s * s end
    return sqrt(count / (count - 1) * ss) / n
end


function M.mean_se(xs, clusters)
    local n = #xs
    if n == 0 then return nil end
    local m = 0
    for i = 1, n do m = m + num(xs[i], "mean_se") end
    m = m / n
    if clusters then return m, M.clustered_se(xs, clusters, m) end
    if n < 2 then return m, nil end
    local ss = 0
    for i = 1, n do
        local d = num(xs[i], "mean_se") - m
        ss = ss + d * d
    end
    return m, sqrt(ss / (n - 1)) / sqrt(n)
end


-- Acklam's rational approximation of the normal quantile (relative error
-- below 1.2e-9 on (0, 1)).
function M.z(p)
    if type(p) ~= "number" or p <= 0 or p >= 1 then error("stats.z: need 0 < p < 1", 2) end
    local a = { -3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02,
                1.383577518672690e+02, -3.066479806614716e+01, 2.506628277459239e+00 }
    local b = { -5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02,
                6.680131188771972e+01, -1.328068155288572e+01 }
    local c = { -7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00,
                -2.549732539343734e+00, 4.374664141464968e+00, 2.938163982698783e+00 }
    local d = { 7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00,
                3.754408661907416e+00 }
    local x
    if p < 0.02425 then
        local q = sqrt(-2 * log(p))
        x = (((((c[1] * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) * q + c[6]) /
            ((((d[1] * q + d[2]) * q + d[3]) * q + d[4]) * q + 1)
    elseif p <= 1 - 0.02425 then
        local q = p - 0.5
        local r = q * q
        x = (((((a[1] * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * r + a[6]) * q /
            (((((b[1] * r + b[2]) * r + b[3]) * r + b[4]) * r + b[5]) * r + 1)
    else
        local q = sqrt(-2 * log(1 - p))
        x = -(((((c[1] * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) * q + c[6]) /
            ((((d[1] * q + d[2]) * q + d[3]) * q + d[4]) * q + 1)
    end
    return x
end


function M.mde(se, alpha, power)
    if se == nil then return nil end
    alpha, power = alpha or 0.05, power or 0.8
    return (M.z(1 - alpha / 2) + M.z(power)) * se
end


function M.mcnemar_exact(b, c)
    if type(b) ~= "number" or type(c) ~= "number" or b < 0 or c < 0 or b ~= floor(b) or c ~= floor(c) then
        error("stats.mcnemar_exact: counts must be whole numbers >= 0", 2)
    end
    local n = b + c
    if n == 0 then return 1 end
    local k = b < c and b or c
    -- sum_{i=0..k} C(n, i) / 2^n, the log of C(n, i) built up term by term
    local lc, total, ln2n = 0, 0, n * log(2)
    for i = 0, k do
        if i > 0 then lc = lc + log(n - i + 1) - log(i) end
        total = total + exp(lc - ln2n)
    end
    local p = 2 * total
    return p < 1 and p or 1
end


function M.paired(a, b, clusters)
    local n = #a
    if #b ~= n then error("stats.paired: the two lists differ in length", 2) end
    if clusters and #clusters ~= n then error("stats.paired: one cluster per item expected", 2) end
    local r = { n = n, b = 0, c = 0, both_right = 0, both_wrong = 0, binary = true }
    if n == 0 then return r end
    local sa, sb, d = 0, 0, {}
    for i = 1, n do
        local x, y = num(a[i], "paired"), num(b[i], "paired")
        sa, sb = sa + x, sb + y
        d[i] = x - y
        if (x == 0 or x == 1) and (y == 0 or y == 1) then
            if x == 1 and y == 0 then r.b = r.b + 1
            elseif x == 0 and y == 1 then r.c = r.c + 1
            elseif x == 1 then r.both_right = r.both_right + 1
            else r.both_wrong = r.both_wrong + 1 end
        else
            r.binary = false
        end
    end
    r.mean_a, r.mean_b = sa / n, sb / n
    local delta, se = M.mean_se(d, clusters)
    r.delta, r.se = delta, se
    if se then
        r.lo, r.hi = delta - Z95 * se, delta + Z95 * se
        r.mde = M.mde(se)
    end
    return r
end


-- A 64-bit linear congruential generator (Knuth's MMIX constants); uniform
-- j in [0, m) from its top 31 bits. Integer arithmetic wraps in Lua 5.4.
local LCG_A, LCG_C = 6364136223846793005, 1442695040888963407


-- The default number of resamples for this many units: 10,000, fewer when
-- that would pass 1e7 draws, never below 500.
function M.resamples_for(units)
    local R = 10000
    if units * R > 1e7 then R = floor(1e7 / units) end
    if R < 500 then R = 500 end
    return R
end


function M.bootstrap(a, b, opts)
    opts = opts or {}
    local n = #a
    if #b ~= n then error("stats.bootstrap: the two lists differ in length", 2) end
    if n == 0 then return nil end
    -- the units resampled: items, or clusters (sum of d and size of each)
    local usum, usize, units = {}, {}, 0
    if opts.clusters then
        local idx = {}
        for i = 1, n do
            local c = opts.clusters[i]
            if c == nil then error("stats.bootstrap: item " .. i .. " has no cluster", 2) end
            local u = idx[c]
            if not u then units = units + 1; u = units; idx[c] = u; usum[u] = 0; usize[u] = 0 end
            usum[u] = usum[u] + num(a[i], "bootstrap") - num(b[i], "bootstrap")
            usize[u] = usize[u] + 1
        end
    else
        for i = 1, n do usum[i] = num(a[i], "bootstrap") - num(b[i], "bootstrap"); usize[i] = 1 end
        units = n
    end
    local R = opts.resamples or M.resamples_for(units)
    local seed = opts.seed or 1
    local x = seed * 2654435761 + 1
    local deltas = {}
    local le0, ge0 = 0, 0
    for r = 1, R do
        local s, m = 0, 0
        for _ = 1, units do
            x = x * LCG_A + LCG_C
            local j = (((x >> 33) * units) >> 31) + 1
            s = s + usum[j]
            m = m + usize[j]
        end
        local dlt = s / m
        deltas[r] = dlt
        if dlt <= 0 then le0 = le0 + 1 end
        if dlt >= 0 then ge0 = ge0 + 1 end
    end
    sort(deltas)
    local function q(p)
        local h = (R - 1) * p + 1
        local lo = floor(h)
        if lo >= R then return deltas[R] end
        return deltas[lo] + (h - lo) * (deltas[lo + 1] - deltas[lo])
    end
    local p = 2 * (le0 < ge0 and le0 or ge0) / R
    return { resamples = R, seed = seed, lo = q(0.025), hi = q(0.975), p = p < 1 and p or 1 }
end


local function order_of(ps, fn)
    local idx = {}
    for i = 1, #ps do
        local p = ps[i]
        if type(p) ~= "number" or p ~= p or p < 0 or p > 1 then
            error("stats." .. fn .. ": p-values in [0, 1] expected", 3)
        end
        idx[i] = i
    end
    sort(idx, function(x, y)
        if ps[x] ~= ps[y] then return ps[x] < ps[y] end
        return x < y
    end)
    return idx
end


function M.holm(ps)
    local m, idx, out = #ps, order_of(ps, "holm"), {}
    local run = 0
    for rank, i in ipairs(idx) do
        local v = (m - rank + 1) * ps[i]
        if v > run then run = v end
        out[i] = run < 1 and run or 1
    end
    return out
end


function M.bh(ps)
    local m, idx, out = #ps, order_of(ps, "bh"), {}
    local run = huge
    for rank = m, 1, -1 do
        local i = idx[rank]
        local v = ps[i] * m / rank
        if v < run then run = v end
        out[i] = run < 1 and run or 1
    end
    return out
end


M.Z95 = Z95
return M
