-- test-sandbox.lua: the sandbox's primitives from trusted Lua (this file
-- runs with --trust, as every Lua test): the budget of core.sbx_guard ends
-- a spinning callback and pcall inside cannot absorb it; the next callback
-- gets a fresh budget; waiting (sleep) does not count against it, and the
-- engine's code called through core.sbx_unguard does not either; the heap
-- cap; the record of modules; the copies at the boundary and the
-- crossings (core.sbx_copier, sbx_wrap, sbx_boundary). The escapes
-- themselves, sandboxed, are tests/e2e/test-sandbox.sh.
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

local e = {}
local ce = copy(e)
T.ok(type(ce) == "table" and ce ~= e and next(ce) == nil, "an empty table is copied to an empty table")
-- wide and shared: more entries than one pass holds, more tables than the
-- seen slots hold
local wide, parts = {}, {}
for i = 1, 20 do parts[i] = { i } end
for i = 1, 20 do wide[i], wide[i + 20], wide["k" .. i] = parts[i], parts[i], i end
local cw = copy(wide)
local same, fresh, keys = true, true, true
for i = 1, 20 do
    same = same and cw[i] == cw[i + 20] and cw[i][1] == i
    fresh = fresh and cw[i] ~= parts[i]
    keys = keys and cw["k" .. i] == i
end
T.ok(same and fresh and keys and #cw == 40, "60 entries and 20 tables each met twice: copied, still shared")

-- memo as a table: true = copy once and keep; false = handed over
local consts = {}
local copy2 = core.sbx_copier(conv, consts)
local once = { n = 1 }
consts[once] = true
local c1 = copy2({ a = once })
T.ok(c1.a ~= once and c1.a.n == 1 and copy2(once) == c1.a and consts[once] == c1.a,
    "a constant is copied the first time it crosses, and that copy is given after")
local inner = { 1 }
local given = { f = math.abs, t = inner, s = "x" }
given.self = given
consts[given] = false
local g = copy2(given)
T.ok(g == given and g.s == "x" and g.self == given and consts[given] == nil, "a table handed over crosses as itself")
T.ok(g.t ~= inner and g.t[1] == 1 and select(1, g.f(-1)) == "wrapped", "...its tables copied and functions converted in place")

-- crossings: core.sbx_wrap(f, guarded, copy_in, copy_out)
local seen_arg
local inside = function(t) seen_arg = t return t, "s" end
local w = core.sbx_wrap(inside, true, copy, copy)
local arg_t = { 1 }
local r1, r2 = w(arg_t)
T.ok(seen_arg ~= arg_t and seen_arg[1] == 1 and r1 ~= seen_arg and r1[1] == 1 and r2 == "s",
    "a crossing copies its arguments in and its results out")
local fu, gu = core.sbx_unwrap(w)
T.ok(fu == inside and gu == true and core.sbx_unwrap(print) == nil, "sbx_unwrap gives a crossing's function back")
core.sbx_config { cpu = 0.2 }
local spinner = core.sbx_wrap(spin, true, copy, copy)
ok, err = pcall(spinner)
T.ok(not ok and tostring(err):find("CPU budget of 0.2 s") ~= nil, "a guarded crossing runs under the budget")
local engine = core.sbx_wrap(function() local t = os.clock() while os.clock() - t < 0.3 do end return "engine" end,
    false, copy, copy)
T.eq(select(2, pcall(guard, function() return engine() end)), "engine",
    "0.3 s in an engine crossing does not count against a 0.2 s budget")
-- a callback parked inside its budget while other callbacks run and trip
local parked = spawn(function() return guard(function() sleep(300) return "parked" end) end)
sleep(1)
ok, err = pcall(guard, spin)
local okp, rp = wait(parked)
T.ok(not ok and okp and rp == "parked", "a callback parked in its budget is not tripped by another's")
T.eq(select(2, pcall(guard, function() return "fresh again" end)), "fresh again", "...and the next gets a fresh budget")
-- the boundary: core.sbx_boundary(constants) -> to_engine, to_suite, guarded, entry
local consts3 = {}
local to_engine, to_suite, guarded, entry = core.sbx_boundary(consts3)
local efn = function(t) return t end
local e1 = entry(efn)
T.ok(e1 ~= efn and entry(efn) == e1 and entry(e1) == e1, "an engine function has one crossing into the script")
T.ok(guarded(e1) == efn, "...and handed back to the engine it is the function itself")
local sfn = function(t) t.x = 1 return t end
local g1 = guarded(sfn)
T.ok(g1 ~= sfn and guarded(sfn) == g1 and guarded(g1) == g1 and entry(g1) == g1, "a script's function has one guarded crossing")
local given_t = { y = 2 }
local back = g1(given_t)
T.ok(given_t.x == nil and back ~= given_t and back.x == 1 and back.y == 2, "the script sees a copy and the engine gets a copy back")
local pool = { { q = 1 } }
consts3[pool] = true
local sp = to_suite({ pool = pool })
T.ok(sp.pool ~= pool and to_suite(pool) == sp.pool and to_suite(pool, true) ~= sp.pool, "to_suite gives a constant's one copy (raw: a new one)")
local te = to_engine({ f = sfn, e = e1 })
T.ok(te.f == g1 and te.e == efn, "to_engine wraps a script's function and unwraps an engine's")
T.ok(select(1, pcall(guarded(spin))) == false, "a guarded function runs under the budget")
core.sbx_config { cpu = old.cpu }

T.done()
