-- test-cache.lua: the request cache (ollaeval.cache, core/lcache.c) through
-- chat{} against the simulator. An identical request is answered from the
-- cache (no request reaches the server, cached = true); a change to any one
-- component of the key is a miss, and that changed request is then a hit
-- of its own: model, digest, temperature, seed, num_predict, num_ctx,
-- top_p, stop, think, format, a message's content, a message's role, the
-- sample index, the API kind. Repeated samples never collapse; two models
-- never share answers; two identical requests in flight at once both go
-- out and leave one good entry; a damaged or foreign file is a warning and
-- the requests go on.
local T = require "tests.lib.tap"
local sim = require "tests.lib.sim"
local cache = require "ollaeval.cache"
local core = require "ollaeval.core"

local s = sim.start { "--time-scale", "0", "--tokens-min", "10", "--tokens-max", "40", "--models", "qwen3:8b,llama3.2:3b" }
local dir = os.tmpname()
os.remove(dir)
os.execute("mkdir -p " .. dir)
local path = dir .. "/requests.sqlite"
cache.use(path)

local function gen() return s.stats().generate_requests end

local function copy(t)
    if type(t) ~= "table" then return t end
    local c = {}
    for k, v in pairs(t) do c[k] = copy(v) end
    return c
end

local base = {
    endpoint = s.url, model = "qwen3:8b", api = "ollama",
    messages = { { role = "system", content = "Be brief." }, { role = "user", content = "What is 2 + 3?" } },
    options = { temperature = 0, seed = 0, num_predict = 40, num_ctx = 2048, top_p = 0.9, stop = { "\n\n" } },
    think = false,
}

-- ask(req) -> response, whether the server was asked
local function ask(req)
    local before = gen()
    local r, err = chat(req)
    assert(r, err)
    return r, gen() > before
end

-- the same request: the first goes to the server, the second is the cache's
local r1, sent1 = ask(copy(base))
local r2, sent2 = ask(copy(base))
T.ok(sent1 and not r1.cached, "a first request goes to the server")
T.ok(not sent2 and r2.cached == true, "the same request again is answered from the cache")
T.eq(r2.content, r1.content, "the cached answer is the answer")
T.eq(r2.completion_tokens, r1.completion_tokens, "with its token counts")
T.eq(r2.attempts, 0, "a cached answer made no attempt")
T.eq(math.type(r2.prompt_tokens), "integer", "token counts come back as integers")
local same = copy(base)
same.stream, same.timeout, same.retries, same.keep_alive = true, 77, 1, "5m"
local _, sent = ask(same)
T.ok(not sent, "stream, timeout, retries and keep_alive are not in the key")
local reordered = copy(base)
reordered.options = { stop = { "\n\n" }, top_p = 0.9, num_ctx = 2048.0, num_predict = 40, seed = 0.0, temperature = 0.0 }
_, sent = ask(reordered)
T.ok(not sent, "the same options in another order, 0 written as 0.0: a hit")

-- each component on its own: a miss, then a hit of its own
local variants = {
    { "model", function(r) r.model = "llama3.2:3b" end },
    { "temperature", function(r) r.options.temperature = 0.7 end },
    { "seed", function(r) r.options.seed = 1 end },
    { "num_predict", function(r) r.options.num_predict = 41 end },
    { "top_p", function(r) r.options.top_p = 0.95 end },
    { "stop", function(r) r.options.stop = { "\n" } end },
    { "think", function(r) r.think = true end },
    { "think absent", function(r) r.think = nil end },
    { "format", function(r) r.format = "json" end },
    { "a message's content", function(r) r.messages[2].content = "What is 2 + 4?" end },
    { "a message's role", function(r) r.messages[1].role = "user" end },
    { "one more message", function(r) r.messages[3] = { role = "assistant", content = "5" } end },
    { "the sample index", function(r) r.sample = 2 end },
    { "an option added", function(r) r.options.repeat_penalty = 1.1 end },
    { "api kind", function(r) r.api = "openai"; r.endpoint = s.url .. "/v1" end },
}
for _, v in ipairs(variants) do
    local req = copy(base)
    v[2](req)
    local a, sa = ask(req)
    local b, sb = ask(copy(req))
    T.ok(sa and not a.cached, v[1] .. " changed: a miss, the server is asked")
    T.ok(not sb and b.cached, v[1] .. " changed, asked again: a hit")
end
local _, still = ask(copy(base))
T.ok(not still, "the first request is still a hit after all of them")

-- the key itself, for what the simulator cannot tell apart
local k0 = cache.key_of(copy(base), "qwen3:8b")
T.eq(cache.key_of(copy(base), "qwen3:8b"), k0, "the key is the same for the same request")
T.eq(#k0, 64, "the key is a sha256")
T.ok(cache.key_of(copy(base), "qwen3:14b") ~= k0, "key: the model name")
-- num_ctx is a load-time option: one run cannot send two values to a model
-- (chat{} refuses it), so it is checked on the key alone
local nctx = copy(base)
nctx.options.num_ctx = 4096
T.ok(cache.key_of(nctx, "qwen3:8b") ~= k0, "key: num_ctx")
local other = copy(base)
other.endpoint = "http://elsewhere:11434"
T.ok(cache.key_of(other, "qwen3:8b") ~= k0, "key, no digest known: the endpoint")
cache.set_digest("qwen3:8b", "sha256:aaaa")
local kd = cache.key_of(copy(base), "qwen3:8b")
T.ok(kd ~= k0, "key: a known digest")
T.eq(cache.key_of(other, "qwen3:8b"), kd, "key, digest known: the same model on another endpoint hits")
cache.set_digest("qwen3:8b", "sha256:bbbb")
T.ok(cache.key_of(copy(base), "qwen3:8b") ~= kd, "key: another digest of the same name misses")
cache.set_digest("qwen3:8b", nil)
local img = copy(base)
img.messages[2].images = { "aGVsbG8=" }
T.ok(cache.key_of(img, "qwen3:8b") ~= k0, "key: every field of a message (images)")
T.eq(cache.encode { b = 1, a = { 2.0, "x/y", true }, c = {} }, '{"a":[2,"x/y",true],"b":1,"c":{}}',
    "canonical JSON: sorted keys, 2.0 as 2, an empty table as {}, / as it is")
T.eq(cache.encode { t = 0.1 }, '{"t":0.10000000000000001}', "canonical JSON: floats with 17 digits")

-- the key's exact composition (a change to it must bump the key's version)
local fixed = { endpoint = "http://h:1", api = "ollama", think = false, format = "json",
                messages = { { role = "user", content = "2+2?" } }, options = { temperature = 0.5, seed = 7 } }
T.eq(cache.key_of(fixed, "m:1"), ollaeval.sha256('{"api":"ollama","endpoints":["http://h:1"],"format":"json",'
    .. '"messages":[{"content":"2+2?","role":"user"}],"model":"m:1","options":{"seed":7,"temperature":0.5},'
    .. '"sample":1,"seed":7,"think":false,"v":1}'), "the key is the sha256 of the canonical JSON of its components")
cache.set_digest("m:1", "sha256:dd")
T.eq(cache.key_of(fixed, "m:1"), ollaeval.sha256('{"api":"ollama","digest":"sha256:dd","format":"json",'
    .. '"messages":[{"content":"2+2?","role":"user"}],"model":"m:1","options":{"seed":7,"temperature":0.5},'
    .. '"sample":1,"seed":7,"think":false,"v":1}'), "with a digest, the digest stands for the endpoints")
cache.set_digest("m:1", nil)

-- repeated samples of one item never collapse: k samples, k answers asked
local asked = gen()
for j = 1, 3 do
    local req = copy(base)
    req.sample = j
    req.messages[2].content = "Sample me."
    chat(req)
end
T.eq(gen() - asked, 3, "three samples of one prompt: three requests")
asked = gen()
for j = 1, 3 do
    local req = copy(base)
    req.sample = j
    req.messages[2].content = "Sample me."
    local r = chat(req)
    assert(r.cached)
end
T.eq(gen() - asked, 0, "the three samples again: three hits, each its own")

-- two models, the same prompt: each asked once, never the other's answer
local m1 = copy(base); m1.messages[2].content = "Name a colour."
local m2 = copy(m1); m2.model = "llama3.2:3b"
local a1 = ask(m1)
local a2, sent_b = ask(m2)
T.ok(sent_b and not a2.cached, "the second model is asked although the first's answer is cached")
local b1, b2 = ask(copy(m1)), ask(copy(m2))
T.ok(b1.cached and b2.cached and b1.content == a1.content and b2.content == a2.content,
    "each model's answer comes back for that model")

-- opting out: chat{cache=false} always asks
local _, sent_off = ask((function() local r = copy(base); r.cache = false; return r end)())
T.ok(sent_off, "chat{cache=false} goes to the server")

-- on_token gets a cached answer whole
local got = {}
local tok = copy(base)
tok.on_token = function(c) got[#got + 1] = c end
local rt = chat(tok)
T.ok(rt.cached and #got == 1 and got[1] == rt.content, "on_token: a cached answer in one piece")

-- two identical requests in flight at once: both go out, no error, one entry
local twin = copy(base)
twin.messages[2].content = "Twins?"
asked = gen()
local t1 = spawn(function() return chat(copy(twin)) end)
local t2 = spawn(function() return chat(copy(twin)) end)
local okx, x = wait(t1)
local oky, y = wait(t2)
T.ok(okx and oky and x and y and x.content == y.content, "two identical requests at once both answer")
T.ok(gen() - asked >= 1 and gen() - asked <= 2, "they reached the server (once or twice)")
local z, sz = ask(copy(twin))
T.ok(not sz and z.cached and z.content == x.content, "then one good entry answers")

-- a file that is not a database: a warning, and requests go on uncached
local bad = dir .. "/bad.sqlite"
local f = assert(io.open(bad, "wb"))
f:write(string.rep("this is not a database\n", 200))
f:close()
local errf = dir .. "/stderr"
-- (the warning goes to stderr: catch it through a child run of the binary)
local bin = os.getenv("OLLAEVAL") or "./ollaeval"
local probe = dir .. "/probe.lua"
f = assert(io.open(probe, "wb"))
f:write(string.format([[
local r, err = chat{ endpoint = %q, model = "qwen3:8b", messages = {{ role = "user", content = "hi" }} }
io.stdout:write(r and ("ok " .. tostring(r.cached)) or ("error " .. tostring(err)))
]], s.url))
f:close()
local function run_probe(cachearg)
    local p = io.popen(string.format("%s --trust --cache=%s %s 2>%s", bin, cachearg, probe, errf))
    local out = p:read("a")
    p:close()
    local e = io.open(errf, "rb")
    local err = e:read("a")
    e:close()
    return out, err
end
local out, err = run_probe(bad)
T.eq(out, "ok nil", "a corrupt cache file: the request still gets its answer")
T.ok(err:find("warning: request cache " .. bad, 1, true) and err:find("not a database", 1, true)
    and err:find("going on without the cache", 1, true), "with one clear warning: " .. err)
local g = assert(io.open(bad, "rb"))
T.eq(g:read("a"), string.rep("this is not a database\n", 200), "and the file is left as it was")
g:close()
out = run_probe(dir .. "/new/sub/c.sqlite")
local out2 = run_probe(dir .. "/new/sub/c.sqlite")
T.ok(out == "ok nil" and out2 == "ok true", "--cache=PATH makes its folder; a second run hits")

-- misuse raises
local okb, eb = pcall(chat, { messages = base.messages, sample = 0, endpoint = s.url, model = "qwen3:8b" })
T.ok(not okb and eb:find("'sample' must be a whole number >= 1"), "sample = 0 raises")
okb, eb = pcall(chat, { messages = base.messages, cache = "yes", endpoint = s.url, model = "qwen3:8b" })
T.ok(not okb and eb:find("field 'cache' must be a boolean"), "cache = 'yes' raises")

cache.use(nil)
local stats = core.stats and core.stats()
T.ok(stats ~= nil, "engine still sound after the cache is closed")
os.execute("rm -rf " .. dir)
T.done()
