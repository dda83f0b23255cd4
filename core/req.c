/*
 * req.c: the request object and the endpoint windows.
 *
 * Owns every oe_req from req_new() to req_free() (a live request is on
 * R.all until it is freed; req_shutdown() frees what is left) and every
 * oe_window. Each endpoint (the URL's scheme://host:port) has a window:
 * requests wait here first in, first out until the window lets them go, so
 * a request's timeout never counts time queued. may_send() is the one place
 * that decides: not while the window holds after an overload, then in fixed
 * mode a limit (at most `limit` in libcurl at once, adapting to overload:
 * slow start, halving once per round trip), in auto mode the endpoint's
 * controller (autowin.c), fed from here: sent (pump), first token (http.c's
 * progress callback), done with the server's timings from the final NDJSON
 * object, or the error's class (end_class(), the one place that classifies
 * how a request ended). One uv timer per window wakes it at the end of a
 * hold and at the controller's next wake-up (autowin_tick). http.c reports
 * the end of a transfer through the callbacks given to http_init(); this
 * file then frees the slot, tells the window and calls r->on_done. No Lua
 * here.
 *
 * Overload is back-pressure, not a failure, in both modes: a request
 * marked `requeue` that gets a 503 or 429 goes back to the front of its
 * window's FIFO (its response is cleared) and its task never sees it,
 * until its deadline; the window adapts (fixed: halves; auto: the
 * controller learns a cap) and holds new sends for the Retry-After or a
 * backoff, so waiting never takes a slot. A 503 without Retry-After while
 * the requests in flight fill the window (auto: its cap; adaptive fixed:
 * the halved limit) gets no timed hold: the window already waits for one
 * of them to end, the moment a server slot is free (gated_by_inflight).
 * With nothing in flight the backoff always holds. This file is the one
 * owner of that hold in both modes: the controller is told the
 * Retry-After (to time its probe) and does not hold sends itself. A 429
 * that says the account is out of quota (req_out_of_quota) is no
 * overload: it ends at once.
 *
 * Deadlines: a request's deadline bounds its wait in the FIFO (the
 * window's timer, armed at the earliest deadline queued, ends an expired
 * one as OE_EDEADLINE; pump checks too) and its transfer (the transfer's
 * timeout is cut to what is left when it is sent).
 */
#include <curl/curl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "req.h"
#include "http.h"
#include "stream.h"

#include <cjson/cJSON.h>

#define LOG_MAX (4 << 20) /* bytes of window log kept until Lua takes them */

static struct {
    uv_loop_t *loop;
    oe_window *windows;
    oe_req *all;            /* every live request */
    int nlive;
    int default_mode, default_n; /* a new window's (-c) */
    double t0;              /* oe_now() at req_init: the log's zero */
    long connect_timeout_ms; /* a new request's defaults */
    size_t max_body;
    double backoff_ms;      /* the first overload hold; doubles with each cut in a row */
} R;

/* The window size an adaptive window starts from (slow start). */
#define SLOW_START 4
/* The longest hold after an overload reply, and the largest Retry-After taken. */
#define HOLD_MAX_MS 30000.0
#define RETRY_AFTER_MAX_MS 60000.0

const char *oe_errkind_name(enum oe_errkind k)
{
    switch (k) {
    case OE_OK: return "ok";
    case OE_ECONNECT: return "connection";
    case OE_ETIMEOUT: return "timeout";
    case OE_EPROTOCOL: return "protocol";
    case OE_ECANCEL: return "cancelled";
    case OE_EDEADLINE: return "deadline";
    }
    return "?";
}

oe_req *req_new(void)
{
    oe_req *r = calloc(1, sizeof *r);
    if (!r)
        abort();
    r->connect_timeout_ms = R.connect_timeout_ms;
    r->max_body = R.max_body;
    r->all_next = R.all;
    if (R.all)
        R.all->all_prev = r;
    R.all = r;
    R.nlive++;
    return r;
}

void req_start_stream(oe_req *r, int format)
{
    r->stream_format = format;
    r->stream = malloc(sizeof *r->stream);
    if (!r->stream)
        abort();
    stream_init(r->stream, format);
    r->stream->max_text = r->max_body; /* the body cap covers streamed text too */
}

/* Frees a request that is neither queued nor in flight. */
void req_free(oe_req *r)
{
    if (!r)
        return;
    if (r->all_prev)
        r->all_prev->all_next = r->all_next;
    else
        R.all = r->all_next;
    if (r->all_next)
        r->all_next->all_prev = r->all_prev;
    R.nlive--;
    if (r->stream) {
        stream_free(r->stream);
        free(r->stream);
    }
    free(r->method);
    free(r->url);
    free(r->body);
    free(r->userpwd);
    free(r->final_url);
    if (!r->headers_shared)
        curl_slist_free_all(r->headers);
    buf_free(&r->resp_headers);
    buf_free(&r->resp_body);
    free(r);
}

/* Requests allocated and not yet freed: queued, in flight, or ended with
 * the result not yet taken. */
int req_live(void)
{
    return R.nlive;
}

/* ---- windows ---- */

/* The window key of a URL: "scheme://host:port" (the authority part). */
static void window_key(const char *url, char *key, size_t n)
{
    const char *p = strstr(url, "://");
    p = p ? p + 3 : url;
    size_t len = strcspn(p, "/?#");
    size_t pre = (size_t)(p - url);
    if (pre + len >= n)
        len = n - pre - 1;
    memcpy(key, url, pre + len);
    key[pre + len] = '\0';
}

static void pump(oe_window *w);
static void ended(oe_req *r);

/* Notes a queued request's deadline: the window's timer wakes then. */
static void note_deadline(oe_window *w, const oe_req *r)
{
    if (r->deadline && (!w->deadline_at || r->deadline < w->deadline_at))
        w->deadline_at = r->deadline;
}

/* Ends the queued requests whose deadline has passed (as "deadline"), and
 * finds the earliest deadline of those left. Cheap when none is due: a
 * scan of the FIFO happens only once the earliest noted deadline passes. */
static void expire(oe_window *w, double now)
{
    if (!w->deadline_at || now < w->deadline_at)
        return;
    w->deadline_at = 0;
    oe_req **pp = &w->head, *prev = NULL;
    while (*pp) {
        oe_req *r = *pp;
        if (!r->deadline || r->deadline > now) {
            note_deadline(w, r);
            prev = r;
            pp = &r->next;
            continue;
        }
        *pp = r->next;
        if (w->tail == r)
            w->tail = prev;
        w->queued--;
        r->next = NULL;
        r->err = OE_EDEADLINE;
        snprintf(r->errmsg, sizeof r->errmsg,
                 "%s: its deadline passed after %.1f s waiting in the window's queue%s", r->url,
                 (now - r->t_queued) / 1000.0,
                 r->overloads || now < w->hold_until ? " (held there after 503/429 replies)" : "");
        ended(r); /* on_done only wakes its task (or frees it): the FIFO is not touched */
    }
}

/* The controller's log callback (inside a libuv/libcurl callback): one JSON
 * line into w->log; nothing else happens here. */
static void on_window_event(void *ud, const oe_autowin_event *e)
{
    oe_window *w = ud;
    char line[512];
    oe_autowin_event ev = *e;
    ev.t = e->t - R.t0; /* ms since the engine started */
    int k = snprintf(line, sizeof line, "{\"endpoint\":\"%s\",\"queued\":%d,", w->key, w->queued);
    int m = autowin_event_json(&ev, line + k, (int)sizeof line - k - 1);
    if (k < 0 || m < 0 || k + m >= (int)sizeof line - 1)
        return;
    memmove(line + k, line + k + 1, (size_t)m); /* drop the event's own '{' */
    k += m - 1;
    line[k++] = '\n';
    if (w->log.len + (size_t)k > LOG_MAX) {
        w->log_dropped++;
        return;
    }
    buf_append(&w->log, line, (size_t)k);
}

/* The window's timer: time passed (a hold ending; in auto mode also a
 * probe, a Retry-After hold, the max filter's period). */
static void on_window_timer(uv_timer_t *t)
{
    oe_window *w = (oe_window *)((char *)t - offsetof(oe_window, timer));
    w->timer_at = 0;
    if (w->mode == AUTOWIN_AUTO)
        autowin_tick(&w->aw, oe_now());
    pump(w); /* ends the queued requests whose deadline passed, too */
}

/* Arms the timer at the window's next wake-up: the end of its hold while
 * requests wait, the earliest deadline queued, and the controller's (auto
 * mode). `now` is the time the caller decided by (pump: the time may_send
 * saw), so a hold that ends in between is still waited for. It keeps the
 * loop alive only while requests wait for it (nothing in flight would
 * wake them). */
static void arm(oe_window *w, double now)
{
    double at = 1e300;
    if (w->mode == AUTOWIN_AUTO)
        at = autowin_wake_at(&w->aw);
    if (w->head && w->hold_until > now && w->hold_until < at)
        at = w->hold_until;
    if (w->head && w->deadline_at && w->deadline_at < at)
        at = w->deadline_at;
    if (at >= 1e299) {
        if (w->timer_at)
            uv_timer_stop(&w->timer);
        w->timer_at = 0;
    } else if (at != w->timer_at) {
        w->timer_at = at;
        uv_timer_start(&w->timer, on_window_timer, at > now ? (uint64_t)ceil(at - now) : 0, 0);
    }
    if (w->queued)
        uv_ref((uv_handle_t *)&w->timer);
    else
        uv_unref((uv_handle_t *)&w->timer);
}

/* (Re)starts w in a mode: auto starts a new controller (requests in
 * flight under the old one are no longer fed to it: aw_gen); fixed sets
 * the limit n, not adaptive (req_window_adapt makes it so). */
static void window_start(oe_window *w, int mode, int n)
{
    w->mode = mode == AUTOWIN_AUTO ? AUTOWIN_AUTO : AUTOWIN_FIXED;
    w->n = n;
    w->aw_gen++;
    w->adaptive = 0;
    if (w->mode == AUTOWIN_AUTO) {
        autowin_init(&w->aw, AUTOWIN_AUTO, n, NULL, oe_now());
        autowin_set_log(&w->aw, on_window_event, w);
        on_window_event(w, &(oe_autowin_event){.t = oe_now(), .in_flight = w->inflight,
            .window = w->aw.window, .margin = w->aw.margin, .drive = w->aw.drive,
            .reason = "start"});
        w->limit = w->aw.window;
    } else {
        w->limit = n < 1 ? 1 : n;
    }
}

/* The window of a URL's endpoint, created in the default mode. */
oe_window *req_window(const char *url)
{
    char key[256];
    window_key(url, key, sizeof key);
    for (oe_window *w = R.windows; w; w = w->next)
        if (strcmp(w->key, key) == 0)
            return w;
    oe_window *w = calloc(1, sizeof *w);
    if (!w)
        abort();
    snprintf(w->key, sizeof w->key, "%s", key);
    uv_timer_init(R.loop, &w->timer);
    uv_unref((uv_handle_t *)&w->timer);
    window_start(w, R.default_mode, R.default_n); /* endpoints.lua sets each endpoint's */
    w->next = R.windows;
    R.windows = w;
    return w;
}

oe_window *req_windows(void)
{
    return R.windows;
}

static void send_one(oe_window *w, oe_req *r)
{
    double now = oe_now();
    if (!r->t_sent)
        r->t_sent = now;
    if (r->deadline) { /* the transfer ends by the deadline too */
        long left = (long)ceil(r->deadline - now);
        if (left < 1)
            left = 1;
        if (!r->timeout_ms || left < r->timeout_ms)
            r->timeout_ms = left;
    }
    r->counted = 1;
    w->inflight++;
    if (w->inflight > w->max_inflight)
        w->max_inflight = w->inflight;
    r->gated = w->mode == AUTOWIN_AUTO && r->stream;
    if (r->gated) {
        r->aw_gen = w->aw_gen;
        autowin_sent(&w->aw, &r->aw, now);
    }
    http_start(r);
}

/* May r, the head of w's FIFO, be sent now? Not while w holds after an
 * overload; then in auto mode the controller decides for a streamed
 * request (one that does not stream is not gated), in fixed mode the
 * limit. The one place that decides. */
static int may_send(oe_window *w, const oe_req *r, double now)
{
    if (now < w->hold_until)
        return 0;
    if (w->mode == AUTOWIN_AUTO)
        return r->stream ? autowin_may_send(&w->aw, now) : 1;
    return w->inflight < w->limit;
}

/* Starts what the window allows, then arms its timer (the end of a hold,
 * the controller's next wake-up). */
static void pump(oe_window *w)
{
    double now = oe_now();
    expire(w, now);
    while (w->head && may_send(w, w->head, now)) {
        oe_req *r = w->head;
        w->head = r->next;
        if (!w->head)
            w->tail = NULL;
        r->next = NULL;
        w->queued--;
        send_one(w, r);
    }
    if (w->mode == AUTOWIN_AUTO)
        w->limit = w->aw.window;
    arm(w, now);
}

/* A fixed limit (ollaeval.window(url, n)): no adaptation. */
void req_window_set_limit(oe_window *w, int limit)
{
    limit = limit < 1 ? 1 : limit;
    if (w->mode == AUTOWIN_AUTO)
        window_start(w, AUTOWIN_FIXED, limit);
    w->limit = w->n = limit;
    w->adaptive = 0;
    pump(w);
}

/* An adaptive fixed window of at most max (-c N): slow start from
 * SLOW_START. */
void req_window_adapt(oe_window *w, int max)
{
    max = max < 1 ? 1 : max;
    if (w->mode == AUTOWIN_AUTO)
        window_start(w, AUTOWIN_FIXED, max);
    w->n = w->max = w->ssthresh = max;
    w->limit = max < SLOW_START ? max : SLOW_START;
    w->ok = 0;
    w->adaptive = 1;
    pump(w);
}

/* As -c: AUTOWIN_AUTO with n (0: auto, else auto:N) starts the controller;
 * AUTOWIN_FIXED sets a fixed limit of n. */
void req_window_set_mode(oe_window *w, int mode, int n)
{
    if (mode == AUTOWIN_FIXED) {
        req_window_set_limit(w, n);
        return;
    }
    if (mode == w->mode && n == w->n)
        return; /* as it is: the controller keeps what it learned */
    window_start(w, mode, n);
    pump(w);
}

int req_window_summary_json(oe_window *w, char *buf, int n)
{
    oe_autowin_summary s;
    autowin_summary(&w->aw, oe_now(), &s);
    return autowin_summary_json(&s, buf, n);
}

/* A reply that was not an overload: the window grows (fixed and adaptive:
 * slow start, then one per `limit` successes), and the backoff starts over. */
static void window_success(oe_window *w)
{
    w->cuts = 0;
    if (w->mode != AUTOWIN_FIXED || !w->adaptive || w->limit >= w->max)
        return;
    if (w->limit < w->ssthresh) {
        w->limit++;
    } else if (++w->ok >= w->limit) {
        w->ok = 0;
        w->limit++;
    }
}

static int end_class(const oe_req *r);

/* After a 503 without Retry-After to r (w->inflight no longer counts r):
 * does something other than a timed hold already stop the next send until
 * a request in flight ends? That end is the moment a server slot is free,
 * so a hold on top would only leave the slot idle. In auto mode the
 * controller's cap (the requests in flight) does, while any are in flight.
 * In an adaptive fixed window (-c N) the limit, just halved, does when the
 * requests still in flight fill it: may_send then refuses r, requeued at
 * the front, until one ends. Otherwise the hold stays: nothing in flight
 * (a server that refuses everything is not hammered), a limit not yet
 * full (r would go again at once, into another 503), or a non-adaptive
 * window (core.window(url, n): its limit never shrinks, so r would be
 * resent at once). */
static int gated_by_inflight(const oe_window *w, const oe_req *r)
{
    if (w->mode == AUTOWIN_AUTO)
        return r->gated && w->inflight > 0;
    return w->adaptive && w->inflight >= w->limit;
}

/* An overload reply (503, 429) to r: the growth resets; a fixed adaptive
 * window halves if r was sent after the last cut (once per round trip; in
 * auto mode the controller learns its cap instead, see end_feed); new
 * sends hold for the Retry-After, else the backoff (not for a 503 that
 * the requests still in flight gate already: gated_by_inflight). */
static void window_overload(oe_window *w, const oe_req *r)
{
    double now = oe_now();
    w->overloads++;
    if (r->status == 503)
        w->n503++;
    else
        w->n429++;
    w->ok = 0;
    if (r->t_start >= w->last_cut) {
        w->last_cut = now;
        w->cuts++;
        w->ncuts++;
        if (w->mode == AUTOWIN_FIXED && w->adaptive) {
            w->limit = w->limit / 2 < 1 ? 1 : w->limit / 2;
            w->ssthresh = w->limit;
        }
    }
    double hold = req_retry_after_ms(r);
    if (hold <= 0 && end_class(r) == AUTOWIN_E_OVERLOAD && gated_by_inflight(w, r))
        return;
    if (hold <= 0) {
        int k = w->cuts > 1 ? w->cuts - 1 : 0;
        hold = R.backoff_ms * ldexp(1.0, k > 10 ? 10 : k);
        if (hold > HOLD_MAX_MS)
            hold = HOLD_MAX_MS;
        hold *= 0.5 + 0.5 * ((double)rand() / RAND_MAX); /* jitter */
    }
    if (now + hold > w->hold_until)
        w->hold_until = now + hold;
}

/* A 429 whose body says the account is out of quota, not over a rate:
 * OpenAI's error code or type insufficient_quota (its old
 * billing_hard_limit_reached too). Waiting it out would take until the
 * deadline and never succeed. */
int req_out_of_quota(const oe_req *r)
{
    if (r->status != 429 || !r->resp_body.len)
        return 0;
    static const char *const codes[] = {"insufficient_quota", "billing_hard_limit_reached"};
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++)
        if (memmem(r->resp_body.data, r->resp_body.len, codes[i], strlen(codes[i])))
            return 1;
    return 0;
}

/* The Retry-After of a response in ms: delta-seconds or an HTTP-date;
 * -1 when there is none, or it is unreadable, or not in the future. */
double req_retry_after_ms(const oe_req *r)
{
    const char *h = r->retry_after ? r->resp_headers.data : NULL; /* (most replies have none) */
    const char *ra = h ? strcasestr(h, "\nretry-after:") : NULL;
    if (!ra)
        return -1;
    ra += 13;
    while (*ra == ' ' || *ra == '\t')
        ra++;
    char v[64];
    size_t n = strcspn(ra, "\r\n");
    if (n >= sizeof v)
        return -1;
    memcpy(v, ra, n);
    v[n] = '\0';
    double ms = -1;
    if (v[0] >= '0' && v[0] <= '9') {
        char *end;
        double s = strtod(v, &end);
        while (*end == ' ')
            end++;
        if (!*end && isfinite(s))
            ms = s * 1000.0;
    } else {
        time_t at = curl_getdate(v, NULL);
        if (at != -1)
            ms = difftime(at, time(NULL)) * 1000.0;
    }
    if (!(ms > 0))
        return -1;
    return ms > RETRY_AFTER_MAX_MS ? RETRY_AFTER_MAX_MS : ms;
}

void req_totals(int *inflight, int *queued)
{
    *inflight = *queued = 0;
    for (oe_window *w = R.windows; w; w = w->next) {
        *inflight += w->inflight;
        *queued += w->queued;
    }
}

/* Queues r in its endpoint's window; it starts when the window lets it
 * (in auto mode, a request that does not stream starts at once). */
void req_submit(oe_req *r)
{
    oe_window *w = req_window(r->url);
    r->window = w;
    r->t_queued = oe_now();
    r->next = NULL;
    if (w->mode == AUTOWIN_AUTO && !r->stream) {
        send_one(w, r);
        return;
    }
    if (w->tail)
        w->tail->next = r;
    else
        w->head = r;
    w->tail = r;
    w->queued++;
    note_deadline(w, r);
    pump(w);
}

static void ended(oe_req *r)
{
    r->finished = 1;
    if (r->on_done)
        r->on_done(r);
}

/* How a request ended, as the controller's classes: 0 a success (a 2xx
 * whose stream, if any, did not fail); AUTOWIN_E_OVERLOAD a 503,
 * AUTOWIN_E_RATE a 429 (the two overload replies: back-pressure); the rest
 * are failures the retry layer decides about. The one place that
 * classifies. */
static int end_class(const oe_req *r)
{
    if (r->err == OE_ETIMEOUT)
        return AUTOWIN_E_TIMEOUT;
    if (r->err == OE_ECONNECT)
        return AUTOWIN_E_CONNECT;
    if (r->err != OE_OK)
        return AUTOWIN_E_OTHER;
    if (r->status == 503)
        return AUTOWIN_E_OVERLOAD;
    if (r->status == 429) /* out of quota: no rate to learn, no hold; it ends */
        return req_out_of_quota(r) ? AUTOWIN_E_OTHER : AUTOWIN_E_RATE;
    if (r->status >= 200 && r->status < 300) /* a failed stream: an error line, a bad chunk */
        return r->stream && r->stream->failed ? AUTOWIN_E_SERVER : 0;
    if (r->status >= 500)
        return AUTOWIN_E_SERVER;
    return AUTOWIN_E_OTHER;
}

/* Ollama's server timings from the final NDJSON object, or from the one
 * JSON body of a server that did not stream (ns -> ms); 0 if there are none. */
static int timings_of(const oe_req *r, oe_autowin_timings *t)
{
    const oe_buf *b = r->shape == SHAPE_WHOLE ? &r->resp_body : r->stream ? &r->stream->final : NULL;
    if (!b || !b->len)
        return 0;
    cJSON *j = cJSON_ParseWithLength(b->data, b->len);
    if (!j)
        return 0;
    static const char *const k[] = {"total_duration", "load_duration", "prompt_eval_duration",
                                    "eval_duration"};
    double v[4];
    int have = 0;
    for (int i = 0; i < 4; i++) {
        const cJSON *x = cJSON_GetObjectItemCaseSensitive(j, k[i]);
        v[i] = cJSON_IsNumber(x) && x->valuedouble >= 0 ? x->valuedouble / 1e6 : -1;
        have += v[i] >= 0;
    }
    cJSON_Delete(j);
    *t = (oe_autowin_timings){v[0], v[1], v[2], v[3]};
    return have > 0 && v[2] >= 0;
}

/* Tells the controller how a gated request ended (cls: end_class). */
static void end_feed(oe_window *w, oe_req *r, int cls)
{
    if (!r->gated || r->aw_gen != w->aw_gen || w->mode != AUTOWIN_AUTO)
        return;
    double now = oe_now();
    if (cls == 0) {
        /* a whole body (SHAPE_WHOLE) never gave a first token: the
         * controller takes it as a response in one piece, which it cannot
         * observe, and after a few falls back (Little's law or a search) */
        oe_autowin_timings t;
        autowin_done(&w->aw, &r->aw, now, timings_of(r, &t) ? &t : NULL);
        return;
    }
    double ra = cls == AUTOWIN_E_RATE ? req_retry_after_ms(r) : 0;
    autowin_error(&w->aw, &r->aw, now, cls, ra > 0 ? ra : 0);
}

/* Clears r's response and puts it at the front of its window's FIFO. */
static void requeue_front(oe_window *w, oe_req *r)
{
    r->status = 0;
    r->shape = SHAPE_UNKNOWN;
    r->resp_headers.len = r->resp_body.len = 0;
    r->retry_after = 0;
    r->errmsg[0] = '\0';
    r->t_first_byte = r->t_end = 0;
    if (r->stream) {
        oe_stream keep = *r->stream;
        stream_free(r->stream);
        stream_init(r->stream, keep.format);
        r->stream->keep_new = keep.keep_new;
        r->stream->max_text = keep.max_text;
    }
    r->gated = 0;
    r->overloads++;
    r->next = w->head;
    w->head = r;
    if (!w->tail)
        w->tail = r;
    w->queued++;
    note_deadline(w, r);
}

/* From http.c: the transfer has ended (r->easy is NULL again). */
static void on_transfer_done(oe_req *r)
{
    oe_window *w = r->window;
    if (r->counted)
        w->inflight--;
    r->counted = 0;
    w->done++;
    int cls = end_class(r);
    end_feed(w, r, cls);
    if (cls == AUTOWIN_E_OVERLOAD || cls == AUTOWIN_E_RATE) {
        window_overload(w, r);
        double wait = w->hold_until - oe_now();
        if (r->requeue && (!r->deadline || oe_now() + (wait > 0 ? wait : 0) < r->deadline)) {
            requeue_front(w, r);
            pump(w);
            return;
        }
    } else if (cls == 0) {
        window_success(w);
    }
    pump(w);
    ended(r);
}

/* From http.c: streamed text arrived (content or thinking: the first one
 * confirms the request to the controller). */
static void on_transfer_progress(oe_req *r)
{
    oe_window *w = r->window;
    if (r->gated && r->aw_gen == w->aw_gen && w->mode == AUTOWIN_AUTO && r->aw.state == 1) {
        autowin_token(&w->aw, &r->aw, oe_now());
        /* inside curl's write callback: curl may not be called from here
         * (a handle added now would never start), so the pump runs from the
         * window's timer, on the loop's next turn */
        if (w->head) {
            w->timer_at = oe_now();
            uv_timer_start(&w->timer, on_window_timer, 0, 0);
        }
    }
    if (r->on_progress && r->want_progress)
        r->on_progress(r);
}

/* Ends a request now: a queued one leaves the queue, an in-flight one is
 * aborted; either way it ends as "cancelled" (r->on_done is called). */
void req_cancel(oe_req *r)
{
    if (r->finished)
        return;
    if (r->easy) {
        http_cancel(r); /* comes back through on_transfer_done */
        return;
    }
    oe_window *w = r->window;
    oe_req **pp = &w->head, *prev = NULL;
    while (*pp && *pp != r) {
        prev = *pp;
        pp = &(*pp)->next;
    }
    if (*pp) {
        *pp = r->next;
        if (w->tail == r)
            w->tail = prev;
        w->queued--;
        arm(w, oe_now());
    }
    r->next = NULL;
    r->err = OE_ECANCEL;
    snprintf(r->errmsg, sizeof r->errmsg, "%s: cancelled before it was sent", r->url);
    ended(r);
}

/* Cancels what is queued, then what is in flight (interrupt, shutdown). */
void req_cancel_all(void)
{
    for (oe_window *w = R.windows; w; w = w->next)
        while (w->head)
            req_cancel(w->head);
    http_cancel_all();
}

int req_init(uv_loop_t *loop, int mode, int n, long connect_timeout_ms, size_t max_body,
             double backoff_ms)
{
    R.loop = loop;
    R.t0 = oe_now();
    R.backoff_ms = backoff_ms;
    R.max_body = max_body;
    R.default_mode = mode;
    R.default_n = n;
    R.connect_timeout_ms = connect_timeout_ms;
    return http_init(loop, on_transfer_done, on_transfer_progress);
}

/* After http_shutdown() and the loop's handles closed (each window's timer
 * with them): frees every request still alive (results never taken) and
 * the windows. */
void req_shutdown(void)
{
    while (R.all)
        req_free(R.all);
    for (oe_window *w = R.windows, *next; w; w = next) {
        next = w->next;
        buf_free(&w->log);
        free(w);
    }
    R.windows = NULL;
}
