-- tests/evals/test-html.lua: evals/html.lua, the pieces of the report and
-- compare pages: HTML escaping, canonical JSON that cannot close its
-- <script> element, base64 and the CSP hash, UTF-8-safe cutting, the page
-- shell.

local T = require "tests.lib.tap"
local H = require "evals.html"
local cjson = require "cjson"

T.eq(H.esc([[<a href="x">&'</a>]]), "&lt;a href=&quot;x&quot;&gt;&amp;&#39;&lt;/a&gt;", "esc: the five characters")
T.eq(H.esc(nil), "", "esc(nil) is empty")
T.eq(H.esc(cjson.null), "", "esc(null) is empty")
T.eq(H.esc(12), "12", "esc of a number")

-- canonical JSON
T.eq(H.json { b = 1, a = { 3, 2 }, c = "x" }, '{"a":[3,2],"b":1,"c":"x"}', "keys sorted, arrays kept")
T.eq(H.json { z = { y = 1, x = 2 } }, '{"z":{"x":2,"y":1}}', "nested keys sorted")
T.eq(H.json "</script><b>&", '"\\u003c/script\\u003e\\u003cb\\u003e\\u0026"', "< > & escaped")
T.eq(H.json "a\226\128\168b\226\128\169c", '"a\\u2028b\\u2029c"', "U+2028 and U+2029 escaped")
T.eq(H.json "q\"\\\n\t\1", '"q\\"\\\\\\n\\t\\u0001"', "quote, backslash, control characters")
T.eq(H.json(0 / 0), "null", "NaN is null")
T.eq(H.json(math.huge), "null", "infinity is null")
T.eq(H.json(3.0), "3", "an integral float is written as an integer")
T.eq(H.json(0.1), "0.1", "0.1 round-trips")
T.eq(H.json(1 / 3), "0.33333333333333", "14 significant digits")
T.eq(H.json { cjson.null, true, false }, "[null,true,false]", "null and booleans")
T.eq(H.json {}, "[]", "an empty table is []")
T.eq(H.json { [1] = "a", [3] = "c" }, '{"1":"a","3":"c"}', "a sparse list is an object")
local big = {}
for i = 1, 200 do big["k" .. i] = i end
T.eq(H.json(big), H.json(big), "the same table gives the same text")
local ok, back = pcall(cjson.decode, H.json { s = "<\226\128\168>", n = { 1, 2.5 } })
T.ok(ok and back.s == "<\226\128\168>" and back.n[2] == 2.5, "the JSON decodes to the same values")

-- base64 (RFC 4648 test vectors) and the CSP hash
local vec = { [""] = "", f = "Zg==", fo = "Zm8=", foo = "Zm9v", foob = "Zm9vYg==", fooba = "Zm9vYmE=", foobar = "Zm9vYmFy" }
for k, v in pairs(vec) do T.eq(H.b64(k), v, "base64 of '" .. k .. "'") end
T.eq(H.sha256_b64(""), "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=", "sha256 of '' in base64")
T.eq(H.sha256_b64("abc"), "ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0=", "sha256 of 'abc' in base64")

-- cut at a UTF-8 boundary
T.eq(H.cut("abcdef", 10), "abcdef", "short strings are kept")
T.eq(H.cut("abcdef", 3), "abc…", "cut with an ellipsis")
T.eq(H.cut("aé", 2), "a…", "not inside a two-byte character")
T.eq(H.cut("a€b", 3), "a…", "not inside a three-byte character")
T.eq(H.cut("abcdef", 2, function(n) return "+" .. n end), "ab+4", "tail gets the bytes left")

-- the page: one CSP with the script's hash; the data after the body
local page = H.page { title = "t<", body = "<p>x</p>", data = { a = "</script>" }, script = "var x = 1;" }
local csp = page:match('http%-equiv="Content%-Security%-Policy" content="([^"]+)"')
T.ok(csp and csp:find("default-src 'none'", 1, true), "CSP: default-src 'none'")
T.ok(csp and csp:find("script-src 'sha256-" .. H.sha256_b64("var x = 1;") .. "'", 1, true), "CSP: the script's hash")
T.ok(csp and csp:find("style-src 'sha256-" .. H.sha256_b64(page:match("<style>(.-)</style>")) .. "'", 1, true),
    "CSP: the style element's hash")
T.ok(csp and not csp:find("unsafe", 1, true), "CSP: nothing unsafe (no unsafe-inline, no unsafe-eval)")
T.ok(page:find("<title>t&lt;</title>", 1, true), "the title is escaped")
local _, closers = page:gsub("</script>", "")
T.eq(closers, 2, "the data cannot close its element")
T.ok(page:find('<script type="application/json" id="data">{"a":"\\u003c/script\\u003e"}</script>', 1, true),
    "the data block")

-- SVG pieces
T.ok(H.bar(0.5, 0.4, 0.6):find('width="80.0"', 1, true), "bar: half of 160")
T.eq(H.bar(nil), "", "bar of nothing")
T.ok(H.hist({ { name = "a<", values = { 1, 2, 3 } } }):find("a&lt;: 1 in", 1, true), "hist: names escaped")
T.ok(H.hist({ { name = "a", values = {} } }):find("no values", 1, true), "hist of nothing")
T.eq(H.line({ 1 }), "", "line needs two points")

T.done()
