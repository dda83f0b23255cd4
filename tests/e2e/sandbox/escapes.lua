-- escapes.lua: a sandboxed script that tries the escapes of docs/suites.md
-- ("The sandbox") one by one, each inside pcall, and prints a TAP line for
-- each: "ok" when it was refused cleanly. Run by tests/e2e/test-sandbox.sh
-- (sandboxed: no --trust); the ones that end a whole callback (budgets) run
-- as items of map, so the run must go on after each. The arguments pick a
-- part, each a run of its own: `stacks` (section 9's stack overflows, with a
-- larger budget), `budgets` (section 14's looping callbacks, with a small
-- --lua-cpu: each spends all of it) or nothing (the rest).
local n = 0
local format = string.format
local cjson = require "cjson"
local function tap(good, what, extra)
    n = n + 1
    print(format("%s %d - %s%s", good and "ok" or "not ok", n, what, extra and ("  # " .. extra) or ""))
end
-- refused(what, fn, pattern): fn must raise (or return nil/false) with a message matching pattern
local function refused(what, fn, pattern)
    local ok, a, b = pcall(fn)
    local msg = ok and (a == nil or a == false) and tostring(b) or (not ok and tostring(a)) or nil
    tap(msg ~= nil and (pattern == nil or msg:find(pattern) ~= nil), what, msg and msg:sub(1, 160) or "it worked")
end

-- 9. stacks: with `stacks` as the argument, only these (a run of their own,
-- with a larger budget: filling a Lua stack takes a while under ASan)
if arg[1] == "stacks" then
    local cases = {
        { "infinite recursion", function() local function f() return 1 + f() end return f() end, "stack overflow" },
        { "recursion through coroutine.wrap", function()
            local function f() return coroutine.wrap(f)() end
            return f()
        end, "overflow" },
    }
    local failed = {}
    map(cases, function(c) c[2]() end, { concurrency = 1, on_error = function(_, i, tb) failed[i] = tb end })
    for i, c in ipairs(cases) do
        tap(failed[i] ~= nil and failed[i]:find(c[3]) ~= nil, c[1] .. ": the item fails, the run goes on",
            failed[i] and failed[i]:match("[^\n]*"))
    end
    return 0
end

-- 14. hostile error objects and the budgets: items of map, each its own
-- callback that must fail while the run goes on
local function items_fail(cases)
    local failed = {}
    map(cases, function(c) c[2]() end, {
        concurrency = 1,
        on_error = function(c, i, tb) failed[i] = tostring(tb) end,
    })
    for i, c in ipairs(cases) do
        local msg = failed[i]
        local found = false
        for alt in c[3]:gmatch("[^|]+") do found = found or (msg ~= nil and msg:find(alt) ~= nil) end
        tap(found, c[1] .. ": the item fails, the run goes on", msg and msg:match("[^\n]*"))
    end
end
-- the CPU budget: with `budgets` as the argument, only these (a run of its
-- own with a small --lua-cpu: each spends all of it)
if arg[1] == "budgets" then
    local loop = function() while true do end end
    items_fail {
        { "while true do end", loop, "CPU budget" },
        { "pcall cannot absorb the kill", function() repeat pcall(loop) until false end, "CPU budget" },
        { "...nor a coroutine.wrap", function() repeat pcall(coroutine.wrap(loop)) until false end, "CPU budget" },
        { "a looping __lt under table.sort", function()
            local mt = { __lt = function() while true do end end }
            table.sort({ setmetatable({}, mt), setmetatable({}, mt), setmetatable({}, mt) })
        end, "CPU budget" },
        { "a looping __tostring under string.format", function()
            return ("%s"):format(setmetatable({}, { __tostring = loop }))
        end, "CPU budget" },
        { "a looping __index", function() return setmetatable({}, { __index = loop }).x end, "CPU budget" },
        { "an error object with a looping __tostring", function()
            error(setmetatable({}, { __tostring = loop }))
        end, "CPU budget" },
    }
    print("1.." .. n)
    return 0
end

local GRANT = "%-%-trust"
-- 1. the system
refused("io.open", function() return io.open("/etc/passwd") end, "io is not available.*" .. GRANT)
refused("io.popen", function() return io.popen("id") end, "io is not available")
refused("os.execute", function() return os.execute("true") end, "os.execute is not available.*" .. GRANT)
refused("os.getenv", function() return os.getenv("HOME") end, "escapes.lua:%d+: os.getenv is not available")
refused("os.exit", function() return os.exit(0) end, "os.exit is not available")
refused("os.remove", function() return os.remove("/tmp/x") end, "os.remove")
refused("os.setlocale", function() return os.setlocale("de_DE") end, "os.setlocale")
refused("package.loadlib", function() return package.loadlib("libc.so.6", "system") end, "package is not available")
refused("require 'os'", function() return require "os" end, "not found")
refused("require 'io'", function() return require "io" end, "not found")
refused("debug.getregistry", function() return debug.getregistry() end, "debug is not available")
refused("dofile", function() return dofile("/etc/passwd") end, "dofile")
refused("loadfile", function() return loadfile("/etc/passwd") end, "loadfile")
refused("http{}", function() return http { url = "http://127.0.0.1:9/" } end, "http is not available.*" .. GRANT)
refused("require 'ollaeval.core'", function() return require "ollaeval.core" end, "engine's own")
refused("require 'evals.data'", function() return require "evals.data" end, "evals.data.*files")
-- 2. bytecode
refused("string.dump", function() return string.dump(print) end, "string.dump")
refused("load of a binary chunk", function() return load("\27Lua\84\0") end, "binary chunk")
refused("load(s, n, 'b') is still text-only", function() return load("\27Lua\84\0", "x", "b") end, "binary")
refused("require of a luac module beside the script", function() return require "compiled" end, "luac")
-- 3. load's environment
do
    x_marker = "suite"
    local f = load("return x_marker")
    tap(f and f() == "suite", "load without env sees the script's env")
    refused("load with a non-table env", function() return load("return 1", "n", "t", 42) end, "must be a table")
    local g = load("return io")
    refused("load'ed code has no io either", g, "io is not available")
end
-- 4. the string metatable and the libraries
do
    tap(getmetatable("") == false, "getmetatable('') is false")
    refused("rawset on the string metatable", function() return rawset(getmetatable(""), "__index", {}) end)
    string.format = function() return "patched" end
    string.upper = function() return "patched" end
    tap(("a"):upper() == "A", "patching the script's string copy leaves string methods alone")
    tap(ollaeval.sha256("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", "the engine's functions still work")
end
-- 5. the engine's API
refused("ollaeval.chat = f", function() ollaeval.chat = print end, "read%-only")
refused("rawset(ollaeval, ...)", function() return rawset(ollaeval, "chat", print) end, "table expected")
refused("setmetatable(ollaeval, {})", function() return setmetatable(ollaeval, {}) end, "table expected")
refused("ollaeval.options.model = x", function() ollaeval.options.model = "x" end, "read%-only")
refused("ollaeval has no headers_for (API keys)", function() return ollaeval.headers_for("openai") end)
refused("chat{endpoint=another}", function() return chat { endpoint = "http://example.com", messages = { { role = "user", content = "x" } } } end,
    "endpoints given with %-e")
-- 9. stacks
refused("deep cjson.decode", function() return cjson.decode(string.rep("[", 100000)) end, "nested")
-- 10. the collector
refused("collectgarbage('stop')", function() return collectgarbage("stop") end, "count")
refused("collectgarbage('generational')", function() return collectgarbage("generational") end, "count")
refused("collectgarbage('incremental')", function() return collectgarbage("incremental", 100) end, "count")
tap(type(collectgarbage("count")) == "number", "collectgarbage('count') works")
refused("a __gc metatable", function() return setmetatable({}, { __gc = function() end }) end, "__gc")
-- 11. coroutines
refused("yield inside a table.sort comparator", function()
    table.sort({ 3, 2, 1 }, function(a, b) sleep(1) return a < b end)
end, "yield")
do
    local victim
    local t = spawn(function() victim = coroutine.running() sleep(50) return "slept" end)
    sleep(1)
    refused("resuming another task's coroutine", function() return coroutine.resume(victim) end, "foreign")
    local ok, r = wait(t)
    tap(ok and r == "slept", "...and that task finishes normally")
end
-- 12. paths
refused("require '../../etc/passwd'", function() return require "../../etc/passwd" end, "dotted name")
refused("require '/abs/x'", function() return require "/abs/x" end, "dotted name")
refused("require of a symlink leading out", function() return require "escape" end, "leads out")
refused("jsonl('~/.ssh/id_rsa')", function() return jsonl("~/.ssh/id_rsa") end, "own folder")
refused("jsonl('/etc/passwd')", function() return jsonl("/etc/passwd") end, "own folder")
tap(pcall(jsonl, (ollaeval.script:gsub("[^/]*$", "")) .. "data.jsonl"), "jsonl of a file in its own folder works")
tap(require("helper").twice(21) == 42, "require of a module beside the script works")
-- 13. output
do
    warn("@on")
    tap(true, "warn('@on') is ignored (no output expected on stderr)")
end
-- 14. (the memory cap; the CPU budget is the `budgets` run's)
items_fail {
    { "a table-growth bomb with pcall retries", function()
        local t = {}
        repeat pcall(function() while true do t[#t + 1] = ("x"):rep(1e6) .. #t end end) until false
    end, "not enough memory|CPU budget" }, -- the budget may run out first on a loaded machine
    { "string.rep('x', 2^40)", function() return ("x"):rep(2 ^ 40) end, "too large" },
    { "cjson.encode of a huge string", function() return cjson.encode(("x"):rep(4e8)) end, "memory" },
}
tap(#("x"):rep(1e7) == 1e7, "the heap is usable again after the memory bomb")
print("1.." .. n)
