-- tests/evals/test-utf8.lua: the UTF-8 check of dataset lines,
-- core.utf8_valid (core/utf8.c): the verdict and the position utf8.len
-- gives, on each kind of invalid sequence and on random strings; and
-- jsonl() with it: a character across the 64 KiB read blocks is read, an
-- invalid one at a block's edge, at a line's end or at the file's end is
-- refused naming FILE:LINE.
local T = require "tests.lib.tap"
local core = require "ollaeval.core"
local format = string.format

local function same(s, what)
    local a1, a2 = utf8.len(s)
    local b1, b2 = core.utf8_valid(s)
    T.ok((a1 ~= nil) == (b1 == true) and a2 == b2,
        format("%s: %s (utf8.len: %s, %s)", what, b1 and "valid" or "invalid at " .. tostring(b2), tostring(a1), tostring(a2)))
end

same("", "the empty string")
same("plain ASCII, longer than a word of eight bytes", "ASCII")
same("x\0y", "a NUL byte is ASCII")
same("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xf4\x8f\xbf\xbf", "two, three and four bytes, U+10FFFF")
same("abcdefgh\x80", "a lone continuation byte after a word of ASCII")
same("\xc0\xaf", "an overlong two-byte form")
same("\xe0\x9f\xbf", "an overlong three-byte form")
same("\xf0\x8f\xbf\xbf", "an overlong four-byte form")
same("ok \xed\xa0\x80", "a surrogate (U+D800)")
same("ok \xed\xbf\xbf", "a surrogate (U+DFFF)")
same("\xf4\x90\x80\x80", "above U+10FFFF")
same("\xf8\x88\x80\x80\x80", "a five-byte form")
same("\xfc\x84\x80\x80\x80\x80", "a six-byte form")
same("\xff", "0xFF")
same("abcdefghijklmn\xe2\x82", "a sequence cut by the end")
same("\xe2\x82x", "a sequence cut by an ASCII byte")
same("1234567\xc3\xa9 and then \xe9", "valid, then invalid further on")

-- random strings: ASCII runs, stray high bytes and encoded code points
math.randomseed(14)
local mismatch, invalid, N = 0, 0, 20000
for _ = 1, N do
    local t = {}
    for j = 1, math.random(0, 40) do
        local r = math.random()
        if r < 0.6 then t[j] = string.rep(string.char(math.random(0, 127)), math.random(1, 12))
        elseif r < 0.75 then t[j] = string.char(math.random(0x80, 0xff))
        else t[j] = utf8.char(math.random(0, 0x10ffff)) end
    end
    local s = table.concat(t)
    local a1, a2 = utf8.len(s)
    local b1, b2 = core.utf8_valid(s)
    if (a1 ~= nil) ~= (b1 == true) or a2 ~= b2 then mismatch = mismatch + 1 end
    if not a1 then invalid = invalid + 1 end
end
T.eq(mismatch, 0, format("%d random strings (%d invalid): the same verdict and position as utf8.len", N, invalid))
T.ok(invalid > N / 10 and invalid < N - N / 10, "...of both kinds")

-- jsonl() at the 64 KiB blocks of its reads
local dir = os.tmpname()
os.remove(dir)
os.execute("mkdir -p " .. dir)
local path = dir .. "/u.jsonl"
local function write(text)
    local f = assert(io.open(path, "wb"))
    f:write(text)
    f:close()
end
local function read_all()
    local n = 0
    local ok, err = pcall(function() for _ in jsonl(path) do n = n + 1 end end)
    return ok and n or nil, err
end
local BLOCK = 65536
-- a line {"q":"xxx...<char>"}, after `before` (the lines ahead of it), with
-- the char's first byte at offset `at` (0-based) of the file
local function line_at(before, at, char)
    local head = '{"q":"'
    return before .. head .. string.rep("x", at - #before - #head) .. char .. '"}\n'
end
for k = 1, 3 do
    local euro = "\xe2\x82\xac"
    write(line_at("", BLOCK - k, euro) .. '{"q":"next"}\n')
    T.eq(read_all(), 2, format("a three-byte character with %d byte(s) before the block's edge is read", k))
end
write(line_at('{"q":"a"}\n', BLOCK - 1, "\xe2\x82") .. '{"q":"b"}\n')
local n, err = read_all()
T.ok(n == nil and err:find(path .. ":2: invalid UTF-8", 1, true), "a sequence cut short at the block's edge: FILE:2: invalid UTF-8")
write(line_at('{"q":"a"}\n{"q":"b"}\n', BLOCK, "\xed\xa0\x80"))
n, err = read_all()
T.ok(n == nil and err:find(path .. ":3: invalid UTF-8", 1, true), "a surrogate just past the block's edge: FILE:3: invalid UTF-8")
write('{"q":"a"}\n{"q":"\xc3"}\n')
n, err = read_all()
T.ok(n == nil and err:find(path .. ":2: invalid UTF-8", 1, true), "a sequence cut by the line's end: FILE:2")
write('{"q":"a"}\n{"q":"\xf0\x9f\x98')
n, err = read_all()
T.ok(n == nil and err:find(path .. ":2: invalid UTF-8", 1, true), "a sequence cut by the file's end: FILE:2")
write('\239\187\191{"q":"caf\xc3\xa9"}\r\n{"q":"\xf0\x9f\x98\x80"}')
T.eq(read_all(), 2, "a BOM, CRLF and characters of two and four bytes: read")
os.execute("rm -rf " .. dir)
T.done()
