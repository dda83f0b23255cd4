-- windowlog.lua: the run folder's record of the request windows. Every
-- change of an auto window (core/autowin.c: time, in flight, queued here,
-- unconfirmed at the server, window, cap, margin, drive, reason) is kept in
-- C until taken; this module appends it to DIR/window.jsonl, one JSON
-- object a line, and says what each auto window found at the end:
-- "the server ran 4 at once; the window settled at 6".
--
--   open(path)      -> log: log:flush() appends what C holds (at most every
--                      few seconds unless forced), log:close() the rest
--   findings()      -> list of {endpoint=, slots=, window=, text=, ...}, one
--                      per endpoint whose window is auto
--   describe(list)  -> the findings as one line ("" when there are none)
local cjson_safe = require "cjson.safe"

local M = {}

local Log = {}
Log.__index = Log

local FLUSH_MS = 5000


function M.open(path)
    return setmetatable({ path = path, last = now(), dropped = 0 }, Log)
end


-- flush(force): appends the window changes C holds. Returns true, or nil
-- and the error (the run goes on: the window record is not the journal).
function Log:flush(force)
    if not force and now() - self.last < FLUSH_MS then return true end
    self.last = now()
    local text, dropped = ollaeval.window_log()
    self.dropped = self.dropped + dropped
    if text == "" then return true end
    local f, err = io.open(self.path, "ab")
    if not f then return nil, err end
    local ok, werr = f:write(text)
    f:close()
    if not ok then return nil, werr end
    return true
end


function Log:close()
    return self:flush(true)
end


function M.findings()
    local out = {}
    for _, e in ipairs(ollaeval.endpoints) do
        local j = ollaeval.window_summary(e)
        local t = j and cjson_safe.decode(j)
        if type(t) == "table" then
            t.endpoint = e
            out[#out + 1] = t
        end
    end
    return out
end


function M.describe(list)
    local parts = {}
    for _, f in ipairs(list) do
        parts[#parts + 1] = (#list > 1 and (f.endpoint .. ": ") or "") .. f.text
    end
    return table.concat(parts, "; ")
end


return M
