-- prelude.lua: run once before the script, embedded in the binary. It
-- brings up the Lua half of the API from its modules (core/lua/, embedded
-- as ollaeval.<name>), builds the `ollaeval` table, installs the documented
-- globals and the strict _G, and returns the function the main task runs.
-- The reference for all of them is docs/api.md.
--   ollaeval.defaults   every default, in one table (C reads it too)
--   ollaeval.options    engine options, options{}, --help, log()
--   ollaeval.endpoints  -e URLs, picking one, health, window adaptation
--   ollaeval.tasks      spawn, wait, wait_all, sleep, wake, now, map
--   ollaeval.http       http{}
--   ollaeval.backends   Ollama and OpenAI-compatible request/answer shapes
--   ollaeval.chat       chat{}: an attempt and the retry policy
--   ollaeval.jsonl      jsonl()
--   ollaeval.sandbox    the module loader, trust, and the sandboxed env the
--                       script runs in unless trusted
local core, cmdline = ... -- the `core` table (lapi.c), the command line (main.c)

-- Most garbage here dies young (request and response tables): the
-- generational collector spends less time on it.
collectgarbage("generational")

local optmod = require "ollaeval.options"
local O = optmod.init(cmdline)
local endpoints = require "ollaeval.endpoints"
endpoints.init()
local tasks = require "ollaeval.tasks"
local backends = require "ollaeval.backends"

-- The `ollaeval` table: the command line and the engine, for scripts and
-- the evals library.
ollaeval = {
    options = O, endpoints = endpoints.list,
    script = cmdline.script, args = cmdline.args, argv = cmdline.argv, help = cmdline.help and true or false,
    command = optmod.command(), version = cmdline.version,
    backend_of = backends.of, headers_for = backends.headers,
    window = core.window, window_log = core.window_log, window_summary = core.window_summary,
    stats = core.stats, cancel_all = core.cancel_all,
    interrupted = core.interrupted, sha256 = core.sha256, sha256_file = core.sha256_file,
    isatty = core.isatty, fsync = core.fsync,
    linked = core.linked, truncate = core.truncate, lock = core.lock,
}
local sandbox = require "ollaeval.sandbox"
ollaeval.modules = sandbox.modules

-- arg, as lua.c: arg[0] is the script, arg[1..] its arguments
arg = table.move(cmdline.args, 1, #cmdline.args, 1, { [0] = cmdline.script })

-- The globals (docs/api.md).
log = optmod.log
options = optmod.options
now, sleep, wake = tasks.now, tasks.sleep, tasks.wake
spawn, wait, wait_all, map = tasks.spawn, tasks.wait, tasks.wait_all, tasks.map
http = require("ollaeval.http").http
chat = require("ollaeval.chat").chat
jsonl = require("ollaeval.jsonl").jsonl

-- os.exit(status) ends the run the clean way: the engine stops, shuts down
-- in order and closes the Lua state (lapi.c, core.exit).
os.exit = core.exit

-- Strict globals: reading an undefined global is an error, since a typo that
-- silently reads nil would corrupt a score.
setmetatable(_G, {
    __index = function(_, k)
        error(string.format("undefined global '%s'", tostring(k)), 2)
    end,
})

-- From here on every require goes through the sandbox's loader.
sandbox.init(cmdline, O)

-- The main task: loads the script (a path; sandboxed unless trusted) or
-- takes a subcommand's chunk, and runs it with its arguments. A number it
-- returns is the exit status; a table it returns is a suite, run through
-- the runner (evals/runner.lua, docs/suites.md). With --help the script's code runs with no
-- capabilities: its options{} (or the options of the table it returns)
-- are printed and nothing else happens.
local check_help = optmod.check_help
local args = cmdline.args
return function(chunk)
    if type(chunk) == "string" then chunk = sandbox.load_script(chunk) end
    local r = chunk(table.unpack(args))
    if type(r) == "table" then r = require("evals.runner").run_file(r, cmdline.script) end
    check_help() -- a script that declared no options still answers --help
    return r
end
