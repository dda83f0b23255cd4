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

local format = string.format
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


-- The samples of a record, as the reducers see them.
local function samples_of(r)
    if type(r.scores) == "table" then
        local list = {}
        local votes, answers = r.votes or {}, r.answers or {}
        for i, v in ipairs(r.scores) do
            local a = votes[i]
            if isnull(a) then a = answers[i] end
            list[i] = { value = (not isnull(v)) and v or nil, answer = (not isnull(a)) and a or nil }
        end
        return list
    end
    local v = r.score
    if isnull(v) then
        -- records of before scores: correct is the score
        if isnull(r.unscored) and r.correct ~= nil and r.correct ~= null then v = r.correct and 1 or 0 else v = nil end
    end
    local a = r.vote
    if isnull(a) then a = r.answer end
    return { { value = v, answer = (not isnull(a)) and a or nil } }
end


-- The latency of every call of a record.
local function each_latency(r, add)
    local function calls(list)
        for _, c in ipairs(list) do if type(c.latency_ms) == "number" then add(c.latency_ms) end end
    end
    if type(r.samples) == "table" then
        for _, s in ipairs(r.samples) do calls(s.calls or {}) end
    elseif type(r.calls) == "table" then
        calls(r.calls)
    elseif type(r.latency_ms) == "number" then
        add(r.latency_ms)
    end
end


local function default_defs()
    return { { name = "accuracy", reduce = reduce.mean } }
end


function M.summarize(source, info)
    info = info or {}
    local defs = info.metrics or default_defs()
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
    local ms = metrics.suite_metrics(defs)
    local n, scored, errors, unscored, correct, strict, noans, trunc, tthink = 0, 0, 0, 0, 0, 0, 0, 0, 0
    local reasons = {}
    local ptoks, ctoks, calls, lat = 0, 0, 0, {}
    each(function(r)
        n = n + 1
        if not isnull(r.error) then
            errors = errors + 1
        else
            local samples = samples_of(r)
            local any = false
            for _, s in ipairs(samples) do if s.value ~= nil then any = true end end
            if not any then
                unscored = unscored + 1
                local why = isnull(r.unscored) and "no score" or tostring(r.unscored)
                reasons[why] = (reasons[why] or 0) + 1
            else
                scored = scored + 1
                if r.correct == true then correct = correct + 1 end
                if r.strict_correct == true then strict = strict + 1 end
                if isnull(r.answer) then noans = noans + 1 end
                ms:add(samples, (not isnull(r.group)) and r.group or nil)
            end
            if r.done_reason == "length" then trunc = trunc + 1 end
            if r.truncated_thinking == true then tthink = tthink + 1 end
            ptoks = ptoks + (tonumber(r.prompt_tokens) or 0)
            ctoks = ctoks + (tonumber(r.completion_tokens) or 0)
            each_latency(r, function(x)
                calls = calls + 1
                lat[calls] = x
            end)
        end
    end)
    local done = scored + unscored
    local res = ms:result()
    local acc = res.metrics.accuracy or { value = null }
    return {
        n = n, scored = scored, errors = errors, unscored = unscored, unscored_reasons = reasons,
        correct = correct, strict = strict, has_strict = info.strict or false, has_answers = info.answers,
        group_by = info.group_by,
        defs = defs, values = res.metrics, groups = res.groups, group_names = res.group_names,
        accuracy = { value = acc.value or null, stderr = acc.stderr, ci95 = acc.ci95 },
        strict_accuracy = { value = scored > 0 and strict / scored or null },
        no_answer_rate = scored > 0 and noans / scored or null,
        truncated_rate = done > 0 and trunc / done or null,
        truncated_thinking = tthink,
        calls = calls,
        tokens = {
            prompt_total = ptoks, completion_total = ctoks,
            prompt_mean = done > 0 and ptoks / done or 0,
            completion_mean = done > 0 and ctoks / done or 0,
        },
        latency_ms = {
            p50 = metrics.percentile(lat, 50) or null,
            p95 = metrics.percentile(lat, 95) or null,
            p99 = metrics.percentile(lat, 99) or null,
        },
    }
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
        row("tokens (mean)", format("%.0f prompt, %.0f output per item%s", s.tokens.prompt_mean,
            s.tokens.completion_mean, s.calls > items and format(" (%.1f calls per item)", s.calls / items) or ""))
    end
    for _, r in ipairs(rows) do row(r[1], r[2]) end
    out:flush()
end


return M
