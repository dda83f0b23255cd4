/*
 * req.c: the request object and the endpoint windows.
 *
 * Owns every oe_req from req_new() to req_free() (a live request is on
 * R.all until it is freed; req_shutdown() frees what is left) and every
 * oe_window. Each endpoint (the URL's scheme://host:port) has a window with
 * a limit: at most `limit` requests are in libcurl at once, the rest wait
 * here first in, first out, so a request's timeout never counts time
 * queued. http.c reports the end of a transfer through the callbacks given
 * to http_init(); this file then frees the slot and calls r->on_done. No
 * Lua here.
 *
 * Overload is back-pressure, not a failure: a request marked `requeue`
 * that gets a 503 or 429 goes back to the front of its window's FIFO (its
 * response is cleared) and its task never sees it, until its deadline;
 * the window adapts (see oe_window in req.h) and holds new sends for the
 * Retry-After or a backoff, so waiting never takes a slot.
 */
#include <curl/curl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "req.h"
#include "http.h"
#include "stream.h"

static struct {
    oe_window *windows;
    oe_req *all;            /* every live request */
    int nlive;
    int default_limit;      /* a new window's limit (-c) */
    long connect_timeout_ms; /* a new request's defaults */
    size_t max_body;
    double backoff_ms;      /* the first overload hold; doubles with each cut in a row */
    uv_loop_t *loop;
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

/* The window of a URL's endpoint, created with the default limit. */
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
    w->limit = R.default_limit > 0 ? R.default_limit : 1;
    w->next = R.windows;
    R.windows = w;
    return w;
}

static void pump(oe_window *w);

/* A window's hold timer; timer.data points at this struct, so loop.c's
 * shutdown (which closes every handle and frees its data) frees it. */
typedef struct {
    uv_timer_t timer;
    oe_window *w;
} hold_timer;

static void on_hold(uv_timer_t *t)
{
    pump(((hold_timer *)t->data)->w);
}

/* Starts what the window allows, unless it is holding after an overload
 * (then its timer pumps it again at hold_until). */
static void pump(oe_window *w)
{
    if (w->head && w->hold_until > 0) {
        double now = oe_now();
        if (now < w->hold_until) {
            if (!w->hold) {
                hold_timer *h = malloc(sizeof *h);
                if (!h)
                    abort();
                uv_timer_init(R.loop, &h->timer);
                h->timer.data = h;
                h->w = w;
                w->hold = &h->timer;
            }
            uv_timer_start(w->hold, on_hold, (uint64_t)(w->hold_until - now) + 1, 0);
            return;
        }
        w->hold_until = 0;
    }
    while (w->inflight < w->limit && w->head) {
        oe_req *r = w->head;
        w->head = r->next;
        if (!w->head)
            w->tail = NULL;
        r->next = NULL;
        w->queued--;
        w->inflight++;
        if (w->inflight > w->max_inflight)
            w->max_inflight = w->inflight;
        http_start(r);
    }
}

/* A fixed limit (ollaeval.window(url, n)): no adaptation. */
void req_window_set_limit(oe_window *w, int limit)
{
    w->limit = limit < 1 ? 1 : limit;
    w->adaptive = 0;
    pump(w);
}

/* An adaptive window of at most max: slow start from SLOW_START. */
void req_window_adapt(oe_window *w, int max)
{
    w->max = max < 1 ? 1 : max;
    w->ssthresh = w->max;
    w->limit = w->max < SLOW_START ? w->max : SLOW_START;
    w->ok = 0;
    w->adaptive = 1;
    pump(w);
}

/* A reply that was not an overload: the window grows (slow start, then
 * one per `limit` successes), and the backoff starts over. */
static void window_success(oe_window *w)
{
    w->cuts = 0;
    if (!w->adaptive || w->limit >= w->max)
        return;
    if (w->limit < w->ssthresh) {
        w->limit++;
    } else if (++w->ok >= w->limit) {
        w->ok = 0;
        w->limit++;
    }
}

/* An overload reply (503, 429) to r: the growth resets; the window halves
 * if r was sent after the last cut (once per round trip); new sends hold
 * for the Retry-After, else the backoff. */
static void window_overload(oe_window *w, const oe_req *r)
{
    double now = oe_now();
    w->overloads++;
    w->ok = 0;
    if (r->t_start >= w->last_cut) {
        w->last_cut = now;
        w->cuts++;
        w->ncuts++;
        if (w->adaptive) {
            w->limit = w->limit / 2 < 1 ? 1 : w->limit / 2;
            w->ssthresh = w->limit;
        }
    }
    double hold = req_retry_after_ms(r);
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

/* The Retry-After of a response in ms: delta-seconds or an HTTP-date;
 * -1 when there is none, or it is unreadable, or not in the future. */
double req_retry_after_ms(const oe_req *r)
{
    const char *h = r->resp_headers.data;
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

/* Queues r in its endpoint's window; it starts when a slot is free. */
void req_submit(oe_req *r)
{
    oe_window *w = req_window(r->url);
    r->window = w;
    r->t_queued = oe_now();
    r->next = NULL;
    if (w->tail)
        w->tail->next = r;
    else
        w->head = r;
    w->tail = r;
    w->queued++;
    pump(w);
}

static void ended(oe_req *r)
{
    r->finished = 1;
    if (r->on_done)
        r->on_done(r);
}

/* Clears r's response and puts it at the front of its window's FIFO. */
static void requeue_front(oe_window *w, oe_req *r)
{
    r->status = 0;
    r->resp_headers.len = r->resp_body.len = 0;
    r->errmsg[0] = '\0';
    r->t_first_byte = r->t_end = 0;
    if (r->stream) {
        oe_stream keep = *r->stream;
        stream_free(r->stream);
        stream_init(r->stream, keep.format);
        r->stream->keep_new = keep.keep_new;
        r->stream->max_text = keep.max_text;
    }
    r->overloads++;
    r->next = w->head;
    w->head = r;
    if (!w->tail)
        w->tail = r;
    w->queued++;
}

/* From http.c: the transfer has ended (r->easy is NULL again). */
static void on_transfer_done(oe_req *r)
{
    oe_window *w = r->window;
    w->inflight--;
    w->done++;
    if (r->err == OE_OK && (r->status == 503 || r->status == 429)) {
        window_overload(w, r);
        double wait = w->hold_until - oe_now();
        if (r->requeue && (!r->deadline || oe_now() + (wait > 0 ? wait : 0) < r->deadline)) {
            requeue_front(w, r);
            pump(w);
            return;
        }
    } else if (r->err == OE_OK && r->status >= 200 && r->status < 300) {
        window_success(w);
    }
    pump(w);
    ended(r);
}

/* From http.c: streamed text arrived. */
static void on_transfer_progress(oe_req *r)
{
    if (r->on_progress)
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

int req_init(uv_loop_t *loop, int default_limit, long connect_timeout_ms, size_t max_body,
             double backoff_ms)
{
    R.loop = loop;
    R.backoff_ms = backoff_ms;
    R.max_body = max_body;
    R.default_limit = default_limit;
    R.connect_timeout_ms = connect_timeout_ms;
    return http_init(loop, on_transfer_done, on_transfer_progress);
}

/* After http_shutdown() and the loop's handles closed: frees every request still alive (results never
 * taken) and the windows. */
void req_shutdown(void)
{
    while (R.all)
        req_free(R.all);
    for (oe_window *w = R.windows, *next; w; w = next) {
        next = w->next;
        free(w); /* its hold timer was closed and freed with the loop's handles */
    }
    R.windows = NULL;
}
