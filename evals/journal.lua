-- journal.lua: the run folder's files and what they promise. samples.jsonl is
-- the journal of record (one JSON record per item, appended and flushed as
-- each item is graded; evals/record.lua says what a record holds); run.json
-- records what produced the run, and its config decides whether another
-- run is the same run (resume) or a shard of it (merge). Used by the runner
-- and by `ollaeval merge`.
--
--   parse(text)               -> records, good_end, torn | nil, lineno (pure)
--   read(path, say)           -> records | nil, err (a torn tail is cut off)
--   open(path, fresh)         -> appender: :append(rec) -> true | nil, err; :close()
--   differs(a, b, opts)       -> nil | what, a's value, b's value ("same run?")
--   folder(suite, model, out, resume) -> run folder path | nil, err
--   encode(v), read_json(path), write_json(path, t) -> true | nil, err
local cjson = require "cjson"
local cjson_safe = require "cjson.safe"

local M = {}

local format, floor = string.format, math.floor


-- JSON as written to the run folder: lua-cjson escapes "/" as "\/", which
-- is valid but hard to grep; undo it (every "/" was escaped, so "\/" only
-- ever stands for "/").
function M.encode(v)
    return (cjson.encode(v):gsub("\\/", "/"))
end


-- parse(text) -> records, good_end, torn  or  nil, lineno
-- Pure (no I/O, never exits), so it can be fuzzed. A record is a JSON
-- object with an id, on a line of its own ending in "\n". A bad last line
-- (a crash mid-write: no newline, or cut JSON) is torn: `torn` is
-- {line=, bytes=} and good_end is where the good records end. A bad line
-- with another line after it is corruption: nil and its line number.
function M.parse(text)
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


-- Replaces path with text atomically (write a temporary file, fsync, rename),
-- so a crash leaves the old file or the new one, never half of one.
local function replace(path, text, sync)
    local tmp = path .. ".tmp"
    local f, err = io.open(tmp, "wb")
    if not f then return nil, err end
    local ok, werr = f:write(text)
    if ok then ok, werr = f:flush() end
    if ok and sync then ollaeval.fsync(f) end
    f:close()
    if not ok then
        os.remove(tmp)
        return nil, format("%s: %s", tmp, werr)
    end
    return os.rename(tmp, path)
end


-- read(path, say) -> records  or  nil, err
-- A missing journal is empty. A torn last record is cut off (the file is
-- replaced atomically, so a crash here loses nothing) and reported through
-- say(fmt, ...); any other malformed line is an error naming the line.
function M.read(path, say)
    local f = io.open(path, "rb")
    if not f then return {} end
    local text = f:read("a")
    f:close()
    local records, good_end, torn = M.parse(text)
    if not records then
        return nil, format("%s:%d: the journal has a malformed record in the middle; "
            .. "it was not written by ollaeval or was edited", path, good_end)
    end
    if torn then
        if say then say("journal: ignoring a torn last record at %s:%d (%d bytes)", path, torn.line, torn.bytes) end
        -- drop the torn tail so the next record starts on a line of its own
        local ok, err = replace(path, text:sub(1, good_end), true)
        if not ok then return nil, format("cannot repair %s: %s", path, err) end
    end
    return records
end


-- open(path, fresh) -> appender  or  nil, err
-- Appends to the journal at path (fresh: empties it first). Each record is one line, flushed at once: what the journal holds when the
-- process dies is every record appended before, whole, and maybe a torn
-- last line that read() cuts off.
function M.open(path, fresh)
    local f, err = io.open(path, fresh and "wb" or "ab")
    if not f then return nil, err end
    local j = {}
    function j:append(rec)
        local ok, werr = f:write(M.encode(rec), "\n")
        if ok then ok, werr = f:flush() end
        if not ok then return nil, format("%s: %s", path, werr) end
        return true
    end
    function j:close() f:close() end
    return j
end


-- ---------------------------------------------------------------------------
-- run.json: what produced the run

-- The config keys that make two runs the same run; the generation options
-- (config.options) count too. A shard of a run differs in `shard` only.
M.SAME_RUN = { "suite", "suite_version", "suite_sha256", "dataset_sha256", "model", "shots", "seed", "think", "shard" }


-- A config value as text, the same before and after a JSON round trip
-- (cjson reads 0 back as 0.0, and a missing value as nil or null).
local function config_value(v)
    if v == nil or v == cjson.null then return "none" end
    if math.type(v) == "float" and v == floor(v) and math.abs(v) < 2 ^ 53 then return format("%d", v) end
    if math.type(v) == "float" then return format("%.17g", v) end
    return tostring(v)
end


-- differs(a, b, opts) -> nil when configs a and b are of the same run;
-- else what differs ("model", "option temperature"), a's value, b's value.
-- opts.shards: shards of one run (the shard may differ).
function M.differs(a, b, opts)
    for _, k in ipairs(M.SAME_RUN) do
        if not (k == "shard" and opts and opts.shards) and config_value(a[k]) ~= config_value(b[k]) then
            return k, config_value(a[k]), config_value(b[k])
        end
    end
    local ao, bo = a.options or {}, b.options or {}
    local keys = {}
    for k in pairs(ao) do keys[#keys + 1] = k end
    for k in pairs(bo) do if ao[k] == nil then keys[#keys + 1] = k end end
    table.sort(keys)
    for _, k in ipairs(keys) do
        if config_value(ao[k]) ~= config_value(bo[k]) then
            return "option " .. k, config_value(ao[k]), config_value(bo[k])
        end
    end
    return nil
end


function M.safe_name(s)
    return (s:gsub("[^%w._-]+", "_"))
end


-- folder(suite_name, model, out, resume, shard) -> the run folder  or  nil, err
-- OUT when given; with resume, the newest run of this suite and model (and
-- shard) under runs/; else a new runs/<suite>-<model>[-shardIofN]-<time>
-- (the shard in the name: array tasks started in the same second never
-- share a folder).
function M.folder(suite_name, model, out, resume, shard)
    if out then return out end
    local prefix = M.safe_name(suite_name) .. "-" .. M.safe_name(model)
    local si, sn = (shard or ""):match("^(%d+)/(%d+)$")
    if si and sn ~= "1" then prefix = format("%s-shard%sof%s", prefix, si, sn) end
    if resume then
        local p = io.popen("ls -1d runs/" .. prefix .. "-* 2>/dev/null | sort | tail -n 1")
        local d = p and p:read("l")
        if p then p:close() end
        if d and d ~= "" then return d end
        return nil, format("--resume: no earlier run of %s with %s under runs/", suite_name, model)
    end
    return format("runs/%s-%s", prefix, os.date("%Y%m%d-%H%M%S"))
end


function M.read_json(path)
    local f = io.open(path, "rb")
    if not f then return nil end
    local s = f:read("a")
    f:close()
    return cjson_safe.decode(s)
end


function M.write_json(path, t)
    return replace(path, M.encode(t) .. "\n", false)
end


return M
