-- runner.lua: the generic runner every suite shares (docs/suites.md has the
-- suite contract). One item's path through a run, stage by stage:
--   plan       the suite checked (evals/suite.lua), the model, the dataset
--              (evals/data.lua), the shard, what produced the run
--   preflight  every endpoint up and serving the model, and every other
--              model the suite names (evals/preflight.lua)
--   resume     the run folder: its lock (one process per folder), a new
--              run.json, or the same run's journal: the ids already scored
--              (evals/journal.lua); --retry-errors after a suite fix
--   run        each item concurrently, each of its samples in its own task
--              (evals/solve.lua: the context, every call recorded), one
--              record (evals/record.lua) appended and flushed to
--              samples.jsonl; the status line and Ctrl-C (evals/progress.lua)
--   summarise  summary.json (evals/summary.lua, on evals/metrics.lua), from
--              each item's final record as resume read it or run appended
--              it (journal.finals): counters and a bounded sketch of the
--              latencies, no record kept
--   report     the table, and the exit status: 0 every item scored, 1 a
--              fatal error stopped the run, 3 items not scored (errors),
--              4 the run folder could not be written (disk full,
--              read-only, removed), 130 interrupted
-- Errors the user can act on are raised by die() and become exit status 1
-- here; nothing in evals/ calls os.exit.
local data = require "evals.data"
local journal = require "evals.journal"
local preflight = require "evals.preflight"
local progress = require "evals.progress"
local record = require "evals.record"
local solve = require "evals.solve"
local summary = require "evals.summary"
local windowlog = require "evals.windowlog"
local sandbox = require "ollaeval.sandbox"
local suitemod = require "evals.suite"
local null = require("cjson").null

local M = {}

local format, concat = string.format, table.concat
local stderr = io.stderr
local O = ollaeval.options

-- Options every suite gets, besides the engine's.
M.options = {
    { name = "dataset", type = "string", arg = "PATH", help = "use a local JSONL file instead of downloading" },
    { name = "shots", type = "integer", default = 0, min = 0, help = "few-shot examples from the train split" },
    { name = "temperature", type = "number", default = 0, help = "sampling temperature sent to the model" },
    { name = "num-predict", type = "integer", default = 2048, help = "maximum tokens generated per answer" },
    { name = "num-ctx", type = "integer", default = 8192, help = "context window, the same on every request" },
    { name = "think", type = "string", choices = { "auto", "true", "false", "low", "medium", "high" },
      default = "auto", help = "reasoning for thinking models (auto: the model's default, sent explicitly)" },
    { name = "samples", type = "integer", min = 1, arg = "K",
      help = "samples per item, each with its own seed (default: the suite's, else 1)" },
    { name = "retry-errors", type = "flag",
      help = "with -o DIR: redo the items that ended with errors after the suite was fixed; keeps scored items" },
    { name = "repair-journal", type = "flag",
      help = "resume a journal with malformed lines: keep the good records, move the bad lines to samples.jsonl.bad, redo their items" },
}

-- After this many script errors in a row, with no item scored between
-- them, the run stops: the suite is failing on every item.
M.MAX_CONSECUTIVE_ERRORS = 20

-- A dataset file up to this size has its items kept from the plan's count
-- to the run (decoded once; the items take about 1.2 times the file in
-- memory, the process's peak about 3 times, so at most about +6 MB; let go
-- as they are taken); a larger one is read again by the run, so memory
-- stays flat in the dataset's size. 2 MiB holds GSM8K's test split
-- (0.75 MB), MATH-500 (0.45 MB) and MMLU-STEM (1.0 MB).
M.HOLD_BYTES = 2 << 20

local EXIT_OK, EXIT_FATAL, EXIT_INCOMPLETE, EXIT_STORAGE, EXIT_PAUSED, EXIT_INTERRUPTED = 0, 1, 3, 4, 5, 130


local function say(fmt, ...)
    if not O.quiet then stderr:write(format(fmt, ...), "\n") end
end

-- die(fmt, ...): stop the run with a message; M.run prints it, returns 1.
local Fatal = {}
local function die(fmt, ...)
    error(setmetatable({ msg = format(fmt, ...) }, Fatal), 0)
end

-- What a storage failure says (exit 4): err names the file and the reason.
local function storage_message(err, dir)
    return format("cannot write the run folder (%s): disk full (or read-only, or folder removed): "
        .. "nothing lost, resume after fixing: re-run with -o %s", err, dir)
end
-- die_storage(err, dir): the run folder cannot be written: exit 4.
local function die_storage(err, dir)
    error(setmetatable({ msg = storage_message(err, dir), status = EXIT_STORAGE }, Fatal), 0)
end
-- must(v, err): v, or die with err (for the `nil, err` convention)
local function must(v, err)
    if v == nil then die("%s", err) end
    return v
end


-- --think as sent: nil (auto: the server's default), a boolean, or a level
local function think_value(s)
    if s == "auto" then return nil end
    if s == "true" or s == "false" then return s == "true" end
    return s
end


-- Lua modules loaded so far, as {name=, origin=, path=, sha256=}: the
-- engine's record (ollaeval.modules()) when it has one; else package.loaded
-- with each module's file as package.path finds it (not found: embedded).
local STDLIB = { _G = true, string = true, table = true, coroutine = true, io = true, os = true, math = true,
                 utf8 = true, debug = true, package = true }

local function modules(spec)
    local list = {}
    if type(ollaeval.modules) == "function" then
        for _, m in ipairs(ollaeval.modules()) do list[#list + 1] = m end
    else
        for name in pairs(package.loaded) do
            if type(name) == "string" and not STDLIB[name] and not name:find("^cjson") then
                local path = package.searchpath(name, package.path)
                local m = { name = name, origin = "embedded" }
                if path then
                    m.path, m.sha256 = path, ollaeval.sha256_file(path)
                    m.origin = path:sub(1, #spec.dir + 1) == spec.dir .. "/" and "suite" or "path"
                end
                list[#list + 1] = m
            end
        end
    end
    table.sort(list, function(a, b) return a.name < b.name end)
    return list
end


-- The values of the suite's own options (those the runner does not know).
local function suite_options(suite, opt)
    local known, out = {}, {}
    for _, o in ipairs(M.options) do known[o.name] = true end
    for _, o in ipairs(suite.options or {}) do
        if not known[o.name] then
            local v = opt[o.name]
            if v == nil then v = false end
            out[o.name] = v
        end
    end
    return out
end


-- plan: what will run. Returns the run table the later stages fill in.
local function plan(suite, suite_file, opt)
    local spec = must(suitemod.check(suite, suite_file))
    for _, w in ipairs(spec.warnings) do stderr:write("ollaeval: warning: ", w, "\n") end
    if opt.samples then spec.samples = opt.samples end
    local run = { spec = spec, suite_file = suite_file, opt = opt, t_start = now() }
    run.model = O.model or die("no model: pass -m NAME (for example -m qwen3:8b)")
    local dpath = opt.dataset
    if not dpath and spec.dataset and spec.dataset.local_path then
        dpath = spec.dataset.local_path
        local sum = ollaeval.sha256_file(dpath)
        if not sum then die("%s: the suite's dataset %s is not there (a path beside the suite)", suite_file, dpath) end
        if spec.dataset.sha256 and sum ~= spec.dataset.sha256 then
            die("%s: the dataset %s has sha256 %s, the suite expects %s", suite_file, dpath, sum, spec.dataset.sha256)
        end
    end
    run.path, run.dsum = data.resolve(spec.dataset, dpath, say)
    must(run.path, run.dsum)
    -- --shard I/N: the items k (1-based, after --limit) with k % N == I % N;
    -- without --shard, from an array job's environment (docs/cluster.md)
    require("ollaeval.options").resolve_shard()
    local si, sn = (O.shard or "1/1"):match("^(%d+)/(%d+)$")
    si, sn = tonumber(si), tonumber(sn)
    run.in_shard = sn > 1 and function(k) return (k - 1) % sn == si - 1 end or nil
    -- counted and checked line by line before any request; the items of a
    -- dataset up to HOLD_BYTES are kept for the run as they were decoded
    local total, held = data.count(run.path, O.limit, run.in_shard, M.HOLD_BYTES)
    total = must(total, held)
    run.held = held
    if total == 0 then die("%s: the dataset is empty", run.path) end
    run.total = total
    opt.shots = opt.shots or 0
    local pool
    if opt.shots > 0 then
        if not spec.train then die("%s: --shots needs a train split (suite.train)", suite_file) end
        local tpath = spec.train.local_path
        pool = must(data.load(must(data.resolve(spec.train, tpath, say))))
    end
    run.others = {}
    for _, m in ipairs(spec.models(opt) or {}) do
        if m ~= run.model then run.others[#run.others + 1] = m end
    end
    local metric_names = {}
    for i, d in ipairs(spec.metrics) do metric_names[i] = d.name end
    -- what produced this run: resume refuses when any of it differs
    run.gen = { temperature = opt.temperature, seed = O.seed, num_predict = opt["num-predict"],
                num_ctx = opt["num-ctx"] }
    run.config = {
        suite = spec.name, suite_version = spec.version,
        suite_file = suite_file, suite_sha256 = ollaeval.sha256_file(suite_file) or "unknown",
        dataset_sha256 = run.dsum, model = run.model, shots = opt.shots, seed = O.seed,
        think = opt.think, options = run.gen, shard = O.shard or "1/1",
        samples = spec.samples, metrics = metric_names, models = run.others,
        suite_options = suite_options(suite, opt), modules = modules(spec), engine = ollaeval.version,
        group_by = type(suite.group_by) == "string" and suite.group_by or nil,
        reduce = type(suite.reduce) == "string" and suite.reduce or nil,
    }
    run.prompt_opts = { shots = opt.shots, fewshot_pool = pool, seed = O.seed }
    run.think = think_value(opt.think)
    return run
end


-- The keys --retry-errors lets differ: the suite's code and its modules
-- (not its version: a new version says the prompt or grading changed).
local CODE_KEYS = { "suite_sha256" }

local function same_run(old, new, retry)
    local a = old
    if retry then
        a = {}
        for k, v in pairs(old) do a[k] = v end
        for _, k in ipairs(CODE_KEYS) do a[k] = new[k] end
    end
    local what, was, now_is = journal.differs(a, new)
    if what then return what, was, now_is end
    return suitemod.differs(old, new, retry)
end

-- What changed in the code between old and new (for run.json's history).
local function code_changes(old, new)
    local out = {}
    for _, k in ipairs(CODE_KEYS) do
        if suitemod.text(old[k]) ~= suitemod.text(new[k]) then out[#out + 1] = { what = k, was = old[k], now = new[k] } end
    end
    local a = {}
    for _, y in ipairs(old.modules or {}) do a[y.name] = y end
    for _, x in ipairs(new.modules or {}) do
        local y = a[x.name]
        if not y or y.sha256 ~= x.sha256 then
            out[#out + 1] = { what = "module " .. x.name, was = y and y.sha256 or "not loaded", now = x.sha256 }
        end
    end
    return out
end


-- What summary.lua needs to know of the suite.
local function summary_info(spec)
    local suite = spec.suite
    return { metrics = spec.metrics, strict = suite.strict ~= nil, answers = not suite.solve or nil,
             group_by = type(suite.group_by) == "string" and suite.group_by or nil }
end
M.summary_info = summary_info


-- resume: the run folder. A new one gets run.json; an existing one must be
-- of the same run, and its journal says which items are done.
local function resume(run)
    local dir = must(journal.folder(run.spec.name, run.model, O.out, O.resume, O.shard))
    if not data.mkdir_p(dir) then die_storage(dir .. ": cannot create the folder", dir) end
    run.dir, run.journal_path = dir, dir .. "/samples.jsonl"
    -- one process per run folder, for the whole run (released at exit)
    local lock, lerr, what = journal.lock(dir)
    if not lock then
        if what == "locked" then die("%s", lerr) end
        die_storage(lerr, dir)
    end
    run.lock = lock
    local manifest = dir .. "/run.json"
    local old = journal.read_json(manifest)
    local retry = run.opt["retry-errors"]
    if not old then
        local j = io.open(run.journal_path, "rb")
        local has = j and j:read(1)
        if j then j:close() end
        if has then die("cannot resume %s: samples.jsonl is there but run.json is missing or unreadable", dir) end
        local ok, werr = journal.write_json(manifest, { config = run.config,
            started = os.date("!%Y-%m-%dT%H:%M:%SZ"), ollaeval = ollaeval.version, command = ollaeval.command })
        if not ok then die_storage(werr, dir) end
    else
        if type(old.config) ~= "table" or type(old.config.options) ~= "table" then
            die("cannot resume %s: its run.json has no config; it was not written by ollaeval or was edited", dir)
        end
        local what, was, now_is = same_run(old.config, run.config, retry)
        if what then
            local hint = ""
            if what == "suite_version" then -- the suite says its prompt or grading changed
                what, hint = "suite version", "; a suite's version changes with its prompt or grading, so the scores "
                    .. "of the two would not compare"
            elseif not retry and (what == "suite_sha256" or what:find("^module ")) then
                hint = "; after fixing the suite, --retry-errors redoes the items that ended with errors"
            end
            die("cannot resume %s: its %s was %s, this run's is %s; use another -o DIR%s", dir, what, was, now_is, hint)
        end
        if retry then
            local changes = code_changes(old.config, run.config)
            old.retries = old.retries or {}
            old.retries[#old.retries + 1] = { at = os.date("!%Y-%m-%dT%H:%M:%SZ"), command = ollaeval.command,
                changed = changes }
            old.config = run.config
            must(journal.write_json(manifest, old))
            if #changes > 0 then say("--retry-errors: the suite changed (%d changes, recorded in run.json)", #changes) end
        end
    end
    -- only the ids of the items already scored are kept, not their records
    -- (the last record of an id decides: scored, or to redo); the summary
    -- starts from the records as they stream past, and takes each record
    -- appended after them (journal.finals: each item's final record)
    run.sum = summary.new(summary_info(run.spec))
    run.finals = journal.finals(function(rec) run.sum:add(rec) end)
    local done, n, records = journal.done_ids(run.journal_path, say, run.opt["repair-journal"],
        function(rec, off) run.finals:add(rec, off) end)
    if not done then
        if n and n:find("^cannot repair") then die_storage(n, dir) end
        die("cannot resume %s: %s", dir, n)
    end
    if old then say("resuming %s: %d records in the journal, %d items scored", dir, records, n) end
    run.done, run.done_n = done, n
end


-- The items of this run, as {item=, index=, line=}: index counts the
-- dataset's items (up to --limit), line is the item's line in the file.
-- Those the plan's count kept (run.held) are given as they are; else the
-- file is read again, and a malformed line (the file changed since the
-- count) ends the items there: run.dataset_error says which (FILE:LINE:
-- ...), and the items taken before it finish.
local function items_of(run)
    local held = run.held
    if held then -- as the plan's count decoded them: each given once, then let go
        local items, index, lines, i = held.items, held.index, held.lines, 0
        run.held = nil
        return function()
            i = i + 1
            local item = items[i]
            if item == nil then return nil end
            items[i] = false
            return { item = sandbox.constant(item), index = index[i], line = lines[i] }
        end
    end
    local iter, taken = jsonl(run.path), 0
    local in_shard = run.in_shard
    return function()
        while not (O.limit and taken >= O.limit) do
            local ok, item, line = pcall(iter)
            if not ok then
                run.dataset_error = tostring(item)
                return nil
            end
            if item == nil then return nil end
            taken = taken + 1
            -- an item stays the same for its run: a sandboxed suite's id, gold
            -- and prompt share one copy of it (sandbox.constant)
            if not in_shard or in_shard(taken) then
                return { item = sandbox.constant(item), index = taken, line = line }
            end
        end
    end
end


-- An error in a sample: a failed request ({request=true}) passes as is;
-- the suite's own errors get their traceback.
local function on_sample_error(e)
    if type(e) == "table" and (e.request or getmetatable(e) == Fatal) then return e end
    return debug.traceback(tostring(e), 2)
end

-- The first line of an error: script errors are told apart by it.
local function headline(tb)
    return (tostring(tb):match("^[^\n]*"))
end


-- run: every item not yet scored, through map (at most -c in flight per
-- endpoint). Each ends as one journal record; st counts them for progress.
local function run_items(run)
    local spec = run.spec
    local suite = spec.suite
    local out, oerr = journal.open(run.journal_path)
    if not out then die_storage(oerr, run.dir) end
    local st = { t0 = now(), done = 0, new = 0, scored = 0, correct = 0, errors = 0, tokens = 0, calls = 0,
                 unscored = 0 }
    st.done = run.done_n
    run.st = st
    say("%s v%s: %d items%s, model %s at %s, concurrency %s%s", spec.name, spec.version, run.total,
        spec.samples > 1 and format(" x %d samples", spec.samples) or "",
        run.model, concat(ollaeval.endpoints, ", "), tostring(O.concurrency),
        st.done > 0 and format(", %d already scored", st.done) or "")
    local wlog = windowlog.open(run.dir .. "/window.jsonl")
    run.wlog = wlog
    local finals = run.finals
    local function append(rec)
        local ok, res = out:append(rec) -- res: the record's offset, or the error
        if ok then
            finals:add(rec, res)
        else
            -- stop at once: the requests in flight are cancelled (redone on resume)
            if not run.storage then ollaeval.cancel_all() end
            run.storage = run.storage or res
            run.fatal = run.fatal or "storage"
        end
        st.done = st.done + 1
        wlog:flush()
    end

    -- script errors: each distinct one printed once, counted; a run of them stops the run
    local seen, order, first_tb = {}, {}, nil
    run.script_errors = { seen = seen, order = order }
    -- The run of errors is counted in the order the items were taken, not
    -- the order they end: with many items in flight (an auto window holds
    -- up to 256 per endpoint) the items whose suite code raises end at once,
    -- before any answer comes back. it.outcome: "error", "ok" (a record with
    -- a score or none), else neutral (a failed request, skipped, redone).
    local outcome, next_i, consecutive = {}, 1, 0
    local function settle(i, o)
        outcome[i] = o or "skip"
        while outcome[next_i] do
            local x = outcome[next_i]
            outcome[next_i], next_i = nil, next_i + 1
            if x == "error" then consecutive = consecutive + 1 elseif x == "ok" then consecutive = 0 end
            if consecutive >= M.MAX_CONSECUTIVE_ERRORS and st.scored + st.unscored == 0 then
                run.fatal = run.fatal or format("every item is failing: the suite raised an error on the first %d "
                    .. "items and scored none; fix it and run again (with -o %s --retry-errors to keep this run "
                    .. "folder). The first error:\n%s", consecutive, run.dir, first_tb)
            elseif consecutive >= M.MAX_CONSECUTIVE_ERRORS then
                run.fatal = run.fatal or format("every item is failing: the suite raised an error on %d items in a "
                    .. "row; fix it, then re-run with -o %s --retry-errors. The first error:\n%s", consecutive,
                    run.dir, first_tb)
            end
        end
    end
    local function script_error(it, id, tb, calls)
        st.new = st.new + 1
        st.errors = st.errors + 1
        append(record.script_error(it, id, tb, calls))
        local key = headline(tb)
        if not seen[key] then
            seen[key] = { count = 0, first = id }
            order[#order + 1] = key
            stderr:write(format("\nollaeval: item %s (%s:%s): %s\n", tostring(id), run.path, tostring(it.line), tb))
        end
        seen[key].count = seen[key].count + 1
        first_tb = first_tb or format("item %s (%s:%s): %s", tostring(id), run.path, tostring(it.line), tb)
        it.outcome = "error"
        if O["fail-fast"] then run.fatal = run.fatal or ("item " .. tostring(id) .. " raised an error (--fail-fast)") end
    end

    -- the suite's id and gold of an item, each in a protected call
    local function id_of(it)
        return suite.id and suite.id(it.item, it.index) or it.index
    end
    local function gold_of(it)
        local g
        if suite.gold then
            g = suite.gold(it.item)
            if g == nil then
                -- not a wrong answer: the item lacks what the suite grades against
                error(format("the item has no gold answer (%s: gold() returned nil)", spec.name), 0)
            end
        end
        return g, spec.group and spec.group(it.item) or nil, spec.meta and spec.meta(it.item) or nil
    end

    local function grade(it)
        local okid, id = xpcall(id_of, on_sample_error, it)
        if not okid then return script_error(it, it.index, id) end
        if id == nil then id = it.index end
        if run.done:has(id) then return end
        local ok, gold, group, meta = xpcall(gold_of, on_sample_error, it)
        if not ok then return script_error(it, id, gold) end
        local k = spec.samples
        local results
        if k == 1 then
            local okj, r = xpcall(solve.sample, on_sample_error, run, it, id, gold, 1)
            results = { okj and r or { failed = r } }
        else
            results = {}
            local function one(j)
                local okj, r = xpcall(solve.sample, on_sample_error, run, it, id, gold, j)
                results[j] = okj and r or { failed = r }
            end
            local tasks = {}
            for j = 1, k do tasks[j] = spawn(one, j) end
            for _, t in ipairs(tasks) do
                local okt, terr = wait(t)
                if not okt then error(terr, 0) end
            end
        end
        for j = 1, k do
            local f = results[j].failed
            if f then
                if type(f) == "table" and f.request then
                    if f.kind == "cancelled" then return end -- redone on resume
                    if f.kind == "paused" then -- the endpoint stayed down: stop, redo on resume
                        run.paused = run.paused or f.err
                        run.fatal = run.fatal or f.err
                        return
                    end
                    st.new = st.new + 1
                    st.errors = st.errors + 1
                    return append(record.failed(it, id, gold, f, f.calls or {}, group, meta))
                end
                if type(f) == "table" and getmetatable(f) == Fatal then error(f, 0) end
                return script_error(it, id, f)
            end
        end
        if spec.vote then
            for _, r in ipairs(results) do
                if r.answer ~= nil then
                    local okv, v = pcall(spec.vote, r.answer)
                    if not okv then return script_error(it, id, debug.traceback(tostring(v), 1)) end
                    r.vote = v
                end
            end
        end
        local rec = record.item(it, id, gold, results, group, meta)
        st.new = st.new + 1
        it.outcome = "ok"
        if rec.score == nil then
            st.unscored = st.unscored + 1
        else
            st.scored = st.scored + 1
            if rec.correct then st.correct = st.correct + 1 end
        end
        return append(rec)
    end

    local function grade_in_order(it, i)
        grade(it)
        settle(i, it.outcome)
        -- an item whose suite code raised ends without waiting: let the
        -- items taken before it run, so the run of errors is judged in order
        if it.outcome == "error" then sleep(0) end
    end

    -- a bug in the runner's own code for one item: record it, go on
    local function on_error(it, i, tb)
        script_error(it, it.index, tb)
        settle(i, "error")
    end

    local watcher = progress.watch_interrupt(st)
    local stop_progress = progress.start(st, run.total, O.quiet)
    local ok, err = pcall(map, items_of(run), grade_in_order, { on_error = on_error, stop = function() return run.fatal ~= nil end })
    st.finished = true
    wait(watcher)
    stop_progress()
    local cok, cerr = out:close()
    if not cok then
        run.storage = run.storage or cerr
        run.fatal = run.fatal or "storage"
    end
    wlog:close()
    if not ok then
        -- a bug: what was done is kept
        stderr:write("ollaeval: ", tostring(err), "\n")
        run.fatal = run.fatal or tostring(err)
    end
    if run.dataset_error then
        -- a malformed line in the dataset: the items before it are kept
        run.fatal = run.fatal or format("%s; the run stopped there, the items before it are in the journal (%d "
            .. "this session); fix the line, then run again with a new -o DIR (the dataset's sha256 changes)",
            run.dataset_error, st.new)
    end
    for _, key in ipairs(order) do
        local e = seen[key]
        if e.count > 1 then
            stderr:write(format("ollaeval: %d items raised this error (the first: item %s): %s\n", e.count,
                tostring(e.first), key))
        end
    end
end


-- summarise: the whole journal, this session's records and the earlier ones,
-- as resume and run gave them to run.sum; the errors left (each item's
-- final one) are read again from the journal.
local function summarise(run)
    must(run.finals:finish(run.journal_path))
    local s = run.sum:result()
    run.interrupted = ollaeval.interrupted() > 0
    run.wall = (now() - run.t_start) / 1000
    run.new = run.st.new
    run.status = run.paused and "paused" or summary.status(s, run.total, run.fatal, run.interrupted)
    run.context_length = preflight.loaded_context(run.model)
    local sum = summary.of_run(run, s)
    run.window = windowlog.findings()
    if #run.window > 0 then sum.window = run.window end
    if run.context_length and run.context_length ~= run.gen.num_ctx then
        say("note: the server has %s loaded with a context of %s tokens, not the %s sent "
            .. "(Ollama caps num_ctx at the model's trained context)", run.model, tostring(run.context_length),
            tostring(run.gen.num_ctx))
    end
    local ok, err = journal.write_json(run.dir .. "/summary.json", sum)
    if not ok then run.storage = run.storage or err end
    return s
end


-- The command as given, pointed at this run folder (once).
local function resume_command(run)
    local cmd = ollaeval.command or ("ollaeval " .. run.suite_file)
    if O.out then
        for _, a in ipairs(ollaeval.argv or {}) do
            if a == "-o" or a == "--out" or a:find("^%-%-out=") then return cmd end
        end
    end
    return format("%s -o %s", cmd, run.dir)
end


-- report: the table on stdout, the outcome on stderr, the exit status.
local function report(run, s)
    local wall = run.wall
    local rows = {
        { "items", format("%d of %d recorded, %d errors%s", s.n, run.total, s.errors,
            s.unscored > 0 and format(", %d unscored", s.unscored) or "") },
        { "wall time", format("%.1f s (%.2f items/s)", wall, wall > 0 and run.new / wall or 0) },
        { "run folder", run.dir },
    }
    if #run.window > 0 then rows[#rows + 1] = { "window", windowlog.describe(run.window) } end
    if run.spec.suite.note then rows[#rows + 1] = { "note", run.spec.suite.note } end
    summary.print_table(io.stdout, format("%s v%s  model %s%s", run.spec.name, run.spec.version, run.model,
        run.status ~= "complete" and ("  [" .. run.status .. "]") or ""), s, rows)
    if run.storage then
        stderr:write("ollaeval: stopped: ", storage_message(run.storage, run.dir), "\n")
        return EXIT_STORAGE
    end
    if run.paused then
        stderr:write("ollaeval: ", run.paused, "\n")
        return EXIT_PAUSED
    end
    if run.fatal then
        stderr:write("ollaeval: stopped: ", run.fatal, "\n")
        return EXIT_FATAL
    end
    if run.interrupted then
        stderr:write(format("ollaeval: interrupted; resume with: %s\n", resume_command(run)))
        return EXIT_INTERRUPTED
    end
    if run.status ~= "complete" then
        local scripted = #run.script_errors.order > 0
        stderr:write(format("ollaeval: %d of %d items not scored (%d errors); %s\n",
            run.total - s.scored - s.unscored, run.total, s.errors,
            scripted and format("fix the suite, then re-run with -o %s --retry-errors to redo them", run.dir)
                or format("re-run with -o %s to retry them", run.dir)))
        return EXIT_INCOMPLETE
    end
    return EXIT_OK
end


-- run(suite, suite_file, opt) -> exit status. opt is what options{} returned.
function M.run(suite, suite_file, opt)
    local ok, status = xpcall(function()
        local run = plan(suite, suite_file, opt)
        run.server = must(preflight.check(run.model, say))
        for _, m in ipairs(run.others) do
            must(preflight.check(m, say))
        end
        resume(run)
        run_items(run)
        return report(run, summarise(run))
    end, function(e)
        if getmetatable(e) == Fatal then return e end
        return debug.traceback(tostring(e), 2) -- a bug: where it happened
    end)
    if ok then return status end
    if getmetatable(status) == Fatal then
        stderr:write("ollaeval: ", status.status == EXIT_STORAGE and "stopped: " or "", status.msg, "\n")
        return status.status or EXIT_FATAL
    end
    stderr:write("ollaeval: ", status, "\n")
    return EXIT_FATAL
end


-- options_for(suite) -> the option specs of the runner plus the suite's own;
-- suite.defaults changes the default of the runner's ({temperature = 0.7});
-- --shots only for a suite with a train split.
function M.options_for(suite)
    local list = {}
    local defaults = suite.defaults or {}
    for _, o in ipairs(M.options) do
        if o.name == "shots" and suite.train == nil then goto next end -- no train split, no few-shot
        if defaults[o.name] ~= nil then
            local c = {}
            for k, v in pairs(o) do c[k] = v end
            c.default = defaults[o.name]
            o = c
        end
        list[#list + 1] = o
        ::next::
    end
    for _, o in ipairs(suite.options or {}) do
        local dup = false
        for i, p in ipairs(list) do
            if p.name == o.name then list[i], dup = o, true end
        end
        if not dup then list[#list + 1] = o end
    end
    return list
end


-- run_file(suite, file): a file that returned a suite table, run through
-- the runner with its options (the prelude calls it). -> exit status
function M.run_file(suite, file)
    return M.run(suite, file, options(M.options_for(suite)))
end


-- main(modname): a suite module on package.path, run. -> exit status
function M.main(modname)
    local suite = require(modname)
    local file = modname:gsub("%.", "/") .. ".lua"
    for _, m in ipairs(ollaeval.modules()) do -- where the loader found it
        if m.name == modname then file = m.path end
    end
    return M.run(suite, file, options(M.options_for(suite)))
end


return M
