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

T.done()
