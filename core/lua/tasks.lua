-- ollaeval.tasks: spawn, wait, wait_all, sleep, wake, now and map, over
-- the scheduler's primitives in `core` (lapi.c, sched.c).
local core = require "ollaeval.core"
local options = require "ollaeval.options"
local endpoints = require "ollaeval.endpoints"

local format = string.format
local stderr = io.stderr

local M = {}

M.now = core.now
M.wait = core.wait -- wait(task) -> ok, results...  (ok=false, traceback if it raised)

-- sleep(ms) -> nothing, or true when another task woke it (wake)
function M.sleep(ms)
    if type(ms) ~= "number" then error("sleep(ms): ms must be a number", 2) end
    return core.sleep(ms)
end

-- wake(task) -> true if the task was sleeping (its sleep returns now)
function M.wake(t)
    return core.wake(t)
end

function M.spawn(fn, ...)
    if type(fn) ~= "function" then error("spawn(fn, ...): fn must be a function", 2) end
    return core.spawn(fn, ...)
end

-- wait_all(tasks) -> list of {ok, results...} packed tables, in order
function M.wait_all(tasks)
    local out = {}
    for i, t in ipairs(tasks) do out[i] = table.pack(core.wait(t)) end
    return out
end

-- The map worker each task runs for (its coroutine -> that map's lend
-- function), so that a retry's backoff can lend the worker's place.
local lenders = setmetatable({}, { __mode = "k" })

-- backoff(ms): sleeps ms (a retry's backoff, chat.lua); a map worker lends
-- its place meanwhile, so that another item can run in it (the server
-- need not idle while failed requests wait to be retried).
function M.backoff(ms)
    local lend = lenders[coroutine.running()]
    if not lend then return core.sleep(ms) end
    lend(1)
    local ok, err = pcall(core.sleep, ms)
    lend(-1)
    if not ok then error(err, 0) end
end

-- map(iter, fn, opts) runs fn(item, i) for each item of a lazy iterator (or a
-- list) with at most opts.concurrency live tasks (default: as many as the
-- endpoints' windows may hold at once: the sum of their -c N, or of auto's
-- bound, 256 each; items beyond an auto window's size wait in its FIFO),
-- and never more than items. An item whose fn raises is
-- passed to opts.on_error(item, i, traceback), or reported on stderr and
-- counted as a failed task. Stops taking items when opts.stop() returns
-- true or after a Ctrl-C. Returns the number of items started.
-- A worker waiting out a retry's backoff (M.backoff) does not count: a
-- parked worker, or a new one, takes an item in its place, and when the
-- backoff ends the first worker to finish an item parks, so n items are
-- worked on at once (workers ever started: n plus the most in a backoff
-- at once).
function M.map(iter, fn, opts)
    options.check_help()
    opts = opts or {}
    if type(fn) ~= "function" then error("map(iter, fn, opts): fn must be a function", 2) end
    if type(iter) == "table" then
        local list, k = iter, 0
        iter = function()
            k = k + 1
            return list[k]
        end
    elseif type(iter) ~= "function" then
        error("map(iter, fn, opts): iter must be a function or a list", 2)
    end
    local n = opts.concurrency or endpoints.capacity()
    local started, exhausted = 0, false
    local stop = opts.stop
    local on_error = opts.on_error
    local function next_item()
        if exhausted or core.interrupted() > 0 or (stop and stop()) then return nil end
        local item = iter()
        if item == nil then exhausted = true return nil end
        started = started + 1
        return item, started
    end
    local tasks = {}
    local worker
    local alive, lent, parked, ending = 0, 0, {}, false
    -- workers on an item (or about to take one), not in a backoff nor parked
    local function active() return alive - lent - #parked end
    local function start(item, i)
        alive = alive + 1
        local k = #tasks + 1
        tasks[k] = core.spawn(worker, k, item, i)
    end
    -- a worker of this map went into a backoff (d = 1) or came back (-1)
    local function lend(d)
        lent = lent + d
        if d < 0 or ending or active() >= n then return end
        local p = table.remove(parked)
        if p then core.wake(p) return end
        local nxt, ni = next_item()
        if nxt ~= nil then start(nxt, ni) end
    end
    -- a worker takes items until none is left; it starts the next worker
    -- once it holds an item and another is waiting, so there are never more
    -- workers at work than items, nor more than n
    local function run_one(item, i)
        local ok, err = xpcall(fn, debug.traceback, item, i)
        if not ok then
            if on_error then
                on_error(item, i, err)
            else
                stderr:write(format("ollaeval: item %d failed: %s\n", i, tostring(err)))
                core.task_failed()
            end
        end
    end
    function worker(k, item, i)
        lenders[coroutine.running()] = lend
        while item ~= nil do
            if active() < n then
                local nxt, ni = next_item()
                if nxt ~= nil then start(nxt, ni) end
            end
            run_one(item, i)
            -- one too many since a backoff ended: park, to stand in for the next
            while active() > n and not ending do
                parked[#parked + 1] = tasks[k]
                core.sleep(2 ^ 31)
                for j = #parked, 1, -1 do
                    if parked[j] == tasks[k] then table.remove(parked, j) end
                end
            end
            item, i = next_item()
        end
        -- no item left: the parked workers end too
        ending = true
        alive = alive - 1
        while #parked > 0 do core.wake(table.remove(parked)) end
    end
    local first, fi = next_item()
    if first ~= nil then start(first, fi) end
    local k = 1
    while tasks[k] do
        local ok, err = core.wait(tasks[k])
        if not ok then error(err, 0) end -- the iterator or on_error raised
        k = k + 1
    end
    return started
end

return M
