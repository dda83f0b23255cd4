-- tests/lib/records.lua: record-by-record checks of two journals, for the
-- shell tests of the cache and of rescore (no jq or python in CI):
--   ollaeval tests/lib/records.lua same A/samples.jsonl B/samples.jsonl [IGNORED,FIELDS]
--       the same ids, and per id the same fields but the ignored ones
--       (compared as canonical JSON); prints each difference
--   ollaeval tests/lib/records.lua field-eq A/samples.jsonl FIELD_A B/samples.jsonl FIELD_B
--       the same ids, and per id A's FIELD_A equals B's FIELD_B (nil and
--       false alike); prints each difference
--   ollaeval tests/lib/records.lua count-ne FILE FIELD_1 FIELD_2
--       prints the number of records whose FIELD_1 and FIELD_2 differ
--   ollaeval tests/lib/records.lua verdicts DIR/samples.jsonl
--       one line per id, sorted: id, correct, answer
-- Exit status 0 when the check holds, 1 otherwise.
local cjson = require "cjson"
local canon = require("ollaeval.cache").encode

local function load(path)
    local by = {}
    for rec in jsonl(path) do by[rec.id] = rec end
    return by
end

local cmd = arg[1]
if cmd == "same" then
    local a, b = load(arg[2]), load(arg[3])
    local ignored = {}
    for f in (arg[4] or ""):gmatch("[^,]+") do ignored[f] = true end
    local bad = 0
    local function diff(msg)
        bad = bad + 1
        if bad <= 10 then print(msg) end
    end
    for id, ra in pairs(a) do
        local rb = b[id]
        if not rb then
            diff("only in A: " .. tostring(id))
        else
            local keys = {}
            for k in pairs(ra) do keys[k] = true end
            for k in pairs(rb) do keys[k] = true end
            for k in pairs(keys) do
                if not ignored[k] then
                    local va, vb = canon(ra[k] == nil and cjson.null or ra[k]), canon(rb[k] == nil and cjson.null or rb[k])
                    if va ~= vb then diff(string.format("%s.%s: %s vs %s", tostring(id), k, va:sub(1, 80), vb:sub(1, 80))) end
                end
            end
        end
    end
    for id in pairs(b) do if not a[id] then diff("only in B: " .. tostring(id)) end end
    os.exit(bad == 0 and 0 or 1)
elseif cmd == "field-eq" then
    local a, fa, b, fb = load(arg[2]), arg[3], load(arg[4]), arg[5]
    local bad = 0
    local function v(x) if x == nil or x == cjson.null or x == false then return "false" end return canon(x) end
    for id, ra in pairs(a) do
        local rb = b[id]
        if not rb or v(ra[fa]) ~= v(rb[fb]) then
            bad = bad + 1
            if bad <= 10 then print(string.format("%s: %s vs %s", tostring(id), v(ra[fa]), rb and v(rb[fb]) or "absent")) end
        end
    end
    for id in pairs(b) do if not a[id] then bad = bad + 1 end end
    os.exit(bad == 0 and 0 or 1)
elseif cmd == "count-ne" then
    local n = 0
    local function v(x) if x == nil or x == cjson.null or x == false then return "false" end return canon(x) end
    for _, r in pairs(load(arg[2])) do
        if not r.error and v(r[arg[3]]) ~= v(r[arg[4]]) then n = n + 1 end
    end
    print(n)
    os.exit(0)
elseif cmd == "verdicts" then
    local lines = {}
    for id, r in pairs(load(arg[2])) do
        lines[#lines + 1] = string.format("%s %s %s", tostring(id), tostring(r.correct), tostring(r.answer))
    end
    table.sort(lines)
    print(table.concat(lines, "\n"))
    os.exit(0)
end
io.stderr:write("usage: ollaeval tests/lib/records.lua same A B [FIELDS] | verdicts FILE\n")
os.exit(2)
