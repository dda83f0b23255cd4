/*
 * main.c: ollaeval-sim's entry point (`ollaeval sim` execs this binary).
 * Owns the command line (flag table, --help, validation), sim_config, the
 * sim_server (one per process, allocated in main and freed on exit),
 * start-up (models, dataset, answers file), the listening socket,
 * SIGINT/SIGTERM with an orderly shutdown, logging, and the /stats document.
 * Built with -DSIM_NO_MAIN (the fuzz target), everything but main().
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "sim.h"

enum { T_INT, T_LONG, T_DBL, T_STR, T_BOOL, T_U64, T_SIZE, T_RATE };

typedef struct {
    const char *name;
    int type;
    size_t off;
    double lo, hi;   /* accepted range for numbers */
    const char *dflt;
    const char *help;
} flag;

#define O(f) offsetof(sim_config, f)
#define FR(k, n, h) {"--fault-" n, T_RATE, O(fault_rate) + (k) * sizeof(double), 0, 1, "0", h}
static const flag flags[] = {
    {"--host", T_STR, O(host), 0, 0, "127.0.0.1", "address to bind"},
    {"--port", T_INT, O(port), 0, 65535, "11434", "TCP port; 0 picks a free one"},
    {"--models", T_STR, O(models), 0, 0, "qwen3:8b,llama3.2:3b", "known models (comma list)"},
    {"--parallel", T_INT, O(parallel), 1, 1e6, "4", "generation slots per model"},
    {"--parallel-schedule", T_STR, O(parallel_schedule), 0, 0, "none",
     "slots that change: T:P,... (P slots from T simulated seconds on)"},
    {"--max-queue", T_INT, O(max_queue), 0, 1e7, "512", "FIFO places behind the slots; 503 beyond"},
    {"--queue-limit", T_STR, O(queue_limit), 0, 0, "always",
     "always|loading: --max-queue always, or only while the model loads"},
    {"--prefill-ms-per-token", T_DBL, O(prefill_ms), 0, 1e6, "0.2", "prompt processing time per token"},
    {"--token-ms", T_DBL, O(token_ms), 0, 1e6, "20", "decode step time with one active slot"},
    {"--batch-penalty", T_DBL, O(batch_penalty), 0, 100, "0.15",
     "step = token-ms * (1 + penalty * (active - 1))"},
    {"--time-scale", T_DBL, O(time_scale), 0, 1e6, "1", "multiplies load/prefill/decode delays; 0 = none"},
    {"--num-ctx", T_INT, O(num_ctx), 0, 40960, "0",
     "context of a request without num_ctx; longer prompts are truncated; 0 = none"},
    {"--load-time", T_DBL, O(load_ms), 0, 1e9, "0", "ms to load a model on its first request"},
    {"--fixed-latency-ms", T_DBL, O(fixed_ms), 0, 1e9, "off",
     "each request holds its slot exactly this long (unscaled)"},
    {"--tokens-min", T_INT, O(tokens_min), 1, 1e7, "120", "length model: Pareto scale (typical answer)"},
    {"--tokens-max", T_INT, O(tokens_max), 1, 1e7, "4096", "length model: longest answer"},
    {"--dataset", T_STR, O(dataset), 0, 0, "none", "JSONL file of items to recognise in prompts"},
    {"--question-field", T_STR, O(qfield), 0, 0, "question", "question field (falls back to \"problem\")"},
    {"--answer-field", T_STR, O(afield), 0, 0, "answer", "gold answer field"},
    {"--gold", T_STR, O(gold_mode), 0, 0, "auto",
     "auto|hash|field|letter: text after ####, whole field, or choice letter"},
    {"--accuracy", T_RATE, O(accuracy), 0, 1, "0.8", "probability an item is answered correctly"},
    {"--seed", T_U64, O(seed), 0, 0, "0", "seed for answers, accuracy draws and faults"},
    {"--think-in-content", T_BOOL, O(think_in_content), 0, 0, "off",
     "put thinking in <think>...</think> at the start of content"},
    {"--v1-timings", T_BOOL, O(v1_timings), 0, 0, "off",
     "llama-server's \"timings\" object in /v1 replies"},
    {"--reasoning-field", T_STR, O(reasoning_field), 0, 0, "reasoning",
     "/v1 field for thinking: reasoning|reasoning_content"},
    {"--answers-out", T_STR, O(answers_out), 0, 0, "none", "JSONL of first answers per item"},
    {"--answers-all", T_BOOL, O(answers_all), 0, 0, "off",
     "--answers-out gets every complete answer, not only the first"},
    FR(F_500, "500", "rate of HTTP 500 before any byte"),
    FR(F_503, "503", "rate of 503 server busy"),
    FR(F_429, "429", "rate of 429 with Retry-After (--retry-after)"),
    FR(F_CLOSE, "close", "rate of connections closed before a response"),
    FR(F_RESET, "reset", "rate of connection resets mid-response"),
    FR(F_STREAM_ERROR, "stream-error", "rate of {\"error\"} lines mid-stream (500 if not streaming)"),
    FR(F_TRUNCATE, "truncate", "rate of truncated JSON bodies / stream lines"),
    FR(F_STALL, "stall", "rate of stalls of --stall-ms"),
    FR(F_HTML, "html", "rate of 502 text/html error pages"),
    {"--stall-ms", T_DBL, O(stall_ms), 0, 1e9, "5000", "stall length (unscaled)"},
    {"--retry-after", T_INT, O(retry_after), 0, 86400, "1", "seconds in a 429's Retry-After; 0 sends none"},
    {"--fault-after", T_LONG, O(fault_after), 0, 1e15, "0", "no faults in the first N generation requests"},
    {"--fault-first", T_LONG, O(fault_first), 0, 1e15, "0",
     "the first N generation requests all fail (enabled kinds in turn), none after"},
    {"--max-body", T_SIZE, O(max_body), 1, 1e12, "16777216", "largest request body in bytes"},
    {"--max-unsent", T_SIZE, O(max_unsent), 1024, 1e12, "4194304",
     "stop reading a connection with more unsent output (bytes)"},
    {"--header-timeout", T_DBL, O(header_timeout_ms), 0, 1e9, "10000",
     "ms from a request's first byte to its last header; 0 = none"},
    {"--write-timeout", T_DBL, O(write_timeout_ms), 0, 1e9, "30000",
     "ms without the client taking unsent output; 0 = none"},
    {"--quiet", T_BOOL, O(quiet), 0, 0, "off", "no logs on stderr"},
    {NULL, 0, 0, 0, 0, NULL, NULL}};

static void usage(void)
{
    printf("usage: ollaeval sim [flags]\n"
           "Ollama- and OpenAI-compatible simulated LLM server (see docs/sim.md).\n\n");
    for (const flag *f = flags; f->name; f++) {
        const char *arg = f->type == T_BOOL ? "" : f->type == T_STR ? " S" : " N";
        char left[64];
        snprintf(left, sizeof left, "%s%s", f->name, arg);
        printf("  %-28s %s (default %s)\n", left, f->help, f->dflt);
    }
    printf("  %-28s this help\n", "--help");
}

/* Sets one flag from text; returns 0 or -1 (message printed). */
static int set_flag(sim_config *cf, const flag *f, const char *v)
{
    char *p = (char *)cf + f->off, *end;
    if (f->type == T_STR) {
        *(const char **)p = v;
        return 0;
    }
    errno = 0;
    double d = strtod(v, &end);
    if (!*v || *end || errno || d < f->lo || (f->hi > f->lo && d > f->hi) ||
        ((f->type == T_INT || f->type == T_LONG) && d != (long long)d)) {
        fprintf(stderr, "ollaeval sim: %s: invalid value '%s'\n", f->name, v);
        return -1;
    }
    switch (f->type) {
    case T_INT: *(int *)p = (int)d; break;
    case T_LONG: *(long *)p = (long)d; break;
    case T_U64: *(uint64_t *)p = strtoull(v, NULL, 0); break;
    case T_SIZE: *(size_t *)p = (size_t)d; break;
    default: *(double *)p = d; break;
    }
    return 0;
}

void sim_config_defaults(sim_config *cf)
{
    memset(cf, 0, sizeof *cf);
    for (const flag *f = flags; f->name; f++)
        if (strcmp(f->dflt, "none") && strcmp(f->dflt, "off"))
            set_flag(cf, f, f->dflt);
    cf->fixed_ms = -1;
}

/* 0 ok, 1 help printed, 2 bad usage. */
static int parse_args(sim_config *cf, int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *eq = strchr(a, '=');
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage();
            return 1;
        }
        size_t nl = eq ? (size_t)(eq - a) : strlen(a);
        const flag *f = flags;
        while (f->name && (strlen(f->name) != nl || strncmp(f->name, a, nl)))
            f++;
        if (!f->name) {
            fprintf(stderr, "ollaeval sim: unknown flag '%s' (see --help)\n", a);
            return 2;
        }
        if (f->type == T_BOOL) {
            *(int *)((char *)cf + f->off) = 1;
            continue;
        }
        const char *v = eq ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);
        if (!v) {
            fprintf(stderr, "ollaeval sim: %s: missing value\n", f->name);
            return 2;
        }
        if (set_flag(cf, f, v))
            return 2;
        if (!strcmp(f->name, "--question-field"))
            cf->qfield_set = 1;
    }
    const char *rf = cf->reasoning_field, *gm = cf->gold_mode, *ql = cf->queue_limit;
    if (strcmp(ql, "always") && strcmp(ql, "loading")) {
        fprintf(stderr, "ollaeval sim: --queue-limit: invalid value '%s' (always|loading)\n", ql);
        return 2;
    }
    cf->limit_loading = !strcmp(ql, "loading");
    if (strcmp(rf, "reasoning") && strcmp(rf, "reasoning_content")) {
        fprintf(stderr, "ollaeval sim: --reasoning-field: invalid value '%s'\n", rf);
        return 2;
    }
    if (strcmp(gm, "auto") && strcmp(gm, "hash") && strcmp(gm, "field") && strcmp(gm, "letter")) {
        fprintf(stderr, "ollaeval sim: --gold: invalid value '%s'\n", gm);
        return 2;
    }
    if (cf->tokens_max < cf->tokens_min) {
        fprintf(stderr, "ollaeval sim: --tokens-max: must be >= --tokens-min\n");
        return 2;
    }
    return 0;
}

void sim_log(sim_server *s, const char *fmt, ...)
{
    if (s->cfg.quiet)
        return;
    va_list ap;
    va_start(ap, fmt);
    fputs("ollaeval sim: ", stderr);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
}

uint64_t sim_now_ns(void) { return uv_hrtime(); }

/* ------------------------------------------------------------ stats */

void sim_stats_json(sim_server *s, oe_buf *b)
{
    const sim_stats *t = &s->st;
    uint64_t nf = 0;
    out_printf(b, "{\"requests\":%llu,\"generate_requests\":%llu,\"completed\":%llu,"
                 "\"generating\":%d,\"queued\":%d,\"max_generating\":%d,\"max_queued\":%d,"
                 "\"slot_busy_ms\":%.3f,\"tokens\":%llu,\"http_503\":%llu,\"slots\":%d,"
                 "\"connections\":%d,\"max_connections\":%d,\"read_pauses\":%llu,"
                 "\"header_timeouts\":%llu,\"write_timeouts\":%llu,\"max_unsent\":%zu,"
                 "\"reloads\":%llu,\"truncated_prompts\":%llu,\"faults\":{",
              (unsigned long long)t->requests, (unsigned long long)t->gen_requests,
              (unsigned long long)t->completed, t->generating, t->queued, t->max_generating,
              t->max_queued, t->slot_busy_ms, (unsigned long long)t->tokens,
              (unsigned long long)t->http_503, sim_slots(s), t->connections, t->max_connections,
              (unsigned long long)t->read_pauses, (unsigned long long)t->header_timeouts,
              (unsigned long long)t->write_timeouts, t->max_unsent,
              (unsigned long long)t->reloads, (unsigned long long)t->truncated_prompts);
    for (int k = 0; k < F_NKINDS; k++) {
        out_printf(b, "\"%s\":%llu,", sim_fault_names[k], (unsigned long long)t->faults[k]);
        nf += t->faults[k];
    }
    out_printf(b, "\"total\":%llu},\"answers\":{\"correct\":%llu,\"wrong\":%llu,\"correct_ids\":[",
              (unsigned long long)nf, (unsigned long long)t->correct,
              (unsigned long long)t->wrong);
    for (int pass = 1, first = 1; pass <= 2; pass++, first = 1) {
        if (pass == 2)
            out_puts(b, "],\"wrong_ids\":[");
        for (int i = 0; i < s->ds.n; i++)
            if (s->ds.items[i].state == pass) {
                out_printf(b, first ? "%d" : ",%d", i);
                first = 0;
            }
    }
    out_puts(b, "]},");
    /* the schedule's segments (times in simulated seconds) */
    sim_segment_touch(s);
    double scale = s->cfg.time_scale > 0 ? s->cfg.time_scale : 1;
    uint64_t now = sim_now_ns();
    out_printf(b, "\"uptime_ms\":%.3f,\"first_request_ms\":%.3f,\"segments\":[",
               (double)(now - s->t_start) / 1e6,
               s->first_gen_ns ? (double)(s->first_gen_ns - s->t_start) / 1e6 : -1.0);
    for (int i = 0; i < s->nsched; i++) {
        const sim_segment *g = &s->sched[i];
        out_printf(b, "%s{\"t\":%.3f,\"slots\":%d,\"completed\":%llu,\"tokens\":%llu,"
                      "\"http_503\":%llu,\"max_queued\":%d,\"busy_ms\":%.3f,\"queued_ms\":%.3f}",
                   i ? "," : "", (double)g->at / 1e9 / scale, g->slots,
                   (unsigned long long)g->completed, (unsigned long long)g->tokens,
                   (unsigned long long)g->http_503, g->max_queued, g->busy_ms, g->queued_ms);
    }
    out_puts(b, "],\"models\":{");
    for (int i = 0; i < s->nmodels; i++) {
        const sim_model *m = &s->models[i];
        out_puts(b, i ? "," : "");
        out_json_cstr(b, m->name);
        out_printf(b, ":{\"loaded\":%s,\"generating\":%d,\"queued\":%d,"
                     "\"max_generating\":%d,\"max_queued\":%d}",
                  m->ready_at ? "true" : "false", m->active, m->queued, m->max_active,
                  m->max_queued);
    }
    out_puts(b, "}}");
}

/* ------------------------------------------------------------ server */

/* Everything but the socket: models, dataset, answers file. */
int sim_server_setup(sim_server *s, uv_loop_t *loop)
{
    s->loop = loop;
    if (sim_models_init(s)) {
        fprintf(stderr, "ollaeval sim: --models: no model names\n");
        return 2;
    }
    if (sim_schedule_init(s))
        return 2;
    if (s->cfg.dataset && sim_dataset_load(s))
        return 2;
    if (s->cfg.answers_out && !(s->answers_out = fopen(s->cfg.answers_out, "w"))) {
        fprintf(stderr, "ollaeval sim: --answers-out: cannot open %s: %s\n",
                s->cfg.answers_out, strerror(errno));
        return 2;
    }
    return 0;
}

void sim_server_cleanup(sim_server *s)
{
    sim_models_free(s);
    free(s->sched);
    s->sched = NULL;
    s->nsched = 0;
    sim_dataset_free(&s->ds);
    sim_fault_free(s);
    if (s->answers_out)
        fclose(s->answers_out);
    s->answers_out = NULL;
}

static void on_connection(uv_stream_t *l, int status)
{
    sim_server *s = l->data;
    if (status < 0 || s->stopping)
        return;
    sim_conn_accept(s);
}

static void stop(sim_server *s)
{
    if (s->stopping)
        return;
    s->stopping = 1;
    sim_log(s, "stopping\n");
    uv_close((uv_handle_t *)&s->listener, NULL);
    sim_conns_stop(s);
    sim_schedule_stop(s);
    uv_close((uv_handle_t *)&s->sigint, NULL);
    uv_close((uv_handle_t *)&s->sigterm, NULL);
    while (s->conns)
        sim_conn_close(s->conns, 0);
}

static void on_signal(uv_signal_t *h, int sig)
{
    (void)sig;
    stop(h->data);
}

static int start_listening(sim_server *s)
{
    struct sockaddr_storage ss;
    const char *host = strcmp(s->cfg.host, "localhost") ? s->cfg.host : "127.0.0.1";
    int v6 = strchr(host, ':') != NULL;
    int r = v6 ? uv_ip6_addr(host, s->cfg.port, (struct sockaddr_in6 *)&ss)
               : uv_ip4_addr(host, s->cfg.port, (struct sockaddr_in *)&ss);
    if (r) {
        fprintf(stderr, "ollaeval sim: --host: invalid address '%s'\n", s->cfg.host);
        return 2;
    }
    uv_tcp_init(s->loop, &s->listener);
    s->listener.data = s;
    if ((r = uv_tcp_bind(&s->listener, (struct sockaddr *)&ss, 0)) == 0)
        r = uv_listen((uv_stream_t *)&s->listener, 4096, on_connection);
    if (r) {
        fprintf(stderr, "ollaeval sim: cannot listen on %s:%d: %s\n", host, s->cfg.port,
                uv_strerror(r));
        uv_close((uv_handle_t *)&s->listener, NULL);
        return 1;
    }
    int len = sizeof ss;
    uv_tcp_getsockname(&s->listener, (struct sockaddr *)&ss, &len);
    int port = ntohs(v6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                        : ((struct sockaddr_in *)&ss)->sin_port);
    printf(v6 ? "ollaeval sim listening on http://[%s]:%d\n"
              : "ollaeval sim listening on http://%s:%d\n", host, port);
    fflush(stdout);
    return 0;
}

static void raise_nofile(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

#ifndef SIM_NO_MAIN
int main(int argc, char **argv)
{
    sim_server *s = calloc(1, sizeof *s);
    uv_loop_t *loop = malloc(sizeof *loop);
    if (!s || !loop || uv_loop_init(loop))
        abort();
    sim_config_defaults(&s->cfg);
    int rc = parse_args(&s->cfg, argc, argv), help = rc == 1;
    if (rc == 0)
        rc = sim_server_setup(s, loop);
    if (rc == 0) {
        raise_nofile();
        signal(SIGPIPE, SIG_IGN);
        rc = start_listening(s);
    }
    if (rc == 0) {
        uv_signal_init(loop, &s->sigint);
        uv_signal_init(loop, &s->sigterm);
        s->sigint.data = s->sigterm.data = s;
        uv_signal_start(&s->sigint, on_signal, SIGINT);
        uv_signal_start(&s->sigterm, on_signal, SIGTERM);
        sim_conns_start(s);
        sim_schedule_start(s);
        sim_log(s, "%d model(s), %d slot(s) each%s, queue %d%s, time scale %g\n", s->nmodels,
                sim_slots(s), s->nsched ? " (scheduled)" : "", s->cfg.max_queue,
                s->cfg.limit_loading ? " while loading" : "", s->cfg.time_scale);
        uv_run(loop, UV_RUN_DEFAULT);
    }
    uv_run(loop, UV_RUN_DEFAULT); /* finish close callbacks */
    uv_loop_close(loop);
    sim_server_cleanup(s);
    free(loop);
    free(s);
    return help ? 0 : rc;
}
#endif
