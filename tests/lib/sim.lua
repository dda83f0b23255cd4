-- tests/lib/sim.lua: starts `ollaeval sim` on a free port for a test and
-- stops it. The simulator is a separate process, as a real server is.
--   local sim = require "tests.lib.sim"
--   local s = sim.start{"--parallel", "4"}   -- extra sim flags
--   s.url, s:stats() (decoded /stats), s:stop()
local cjson = require "cjson"

local M = {}
local bin = os.getenv("OLLAEVAL") or "./ollaeval"


local function q(s)
    return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end


function M.start(args)
    local cmd = { q(bin), "sim", "--port", "0", "--quiet" }
    for _, a in ipairs(args or {}) do cmd[#cmd + 1] = q(a) end
    -- the shell prints the simulator's pid, then the simulator its address
    local p = assert(io.popen("sh -c '" .. table.concat(cmd, " "):gsub("'", "'\\''") ..
        " & echo $!; wait' 2>&1", "r"))
    local pid = p:read("l")
    local line = p:read("l")
    local url = line and line:match("listening on (http://%S+)")
    if not url then
        error("the simulator did not start: " .. tostring(line) .. " " .. tostring(p:read("a")), 2)
    end
    local s = { url = url, pid = pid, pipe = p }
    function s.stats()
        local r, err = http { url = url .. "/stats", timeout = 5 }
        assert(r and r.status == 200, err)
        return cjson.decode(r.body)
    end
    function s.stop()
        if s.pipe then
            os.execute("kill " .. s.pid .. " 2>/dev/null")
            s.pipe:close()
            s.pipe = nil
        end
    end
    return s
end


function M.shared(rel)
    return (os.getenv("OLLAEVAL_SHARED") or "../shared") .. "/" .. rel
end


return M
