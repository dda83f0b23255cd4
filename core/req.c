/*
 * req.c: the request object and the endpoint windows.
 *
 * Owns every oe_req from req_new() to req_free() (a live request is on
 * R.all until it is freed; req_shutdown() frees what is left) and every
 * oe_window. Each endpoint (the URL's scheme://host:port) has a window:
 * requests wait here first in, first out until the window lets them go, so
 * a request's timeout never counts time queued. In fixed mode the window
 * is a limit (at most `limit` in libcurl at once); in auto mode it is the
 * endpoint's controller (autowin.c), fed from here: sent (pump), first
 * token (http.c's progress callback), done with the server's timings from
 * the final NDJSON object, or the error's class; its timer (one uv timer
 * per window) calls autowin_tick. http.c reports the end of a transfer
 * through the callbacks given to http_init(); this file then frees the
 * slot, tells the controller and calls r->on_done. No Lua here.
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
} R;

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

/* The controller's timer: time passed (a probe, a Retry-After hold ending,
 * the max filter's period). */
static void on_window_timer(uv_timer_t *t)
{
    oe_window *w = (oe_window *)((char *)t - offsetof(oe_window, timer));
    w->timer_at = 0;
    autowin_tick(&w->aw, oe_now());
    pump(w);
}

/* Arms the timer at the controller's next wake-up. It keeps the loop alive
 * only while requests wait for it (nothing in flight would wake them). */
static void arm(oe_window *w)
{
    if (w->mode != AUTOWIN_AUTO)
        return;
    double at = autowin_wake_at(&w->aw), now = oe_now();
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

static void window_start(oe_window *w, int mode, int n)
{
    w->mode = mode == AUTOWIN_AUTO ? AUTOWIN_AUTO : AUTOWIN_FIXED;
    w->n = n;
    w->aw_gen++;
    if (w->mode == AUTOWIN_AUTO) {
        autowin_init(&w->aw, AUTOWIN_AUTO, n, NULL, oe_now());
        autowin_set_log(&w->aw, on_window_event, w);
        on_window_event(w, &(oe_autowin_event){.t = oe_now(), .in_flight = w->inflight,
            .window = w->aw.window, .margin = w->aw.margin, .drive = w->aw.drive,
            .reason = "start"});
        w->limit = w->aw.window;
    } else {
        w->limit = n < 1 ? 1 : n;
        if (w->timer_at)
            uv_timer_stop(&w->timer);
        w->timer_at = 0;
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
    window_start(w, R.default_mode, R.default_n);
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
    r->counted = 1;
    w->inflight++;
    if (w->inflight > w->max_inflight)
        w->max_inflight = w->inflight;
    r->gated = w->mode == AUTOWIN_AUTO && r->stream;
    if (r->gated) {
        r->aw_gen = w->aw_gen;
        autowin_sent(&w->aw, &r->aw, oe_now());
    }
    http_start(r);
}

static int may_send(oe_window *w)
{
    if (w->mode == AUTOWIN_AUTO)
        return autowin_may_send(&w->aw, oe_now());
    return w->inflight < w->limit;
}

static void pump(oe_window *w)
{
    while (w->head && may_send(w)) {
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
    arm(w);
}

void req_window_set_limit(oe_window *w, int limit)
{
    if (w->mode == AUTOWIN_AUTO)
        window_start(w, AUTOWIN_FIXED, limit);
    w->limit = limit < 1 ? 1 : limit;
    w->n = w->limit;
    pump(w);
}

void req_window_set_mode(oe_window *w, int mode, int n)
{
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
    pump(w);
}

static void ended(oe_req *r)
{
    r->finished = 1;
    if (r->on_done)
        r->on_done(r);
}

/* Ollama's server timings from the final NDJSON object (ns -> ms); 0 if
 * there are none. */
static int timings_of(const oe_req *r, oe_autowin_timings *t)
{
    if (!r->stream || !r->stream->final.len)
        return 0;
    cJSON *j = cJSON_ParseWithLength(r->stream->final.data, r->stream->final.len);
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

/* Retry-After in ms from the response headers (delta-seconds); 0 if none. */
static double retry_after_ms(const oe_req *r)
{
    const char *ra = r->resp_headers.data ? strcasestr(r->resp_headers.data, "\nretry-after:") : NULL;
    if (!ra)
        return 0;
    double s = strtod(ra + 13, NULL);
    return s > 0 && s < 86400 ? s * 1000 : 0;
}

/* Tells the controller how a gated request ended. */
static void feed_end(oe_window *w, oe_req *r)
{
    if (!r->gated || r->aw_gen != w->aw_gen || w->mode != AUTOWIN_AUTO)
        return;
    double now = oe_now();
    int cls = 0;
    if (r->err == OE_OK && r->status == 200 && !(r->stream && r->stream->failed)) {
        oe_autowin_timings t;
        autowin_done(&w->aw, &r->aw, now, timings_of(r, &t) ? &t : NULL);
        return;
    }
    if (r->err == OE_ETIMEOUT)
        cls = AUTOWIN_E_TIMEOUT;
    else if (r->err == OE_ECONNECT)
        cls = AUTOWIN_E_CONNECT;
    else if (r->err != OE_OK)
        cls = AUTOWIN_E_OTHER;
    else if (r->status == 503)
        cls = AUTOWIN_E_OVERLOAD;
    else if (r->status == 429)
        cls = AUTOWIN_E_RATE;
    else if (r->status >= 500 || r->status == 200) /* 200: the stream said it failed */
        cls = AUTOWIN_E_SERVER;
    else
        cls = AUTOWIN_E_OTHER;
    autowin_error(&w->aw, &r->aw, now, cls, cls == AUTOWIN_E_RATE ? retry_after_ms(r) : 0);
}

/* From http.c: the transfer has ended (r->easy is NULL again). */
static void on_transfer_done(oe_req *r)
{
    oe_window *w = r->window;
    if (r->counted)
        w->inflight--;
    r->counted = 0;
    w->done++;
    feed_end(w, r);
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
        arm(w);
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

int req_init(uv_loop_t *loop, int mode, int n, long connect_timeout_ms, size_t max_body)
{
    R.loop = loop;
    R.t0 = oe_now();
    R.max_body = max_body;
    R.default_mode = mode;
    R.default_n = n;
    R.connect_timeout_ms = connect_timeout_ms;
    return http_init(loop, on_transfer_done, on_transfer_progress);
}

/* After http_shutdown(): frees every request still alive (results never
 * taken) and the windows. */
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
