-- ollaeval.sandbox: where a script's code comes from and what it may do.
--   the loader   every `require` after the prelude: the search order, the
--                confinement of files beside the script, and the record of
--                each module loaded (M.modules(): name, origin, path, sha256)
--   trust        --trust, or the file's sha256 in the trust store
--                ($XDG_CONFIG_HOME/ollaeval/trusted, `ollaeval trust FILE`)
--   the env      the allow-listed environment a sandboxed script runs in
--                (docs/suites.md, "The sandbox", says what and why)
--   the boundary values crossing between the script and the engine are
--                copied (tables, without metatables) and functions wrapped:
--                the script's functions run under a budget, the engine's
--                with the budget paused (core.sbx_boundary, core/sandbox.c);
--                the run's constants (M.constant: options, few-shot pool,
--                each item) are copied once; a table the engine made for
--                the script alone (M.handover: solve's ctx) crosses as is
--
-- Search order (the first that has the module wins):
--   1. the preload table (cjson, cjson.safe, ollaeval.core)
--   2. each --lua-path DIR: DIR/a/b.lua for "a.b" (origin "path"; the user
--      asked for it, so it runs trusted and may replace an embedded module)
--   3. the modules embedded in the binary (origin "embedded")
--   4. the script's folder, after realpath: no "..", no absolute name, no
--      symlink leading out (origin "suite"; sandboxed when the script is)
--   5. trusted only: the current folder (origin "path"), so tests find
--      tests.lib.tap from the repository root
-- A copy on disk (steps 4 and 5) of an embedded module that differs from it
-- is named in a warning and not used.
local core = require "ollaeval.core"

local format, concat = string.format, table.concat
local stderr, stdout = io.stderr, io.stdout
local real_require, real_load = require, load
local real_pcall, real_xpcall, real_setmetatable, real_getmetatable = pcall, xpcall, setmetatable, getmetatable
local guard, after = core.sbx_guard, core.sbx_after

local M = {}

local TRUST_HINT = "run with --trust (or `ollaeval trust FILE`) if you trust this script"

-- ---- state of this run ----
local S = {
    trusted = true,   -- the script runs trusted (no sandbox)
    help = false,     -- --help: the script's code runs with no capabilities
    script = nil,     -- its path as given
    dir = nil,        -- realpath of its folder
    lua_path = {},    -- --lua-path DIRs
    env = nil,        -- the sandbox env
    loaded = {},      -- name -> module, as the sandbox sees it
    allowed_files = {}, -- realpaths named on the command line
}
local modules, module_seen = {}, {}

-- Engine modules a sandboxed script may not require: they read or write
-- files, or are the engine's internals (the API is in the globals).
local DENY = {
    ["evals.data"] = "downloads and reads files",
    ["evals.journal"] = "writes files",
    ["evals.merge"] = "reads and writes run folders",
    ["evals.preflight"] = "talks to the endpoints directly",
    ["evals.progress"] = "writes to the terminal",
}

local chunks = {} -- chunknames of sandboxed code

-- "file:line: " of the innermost sandboxed code on the stack
local function where()
    for level = 3, 40 do
        local info = debug.getinfo(level, "Sl")
        if not info then break end
        if chunks[info.source] then return format("%s:%d: ", info.short_src, info.currentline) end
    end
    return ""
end

local function refused(what, why)
    -- --help: the script reached for a capability; the help is all it gets
    if S.help then require("ollaeval.options").check_help() end
    error(format("%s%s is not available to a sandboxed script (%s); %s", where(), what, why, TRUST_HINT), 0)
end

-- ---- the record of modules ----

-- sha: the source's sha256 when known (an embedded module's, computed at
-- build time), else computed from src
local function record(name, origin, path, src, sha)
    if module_seen[name] then return end
    module_seen[name] = true
    modules[#modules + 1] = { name = name, origin = origin, path = path, sha256 = sha or core.sha256(src) }
end

-- modules() -> list of {name=, origin="embedded"|"suite"|"path", path=, sha256=}
function M.modules()
    local out = {}
    for i, m in ipairs(modules) do
        out[i] = { name = m.name, origin = m.origin, path = m.path, sha256 = m.sha256 }
    end
    return out
end

-- ---- files ----

-- a module name is dotted words: "helper", "lib.latex" (no path, no "..")
local function valid_name(name)
    for word in (name .. "."):gmatch("(.-)%.") do
        if not word:find("^[%w_][%w_%-]*$") then return false end
    end
    return true
end

-- Reads a Lua source file; a compiled chunk is refused.
local function read_source(path)
    local f, err = io.open(path, "rb")
    if not f then return nil, err end
    local src = f:read("a")
    f:close()
    if not src then return nil, "cannot read " .. path end
    if src:sub(1, 1) == "\27" then
        return nil, path .. ": a compiled (luac) chunk; only Lua source is loaded"
    end
    return src
end

local function exists(path)
    local f = io.open(path, "rb")
    if f then f:close() return true end
    return false
end

-- The file of module `name` in the script's folder, confined to it: its
-- realpath, or nil, why.
local function in_suite_dir(name)
    if not S.dir then return nil end
    local rel = name:gsub("%.", "/") .. ".lua"
    local cand = S.dir .. "/" .. rel
    if not exists(cand) then return nil end
    local real = core.sbx_realpath(cand)
    if not real or real:sub(1, #S.dir + 1) ~= S.dir .. "/" then
        return nil, format("module '%s': %s leads out of the script's folder %s", name, cand, S.dir)
    end
    return real
end

-- ---- the boundary: copies and wrappers ----

-- The run's constant tables (M.constant): engine table -> true until it
-- first crosses, then the script's copy of it, given again every time
-- after, as a trusted script would see the same table every time; false
-- for a table handed over (M.handover). The copier keeps the copies there.
local constant = setmetatable({}, { __mode = "k" })

-- The boundary, in C (core.sbx_boundary, core/sandbox.c): every call of a
-- suite's function copies its arguments and results.
--   to_engine(v), to_suite(v [, raw]): v as it crosses: a table copied
--     without metatables (raw reads), its functions wrapped; shared and
--     cyclic tables stay shared; into the script, a constant's copy is
--     the one made the first time (raw: a new copy all the same)
--   guarded(f): the script's function as the engine calls it, a crossing:
--     under a budget, its arguments copied in and its results copied out
--   entry(f): the engine's function as the script calls it: the budget
--     paused, its arguments copied out and its results copied in
-- An engine function handed back to the engine (a suite's extract =
-- lib.extract) is the function itself again.
local to_engine, to_suite, guarded, entry = core.sbx_boundary(constant)
M.guarded, M.to_engine = guarded, to_engine

local function pack(...) return { n = select("#", ...), ... } end

local function map_all(f, t)
    for i = 1, t.n do t[i] = f(t[i]) end
    return table.unpack(t, 1, t.n)
end

-- constant(t) -> t: an engine table that stays the same for the whole run
-- (the run's options, the few-shot pool, each item): a sandboxed script
-- gets one copy of it, made when it first crosses, instead of a new copy
-- at every call. The engine's table is never the script's: what the script
-- changes in its copy stays in the copy. (Trusted: nothing to do.)
function M.constant(t)
    if not S.trusted and type(t) == "table" and constant[t] == nil then constant[t] = true end
    return t
end

-- handover(t) -> t: a table the engine made for a script's callback and
-- never reads again (solve's ctx): it crosses as it is, each of its values
-- as it would cross by itself (functions wrapped, tables copied or the
-- constants' copies), instead of being copied. Its keys are plain values.
function M.handover(t)
    if not S.trusted and type(t) == "table" and constant[t] == nil then constant[t] = false end
    return t
end

-- A read-only face of an engine table: a userdata (rawset, next and
-- setmetatable do not work on it); nested tables get their own.
local proxies = setmetatable({}, { __mode = "k" })
local function readonly(t, name)
    if type(t) ~= "table" then return t end
    if proxies[t] then return proxies[t] end
    local p = core.sbx_proxy {
        __index = function(_, k)
            local v = t[k]
            if type(v) == "table" then return readonly(v, name .. "." .. tostring(k)) end
            if type(v) == "function" then return entry(v) end
            return v
        end,
        __newindex = function(_, k)
            error(format("%s is read-only: cannot set %s.%s", name, name, tostring(k)), 2)
        end,
        __pairs = function()
            return function(_, k)
                local nk, v = next(t, k)
                if type(v) == "table" then v = readonly(v, name .. "." .. tostring(nk)) end
                if type(v) == "function" then v = entry(v) end
                return nk, v
            end, nil, nil
        end,
        __len = function() return #t end,
        __tostring = function() return name end,
        __metatable = false,
    }
    proxies[t] = p
    return p
end

-- ---- the environment ----

local function copy_lib(t, libname, drop)
    local c = {}
    for k, v in pairs(t) do
        if not (drop and drop[k]) then c[k] = v end
    end
    if drop then
        real_setmetatable(c, { __index = function(_, k)
            if drop[k] then refused(libname .. "." .. k, drop[k]) end
        end })
    end
    return c
end

-- Global names a sandboxed script reaches for and does not get, and why.
local GONE = {
    io = "it reads and writes any file", package = "it loads native code",
    debug = "it reaches inside the engine", dofile = "it runs any file", loadfile = "it loads any file",
    http = "it reaches any URL; chat{} goes to the -e endpoints",
}

local function limited_print(stream, prefix)
    return function(...)
        local parts = pack(...)
        for i = 1, parts.n do parts[i] = tostring(parts[i]) end
        local line = (prefix or "") .. concat(parts, "\t", 1, parts.n)
        line = line:gsub("[%z\1-\8\11-\31\127]", function(c) return format("\\%d", c:byte()) end) .. "\n"
        if core.sbx_print(#line) then
            stream:write(line)
        elseif not S.print_noted then
            S.print_noted = true
            stderr:write(format("ollaeval: %s: print output cut at %d bytes for this callback (--lua-print BYTES)\n",
                S.script or "script", S.print_cap or 0))
        end
    end
end

-- jsonl(path) for a sandboxed script: files in its folder and files named
-- on the command line, read-only.
local function confined_path(path, what)
    if type(path) ~= "string" then return path end
    local real = core.sbx_realpath(path)
    if real and (S.allowed_files[real] or (S.dir and real:sub(1, #S.dir + 1) == S.dir .. "/")) then
        return path
    end
    refused(format("%s(%q)", what, path),
        "a sandboxed script reads only files in its own folder and files named on the command line", 3)
end

local function is_endpoint(url)
    for _, e in ipairs(ollaeval.endpoints) do
        if e == url or e == (type(url) == "string" and url:gsub("/+$", "")) then return true end
    end
    return false
end

-- --help: a capability the script reaches for prints the help instead
local function help_refuse()
    return function() require("ollaeval.options").check_help() end
end

local sandbox_require -- forward

local function build_env()
    local env = {}
    for _, k in ipairs { "assert", "error", "ipairs", "next", "pairs", "select", "tonumber", "tostring",
                         "type", "rawequal", "rawlen", "rawget", "rawset", "_VERSION" } do
        env[k] = _G[k]
    end
    env.pcall = function(f, ...) return after(real_pcall(f, ...)) end
    env.xpcall = function(f, h, ...) return after(real_xpcall(f, h, ...)) end
    env.setmetatable = function(t, mt)
        if type(mt) == "table" and rawget(mt, "__gc") ~= nil then
            refused("a __gc metamethod", "finalizers run at arbitrary points of the engine", 2)
        end
        return real_setmetatable(t, mt)
    end
    env.getmetatable = function(v)
        local ty = type(v)
        if ty == "string" or ty == "userdata" then return false end
        return real_getmetatable(v)
    end
    env.collectgarbage = function(opt, ...)
        if opt == "count" then return collectgarbage("count") end
        refused(format("collectgarbage(%q)", tostring(opt)), "only \"count\" is allowed", 2)
    end
    env.load = function(chunk, name, mode, e)
        if e == nil then e = env end
        if type(e) ~= "table" then error("load: the environment must be a table", 2) end
        if mode ~= nil and mode ~= "t" and mode ~= "bt" and mode ~= "b" then error("load: bad mode", 2) end
        if type(chunk) == "string" and chunk:sub(1, 1) == "\27" then
            return nil, "attempt to load a binary chunk (a sandboxed script loads text only)"
        end
        return real_load(chunk, name, "t", e)
    end
    env.print = limited_print(stdout)
    env.warn = function(msg, ...)
        if type(msg) == "string" and msg:sub(1, 1) == "@" and select("#", ...) == 0 then return end
        limited_print(stderr, "Lua warning: ")(msg, ...)
    end
    env.require = sandbox_require
    env.string = copy_lib(string, "string", { dump = "it makes bytecode" })
    env.table = copy_lib(table)
    env.math = copy_lib(math)
    env.utf8 = copy_lib(utf8)
    local co = copy_lib(coroutine)
    local function not_task(c)
        if type(c) == "thread" and core.sbx_is_task and core.sbx_is_task(c) then
            error("coroutine resumed by foreign code: this coroutine is an engine task", 3)
        end
        return c
    end
    co.resume = function(c, ...) return after(coroutine.resume(not_task(c), ...)) end
    co.close = function(c) return after(coroutine.close(not_task(c))) end
    env.coroutine = co
    env.os = {
        clock = os.clock, time = os.time, date = os.date, difftime = os.difftime,
    }
    real_setmetatable(env.os, { __index = function(_, k)
        refused("os." .. tostring(k), "only os.clock, os.time, os.date and os.difftime are", 2)
    end })
    -- the engine's API
    local api = {
        options = options, log = log, now = now, sleep = sleep, wake = wake, spawn = spawn,
        wait = wait, wait_all = wait_all, map = map,
        chat = function(req)
            if type(req) == "table" and req.endpoint ~= nil and not is_endpoint(req.endpoint) then
                refused(format("chat{endpoint=%q}", tostring(req.endpoint)),
                    "a sandboxed script reaches the model only on the endpoints given with -e", 2)
            end
            return chat(req)
        end,
        jsonl = function(path, opts)
            return jsonl(confined_path(path, "jsonl"), opts)
        end,
    }
    -- the calls that wait: refused where a yield cannot cross a C call (a
    -- table.sort comparator, a gsub callback), before anything starts
    for _, k in ipairs { "sleep", "wait", "wait_all", "map", "chat" } do
        local f = api[k]
        api[k] = function(...)
            if not coroutine.isyieldable() then
                error(format("%s%s() cannot wait here: a yield cannot cross a C function that calls back into "
                    .. "Lua (a table.sort comparator, a string.gsub callback, a metamethod)", where(), k), 0)
            end
            return f(...)
        end
    end
    for k, f in pairs(api) do
        env[k] = entry(f)
        if S.help and k ~= "options" and k ~= "now" then env[k] = help_refuse() end
    end
    env.ollaeval = readonly({
        options = ollaeval.options, endpoints = ollaeval.endpoints, script = ollaeval.script,
        args = ollaeval.args, command = ollaeval.command, version = ollaeval.version,
        interrupted = ollaeval.interrupted, stats = ollaeval.stats, sha256 = ollaeval.sha256,
        modules = M.modules, traceback = debug.traceback, sandboxed = true,
    }, "ollaeval")
    env.arg = to_suite(arg)
    env._G = env
    real_setmetatable(env, {
        __index = function(_, k)
            if GONE[k] then refused(tostring(k), GONE[k], 2) end
            error(format("undefined global '%s'", tostring(k)), 2)
        end,
    })
    return env
end

-- ---- loading ----

-- Loads a sandboxed chunk from source; returns the function (in the env).
local function load_sandboxed(src, chunkname)
    chunks[chunkname] = true
    local f, err = real_load(src, chunkname, "t", S.env)
    if not f then error(err, 0) end
    return f
end

-- The embedded module (its source's sha256) that a disk copy would shadow:
-- warn when it differs.
local function check_shadow(name, sha)
    local rel = name:gsub("%.", "/") .. ".lua"
    local dirs = { S.dir }
    if S.trusted then dirs[#dirs + 1] = "." end
    for _, dir in pairs(dirs) do
        do
            local p = dir .. "/" .. rel
            local disk = exists(p) and read_source(p)
            if disk and core.sha256(disk) ~= sha then
                stderr:write(format("ollaeval: %s differs from the embedded %s; the embedded module is used "
                    .. "(--lua-path %s uses the copy on disk)\n", p, name, dir))
            end
        end
    end
end

-- find(name) -> origin, path, src, sha  or  nil, why-not (a refusal raises);
-- an embedded module's src is its compiled chunk, sha its source's sha256
local function find(name, sandboxed)
    local rel = name:gsub("%.", "/") .. ".lua"
    for _, dir in ipairs(S.lua_path) do
        local p = dir .. "/" .. rel
        if exists(p) then
            local src, err = read_source(p)
            if not src then error(err, 0) end
            return "path", p, src
        end
    end
    local echunk, efile, esha = core.sbx_embedded(name)
    if echunk then
        check_shadow(name, esha)
        return "embedded", efile, echunk, esha
    end
    local real, why = in_suite_dir(name)
    if why then error(why .. " (refused)", 0) end
    if real then
        local src, err = read_source(real)
        if not src then error(err, 0) end
        return "suite", real, src
    end
    if not sandboxed and S.trusted then
        local p = "./" .. rel
        if exists(p) then
            local src, err = read_source(p)
            if not src then error(err, 0) end
            return "path", p, src
        end
    end
    return nil
end

local function searcher(name)
    local origin, path, src, sha = find(name, false)
    if not origin then return format("no module '%s' in --lua-path, the engine or %s", name, S.dir or "?") end
    record(name, origin, path, src, sha)
    local chunkname = "@" .. path
    if origin == "suite" and not S.trusted then
        return function()
            if S.loaded[name] == nil then
                S.loaded[name] = guard(load_sandboxed(src, chunkname), name, path)
                if S.loaded[name] == nil then S.loaded[name] = true end
            end
            return to_engine(S.loaded[name])
        end, path
    end
    -- the engine's compiled chunk carries its own name, "@FILE (embedded)"
    local f, err = real_load(src, chunkname, origin == "embedded" and "b" or "t")
    if not f then error(err, 0) end
    return f, path
end

-- require(name) as a sandboxed script sees it.
sandbox_require = function(name)
    if type(name) ~= "string" then error("require: the module name must be a string", 2) end
    local have = S.loaded[name]
    if have ~= nil then return have end
    if name == "cjson" or name == "cjson.safe" then
        local m = real_require(name).new()
        S.loaded[name] = m
        return m
    end
    if not valid_name(name) then
        refused(format("require %q", name), "a sandboxed script requires modules by dotted name (a.b), "
            .. "found beside it or in the engine, never by path", 2)
    end
    if name:find("^ollaeval%.") or DENY[name] or package.preload[name] then
        refused(format("require %q", name), DENY[name] or "it is the engine's own", 2)
    end
    local ok, origin, path, src = real_pcall(find, name, true)
    if not ok then error(format("require %q: %s", name, origin), 2) end
    if not origin then
        error(format("module '%s' not found: a sandboxed script loads modules from the engine and from its "
            .. "own folder %s", name, S.dir or "?"), 2)
    end
    local m
    if origin == "suite" then
        record(name, origin, path, src)
        m = load_sandboxed(src, "@" .. path)(name, path)
        if m == nil then m = true end
    else
        m = to_suite((real_require(name))) -- the engine's module: a copy
    end
    S.loaded[name] = m
    return m
end

-- ---- trust ----

local function trust_file()
    local base = os.getenv("XDG_CONFIG_HOME")
    if not base or base == "" then base = (os.getenv("HOME") or ".") .. "/.config" end
    return base .. "/ollaeval/trusted", base .. "/ollaeval"
end
M.trust_file = trust_file

-- trusted_sha(hex) -> whether the trust store lists it
local function trusted_sha(hex)
    local f = io.open((trust_file()), "rb")
    if not f then return false end
    for line in f:lines() do
        if line:match("^(%x+)") == hex then f:close() return true end
    end
    f:close()
    return false
end

-- ---- init and the script ----

-- init(cmdline, O): the loader, trust and the budgets for this run.
function M.init(cmdline, O)
    S.script = cmdline.script
    S.help = cmdline.help and true or false
    S.lua_path = O["lua-path"] or {}
    S.print_cap = O["lua-print"]
    local D = require "ollaeval.defaults"
    core.sbx_config { cpu = O["lua-cpu"] or D["lua-cpu"], mem = O["lua-mem"] or D["lua-mem"],
                      print = O["lua-print"] or D["lua-print"] }
    S.print_cap = S.print_cap or D["lua-print"]
    -- the embedded modules loaded so far (the prelude's)
    for name in pairs(package.loaded) do
        local chunk, file, sha = core.sbx_embedded(name)
        if chunk then record(name, "embedded", file, nil, sha) end
    end
    package.searchers = { package.searchers[1], searcher }
    package.path, package.cpath = "", ""
end

-- load_script(path) -> the function the main task runs with the script's
-- arguments; its results are the script's, as the engine may use them: a
-- suite table the script returns comes out copied, each of its functions
-- wrapped to run under a budget (M.guarded) with its arguments and results
-- copied (M.to_engine does the same to any value from sandboxed code).
function M.load_script(path)
    local real = core.sbx_realpath(path) -- nil for a pipe (/dev/stdin): no folder then
    S.dir = real and real:match("^(.*)/[^/]*$")
    S.file = real
    local src, err = read_source(path)
    if not src then error(err, 0) end
    local O = ollaeval.options
    S.trusted = not S.help and (O.trust or trusted_sha(core.sha256(src)))
    if S.trusted then
        local f, lerr = real_load(src, "@" .. path, "bt")
        if not f then error(lerr, 0) end
        return f
    end
    -- files named on the command line, for the sandboxed jsonl()
    for _, a in ipairs(ollaeval.argv) do
        local v = a:match("^%-%-[%w%-]+=(.+)$") or a
        local r = core.sbx_realpath(v)
        if r then S.allowed_files[r] = true end
    end
    -- the engine's own library code that is not the script's stays trusted;
    -- strings lose dump (load refuses bytecode anyway)
    S.env = build_env()
    core.sbx_config { watchdog = true }
    local f = load_sandboxed(src, "@" .. path)
    return function(...)
        return map_all(to_engine, pack(guard(f, ...)))
    end
end

-- M.trusted() -> whether the script runs trusted
function M.trusted() return S.trusted end

return M
