-- tests/evals/test-idset.lua: the compact set of item ids resume and merge
-- keep (evals/idset.lua): the same answers as a table of ids, for every
-- shape of id, in a bit or so per id for a dataset's ids.
local T = require "tests.lib.tap"
local idset = require "evals.idset"
local format = string.format

local s = idset.new()
T.eq(s.n, 0, "empty")
T.ok(not s:has("gsm8k-test-0001") and not s:has(1), "nothing in an empty set")

-- every shape: numbers, prefix+digits (with and without leading zeros),
-- digits alone, no digits, long digit runs, odd numbers
local ids = { 1, 0, 2 ^ 40, "gsm8k-test-0001", "gsm8k-test-0042", "gsm8k-test-42", "gsm8k-test-10000",
              "42", "042", "0", "00", "x", "", "item-7-a", "a1b2", "12345678901234567890", "p-" .. string.rep("9", 15),
              -3, 1.5, "#1", "é-12", "gsm8k-train-0001" }
for _, id in ipairs(ids) do T.ok(s:add(id), format("add %q: new", tostring(id))) end
T.eq(s.n, #ids, "n counts each id once")
for _, id in ipairs(ids) do T.ok(s:has(id), format("has %q", tostring(id))) end
for _, id in ipairs(ids) do T.ok(not s:add(id), format("add %q again: not new", tostring(id))) end
T.eq(s.n, #ids, "adding again does not count")
-- look-alikes that were not added
for _, id in ipairs { 2, "gsm8k-test-0002", "gsm8k-test-042", "gsm8k-test-1", "gsm8k-test-00042", "43", "42 ",
                      "0042", "000", "1", "gsm8k-test-", 2 ^ 40 + 1, -4, 2.5, "gsm8k-train-1", "y" } do
    T.ok(not s:has(id), format("not %q", tostring(id)))
end
T.ok(s:has(1.0) and s:has(0.0), "a float id with a whole value is that number (JSON reads 1 as 1.0)")
T.ok(not s:has("1") and s:has(1), "the string \"1\" and the number 1 are different ids")

-- more prefixes than MAX_PREFIXES: the rest go to the table, answers unchanged
local many = idset.new()
for i = 1, idset.MAX_PREFIXES + 50 do many:add(format("p%d-%d", i, i)) end
local all = true
for i = 1, idset.MAX_PREFIXES + 50 do
    if not many:has(format("p%d-%d", i, i)) or many:has(format("p%d-%d", i, i + 1)) then all = false end
end
T.ok(all and many.n == idset.MAX_PREFIXES + 50, "past MAX_PREFIXES prefixes: the same answers")

-- random ids against a plain table
local x = 12345
local function rnd(n) x = (x * 1103515245 + 12345) % 2147483648 return x % n end
local set, ref = idset.new(), {}
local agree = true
for _ = 1, 20000 do
    local id = rnd(3) == 0 and rnd(50000) or format("%s-%0" .. (1 + rnd(6)) .. "d", rnd(2) == 0 and "a" or "b", rnd(50000))
    if set:add(id) ~= (ref[id] == nil) then agree = false end
    ref[id] = true
end
for _ = 1, 40000 do
    local id = rnd(3) == 0 and rnd(60000) or format("%s-%0" .. (1 + rnd(6)) .. "d", rnd(2) == 0 and "a" or "b", rnd(60000))
    if set:has(id) ~= (ref[id] == true) then agree = false end
end
local nref = 0
for _ in pairs(ref) do nref = nref + 1 end
T.ok(agree and set.n == nref, "20,000 random ids: the same answers as a table")

-- a million dataset ids in little memory (a table of them: ~100 MB)
collectgarbage("collect")
local before = collectgarbage("count")
local big = idset.new()
for i = 1, 1000000 do big:add(format("gsm8k-test-%04d", i)) end
collectgarbage("collect")
local kb = collectgarbage("count") - before
T.ok(kb < 512, format("1,000,000 ids gsm8k-test-NNNN in %.0f KB", kb))
T.ok(big.n == 1000000 and big:has("gsm8k-test-0001") and big:has("gsm8k-test-1000000")
    and not big:has("gsm8k-test-1000001") and not big:has("gsm8k-test-0000"), "...and every one is there, no other")
T.done()
