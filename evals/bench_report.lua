-- evals/bench_report.lua: what a concurrency sweep of one server says, and the
-- sweep's plan. Pure Lua: no I/O, no clock; `ollaeval bench` measures the
-- points and writes what this returns (docs/auto.md).
--
--   plan(opts)                 -> the sweep's settings (budget, durations)
--   next_concurrency(plan, points, spent_s) -> c, why | nil, why
--                                 the next concurrency to measure, or why stop
--   analyse(input)             -> report | nil, err
--   text(report)               -> the terminal table and verdict (a string)
--   json(report)               -> the bench.json table
--   svg(report)                -> a self-contained SVG plot (a string)
--   kv_bytes_per_token(model_info, bytes_per_value) -> bytes | nil
--
-- A point (one concurrency, measured in its steady window):
--   { concurrency = 4, ok = 120, seconds = 15.2,
--     failed = { overload = 0, rate = 0, server = 0, timeout = 0, connection = 0, other = 0 },
--     requeued = { overload = 0, rate = 0 },  -- 503s and 429s waited out (sent again, not failed)
--     requests_per_s = 2.1, output_tokens_per_s = 410.5,
--     ttft_ms = { p50 =, p95 = }, tpot_ms = { p50 =, p95 = }, e2e_ms = { p50 =, p95 = },
--     queue_ms = { p50 =, p95 = } }     -- server-side slot wait, when known
-- Only concurrency and a rate (output_tokens_per_s, else requests_per_s)
-- are required. The sequential baseline is the point at concurrency 1.
--
-- The server as a queue (shared reasoning with core/autowin.c): up to P
-- requests are served at once; beyond P throughput stays flat and the extra
-- requests wait, so their time to first token jumps from a prefill to a
-- share of a whole answer. A concurrency is "queued" when it drew 503s or
-- 429s (waited out, so not failures: the server refused them at first), or when the server's
-- queue wait p50 exceeds max(a quarter of e2e/c, 5 ms), or, without it,
-- when its TTFT p50 exceeds the sequential TTFT scaled by the rise in time
-- per output token (prefill slows with the batch as decoding does) by more
-- than max(half of that, a quarter of e2e/c, 20 ms). The slot estimate is
-- the largest c below which nothing queued; without TTFT it is the
-- throughput knee (the smallest c within 3% of the best throughput).

local M = {}

local format, concat, floor, max, min = string.format, table.concat, math.floor, math.max, math.min
local sort, ipairs, type, tostring = table.sort, ipairs, type, tostring

local FAIL_CLASSES = { "overload", "rate", "server", "timeout", "connection", "other" }
local FAIL_LIMIT = 0.02 -- points failing more than this are not used
local KNEE_SHARE = 0.97 -- the throughput knee: within 3% of the best
local GAIN = 0.03       -- a doubling that brings less has passed the knee

-- ---- the plan ----

-- opts: quick (bool), budget_s, max_c, point_s. The whole bench fits in
-- budget_s of wall time (default 180 s, --quick 60 s): warm-up, the
-- sequential baseline, then points of point_s each. The caller stretches
-- point.seconds to the measured service time (a point must see a whole
-- answer, then its steady window: from the first completion to the end of
-- the point, when the requests still running are cut) and passes the wall
-- time spent, warm-up included, to next_concurrency.
function M.plan(opts)
    opts = opts or {}
    local quick = opts.quick and true or false
    return {
        quick = quick,
        budget_s = opts.budget_s or (quick and 60 or 180),
        max_c = opts.max_c or 64,
        warmup = { requests = 1 },
        sequential = { concurrency = 1, seconds = quick and 8 or 20 },
        point = { seconds = opts.point_s or (quick and 6 or 15) },
    }
end


local function rate(p)
    return p.output_tokens_per_s or p.requests_per_s
end


-- 503s and 429s a point waited out (requeued in the window, not failed).
local function requeued(p)
    local r = type(p.requeued) == "table" and p.requeued or {}
    return tonumber(r.overload) or 0, tonumber(r.rate) or 0
end


local function failures(p)
    local n = 0
    if type(p.failed) == "table" then
        for _, k in ipairs(FAIL_CLASSES) do n = n + (tonumber(p.failed[k]) or 0) end
    end
    return n
end


local function usable(p)
    local ok, bad = tonumber(p.ok), failures(p)
    if ok == nil then return rate(p) ~= nil and rate(p) > 0 and bad == 0 end
    return ok > 0 and bad <= FAIL_LIMIT * (ok + bad)
end


local function p50(t) return type(t) == "table" and tonumber(t.p50) or nil end


-- true / false, or nil when the point says nothing about queueing.
local function queued(p, seq)
    local c = p.concurrency
    if c <= 1 then return false end
    -- refused at first (503: slots and queue full; 429: a limit), then
    -- waited out: past the knee, whatever the times say
    local n503, n429 = requeued(p)
    if n503 + n429 > 0 then return true end
    local e2e = p50(p.e2e_ms)
    local floor_ms = max(20, e2e and 0.25 * e2e / c or 0)
    local q = p50(p.queue_ms)
    -- the server's own queue wait is exact (0 while a slot is free): a
    -- lower floor, so that very short answers at c = slots + 1 still show
    if q then return q > max(5, e2e and 0.25 * e2e / c or 0) end
    local t, t1 = p50(p.ttft_ms), seq and p50(seq.ttft_ms)
    if not t or not t1 then return nil end
    -- prefill slows down with the batch as decoding does: expect the
    -- sequential TTFT scaled by the rise in time per output token
    local k, k1 = p50(p.tpot_ms), p50(seq.tpot_ms)
    local expect = t1 * ((k and k1 and k1 > 0) and max(1, k / k1) or 1)
    return t - expect > max(0.5 * expect, floor_ms)
end


-- Points by concurrency, sorted, the last one measured winning.
local function by_c(points)
    local seen, list = {}, {}
    for _, p in ipairs(points) do
        local c = p.concurrency
        if seen[c] then list[seen[c]] = p else
            list[#list + 1] = p
            seen[c] = #list
        end
    end
    sort(list, function(a, b) return a.concurrency < b.concurrency end)
    return list
end


-- The slot estimate from the points: lo = the largest c with nothing queued
-- at or below it, hi = the first c above it that queued or failed (nil if
-- none). method "queue" (server timings), "ttft", or "throughput".
local function slots_of(list, seq)
    local lo, hi, method = nil, nil, nil
    for _, p in ipairs(list) do
        if not usable(p) then
            if lo then hi = p.concurrency end
            break
        end
        local qd = queued(p, seq)
        if qd == nil then method = nil; lo = nil; break end
        if qd then hi = p.concurrency; break end
        lo = p.concurrency
        method = p50(p.queue_ms) and "queue" or "ttft"
    end
    if lo and method then return lo, hi, method end
    -- no queue signal: the throughput knee
    local best = 0
    for _, p in ipairs(list) do
        if usable(p) and rate(p) > best then best = rate(p) end
    end
    for i, p in ipairs(list) do
        if usable(p) and rate(p) >= KNEE_SHARE * best then
            local nxt = list[i + 1]
            return p.concurrency, nxt and nxt.concurrency, "throughput"
        end
    end
    return nil
end


-- The power-of-two points measured so far, in order.
local function doublings(list)
    local d = {}
    for _, p in ipairs(list) do
        local c = p.concurrency
        if c >= 1 and (c & (c - 1)) == 0 then d[#d + 1] = p end
    end
    return d
end


-- points: every point measured so far (the sequential baseline included,
-- at concurrency 1); spent_s: wall time used so far. Doubles the
-- concurrency until a point queues (without a queue signal: until two
-- doublings gain less than 3% each), or fails; then, between the last c
-- that did not queue (lo) and the first that did, tries lo+1 and bisects;
-- then measures P+1, P+2 and P-1.
function M.next_concurrency(plan, points, spent_s)
    if type(points) ~= "table" or #points == 0 then return 1, "sequential baseline" end
    if spent_s and spent_s + plan.point.seconds > plan.budget_s then return nil, "time budget spent" end
    local list = by_c(points)
    local have = {}
    for _, p in ipairs(list) do have[p.concurrency] = p end
    if not have[1] then return 1, "sequential baseline" end
    local seq = have[1]
    -- 1. doubling
    local d = doublings(list)
    local top = d[#d]
    local done, why = false, nil
    if top.concurrency >= plan.max_c then
        done, why = true, "max concurrency"
    elseif not usable(top) then
        done, why = true, "failures at c=" .. top.concurrency
    elseif queued(top, seq) then
        done, why = true, "knee passed"
    elseif #d >= 3 and queued(top, seq) == nil then
        -- no queue signal: two doublings that gain less than 3% in a row
        local g1 = rate(d[#d]) / rate(d[#d - 1]) - 1
        local g0 = usable(d[#d - 1]) and (rate(d[#d - 1]) / rate(d[#d - 2]) - 1) or 1
        if g1 < GAIN and g0 < GAIN then done, why = true, "knee passed" end
    end
    if not done then return min(2 * top.concurrency, plan.max_c), "doubling" end
    -- 2. bisect around the knee
    local lo, hi, method = slots_of(list, seq)
    if not lo then return nil, why end
    if not hi and method ~= "throughput" then return nil, "no knee up to c=" .. top.concurrency end
    if hi and hi > lo + 1 then
        -- slot counts are often powers of two: try lo + 1 first, then bisect
        local m = have[lo + 1] and (lo + hi) // 2 or lo + 1
        if not have[m] then return m, "refining the knee" end
    end
    -- 3. around the estimate
    local limit = hi and not usable(have[hi]) and hi - 1 or plan.max_c
    for _, c in ipairs({ lo + 1, lo + 2, lo - 1 }) do
        if c >= 1 and c <= limit and not have[c] then return c, "around the knee" end
    end
    return nil, why
end

-- ---- the analysis ----

local function copy(p, seq_rate)
    local q = {}
    for k, v in pairs(p) do q[k] = v end
    q.speedup = rate(p) and seq_rate > 0 and rate(p) / seq_rate or nil
    q.efficiency = q.speedup and q.speedup / p.concurrency or nil
    q.failed_total = failures(p)
    q.requeued_503, q.requeued_429 = requeued(p)
    q.usable = usable(p)
    return q
end


local function fmt_bytes(b)
    if b >= 2 ^ 30 then return format("%.1f GiB", b / 2 ^ 30) end
    return format("%.0f MiB", b / 2 ^ 20)
end


-- Bytes of KV cache per token of context, from Ollama's /api/show
-- model_info ("<arch>.block_count", "<arch>.attention.head_count_kv",
-- "<arch>.attention.key_length"/"value_length", or embedding_length /
-- head_count); bytes_per_value 2 (f16, the default KV type).
function M.kv_bytes_per_token(info, bytes_per_value)
    if type(info) ~= "table" then return nil end
    local arch = info["general.architecture"]
    if type(arch) ~= "string" then return nil end
    local function f(k) return tonumber(info[arch .. "." .. k]) end
    local layers, kv = f("block_count"), f("attention.head_count_kv")
    local heads, emb = f("attention.head_count"), f("embedding_length")
    local kl, vl = f("attention.key_length"), f("attention.value_length")
    if not kl and heads and emb then kl = emb / heads end
    vl = vl or kl
    kv = kv or heads
    if not (layers and kv and kl and vl) then return nil end
    return layers * kv * (kl + vl) * (bytes_per_value or 2)
end


-- input: { points = {...}, sequential = point (default: the c=1 point),
-- model =, num_ctx =, kv_bytes_per_token =, load_ms =, stopped = why the
-- sweep stopped (next_concurrency's reason), budget_s = }.
function M.analyse(input)
    if type(input) ~= "table" or type(input.points) ~= "table" then
        return nil, "bench_report.analyse: {points = {...}} expected"
    end
    for i, p in ipairs(input.points) do
        if type(p) ~= "table" or type(p.concurrency) ~= "number" or p.concurrency < 1 then
            return nil, format("bench_report.analyse: points[%d] has no concurrency >= 1", i)
        end
        if not rate(p) then
            return nil, format("bench_report.analyse: points[%d] (c=%d) has no throughput", i, p.concurrency)
        end
    end
    local all = {}
    for _, p in ipairs(input.points) do all[#all + 1] = p end
    if input.sequential then all[#all + 1] = input.sequential end
    local list = by_c(all)
    local seq = input.sequential or (list[1] and list[1].concurrency == 1 and list[1])
    if not seq then return nil, "bench_report.analyse: no sequential baseline (a point at concurrency 1)" end
    if not usable(seq) or rate(seq) <= 0 then
        return nil, "bench_report.analyse: the sequential baseline failed; nothing to compare with"
    end
    local seq_rate = rate(seq)
    local R = { model = input.model, num_ctx = input.num_ctx, load_ms = input.load_ms,
                kv_bytes_per_token = input.kv_bytes_per_token, points = {} }
    R.sequential = copy(seq, seq_rate)
    local by = {}
    for _, p in ipairs(list) do
        local q = copy(p, seq_rate)
        q.queued = queued(p, seq)
        R.points[#R.points + 1] = q
        by[p.concurrency] = q
    end
    local top_c = list[#list].concurrency
    -- slots
    local lo, hi, method = slots_of(list, seq)
    R.slots_method = method
    if lo then
        R.slots_estimate = lo
        if not hi and method ~= "throughput" then R.slots_lower_bound = true end
        if hi and hi > lo + 1 and by[hi].usable then R.slots_range = { lo, hi - 1 } end
    end
    -- the knee: where the slots are full (the throughput knee without a queue signal)
    R.knee = lo
    -- best usable throughput
    local best, best_c = 0, nil
    for _, q in ipairs(R.points) do
        if q.usable and rate(q) > best then best, best_c = rate(q), q.concurrency end
    end
    R.max_speedup = best / seq_rate
    -- recommendation: within [P, P+2], the smallest c within 1% of the best there
    if lo and not R.slots_lower_bound then
        local top = 0
        for c = lo, lo + 2 do
            local q = by[c]
            if q and q.usable and rate(q) > top then top = rate(q) end
        end
        for c = lo, lo + 2 do
            local q = by[c]
            if q and q.usable and rate(q) >= 0.99 * top then R.recommended_concurrency = c; break end
        end
        R.recommended_concurrency = R.recommended_concurrency or lo + 1
    else
        -- no knee: the highest concurrency measured about as fast as the
        -- best (never one below a point that was at least as fast)
        for _, q in ipairs(R.points) do
            if q.usable and rate(q) >= KNEE_SHARE * best then R.recommended_concurrency = q.concurrency end
        end
        R.recommended_concurrency = R.recommended_concurrency or best_c
    end
    R.budget_short = input.stopped == "time budget spent" and (R.slots_lower_bound or R.slots_range) and true
        or nil
    local rq = by[R.recommended_concurrency]
    R.speedup_at_recommended = rq and rq.speedup or (lo and by[lo] and by[lo].speedup) or R.max_speedup
    R.efficiency_at_knee = R.knee and by[R.knee] and by[R.knee].efficiency or nil
    -- the verdict
    local V = {}
    local P = R.slots_estimate
    if not P then
        V[#V + 1] = "the sweep shows no knee: no usable point beyond the sequential baseline"
    elseif R.slots_lower_bound then
        V[#V + 1] = format("at least %d slot%s: throughput still rose and nothing queued at c=%d%s", P,
            P == 1 and "" or "s", top_c, R.budget_short and "" or " (continuous batching, or raise --max-c)")
    elseif R.slots_range then
        V[#V + 1] = format("%d to %d slots (not measured in between)", R.slots_range[1], R.slots_range[2])
    elseif P == 1 then
        V[#V + 1] = "1 slot: requests run one at a time (looks like OLLAMA_NUM_PARALLEL=1, the default "
            .. "since Ollama 0.10, or a model that never runs in parallel)"
    else
        V[#V + 1] = format("%d slots (looks like OLLAMA_NUM_PARALLEL=%d)%s", P, P,
            method == "throughput" and "; inferred from throughput alone" or "")
    end
    if R.budget_short then
        V[#V + 1] = format("the time budget (%s s) ran out before the knee was pinned down: the slot count is "
            .. "not measured exactly, and c=%d is only the best measured; run again with a larger --budget "
            .. "(answers take long here)", input.budget_s and format("%.0f", input.budget_s) or "?", best_c or 0)
    end
    local rc = R.recommended_concurrency
    if rc then
        V[#V + 1] = format("use -c %d or -c auto: %.1fx the sequential speed (%s vs %s %s)", rc,
            R.speedup_at_recommended, format("%.1f", rq and rate(rq) or best), format("%.1f", seq_rate),
            seq.output_tokens_per_s and "output tok/s" or "requests/s")
    end
    if P and not R.slots_lower_bound then
        local worst
        for _, q in ipairs(R.points) do
            if q.usable and q.concurrency > P + 2 and p50(q.e2e_ms) then worst = q end
        end
        local at = by[P]
        if worst and at and p50(at.e2e_ms) then
            V[#V + 1] = format("beyond c=%d requests only wait: at c=%d latency p50 is %.1f s (%.1fx c=%d) "
                .. "for %.0f%% of c=%d's throughput", P + 2, worst.concurrency, p50(worst.e2e_ms) / 1000,
                p50(worst.e2e_ms) / p50(at.e2e_ms), P, 100 * rate(worst) / rate(at), P)
        end
    end
    local e = R.efficiency_at_knee
    if P and e and not R.slots_lower_bound then
        local marginal = ""
        local a, b = by[P], by[P - 1]
        if a and b and a.usable and b.usable then
            marginal = format("; the last slot added %.0f%%", 100 * (rate(a) / rate(b) - 1))
        end
        if P == 1 then
            V[#V + 1] = "raising OLLAMA_NUM_PARALLEL is the only way to go faster here, if the model runs "
                .. "in parallel and memory allows"
        elseif e >= 0.6 then
            V[#V + 1] = format("efficiency at the knee is %.2f%s: each slot still adds most of a sequential "
                .. "stream, so raising OLLAMA_NUM_PARALLEL is likely to help, if memory allows", e, marginal)
        elseif e >= 0.35 then
            V[#V + 1] = format("efficiency at the knee is %.2f%s: raising OLLAMA_NUM_PARALLEL may help a "
                .. "little", e, marginal)
        else
            V[#V + 1] = format("efficiency at the knee is %.2f%s: the hardware is saturated; more slots will "
                .. "not help", e, marginal)
        end
    end
    if P and input.num_ctx then
        local toks = P * input.num_ctx
        local kv = input.kv_bytes_per_token
        V[#V + 1] = format("memory: each slot holds a full num_ctx of KV cache: %d x %d = %d tokens%s; "
            .. "each more slot adds %d tokens%s", P, input.num_ctx, toks,
            kv and " (" .. fmt_bytes(toks * kv) .. ")" or "", input.num_ctx,
            kv and " (" .. fmt_bytes(input.num_ctx * kv) .. ")" or "")
    end
    local first_bad
    for _, q in ipairs(R.points) do
        if not q.usable then first_bad = first_bad or q end
    end
    if first_bad then
        local classes = {}
        for _, k in ipairs(FAIL_CLASSES) do
            local n = first_bad.failed and tonumber(first_bad.failed[k]) or 0
            if n > 0 then classes[#classes + 1] = format("%d %s", n, k) end
        end
        V[#V + 1] = format("c=%d and above failed requests (%s): the server bounds its queue; those points "
            .. "were not used", first_bad.concurrency, concat(classes, ", "))
    end
    -- overload that was waited out: the requests did not fail, but the
    -- server refused them at first (its queue was full, or a rate limit)
    local drew = {}
    for _, q in ipairs(R.points) do
        local a, b = q.requeued_503, q.requeued_429
        if a + b > 0 then
            local what = {}
            if a > 0 then what[#what + 1] = format("%d 503%s", a, a == 1 and "" or "s") end
            if b > 0 then what[#what + 1] = format("%d 429%s", b, b == 1 and "" or "s") end
            drew[#drew + 1] = format("c=%d drew %s", q.concurrency, concat(what, " and "))
        end
    end
    if #drew > 0 then
        V[#V + 1] = format("overload: %s; each was waited out and sent again (not counted as failed), so "
            .. "those points' latency includes the waits: beyond what the server can hold (503: its queue is "
            .. "full; 429: a rate limit), more concurrency only waits", concat(drew, ", "))
    end
    if input.load_ms then
        V[#V + 1] = format("model load took %.1f s (warm-up, not measured)", input.load_ms / 1000)
    end
    R.verdict = V
    return R
end

-- ---- output ----

local function num(v, f) return v and format(f or "%.1f", v) or "-" end


local function pct(t, k, div)
    local v = type(t) == "table" and tonumber(t[k]) or nil
    return v and format("%.0f", v / (div or 1)) or "-"
end


-- The terminal table and the verdict.
function M.text(R)
    local rows = {
        { "c", "ok", "fail", "503/429", "req/s", "tok/s", "speedup", "eff", "TTFT p50/p95 ms",
          "TPOT p50/p95 ms", "E2E p50/p95 ms", "queue p50/p95 ms", "" },
    }
    for _, q in ipairs(R.points) do
        local mark = {}
        if q.concurrency == R.knee then mark[#mark + 1] = "knee" end
        if q.concurrency == R.recommended_concurrency then mark[#mark + 1] = "recommended" end
        if not q.usable then mark[#mark + 1] = "failures" end
        if q.requeued_503 + q.requeued_429 > 0 then mark[#mark + 1] = "overload" end
        rows[#rows + 1] = {
            tostring(q.concurrency), q.ok and tostring(q.ok) or "-", tostring(q.failed_total),
            q.requeued_503 .. "/" .. q.requeued_429,
            num(q.requests_per_s, "%.2f"), num(q.output_tokens_per_s), num(q.speedup, "%.2f"),
            num(q.efficiency, "%.2f"),
            pct(q.ttft_ms, "p50") .. "/" .. pct(q.ttft_ms, "p95"),
            num(p50(q.tpot_ms)) .. "/" .. num(type(q.tpot_ms) == "table" and q.tpot_ms.p95 or nil),
            pct(q.e2e_ms, "p50") .. "/" .. pct(q.e2e_ms, "p95"),
            pct(q.queue_ms, "p50") .. "/" .. pct(q.queue_ms, "p95"),
            concat(mark, ", "),
        }
    end
    local width = {}
    for _, r in ipairs(rows) do
        for i, cell in ipairs(r) do width[i] = max(width[i] or 0, #cell) end
    end
    local out = {}
    for _, r in ipairs(rows) do
        local cells = {}
        for i, cell in ipairs(r) do
            cells[i] = i == #r and cell or format("%" .. width[i] .. "s", cell)
        end
        out[#out + 1] = (concat(cells, "  "):gsub("%s+$", ""))
    end
    out[#out + 1] = ""
    for _, v in ipairs(R.verdict) do out[#out + 1] = "  " .. v end
    return concat(out, "\n") .. "\n"
end


local POINT_KEYS = { "concurrency", "ok", "failed", "requeued", "seconds", "requests_per_s", "output_tokens_per_s",
    "ttft_ms", "tpot_ms", "e2e_ms", "queue_ms", "speedup", "efficiency", "queued", "usable" }

local function plain(q)
    local t = {}
    for _, k in ipairs(POINT_KEYS) do t[k] = q[k] end
    return t
end


-- bench.json: at least points, slots_estimate, recommended_concurrency,
-- sequential and speedup_at_recommended.
function M.json(R)
    local pts = {}
    for i, q in ipairs(R.points) do pts[i] = plain(q) end
    return {
        model = R.model, num_ctx = R.num_ctx, load_ms = R.load_ms,
        sequential = plain(R.sequential), points = pts,
        slots_estimate = R.slots_estimate, slots_lower_bound = R.slots_lower_bound or false,
        slots_range = R.slots_range, slots_method = R.slots_method, knee = R.knee,
        recommended_concurrency = R.recommended_concurrency, budget_short = R.budget_short or false,
        speedup_at_recommended = R.speedup_at_recommended, max_speedup = R.max_speedup,
        efficiency_at_knee = R.efficiency_at_knee, verdict = R.verdict,
    }
end


local function xml(s)
    return (tostring(s):gsub("[&<>\"]", { ["&"] = "&amp;", ["<"] = "&lt;", [">"] = "&gt;", ['"'] = "&quot;" }))
end


-- A tick step of 1, 2 or 5 x 10^k giving about n ticks up to hi.
local function nice_step(hi, n)
    local raw = hi / n
    local mag = 10 ^ floor(math.log(raw, 10))
    for _, m in ipairs({ 1, 2, 5, 10 }) do
        if m * mag >= raw then return m * mag end
    end
    return 10 * mag
end


local function f1(v) return format("%.1f", v) end


-- Throughput (output tok/s, or requests/s) and latency p50/p95 against
-- concurrency (log2 axis), the knee and the recommendation marked. The same
-- report gives the same bytes.
function M.svg(R)
    local W, H, L, Rt, T, B = 680, 420, 70, 70, 40, 80
    local pw, ph = W - L - Rt, H - T - B
    local pts = {}
    for _, q in ipairs(R.points) do if q.usable then pts[#pts + 1] = q end end
    local cmax = 1
    for _, q in ipairs(pts) do cmax = max(cmax, q.concurrency) end
    local lmax = max(1, math.log(cmax, 2))
    local function X(c) return L + pw * (math.log(c, 2) / lmax) end
    local tmax, emax = 0, 0
    for _, q in ipairs(pts) do
        tmax = max(tmax, rate(q))
        local e = type(q.e2e_ms) == "table" and (tonumber(q.e2e_ms.p95) or tonumber(q.e2e_ms.p50)) or nil
        if e then emax = max(emax, e / 1000) end
    end
    local tstep = nice_step(tmax > 0 and tmax or 1, 5)
    local ttop = tstep * math.ceil((tmax > 0 and tmax or 1) / tstep)
    local estep = nice_step(emax > 0 and emax or 1, 5)
    local etop = estep * math.ceil((emax > 0 and emax or 1) / estep)
    local function Yt(v) return T + ph * (1 - v / ttop) end
    local function Ye(v) return T + ph * (1 - v / etop) end
    local unit = R.sequential.output_tokens_per_s and "output tok/s" or "requests/s"
    local o = {}
    local function add(...) o[#o + 1] = format(...) end
    add('<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" '
        .. 'font-family="sans-serif" font-size="12">', W, H, W, H)
    add('<rect width="%d" height="%d" fill="white"/>', W, H)
    add('<text x="%d" y="22" font-size="14">%s</text>', L,
        xml("Throughput and latency against concurrency" .. (R.model and (" (" .. R.model .. ")") or "")))
    -- axes and grid
    add('<g stroke="#ccc" stroke-width="1">')
    local v = 0
    while v <= ttop + 1e-9 do
        add('<line x1="%d" y1="%s" x2="%d" y2="%s"/>', L, f1(Yt(v)), L + pw, f1(Yt(v)))
        v = v + tstep
    end
    add('</g>')
    add('<g stroke="black" fill="none"><path d="M%d %d V%d H%d V%d"/></g>', L, T, T + ph, L + pw, T)
    add('<g text-anchor="end" fill="#1f77b4">')
    v = 0
    while v <= ttop + 1e-9 do
        add('<text x="%d" y="%s">%s</text>', L - 6, f1(Yt(v) + 4), format("%g", v))
        v = v + tstep
    end
    add('</g>')
    add('<g text-anchor="start" fill="#d62728">')
    v = 0
    while v <= etop + 1e-9 do
        add('<text x="%d" y="%s">%s</text>', L + pw + 6, f1(Ye(v) + 4), format("%g", v))
        v = v + estep
    end
    add('</g>')
    add('<g text-anchor="middle">')
    for _, q in ipairs(pts) do
        add('<text x="%s" y="%d">%d</text>', f1(X(q.concurrency)), T + ph + 16, q.concurrency)
    end
    add('<text x="%d" y="%d">concurrency (requests in flight, log scale)</text>', L + pw // 2, T + ph + 36)
    add('</g>')
    add('<text transform="translate(18 %d) rotate(-90)" text-anchor="middle" fill="#1f77b4">%s</text>',
        T + ph // 2, xml(unit))
    add('<text transform="translate(%d %d) rotate(90)" text-anchor="middle" fill="#d62728">'
        .. 'latency p50 / p95 (s)</text>', W - 14, T + ph // 2)
    -- the knee and the recommendation
    if R.knee and R.knee <= cmax then
        add('<line x1="%s" y1="%d" x2="%s" y2="%d" stroke="#555" stroke-dasharray="4 3"/>',
            f1(X(R.knee)), T, f1(X(R.knee)), T + ph)
        add('<text x="%s" y="%d" fill="#555">knee c=%d%s</text>', f1(X(R.knee) + 4), T + 14, R.knee,
            R.slots_lower_bound and " (or more)" or "")
    end
    if R.recommended_concurrency and R.recommended_concurrency <= cmax then
        local rc = R.recommended_concurrency
        add('<text x="%s" y="%d" fill="#2ca02c" text-anchor="middle">&#9660; use -c %d</text>', f1(X(rc)),
            T + ph - 6, rc)
    end
    -- series
    local function series(get, Y, attrs, dots)
        local d = {}
        for _, q in ipairs(pts) do
            local y = get(q)
            if y then d[#d + 1] = (#d == 0 and "M" or "L") .. f1(X(q.concurrency)) .. " " .. f1(Y(y)) end
        end
        if #d == 0 then return end
        add('<path d="%s" fill="none" %s/>', concat(d, " "), attrs)
        if dots then
            for _, q in ipairs(pts) do
                local y = get(q)
                if y then add('<circle cx="%s" cy="%s" r="3" %s/>', f1(X(q.concurrency)), f1(Y(y)), dots) end
            end
        end
    end
    series(rate, Yt, 'stroke="#1f77b4" stroke-width="2"', 'fill="#1f77b4"')
    local function e2e(k)
        return function(q)
            local e = type(q.e2e_ms) == "table" and tonumber(q.e2e_ms[k]) or nil
            return e and e / 1000 or nil
        end
    end
    series(e2e("p50"), Ye, 'stroke="#d62728" stroke-width="2" stroke-dasharray="6 3"', 'fill="#d62728"')
    series(e2e("p95"), Ye, 'stroke="#d62728" stroke-width="1" stroke-dasharray="2 3"', nil)
    -- legend
    local ly = T + ph + 60
    add('<g font-size="11"><line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#1f77b4" stroke-width="2"/>'
        .. '<text x="%d" y="%d">%s</text>', L + 10, ly, L + 30, ly, L + 34, ly + 4, xml(unit))
    add('<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#d62728" stroke-width="2" stroke-dasharray="6 3"/>'
        .. '<text x="%d" y="%d">latency p50</text>', L + 160, ly, L + 180, ly, L + 184, ly + 4)
    add('<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#d62728" stroke-dasharray="2 3"/>'
        .. '<text x="%d" y="%d">latency p95</text></g>', L + 280, ly, L + 300, ly, L + 304, ly + 4)
    add('</svg>')
    return concat(o, "\n") .. "\n"
end

return M
