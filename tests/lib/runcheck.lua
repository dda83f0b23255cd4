-- tests/lib/runcheck.lua: JSON checks on run folders for the shell tests
-- (no jq or python in CI). Run by the engine:
--   ollaeval tests/lib/runcheck.lua same A/summary.json B/summary.json
--       the same counts and metrics (exactly); prints each difference
--   ollaeval tests/lib/runcheck.lua journal DIR/samples.jsonl N
--       every line is whole, valid JSON ending in a newline, and the records
--       without an error name each of N ids exactly once
--   ollaeval tests/lib/runcheck.lua get FILE.json PATH...
--       prints the value at each dotted PATH ("endpoints.1": list index),
--       one a line: tables as JSON, whole floats as integers, "null" for a
--       JSON null, "nil" when absent; PATH "#lines" counts FILE's lines
--   ollaeval tests/lib/runcheck.lua attempts DIR/samples.jsonl
--       prints the sum of `attempts` and the largest, over scored records,
--       then the sum of `overloads` (503/429 replies waited out)
--   ollaeval tests/lib/runcheck.lua errors DIR/samples.jsonl
--       prints one line per error record: id, error_kind, error (first line)
--   ollaeval tests/lib/runcheck.lua stats SIM_URL key.sub
--       prints one value of the simulator's /stats
-- Exit status 0 when the check holds, 1 otherwise.
local cjson = require "cjson"
local cjson_safe = require "cjson.safe"

local cmd = arg[1]


local function slurp(path)
    local f, err = io.open(path, "rb")
    if not f then
        io.stderr:write("runcheck: ", err, "\n")
        os.exit(1)
    end
    local s = f:read("a")
    f:close()
    return s
end


local function load_json(path)
    local t, err = cjson_safe.decode(slurp(path))
    if type(t) ~= "table" then
        io.stderr:write("runcheck: ", path, ": ", tostring(err), "\n")
        os.exit(1)
    end
    return t
end


local function lines(path)
    local text = slurp(path)
    local out, pos = {}, 1
    while pos <= #text do
        local nl = text:find("\n", pos, true)
        if not nl then
            return out, "the last line has no newline (" .. (#text - pos + 1) .. " bytes)"
        end
        out[#out + 1] = text:sub(pos, nl - 1)
        pos = nl + 1
    end
    return out
end


local function show(v)
    if type(v) == "table" then return cjson.encode(v) end
    if type(v) == "number" and v == math.floor(v) and math.abs(v) < 2 ^ 53 then
        return string.format("%d", v)
    end
    if v == nil then return "nil" end
    if v == cjson.null then return "null" end
    return tostring(v)
end


local function get(v, path)
    for k in path:gmatch("[^.]+") do
        if type(v) ~= "table" then return nil end
        if v[k] == nil and tonumber(k) then k = tonumber(k) end
        v = v[k]
    end
    return v
end


if cmd == "same" then
    local a, b = load_json(arg[2]), load_json(arg[3])
    local bad = 0
    local function cmp(what, x, y)
        if show(x) ~= show(y) then
            print(string.format("differs: %s: %s vs %s", what, show(x), show(y)))
            bad = bad + 1
        end
    end
    for _, k in ipairs { "n", "scored", "errors", "total" } do cmp("counts." .. k, a.counts[k], b.counts[k]) end
    for _, k in ipairs { "accuracy", "accuracy_stderr", "accuracy_ci95", "strict_accuracy",
                         "strict_accuracy_stderr", "no_answer_rate", "truncated_rate" } do
        cmp("metrics." .. k, a.metrics[k], b.metrics[k])
    end
    for _, k in ipairs { "prompt_total", "completion_total" } do cmp("tokens." .. k, a.tokens[k], b.tokens[k]) end
    cmp("dataset.sha256", a.dataset.sha256, b.dataset.sha256)
    os.exit(bad == 0 and 0 or 1)
elseif cmd == "journal" then
    local want = tonumber(arg[3])
    local ls, torn = lines(arg[2])
    local bad = 0
    if torn then print("torn: " .. torn); bad = bad + 1 end
    local seen, scored, errors = {}, 0, 0
    for i, l in ipairs(ls) do
        local r = cjson_safe.decode(l)
        if type(r) ~= "table" or r.id == nil then
            print(string.format("line %d is not a record: %s", i, l:sub(1, 80)))
            bad = bad + 1
        elseif r.error then
            errors = errors + 1
        else
            scored = scored + 1
            if seen[r.id] then
                print(string.format("line %d: id %s scored twice (first on line %d)", i, tostring(r.id), seen[r.id]))
                bad = bad + 1
            end
            seen[r.id] = i
        end
    end
    print(string.format("lines %d, scored %d, errors %d", #ls, scored, errors))
    if want and scored ~= want then
        print(string.format("scored %d ids, want %d", scored, want))
        bad = bad + 1
    end
    os.exit(bad == 0 and 0 or 1)
elseif cmd == "get" then
    if arg[3] == "#lines" then
        print(select(2, slurp(arg[2]):gsub("\n", "")))
        os.exit(0)
    end
    local doc = load_json(arg[2])
    for i = 3, #arg do print(show(get(doc, arg[i]))) end
elseif cmd == "stats" then
    local r, err = http { url = arg[2] .. "/stats", timeout = 5 }
    if not r then
        io.stderr:write("runcheck: ", err, "\n")
        os.exit(1)
    end
    print(show(get(cjson.decode(r.body), arg[3])))
elseif cmd == "attempts" then
    local sum, most, over = 0, 0, 0
    for _, l in ipairs((lines(arg[2]))) do
        local r = cjson.decode(l)
        if not r.error then
            sum = sum + (r.attempts or 0)
            most = math.max(most, r.attempts or 0)
            over = over + (r.overloads or 0)
        end
    end
    print(string.format("%d %d %d", sum, most, over))
elseif cmd == "errors" then
    for _, l in ipairs((lines(arg[2]))) do
        local r = cjson.decode(l)
        if r.error then
            print(string.format("%s\t%s\t%s", tostring(r.id), tostring(r.error_kind),
                (tostring(r.error):match("[^\n]*"))))
        end
    end
else
    io.stderr:write("usage: ollaeval tests/lib/runcheck.lua same|journal|get|attempts|errors ...\n")
    os.exit(2)
end
