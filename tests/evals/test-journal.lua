-- tests/evals/test-journal.lua: the journal's reading API on real files:
-- each() streams records and finds torn tails and bad middle lines like
-- parse(); latest() gives each item's final record (a redone error counts
-- once, as redone); done_ids() keeps ids only, cuts a torn tail in place,
-- refuses a bad middle line naming --repair-journal, and repairs it on
-- request; the appender cuts a failed write off again.
local T = require "tests.lib.tap"
local J = require "evals.journal"

local dir = os.tmpname()
os.remove(dir)
os.execute("mkdir -p " .. dir)
local path = dir .. "/samples.jsonl"
local function write(text)
    local f = assert(io.open(path, "wb"))
    f:write(text)
    f:close()
end
local function slurp(p)
    local f = io.open(p, "rb")
    if not f then return nil end
    local s = f:read("a")
    f:close()
    return s
end
local quiet = function() end

local good = '{"id":"a","correct":true}\n{"id":"b","error":"HTTP 500"}\n{"id":"c","correct":false}\n'
    .. '{"id":"b","correct":true}\n{"id":"d","error":"timeout"}\n{"id":"d","error":"timeout again"}\n'
write(good)
local seen = {}
local info = J.each(path, function(rec, lineno) seen[#seen + 1] = rec.id .. lineno end)
T.eq(table.concat(seen, " "), "a1 b2 c3 b4 d5 d6", "each: every record in file order, with its line")
T.eq(info.records, 6, "each: the count")
T.eq(info.good_end, #good, "each: good_end is the end of the file")
T.ok(info.torn == nil, "each: no torn tail")

local final = {}
J.latest(path, function(rec) final[#final + 1] = rec.id .. (rec.error and ("!" .. rec.error) or "") end)
T.eq(table.concat(final, " "), "a c b d!timeout again", "latest: one record per item: scored ones, then the last error of items never scored")

local done, n, records = J.done_ids(path, quiet)
T.eq(n, 3, "done_ids: 3 ids scored")
T.ok(done:has("a") and done:has("b") and done:has("c") and not done:has("d"), "done_ids: the set of scored ids")
T.eq(records, 6, "done_ids: the number of records")

write(good .. '{"id":"e","cor')
local said
done, n = J.done_ids(path, function(fmt, ...) said = fmt:format(...) end)
T.eq(n, 3, "torn tail: the good records count")
T.eq(slurp(path), good, "torn tail: cut off in place")
T.ok(said and said:find("torn last record at " .. path .. ":7", 1, true), "torn tail: reported with its line")

local bad = '{"id":"a","correct":true}\n\0\0\0\0\n{"id":"c","correct":true}\n{"id":"x",\n{"id":"e","correct":true}\n'
write(bad)
local d2, err = J.done_ids(path, quiet)
T.ok(d2 == nil and err:find(path .. ":2: the journal has a malformed record in the middle", 1, true)
    and err:find("--repair-journal", 1, true), "a bad middle line: refused, naming line 2 and --repair-journal")
T.eq(slurp(path), bad, "...the journal untouched")
T.ok(J.each(path, function() end) == nil, "each refuses it too")
d2, n = J.done_ids(path, quiet, true)
T.eq(n, 3, "--repair-journal: the 3 good records kept")
T.eq(slurp(path), '{"id":"a","correct":true}\n{"id":"c","correct":true}\n{"id":"e","correct":true}\n',
    "...the journal holds the good records alone")
T.eq(slurp(path .. ".bad"), '\0\0\0\0\n{"id":"x",\n', "...the bad lines moved to samples.jsonl.bad")

-- encode: "/" unescaped, every other escape kept, the text round-trips
local cjson = require "cjson"
for _, v in ipairs { "a/b", "\\/", "//", "\\\\//", "x\\/y/z\\", "", "no slash", "/", "\"/\"" } do
    local e = J.encode({ v })
    T.ok(not e:find("\\/", 1, true) or e:find("\\\\/", 1, true), "encode " .. v .. ": no \\/ escape")
    T.eq(cjson.decode(e)[1], v, "encode " .. v .. ": round trip")
end

-- lines longer than the 64 KiB read blocks, and a last line without "\n"
local long = string.rep("x", 200000)
write('{"id":"L1","content":"' .. long .. '"}\n{"id":"L2","content":"' .. long .. '"}\n{"id":"L3","content":"x"}')
local lens = {}
info = J.each(path, function(rec) lens[#lens + 1] = rec.id .. ":" .. #rec.content end)
T.eq(table.concat(lens, " "), "L1:200000 L2:200000", "each: lines of 200 KB whole")
T.ok(info.torn and info.torn.line == 3 and info.torn.bytes == #'{"id":"L3","content":"x"}', "each: a last line without its newline is torn")

-- resume with many ids: 200,000 records, every 10th item failed first and
-- redone later, every 1,000th failed and never redone. done_ids keeps the
-- ids in a compact set; fn sees every record with the offset of its line;
-- finals() over them (as the runner's summary) gives each item once.
os.remove(path)
do
    local N = 200000
    local f = assert(io.open(path, "wb"))
    local later = {}
    for i = 1, N do
        local id = string.format("gsm8k-test-%06d", i)
        if i % 1000 == 0 then
            f:write('{"id":"', id, '","error":"HTTP 500","error_kind":"http"}\n')
        elseif i % 10 == 0 then
            f:write('{"id":"', id, '","error":"timeout","error_kind":"timeout"}\n')
            later[#later + 1] = id
        else
            f:write('{"id":"', id, '","correct":true,"score":1}\n')
        end
    end
    for _, id in ipairs(later) do f:write('{"id":"', id, '","correct":false,"score":0}\n') end
    f:close()
    collectgarbage("collect")
    local before = collectgarbage("count")
    local done, n, records = J.done_ids(path, quiet)
    collectgarbage("collect")
    local set_kb = collectgarbage("count") - before
    T.ok(set_kb < 100, string.format("many ids: the done set of %d ids in %.0f KB", n, set_kb))
    local text = slurp(path)
    local offsets_ok, nrec = true, 0
    local finals_seen, errors_final, twice = 0, 0, false
    local seen_ids = require("evals.idset").new()
    local fin = J.finals(function(rec)
        finals_seen = finals_seen + 1
        if rec.error then errors_final = errors_final + 1 end
        if not seen_ids:add(rec.id) then twice = true end
    end)
    local d2 = J.done_ids(path, quiet, false, function(rec, off)
        nrec = nrec + 1
        if text:sub(off + 1, off + 8 + #rec.id) ~= '{"id":"' .. rec.id .. '"' then offsets_ok = false end
        fin:add(rec, off)
    end)
    T.eq(d2.n, n, "many ids: the same set with fn")
    T.eq(n, N - N // 1000, "many ids: every item scored but the 200 never redone")
    T.eq(records, N + #later, "many ids: the records counted")
    T.ok(done:has("gsm8k-test-000010") and done:has("gsm8k-test-199999") and not done:has("gsm8k-test-001000")
        and not done:has("gsm8k-test-200001") and not done:has("gsm8k-test-10"), "many ids: the scored ids, no other")
    T.ok(offsets_ok and nrec == N + #later, "many ids: fn sees every record, with the offset of its line")
    T.ok(fin:finish(path), "finals: the errors left are read again")
    T.ok(finals_seen == N and not twice, "finals: each item once")
    T.eq(errors_final, N // 1000, "finals: the items never redone end as their error")
end

-- the appender: a record a line, and the file's end kept whole
os.remove(path)
local j = assert(J.open(path, true))
local aok, at = j:append({ id = "http://x/y" })
T.ok(aok and at == 0, "append: true and the offset of its line")
local aok2, at2 = j:append({ id = 2 })
T.ok(aok2 and at2 == #'{"id":"http://x/y"}\n', "...the next at the end of the one before")
T.ok(j:close(), "close (fsync) succeeds")
T.eq(slurp(path), "{\"id\":\"http://x/y\"}\n{\"id\":2}\n", "a line each, '/' not escaped")
local lock = assert(J.lock(dir))
local me = io.open("/proc/self/stat"):read("n")
T.eq(slurp(dir .. "/run.lock"), me .. "\n", "run.lock holds the holder's pid")
local again, lerr, what = J.lock(dir)
T.ok(again == nil and what == "locked" and lerr:find("in use by another ollaeval", 1, true),
    "a second lock on the folder (another descriptor) is refused")
lock:unlock()
local third = J.lock(dir)
T.ok(third ~= nil, "after unlock it can be taken again")
third:unlock()
os.execute("rm -rf " .. dir)
T.done()
