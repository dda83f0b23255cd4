-- rescore.lua: `ollaeval rescore RUN_DIR [--suite FILE] [-o OUT]` grades a
-- run again from the responses its journal recorded, asking no model: for a
-- fixed extractor or a new rule. The suite is the run's own (run.json's
-- suite_file) or FILE; each scored record's reply (content, thinking) goes
-- through the suite's split, extract, strict and correct as the runner
-- grades it (solve.grade, as a run does), against the gold the record holds. Everything
-- else of a record (messages, tokens, timings, cached) is kept as it was;
-- records of failed requests and suite errors are copied (they have no
-- answer to grade: run the suite again to redo them).
--
-- The result is a NEW run folder (the source is never changed): samples.jsonl,
-- run.json (the source's config with the suite's file and sha256, and
-- `rescored_from`: the source folder and the sha256 of its run.json,
-- samples.jsonl and summary.json, the suite used), summary.json and
-- report.html. Rescoring with the run's own suite gives the run's metrics
-- and verdicts. The shard is kept, so rescored shards still merge.
-- M.main returns the exit status: 0 written, 1 the suite failed, 2 usage
-- (or not a run folder), 4 the new folder could not be written.
local cjson = require "cjson"
local data = require "evals.data"
local journal = require "evals.journal"
local solve = require "evals.solve"
local summary = require "evals.summary"

local M = {}

local format = string.format
local null = cjson.null

local USAGE = "usage: ollaeval rescore RUN_DIR [--suite FILE] [-o OUT]\n"
    .. "Grades RUN_DIR's recorded responses again with the run's suite (or FILE), asking no model,\n"
    .. "and writes a new run folder (default runs/<suite>-<model>-rescored-<time>).\n"

-- What grading decides; the rest of a record is what the model and the
-- server did, kept as recorded.
local GRADED = { "reasoning_status", "answer", "rule", "span", "correct", "strict_answer", "strict_correct",
                 "score", "unscored", "explanation", "score_metadata" }


local function fail(status, fmt, ...)
    io.stderr:write("ollaeval rescore: ", format(fmt, ...), "\n")
    return status
end


-- The suite in FILE: a file returning a suite table (or the embedded module
-- of that name, for a run made with a suite built into the binary).
local function load_suite(file)
    local chunk, err = loadfile(file)
    if not chunk then
        -- a suite of the evals library, recorded relative to another folder
        local name = file:match("^evals/([%w_]+)%.lua$") or file:match("/evals/([%w_]+)%.lua$")
        if name then
            local ok, suite = pcall(require, "evals." .. name)
            if ok and type(suite) == "table" then
                io.stderr:write(format("ollaeval rescore: %s is not here; using the built-in evals.%s\n", file, name))
                return suite
            end
        end
        return nil, err
    end
    local ok, suite = pcall(chunk)
    if not ok then return nil, format("%s: %s", file, tostring(suite)) end
    if type(suite) ~= "table" then
        return nil, format("%s does not return a suite table (it returned %s)", file, type(suite))
    end
    return suite
end


local function copy(t)
    local c = {}
    for k, v in pairs(t) do c[k] = v end
    return c
end


-- A scored record graded again by suite; the record as it was otherwise.
local function regrade(suite, rec)
    local res = {
        content = rec.content, thinking = rec.thinking ~= null and rec.thinking or nil,
        done_reason = rec.done_reason, prompt_tokens = rec.prompt_tokens,
        completion_tokens = rec.completion_tokens, thinking_tokens = rec.thinking_tokens,
        latency_ms = rec.latency_ms or 0, attempts = rec.attempts, ttft_ms = rec.ttft_ms, itl_ms = rec.itl_ms,
    }
    local gold = rec.gold ~= null and rec.gold or nil
    local v = solve.grade(suite, res, gold, nil)
    local s = assert(solve.score(v.value))
    local correct -- nil when unscored
    if s.value ~= nil then correct = s.value == 1 end
    local graded = {
        reasoning_status = v.reasoning_status, answer = v.answer, rule = v.rule, span = v.span,
        score = s.value, unscored = v.unscored, correct = correct,
        explanation = v.explanation, score_metadata = v.metadata,
        strict_answer = v.strict_answer, strict_correct = v.strict_correct,
    }
    local out = copy(rec)
    for _, k in ipairs(GRADED) do out[k] = graded[k] end
    return out
end


local function sha(path)
    return ollaeval.sha256_file(path) or null
end


function M.main(...)
    local args, dir, suite_file = { ... }, nil, nil
    local i = 1
    while i <= #args do
        local a = args[i]
        local v = a:match("^%-%-suite=(.*)$")
        if a == "--suite" then
            i = i + 1
            v = args[i]
            if not v then return fail(2, "--suite needs a FILE\n%s", USAGE) end
        end
        if v then
            suite_file = v
        elseif a:sub(1, 1) == "-" then
            return fail(2, "unknown option %s\n%s", a, USAGE)
        elseif dir then
            return fail(2, "one RUN_DIR only\n%s", USAGE)
        else
            dir = a:gsub("/+$", "")
        end
        i = i + 1
    end
    if ollaeval.help or not dir then
        local help = ollaeval.help
        ollaeval.help = false -- our own help, not the engine's
        ;(help and io.stdout or io.stderr):write(USAGE)
        return help and 0 or 2
    end

    local run = journal.read_json(dir .. "/run.json")
    if type(run) ~= "table" or type(run.config) ~= "table" then
        return fail(2, "%s is not a run folder (no readable run.json)", dir)
    end
    local c = run.config
    suite_file = suite_file or c.suite_file
    if type(suite_file) ~= "string" then
        return fail(2, "%s/run.json names no suite file: pass --suite FILE", dir)
    end
    local suite, how = load_suite(suite_file)
    if not suite then return fail(1, "cannot load the suite: %s (pass --suite FILE)", how) end
    for _, k in ipairs { "extract", "correct" } do
        if type(suite[k]) ~= "function" then
            return fail(1, "%s: the suite has no %s() to grade with (see docs/suites.md)", suite_file, k)
        end
    end
    local records = {}
    local okr, rerr = journal.latest(dir .. "/samples.jsonl", function(r) records[#records + 1] = r end)
    if not okr then return fail(2, "%s", rerr) end

    -- the last record of each item, in journal order (as summary counts them)
    local last, order = {}, {}
    for _, r in ipairs(records) do
        if not last[r.id] then order[#order + 1] = r.id end
        last[r.id] = r
    end
    local out_records, changed, kept, regraded = {}, {}, 0, 0
    for _, id in ipairs(order) do
        local r = last[id]
        local n = r
        if not r.error and type(r.content) == "string" then
            if type(r.calls) == "table" and #r.calls > 1 or type(r.samples) == "table" then
                kept = kept + 1 -- several calls: their grading needs the suite's solve() again
            else
                local ok, res = pcall(regrade, suite, r)
                if not ok then
                    return fail(1, "item %s: the suite raised an error while grading: %s", tostring(id), tostring(res))
                end
                n, regraded = res, regraded + 1
                if (n.correct == true) ~= (r.correct == true) then changed[#changed + 1] = n end
            end
        end
        out_records[#out_records + 1] = n
    end

    local safe = journal.safe_name
    local out = ollaeval.options.out or format("runs/%s-%s-rescored-%s", safe(suite.name or c.suite or "suite"),
        safe(c.model or "model"), os.date("%Y%m%d-%H%M%S"))
    if out == dir then return fail(2, "-o %s is the run being rescored: give a new folder", out) end
    local existing = journal.read_json(out .. "/run.json")
    if existing then return fail(2, "%s is a run folder already: give a new folder with -o", out) end
    data.mkdir_p(out)
    local j, jerr = journal.open(out .. "/samples.jsonl", true)
    if not j then return fail(4, "%s", jerr) end
    for _, r in ipairs(out_records) do
        local ok, werr = j:append(r)
        if not ok then j:close() return fail(4, "%s", werr) end
    end
    j:close()

    local suite_sha = ollaeval.sha256_file(suite_file) or c.suite_sha256
    local from = {
        dir = dir, run_json_sha256 = sha(dir .. "/run.json"), samples_sha256 = sha(dir .. "/samples.jsonl"),
        summary_sha256 = sha(dir .. "/summary.json"), suite_file = suite_file, suite_sha256 = suite_sha or null,
        source_suite_sha256 = c.suite_sha256, regraded = regraded, kept_as_recorded = kept, changed = #changed,
    }
    local config = copy(c)
    config.suite, config.suite_version = suite.name or c.suite, tostring(suite.version or c.suite_version)
    config.suite_file, config.suite_sha256 = suite_file, suite_sha or c.suite_sha256
    local ok, werr = journal.write_json(out .. "/run.json", { config = config, rescored_from = from,
        ollaeval = ollaeval.version, command = ollaeval.command, started = os.date("!%Y-%m-%dT%H:%M:%SZ") })
    if not ok then return fail(4, "%s", werr) end

    local s = summary.summarize(out_records, { strict = suite.strict ~= nil, answers = not suite.solve or nil,
        group_by = type(suite.group_by) == "string" and suite.group_by or nil })
    local base = journal.read_json(dir .. "/summary.json") or {}
    local sum = copy(base)
    sum.suite = { name = config.suite, version = config.suite_version, file = suite_file, sha256 = config.suite_sha256,
                  note = suite.note }
    sum.status = s.errors == 0 and (base.status == "complete" or base.status == nil) and "complete" or "partial"
    sum.counts = { n = s.n, scored = s.scored, errors = s.errors, total = base.counts and base.counts.total or s.n }
    sum.metrics, sum.tokens, sum.latency_ms = summary.metrics(s), s.tokens, s.latency_ms
    sum.rescored_from = from
    sum.ollaeval, sum.finished = ollaeval.version, os.date("!%Y-%m-%dT%H:%M:%SZ")
    ok, werr = journal.write_json(out .. "/summary.json", sum)
    if not ok then return fail(4, "%s", werr) end

    local has_report, report = pcall(require, "evals.report")
    if has_report and type(report) == "table" and report.write then
        local path, rperr = report.write(out)
        if not path then return fail(4, "%s", rperr) end
    end

    local fixed = 0
    for _, r in ipairs(changed) do if r.correct then fixed = fixed + 1 end end
    local rows = {
        { "items", format("%d recorded, %d graded again, %d errors", s.n, regraded, s.errors) },
        { "verdicts changed", format("%d (%d now correct, %d now wrong)", #changed, fixed, #changed - fixed) },
    }
    if kept > 0 then
        rows[#rows + 1] = { "kept as recorded", format("%d multi-call records (solve() is not replayed)", kept) }
    end
    for k = 1, math.min(#changed, 10) do
        local r = changed[k]
        rows[#rows + 1] = { k == 1 and "changed items" or "", format("%s: now %s (answer %s, gold %s)", tostring(r.id),
            r.correct and "correct" or "wrong", r.answer == nil and "none" or tostring(r.answer), tostring(r.gold)) }
    end
    if #changed > 10 then rows[#rows + 1] = { "", format("... and %d more", #changed - 10) } end
    rows[#rows + 1] = { "rescored from", dir }
    rows[#rows + 1] = { "run folder", out }
    summary.print_table(io.stdout, format("%s v%s  model %s  (rescored)", config.suite, config.suite_version,
        tostring(c.model)), s, rows)
    return 0
end


return M
