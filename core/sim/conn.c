/*
 * conn.c: the simulator's connections. Owns sim_conn: accept, read,
 * request parsing with http-parser (one request at a time, pipelined bytes
 * wait in c->in), keep-alive, writes, graceful close and reset.
 *
 * Self-defence, so that one client cannot take the server down:
 *   - back-pressure: when a connection's unsent output exceeds
 *     --max-unsent bytes, it stops reading and serves no further pipelined
 *     request until the client has taken half of it;
 *   - a sweep timer (one for the server) closes connections whose request
 *     headers take longer than --header-timeout ms from their first byte,
 *     and connections whose unsent output made no progress for
 *     --write-timeout ms.
 *
 * Lifetime: sim_conn_accept() allocates a connection; it is freed in the
 * libuv close callback, after sim_conn_close() (or a graceful shutdown)
 * unlinked it and aborted its job. Fake connections (fuzzing) have no
 * socket: writes go to c->out and sim_conn_free_fake() frees them.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "sim.h"

#define MAX_URL (64 * 1024)
#define MAX_PENDING (32u * 1024 * 1024)

static int on_begin(http_parser *p);
static int on_url(http_parser *p, const char *at, size_t n);
static int on_hfield(http_parser *p, const char *at, size_t n);
static int on_hvalue(http_parser *p, const char *at, size_t n);
static int on_headers_done(http_parser *p);
static int on_body(http_parser *p, const char *at, size_t n);
static int on_complete(http_parser *p);

static const http_parser_settings settings = {
    .on_message_begin = on_begin,
    .on_url = on_url,
    .on_header_field = on_hfield,
    .on_header_value = on_hvalue,
    .on_headers_complete = on_headers_done,
    .on_body = on_body,
    .on_message_complete = on_complete,
};

typedef struct {
    uv_write_t req;
    char *data; /* owned; freed when the write completes */
} wreq;

/* ---------------------------------------------------------------- parser */

static int on_begin(http_parser *p)
{
    sim_conn *c = p->data;
    c->url.len = c->body.len = c->hname.len = 0;
    c->hstate = c->expect_continue = c->hdr_is_expect = 0;
    c->t_arrival = 0;
    c->t_head = sim_now_ns(); /* the header timeout runs from here */
    return 0;
}

static int on_url(http_parser *p, const char *at, size_t n)
{
    sim_conn *c = p->data;
    if (c->url.len + n > MAX_URL)
        return 1;
    buf_append(&c->url, at, n);
    return 0;
}

static int on_hfield(http_parser *p, const char *at, size_t n)
{
    sim_conn *c = p->data;
    if (c->hstate != 1)
        c->hname.len = 0;
    c->hstate = 1;
    if (c->hname.len < 64)
        buf_append(&c->hname, at, n);
    return 0;
}

static int on_hvalue(http_parser *p, const char *at, size_t n)
{
    sim_conn *c = p->data;
    if (c->hstate == 1)
        c->hdr_is_expect =
            c->hname.len == 6 && !strncasecmp(c->hname.data, "expect", 6);
    c->hstate = 2;
    if (c->hdr_is_expect && n >= 12 && !strncasecmp(at, "100-continue", 12))
        c->expect_continue = 1;
    return 0;
}

static void conn_write(sim_conn *c, char *data, size_t len);

static int on_headers_done(http_parser *p)
{
    sim_conn *c = p->data;
    c->t_head = 0;
    if (p->content_length != ULLONG_MAX &&
        p->content_length > c->srv->cfg.max_body)
        return -1; /* too large: on_body never sees it */
    if (c->expect_continue && p->content_length > 0 &&
        p->content_length != ULLONG_MAX) {
        static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
        conn_write(c, out_strndup(cont, sizeof cont - 1), sizeof cont - 1);
    }
    return 0;
}

static int on_body(http_parser *p, const char *at, size_t n)
{
    sim_conn *c = p->data;
    if (c->body.len + n > c->srv->cfg.max_body)
        return 1;
    buf_append(&c->body, at, n);
    return 0;
}

static int on_complete(http_parser *p)
{
    sim_conn *c = p->data;
    c->method = p->method;
    c->keepalive = http_should_keep_alive(p);
    c->head = p->method == HTTP_HEAD;
    c->busy = 1;
    c->t_arrival = sim_now_ns();
    if (!c->body.data)
        buf_append(&c->body, "", 0); /* body.data is never NULL for handlers */
    http_parser_pause(p, 1);
    return 0;
}

/* ----------------------------------------------------------- writing */

static void on_close(uv_handle_t *h)
{
    sim_conn *c = h->data;
    buf_free(&c->in);
    buf_free(&c->url);
    buf_free(&c->body);
    buf_free(&c->hname);
    buf_free(&c->out);
    free(c);
}

static void conn_drive(sim_conn *c);

static size_t unsent(sim_conn *c)
{
    return c->fake ? 0 : uv_stream_get_write_queue_size((uv_stream_t *)&c->tcp);
}

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf);
static void on_read(uv_stream_t *st, ssize_t n, const uv_buf_t *buf);

static void on_write(uv_write_t *req, int status)
{
    wreq *w = (wreq *)req;
    sim_conn *c = req->handle->data;
    free(w->data);
    free(w);
    if (status < 0 && status != UV_ECANCELED) {
        sim_conn_close(c, 0);
        return;
    }
    if (c->closing)
        return;
    c->t_write_ok = sim_now_ns();
    /* back-pressure released: the client took half of the limit */
    if (c->paused && unsent(c) <= c->srv->cfg.max_unsent / 2) {
        c->paused = 0;
        if (uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) < 0) {
            sim_conn_close(c, 0);
            return;
        }
        conn_drive(c);
    }
}

/* Takes ownership of data (malloc'd). Tries a direct write first. */
static void conn_write(sim_conn *c, char *data, size_t len)
{
    if (c->closing) {
        free(data);
        return;
    }
    if (c->fake) {
        buf_append(&c->out, data, len);
        free(data);
        return;
    }
    uv_buf_t buf = uv_buf_init(data, (unsigned)len);
    int n = uv_try_write((uv_stream_t *)&c->tcp, &buf, 1);
    if (n == (int)len) {
        free(data);
        return;
    }
    if (n < 0 && n != UV_EAGAIN) {
        free(data);
        sim_conn_close(c, 0);
        return;
    }
    if (n < 0)
        n = 0;
    wreq *w = malloc(sizeof *w);
    if (!w)
        abort();
    w->data = data;
    buf = uv_buf_init(data + n, (unsigned)(len - (size_t)n));
    if (unsent(c) == 0) /* a write stall can start now */
        c->t_write_ok = sim_now_ns();
    if (uv_write(&w->req, (uv_stream_t *)&c->tcp, &buf, 1, on_write) < 0) {
        free(data);
        free(w);
        sim_conn_close(c, 0);
        return;
    }
    size_t u = unsent(c);
    if (u > c->srv->st.max_unsent)
        c->srv->st.max_unsent = u;
    if (!c->paused && u > c->srv->cfg.max_unsent) {
        /* the client does not read: stop reading its requests */
        c->paused = 1;
        c->srv->st.read_pauses++;
        uv_read_stop((uv_stream_t *)&c->tcp);
    }
}

void sim_send_raw(sim_conn *c, oe_buf *b)
{
    size_t n = b->len;
    conn_write(c, out_steal(b), n);
}

/* ----------------------------------------------------------- closing */

/* Unlinks c and aborts its job; the handle is closed by the caller. */
static int conn_detach(sim_conn *c)
{
    if (c->closing)
        return 0;
    c->closing = 1;
    if (c->job) {
        sim_job *j = c->job;
        c->job = NULL;
        sim_job_abort(j);
    }
    if (c->prev)
        c->prev->next = c->next;
    else
        c->srv->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    c->prev = c->next = NULL;
    c->srv->st.connections--;
    return 1;
}

void sim_conn_close(sim_conn *c, int reset)
{
    if (!conn_detach(c) || c->fake)
        return;
    uv_read_stop((uv_stream_t *)&c->tcp);
    if (reset && uv_tcp_close_reset(&c->tcp, on_close) == 0)
        return;
    uv_close((uv_handle_t *)&c->tcp, on_close);
}

static void on_shutdown(uv_shutdown_t *req, int status)
{
    (void)status;
    if (!uv_is_closing((uv_handle_t *)req->handle))
        uv_close((uv_handle_t *)req->handle, on_close);
    free(req);
}

/* Graceful close: queued writes are flushed, then FIN, then close. */
static void conn_finish(sim_conn *c)
{
    if (!conn_detach(c) || c->fake)
        return;
    uv_read_stop((uv_stream_t *)&c->tcp);
    uv_shutdown_t *req = malloc(sizeof *req);
    if (!req)
        abort();
    if (uv_shutdown(req, (uv_stream_t *)&c->tcp, on_shutdown) < 0) {
        free(req);
        uv_close((uv_handle_t *)&c->tcp, on_close);
    }
}

/* ----------------------------------------------------------- responses */

static const char *status_text(int st)
{
    switch (st) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 413: return "Request Entity Too Large";
    case 429: return "Too Many Requests";
    case 499: return "Client Closed Request";
    case 500: return "Internal Server Error";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    default: return "Unknown";
    }
}

static void put_date(sim_conn *c, oe_buf *b)
{
    sim_server *s = c->srv;
    time_t now = time(NULL);
    if (now != s->date_sec) {
        struct tm tm;
        gmtime_r(&now, &tm);
        strftime(s->date, sizeof s->date, "%a, %d %b %Y %H:%M:%S GMT", &tm);
        s->date_sec = now;
    }
    out_puts(b, "Date: ");
    out_puts(b, s->date);
    out_puts(b, "\r\n");
}

static void put_head(sim_conn *c, oe_buf *b, int status, const char *ctype,
                     const char *extra)
{
    out_printf(b, "HTTP/1.1 %d %s\r\n", status, status_text(status));
    if (ctype)
        out_printf(b, "Content-Type: %s\r\n", ctype);
    put_date(c, b);
    if (extra)
        out_puts(b, extra);
    if (!c->keepalive)
        out_puts(b, "Connection: close\r\n");
    else if (c->parser.http_major == 1 && c->parser.http_minor == 0)
        out_puts(b, "Connection: keep-alive\r\n");
}

/* A complete response with Content-Length; ends the request. */
void sim_send(sim_conn *c, int status, const char *ctype, const char *extra,
              const char *body, size_t len)
{
    oe_buf b = {0};
    put_head(c, &b, status, ctype, extra);
    out_printf(&b, "Content-Length: %zu\r\n\r\n", len);
    if (!c->head)
        buf_append(&b, body, len);
    sim_send_raw(c, &b);
    sim_request_done(c);
}

/* Error bodies: Ollama's {"error":"..."} or OpenAI's {"error":{...}}. */
void sim_send_error(sim_conn *c, int api, int status, const char *msg)
{
    oe_buf b = {0};
    char ra[40];
    snprintf(ra, sizeof ra, "Retry-After: %d\r\n", c->srv->cfg.retry_after);
    const char *extra = status == 429 && c->srv->cfg.retry_after > 0 ? ra : NULL;
    if (api == API_OPENAI) {
        const char *type = status == 400   ? "invalid_request_error"
                           : status == 404 ? "not_found_error"
                                           : "api_error";
        out_puts(&b, "{\"error\":{\"message\":");
        out_json_cstr(&b, msg);
        out_printf(&b, ",\"type\":\"%s\",\"param\":null,\"code\":null}}", type);
        sim_send(c, status, "application/json", extra, b.data, b.len);
    } else {
        out_puts(&b, "{\"error\":");
        out_json_cstr(&b, msg);
        out_putc(&b, '}');
        sim_send(c, status, "application/json; charset=utf-8", extra, b.data,
                 b.len);
    }
    buf_free(&b);
}

void sim_send_oai_error(sim_conn *c, int status, const char *msg, const char *param,
                        const char *code)
{
    oe_buf b = {0};
    out_puts(&b, "{\"error\":{\"message\":");
    out_json_cstr(&b, msg);
    out_puts(&b, ",\"type\":\"invalid_request_error\",\"param\":");
    if (param)
        out_json_cstr(&b, param);
    else
        out_puts(&b, "null");
    out_puts(&b, ",\"code\":");
    if (code)
        out_json_cstr(&b, code);
    else
        out_puts(&b, "null");
    out_puts(&b, "}}");
    sim_send(c, status, "application/json", NULL, b.data, b.len);
    buf_free(&b);
}

/* One chunk of a chunked response; the first call sends the headers. */
void sim_stream_write(sim_conn *c, const char *ctype, oe_buf *data)
{
    oe_buf b = {0};
    int http10 = c->parser.http_major == 1 && c->parser.http_minor == 0;
    if (!c->streaming) {
        if (http10) /* no chunked encoding in HTTP/1.0: end by closing */
            c->keepalive = 0;
        put_head(c, &b, 200, ctype, http10 ? NULL : "Transfer-Encoding: chunked\r\n");
        out_puts(&b, "\r\n");
        c->streaming = 1;
    }
    if (http10) {
        if (data)
            buf_append(&b, data->data, data->len);
    } else if (data && data->len) {
        out_printf(&b, "%zx\r\n", data->len);
        buf_append(&b, data->data, data->len);
        out_puts(&b, "\r\n");
    }
    sim_send_raw(c, &b);
}

void sim_stream_end(sim_conn *c)
{
    if (!(c->parser.http_major == 1 && c->parser.http_minor == 0)) {
        oe_buf b = {0};
        out_puts(&b, "0\r\n\r\n");
        sim_send_raw(c, &b);
    }
    sim_request_done(c);
}

static void bad_request(sim_conn *c, int too_large)
{
    oe_buf b = {0};
    if (too_large)
        out_puts(&b, "HTTP/1.1 413 Request Entity Too Large\r\n"
                    "Content-Type: text/plain; charset=utf-8\r\n"
                    "Connection: close\r\n\r\n413 Request Entity Too Large");
    else
        out_puts(&b, "HTTP/1.1 400 Bad Request\r\n"
                    "Content-Type: text/plain; charset=utf-8\r\n"
                    "Connection: close\r\n\r\n400 Bad Request");
    sim_send_raw(c, &b);
    conn_finish(c);
}

/* ----------------------------------------------------------- driving */

/* Parses buffered input and serves requests one at a time, until the
 * output backs up (c->paused). Re-entrant calls (a handler finishing
 * synchronously) just return. */
static void conn_drive(sim_conn *c)
{
    if (c->in_drive)
        return;
    c->in_drive = 1;
    while (!c->busy && !c->closing && !c->paused && c->in_off < c->in.len) {
        const char *p = c->in.data + c->in_off;
        size_t n = c->in.len - c->in_off;
        size_t used = http_parser_execute(&c->parser, &settings, p, n);
        enum http_errno e = HTTP_PARSER_ERRNO(&c->parser);
        c->in_off += used;
        if (e == HPE_PAUSED) {
            http_parser_pause(&c->parser, 0);
            if (!c->srv->stopping)
                sim_route(c);
            continue;
        }
        if (e != HPE_OK) {
            bad_request(c, e == HPE_CB_body || e == HPE_CB_headers_complete);
            break;
        }
        if (used < n) { /* should not happen; never spin */
            bad_request(c, 0);
            break;
        }
    }
    if (c->in_off >= c->in.len)
        c->in_off = c->in.len = 0;
    c->in_drive = 0;
}

void sim_request_done(sim_conn *c)
{
    c->busy = 0;
    c->streaming = 0;
    c->job = NULL;
    if (c->closing)
        return;
    if (!c->keepalive) {
        conn_finish(c);
        return;
    }
    conn_drive(c);
}

void sim_parse_feed(sim_conn *c, const char *data, size_t len)
{
    if (c->closing)
        return;
    if (c->in_off > 0 && c->in_off == c->in.len)
        c->in_off = c->in.len = 0;
    if (c->in.len - c->in_off + len > MAX_PENDING) {
        sim_conn_close(c, 0);
        return;
    }
    buf_append(&c->in, data, len);
    conn_drive(c);
}

/* ----------------------------------------------------------- timeouts */

/* Closes the connections that stall in their headers or their writes. */
static void on_sweep(uv_timer_t *t)
{
    sim_server *s = t->data;
    const sim_config *cf = &s->cfg;
    uint64_t now = sim_now_ns();
    uint64_t ht = (uint64_t)(cf->header_timeout_ms * 1e6);
    uint64_t wt = (uint64_t)(cf->write_timeout_ms * 1e6);
    for (sim_conn *c = s->conns, *next; c; c = next) {
        next = c->next;
        if (c->fake)
            continue;
        if (ht && c->t_head && !c->paused && now - c->t_head > ht) {
            s->st.header_timeouts++;
            sim_log(s, "closing a connection: no complete request headers in %g ms\n",
                    cf->header_timeout_ms);
            sim_conn_close(c, 0);
        } else if (wt && unsent(c) && now - c->t_write_ok > wt) {
            s->st.write_timeouts++;
            sim_log(s, "closing a connection: %zu bytes unsent, the client read none for %g ms\n",
                    unsent(c), cf->write_timeout_ms);
            sim_conn_close(c, 1);
        }
    }
}

void sim_conns_start(sim_server *s)
{
    const sim_config *cf = &s->cfg;
    double lo = 0;
    if (cf->header_timeout_ms > 0)
        lo = cf->header_timeout_ms;
    if (cf->write_timeout_ms > 0 && (lo == 0 || cf->write_timeout_ms < lo))
        lo = cf->write_timeout_ms;
    if (lo == 0)
        return;
    uint64_t every = (uint64_t)(lo / 4);
    every = every < 10 ? 10 : every > 1000 ? 1000 : every;
    uv_timer_init(s->loop, &s->sweep);
    s->sweep.data = s;
    s->sweep_on = 1;
    uv_timer_start(&s->sweep, on_sweep, every, every);
}

void sim_conns_stop(sim_server *s)
{
    if (s->sweep_on)
        uv_close((uv_handle_t *)&s->sweep, NULL);
    s->sweep_on = 0;
}

/* ----------------------------------------------------------- accept */

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
    static char rbuf[65536]; /* single-threaded: data is copied at once */
    (void)h, (void)hint;
    *buf = uv_buf_init(rbuf, sizeof rbuf);
}

static void on_read(uv_stream_t *st, ssize_t n, const uv_buf_t *buf)
{
    sim_conn *c = st->data;
    if (n < 0) {
        sim_conn_close(c, 0);
        return;
    }
    if (n > 0)
        sim_parse_feed(c, buf->base, (size_t)n);
}

static void conn_link(sim_server *s, sim_conn *c)
{
    c->srv = s;
    http_parser_init(&c->parser, HTTP_REQUEST);
    c->parser.data = c;
    c->next = s->conns;
    if (s->conns)
        s->conns->prev = c;
    s->conns = c;
    if (++s->st.connections > s->st.max_connections)
        s->st.max_connections = s->st.connections;
}

void sim_conn_accept(sim_server *s)
{
    sim_conn *c = calloc(1, sizeof *c);
    if (!c)
        abort();
    uv_tcp_init(s->loop, &c->tcp);
    c->tcp.data = c;
    if (uv_accept((uv_stream_t *)&s->listener, (uv_stream_t *)&c->tcp) < 0) {
        uv_close((uv_handle_t *)&c->tcp, on_close);
        return;
    }
    uv_tcp_nodelay(&c->tcp, 1);
    conn_link(s, c);
    if (uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) < 0)
        sim_conn_close(c, 0);
}

sim_conn *sim_conn_new_fake(sim_server *s)
{
    sim_conn *c = calloc(1, sizeof *c);
    if (!c)
        abort();
    c->fake = 1;
    conn_link(s, c);
    return c;
}

void sim_conn_free_fake(sim_conn *c)
{
    sim_conn_close(c, 0);
    on_close((uv_handle_t *)&(uv_handle_t){.data = c});
}
