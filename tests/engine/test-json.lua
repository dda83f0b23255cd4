-- test-json.lua: core.json_encode (core/ljson.c), the writer of journal
-- records and request bodies, writes what lua-cjson writes, byte for byte,
-- but for "/" (left unescaped), and gives nil for what it leaves to
-- lua-cjson: tables with holes or mixed keys, number keys, NaN and
-- infinity, functions, cycles and deep nesting.
local T = require "tests.lib.tap"
local cjson = require "cjson"
local core = require "ollaeval.core"
local enc = core.json_encode

local function ref(v) return (cjson.encode(v):gsub("\\/", "/")) end

local bad = {}
for b = 0, 255 do
    local s = string.char(b)
    if enc(s) ~= ref(s) then bad[#bad + 1] = b end
end
T.eq(#bad, 0, "every byte is escaped as lua-cjson escapes it (but /)" .. (#bad > 0 and (": " .. table.concat(bad, " ")) or ""))

math.randomseed(7)
local diff = 0
for _ = 1, 2000 do
    local n, p = math.random(0, 300), {}
    for i = 1, n do p[i] = string.char(math.random(0, 255)) end
    local s = table.concat(p)
    if enc(s) ~= ref(s) then diff = diff + 1 end
end
T.eq(diff, 0, "2,000 random byte strings as lua-cjson writes them")

local nums = { 0, -0.0, 0.0, 1, -1, 7, 99999999999999, 100000000000000, -99999999999999, -100000000000000,
    123456789012345, 2 ^ 53, 2 ^ 63, math.maxinteger, math.mininteger, 0.1, 1 / 3, 1e-7, 96.305, 3.0, -3.0,
    1e300, -1e-300, 5e-324, 12.5, 1e14 - 0.5 }
local nd = {}
for _, x in ipairs(nums) do
    if enc(x) ~= ref(x) then nd[#nd + 1] = string.format("%s: %s vs %s", tostring(x), tostring(enc(x)), ref(x)) end
end
T.eq(#nd, 0, "numbers as lua-cjson writes them (%.14g)" .. (#nd > 0 and (": " .. table.concat(nd, "; ")) or ""))
T.ok(enc(0 / 0) == nil and enc(math.huge) == nil and enc(-math.huge) == nil, "NaN and infinity: left to lua-cjson")

T.eq(enc({}), "{}", "an empty table is {}")
T.eq(enc(true), "true", "true")
T.eq(enc(cjson.null), "null", "cjson.null")
T.eq(enc({ 1, "a", false, cjson.null, { 2 } }), '[1,"a",false,null,[2]]', "an array")
local obj = { b = 1, a = { c = "x/y" }, d = { 1, 2 }, e = "\n\"\\" }
T.eq(enc(obj), ref(obj), "an object, keys in lua-cjson's order")
T.eq(enc({ 1, 2, nil, 4 }), nil, "an array with a hole: left to lua-cjson")
T.eq(enc({ 1, x = 2 }), nil, "mixed keys: left to lua-cjson")
T.eq(enc({ [1.5] = 1 }), nil, "a number key: left to lua-cjson")
T.eq(enc({ f = print }), nil, "a function: left to lua-cjson")
local cyc = {}
cyc.self = cyc
T.eq(enc(cyc), nil, "a cycle: left to lua-cjson")
local deep = {}
local t = deep
for _ = 1, 1001 do t[1] = {} t = t[1] end
T.eq(enc(deep), nil, "1,002 levels: left to lua-cjson")
T.ok(enc(setmetatable({ a = 1 }, { __index = function() return 2 end, __pairs = error })) == '{"a":1}',
    "raw reads: metatables do not count, as in lua-cjson")

-- a journal record of a real run's shape, as the journal wrote it before
local rec = {
    id = "gsm8k-test-0001", index = 1, gold = "18", answer = "18", rule = "marker", span = { 120, 121 },
    score = 1, correct = true, strict_answer = "18", strict_correct = true, done_reason = "stop",
    content = "Janet sells 16 - 3 - 4 = 9 duck eggs a day.\nShe makes 9 * 2 = $18 every day.\n#### 18",
    thinking = "Okay, 1/2 of \"it\"\t\226\128\153s fine", latency_ms = 96.305, prompt_tokens = 109,
    completion_tokens = 199, attempts = 1, overloads = 0,
    messages = { { role = "user", content = "Solve the following math problem step by step.\n\nQ?" } },
    calls = { { endpoint = "http://127.0.0.1:11434", latency_ms = 96.305, prompt_tokens = 109, model = "qwen3:8b",
                attempts = 1, completion_tokens = 199, done_reason = "stop", overloads = 0 } },
}
T.eq(enc(rec), ref(rec), "a journal record: the same text as lua-cjson's, / unescaped")
local back = cjson.decode(enc(rec))
T.ok(back.thinking == rec.thinking and back.calls[1].endpoint == rec.calls[1].endpoint and back.span[2] == 121
    and back.latency_ms == 96.305, "and the same record read back")
T.done()
