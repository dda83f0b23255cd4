-- data.lua: where a suite's items come from. A suite names its dataset as
-- spec = {url=, sha256=, file=, shared=}; resolve() finds a copy, in order:
--   1. --dataset PATH, used as given (its sha256 is recorded);
--   2. the cache ($OLLAEVAL_CACHE, else $XDG_CACHE_HOME/ollaeval, else
--      ~/.cache/ollaeval), when its sha256 is the suite's;
--   3. a download from spec.url into the cache, sha256 checked;
--   4. spec.shared under $OLLAEVAL_SHARED/datasets/ (default
--      ../shared/datasets/), when that folder is there, sha256 checked.
-- Each step says what it did; when none gives the data, the error lists what
-- was tried and what to do.
local M = {}

local format, concat = string.format, table.concat


function M.cache_dir()
    local d = os.getenv("OLLAEVAL_CACHE")
    if d and d ~= "" then return d end
    local x = os.getenv("XDG_CACHE_HOME")
    if x and x ~= "" then return x .. "/ollaeval" end
    return (os.getenv("HOME") or ".") .. "/.cache/ollaeval"
end


-- The folder of shared datasets: $OLLAEVAL_SHARED/datasets, else
-- ../shared/datasets (a checkout that sits beside a shared folder).
function M.shared_dir()
    local s = os.getenv("OLLAEVAL_SHARED")
    if not s or s == "" then s = "../shared" end
    return s .. "/datasets"
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


local function name_of(spec)
    return spec.file or (spec.url and spec.url:match("([^/]+)$")) or (spec.shared and spec.shared:match("([^/]+)$"))
end


-- Each step: path, sha256 when it gives the data, else nil and what it found.

local function cache_path(spec)
    return format("%s/%s-%s", M.cache_dir(), spec.sha256:sub(1, 12), name_of(spec))
end


local function from_cache(spec, say)
    local path = cache_path(spec)
    if not exists(path) then return nil, "cache: no copy at " .. path end
    local sum = ollaeval.sha256_file(path)
    if sum == spec.sha256 then
        say("dataset: %s (cached, sha256 verified)", path)
        return path, sum
    end
    say("dataset: cached %s has the wrong sha256; not used", path)
    return nil, "cache: " .. path .. " has the wrong sha256"
end


local function download(spec, say)
    local dir = M.cache_dir()
    if not mkdir_p(dir) then return nil, "cannot create the cache folder " .. dir end
    say("dataset: downloading %s", spec.url)
    local res, err = http { url = spec.url, timeout = 300, connect_timeout = 10, max_body = 1 << 30 }
    if not res then
        -- (err names the URL)
        say("dataset: download failed: %s", err)
        return nil, "download failed: " .. err
    end
    if res.status ~= 200 and not (res.status == 0 and spec.url:find("^file:")) then
        return nil, format("download of %s failed: HTTP %d", spec.url, res.status)
    end
    local sum = ollaeval.sha256(res.body)
    if sum ~= spec.sha256 then
        return nil, format("download of %s: sha256 is %s, expected %s; the file was not used",
            spec.url, sum, spec.sha256)
    end
    local path = cache_path(spec)
    local tmp = path .. ".part"
    local f, ferr = io.open(tmp, "wb")
    if not f then return nil, ferr end
    local ok, werr = f:write(res.body)
    f:close()
    if not ok then
        os.remove(tmp)
        return nil, format("cannot save %s: %s", tmp, werr)
    end
    os.rename(tmp, path)
    say("dataset: saved %s (sha256 verified)", path)
    return path, sum
end


local function from_shared(spec, say)
    local path = M.shared_dir() .. "/" .. spec.shared
    if not exists(path) then
        return nil, format("shared: no %s (set OLLAEVAL_SHARED to the folder that holds datasets/)", path)
    end
    local sum = ollaeval.sha256_file(path)
    if sum ~= spec.sha256 then
        return nil, format("shared: %s has sha256 %s, expected %s; not used", path, tostring(sum), spec.sha256)
    end
    say("dataset: %s (shared copy, sha256 verified)", path)
    return path, sum
end


-- resolve(spec, local_path, say) -> path, sha256  or  nil, err
-- A local path wins; its sha256 is recorded (and compared with the suite's
-- when they differ, only as a note: a local file may be a subset).
function M.resolve(spec, local_path, say)
    say = say or function() end
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
    if not spec or not spec.sha256 or not (spec.url or spec.shared) then
        return nil, "the suite names no dataset to fetch; pass --dataset PATH"
    end
    local steps, tried = { from_cache }, {}
    if spec.url then steps[#steps + 1] = download end
    if spec.shared then steps[#steps + 1] = from_shared end
    for _, step in ipairs(steps) do
        local path, r = step(spec, say)
        if path then return path, r end
        tried[#tried + 1] = "  " .. r
    end
    return nil, format("no usable copy of the dataset %s; tried:\n%s\n"
        .. "Pass --dataset PATH (a copy of %s), or connect to the internet and run again.",
        name_of(spec), concat(tried, "\n"), name_of(spec))
end


-- count(path, limit, keep [, hold]) -> the number of items [, held]  or
-- nil, err. The plan's count of a JSONL dataset: the items up to the
-- limit-th, those keep(k) keeps (k counts from 1; nil: all). Every line is
-- checked here, as jsonl() checks it (JSON, UTF-8, an object or array, the
-- length limit), so a bad line is refused before any request
-- ("FILE:LINE: ..."), when fixing it costs nothing. hold: a file of at most
-- that many bytes has its items kept as they were decoded, held = {items=,
-- index=, lines=}: the items keep(k) keeps, in order, their k and their
-- line numbers, so
-- the run takes them without reading the file again (each line decoded
-- once); a larger file is streamed twice (the items are not kept: the run
-- decodes each again as it takes it).
function M.count(path, limit, keep, hold)
    local f, err = io.open(path, "rb")
    if not f then return nil, err end
    local size = f:seek("end")
    f:close()
    local held, index, lines
    if hold and size and size <= hold then held, index, lines = {}, {}, {} end
    local ok, res = pcall(function()
        local total, k = 0, 0
        if limit and limit <= 0 then return 0 end
        for item, line in jsonl(path) do
            k = k + 1
            if not keep or keep(k) then
                total = total + 1
                if held then held[total], index[total], lines[total] = item, k, line end
            end
            if limit and k >= limit then break end
        end
        return total
    end)
    if ok then return res, held and { items = held, index = index, lines = lines } end
    return nil, res
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
