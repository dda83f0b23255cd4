-- evals/synthetic.lua: grade-school word problems the project makes itself,
-- in GSM8K's record shape ({question=, answer="...\n#### N"}), for a demo
-- and tests on a machine that has no copy of GSM8K (offline, fresh clone).
-- They are not GSM8K and must never be reported as GSM8K.
--
--   items(n, seed) -> list of n items, the same list for the same n and seed
--
-- Every answer is an exact whole number >= 0; the worked answer uses
-- GSM8K's calculator notes ("3*4=<<3*4=12>>12"), so graders and the
-- simulator treat these items as they treat GSM8K's.
local template = require "evals.template"

local M = {}

local format = string.format

local NAMES = { "Ana", "Ben", "Chloe", "Dev", "Elif", "Femi", "Grace", "Hiro", "Ines", "Jon", "Kemal", "Lena" }
local THINGS = { "stickers", "marbles", "pencils", "stamps", "cards", "beads" }

-- Each template takes a random source and returns question, steps, answer.
local TEMPLATES = {
    function(r, name)
        local a, b, c, t = r:int(40) + 5, r:int(6) + 1, r:int(9) + 2, THINGS[r:int(#THINGS)]
        return format("%s has %d %s. %s buys %d more packs with %d %s in each pack. How many %s does %s have now?",
            name, a, t, name, b, c, t, t, name),
            { format("The packs hold %d*%d=<<%d*%d=%d>>%d %s.", b, c, b, c, b * c, b * c, t),
              format("So %s has %d+%d=<<%d+%d=%d>>%d %s.", name, a, b * c, a, b * c, a + b * c, a + b * c, t) },
            a + b * c
    end,
    function(r)
        local a, d = r:int(30) + 10, r:int(5) + 2
        local s = r:int(a * d - 1)
        return format("A bakery makes %d loaves of bread a day for %d days and sells %d of them. How many loaves are left?", a, d, s),
            { format("It makes %d*%d=<<%d*%d=%d>>%d loaves.", a, d, a, d, a * d, a * d),
              format("So %d-%d=<<%d-%d=%d>>%d loaves are left.", a * d, s, a * d, s, a * d - s, a * d - s) },
            a * d - s
    end,
    function(r, name)
        local w, h, k = r:int(20) + 8, r:int(30) + 10, r:int(4) + 1
        return format("%s earns $%d an hour and works %d hours a week. How many dollars does %s earn in %d weeks?", name, w, h, name, k),
            { format("In a week %s earns %d*%d=$<<%d*%d=%d>>%d.", name, w, h, w, h, w * h, w * h),
              format("In %d weeks that is %d*%d=$<<%d*%d=%d>>%d.", k, w * h, k, w * h, k, w * h * k, w * h * k) },
            w * h * k
    end,
    function(r)
        local a, b = r:int(8) + 2, r:int(15) + 15
        local c = r:int(a * b // 4)
        return format("A school has %d classes with %d students in each class. %d students are absent today. How many students are present?", a, b, c),
            { format("The school has %d*%d=<<%d*%d=%d>>%d students.", a, b, a, b, a * b, a * b),
              format("So %d-%d=<<%d-%d=%d>>%d students are present.", a * b, c, a * b, c, a * b - c, a * b - c) },
            a * b - c
    end,
    function(r, name)
        local p, d = r:int(20) + 5, r:int(20) + 3
        return format("%s reads %d pages a day. %s book has %d pages. How many days does it take %s to read the whole book?", name, p, name .. "'s", p * d, name),
            { format("It takes %d/%d=<<%d/%d=%d>>%d days.", p * d, p, p * d, p, d, d) },
            d
    end,
    function(r)
        local a, b = r:int(25) + 5, r:int(5) + 2
        return format("A farmer has %d cows and %d times as many chickens. How many animals does the farmer have in all?", a, b),
            { format("There are %d*%d=<<%d*%d=%d>>%d chickens.", a, b, a, b, a * b, a * b),
              format("In all there are %d+%d=<<%d+%d=%d>>%d animals.", a, a * b, a, a * b, a + a * b, a + a * b) },
            a + a * b
    end,
    function(r, name)
        local n, p = r:int(6) + 2, r:int(7) + 2
        local bill = (n * p // 10 + 1 + r:int(3)) * 10
        return format("%s buys %d notebooks at $%d each and pays with $%d. How many dollars of change does %s get?", name, n, p, bill, name),
            { format("The notebooks cost %d*%d=$<<%d*%d=%d>>%d.", n, p, n, p, n * p, n * p),
              format("The change is %d-%d=$<<%d-%d=%d>>%d.", bill, n * p, bill, n * p, bill - n * p, bill - n * p) },
            bill - n * p
    end,
    function(r)
        local k, q = r:int(6) + 2, r:int(8) + 4
        local e = r:int(q - 1)
        return format("%d apples are shared equally among %d friends. Each friend eats %d of their apples. How many apples are left in all?", k * q, k, e),
            { format("Each friend gets %d/%d=<<%d/%d=%d>>%d apples.", k * q, k, k * q, k, q, q),
              format("Each has %d-%d=<<%d-%d=%d>>%d left.", q, e, q, e, q - e, q - e),
              format("In all %d*%d=<<%d*%d=%d>>%d apples are left.", q - e, k, q - e, k, (q - e) * k, (q - e) * k) },
            (q - e) * k
    end,
}


function M.items(n, seed)
    if math.type(n) ~= "integer" or n < 0 then error("synthetic.items: n must be a whole number >= 0", 2) end
    local r = template.rng(seed or 0)
    local out, seen = {}, {}
    while #out < n do -- a question drawn twice is drawn again: ids stay distinct items
        local name = NAMES[r:int(#NAMES)]
        local q, steps, answer = TEMPLATES[r:int(#TEMPLATES)](r, name)
        if not seen[q] then
            seen[q] = true
            steps[#steps + 1] = format("#### %d", answer)
            out[#out + 1] = { question = q, answer = table.concat(steps, "\n") }
        end
    end
    return out
end


return M
