-- tests/evals/test-stats.lua: evals/stats.lua against hand-computed values:
-- Wilson intervals, standard errors (plain and clustered), the paired
-- difference of two runs with known discordant counts, the exact McNemar
-- p-value, the seeded paired bootstrap, the MDE, Holm and BH.

local T = require "tests.lib.tap"
local S = require "evals.stats"

-- Wilson: 60/100 by hand: centre (0.6 + 1.96^2/200) / (1 + 1.96^2/100),
-- half 1.96 sqrt(0.0024 + 1.96^2/40000) / (1 + 1.96^2/100)
local lo, hi = S.wilson(60, 100)
T.near(lo, 0.502002, 2e-6, "wilson(60, 100) lo")
T.near(hi, 0.690599, 2e-6, "wilson(60, 100) hi")
lo, hi = S.wilson(0, 10)
T.eq(lo, 0, "wilson(0, 10) lo is 0")
T.near(hi, 0.2775, 5e-5, "wilson(0, 10) hi (Newcombe 1998)")
T.ok(not pcall(S.wilson, 3, 2), "wilson(3, 2) raises")

T.near(S.prop_se(60, 100), math.sqrt(0.24 / 100), 1e-12, "prop_se(60, 100) = sqrt(0.6*0.4/100)")

-- clustered: {1,1,0,0} in clusters a,a,b,b: mean 0.5, cluster sums +1 and -1,
-- sqrt(2/1 * 2) / 4 = 0.5; unclustered sd/sqrt(n) = sqrt(1/3)/2
local m, se = S.mean_se({ 1, 1, 0, 0 })
T.near(m, 0.5, 1e-12, "mean_se mean")
T.near(se, math.sqrt(1 / 3) / 2, 1e-12, "mean_se se = sd/sqrt(n)")
m, se = S.mean_se({ 1, 1, 0, 0 }, { "a", "a", "b", "b" })
T.near(se, 0.5, 1e-12, "clustered se of {1,1 | 0,0} = 0.5")
m, se = S.mean_se({ 1, 0, 1, 0 }, { "a", "a", "b", "b" })
T.near(se, 0, 1e-12, "clustered se is 0 when every cluster has the mean")
T.eq(S.clustered_se({ 1, 0 }, { "a", "a" }), nil, "one cluster: no clustered se")

-- quantiles and the MDE
T.near(S.z(0.975), 1.959964, 1e-6, "z(0.975)")
T.near(S.z(0.8), 0.841621, 1e-6, "z(0.8)")
T.near(S.z(0.001), -3.090232, 1e-6, "z(0.001) (lower tail)")
T.near(S.mde(1), 2.801585, 1e-6, "mde(1) at alpha 0.05, power 0.8")
T.near(S.mde(0.01, 0.01, 0.9), (2.575829 + 1.281552) * 0.01, 1e-7, "mde at alpha 0.01, power 0.9")

-- McNemar, exact: by hand from binomial coefficients
T.eq(S.mcnemar_exact(0, 0), 1, "no discordant pairs: p = 1")
T.near(S.mcnemar_exact(0, 5), 2 / 32, 1e-12, "b=0 c=5: 2 * 1/32")
T.near(S.mcnemar_exact(10, 3), 2 * (1 + 13 + 78 + 286) / 8192, 1e-12, "b=10 c=3: 2 * 378/8192")
T.near(S.mcnemar_exact(3, 10), 2 * 378 / 8192, 1e-12, "symmetric in b and c")
T.eq(S.mcnemar_exact(5, 5), 1, "b=c: capped at 1")
T.near(S.mcnemar_exact(60, 40), 0.0568879, 1e-6, "b=60 c=40 (binom.test two-sided)")
local big = S.mcnemar_exact(5000, 5000)
T.ok(big == 1, "b=c=5000 stays finite and capped")
T.ok(not pcall(S.mcnemar_exact, 1.5, 2), "non-integer count raises")

-- A synthetic pair of 100 items: 50 both right, 10 right only in A (b), 3
-- right only in B (c), 37 both wrong. d has ten +1, three -1, 87 zeros:
-- delta 0.07; var (13 - 100 * 0.0049) / 99 = 12.51/99
local function pair(b, c, both_right, both_wrong)
    local A, B = {}, {}
    local function add(x, y, k) for _ = 1, k do A[#A + 1] = x; B[#B + 1] = y end end
    add(true, false, b); add(false, true, c); add(true, true, both_right); add(false, false, both_wrong)
    return A, B
end
local A, B = pair(10, 3, 50, 37)
local p = S.paired(A, B)
local se_hand = math.sqrt(12.51 / 99) / 10
T.eq(p.n, 100, "paired n")
T.eq(p.b, 10, "discordant b")
T.eq(p.c, 3, "discordant c")
T.eq(p.both_right, 50, "both right")
T.eq(p.both_wrong, 37, "both wrong")
T.near(p.mean_a, 0.60, 1e-12, "accuracy A")
T.near(p.mean_b, 0.53, 1e-12, "accuracy B")
T.near(p.delta, 0.07, 1e-12, "delta")
T.near(p.se, se_hand, 1e-12, "SE of delta = sd(d)/sqrt(n)")
T.near(p.lo, 0.07 - 1.959964 * se_hand, 1e-6, "CI lo")
T.near(p.hi, 0.07 + 1.959964 * se_hand, 1e-6, "CI hi")
T.near(p.lo, 0.000327, 1e-6, "CI lo by hand (0.07 - 0.069673)")
T.near(p.mde, 2.801585 * se_hand, 1e-6, "MDE ~ 2.80 SE")
T.ok(p.binary, "binary scores")

-- clustered paired: the ten +1 items in 2 clusters of 5, everything else in
-- singletons; sum over clusters of (sum of d - size*delta)^2
local cl = {}
for i = 1, 100 do cl[i] = i <= 5 and "x" or i <= 10 and "y" or ("s" .. i) end
local pc = S.paired(A, B, cl)
local C, ss = 92, 0
ss = ss + 2 * (5 - 5 * 0.07) ^ 2
for _ = 1, 3 do ss = ss + (-1 - 0.07) ^ 2 end
for _ = 1, 87 do ss = ss + (0 - 0.07) ^ 2 end
T.near(pc.se, math.sqrt(C / (C - 1) * ss) / 100, 1e-12, "clustered SE of delta by hand")
T.ok(pc.se > p.se, "clustering the agreeing items widens the interval")

-- non-binary scores
local pn = S.paired({ 0.5, 1, 0.25 }, { 0, 1, 0.75 })
T.ok(not pn.binary, "fractional scores are not binary")
T.near(pn.delta, 0, 1e-12, "delta of fractional scores")

-- the bootstrap: deterministic, close to the analytic interval
local b1 = S.bootstrap(A, B, { seed = 7, resamples = 4000 })
local b2 = S.bootstrap(A, B, { seed = 7, resamples = 4000 })
local b3 = S.bootstrap(A, B, { seed = 8, resamples = 4000 })
T.eq(b1.lo, b2.lo, "same seed, same lo")
T.eq(b1.hi, b2.hi, "same seed, same hi")
T.eq(b1.p, b2.p, "same seed, same p")
T.ok(b1.lo ~= b3.lo or b1.hi ~= b3.hi or b1.p ~= b3.p, "another seed, another draw")
T.near(b1.lo, p.lo, 0.015, "bootstrap lo near the analytic lo")
T.near(b1.hi, p.hi, 0.015, "bootstrap hi near the analytic hi")
T.ok(b1.p > 0.01 and b1.p < 0.2, "bootstrap p of the same order as McNemar's 0.092: " .. b1.p)
local eq = S.bootstrap(pair(0, 0, 50, 50))
T.eq(eq.p, 1, "identical runs: p = 1")
T.eq(eq.lo, 0, "identical runs: lo 0")
T.eq(eq.resamples, 10000, "10,000 resamples by default")
T.eq(S.resamples_for(1000), 10000, "10,000 resamples up to 1,000 items")
T.eq(S.resamples_for(4000), 2500, "fewer for more items (1e7 draws)")
T.eq(S.resamples_for(100000), 500, "never below 500")
T.eq(S.bootstrap(A, B, { resamples = 10 }).resamples, 10, "resamples as asked")
T.eq(S.bootstrap({}, {}), nil, "no items: nil")
local bc = S.bootstrap(A, B, { seed = 7, resamples = 2000, clusters = cl })
T.ok(bc.hi - bc.lo > b1.hi - b1.lo, "cluster bootstrap is wider")

-- Holm and BH by hand: sorted 0.005, 0.01, 0.03, 0.04 (m = 4)
-- Holm: 4*0.005, 3*0.01, 2*0.03, 1*0.04 = 0.02, 0.03, 0.06, 0.04 -> running max
-- BH:   0.005*4/1, 0.01*4/2, 0.03*4/3, 0.04*4/4 = 0.02, 0.02, 0.04, 0.04 -> running min
local ps = { 0.01, 0.04, 0.03, 0.005 }
local h, q = S.holm(ps), S.bh(ps)
local hw, qw = { 0.03, 0.06, 0.06, 0.02 }, { 0.02, 0.04, 0.04, 0.02 }
for i = 1, 4 do
    T.near(h[i], hw[i], 1e-12, "holm " .. ps[i])
    T.near(q[i], qw[i], 1e-12, "bh " .. ps[i])
end
T.near(S.holm({ 0.6, 0.7 })[2], 1, 1e-12, "holm capped at 1")
T.eq(#S.holm({}), 0, "holm of nothing")
T.ok(not pcall(S.bh, { 1.5 }), "bh of p > 1 raises")

T.done()
