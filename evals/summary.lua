-- summary.lua: from the journal's records to the numbers: summarize()
-- counts and scores them (one final record per item, as journal.latest
-- streams them, or a list of such records), of_run() builds
-- summary.json, print_table() the table on stdout. `ollaeval merge` reuses
-- summarize() and metrics().
--
--   summarize(each)     -> s: n, scored, errors, correct, accuracy, ...
--                          each(fn) calls fn(rec) once per item (or a list)
--   metrics(s)          -> summary.json's "metrics" block
--   status(s, total, fatal, interrupted) -> "complete" | "partial" | "failed"
--   of_run(run, s)      -> the summary.json of a run
--   print_table(out, title, s, rows)
local cjson = require "cjson"
local metrics = require "evals.metrics"

local M = {}

local format = string.format


function M.summarize(each)
    if type(each) == "table" then
        local list = each
        each = function(fn) for _, r in ipairs(list) do fn(r) end end
    end
    local n, scored, errors, correct, strict, noans, trunc = 0, 0, 0, 0, 0, 0, 0
    local ptoks, ctoks, lat = 0, 0, {}
    each(function(r)
        n = n + 1
        if r.error then
            errors = errors + 1
        else
            scored = scored + 1
            if r.correct then correct = correct + 1 end
            if r.strict_correct then strict = strict + 1 end
            if r.answer == nil or r.answer == cjson.null then noans = noans + 1 end
            if r.done_reason == "length" then trunc = trunc + 1 end
            ptoks = ptoks + (r.prompt_tokens or 0)
            ctoks = ctoks + (r.completion_tokens or 0)
            lat[#lat + 1] = r.latency_ms or 0
        end
    end)
    local function prop(k)
        if scored == 0 then return { value = cjson.null } end
        local p = k / scored
        local lo, hi = metrics.wilson(k, scored)
        return { value = p, stderr = metrics.binary_stderr(k, scored), ci95 = { lo, hi } }
    end
    table.sort(lat)
    return {
        n = n, scored = scored, errors = errors, correct = correct,
        accuracy = prop(correct), strict_accuracy = prop(strict),
        no_answer_rate = scored > 0 and noans / scored or cjson.null,
        truncated_rate = scored > 0 and trunc / scored or cjson.null,
        tokens = {
            prompt_total = ptoks, completion_total = ctoks,
            prompt_mean = scored > 0 and ptoks / scored or 0,
            completion_mean = scored > 0 and ctoks / scored or 0,
        },
        latency_ms = {
            p50 = metrics.percentile(lat, 50) or cjson.null,
            p95 = metrics.percentile(lat, 95) or cjson.null,
            p99 = metrics.percentile(lat, 99) or cjson.null,
        },
    }
end


function M.metrics(s)
    return {
        accuracy = s.accuracy.value, accuracy_stderr = s.accuracy.stderr, accuracy_ci95 = s.accuracy.ci95,
        strict_accuracy = s.strict_accuracy.value, strict_accuracy_stderr = s.strict_accuracy.stderr,
        no_answer_rate = s.no_answer_rate, truncated_rate = s.truncated_rate,
    }
end


-- complete: every one of the total items is scored.
function M.status(s, total, fatal, interrupted)
    if fatal then return "failed" end
    if interrupted or s.n < total or s.errors > 0 then return "partial" end
    return "complete"
end


-- run = {suite=, suite_file=, config=, path=, total=, server=, model=,
--        context_length=, opt=, new=, wall=, status=}
function M.of_run(run, s)
    local O = ollaeval.options
    local config, opt, wall = run.config, run.opt, run.wall
    return {
        suite = { name = run.suite.name, version = tostring(run.suite.version), file = run.suite_file,
                  sha256 = config.suite_sha256, note = run.suite.note },
        dataset = { path = run.path, sha256 = config.dataset_sha256, items = run.total },
        model = { name = run.model, digest = run.server.digest or cjson.null,
                  details = run.server.endpoints[1].details, context_length = run.context_length or cjson.null },
        endpoints = ollaeval.endpoints, server_version = run.server.version or cjson.null,
        options = { shots = opt.shots, seed = O.seed, think = opt.think, generation = config.options,
                    shard = O.shard or "1/1", stream = O.stream or false,
                    api = O.api or ollaeval.backend_of(ollaeval.endpoints[1]),
                    concurrency = O.concurrency, timeout = O.timeout, retries = O.retries, limit = O.limit },
        status = run.status,
        counts = { n = s.n, scored = s.scored, errors = s.errors, total = run.total },
        metrics = M.metrics(s),
        tokens = s.tokens, latency_ms = s.latency_ms,
        wall_time_s = wall, this_session = { items = run.new, wall_time_s = wall,
            items_per_s = wall > 0 and run.new / wall or 0 },
        ollaeval = ollaeval.version,
        finished = os.date("!%Y-%m-%dT%H:%M:%SZ"),
    }
end


-- The table on stdout: title, the scores when anything was scored, then
-- rows ({label, text} pairs).
function M.print_table(out, title, s, rows)
    local function row(k, v) out:write(format("  %-18s %s\n", k, v)) end
    out:write("\n", title, "\n")
    if s.scored > 0 then
        -- (no standard error below 2 scored items)
        row("accuracy", format("%.2f%%%s  (95%% CI %.2f–%.2f%%)  %d/%d", 100 * s.accuracy.value,
            s.accuracy.stderr and format(" ± %.2f", 100 * s.accuracy.stderr) or "",
            100 * s.accuracy.ci95[1], 100 * s.accuracy.ci95[2], s.correct, s.scored))
        row("strict accuracy", format("%.2f%%", 100 * s.strict_accuracy.value))
        row("no answer", format("%.2f%%", 100 * s.no_answer_rate))
        row("truncated", format("%.2f%%", 100 * s.truncated_rate))
        row("latency p50/p95", format("%.0f / %.0f ms", s.latency_ms.p50, s.latency_ms.p95))
        row("tokens (mean)", format("%.0f prompt, %.0f output", s.tokens.prompt_mean, s.tokens.completion_mean))
    end
    for _, r in ipairs(rows) do row(r[1], r[2]) end
    out:flush()
end


return M
