-- ollaeval.http: http{}, the raw request through the endpoint window of the
-- URL's host (core.request, lapi.c). No retries: chat{} has them.
local core = require "ollaeval.core"
local options = require "ollaeval.options"
local D = require "ollaeval.defaults"

local format = string.format

local M = {}

-- checkfield(t, k, type, where): t[k], raising (at the caller's caller)
-- when it is there and not of that type
function M.checkfield(t, k, ty, where)
    local v = t[k]
    if v ~= nil and type(v) ~= ty then
        error(format("%s: field '%s' must be a %s, got %s", where, k, ty, type(v)), 3)
    end
    return v
end
local checkfield = M.checkfield

-- http{method=, url=, headers=, body=, timeout=, connect_timeout=, max_body=}
-- -> {status, headers, body, ...}  or  nil, err, kind. Never raises for a
-- network or server failure.
function M.http(req)
    options.check_help()
    if type(req) ~= "table" then error("http{}: expected a table", 2) end
    if type(req.url) ~= "string" then error("http{}: 'url' (a string) is required", 2) end
    checkfield(req, "method", "string", "http{}")
    checkfield(req, "body", "string", "http{}")
    checkfield(req, "headers", "table", "http{}")
    checkfield(req, "timeout", "number", "http{}")
    local res, err, kind = core.request {
        method = req.method, url = req.url, headers = req.headers, body = req.body, want_headers = true,
        timeout = req.timeout or options.engine.timeout,
        connect_timeout = req.connect_timeout or D["connect-timeout"],
        idle_timeout = req.idle_timeout, max_body = req.max_body,
    }
    if not res then return nil, kind .. ": " .. err, kind end
    return res
end

return M
