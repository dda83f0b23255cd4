/* stream.h: incremental parsers for streamed responses (see stream.c). */
#ifndef STREAM_H
#define STREAM_H

#include "buf.h"

enum { STREAM_NDJSON = 1, STREAM_SSE = 2 };

/* What a streamed response has said so far. Owned by its oe_req. */
typedef struct oe_stream {
    int format;             /* STREAM_NDJSON (Ollama) or STREAM_SSE (OpenAI) */
    oe_buf line;            /* a line not yet complete */
    oe_buf content, thinking;           /* the whole text so far */
    oe_buf new_content, new_thinking;   /* text not yet handed to Lua (only
                                           when keep_new: someone reads it) */
    int keep_new;           /* 1: fill new_content/new_thinking (request_next) */
    oe_buf final;           /* NDJSON: the done:true object, as sent */
    int done;               /* NDJSON done:true, or SSE [DONE] */
    int failed;             /* 1: the server sent an error; 2: malformed or cut short */
    char done_reason[32];   /* "stop", "length", ... (finish_reason) */
    char error[512];
    long prompt_tokens, completion_tokens;
    long chunks;            /* events that carried text */
    double t_first, t_first_content, t_last; /* ms, monotonic; 0 = not yet */
    double gap_sum;         /* sum of gaps between text events */
} oe_stream;

void stream_init(oe_stream *s, int format);
void stream_free(oe_stream *s);
/* Feeds bytes as they arrive; `now` is oe_now(). Returns 1 when new text
 * arrived, 0 otherwise. Errors are recorded in s->failed / s->error. */
int stream_feed(oe_stream *s, const char *data, size_t len, double now);
/* At the end of the body: a last line without a newline is parsed, and a
 * stream that never said it was done is marked failed. */
void stream_end(oe_stream *s, double now);

#endif
