-- progress.lua: what the user sees while a run goes on, and Ctrl-C. Both
-- are tasks that read the run's counters `st` (done, new, scored, correct,
-- errors, unscored, calls, tokens, t0, finished), which the runner updates as items end.
--
--   start(st, total, quiet) -> stop(): redraws the status line until stop()
--   watch_interrupt(st)     -> task: on SIGINT/SIGTERM, gives the requests
--                              in flight a grace period, then cancels them
local M = {}

local format, floor = string.format, math.floor
local stderr = io.stderr


local function fmt_eta(s)
    if not s or s ~= s or s == math.huge then return "--:--" end
    s = floor(s + 0.5)
    if s >= 3600 then return format("%d:%02d:%02d", s // 3600, s // 60 % 60, s % 60) end
    return format("%d:%02d", s // 60, s % 60)
end


function M.line(st, total)
    local elapsed = (now() - st.t0) / 1000
    local acc = st.scored > 0 and format("%.1f%%", 100 * st.correct / st.scored) or "-"
    local rate = elapsed > 0 and st.new / elapsed or 0
    local toks = elapsed > 0 and st.tokens / elapsed or 0
    local eta = rate > 0 and (total - st.done) / rate or nil
    local calls = (st.calls or 0) > st.new and format("  %d calls", st.calls) or ""
    local unscored = (st.unscored or 0) > 0 and format("  unscored %d", st.unscored) or ""
    return format("%d/%d  acc %s  %.1f items/s  %.0f tok/s%s  in flight %d  errors %d%s  ETA %s",
        st.done, total, acc, rate, toks, calls, ollaeval.stats().inflight, st.errors, unscored, fmt_eta(eta))
end


-- A task that redraws the status line at a fixed rate, so its cost does not
-- grow with concurrency: 4 times a second on a terminal, every 10 s
-- otherwise, never when quiet. stop() ends it and waits for it.
function M.start(st, total, quiet)
    if quiet then return function() end end
    local tty = ollaeval.isatty(2)
    local period = tty and 250 or 10000
    local running = true
    local t = spawn(function()
        while running do
            -- short naps, so the end of the run never waits out a period
            local due = now() + period
            while running and now() < due do sleep(math.min(100, due - now())) end
            if not running then break end
            if tty then
                stderr:write("\r\27[K", M.line(st, total))
            else
                stderr:write(M.line(st, total), "\n")
            end
            stderr:flush()
        end
    end)
    return function()
        running = false
        wait(t)
        if tty then stderr:write("\r\27[K") end
    end
end


-- Ctrl-C: map stops taking items (ollaeval.interrupted() > 0); in-flight
-- requests get a grace period (OLLAEVAL_GRACE_MS changes it; tests use a
-- short one), then are cancelled (not recorded: redone on resume). Ends
-- when st.finished is set.
function M.watch_interrupt(st)
    local grace_ms = tonumber(os.getenv("OLLAEVAL_GRACE_MS") or "") or 10000
    return spawn(function()
        while not st.finished do
            if ollaeval.interrupted() > 0 then
                stderr:write(format("\nollaeval: interrupted: finishing the %d requests in flight "
                    .. "(up to %d s; Ctrl-C again to exit now)\n", ollaeval.stats().inflight, grace_ms // 1000))
                local t = now()
                while not st.finished and now() - t < grace_ms do sleep(50) end
                if not st.finished then ollaeval.cancel_all() end
                return
            end
            sleep(50)
        end
    end)
end


return M
