/*
 * oe.h: types and prototypes shared by the engine's C files.
 *
 * Files and what each owns:
 *   main.c   command line, engine options, running the script, exit status
 *   sched.c  tasks (Lua coroutines), the ready queue, the run loop, and the
 *            per-endpoint request window (at most N in flight, FIFO beyond)
 *   http.c   libcurl's multi interface driven by libuv; owns oe_req while a
 *            transfer is in flight
 *   stream.c incremental NDJSON / SSE parsers for streamed responses
 *   buf.c    oe_buf, the growable byte buffer (buf.h, shared with the
 *            simulator)
 *   lapi.c   the Lua-facing C functions (the `core` table); the one place
 *            where the C/Lua boundary is drawn
 *   prelude.lua  the Lua half of the API, embedded in the binary
 * The simulator (`ollaeval sim`) is its own binary, ollaeval-sim, built from
 * core/sim/ (map in core/sim/sim.h); it shares only buf.h with the engine.
 */
#ifndef OE_H
#define OE_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>
#include <lua.h>

#include "buf.h" /* oe_buf */

#define OE_VERSION "0.1.0"

/* Embedded Lua sources (build/embedded.c, written by core/embed.sh). */
struct oe_embedded {
    const char *name; /* module name: "prelude", "evals.gsm8k", ... */
    const char *file; /* path in the source tree, for error messages */
    const char *src;
};
extern const struct oe_embedded oe_embedded[];

struct oe_task;
struct oe_pool;

/* Failure kinds a request can end with; the strings Lua sees. */
enum oe_errkind {
    OE_OK = 0,
    OE_ECONNECT,  /* "connection": refused, reset, closed early, DNS */
    OE_ETIMEOUT,  /* "timeout": connect, idle or total deadline */
    OE_EPROTOCOL, /* "protocol": malformed HTTP, body over the cap */
    OE_ECANCEL,   /* "cancelled": the run is stopping */
};
const char *oe_errkind_name(enum oe_errkind k);

/*
 * One HTTP request. Lifetime, one owner at a time:
 *   lapi.c creates it (req_new) and fills it from the Lua table;
 *   sched.c owns it while it waits in its endpoint's FIFO;
 *   http.c owns it from http_start() until the transfer ends, then hands it
 *   back with sched_req_done();
 *   sched.c resumes the task, lapi.c pushes the result to Lua and frees it
 *   with req_free(). Lua never holds a pointer to it.
 */
typedef struct oe_req {
    /* request, set by lapi.c */
    char *method, *url, *body;
    size_t body_len;
    struct curl_slist *headers;
    long timeout_ms;         /* total, counted from http_start (not queue) */
    long connect_timeout_ms; /* connect phase */
    long idle_timeout_ms;    /* no bytes for this long: 0 = none */
    size_t max_body;         /* cap on the response body */
    /* response, set by http.c */
    long status;
    oe_buf resp_headers, resp_body;
    enum oe_errkind err;
    char errmsg[256];
    double t_queued, t_start, t_first_byte, t_end; /* ms, monotonic */
    int stream_format;       /* 0, or STREAM_NDJSON / STREAM_SSE: parse as it arrives */
    int want_progress;       /* wake the task as streamed text arrives */
    int want_headers;        /* give Lua every response header (else Retry-After only) */
    struct oe_stream *stream;/* the parser, owned by the request */
    int finished;            /* the transfer has ended (result not yet taken) */
    void *idle;              /* http.c's idle timer while in flight */
    /* bookkeeping */
    void *easy;             /* CURL *, owned by http.c while in flight */
    struct oe_task *task;   /* the task parked on this request */
    struct oe_pool *pool;   /* the endpoint window it counts against */
    struct oe_req *next;    /* FIFO link while queued, in-flight list in http.c */
    struct oe_req *prev;
} oe_req;

oe_req *req_new(void);
void req_start_stream(oe_req *r, int format);
void req_free(oe_req *r);

/* Global engine settings and counters, one per process. */
typedef struct oe_engine {
    int concurrency;   /* default window per endpoint (-c) */
    int interrupted;   /* SIGINT/SIGTERM received so far */
    int task_failures; /* task errors nobody waited for */
} oe_engine;
extern oe_engine oe;
double oe_now(void); /* ms since start, monotonic */

/* ---- http.c ---- */
int http_init(uv_loop_t *loop);
void http_start(oe_req *r);  /* hand a request to libcurl */
void http_cancel(oe_req *r); /* abort an in-flight request */
void http_shutdown(void);
int http_inflight(void);
void http_cancel_all(void);

/* ---- lapi.c ---- */
int luaopen_core(lua_State *L);
int lapi_push_response(lua_State *co, struct oe_task *t);
int lapi_push_progress(lua_State *co, struct oe_task *t);

#endif
