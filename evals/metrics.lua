-- evals/metrics.lua: summary statistics for eval results.
--
--   mean(xs), stddev(xs) (sample, n-1), stderr(xs) = stddev / sqrt(n)
--   accuracy(results)   -> { n, correct, acc, stderr, lo, hi } for a list of
--                          booleans or 0/1 (stderr as lm-eval: sample stddev
--                          over sqrt(n); lo, hi: 95% Wilson interval)
--   wilson(k, n, z)     -> lo, hi  (z defaults to 1.96)
--   percentile(xs, p)   -> value   (p in 0..100, linear interpolation between
--                          closest ranks: numpy's default "linear", Excel's
--                          PERCENTILE.INC; xs need not be sorted)
--   percentiles(xs, ps) -> { [p] = value, ... } sorting once
--   accumulator{keep=}  -> streaming mean/stddev (Welford), min/max, and
--                          percentiles when keep=true stores the values
--   sketch()            -> q: percentiles of a stream in bounded memory:
--                          q:add(x), q:percentile(p), q:percentiles(ps),
--                          q.n, q.min, q.max. Exact (as percentile()) up to
--                          SKETCH_EXACT values; beyond, a log-bucketed
--                          histogram: every percentile within SKETCH_ERROR
--                          (0.5%) of the exact one, relative, for values of
--                          one sign (latencies); p0 and p100 stay exact.
--                          Its size grows with the spread of the values, not
--                          their number: one bucket per 1% step, about 2,800
--                          from 10 microseconds to 3 hours in ms. Used for
--                          summary.json's latency_ms (summary, merge, report).
--   estimate()          -> e: e:add(x) for x in [0, 1] (a boolean is 0/1),
--                          e:result() -> {value=, stderr=, ci95={lo, hi}, n=}
--                          (95%: Wilson when every x was 0 or 1, else the
--                          normal interval, clipped to [0, 1])
--   suite_metrics(defs, key) -> the metrics of a run, accumulated item by
--                          item as the records stream past (summary.lua,
--                          merge): m:add(samples, group) with the samples of
--                          one item (evals/reduce.lua says what a sample is);
--                          m:result() -> {metrics = {name -> estimate},
--                          groups = {group -> {name -> estimate}}}.
--                          defs: list of {name=, reduce=function(samples, key)}
--                          (evals/suite.lua builds it from suite.metrics)
-- Expected failures (empty input) return nil, err.

local M = {}

local sqrt, floor, huge = math.sqrt, math.floor, math.huge
local sort, type, error, ipairs = table.sort, type, error, ipairs


local function check_list(xs, fn)
    if type(xs) ~= "table" then
        error("metrics." .. fn .. ": list expected, got " .. type(xs), 3)
    end
end


local function value(x)
    if x == true then return 1 end
    if x == false then return 0 end
    if type(x) ~= "number" then
        error("metrics: number or boolean expected, got " .. type(x), 3)
    end
    return x
end


function M.mean(xs)
    check_list(xs, "mean")
    local n = #xs
    if n == 0 then return nil, "empty list" end
    local s = 0
    for i = 1, n do s = s + value(xs[i]) end
    return s / n
end


-- Sample standard deviation (n - 1 in the denominator).
function M.stddev(xs)
    check_list(xs, "stddev")
    local n = #xs
    if n < 2 then return nil, "need at least 2 values" end
    local m = 0
    for i = 1, n do m = m + value(xs[i]) end
    m = m / n
    local ss = 0
    for i = 1, n do
        local d = value(xs[i]) - m
        ss = ss + d * d
    end
    return sqrt(ss / (n - 1))
end


function M.stderr(xs)
    local sd, err = M.stddev(xs)
    if not sd then return nil, err end
    return sd / sqrt(#xs)
end


-- Wilson score interval for k successes in n trials.
function M.wilson(k, n, z)
    z = z or 1.96
    if type(k) ~= "number" or type(n) ~= "number" then
        error("metrics.wilson: numbers expected", 2)
    end
    if n <= 0 then return nil, "n must be > 0" end
    if k < 0 or k > n then error("metrics.wilson: need 0 <= k <= n", 2) end
    local p = k / n
    local z2 = z * z
    local denom = 1 + z2 / n
    local centre = (p + z2 / (2 * n)) / denom
    local half = z * sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / denom
    local lo, hi = centre - half, centre + half
    if k == 0 then lo = 0 end            -- exact at the ends (rounding)
    if k == n then hi = 1 end
    return lo, hi
end


-- Standard error of a proportion as lm-eval computes it for exact_match:
-- sample stddev of the 0/1 values over sqrt(n) = sqrt(p(1-p)/(n-1)).
function M.binary_stderr(k, n)
    if n < 2 then return nil, "need at least 2 values" end
    local p = k / n
    return sqrt(p * (1 - p) / (n - 1))
end


function M.accuracy(results)
    check_list(results, "accuracy")
    local n, k = #results, 0
    if n == 0 then return nil, "no results" end
    for i = 1, n do k = k + value(results[i]) end
    local lo, hi = M.wilson(k, n)
    return { n = n, correct = k, acc = k / n, stderr = M.binary_stderr(k, n),
             lo = lo, hi = hi }
end


-- p-th percentile of an already sorted list (linear interpolation).
local function sorted_percentile(s, p)
    local n = #s
    if p <= 0 then return s[1] end
    if p >= 100 then return s[n] end
    local h = (n - 1) * p / 100 + 1
    local lo = floor(h)
    local frac = h - lo
    if frac == 0 or lo >= n then return s[lo] end
    return s[lo] + frac * (s[lo + 1] - s[lo])
end


local function sorted_copy(xs)
    local s = {}
    for i = 1, #xs do
        local x = xs[i]
        if type(x) ~= "number" or x ~= x then
            error("metrics.percentile: numbers expected (no NaN)", 3)
        end
        s[i] = x
    end
    sort(s)
    return s
end


function M.percentile(xs, p)
    check_list(xs, "percentile")
    if type(p) ~= "number" or p < 0 or p > 100 then
        error("metrics.percentile: p must be in 0..100", 2)
    end
    if #xs == 0 then return nil, "empty list" end
    return sorted_percentile(sorted_copy(xs), p)
end


function M.percentiles(xs, ps)
    check_list(xs, "percentiles")
    if #xs == 0 then return nil, "empty list" end
    local s = sorted_copy(xs)
    local out = {}
    for _, p in ipairs(ps or { 50, 95, 99 }) do out[p] = sorted_percentile(s, p) end
    return out
end


-- Streaming accumulator -----------------------------------------------------

local Acc = {}
Acc.__index = Acc


function M.accumulator(opts)
    return setmetatable({ n = 0, m = 0, m2 = 0, sum = 0, min = huge, max = -huge,
                          values = (opts and opts.keep) and {} or nil,
                          sorted = true }, Acc)
end


function Acc:add(x)
    x = value(x)
    local n = self.n + 1
    self.n = n
    self.sum = self.sum + x
    local d = x - self.m
    self.m = self.m + d / n
    self.m2 = self.m2 + d * (x - self.m)
    if x < self.min then self.min = x end
    if x > self.max then self.max = x end
    if self.values then
        self.values[n] = x
        self.sorted = false
    end
    return self
end


function Acc:mean()
    if self.n == 0 then return nil, "empty" end
    return self.m
end


function Acc:stddev()
    if self.n < 2 then return nil, "need at least 2 values" end
    return sqrt(self.m2 / (self.n - 1))
end


function Acc:stderr()
    local sd, err = self:stddev()
    if not sd then return nil, err end
    return sd / sqrt(self.n)
end


function Acc:percentile(p)
    if not self.values then
        error("metrics: accumulator created without keep=true", 2)
    end
    if self.n == 0 then return nil, "empty" end
    if not self.sorted then
        sort(self.values)
        self.sorted = true
    end
    return sorted_percentile(self.values, p)
end


-- Percentiles of a stream in bounded memory ----------------------------------
-- Up to SKETCH_EXACT values are kept as they are (exact percentiles). Past
-- that they go to a histogram of logarithmic buckets (the values are then
-- dropped): bucket i of a positive x is ceil(log(x) / log(G)) with
-- G = (1 + A) / (1 - A), so it holds (G^(i-1), G^i]; its representative
-- 2 G^i / (G + 1) is within A of every x in it, relative. Negative values
-- go to a mirrored histogram, zeros to a count. The value of rank r (0 the
-- smallest) is then its bucket's representative clamped to [min, max] (the
-- ends exact), and a percentile interpolates between the two ranks around
-- (n - 1) p / 100 as percentile() does: for values of one sign, within A of
-- the exact percentile, relative.

M.SKETCH_ERROR = 0.005
M.SKETCH_EXACT = 2048

local SG = (1 + M.SKETCH_ERROR) / (1 - M.SKETCH_ERROR)
local LOG_SG = math.log(SG)
local log, ceil = math.log, math.ceil

local Sketch = {}
Sketch.__index = Sketch

function M.sketch()
    return setmetatable({ n = 0, min = nil, max = nil, exact = {}, pos = nil, neg = nil, zeros = 0,
                          order = nil }, Sketch)
end

local function bucket_add(q, x)
    if x > 0 then
        local i = ceil(log(x) / LOG_SG)
        q.pos[i] = (q.pos[i] or 0) + 1
    elseif x < 0 then
        local i = ceil(log(-x) / LOG_SG)
        q.neg[i] = (q.neg[i] or 0) + 1
    else
        q.zeros = q.zeros + 1
    end
end

function Sketch:add(x)
    if type(x) ~= "number" or x ~= x or x == huge or x == -huge then
        error("metrics.sketch: add(x): a finite number expected, got " .. tostring(x), 2)
    end
    local n = self.n + 1
    self.n = n
    if n == 1 or x < self.min then self.min = x end
    if n == 1 or x > self.max then self.max = x end
    self.order = nil
    local exact = self.exact
    if exact then
        if n <= M.SKETCH_EXACT then
            exact[n] = x
            return self
        end
        -- past SKETCH_EXACT: the values kept so far go to the buckets
        self.pos, self.neg, self.exact = {}, {}, nil
        for i = 1, n - 1 do bucket_add(self, exact[i]) end
    end
    bucket_add(self, x)
    return self
end

-- The buckets in value order, as {representative, cumulative count} pairs.
local function bucket_order(q)
    local out = {}
    local keys = {}
    for i in pairs(q.neg) do keys[#keys + 1] = i end
    sort(keys, function(a, b) return a > b end) -- most negative first
    local cum = 0
    for _, i in ipairs(keys) do
        cum = cum + q.neg[i]
        out[#out + 1] = { -2 * SG ^ i / (SG + 1), cum }
    end
    if q.zeros > 0 then
        cum = cum + q.zeros
        out[#out + 1] = { 0, cum }
    end
    keys = {}
    for i in pairs(q.pos) do keys[#keys + 1] = i end
    sort(keys)
    for _, i in ipairs(keys) do
        cum = cum + q.pos[i]
        out[#out + 1] = { 2 * SG ^ i / (SG + 1), cum }
    end
    return out
end

-- The value of rank r (0-based) in bucket mode.
local function rank_value(q, order, r)
    if r <= 0 then return q.min end
    if r >= q.n - 1 then return q.max end
    local lo, hi = 1, #order -- the first bucket whose cumulative count > r
    while lo < hi do
        local mid = (lo + hi) // 2
        if order[mid][2] > r then hi = mid else lo = mid + 1 end
    end
    local v = order[lo][1]
    if v < q.min then return q.min end
    if v > q.max then return q.max end
    return v
end

function Sketch:percentile(p)
    if type(p) ~= "number" or p < 0 or p > 100 then
        error("metrics.sketch: p must be in 0..100", 2)
    end
    local n = self.n
    if n == 0 then return nil, "empty" end
    if self.exact then
        if not self.order then
            sort(self.exact)
            self.order = true
        end
        return sorted_percentile(self.exact, p)
    end
    self.order = self.order or bucket_order(self)
    local h = (n - 1) * p / 100
    local r = floor(h)
    local frac = h - r
    local a = rank_value(self, self.order, r)
    if frac == 0 then return a end
    return a + frac * (rank_value(self, self.order, r + 1) - a)
end

function Sketch:percentiles(ps)
    if self.n == 0 then return nil, "empty" end
    local out = {}
    for _, p in ipairs(ps or { 50, 95, 99 }) do out[p] = self:percentile(p) end
    return out
end

-- How many buckets the histogram holds (0 while exact): its size.
function Sketch:buckets()
    if self.exact then return 0 end
    local k = self.zeros > 0 and 1 or 0
    for _ in pairs(self.pos) do k = k + 1 end
    for _ in pairs(self.neg) do k = k + 1 end
    return k
end


-- Estimates of a mean in [0, 1] -----------------------------------------------

local Est = {}
Est.__index = Est

function M.estimate()
    return setmetatable({ n = 0, sum = 0, sumsq = 0, binary = true }, Est)
end

function Est:add(x)
    x = value(x)
    self.n, self.sum, self.sumsq = self.n + 1, self.sum + x, self.sumsq + x * x
    if x ~= 0 and x ~= 1 then self.binary = false end
    return self
end

function Est:result()
    local n = self.n
    if n == 0 then return { value = nil, n = 0 } end
    local m = self.sum / n
    local se
    if n >= 2 then
        local var = (self.sumsq - n * m * m) / (n - 1)
        se = sqrt(var > 0 and var or 0) / sqrt(n)
    end
    local lo, hi
    if self.binary then
        lo, hi = M.wilson(self.sum, n)
    elseif se then
        lo, hi = math.max(0, m - 1.96 * se), math.min(1, m + 1.96 * se)
    else
        lo, hi = m, m
    end
    return { value = m, stderr = se, ci95 = { lo, hi }, n = n }
end


-- The metrics of a run, per item and per group ------------------------------

local Suite = {}
Suite.__index = Suite

function M.suite_metrics(defs, key)
    return setmetatable({ defs = defs, key = key, all = {}, groups = {}, group_names = {} }, Suite)
end

local function add_to(set, defs, samples, key)
    for _, d in ipairs(defs) do
        local v = d.reduce(samples, key)
        if v ~= nil then
            set[d.name] = set[d.name] or M.estimate()
            set[d.name]:add(v)
        end
    end
end

function Suite:add(samples, group)
    add_to(self.all, self.defs, samples, self.key)
    if group ~= nil then
        group = tostring(group)
        local g = self.groups[group]
        if not g then
            g = {}
            self.groups[group] = g
            self.group_names[#self.group_names + 1] = group
        end
        add_to(g, self.defs, samples, self.key)
    end
end

local function results(set, defs)
    local out = {}
    for _, d in ipairs(defs) do
        if set[d.name] then out[d.name] = set[d.name]:result() end
    end
    return out
end

-- result() -> {metrics=, groups=, group_names= (sorted)}
function Suite:result()
    local groups = {}
    for name, g in pairs(self.groups) do groups[name] = results(g, self.defs) end
    local names = { table.unpack(self.group_names) }
    sort(names)
    return { metrics = results(self.all, self.defs), groups = groups, group_names = names }
end


return M
