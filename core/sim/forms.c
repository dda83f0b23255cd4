/*
 * forms.c: how the simulator writes an answer down. Owns the surface forms:
 * wrong answers, the final-answer line of each kind of item (GSM8K-style
 * numbers, lettered choices, LaTeX answers in \boxed{}), equivalent LaTeX
 * variants of a gold answer, the judge's reading of a candidate answer and
 * its verdict line, and an answer as a JSON object of a schema's shape.
 * Pure text functions: every string returned is malloc'd and the caller's.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>

#include "sim.h"

/* ----------------------------------------------------------- wrong */

/* A wrong answer: gold plus a nonzero offset, another letter, or "+ 1". */
char *form_wrong(const char *gold, uint64_t h)
{
    char buf[160], *end;
    errno = 0;
    double v = strtod(gold, &end);
    if (*gold && !*end && !errno && fabs(v) < 1e15) {
        long long off = 1 + (long long)(h % 9);
        double w = ((h >> 8) & 1) && v - off >= 0 ? v - off : v + off;
        if (v == floor(v))
            snprintf(buf, sizeof buf, "%lld", (long long)w);
        else
            snprintf(buf, sizeof buf, "%g", w);
    } else if (strlen(gold) == 1 && isupper((unsigned char)gold[0])) {
        int c = gold[0] - 'A';
        snprintf(buf, sizeof buf, "%c", 'A' + (c < 4 ? (c + 1) % 4 : c + 1) % 26);
    } else {
        snprintf(buf, sizeof buf, "%.140s + 1", gold);
    }
    return out_strndup(buf, strlen(buf));
}

/* ----------------------------------------------------------- final lines */

/* "1234567" -> "1,234,567" when the value is an integer >= 1000. */
static int with_commas(const char *v, char *out, size_t n)
{
    const char *d = v + (*v == '-');
    size_t dl = strlen(d);
    if (dl < 4 || dl > 30 || strspn(d, "0123456789") != dl)
        return 0;
    size_t k = 0;
    if (*v == '-')
        out[k++] = '-';
    for (size_t i = 0; i < dl && k + 2 < n; i++) {
        if (i && (dl - i) % 3 == 0)
            out[k++] = ',';
        out[k++] = d[i];
    }
    out[k] = 0;
    return 1;
}

/* GSM8K-style: one of 7 forms; forms 4 (1,234) and 5 (N dollars) fall
 * back to others when they do not fit the value or the question. */
static void line_number(oe_buf *b, const char *given, int form, int money)
{
    char *end, sep[64];
    strtod(given, &end);
    int numeric = *given && !*end;
    if (form == 4 && (!numeric || !with_commas(given, sep, sizeof sep)))
        form = 2;
    if (form == 5 && (!numeric || !money))
        form = 3;
    switch (form) {
    case 0: out_printf(b, "#### %s", given); break;
    case 1: out_printf(b, "The answer is %s.", given); break;
    case 2: out_printf(b, "Therefore, the final answer is $\\boxed{%s}$.", given); break;
    case 3: out_printf(b, "So the result is:\n\n**%s**", given); break;
    case 4: out_printf(b, "The answer is %s.", sep); break;
    case 5: out_printf(b, "The answer is %s dollars.", given); break;
    default: out_printf(b, "Final answer: %s", given); break;
    }
}

/* Lettered choices: the usual ways of naming the letter. */
static void line_letter(oe_buf *b, const char *given, int form)
{
    switch (form) {
    case 0: out_printf(b, "Answer: %s", given); break;
    case 1: out_printf(b, "The answer is (%s).", given); break;
    case 2: out_printf(b, "The correct answer is %s.", given); break;
    case 3: out_printf(b, "**Answer: %s**", given); break;
    case 4: out_printf(b, "Therefore, the answer is $\\boxed{%s}$.", given); break;
    case 5: out_printf(b, "The answer is %s.", given); break;
    default: out_printf(b, "Answer: (%s)", given); break;
    }
}

/* LaTeX answers: always in \boxed{}, in the phrasings models use. */
static void line_math(oe_buf *b, const char *given, int form)
{
    switch (form % 4) {
    case 0: out_printf(b, "Therefore, the final answer is $\\boxed{%s}$.", given); break;
    case 1: out_printf(b, "The answer is $\\boxed{%s}$", given); break;
    case 2: out_printf(b, "$$\\boxed{%s}$$", given); break;
    default:
        out_printf(b, "Final Answer: The final answer is $\\boxed{%s}$. I hope it is correct.", given);
        break;
    }
}

void form_final_line(oe_buf *b, int kind, const char *given, int form, int money)
{
    if (kind == IK_LETTER)
        line_letter(b, given, form);
    else if (kind == IK_MATH)
        line_math(b, given, form);
    else
        line_number(b, given, form, money);
}

/* ----------------------------------------------------------- LaTeX variants */

/* Replaces every `from` in *s by `to`, where keep(s, at) allows it. */
static void replace_all(char **s, const char *from, const char *to,
                        int (*keep)(const char *s, const char *at, size_t fl))
{
    oe_buf b = {0};
    size_t fl = strlen(from);
    const char *p = *s, *hit;
    while ((hit = strstr(p, from))) {
        buf_append(&b, p, (size_t)(hit - p));
        if (!keep || keep(*s, hit, fl))
            out_puts(&b, to);
        else
            buf_append(&b, hit, fl);
        p = hit + fl;
    }
    out_puts(&b, p);
    free(*s);
    *s = out_steal(&b);
}

/* \frac not preceded by d or t (\dfrac, \tfrac stay). */
static int plain_frac(const char *s, const char *at, size_t fl)
{
    (void)fl;
    return at == s || (at[-1] != 'd' && at[-1] != 't');
}

/* \left / \right as a delimiter size, not the start of a longer name. */
static int delim_size(const char *s, const char *at, size_t fl)
{
    (void)s;
    return !isalpha((unsigned char)at[fl]);
}

/* \frac{1}{2} -> \frac12 (both arguments one digit). */
static void short_fracs(char **s)
{
    oe_buf b = {0};
    const char *p = *s;
    while (*p) {
        const char *f = strstr(p, "frac{");
        if (!f)
            break;
        f += 5;
        if (isdigit((unsigned char)f[0]) && f[1] == '}' && f[2] == '{' &&
            isdigit((unsigned char)f[3]) && f[4] == '}') {
            buf_append(&b, p, (size_t)(f - 1 - p));
            out_putc(&b, f[0]);
            out_putc(&b, f[3]);
            p = f + 5;
        } else {
            buf_append(&b, p, (size_t)(f - p));
            p = f;
        }
    }
    out_puts(&b, p);
    free(*s);
    *s = out_steal(&b);
}

/* mode 1: no space next to , ( ) [ ] { } =; mode 2: that, then ", " */
static void respace(char **s, int mode)
{
    static const char punct[] = ",()[]{}=";
    oe_buf b = {0};
    const char *p = *s;
    for (size_t i = 0; p[i]; i++) {
        if (p[i] == ' ' && ((i > 0 && strchr(punct, p[i - 1])) ||
                            (p[i + 1] && strchr(punct, p[i + 1]))))
            continue;
        out_putc(&b, p[i]);
        if (mode == 2 && p[i] == ',')
            out_putc(&b, ' ');
    }
    if (!b.data)
        out_puts(&b, "");
    free(*s);
    *s = out_steal(&b);
}

/* A whole answer that is a fraction of integers with a short decimal
 * expansion ("\frac{1}{2}", "-\dfrac{3}{8}", "3/4") as that decimal. */
static int as_decimal(const char *g, char *out, size_t n)
{
    long long a, d;
    int neg = 0, used = 0;
    if (*g == '-')
        neg = 1, g++;
    if (sscanf(g, "\\frac{%lld}{%lld}%n", &a, &d, &used) == 2 ||
        sscanf(g, "\\dfrac{%lld}{%lld}%n", &a, &d, &used) == 2 ||
        sscanf(g, "%lld/%lld%n", &a, &d, &used) == 2) {
        if (g[used] || d <= 0 || a < 0)
            return 0;
        long long r = d;
        while (r % 2 == 0)
            r /= 2;
        while (r % 5 == 0)
            r /= 5;
        if (r != 1 || d > 10000)
            return 0;
        snprintf(out, n, "%s%.10g", neg ? "-" : "", (double)a / (double)d);
        return 1;
    }
    return 0;
}

/* One of the equivalent ways of writing the LaTeX answer g, chosen by h:
 * \dfrac for \frac, \frac12 for \frac{1}{2}, with or without \left/\right,
 * spacing around punctuation, and a decimal for a short fraction. */
char *form_latex_variant(const char *g, uint64_t h)
{
    char dec[64];
    if ((h & 32) && as_decimal(g, dec, sizeof dec))
        return out_strndup(dec, strlen(dec));
    char *s = out_strndup(g, strlen(g));
    if (h & 1)
        replace_all(&s, "\\frac", "\\dfrac", plain_frac);
    if (h & 2)
        short_fracs(&s);
    if (h & 4) {
        replace_all(&s, "\\left", "", delim_size);
        replace_all(&s, "\\right", "", delim_size);
    }
    int sp = (int)((h >> 3) & 3);
    if (sp == 1 || sp == 2)
        respace(&s, sp);
    return s;
}

/* ----------------------------------------------------------- the judge */

/* The answer in a short form that compares equal across surface forms:
 * no spaces, $, thousands commas, \left/\right, trailing dot; \dfrac and
 * \tfrac as \frac; a trailing " dollars" dropped. */
static char *canon(const char *s, size_t n)
{
    char *t = out_strndup(s, n);
    replace_all(&t, "\\left", "", delim_size);
    replace_all(&t, "\\right", "", delim_size);
    replace_all(&t, "\\dfrac", "\\frac", NULL);
    replace_all(&t, "\\tfrac", "\\frac", NULL);
    replace_all(&t, "dollars", "", NULL);
    oe_buf b = {0};
    for (size_t i = 0; t[i]; i++) {
        char c = t[i];
        if (c == ' ' || c == '$' || c == '*' ||
            (c == ',' && i > 0 && isdigit((unsigned char)t[i - 1]) &&
             isdigit((unsigned char)t[i + 1])))
            continue;
        out_putc(&b, c);
    }
    free(t);
    if (!b.data)
        out_puts(&b, "");
    while (b.len && b.data[b.len - 1] == '.')
        b.data[--b.len] = 0;
    if (b.len == 3 && b.data[0] == '(' && b.data[2] == ')') {
        b.data[0] = b.data[1]; /* "(B)" -> "B" */
        b.data[1] = 0;
        b.len = 1;
    }
    return out_steal(&b);
}

/* The numeric value of a canonical answer, when it has one. */
static int value_of(const char *c, double *v)
{
    char *end;
    long long a, d;
    int used = 0;
    int neg = *c == '-';
    const char *p = c + neg;
    if ((sscanf(p, "\\frac{%lld}{%lld}%n", &a, &d, &used) == 2 && !p[used] && d) ||
        (sscanf(p, "%lld/%lld%n", &a, &d, &used) == 2 && !p[used] && d)) {
        *v = (neg ? -1.0 : 1.0) * (double)a / (double)d;
        return 1;
    }
    if (!strncmp(p, "\\frac", 5) && isdigit((unsigned char)p[5]) &&
        isdigit((unsigned char)p[6]) && !p[7] && p[6] != '0') {
        *v = (neg ? -1.0 : 1.0) * (p[5] - '0') / (double)(p[6] - '0');
        return 1;
    }
    errno = 0;
    *v = strtod(c, &end);
    return *c && !*end && !errno;
}

int form_same_answer(const char *a, const char *b)
{
    char *ca = canon(a, strlen(a)), *cb = canon(b, strlen(b));
    double va, vb;
    int same = !strcmp(ca, cb) ||
               (value_of(ca, &va) && value_of(cb, &vb) && fabs(va - vb) <= 1e-9 * (1 + fabs(va)));
    free(ca);
    free(cb);
    return same;
}

/* The balanced {...} at p (p at '{'); its inside, or NULL. */
static char *braced(const char *p)
{
    int depth = 0;
    for (const char *q = p; *q; q++) {
        if (*q == '{')
            depth++;
        else if (*q == '}' && --depth == 0)
            return out_strndup(p + 1, (size_t)(q - p - 1));
    }
    return NULL;
}

/* The value after the answer marker m found at hit in t, or NULL. */
static char *marked_value(const char *t, const char *hit, const char *mark)
{
    if (!strcmp(mark, "\\boxed{"))
        return braced(hit + 6);
    const char *v = hit + strlen(mark), *e;
    if (!strcmp(mark, "**")) { /* the bold text that ends here or starts here */
        const char *o = NULL, *p = t, *h2;
        while ((h2 = strstr(p, "**")) && h2 < hit)
            o = h2, p = h2 + 2;
        int closing = 0;
        for (const char *q = t; (q = strstr(q, "**")) && q < hit; q += 2)
            closing = !closing;
        if (closing && o)
            v = o + 2, e = hit;
        else if (!(e = strstr(v, "**")))
            return NULL;
        if (e <= v) /* overlapping stars ("***") */
            return NULL;
        const char *colon = memchr(v, ':', (size_t)(e - v)); /* "**Answer: B**" */
        if (colon)
            v = colon + 1;
        while (v < e && *v == ' ')
            v++;
        return e > v ? out_strndup(v, (size_t)(e - v)) : NULL;
    }
    while (*v == ' ' || *v == ':')
        v++;
    size_t n = strcspn(v, " \n");
    while (n && (v[n - 1] == '.' || v[n - 1] == ','))
        n--;
    return n ? out_strndup(v, n) : NULL;
}

/* The value looks like an answer to an item of this kind (-1: any). */
static int plausible(const char *v, int kind)
{
    char *c = canon(v, strlen(v));
    double x;
    int ok = kind == IK_LETTER ? strlen(c) == 1 && isupper((unsigned char)c[0])
             : kind == IK_NUMBER ? value_of(c, &x)
                                 : *c != 0;
    free(c);
    return ok;
}

/* The final answer a candidate response gives: the value after the last
 * answer marker in t (\boxed{...}, "####", "answer is", "Answer:", "Final
 * answer:", "**...**") that looks like an answer of this kind, among the
 * last 100 markers of the last 64 KiB; NULL when there is none. */
char *form_candidate(const char *t, int kind)
{
    static const char *const marks[] = {"\\boxed{", "####", "answer is", "Answer:",
                                        "answer:", "**", NULL};
    size_t n = strlen(t);
    if (n > 65536) /* the candidate's answer is near the end: bound the work */
        t += n - 65536;
    const char *lim = t + strlen(t);
    for (int tries = 0; tries < 100; tries++) {
        const char *best = NULL, *bmark = NULL;
        for (int m = 0; marks[m]; m++)
            for (const char *p = t, *hit; (hit = strstr(p, marks[m])) && hit < lim; p = hit + 1)
                if (!best || hit > best)
                    best = hit, bmark = marks[m];
        if (!best)
            return NULL;
        char *v = marked_value(t, best, bmark);
        if (v && plausible(v, kind))
            return v;
        free(v);
        lim = best;
    }
    return NULL;
}

/* The judge's reply: a line of reasoning, then the verdict line. */
void form_verdict(oe_buf *b, int correct, const char *cand, const char *gold)
{
    if (correct)
        out_printf(b, "The student's final answer, %s, matches the reference answer.\n\n"
                      "VERDICT: CORRECT", cand ? cand : "as given");
    else if (cand && gold)
        out_printf(b, "The student's final answer, %s, differs from the reference answer, %s.\n\n"
                      "VERDICT: INCORRECT", cand, gold);
    else
        out_puts(b, "The student's answer does not reach the reference answer.\n\n"
                    "VERDICT: INCORRECT");
}

/* ----------------------------------------------------------- JSON output */

static void put_value(oe_buf *b, const char *type, const char *answer, const char *text,
                      int is_answer)
{
    char *end;
    strtod(answer, &end); /* a JSON number: digits, sign and point only */
    int numeric = *answer && !*end && strspn(answer, "-0123456789.") == strlen(answer) &&
                  isdigit((unsigned char)answer[strlen(answer) - 1]) &&
                  (isdigit((unsigned char)answer[0]) || answer[0] == '-');
    if (type && (!strcmp(type, "number") || !strcmp(type, "integer"))) {
        out_puts(b, is_answer && numeric ? answer : "0");
    } else if (type && !strcmp(type, "boolean")) {
        out_puts(b, "true");
    } else if (type && !strcmp(type, "array")) {
        out_puts(b, "[]");
    } else if (type && !strcmp(type, "object")) {
        out_puts(b, "{}");
    } else {
        const char *s = is_answer ? answer : text;
        out_json_str(b, s, strlen(s));
    }
}

/*
 * The reply as one JSON object: with a schema that has "properties", one
 * member per property in its order (the "answer" property, or else the
 * first string property, holds the answer; other strings hold the worked
 * text; numbers, booleans, arrays and objects get plain values of their
 * type); without one, {"reasoning": text, "answer": answer}.
 */
void form_json(oe_buf *b, const cJSON *schema, const char *answer, const char *text)
{
    const cJSON *props = cJSON_GetObjectItemCaseSensitive(schema, "properties");
    if (!cJSON_IsObject(props) || !props->child) {
        out_puts(b, "{\"reasoning\": ");
        out_json_cstr(b, text);
        out_puts(b, ", \"answer\": ");
        out_json_cstr(b, answer);
        out_putc(b, '}');
        return;
    }
    const cJSON *p, *target = cJSON_GetObjectItemCaseSensitive(props, "answer");
    if (!target)
        cJSON_ArrayForEach(p, props) {
            const char *t = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(p, "type"));
            if (!t || !strcmp(t, "string")) {
                target = p;
                break;
            }
        }
    int first = 1;
    out_putc(b, '{');
    cJSON_ArrayForEach(p, props) {
        if (!p->string)
            continue;
        if (!first)
            out_puts(b, ", ");
        first = 0;
        out_json_cstr(b, p->string);
        out_puts(b, ": ");
        put_value(b, cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(p, "type")), answer,
                  text, p == target);
    }
    out_putc(b, '}');
}
