-- tests/evals/test-metrics.lua: means, standard errors, Wilson intervals, percentiles.

local T = require "tests.lib.tap"
local M = require "evals.metrics"

-- Wilson 95% intervals: Newcombe (1998), Stat. Med. 17:857, Table I, method 3,
-- and the textbook 5/10 case.
local wilson_rows = {
    { 81, 263, 0.2553, 0.3662 },
    { 15, 148, 0.0624, 0.1605 },
    { 0, 20, 0.0000, 0.1611 },
    { 1, 29, 0.0061, 0.1718 },
    { 5, 10, 0.2366, 0.7634 },
    { 0, 10, 0.0000, 0.2775 },
    { 10, 10, 0.7225, 1.0000 },
}
for _, r in ipairs(wilson_rows) do
    local lo, hi = M.wilson(r[1], r[2])
    T.near(lo, r[3], 5e-5, ("wilson(%d, %d) lo"):format(r[1], r[2]))
    T.near(hi, r[4], 5e-5, ("wilson(%d, %d) hi"):format(r[1], r[2]))
end
local lo, hi = M.wilson(50, 100, 2.5758)
T.near(lo, 0.375281, 1e-6, "wilson 99% lo")
T.near(hi, 0.624719, 1e-6, "wilson 99% hi")
lo, hi = M.wilson(0, 10)
T.eq(lo, 0, "wilson lower end is exactly 0 at k=0")
lo, hi = M.wilson(7, 7)
T.eq(hi, 1, "wilson upper end is exactly 1 at k=n")
local none, err = M.wilson(0, 0)
T.ok(none == nil and err ~= nil, "wilson(0, 0) is nil, err")
T.ok(not pcall(M.wilson, 5, 3), "wilson(k > n) raises")

-- mean, stddev, stderr
T.eq(M.mean({ 1, 2, 3, 4 }), 2.5, "mean")
T.eq(M.mean({ true, false, true, true }), 0.75, "mean of booleans")
T.eq(M.mean({}), nil, "mean of empty list is nil")
T.near(M.stddev({ 2, 4, 4, 4, 5, 5, 7, 9 }), 2.138090, 1e-6, "sample stddev (n-1)")
T.near(M.stderr({ 1, 0, 1, 1, 0 }), 0.244949, 1e-6, "stderr = sd/sqrt(n)")
T.eq(M.stderr({ 1 }), nil, "stderr of one value is nil")

-- accuracy: stderr as lm-eval (sample stddev of 0/1 over sqrt(n))
local results = {}
for i = 1, 1319 do results[i] = i <= 1000 end
local a = M.accuracy(results)
T.eq(a.n, 1319, "accuracy n")
T.eq(a.correct, 1000, "accuracy correct")
T.near(a.acc, 1000 / 1319, 1e-12, "accuracy acc")
T.near(a.stderr, M.stderr(results), 1e-12, "accuracy stderr equals the sample stderr")
T.near(a.stderr, 0.011794, 1e-6, "accuracy stderr value")
T.near(a.lo, 0.734313, 1e-6, "accuracy wilson lo")
T.near(a.hi, 0.780488, 1e-6, "accuracy wilson hi")
T.eq(M.accuracy({}), nil, "accuracy of nothing is nil")

-- percentiles: linear interpolation (numpy's default)
local ten = { 10, 3, 7, 1, 5, 2, 9, 4, 8, 6 }
T.eq(M.percentile(ten, 50), 5.5, "p50 of 1..10")
T.near(M.percentile(ten, 95), 9.55, 1e-12, "p95 of 1..10")
T.near(M.percentile(ten, 99), 9.91, 1e-12, "p99 of 1..10")
T.eq(M.percentile(ten, 25), 3.25, "p25 of 1..10")
T.eq(M.percentile(ten, 0), 1, "p0 is the minimum")
T.eq(M.percentile(ten, 100), 10, "p100 is the maximum")
T.eq(ten[1], 10, "percentile does not sort its input")
T.eq(M.percentile({ 15, 20, 35, 40, 50 }, 40), 29, "p40 interpolates")
T.eq(M.percentile({ 15, 20, 35, 40, 50 }, 50), 35, "p50 odd n")
T.eq(M.percentile({ 42 }, 99), 42, "one value")
T.eq(M.percentile({}, 50), nil, "empty list is nil")
T.ok(not pcall(M.percentile, ten, 101), "p > 100 raises")
local ps = M.percentiles(ten, { 50, 95, 99 })
T.eq(ps[50], 5.5, "percentiles p50")
T.near(ps[99], 9.91, 1e-12, "percentiles p99")

-- streaming accumulator agrees with the list functions
local acc = M.accumulator({ keep = true })
local xs = {}
local x = 17
for i = 1, 1000 do
    x = (x * 1103515245 + 12345) % 2147483648
    xs[i] = x / 2147483648 * 100
    acc:add(xs[i])
end
T.eq(acc.n, 1000, "accumulator n")
T.near(acc:mean(), M.mean(xs), 1e-9, "accumulator mean")
T.near(acc:stddev(), M.stddev(xs), 1e-9, "accumulator stddev")
T.near(acc:stderr(), M.stderr(xs), 1e-9, "accumulator stderr")
T.eq(acc:percentile(95), M.percentile(xs, 95), "accumulator p95")
local mn, mx = math.huge, -math.huge
for _, v in ipairs(xs) do mn, mx = math.min(mn, v), math.max(mx, v) end
T.eq(acc.min, mn, "accumulator min")
T.eq(acc.max, mx, "accumulator max")
T.eq(M.accumulator():mean(), nil, "empty accumulator mean is nil")
T.ok(not pcall(function() return M.accumulator():percentile(50) end),
     "percentile without keep=true raises")

-- sketch: percentiles in bounded memory. Exact (as percentile) up to
-- SKETCH_EXACT values, then within SKETCH_ERROR of the exact percentile.
local A = M.SKETCH_ERROR
local format = string.format
local function rand(seed) -- a small LCG: the same numbers on every run
    local x = seed
    return function()
        x = (x * 6364136223846793005 + 1442695040888963407) & 0x7fffffffffffffff
        return (x >> 11) / 2 ^ 52
    end
end
local q = M.sketch()
T.eq(q.n, 0, "sketch: empty")
T.eq(q:percentile(50), nil, "sketch: no samples, no percentile")
T.eq(q:percentiles(), nil, "sketch: no samples, no percentiles")
q:add(42.5)
T.ok(q:percentile(0) == 42.5 and q:percentile(50) == 42.5 and q:percentile(100) == 42.5, "sketch: one sample is every percentile")
for _, bad in ipairs { 0 / 0, math.huge, -math.huge, "3" } do
    T.ok(not pcall(q.add, q, bad), "sketch: add(" .. tostring(bad) .. ") raises")
end
T.ok(not pcall(q.percentile, q, 101), "sketch: p > 100 raises")

-- exact below the threshold: the same numbers as percentile()
local r = rand(7)
q = M.sketch()
local list = {}
for i = 1, M.SKETCH_EXACT do list[i] = r() * 1000; q:add(list[i]) end
local same = true
for _, p in ipairs { 0, 1, 25, 50, 90, 95, 99, 100 } do
    if q:percentile(p) ~= M.percentile(list, p) then same = false end
end
T.ok(same and q:buckets() == 0, "sketch: exact up to SKETCH_EXACT values")

-- past it: within A, relative, of the exact percentile
local function within(xs, label, ps)
    local sk = M.sketch()
    for _, v in ipairs(xs) do sk:add(v) end
    local worst, at = 0, nil
    ps = ps or { 0, 0.1, 1, 5, 10, 25, 50, 75, 90, 95, 99, 99.9, 100 }
    local exact = M.percentiles(xs, ps)
    for _, p in ipairs(ps) do
        local e, got = exact[p], sk:percentile(p)
        local rel = e == 0 and math.abs(got) or math.abs(got - e) / math.abs(e)
        if rel > worst then worst, at = rel, p end
    end
    T.ok(worst <= A * (1 + 1e-9), format("sketch: %s: every percentile within %.1f%% (worst %.4f%% at p%s)",
        label, 100 * A, 100 * worst, tostring(at)))
    T.eq(sk:percentile(0), exact[0], "sketch: " .. label .. ": p0 exact")
    T.eq(sk:percentile(100), exact[100], "sketch: " .. label .. ": p100 exact")
    return sk
end
r = rand(11)
local uni, logn, lat = {}, {}, {}
for i = 1, 100000 do uni[i] = r() * 5000 end
within(uni, "100,000 uniform values in [0, 5000)")
for i = 1, 100000 do
    -- log-normal: most calls near 400 ms, a long tail to minutes
    local u1, u2 = r() + 1e-12, r()
    logn[i] = 400 * math.exp(1.2 * math.sqrt(-2 * math.log(u1)) * math.cos(2 * math.pi * u2))
end
local big = within(logn, "100,000 log-normal latencies")
T.ok(big:buckets() <= math.ceil(math.log(big.max / big.min) / math.log((1 + A) / (1 - A))) + 1,
    format("sketch: its size is set by the spread of the values (%d buckets for 100,000 values)", big:buckets()))
-- latencies as a simulator run gives them: a few ms with bursts
for i = 1, 5000 do lat[i] = 2 + 30 * r() ^ 3 + (i % 97 == 0 and 400 or 0) end
within(lat, "5,000 latencies of a local run")
local neg = {}
for i = 1, 10000 do neg[i] = -1 - r() * 99 end
within(neg, "10,000 negative values")
local withzeros = {}
for i = 1, 10000 do withzeros[i] = i % 3 == 0 and 0 or r() * 10 end
within(withzeros, "10,000 values, a third of them 0", { 0, 10, 25, 33, 50, 75, 99, 100 })
local const = M.sketch()
for _ = 1, 10000 do const:add(17.25) end
T.ok(const:percentile(1) == 17.25 and const:percentile(50) == 17.25 and const:percentile(99) == 17.25,
    "sketch: 10,000 equal values: every percentile is the value")
-- memory: a million values cost what the buckets cost
collectgarbage("collect")
local before = collectgarbage("count")
local mq = M.sketch()
for _ = 1, 1000000 do mq:add(1 + r() * 60000) end
collectgarbage("collect")
local kb = collectgarbage("count") - before
T.ok(kb < 200, format("sketch: 1,000,000 values in %.0f KB (%d buckets)", kb, mq:buckets()))

T.done()
