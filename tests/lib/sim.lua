-- tests/lib/sim.lua: starts `ollaeval sim` on a free port for a test (with
-- scripts/start-sim.sh, the one launcher) and stops it (also when the test dies: the handle's __gc kills it). The
-- simulator is a separate process, as a real server is.
--   local sim = require "tests.lib.sim"
--   local s = sim.start{"--parallel", "4"}   -- extra sim flags
--   s.url, s.stats() (decoded /stats), s.stop()
local cjson = require "cjson"

local M = {}
local bin = os.getenv("OLLAEVAL") or "./ollaeval"


local function q(s)
    return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end


function M.start(args)
    local log = os.tmpname()
    local cmd = { "scripts/start-sim.sh", "-b", q(bin), "-l", q(log), "--quiet" }
    for _, a in ipairs(args or {}) do cmd[#cmd + 1] = q(a) end
    local p = assert(io.popen(table.concat(cmd, " ") .. " 2>&1"))
    local line = p:read("a")
    p:close()
    local pid, url = line:match("^(%d+) (http://%S+)")
    if not pid then
        os.remove(log)
        error("the simulator did not start: " .. line, 2)
    end
    local s = setmetatable({ url = url, pid = pid, log = log }, {
        __gc = function(self) self.stop() end,
    })
    -- tests end with T.done(), which exits without collecting: stop it there
    local ok, T = pcall(require, "tests.lib.tap")
    if ok then T.at_exit(function() s.stop() end) end
    function s.stop()
        if s.pid then
            os.execute("kill " .. s.pid .. " 2>/dev/null")
            s.pid = nil
            os.remove(log)
        end
    end
    function s.stats()
        local r, err = http { url = url .. "/stats", timeout = 5 }
        assert(r and r.status == 200, err)
        return cjson.decode(r.body)
    end
    return s
end


function M.shared(rel)
    return (os.getenv("OLLAEVAL_SHARED") or "../shared") .. "/" .. rel
end


return M
