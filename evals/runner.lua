-- runner.lua: the generic runner every suite shares (docs/suites.md has the
-- suite contract). One item's path through a run, stage by stage:
--   plan       the suite, the model, the dataset (evals/data.lua), the shard
--   preflight  every endpoint up and serving the model (evals/preflight.lua)
--   resume     the run folder: a new run.json, or the same run's journal
--              (evals/journal.lua)
--   run        each item concurrently: prompt, chat{}, grade, one record
--              (evals/record.lua) appended and flushed to samples.jsonl;
--              the status line and Ctrl-C (evals/progress.lua)
--   summarise  the whole journal into summary.json (evals/summary.lua)
--   report     the table, and the exit status: 0 every item scored, 1 a
--              fatal error stopped the run, 3 items not scored (errors),
--              4 the journal could not be written, 130 interrupted
-- Errors the user can act on are raised by die() and become exit status 1
-- here; nothing in evals/ calls os.exit.
local data = require "evals.data"
local journal = require "evals.journal"
local preflight = require "evals.preflight"
local progress = require "evals.progress"
local record = require "evals.record"
local summary = require "evals.summary"

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
      default = "auto", help = "reasoning for thinking models (auto: the server's default)" },
}

local EXIT_OK, EXIT_FATAL, EXIT_INCOMPLETE, EXIT_STORAGE, EXIT_INTERRUPTED = 0, 1, 3, 4, 130


local function say(fmt, ...)
    if not O.quiet then stderr:write(format(fmt, ...), "\n") end
end

-- die(fmt, ...): stop the run with a message; M.run prints it, returns 1.
local Fatal = {}
local function die(fmt, ...)
    error(setmetatable({ msg = format(fmt, ...) }, Fatal), 0)
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


-- plan: what will run. Returns the run table the later stages fill in.
local function plan(suite, suite_file, opt)
    for _, k in ipairs { "name", "version", "prompt", "extract", "gold", "correct" } do
        if suite[k] == nil then
            die("%s: the suite is missing the required field '%s' (see docs/suites.md)", suite_file, k)
        end
    end
    local run = { suite = suite, suite_file = suite_file, opt = opt, t_start = now() }
    run.model = O.model or die("no model: pass -m NAME (for example -m qwen3:8b)")
    run.path, run.dsum = data.resolve(suite.dataset, opt.dataset, say)
    must(run.path, run.dsum)
    -- --shard I/N: the items k (1-based, after --limit) with k % N == I % N
    local si, sn = (O.shard or "1/1"):match("^(%d+)/(%d+)$")
    si, sn = tonumber(si), tonumber(sn)
    run.in_shard = function(k) return (k - 1) % sn == si - 1 end
    local total = 0
    local ok, err = pcall(function()
        local k = 0
        for _ in jsonl(run.path) do
            k = k + 1
            if run.in_shard(k) then total = total + 1 end
            if O.limit and k >= O.limit then break end
        end
    end)
    if not ok then die("%s", err) end
    if total == 0 then die("%s: the dataset is empty", run.path) end
    run.total = total
    local pool
    if opt.shots > 0 then
        if not suite.train then die("%s: --shots needs a train split (suite.train)", suite_file) end
        pool = must(data.load(must(data.resolve(suite.train, opt["train-dataset"], say))))
    end
    -- what produced this run: resume refuses when any of it differs
    run.gen = { temperature = opt.temperature, seed = O.seed, num_predict = opt["num-predict"],
                num_ctx = opt["num-ctx"] }
    run.config = {
        suite = suite.name, suite_version = tostring(suite.version),
        suite_file = suite_file, suite_sha256 = ollaeval.sha256_file(suite_file) or "unknown",
        dataset_sha256 = run.dsum, model = run.model, shots = opt.shots, seed = O.seed,
        think = opt.think, options = run.gen, shard = O.shard or "1/1",
    }
    run.prompt_opts = { shots = opt.shots, fewshot_pool = pool, seed = O.seed }
    run.think = think_value(opt.think)
    return run
end


-- resume: the run folder. A new one gets run.json; an existing one must be
-- of the same run, and its journal says which items are done.
local function resume(run)
    local dir = must(journal.folder(run.suite.name, run.model, O.out, O.resume))
    data.mkdir_p(dir)
    run.dir, run.journal_path = dir, dir .. "/samples.jsonl"
    local manifest = dir .. "/run.json"
    local old = journal.read_json(manifest)
    local records = {}
    if not old then
        local j = io.open(run.journal_path, "rb")
        local has = j and j:read(1)
        if j then j:close() end
        if has then die("cannot resume %s: samples.jsonl is there but run.json is missing or unreadable", dir) end
        must(journal.write_json(manifest, { config = run.config, started = os.date("!%Y-%m-%dT%H:%M:%SZ"),
            ollaeval = ollaeval.version, command = ollaeval.command }))
    else
        if type(old.config) ~= "table" or type(old.config.options) ~= "table" then
            die("cannot resume %s: its run.json has no config; it was not written by ollaeval or was edited", dir)
        end
        local what, was, now_is = journal.differs(old.config, run.config)
        if what then die("cannot resume %s: its %s was %s, this run's is %s; use another -o DIR", dir, what, was, now_is) end
        records = must(journal.read(run.journal_path, say))
        say("resuming %s: %d records in the journal", dir, #records)
    end
    run.done_ids = {}
    for _, r in ipairs(records) do
        if not r.error then run.done_ids[r.id] = true end
    end
end


-- The items of this run, as {item=, index=, line=}: index counts the
-- dataset's items (up to --limit), line is the item's line in the file.
local function items_of(run)
    local iter, taken = jsonl(run.path), 0
    return function()
        while not (O.limit and taken >= O.limit) do
            local item, line = iter()
            if item == nil then return nil end
            taken = taken + 1
            if run.in_shard(taken) then return { item = item, index = taken, line = line } end
        end
    end
end


-- run: every item not yet scored, through map (at most -c in flight per
-- endpoint). Each ends as one journal record; st counts them for progress.
local function run_items(run)
    local suite = run.suite
    local out = must(journal.open(run.journal_path))
    local st = { t0 = now(), done = 0, new = 0, scored = 0, correct = 0, errors = 0, tokens = 0 }
    for _ in pairs(run.done_ids) do st.done = st.done + 1 end
    run.st = st
    say("%s v%s: %d items, model %s at %s, concurrency %d%s", suite.name, suite.version, run.total,
        run.model, concat(ollaeval.endpoints, ", "), O.concurrency,
        st.done > 0 and format(", %d already scored", st.done) or "")
    local fatal
    local function append(rec)
        local ok, err = out:append(rec)
        if not ok then
            run.storage = run.storage or err
            fatal = fatal or "storage"
        end
        st.done = st.done + 1
    end

    local function grade(it)
        local id = suite.id and suite.id(it.item, it.index) or it.index
        if run.done_ids[id] then return end
        local messages = suite.prompt(it.item, run.prompt_opts)
        local gold = suite.gold(it.item)
        if gold == nil then
            -- not a wrong answer: the item lacks what the suite grades against
            -- (on_error names the item and its FILE:LINE)
            error(format("the item has no gold answer (%s: gold() returned nil)", suite.name), 0)
        end
        local res, cerr, kind, info = chat { messages = messages, options = run.gen, think = run.think }
        if not res and kind == "cancelled" then return end -- redone on resume
        st.new = st.new + 1
        if res then
            local rec = record.scored(suite, it, id, messages, gold, res)
            st.scored = st.scored + 1
            if rec.correct then st.correct = st.correct + 1 end
            st.tokens = st.tokens + res.completion_tokens
            return append(rec)
        end
        st.errors = st.errors + 1
        local status = info and info.status
        if status == 400 or status == 401 or status == 403 or status == 404 then
            -- the server refuses every request alike: stop rather than fail them all
            fatal = fatal or (cerr .. ((status == 401 or status == 403) and " (check the API key)" or ""))
        end
        append(record.failed(it, id, messages, gold, cerr, kind, info))
    end

    -- a bug in the suite for one item: record it, go on (or stop with --fail-fast)
    local function on_error(it, _, tb)
        local okid, id = pcall(suite.id or function() return it.index end, it.item, it.index)
        if not okid or id == nil then id = it.index end
        st.errors = st.errors + 1
        append(record.script_error(it, id, tb))
        stderr:write(format("\nollaeval: item %s (%s:%s): %s\n", tostring(id), run.path, tostring(it.line), tb))
        if O["fail-fast"] then fatal = fatal or ("item " .. tostring(id) .. " raised an error (--fail-fast)") end
    end

    local watcher = progress.watch_interrupt(st)
    local stop_progress = progress.start(st, run.total, O.quiet)
    local ok, err = pcall(map, items_of(run), grade, { on_error = on_error, stop = function() return fatal ~= nil end })
    st.finished = true
    wait(watcher)
    stop_progress()
    out:close()
    if not ok then
        -- the dataset raised mid-way (a malformed line): what was done is kept
        stderr:write("ollaeval: ", tostring(err), "\n")
        fatal = fatal or tostring(err)
    end
    run.fatal = fatal
end


-- summarise: the whole journal, this session's records and the earlier ones.
local function summarise(run)
    local s = summary.summarize(must(journal.read(run.journal_path, say)))
    run.interrupted = ollaeval.interrupted() > 0
    run.wall = (now() - run.t_start) / 1000
    run.new = run.st.new
    run.status = summary.status(s, run.total, run.fatal, run.interrupted)
    run.context_length = preflight.loaded_context(run.model)
    local sum = summary.of_run(run, s)
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
    summary.print_table(io.stdout, format("%s v%s  model %s%s", run.suite.name, run.suite.version, run.model,
        run.status ~= "complete" and ("  [" .. run.status .. "]") or ""), s, {
        { "items", format("%d of %d recorded, %d errors", s.n, run.total, s.errors) },
        { "wall time", format("%.1f s (%.2f items/s)", wall, wall > 0 and run.new / wall or 0) },
        { "run folder", run.dir },
        run.suite.note and { "note", run.suite.note } or nil,
    })
    if run.storage then
        stderr:write(format("ollaeval: stopped: cannot write the run folder (%s); every record before it is kept: "
            .. "free space or fix the folder, then re-run with -o %s\n", run.storage, run.dir))
        return EXIT_STORAGE
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
        stderr:write(format("ollaeval: %d of %d items not scored (%d errors); re-run with -o %s to retry them\n",
            run.total - s.scored, run.total, s.errors, run.dir))
        return EXIT_INCOMPLETE
    end
    return EXIT_OK
end


-- run(suite, suite_file, opt) -> exit status. opt is what options{} returned.
function M.run(suite, suite_file, opt)
    local ok, status = xpcall(function()
        local run = plan(suite, suite_file, opt)
        run.server = must(preflight.check(run.model, say))
        resume(run)
        run_items(run)
        return report(run, summarise(run))
    end, function(e)
        if getmetatable(e) == Fatal then return e.msg end
        return debug.traceback(tostring(e), 2) -- a bug: where it happened
    end)
    if ok then return status end
    stderr:write("ollaeval: ", status, "\n")
    return EXIT_FATAL
end


-- options_for(suite) -> the option specs of the runner plus the suite's own.
function M.options_for(suite)
    local list = {}
    for _, o in ipairs(M.options) do list[#list + 1] = o end
    for _, o in ipairs(suite.options or {}) do
        local dup = false
        for i, p in ipairs(list) do
            if p.name == o.name then list[i], dup = o, true end
        end
        if not dup then list[#list + 1] = o end
    end
    return list
end


-- main(modname): the whole of a typical entry script. Loads the suite
-- module, declares its options, runs it; returns the exit status.
function M.main(modname)
    local suite = require(modname)
    local file = modname:gsub("%.", "/") .. ".lua"
    for _, m in ipairs(ollaeval.modules()) do -- where the loader found it
        if m.name == modname then file = m.path end
    end
    return M.run(suite, file, options(M.options_for(suite)))
end


return M
