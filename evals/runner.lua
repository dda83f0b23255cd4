-- runner.lua: the generic runner every suite shares. Given a suite (see
-- docs/suites.md for the contract) it resolves the dataset, checks the
-- server and model, runs every item concurrently through chat{}, grades it,
-- appends one record per item to samples.jsonl (the journal of record,
-- flushed as each item is graded), shows progress, and writes summary.json
-- and a short table at the end. It also resumes a run from its journal and
-- stops cleanly on Ctrl-C.
local cjson = require "cjson"
local cjson_safe = require "cjson.safe"
local data = require "evals.data"
local metrics = require "evals.metrics"

local M = {}

-- JSON as written to the run folder: lua-cjson escapes "/" as "\/", which
-- is valid but hard to grep; undo it (every "/" was escaped, so "\/" only
-- ever stands for "/").
local function encode(v)
    return (cjson.encode(v):gsub("\\/", "/"))
end

local format, concat = string.format, table.concat
local floor = math.floor
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


local function say(fmt, ...)
    if not O.quiet then stderr:write(format(fmt, ...), "\n") end
end


local function die(fmt, ...)
    stderr:write("ollaeval: ", format(fmt, ...), "\n")
    os.exit(1)
end


local function file_sha256(path)
    return ollaeval.sha256_file(path) or "unknown"
end


-- ---------------------------------------------------------------------------
-- Server checks

-- One clear line within two seconds when nothing answers, and the model's
-- digest when it is there.
local function preflight(model)
    local eps = ollaeval.endpoints
    local info = { endpoints = {} }
    for _, ep in ipairs(eps) do
        -- 1.5 s, so that with start-up the line comes within two seconds
        local res, err = http { url = ep .. "/api/version", timeout = 1.5, connect_timeout = 1.5 }
        if not res then
            die("no server answers at %s (%s). Start Ollama (`ollama serve`), pass -e URL, "
                .. "or try the simulator: `ollaeval sim`", ep, err)
        end
        local v = cjson_safe.decode(res.body)
        local e = { url = ep, version = type(v) == "table" and v.version or nil }
        if ollaeval.backend_of(ep) == "openai" then
            -- OpenAI-compatible: the model list, no digest
            res = http { url = ep .. "/models", timeout = 10, headers = ollaeval.headers_for("openai") }
            local list = res and res.status == 200 and cjson_safe.decode(res.body)
            if type(list) == "table" and type(list.data) == "table" then
                local names, found = {}, false
                for _, m in ipairs(list.data) do
                    names[#names + 1] = tostring(m.id)
                    if m.id == model then found = true end
                end
                if not found then
                    die("model '%s' is not served at %s (it has: %s)", model, ep, concat(names, ", "))
                end
            elseif res and (res.status == 401 or res.status == 403) then
                die("%s answers %d to the model list: check the API key (%s)", ep, res.status,
                    O["api-key-env"] or "OPENAI_API_KEY")
            end
            info.endpoints[#info.endpoints + 1] = e
            goto next_endpoint
        end
        res = http { url = ep .. "/api/tags", timeout = 10 }
        local tags = res and res.status == 200 and cjson_safe.decode(res.body)
        if type(tags) == "table" and type(tags.models) == "table" then
            local want = model:find(":") and model or model .. ":latest"
            local names = {}
            for _, m in ipairs(tags.models) do
                names[#names + 1] = m.name
                if m.name == want or m.model == want or m.name == model then
                    e.digest = m.digest
                    e.details = m.details
                end
            end
            if not e.digest then
                die("model '%s' is not on the server at %s; pull it with `ollama pull %s`%s",
                    model, ep, model, #names > 0 and (" (it has: " .. concat(names, ", ") .. ")") or "")
            end
        end
        info.endpoints[#info.endpoints + 1] = e
        ::next_endpoint::
    end
    local d = info.endpoints[1].digest
    for _, e in ipairs(info.endpoints) do
        if e.digest ~= d then
            say("warning: the endpoints serve different digests of %s: %s has %s, %s has %s",
                model, info.endpoints[1].url, tostring(d), e.url, tostring(e.digest))
        end
    end
    info.digest, info.version = d, info.endpoints[1].version
    return info
end


-- The context the model was loaded with (Ollama's /api/ps), to confirm
-- that the num_ctx sent took effect.
local function loaded_context(model)
    local ep = ollaeval.endpoints[1]
    if ollaeval.backend_of(ep) ~= "ollama" then return nil end
    local res = http { url = ep .. "/api/ps", timeout = 5 }
    local ps = res and res.status == 200 and cjson_safe.decode(res.body)
    if type(ps) ~= "table" or type(ps.models) ~= "table" then return nil end
    local want = model:find(":") and model or model .. ":latest"
    for _, m in ipairs(ps.models) do
        if (m.name == want or m.model == want) and tonumber(m.context_length) then
            return math.tointeger(m.context_length) or m.context_length
        end
    end
    return nil
end


-- ---------------------------------------------------------------------------
-- The journal

-- parse_journal(text) -> records, good_end, torn  or  nil, lineno
-- Pure (no I/O, never exits), so it can be fuzzed. A record is a JSON
-- object with an id, on a line of its own ending in "\n". A bad last line
-- (a crash mid-write: no newline, or cut JSON) is torn: `torn` is
-- {line=, bytes=} and good_end is where the good records end. A bad line
-- with another line after it is corruption: nil and its line number.
function M.parse_journal(text)
    local records, good_end, lineno = {}, 0, 0
    local pos = 1
    while pos <= #text do
        local nl = text:find("\n", pos, true)
        lineno = lineno + 1
        local rec = nl and cjson_safe.decode(text:sub(pos, nl - 1))
        local id = type(rec) == "table" and rec.id
        if type(id) ~= "string" and not (type(id) == "number" and id == id) then
            if nl and nl < #text then return nil, lineno end
            return records, good_end, { line = lineno, bytes = #text - pos + 1 }
        end
        records[#records + 1] = rec
        good_end = nl
        pos = nl + 1
    end
    return records, good_end, nil
end


-- Reads samples.jsonl. A torn last record is cut off (the file is replaced
-- atomically, so a crash here loses nothing) and reported; any other
-- malformed line is an error naming the line.
local function read_journal(path)
    local f = io.open(path, "rb")
    if not f then return {}, 0 end
    local text = f:read("a")
    f:close()
    local records, good_end, torn = M.parse_journal(text)
    if not records then
        die("%s:%d: the journal has a malformed record in the middle; "
            .. "it was not written by ollaeval or was edited", path, good_end)
    end
    if torn then
        say("journal: ignoring a torn last record at %s:%d (%d bytes)", path, torn.line, torn.bytes)
        -- drop the torn tail so the next record starts on a line of its own
        local tmp = path .. ".tmp"
        local g = assert(io.open(tmp, "wb"))
        g:write(text:sub(1, good_end))
        g:flush()
        ollaeval.fsync(g)
        g:close()
        assert(os.rename(tmp, path))
    end
    return records
end


local function write_json(path, t)
    local tmp = path .. ".tmp"
    local f = assert(io.open(tmp, "wb"))
    f:write(encode(t), "\n")
    f:close()
    assert(os.rename(tmp, path))
end


local function read_json(path)
    local f = io.open(path, "rb")
    if not f then return nil end
    local s = f:read("a")
    f:close()
    return cjson_safe.decode(s)
end


-- ---------------------------------------------------------------------------
-- Progress

local function fmt_eta(s)
    if not s or s ~= s or s == math.huge then return "--:--" end
    s = floor(s + 0.5)
    if s >= 3600 then return format("%d:%02d:%02d", s // 3600, s // 60 % 60, s % 60) end
    return format("%d:%02d", s // 60, s % 60)
end


local function progress_line(st, total)
    local elapsed = (now() - st.t0) / 1000
    local done = st.done
    local acc = st.scored > 0 and format("%.1f%%", 100 * st.correct / st.scored) or "-"
    local rate = elapsed > 0 and st.new / elapsed or 0
    local toks = elapsed > 0 and st.tokens / elapsed or 0
    local left = total - done
    local eta = rate > 0 and left / rate or nil
    local s = ollaeval.stats()
    return format("%d/%d  acc %s  %.1f req/s  %.0f tok/s  in flight %d  errors %d  ETA %s",
        done, total, acc, rate, toks, s.inflight, st.errors, fmt_eta(eta))
end


-- A task that redraws the status line at a fixed rate, so its cost does not
-- grow with concurrency: 4 times a second on a terminal, every 10 s
-- otherwise, never with -q.
local function start_progress(st, total)
    if O.quiet then return function() end end
    local tty = ollaeval.isatty(2)
    local period = tty and 250 or 10000
    local running = true
    local t = spawn(function()
        while running do
            -- short naps, so the end of the run never waits out a period
            local due = now() + period
            while running and now() < due do sleep(math.min(100, due - now())) end
            if not running then break end
            if tty then
                stderr:write("\r\27[K", progress_line(st, total))
            else
                stderr:write(progress_line(st, total), "\n")
            end
            stderr:flush()
        end
    end)
    return function()
        running = false
        if tty then stderr:write("\r\27[K") end
        return t
    end
end


-- ---------------------------------------------------------------------------
-- Summary

local function summarize(records, ctx)
    -- the last record of each item wins (an errored item redone later)
    local by_id, order = {}, {}
    for _, r in ipairs(records) do
        if not by_id[r.id] then order[#order + 1] = r.id end
        by_id[r.id] = r
    end
    local n, scored, errors, correct, strict, noans, trunc = 0, 0, 0, 0, 0, 0, 0
    local ptoks, ctoks, lat = 0, 0, {}
    for _, id in ipairs(order) do
        local r = by_id[id]
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
    end
    local function prop(k)
        if scored == 0 then return { value = cjson.null } end
        local p = k / scored
        local lo, hi = metrics.wilson(k, scored)
        return { value = p, stderr = metrics.binary_stderr(k, scored), ci95 = { lo, hi } }
    end
    local acc = prop(correct)
    local sacc = prop(strict)
    table.sort(lat)
    return {
        n = n, scored = scored, errors = errors, correct = correct,
        accuracy = acc, strict_accuracy = sacc,
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


-- ---------------------------------------------------------------------------
-- The run

local function think_value(s)
    if s == "auto" then return nil end
    if s == "true" then return true end
    if s == "false" then return false end
    return s
end


-- A config value as text, the same before and after a JSON round trip
-- (cjson reads 0 back as 0.0, and a missing value as nil or null).
local function config_value(v)
    if v == nil or v == cjson.null then return "none" end
    if math.type(v) == "float" and v == floor(v) and math.abs(v) < 2 ^ 53 then return format("%d", v) end
    if math.type(v) == "float" then return format("%.17g", v) end
    return tostring(v)
end


local function safe_name(s)
    return (s:gsub("[^%w._-]+", "_"))
end


-- Finds the newest run folder of this suite and model under runs/.
local function latest_run(prefix)
    local p = io.popen("ls -1d runs/" .. prefix .. "-* 2>/dev/null | sort | tail -n 1")
    local d = p and p:read("l")
    if p then p:close() end
    return d ~= "" and d or nil
end


-- run(suite, suite_file, opt): opt is the table options{} returned.
function M.run(suite, suite_file, opt)
    for _, k in ipairs { "name", "version", "prompt", "extract", "gold", "correct" } do
        if suite[k] == nil then
            die("%s: the suite is missing the required field '%s' (see docs/suites.md)", suite_file, k)
        end
    end
    local model = O.model or die("no model: pass -m NAME (for example -m qwen3:8b)")
    local t_start = now()

    -- the data
    local path, dsum = data.resolve(suite.dataset, opt.dataset, say)
    if not path then die("%s", dsum) end
    -- --shard I/N: the items k (1-based, after --limit) with k % N == I % N
    local shard_i, shard_n = 1, 1
    if O.shard then shard_i, shard_n = O.shard:match("^(%d+)/(%d+)$") end
    shard_i, shard_n = tonumber(shard_i), tonumber(shard_n)
    local function in_shard(k) return (k - 1) % shard_n == shard_i - 1 end
    local total = 0
    local ok, err = pcall(function()
        local k = 0
        for _ in jsonl(path) do
            k = k + 1
            if in_shard(k) then total = total + 1 end
            if O.limit and k >= O.limit then break end
        end
    end)
    if not ok then die("%s", err) end
    if total == 0 then die("%s: the dataset is empty", path) end
    local pool
    if opt.shots > 0 then
        if not suite.train then die("%s: --shots needs a train split (suite.train)", suite_file) end
        local tpath, terr = data.resolve(suite.train, opt["train-dataset"], say)
        if not tpath then die("%s", terr) end
        pool = assert(data.load(tpath))
    end

    -- the server
    local server = preflight(model)

    -- what produced this run: resume refuses when any of it differs
    local gen = {
        temperature = opt.temperature, seed = O.seed, num_predict = opt["num-predict"],
        num_ctx = opt["num-ctx"],
    }
    local config = {
        suite = suite.name, suite_version = tostring(suite.version),
        suite_file = suite_file, suite_sha256 = file_sha256(suite_file),
        dataset_sha256 = dsum, model = model, shots = opt.shots, seed = O.seed,
        think = opt.think, options = gen, shard = O.shard or "1/1",
    }

    -- the run folder
    local dir = O.out
    if not dir and O.resume then
        dir = latest_run(safe_name(suite.name) .. "-" .. safe_name(model))
        if not dir then die("--resume: no earlier run of %s with %s under runs/", suite.name, model) end
    end
    dir = dir or format("runs/%s-%s-%s", safe_name(suite.name), safe_name(model), os.date("%Y%m%d-%H%M%S"))
    data.mkdir_p(dir)
    local manifest_path = dir .. "/run.json"
    local journal_path = dir .. "/samples.jsonl"
    local old = read_json(manifest_path)
    if not old then
        local j = io.open(journal_path, "rb")
        local has = j and j:read(1)
        if j then j:close() end
        if has then
            die("cannot resume %s: samples.jsonl is there but run.json is missing or unreadable", dir)
        end
    end
    local records = {}
    if old and type(old.config) ~= "table" or old and type(old.config.options) ~= "table" then
        die("cannot resume %s: its run.json has no config; it was not written by ollaeval or was edited", dir)
    end
    if old then
        for _, k in ipairs { "suite", "suite_version", "suite_sha256", "dataset_sha256", "model", "shots", "seed", "think", "shard" } do
            if config_value(old.config[k]) ~= config_value(config[k]) then
                die("cannot resume %s: its %s was %s, this run's is %s; use another -o DIR",
                    dir, k, config_value(old.config[k]), config_value(config[k]))
            end
        end
        for k, v in pairs(gen) do
            if config_value(old.config.options[k]) ~= config_value(v) then
                die("cannot resume %s: its option %s was %s, this run's is %s; use another -o DIR",
                    dir, k, config_value(old.config.options[k]), config_value(v))
            end
        end
        records = read_journal(journal_path)
        say("resuming %s: %d records in the journal", dir, #records)
    else
        write_json(manifest_path, { config = config, started = os.date("!%Y-%m-%dT%H:%M:%SZ"),
            ollaeval = ollaeval.version, command = ollaeval.command })
    end
    local done_ids = {}
    for _, r in ipairs(records) do
        if not r.error then done_ids[r.id] = true end
    end

    local journal = assert(io.open(journal_path, "ab"))
    local st = { t0 = now(), done = 0, new = 0, scored = 0, correct = 0, errors = 0, tokens = 0 }
    for _ in pairs(done_ids) do st.done = st.done + 1 end
    say("%s v%s: %d items, model %s at %s, concurrency %d%s", suite.name, suite.version, total,
        model, concat(ollaeval.endpoints, ", "), O.concurrency,
        st.done > 0 and format(", %d already scored", st.done) or "")

    local fatal
    local options_sent = {
        temperature = opt.temperature, seed = O.seed, num_predict = opt["num-predict"], num_ctx = opt["num-ctx"],
    }
    local prompt_opts = { shots = opt.shots, fewshot_pool = pool, seed = O.seed }
    local think = think_value(opt.think)

    local index_of = setmetatable({}, { __mode = "k" }) -- item -> its line in the dataset
    local line_of = setmetatable({}, { __mode = "k" }) -- item -> its line in the file (errors name it)

    local function grade(item)
        local index = index_of[item]
        local id = suite.id and suite.id(item, index) or index
        if done_ids[id] then return end
        local messages = suite.prompt(item, prompt_opts)
        local gold = suite.gold(item)
        if gold == nil then
            -- not a wrong answer: the item lacks what the suite grades against
            -- (on_error names the item and its FILE:LINE)
            error(format("the item has no gold answer (%s: gold() returned nil)", suite.name), 0)
        end
        local res, cerr, kind, info = chat { messages = messages, options = options_sent, think = think }
        if not res and kind == "cancelled" then return end -- redone on resume
        local rec = { id = id, index = index, messages = messages, gold = gold }
        if not res then
            rec.error, rec.error_kind, rec.attempts = cerr, kind, info and info.attempts
            st.errors = st.errors + 1
            local status = info and info.status
            if status == 400 or status == 401 or status == 403 or status == 404 then
                local hint = (status == 401 or status == 403) and " (check the API key)" or ""
                fatal = fatal or (cerr .. hint)
            end
        else
            local text, reasoning, rstatus = suite.split and suite.split(res.content, res.thinking)
            if not suite.split then text, reasoning, rstatus = res.content, res.thinking, "ok" end
            local answer, rule = suite.extract(text)
            local strict_answer = suite.strict and suite.strict(text) or nil
            rec.content, rec.thinking, rec.reasoning_status = res.content, res.thinking, rstatus
            rec.answer, rec.rule = answer, answer and rule or nil
            rec.correct = answer ~= nil and suite.correct(answer, gold) or false
            rec.strict_answer = strict_answer
            rec.strict_correct = strict_answer ~= nil and suite.correct(strict_answer, gold) or false
            rec.done_reason = res.done_reason
            rec.prompt_tokens, rec.completion_tokens = res.prompt_tokens, res.completion_tokens
            rec.thinking_tokens = res.thinking_tokens
            if res.ttft_ms then rec.ttft_ms, rec.itl_ms = res.ttft_ms, res.itl_ms end
            rec.latency_ms = floor(res.latency_ms * 1000 + 0.5) / 1000
            rec.attempts = res.attempts
            st.scored = st.scored + 1
            if rec.correct then st.correct = st.correct + 1 end
            st.tokens = st.tokens + res.completion_tokens
        end
        journal:write(encode(rec), "\n")
        journal:flush()
        st.done = st.done + 1
        st.new = st.new + 1
    end

    local function on_error(item, _, tb)
        local index = index_of[item]
        -- a bug in the suite for one item: record it, go on (or stop with --fail-fast)
        local okid, id = pcall(suite.id or function() return index end, item, index)
        if not okid or id == nil then id = index end
        local line = line_of[item]
        journal:write(encode { id = id, index = index, line = line, error = tb, error_kind = "script" }, "\n")
        journal:flush()
        st.errors = st.errors + 1
        st.done = st.done + 1
        stderr:write(format("\nollaeval: item %s (%s:%s): %s\n", tostring(id), path, tostring(line), tb))
        if O["fail-fast"] then fatal = fatal or ("item " .. tostring(id) .. " raised an error (--fail-fast)") end
    end

    -- Ctrl-C: map stops taking items; in-flight requests get a grace period
    -- (OLLAEVAL_GRACE_MS changes it; tests use a short one)
    local grace_ms = tonumber(os.getenv("OLLAEVAL_GRACE_MS") or "") or 10000
    local watcher = spawn(function()
        while not st.finished do
            if ollaeval.interrupted() > 0 then
                stderr:write(format("\nollaeval: interrupted: finishing the %d requests in flight "
                    .. "(up to %d s; Ctrl-C again to exit now)\n", ollaeval.stats().inflight, grace_ms // 1000))
                local t = now()
                while not st.finished and now() - t < grace_ms do sleep(50) end
                if not st.finished then ollaeval.cancel_all() end
                return
            end
            sleep(50)
        end
    end)

    local stop_progress = start_progress(st, total)
    local iter = jsonl(path)
    local taken = 0
    local items = function()
        while true do
            if O.limit and taken >= O.limit then return nil end
            local item, line = iter()
            if item == nil then return nil end
            taken = taken + 1
            if in_shard(taken) then
                index_of[item] = taken
                line_of[item] = line
                return item
            end
        end
    end
    local mok, merr = pcall(map, items, grade, {
        on_error = on_error,
        stop = function() return fatal ~= nil end,
    })
    st.finished = true
    wait(watcher)
    local progress_task = stop_progress()
    if progress_task then wait(progress_task) end
    journal:close()
    if not mok then
        -- the dataset raised mid-way (a malformed line): what was done is kept
        stderr:write("ollaeval: ", tostring(merr), "\n")
        fatal = fatal or tostring(merr)
    end

    -- the summary, from the whole journal
    records = read_journal(journal_path)
    local s = summarize(records, config)
    local interrupted = ollaeval.interrupted() > 0
    local complete = s.n >= total and s.errors == 0
    local wall = (now() - t_start) / 1000
    local summary = {
        suite = { name = suite.name, version = tostring(suite.version), file = suite_file,
                  sha256 = config.suite_sha256 },
        dataset = { path = path, sha256 = dsum, items = total },
        model = { name = model, digest = server.digest or cjson.null, details = server.endpoints[1].details,
                  context_length = loaded_context(model) or cjson.null },
        endpoints = ollaeval.endpoints, server_version = server.version or cjson.null,
        options = { shots = opt.shots, seed = O.seed, think = opt.think, generation = gen,
                    shard = O.shard or "1/1", stream = O.stream or false,
                    api = O.api or ollaeval.backend_of(ollaeval.endpoints[1]),
                    concurrency = O.concurrency, timeout = O.timeout, retries = O.retries, limit = O.limit },
        status = fatal and "failed" or interrupted and "partial" or complete and "complete" or "partial",
        counts = { n = s.n, scored = s.scored, errors = s.errors, total = total },
        metrics = {
            accuracy = s.accuracy.value, accuracy_stderr = s.accuracy.stderr, accuracy_ci95 = s.accuracy.ci95,
            strict_accuracy = s.strict_accuracy.value, strict_accuracy_stderr = s.strict_accuracy.stderr,
            no_answer_rate = s.no_answer_rate, truncated_rate = s.truncated_rate,
        },
        tokens = s.tokens, latency_ms = s.latency_ms,
        wall_time_s = wall, this_session = { items = st.new, wall_time_s = wall,
            items_per_s = wall > 0 and st.new / wall or 0 },
        ollaeval = ollaeval.version,
        finished = os.date("!%Y-%m-%dT%H:%M:%SZ"),
    }
    local ctx = summary.model.context_length
    if ctx ~= cjson.null and ctx ~= gen.num_ctx then
        say("note: the server has %s loaded with a context of %s tokens, not the %s sent "
            .. "(Ollama caps num_ctx at the model's trained context)", model, tostring(ctx), tostring(gen.num_ctx))
    end
    write_json(dir .. "/summary.json", summary)

    -- the table
    local out = io.stdout
    local function row(k, v) out:write(format("  %-18s %s\n", k, v)) end
    out:write(format("\n%s v%s  model %s%s\n", suite.name, suite.version, model,
        summary.status ~= "complete" and ("  [" .. summary.status .. "]") or ""))
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
    row("items", format("%d of %d recorded, %d errors", s.n, total, s.errors))
    row("wall time", format("%.1f s (%.2f items/s)", wall, wall > 0 and st.new / wall or 0))
    row("run folder", dir)
    out:flush()
    if fatal then
        stderr:write("ollaeval: stopped: ", fatal, "\n")
        return 1
    end
    if interrupted then
        -- the command as given, pointed at this run folder (once)
        local has_out = false
        for _, a in ipairs(ollaeval.argv or {}) do
            if a == "-o" or a == "--out" or a:find("^%-%-out=") then has_out = true end
        end
        local cmd = ollaeval.command or ("ollaeval " .. suite_file)
        if O.out and has_out then
            stderr:write(format("ollaeval: interrupted; resume with: %s\n", cmd))
        else
            stderr:write(format("ollaeval: interrupted; resume with: %s -o %s\n", cmd, dir))
        end
        return 130
    end
    if s.errors > 0 then
        stderr:write(format("ollaeval: %d items ended with errors; re-run with -o %s to retry them\n", s.errors, dir))
    end
    return 0
end


-- For `ollaeval merge` (evals/merge.lua).
M.summarize, M.read_journal, M.read_json, M.write_json, M.encode = summarize, read_journal, read_json, write_json, encode


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
    local file = package.searchpath(modname, package.path) or (modname:gsub("%.", "/") .. ".lua")
    local opt = options(M.options_for(suite))
    return M.run(suite, file, opt)
end


return M
