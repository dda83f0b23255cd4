-- ollaeval.jsonl: jsonl(path [, opts]), the streaming reader of JSONL
-- datasets.
local core = require "ollaeval.core"
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
local BLOCK = 65536

local find, sub, byte, concat = string.find, string.sub, string.byte, table.concat
-- utf8_valid: utf8.len's verdict, in C (core/utf8.c)
local decode, null, utf8_valid = cjson_safe.decode, cjson.null, core.utf8_valid

function M.jsonl(path, opts)
    if type(path) ~= "string" then error("jsonl(path): path must be a string", 2) end
    local max_line = opts and opts.max_line or JSONL_MAX_LINE
    local f, err = io.open(path, "rb")
    if not f then error(err, 2) end
    local n = 0
    local function fail(fmt, ...)
        if f then f:close() end
        f = nil
        error(format("%s:%d: " .. fmt, path, n, ...), 0)
    end
    -- The file is read in blocks (f:read("L") goes a byte at a time); a
    -- line is one find and one copy out of its block. A line longer than
    -- a block is gathered in pieces; one over the limit is only measured.
    local buf, pos = "", 1
    local function next_line()
        local nl = find(buf, "\n", pos, true)
        if nl then
            local line = sub(buf, pos, nl)
            pos = nl + 1
            return line
        end
        local parts, size = { sub(buf, pos) }, #buf - pos + 1
        buf, pos = "", 1
        while true do
            local chunk, rerr = f:read(BLOCK)
            if not chunk then
                if rerr then fail("%s", rerr) end
                if size > max_line + 2 then return false, size end
                return size > 0 and concat(parts) or nil
            end
            local k = find(chunk, "\n", 1, true)
            size = size + (k or #chunk)
            if k then buf, pos = chunk, k + 1 end
            if size > max_line + 2 then
                parts = nil
                if k then return false, size end
            elseif k then
                parts[#parts + 1] = sub(chunk, 1, k)
                return concat(parts)
            else
                parts[#parts + 1] = chunk
            end
        end
    end
    return function()
        while f do
            local line, long = next_line()
            if line == nil then
                f:close()
                f = nil
                return nil
            end
            n = n + 1
            if not line then
                fail("the line is %d bytes, longer than the limit of %d", long, max_line)
            end
            if n == 1 and find(line, "^\239\187\191") then line = sub(line, 4) end -- UTF-8 BOM
            -- the line ending stays: "\r\n" is JSON whitespace
            local c = byte(line)
            if c and c > 32 or find(line, "%S") then -- (not a blank line)
                if not utf8_valid(line) then fail("invalid UTF-8") end
                local item, jerr = decode(line)
                if item == nil then -- the message as for the line without its ending
                    _, jerr = decode((line:gsub("\r?\n$", "")))
                    fail("invalid JSON: %s", jerr)
                end
                if type(item) ~= "table" then
                    fail("expected a JSON object or array, got %s", item == null and "null" or type(item))
                end
                return item, n
            end
        end
        return nil
    end
end

return M
