/* req.h: the HTTP request object and the per-endpoint windows (see req.c). */
#ifndef REQ_H
#define REQ_H

#include "oe.h"
#include "autowin.h"

/* The shape of a streamed request's 200 body (oe_req.shape). */
enum { SHAPE_UNKNOWN = 0, SHAPE_STREAM = 1, SHAPE_WHOLE = 2 };

/* Failure kinds a request can end with; the strings Lua sees. */
enum oe_errkind {
    OE_OK = 0,
    OE_ECONNECT,  /* "connection": refused, reset, closed early, DNS */
    OE_ETIMEOUT,  /* "timeout": connect, idle or total deadline */
    OE_EPROTOCOL, /* "protocol": malformed HTTP, body over the cap */
    OE_ECANCEL,   /* "cancelled": the run is stopping */
    OE_EDEADLINE, /* "deadline": its deadline passed while it waited in the window's FIFO */
};
const char *oe_errkind_name(enum oe_errkind k);

struct oe_req;
struct oe_window;
typedef void (*req_fn)(struct oe_req *r);

/*
 * One HTTP request. req.c owns it from req_new() to req_free(), and keeps
 * every live request on one list, so nothing outlives the run. On its way:
 *   lapi.c fills it (after checking every field of the Lua table) and
 *   submits it; it waits in its endpoint window's FIFO (req.c);
 *   http.c drives it from http_start() until the transfer ends, then tells
 *   req.c, which frees its slot and calls r->on_done;
 *   lapi.c pushes the result to Lua and frees it with req_free().
 * Lua never holds a pointer to it.
 */
typedef struct oe_req {
    /* request, set by lapi.c */
    char *method, *url, *body;
    char *userpwd;           /* "user:password" for basic auth (never in url), or NULL */
    size_t body_len;
    struct curl_slist *headers;
    int headers_shared;      /* headers is http.c's (http_headers): not freed with the request */
    long timeout_ms;         /* total, counted from http_start (not queue) */
    long connect_timeout_ms; /* connect phase */
    long idle_timeout_ms;    /* no bytes for this long: 0 = none */
    size_t max_body;         /* cap on the response body */
    int stream_format;       /* 0, or STREAM_NDJSON / STREAM_SSE: parse as it arrives */
    int shape;               /* a streamed request's 200 body: SHAPE_UNKNOWN until its first
                                byte that is not white space, then SHAPE_STREAM, or SHAPE_WHOLE
                                when the server ignored stream:true and sent one JSON body
                                (kept in resp_body, parsed as a plain answer; http.c decides) */
    int want_progress;       /* call on_progress as streamed text arrives */
    int want_headers;        /* give Lua every response header (else Retry-After only) */
    int requeue;             /* a 503 or 429 sends it back to the front of its window's
                                FIFO (back-pressure) instead of ending it */
    double deadline;         /* oe_now() ms after which it is not requeued again, ends if it is
                                still in the FIFO, and bounds its transfer; 0 = none */
    int overloads;           /* 503/429 replies it was requeued after */
    req_fn on_done;          /* the transfer ended (or was cancelled) */
    req_fn on_progress;      /* streamed text arrived (want_progress) */
    void *ud;                /* the callbacks' data (lapi.c: the task) */
    /* response, set by http.c */
    long status;
    char *final_url;         /* the URL redirects ended at, or NULL (none followed) */
    oe_buf resp_headers, resp_body;
    int retry_after;         /* resp_headers has a Retry-After (http.c) */
    enum oe_errkind err;
    char errmsg[256];
    double t_queued, t_start, t_first_byte, t_end; /* ms, oe_now() (t_start: the last send) */
    double t_sent;           /* oe_now() of its first send (before any overload requeue) */
    struct oe_stream *stream;/* the parser, owned by the request */
    int finished;            /* the transfer has ended (result not yet taken) */
    void *idle;              /* http.c's idle timer while in flight */
    /* bookkeeping */
    void *easy;              /* CURL *, owned by http.c while in flight */
    struct oe_window *window;/* the endpoint window it counts against */
    int counted;             /* 1: in the window's in-flight count (sent through pump) */
    int gated;               /* 1: sent under the window's controller (auto mode) */
    unsigned aw_gen;         /* the controller's generation it was sent under */
    oe_autowin_req aw;       /* its state in the controller */
    struct oe_req *next;     /* FIFO link while queued, in-flight list in http.c */
    struct oe_req *prev;
    struct oe_req *all_next, *all_prev; /* req.c's list of live requests */
} oe_req;

/*
 * An endpoint's request window: requests wait in its FIFO until the window
 * lets the head go (may_send in req.c, the one place that decides).
 *
 * Fixed mode (-c N): at most `limit` in flight. An adaptive fixed window
 * (req_window_adapt, what -c N sets up) starts small and grows by one per
 * success up to `ssthresh` (slow start), then by one per `limit` successes
 * (additive increase), never above `max`; each overload reply (503, 429)
 * halves it, at most once per round trip (only a reply to a request sent
 * after the last cut cuts again), and resets the growth.
 *
 * Auto mode (-c auto[:N]): the controller (autowin.c) decides when the head
 * may go, from what it sees of each streamed request (sent, first token,
 * done with the server's timings, error by class) and the timer; `limit`
 * then mirrors its window, and it learns a cap from 503 and 429. Only
 * streamed requests are gated: a request without a stream parser (http{}:
 * tags, show, a dataset download) goes out at once, since the controller
 * could not see it confirmed. Every change of the auto window is appended
 * to `log` as a JSON line (core.window_log drains it).
 *
 * In both modes, after an overload reply the window sends nothing new
 * until `hold_until` (Retry-After, else a backoff that doubles with each
 * cut in a row; the window is the one owner of this hold), and a request
 * marked requeue goes back to the front of the FIFO: requests wait here,
 * never in a slot, and no longer than their deadline (the window's timer
 * ends a queued request whose deadline passes, as "deadline"). A 429 that
 * says the account is out of quota is not an overload: it ends at once.
 */
typedef struct oe_window {
    char key[256];          /* scheme://host:port, the URL's authority */
    int mode;               /* AUTOWIN_FIXED or AUTOWIN_AUTO */
    int n;                  /* fixed: the limit as set; auto: its bound N (0: 256) */
    int limit;              /* fixed: in flight at most; auto: the window now */
    int inflight, queued, max_inflight;
    long done;
    oe_req *head, *tail;    /* FIFO of requests waiting to be sent */
    /* fixed mode: adaptation */
    int adaptive;           /* limit follows the replies (else fixed) */
    int max, ssthresh, ok;  /* ceiling, end of slow start, successes since growth */
    /* overload, both modes */
    int cuts;               /* cuts without a success between: the backoff's exponent */
    long overloads, ncuts;  /* counters: overload replies, cuts (once per round trip) */
    long n503, n429;        /* counters: the overload replies by status */
    double last_cut;        /* oe_now() of the last cut */
    double hold_until;      /* no new sends before this oe_now(): the one hold (in auto mode
                               too: the controller is told the Retry-After, it does not hold) */
    double deadline_at;     /* no queued request has a deadline before this (0: none known);
                               may be early (its request left): the timer then finds the next */
    /* auto mode */
    oe_autowin aw;          /* the controller */
    unsigned aw_gen;        /* bumped when the controller is started again */
    oe_buf log;             /* window.jsonl lines not yet taken */
    long log_dropped;       /* lines dropped because nobody took them */
    /* the window's one timer: the end of a hold, the controller's wake-up
     * (data NULL: closed with the loop's handles before req_shutdown) */
    uv_timer_t timer;
    double timer_at;        /* when it is armed for (ms), 0 = not armed */
    struct oe_window *next;
} oe_window;

/* mode, n: a new window's (AUTOWIN_AUTO with n 0 is -c auto); backoff_ms:
 * the first hold after an overload without Retry-After */
int req_init(uv_loop_t *loop, int mode, int n, long connect_timeout_ms, size_t max_body,
             double backoff_ms);
void req_shutdown(void);
oe_req *req_new(void);
void req_start_stream(oe_req *r, int format);
void req_free(oe_req *r);
void req_submit(oe_req *r);
void req_cancel(oe_req *r);
void req_cancel_all(void);
int req_live(void);
void req_totals(int *inflight, int *queued);
oe_window *req_window(const char *url);
void req_window_set_limit(oe_window *w, int limit);       /* fixed mode, limit */
void req_window_adapt(oe_window *w, int max);             /* fixed mode, adaptive up to max */
void req_window_set_mode(oe_window *w, int mode, int n);  /* as -c: auto, auto:N, N */
oe_window *req_windows(void);                             /* the first window (->next) */
/* The controller's summary of w (auto mode) as one JSON object, into buf. */
int req_window_summary_json(oe_window *w, char *buf, int n);
double req_retry_after_ms(const oe_req *r);
/* 1 if r's reply is a 429 that says the account is out of quota (OpenAI's
 * insufficient_quota): waiting will not help, so it is not requeued. */
int req_out_of_quota(const oe_req *r);

#endif
