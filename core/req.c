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
 */
#include <curl/curl.h>
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

static void pump(oe_window *w)
{
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

void req_window_set_limit(oe_window *w, int limit)
{
    w->limit = limit < 1 ? 1 : limit;
    pump(w);
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

/* From http.c: the transfer has ended (r->easy is NULL again). */
static void on_transfer_done(oe_req *r)
{
    oe_window *w = r->window;
    w->inflight--;
    w->done++;
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

int req_init(uv_loop_t *loop, int default_limit, long connect_timeout_ms, size_t max_body)
{
    R.max_body = max_body;
    R.default_limit = default_limit;
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
        free(w);
    }
    R.windows = NULL;
}
