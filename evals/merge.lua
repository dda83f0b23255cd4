-- merge.lua: `ollaeval merge RUN_DIR... [-o OUT]` combines the run folders
-- of a sharded run (--shard I/N on several machines) into one run folder
-- with one journal and one summary. It refuses to merge runs of different
-- suites, datasets, models or options, and shards that overlap.
local runner = require "evals.runner"
local data = require "evals.data"

local M = {}
local format = string.format


local function fail(fmt, ...)
    io.stderr:write("ollaeval merge: ", format(fmt, ...), "\n")
    return 1
end


function M.main(...)
    local dirs, out = {}, ollaeval.options.out
    for _, a in ipairs { ... } do
        if a:sub(1, 1) == "-" then return fail("unknown option %s (usage: ollaeval merge RUN_DIR... [-o OUT])", a) end
        dirs[#dirs + 1] = a:gsub("/+$", "")
    end
    if #dirs < 1 then return fail("usage: ollaeval merge RUN_DIR... [-o OUT]") end
    local first, records, seen_shard, seen_id = nil, {}, {}, {}
    local KEYS = { "suite", "suite_version", "suite_sha256", "dataset_sha256", "model", "shots", "seed", "think" }
    for _, d in ipairs(dirs) do
        local run = runner.read_json(d .. "/run.json")
        if type(run) ~= "table" or type(run.config) ~= "table" then
            return fail("%s is not a run folder (no run.json)", d)
        end
        local c = run.config
        if not first then
            first = { dir = d, config = c }
        else
            for _, k in ipairs(KEYS) do
                if tostring(c[k]) ~= tostring(first.config[k]) then
                    return fail("%s and %s differ in %s (%s vs %s): not shards of one run",
                        first.dir, d, k, tostring(first.config[k]), tostring(c[k]))
                end
            end
            for k, v in pairs(first.config.options or {}) do
                if tostring((c.options or {})[k]) ~= tostring(v) then
                    return fail("%s and %s differ in option %s: not shards of one run", first.dir, d, k)
                end
            end
        end
        local shard = c.shard or "1/1"
        if seen_shard[shard] then return fail("%s and %s are both shard %s", seen_shard[shard], d, shard) end
        seen_shard[shard] = d
        local recs = runner.read_journal(d .. "/samples.jsonl")
        local last = {}
        for _, r in ipairs(recs) do last[r.id] = r end
        for _, r in ipairs(recs) do
            if last[r.id] == r then
                if seen_id[r.id] then
                    return fail("item %s is in both %s and %s", tostring(r.id), seen_id[r.id], d)
                end
                seen_id[r.id] = d
                records[#records + 1] = r
            end
        end
    end
    table.sort(records, function(a, b) return (a.index or 0) < (b.index or 0) end)
    local c = first.config
    out = out or format("runs/%s-%s-merged-%s", c.suite, (c.model:gsub("[^%w._-]+", "_")), os.date("%Y%m%d-%H%M%S"))
    data.mkdir_p(out)
    local f = assert(io.open(out .. "/samples.jsonl", "wb"))
    for _, r in ipairs(records) do f:write(runner.encode(r), "\n") end
    f:close()
    local config = {}
    for k, v in pairs(c) do config[k] = v end
    config.shard = "merged"
    runner.write_json(out .. "/run.json", { config = config, merged_from = dirs, ollaeval = ollaeval.version,
        command = ollaeval.command, started = os.date("!%Y-%m-%dT%H:%M:%SZ") })
    local s = runner.summarize(records)
    local base = runner.read_json(first.dir .. "/summary.json") or {}
    local summary = {
        suite = base.suite, dataset = base.dataset, model = base.model, endpoints = base.endpoints,
        server_version = base.server_version, options = base.options, merged_from = dirs,
        status = s.errors == 0 and "complete" or "partial",
        counts = { n = s.n, scored = s.scored, errors = s.errors },
        metrics = {
            accuracy = s.accuracy.value, accuracy_stderr = s.accuracy.stderr, accuracy_ci95 = s.accuracy.ci95,
            strict_accuracy = s.strict_accuracy.value, strict_accuracy_stderr = s.strict_accuracy.stderr,
            no_answer_rate = s.no_answer_rate, truncated_rate = s.truncated_rate,
        },
        tokens = s.tokens, latency_ms = s.latency_ms, ollaeval = ollaeval.version,
        finished = os.date("!%Y-%m-%dT%H:%M:%SZ"),
    }
    if summary.options then summary.options.shard = "merged" end
    runner.write_json(out .. "/summary.json", summary)
    io.stdout:write(format("merged %d runs: %d items, %d scored, %d errors, accuracy %s\nrun folder %s\n",
        #dirs, s.n, s.scored, s.errors,
        s.scored > 0 and format("%.2f%%", 100 * s.accuracy.value) or "-", out))
    return 0
end


return M
