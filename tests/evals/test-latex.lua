-- tests/evals/test-latex.lua: evals/latex.lua, LaTeX answers for MATH-500.
-- Every case of the math-equivalence reference (119 prediction | gold |
-- equal? rows, transcribed here so a fresh clone runs them), plus boxes,
-- extraction and normalisation.

local T = require "tests.lib.tap"
local L = require "evals.latex"

-- { row, prediction, gold, equal }
local rows = {
    { 1, "\\tfrac{1}{2} + \\frac1{72}", "\\\\frac{1}{2} + 2/3", false },  -- different second term
    { 2, "10, 4, -2", "4, 10, -2", false },  -- lists are ordered
    { 3, "\\tfrac{1}{2} +\\! \\frac1{72}", "\\\\dfrac{1}{2} +\\frac{1}{72}", true },  -- tfrac/dfrac/frac, \! spacing, \frac1{72} shorthand
    { 4, "10\\text{ units}", "10 ", true },  -- trailing unit text dropped
    { 5, "10\\text{ units}", "100 ", false },
    { 6, "10", "\\$10", true },  -- dollar sign dropped
    { 7, "\\left(x-2\\right)\\left(x+2\\right)", "(x-2)(x+2)", true },  -- \left/\right removed
    { 8, "0.1, 4, 2", "4, .1, 2", false },  -- order matters even with .1 fix
    { 9, "0.1", ".1", true },  -- leading zero added
    { 10, "10\\%", "10", true },  -- percent sign dropped
    { 11, "10\\sqrt{3} + \\sqrt4", "10\\sqrt3 + \\sqrt{4}", true },  -- \sqrt3 shorthand
    { 12, "\\frac34i", "\\frac{3}{4}i", true },  -- \frac34 shorthand
    { 13, "5x - 7y + 11z + 4 = 0", "x + y - z + 2 = 0", false },
    { 14, "1/2", "\\frac{1}{2}", true },  -- a/b -> \frac{a}{b}
    { 15, "7,425,000", "7425000", true },  -- thousands commas
    { 16, "1 000", "1000", true },  -- thousands space
    { 17, "1000.0", "1000", true },  -- trailing .0
    { 18, "1000,99", "1000.99", true },  -- decimal comma
    { 19, ".4", "0.4", true },  -- no leading zero
    { 20, "$1,000.99", "1000.99", true },  -- currency prefix
    { 21, "the number is not 10 which is 1,000.99\226\130\172", "1000.99", true },  -- last number in free text, currency suffix
    { 22, "so the number is 10 which is 1,000.99m\194\178", "1000.99", true },  -- unit suffix
    { 23, "AZYUK2A", "2", false },  -- digit embedded in a word is not an answer
    { 24, "\\frac{10}{9}", "10/9", true },
    { 25, "\\boxed{70,000}", "70000", true },  -- real Qwen3-1.7B output; a naive string grader marked it wrong
    { 26, "$[0,1)$", "$[0,9)$", false },
    { 27, "$[0,9)$", "$(0,9)$", false },  -- open vs closed end matters
    { 28, "$-[0,1)$", "$1$", false },
    { 29, "Answer \\[ 9 \\]", "$9$", true },  -- display math
    { 30, "Answer \\( (9+1) \\)", "$10$", true },  -- expression is evaluated
    { 31, "Answer $ \n 9 \n $", "$9$", false },  -- inline $...$ must not span newlines (\n = newline)
    { 32, "Answer \\[ \n 9 \n \\]", "$9$", true },  -- display math may span newlines
    { 33, "$\\frac13 $", "$1/3$", true },  -- malformed frac
    { 34, "$\\sqrt3 $", "$\\sqrt{3}$", true },
    { 35, "$\\cfrac{1}{3} $", "$1/3$", true },  -- cfrac/dfrac/tfrac all = frac
    { 36, "$\\left( \\frac{1}{3} \\right)$", "$1/3$", true },  -- styling removed
    { 37, "$\\frac{1}{3} \\text{meters}$", "$1/3$", true },  -- unit text removed
    { 38, "$k = \\frac{1}{3}$", "$1/3$", true },  -- RHS of last '=' taken
    { 39, "28 percent", "$28\\%$", true },
    { 40, "$\\boxed{28}$ pct", "$28\\%$", true },
    { 41, "28", "$28\\%$", true },  -- bare number matches a percent gold
    { 42, "... If $2-x=p$, then $x=2-p$. Thus $x-p=\\boxed{2-2p}$.", "$2-2p$", true },  -- symbolic answer
    { 43, "... the polar coordinates are $\\boxed{\\left( 3, \\frac{\\pi}{2} \\right)}.$", "$(3, \\frac{\\pi}{2})$", true },  -- tuple with \left( \right); the test itself feeds this solution with every backslash doubled
    { 44, "... Therefore, $\\boxed{\\text{Evelyn}}$ is our answer.", "$\\text{Evelyn}$", true },  -- text answer
    { 45, "... the angle between the lines is $\\boxed{90^\\circ}.$", "$90^\\circ$", true },  -- degrees
    { 46, "... $$\\frac{1}{2}\\times 3 \\times 10 = \\boxed{15\\mbox{ cm}^2}.$$", "$15\\mbox{ cm}^2$", true },  -- \mbox unit
    { 47, "... the only integer roots are $\\boxed{-2,1}.$", "$-2,1$", true },  -- list of roots
    { 48, "... By the quadratic formula, $x = \\boxed{1 \\pm \\sqrt{19}}.$", "$1 \\pm \\sqrt{19}$", true },  -- \pm
    { 49, "... so the answer is $\\boxed{\\{1\\pm\\sqrt{5},-2\\}}.$", "$\\{1\\pm\\sqrt{5},-2\\}$", true },  -- set with \pm
    { 50, "... Hence, $\\boxed{f(2) < f(1) < f(4)}.$", "$f(2) < f(1) < f(4)$", true },  -- chained inequality
    { 51, "By sum-to-product, \\[\\sin (a + b) - \\sin (a - b) = \\boxed{2 \\sin b \\cos a}.\\]", "$2 \\sin b \\cos a$", true },
    { 52, "The distance is $\\boxed{125\\textnormal{ miles}}.$", "$125$ miles", true },  -- \textnormal unit
    { 53, "The solution set is $\\boxed{[-1, -\\tfrac12) \\cup (-\\tfrac12, 0) \\cup (0, 1) \\cup (1, \\infty)}.$", "$[-1, -\\frac{1}{2}) \\cup (-\\frac{1}{2}, 0) \\cup (0, 1) \\cup (1, \\infty)$", true },  -- union of intervals
    { 54, "The answer is $\\boxed{\\sqrt 2+\\sqrt 5}$", "$\\sqrt{2}+\\sqrt{5}$", true },  -- \sqrt 2 without braces
    { 55, "Therefore $\\boxed{\\frac94\\pi}$.", "$\\frac{9}{4}\\pi$", true },
    { 56, "... expressed in the base-three number system is \\(\\boxed{1112122_3}\\).", "$1112112_3$", false },  -- base-n subscripts compared literally
    { 57, "Therefore $x \\geq 5$ is the solution.", "$x >= 5$", true },  -- \geq = >=
    { 58, "Therefore $x < 5$ is the solution.", "$x > 5$", false },
    { 59, "The solution is $x \\leq 5$", "$x \\geq 5$", false },
    { 60, "$5 \\geq x$", "$x \\leq 5$", true },  -- flipped relation
    { 61, "$-x > -1$", "$x < 1$", true },  -- multiplied by -1
    { 62, "$x = 5+5+1 = 7 =11$", "$x = 11$", true },  -- last value of an = chain
    { 63, "$11a+c$", "$7 = 11a+c$", false },  -- gold equation with numeric LHS: answer is 7
    { 64, "$x\\approx11$", "$11$", true },  -- \approx
    { 65, "$0$", "$a +3z = 0$", false },  -- gold equation with symbolic LHS is kept whole
    { 66, "$k=1$", "$1$", true },  -- var = value
    { 67, "$y=-\\frac{1}{2}x+\\frac{3}{4}$", "$2x+4y-3=0$", true },  -- equivalent line equations
    { 68, "$x^2/16 + y^2/12 = 1/4$", "$x^2/4 + y^2/3 = 1$", true },  -- equation scaled by constant
    { 69, "The identity matrix is $ \\begin{pmatrix}1 & 0 \\\\ 0 & 1\\end{pmatrix} $.", "$\\begin{pmatrix}1 & 0 \\\\ 0 & 1\\end{pmatrix}$", true },
    { 70, "Here is a zero matrix: $ \\begin{pmatrix}0 & 0 \\\\0 & 0\\end{pmatrix} $", "$\\begin{bmatrix}0 & 0 \\\\0 & 0\\end{bmatrix}$", true },  -- pmatrix = bmatrix
    { 71, "Special matrix: $ \\left[\\begin{array}{cc}1 & 2 \\\\3 & 4\\end{array}\\right] $", "$\\begin{pmatrix}1 & 2 \\\\3 & 4\\end{pmatrix}$", true },  -- array in brackets
    { 72, "The matrix is $\\begin{pmatrix}1 & 2 \\\\ 3 & 5\\end{pmatrix}$", "$\\begin{pmatrix}1 & 2 \\\\ 3 & 4\\end{pmatrix}$", false },
    { 73, "$0.0833333333333333$", "$\\frac{1}{12}$", true },  -- float vs fraction (6-digit rounding)
    { 74, "$(1,4.5)$", "$(1,\\frac{9}{2})$", true },
    { 75, "$\\frac{x}{7}+\\frac{2}{7}$", "$\\frac{x+2}{7}$", true },  -- symbolic simplification
    { 76, "$\\sec^2(y)$", "$\\tan^2(y)+1$", true },  -- trig identity
    { 77, "$-34x-45y+20z-100=0$", "$34x+45y-20z+100=0$", true },  -- equation times -1
    { 78, "$\\begin{pmatrix}0.33\\\\0.2 \\end{pmatrix}$", "$(\\begin{pmatrix}\\frac{1}{3}\\\\ \\frac{1}{5} \\end{pmatrix})$", true },  -- only at precision 2
    { 79, "$\\frac{\\sqrt{\\sqrt{11}+\\sqrt{194}}}{2\\sqrt{33}+15}$", "$\\frac{\\sqrt{\\sqrt{11}+\\sqrt{194}}}{15+2\\sqrt{33}}$", true },  -- commuted terms
    { 80, "$(+5)(b+2)$", "$(a+5)(b+2)$", false },
    { 81, "$\\frac{1+\\sqrt{5}}{2}$", "$2$", false },
    { 82, "$\\frac{34}{16}+\\frac{\\sqrt{1358}}{16}$", "$4$", false },  -- close to 4 numerically but not equal
    { 83, "$1$", "$1\\sqrt{19}$", false },
    { 84, "$(0.6,2.6667]$", "$(\\frac{3}{5},\\frac{8}{3}]$", true },  -- interval, only at precision 2
    { 85, "$x+1$", "$x+2n+1$", false },
    { 86, "$4\\sqrt{2}$", "$4$", false },
    { 87, "Final Answer: The largest $n$ is 34.", "$34$", true },  -- number in prose after 'Final Answer'
    { 88, "$\\boxed{\\text{(C)}}.$", "\\(\\boxed{\\text{C}}\\).", true },  -- multiple-choice letter, parentheses ignored
    { 89, "is $\\boxed{11,\\! 111,\\! 111,\\! 100}$", "\\boxed{11111111100}", true },  -- thousands sep ',\!'
    { 90, "is $\\boxed{32, 349}$", "\\boxed{32349}", false },  -- ', ' (comma space) means a list, not thousands
    { 91, "Thus, the answer is $x \\in \\boxed{(2,12) \\cup (12,102)}$", "\\boxed{(2, 12) \\cup (12, 102)}", true },  -- x \in prefix
    { 92, "$E$", "$\\text{E}$", true },  -- \text{} unwrapped
    { 93, "$\\boxed{1,2}$", "$\\boxed{1}\\boxed{2}$", true },  -- several \boxed = one list
    { 94, "... The final answer is $(0, 1)$. I hope it is correct.", "$[0,1)$", false },
    { 95, "... \\boxed{840}.,but let me put this after explain. **Final Answer** \\boxed{840}", "$840$", true },  -- repeated boxed
    { 96, "$\\boxed{(3, 2)}$", "$(p,q)=(3,2)$", true },  -- gold has named tuple
    { 97, "$\\boxed{\\{-12, -11, -10, -8, -7, -6\\}}$", "$-12;-11;-10;-8;-7;-6$", true },  -- semicolon-separated gold
    { 98, "$\\boxed{4, 5}$", "$AB=4,CD=5$", true },  -- named values
    { 99, "$\\boxed{(7,11),\\ (11,7)}$", "$(11,7)or(7,11)$", true },  -- 'or' and order-insensitive
    { 100, "$\\boxed{7:32}$", "$S_{MBCN}:S=7:32$", true },  -- ratio
    { 101, "$(5,2),(7,2)$", "$p=5,q=2;p=7,q=2$", true },
    { 102, "$\\boxed{-10,-8,4}$", "\\boxed{a=4,\\,-8,\\,-10}", true },  -- unordered solution set
    { 103, "$21,16,11$", "$21,16$ or $11$", true },
    { 104, "$(0,1)$", "$0<f(x)<1$", true },  -- inequality vs interval
    { 105, "$\\boxed{6,8}$", "\\(\\boxed{6 \\text{ and } 8}\\)", true },  -- 'and'
    { 106, "$\\text{E}$", "$d$", false },
    { 107, "$$(-793, 10)$$", "$$-793 < a < 10$$", true },
    { 108, "$$\\boxed{a_{37} = 19, \\quad a_3 = 2}$$", "$$a_3 = 2, a_{37} = 19$$", true },  -- named values, any order
    { 109, "\\boxed{1} and \\boxed{2} and \\boxed{3}", "$${1,2,3}$$", true },
    { 110, "$$1$$", "$$|AB|=1$$", true },
    { 111, "$\\boxed{1,2}$", "\\boxed{1} papers and \\boxed{2} bins", true },
    { 112, "$\\boxed{1,2}$", "\\boxed{1} no no no no no \\boxed{2}", false },  -- boxes too far apart are not joined
    { 113, "$f(y)$", "$f(x)$", false },  -- strict mode (default); equal when strict=False
    { 114, "$D = (0, 1.5)$", "$D = (0, 1)$", false },
    { 115, "$F_n = \\sum_{k=0}^{n-1} F_{n-k-1} F_k$", "$F_n = \\sum_{k=0}^{n-1} F_k F_{n-k-1}$", true },  -- commuted product inside sum
    { 116, "$19, 46, \\text{ and } 82$", "$19, 46, and 82$", true },
    { 117, "$2021$", "$\\pm 2021$", false },
    { 118, "${-2021, 2021}$", "$\\pm 2021$", true },  -- \pm expands to a set
    { 119, "$1:00$", "$12:00$", false },  -- clock time
}

T.eq(#rows, 119, "all 119 reference rows")
local fails = 0
for _, r in ipairs(rows) do
    local got = L.equal(r[2], r[3])
    if not T.eq(got, r[4], ("math-equivalence row %d"):format(r[1])) then
        fails = fails + 1
        T.diag(("  prediction %q -> answer %q -> %q"):format(r[2], tostring(L.answer_of(r[2])),
               L.answer_of(r[2]) and L.normalize(L.answer_of(r[2])) or "nil"))
        T.diag(("  gold       %q -> answer %q -> %q"):format(r[3], tostring(L.answer_of(r[3])),
               L.answer_of(r[3]) and L.normalize(L.answer_of(r[3])) or "nil"))
    end
end

-- more pairs: { prediction, gold, equal }
local more = {
    { "3\\sqrt{13}", "3\\sqrt{13}", true }, { "3\\sqrt{13}", "3", false },
    { "\\sqrt{52}", "2\\sqrt{13}", true }, { "\\dfrac{3}{4}", "0.75", true },
    { "\\frac12", "0.5", true }, { "\\frac{\\sqrt{3}}{2}", "0.866", true },
    { "\\frac{\\sqrt{3}}{2}", "0.87", true }, { "\\frac{1}{3}", "0.3", false },
    { "\\pi", "3.14", true }, { "2\\pi", "\\pi", false }, { "x^2", "x^3", false },
    { "x^2 + 2x + 1", "(x+1)^2", true }, { "(1,2)", "[1,2]", false }, { "(1,2)", "(2,1)", false },
    { "\\{1,2\\}", "\\{2,1\\}", true }, { "1,2", "2,1", false }, { "90^\\circ", "90", true },
    { "90^{\\circ}", "90", true }, { "\\sqrt2", "\\sqrt{2}", true }, { "\\$18", "18", true },
    { "5\\text{ cm}", "5", true }, { "x \\in [1, 2]", "[1,2]", true }, { "x = 3", "3", true },
    { "x = 3", "4", false }, { "\\infty", "\\infty", true }, { "(-\\infty, 3]", "(-\\infty,3]", true },
    { "\\text{(B)}", "B", true }, { "B", "C", false }, { "", "", false }, { "1000", "1,000", true },
    { "\\frac{1}{0}", "1", false }, { "\\sin^2 x + \\cos^2 x", "1", true },
    { "\\frac{x+1}{x-1}", "\\frac{x-1}{x+1}", false }, { "10\\%", "0.1", false },
    { "y = 2x + 1", "2x - y + 1 = 0", true }, { "y = 2x + 1", "y = 2x + 2", false },
    { "x > 2", "2 < x", true }, { "x > 2", "x \\geq 2", false },
}
for i, r in ipairs(more) do
    T.eq(L.equal(r[1], r[2]), r[3], ("pair %d %q vs %q"):format(i, r[1], r[2]))
    T.eq(L.equal(r[2], r[1]), r[3], ("pair %d swapped"):format(i))
end
T.eq(L.equal(nil, "1"), false, "nil is never equal")
T.ok(not pcall(L.normalize, 5), "normalize(number) raises")

-- extraction: { text, answer, rule }
local ex = {
    { "The answer is 3\\sqrt{13}", "3\\sqrt{13}", "answer" },
    { "So the answer is $3\\sqrt{13}$.", "3\\sqrt{13}", "answer" },
    { "The final answer is $\\frac{1}{2}$. I hope it is correct.", "\\frac{1}{2}", "answer" },
    { "Final Answer: The largest $n$ is 34.", "34", "answer" },
    { "We get $x = 2$, so \\boxed{\\frac{\\sqrt{3}}{2}}.", "\\frac{\\sqrt{3}}{2}", "boxed" },
    { "\\boxed{\\{1, 2\\}}", "\\{1, 2\\}", "boxed" },
    { "First \\boxed{3}. Then after much more working we find \\boxed{5}.", "5", "boxed" },
    { "\\boxed{1} and \\boxed{2}", "1, 2", "boxed" },
    { "\\fbox{7}", "7", "boxed" },
    { "\\boxed 5", "5", "boxed" },
    { "Thus the area is $\\pi r^2$, that is $16\\pi$.", "16\\pi", "math" },
    { "The distance is 5 miles.", "5", "last_number" },
    { "I cannot solve this.", nil, "no_answer" },
}
for i, r in ipairs(ex) do
    local a, rule, s, e = L.extract(r[1])
    if T.eq(a, r[2], ("extract %d %q"):format(i, r[1])) then
        T.eq(rule, r[3], ("extract %d rule"):format(i))
        if a and rule ~= "boxed" or (a and not a:find(",", 1, true)) then
            T.eq(r[1]:sub(s, e), a, ("extract %d span"):format(i))
        end
    end
end
local b = L.boxes("a \\boxed{x^{2}} b \\fbox{\\frac{1}{2}} c \\boxed{")
T.eq(#b, 2, "boxes: two balanced, the unclosed one ignored")
T.eq(b[1][1], "x^{2}", "boxes: nested braces")
T.eq(b[2][1], "\\frac{1}{2}", "boxes: fbox")

-- normalisation
local norm = {
    { "\\left( \\dfrac{1}{2} \\right)", "( \\frac{1}{2} )" },
    { "$\\tfrac12$", "\\frac{1}{2}" }, { "10\\%", "10" }, { "\\$5", "5" },
    { "5\\!000", "5 000" }, { "90^\\circ", "90" }, { "\\text{Evelyn}", "Evelyn" },
    { "15\\mbox{ cm}^2", "15" }, { "125 miles", "125" }, { "(C)", "C" }, { "x.", "x" },
}
for i, r in ipairs(norm) do
    T.eq(L.normalize(r[1]), r[2], ("normalize %d %q"):format(i, r[1]))
end

-- robustness: random LaTeX soup never raises; degenerate inputs stay quick
local P = require "evals.template"
local TOKENS = { "\\boxed{", "\\fbox{", "}", "{", "$", "$$", "\\(", "\\)", "\\[", "\\]",
                 "\\frac", "\\sqrt", "[", "]", "(", ")", "1", "23", ".", ",", ";", "=", "<",
                 "\\leq", "x", "y", "^", "_", "-", "+", "*", "/", "\\pi", "\\pm", "\\{",
                 "\\}", "\\text{", "and", " or ", "The answer is ", "\\begin{pmatrix}",
                 "\\end{pmatrix}", "&", "\\\\", "\\sum_{k=1}^{", "!", "|", "\\circ", " " }
local rng, raised = P.rng(99), 0
for _ = 1, 3000 do
    local parts = {}
    for k = 1, rng:int(25) do parts[k] = TOKENS[rng:int(#TOKENS)] end
    local a = table.concat(parts)
    parts = {}
    for k = 1, rng:int(10) do parts[k] = TOKENS[rng:int(#TOKENS)] end
    local b = table.concat(parts)
    local ok, err = pcall(function()
        L.extract(a)
        L.normalize(a)
        L.equal(a, b)
        L.equal(b, a)
    end)
    if not ok then
        raised = raised + 1
        if raised == 1 then T.diag(("raised on %q / %q: %s"):format(a, b, err)) end
    end
end
T.eq(raised, 0, "3,000 random pairs: extract, normalize and equal never raise")
local timing = (os.getenv("OLLAEVAL_VALGRIND") or "") == ""
for _, unit in ipairs({ "\\boxed{", "$", "(", "\\frac{", "1,", "x+" }) do
    local text = string.rep(unit, 20000 // #unit)
    local t0 = os.clock()
    L.extract(text)
    L.equal(text, "1")
    local dt = os.clock() - t0
    T.ok(not timing or dt < 5, ("degenerate %q x %d: %.3f s"):format(unit, 20000 // #unit, dt))
end

T.done()
