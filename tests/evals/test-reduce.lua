-- tests/evals/test-reduce.lua: the reducers (evals/reduce.lua) and the run
-- metrics accumulated per item and per group (evals/metrics.lua).
local T = require "tests.lib.tap"
local R = require "evals.reduce"
local metrics = require "evals.metrics"

local function S(list)        -- {{value, answer}, ...} -> samples
    local out = {}
    for i, x in ipairs(list) do out[i] = { value = x[1], answer = x[2] } end
    return out
end

-- pass@k: 1 - C(n-c, k) / C(n, k), by hand
T.eq(R.pass_at(5, 0, 1), 0, "pass@1 of 0/5 correct")
T.near(R.pass_at(5, 2, 1), 0.4, 1e-12, "pass@1 = c/n")
T.near(R.pass_at(5, 2, 2), 1 - 3 / 10, 1e-12, "pass@2 of 2/5 = 1 - C(3,2)/C(5,2)")
T.eq(R.pass_at(5, 4, 2), 1, "pass@2 is 1 when fewer than k are wrong")
T.near(R.pass_at(10, 3, 5), 1 - 21 / 252, 1e-12, "pass@5 of 3/10 = 1 - C(7,5)/C(10,5)")
T.eq(R.pass_at(3, 1, 5), nil, "pass@5 needs at least 5 samples")

-- majority vote over answers, ties to the first given
T.eq(R.maj(S { { 0, "7" }, { 1, "8" }, { 1, "8" }, { 0, "7" }, { 0, "9" } }, 5), 0, "maj: a tie (7 and 8 twice each) goes to the answer given first (7)")
T.eq(R.maj(S { { 0, "7" }, { 1, "8" }, { 1, "8" } }, 3), 1, "maj: the answer given most")
T.eq(R.maj(S { { 0, "7" }, { 1, "8" }, { 1, "8" } }, 1), 0, "maj@1 is the first sample")
T.eq(R.maj(S { { 0, nil }, { 0, nil } }, 2), 0, "maj: no answers at all is wrong")
T.eq(R.maj(S { { 1, "8.0" }, { 0, "9" }, { 1, "8" } }, 3, function(a) return tostring(tonumber(a)) end), 1,
    "maj: the key normalises answers (8.0 and 8 are one vote)")
T.eq(R.maj(S { { nil, "5" }, { 0, "6" } }, 2), 0, "maj: unscored samples take no part")

T.eq(R.mean(S { { 1 }, { 0 }, { nil }, { 0.5 } }), 0.5, "mean of the scored samples")
T.eq(R.mean(S { { nil } }), nil, "mean of no scored sample: nil")
T.eq(R.first(S { { nil }, { 0.25 }, { 1 } }), 0.25, "first: the first scored")

local fn, k = R.parse("pass@3")
T.ok(fn and k == 3, "parse pass@3")
T.eq(fn(S { { 1 }, { 0 }, { 0 } }), 1, "pass@3 of 1/3")
T.ok(R.parse("maj@5"), "parse maj@5")
local bad, err = R.parse("best@2")
T.ok(not bad and err:find("unknown reducer 'best@2'"), "an unknown reducer is named")

-- the estimate: Wilson for 0/1, the normal interval otherwise
local e = metrics.estimate()
for _, x in ipairs { 1, 1, 0, 1 } do e:add(x) end
local r = e:result()
local lo, hi = metrics.wilson(3, 4)
T.eq(r.value, 0.75, "estimate: mean")
T.near(r.stderr, metrics.binary_stderr(3, 4), 1e-12, "estimate: stderr as binary_stderr for 0/1")
T.ok(r.ci95[1] == lo and r.ci95[2] == hi, "estimate: Wilson interval for 0/1 values")
e = metrics.estimate()
for _, x in ipairs { 0.2, 0.4, 0.6 } do e:add(x) end
r = e:result()
T.near(r.value, 0.4, 1e-12, "estimate of fractions: mean")
T.near(r.stderr, 0.2 / math.sqrt(3), 1e-12, "estimate of fractions: sample stddev / sqrt(n)")
T.near(r.ci95[1], 0.4 - 1.96 * 0.2 / math.sqrt(3), 1e-12, "estimate of fractions: normal interval")

-- per item, per group
local m = metrics.suite_metrics({ { name = "maj@3", reduce = function(s) return R.maj(s, 3) end },
                                  { name = "pass@1", reduce = function(s) return R.pass(s, 1) end } })
m:add(S { { 1, "a" }, { 1, "a" }, { 0, "b" } }, "x")
m:add(S { { 0, "b" }, { 1, "a" }, { 0, "b" } }, "y")
m:add(S { { 1, "a" }, { 0, "c" }, { 0, "d" } }, "x")
local res = m:result()
T.eq(res.metrics["maj@3"].value, 2 / 3, "maj@3 over three items")
T.near(res.metrics["pass@1"].value, (2 / 3 + 1 / 3 + 1 / 3) / 3, 1e-12, "pass@1 is the mean of c/n")
T.eq(res.groups.x["maj@3"].value, 1, "group x: maj@3")
T.eq(res.groups.y["maj@3"].n, 1, "group y: one item")
T.eq(table.concat(res.group_names, ","), "x,y", "group names sorted")
T.done()
