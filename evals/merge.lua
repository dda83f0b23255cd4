-- merge.lua: `ollaeval merge RUN_DIR... [-o OUT]` combines the run folders
-- of a sharded run (--shard I/N on several machines) into one run folder
-- with one journal and one summary. It refuses to merge runs that are not
-- shards of one run (journal.differs) and shards that overlap. The
-- journals are streamed twice (journal.latest: each item's final record):
-- once for their ids, to refuse an overlap before writing anything, then
-- into the merged journal, shard after shard; only ids are held. M.main
-- returns the exit status: 0 merged, 1 refused or failed, 4 the output
-- folder cannot be written.
local data = require "evals.data"
local journal = require "evals.journal"
local summary = require "evals.summary"

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
    local first, seen_shard, seen_id = nil, {}, {}
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
            if what then
                return fail("%s and %s differ in %s (%s vs %s): not shards of one run", first.dir, d, what, a, b)
            end
        end
        local shard = c.shard or "1/1"
        if seen_shard[shard] then return fail("%s and %s are both shard %s", seen_shard[shard], d, shard) end
        seen_shard[shard] = d
        local dup
        local ok, err = journal.latest(d .. "/samples.jsonl", function(r)
            if seen_id[r.id] then dup = dup or format("item %s is in both %s and %s", tostring(r.id), seen_id[r.id], d) end
            seen_id[r.id] = d
        end)
        if not ok then return fail("%s", err) end
        if dup then return fail("%s", dup) end
    end
    seen_id = nil
    local c = first.config
    out = out or format("runs/%s-%s-merged-%s", journal.safe_name(c.suite), journal.safe_name(c.model),
        os.date("%Y%m%d-%H%M%S"))
    if not data.mkdir_p(out) then return fail("cannot create the folder %s", out) + 3 end
    local lock, lerr, what = journal.lock(out)
    if not lock then return what == "locked" and fail("%s", lerr) or fail("%s", lerr) + 3 end
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
    local s = summary.summarize(each)
    local cok, cerr = j:close()
    if werr or not cok then return fail("%s", werr or cerr) + 3 end
    local config = {}
    for k, v in pairs(c) do config[k] = v end
    config.shard = "merged"
    local ok, jerr = journal.write_json(out .. "/run.json", { config = config, merged_from = dirs,
        ollaeval = ollaeval.version, command = ollaeval.command, started = os.date("!%Y-%m-%dT%H:%M:%SZ") })
    if not ok then return fail("%s", jerr) + 3 end
    local base = journal.read_json(first.dir .. "/summary.json") or {}
    local sum = {
        suite = base.suite, dataset = base.dataset, model = base.model, endpoints = base.endpoints,
        server_version = base.server_version, options = base.options, merged_from = dirs,
        status = s.errors == 0 and "complete" or "partial",
        counts = { n = s.n, scored = s.scored, errors = s.errors },
        metrics = summary.metrics(s),
        tokens = s.tokens, latency_ms = s.latency_ms, ollaeval = ollaeval.version,
        finished = os.date("!%Y-%m-%dT%H:%M:%SZ"),
    }
    if sum.options then sum.options.shard = "merged" end
    ok, jerr = journal.write_json(out .. "/summary.json", sum)
    if not ok then return fail("%s", jerr) + 3 end
    lock:unlock()
    io.stdout:write(format("merged %d runs: %d items, %d scored, %d errors, accuracy %s\nrun folder %s\n",
        #dirs, s.n, s.scored, s.errors,
        s.scored > 0 and format("%.2f%%", 100 * s.accuracy.value) or "-", out))
    return 0
end


return M
