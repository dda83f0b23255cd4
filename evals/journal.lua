-- journal.lua: the run folder's files and what they promise. samples.jsonl is
-- the journal of record (one JSON record per item, appended and flushed as
-- each item is graded; evals/record.lua says what a record holds); run.json
-- records what produced the run, and its config decides whether another
-- run is the same run (resume) or a shard of it (merge); run.lock is held by
-- the one process working on the folder. Used by the runner and by
-- `ollaeval merge`. The journal is only ever read by streaming it, one line
-- at a time: nothing here holds it whole, and only ids are kept.
--
--   parse(text)               -> records, good_end, torn | nil, lineno (pure)
--   each(path, fn, opts)      -> info | nil, err: every good record, streamed
--   finals(fn)                -> f: f:add(rec, offset) as records pass,
--                                f:finish(path): each item's final record
--   latest(path, fn, say)     -> info | nil, err: each item's final record
--   done_ids(path, say, repair, fn) -> idset, n, records | nil, err (resume:
--                                a torn tail cut off; --repair-journal)
--   open(path, fresh)         -> appender: :append(rec) -> true, offset | nil,
--                                err; :close() -> true | nil, err
--   lock(dir)                 -> handle | nil, err (one process per folder)
--   differs(a, b, opts)       -> nil | what, a's value, b's value ("same run?")
--   folder(suite, model, out, resume) -> run folder path | nil, err
--   line(rec)                 -> the journal line of a record (JSON, "\n")
--   encode(v), read_json(path), write_json(path, t) -> true | nil, err
-- Every write, flush, fsync and close is checked: a failure is returned as
-- nil, "PATH: reason", and a temporary file is renamed over good data only
-- when all of them succeeded.
local cjson = require "cjson"
local cjson_safe = require "cjson.safe"
local core = require "ollaeval.core"
local idset = require "evals.idset"

local M = {}

local format, floor = string.format, math.floor
local decode = cjson_safe.decode


-- JSON as written to the run folder: lua-cjson escapes "/" as "\/", which
-- is valid but hard to grep; undo it (every "/" was escaped, so "\/" only
-- ever stands for "/"). A plain find loop: gsub would try a match at every
-- byte of the record.
local find, sub, concat = string.find, string.sub, table.concat
function M.encode(v)
    local s = cjson.encode(v)
    local i = find(s, "\\/", 1, true)
    if not i then return s end
    local parts, n, pos = {}, 0, 1
    while i do
        n = n + 1
        parts[n] = sub(s, pos, i - 1)
        pos = i + 1 -- from the "/"
        i = find(s, "\\/", pos + 1, true)
    end
    parts[n + 1] = sub(s, pos)
    return concat(parts)
end


-- A journal line: the JSON of encode(rec) (the same value, "/" unescaped
-- too) and "\n". Most of a record's bytes are its reply's thinking and
-- content, which lua-cjson escapes a byte at a time; so lua-cjson encodes
-- the record without them (taken out and put back, even when it raises)
-- and core.json_line / json_write (core/jsonstr.c) escape them as lua-cjson
-- does, in runs, adding them last in the object. A text shorter than
-- TEXT_MIN stays with lua-cjson (taking it out would not pay).
local encode, pcall, byte = cjson.encode, pcall, string.byte
local json_line, json_write = core.json_line, core.json_write
local TEXT_MIN = 64

-- split(rec) -> head, thinking, content: lua-cjson's encoding of rec
-- without its long texts, and those (nil when left in); nil when there is
-- no long text, or rec without them is not an object (an array)
local function split(rec)
    local t, c = rec.thinking, rec.content
    if type(t) ~= "string" or #t < TEXT_MIN then t = nil end
    if type(c) ~= "string" or #c < TEXT_MIN then c = nil end
    if not (t or c) then return nil end
    if t then rec.thinking = nil end
    if c then rec.content = nil end
    local ok, head = pcall(encode, rec)
    if t then rec.thinking = t end
    if c then rec.content = c end
    if not ok then error(head, 0) end
    if byte(head) ~= 123 then return nil end
    return head, t, c
end

-- line(rec) -> the journal line of a record, as a string
function M.line(rec)
    local head, t, c = split(rec)
    if not head then return M.encode(rec) .. "\n" end
    return json_line(head, "thinking", t, "content", c)
end

-- write_line(f, rec) -> bytes  or  nil, err: the line written to f at once
local function write_line(f, rec)
    local head, t, c = split(rec)
    if head then return json_write(f, head, "thinking", t, "content", c) end
    local line = M.encode(rec) .. "\n"
    local ok, err = f:write(line)
    if not ok then return nil, err end
    return #line
end


-- record(line) -> the record a line (without its "\n") holds, or nil: a
-- JSON object with a string id or a number id that is not NaN.
local function record(line)
    local rec = decode(line)
    local id = type(rec) == "table" and rec.id
    if type(id) == "string" or (type(id) == "number" and id == id) then return rec end
    return nil
end


-- parse(text) -> records, good_end, torn  or  nil, lineno
-- Pure (no I/O, never exits), so it can be fuzzed; each() applies the same
-- rules to a file. A record is a JSON object with an id, on a line of its
-- own ending in "\n". A bad last line (a crash mid-write: no newline, or
-- cut JSON) is torn: `torn` is {line=, bytes=} and good_end is where the
-- good records end. A bad line with another line after it is corruption:
-- nil and its line number.
function M.parse(text)
    local records, good_end, lineno = {}, 0, 0
    local pos = 1
    while pos <= #text do
        local nl = text:find("\n", pos, true)
        lineno = lineno + 1
        local rec = nl and record(text:sub(pos, nl - 1))
        if not rec then
            if nl and nl < #text then return nil, lineno end
            return records, good_end, { line = lineno, bytes = #text - pos + 1 }
        end
        records[#records + 1] = rec
        good_end = nl
        pos = nl + 1
    end
    return records, good_end, nil
end


-- lines_of(f) -> iterator of the file's lines, each with its "\n" (the
-- last one maybe without), or nil, err on a read error. Reads 64 KiB blocks
-- (f:read("L") goes a byte at a time); a line longer than a block is
-- gathered in pieces, so the cost stays linear in its length.
local function lines_of(f)
    local buf, pos = "", 1
    return function()
        local nl = find(buf, "\n", pos, true)
        if nl then
            local line = sub(buf, pos, nl)
            pos = nl + 1
            return line
        end
        local parts = { sub(buf, pos) }
        while true do
            local chunk, err = f:read(65536)
            if not chunk then
                buf, pos = "", 1
                if err then return nil, err end
                local line = concat(parts)
                if line == "" then return nil end
                return line
            end
            local k = find(chunk, "\n", 1, true)
            if k then
                parts[#parts + 1] = sub(chunk, 1, k)
                buf, pos = chunk, k + 1
                return concat(parts)
            end
            parts[#parts + 1] = chunk
        end
    end
end


local function corrupt(path, lineno)
    return format("%s:%d: the journal has a malformed record in the middle; it was not written by "
        .. "ollaeval or was edited (--repair-journal keeps the good records, moves the bad lines to "
        .. "%s.bad and redoes their items)", path, lineno, path)
end


-- each(path, fn [, opts]) -> info  or  nil, err
-- Streams the journal at path one line at a time: fn(rec, lineno, offset)
-- for each good record in file order (offset: where its line starts). A
-- missing journal has no records. info = {records=, good_end=, torn=
-- {line=, bytes=} | nil}: as parse(). A bad line in the middle is an error
-- naming it and --repair-journal, unless opts.bad is given: then
-- opts.bad(line, lineno) gets it (its text, with its "\n") and reading
-- goes on. A read error is an error too.
function M.each(path, fn, opts)
    local f = io.open(path, "rb")
    local info = { records = 0, good_end = 0 }
    if not f then return info end
    local bad = opts and opts.bad
    local pos, lineno, pending, pending_no = 0, 0, nil, nil
    local next_line = lines_of(f)
    while true do
        local line, rerr = next_line()
        if not line then
            f:close()
            if rerr then return nil, format("%s: %s", path, rerr) end
            break
        end
        lineno = lineno + 1
        if pending then -- a bad line with more after it: not a torn tail
            if not bad then
                f:close()
                return nil, corrupt(path, pending_no)
            end
            bad(pending, pending_no)
            pending = nil
        end
        local n = #line
        local rec = line:byte(n) == 10 and record(line) -- (the "\n" is JSON whitespace)
        if rec then
            info.records = info.records + 1
            fn(rec, lineno, pos)
            info.good_end = pos + n
        else
            pending, pending_no = line, lineno
        end
        pos = pos + n
    end
    if pending then info.torn = { line = pending_no, bytes = #pending, text = pending } end
    return info
end


-- finals(fn) -> f: the final record of each item, as records stream past
-- in journal order (read from the file, or appended by this process):
-- f:add(rec, offset) for each; a scored record goes to fn(rec) at once, an
-- error is held back as its offset only, until a later record of its id
-- (redone) drops it; f:finish(path) -> true | nil, err reads the errors
-- left (each item's last one) again from the journal and gives them to fn.
-- (A scored record followed by an error of the same id, which the runner
-- never writes, gives both.) What it holds: one offset per item whose last
-- record so far is an error.
function M.finals(fn)
    local errs, nerr = {}, 0 -- id -> offset of its last error
    local f = {}
    function f.add(_, rec, off)
        local id = rec.id
        if rec.error then
            if errs[id] == nil then nerr = nerr + 1 end
            errs[id] = off
        else
            if errs[id] ~= nil then errs[id], nerr = nil, nerr - 1 end
            fn(rec)
        end
    end
    function f.finish(_, path)
        if nerr == 0 then return true end
        local offs = {}
        for _, o in pairs(errs) do offs[#offs + 1] = o end
        table.sort(offs)
        errs, nerr = {}, 0
        local h, oerr = io.open(path, "rb")
        if not h then return nil, oerr end
        for _, o in ipairs(offs) do
            h:seek("set", o)
            local line = h:read("L")
            local rec = line and record(line)
            if not rec then
                h:close()
                return nil, format("%s: the journal changed while it was read", path)
            end
            fn(rec)
        end
        h:close()
        return true
    end
    return f
end


-- latest(path, fn [, say]) -> info  or  nil, err
-- fn(rec) once for each item of the journal, with its final record: its
-- scored record, else its last error (an errored item redone later is
-- counted once, as redone): finals() over the file, streamed. A torn tail
-- is skipped, and reported through say.
function M.latest(path, fn, say)
    local f = M.finals(fn)
    local info, err = M.each(path, function(rec, _, off) f:add(rec, off) end)
    if not info then return nil, err end
    if info.torn and say then
        say("journal: ignoring a torn last record at %s:%d (%d bytes)", path, info.torn.line, info.torn.bytes)
    end
    local ok, ferr = f:finish(path)
    if not ok then return nil, ferr end
    return info
end


-- Checked steps of writing a file: each returns true or nil, "PATH: reason".
local function wrote(path, ok, err)
    if ok then return true end
    return nil, format("%s: %s", path, err or "write failed")
end

local function finish(f, path, sync)
    local ok, err = f:flush()
    if ok and sync then ok, err = ollaeval.fsync(f) end
    local cok, cerr = f:close()
    if ok and not cok then ok, err = nil, cerr end
    return wrote(path, ok, err)
end


-- Replaces path with text atomically (write a temporary file, flush, fsync,
-- close, rename), so a crash leaves the old file or the new one, never half
-- of one; the rename happens only when every step before it succeeded.
local function replace(path, text)
    local tmp = path .. ".tmp"
    local f, err = io.open(tmp, "wb")
    if not f then return nil, err end
    local ok, werr = wrote(tmp, f:write(text))
    if ok then
        ok, werr = finish(f, tmp, true)
    else
        f:close()
    end
    if ok then ok, werr = os.rename(tmp, path) end
    if not ok then
        os.remove(tmp)
        return nil, werr
    end
    return true
end


-- Rewrites the journal without its bad lines (--repair-journal), streaming:
-- the good lines go to PATH.tmp, the bad ones (and a torn tail) are
-- appended to PATH.bad; PATH.tmp replaces the journal once both are written
-- and closed. Returns the number of lines moved, or nil, err.
local function repair(path, say)
    local tmp, side = path .. ".tmp", path .. ".bad"
    local out, err = io.open(tmp, "wb")
    if not out then return nil, err end
    local bad, berr = io.open(side, "ab")
    if not bad then out:close() os.remove(tmp) return nil, berr end
    local f, rerr = io.open(path, "rb")
    if not f then out:close() bad:close() os.remove(tmp) return nil, rerr end
    local moved, ok, werr = 0, true, nil
    local lineno = 0
    local next_line = lines_of(f)
    local function move(line, no)
        moved = moved + 1
        say("journal: moving the malformed line %s:%d to %s", path, no, side)
        if ok then ok, werr = wrote(side, bad:write(line, line:byte(-1) == 10 and "" or "\n")) end
    end
    while ok do
        local line, e = next_line()
        if not line then
            if e then ok, werr = nil, format("%s: %s", path, e) end
            break
        end
        lineno = lineno + 1
        if line:byte(-1) == 10 and record(line) then
            ok, werr = wrote(tmp, out:write(line))
        else
            move(line, lineno)
        end
    end
    f:close()
    local ok2, e2 = finish(bad, side, true)
    if ok and not ok2 then ok, werr = nil, e2 end
    if ok then ok, werr = finish(out, tmp, true) else out:close() end
    if ok then ok, werr = os.rename(tmp, path) end
    if not ok then
        os.remove(tmp)
        return nil, werr
    end
    return moved
end


-- done_ids(path, say, repair [, fn]) -> done, n, records  or  nil, err
-- The resume stage's view of the journal: the set of ids scored in it (an
-- evals/idset.lua set: done:has(id); ids only, no records, about a bit
-- each for a dataset's ids), how many, and the number of records. fn(rec,
-- offset), when given, sees every good record of the journal as it is
-- then (the runner's summary starts from them). A torn last record is cut
-- off the file in place (truncate, fsync: the good records are never
-- rewritten) and reported through say. A malformed line in the middle is
-- refused with its line number, unless repair: then the good records stay,
-- the bad lines go to PATH.bad, their items are redone, and the journal
-- is read again.
function M.done_ids(path, say, repair_bad, fn)
    -- with repair, the offsets are known only once the bad lines are out:
    -- the ids first, then the repaired journal again for fn
    if repair_bad and fn then
        local done, err = M.done_ids(path, say, true)
        if not done then return nil, err end
        return M.done_ids(path, say, false, fn)
    end
    local done = idset.new()
    local function add(rec, _, off)
        if not rec.error then done:add(rec.id) end
        if fn then fn(rec, off) end
    end
    local moved = false
    local info, err = M.each(path, add, repair_bad and { bad = function() moved = true end } or nil)
    if not info then return nil, err end
    if moved then
        local count, rerr = repair(path, say)
        if not count then return nil, format("cannot repair %s: %s", path, rerr) end
        say("journal: %d malformed line%s moved to %s.bad; their items will be redone", count,
            count == 1 and "" or "s", path)
    elseif info.torn then
        say("journal: ignoring a torn last record at %s:%d (%d bytes)", path, info.torn.line, info.torn.bytes)
        -- drop the torn tail so the next record starts on a line of its own
        local ok, terr = ollaeval.truncate(path, info.good_end)
        if not ok then return nil, format("cannot repair %s: %s", path, terr) end
    end
    return done, done.n, info.records
end


-- open(path, fresh) -> appender  or  nil, err
-- Appends to the journal at path (fresh: empties it first). Each record is
-- one line, written with one unbuffered write: what the journal holds when
-- the process dies is every record appended before, whole, and maybe a
-- torn last line that done_ids() cuts off. :append(rec) returns true and
-- the offset where its line starts, or fails (nil, "PATH: reason") when
-- the write fails (a full disk, a read-only file system) or
-- the file is no longer on disk (its folder removed); a failed write's part
-- is cut off again, so the journal still ends with a whole record.
-- After a failure every append fails alike. :close() fsyncs and closes,
-- checked too.
function M.open(path, fresh)
    local f, err = io.open(path, fresh and "wb" or "ab")
    if not f then return nil, err end
    f:setvbuf("no")
    local size, serr = f:seek("end")
    if not size then f:close() return nil, format("%s: %s", path, serr) end
    local j = {}
    local linked = ollaeval.linked
    local failed -- after a failure, every later append fails alike
    function j:append(rec)
        if failed then return nil, failed end
        local n, werr = write_line(f, rec)
        if not n then
            ollaeval.truncate(path, size) -- best effort: the next resume cuts it too
            failed = format("%s: %s", path, werr)
            return nil, failed
        end
        local at = size
        size = size + n
        if not linked(f) then
            failed = format("%s: the file was removed (was the run folder deleted?)", path)
            return nil, failed
        end
        return true, at
    end
    function j:close()
        if not f then return true end
        local g = f
        f = nil
        return finish(g, path, true)
    end
    return j
end


-- lock(dir) -> handle  or  nil, err
-- The one process working on the run folder: an exclusive lock on
-- dir/run.lock (core.lock), held until handle:unlock() or the process ends.
-- err names the process holding it.
function M.lock(dir)
    local h, err, what, pid = ollaeval.lock(dir .. "/run.lock")
    if h then return h end
    if what == "locked" then
        return nil, format("the run folder %s is in use by another ollaeval%s; wait for it to end, "
            .. "or use another -o DIR", dir, pid > 0 and format(" (process %d)", pid) or ""), "locked"
    end
    return nil, err, "storage"
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
    return replace(path, M.encode(t) .. "\n")
end


return M
