/*
 * queue.c: the simulator's load queue and replies. Owns the model table
 * (s->models, from --models: allocated by sim_models_init, freed by
 * sim_models_free) and sim_job from sim_job_submit() on: per-model slots
 * (--parallel) with a FIFO queue behind them (--max-queue, 503 beyond),
 * load/prefill/decode delays on libuv timers (one timer per job, re-armed
 * per stream chunk), the NDJSON and SSE streams, the non-streaming bodies,
 * and the mid-stream faults.
 *
 * A job ends in exactly one of: job_finish() (response sent or fault
 * played), or sim_job_abort() (its connection went away). Both release
 * the slot or queue place, then free the job (after its timer closes).
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "sim.h"

/* ------------------------------------------------------------ models */

static const char *const thinking_families[] = {
    "qwen3", "deepseek-r1", "qwq", "gpt-oss", "magistral", "phi4-reasoning",
    "cogito", NULL};

static char *canonical(const char *name)
{
    const char *slash = strrchr(name, '/');
    const char *base = slash ? slash + 1 : name;
    size_t n = strlen(name);
    char *out = malloc(n + 8);
    if (!out) abort();
    memcpy(out, name, n + 1);
    if (!strchr(base, ':')) memcpy(out + n, ":latest", 8);
    return out;
}

static void model_setup(sim_model *m, uint64_t seed)
{
    const char *slash = strrchr(m->name, '/');
    const char *base = slash ? slash + 1 : m->name;
    const char *colon = strchr(base, ':');
    size_t bl = (size_t)(colon - base);
    snprintf(m->family, sizeof m->family, "%.*s", (int)bl, base);
    if (!strncasecmp(base, "llama", 5)) snprintf(m->family, sizeof m->family, "llama");
    else m->family[strcspn(m->family, ".-")] = 0;
    for (int i = 0; thinking_families[i]; i++) {
        size_t fl = strlen(thinking_families[i]);
        if (bl >= fl && !strncasecmp(base, thinking_families[i], fl)) m->thinking = 1;
    }
    double b = strtod(colon + 1, NULL);
    if (b <= 0) b = 7;
    snprintf(m->param_size, sizeof m->param_size, "%.1fB", b);
    m->size = (uint64_t)(b * 0.62e9);
    for (int i = 0; i < 4; i++)
        snprintf(m->digest + 16 * i, 17, "%016llx",
                 (unsigned long long)sim_hash(m->name, strlen(m->name), seed + (uint64_t)i));
}

int sim_models_init(sim_server *s)
{
    const char *p = s->cfg.models;
    while (*p) {
        size_t n = strcspn(p, ",");
        if (n > 0 && n < 200) {
            char tmp[256];
            snprintf(tmp, sizeof tmp, "%.*s", (int)n, p);
            s->models = realloc(s->models, sizeof *s->models * (size_t)(s->nmodels + 1));
            if (!s->models) abort();
            sim_model *m = &s->models[s->nmodels++];
            memset(m, 0, sizeof *m);
            m->name = canonical(tmp);
            model_setup(m, 0x5eed);
        }
        p += n + (p[n] == ',');
    }
    return s->nmodels > 0 ? 0 : -1;
}

void sim_models_free(sim_server *s)
{
    for (int i = 0; i < s->nmodels; i++) free(s->models[i].name);
    free(s->models);
    s->models = NULL;
    s->nmodels = 0;
}

sim_model *sim_model_find(sim_server *s, const char *name)
{
    char *cn = canonical(name);
    sim_model *found = NULL;
    for (int i = 0; i < s->nmodels && !found; i++)
        if (!strcasecmp(s->models[i].name, cn)) found = &s->models[i];
    free(cn);
    return found;
}

enum { J_NEW, J_QUEUED, J_RUNNING, J_RESETTING, J_DONE };

static const char err_stream[] = "an error was encountered while running the model";
static const char err_500[] =
    "model runner has unexpectedly stopped, this may be due to resource "
    "limitations or an internal error, check ollama server logs for details";
static const char err_503[] =
    "server busy, please try again.  maximum pending requests exceeded";
static const char html_502[] =
    "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    "<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n"
    "</body>\r\n</html>\r\n";

static void start(sim_job *j);
static void admit(sim_server *s);

sim_job *sim_job_new(sim_server *s, sim_conn *c, int api)
{
    sim_job *j = calloc(1, sizeof *j);
    if (!j)
        abort();
    j->srv = s;
    j->conn = c;
    j->api = api;
    j->fault = -1;
    j->item = -1;
    c->job = j;
    return j;
}

static void on_timer_closed(uv_handle_t *h)
{
    sim_job *j = h->data;
    j->timer_init = 0;
    sim_job_free(j);
}

void sim_job_free(sim_job *j)
{
    if (j->timer_init) {
        if (!uv_is_closing((uv_handle_t *)&j->timer))
            uv_close((uv_handle_t *)&j->timer, on_timer_closed);
        return;
    }
    free(j->text[0]);
    free(j->text[1]);
    free(j->model_name);
    free(j->given);
    free(j);
}

static void arm(sim_job *j, uint64_t due, uv_timer_cb cb)
{
    if (!j->timer_init) {
        uv_timer_init(j->srv->loop, &j->timer);
        j->timer.data = j;
        j->timer_init = 1;
    }
    /* libuv counts the timeout from the loop's cached time, which lags
     * behind when this iteration has been busy: refresh it, or the timer
     * fires early (a --fixed-latency-ms 100 reply in 99 ms) */
    uv_update_time(j->srv->loop);
    uint64_t now = sim_now_ns();
    uint64_t ms = due > now ? (due - now + 999999) / 1000000 : 0;
    uv_timer_start(&j->timer, cb, ms, 0);
}

/* ------------------------------------------------------------ slots */

static void queue_remove(sim_model *m, sim_job *j)
{
    sim_job **pp = &m->qhead, *prev = NULL;
    while (*pp && *pp != j)
        prev = *pp, pp = &(*pp)->next;
    if (!*pp)
        return;
    *pp = j->next;
    if (m->qtail == j)
        m->qtail = prev;
    j->next = NULL;
    sim_segment_touch(j->srv);
    m->queued--;
    j->srv->st.queued--;
}

/* Frees the slot and admits queued jobs, first in first out. */
static void release(sim_job *j)
{
    sim_server *s = j->srv;
    sim_model *m = j->model;
    if (j->state == J_QUEUED) {
        queue_remove(m, j);
        j->state = J_DONE;
        return;
    }
    if (j->state != J_RUNNING)
        return;
    j->state = J_DONE;
    sim_segment_touch(s);
    m->active--;
    s->st.generating--;
    s->st.slot_busy_ms += (double)(sim_now_ns() - j->t_slot) / 1e6;
    s->st.tokens += (uint64_t)j->emitted;
    admit(s);
}

/* Gives free slots to queued jobs, first in first out, every model. */
static void admit(sim_server *s)
{
    static int draining; /* admission loop is not re-entered */
    if (draining)
        return;
    draining = 1;
    int slots = sim_slots(s);
    for (int again = 1; again;) {
        again = 0;
        for (int i = 0; i < s->nmodels; i++) {
            sim_model *mm = &s->models[i];
            while (mm->active < slots && mm->qhead) {
                sim_job *n = mm->qhead;
                queue_remove(mm, n);
                start(n);
                again = 1;
            }
        }
    }
    draining = 0;
}

/* ------------------------------------------------------------ slot schedule */

/* Parses --parallel-schedule "T:P,T:P,...": T seconds of simulated time
 * since start-up (ascending), P slots from then on. */
int sim_schedule_init(sim_server *s)
{
    const char *p = s->cfg.parallel_schedule;
    if (!p)
        return 0;
    double last = -1;
    double scale = s->cfg.time_scale > 0 ? s->cfg.time_scale : 1;
    while (*p) {
        char *end;
        double t = strtod(p, &end);
        long slots = 0;
        int ok = end != p && *end == ':' && t >= 0 && t < 1e9 && t > last;
        if (ok) {
            p = end + 1;
            slots = strtol(p, &end, 10);
            ok = end != p && (*end == ',' || !*end) && slots >= 1 && slots <= 1000000;
        }
        if (!ok) {
            fprintf(stderr, "ollaeval sim: --parallel-schedule: invalid value '%s' (want "
                            "SECONDS:SLOTS,... with ascending times, e.g. 0:4,30:8,60:2)\n",
                    s->cfg.parallel_schedule);
            return -1;
        }
        /* a schedule that starts later runs --parallel until then */
        int first_later = s->nsched == 0 && t > 0;
        s->sched = realloc(s->sched, sizeof *s->sched * (size_t)(s->nsched + 1 + first_later));
        if (!s->sched)
            abort();
        if (first_later) {
            memset(&s->sched[0], 0, sizeof *s->sched);
            s->sched[0].slots = s->cfg.parallel;
            s->nsched = 1;
        }
        sim_segment *g = &s->sched[s->nsched++];
        memset(g, 0, sizeof *g);
        /* simulated seconds -> real ns, as every other delay (--time-scale) */
        g->at = (uint64_t)(t * scale * 1e9);
        g->slots = (int)slots;
        last = t;
        p = end + (*end == ',');
    }
    return 0;
}

int sim_slots(const sim_server *s)
{
    int slots = s->cfg.parallel;
    uint64_t since = sim_now_ns() - s->t_start;
    for (int i = 0; i < s->nsched && s->sched[i].at <= since; i++)
        slots = s->sched[i].slots;
    return slots;
}

/* The segment that holds `since` (ns since start-up); NULL: no schedule. */
static sim_segment *segment_at(sim_server *s, uint64_t since)
{
    sim_segment *g = NULL;
    for (int i = 0; i < s->nsched && s->sched[i].at <= since; i++)
        g = &s->sched[i];
    return g;
}

sim_segment *sim_segment_now(sim_server *s)
{
    return s->nsched && s->t_start ? segment_at(s, sim_now_ns() - s->t_start) : NULL;
}

/* Counts the slots busy and the requests queued since the last call into
 * the segments that time falls in, split at their boundaries. Called before
 * every change of either count. */
void sim_segment_touch(sim_server *s)
{
    if (!s->nsched || !s->t_start)
        return;
    uint64_t now = sim_now_ns() - s->t_start, t = s->busy_t;
    while (t < now) {
        int i = 0;
        while (i + 1 < s->nsched && s->sched[i + 1].at <= t)
            i++;
        uint64_t end = i + 1 < s->nsched && s->sched[i + 1].at < now ? s->sched[i + 1].at : now;
        s->sched[i].busy_ms += (double)s->st.generating * (double)(end - t) / 1e6;
        s->sched[i].queued_ms += (double)s->st.queued * (double)(end - t) / 1e6;
        t = end;
    }
    s->busy_t = now;
}

/* Spreads n tokens decoded evenly from t0 to t1 (hrtime) over the
 * segments that span (a reply that is not streamed: its tokens were made
 * during the decode, not when the body goes out). */
static void segment_tokens(sim_server *s, uint64_t t0, uint64_t t1, int n)
{
    if (!s->nsched || !s->t_start || n <= 0)
        return;
    uint64_t a = t0 > s->t_start ? t0 - s->t_start : 0, b = t1 > s->t_start ? t1 - s->t_start : 0;
    if (b <= a) {
        sim_segment *g = segment_at(s, b);
        if (g)
            g->tokens += (uint64_t)n;
        return;
    }
    uint64_t given = 0;
    for (int i = 0; i < s->nsched; i++) {
        uint64_t lo = s->sched[i].at, hi = i + 1 < s->nsched ? s->sched[i + 1].at : UINT64_MAX;
        lo = lo > a ? lo : a;
        hi = hi < b ? hi : b;
        if (hi <= lo)
            continue;
        uint64_t k = i + 1 < s->nsched && s->sched[i + 1].at < b
                         ? (uint64_t)((double)n * (double)(hi - lo) / (double)(b - a) + 0.5)
                         : (uint64_t)n - given; /* the last share: what is left */
        if (k > (uint64_t)n - given)
            k = (uint64_t)n - given;
        s->sched[i].tokens += k;
        given += k;
    }
}

static void on_schedule(uv_timer_t *t)
{
    sim_server *s = t->data;
    sim_log(s, "%d slot(s) per model from now on\n", sim_slots(s));
    sim_segment_touch(s);
    sim_segment *g = sim_segment_now(s);
    if (g && s->st.queued > g->max_queued)
        g->max_queued = s->st.queued;
    admit(s);
    uint64_t since = sim_now_ns() - s->t_start;
    for (int i = 0; i < s->nsched; i++)
        if (s->sched[i].at > since) {
            uv_update_time(s->loop);
            uv_timer_start(t, on_schedule, (s->sched[i].at - since + 999999) / 1000000, 0);
            return;
        }
}

/* Starts the clock of the schedule (and of nothing else): call when the
 * server starts listening. */
void sim_schedule_start(sim_server *s)
{
    s->t_start = sim_now_ns();
    s->busy_t = 0;
    if (!s->nsched)
        return;
    uv_timer_init(s->loop, &s->sched_timer);
    s->sched_timer.data = s;
    s->sched_on = 1;
    uv_timer_start(&s->sched_timer, on_schedule, 0, 0);
}

void sim_schedule_stop(sim_server *s)
{
    if (s->sched_on)
        uv_close((uv_handle_t *)&s->sched_timer, NULL);
    s->sched_on = 0;
}

/* Detaches the job from its connection; returns the connection or NULL. */
static sim_conn *detach(sim_job *j)
{
    sim_conn *c = j->conn;
    j->conn = NULL;
    if (c && c->job == j)
        c->job = NULL;
    return c;
}

void sim_job_abort(sim_job *j)
{
    j->conn = NULL;
    if (j->state == J_NEW)
        return; /* still being built by api.c: submit sees conn NULL */
    release(j);
    sim_job_free(j);
}

/* ------------------------------------------------------------ bodies */

static void put_head(sim_job *j, oe_buf *b)
{
    char ts[64];
    out_rfc3339(ts, sizeof ts, 0);
    out_puts(b, "{\"model\":");
    out_json_cstr(b, j->model_name);
    out_printf(b, ",\"created_at\":\"%s\",", ts);
}

/*
 * The server's timings, in ns, as Ollama reports them: total from arrival;
 * load = the model's remaining load time plus this request's handling
 * before the queue; prompt = prefill; eval = decode (from the end of
 * prefill to now). total - load - prompt - eval is the time spent waiting
 * for a slot (queue wait); it is never negative.
 */
typedef struct { uint64_t total, load, prompt, eval; } timings;

static timings job_timings(const sim_job *j)
{
    uint64_t now = sim_now_ns();
    timings t;
    t.total = now - j->t_arrival;
    t.load = j->load_ns + (j->t_submit - j->t_arrival);
    t.prompt = j->prefill_ns ? j->prefill_ns : 1000;
    t.eval = now > j->t_decode ? now - j->t_decode : 1000;
    if (t.total < t.load + t.prompt + t.eval)
        t.total = t.load + t.prompt + t.eval;
    return t;
}

static void put_metrics(sim_job *j, oe_buf *b)
{
    timings tm = job_timings(j);
    uint64_t total = tm.total, load = tm.load, pe = tm.prompt, ev = tm.eval;
    out_printf(b, ",\"total_duration\":%llu", (unsigned long long)total);
    if (load)
        out_printf(b, ",\"load_duration\":%llu", (unsigned long long)load);
    if (j->prompt_tokens)
        out_printf(b, ",\"prompt_eval_count\":%d,\"prompt_eval_duration\":%llu",
                  j->prompt_tokens, (unsigned long long)pe);
    if (j->emitted)
        out_printf(b, ",\"eval_count\":%d,\"eval_duration\":%llu", j->emitted,
                  (unsigned long long)ev);
}

static const char *done_reason(sim_job *j)
{
    return j->truncated ? "length" : "stop";
}

/* Ollama chunk/body with text t (field: 0 thinking, 1 content). */
static void put_ollama(sim_job *j, oe_buf *b, const char *think, size_t tl,
                       const char *cont, size_t cl, int done)
{
    put_head(j, b);
    if (j->api == API_CHAT) {
        out_puts(b, "\"message\":{\"role\":\"assistant\",\"content\":");
        out_json_str(b, cont, cl);
        if (tl) {
            out_puts(b, ",\"thinking\":");
            out_json_str(b, think, tl);
        }
        out_putc(b, '}');
    } else {
        out_puts(b, "\"response\":");
        out_json_str(b, cont, cl);
        if (tl) {
            out_puts(b, ",\"thinking\":");
            out_json_str(b, think, tl);
        }
    }
    if (!done) {
        out_puts(b, ",\"done\":false}\n");
        return;
    }
    out_printf(b, ",\"done\":true,\"done_reason\":\"%s\"", done_reason(j));
    if (j->api == API_GENERATE && !j->raw) {
        out_puts(b, ",\"context\":[");
        int n = j->prompt_tokens + j->emitted;
        for (int i = 0; i < n; i++)
            out_printf(b, i ? ",%d" : "%d", 1000 + (int)(sim_mix((uint64_t)i) % 150000));
        out_putc(b, ']');
    }
    put_metrics(j, b);
    out_puts(b, "}\n");
}

static void put_oai_head(sim_job *j, oe_buf *b, const char *object)
{
    out_printf(b, "{\"id\":\"%s\",\"object\":\"%s\",\"created\":%ld,\"model\":",
              j->oai_id, object, (long)time(NULL));
    out_json_cstr(b, j->model_name);
    out_puts(b, ",\"system_fingerprint\":\"fp_ollama\",\"choices\":[");
}

static void put_usage(sim_job *j, oe_buf *b)
{
    out_printf(b, "\"usage\":{\"prompt_tokens\":%d,\"completion_tokens\":%d,"
                 "\"total_tokens\":%d}",
              j->prompt_tokens, j->emitted, j->prompt_tokens + j->emitted);
}

/* llama-server's "timings" object (with --v1-timings), after a comma. */
static void put_v1_timings(sim_job *j, oe_buf *b)
{
    if (!j->srv->cfg.v1_timings)
        return;
    timings tm = job_timings(j);
    double pms = (double)tm.prompt / 1e6, ems = (double)tm.eval / 1e6;
    int pn = j->prompt_tokens, en = j->emitted;
    out_printf(b, ",\"timings\":{\"cache_n\":0,\"prompt_n\":%d,\"prompt_ms\":%.3f,"
                  "\"prompt_per_token_ms\":%.3f,\"prompt_per_second\":%.3f,"
                  "\"predicted_n\":%d,\"predicted_ms\":%.3f,"
                  "\"predicted_per_token_ms\":%.3f,\"predicted_per_second\":%.3f}",
               pn, pms, pn ? pms / pn : 0, pms > 0 ? pn * 1e3 / pms : 0, en, ems,
               en ? ems / en : 0, ems > 0 ? en * 1e3 / ems : 0);
}

/* One SSE chunk carrying a piece of content or reasoning. */
static void put_oai_chunk(sim_job *j, oe_buf *b, int thinking, const char *t,
                          size_t n)
{
    out_puts(b, "data: ");
    put_oai_head(j, b, "chat.completion.chunk");
    out_puts(b, "{\"index\":0,\"delta\":{");
    if (!j->oai_started)
        out_puts(b, "\"role\":\"assistant\",");
    j->oai_started = 1;
    out_printf(b, "\"%s\":", thinking ? j->srv->cfg.reasoning_field : "content");
    out_json_str(b, t, n);
    out_puts(b, "},\"finish_reason\":null}]}\n\n");
}

static void put_oai_final(sim_job *j, oe_buf *b)
{
    out_puts(b, "data: ");
    put_oai_head(j, b, "chat.completion.chunk");
    out_printf(b, "{\"index\":0,\"delta\":{},\"finish_reason\":\"%s\"}]", done_reason(j));
    put_v1_timings(j, b);
    out_puts(b, "}\n\n");
    if (j->include_usage) {
        out_puts(b, "data: ");
        put_oai_head(j, b, "chat.completion.chunk");
        out_puts(b, "],");
        put_usage(j, b);
        out_puts(b, "}\n\n");
    }
    out_puts(b, "data: [DONE]\n\n");
}

/* Byte lengths of text[0] and text[1] covering the first ntok pieces. */
static void cut(sim_job *j, size_t len[2])
{
    int left = j->ntok;
    for (int s = 0; s < 2; s++) {
        size_t p = 0;
        while (p < j->len[s] && left > 0)
            p = sim_next_piece(j->text[s], j->len[s], p), left--;
        len[s] = p;
    }
}

static void full_body(sim_job *j, oe_buf *b)
{
    size_t len[2];
    cut(j, len);
    oe_buf joined = {0};
    const char *th = j->text[0], *co = j->text[1];
    size_t tl = len[0], cl = len[1];
    if (!j->split_thinking) { /* thinking is part of the content */
        buf_append(&joined, j->text[0], len[0]);
        buf_append(&joined, j->text[1], len[1]);
        co = joined.data, cl = joined.len, tl = 0;
    }
    if (j->api != API_OPENAI) {
        put_ollama(j, b, th, tl, co, cl, 1);
        b->len--; /* no newline in a non-streaming body */
        b->data[b->len] = 0;
    } else {
        put_oai_head(j, b, "chat.completion");
        out_puts(b, "{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":");
        out_json_str(b, co, cl);
        if (tl) {
            out_printf(b, ",\"%s\":", j->srv->cfg.reasoning_field);
            out_json_str(b, th, tl);
        }
        out_printf(b, "},\"finish_reason\":\"%s\"}],", done_reason(j));
        put_usage(j, b);
        put_v1_timings(j, b);
        out_putc(b, '}');
    }
    buf_free(&joined);
}

/* ------------------------------------------------------------ endings */

static void on_reset(uv_timer_t *t)
{
    sim_job *j = t->data;
    sim_conn *c = detach(j);
    if (c)
        sim_conn_close(c, 1);
    sim_job_free(j);
}

/* Send partial data, then RST the connection shortly after. */
static void play_reset(sim_job *j)
{
    release(j);
    j->state = J_RESETTING;
    arm(j, sim_now_ns() + 20 * 1000000ull, on_reset);
}

static void completed(sim_job *j)
{
    j->srv->st.completed++;
    sim_segment *g = sim_segment_now(j->srv);
    if (g)
        g->completed++;
    if (j->item >= 0)
        sim_answer_record(j->srv, j);
}

static void on_full(uv_timer_t *t);

/* Non-streaming: everything was computed; send the body (or a fault). */
static void finish_full(sim_job *j)
{
    sim_conn *c = j->conn;
    j->emitted = j->ntok;
    segment_tokens(j->srv, j->t_decode, sim_now_ns(), j->ntok);
    if (j->fault == F_STREAM_ERROR) {
        release(j);
        detach(j);
        sim_send_error(c, j->api, 500, err_stream);
        sim_job_free(j);
        return;
    }
    oe_buf body = {0}, out = {0};
    full_body(j, &body);
    const char *ct = j->api == API_OPENAI ? "application/json"
                                          : "application/json; charset=utf-8";
    if (j->fault == F_TRUNCATE || j->fault == F_RESET) {
        size_t half = body.len / 2;
        out_printf(&out, "HTTP/1.1 200 OK\r\nContent-Type: %s\r\nContent-Length: %zu\r\n\r\n",
                  ct, j->fault == F_TRUNCATE ? half : body.len);
        buf_append(&out, body.data, half);
        sim_send_raw(c, &out);
        if (j->fault == F_RESET) {
            play_reset(j);
        } else {
            release(j);
            detach(j);
            sim_request_done(c);
            sim_job_free(j);
        }
    } else {
        completed(j);
        release(j);
        detach(j);
        sim_send(c, 200, ct, NULL, body.data, body.len);
        sim_job_free(j);
    }
    buf_free(&body);
}

static void on_full(uv_timer_t *t) { finish_full(t->data); }

/* ------------------------------------------------------------ streams */

static uint64_t step_ns(sim_job *j)
{
    const sim_config *cf = &j->srv->cfg;
    if (cf->fixed_ms >= 0)
        return (uint64_t)(cf->fixed_ms * 1e6 / (j->ntok > 0 ? j->ntok : 1));
    double f = 1 + cf->batch_penalty * (j->model->active - 1);
    return (uint64_t)(cf->token_ms * f * cf->time_scale * 1e6);
}

/* Appends the chunk for the next piece; returns 0 when none is left. */
static int next_chunk(sim_job *j, oe_buf *out)
{
    int s = j->pos[0] < j->len[0] ? 0 : 1;
    if (j->emitted >= j->ntok || j->pos[s] >= j->len[s])
        return 0;
    size_t a = j->pos[s], e = sim_next_piece(j->text[s], j->len[s], a);
    j->pos[s] = e;
    j->emitted++;
    sim_segment *g = sim_segment_now(j->srv);
    if (g)
        g->tokens++;
    int th = s == 0 && j->split_thinking;
    if (j->api == API_OPENAI)
        put_oai_chunk(j, out, th, j->text[s] + a, e - a);
    else if (th)
        put_ollama(j, out, j->text[s] + a, e - a, "", 0, 0);
    else
        put_ollama(j, out, NULL, 0, j->text[s] + a, e - a, 0);
    return 1;
}

static const char *stream_ctype(sim_job *j)
{
    return j->api == API_OPENAI ? "text/event-stream" : "application/x-ndjson";
}

static void stream_fault(sim_job *j, oe_buf *out)
{
    sim_conn *c = j->conn;
    if (j->fault == F_RESET) {
        sim_stream_write(c, stream_ctype(j), out);
        play_reset(j);
        return;
    }
    if (j->fault == F_STREAM_ERROR) {
        if (j->api == API_OPENAI)
            out_printf(out, "data: {\"error\":{\"message\":\"%s\",\"type\":\"api_error\","
                           "\"param\":null,\"code\":null}}\n\n", err_stream);
        else
            out_printf(out, "{\"error\":\"%s\"}\n", err_stream);
    } else { /* truncate: half of one more chunk, then a clean end */
        oe_buf extra = {0};
        if (!next_chunk(j, &extra))
            out_puts(&extra, "{\"model\":\"x\",\"created_at\":\"2025-01-01T00:00:00Z\"}\n");
        buf_append(out, extra.data, extra.len / 2);
        buf_free(&extra);
    }
    sim_stream_write(c, stream_ctype(j), out);
    release(j);
    detach(j);
    sim_stream_end(c);
    sim_job_free(j);
}

static void stream_final(sim_job *j, oe_buf *out)
{
    sim_conn *c = j->conn;
    if (j->api == API_OPENAI)
        put_oai_final(j, out);
    else
        put_ollama(j, out, NULL, 0, "", 0, 1);
    sim_stream_write(c, stream_ctype(j), out);
    completed(j);
    release(j);
    detach(j);
    sim_stream_end(c);
    sim_job_free(j);
}

static void on_tick(uv_timer_t *t)
{
    sim_job *j = t->data;
    uint64_t now = sim_now_ns() + 1000000; /* timers are ms-granular */
    oe_buf out = {0};
    int mid = j->fault == F_RESET || j->fault == F_STREAM_ERROR ||
              j->fault == F_TRUNCATE;
    while (j->next_due <= now) {
        int more = next_chunk(j, &out);
        if (more && mid && j->emitted >= j->fault_at) {
            stream_fault(j, &out);
            buf_free(&out);
            return;
        }
        if (!more || j->emitted >= j->ntok) {
            stream_final(j, &out);
            buf_free(&out);
            return;
        }
        j->next_due += step_ns(j);
        if (j->fault == F_STALL && !j->stalled) {
            j->stalled = 1;
            j->next_due += (uint64_t)(j->srv->cfg.stall_ms * 1e6);
            break; /* flush the first chunk before the stall */
        }
    }
    if (out.len)
        sim_stream_write(j->conn, stream_ctype(j), &out);
    buf_free(&out);
    arm(j, j->next_due, on_tick);
}

/* ------------------------------------------------------------ admission */

static void start(sim_job *j)
{
    sim_server *s = j->srv;
    sim_model *m = j->model;
    const sim_config *cf = &s->cfg;
    uint64_t now = sim_now_ns();
    sim_segment_touch(s);
    j->state = J_RUNNING;
    j->t_slot = now;
    if (++m->active > m->max_active)
        m->max_active = m->active;
    if (++s->st.generating > s->st.max_generating)
        s->st.max_generating = s->st.generating;
    if (!m->ready_at)
        m->ready_at = now + (uint64_t)(cf->load_ms * cf->time_scale * 1e6);
    j->load_ns = m->ready_at > now ? m->ready_at - now : 0;
    j->prefill_ns = (uint64_t)(j->prompt_tokens * cf->prefill_ms * cf->time_scale * 1e6);
    if (cf->fixed_ms >= 0)
        j->load_ns = 0, j->prefill_ns = (uint64_t)(cf->fixed_ms * 1e5);
    j->t_decode = now + j->load_ns + j->prefill_ns;
    int ft = j->ntok > 1 ? j->ntok / 2 : 1;
    j->fault_at = ft;
    if (j->stream) {
        j->next_due = cf->fixed_ms >= 0 ? now + step_ns(j) : j->t_decode + step_ns(j);
        arm(j, j->next_due, on_tick);
        return;
    }
    uint64_t total = cf->fixed_ms >= 0 ? (uint64_t)(cf->fixed_ms * 1e6)
                                       : j->load_ns + j->prefill_ns + step_ns(j) * (uint64_t)j->ntok;
    if (j->fault == F_STALL)
        total += (uint64_t)(cf->stall_ms * 1e6);
    if (total == 0)
        finish_full(j);
    else
        arm(j, now + total, on_full);
}

static void count_503(sim_server *s)
{
    s->st.http_503++;
    sim_segment *g = sim_segment_now(s);
    if (g)
        g->http_503++;
}

/* Faults played before any work: a status, or a closed connection. */
static int early_fault(sim_job *j)
{
    sim_server *s = j->srv;
    int f = j->fault;
    if (f != F_500 && f != F_503 && f != F_429 && f != F_CLOSE && f != F_HTML)
        return 0;
    sim_conn *c = detach(j);
    if (f == F_500)
        sim_send_error(c, j->api, 500, err_500);
    else if (f == F_503)
        count_503(s), sim_send_error(c, j->api, 503, err_503);
    else if (f == F_429)
        sim_send_error(c, j->api, 429, j->api == API_OPENAI
                       ? "Rate limit reached for requests. Please try again in 1s."
                       : "rate limit exceeded, please try again");
    else if (f == F_HTML)
        sim_send(c, 502, "text/html", NULL, html_502, sizeof html_502 - 1);
    else
        sim_conn_close(c, 0);
    sim_job_free(j);
    return 1;
}

/* The model is loading: its first request started the load, not done. */
static int loading(const sim_model *m, uint64_t now)
{
    return m->ready_at == 0 || m->ready_at > now;
}

void sim_job_submit(sim_job *j)
{
    sim_server *s = j->srv;
    sim_model *m = j->model;
    s->st.gen_requests++;
    j->t_submit = sim_now_ns();
    if (!s->first_gen_ns)
        s->first_gen_ns = j->t_submit;
    snprintf(j->oai_id, sizeof j->oai_id, "chatcmpl-%d", (int)(j->t_submit % 999));
    if (!j->conn) { /* client went away while the job was built */
        sim_job_free(j);
        return;
    }
    if (j->fault >= 0)
        s->st.faults[j->fault]++;
    if (early_fault(j))
        return;
    if (m->active < sim_slots(s)) {
        start(j);
        return;
    }
    if (m->queued >= s->cfg.max_queue && (!s->cfg.limit_loading || loading(m, j->t_submit))) {
        sim_conn *c = detach(j);
        count_503(s);
        sim_send_error(c, j->api, 503, err_503);
        sim_job_free(j);
        return;
    }
    sim_segment_touch(s);
    j->state = J_QUEUED;
    if (m->qtail)
        m->qtail->next = j;
    else
        m->qhead = j;
    m->qtail = j;
    if (++m->queued > m->max_queued)
        m->max_queued = m->queued;
    if (++s->st.queued > s->st.max_queued)
        s->st.max_queued = s->st.queued;
    sim_segment *g = sim_segment_now(s);
    if (g && s->st.queued > g->max_queued)
        g->max_queued = s->st.queued;
}
