-- summary.lua: from the journal's records to the numbers: summarize()
-- streams the records once to find the last record of each item (only ids
-- and positions are kept), then again to count and score them, keeping no
-- record (the metrics themselves are evals/metrics.lua's); of_run() builds
-- summary.json, print_table() the table on stdout. `ollaeval merge` reuses
-- summarize(), metrics() and groups().
--
--   summarize(source, info) -> s: n, scored, errors, unscored, correct, ...
--       source: a list of records, or a function that returns a fresh
--       iterator over them each time it is called (a streaming journal reader)
--       info: {metrics = defs (evals/suite.lua), strict = bool, answers = bool,
--              group_by = name}; default: accuracy only
--   metrics(s)          -> summary.json's "metrics" block
--   groups(s)           -> summary.json's "groups" block (or nil)
--   status(s, total, fatal, interrupted) -> "complete" | "partial" | "failed"
--   of_run(run, s)      -> the summary.json of a run
--   print_table(out, title, s, rows)
local cjson = require "cjson"
local metrics = require "evals.metrics"
local reduce = require "evals.reduce"

local M = {}

local format, type = string.format, type
local null = cjson.null

local function isnull(v) return v == nil or v == null end

local function source_iter(source)
    if type(source) == "function" then return source end
    return function()
        local i = 0
        return function()
            i = i + 1
            return source[i]
        end
    end
end


-- A number as the journal gives it back: lua-cjson writes 14 significant
-- digits and reads every number as a float; the summary of records in
-- memory (the run, as it appends them) is then the summary of the same
-- records read from the journal (merge, resume, rescore), to the last bit.
-- (A whole number below 10^14, or one of thousandths like a latency
-- rounded to the ms, has at most 14 digits: it comes back as itself, in a
-- float; only other numbers go through the text.)
local mtype, floor = math.type, math.floor
local function jnum(v)
    local t = mtype(v) -- (nil: not a number)
    if t == "integer" then
        if v > -1e14 and v < 1e14 then return v + 0.0 end
    elseif t == nil then
        return v
    elseif v > -1e11 and v < 1e11 then
        local k = floor(v * 1000 + 0.5)
        if k / 1000 == v then return k / 1000 end
    end
    return tonumber(format("%.14g", v)) + 0.0
end

-- The samples of a record, as the reducers see them, with their numbers
-- as the journal gives them back.
local function jsamples(r, one)
    if type(r.scores) == "table" then
        local list = {}
        local votes, answers = r.votes or {}, r.answers or {}
        for i, v in ipairs(r.scores) do
            local a = votes[i]
            if isnull(a) then a = answers[i] end
            list[i] = { value = jnum((not isnull(v)) and v or nil), answer = jnum((not isnull(a)) and a or nil) }
        end
        return list
    end
    local v = r.score
    if isnull(v) then
        -- records of before scores: correct is the score
        if isnull(r.unscored) and r.correct ~= nil and r.correct ~= null then v = r.correct and 1 or 0 else v = nil end
    end
    local a = r.vote
    if a == nil or a == null then a = r.answer end
    if a == null then a = nil end
    if one then -- (the caller's list of one sample, filled anew)
        local x = one[1]
        x.value, x.answer = jnum(v), jnum(a)
        return one
    end
    return { { value = jnum(v), answer = jnum(a) } }
end


-- The latency of every call of a record, each given to acc:latency(x).
local function calls_latency(acc, list)
    for _, c in ipairs(list) do
        local x = c.latency_ms
        if type(x) == "number" then acc:latency(x) end
    end
end
local function each_latency(r, acc)
    if type(r.samples) == "table" then
        for _, s in ipairs(r.samples) do calls_latency(acc, s.calls or {}) end
    elseif type(r.calls) == "table" then
        calls_latency(acc, r.calls)
    elseif type(r.latency_ms) == "number" then
        acc:latency(r.latency_ms)
    end
end


local function default_defs()
    return { { name = "accuracy", reduce = reduce.mean } }
end




local Acc = {}
Acc.__index = Acc

-- new(info) -> acc: acc:add(rec) for each item's final record (as
-- journal.latest gives them), acc:result() -> s (as summarize()). Holds
-- counters, the metrics' sums and a bounded sketch of the latencies
-- (metrics.sketch), never a record.
-- The reducers that keep nothing of the samples they are given: with only
-- these, the samples of a one-sample record are one list, filled anew.
local PURE = { [reduce.first] = true, [reduce.mean] = true }

function M.new(info)
    info = info or {}
    local defs = info.metrics or default_defs()
    local pure = true
    for _, d in ipairs(defs) do if not PURE[d.reduce] then pure = false end end
    return setmetatable({ info = info, defs = defs,
        ms = metrics.suite_metrics(info.metrics or default_defs()),
        n = 0, scored = 0, errors = 0, unscored = 0, correct = 0, strict = 0, noans = 0, trunc = 0, tthink = 0,
        reasons = {}, ptoks = 0, ctoks = 0, pn = 0, cn = 0, calls = 0, lat = metrics.sketch(),
        one = pure and { { value = nil, answer = nil } } or false }, Acc)
end

function Acc:add(r)
    self.n = self.n + 1
    local e = r.error
    if e ~= nil and e ~= null then
        self.errors = self.errors + 1
        return
    end
    local samples = jsamples(r, self.one)
    local any = false
    for i = 1, #samples do if samples[i].value ~= nil then any = true break end end
    if not any then
        self.unscored = self.unscored + 1
        local why = isnull(r.unscored) and "no score" or tostring(jnum(r.unscored))
        self.reasons[why] = (self.reasons[why] or 0) + 1
    else
        self.scored = self.scored + 1
        if r.correct == true then self.correct = self.correct + 1 end
        if r.strict_correct == true then self.strict = self.strict + 1 end
        local a, g = r.answer, r.group
        if a == nil or a == null then self.noans = self.noans + 1 end
        if g == null or g == false then g = nil end
        self.ms:add(samples, jnum(g))
    end
    if r.done_reason == "length" then self.trunc = self.trunc + 1 end
    if r.truncated_thinking == true then self.tthink = self.tthink + 1 end
    -- token counts: a server that gives none leaves them null; the means
    -- are over the items that have them
    local pt, ct = r.prompt_tokens, r.completion_tokens
    if type(pt) == "number" then self.ptoks, self.pn = self.ptoks + jnum(pt), self.pn + 1 end
    if type(ct) == "number" then self.ctoks, self.cn = self.ctoks + jnum(ct), self.cn + 1 end
    each_latency(r, self)
end

-- (a call's latency, as each_latency finds it)
function Acc:latency(x)
    self.calls = self.calls + 1
    self.lat:add(jnum(x))
end

function Acc:result()
    local info, lat = self.info, self.lat
    local scored, unscored, done = self.scored, self.unscored, self.scored + self.unscored
    local res = self.ms:result()
    local acc = res.metrics.accuracy or { value = null }
    return {
        n = self.n, scored = scored, errors = self.errors, unscored = unscored, unscored_reasons = self.reasons,
        correct = self.correct, strict = self.strict, has_strict = info.strict or false, has_answers = info.answers,
        group_by = info.group_by,
        defs = self.defs, values = res.metrics, groups = res.groups, group_names = res.group_names,
        accuracy = { value = acc.value or null, stderr = acc.stderr, ci95 = acc.ci95 },
        strict_accuracy = { value = scored > 0 and self.strict / scored or null },
        no_answer_rate = scored > 0 and self.noans / scored or null,
        truncated_rate = done > 0 and self.trunc / done or null,
        truncated_thinking = self.tthink,
        calls = self.calls,
        tokens = {
            prompt_total = self.ptoks, completion_total = self.ctoks,
            -- the means are over the items that reported the count
            prompt_mean = self.pn > 0 and self.ptoks / self.pn or null,
            completion_mean = self.cn > 0 and self.ctoks / self.cn or null,
            prompt_items = self.pn, completion_items = self.cn, items = done,
        },
        -- metrics.sketch: exact up to metrics.SKETCH_EXACT calls, else
        -- within metrics.SKETCH_ERROR (relative) of the exact percentile
        latency_ms = {
            p50 = lat:percentile(50) or null,
            p95 = lat:percentile(95) or null,
            p99 = lat:percentile(99) or null,
        },
    }
end


function M.summarize(source, info)
    local acc = M.new(info)
    -- a streaming journal reader gives one final record per item itself
    -- ({each = journal.latest's each}); a list or an iterator source is read
    -- twice: first the position of the last record of each id, then those
    local each = type(source) == "table" and type(source.each) == "function" and source.each or nil
    if not each then
        local iter = source_iter(source)
        each = function(fn)
            local last, pos = {}, 0
            for r in iter() do
                pos = pos + 1
                last[r.id] = pos
            end
            pos = 0
            for r in iter() do
                pos = pos + 1
                if last[r.id] == pos then fn(r) end
            end
        end
    end
    each(function(r) acc:add(r) end)
    return acc:result()
end


local function put(out, name, e)
    out[name] = e.value == nil and null or e.value
    out[name .. "_stderr"] = e.stderr
    out[name .. "_ci95"] = e.ci95
end


function M.metrics(s)
    local out = {}
    for _, d in ipairs(s.defs) do
        put(out, d.name, s.values[d.name] or {})
    end
    if s.has_strict then out.strict_accuracy = s.strict_accuracy.value end
    if s.has_answers ~= false then out.no_answer_rate = s.no_answer_rate end
    out.truncated_rate = s.truncated_rate
    local done = s.scored + s.unscored
    out.truncated_thinking_rate = done > 0 and s.truncated_thinking / done or null
    return out
end


function M.groups(s)
    if #s.group_names == 0 then return nil end
    local out = {}
    for _, g in ipairs(s.group_names) do
        local block, n = {}, 0
        for _, d in ipairs(s.defs) do
            local e = s.groups[g][d.name]
            if e then
                put(block, d.name, e)
                n = math.max(n, e.n)
            end
        end
        block.n = n
        out[g] = block
    end
    return out
end


-- complete: every one of the total items is scored (or unscored by the
-- suite's own verdict).
function M.status(s, total, fatal, interrupted)
    if fatal then return "failed" end
    if interrupted or s.n < total or s.errors > 0 then return "partial" end
    return "complete"
end


-- run = {spec=, suite_file=, config=, path=, total=, server=, model=,
--        context_length=, opt=, new=, wall=, status=}
function M.of_run(run, s)
    local O = ollaeval.options
    local config, opt, wall = run.config, run.opt, run.wall
    local suite = run.spec.suite
    return {
        suite = { name = run.spec.name, version = run.spec.version, file = run.suite_file,
                  sha256 = config.suite_sha256, note = suite.note, samples = run.spec.samples,
                  group_by = type(suite.group_by) == "string" and suite.group_by or nil },
        dataset = { path = run.path, sha256 = config.dataset_sha256, items = run.total },
        model = { name = run.model, digest = run.server.digest or null,
                  details = run.server.endpoints[1].details, context_length = run.context_length or null },
        endpoints = ollaeval.endpoints, server_version = run.server.version or null,
        options = { shots = opt.shots, seed = O.seed, think = opt.think, generation = config.options,
                    suite = config.suite_options,
                    shard = O.shard or "1/1", stream = O.stream or false,
                    api = O.api or ollaeval.backend_of(ollaeval.endpoints[1]),
                    concurrency = O.concurrency, timeout = O.timeout, retries = O.retries, limit = O.limit },
        status = run.status,
        counts = { n = s.n, scored = s.scored, errors = s.errors, unscored = s.unscored, total = run.total,
                   calls = s.calls, truncated_thinking = s.truncated_thinking },
        metrics = M.metrics(s),
        groups = M.groups(s),
        unscored_reasons = next(s.unscored_reasons) and s.unscored_reasons or nil,
        tokens = s.tokens, latency_ms = s.latency_ms,
        wall_time_s = wall, this_session = { items = run.new, wall_time_s = wall,
            items_per_s = wall > 0 and run.new / wall or 0 },
        ollaeval = ollaeval.version,
        finished = os.date("!%Y-%m-%dT%H:%M:%SZ"),
    }
end


local function pct(x) return format("%.2f%%", 100 * x) end

local function estimate_text(e, k)
    if not e or e.value == nil or e.value == null then return "-" end
    local t = pct(e.value)
    if e.stderr then t = t .. format(" ± %.2f", 100 * e.stderr) end
    if e.ci95 then t = t .. format("  (95%% CI %.2f–%.2f%%)", 100 * e.ci95[1], 100 * e.ci95[2]) end
    if k then t = t .. "  " .. k end
    return t
end


-- The table on stdout: title, the suite's metrics when anything was
-- scored, its groups, then rows ({label, text} pairs).
function M.print_table(out, title, s, rows)
    local function row(k, v) out:write(format("  %-18s %s\n", k, v)) end
    out:write("\n", title, "\n")
    if s.scored > 0 then
        for _, d in ipairs(s.defs) do
            local e = s.values[d.name]
            local k
            if e and e.value then
                local c = e.value * e.n
                k = math.abs(c - math.floor(c + 0.5)) < 1e-6 and format("%d/%d", math.floor(c + 0.5), e.n)
                    or format("n=%d", e.n)
            end
            row(d.name, estimate_text(e, k))
        end
        if s.has_strict then row("strict accuracy", pct(s.strict_accuracy.value)) end
        if s.has_answers ~= false then row("no answer", pct(s.no_answer_rate)) end
    end
    if s.scored + s.unscored > 0 then
        row("truncated", pct(s.truncated_rate))
    end
    if s.truncated_thinking > 0 then
        row("out of tokens", format("%d items ran out of tokens while thinking (not wrong answers): "
            .. "raise --num-predict", s.truncated_thinking))
    end
    if s.unscored > 0 then
        local parts = {}
        for why, k in pairs(s.unscored_reasons) do parts[#parts + 1] = format("%s: %d", why, k) end
        table.sort(parts)
        row("unscored", format("%d (%s)", s.unscored, table.concat(parts, ", ")))
    end
    if #s.group_names > 0 then
        out:write(format("  by %s:\n", s.group_by or "group"))
        local w = 16
        for _, g in ipairs(s.group_names) do w = math.max(w, #g) end
        for _, g in ipairs(s.group_names) do
            local parts, n = {}, 0
            for _, d in ipairs(s.defs) do
                local e = s.groups[g][d.name]
                if e then
                    parts[#parts + 1] = format("%s %s", #s.defs > 1 and d.name or "", pct(e.value))
                    n = math.max(n, e.n)
                end
            end
            out:write(format("    %-" .. w .. "s %s  n=%d\n", g, table.concat(parts, "  "), n))
        end
    end
    if s.scored + s.unscored > 0 then
        if s.latency_ms.p50 ~= null then
            row("latency p50/p95", format("%.0f / %.0f ms per call", s.latency_ms.p50, s.latency_ms.p95))
        end
        local items = s.scored + s.unscored
        local t = s.tokens
        local function mean(x) return x == null and "-" or format("%.0f", x) end
        local of = ""
        if t.prompt_items < items or t.completion_items < items then
            of = t.prompt_items == t.completion_items and format(" (counts from %d of %d items)", t.prompt_items, items)
                or format(" (counts from %d and %d of %d items)", t.prompt_items, t.completion_items, items)
        end
        row("tokens (mean)", format("%s prompt, %s output per item%s%s", mean(t.prompt_mean), mean(t.completion_mean),
            s.calls > items and format(" (%.1f calls per item)", s.calls / items) or "", of))
    end
    for _, r in ipairs(rows) do row(r[1], r[2]) end
    out:flush()
end


return M
