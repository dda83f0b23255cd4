-- evals/runs.lua: run folders as the viewers read them, and `ollaeval runs`.
--
--   load(dir [, {light=true}]) -> run  or  nil, err. Reads run.json,
--                           summary.json (may be absent: a run still going or
--                           stopped) and samples.jsonl, line by line, without
--                           changing anything: the last record of each item
--                           wins, in journal order; a torn last line is
--                           skipped (run.torn = its line). Each record gets
--                           _line, its line in the journal. light: records
--                           without messages, content, thinking and calls
--                           (_prompt: the sha256 of the messages instead), so
--                           a large run fits in memory; fetch() brings them
--                           back for the records that need them.
--                           run = { dir, manifest, config, summary, records,
--                           torn, light }
--   fetch(run, records)  -> { [record] = the full record }
--   list(dir)            -> the runs under dir (each subfolder with a
--                           run.json), newest first, as rows for the table
--   main(args...)        -> `ollaeval runs [DIR] [--json]`, an exit status
--
-- Fields of a record read by the viewers (all optional but id): id, index,
-- correct, error, error_kind, answer, gold, done_reason, reasoning_status,
-- completion_tokens, thinking_tokens, prompt_tokens, latency_ms, ttft_ms,
-- attempts, messages, content, thinking, rule, strict_answer,
-- strict_correct, group (also subject, subset), cluster, score, calls,
-- span, notes (also explanation), t_start / t_end (ms, for timelines).
local cjson = require "cjson"
local cjson_safe = require "cjson.safe"
local html = require "evals.html"

local M = {}

local format = string.format
local null = cjson.null


local function read(path)
    local f = io.open(path, "rb")
    if not f then return nil end
    local s = f:read("a")
    f:close()
    return s
end


local function read_json(path)
    local s = read(path)
    if not s then return nil, "missing" end
    local v, err = cjson_safe.decode(s)
    if type(v) ~= "table" then return nil, err or "not a JSON object" end
    return v
end
M.read_json = read_json


-- v when it is a value, nil for JSON null or a missing field
function M.val(v)
    if v == null then return nil end
    return v
end


-- prompt_hash(messages) -> the sha256 of the messages: of role NUL content
-- NUL ... for the usual list of {role=, content=} strings, else of their
-- canonical JSON. Equal messages give equal hashes whatever their key order.
function M.prompt_hash(m)
    if type(m) == "table" then
        local parts, simple = {}, true
        for i, x in ipairs(m) do
            if type(x) ~= "table" or type(x.role) ~= "string" or type(x.content) ~= "string" or next(x, next(x, next(x))) then
                simple = false
                break
            end
            parts[2 * i - 1], parts[2 * i] = x.role, x.content
        end
        if simple and #parts == 2 * #m then return ollaeval.sha256("m\0" .. table.concat(parts, "\0")) end
    end
    return ollaeval.sha256("j\0" .. html.json(m))
end


-- Fields a light load leaves out (fetch gets them back).
local HEAVY = { "messages", "content", "thinking", "calls" }


-- Calls fn(line_number, text) for each line of the journal at path.
local function each_line(path, fn)
    local f = io.open(path, "rb")
    if not f then return end
    local n = 0
    for line in f:lines("L") do
        n = n + 1
        if fn(n, line) == false then break end
    end
    f:close()
end


function M.load(dir, opts)
    opts = opts or {}
    dir = (dir:gsub("/+$", ""))
    if dir == "" then dir = "/" end
    local manifest, merr = read_json(dir .. "/run.json")
    if not manifest then
        if merr == "missing" then return nil, dir .. " is not a run folder (no run.json)" end
        return nil, format("%s/run.json: %s", dir, merr)
    end
    local summary = read_json(dir .. "/summary.json")
    local journal = dir .. "/samples.jsonl"
    local last, order, torn, corrupt = {}, {}, nil, nil
    local light = opts.light
    each_line(journal, function(lineno, line)
        if torn then -- a bad line with a line after it: not a torn end
            corrupt = torn
            return false
        end
        if not line:find("%S") then return end
        local rec = line:sub(-1) == "\n" and cjson_safe.decode(line) or nil
        local id = type(rec) == "table" and M.val(rec.id) or nil
        if type(id) ~= "string" and type(id) ~= "number" then
            torn = lineno
            return
        end
        rec._line = lineno
        if light then
            if rec.messages ~= nil then rec._prompt = M.prompt_hash(rec.messages) end
            for _, k in ipairs(HEAVY) do rec[k] = nil end
        end
        local key = type(id) .. ":" .. tostring(id)
        if not last[key] then order[#order + 1] = key end
        last[key] = rec
    end)
    if corrupt then
        return nil, format("%s:%d: not a record (a JSON object with an id)", journal, corrupt)
    end
    local records = {}
    for i, k in ipairs(order) do records[i] = last[k] end
    return { dir = dir, manifest = manifest, config = type(manifest.config) == "table" and manifest.config or {},
             summary = summary, records = records, torn = torn, light = light }
end


-- fetch(run, records) -> { [record] = the full record }: for a light load,
-- reads the journal again and decodes only the lines of these records.
function M.fetch(run, records)
    local out = {}
    if not run.light then
        for _, r in ipairs(records) do out[r] = r end
        return out
    end
    local want = {}
    for _, r in ipairs(records) do if r._line then want[r._line] = r end end
    each_line(run.dir .. "/samples.jsonl", function(lineno, line)
        local r = want[lineno]
        if r then
            local full = cjson_safe.decode(line)
            if type(full) == "table" then full._line = lineno; out[r] = full end
        end
    end)
    for _, r in ipairs(records) do out[r] = out[r] or r end
    return out
end


-- The main metric of a summary: accuracy when there, else the first metric
-- (by name) that is a number. -> name, value, lo, hi
function M.main_metric(summary)
    local m = type(summary) == "table" and type(summary.metrics) == "table" and summary.metrics or {}
    local name = type(m.accuracy) == "number" and "accuracy" or nil
    if not name then
        local names = {}
        for k, v in pairs(m) do
            if type(k) == "string" and type(v) == "number" and not k:find("_stderr$") then names[#names + 1] = k end
        end
        table.sort(names)
        name = names[1]
    end
    if not name then return nil end
    local ci = m[name .. "_ci95"]
    local lo, hi
    if type(ci) == "table" and type(ci[1]) == "number" and type(ci[2]) == "number" then lo, hi = ci[1], ci[2] end
    return name, m[name], lo, hi
end


local function str(v)
    v = M.val(v)
    if v == nil then return nil end
    if type(v) == "table" then v = M.val(v.name) end
    if type(v) == "number" then return math.tointeger(v) and tostring(math.tointeger(v)) or tostring(v) end
    return v ~= nil and tostring(v) or nil
end


local function row_of(dir)
    local manifest = read_json(dir .. "/run.json")
    if not manifest then return nil end
    local c = type(manifest.config) == "table" and manifest.config or {}
    local s = read_json(dir .. "/summary.json")
    local name, value, lo, hi = M.main_metric(s)
    local counts = s and type(s.counts) == "table" and s.counts or {}
    return {
        dir = dir,
        suite = str(s and s.suite) or str(c.suite),
        model = str(s and s.model) or str(c.model),
        metric = name, value = value, lo = lo, hi = hi,
        items = M.val(counts.n), total = M.val(counts.total), errors = M.val(counts.errors),
        status = s and str(s.status) or "unfinished",
        started = str(manifest.started),
        finished = s and str(s.finished) or nil,
    }
end


function M.list(dir)
    dir = (dir:gsub("/+$", ""))
    local q = "'" .. dir:gsub("'", "'\\''") .. "'"
    local p = io.popen("find " .. q .. " -mindepth 2 -maxdepth 2 -name run.json -type f 2>/dev/null")
    local rows = {}
    for line in p:lines() do
        local r = row_of((line:gsub("/run%.json$", "")))
        if r then rows[#rows + 1] = r end
    end
    p:close()
    table.sort(rows, function(a, b)
        local x, y = a.started or "", b.started or ""
        if x ~= y then return x > y end
        return a.dir < b.dir
    end)
    return rows
end


local function pct(x) return x and format("%.2f%%", 100 * x) or "-" end


function M.main(...)
    local dir, as_json = nil, false
    local args = { ... }
    if ollaeval.help then args = { "--help" }; ollaeval.help = false end -- our own help, not the engine's
    for _, a in ipairs(args) do
        if a == "--json" then
            as_json = true
        elseif a == "--help" then
            io.stdout:write("usage: ollaeval runs [DIR] [--json]\n"
                .. "Lists the run folders under DIR (default runs/), newest first: suite, model,\n"
                .. "main metric with its 95% interval, items, status and start time. --json\n"
                .. "prints the same as a JSON array.\n")
            return 0
        elseif a:sub(1, 1) == "-" or dir then
            io.stderr:write("ollaeval runs: unexpected argument ", a, " (usage: ollaeval runs [DIR] [--json])\n")
            return 2
        else
            dir = a
        end
    end
    dir = dir or "runs"
    local f = io.open(dir, "rb")
    if not f then
        io.stderr:write(format("ollaeval runs: %s: no such folder\n", dir))
        return 1
    end
    f:close()
    local rows = M.list(dir)
    local out = io.stdout
    if as_json then
        local enc = {}
        for i, r in ipairs(rows) do
            enc[i] = {}
            for k, v in pairs(r) do enc[i][k] = v end
        end
        local s = #enc == 0 and "[]" or cjson.encode(enc)
        out:write((s:gsub("\\/", "/")), "\n")
        return 0
    end
    if #rows == 0 then
        out:write(format("no run folders under %s\n", dir))
        return 0
    end
    local head = { "started", "suite", "model", "metric", "items", "status", "folder" }
    local cells = {}
    for i, r in ipairs(rows) do
        local metric = "-"
        if r.value then
            metric = format("%s %s", r.metric == "accuracy" and "acc" or r.metric, pct(r.value))
            if r.lo then metric = metric .. format(" (%.1f–%.1f)", 100 * r.lo, 100 * r.hi) end
        end
        local items = r.items and tostring(math.tointeger(r.items) or r.items) or "-"
        if r.total and r.total ~= r.items then items = items .. "/" .. tostring(math.tointeger(r.total) or r.total) end
        local function clip(s) return utf8.len(s) and utf8.len(s) > 40 and s:sub(1, utf8.offset(s, 40) - 1) .. "…" or s end
        cells[i] = { (r.started or "-"):gsub("T", " "):gsub("Z$", ""), clip(r.suite or "-"), clip(r.model or "-"), metric,
                     items, r.status or "-", r.dir }
    end
    local w = {}
    for j, h in ipairs(head) do
        w[j] = utf8.len(h)
        for _, c in ipairs(cells) do w[j] = math.max(w[j], utf8.len(c[j]) or #c[j]) end
    end
    local function line(c)
        local parts = {}
        for j = 1, #head do
            local s = c[j]
            parts[j] = j < #head and s .. string.rep(" ", w[j] - (utf8.len(s) or #s)) or s
        end
        out:write(table.concat(parts, "  "), "\n")
    end
    line(head)
    for _, c in ipairs(cells) do line(c) end
    return 0
end


return M
