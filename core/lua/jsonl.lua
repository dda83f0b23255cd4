-- ollaeval.jsonl: jsonl(path [, opts]), the streaming reader of JSONL
-- datasets.
local cjson = require "cjson"
local cjson_safe = require "cjson.safe"
local D = require "ollaeval.defaults"

local format = string.format

local M = {}

-- jsonl(path [, opts]) -> iterator of item, line_number. Streams the file;
-- blank lines are skipped; each other line must be a JSON object or array
-- (a UTF-8 BOM and CRLF endings are fine). A malformed line, invalid UTF-8,
-- another JSON value or a line longer than opts.max_line bytes (default
-- 16 MiB) raises "FILE:LINE: ...". The file must exist: a missing one
-- raises at once.
local JSONL_MAX_LINE = D["jsonl-max-line"]

function M.jsonl(path, opts)
    if type(path) ~= "string" then error("jsonl(path): path must be a string", 2) end
    local max_line = opts and opts.max_line or JSONL_MAX_LINE
    local f, err = io.open(path, "rb")
    if not f then error(err, 2) end
    local n = 0
    local function fail(fmt, ...)
        f:close()
        f = nil
        error(format("%s:%d: " .. fmt, path, n, ...), 0)
    end
    return function()
        while f do
            local line = f:read("L")
            if not line then
                f:close()
                f = nil
                return nil
            end
            n = n + 1
            if #line > max_line + 2 then
                fail("the line is %d bytes, longer than the limit of %d", #line, max_line)
            end
            line = line:gsub("\r?\n$", "")
            if n == 1 then line = line:gsub("^\239\187\191", "") end -- UTF-8 BOM
            if line:find("%S") then
                if not utf8.len(line) then fail("invalid UTF-8") end
                local item, jerr = cjson_safe.decode(line)
                if item == nil then fail("invalid JSON: %s", jerr) end
                if type(item) ~= "table" then
                    fail("expected a JSON object or array, got %s", item == cjson.null and "null" or type(item))
                end
                return item, n
            end
        end
        return nil
    end
end

return M
