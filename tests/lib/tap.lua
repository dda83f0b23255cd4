-- tests/lib/tap.lua: a tiny TAP producer for the Lua test files.
--
--   local T = require "tests.lib.tap"
--   T.ok(cond, desc); T.eq(got, want, desc); T.diag(msg); T.done()
--   T.need_data(path...): real data the test cannot run without; when one is
--   missing the whole file is skipped ("1..0 # SKIP"), or fails when
--   OLLAEVAL_REQUIRE_DATA=1 (CI, beside ../shared)
--   T.shared(rel): the path of rel under $OLLAEVAL_SHARED (default ../shared)
--
-- Prints "ok N - desc" / "not ok N - desc" with "#   got:" / "#   want:"
-- lines; T.done() prints the plan and exits 1 if anything failed.
-- Runs under lua5.4 and ./ollaeval alike (plain Lua 5.4, io and os only).

local M = {}

local format, tostring, type = string.format, tostring, type
local write = io.write

local count, failed = 0, 0


local function show(v)
    if type(v) == "string" then return format("%q", v) end
    return tostring(v)
end


function M.ok(cond, desc)
    count = count + 1
    desc = desc and (" - " .. tostring(desc)) or ""
    if cond then
        write("ok ", count, desc, "\n")
    else
        failed = failed + 1
        write("not ok ", count, desc, "\n")
    end
    return cond and true or false
end


-- Compare with ==; shows both values on failure.
function M.eq(got, want, desc)
    local pass = M.ok(got == want, desc)
    if not pass then
        write("#   got:  ", show(got), "\n", "#   want: ", show(want), "\n")
    end
    return pass
end


-- |got - want| <= tol
function M.near(got, want, tol, desc)
    local pass = M.ok(type(got) == "number" and math.abs(got - want) <= tol, desc)
    if not pass then
        write("#   got:  ", show(got), "\n", "#   want: ", show(want),
              " +/- ", tostring(tol), "\n")
    end
    return pass
end


function M.diag(msg)
    write("# ", (tostring(msg):gsub("\n", "\n# ")), "\n")
end


function M.failed() return failed end
function M.count() return count end


-- Print the plan ("1..N", which TAP allows at the end) and exit: status 1
-- if any test failed or none ran.
-- at_exit(fn): fn runs in done(), before the process exits (os.exit does
-- not close the Lua state, so __gc finalizers would not run).
local exits = {}
function M.at_exit(fn)
    exits[#exits + 1] = fn
end


function M.shared(rel)
    return (os.getenv("OLLAEVAL_SHARED") or "../shared") .. "/" .. rel
end


function M.need_data(...)
    for _, path in ipairs { ... } do
        local f = io.open(path, "rb")
        local size = f and f:seek("end") or 0
        if f then f:close() end
        if size == 0 then
            if os.getenv("OLLAEVAL_REQUIRE_DATA") == "1" then
                write("not ok 1 - needs ", path, " (OLLAEVAL_REQUIRE_DATA=1)\n")
                io.stdout:flush()
                os.exit(1)
            end
            write("1..0 # SKIP needs real data: ", path, " (set OLLAEVAL_SHARED)\n")
            io.stdout:flush()
            os.exit(0)
        end
    end
end


function M.done()
    for i = #exits, 1, -1 do pcall(exits[i]) end
    write("1..", count, "\n")
    io.stdout:flush()
    os.exit(failed == 0 and count > 0 and 0 or 1)
end


return M
