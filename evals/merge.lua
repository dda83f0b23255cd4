-- merge.lua: `ollaeval merge RUN_DIR... [-o OUT]` combines the run folders
-- of a sharded run (--shard I/N on several machines) into one run folder
-- with one journal and one summary. It refuses to merge runs that are not
-- shards of one run (journal.differs) and shards that overlap. The
-- journals are streamed twice (journal.latest: each item's final record):
-- once for their ids, to refuse an overlap before writing anything, then
-- into the merged journal, shard after shard; only ids are held, in one
-- compact set per shard (evals/idset.lua: about a bit an id). M.main
-- returns the exit status: 0 merged, 1 refused or failed, 4 the output
-- folder cannot be written.
local data = require "evals.data"
local idset = require "evals.idset"
local journal = require "evals.journal"
local reduce = require "evals.reduce"
local suitemod = require "evals.suite"
local summary = require "evals.summary"

local M = {}
local format = string.format


local function fail(fmt, ...)
    io.stderr:write("ollaeval merge: ", format(fmt, ...), "\n")
    return 1
end


-- What summary.summarize needs, from the run's config: the metrics by name
-- (a suite's own reducer function from the suite file, when it is the same
-- file), strict and the group field from the first shard's summary.
local function summary_info(c, base)
    local defs, missing = {}, {}
    local from_file
    for _, name in ipairs(type(c.metrics) == "table" and c.metrics or { "accuracy" }) do
        local fn = name == "accuracy" and reduce.parse(type(c.reduce) == "string" and c.reduce or "mean")
            or reduce.parse(name)
        if not fn then
            if from_file == nil then
                from_file = false
                local file = c.suite_file
                if type(file) == "string" and ollaeval.sha256_file(file) == c.suite_sha256 then
                    local ok, t = pcall(dofile, file)
                    local spec = ok and suitemod.check(t, file)
                    if spec then
                        from_file = {}
                        for _, d in ipairs(spec.metrics) do from_file[d.name] = d.reduce end
                    end
                end
            end
            fn = from_file and from_file[name]
        end
        if fn then defs[#defs + 1] = { name = name, reduce = fn } else missing[#missing + 1] = name end
    end
    local m = type(base.metrics) == "table" and base.metrics or {}
    return { metrics = defs, strict = m.strict_accuracy ~= nil, answers = m.no_answer_rate ~= nil,
             group_by = c.group_by }, missing
end


function M.main(...)
    local dirs, out = {}, ollaeval.options.out
    for _, a in ipairs { ... } do
        if a:sub(1, 1) == "-" then return fail("unknown option %s (usage: ollaeval merge RUN_DIR... [-o OUT])", a) end
        dirs[#dirs + 1] = a:gsub("/+$", "")
    end
    if #dirs < 1 then return fail("usage: ollaeval merge RUN_DIR... [-o OUT]") end
    local first, seen_shard, shard_ids = nil, {}, {}
    for _, d in ipairs(dirs) do
        local run = journal.read_json(d .. "/run.json")
        if type(run) ~= "table" or type(run.config) ~= "table" then
            return fail("%s is not a run folder (no run.json)", d)
        end
        local c = run.config
        if not first then
            first = { dir = d, config = c }
        else
            local what, a, b = journal.differs(first.config, c, { shards = true })
            if not what then what, a, b = suitemod.differs(first.config, c) end
            if what then
                return fail("%s and %s differ in %s (%s vs %s): not shards of one run", first.dir, d, what, a, b)
            end
        end
        local shard = c.shard or "1/1"
        if seen_shard[shard] then return fail("%s and %s are both shard %s", seen_shard[shard], d, shard) end
        seen_shard[shard] = d
        local dup
        local ids = idset.new()
        shard_ids[#shard_ids + 1] = { dir = d, ids = ids }
        local ok, err = journal.latest(d .. "/samples.jsonl", function(r)
            if dup then return end
            for _, sh in ipairs(shard_ids) do
                if sh.ids:has(r.id) then
                    dup = format("item %s is in both %s and %s", tostring(r.id), sh.dir, d)
                    return
                end
            end
            ids:add(r.id)
        end)
        if not ok then return fail("%s", err) end
        if dup then return fail("%s", dup) end
    end
    shard_ids = nil
    local c = first.config
    out = out or format("runs/%s-%s-merged-%s", journal.safe_name(c.suite), journal.safe_name(c.model),
        os.date("%Y%m%d-%H%M%S"))
    if not data.mkdir_p(out) then return fail("cannot create the folder %s", out) + 3 end
    local lock, lerr, what = journal.lock(out)
    if not lock then return what == "locked" and fail("%s", lerr) or fail("%s", lerr) + 3 end
    -- never over a run: merging into one of the inputs (or any run folder)
    -- would truncate the journal it reads (a folder in use was refused by
    -- the lock above, naming its holder)
    for _, name in ipairs { "/run.json", "/samples.jsonl" } do
        local f = io.open(out .. name, "rb")
        if f then
            f:close()
            return fail("%s already holds a run (%s): merge writes a new folder; choose another -o", out, out .. name)
        end
    end
    local j, err = journal.open(out .. "/samples.jsonl", true)
    if not j then return fail("%s", err) + 3 end
    local werr
    local function each(fn) -- every shard's final records, in the merged journal as they pass
        for _, d in ipairs(dirs) do
            local ok, rerr = journal.latest(d .. "/samples.jsonl", function(r)
                if not werr then
                    local wok, e = j:append(r)
                    if not wok then werr = e end
                end
                fn(r)
            end)
            if not ok then werr = werr or rerr end
        end
    end
    local base = journal.read_json(first.dir .. "/summary.json") or {}
    local info, missing = summary_info(c, base)
    for _, name in ipairs(missing) do
        io.stderr:write(format("ollaeval merge: the metric %s is left out: its reducer is in %s, "
            .. "which is not there or changed\n", name, tostring(c.suite_file)))
    end
    local s = summary.summarize({ each = each }, info)
    local cok, cerr = j:close()
    if werr or not cok then return fail("%s", werr or cerr) + 3 end
    local config = {}
    for k, v in pairs(c) do config[k] = v end
    config.shard = "merged"
    local ok, jerr = journal.write_json(out .. "/run.json", { config = config, merged_from = dirs,
        ollaeval = ollaeval.version, command = ollaeval.command, started = os.date("!%Y-%m-%dT%H:%M:%SZ") })
    if not ok then return fail("%s", jerr) + 3 end
    local sum = {
        suite = base.suite, dataset = base.dataset, model = base.model, endpoints = base.endpoints,
        server_version = base.server_version, options = base.options, merged_from = dirs,
        status = s.errors == 0 and "complete" or "partial",
        counts = { n = s.n, scored = s.scored, errors = s.errors, unscored = s.unscored, calls = s.calls,
                   truncated_thinking = s.truncated_thinking },
        metrics = summary.metrics(s), groups = summary.groups(s),
        unscored_reasons = next(s.unscored_reasons) and s.unscored_reasons or nil,
        tokens = s.tokens, latency_ms = s.latency_ms, ollaeval = ollaeval.version,
        finished = os.date("!%Y-%m-%dT%H:%M:%SZ"),
    }
    if sum.options then sum.options.shard = "merged" end
    ok, jerr = journal.write_json(out .. "/summary.json", sum)
    if not ok then return fail("%s", jerr) + 3 end
    lock:unlock()
    summary.print_table(io.stdout, format("merged %d runs of %s  model %s", #dirs, tostring(c.suite),
        tostring(c.model)), s, { { "items", format("%d, %d scored, %d errors", s.n, s.scored, s.errors) },
        { "run folder", out } })
    return 0
end


return M
