/*
 * stream.c: incremental parsers for streamed chat responses, fed bytes as
 * libcurl delivers them, never the whole body at once:
 *   NDJSON (Ollama /api/chat, /api/generate): one JSON object per line; the
 *     last has done:true and the metrics; an {"error": ...} line ends the
 *     stream as a failure.
 *   SSE (OpenAI-compatible /v1/chat/completions): "data: {json}" events,
 *     "data: [DONE]" at the end; ":" comment lines are skipped; "data:"
 *     without a space is accepted; {"error": ...} in an event, or an old
 *     llama-server "error: {...}" line, is a failure.
 * A stream that ends without done:true / [DONE] is a failure: a partial
 * answer is never taken as complete. No Lua here; JSON through cJSON.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "stream.h"

#ifndef STREAM_MAX_LINE /* the fuzz target sets a small one */
#define STREAM_MAX_LINE (64u << 20)
#endif
#define MAX_LINE ((size_t)STREAM_MAX_LINE)

void stream_init(oe_stream *s, int format)
{
    memset(s, 0, sizeof *s);
    s->format = format;
}

void stream_free(oe_stream *s)
{
    buf_free(&s->line);
    buf_free(&s->content);
    buf_free(&s->thinking);
    buf_free(&s->new_content);
    buf_free(&s->new_thinking);
    buf_free(&s->final);
}

static void fail_kind(oe_stream *s, int kind, const char *fmt, const char *detail)
{
    if (s->failed)
        return;
    s->failed = kind;
    snprintf(s->error, sizeof s->error, fmt, detail);
}
#define fail(s, fmt, d) fail_kind(s, 2, fmt, d)
#define fail_server(s, fmt, d) fail_kind(s, 1, fmt, d)

static const char *str(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static long num(const cJSON *o, const char *k, long def)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    if (!cJSON_IsNumber(v) || !(v->valuedouble > -1e18 && v->valuedouble < 1e18))
        return def; /* out of a long's range: the cast would be undefined */
    return (long)v->valuedouble;
}

/* Records text that arrived; returns 1 if there was any. */
static int add_text(oe_stream *s, const char *content, const char *thinking, double now)
{
    size_t nc = content ? strlen(content) : 0, nt = thinking ? strlen(thinking) : 0;
    if (nc + nt == 0)
        return 0;
    if (!s->t_first)
        s->t_first = now;
    else
        s->gap_sum += now - s->t_last;
    s->t_last = now;
    s->chunks++;
    if (nt) {
        buf_append(&s->thinking, thinking, nt);
        if (s->keep_new)
            buf_append(&s->new_thinking, thinking, nt);
    }
    if (nc) {
        if (!s->t_first_content)
            s->t_first_content = now;
        buf_append(&s->content, content, nc);
        if (s->keep_new)
            buf_append(&s->new_content, content, nc);
    }
    return 1;
}

/* The message of an error value: a string, or {"message": ...}. */
static void error_value(oe_stream *s, const cJSON *e)
{
    if (cJSON_IsString(e))
        fail_server(s, "error in the stream: %s", e->valuestring);
    else if (cJSON_IsObject(e) && str(e, "message"))
        fail_server(s, "error in the stream: %s", str(e, "message"));
    else
        fail_server(s, "error in the stream%s", "");
}

static int ndjson_line(oe_stream *s, const char *line, size_t len, double now)
{
    cJSON *o = cJSON_ParseWithLength(line, len);
    if (!cJSON_IsObject(o)) {
        cJSON_Delete(o);
        fail(s, "malformed line in the NDJSON stream%s", "");
        return 0;
    }
    int got = 0;
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(o, "error");
    if (e && !cJSON_IsNull(e)) {
        error_value(s, e);
    } else {
        const cJSON *m = cJSON_GetObjectItemCaseSensitive(o, "message");
        if (cJSON_IsObject(m)) /* /api/chat */
            got = add_text(s, str(m, "content"), str(m, "thinking"), now);
        else /* /api/generate */
            got = add_text(s, str(o, "response"), str(o, "thinking"), now);
        if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "done"))) {
            s->done = 1;
            const char *dr = str(o, "done_reason");
            snprintf(s->done_reason, sizeof s->done_reason, "%s", dr ? dr : "stop");
            s->prompt_tokens = num(o, "prompt_eval_count", 0);
            s->completion_tokens = num(o, "eval_count", 0);
            s->final.len = 0;
            buf_append(&s->final, line, len);
        }
    }
    cJSON_Delete(o);
    return got;
}

static int sse_data(oe_stream *s, const char *p, size_t len, double now)
{
    if (len == 6 && memcmp(p, "[DONE]", 6) == 0) {
        s->done = 1;
        if (!s->done_reason[0])
            snprintf(s->done_reason, sizeof s->done_reason, "stop");
        return 0;
    }
    cJSON *o = cJSON_ParseWithLength(p, len);
    if (!cJSON_IsObject(o)) {
        cJSON_Delete(o);
        fail(s, "malformed event in the SSE stream%s", "");
        return 0;
    }
    int got = 0;
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(o, "error");
    if (e && !cJSON_IsNull(e)) {
        error_value(s, e);
        cJSON_Delete(o);
        return 0;
    }
    const cJSON *ch = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(o, "choices"), 0);
    if (cJSON_IsObject(ch)) {
        const cJSON *d = cJSON_GetObjectItemCaseSensitive(ch, "delta");
        if (cJSON_IsObject(d)) {
            const char *r = str(d, "reasoning");
            got = add_text(s, str(d, "content"), r ? r : str(d, "reasoning_content"), now);
        }
        const char *fr = str(ch, "finish_reason");
        if (fr)
            snprintf(s->done_reason, sizeof s->done_reason, "%s", fr);
    }
    const cJSON *u = cJSON_GetObjectItemCaseSensitive(o, "usage");
    if (cJSON_IsObject(u)) {
        s->prompt_tokens = num(u, "prompt_tokens", s->prompt_tokens);
        s->completion_tokens = num(u, "completion_tokens", s->completion_tokens);
    }
    cJSON_Delete(o);
    return got;
}

static int sse_line(oe_stream *s, const char *line, size_t len, double now)
{
    if (len == 0 || line[0] == ':')
        return 0; /* event boundary, or a comment / keep-alive ping */
    if (len >= 5 && memcmp(line, "data:", 5) == 0) {
        size_t skip = (len > 5 && line[5] == ' ') ? 6 : 5;
        return sse_data(s, line + skip, len - skip, now);
    }
    if (len >= 6 && memcmp(line, "error:", 6) == 0) { /* llama-server before #16109 */
        /* the line is not NUL-terminated when it points into curl's buffer */
        char msg[sizeof s->error - 24]; /* room for the prefix below */
        snprintf(msg, sizeof msg, "%.*s", (int)(len - 6 < sizeof msg ? len - 6 : sizeof msg - 1),
                 line + 6);
        fail_server(s, "error in the stream: %s", msg);
        return 0;
    }
    return 0; /* event:, id:, retry: are not used by these servers */
}

static int one_line(oe_stream *s, const char *line, size_t len, double now)
{
    if (len && line[len - 1] == '\r')
        len--;
    if (s->done)
        return 0; /* nothing follows done:true or [DONE] */
    if (s->format == STREAM_NDJSON)
        return len ? ndjson_line(s, line, len, now) : 0;
    return sse_line(s, line, len, now);
}

static void too_long(oe_stream *s)
{
    char limit[32];
    snprintf(limit, sizeof limit, "%zu bytes", MAX_LINE);
    fail(s, "a streamed line is longer than %s", limit);
}

int stream_feed(oe_stream *s, const char *data, size_t len, double now)
{
    int got = 0;
    while (len && !s->failed && !s->done) { /* nothing follows the end */
        const char *nl = memchr(data, '\n', len);
        if (!nl) {
            if (s->line.len + len > MAX_LINE) {
                too_long(s);
                return got;
            }
            buf_append(&s->line, data, len);
            return got;
        }
        size_t n = (size_t)(nl - data);
        if (s->line.len + n > MAX_LINE) { /* however the line was split */
            too_long(s);
            return got;
        }
        if (s->line.len) {
            buf_append(&s->line, data, n);
            got |= one_line(s, s->line.data, s->line.len, now);
            s->line.len = 0;
        } else {
            got |= one_line(s, data, n, now);
        }
        data += n + 1;
        len -= n + 1;
    }
    return got;
}

void stream_end(oe_stream *s, double now)
{
    if (s->line.len && !s->failed) {
        one_line(s, s->line.data, s->line.len, now);
        s->line.len = 0;
    }
    if (!s->done && !s->failed)
        fail(s, "the stream ended before %s", s->format == STREAM_NDJSON ? "done:true" : "data: [DONE]");
}
