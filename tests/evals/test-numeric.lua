-- tests/evals/test-numeric.lua: normalisation and equality of numeric answers,
-- including the numeric rows of shared/reference/math-equivalence.md.

local T = require "tests.lib.tap"
local N = require "evals.numeric"
local X = require "evals.extract"

local MINUS, EN_DASH = "\226\136\146", "\226\128\147"
local THIN, NNBSP, NBSP = "\226\128\137", "\226\128\175", "\194\160"

-- normalize(input) == canonical (nil: not a single number)
local norm_rows = {
    { "18", "18" }, { " 18 ", "18" }, { "007", "7" }, { "+5", "5" }, { "-0", "0" },
    { "0", "0" }, { "-18", "-18" }, { MINUS .. "18", "-18" }, { EN_DASH .. "18", "-18" },
    { "1,234", "1234" }, { "1,234,567", "1234567" }, { "$1,234.50", "1234.5" },
    { "1" .. THIN .. "000", "1000" }, { "1" .. NNBSP .. "000" .. NNBSP .. "000", "1000000" },
    { "1" .. NBSP .. "000", "1000" }, { "1 000", "1000" }, { "1 000 000", "1000000" },
    { "12,\\!000", "12000" }, { "1{,}000", "1000" }, { "1\\,000", "1000" },
    { "$18", "18" }, { "\\$18", "18" }, { "18$", "18" }, { "$18$", "18" },
    { "\226\130\17218", "18" }, { "18\226\130\172", "18" }, { "\194\16318", "18" },
    { "-$18", "-18" }, { "$-18", "-18" }, { "(-3)", "-3" },
    { "28%", "28" }, { "28\\%", "28" }, { "28 percent", "28" },
    { "18 dollars", "18" }, { "5 cm", "5" }, { "5 cm^2", "5" }, { "18 dollars per day", "18" },
    { "18\\text{ dollars}", "18" }, { "18 \\mbox{ dollars}", "18" },
    { "125\\textnormal{ miles}", "125" }, { "\\text{18}", "18" },
    { "18.", "18" }, { "18.0", "18" }, { "18.00", "18" }, { "18.50", "18.5" },
    { "0.50", "0.5" }, { ".5", "0.5" }, { "-.5", "-0.5" }, { "00.250", "0.25" },
    { "1/2", "0.5" }, { "2/4", "0.5" }, { "1/3", "1/3" }, { "-2/6", "-1/3" },
    { "4/2", "2" }, { "10/9", "10/9" }, { "3 1/2", "3.5" }, { "1/0", nil },
    { "\\frac{1}{2}", "0.5" }, { "\\dfrac{1}{2}", "0.5" }, { "\\tfrac12", "0.5" },
    { "\\frac12", "0.5" }, { "\\frac1{72}", "1/72" }, { "\\cfrac{1}{3}", "1/3" },
    { "\\frac{-1}{4}", "-0.25" }, { "-\\frac{3}{4}", "-0.75" },
    { "$\\frac{1}{2}$", "0.5" }, { "\\(18\\)", "18" }, { "\\[ 18 \\]", "18" },
    { "$$18$$", "18" }, { "\\boxed{18}", "18" }, { "\\boxed{\\$18}", "18" },
    { "\\boxed{18 \\text{ dollars}}", "18" }, { "\\fbox{42}", "42" },
    { "**18**", "18" }, { "x = 18", "18" }, { "$k=1$", "1" }, { "x \\approx 11", "11" },
    { "1000,99", "1000.99" }, { "1:00", "1" }, { "2:30 pm", "2.5" }, { "10^6", "1000000" },
    { "2^10", "1024" }, { "1.5e6", "1500000" }, { "1.2E-3", "0.0012" },
    { "1.5 \\times 10^{6}", "1500000" }, { "3 \\cdot 10^{-2}", "0.03" },
    { "3\194\18310^4", "30000" }, { "2 \195\151 10^3", "2000" }, { "10^{6}", "1000000" },
    { "2.5 million", "2500000" }, { "3 thousand dollars", "3000" }, { "1.2 billion", "1200000000" },
    { "eighteen", "18" }, { "Eighteen dollars", "18" }, { "twenty-five", "25" },
    { "one hundred twenty", "120" }, { "two and a half thousand", "2500" },
    { "a half", "0.5" }, { "one and a quarter", "1.25" }, { "a hundred", "100" },
    { "2^100", nil }, { "the total", nil }, { "and", nil }, { "a lot", nil }, { "1,5", "1.5" }, { "1,000.99", "1000.99" },
    { "123456789012345678901234567890", "123456789012345678901234567890" },
    { "1,000,000,000,000,000,000", "1000000000000000000" },
    -- not one number
    { "32, 349", nil }, { "1, 2, 3", nil }, { "4\\sqrt{2}", nil }, { "\\pi", nil },
    { "2\\pi", nil }, { "$\\pm 2021$", nil }, 
    { "abc", nil }, { "", nil }, { "--5", nil }, { "3 + 4", nil }, { "18 - 2", nil },
    { "1.000,99", nil }, { "1,2345,678", nil }, { "$[0,1)$", nil },
    { "\\frac{1+\\sqrt{5}}{2}", nil },
}
for i, r in ipairs(norm_rows) do
    T.eq(N.normalize(r[1]), r[2], ("normalize row %d %q"):format(i, r[1]))
end
T.eq(N.normalize(18), "18", "normalize(number 18)")
T.eq(N.normalize(2.5), "2.5", "normalize(number 2.5)")
T.eq(N.normalize(18.0), "18", "normalize(number 18.0)")
T.eq(N.normalize(1e20), "100000000000000000000", "normalize(number 1e20)")
T.eq(N.normalize(-7), "-7", "normalize(number -7)")
T.eq(N.normalize(0 / 0), nil, "normalize(NaN) is nil")
T.eq(N.normalize(string.rep(". ", 50000)), nil, "long punctuation is nil (and quick)")
T.ok(not pcall(N.normalize, {}), "normalize(table) raises")

-- equal(a, b)
local eq_rows = {
    { "18", "18", true }, { "18", "18.00", true }, { "$18", "18", true },
    { "29.00", "29", true }, { "$29.00", "29", true },          -- lm-eval #3214
    { "1,000.99", "1000.99", true }, { "28%", "28", true }, { "0.5", "1/2", true },
    { ".5", "\\frac{1}{2}", true }, { "0.333333", "1/3", true }, { "0.33", "1/3", false },
    { "18", "19", false }, { "18", "-18", false }, { "0", "-0", true },
    { "1000000000000000000", "1000000000000000001", false },
    { "1000000000000000000", "1,000,000,000,000,000,000", true },
    { "1000000000000000000", "1,000,000,000,000,000,001", false },
    { "123456789012345678901234567890", "123456789012345678901234567890.0", true },
    { "18.0000001", "18", true }, { "18.001", "18", false },
    { "32, 349", "32349", false }, { "32,349", "32349", true },
    { nil, "18", false }, { "18", nil, false }, { "", "", false },
    { "abc", "ABC", true }, { "abc", "18", false }, { "0.1", "0.10000000000000001", true },
    { "1e3", "1000", true }, { "1.8 billion", "1800000000", true },
    { "1.8 billion", "1.8", false }, { "72 thousand", "72", false }, { "1.8 billion", "18", false },
    { "2:00 pm", "2", true }, { "2:30", "2.5", true }, { "1:00", "12:00", false },
    { "eighteen", "18", true }, { "1.5 x 10^6", "1500000", true },
}
for i, r in ipairs(eq_rows) do
    T.eq(N.equal(r[1], r[2]), r[3],
         ("equal row %d %s %s"):format(i, tostring(r[1]), tostring(r[2])))
end

-- math-equivalence.md rows with numeric answers: { row, prediction, gold, equal }
local me_rows = {
    { 4, "10\\text{ units}", "10 ", true },
    { 5, "10\\text{ units}", "100 ", false },
    { 6, "10", "\\$10", true },
    { 9, "0.1", ".1", true },
    { 10, "10\\%", "10", true },
    { 14, "1/2", "\\frac{1}{2}", true },
    { 15, "7,425,000", "7425000", true },
    { 16, "1 000", "1000", true },
    { 17, "1000.0", "1000", true },
    { 18, "1000,99", "1000.99", true },
    { 19, ".4", "0.4", true },
    { 20, "$1,000.99", "1000.99", true },
    { 24, "\\frac{10}{9}", "10/9", true },
    { 25, "\\boxed{70,000}", "70000", true },
    { 28, "$-[0,1)$", "$1$", false },
    { 33, "$\\frac13 $", "$1/3$", true },
    { 35, "$\\cfrac{1}{3} $", "$1/3$", true },
    { 36, "$\\left( \\frac{1}{3} \\right)$", "$1/3$", true },
    { 37, "$\\frac{1}{3} \\text{meters}$", "$1/3$", true },
    { 39, "28 percent", "$28\\%$", true },
    { 40, "$\\boxed{28}$ pct", "$28\\%$", true },
    { 41, "28", "$28\\%$", true },
    { 52, "$\\boxed{125\\textnormal{ miles}}.$", "$125$ miles", true },
    { 64, "$x\\approx11$", "$11$", true },
    { 66, "$k=1$", "$1$", true },
    { 73, "$0.0833333333333333$", "$\\frac{1}{12}$", true },
    { 81, "$\\frac{1+\\sqrt{5}}{2}$", "$2$", false },
    { 83, "$1$", "$1\\sqrt{19}$", false },
    { 86, "$4\\sqrt{2}$", "$4$", false },
    { 89, "$\\boxed{11,\\! 111,\\! 111,\\! 100}$", "\\boxed{11111111100}", true },
    { 90, "$\\boxed{32, 349}$", "\\boxed{32349}", false },
    { 117, "$2021$", "$\\pm 2021$", false },
    { 119, "$1:00$", "$12:00$", false },
}
for _, r in ipairs(me_rows) do
    T.eq(N.equal(r[2], r[3]), r[4], ("math-equivalence row %d"):format(r[1]))
    T.eq(N.equal(r[3], r[2]), r[4], ("math-equivalence row %d, swapped"):format(r[1]))
end

-- rows that need the answer found in prose first (extract, then compare)
local prose_rows = {
    { 21, "the number is not 10 which is 1,000.99\226\130\172", "1000.99", true },
    { 22, "so the number is 10 which is 1,000.99m\194\178", "1000.99", true },
    { 23, "AZYUK2A", "2", false },
    { 29, "Answer \\[ 9 \\]", "$9$", true },
    { 87, "Final Answer: The largest $n$ is 34.", "$34$", true },
    { 95, "\\boxed{840}.,but let me put this after explain. **Final Answer** \\boxed{840}",
      "$840$", true },
}
for _, r in ipairs(prose_rows) do
    local answer = X.extract(r[2])
    T.eq(N.equal(answer, r[3]), r[4], ("math-equivalence row %d via extract"):format(r[1]))
end

-- equal's fast paths (the same string; two plain integers) agree with the
-- normalised comparison
for _, c in ipairs({ { "18", "18", true }, { "18", "19", false }, { "18", "018", true },
                     { "0", "0", true }, { "0", "00", true }, { "18", "18.0", true },
                     { "18", "18 ", true }, { "12345678901234567890", "12345678901234567891", false },
                     { "7", "7", true }, { "1000", "1,000", true }, { " ", " ", false },
                     { "abc", "abc", true }, { "18", "1/2", false }, { "5", "5.0000001", true } }) do
    T.eq(N.equal(c[1], c[2]), c[3], ("equal(%q, %q)"):format(c[1], c[2]))
    T.eq(N.equal(c[2], c[1]), c[3], ("equal(%q, %q)"):format(c[2], c[1]))
end

T.done()
