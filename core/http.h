/* http.h: libcurl's multi interface driven by libuv (see http.c). */
#ifndef HTTP_H
#define HTTP_H

#include "req.h"

/* `done` is called when a transfer has ended (r->easy is NULL again, the
 * request is the caller's); `progress` when streamed text arrived (every time, want_progress or not). Both
 * run inside libuv callbacks: they must not run Lua. */
int http_init(uv_loop_t *loop, req_fn done, req_fn progress);
void http_start(oe_req *r);  /* hand a request to libcurl */
/* A request's header list: add its headers, then take the list (see
 * http.c); *shared: the list is http.c's (the request does not free it). */
void http_header_add(const char *name, const char *value);
struct curl_slist *http_headers_take(int *shared);
void http_cancel(oe_req *r); /* abort an in-flight request */
void http_cancel_all(void);
void http_shutdown(void);

#endif
