/*
 * autowin.h: the window controller of one endpoint (`-c auto`, `-c auto:N`
 * and a fixed `-c N`), as a pure state machine (see autowin.c, docs/auto.md).
 *
 * No I/O, no clock, no allocation: the caller owns an oe_autowin per
 * endpoint and an oe_autowin_req inside each request, passes the time (ms,
 * any monotonic origin) into every call, and asks autowin_may_send() before
 * it starts a request. The events it reports:
 *
 *   autowin_sent(w, r, now)          the request went out (counts in flight)
 *   autowin_token(w, r, now)         a chunk that carries content, thinking or
 *                                    reasoning arrived (the first confirms r)
 *   autowin_done(w, r, now, timings) the response ended well (timings may be
 *                                    NULL: the server reported none)
 *   autowin_error(w, r, now, class, retry_after_ms)  it failed; the caller
 *                                    retries it later with a new autowin_sent
 *                                    (and holds new sends for a 429's
 *                                    Retry-After: the controller does not)
 *   autowin_tick(w, now)             time passed (call it at autowin_wake_at)
 *
 * Every request that was sent must end with exactly one autowin_done or
 * autowin_error (a cancelled request is AUTOWIN_E_OTHER). Every change of the
 * window, cap or margin is passed to the log callback, if one is set, with
 * the state after the change; the callback must not call back into w.
 */
#ifndef AUTOWIN_H
#define AUTOWIN_H

enum autowin_mode {
    AUTOWIN_FIXED = 0,   /* -c N: N in flight, nothing learned */
    AUTOWIN_AUTO = 1,    /* -c auto[:N]: first-token gate (the default) */
};

/* How the auto window is being driven right now. */
enum autowin_drive {
    AUTOWIN_GATE = 0,    /* streaming observed: count unconfirmed requests */
    AUTOWIN_LITTLE = 1,  /* single-chunk responses with server timings:
                            busy slots by Little's law on the service time */
    AUTOWIN_SEARCH = 2,  /* single-chunk responses, no timings: double the
                            window while completions/s rise, then hold */
};

/* Classes of failure (the caller classifies; only the first two teach). */
enum autowin_err {
    AUTOWIN_E_OVERLOAD = 1, /* 503: no slot and no room in the server's queue */
    AUTOWIN_E_RATE = 2,     /* 429: a quota; retry_after_ms when it said */
    AUTOWIN_E_SERVER = 3,   /* other 5xx: neutral */
    AUTOWIN_E_TIMEOUT = 4,  /* neutral */
    AUTOWIN_E_CONNECT = 5,  /* connection refused or reset: neutral */
    AUTOWIN_E_OTHER = 6,    /* cancelled, 4xx, malformed: neutral */
};

/* Server timings of one response, in ms; a negative field is unknown.
 * Ollama: total_duration, load_duration, prompt_eval_duration, eval_duration
 * (ns / 1e6). llama-server: prompt_ms, predicted_ms (total and load unknown). */
typedef struct oe_autowin_timings {
    double total_ms, load_ms, prefill_ms, decode_ms;
} oe_autowin_timings;

/* Per-request state, embedded in the caller's request; zero it or let
 * autowin_sent() set it. */
typedef struct oe_autowin_req {
    double t_sent, t_first; /* ms; t_first < 0 until the first token */
    int state;              /* 0 idle, 1 sent, 2 confirmed */
    int probe;              /* sent as a probe of the learned cap */
} oe_autowin_req;

/* One change of the window, cap or margin (or of the drive), as recorded. */
typedef struct oe_autowin_event {
    double t;               /* ms, the caller's clock */
    int in_flight, unconfirmed;
    int window;             /* requests allowed in flight now */
    int cap;                /* learned from 503/429; 0 = none */
    int margin;             /* unconfirmed allowed */
    int drive;              /* enum autowin_drive; -1 in fixed mode */
    const char *reason;     /* static text: "more slots busy", "503: cap", ... */
} oe_autowin_event;

typedef void (*autowin_log_fn)(void *ud, const oe_autowin_event *e);

/* Tunables; autowin_defaults() fills them (docs/auto.md says why each). */
typedef struct oe_autowin_params {
    int margin;             /* unconfirmed allowed (u): 2 */
    int margin_max;         /* bound when prefill raises it: 16 */
    double prefill_gain;    /* margin += gain x busy x TTFT0 / (TTFT0 + decode): 1.5 */
    double hold_min_ms;     /* shortest max-filter period: 500 */
    double probe_ms;        /* first probe of a learned cap after: 30000 */
    double probe_max_ms;    /* probe wait doubles up to: 600000 */
    double rate_cooldown_ms;/* no growth after a 429 for at least: 15000 */
    double rate_factor;     /* 429: cap = factor * in flight: 0.8 */
    int single_of;          /* buffered if >= single_min of the first ... */
    int single_min;         /* ... single_of responses came in one piece: 10, 3 */
} oe_autowin_params;

#define AUTOWIN_HIST 257 /* window and slot histograms: 0..256 */

/* The controller of one endpoint. Plain data: copy it, zero it, keep it
 * anywhere; nothing to free. Fields are private to autowin.c. */
typedef struct oe_autowin {
    oe_autowin_params p;
    int mode, drive;
    int c_max;              /* -c N, or the bound of auto:N (default 256) */
    int in_flight, unconfirmed, confirmed;
    int window, margin, cap;/* cap 0 = none */
    int em_window, em_cap, em_margin, em_drive; /* as last reported */
    /* max filter of confirmed (busy slots) over one to two periods */
    double per_start, per_len;
    int per_cur, per_prev;
    /* learned cap and its probes; Retry-After */
    double probe_at, probe_wait, episode_t;
    int probe_step, probing, probe_from;
    /* latency and decode time (EWMAs); unqueued time to first token */
    double lat_ms, dec_ms, ttft_ewma, ttft_min_cur, ttft_min_prev, ttft_t0;
    int dec_n;
    /* buffering detection */
    int seen_done, seen_single, have_timings;
    /* Little's-law drive */
    double round_t0, round_service, round_queue, round_area, busy_est;
    int round_n, round_low, little_win, little_sat;
    /* throughput search */
    double srch_t0, srch_x;
    int srch_n, srch_skip, srch_win, srch_best, srch_done;
    /* summary: time-weighted histograms */
    double last_t;
    double sat_ms_at[AUTOWIN_HIST], win_ms_at[AUTOWIN_HIST];
    int max_in_flight, max_unconfirmed, max_confirmed, changes, n503, n429;
    autowin_log_fn log;
    void *log_ud;
} oe_autowin;

/* What the end of a run says: "the server ran 4 at once; the window
 * settled at 6". slots < 0: unknown (no saturation or no observation). */
typedef struct oe_autowin_summary {
    int slots;              /* estimate of the server's slots */
    int slots_lower_bound;  /* 1: never saturated, slots is "at least" */
    int window;             /* where the window spent most time */
    int max_in_flight, max_unconfirmed;
    int cap;                /* the learned cap at the end (0 none) */
    int changes;            /* window changes reported */
    int n503, n429;
    int drive;
} oe_autowin_summary;

void autowin_defaults(oe_autowin_params *p);
/* mode AUTOWIN_FIXED: n requests in flight. AUTOWIN_AUTO: n bounds the
 * window (auto:N); n <= 0 means 256. params NULL: the defaults. */
void autowin_init(oe_autowin *w, int mode, int n, const oe_autowin_params *params, double now);
void autowin_set_log(oe_autowin *w, autowin_log_fn fn, void *ud);

int autowin_may_send(oe_autowin *w, double now);
void autowin_sent(oe_autowin *w, oe_autowin_req *r, double now);
void autowin_token(oe_autowin *w, oe_autowin_req *r, double now);
void autowin_done(oe_autowin *w, oe_autowin_req *r, double now, const oe_autowin_timings *t);
void autowin_error(oe_autowin *w, oe_autowin_req *r, double now, int err_class,
                   double retry_after_ms);
void autowin_tick(oe_autowin *w, double now);
/* The earliest time at which autowin_may_send may change without an event
 * (a probe, the max filter's period); the
 * caller arms a timer and calls autowin_tick then. */
double autowin_wake_at(const oe_autowin *w);

/* The current state, in the shape of a log event (reason "now"). */
void autowin_state(const oe_autowin *w, double now, oe_autowin_event *e);

void autowin_summary(const oe_autowin *w, double now, oe_autowin_summary *s);
/* The summary in words, into buf (n bytes): "the server ran 4 at once; the
 * window settled at 6". Returns buf. */
char *autowin_describe(const oe_autowin_summary *s, char *buf, int n);
const char *autowin_drive_name(int drive);

/* "-c" values: "auto" (bound 256), "auto:N" or "N" (N >= 1). Returns 0 and
 * sets mode and n, or -1 for anything else (the caller names the option). */
int autowin_parse(const char *s, int *mode, int *n);
/* One JSON object (no newline) for the run folder's window record:
 * {"t":ms,"in_flight":,"unconfirmed":,"window":,"cap":,"margin":,"drive":"gate",
 *  "reason":"..."}; and the summary. Return the length, as snprintf. */
int autowin_event_json(const oe_autowin_event *e, char *buf, int n);
int autowin_summary_json(const oe_autowin_summary *s, char *buf, int n);

#endif
