-- tests/evals/test-canon.lua: ollaeval.canon, the one canonical JSON writer,
-- in its two styles: KEY (the request cache's key: exact and strict) and
-- SCRIPT (a page's embedded data: escaped for <script>, 14 digits, lenient).

local T = require "tests.lib.tap"
local canon = require "ollaeval.canon"
local cache = require "ollaeval.cache"
local H = require "evals.html"
local cjson = require "cjson"

local KEY, SCRIPT = canon.KEY, canon.SCRIPT
local v = { b = { 3, 2.5, true }, a = "x/</y>", c = cjson.null, d = {} }

T.eq(canon.encode(v), '{"a":"x/</y>","b":[3,2.5,true],"c":null,"d":{}}', "KEY is the default: keys sorted, / and < kept")
T.eq(canon.encode(v, SCRIPT), '{"a":"x/\\u003c/y\\u003e","b":[3,2.5,true],"c":null,"d":[]}',
    "SCRIPT: < and > escaped, an empty table is []")
T.eq(cache.encode(v), canon.encode(v, KEY), "the cache key is canon's KEY style")
T.eq(H.json(v), canon.encode(v, SCRIPT), "a page's data is canon's SCRIPT style")

T.eq(canon.encode(1 / 3, KEY), "0.33333333333333331", "KEY: 17 digits (exact)")
T.eq(canon.encode(1 / 3, SCRIPT), "0.33333333333333", "SCRIPT: 14 digits, as cjson writes summary.json")
T.eq(canon.encode(0.0, KEY) .. canon.encode(0, KEY), "00", "0 and 0.0 alike")
T.eq(canon.encode(2.0 ^ 60, KEY), "1.152921504606847e+18", "an integral float past 2^53 keeps its exponent")

local ok, err = pcall(canon.encode, 0 / 0, KEY)
T.ok(not ok and err:find("^cache key: a number that is not finite"), "KEY: NaN raises", err)
ok, err = pcall(canon.encode, { [true] = 1 }, KEY)
T.ok(not ok and err:find("not a string"), "KEY: a key that is not a string raises", err)
ok, err = pcall(canon.encode, { f = print }, KEY)
T.ok(not ok and err:find("cannot encode a function"), "KEY: a function raises", err)
T.eq(canon.encode({ n = 0 / 0, f = print, i = math.huge }, SCRIPT), '{"f":null,"i":null,"n":null}',
    "SCRIPT: NaN, infinity and a function are null")
T.eq(canon.encode({ [1] = "a", [3] = "c" }, SCRIPT), '{"1":"a","3":"c"}', "SCRIPT: number keys written as strings")

-- every byte escapes as lua-cjson escapes it (KEY; "/" aside)
local same = true
for b = 0, 255 do
    local s = "a" .. string.char(b) .. "z"
    if canon.encode(s) ~= (cjson.encode(s):gsub("\\/", "/")) then same = false end
end
T.ok(same, "KEY: each of the 256 bytes is escaped as lua-cjson does")

T.done()
