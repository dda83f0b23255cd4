/*
 * sim.h: the one header of ollaeval-sim (`ollaeval sim`), the Ollama- and
 * OpenAI-compatible simulated LLM server. Only the files in core/sim/ and
 * the fuzz target (tests/fuzz/fuzz_sim_request.c) include it; the only
 * engine header it sees is core/buf.h (oe_buf).
 *
 * Files, one concept each:
 *   main.c    flags, sim_config, start-up and shutdown, signals, /stats
 *   conn.c    connections: accept, http-parser, keep-alive, writes, closing;
 *             back-pressure and the header and write timeouts
 *   api.c     routes, Ollama/OpenAI-exact request validation, metadata
 *             endpoints, sampling and stop options, the context window;
 *             turns a generation request into a sim_job
 *   queue.c   the load queue: the model table, per-model slots (and their
 *             schedule) and FIFO, timers, streamed and whole replies with
 *             their timings, mid-stream faults
 *   answer.c  the dataset, prompt -> item matching, what the answer says
 *             (right or wrong, a verdict, JSON, stop sequences), filler
 *   forms.c   how an answer is written: final lines per kind, LaTeX
 *             variants, reading a candidate's answer, the verdict line
 *   fault.c   which request gets which injected fault; the hash and RNG
 *   out.c     output helpers: writing to an oe_buf, JSON escaping, dates
 */
#ifndef SIM_H
#define SIM_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <uv.h>
#include <http_parser.h>

#include "../buf.h"

/* ---- out.c: output on an oe_buf (core/buf.c grows and frees it) ---- */
void out_puts(oe_buf *b, const char *s);
void out_putc(oe_buf *b, char c);
void out_printf(oe_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void out_json_str(oe_buf *b, const char *s, size_t n); /* quoted, Go-escaped */
void out_json_cstr(oe_buf *b, const char *s);
char *out_steal(oe_buf *b); /* NUL-terminated data; the caller frees it */
void out_rfc3339(char *out, size_t n, int64_t add_sec); /* UTC, ns trimmed */
char *out_strndup(const char *s, size_t n); /* malloc'd; aborts on OOM */

/* ---- fault kinds ---- */
enum {
    F_500, F_503, F_429, F_CLOSE, F_RESET, F_STREAM_ERROR, F_TRUNCATE,
    F_STALL, F_HTML, F_NKINDS
};
extern const char *const sim_fault_names[F_NKINDS];

/* API flavours: decide field names and error body shapes. */
enum { API_CHAT, API_GENERATE, API_OPENAI, API_OTHER };

typedef struct sim_config {
    const char *host;
    int port;
    int parallel, max_queue;
    int num_ctx;                   /* --num-ctx: default context, 0 = none */
    const char *parallel_schedule; /* "T:P,..." or NULL (queue.c parses it) */
    const char *queue_limit;       /* "always" or "loading" */
    int limit_loading;             /* --queue-limit loading */
    int v1_timings;                /* llama-server's "timings" on /v1 */
    double prefill_ms, token_ms, batch_penalty, time_scale, load_ms;
    double fixed_ms; /* < 0: off */
    int tokens_min, tokens_max;
    const char *models;
    const char *dataset, *qfield, *afield, *gold_mode;
    int qfield_set;
    double accuracy;
    uint64_t seed;
    int think_in_content;
    const char *reasoning_field;
    const char *answers_out;
    int answers_all;          /* every complete answer, not only the first */
    double fault_rate[F_NKINDS];
    double stall_ms;
    int retry_after;          /* seconds in a 429's Retry-After; 0: no header */
    long fault_after, fault_first;
    int quiet;
    size_t max_body;
    size_t max_unsent;       /* stop reading a connection above this */
    double header_timeout_ms, write_timeout_ms; /* 0: none */
} sim_config;

typedef struct sim_job sim_job;
typedef struct sim_conn sim_conn;

typedef struct sim_model {
    char *name;        /* canonical "name:tag" */
    char family[32];
    char param_size[16];
    char digest[65];
    int thinking;      /* has the thinking capability */
    uint64_t size;
    uint64_t ready_at; /* hrtime ns when loaded; 0 = not loaded */
    int num_ctx;       /* the context of the last native request (/api/ps), 0 = default */
    uint64_t draws;    /* sampled requests without a seed (each a new draw) */
    int active, queued, max_active, max_queued;
    sim_job *qhead, *qtail; /* FIFO waiting for a slot */
} sim_model;

/* What kind of answer an item has (how forms.c writes it). */
enum { IK_NUMBER, IK_LETTER, IK_MATH };

typedef struct sim_item {
    char *question; /* normalised (whitespace collapsed) */
    size_t qlen;
    char *gold;     /* gold answer text */
    char *steps;    /* worked solution without the final line, or NULL */
    char **choice;  /* normalised "choices" (they tell repeated questions apart) */
    int nchoice;
    int next;       /* next item with the same key hash, -1 ends */
    uint8_t state;  /* 0 unanswered, 1 correct, 2 wrong (first answer) */
    uint8_t kind;   /* IK_* */
} sim_item;

typedef struct sim_dataset {
    sim_item *items;   /* indexed by dataset line (0-based); may have holes */
    int n;
    int *table;        /* open addressing: key hash -> first item, -1 empty */
    uint64_t *keys;
    size_t tcap;
    int *shortq;       /* items shorter than the hash window */
    int nshort;
} sim_dataset;

typedef struct sim_stats {
    uint64_t requests, gen_requests, completed, tokens, prompt_tokens;
    uint64_t http_503, faults[F_NKINDS];
    int generating, queued, max_generating, max_queued;
    double slot_busy_ms;
    uint64_t correct, wrong;
    int connections, max_connections;
    uint64_t read_pauses, header_timeouts, write_timeouts;
    size_t max_unsent; /* the most unsent output seen on one connection */
    uint64_t reloads, truncated_prompts;
} sim_stats;

/* One segment of --parallel-schedule (from `at` on, `slots` slots) and what
 * the server did during it (/stats "segments"): generation requests
 * completed, tokens emitted, 503s sent, the deepest queue, and the
 * integrals over the segment of the slots busy and the requests queued. */
typedef struct sim_segment {
    uint64_t at;          /* real ns since the server started listening */
    int slots;
    uint64_t completed, tokens, http_503;
    int max_queued;
    double busy_ms, queued_ms;
} sim_segment;

typedef struct sim_server {
    sim_config cfg;
    uv_loop_t *loop;
    uv_tcp_t listener;
    uv_signal_t sigint, sigterm;
    int listening, stopping;
    sim_model *models;
    int nmodels;
    sim_dataset ds;
    uint64_t *att_keys;   /* prompt hash -> attempts (fault injection) */
    uint32_t *att_vals;
    size_t att_cap, att_len;
    uint64_t gen_seq;     /* generation requests seen (fault schedule) */
    sim_stats st;
    FILE *answers_out;
    sim_conn *conns;      /* all open connections (for shutdown) */
    uv_timer_t sweep;     /* header and write timeouts (conn.c) */
    int sweep_on;
    sim_segment *sched;   /* --parallel-schedule: its segments, with their stats */
    int nsched, sched_on;
    uint64_t busy_t;      /* hrtime up to which segments' busy_ms is counted */
    uint64_t first_gen_ns;/* hrtime of the first generation request (0 none) */
    uv_timer_t sched_timer; /* fires at each change of the slot count */
    uint64_t t_start;     /* hrtime when the server started listening */
    char date[40];        /* cached HTTP Date header value */
    time_t date_sec;
} sim_server;

/*
 * One client connection. Allocated by the accept callback (or
 * sim_conn_new_fake), freed in its close callback (or sim_conn_free_fake).
 * At most one request is served at a time; bytes that arrive meanwhile wait
 * in `in` (pipelining).
 */
struct sim_conn {
    uv_tcp_t tcp;
    sim_server *srv;
    http_parser parser;
    oe_buf in;              /* unparsed input; `in_off` bytes consumed */
    size_t in_off;
    oe_buf url, body, hname;
    int hstate;           /* 0 none, 1 in field, 2 in value */
    int expect_continue, hdr_is_expect;
    int method, keepalive, head;
    int busy;             /* a request is being served */
    int in_drive;
    int streaming;        /* a chunked response has started */
    int closing;
    int paused;           /* reading stopped: too much unsent output */
    uint64_t t_head;      /* first byte of a request whose headers are
                             incomplete, else 0 (header timeout) */
    uint64_t t_write_ok;  /* last progress of the unsent output */
    uint64_t t_arrival;
    sim_job *job;         /* generation in progress, owned by queue.c */
    int fake;             /* fuzzing: writes go to `out`, no socket */
    oe_buf out;
    sim_conn *prev, *next;
};

/* ---- conn.c ---- */
void sim_conn_accept(sim_server *s);
sim_conn *sim_conn_new_fake(sim_server *s);
void sim_conn_free_fake(sim_conn *c);
void sim_parse_feed(sim_conn *c, const char *data, size_t len);
void sim_conn_close(sim_conn *c, int reset);
void sim_send(sim_conn *c, int status, const char *ctype, const char *extra,
              const char *body, size_t len);
void sim_send_error(sim_conn *c, int api, int status, const char *msg);
void sim_send_oai_error(sim_conn *c, int status, const char *msg, const char *param,
                        const char *code); /* OpenAI's body with param and code */
void sim_send_raw(sim_conn *c, oe_buf *b); /* takes b's data */
void sim_stream_write(sim_conn *c, const char *ctype, oe_buf *b);
void sim_stream_end(sim_conn *c);
void sim_request_done(sim_conn *c);
void sim_conns_start(sim_server *s); /* the timeout sweep */
void sim_conns_stop(sim_server *s);

/* ---- api.c ---- */
void sim_route(sim_conn *c);

/* ---- queue.c ---- */
int sim_models_init(sim_server *s); /* the table from --models; -1: none */
void sim_models_free(sim_server *s);
sim_model *sim_model_find(sim_server *s, const char *name);
int sim_schedule_init(sim_server *s); /* parses --parallel-schedule; -1 bad */
void sim_schedule_start(sim_server *s);
void sim_schedule_stop(sim_server *s);
/* The segment in progress (NULL without a schedule); sim_segment_touch
 * first counts busy and queued time up to now into the segments. */
sim_segment *sim_segment_now(sim_server *s);
void sim_segment_touch(sim_server *s);
int sim_slots(const sim_server *s); /* slots per model now */
/*
 * A generation request. Created by api.c (sim_job_new), owned by queue.c
 * from sim_job_submit until it finishes or its connection goes.
 */
struct sim_job {
    sim_server *srv;
    sim_conn *conn;       /* NULL once the client has gone */
    sim_model *model;
    uv_timer_t timer;
    int timer_init, state;
    int api, stream, include_usage, raw;
    int fault;            /* F_* or -1 */
    char *model_name;     /* as sent by the client, echoed back */
    char *text[2];        /* [0] thinking, [1] content; owned */
    size_t len[2];
    int split_thinking;   /* thinking goes to its own field */
    size_t pos[2];        /* streaming cursor */
    int ntok, emitted, prompt_tokens, truncated;
    int fault_at;         /* token index for mid-stream faults */
    int stalled, oai_started;
    int item, item_correct;
    int stopped;          /* the content was cut at a stop sequence */
    int answer_cut;       /* ... and the final answer with it */
    char *given;          /* the answer as written (owned), or NULL */
    int sampled_seed;     /* sampled with the client's seed (recorded) */
    uint64_t seed;
    uint64_t t_arrival, t_submit, t_slot, t_decode, next_due;
    uint64_t load_ns, prefill_ns;
    char oai_id[24];
    sim_job *next;
};
sim_job *sim_job_new(sim_server *s, sim_conn *c, int api);
void sim_job_submit(sim_job *j);
void sim_job_abort(sim_job *j); /* the connection is going away */
void sim_job_free(sim_job *j);

/* ---- answer.c ---- */
int sim_dataset_load(sim_server *s);
void sim_dataset_free(sim_dataset *d);
/* What a generation request asks, gathered by api.c; pointers into the
 * request body, valid during sim_answer_make. */
typedef struct sim_ask {
    const char *text; /* the prompt text searched for an item */
    size_t len;
    uint64_t phash;   /* hash of model and messages */
    int think;        /* 0 off, 1..4 level */
    int sampled;      /* temperature > 0: seed varies the answer */
    uint64_t seed;    /* the request's seed (sampled) */
    int has_seed;     /* ... given by the client (not a fresh draw) */
    int json;         /* format / response_format asked for JSON */
    const struct cJSON *schema; /* its JSON schema, or NULL */
    const char *const *stop;   /* stop sequences */
    int nstop;
} sim_ask;
/* Fills j->text[], j->ntok, j->item, j->item_correct, j->given, j->stopped. */
void sim_answer_make(sim_server *s, sim_job *j, const sim_ask *a);
void sim_answer_record(sim_server *s, sim_job *j);
int sim_count_pieces(const char *t, size_t n);
size_t sim_next_piece(const char *t, size_t n, size_t pos);

/* ---- forms.c ---- (returned strings are malloc'd, the caller's) */
char *form_wrong(const char *gold, uint64_t h);
void form_final_line(oe_buf *b, int kind, const char *given, int form, int money);
char *form_latex_variant(const char *gold, uint64_t h);
int form_same_answer(const char *a, const char *b);
char *form_candidate(const char *text, int kind); /* kind IK_* or -1 */
void form_verdict(oe_buf *b, int correct, const char *cand, const char *gold);
void form_json(oe_buf *b, const struct cJSON *schema, const char *answer, const char *text);

/* ---- fault.c ---- */
int sim_fault_pick(sim_server *s, uint64_t phash); /* F_* or -1 */
void sim_fault_free(sim_server *s);
/* The deterministic hash and RNG every decision of the simulator uses. */
uint64_t sim_hash(const void *p, size_t n, uint64_t seed);
uint64_t sim_mix(uint64_t x);
double sim_u01(uint64_t h); /* [0,1) from a hash */

/* ---- main.c ---- */
void sim_config_defaults(sim_config *cf);
int sim_server_setup(sim_server *s, uv_loop_t *loop); /* no socket */
void sim_server_cleanup(sim_server *s);
void sim_log(sim_server *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void sim_stats_json(sim_server *s, oe_buf *b);
uint64_t sim_now_ns(void);

#endif
