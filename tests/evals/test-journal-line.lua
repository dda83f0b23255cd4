-- tests/evals/test-journal-line.lua: the journal line of a record
-- (journal.line; core.json_line and json_write, core/jsonstr.c). The oracle is
-- lua-cjson itself: a text json_line escapes is byte for byte what
-- journal.encode (lua-cjson, "\/" made "/") writes for it, for every byte
-- at every place around the 16-byte blocks, random texts, UTF-8 and
-- invalid UTF-8; a record's line decodes to the record; the record is
-- left as it was, even when lua-cjson raises; json_write writes the same
-- bytes and returns nil, the system's message when the write fails; misuse
-- raises.
local T = require "tests.lib.tap"
local J = require "evals.journal"
local cjson = require "cjson"
local json_line = require("ollaeval.core").json_line

local char, rep, format = string.char, string.rep, string.format

-- what lua-cjson writes for s as a value, "/" unescaped
local function want(s) return J.encode(s) end

local function show(s) return (s:gsub("[^%w ]", function(c) return format("\\x%02x", c:byte()) end)) end

-- every byte, at every place in texts around the 16-byte blocks, as a
-- member and as a key
local bad = nil
for len = 1, 40 do
    for at = 1, len do
        for b = 0, 255 do
            local s = rep("a", at - 1) .. char(b) .. rep("b", len - at)
            local line = json_line("{}", "k", s)
            if line ~= '{"k":' .. want(s) .. "}\n" or cjson.decode(line).k ~= s
                or json_line("{}", s, "v") ~= "{" .. want(s) .. ':"v"}\n' then
                bad = bad or format("byte %d at %d of %d: %s", b, at, len, show(line))
            end
        end
    end
end
T.ok(bad == nil, "every byte at every place of 1..40-byte texts: lua-cjson's escaping, '/' kept" ..
    (bad and (": " .. bad) or ""))

-- random texts: runs of plain text, control bytes, quotes, backslashes,
-- slashes and high bytes, of 0 to 600 bytes
local seed = 12345
local function rnd(n)
    seed = (seed * 1103515245 + 12345) % 2147483648
    return seed % n
end
local pools = { "abcdefghij KLMNOP 0123456789.,;", "\0\1\8\9\10\12\13\27\31\127", "\"\\/", "\128\191\192\255\226\130\172" }
bad = nil
for i = 1, 3000 do
    local parts, n = {}, rnd(600)
    while n > 0 do
        local pool = pools[rnd(#pools) + 1]
        local k = math.min(n, rnd(40) + 1)
        for _ = 1, k do
            local c = rnd(#pool) + 1
            parts[#parts + 1] = pool:sub(c, c)
        end
        n = n - k
    end
    local s = table.concat(parts)
    local line = json_line("{}", "t", s)
    if line ~= '{"t":' .. want(s) .. "}\n" or cjson.decode(line).t ~= s then
        bad = bad or format("text %d: %s", i, show(s))
    end
end
T.ok(bad == nil, "3,000 random texts: byte for byte lua-cjson's, and they decode back" .. (bad and (": " .. bad) or ""))

-- UTF-8, and invalid UTF-8 as a server may send it: bytes pass as they are
local texts = {
    "héllo wörld – “quotes” 日本語 😀 ∑ ½",
    "\xff\xfe raw", "cut \xc3", "cut \xe2\x82", "surrogate \xed\xa0\x80", "overlong slash \xc0\xaf",
    "tab\tnl\nnul\0del\127esc\27 end", "a/b\\/c//\\\\", "",
}
for _, s in ipairs(texts) do
    local long = rep(s .. " ", 20)
    local line = json_line("{}", "s", long)
    T.ok(line == '{"s":' .. want(long) .. "}\n" and cjson.decode(line).s == long, "text " .. show(s) .. ": as lua-cjson, round trip")
end

-- the head: lua-cjson's "\/" made "/" (every "/" was escaped), its other
-- escapes kept, the members after its own
local head = cjson.encode({ id = "a/b\\/c\\", url = "http://x//y/" })
local line = json_line(head, "content", "x/y")
T.eq(line, J.encode({ id = "a/b\\/c\\", url = "http://x//y/" }):sub(1, -2) .. ',"content":"x/y"}\n',
    "head: '\\/' made '/', the member added at the end")
T.eq(json_line("{}"), "{}\n", "an empty object without members")
T.eq(json_line("{}", "a", "1", "b", "2"), '{"a":"1","b":"2"}\n', "members after an empty head: no leading comma")
T.eq(json_line('{"x":1}', "a", "1", "b", "2"), '{"x":1,"a":"1","b":"2"}\n', "...after a head's members: a comma each")
T.ok(not pcall(json_line, "[1]", "a", "b"), "a head that is not an object raises")
T.ok(not pcall(json_line, "{}", "a"), "a key without its text raises")
T.ok(not pcall(json_line, "{}", "a", 1), "a text that is not a string raises")

-- a text over the 1 MiB the buffer keeps: whole, and the next line too
local big = rep("x\ny\"z/", 400000)
T.ok(json_line("{}", "b", big) == '{"b":' .. want(big) .. "}\n", "a 2.8 MB text: whole")
T.eq(json_line("{}", "s", "ok"), '{"s":"ok"}\n', "...and a small line after it")

-- members whose text is nil or false are left out
T.eq(json_line('{"x":1}', "a", nil, "b", "2"), '{"x":1,"b":"2"}\n', "a member without its text is left out")
T.eq(json_line("{}", "a", false, "b", "2"), '{"b":"2"}\n', "...first or not: no stray comma")
T.ok(not pcall(json_line, "{}", 1, "x"), "a key that is not a string raises")

-- json_write: the same line written to a file at once, its length returned
local json_write = require("ollaeval.core").json_write
local tmp = os.tmpname()
local f = assert(io.open(tmp, "wb"))
f:setvbuf("no")
local text = rep("a/\"\1\n", 100)
local n1 = json_write(f, '{"id":"a\\/b"}', "content", text)
local n2 = json_write(f, "{}", "thinking", nil, "content", "x")
f:close()
local rf = assert(io.open(tmp, "rb"))
local got = rf:read("a")
rf:close()
os.remove(tmp)
local l1 = json_line('{"id":"a\\/b"}', "content", text)
T.ok(got == l1 .. '{"content":"x"}\n' and n1 == #l1 and n2 == #'{"content":"x"}\n', "json_write: json_line's bytes, and their count")
T.ok(not pcall(json_write, f, "{}"), "json_write to a closed file raises")
local full = assert(io.open("/dev/full", "wb"))
full:setvbuf("no")
local nf, ferr = json_write(full, "{}", "content", text)
T.ok(nf == nil and type(ferr) == "string" and ferr:find("No space", 1, true), "a failed write: nil, the system's message (" .. tostring(ferr) .. ")")
full:close()

-- journal.line: the same value as encode(rec), the texts last, the record
-- left as it was
local function same(a, b)
    if type(a) ~= type(b) then return false end
    if type(a) ~= "table" then return a == b end
    for k, v in pairs(a) do if not same(v, b[k]) then return false end end
    for k in pairs(b) do if a[k] == nil then return false end end
    return true
end
local thinking = rep("Let me think: 3/4 of \"12\" is 9.\n\n", 60)
local content = "So 12 \\cdot 3/4 = 9 \u{2014} done.\n#### 9" .. rep(" ", 64)
local rec = { id = "gsm8k-test-0001", index = 1, gold = "9", messages = { { role = "user", content = "What is 3/4 of 12?" } },
    thinking = thinking, content = content, answer = "9", correct = true, score = 1, latency_ms = 0.137,
    prompt_tokens = 109.0, completion_tokens = 199, span = { 108, 109 },
    calls = { { model = "qwen3:8b", endpoint = "http://127.0.0.1:11434", latency_ms = 0.137, attempts = 1 } } }
local before = cjson.decode(J.encode(rec))
local l = J.line(rec)
T.ok(l:sub(-1) == "\n" and not l:sub(1, -2):find("\n", 1, true), "line: one line, ending in \\n")
T.ok(same(cjson.decode(l), before), "line: decodes to the record")
T.ok(not l:find("\\/", 1, true), "line: no '\\/'")
T.ok(l:find(',"thinking":' .. want(thinking) .. ',"content":' .. want(content) .. "}\n", 1, true),
    "line: thinking and content last, escaped as lua-cjson")
T.ok(rec.thinking == thinking and rec.content == content and same(cjson.decode(J.encode(rec)), before),
    "line: the record is left as it was")
local short = { id = 7, content = "#### 9", thinking = "" }
T.eq(J.line(short), J.encode(short) .. "\n", "short texts: lua-cjson's line as it is")
local only = { id = "t", thinking = thinking }
T.ok(same(cjson.decode(J.line(only)), { id = "t", thinking = thinking }), "thinking alone")
only = { content = content }
T.eq(J.line(only), '{"content":' .. want(content) .. "}\n", "content alone, nothing else")
local mixed = { 1, 2, content = content }
T.ok(same(cjson.decode(J.line(mixed)), cjson.decode(J.encode(mixed))), "a table that is an array without its text: as encode")
local broken = { id = "f", content = content, thinking = thinking, f = print }
T.ok(not pcall(J.line, broken), "a value lua-cjson cannot encode raises")
T.ok(broken.content == content and broken.thinking == thinking, "...and the record keeps its texts")
T.done()
