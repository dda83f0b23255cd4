-- preflight.lua: before the first item, is every endpoint up and does it
-- serve the model? One clear line within two seconds when nothing answers,
-- and the model's digest (Ollama) for run.json. Also the context the model
-- was loaded with (Ollama's /api/ps), read at the end of a run.
--
--   check(model, say)       -> info {endpoints=, digest=, version=}  or  nil, err
--   loaded_context(model)   -> tokens  or  nil
local cjson_safe = require "cjson.safe"

local M = {}

local format, concat = string.format, table.concat


-- Ollama names a model "name:tag"; a bare name means ":latest".
local function full_name(model)
    return model:find(":") and model or model .. ":latest"
end


-- OpenAI-compatible: the model list, no digest.
local function check_openai(ep, model)
    local res = http { url = ep .. "/models", timeout = 10, headers = ollaeval.headers_for("openai") }
    local list = res and res.status == 200 and cjson_safe.decode(res.body)
    if type(list) == "table" and type(list.data) == "table" then
        local names, found = {}, false
        for _, m in ipairs(list.data) do
            names[#names + 1] = tostring(m.id)
            if m.id == model then found = true end
        end
        if not found then
            return nil, format("model '%s' is not served at %s (it has: %s)", model, ep, concat(names, ", "))
        end
    elseif res and (res.status == 401 or res.status == 403) then
        return nil, format("%s answers %d to the model list: check the API key (%s)", ep, res.status,
            ollaeval.options["api-key-env"] or "OPENAI_API_KEY")
    end
    return true
end


-- Ollama: the model must be in /api/tags; its digest and details are kept.
local function check_ollama(ep, model, e)
    local res = http { url = ep .. "/api/tags", timeout = 10 }
    local tags = res and res.status == 200 and cjson_safe.decode(res.body)
    if type(tags) ~= "table" or type(tags.models) ~= "table" then return true end
    local want, names = full_name(model), {}
    for _, m in ipairs(tags.models) do
        names[#names + 1] = m.name
        if m.name == want or m.model == want or m.name == model then
            e.digest, e.details = m.digest, m.details
        end
    end
    if not e.digest then
        return nil, format("model '%s' is not on the server at %s; pull it with `ollama pull %s`%s",
            model, ep, model, #names > 0 and (" (it has: " .. concat(names, ", ") .. ")") or "")
    end
    return true
end


function M.check(model, say)
    local info = { endpoints = {} }
    for _, ep in ipairs(ollaeval.endpoints) do
        -- 1.5 s, so that with start-up the line comes within two seconds
        local res, err = http { url = ep .. "/api/version", timeout = 1.5, connect_timeout = 1.5 }
        if not res then
            return nil, format("no server answers at %s (%s). Start Ollama (`ollama serve`), pass -e URL, "
                .. "or try the simulator: `ollaeval sim`", ep, err)
        end
        local v = cjson_safe.decode(res.body)
        local e = { url = ep, version = type(v) == "table" and v.version or nil }
        local ok, cerr
        if ollaeval.backend_of(ep) == "openai" then
            ok, cerr = check_openai(ep, model)
        else
            ok, cerr = check_ollama(ep, model, e)
        end
        if not ok then return nil, cerr end
        info.endpoints[#info.endpoints + 1] = e
    end
    local first, same = info.endpoints[1], true
    for _, e in ipairs(info.endpoints) do
        if e.digest ~= first.digest then
            same = false
            say("warning: the endpoints serve different digests of %s: %s has %s, %s has %s",
                model, first.url, tostring(first.digest), e.url, tostring(e.digest))
        end
    end
    info.digest, info.version = first.digest, first.version
    -- the request cache keys on the digest when every endpoint has the same
    if same and first.digest then require("ollaeval.cache").set_digest(model, first.digest) end
    return info
end


function M.loaded_context(model)
    local ep = ollaeval.endpoints[1]
    if ollaeval.backend_of(ep) ~= "ollama" then return nil end
    local res = http { url = ep .. "/api/ps", timeout = 5 }
    local ps = res and res.status == 200 and cjson_safe.decode(res.body)
    if type(ps) ~= "table" or type(ps.models) ~= "table" then return nil end
    local want = full_name(model)
    for _, m in ipairs(ps.models) do
        if (m.name == want or m.model == want) and tonumber(m.context_length) then
            return math.tointeger(m.context_length) or m.context_length
        end
    end
    return nil
end


return M
