-- data.lua: where a suite's items come from. A local file (--dataset PATH),
-- or a public dataset the suite names by URL and sha256, downloaded once
-- into the cache ($OLLAEVAL_CACHE, else $XDG_CACHE_HOME/ollaeval, else
-- ~/.cache/ollaeval) and verified before every use.
local M = {}

local format = string.format


function M.cache_dir()
    local d = os.getenv("OLLAEVAL_CACHE")
    if d and d ~= "" then return d end
    local x = os.getenv("XDG_CACHE_HOME")
    if x and x ~= "" then return x .. "/ollaeval" end
    return (os.getenv("HOME") or ".") .. "/.cache/ollaeval"
end


local function mkdir_p(dir)
    -- os.execute is the only portable way in plain Lua; quote the path
    local ok = os.execute("mkdir -p '" .. dir:gsub("'", "'\\''") .. "'")
    return ok
end
M.mkdir_p = mkdir_p


local function exists(path)
    local f = io.open(path, "rb")
    if f then f:close() return true end
    return false
end


-- fetch(spec, log) -> path, sha256  or  nil, err
-- spec = {url=, sha256=, file=}. Downloads into the cache when absent,
-- checks the checksum, and says what it did through log(fmt, ...).
function M.fetch(spec, say)
    say = say or function() end
    local dir = M.cache_dir()
    local name = spec.file or spec.url:match("([^/]+)$")
    local path = format("%s/%s-%s", dir, spec.sha256:sub(1, 12), name)
    if exists(path) then
        local sum = ollaeval.sha256_file(path)
        if sum == spec.sha256 then
            say("dataset: %s (cached, sha256 verified)", path)
            return path, sum
        end
        say("dataset: cached %s has the wrong sha256; downloading again", path)
    end
    if not mkdir_p(dir) then return nil, "cannot create the cache folder " .. dir end
    say("dataset: downloading %s", spec.url)
    local res, err = http { url = spec.url, timeout = 300, max_body = 1 << 30 }
    if not res then return nil, format("download of %s failed: %s", spec.url, err) end
    if res.status ~= 200 and not (res.status == 0 and spec.url:find("^file:")) then
        return nil, format("download of %s failed: HTTP %d", spec.url, res.status)
    end
    local sum = ollaeval.sha256(res.body)
    if sum ~= spec.sha256 then
        return nil, format("download of %s: sha256 is %s, expected %s; the file was not used",
            spec.url, sum, spec.sha256)
    end
    local tmp = path .. ".part"
    local f, ferr = io.open(tmp, "wb")
    if not f then return nil, ferr end
    f:write(res.body)
    f:close()
    os.rename(tmp, path)
    say("dataset: saved %s (sha256 verified)", path)
    return path, sum
end


-- resolve(spec, local_path, say) -> path, sha256  or  nil, err
-- A local path wins; its sha256 is recorded (and compared with the suite's
-- when they differ, only as a note: a local file may be a subset).
function M.resolve(spec, local_path, say)
    if local_path then
        local sum, err = ollaeval.sha256_file(local_path)
        if not sum then return nil, "dataset: " .. err end
        if spec and spec.sha256 and sum == spec.sha256 then
            say("dataset: %s (sha256 matches the suite's)", local_path)
        else
            say("dataset: %s (sha256 %s)", local_path, sum:sub(1, 16))
        end
        return local_path, sum
    end
    if not spec or not spec.url then return nil, "the suite names no dataset URL; pass --dataset PATH" end
    return M.fetch(spec, say)
end


-- load(path, limit) -> list of items  or  nil, err ("FILE:LINE: ...")
-- Reads the whole file (datasets of evaluation suites are small); the
-- streaming reader is the global jsonl().
function M.load(path, limit)
    local items = {}
    local ok, err = pcall(function()
        for item in jsonl(path) do
            items[#items + 1] = item
            if limit and #items >= limit then break end
        end
    end)
    if not ok then return nil, err end
    if #items == 0 then return nil, path .. ": the dataset is empty" end
    return items
end


return M
