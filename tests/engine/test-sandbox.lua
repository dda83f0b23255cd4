-- test-sandbox.lua: the sandbox's primitives from trusted Lua (this file
-- runs with --trust, as every Lua test): the budget of core.sbx_guard ends
-- a spinning callback and pcall inside cannot absorb it; the next callback
-- gets a fresh budget; waiting (sleep) does not count against it, and the
-- engine's code called through core.sbx_unguard does not either; the heap
-- cap; the record of modules. The escapes themselves, sandboxed, are
-- tests/e2e/test-sandbox.sh.
local T = require "tests.lib.tap"
local core = require "ollaeval.core"
local guard, unguard = core.sbx_guard, core.sbx_unguard

local old = core.sbx_config { cpu = 0.2 }
local function spin() while true do end end

local ok, err = pcall(guard, function() repeat pcall(spin) until false end)
T.ok(not ok and err:find("CPU budget of 0.2 s") ~= nil and err:find("test%-sandbox.lua:%d+") ~= nil,
    "a spin under pcall ends with the budget's message, naming file:line: " .. tostring(err):match("[^\n]*"))
T.eq(select(2, pcall(guard, function() return "fresh" end)), "fresh", "the next callback has a fresh budget")
ok, err = pcall(guard, function() sleep(300) return "waited" end)
T.eq(err, "waited", "300 ms parked in sleep() does not count against a 0.2 s budget")
ok, err = pcall(guard, function()
    return unguard(function() local t = os.clock() while os.clock() - t < 0.3 do end return "engine" end)
end)
T.eq(err, "engine", "0.3 s of the engine's own work (sbx_unguard) does not count")
ok, err = pcall(guard, function() error(setmetatable({}, { __tostring = spin })) end)
T.ok(not ok and err:find("CPU budget") ~= nil, "an error object whose __tostring spins is stringified within the budget")
ok, err = pcall(guard, function() error(setmetatable({}, { __tostring = function() return "custom" end })) end)
T.ok(not ok and err:find("^custom") ~= nil, "an error object is stringified by its __tostring")

-- the sandbox's pcall: its results pass through core.sbx_after
local function spcall(f, ...) return core.sbx_after(pcall(f, ...)) end
core.sbx_config { mem = 32, cpu = 30 }
ok, err = pcall(guard, function()
    local t = {}
    repeat spcall(function() while true do t[#t + 1] = ("x"):rep(1e6) .. #t end end) until false
end)
T.ok(not ok and err:find("capped at 32 MiB") ~= nil, "the heap cap ends a growth bomb retried under pcall: "
    .. tostring(err):match("[^\n]*"))
local used, cap = core.sbx_heap()
T.ok(used < cap / 2, "its garbage is collected at once (" .. used // 1048576 .. " MiB in use)")
core.sbx_config { cpu = old.cpu, mem = old.mem }

local seen = {}
for _, m in ipairs(ollaeval.modules()) do seen[m.name] = m end
T.eq(seen["ollaeval.chat"] and seen["ollaeval.chat"].origin, "embedded", "modules(): the engine's modules, embedded")
T.eq(seen["tests.lib.tap"] and seen["tests.lib.tap"].origin, "path", "modules(): tests.lib.tap from the current folder (trusted)")
local f = io.open("tests/lib/tap.lua", "rb")
T.eq(seen["tests.lib.tap"] and seen["tests.lib.tap"].sha256, ollaeval.sha256(f:read("a")), "...with its sha256")
f:close()
-- the embedded modules are compiled at build time (core/tools/embed.c): each
-- records its source's sha256, as the source embedded before did (resume
-- compares it), and keeps its chunk name and line information
local nembedded, wrong = 0, {}
for name, m in pairs(seen) do
    if m.origin == "embedded" then
        nembedded = nembedded + 1
        if m.sha256 ~= ollaeval.sha256_file(m.path) then wrong[#wrong + 1] = name end
    end
end
T.ok(nembedded >= 10 and #wrong == 0, string.format("modules(): %d embedded modules, each with its source file's sha256%s",
    nembedded, #wrong > 0 and " (not: " .. table.concat(wrong, ", ") .. ")" or ""))
local numeric = require "evals.numeric"
local info = debug.getinfo(numeric.normalize, "S")
local at
local n = 0
for line in io.lines("evals/numeric.lua") do
    n = n + 1
    if line:find("^function M%.normalize%(") then at = n end
end
T.eq(info.source, "@evals/numeric.lua (embedded)", "an embedded module's functions have its chunk name")
T.eq(info.linedefined, at, "...and the line numbers of its source (function M.normalize at line " .. tostring(at) .. ")")
ok, err = pcall(numeric._fraction, 1, nil, 2)
T.ok(not ok and err:find("^evals/numeric%.lua %(embedded%):%d+: ") ~= nil and err:find("local 'p'", 1, true) ~= nil,
    "an error inside one names FILE (embedded):LINE and the local: " .. tostring(err))
local chunk, file, sha = core.sbx_embedded("evals.numeric")
T.ok(chunk:sub(1, 4) == "\27Lua" and file == "evals/numeric.lua" and sha == ollaeval.sha256_file(file),
    "core.sbx_embedded: the compiled chunk, its file and its source's sha256")
T.ok(select(2, load(chunk, "x", "t")):find("binary chunk", 1, true) ~= nil, "...which a text-only load refuses")
-- the copies at the boundary (core.sbx_copier): a table is copied without
-- its metatable, functions go through conv, shared and cyclic tables stay
-- shared, a table memo gives is used as it is (raw: copied all the same)
local wrapped = {}
local function conv(f)
    wrapped[f] = wrapped[f] or function(...) return "wrapped", f(...) end
    return wrapped[f]
end
local shared = { 1, 2 }
local key = { "k" }
local orig = setmetatable({ a = shared, b = shared, f = math.abs, [key] = "v", list = { "x", "y", { "z" } }, n = 1.5 },
    { __index = function() return "meta" end })
orig.self = orig
local const = { c = 1 }
local const_copy = { c = "the memo's" }
orig.const = const
local copy = core.sbx_copier(conv, function(t) if t == const then return const_copy end end)
local c = copy(orig)
T.ok(c ~= orig and getmetatable(c) == nil and c.missing == nil, "a copy, without the metatable")
T.ok(c.a ~= shared and c.a == c.b and c.a[1] == 1 and c.a[2] == 2, "a table shared twice is copied once and stays shared")
T.ok(c.self == c, "a cycle stays a cycle, in the copy")
T.eq(select(1, c.f(-3)), "wrapped", "a function goes through conv")
T.eq(select(2, c.f(-3)), 3, "the converted function calls the original")
local ck
for k, v in pairs(c) do if type(k) == "table" then ck = k T.eq(v, "v", "a table key's value") end end
T.ok(ck and ck ~= key and ck[1] == "k", "a table key is copied too")
T.ok(c.list[3][1] == "z" and #c.list == 3 and c.n == 1.5, "nested lists and numbers as they were")
T.ok(c.const == const_copy, "a nested table the memo has is the memo's")
T.ok(copy(const) == const_copy and copy(const, true) ~= const_copy and copy(const, true).c == 1,
    "at the top too, unless raw")
T.eq(copy("s"), "s", "a string crosses as it is")
T.eq(select(1, copy(print)()), "wrapped", "a function at the top goes through conv")
local deep = {}
local t = deep
for _ = 1, 20000 do t.next = {} t = t.next end
local okd, errd = pcall(copy, deep)
T.ok(not okd and tostring(errd):find("nested more than") ~= nil, "a table nested 20,000 deep is refused, not a crash")

T.done()
