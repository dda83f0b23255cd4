-- bench/autostat.lua: the figures of one bench/auto.sh run, from its run
-- folder (summary.json, window.jsonl) and the simulator's /stats taken at
-- its end. Run trusted (it reads files):
--   ollaeval --trust bench/autostat.lua cell DIR STATS.json SCALE
--       one line: items/s over the run, output tokens/s and slot
--       utilisation over the measured segment (the schedule's second one:
--       the first is the warm-up, the third the drain), items scored, total,
--       errors, 503s, the deepest server queue, the largest margin, and
--       the 503/429 replies the scored records waited out (`overloads`)
--   ollaeval --trust bench/autostat.lua segments DIR STATS.json SCALE
--       one line per segment of the schedule but the last (the drain):
--       index, slots, start and end (simulated s), output tokens/s, slot
--       utilisation, mean service time (real ms), 503s, deepest queue, and
--       the settle time after the change that began it: from the change
--       until the window is within slots + margin +-1 from then on to the
--       segment's end (real ms, -1: never; 0 for the first segment)
-- Window times are the engine's ms since it started; the simulator's are ms
-- since it started listening. They are aligned on the first request (the
-- window's "start" event is logged as its first request goes out).
local cjson_safe = require "cjson.safe"

local function slurp(path)
    local f, err = io.open(path, "rb")
    if not f then error("autostat: " .. tostring(err), 0) end
    local s = f:read("a")
    f:close()
    return s
end

local function json(path)
    local t, err = cjson_safe.decode(slurp(path))
    if type(t) ~= "table" then error("autostat: " .. path .. ": " .. tostring(err), 0) end
    return t
end

local function window_events(dir)
    local ok, text = pcall(slurp, dir .. "/window.jsonl")
    local out = {}
    if not ok then return out end
    for line in text:gmatch("[^\n]+") do
        local e = cjson_safe.decode(line)
        if type(e) == "table" then out[#out + 1] = e end
    end
    return out
end

local cmd, dir, stats_path, scale = arg[1], arg[2], arg[3], tonumber(arg[4])
if not (cmd and dir and stats_path and scale) then
    io.stderr:write("usage: autostat.lua cell|segments DIR STATS.json SCALE\n")
    return 2
end
local st = json(stats_path)
local segs = st.segments or {}
local ev = window_events(dir)
-- segment k: real ms since the simulator started
local function seg_span(k)
    local t0 = segs[k].t * scale * 1000
    local t1 = segs[k + 1] and segs[k + 1].t * scale * 1000 or st.uptime_ms
    return t0, t1
end
local function seg_figures(k)
    local g = segs[k]
    local t0, t1 = seg_span(k)
    local dur = t1 - t0
    return g.tokens / (dur / 1000), g.busy_ms / (g.slots * dur),
        g.completed > 0 and g.busy_ms / g.completed or -1
end
local max_margin = 0
for _, e in ipairs(ev) do
    if (e.margin or 0) > max_margin then max_margin = e.margin end
end

local function num(x) return tonumber(x) or -1 end

if cmd == "cell" then
    local s = json(dir .. "/summary.json")
    local c = s.counts or {}
    local tok, util = -1, -1
    if segs[2] then tok, util = seg_figures(2) end
    local overloads = 0
    local ok, text = pcall(slurp, dir .. "/samples.jsonl")
    for line in (ok and text or ""):gmatch("[^\n]+") do
        local r = cjson_safe.decode(line)
        if type(r) == "table" and tonumber(r.overloads) then overloads = overloads + r.overloads end
    end
    print(string.format("%.4f %.2f %.4f %d %d %d %d %d %d %d", num(s.this_session and s.this_session.items_per_s),
        tok, util, num(c.scored), num(c.total), num(c.errors), num(st.http_503), num(st.max_queued),
        max_margin, overloads))
elseif cmd == "segments" then
    -- engine ms -> simulator ms
    local off = (st.first_request_ms or 0) - (ev[1] and ev[1].t or 0)
    for k = 1, #segs - 1 do
        local tok, util, svc = seg_figures(k)
        local t0, t1 = seg_span(k)
        local settle = 0
        if k > 1 then
            local target, cur, cur_m, t_ok = segs[k].slots, nil, 2, nil
            for _, e in ipairs(ev) do
                if e.t + off <= t0 then cur, cur_m = e.window, e.margin end
            end
            if cur and math.abs(cur - target - cur_m) <= 1 then t_ok = t0 end
            for _, e in ipairs(ev) do
                local t = e.t + off
                if t > t0 and t < t1 then
                    local good = math.abs(e.window - target - e.margin) <= 1
                    if good and not t_ok then t_ok = t elseif not good then t_ok = nil end
                end
            end
            settle = t_ok and t_ok - t0 or -1
        end
        print(string.format("%d %d %.1f %.1f %.2f %.4f %.1f %d %d %.1f", k, segs[k].slots, segs[k].t,
            segs[k + 1].t, tok, util, svc, segs[k].http_503, segs[k].max_queued, settle))
    end
else
    io.stderr:write("autostat.lua: unknown command " .. tostring(cmd) .. "\n")
    return 2
end
return 0
