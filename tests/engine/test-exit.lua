-- test-exit.lua: leaving a run early. os.exit from any task ends the run
-- through the engine's shutdown (the Lua state is closed: __gc finalizers
-- run, files are flushed), with its status; OLLAEVAL_CHECK_IDLE reports what
-- a script leaves behind. Each case runs the real binary on a small script.
local T = require "tests.lib.tap"

local bin = os.getenv("OLLAEVAL") or "./ollaeval"

local function q(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end

-- run(src, env) -> exit status, stdout+stderr
local function run(src, env)
    local path = os.tmpname() .. ".lua"
    local f = assert(io.open(path, "w"))
    f:write(src)
    f:close()
    local p = assert(io.popen((env or "") .. " " .. q(bin) .. " --trust " .. q(path) .. " 2>&1; echo \"rc=$?\""))
    local out = p:read("a")
    p:close()
    os.remove(path)
    local rc = tonumber(out:match("rc=(%d+)%s*$"))
    return rc, out
end

local marker = os.tmpname()
local rc, out = run(([[
local f = io.open(%q, "w")
f:write("buffered, not flushed by hand")
keep = setmetatable({}, { __gc = function() f:write(" + finalizer ran") end })
spawn(function() sleep(5) os.exit(7) end)
sleep(60000)
]]):format(marker), "OLLAEVAL_CHECK_IDLE=0")
if not T.eq(rc, 7, "os.exit(7) in a spawned task ends the run with status 7") then T.diag(out) end
local g = io.open(marker)
local text = g and g:read("a") or ""
if g then g:close() end
os.remove(marker)
T.ok(text:find("buffered, not flushed by hand", 1, true), "the Lua state was closed: an open file was flushed")
T.ok(text:find("finalizer ran", 1, true), "__gc finalizers ran: " .. text)

rc = run("os.exit(true)")
T.eq(rc, 0, "os.exit(true) is status 0")
rc = run("os.exit(false)")
T.eq(rc, 1, "os.exit(false) is status 1")
rc = run("local ok = pcall(os.exit, 3) error('not reached')")
T.eq(rc, 3, "os.exit inside pcall still ends the run")
rc = run("table.sort({ 2, 1 }, function(a, b) os.exit(4) end)")
T.eq(rc, 4, "os.exit where a yield cannot cross a C call exits at once")

rc, out = run("spawn(function() sleep(100000) end) sleep(1) os.exit(0)", "OLLAEVAL_CHECK_IDLE=1")
T.eq(rc, 1, "OLLAEVAL_CHECK_IDLE: a task left sleeping fails the run")
if not T.ok(out:find("1 task%(s%)") and out:find("1 sleep timer%(s%)"), "and is named on stderr") then T.diag(out) end
rc, out = run("spawn(function() sleep(1) end)", "OLLAEVAL_CHECK_IDLE=1")
T.eq(rc, 1, "a task still running when the main chunk returns is reported")
rc = run("local t = spawn(function() sleep(1) end) wait(t)", "OLLAEVAL_CHECK_IDLE=1")
T.eq(rc, 0, "nothing left: status 0")

T.done()
