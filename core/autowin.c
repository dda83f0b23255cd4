/*
 * autowin.c: the window controller of one endpoint: how many requests may be
 * in flight at once, learned from what the server does (docs/auto.md).
 *
 * Auto mode keeps a small counted number of requests waiting at the server:
 * a request is unconfirmed from its send until its first token, so
 * unconfirmed = in transit + in prefill + queued, and a request may go out
 * while fewer than `margin` are unconfirmed and fewer than `window` are in
 * flight, where window = (busy slots, a max filter over the last one to two
 * periods) + margin. The window settles at the server's slots plus the
 * margin and follows the server when its capacity changes, with no latency
 * signal at all (answer lengths are heavy-tailed; latency says nothing).
 * The margin grows by the requests legitimately unconfirmed (on the wire,
 * in prefill). 503s and 429s teach a cap that is probed again slowly;
 * responses that arrive in one piece (a buffering proxy) switch to Little's
 * law on the server's timings, or to a throughput search when there are
 * none. Fixed mode is a constant window.
 *
 * Pure: no I/O, no clock, no allocation. Times are the caller's ms.
 */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "autowin.h"

#define HIST (AUTOWIN_HIST - 1)

void autowin_defaults(oe_autowin_params *p)
{
    p->margin = 2;
    p->margin_max = 16;
    p->prefill_gain = 1.5;
    p->hold_min_ms = 500;
    p->probe_ms = 30000;
    p->probe_max_ms = 600000;
    p->rate_cooldown_ms = 15000;
    p->rate_factor = 0.8;
    p->single_of = 10;
    p->single_min = 3;
}

const char *autowin_drive_name(int drive)
{
    switch (drive) {
    case AUTOWIN_GATE: return "first-token gate";
    case AUTOWIN_LITTLE: return "Little's law on server timings";
    case AUTOWIN_SEARCH: return "throughput search";
    }
    return "?";
}

static int imin(int a, int b) { return a < b ? a : b; }
static int imax(int a, int b) { return a > b ? a : b; }
static int hidx(int v) { return v < 0 ? 0 : v > HIST ? HIST : v; }

/* Busy slots: the most requests seen decoding at once over the last one to
 * two periods. */
static int busy_max(const oe_autowin *w)
{
    return imax(imax(w->per_cur, w->per_prev), w->confirmed);
}

static int natural_window(const oe_autowin *w)
{
    switch (w->mode == AUTOWIN_FIXED ? -1 : w->drive) {
    case -1: return w->c_max;
    case AUTOWIN_GATE: return busy_max(w) + w->margin;
    case AUTOWIN_LITTLE: return w->little_win;
    default: return w->srch_win;
    }
}

static void emit(oe_autowin *w, double now, const char *reason)
{
    w->changes++;
    w->em_window = w->window;
    w->em_cap = w->cap;
    w->em_margin = w->margin;
    w->em_drive = w->drive;
    if (!w->log)
        return;
    oe_autowin_event e = {
        .t = now, .in_flight = w->in_flight, .unconfirmed = w->unconfirmed,
        .window = w->window, .cap = w->cap, .margin = w->margin,
        .drive = w->mode == AUTOWIN_FIXED ? -1 : w->drive, .reason = reason,
    };
    w->log(w->log_ud, &e);
}

/* Recomputes the window; reports it when anything recorded changed. */
static void recompute(oe_autowin *w, double now, const char *reason)
{
    int win = natural_window(w);
    if (w->cap > 0)
        win = imin(win, w->cap);
    win = imax(1, imin(win, w->c_max));
    int grew = win > w->window;
    w->window = win;
    if (win == w->em_window && w->cap == w->em_cap && w->margin == w->em_margin &&
        w->drive == w->em_drive)
        return;
    if (!reason)
        reason = grew ? "more slots busy" : "fewer slots busy";
    emit(w, now, reason);
}

/* Time-weighted histograms for the summary, up to now. */
static void account(oe_autowin *w, double now)
{
    double dt = now - w->last_t;
    if (dt <= 0)
        return;
    w->last_t = now;
    w->win_ms_at[hidx(w->window)] += dt;
    w->round_area += w->in_flight * dt;
    if (w->mode == AUTOWIN_AUTO && w->drive == AUTOWIN_GATE && w->unconfirmed >= w->margin)
        w->sat_ms_at[hidx(busy_max(w))] += dt;
}

/* The unqueued time to first token (transit + prefill): corrected by the
 * server's queue wait when it reports timings, else the smallest one seen
 * in the last 10-20 s (a windowed minimum never includes a queue unless
 * every request queued). 0 until known. */
static double ttft0(const oe_autowin *w)
{
    if (w->ttft_ewma > 0)
        return w->ttft_ewma;
    double a = w->ttft_min_cur, b = w->ttft_min_prev;
    if (a < 0)
        return b < 0 ? 0 : b;
    return b < 0 || a < b ? a : b;
}

/* The max filter's periods, probes of a learned cap. */
static void update(oe_autowin *w, double now)
{
    account(w, now);
    if (w->mode == AUTOWIN_FIXED)
        return;
    w->per_len = fmax(fmax(w->p.hold_min_ms, w->lat_ms / 8), 2 * ttft0(w));
    if (now >= w->per_start + w->per_len) {
        if (now >= w->per_start + 2 * w->per_len) {
            /* no event for two periods: confirmed was constant */
            w->per_prev = w->per_cur = w->confirmed;
            w->per_start = now;
        } else {
            w->per_prev = w->per_cur;
            w->per_cur = w->confirmed;
            w->per_start += w->per_len;
        }
        recompute(w, now, NULL);
    }
    if (w->cap > 0 && !w->probing && now >= w->probe_at) {
        int nat = natural_window(w);
        if (nat <= w->cap) {
            /* the cap does not bind: what limits us is the server itself */
            w->cap = 0;
            recompute(w, now, "cap lifted");
        } else {
            w->probe_from = w->cap;
            w->cap += w->probe_step;
            w->probing = 1;
            recompute(w, now, "probe");
        }
    }
}

void autowin_init(oe_autowin *w, int mode, int n, const oe_autowin_params *params, double now)
{
    memset(w, 0, sizeof *w);
    if (params)
        w->p = *params;
    else
        autowin_defaults(&w->p);
    if (w->p.margin < 1)
        w->p.margin = 1;
    if (w->p.margin_max < w->p.margin)
        w->p.margin_max = w->p.margin;
    w->mode = mode == AUTOWIN_FIXED ? AUTOWIN_FIXED : AUTOWIN_AUTO;
    w->c_max = n > 0 ? n : w->mode == AUTOWIN_FIXED ? 1 : 256;
    w->margin = w->p.margin;
    w->per_start = w->last_t = w->ttft_t0 = w->round_t0 = now;
    w->ttft_min_cur = w->ttft_min_prev = -1;
    w->per_len = w->p.hold_min_ms;
    w->probe_wait = w->p.probe_ms;
    w->probe_step = 1;
    w->episode_t = -1e300;
    w->window = natural_window(w);
    w->em_window = -1;
    recompute(w, now, "start");
}

void autowin_set_log(oe_autowin *w, autowin_log_fn fn, void *ud)
{
    w->log = fn;
    w->log_ud = ud;
}

int autowin_may_send(oe_autowin *w, double now)
{
    update(w, now);
    if (w->in_flight >= w->window)
        return 0;
    if (w->mode == AUTOWIN_AUTO && w->drive == AUTOWIN_GATE && w->unconfirmed >= w->margin)
        return 0;
    return 1;
}

void autowin_sent(oe_autowin *w, oe_autowin_req *r, double now)
{
    update(w, now);
    r->t_sent = now;
    r->t_first = -1;
    r->state = 1;
    r->probe = w->probing && w->in_flight + 1 > w->probe_from;
    w->in_flight++;
    w->unconfirmed++;
    w->max_in_flight = imax(w->max_in_flight, w->in_flight);
    w->max_unconfirmed = imax(w->max_unconfirmed, w->unconfirmed);
}

/* A probe request got through: the server holds cap requests. The next
 * probe comes soon and takes a bigger step, so a cap learned from a
 * passing condition (a model load) goes away quickly. */
static void probe_ok(oe_autowin *w, oe_autowin_req *r, double now)
{
    if (!r->probe || !w->probing)
        return;
    r->probe = 0;
    w->probing = 0;
    w->probe_step *= 2;
    w->probe_wait = w->p.probe_ms;
    w->probe_at = now + fmax(w->lat_ms, 1000);
    recompute(w, now, "probe ok");
}

static void release(oe_autowin *w, oe_autowin_req *r)
{
    if (r->state == 1)
        w->unconfirmed--;
    else if (r->state == 2)
        w->confirmed--;
    if (r->state)
        w->in_flight--;
    r->state = 0;
}

void autowin_token(oe_autowin *w, oe_autowin_req *r, double now)
{
    if (r->state != 1)
        return;
    update(w, now);
    r->state = 2;
    r->t_first = now;
    w->unconfirmed--;
    w->confirmed++;
    w->max_confirmed = imax(w->max_confirmed, w->confirmed);
    if (w->confirmed > w->per_cur)
        w->per_cur = w->confirmed;
    probe_ok(w, r, now);
    recompute(w, now, NULL);
}

static void ttft_sample(oe_autowin *w, double now, double ttft, int corrected)
{
    if (corrected) {
        w->ttft_ewma = w->ttft_ewma > 0 ? 0.9 * w->ttft_ewma + 0.1 * ttft : ttft;
        return;
    }
    if (now - w->ttft_t0 >= 10000) {
        w->ttft_min_prev = now - w->ttft_t0 >= 20000 ? -1 : w->ttft_min_cur;
        w->ttft_min_cur = -1;
        w->ttft_t0 = now;
    }
    if (w->ttft_min_cur < 0 || ttft < w->ttft_min_cur)
        w->ttft_min_cur = ttft;
}

/* The margin also covers the requests legitimately unconfirmed, on the
 * wire or in prefill: by Little's law, busy slots x the fraction of a
 * request's life before its first token. Without it the client could send
 * at most margin / TTFT requests per second, which starves servers with
 * many slots, short answers or long prompts. */
static void adjust_margin(oe_autowin *w)
{
    double t0 = ttft0(w);
    if (t0 <= 0 || w->dec_n < 8)
        return;
    double x = w->p.prefill_gain * busy_max(w) * t0 / (t0 + w->dec_ms);
    int extra = w->margin - w->p.margin;
    /* whole requests only, and down only by a clear margin: stable */
    int want = (int)floor(x);
    if (want > extra || x < extra - 0.5)
        extra = want;
    w->margin = imin(w->p.margin + extra, w->p.margin_max);
}

/* One round of the Little's-law drive. The server's queue holds
 * sum(queue wait) / T requests on average and the client had area / T in
 * flight, so the rest, in flight but not queued, is what the slots hold
 * (plus the few on the wire): window = that + margin. While nothing queues
 * the slots may hold more than the window gave them, and busy slots =
 * sum(service) / T says how many more to try. */
static void little_round(oe_autowin *w, double now)
{
    double dur = now - w->round_t0;
    if (w->round_n < imax((w->little_sat ? 2 : 1) * w->window, 8) || dur < 1000)
        return;
    double q = w->round_queue / dur, held = w->round_area / dur - q;
    double b = held;
    if (q < 0.5)
        b = fmax(held, w->round_service / dur);
    else
        w->little_sat = 1;
    w->busy_est = b;
    int want = imax(1, (int)floor(b + 0.5)) + w->margin;
    /* until the first queue is seen, grow by half a window per round */
    if (!w->little_sat)
        want = imax(want, w->little_win + imax(w->margin, w->little_win / 2));
    if (want > w->little_win) {
        w->little_win = want;
        w->round_low = 0;
    } else if (want < w->little_win && ++w->round_low >= 2) {
        w->little_win = want;
        w->round_low = 0;
    } else if (want == w->little_win) {
        w->round_low = 0;
    }
    if (q >= 0.5)
        w->sat_ms_at[hidx((int)floor(held + 0.5))] += dur;
    w->round_t0 = now;
    w->round_n = 0;
    w->round_service = w->round_queue = w->round_area = 0;
    recompute(w, now, w->little_win > w->window ? "busy slots (Little)" : NULL);
}

/* The throughput search, for responses that arrive in one piece without
 * server timings (nothing tells a queued request from a served one): the
 * window doubles while completions per second rise by 5% plus their noise
 * (0.8 / sqrt(completions)), each
 * level measured over 8 x window completions after window completions of
 * warm-up (2 x window suffice for a gain of 50% or more); the first level that brings less is kept (the knee lies between
 * it and the level before), and losses still cap it. */
static void search_start(oe_autowin *w, double now)
{
    w->srch_win = imax(w->margin, w->window);
    w->srch_best = 0;
    w->srch_x = 0;
    w->srch_done = 0;
    w->srch_n = 0;
    w->srch_skip = w->srch_win;
    w->srch_t0 = now;
}

static void search_round(oe_autowin *w, double now)
{
    if (w->srch_done)
        return;
    if (w->srch_skip > 0) {
        if (--w->srch_skip == 0) {
            w->srch_t0 = now;
            w->srch_n = 0;
        }
        return;
    }
    w->srch_n++;
    double dur = now - w->srch_t0;
    if (w->srch_n < imax(2 * w->srch_win, 8) || dur < 1000)
        return;
    double x = w->srch_n / dur;
    /* a clear gain (50%) is clear early; anything less needs the full level */
    int full = w->srch_n >= imax(8 * w->srch_win, 32);
    if (!full && !(w->srch_x > 0 && x >= 1.5 * w->srch_x))
        return;
    /* completions/s over n requests with heavy-tailed lengths (CV ~0.8)
     * wander by about 0.8 / sqrt(n): grow only on a gain beyond that */
    if (w->srch_x == 0 || x >= (1.05 + 0.8 / sqrt(w->srch_n)) * w->srch_x) {
        w->srch_x = x;
        w->srch_best = w->srch_win;
        if (w->srch_win >= w->c_max) {
            w->srch_done = 1;
        } else {
            w->srch_win = imin(2 * w->srch_win, w->c_max);
            w->srch_skip = w->srch_win;
        }
    } else {
        /* the knee lies between the last two levels: keep the higher one,
         * which loses no throughput and queues at most half of it */
        w->srch_done = 1;
    }
    recompute(w, now, w->srch_done ? "throughput search: knee" : "throughput search: double");
}

void autowin_done(oe_autowin *w, oe_autowin_req *r, double now, const oe_autowin_timings *t)
{
    if (!r->state)
        return;
    update(w, now);
    int single = r->state == 1 || now - r->t_first < 1.0;
    probe_ok(w, r, now);
    double lat = now - r->t_sent;
    w->lat_ms = w->lat_ms > 0 ? 0.9 * w->lat_ms + 0.1 * lat : lat;
    release(w, r);
    if (w->mode == AUTOWIN_FIXED) {
        recompute(w, now, NULL);
        return;
    }
    double queue = 0;
    if (t && t->prefill_ms >= 0) {
        w->have_timings = 1;
        double service = t->prefill_ms + (t->decode_ms > 0 ? t->decode_ms : 0);
        if (t->total_ms >= 0)
            queue = fmax(0, t->total_ms - (t->load_ms > 0 ? t->load_ms : 0) - service);
        w->round_service += service;
        w->round_queue += queue;
        w->round_n++;
    }
    if (!single && r->t_first >= r->t_sent) {
        double ttft = r->t_first - r->t_sent;
        int corrected = t && t->total_ms >= 0 && t->prefill_ms >= 0;
        if (corrected)
            ttft = fmax(0, ttft - queue - (t->load_ms > 0 ? t->load_ms : 0));
        ttft_sample(w, now, ttft, corrected);
        double dec = now - r->t_first;
        w->dec_ms = w->dec_ms > 0 ? 0.9 * w->dec_ms + 0.1 * dec : dec;
        w->dec_n++;
    }
    const char *why = NULL;
    if (w->seen_done < w->p.single_of) {
        w->seen_done++;
        w->seen_single += single;
        if (w->drive == AUTOWIN_GATE && w->seen_single >= w->p.single_min) {
            w->drive = w->have_timings ? AUTOWIN_LITTLE : AUTOWIN_SEARCH;
            w->little_win = imax(w->window, w->margin);
            search_start(w, now);
            w->round_t0 = now;
            w->round_n = 0;
            w->round_service = w->round_queue = w->round_area = 0;
            w->margin = w->p.margin;
            why = w->have_timings ? "single-chunk responses: Little's law on server timings"
                                  : "single-chunk responses and no server timings: throughput search";
        }
    }
    if (w->drive == AUTOWIN_SEARCH && w->have_timings) {
        w->drive = AUTOWIN_LITTLE;
        w->little_win = imax(w->window, w->margin);
        why = "server timings: Little's law";
    }
    if (w->drive == AUTOWIN_GATE) {
        int m = w->margin;
        adjust_margin(w);
        if (m != w->margin && !why)
            why = w->margin > m ? "prefill: margin up" : "prefill: margin down";
    } else if (w->drive == AUTOWIN_LITTLE) {
        little_round(w, now);
    } else {
        search_round(w, now);
    }
    recompute(w, now, why);
}

/* A new loss episode starts with a request sent after the last one began;
 * losses of requests already in flight then only refine it. */
static void loss(oe_autowin *w, oe_autowin_req *r, double now, int newcap, double wait_ms,
                 int rate, const char *reason)
{
    int failed_probe = w->probing || r->probe;
    if (r->t_sent < w->episode_t && w->cap > 0) {
        if (!rate && newcap < w->cap) {
            w->cap = imax(1, newcap);
            recompute(w, now, reason);
        }
        return;
    }
    w->episode_t = now;
    if (failed_probe)
        w->probe_wait = fmin(2 * w->probe_wait, w->p.probe_max_ms);
    else if (w->cap == 0)
        w->probe_wait = w->p.probe_ms;
    /* a failed probe goes back to the last level that held */
    if (failed_probe && w->probe_from > 0)
        newcap = w->probe_from;
    w->probing = 0;
    w->probe_step = 1;
    w->probe_at = now + fmax(w->probe_wait, wait_ms);
    w->cap = imax(1, newcap);
    recompute(w, now, reason);
}

void autowin_error(oe_autowin *w, oe_autowin_req *r, double now, int err_class,
                   double retry_after_ms)
{
    if (!r->state)
        return;
    update(w, now);
    int in_flight_before = w->in_flight;
    release(w, r);
    if (err_class == AUTOWIN_E_RATE) {
        w->n429++;
        /* the caller holds sends for the Retry-After (req.c owns the
         * hold); here it only times the probe */
        double ra = retry_after_ms > 0 ? retry_after_ms : 1000;
        if (w->mode == AUTOWIN_AUTO) {
            int c = (int)floor(w->p.rate_factor * in_flight_before);
            loss(w, r, now, c, fmax(w->p.rate_cooldown_ms, ra), 1, "429: cap");
        }
    } else if (err_class == AUTOWIN_E_OVERLOAD) {
        w->n503++;
        if (w->mode == AUTOWIN_AUTO)
            loss(w, r, now, w->in_flight, 0, 0, "503: cap");
    }
    recompute(w, now, NULL);
}

void autowin_tick(oe_autowin *w, double now)
{
    update(w, now);
}

double autowin_wake_at(const oe_autowin *w)
{
    double t = 1e300;
    if (w->mode == AUTOWIN_FIXED)
        return t;
    if (w->cap > 0 && !w->probing && w->probe_at < t)
        t = w->probe_at;
    if (busy_max(w) > w->confirmed && w->per_start + w->per_len < t)
        t = w->per_start + w->per_len;
    return t;
}

void autowin_state(const oe_autowin *w, double now, oe_autowin_event *e)
{
    e->t = now;
    e->in_flight = w->in_flight;
    e->unconfirmed = w->unconfirmed;
    e->window = w->window;
    e->cap = w->cap;
    e->margin = w->margin;
    e->drive = w->mode == AUTOWIN_FIXED ? -1 : w->drive;
    e->reason = "now";
}

static int hist_mode(const double *h, double *total)
{
    int best = -1;
    double bv = 0, sum = 0;
    for (int i = 0; i <= HIST; i++) {
        sum += h[i];
        if (h[i] > bv) {
            bv = h[i];
            best = i;
        }
    }
    if (total)
        *total = sum;
    return best;
}

void autowin_summary(const oe_autowin *w, double now, oe_autowin_summary *s)
{
    memset(s, 0, sizeof *s);
    oe_autowin tmp = *w;
    account(&tmp, now);
    double sat;
    s->slots = hist_mode(tmp.sat_ms_at, &sat);
    if (w->mode == AUTOWIN_FIXED) {
        s->slots = -1;
    } else if (w->drive == AUTOWIN_SEARCH) {
        s->slots = -1; /* nothing observed says how many were served at once */
    } else if (s->slots < 1) {
        s->slots = w->max_confirmed > 0 ? w->max_confirmed : -1;
        s->slots_lower_bound = s->slots > 0;
    }
    s->window = hist_mode(tmp.win_ms_at, NULL);
    s->max_in_flight = w->max_in_flight;
    s->max_unconfirmed = w->max_unconfirmed;
    s->cap = w->cap;
    s->changes = w->changes;
    s->n503 = w->n503;
    s->n429 = w->n429;
    s->drive = w->mode == AUTOWIN_FIXED ? -1 : w->drive;
}

char *autowin_describe(const oe_autowin_summary *s, char *buf, int n)
{
    int k = 0;
    if (s->drive < 0)
        k = snprintf(buf, (size_t)n, "fixed window of %d", s->window);
    else if (s->slots < 1)
        k = snprintf(buf, (size_t)n, "the server's slots are unknown; the window settled at %d",
                     s->window);
    else
        k = snprintf(buf, (size_t)n, "the server ran %s%d at once; the window settled at %d",
                     s->slots_lower_bound ? "at least " : "", s->slots, s->window);
    if (k >= 0 && k < n && s->cap > 0)
        k += snprintf(buf + k, (size_t)(n - k), " (capped at %d by %s)", s->cap,
                      s->n429 > s->n503 ? "429s" : "503s");
    if (k >= 0 && k < n && s->drive > 0)
        snprintf(buf + k, (size_t)(n - k), " [%s]", autowin_drive_name(s->drive));
    return buf;
}

int autowin_parse(const char *s, int *mode, int *n)
{
    const char *num = s;
    if (strncmp(s, "auto", 4) == 0) {
        *mode = AUTOWIN_AUTO;
        *n = 0;
        if (s[4] == '\0')
            return 0;
        if (s[4] != ':')
            return -1;
        num = s + 5;
    } else {
        *mode = AUTOWIN_FIXED;
    }
    long v = 0;
    if (!*num)
        return -1;
    for (const char *p = num; *p; p++) {
        if (*p < '0' || *p > '9' || v > INT_MAX)
            return -1;
        v = v * 10 + (*p - '0');
    }
    if (v < 1 || v > INT_MAX) /* the engine caps a large N (max-concurrency) */
        return -1;
    *n = (int)v;
    return 0;
}

static const char *drive_key(int drive)
{
    switch (drive) {
    case AUTOWIN_GATE: return "gate";
    case AUTOWIN_LITTLE: return "little";
    case AUTOWIN_SEARCH: return "search";
    }
    return "fixed";
}

int autowin_event_json(const oe_autowin_event *e, char *buf, int n)
{
    /* reasons are static text without quotes or backslashes */
    return snprintf(buf, (size_t)n,
                    "{\"t\":%.1f,\"in_flight\":%d,\"unconfirmed\":%d,\"window\":%d,\"cap\":%d,"
                    "\"margin\":%d,\"drive\":\"%s\",\"reason\":\"%s\"}",
                    e->t, e->in_flight, e->unconfirmed, e->window, e->cap, e->margin,
                    drive_key(e->drive), e->reason);
}

int autowin_summary_json(const oe_autowin_summary *s, char *buf, int n)
{
    char words[200];
    autowin_describe(s, words, sizeof words);
    return snprintf(buf, (size_t)n,
                    "{\"slots\":%d,\"slots_lower_bound\":%s,\"window\":%d,\"max_in_flight\":%d,"
                    "\"max_unconfirmed\":%d,\"cap\":%d,\"changes\":%d,\"n503\":%d,\"n429\":%d,"
                    "\"drive\":\"%s\",\"text\":\"%s\"}",
                    s->slots, s->slots_lower_bound ? "true" : "false", s->window, s->max_in_flight,
                    s->max_unconfirmed, s->cap, s->changes, s->n503, s->n429,
                    s->drive < 0 ? "fixed" : drive_key(s->drive), words);
}
