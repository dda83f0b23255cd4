/*
 * fuzz_stream.c: libFuzzer target for core/stream.c, the NDJSON and SSE
 * parsers fed bytes as they arrive. The input:
 *   byte 0       bit 0: 0 = NDJSON, 1 = SSE; bits 1-4: K, how many split bytes
 *   bytes 1..K   piece sizes (each % 64; 0 = an empty feed), used in turn
 *   the rest     the response body
 * The body is parsed three times: in one piece, in the pieces above, and
 * byte by byte; each piece is copied to a buffer of its own size, so a read
 * past it is caught by ASan. Invariants (any breach aborts with
 * "fuzz harness: invariant ..."):
 *   - stream_feed() returns 1 exactly when it produced new text;
 *   - content (thinking) always equals the concatenation of the deltas
 *     handed out so far (taken after every feed, as lapi.c does);
 *   - after stream_end(), exactly one of done / failed holds, and a failure
 *     has a message;
 *   - the three splits end in the same state: content, thinking, done,
 *     failed, error, done_reason, token counts, chunks, final.
 * STREAM_MAX_LINE is small here so that the line cap is reached too.
 * tests/fuzz/run builds and runs it:
 *   FUZZ_SECONDS=30 tests/fuzz/run stream
 */
// build: core/stream.c core/buf.c -DSTREAM_MAX_LINE=1000 -lcjson
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../core/stream.h"

#define check(cond, what)                                                         \
    do {                                                                          \
        if (!(cond)) {                                                            \
            fprintf(stderr, "fuzz harness: invariant broken: %s (%s:%d)\n", what, \
                    __FILE__, __LINE__);                                          \
            abort();                                                              \
        }                                                                         \
    } while (0)

typedef struct {
    oe_stream s;
    oe_buf got_content, got_thinking; /* deltas handed out, concatenated */
    double now;
} run;

static int same_buf(const oe_buf *a, const oe_buf *b)
{
    return a->len == b->len && (a->len == 0 || memcmp(a->data, b->data, a->len) == 0);
}

/* What lapi_push_progress() does: take the new text, reset it. */
static void take(run *r)
{
    if (r->s.new_content.len)
        buf_append(&r->got_content, r->s.new_content.data, r->s.new_content.len);
    if (r->s.new_thinking.len)
        buf_append(&r->got_thinking, r->s.new_thinking.data, r->s.new_thinking.len);
    r->s.new_content.len = r->s.new_thinking.len = 0;
    check(same_buf(&r->s.content, &r->got_content), "content == concatenated deltas");
    check(same_buf(&r->s.thinking, &r->got_thinking), "thinking == concatenated deltas");
}

static void feed(run *r, const uint8_t *p, size_t n)
{
    char *copy = malloc(n ? n : 1); /* exactly n bytes: over-reads show */
    if (!copy)
        abort();
    if (n)
        memcpy(copy, p, n);
    int before_failed = r->s.failed;
    int got = stream_feed(&r->s, copy, n, r->now);
    free(copy);
    r->now += 1;
    check(got == 0 || got == 1, "stream_feed returns 0 or 1");
    check(got == (r->s.new_content.len + r->s.new_thinking.len > 0),
          "stream_feed returns 1 exactly when there is new text");
    check(!before_failed || r->s.failed == before_failed, "a failure is final");
    check(!(r->s.done && r->s.failed), "never both done and failed");
    take(r);
}

static void finish(run *r)
{
    stream_end(&r->s, r->now);
    take(r);
    const oe_stream *s = &r->s;
    check((s->done != 0) != (s->failed != 0), "exactly one of done / failed after stream_end");
    check(s->done == 0 || s->done == 1, "done is 0 or 1");
    check(s->failed >= 0 && s->failed <= 2, "failed is 0, 1 or 2");
    check(memchr(s->error, 0, sizeof s->error) != NULL, "error is terminated");
    check(!s->failed || s->error[0], "a failure has a message");
    check(memchr(s->done_reason, 0, sizeof s->done_reason) != NULL, "done_reason is terminated");
    check(s->chunks >= 0, "chunks >= 0");
    check(s->line.len == 0 || s->failed || s->done, "no line left over");
    check(s->gap_sum >= 0 && (!s->t_first || s->t_first <= s->t_last), "times in order");
    check(!s->t_first_content || s->t_first_content >= s->t_first, "first content after first text");
}

static void run_free(run *r)
{
    stream_free(&r->s);
    buf_free(&r->got_content);
    buf_free(&r->got_thinking);
}

static void same_state(const oe_stream *a, const oe_stream *b, const char *split)
{
    char what[96];
#define SAME(cond, field)                                                              \
    do {                                                                               \
        snprintf(what, sizeof what, "split %s gives the same %s as one piece", split, \
                 field);                                                               \
        check(cond, what);                                                             \
    } while (0)
    SAME(same_buf(&a->content, &b->content), "content");
    SAME(same_buf(&a->thinking, &b->thinking), "thinking");
    SAME(same_buf(&a->final, &b->final), "final");
    SAME(a->done == b->done, "done");
    SAME(a->failed == b->failed, "failed");
    SAME(strcmp(a->error, b->error) == 0, "error");
    SAME(strcmp(a->done_reason, b->done_reason) == 0, "done_reason");
    SAME(a->prompt_tokens == b->prompt_tokens, "prompt_tokens");
    SAME(a->completion_tokens == b->completion_tokens, "completion_tokens");
    SAME(a->chunks == b->chunks, "chunks");
#undef SAME
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    int format = (data[0] & 1) ? STREAM_SSE : STREAM_NDJSON;
    size_t k = (data[0] >> 1) & 15;
    if (size < 1 + k)
        return 0;
    const uint8_t *sizes = data + 1;
    const uint8_t *body = data + 1 + k;
    size_t len = size - 1 - k;

    run whole = {0}, pieces = {0}, bytes = {0};
    stream_init(&whole.s, format);
    stream_init(&pieces.s, format);
    stream_init(&bytes.s, format);
    whole.s.keep_new = pieces.s.keep_new = bytes.s.keep_new = 1; /* as for request_next */

    feed(&whole, body, len);
    finish(&whole);

    for (size_t off = 0, i = 0; off < len; i++) {
        size_t n = k ? sizes[i % k] % 64 : 7;
        if (n > len - off)
            n = len - off;
        feed(&pieces, body + off, n);
        off += n;
        if (i > 4 * len + 64) /* all sizes 0: give the rest at once */
            n = len - off, feed(&pieces, body + off, n), off += n;
    }
    finish(&pieces);

    for (size_t off = 0; off < len; off++)
        feed(&bytes, body + off, 1);
    finish(&bytes);

    same_state(&whole.s, &pieces.s, "in pieces");
    same_state(&whole.s, &bytes.s, "byte by byte");

    run_free(&whole);
    run_free(&pieces);
    run_free(&bytes);
    return 0;
}
