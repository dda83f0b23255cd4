-- ollaeval.answered: who answered a chat{} request, against whom it was
-- sent to. Two things can differ without failing the request:
--   the model    the server names in its answer (`model`) another model
--                than the one asked for (-m, chat{model=}): a proxy or an
--                alias serves something else. "name" and "name:latest" are
--                the same model.
--   the server   a redirect (libcurl follows up to 5) ended on another
--                host or port than the endpoint's: another server answered.
-- Each is warned once on stderr, per endpoint and the pair that differs,
-- and kept in the answer: fields.model (as answered) and fields.final_url
-- (the URL the redirects ended at), which the run's record keeps for every
-- call (calls[].model, calls[].final_url).
--
--   check(url_base, model, fields, res)  after a successful attempt: sets
--                                fields.final_url, warns as above
--   where(url, res) -> "URL" or "URL (redirected to FINAL)", for messages
--   authority(url) -> "scheme://host:port" (the default port written out)
local format = string.format

local M = {}

local warned = {} -- what was warned -> true

local function warn_once(key, fmt, ...)
    if warned[key] then return end
    warned[key] = true
    io.stderr:write("ollaeval: warning: ", format(fmt, ...), "\n")
end

local DEFAULT_PORT = { http = "80", https = "443" }

function M.authority(url)
    local scheme, rest = tostring(url):match("^(%a[%w+.-]*)://(.*)$")
    if not scheme then return tostring(url) end
    scheme = scheme:lower()
    local auth = rest:match("^([^/?#]*)"):gsub("^.*@", "") -- userinfo is never part of it
    local host, port = auth:match("^(%[.*%]):?(%d*)$")
    if not host then host, port = auth:match("^([^:]*):?(%d*)$") end
    if not port or port == "" then port = DEFAULT_PORT[scheme] or "" end
    return format("%s://%s:%s", scheme, (host or auth):lower(), port)
end

local function same_model(asked, answered)
    if asked == answered then return true end
    local function full(m) return m:find(":", 1, true) and m or m .. ":latest" end
    return full(asked) == full(answered)
end

-- a URL without its user:password@ (a Location header could carry one)
local function clean(url)
    return url and (url:gsub("^(%a[%w+.-]*://)[^/?#@]*@", "%1"))
end

function M.check(url_base, model, fields, res)
    local final = res and res.final_url
    if final then
        final = clean(final)
        fields.final_url = final
        local from, to = M.authority(url_base), M.authority(final)
        if from ~= to then
            warn_once("host " .. from .. " " .. to, "requests to %s are redirected to another server, %s "
                .. "(answers from it are recorded with final_url); use -e %s if that is the server to evaluate",
                url_base, final, final:match("^(%a[%w+.-]*://[^/?#]*)") or final)
        end
    end
    local got = fields.model
    if got ~= model and type(got) == "string" and type(model) == "string" and not same_model(model, got) then
        warn_once("model " .. url_base .. " " .. model .. " " .. got, "%s answers requests for the model %s as "
            .. "the model %s (recorded in each call's model): check -m and what the server serves", url_base,
            model, got)
    end
end

function M.where(url, res)
    local final = clean(res and res.final_url)
    if final and final ~= url then return format("%s (redirected to %s)", url, final) end
    return url
end

return M
