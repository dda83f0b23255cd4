-- tests/evals/test-data.lua: data.count, the plan's count of a dataset's
-- items without decoding them: the same count as jsonl() gives items, on
-- every shape of file (BOM, CRLF, blank lines, no final newline, lines
-- across the 64 KiB read blocks), with --limit and a shard; a line over
-- the limit refused naming FILE:LINE, a missing file an error; with hold,
-- the items it decoded kept for the run (a file up to hold bytes).
local T = require "tests.lib.tap"
local data = require "evals.data"
local format = string.format

local dir = os.tmpname()
os.remove(dir)
os.execute("mkdir -p " .. dir)
local path = dir .. "/d.jsonl"
local function write(text)
    local f = assert(io.open(path, "wb"))
    f:write(text)
    f:close()
end
local function items(p, limit, keep)
    local k, n = 0, 0
    for _ in jsonl(p) do
        k = k + 1
        if not keep or keep(k) then n = n + 1 end
        if limit and k >= limit then break end
    end
    return n
end

for _, name in ipairs { "bom-crlf-no-final-newline.jsonl", "pens.jsonl", "missing-field.jsonl", "no-gold.jsonl" } do
    local p = "tests/badinput/" .. name
    T.eq(data.count(p), items(p), name .. ": the count of jsonl's items")
end
T.eq(data.count("tests/badinput/blank-lines.jsonl"), 0, "only blank lines: 0")
T.eq(data.count("tests/badinput/empty.jsonl"), 0, "an empty file: 0")
do
    local n, err = data.count("tests/badinput/malformed.jsonl")
    T.ok(n == nil and err:find("malformed.jsonl:3: invalid JSON", 1, true), "a malformed line is refused by the count, naming FILE:3")
    n, err = data.count("tests/badinput/invalid-utf8.jsonl")
    T.ok(n == nil and err:find("invalid-utf8.jsonl:2: invalid UTF-8", 1, true), "invalid UTF-8 is refused by the count, naming FILE:2")
end

local rows = {}
for i = 1, 3000 do
    -- lines of varied length, some longer than a read block, blank lines between
    local pad = i % 500 == 0 and string.rep("x", 70000) or string.rep("y", i % 300)
    rows[#rows + 1] = format('{"question":"q%d %s","answer":"#### %d"}', i, pad, i)
    if i % 7 == 0 then rows[#rows + 1] = "   \t" end
    if i % 11 == 0 then rows[#rows + 1] = "" end
end
write("\239\187\191" .. table.concat(rows, "\r\n"))
T.eq(data.count(path), 3000, "3,000 items with a BOM, CRLF, blank lines, long lines, no final newline")
T.eq(data.count(path), items(path), "...as jsonl() counts them")
T.eq(data.count(path, 1234), 1234, "--limit 1234")
local function shard(i, n) return function(k) return (k - 1) % n == i - 1 end end
local sum = 0
for i = 1, 3 do
    local c = data.count(path, 1000, shard(i, 3))
    T.eq(c, items(path, 1000, shard(i, 3)), format("--limit 1000 --shard %d/3: %d items", i, c))
    sum = sum + c
end
T.eq(sum, 1000, "the shards add up")
do -- hold: the items as decoded by the count, with their k and line, as jsonl() gives them
    local c, held = data.count(path, 1000, shard(2, 3), 1 << 30)
    local want, wk, wl, k = {}, {}, {}, 0
    for item, line in jsonl(path) do
        k = k + 1
        if k > 1000 then break end
        if k % 3 == 2 then want[#want + 1], wk[#wk + 1], wl[#wl + 1] = item.question, k, line end
    end
    local same = held and #held.items == c and c == #want
    for i = 1, c do
        same = same and held.items[i].question == want[i] and held.index[i] == wk[i] and held.lines[i] == wl[i]
    end
    T.ok(same, format("hold: the %d items of --limit 1000 --shard 2/3, their k and their lines, as jsonl()", c))
    local size = #io.open(path, "rb"):read("a")
    local c2, held2 = data.count(path, nil, nil, size - 1)
    T.ok(c2 == 3000 and held2 == nil, "hold: a file larger than hold is counted, its items not kept")
    local c3, held3 = data.count(path, nil, nil, size)
    T.ok(c3 == 3000 and held3 and #held3.items == 3000, "hold: a file of exactly hold bytes is kept")
end
write("\239\187\191\n\n")
T.eq(data.count(path), 0, "a BOM alone is not an item")

local limit = require("ollaeval.defaults")["jsonl-max-line"]
write('{"a":1}\n{"q":"' .. string.rep("z", limit + 10) .. '"}\n{"b":2}\n')
local n, err = data.count(path)
T.ok(n == nil and err == format("%s:2: the line is %d bytes, longer than the limit of %d", path, limit + 19, limit),
    "a line over the limit: refused at once, naming FILE:2 and its length (as jsonl)")
local m, merr = data.count(dir .. "/nonexistent.jsonl")
T.ok(m == nil and merr:find("nonexistent.jsonl", 1, true), "a missing file: nil and the error")
os.execute("rm -rf " .. dir)
T.done()
