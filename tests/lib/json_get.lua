-- json_get.lua FILE PATH...: prints the value at each dotted PATH of a JSON
-- file (one per line), for shell tests. "#samples" counts the lines of a
-- JSONL file instead.
local cjson = require "cjson"
local file = arg[1]
local f = assert(io.open(file))
local text = f:read("a")
f:close()
if arg[2] == "#lines" then print(select(2, text:gsub("\n", ""))) return end
local doc = cjson.decode(text)
for i = 2, #arg do
    local v = doc
    for k in arg[i]:gmatch("[^.]+") do
        if type(v) ~= "table" then v = nil break end
        v = v[tonumber(k) or k]
    end
    if type(v) == "table" then v = cjson.encode(v) end
    if math.type(v) == "float" and v == math.floor(v) and math.abs(v) < 2^53 then v = math.floor(v) end
    print(v == nil and "nil" or tostring(v))
end
