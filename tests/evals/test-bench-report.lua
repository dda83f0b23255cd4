-- tests/evals/test-bench-report.lua: the bench analysis and the sweep plan
-- (evals/bench_report.lua) on synthetic sweeps of servers with P slots.

local T = require "tests.lib.tap"
local B = require "evals.bench_report"

-- A closed-loop client against P slots: decode 20 ms/token slowed by 15% per
-- extra request decoding (`pen`; continuous batching: small), answers of 320
-- tokens on average, 80 ms to the first token unqueued, slowed by the batch
-- as decoding is. Beyond P, throughput stays
-- flat and the extra requests wait (Little's law: latency = c / X). `noise`
-- perturbs the rates by up to +-1.5%, deterministically. `fail_above` and
-- `fail_class`: requests beyond that concurrency fail (a bounded queue).
local function server(P, o)
    o = o or {}
    local pen, tokens, ttft0 = o.pen or 0.15, 320, 80
    local function measure(c)
        local k = math.min(c, P)
        local tau = 20 * (1 + pen * (k - 1))          -- ms per token
        local service = ttft0 + tokens * tau          -- ms per request
        local x0 = k / service * 1000                 -- requests/s
        local amp = o.noisy and 0.03 or 0.015
        local x = x0 * (1 + amp * math.sin(c * 12.9898 + P * 78.233))
        local e2e = c / x0 * 1000
        local wait = e2e - service
        local first = ttft0 * (1 + pen * (k - 1))     -- prefill slows like decode
        if o.noisy then first = first * (1 + 0.3 * math.sin(c * 3.7 + P)) end
        local ttft = nil
        if not o.no_ttft then ttft = { p50 = first + wait, p95 = first * 1.3 + wait * 1.6 } end
        local ok, failed = math.floor(x * 15 + 0.5), { overload = 0, rate = 0, server = 0, timeout = 0,
                                                       connection = 0, other = 0 }
        if o.fail_above and c > o.fail_above then
            failed[o.fail_class or "overload"] = math.floor(ok * 0.2 * (c - o.fail_above) / c) + 1
        end
        return {
            concurrency = c, ok = ok, failed = failed, seconds = 15,
            requests_per_s = x, output_tokens_per_s = x * tokens,
            ttft_ms = ttft, tpot_ms = { p50 = tau, p95 = tau * 1.2 },
            e2e_ms = { p50 = e2e, p95 = e2e * 1.8 },
            queue_ms = o.queue and { p50 = wait, p95 = wait * 1.5 } or nil,
        }
    end
    return measure
end

-- Runs the plan against a server: returns the points and the seconds spent.
local function sweep(measure, opts)
    local plan = B.plan(opts)
    local points, spent, why = {}, plan.warmup.requests * 5, nil
    local order = {}
    while true do
        local c
        c, why = B.next_concurrency(plan, points, spent)
        if not c then break end
        points[#points + 1] = measure(c)
        order[#order + 1] = c
        spent = spent + (c == 1 and plan.sequential.seconds or plan.point.seconds)
        if #order > 40 then break end
    end
    return points, spent, order, why, plan
end

for _, case in ipairs({ { 1 }, { 2 }, { 4 }, { 6 }, { 8 }, { 4, queue = true }, { 8, no_ttft = true },
                        { 4, no_ttft = true }, { 4, noisy = true }, { 8, noisy = true } }) do
    local P = case[1]
    local label = ("P=%d%s%s%s"):format(P, case.queue and " (server queue times)" or "",
        case.no_ttft and " (no TTFT)" or "", case.noisy and " (TTFT +-30%, rates +-3%)" or "")
    local points, spent, order, why, plan = sweep(server(P, case))
    local R = assert(B.analyse { points = points, model = "qwen3:8b", num_ctx = 8192 })
    T.diag(("%s: measured c = %s (%s), %.0f s of %d"):format(label, table.concat(order, ","), why, spent,
        plan.budget_s))
    T.eq(R.slots_estimate, P, label .. ": slot count inferred exactly")
    T.ok(not R.slots_lower_bound, label .. ": a knee, not a lower bound")
    local rc = R.recommended_concurrency
    T.ok(rc and rc >= P and rc <= P + 2, ("%s: recommends a concurrency in [P, P+2] (%s)"):format(label,
        tostring(rc)))
    T.ok(spent <= plan.budget_s, ("%s: the sweep fits its budget (%.0f <= %d s)"):format(label, spent,
        plan.budget_s))
    local j = B.json(R)
    T.ok(j.points and #j.points == #order and j.slots_estimate == P and j.recommended_concurrency == rc
        and j.sequential and j.sequential.concurrency == 1 and j.speedup_at_recommended > 0,
        label .. ": bench.json has points, slots_estimate, recommended_concurrency, sequential, speedup")
    if P > 1 and not case.no_ttft then
        T.ok(R.verdict[1]:find(("looks like OLLAMA_NUM_PARALLEL=%d"):format(P), 1, true),
            label .. ": the verdict names OLLAMA_NUM_PARALLEL")
    end
end

-- The sweep and the speedup for P=4, in detail.
do
    local points = sweep(server(4))
    local R = B.analyse { points = points, model = "qwen3:8b", num_ctx = 8192,
                          kv_bytes_per_token = 147456, load_ms = 3200 }
    local s4
    for _, q in ipairs(R.points) do if q.concurrency == 4 then s4 = q end end
    -- X(4)/X(1) = 4 * (80 + 320*20) / (80 + 320*20*1.45), times the noise
    local want = 4 * (80 + 320 * 20) / (80 + 320 * 20 * 1.45)
    T.near(s4.speedup, want * (1 + 0.015 * math.sin(4 * 12.9898 + 4 * 78.233))
        / (1 + 0.015 * math.sin(12.9898 + 4 * 78.233)), 1e-9, "speedup = throughput / sequential throughput")
    T.near(s4.efficiency, s4.speedup / 4, 1e-12, "efficiency = speedup / c")
    T.near(R.efficiency_at_knee, s4.efficiency, 1e-12, "efficiency at the knee is that of c=P")
    local text = B.text(R)
    T.diag(text)
    T.ok(text:find("recommended", 1, true) and text:find("knee", 1, true), "the table marks the knee and the recommendation")
    T.ok(text:find("4 x 8192 = 32768 tokens (4.5 GiB)", 1, true), "the verdict gives the KV memory of the slots")
    T.ok(text:find("model load took 3.2 s", 1, true), "the verdict reports the load time")
    T.ok(text:find("raising OLLAMA_NUM_PARALLEL is likely to help", 1, true),
        ("efficiency %.2f at the knee: raising OLLAMA_NUM_PARALLEL is likely to help"):format(R.efficiency_at_knee))
    T.ok(text:find("beyond c=6 requests only wait", 1, true), "the verdict says what lies beyond the knee")
    local svg = B.svg(R)
    T.eq(svg, B.svg(R), "the SVG is deterministic")
    T.ok(svg:match("^<svg xmlns=\"http://www.w3.org/2000/svg\"") and svg:find("</svg>\n$"),
        "the SVG is a complete document")
    T.ok(svg:find("knee c=4", 1, true) and svg:find("use -c ", 1, true), "the SVG marks the knee and the recommendation")
    T.ok(not svg:find("http", 60, true) and not svg:find("<script", 1, true), "the SVG is self-contained")
    local points_in_svg = select(2, svg:gsub("<circle ", ""))
    T.eq(points_in_svg, 2 * #R.points, "the SVG plots every point (throughput and latency)")
end

-- Saturated hardware: more slots barely add throughput.
do
    local R = B.analyse { points = sweep(server(4, { pen = 0.9 })), num_ctx = 4096 }
    T.eq(R.slots_estimate, 4, "heavy batching penalty: still 4 slots")
    T.ok(R.efficiency_at_knee < 0.6 and (B.text(R):find("may help a little", 1, true)
        or B.text(R):find("will not help", 1, true)), ("efficiency %.2f: raising OLLAMA_NUM_PARALLEL is not advised")
        :format(R.efficiency_at_knee))
end

-- A server that never speeds up (one slot).
do
    local points, _, order = sweep(server(1))
    local R = B.analyse { points = points, num_ctx = 8192 }
    T.eq(table.concat(order, ","), "1,2,3", "one slot: the sweep stops after c=2 and checks c=3")
    T.ok(R.max_speedup < 1.05, ("one slot: no speedup (%.3f)"):format(R.max_speedup))
    T.ok(R.verdict[1]:find("1 slot: requests run one at a time", 1, true), "one slot: the verdict says so")
    T.ok(B.text(R):find("only way to go faster", 1, true), "one slot: advice is to raise OLLAMA_NUM_PARALLEL")
end

-- Failures at high concurrency: 503s beyond P + 2 (a bounded queue).
do
    local points, _, order = sweep(server(4, { fail_above = 6 }))
    local R = B.analyse { points = points }
    T.eq(R.slots_estimate, 4, "503s beyond c=6: slots still inferred")
    T.ok(R.recommended_concurrency >= 4 and R.recommended_concurrency <= 6, "503s beyond c=6: recommendation within the usable points")
    local bad = false
    for _, q in ipairs(R.points) do
        if q.concurrency > 6 then bad = bad or q.usable end
    end
    T.ok(not bad, "points with failures are not used")
    T.ok(B.text(R):find("c=8 and above failed requests", 1, true), "the verdict names where failures start")
    T.diag("measured c = " .. table.concat(order, ","))
    -- failing from c=2 on: a server that cannot take two at once
    local R2 = B.analyse { points = sweep(server(1, { fail_above = 1 })) }
    T.eq(R2.slots_estimate, 1, "failing at c=2: one slot")
    T.eq(R2.recommended_concurrency, 1, "failing at c=2: recommends c=1")
end

-- 503s and 429s waited out (requeued in the window, not failed): counted
-- per point, in the table and bench.json, and the verdict says where the
-- server drew overload; the points stay usable.
do
    local measure = server(4, {})
    local points = {}
    for _, c in ipairs { 1, 2, 4, 5, 6, 8, 16 } do
        local p = measure(c)
        p.requeued = { overload = c > 6 and 3 * c or 0, rate = c == 16 and 2 or 0 }
        points[#points + 1] = p
    end
    local R = B.analyse { points = points }
    T.eq(R.slots_estimate, 4, "overload waited out beyond c=6: the slots are still inferred")
    local q8
    for _, q in ipairs(R.points) do if q.concurrency == 8 then q8 = q end end
    T.ok(q8.queued == true and q8.usable, "a point that drew overload is past the knee, and still usable")
    local text = B.text(R)
    T.ok(text:find("overload: c=8 drew 24 503s, c=16 drew 48 503s and 2 429s; each was waited out", 1, true),
        "the verdict names the points that drew overload and that it was waited out")
    T.ok(text:find("503/429", 1, true) and text:match("\n%s*16%s+%d+%s+0%s+48/2%s"),
        "the table has a 503/429 column per point")
    local J = B.json(R)
    local last = J.points[#J.points]
    T.ok(last.requeued and last.requeued.overload == 48 and last.requeued.rate == 2, "bench.json: requeued per point")
    local quiet = {}
    for _, c in ipairs { 1, 2, 4, 5, 6, 8 } do quiet[#quiet + 1] = measure(c) end
    T.ok(not B.text(B.analyse { points = quiet }):find("overload:", 1, true), "no overload: the verdict says nothing of it")
end

-- Continuous batching: no knee within --max-c.
do
    local points, _, order = sweep(server(256, { pen = 0.002 }), { max_c = 64 })
    local R = B.analyse { points = points }
    T.eq(R.slots_estimate, 64, "no knee: slots at least the largest c measured")
    T.ok(R.slots_lower_bound and R.verdict[1]:find("at least 64 slots", 1, true), "no knee: a lower bound, said so")
    T.eq(R.recommended_concurrency, 64, "no knee: recommends the best measured")
    T.diag("measured c = " .. table.concat(order, ","))
end

-- --quick: a shorter budget, the same answer.
do
    local points, spent, _, _, plan = sweep(server(4), { quick = true })
    local R = B.analyse { points = points }
    T.ok(plan.budget_s == 60 and spent <= 60, ("--quick fits 60 s (%.0f)"):format(spent))
    T.eq(R.slots_estimate, 4, "--quick: 4 slots")
end

-- Budget: a tight one stops the sweep early, with the reason.
do
    local _, spent, order, why = sweep(server(8), { budget_s = 70 })
    T.ok(spent <= 70 and why == "time budget spent", ("a 70 s budget stops at %.0f s (%s)"):format(spent, why))
    T.ok(#order >= 3, "a tight budget still measures the baseline and the first doublings")
end

-- Bad input.
do
    local r, err = B.analyse { points = {} }
    T.ok(r == nil and err:find("no sequential baseline", 1, true), "no points: nil, err")
    r, err = B.analyse { points = { { concurrency = 2, output_tokens_per_s = 10 } } }
    T.ok(r == nil and err:find("sequential", 1, true), "no c=1: nil, err")
    r, err = B.analyse { points = { { concurrency = 1 } } }
    T.ok(r == nil and err:find("no throughput", 1, true), "a point without a rate: nil, err")
    r, err = B.analyse("x")
    T.ok(r == nil and err, "not a table: nil, err")
    r, err = B.analyse { points = { { concurrency = 1, ok = 0, output_tokens_per_s = 0,
                                      failed = { timeout = 5 } } } }
    T.ok(r == nil and err:find("sequential baseline failed", 1, true), "a failed baseline: nil, err")
end

-- KV bytes per token from Ollama's model_info (qwen3:8b: 36 layers, 8 KV
-- heads, 128-dim keys and values: 36 * 8 * 256 * 2 = 147456 bytes).
T.eq(B.kv_bytes_per_token { ["general.architecture"] = "qwen3", ["qwen3.block_count"] = 36,
    ["qwen3.attention.head_count_kv"] = 8, ["qwen3.attention.head_count"] = 32,
    ["qwen3.attention.key_length"] = 128, ["qwen3.attention.value_length"] = 128,
    ["qwen3.embedding_length"] = 4096 }, 147456, "KV bytes per token (qwen3:8b, f16)")
T.eq(B.kv_bytes_per_token { ["general.architecture"] = "llama", ["llama.block_count"] = 28,
    ["llama.attention.head_count_kv"] = 8, ["llama.attention.head_count"] = 24,
    ["llama.embedding_length"] = 3072 }, 28 * 8 * 256 * 2, "KV bytes per token from embedding_length / heads")
T.eq(B.kv_bytes_per_token {}, nil, "KV bytes: nil without an architecture")

T.done()
