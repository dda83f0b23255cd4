/*
 * answer.c: what the simulator says. Loads --dataset (JSONL), finds
 * which item a prompt contains (normalised text, rolling hash over the
 * prompt, verified by memcmp), writes a step-by-step answer that ends in
 * the gold answer with probability --accuracy (else a wrong one) in a
 * surface form that varies by item (forms.c writes it down: numbers,
 * letters, LaTeX in \boxed{}), a judge's verdict when the prompt asks to
 * grade, structured (JSON) output, stop sequences, thinking text, and
 * deterministic filler whose length follows a heavy-tailed model. With
 * temperature > 0 the request's seed draws the answer again. Records first
 * answers per item. All text is owned by the job (j->text[]) once
 * sim_answer_make returns.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "sim.h"

#define KWIN 48 /* bytes of a question hashed for the index */
#define RBASE 0x100000001b3ULL

/* ----------------------------------------------------------- pieces */

/* A piece (one simulated token) is leading whitespace plus one word. */
size_t sim_next_piece(const char *t, size_t n, size_t pos)
{
    while (pos < n && isspace((unsigned char)t[pos]))
        pos++;
    while (pos < n && !isspace((unsigned char)t[pos]))
        pos++;
    return pos;
}

int sim_count_pieces(const char *t, size_t n)
{
    int k = 0;
    for (size_t p = 0; p < n; k++)
        p = sim_next_piece(t, n, p);
    return k;
}

/* ----------------------------------------------------------- dataset */

/* Whitespace runs become one space; ends trimmed. Returns malloc'd text. */
static char *normalise(const char *s, size_t n, size_t *out)
{
    char *d = malloc(n + 1);
    if (!d)
        abort();
    size_t k = 0;
    int sp = 0;
    for (size_t i = 0; i < n; i++) {
        if (isspace((unsigned char)s[i])) {
            sp = k > 0;
            continue;
        }
        if (sp)
            d[k++] = ' ';
        sp = 0;
        d[k++] = s[i];
    }
    d[k] = 0;
    *out = k;
    return d;
}

static uint64_t win_hash(const char *s)
{
    uint64_t h = 0;
    for (int i = 0; i < KWIN; i++)
        h = h * RBASE + (unsigned char)s[i];
    return h;
}

static void trim(char *s)
{
    size_t n = strlen(s), a = 0;
    while (n && isspace((unsigned char)s[n - 1]))
        s[--n] = 0;
    while (isspace((unsigned char)s[a]))
        a++;
    memmove(s, s + a, n - a + 1);
}

/* Gold answer and worked steps of one record, per --gold. */
static void item_gold(const sim_config *cf, const cJSON *rec, sim_item *it)
{
    it->kind = IK_NUMBER;
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(rec, cf->afield);
    const cJSON *ch = cJSON_GetObjectItemCaseSensitive(rec, "choices");
    const char *mode = cf->gold_mode;
    char buf[64];
    if (cJSON_IsNumber(a)) {
        double v = a->valuedouble;
        if ((!strcmp(mode, "letter") || (!strcmp(mode, "auto") && cJSON_IsArray(ch))) &&
            v >= 0 && v < 26)
            snprintf(buf, sizeof buf, "%c", 'A' + (int)v), it->kind = IK_LETTER;
        else if (v == floor(v) && fabs(v) < 1e15)
            snprintf(buf, sizeof buf, "%lld", (long long)v);
        else
            snprintf(buf, sizeof buf, "%g", v);
        it->gold = out_strndup(buf, strlen(buf));
        return;
    }
    const char *t = cJSON_GetStringValue(a);
    if (!t) {
        it->gold = out_strndup("", 0);
        return;
    }
    const char *h = strcmp(mode, "field") ? strstr(t, "####") : NULL;
    if (!h) {
        it->gold = out_strndup(t, strlen(t));
        trim(it->gold);
        char *end;
        strtod(it->gold, &end);
        if (strlen(it->gold) == 1 && isupper((unsigned char)it->gold[0]) && cJSON_IsArray(ch))
            it->kind = IK_LETTER;
        else if (!*it->gold || *end)
            it->kind = IK_MATH; /* not a plain number: a LaTeX answer */
        return;
    }
    const char *last = h;
    while ((h = strstr(last + 4, "####")))
        last = h;
    oe_buf g = {0}, st = {0};
    for (const char *p = last + 4; *p; p++)
        if (*p != ',')
            out_putc(&g, *p);
    it->gold = out_steal(&g);
    trim(it->gold);
    for (const char *p = t; p < last; p++) { /* steps without <<calc>> */
        const char *e;
        if (p[0] == '<' && p[1] == '<' && (e = strstr(p, ">>")) && e < last)
            p = e + 1;
        else
            out_putc(&st, *p);
    }
    it->steps = out_steal(&st);
    trim(it->steps);
}

static void index_add(sim_dataset *d, int i)
{
    sim_item *it = &d->items[i];
    if (it->qlen < KWIN) {
        d->shortq = realloc(d->shortq, sizeof(int) * (size_t)(d->nshort + 1));
        if (!d->shortq)
            abort();
        d->shortq[d->nshort++] = i;
        return;
    }
    uint64_t k = win_hash(it->question);
    size_t m = d->tcap - 1, p = (size_t)sim_mix(k) & m;
    while (d->table[p] >= 0 && d->keys[p] != k)
        p = (p + 1) & m;
    if (d->table[p] >= 0) { /* same key: append to the chain */
        int q = d->table[p];
        while (d->items[q].next >= 0)
            q = d->items[q].next;
        d->items[q].next = i;
        return;
    }
    d->keys[p] = k;
    d->table[p] = i;
}

static int add_record(sim_server *s, const char *line, size_t n, int idx)
{
    sim_dataset *d = &s->ds;
    cJSON *rec = cJSON_ParseWithLength(line, n);
    if (!rec)
        return -1;
    const cJSON *q = cJSON_GetObjectItemCaseSensitive(rec, s->cfg.qfield);
    if (!q && !s->cfg.qfield_set)
        q = cJSON_GetObjectItemCaseSensitive(rec, "problem");
    const char *qs = cJSON_GetStringValue(q);
    if (qs && *qs) {
        sim_item *it = &d->items[idx];
        it->question = normalise(qs, strlen(qs), &it->qlen);
        item_gold(&s->cfg, rec, it);
        const cJSON *ch = cJSON_GetObjectItemCaseSensitive(rec, "choices"), *e;
        const cJSON *list = cJSON_IsArray(ch) ? ch : NULL;
        cJSON_ArrayForEach(e, list) {
            const char *t = cJSON_GetStringValue(e);
            if (!t || !*t)
                continue;
            it->choice = realloc(it->choice, sizeof *it->choice * (size_t)(it->nchoice + 1));
            if (!it->choice)
                abort();
            size_t cl;
            it->choice[it->nchoice++] = normalise(t, strlen(t), &cl);
        }
        if (q->string && !strcmp(q->string, "problem") && it->kind == IK_NUMBER && !it->steps)
            it->kind = IK_MATH; /* MATH-style record with a numeric answer */
    }
    cJSON_Delete(rec);
    return qs ? 0 : -1;
}

int sim_dataset_load(sim_server *s)
{
    sim_dataset *d = &s->ds;
    FILE *f = fopen(s->cfg.dataset, "rb");
    if (!f) {
        fprintf(stderr, "ollaeval sim: --dataset: cannot open %s: %s\n", s->cfg.dataset,
                strerror(errno));
        return -1;
    }
    oe_buf all = {0};
    char chunk[65536];
    size_t got;
    while ((got = fread(chunk, 1, sizeof chunk, f)) > 0)
        buf_append(&all, chunk, got);
    fclose(f);
    int lines = 0;
    for (size_t i = 0; i < all.len; i++)
        lines += all.data[i] == '\n';
    lines += all.len && all.data[all.len - 1] != '\n';
    d->items = calloc((size_t)lines + 1, sizeof *d->items);
    for (d->tcap = 16; d->tcap < (size_t)lines * 2; d->tcap *= 2)
        ;
    d->table = malloc(sizeof(int) * d->tcap);
    d->keys = calloc(d->tcap, sizeof(uint64_t));
    if (!d->items || !d->table || !d->keys)
        abort();
    memset(d->table, 0xff, sizeof(int) * d->tcap);
    int bad = 0;
    size_t p = 0;
    for (int idx = 0; p < all.len; idx++) {
        size_t e = p;
        while (e < all.len && all.data[e] != '\n')
            e++;
        d->items[idx].next = -1;
        if (e > p && add_record(s, all.data + p, e - p, idx) < 0)
            bad++;
        if (d->items[idx].question)
            index_add(d, idx);
        d->n = idx + 1;
        p = e + 1;
    }
    buf_free(&all);
    if (bad)
        sim_log(s, "dataset %s: %d lines without a usable \"%s\" field skipped\n",
                s->cfg.dataset, bad, s->cfg.qfield);
    sim_log(s, "dataset %s: %d items\n", s->cfg.dataset, d->n - bad);
    return 0;
}

void sim_dataset_free(sim_dataset *d)
{
    for (int i = 0; i < d->n; i++) {
        free(d->items[i].question);
        free(d->items[i].gold);
        free(d->items[i].steps);
        for (int c = 0; c < d->items[i].nchoice; c++)
            free(d->items[i].choice[c]);
        free(d->items[i].choice);
    }
    free(d->items);
    free(d->table);
    free(d->keys);
    free(d->shortq);
    memset(d, 0, sizeof *d);
}

/* How many of an item's choices occur in order in the text from `from`
 * on (each after the previous one), then how many bytes of them: of two
 * repeated questions whose choices differ by a final "." (MMLU has such a
 * pair), the prompt with the periods matches the item with them. */
static int choices_in(const sim_item *it, const char *np, size_t nl, size_t from)
{
    int k = 0;
    size_t bytes = 0;
    for (int c = 0; c < it->nchoice; c++) {
        size_t cl = strlen(it->choice[c]);
        const char *hit = memmem(np + from, nl - from, it->choice[c], cl);
        if (!hit)
            continue;
        k++;
        bytes += cl;
        from = (size_t)(hit - np) + cl;
    }
    return k * 65536 + (int)(bytes < 65535 ? bytes : 65535);
}

/* The best match so far: the question that ends last (asked after any
 * few-shot examples), then the longest (not a shorter question it ends
 * with), then the one whose choices are in the prompt (repeated questions
 * with other choices). */
typedef struct {
    int item;
    size_t pos, end, len;
    int score; /* choices_in, or -1 not computed */
} match;

static void consider(const sim_dataset *d, match *m, int i, size_t pos, const char *np,
                     size_t nl)
{
    const sim_item *it = &d->items[i];
    size_t end = pos + it->qlen;
    if (m->item >= 0 && (end < m->end || (end == m->end && it->qlen < m->len)))
        return;
    if (m->item >= 0 && end == m->end && it->qlen == m->len) { /* the same text */
        if (m->score < 0)
            m->score = choices_in(&d->items[m->item], np, nl, m->pos);
        int sc = choices_in(it, np, nl, pos);
        if (sc <= m->score)
            return;
        m->score = sc;
    } else {
        m->score = -1;
    }
    m->item = i, m->pos = pos, m->end = end, m->len = it->qlen;
}

/* Index of the dataset question asked in the normalised text np (see
 * consider), or -1; *at is where it starts. */
static int find_item(const sim_dataset *d, const char *np, size_t nl, size_t *at)
{
    if (!d->n)
        return -1;
    match m = {.item = -1, .score = -1};
    if (nl >= KWIN) {
        uint64_t pw = 1, h = win_hash(np);
        for (int i = 0; i < KWIN - 1; i++)
            pw *= RBASE;
        for (size_t pos = 0;; pos++) {
            size_t mask = d->tcap - 1, p = (size_t)sim_mix(h) & mask;
            while (d->table[p] >= 0 && d->keys[p] != h)
                p = (p + 1) & mask;
            for (int i = d->table[p]; i >= 0; i = d->items[i].next) {
                const sim_item *it = &d->items[i];
                if (it->qlen <= nl - pos && !memcmp(np + pos, it->question, it->qlen))
                    consider(d, &m, i, pos, np, nl);
            }
            if (pos + KWIN >= nl)
                break;
            h = (h - pw * (unsigned char)np[pos]) * RBASE + (unsigned char)np[pos + KWIN];
        }
    }
    for (int k = 0; k < d->nshort; k++) {
        const sim_item *it = &d->items[d->shortq[k]];
        const char *from = np, *hit;
        while (it->qlen && (hit = memmem(from, nl - (size_t)(from - np), it->question, it->qlen))) {
            consider(d, &m, d->shortq[k], (size_t)(hit - np), np, nl);
            from = hit + 1;
        }
    }
    *at = m.pos;
    return m.item;
}

/* ----------------------------------------------------------- text */

static const char *const filler_words[] = {
    "the", "system", "process", "can", "be", "described", "as", "a", "series",
    "of", "steps", "that", "each", "depend", "on", "previous", "results", "and",
    "this", "approach", "helps", "to", "keep", "things", "simple", "while",
    "still", "covering", "important", "details", "in", "practice", "many",
    "people", "find", "it", "useful", "consider", "how", "different", "parts",
    "work", "together", "over", "time", "with", "some", "care", "example",
    "general", "idea", "is", "often", "more", "clear", "when", "viewed", "from",
    "another", "angle", "so", "we", "should", "note"};
static const char *const think_words[] = {
    "let", "me", "think", "about", "this", "carefully", "first", "I", "need",
    "to", "check", "each", "quantity", "then", "combine", "them", "so", "that",
    "makes", "sense", "wait", "actually", "hmm", "right", "okay", "now", "the",
    "step", "value", "total", "amount", "should", "verify", "again", "means",
    "given", "information", "relationship", "between", "parts", "problem",
    "says", "compute", "careful", "with", "units", "and", "order", "of",
    "operations", "double", "what", "is", "being", "asked", "here", "it",
    "seems", "consistent", "maybe", "reconsider", "fine", "good", "yes"};
#define NW(a) (int)(sizeof a / sizeof a[0])

static uint64_t rng_next(uint64_t *st)
{
    *st += 0x9e3779b97f4a7c15ULL;
    return sim_mix(*st);
}

/* n words of sentence-shaped text from a word list, deterministic. */
static void words(oe_buf *b, int n, const char *const *w, int nw, uint64_t seed, int k)
{
    uint64_t st = seed;
    int left = 0, para = 3;
    for (int i = 0; i < n; i++, k++) {
        const char *word = w[rng_next(&st) % (uint64_t)nw];
        int start = left == 0;
        if (start) {
            left = 6 + (int)(rng_next(&st) % 9);
            if (k > 0 && --para == 0) {
                out_puts(b, "\n\n");
                para = 3 + (int)(rng_next(&st) % 3);
            } else if (k > 0) {
                out_putc(b, ' ');
            }
        } else {
            out_putc(b, ' ');
        }
        size_t at = b->len;
        out_puts(b, word);
        if (start)
            b->data[at] = (char)toupper((unsigned char)b->data[at]);
        if (--left == 0 || i == n - 1)
            out_putc(b, '.');
    }
}

static int length_model(const sim_config *cf, uint64_t h)
{
    double u = sim_u01(h);
    double x = cf->tokens_min / pow(1 - u, 1 / 1.5); /* Pareto, alpha 1.5 */
    if (x > cf->tokens_max)
        x = cf->tokens_max;
    return x < 1 ? 1 : (int)x;
}

static const char generic_steps[] =
    "Let's solve this step by step.\n\nFirst, identify the quantities given "
    "in the problem and what is being asked.\nNext, set up the relationships "
    "between them and compute carefully.\nFinally, check the result against "
    "the conditions of the problem.";

static const char letter_steps[] =
    "Let's look at each of the choices in turn and rule out the ones that "
    "do not fit.\nOnly one of them is consistent with what the question states.";
static const char math_steps[] =
    "Let's work through the problem carefully.\n\nFirst, write down what is "
    "given and what we need to find.\nThen simplify step by step, checking "
    "each transformation.";

/* Judging instructions in the prompt, outside the item's own question:
 * "VERDICT", or a request to grade. */
static int is_judge(const char *np, size_t nl, size_t qpos, size_t qlen)
{
    static const char *const asks[] = {"grade the ", "grade this", "grade it", "grading", NULL};
    if (memmem(np, nl, "VERDICT", 7))
        return 1;
    for (int i = 0; asks[i]; i++) {
        size_t al = strlen(asks[i]);
        for (size_t p = 0; p + al <= nl; p++)
            if (!strncasecmp(np + p, asks[i], al) && (p + al <= qpos || p >= qpos + qlen))
                return 1;
    }
    return 0;
}

/* Cuts the content before the first stop string; 1 if it cut. */
static int apply_stop(oe_buf *co, const sim_ask *a)
{
    size_t cut = co->len;
    for (int i = 0; i < a->nstop; i++) {
        size_t sl = strlen(a->stop[i]);
        const char *hit = sl ? memmem(co->data, co->len, a->stop[i], sl) : NULL;
        if (hit && (size_t)(hit - co->data) < cut)
            cut = (size_t)(hit - co->data);
    }
    if (cut == co->len)
        return 0;
    co->len = cut;
    co->data[cut] = 0;
    return 1;
}

void sim_answer_make(sim_server *s, sim_job *j, const sim_ask *a)
{
    const sim_config *cf = &s->cfg;
    oe_buf th = {0}, co = {0};
    size_t qpos = 0, nl;
    char *np = normalise(a->text, a->len, &nl);
    j->item = find_item(&s->ds, np, nl, &qpos);
    uint64_t base = j->item >= 0 ? sim_hash(&j->item, sizeof j->item, cf->seed ^ 0x17e3)
                                 : a->phash;
    if (a->sampled) /* temperature > 0: the request's seed draws again */
        base = sim_mix(base ^ sim_mix(a->seed + 0x5a3d));
    j->sampled_seed = a->sampled && a->has_seed;
    j->seed = a->seed;
    uint64_t fseed = a->sampled ? base : sim_mix(cf->seed);
    const sim_item *it = j->item >= 0 ? &s->ds.items[j->item] : NULL;
    int judge = is_judge(np, nl, qpos, it ? it->qlen : 0);
    if (judge) {
        /* the judge: is the candidate's final answer the gold one? It says
         * so rightly with probability --accuracy */
        int kind = it ? it->kind : -1;
        char *cand = form_candidate(a->text, kind);
        int truth = it && cand && form_same_answer(cand, it->gold);
        uint64_t ch = cand ? sim_hash(cand, strlen(cand), base) : base;
        int right = it ? sim_u01(sim_mix(ch ^ 9)) < cf->accuracy
                       : sim_u01(sim_mix(ch ^ 10)) < 0.5;
        int verdict = it ? (right ? truth : !truth) : right;
        form_verdict(&co, verdict, cand, it ? it->gold : NULL);
        j->given = out_strndup(verdict ? "CORRECT" : "INCORRECT", verdict ? 7 : 9);
        j->item = -1; /* a verdict is not an answer to the item */
        free(cand);
    } else if (it) {
        j->item_correct = sim_u01(sim_mix(base ^ 1)) < cf->accuracy;
        char *g = j->item_correct ? out_strndup(it->gold, strlen(it->gold))
                                  : form_wrong(it->gold, sim_mix(base ^ 2));
        if (it->kind == IK_MATH) { /* an equivalent way of writing it */
            j->given = form_latex_variant(g, sim_mix(base ^ 3));
            free(g);
        } else {
            j->given = g;
        }
        const char *steps = it->kind == IK_LETTER ? letter_steps
                            : it->kind == IK_MATH ? math_steps
                            : it->steps && *it->steps ? it->steps : generic_steps;
        out_puts(&co, steps);
        out_puts(&co, "\n");
        int money = strchr(it->question, '$') || strstr(it->question, "dollar");
        form_final_line(&co, it->kind, j->given, (int)(((uint64_t)j->item + fseed) % 7), money);
    } else {
        words(&co, length_model(cf, sim_mix(base ^ 4)), filler_words, NW(filler_words),
              sim_mix(base ^ 5), 0);
    }
    free(np);
    if (a->think > 0) {
        static const double lvl[] = {0, 0.5, 1, 2, 3};
        int nt = (int)(length_model(cf, sim_mix(base ^ 6)) * lvl[a->think]);
        out_puts(&th, "Okay, let me think about this.");
        words(&th, nt > 6 ? nt - 6 : 1, think_words, NW(think_words), sim_mix(base ^ 7), 1);
    }
    if (a->json) { /* structured output: an object with the answer */
        oe_buf w = {0};
        const char *text = co.data ? co.data : "";
        form_json(&w, a->schema, j->given ? j->given : text, text);
        buf_free(&co);
        co = w;
    }
    if (!co.data)
        out_puts(&co, "");
    if (apply_stop(&co, a)) {
        j->stopped = 1;
        if (j->given && !strstr(co.data, j->given))
            j->answer_cut = 1; /* the final answer went with the cut */
    }
    if (a->think > 0 && cf->think_in_content) {
        oe_buf w = {0};
        out_puts(&w, "<think>\n");
        buf_append(&w, th.data, th.len);
        out_puts(&w, "\n</think>\n\n");
        buf_free(&th);
        th = w;
    }
    j->split_thinking = !cf->think_in_content;
    j->len[0] = th.len;
    j->len[1] = co.len;
    j->text[0] = out_steal(&th);
    j->text[1] = out_steal(&co);
    j->ntok = sim_count_pieces(j->text[0], j->len[0]) + sim_count_pieces(j->text[1], j->len[1]);
}

/* Whether items a and b are in the same words (question and choices): a
 * request cannot tell them apart, so find_item names the first of them. */
static int same_words(const sim_item *a, const sim_item *b)
{
    if (a->qlen != b->qlen || a->nchoice != b->nchoice || memcmp(a->question, b->question, a->qlen))
        return 0;
    for (int c = 0; c < a->nchoice; c++)
        if (strcmp(a->choice[c], b->choice[c]))
            return 0;
    return 1;
}

/* The first item after i in the same words as i with no answer yet, or -1
 * (its twins share i's hash chain; short questions are all in shortq). */
static int unanswered_twin(const sim_dataset *d, int i)
{
    const sim_item *a = &d->items[i];
    if (a->qlen >= KWIN) {
        for (int k = a->next; k >= 0; k = d->items[k].next)
            if (!d->items[k].state && same_words(a, &d->items[k]))
                return k;
        return -1;
    }
    for (int k = 0; k < d->nshort; k++) {
        int q = d->shortq[k];
        if (q > i && !d->items[q].state && same_words(a, &d->items[q]))
            return q;
    }
    return -1;
}

/* The first complete answer to an item counts, in /stats and the file;
 * with --answers-all every complete answer goes to the file. A question
 * asked again in the same words (MMLU repeats some) is the next of its
 * twins not answered yet, so each of them gets its line. */
void sim_answer_record(sim_server *s, sim_job *j)
{
    int idx = j->item;
    sim_item *it = &s->ds.items[idx];
    const char *gold_asked = it->gold;
    if (it->state) {
        int t = unanswered_twin(&s->ds, idx);
        if (t >= 0)
            idx = t, it = &s->ds.items[t];
    }
    int first = !it->state;
    if (!first && !s->cfg.answers_all)
        return;
    int lost = j->truncated || j->answer_cut; /* cut by num_predict or a stop */
    int ok = j->item_correct && !lost;
    if (strcmp(it->gold, gold_asked)) /* a twin with another gold: is the answer its gold? */
        ok = !lost && j->given && !strcmp(j->given, it->gold);
    if (first) {
        it->state = ok ? 1 : 2;
        if (ok)
            s->st.correct++;
        else
            s->st.wrong++;
    }
    if (!s->answers_out)
        return;
    oe_buf b = {0};
    out_printf(&b, "{\"index\":%d,\"correct\":%s,\"gold\":", idx, ok ? "true" : "false");
    out_json_cstr(&b, it->gold);
    out_puts(&b, ",\"given\":");
    out_json_cstr(&b, lost ? "" : j->given);
    if (j->sampled_seed)
        out_printf(&b, ",\"seed\":%lld", (long long)j->seed);
    if (s->cfg.answers_all)
        out_printf(&b, ",\"first\":%s", first ? "true" : "false");
    out_puts(&b, "}\n");
    fwrite(b.data, 1, b.len, s->answers_out);
    fflush(s->answers_out);
    buf_free(&b);
}
