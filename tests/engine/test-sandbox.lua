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
T.done()
