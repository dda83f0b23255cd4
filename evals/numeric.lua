-- evals/numeric.lua: numeric answer normalisation and comparison.
--
-- normalize(s) turns an answer string ("$1,234.50", "\boxed{18 \text{ dollars}}",
-- "\frac{1}{2}", "28%", "−5") into a canonical numeric string, or nil when
-- the string is not a single number:
--   integers   "-1234"  (no leading zeros, "-0" is "0")
--   decimals   "12.5"   (no trailing zeros; "18.00" is the integer "18")
--   fractions  "1/3"    (reduced; exact decimals become decimals: 1/2 -> "0.5")
-- A second result is the value before a scale word ("2.5 million" ->
-- "2500000", "2.5"), nil without one.
-- equal(a, b) compares two answers: integers exactly as strings (so 10^18-size
-- values work), anything else with a relative tolerance of 1e-6. Answers that
-- are not numbers on either side are compared as trimmed, case-folded strings.
--
-- Number forms read: powers and scientific notation ("10^6", "2^10", "1.5e6",
-- "1.5 x 10^6", "1.5 \times 10^{6}", "3·10^4"), exact in decimal; scale words
-- ("2.5 million", "3 thousand", "1.2 billion"); number words ("eighteen",
-- "one hundred twenty", "two and a half thousand"); clock times "H:MM" as
-- hours ("2:30" is 2.5, "2:00 pm" is 2: the hour as written).
--
-- Choices worth knowing: "%" is dropped ("28%" equals "28", not "0.28"); words
-- after the number are units and dropped ("18 dollars", "5 cm^2"); words before
-- it are not ("the total is 18" is nil: finding the number is extract's job);
-- "32, 349" (comma + space) is a list, not 32349; "1000,99" (one comma, not
-- followed by exactly three digits) is a decimal comma (extract.lua reads
-- "45,27" in prose as two quantities before this is ever asked); a scale word
-- means what it says ("72 thousand" is 72000, never a gold 72: on the real
-- solutions the mantissa matched a gold only by accident).

local M = {}

local find, gsub, match, sub, lower = string.find, string.gsub, string.match,
                                      string.sub, string.lower
local byte = string.byte
local rep, format, concat = string.rep, string.format, table.concat
local tonumber, tostring, type = tonumber, tostring, type
local abs, max, math_type = math.abs, math.max, math.type

M.RELATIVE_TOLERANCE = 1e-6


-- LaTeX text wrappers: content with digits is kept, anything else is a unit.
local TEXT_COMMANDS = {
    text = true, mbox = true, textnormal = true, textrm = true, mathrm = true,
    textbf = true, mathbf = true, textit = true, mathit = true, emph = true,
    operatorname = true, textsf = true, mathsf = true,
}

local function unwrap_text(cmd, body)
    if not TEXT_COMMANDS[cmd] then return nil end -- leave other commands alone
    body = sub(body, 2, -2)
    if find(body, "%d") then return body end
    return " " .. body .. " "
end


local function frac(a, b)
    return "(" .. a .. ")/(" .. b .. ")"
end


local function frac_braced(a, b)
    return frac(sub(a, 2, -2), sub(b, 2, -2))
end


-- Bare LaTeX commands: wrappers to drop and symbols to translate. Commands
-- not listed here stay, and anything left with a backslash is not a number.
local COMMANDS = {
    boxed = "", fbox = "", left = "", right = "", displaystyle = "",
    textstyle = "", quad = " ", qquad = " ", approx = "=", circ = " ",
    degree = " ", cdot = "*", times = "*", div = "/", dollar = "",
    euro = "", pounds = "", percent = "%",
}


-- Strip LaTeX and typography down to plain ASCII ("$\frac{1}{2}$" -> "(1)/(2)").
local function clean(s)
    if find(s, "\\", 1, true) then
        s = gsub(s, ",\\!%s*", ",")     -- 11,\! 111 is one number
        s = gsub(s, "\\(%a+)", COMMANDS)
        s = gsub(s, "\\(%a+)%s*(%b{})", unwrap_text)
        s = gsub(s, "\\[dtc]?frac%s*(%b{})%s*(%b{})", frac_braced)
        s = gsub(s, "\\[dtc]?frac%s*(%d)%s*(%b{})", function(a, b)
            return frac(a, sub(b, 2, -2))
        end)
        s = gsub(s, "\\[dtc]?frac%s*(%b{})%s*(%d)", function(a, b)
            return frac(sub(a, 2, -2), b)
        end)
        s = gsub(s, "\\[dtc]?frac%s*(%d)(%d)", frac)
        s = gsub(s, "\\[%%%$]", { ["\\%"] = "%", ["\\$"] = "" })
        s = gsub(s, "\\[!,;: ]", "")   -- spacing: 11,\!111 and 1\,000
        s = gsub(s, "\\[%(%)%[%]]", " ") -- \( \) \[ \]
    end
    if find(s, "[\128-\255]") then
        s = gsub(s, "\226\136\146", "-")   -- U+2212 minus sign
        s = gsub(s, "\226\128\147", "-")   -- U+2013 en dash
        s = gsub(s, "\226\128\137", " ")   -- U+2009 thin space
        s = gsub(s, "\226\128\175", " ")   -- U+202F narrow no-break space
        s = gsub(s, "\194\160", " ")        -- U+00A0 no-break space
        s = gsub(s, "\226\130\172", "")    -- U+20AC euro
        s = gsub(s, "\194\163", "")         -- U+00A3 pound
        s = gsub(s, "\194\176", " ")        -- U+00B0 degree
        s = gsub(s, "\195\151", "*")        -- U+00D7 multiplication sign
        s = gsub(s, "\194\183", "*")        -- U+00B7 middle dot
    end
    if find(s, "[{}%$%*]") then
        s = gsub(s, "{,}", ",")
        s = gsub(s, "[{}%$]", "")
        s = gsub(s, "%*%*", "")             -- markdown bold
    end
    return s
end


local function strip_zeros_int(d)
    d = match(d, "^0*(%d-)$")
    if d == "" then return "0" end
    return d
end


-- Canonical string for sign, integer digits and fraction digits.
local function decimal(sign, int, fracd)
    int = strip_zeros_int(int)
    fracd = match(fracd or "", "^(%d-)0*$")
    local s = int
    if fracd ~= "" then s = int .. "." .. fracd end
    if s == "0" then return "0" end
    return sign .. s
end


local function gcd(a, b)
    while b ~= 0 do a, b = b, a % b end
    return a
end


-- p/q with p, q digit strings; reduced, exact decimals turned into decimals.
local fraction
function M._fraction(...) return fraction(...) end
function fraction(sign, p, q)
    if #p > 15 or #q > 15 then return nil end -- beyond exact double integers
    local pi, qi = tonumber(p) // 1, tonumber(q) // 1
    if qi == 0 then return nil end
    local g = gcd(pi, qi)
    pi, qi = pi // g, qi // g
    if qi == 1 then return decimal(sign, format("%d", pi)) end
    -- q = 2^a * 5^b gives a finite decimal expansion
    local r, k = qi, 0
    while r % 2 == 0 do r, k = r // 2, k + 1 end
    local k5 = 0
    while r % 5 == 0 do r, k5 = r // 5, k5 + 1 end
    if r == 1 then
        local n = max(k, k5)
        if #p + n <= 18 then
            local pow10 = 1
            for _ = 1, n do pow10 = pow10 * 10 end
            local scaled = format("%d", pi * pow10 // qi)
            if #scaled <= n then scaled = rep("0", n - #scaled + 1) .. scaled end
            return decimal(sign, sub(scaled, 1, -n - 1), sub(scaled, -n))
        end
    end
    if pi == 0 then return "0" end
    return sign .. format("%d/%d", pi, qi)
end


-- Integer digits with optional thousands groups: "1234", "1,234", "1 234".
local function group_digits(s)
    local lead, rest = match(s, "^(%d+)(.*)$")
    if not lead then return nil end
    local sep = match(rest, "^([, '])%d%d%d")
    if sep and #lead <= 3 then
        local groups, tail = {lead}, rest
        while true do
            local g, t = match(tail, "^" .. (sep == " " and " " or sep)
                                      .. "(%d%d%d)(.*)$")
            if not g or find(t, "^%d") then break end
            groups[#groups + 1] = g
            tail = t
        end
        if #groups > 1 then return concat(groups), tail end
    end
    return lead, rest
end


-- Number words -----------------------------------------------------------------

local SMALL = {
    zero = 0, one = 1, two = 2, three = 3, four = 4, five = 5, six = 6,
    seven = 7, eight = 8, nine = 9, ten = 10, eleven = 11, twelve = 12,
    thirteen = 13, fourteen = 14, fifteen = 15, sixteen = 16, seventeen = 17,
    eighteen = 18, nineteen = 19, twenty = 20, thirty = 30, forty = 40,
    fifty = 50, sixty = 60, seventy = 70, eighty = 80, ninety = 90,
}
local SCALE = { thousand = 3, million = 6, billion = 9, trillion = 12 }
M.SCALE = SCALE
M.SMALL = SMALL


-- Words at the start of s ("two and a half thousand dollars") -> digit
-- string and the rest, or nil. "and" and "a" only join number words;
-- halves and quarters need a whole part or "a" ("a half", "one and a quarter").
local function words(s)
    local total, cur, seen, pos, stop, prev = 0, 0, false, 1, 1, nil
    while true do
        local w, b = match(s, "^[%s%-]*(%a+)()", pos)
        if not w then break end
        w = lower(w)
        local v = SMALL[w]
        if v then
            cur, seen = cur + v, true
        elseif w == "hundred" and (seen or prev == "a") then
            cur, seen = (cur == 0 and 1 or cur) * 100, true
        elseif SCALE[w] and (seen or prev == "a") then
            total, cur, seen = total + (cur == 0 and 1 or cur) * 10 ^ SCALE[w], 0, true
        elseif (w == "half" or w == "quarter") and (seen or prev == "a") then
            cur, seen = cur + (w == "half" and 0.5 or 0.25), true
        elseif w ~= "and" and w ~= "a" then
            break
        end
        if w ~= "and" and w ~= "a" then stop = b end
        prev, pos = w, b
    end
    if not seen then return nil end
    local n = total + cur
    if n == n // 1 and n < 2 ^ 53 then return format("%d", n), sub(s, stop) end
    return format("%.17g", n), sub(s, stop)
end
M.words = words


-- Decimal shift: value * 10^k, exact (canonical strings in and out).
local function shift(value, k)
    if k == 0 then return value end
    if k > 400 or k < -400 then return nil end
    local sign, p, q = match(value, "^(%-?)(%d+)/(%d+)$")
    if p then
        if k > 0 then p = p .. rep("0", k) else q = q .. rep("0", -k) end
        if #p > 15 or #q > 15 then
            return format("%.17g", tonumber(sign .. p) / tonumber(q))
        end
        return M._fraction(sign, p, q)
    end
    local int, fracd
    sign, int, fracd = match(value, "^(%-?)(%d+)%.?(%d*)$")
    if not int then return nil end
    local digits, point = int .. fracd, #int + k
    if point <= 0 then return decimal(sign, "0", rep("0", -point) .. digits) end
    if point >= #digits then return decimal(sign, digits .. rep("0", point - #digits), "") end
    return decimal(sign, sub(digits, 1, point), sub(digits, point + 1))
end


-- Integer power a^b, exact while it fits in 63 bits; nil beyond.
local function power(value, b)
    local sign, a = match(value, "^(%-?)(%d+)$")
    b = tonumber(b)
    if not a or #a > 18 or b > 256 then return nil end
    local base, r = tonumber(a), 1
    for _ = 1, b do
        if base ~= 0 and r > math.maxinteger // base then return nil end
        r = r * base
    end
    if sign == "-" and b % 2 == 1 then return decimal("-", format("%d", r)) end
    return decimal("", format("%d", r))
end


-- What may follow a number and change its value: clock minutes, an
-- exponent, a scale word. Returns value, rest, mantissa (nil if no scale).
local function suffixes(value, sign, fracd, rest)
    local mm, r = match(rest, "^:(%d%d)(.*)$")
    if mm and fracd == "" and not find(value, "/", 1, true) then   -- "2:30"
        local h = match(value, "^%-?(%d+)$")
        if h and #h <= 6 then
            value = M._fraction(sign, format("%d", tonumber(h) * 60 + tonumber(mm)), "60")
            rest = gsub(r, "^%s*[aApP]%.?[mM]%.?%f[%A]", "")
            return value, rest, nil
        end
    end
    local e
    e, r = match(rest, "^[eE]([+-]?%d+)(.*)$")                 -- 1.5e6
    if not e then
        e, r = match(rest, "^%s*[x%*]%s*10%s*%^%s*%(?([+-]?%d+)%)?(.*)$") -- 1.5*10^6
    end
    if e then
        value, rest = shift(value, tonumber(e)), r
        if not value then return nil end
    else
        local b
        b, r = match(rest, "^%s*%^%s*(%d+)(.*)$")                -- 2^10
        if b then
            value, rest = power(value, b), r
            if not value then return nil end
        end
    end
    local w, r2 = match(rest, "^%s*(%a+)(.*)$")
    if w and SCALE[lower(w)] then
        return shift(value, SCALE[lower(w)]), r2, value
    end
    return value, rest, nil
end


-- Parse a cleaned string: [sign] number [%] [unit words].
local function parse(s)
    s = match(s, "^%s*(.*[^%s%.,;:!])") or ""    -- trailing "." and the like
    -- "x = 5", "k=1", "x \approx 11": the value is right of the last '='
    local rhs = match(s, "=([^=]*)$")
    if rhs then s = match(rhs, "^%s*(.-)$") end
    -- "(1)/(2)" from \frac, "(-3)", "\left( 1/3 \right)"
    s = gsub(s, "%(%s*(%-?[%d%.]+)%s*%)", "%1")
    s = match(s, "^%(%s*([^()]-)%s*%)$") or s
    local sign, body = match(s, "^([+-]?)%s*(.*)$")
    if sign == "+" then sign = "" end
    if match(body, "^%-") then
        if sign == "-" then return nil end    -- "--5", "-(-5)"
        sign, body = "-", sub(body, 2)
    end
    if find(body, "^%a") then
        local d, r = words(body)
        if not d then return nil end
        body = d .. r
    end
    local int, rest = group_digits(body)
    local fracd = ""
    if int then
        local d, r = match(rest, "^%.(%d+)(.*)$")
        if d then
            fracd, rest = d, r
        else
            -- one decimal comma: "1000,99"; "1,234" was taken as a group
            d, r = match(rest, "^,(%d+)(.*)$")
            if d and #d ~= 3 and not find(r, "^[,.]?%d") then
                fracd, rest = d, r
            end
        end
    else
        fracd, rest = match(body, "^%.(%d+)(.*)$")   -- ".5"
        if not fracd then return nil end
        int = "0"
    end
    local value
    local q, r = match(rest, "^%s*/%s*(%d+)(.*)$")
    if q and fracd == "" then                        -- "1/2"
        value = fraction(sign, int, q)
        rest = r
    else
        -- mixed number "3 1/2"
        local p, q2, r2 = match(rest, "^ (%d+)/(%d+)(.*)$")
        if p and fracd == "" and #int + #q2 <= 15 then
            local num = tonumber(int) * tonumber(q2) + tonumber(p)
            value = fraction(sign, format("%d", num), q2)
            rest = r2
        end
        value = value or decimal(sign, int, fracd)
    end
    if not value then return nil end
    local mantissa
    value, rest, mantissa = suffixes(value, sign, fracd, rest)
    if not value then return nil end
    rest = gsub(rest, "^%s*%%", "")                  -- percent
    -- whatever is left must be unit words: no digits (except exponents such
    -- as cm^2), no operators, no leftover LaTeX
    rest = gsub(rest, "(%a)%^%d", "%1")
    if find(rest, "[%d\\=+*^]") then return nil end
    if find(rest, "^%s*[,;]") then return nil end   -- "32, 349" is a list
    return value, mantissa
end


-- normalize(s) -> canonical numeric string, or nil if s is not one number.
function M.normalize(s)
    local ts = type(s)
    if ts == "number" then
        if math_type(s) == "integer" then return format("%d", s) end
        s = (s == s // 1) and format("%.0f", s) or format("%.17g", s)
    elseif ts ~= "string" then
        error("numeric.normalize: string expected, got " .. type(s), 2)
    end
    -- fast paths: plain integers, the usual GSM8K answer
    local c = byte(s, 1)
    if c and c >= 49 and c <= 57 and find(s, "^%d*$", 2) then return s end
    local sign, digits = match(s, "^%s*([+-]?)(%d+)%s*$")
    if digits then
        return decimal(sign == "-" and "-" or "", digits)
    end
    return parse(clean(s))
end


local function to_float(c)
    local p, q = match(c, "^(%-?%d+)/(%d+)$")
    if p then return tonumber(p) / tonumber(q) end
    return tonumber(c)
end


local function is_integer(c)
    return not find(c, "[./eE]")
end


local function same(na, nb)
    if not (na and nb) then return false end
    if na == nb then return true end
    if is_integer(na) and is_integer(nb) then return false end
    local x, y = to_float(na), to_float(nb)
    return abs(x - y) <= M.RELATIVE_TOLERANCE * max(abs(x), abs(y))
end


-- equal(a, b) -> boolean. nil on either side is never equal.
function M.equal(a, b)
    if a == nil or b == nil then return false end
    -- the same string: a number, or a non-blank string equal to itself
    local ta = type(a)
    if a == b and ta == "string" then
        local c = byte(a, 1)
        if c and c >= 48 and c <= 57 then return true end
        return find(a, "%S") ~= nil
    end
    -- two plain integers (the usual answer and gold) are equal only as the
    -- same string
    if ta == "string" and type(b) == "string" then
        local ca, cb = byte(a, 1), byte(b, 1)
        if ca and cb and ca >= 49 and ca <= 57 and cb >= 49 and cb <= 57
           and not find(a, "%D", 2) and not find(b, "%D", 2) then
            return false
        end
    end
    local na, nb = M.normalize(a), M.normalize(b)
    if na and nb then
        return same(na, nb)
    end
    if na or nb then return false end
    local sa = lower(match(tostring(a), "^%s*(.-)%s*$"))
    local sb = lower(match(tostring(b), "^%s*(.-)%s*$"))
    return sa == sb and sa ~= ""
end


return M
