/*
 * http.c: libcurl's multi interface driven by libuv (the shape of curl's
 * docs/examples/multi-uv.c, without its bugs: the timer's owner is known,
 * poll errors reach curl as CURL_CSELECT_ERR).
 *
 * Owns the CURLM handle, one uv_poll_t per socket curl opens (left
 * watching an idle keep-alive connection between requests), the timer curl
 * asks for, a stock of easy handles for reuse, and what every request to
 * the same place would otherwise make again (kept until http_shutdown):
 * the URLs parsed for CURLOPT_CURLU and the header lists. Keep-alive
 * connections live in the multi handle's connection cache. An oe_req is
 * driven here from http_start() until its transfer ends; then its easy
 * handle goes back to the stock (options back to the defaults: a few after
 * a POST with a body, curl_easy_reset after anything else), and the
 * request goes back through the `done` callback given to http_init()
 * (req.c). Streamed text is
 * reported through the `progress` callback (every chunk that carried text,
 * whether or not Lua asked for it: the window's controller counts first
 * tokens). A server that answers a streamed request with one JSON body
 * (it ignored stream:true) is detected by its first bytes (body_shape):
 * the body is kept whole, as for a plain request, with no progress
 * reported. Nothing here touches Lua or the scheduler.
 */
#include <curl/curl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <strings.h>

#include <cjson/cJSON.h>

#include "http.h"
#include "stream.h"

/* One per socket number curl asks us to watch, reused for the next socket
 * with that number. A keep-alive connection leaves curl's watch list after
 * each request (CURL_POLL_REMOVE) and comes back with the next one, asking
 * for the same events: the poll stays as it is meanwhile (`idle`), since
 * every uv_poll_start costs epoll_ctl calls; it stops when the socket is
 * closed (cb_close: curl closes every socket through it, after which libuv
 * must not poll it) or when something arrives on it while idle (the server
 * closed it: curl finds out when it takes the connection next). An idle
 * poll is unref'd: the loop runs as if it were stopped (uv_run does not
 * wait for it, the scheduler's deadlock check does not count it). Freed in
 * its close callback at shutdown. */
typedef struct {
    uv_poll_t poll;
    curl_socket_t fd;
    int events; /* what the poll watches: UV_READABLE | UV_WRITABLE; 0: stopped */
    int idle;   /* curl does not watch the socket now (CURL_POLL_REMOVE) */
} sockctx;

static struct {
    uv_loop_t *loop;
    CURLM *multi;
    uv_timer_t timer; /* curl's timeout; timer.data is unused */
    int inflight;
    oe_req *active; /* in-flight requests, linked by next/prev */
    sockctx **byfd; /* poll handles kept per fd number for reuse */
    int nbyfd;
    CURL *spare[256]; /* easy handles kept for reuse (see plain_post) */
    int nspare;
    struct {
        char *url;
        CURLU *u;
    } urls[32]; /* parsed URLs (parsed_url), the first ones seen */
    int nurls;
    struct {
        char *block;
        size_t len;
        struct curl_slist *list;
    } lists[16]; /* header lists (http_headers), the first ones seen */
    int nlists;
    oe_buf block; /* the headers of the next list (http_header_add) */
    req_fn done, progress; /* http_init's callbacks */
    int netrc; /* ~/.netrc was there at start: curl reads it for each request */
    int proxy_env; /* a *_proxy variable was set at start: curl reads them for each request */
} H;


/* ---- the idle timeout: no byte for idle_timeout_ms ends the transfer ---- */

typedef struct {
    uv_timer_t timer; /* timer.data points at this struct (freed on close) */
    oe_req *r;
} idle_timer;

static void finish(CURL *e, CURLcode rc);

static void on_idle(uv_timer_t *t)
{
    oe_req *r = ((idle_timer *)t->data)->r;
    r->err = OE_ETIMEOUT;
    snprintf(r->errmsg, sizeof r->errmsg, "%s: no data for %ld ms (idle timeout)", r->url,
             r->idle_timeout_ms);
    finish(r->easy, CURLE_OPERATION_TIMEDOUT); /* a libuv callback: curl may be called */
}

static void idle_touch(oe_req *r)
{
    if (r->idle)
        uv_timer_start(&((idle_timer *)r->idle)->timer, on_idle, (uint64_t)r->idle_timeout_ms, 0);
}

static void on_idle_close(uv_handle_t *h)
{
    free(h->data);
}

/* ---- callbacks from libcurl ---- */

/* The shape of a streamed request's 200 body, from its first byte that is
 * not white space (SHAPE_UNKNOWN while there is none): one JSON body when
 * the server ignored stream:true (a Content-Type of JSON that is not
 * NDJSON, or for SSE a body that opens with '{' or '[' where events open
 * with "data:"), else the stream it asked for. */
static int body_shape(oe_req *r, const char *p, size_t len)
{
    size_t i = 0;
    while (i < len && (p[i] == ' ' || p[i] == '\t' || p[i] == '\r' || p[i] == '\n'))
        i++;
    if (i == len)
        return SHAPE_UNKNOWN;
    const char *ct = NULL;
    curl_easy_getinfo(r->easy, CURLINFO_CONTENT_TYPE, &ct);
    if (ct && (strncasecmp(ct, "application/json", 16) == 0 || strcasestr(ct, "+json")) &&
        !strcasestr(ct, "ndjson"))
        return SHAPE_WHOLE;
    if (r->stream_format == STREAM_SSE && (p[i] == '{' || p[i] == '['))
        return SHAPE_WHOLE;
    return SHAPE_STREAM;
}

static size_t cb_write(char *p, size_t size, size_t n, void *ud)
{
    oe_req *r = ud;
    size_t len = size * n;
    idle_touch(r);
    if (r->resp_body.len + len > r->max_body) {
        snprintf(r->errmsg, sizeof r->errmsg,
                 "%s: response body exceeds the cap of %zu bytes", r->url, r->max_body);
        r->err = OE_EPROTOCOL;
        return 0; /* makes curl stop with CURLE_WRITE_ERROR */
    }
    if (!r->t_first_byte)
        r->t_first_byte = oe_now();
    if (r->stream) {
        if (!r->status)
            curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &r->status);
        if (r->status == 200 && r->shape == SHAPE_UNKNOWN) {
            r->shape = body_shape(r, p, len);
            if (r->shape == SHAPE_UNKNOWN)
                return len; /* white space before anything: nothing to keep */
        }
        if (r->status == 200 && r->shape == SHAPE_STREAM) { /* parse as it arrives */
            if (stream_feed(r->stream, p, len, oe_now()))
                H.progress(r); /* req.c: the first token, then r->on_progress */
            /* a failed stream (an error line, a malformed chunk, text over
             * the cap) is over: stop reading (finish() reports the stream's error) */
            return r->stream->failed ? 0 : len;
        }
    }
    if (!r->resp_body.cap) { /* the first bytes: room for the whole body when its length is known */
        curl_off_t cl = -1;
        curl_easy_getinfo(r->easy, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &cl);
        if (cl > 0 && (size_t)cl <= r->max_body)
            buf_reserve(&r->resp_body, (size_t)cl);
    }
    buf_append(&r->resp_body, p, len);
    return len;
}

static size_t cb_header(char *p, size_t size, size_t n, void *ud)
{
    oe_req *r = ud;
    size_t len = size * n;
    idle_touch(r);
    if (!r->t_first_byte)
        r->t_first_byte = oe_now();
    /* A new status line starts a new header block (100 Continue, redirects):
     * keep only the last one. */
    if (len >= 5 && memcmp(p, "HTTP/", 5) == 0) {
        r->resp_headers.len = 0;
        r->retry_after = 0;
    } else if (len >= 12 && strncasecmp(p, "Retry-After:", 12) == 0) {
        r->retry_after = 1;
    }
    buf_append(&r->resp_headers, p, len);
    return len;
}

static void on_uv_poll(uv_poll_t *h, int status, int events);

/* An idle poll does not keep the loop alive (nor make uv_run wait for it):
 * the loop runs as if it were stopped. */
static void set_idle(sockctx *c, int idle)
{
    if (idle == c->idle)
        return;
    c->idle = idle;
    if (idle)
        uv_unref((uv_handle_t *)&c->poll);
    else
        uv_ref((uv_handle_t *)&c->poll);
}

/* CURLMOPT_SOCKETFUNCTION: start, change or stop watching a socket. */
static int cb_socket(CURL *e, curl_socket_t fd, int what, void *userp, void *socketp)
{
    sockctx *c = socketp;
    if (what == CURL_POLL_REMOVE) {
        /* idle: still polled until it is closed (cb_close) or taken again */
        if (c) {
            set_idle(c, 1);
            curl_multi_assign(H.multi, fd, NULL);
        }
        return 0;
    }
    if (!c) {
        if (fd >= H.nbyfd) {
            int n = H.nbyfd ? H.nbyfd : 64;
            while (n <= fd)
                n *= 2;
            H.byfd = realloc(H.byfd, (size_t)n * sizeof *H.byfd);
            if (!H.byfd)
                abort();
            memset(H.byfd + H.nbyfd, 0, (size_t)(n - H.nbyfd) * sizeof *H.byfd);
            H.nbyfd = n;
        }
        c = H.byfd[fd];
        if (!c) {
            c = calloc(1, sizeof *c);
            if (!c)
                abort();
            c->fd = fd;
            uv_poll_init_socket(H.loop, &c->poll, fd);
            c->poll.data = c;
            H.byfd[fd] = c;
        }
        curl_multi_assign(H.multi, fd, c);
    }
    int ev = 0;
    if (what == CURL_POLL_IN || what == CURL_POLL_INOUT)
        ev |= UV_READABLE;
    if (what == CURL_POLL_OUT || what == CURL_POLL_INOUT)
        ev |= UV_WRITABLE;
    set_idle(c, 0);
    if (ev != c->events) {
        uv_poll_start(&c->poll, ev, on_uv_poll);
        c->events = ev;
    }
    return 0;
}

static void poll_stop(sockctx *c)
{
    if (c->events)
        uv_poll_stop(&c->poll);
    c->events = 0;
    set_idle(c, 0);
}

/* CURLOPT_CLOSESOCKETFUNCTION: curl closes a socket (of every connection,
 * cached or not): its poll stops first, as libuv wants. */
static int cb_close(void *clientp, curl_socket_t fd)
{
    if (fd >= 0 && fd < H.nbyfd && H.byfd[fd])
        poll_stop(H.byfd[fd]);
    return close(fd);
}

static void on_uv_timeout(uv_timer_t *t);

/* CURLMOPT_TIMERFUNCTION: curl wants to be called after timeout_ms. Never
 * call curl from here; 0 means "on the next loop iteration". */
static int cb_timer(CURLM *m, long timeout_ms, void *userp)
{
    if (timeout_ms < 0)
        uv_timer_stop(&H.timer);
    else
        uv_timer_start(&H.timer, on_uv_timeout, (uint64_t)timeout_ms, 0);
    return 0;
}

/* ---- completion ---- */

/* 1 if b holds one JSON value and nothing after it but white space. */
static int one_json(const oe_buf *b)
{
    const char *end = NULL;
    cJSON *j = cJSON_ParseWithLengthOpts(b->data, b->len, &end, 0);
    if (!j)
        return 0;
    cJSON_Delete(j);
    for (; end && end < b->data + b->len; end++)
        if (*end != ' ' && *end != '\t' && *end != '\r' && *end != '\n')
            return 0;
    return 1;
}

static void set_constant(CURL *e);
static int plain_post(const oe_req *r);

static void finish(CURL *e, CURLcode rc)
{
    oe_req *r = NULL;
    curl_easy_getinfo(e, CURLINFO_PRIVATE, (char **)&r);
    if (r->idle) {
        idle_timer *it = r->idle;
        uv_timer_stop(&it->timer);
        uv_close((uv_handle_t *)&it->timer, on_idle_close);
        r->idle = NULL;
    }
    curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &r->status);
    long hops = 0;
    char *eff = NULL;
    free(r->final_url); /* (a requeued request is sent again) */
    r->final_url = curl_easy_getinfo(e, CURLINFO_REDIRECT_COUNT, &hops) == CURLE_OK && hops > 0 &&
                   curl_easy_getinfo(e, CURLINFO_EFFECTIVE_URL, &eff) == CURLE_OK && eff ? strdup(eff) : NULL;
    r->t_end = oe_now();
    if (rc == CURLE_WRITE_ERROR && r->err == OE_OK && r->stream && r->stream->failed)
        rc = CURLE_OK; /* cb_write stopped a failed stream: its error is the stream's */
    if (rc != CURLE_OK && r->err == OE_OK) {
        switch (rc) {
        case CURLE_OPERATION_TIMEDOUT:
            r->err = OE_ETIMEOUT;
            break;
        case CURLE_WEIRD_SERVER_REPLY:
        case CURLE_BAD_CONTENT_ENCODING:
        case CURLE_HTTP2:
        case CURLE_TOO_MANY_REDIRECTS:
            r->err = OE_EPROTOCOL;
            break;
        default: /* refused, reset, closed early, DNS, partial body */
            r->err = OE_ECONNECT;
        }
        if (!r->errmsg[0] || r->err == OE_ETIMEOUT) {
            if (r->err == OE_ETIMEOUT && !r->t_first_byte)
                snprintf(r->errmsg, sizeof r->errmsg,
                         "no response from %s within %.0f ms", r->url, r->t_end - r->t_start);
            else if (r->err == OE_ETIMEOUT)
                snprintf(r->errmsg, sizeof r->errmsg,
                         "%s timed out after %.0f ms", r->url, r->t_end - r->t_start);
            else
                snprintf(r->errmsg, sizeof r->errmsg, "%s: %s", r->url,
                         curl_easy_strerror(rc));
        }
    }
    if (rc == CURLE_OK)
        r->err = OE_OK;
    if (r->stream && r->status == 200 && r->err == OE_OK && r->shape == SHAPE_WHOLE &&
        r->stream_format == STREAM_NDJSON && !one_json(&r->resp_body)) {
        /* an NDJSON stream labelled as JSON (a proxy): parse it as the
         * stream it is, in one piece */
        r->shape = SHAPE_STREAM;
        stream_feed(r->stream, r->resp_body.data, r->resp_body.len, r->t_end);
        r->resp_body.len = 0;
    }
    if (r->stream && r->status == 200 && r->err == OE_OK && r->shape != SHAPE_WHOLE)
        stream_end(r->stream, r->t_end);
    curl_multi_remove_handle(H.multi, e);
    if (H.nspare < (int)(sizeof H.spare / sizeof H.spare[0])) {
        if (plain_post(r)) {
            /* back to curl's defaults for what http_start may leave unset
             * (the method, the body), and no pointer into r stays behind */
            curl_easy_setopt(e, CURLOPT_POSTFIELDS, NULL);
            curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)-1);
            curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
            curl_easy_setopt(e, CURLOPT_HTTPHEADER, NULL);
            curl_easy_setopt(e, CURLOPT_PRIVATE, NULL);
            curl_easy_setopt(e, CURLOPT_WRITEDATA, NULL);
            curl_easy_setopt(e, CURLOPT_HEADERDATA, NULL);
        } else { /* any other method: every option back to curl's default */
            curl_easy_reset(e);
            set_constant(e);
        }
        H.spare[H.nspare++] = e;
    } else {
        curl_easy_cleanup(e);
    }
    r->easy = NULL;
    if (r->prev)
        r->prev->next = r->next;
    else
        H.active = r->next;
    if (r->next)
        r->next->prev = r->prev;
    r->next = r->prev = NULL;
    H.inflight--;
    H.done(r); /* the request is req.c's again */
}

static void check_multi_info(void)
{
    CURLMsg *m;
    int left;
    while ((m = curl_multi_info_read(H.multi, &left)))
        if (m->msg == CURLMSG_DONE)
            finish(m->easy_handle, m->data.result);
}

/* ---- callbacks from libuv ---- */

static void on_uv_poll(uv_poll_t *h, int status, int events)
{
    sockctx *c = h->data;
    int flags = 0, running;
    if (c->idle) { /* not curl's now: the server closed it, or sent what nobody asked for */
        poll_stop(c);
        return;
    }
    if (status < 0) /* libuv stopped the poll itself */
        c->events = 0;
    if (status < 0)
        flags = CURL_CSELECT_ERR;
    if (events & UV_READABLE)
        flags |= CURL_CSELECT_IN;
    if (events & UV_WRITABLE)
        flags |= CURL_CSELECT_OUT;
    curl_multi_socket_action(H.multi, c->fd, flags, &running);
    check_multi_info();
}

static void on_uv_timeout(uv_timer_t *t)
{
    int running;
    curl_multi_socket_action(H.multi, CURL_SOCKET_TIMEOUT, 0, &running);
    check_multi_info();
}

/* ---- API ---- */

/* Whether curl's netrc would find a file: $HOME/.netrc (else the passwd
 * entry's home), as curl looks for it. Without one, curl would try to open
 * it for every request. */
static int netrc_present(void)
{
    const char *home = getenv("HOME");
    if (!home || !*home) {
        struct passwd *pw = getpwuid(geteuid());
        home = pw ? pw->pw_dir : NULL;
    }
    if (!home)
        return 1; /* unknown: let curl look */
    char path[4096];
    if (snprintf(path, sizeof path, "%s/.netrc", home) >= (int)sizeof path)
        return 1;
    return access(path, F_OK) == 0;
}

/* Whether the environment has a variable curl could take a proxy from:
 * any NAME_proxy (http_proxy, HTTPS_PROXY, all_proxy, no_proxy, ...).
 * Without one, curl would look them all up for every request. */
static int proxy_env_present(void)
{
    extern char **environ;
    for (char **e = environ; e && *e; e++) {
        const char *eq = strchr(*e, '=');
        if (eq && eq - *e >= 6 && strncasecmp(eq - 6, "_proxy", 6) == 0)
            return 1;
    }
    return 0;
}

int http_init(uv_loop_t *loop, req_fn done, req_fn progress)
{
    H.done = done;
    H.progress = progress;
    H.netrc = netrc_present();
    H.proxy_env = proxy_env_present();
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return -1;
    H.loop = loop;
    H.multi = curl_multi_init();
    if (!H.multi)
        return -1;
    uv_timer_init(loop, &H.timer);
    curl_multi_setopt(H.multi, CURLMOPT_SOCKETFUNCTION, cb_socket);
    curl_multi_setopt(H.multi, CURLMOPT_TIMERFUNCTION, cb_timer);
    curl_multi_setopt(H.multi, CURLMOPT_MAXCONNECTS, 1024L);
    return 0;
}

/* The options every transfer has, set on a new handle (and again after a
 * curl_easy_reset). */
static void set_constant(CURL *e)
{
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    /* a small receive buffer: answers are a few KB, and 1,000 transfers in
     * flight each hold one (bench: peak RSS with 1,000 in flight) */
    curl_easy_setopt(e, CURLOPT_BUFFERSIZE, 2048L);
    curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, cb_write);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, cb_header);
    curl_easy_setopt(e, CURLOPT_CLOSESOCKETFUNCTION, cb_close);
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(e, CURLOPT_MAXREDIRS, 5L);
    /* a redirected POST stays a POST with its body (curl would turn a
     * 301/302/303 into a GET, which a chat endpoint answers with a 404) */
    curl_easy_setopt(e, CURLOPT_POSTREDIR, (long)CURL_REDIR_POST_ALL);
    /* ~/.netrc when there was one at start */
    if (H.netrc)
        curl_easy_setopt(e, CURLOPT_NETRC, (long)CURL_NETRC_OPTIONAL);
    /* no proxy variable at start: no proxy, said once (as curl would find) */
    if (!H.proxy_env) {
        curl_easy_setopt(e, CURLOPT_PROXY, "");
        curl_easy_setopt(e, CURLOPT_NOPROXY, "");
    }
}

/* A POST with a body, whose method curl takes from CURLOPT_POSTFIELDS
 * alone: after one, finish() sets the few options back that http_start
 * does not always set (a chat request costs no curl_easy_reset); after any
 * other method the handle is reset. */
static int plain_post(const oe_req *r)
{
    return r->body && strcmp(r->method, "POST") == 0;
}

/* A request's header list. lapi.c adds its headers one by one
 * (http_header_add) into H.block ("Name: value" entries, each ending in a
 * NUL), then takes the list (http_headers_take). Every request sends
 * "Expect:" first (no 100-continue round trip), then our User-Agent unless
 * the headers name one, then its headers. A list of the same headers as an
 * earlier request's is that list again (*shared = 1: kept until
 * http_shutdown, the request must not free it; a chat request's headers
 * are the same every time); else it is the request's own (*shared = 0). */
void http_header_add(const char *name, const char *value)
{
    buf_append(&H.block, name, strlen(name));
    buf_append(&H.block, ": ", 2);
    buf_append(&H.block, value, strlen(value) + 1);
}

struct curl_slist *http_headers_take(int *shared)
{
    const char *block = H.block.data ? H.block.data : "";
    size_t len = H.block.len;
    H.block.len = 0;
    for (int i = 0; i < H.nlists; i++)
        if (H.lists[i].len == len && memcmp(H.lists[i].block, block, len) == 0) {
            *shared = 1;
            return H.lists[i].list;
        }
    int ua = 0;
    for (size_t i = 0; i < len; i += strlen(block + i) + 1)
        if (strncasecmp(block + i, "User-Agent:", 11) == 0)
            ua = 1;
    struct curl_slist *l = curl_slist_append(NULL, "Expect:");
    if (l && !ua)
        l = curl_slist_append(l, "User-Agent: ollaeval/" OE_VERSION);
    for (size_t i = 0; l && i < len; i += strlen(block + i) + 1) {
        struct curl_slist *n = curl_slist_append(l, block + i);
        if (!n)
            curl_slist_free_all(l);
        l = n;
    }
    if (!l)
        abort();
    *shared = 0;
    if (H.nlists < (int)(sizeof H.lists / sizeof H.lists[0])) {
        char *copy = malloc(len + 1);
        if (!copy)
            abort();
        memcpy(copy, block, len);
        H.lists[H.nlists].block = copy;
        H.lists[H.nlists].len = len;
        H.lists[H.nlists].list = l;
        H.nlists++;
        *shared = 1;
    }
    return l;
}

/* The URL parsed once for CURLOPT_CURLU, so that curl does not parse it
 * (nor print it back) for every request to it: the first URLs seen (a chat
 * endpoint's, whose every request is to the same URL) stay until
 * http_shutdown. NULL (curl parses CURLOPT_URL) once the stock is full, or
 * for a URL curl would refuse (then it says why, as for any). Parsed as
 * curl parses CURLOPT_URL (url.c: guess the scheme, any scheme). */
static CURLU *parsed_url(const char *url)
{
    for (int i = 0; i < H.nurls; i++)
        if (strcmp(H.urls[i].url, url) == 0)
            return H.urls[i].u;
    if (H.nurls == (int)(sizeof H.urls / sizeof H.urls[0]))
        return NULL;
    CURLU *u = curl_url();
    char *copy = strdup(url);
    if (!u || !copy)
        abort();
    if (curl_url_set(u, CURLUPART_URL, url, CURLU_GUESS_SCHEME | CURLU_NON_SUPPORT_SCHEME) != CURLUE_OK) {
        curl_url_cleanup(u);
        free(copy);
        return NULL;
    }
    H.urls[H.nurls].url = copy;
    H.urls[H.nurls].u = u;
    H.nurls++;
    return u;
}

/* Drives r until its transfer ends (then H.done(r)). A spare handle holds
 * the constant options (set_constant) and curl's defaults for the rest but
 * for those set here for every request. */
void http_start(oe_req *r)
{
    CURL *e;
    if (H.nspare) {
        e = H.spare[--H.nspare];
    } else {
        e = curl_easy_init();
        if (!e)
            abort();
        set_constant(e);
    }
    r->easy = e;
    r->t_start = oe_now();
    curl_easy_setopt(e, CURLOPT_PRIVATE, r);
    /* the URL as given (what curl names in its messages), and parsed
     * (CURLOPT_CURLU: curl takes its parts from it; NULL: from the URL) */
    curl_easy_setopt(e, CURLOPT_URL, r->url);
    curl_easy_setopt(e, CURLOPT_CURLU, parsed_url(r->url));
    curl_easy_setopt(e, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, r);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, r->connect_timeout_ms);
    /* credentials: given apart from the URL (endpoints.lua strips them) */
    curl_easy_setopt(e, CURLOPT_USERPWD, r->userpwd);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, r->timeout_ms > 0 ? r->timeout_ms : 0L);
    if (r->idle_timeout_ms > 0) {
        idle_timer *it = calloc(1, sizeof *it);
        if (!it)
            abort();
        it->r = r;
        it->timer.data = it;
        uv_timer_init(H.loop, &it->timer);
        r->idle = it;
        idle_touch(r);
    }
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, r->headers);
    if (r->body) {
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, r->body);
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->body_len);
    }
    if (strcmp(r->method, "GET") == 0)
        curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
    else if (strcmp(r->method, "HEAD") == 0)
        curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
    else if (strcmp(r->method, "POST") != 0 || !r->body)
        curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, r->method);
    H.inflight++;
    r->prev = NULL;
    r->next = H.active;
    if (H.active)
        H.active->prev = r;
    H.active = r;
    curl_multi_add_handle(H.multi, e);
}

/* Ends an in-flight transfer now; the request completes as "cancelled". */
void http_cancel(oe_req *r)
{
    if (!r->easy)
        return;
    r->err = OE_ECANCEL;
    snprintf(r->errmsg, sizeof r->errmsg, "%s: cancelled", r->url);
    finish(r->easy, CURLE_ABORTED_BY_CALLBACK);
}

void http_cancel_all(void)
{
    while (H.active)
        http_cancel(H.active);
}

static void on_uv_close_nop(uv_handle_t *h)
{
}

void http_shutdown(void)
{
    if (!H.multi)
        return;
    while (H.active) { /* none after req_cancel_all(); detached, req.c frees them */
        oe_req *r = H.active;
        H.active = r->next;
        curl_multi_remove_handle(H.multi, r->easy);
        curl_easy_cleanup(r->easy);
        r->easy = NULL;
        r->next = r->prev = NULL;
    }
    curl_multi_cleanup(H.multi); /* closes cached connections (CURL_POLL_REMOVE) */
    while (H.nspare)
        curl_easy_cleanup(H.spare[--H.nspare]);
    buf_free(&H.block);
    while (H.nlists) {
        H.nlists--;
        curl_slist_free_all(H.lists[H.nlists].list);
        free(H.lists[H.nlists].block);
    }
    while (H.nurls) { /* after the handles that pointed at them */
        H.nurls--;
        curl_url_cleanup(H.urls[H.nurls].u);
        free(H.urls[H.nurls].url);
    }
    free(H.byfd); /* the poll handles themselves close with the loop's */
    H.byfd = NULL;
    H.nbyfd = 0;
    H.multi = NULL;
    uv_timer_stop(&H.timer);
    uv_close((uv_handle_t *)&H.timer, on_uv_close_nop);
    curl_global_cleanup();
}
