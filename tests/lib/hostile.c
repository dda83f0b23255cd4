/*
 * tests/lib/hostile.c: a one-file HTTP server that misbehaves on purpose,
 * for the tests of what a client must survive (tests/e2e/test-streams.sh,
 * test-secrets.sh). Built by the test with `cc`; one connection at a time,
 * one request per connection (Connection: close).
 *   hostile MODE [N]   prints "PORT\n" on stdout once it listens
 * Modes (the first N chat requests misbehave, then a good answer; N = 0:
 * all; what is not a POST to a chat path, such as /api/show or a run's
 * preflight, is a 404 and not counted, but in echo and redirect modes):
 *   endless      a 200 NDJSON stream of 64 KiB chunks that never ends
 *   nomsg        a streamed final chunk without a message ({"done":true})
 *   content42    a streamed final chunk whose content is the number 42
 *   sse-empty    an SSE stream of `choices: []` then [DONE]
 *   echo-auth    400 whose error message echoes the Authorization header
 *   429-date     429 with Retry-After as an HTTP-date 2 s ahead
 *   notdone      a non-streamed answer with done:false
 *   echo         answers every chat with the request body as its content
 *                (quotes turned to ', no token counts; OpenAI shape under
 *                /v1, an SSE stream there when the body asks to stream);
 *                /api/show lists "thinking" for a model named *think*
 *   redirect     301 from /api/chat to /moved/api/chat, which answers a POST
 *                (a GET gets a 404, as a chat endpoint would)
 *   redirect-host  the same, to http://localhost:PORT/moved/api/chat: another
 *                host name for the same server
 *   othermodel   good answers that name the model "other:7b"
 *   ctx          400 "the input length exceeds the context length" (Ollama,
 *                truncate=false)
 *   nostream     ignores stream:true: one JSON body (application/json), in
 *                OpenAI's shape under /v1, else Ollama's spread over lines
 *                (pretty-printed) with its server timings
 *   quota        429 with OpenAI's insufficient_quota error (no Retry-After)
 *   429          429 with no Retry-After
 *   ndjson-json  a good NDJSON stream labelled Content-Type: application/json
 *   slow MS      (N is the delay) every chat answered well after MS ms
 *   keepalive MS every chat answered well on a keep-alive connection, which
 *                the server closes MS ms after the answer (N is MS)
 *   request      every request (any method and path) answered 200
 *                text/plain with the request as it came (head and body),
 *                its first line also in the header X-Request (for a HEAD)
 * The good answer is an Ollama chat reply (NDJSON when the request asked
 * for a stream), or OpenAI's under /v1 (SSE when it asked for a stream, and
 * always for sse-empty).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int send_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static int say(int fd, const char *s)
{
    return send_all(fd, s, strlen(s));
}

/* Reads the request (headers, then Content-Length bytes) into buf. */
static size_t read_request(int fd, char *buf, size_t cap)
{
    size_t n = 0;
    char *end = NULL;
    while (n + 1 < cap) {
        ssize_t r = read(fd, buf + n, cap - 1 - n);
        if (r <= 0)
            break;
        n += (size_t)r;
        buf[n] = '\0';
        if (!end && (end = strstr(buf, "\r\n\r\n"))) {
            const char *cl = strcasestr(buf, "\ncontent-length:");
            size_t want = (size_t)(end + 4 - buf) + (cl ? strtoul(cl + 16, NULL, 10) : 0);
            if (n >= want)
                break;
        } else if (end) {
            const char *cl = strcasestr(buf, "\ncontent-length:");
            if (n >= (size_t)(end + 4 - buf) + (cl ? strtoul(cl + 16, NULL, 10) : 0))
                break;
        }
    }
    buf[n] = '\0';
    return n;
}

static const char GOOD_NDJSON[] =
    "{\"model\":\"m\",\"message\":{\"role\":\"assistant\",\"content\":\"The answer is 4.\"},\"done\":false}\n"
    "{\"model\":\"m\",\"message\":{\"role\":\"assistant\",\"content\":\"\"},\"done\":true,"
    "\"done_reason\":\"stop\",\"prompt_eval_count\":5,\"eval_count\":6}\n";
static const char GOOD_JSON[] =
    "{\"model\":\"m\",\"message\":{\"role\":\"assistant\",\"content\":\"The answer is 4.\"},\"done\":true,"
    "\"done_reason\":\"stop\",\"prompt_eval_count\":5,\"eval_count\":6}";
static const char OTHER_NDJSON[] =
    "{\"model\":\"other:7b\",\"message\":{\"role\":\"assistant\",\"content\":\"The answer is 4.\"},\"done\":false}\n"
    "{\"model\":\"other:7b\",\"message\":{\"role\":\"assistant\",\"content\":\"\"},\"done\":true,"
    "\"done_reason\":\"stop\",\"prompt_eval_count\":5,\"eval_count\":6}\n";
static const char OTHER_JSON[] =
    "{\"model\":\"other:7b\",\"message\":{\"role\":\"assistant\",\"content\":\"The answer is 4.\"},\"done\":true,"
    "\"done_reason\":\"stop\",\"prompt_eval_count\":5,\"eval_count\":6}";
static int port; /* the port it listens on */
static const char GOOD_SSE[] =
    "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"The answer is 4.\"}}]}\n\n"
    "data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n"
    "data: [DONE]\n\n";

static const char GOOD_OPENAI[] =
    "{\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"The answer is 4.\"},"
    "\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":6}}";

static void head(int fd, int status, const char *type, const char *extra)
{
    char h[512];
    snprintf(h, sizeof h, "HTTP/1.1 %d X\r\nContent-Type: %s\r\nConnection: close\r\n%s\r\n", status,
             type, extra ? extra : "");
    say(fd, h);
}

static void good(int fd, const char *mode, const char *req)
{
    if (strcmp(mode, "sse-empty") == 0 || (strncmp(req, "POST /v1/", 9) == 0 && strstr(req, "\"stream\":true"))) {
        head(fd, 200, "text/event-stream", NULL);
        say(fd, GOOD_SSE);
    } else if (strncmp(req, "POST /v1/", 9) == 0) {
        head(fd, 200, "application/json", NULL);
        say(fd, GOOD_OPENAI);
    } else if (strstr(req, "\"stream\":true")) {
        head(fd, 200, "application/x-ndjson", NULL);
        say(fd, GOOD_NDJSON);
    } else {
        head(fd, 200, "application/json", NULL);
        say(fd, GOOD_JSON);
    }
}

static void echo(int fd, const char *req)
{
    const char *body = strstr(req, "\r\n\r\n");
    body = body ? body + 4 : "";
    if (strncmp(req, "POST /api/show", 14) == 0) {
        head(fd, 200, "application/json", NULL);
        say(fd, strstr(body, "think") ? "{\"capabilities\":[\"completion\",\"thinking\"]}"
                                      : "{\"capabilities\":[\"completion\"]}");
        return;
    }
    static char esc[1 << 20];
    size_t n = 0;
    for (const char *p = body; *p && n + 2 < sizeof esc; p++)
        esc[n++] = *p == '"' ? '\'' : (*p == '\\' || *p == '\n' || *p == '\r') ? ' ' : *p;
    esc[n] = '\0';
    if (strncmp(req, "POST /v1/", 9) == 0 && strstr(body, "\"stream\":true")) {
        /* a streamed request (chat{} streams on the wire in an auto window) */
        head(fd, 200, "text/event-stream", NULL);
        say(fd, "data: {\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"");
        say(fd, esc);
        say(fd, "\"}}]}\n\ndata: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n"
                "data: [DONE]\n\n");
        return;
    }
    head(fd, 200, "application/json", NULL);
    if (strncmp(req, "POST /v1/", 9) == 0) {
        say(fd, "{\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"");
        say(fd, esc);
        say(fd, "\"},\"finish_reason\":\"stop\"}]}");
    } else {
        say(fd, "{\"model\":\"m\",\"message\":{\"role\":\"assistant\",\"content\":\"");
        say(fd, esc);
        say(fd, "\"},\"done\":true,\"done_reason\":\"stop\"}");
    }
}

static void nostream(int fd, const char *req)
{
    head(fd, 200, "application/json", NULL);
    if (strncmp(req, "POST /v1/", 9) == 0)
        say(fd, "{\"id\":\"x\",\"object\":\"chat.completion\",\"model\":\"m\",\"choices\":[{\"index\":0,"
                "\"message\":{\"role\":\"assistant\",\"content\":\"The answer is 4.\"},"
                "\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":6}}");
    else
        say(fd, "{\n  \"model\": \"m\",\n  \"message\": {\n    \"role\": \"assistant\",\n"
                "    \"content\": \"The answer is 4.\"\n  },\n  \"done\": true,\n  \"done_reason\": \"stop\",\n"
                "  \"total_duration\": 3000000,\n  \"load_duration\": 0,\n  \"prompt_eval_duration\": 1000000,\n"
                "  \"eval_duration\": 2000000,\n  \"prompt_eval_count\": 5,\n  \"eval_count\": 6\n}\n");
}

static void bad(int fd, const char *mode, const char *req)
{
    if (strcmp(mode, "nostream") == 0) {
        nostream(fd, req);
        return;
    }
    if (strcmp(mode, "quota") == 0) {
        head(fd, 429, "application/json", NULL);
        say(fd, "{\"error\":{\"message\":\"You exceeded your current quota, please check your plan and "
                "billing details.\",\"type\":\"insufficient_quota\",\"param\":null,"
                "\"code\":\"insufficient_quota\"}}");
        return;
    }
    if (strcmp(mode, "ndjson-json") == 0) {
        head(fd, 200, "application/json", NULL);
        say(fd, GOOD_NDJSON);
        return;
    }
    if (strcmp(mode, "429") == 0) {
        head(fd, 429, "application/json", NULL);
        say(fd, "{\"error\":\"slow down\"}");
        return;
    }
    if (strcmp(mode, "echo") == 0) {
        echo(fd, req);
        return;
    }
    if (strcmp(mode, "othermodel") == 0) {
        int stream = strstr(req, "\"stream\":true") != NULL;
        head(fd, 200, stream ? "application/x-ndjson" : "application/json", NULL);
        say(fd, stream ? OTHER_NDJSON : OTHER_JSON);
        return;
    }
    if (strcmp(mode, "redirect") == 0 || strcmp(mode, "redirect-host") == 0) {
        if (strncmp(req, "GET ", 4) == 0) {
            head(fd, 404, "text/plain", NULL);
            say(fd, "404 page not found");
        } else if (strncmp(req, "POST /api/chat", 14) == 0) {
            char loc[128] = "Location: /moved/api/chat\r\n";
            if (mode[8]) /* redirect-host */
                snprintf(loc, sizeof loc, "Location: http://localhost:%d/moved/api/chat\r\n", port);
            head(fd, 301, "text/plain", loc);
        } else {
            good(fd, mode, req);
        }
        return;
    }
    if (strcmp(mode, "notdone") == 0) {
        head(fd, 200, "application/json", NULL);
        say(fd, "{\"model\":\"m\",\"message\":{\"role\":\"assistant\",\"content\":\"The\"},\"done\":false}");
        return;
    }
    if (strcmp(mode, "ctx") == 0) {
        head(fd, 400, "application/json", NULL);
        say(fd, "{\"error\":\"the input length exceeds the context length\"}");
        return;
    }
    if (strcmp(mode, "endless") == 0) {
        head(fd, 200, "application/x-ndjson", NULL);
        static char chunk[65536 + 128];
        int n = snprintf(chunk, sizeof chunk, "{\"message\":{\"role\":\"assistant\",\"content\":\"");
        memset(chunk + n, 'x', 65536);
        n += 65536;
        n += snprintf(chunk + n, sizeof chunk - (size_t)n, "\"},\"done\":false}\n");
        while (send_all(fd, chunk, (size_t)n) == 0)
            ;
    } else if (strcmp(mode, "nomsg") == 0) {
        head(fd, 200, "application/x-ndjson", NULL);
        say(fd, "{\"done\":true,\"done_reason\":\"stop\"}\n");
    } else if (strcmp(mode, "content42") == 0) {
        head(fd, 200, "application/x-ndjson", NULL);
        say(fd, "{\"message\":{\"role\":\"assistant\",\"content\":42},\"done\":true}\n");
    } else if (strcmp(mode, "sse-empty") == 0) {
        head(fd, 200, "text/event-stream", NULL);
        say(fd, "data: {\"choices\":[]}\n\ndata: [DONE]\n\n");
    } else if (strcmp(mode, "echo-auth") == 0) {
        const char *a = strcasestr(req, "\nauthorization:");
        char v[256] = "";
        if (a)
            sscanf(a + 15, " %255[^\r\n]", v);
        char body[600];
        snprintf(body, sizeof body, "{\"error\":{\"message\":\"invalid credentials: %s\"}}", v);
        head(fd, 400, "application/json", NULL);
        say(fd, body);
    } else if (strcmp(mode, "429-date") == 0) {
        char date[64], extra[128];
        time_t t = time(NULL) + 2;
        strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", gmtime(&t));
        snprintf(extra, sizeof extra, "Retry-After: %s\r\n", date);
        head(fd, 429, "application/json", extra);
        say(fd, "{\"error\":\"slow down\"}");
    }
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return 2;
    const char *mode = argv[1];
    long nbad = argc > 2 ? atol(argv[2]) : 0;
    signal(SIGPIPE, SIG_IGN);
    int s = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    if (bind(s, (struct sockaddr *)&a, sizeof a) || listen(s, 64) ||
        getsockname(s, (struct sockaddr *)&a, &len))
        return 1;
    port = ntohs(a.sin_port);
    printf("%d\n", port);
    fflush(stdout);
    static char req[1 << 20];
    for (long k = 0;; k++) {
        int c = accept(s, NULL, NULL);
        if (c < 0)
            continue;
        read_request(c, req, sizeof req);
        size_t line = strcspn(req, "\r\n");
        int chat = strncmp(req, "POST ", 5) == 0 && memmem(req, line, "/chat", 5);
        if (strcmp(mode, "keepalive") == 0) {
            char h[160];
            snprintf(h, sizeof h, "HTTP/1.1 %d X\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n\r\n",
                     chat ? 200 : 404, chat ? strlen(GOOD_JSON) : (size_t)2);
            say(c, h);
            say(c, chat ? GOOD_JSON : "{}");
            usleep((useconds_t)nbad * 1000); /* idle, kept alive: then closed under the client */
        } else if (strcmp(mode, "request") == 0) {
            char extra[300];
            snprintf(extra, sizeof extra, "X-Request: %.*s\r\n", (int)(line < 256 ? line : 256), req);
            head(c, 200, "text/plain", extra);
            say(c, req);
        } else if (!chat && strcmp(mode, "echo") != 0 && strcmp(mode, "redirect") != 0) {
            /* /api/show (no capabilities), the run's preflight: not counted */
            head(c, 404, "application/json", NULL);
            say(c, "{\"error\":\"not found\"}");
            k--;
        } else if (strcmp(mode, "slow") == 0) {
            usleep((useconds_t)nbad * 1000);
            good(c, mode, req);
        } else if (nbad == 0 || k < nbad)
            bad(c, mode, req);
        else
            good(c, mode, req);
        shutdown(c, SHUT_WR);
        close(c);
    }
}
