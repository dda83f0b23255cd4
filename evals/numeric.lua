-- evals/numeric.lua: numeric answer normalisation and comparison.
--
-- normalize(s) turns an answer string ("$1,234.50", "\boxed{18 \text{ dollars}}",
-- "\frac{1}{2}", "28%", "−5") into a canonical numeric string, or nil when
-- the string is not a single number:
--   integers   "-1234"  (no leading zeros, "-0" is "0")
--   decimals   "12.5"   (no trailing zeros; "18.00" is the integer "18")
--   fractions  "1/3"    (reduced; exact decimals become decimals: 1/2 -> "0.5")
-- equal(a, b) compares two answers: integers exactly as strings (so 10^18-size
-- values work), anything else with a relative tolerance of 1e-6. Answers that
-- are not numbers on either side are compared as trimmed, case-folded strings.
--
-- Choices worth knowing: "%" is dropped ("28%" equals "28", not "0.28"); words
-- after the number are units and dropped ("18 dollars", "5 cm^2"); words before
-- it are not ("the total is 18" is nil: finding the number is extract's job);
-- "32, 349" (comma + space) is a list, not 32349; "1000,99" (one comma, not
-- followed by exactly three digits) is a decimal comma.

local M = {}

local find, gsub, match, sub, lower = string.find, string.gsub, string.match,
                                      string.sub, string.lower
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
local function fraction(sign, p, q)
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
    rest = gsub(rest, "^%s*%%", "")                  -- percent
    -- whatever is left must be unit words: no digits (except exponents such
    -- as cm^2), no operators, no leftover LaTeX
    rest = gsub(rest, "(%a)%^%d", "%1")
    if find(rest, "[%d\\=+*^]") then return nil end
    if find(rest, "^%s*[,;]") then return nil end   -- "32, 349" is a list
    return value
end


-- normalize(s) -> canonical numeric string, or nil if s is not one number.
function M.normalize(s)
    if type(s) == "number" then
        if math_type(s) == "integer" then return format("%d", s) end
        s = (s == s // 1) and format("%.0f", s) or format("%.17g", s)
    elseif type(s) ~= "string" then
        error("numeric.normalize: string expected, got " .. type(s), 2)
    end
    -- fast path: plain integers, the usual GSM8K answer
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
    return not find(c, "[./]")
end


-- equal(a, b) -> boolean. nil on either side is never equal.
function M.equal(a, b)
    if a == nil or b == nil then return false end
    local na, nb = M.normalize(a), M.normalize(b)
    if na and nb then
        if na == nb then return true end
        if is_integer(na) and is_integer(nb) then return false end
        local x, y = to_float(na), to_float(nb)
        return abs(x - y) <= M.RELATIVE_TOLERANCE * max(abs(x), abs(y))
    end
    if na or nb then return false end
    local sa = lower(match(tostring(a), "^%s*(.-)%s*$"))
    local sb = lower(match(tostring(b), "^%s*(.-)%s*$"))
    return sa == sb and sa ~= ""
end


return M
