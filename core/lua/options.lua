-- ollaeval.options: the engine options (ollaeval.options, with defaults
-- filled in), the script's own options (options{}), --help, usage errors
-- and log(). Leaving early (help, a usage error) goes through core.exit,
-- so the engine still shuts down in order.
local core = require "ollaeval.core"
local D = require "ollaeval.defaults"

local format, concat, floor = string.format, table.concat, math.floor
local stderr = io.stderr

local M = {}

local cmd      -- the command line (lapi_push_cmdline)
local O        -- the engine options
local declared = {} -- the script's options, for --help

-- init(cmdline): keeps the command line; fills the engine defaults.
function M.init(c)
    cmd, O = c, c.options
    -- -c: "auto", "auto:N" (strings) or N (an integer); main.c checked it
    O.concurrency = O.concurrency or D.concurrency
    O.concurrency = math.tointeger(tonumber(O.concurrency)) or O.concurrency
    O.timeout = O.timeout or D.timeout
    O["idle-timeout"] = O["idle-timeout"] or D["idle-timeout"]
    O.retries = O.retries or D.retries
    O.deadline = O.deadline or D.deadline
    O["down-wait"] = O["down-wait"] or D["down-wait"]
    -- N and auto:N are capped (main.c caps its windows' default alike)
    local cmax, n = D["max-concurrency"], O.concurrency
    if math.type(n) ~= "integer" then n = tostring(n):match("^auto:(%d+)$"); n = n and tonumber(n) end
    if n and n > cmax then
        stderr:write(format("ollaeval: -c %s is capped at %d (requests in flight per endpoint)\n",
            tostring(O.concurrency), cmax))
        O.concurrency = math.type(O.concurrency) == "integer" and cmax or "auto:" .. cmax
    end
    O.seed = O.seed or D.seed
    M.engine = O
    return O
end

-- log(fmt, ...): a line on stderr, unless -q
function M.log(fmt, ...)
    if not O.quiet then stderr:write(format(fmt, ...), "\n") end
end

local function print_help()
    local out = { cmd.usage }
    if #declared > 0 then
        out[#out + 1] = "\noptions of " .. cmd.script .. ":\n"
        for _, o in ipairs(declared) do
            local argname = o.arg or (o.choices and concat(o.choices, "|")) or o.type:upper()
            local left = "--" .. o.name .. (o.type ~= "flag" and (" " .. argname) or "")
            local def = o.default ~= nil and o.type ~= "flag" and format(" (default %s)", tostring(o.default)) or ""
            if #left > 28 then left = left .. "\n" .. string.rep(" ", 30) end
            out[#out + 1] = format("  %-28s %s%s\n", left, o.help or "", def)
        end
    end
    io.stdout:write(concat(out))
    io.stdout:flush()
    core.exit(0)
end

-- usage_error(msg): the message on stderr, exit status 2.
local function usage_error(msg)
    stderr:write("ollaeval: ", msg, " (see ollaeval ", cmd.script, " --help)\n")
    core.exit(2)
end

M.usage_error = usage_error

-- check_help(): with --help, prints the help and ends the run (status 0).
-- A subcommand that prints its own help sets ollaeval.help = false first.
function M.check_help()
    local g = rawget(_G, "ollaeval")
    if cmd.help and not (g and g.help == false) then print_help() end
end

local function convert(o, v)
    if o.type == "number" or o.type == "integer" then
        local n = tonumber(v)
        if not n or (o.type == "integer" and n ~= floor(n)) then
            usage_error(format("--%s: '%s' is not a%s number", o.name, v, o.type == "integer" and " whole" or ""))
        end
        if o.min and n < o.min then usage_error(format("--%s: %s is below %s", o.name, v, o.min)) end
        if o.max and n > o.max then usage_error(format("--%s: %s is above %s", o.name, v, o.max)) end
        return o.type == "integer" and floor(n) or n
    elseif o.type == "string" then
        if o.choices then
            for _, c in ipairs(o.choices) do if c == v then return v end end
            usage_error(format("--%s: '%s' is not one of %s", o.name, v, concat(o.choices, ", ")))
        end
        return v
    end
    error("options{}: unknown type '" .. tostring(o.type) .. "' for --" .. o.name, 3)
end

-- options{ {name=, type="string"|"number"|"integer"|"flag", default=, help=}, ... }
-- Declares the script's own options, parses the script's arguments and
-- returns a table name -> value. `ollaeval SCRIPT --help` lists them.
function M.options(spec)
    if type(spec) ~= "table" then error("options{}: expected a list of option specs", 2) end
    local byname = {}
    for _, o in ipairs(spec) do
        if type(o.name) ~= "string" then error("options{}: every option needs a name", 2) end
        o.type = o.type or "string"
        declared[#declared + 1] = o
        byname[o.name] = o
    end
    M.check_help()
    local res, positional = {}, {}
    for _, o in ipairs(spec) do res[o.name] = o.default end
    local args, i = cmd.args, 1
    while i <= #args do
        local a = args[i]
        local name, val = a:match("^%-%-([^=]+)=(.*)$")
        name = name or a:match("^%-%-(.+)$")
        if name then
            local o = byname[name]
            if not o then usage_error("unknown option --" .. name) end
            if o.type == "flag" then
                if val then usage_error("--" .. name .. " takes no value") end
                res[name] = true
            else
                if not val then
                    i = i + 1
                    val = args[i]
                    if not val then usage_error("--" .. name .. " needs a value") end
                end
                res[name] = convert(o, val)
            end
        elseif a:sub(1, 1) == "-" and #a > 1 then
            usage_error("unknown option " .. a)
        else
            positional[#positional + 1] = a
        end
        i = i + 1
    end
    res[0] = positional
    return res
end

-- ---------------------------------------------------------------------------
-- --shard from a cluster's array-job environment (docs/cluster.md)

-- A whole number from the environment variable `name`, or nil when unset;
-- anything else than digits is an error naming the variable.
local function env_int(env, name)
    local v = env(name)
    if v == nil or v == "" then return nil end
    if not v:match("^%d+$") then return nil, format("%s='%s' is not a whole number >= 0", name, v) end
    return tonumber(v)
end

-- shard_of(shard, count, env) -> "I/N" or nil (no sharding)  or  nil, err
-- shard: --shard as given (wins); count: --shard-count; env(name): the
-- environment (os.getenv). In order:
--   Slurm job arrays: I = (SLURM_ARRAY_TASK_ID - MIN) / STEP + 1 with MIN =
--     SLURM_ARRAY_TASK_MIN (0 when unset) and STEP = SLURM_ARRAY_TASK_STEP
--     (1 when unset); N = the count given, else SLURM_ARRAY_TASK_COUNT.
--   Kubernetes Indexed Jobs: I = JOB_COMPLETION_INDEX + 1 (the index counts
--     from 0); N = the count given (the Job's completions).
-- The count given is --shard-count, else $OLLAEVAL_SHARD_COUNT.
function M.shard_of(shard, count, env)
    if shard then return shard end
    local c, err = count, nil
    if c == nil then
        c, err = env_int(env, "OLLAEVAL_SHARD_COUNT")
        if err then return nil, err end
    end
    if c ~= nil and c < 1 then return nil, format("the shard count must be at least 1, not %d", c) end
    local id, i
    id, err = env_int(env, "SLURM_ARRAY_TASK_ID")
    if err then return nil, err end
    if id then
        local lo, step, n
        lo, err = env_int(env, "SLURM_ARRAY_TASK_MIN")
        if err then return nil, err end
        step, err = env_int(env, "SLURM_ARRAY_TASK_STEP")
        if err then return nil, err end
        n, err = env_int(env, "SLURM_ARRAY_TASK_COUNT")
        if err then return nil, err end
        lo, step, n = lo or 0, step or 1, c or n
        if not n then
            return nil, format("SLURM_ARRAY_TASK_ID=%d is set but not SLURM_ARRAY_TASK_COUNT: "
                .. "pass --shard-count N or --shard I/N", id)
        end
        if step < 1 then return nil, "SLURM_ARRAY_TASK_STEP must be at least 1" end
        if id < lo or (id - lo) % step ~= 0 then
            return nil, format("SLURM_ARRAY_TASK_ID=%d is not in the array %d, %d, ... (MIN %d, STEP %d): "
                .. "use a range such as --array=0-%d, or pass --shard I/N", id, lo, lo + step, lo, step, n - 1)
        end
        i = (id - lo) // step + 1
        if i > n then
            return nil, format("SLURM_ARRAY_TASK_ID=%d is task %d of the array, beyond its %d tasks "
                .. "(SLURM_ARRAY_TASK_MIN %d, STEP %d, count %d)", id, i, n, lo, step, n)
        end
        return format("%d/%d", i, n)
    end
    local k
    k, err = env_int(env, "JOB_COMPLETION_INDEX")
    if err then return nil, err end
    if k then
        if not c then
            return nil, format("JOB_COMPLETION_INDEX=%d is set but not the shard count: pass --shard-count N "
                .. "or set OLLAEVAL_SHARD_COUNT to the Job's completions", k)
        end
        if k >= c then
            return nil, format("JOB_COMPLETION_INDEX=%d is beyond the %d shards (indexes 0 to %d)", k, c, c - 1)
        end
        return format("%d/%d", k + 1, c)
    end
    if count then return nil, "--shard-count needs an array-job index (SLURM_ARRAY_TASK_ID or JOB_COMPLETION_INDEX)" end
    return nil
end

-- resolve_shard(): sets ollaeval.options.shard from the environment when
-- --shard was not given (a usage error, status 2, when the variables are
-- wrong); returns it ("I/N" or nil).
local shard_resolved = false
function M.resolve_shard()
    if shard_resolved then return O.shard end
    local given = O.shard
    local s, err = M.shard_of(given, O["shard-count"], os.getenv)
    if err then usage_error(err) end
    if s and not given then
        local from = os.getenv("SLURM_ARRAY_TASK_ID") and "SLURM_ARRAY_TASK_ID" or "JOB_COMPLETION_INDEX"
        M.log("shard %s from %s=%s (docs/cluster.md; --shard 1/1 evaluates every item)", s, from, os.getenv(from))
    end
    O.shard, shard_resolved = s, true
    return s
end


-- The command line as a shell would read it back (for records and hints),
-- without the user:password of any URL in it (docs/api.md: credentials).
function M.command()
    local parts = {}
    for i, a in ipairs(cmd.argv) do
        if i == 1 then a = "ollaeval" end
        a = a:gsub("(%a[%w+.-]*://)[^/@%s]*@", "%1")
        if a:find("[^%w%-_./:=,@+]") then a = "'" .. a:gsub("'", "'\\''") .. "'" end
        parts[#parts + 1] = a
    end
    return concat(parts, " ")
end

return M
