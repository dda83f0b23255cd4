/*
 * api.c: the simulator's routes. Routes a parsed request, validates JSON
 * bodies the way Ollama and its OpenAI-compatible layer do (same status
 * codes and error texts), answers the metadata endpoints (/api/tags, /ps,
 * /show, /version, /v1/models, /stats), reads the sampling and stop
 * options, applies the context window (truncation, reloads), and turns a
 * generation request into a sim_job for queue.c. The request body is owned by the connection; the
 * parsed cJSON tree lives for one handler call.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>

#include "sim.h"

#define OLLAMA_VERSION "0.33.0"

enum { K_STR = 1, K_NUM = 2, K_BOOL = 4, K_ARR = 8, K_OBJ = 16 };

static const char *go_kind(const cJSON *v)
{
    if (cJSON_IsString(v)) return "string";
    if (cJSON_IsNumber(v)) return "number";
    if (cJSON_IsBool(v)) return "bool";
    if (cJSON_IsArray(v)) return "array";
    return "object";
}

static int kind_ok(const cJSON *v, int want)
{
    if (!v || cJSON_IsNull(v)) return 1;
    return ((want & K_STR) && cJSON_IsString(v)) ||
           ((want & K_NUM) && cJSON_IsNumber(v)) ||
           ((want & K_BOOL) && cJSON_IsBool(v)) ||
           ((want & K_ARR) && cJSON_IsArray(v)) ||
           ((want & K_OBJ) && cJSON_IsObject(v));
}

/* A field check: JSON key, accepted kinds, Go type for the error text. */
typedef struct { const char *key; int kinds; const char *gotype; } field;

static const field chat_fields[] = {
    {"model", K_STR, "string"}, {"messages", K_ARR, "[]api.Message"},
    {"stream", K_BOOL, "bool"}, {"options", K_OBJ, "map[string]interface {}"},
    {"keep_alive", K_STR | K_NUM, "api.Duration"}, {"tools", K_ARR, "api.Tools"},
    {"think", K_BOOL | K_STR, "api.ThinkValue"}, {"truncate", K_BOOL, "*bool"},
    {"shift", K_BOOL, "*bool"}, {NULL, 0, NULL}};
static const field gen_fields[] = {
    {"model", K_STR, "string"}, {"prompt", K_STR, "string"},
    {"system", K_STR, "string"}, {"suffix", K_STR, "string"},
    {"template", K_STR, "string"}, {"raw", K_BOOL, "bool"},
    {"context", K_ARR, "[]int"}, {"stream", K_BOOL, "bool"},
    {"options", K_OBJ, "map[string]interface {}"},
    {"keep_alive", K_STR | K_NUM, "api.Duration"},
    {"think", K_BOOL | K_STR, "api.ThinkValue"}, {"truncate", K_BOOL, "*bool"},
    {"shift", K_BOOL, "*bool"}, {NULL, 0, NULL}};
static const field oai_fields[] = {
    {"model", K_STR, "string"}, {"messages", K_ARR, "[]openai.Message"},
    {"stream", K_BOOL, "bool"}, {"max_tokens", K_NUM, "int"},
    {"stream_options", K_OBJ, "openai.StreamOptions"},
    {"reasoning_effort", K_STR, "string"}, {"temperature", K_NUM, "float64"},
    {"top_p", K_NUM, "float64"}, {"seed", K_NUM, "int"},
    {"frequency_penalty", K_NUM, "float64"}, {"presence_penalty", K_NUM, "float64"},
    {"stop", K_STR | K_ARR, "any"}, {"response_format", K_OBJ, "openai.ResponseFormat"},
    {NULL, 0, NULL}};

static int check_fields(const cJSON *root, const field *f, const char *sname,
                        char *err, size_t n)
{
    for (; f->key; f++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, f->key);
        if (!kind_ok(v, f->kinds)) {
            snprintf(err, n,
                     "json: cannot unmarshal %s into Go struct field %s.%s of "
                     "type %s",
                     go_kind(v), sname, f->key, f->gotype);
            return -1;
        }
    }
    return 0;
}

/* Options: wrong types fail with 500, as Ollama's FromMap does. */
static int check_options(const cJSON *opts, char *err, size_t n)
{
    static const char *const ints[] = {
        "num_ctx", "num_predict", "seed", "top_k", "num_batch", "num_gpu",
        "num_thread", "main_gpu", "num_keep", "repeat_last_n", NULL};
    static const char *const floats[] = {
        "temperature", "top_p", "min_p", "typical_p", "repeat_penalty",
        "presence_penalty", "frequency_penalty", NULL};
    static const char *const bools[] = {"use_mmap", "numa", "penalize_newline",
                                        "low_vram", "vocab_only", NULL};
    const cJSON *v;
    cJSON_ArrayForEach(v, opts) {
        const char *k = v->string, *type = NULL;
        if (cJSON_IsNull(v)) continue;
        for (int i = 0; ints[i] && !type; i++)
            if (!strcmp(k, ints[i]) && !cJSON_IsNumber(v)) type = "integer";
        for (int i = 0; floats[i] && !type; i++)
            if (!strcmp(k, floats[i]) && !cJSON_IsNumber(v)) type = "float32";
        for (int i = 0; bools[i] && !type; i++)
            if (!strcmp(k, bools[i]) && !cJSON_IsBool(v)) type = "boolean";
        if (!type && !strcmp(k, "stop")) {
            const cJSON *e;
            if (!cJSON_IsArray(v)) type = "array of strings";
            else cJSON_ArrayForEach(e, v) if (!cJSON_IsString(e))
                type = "array of strings";
        }
        if (type) {
            snprintf(err, n, "option \"%s\" must be of type %s", k, type);
            return -1;
        }
    }
    return 0;
}

/* Go's decoder error text for a body cJSON could not parse. */
static void json_error(const char *body, size_t len, char *err, size_t n)
{
    const char *at = cJSON_GetErrorPtr();
    if (!at || at < body || at >= body + len) {
        snprintf(err, n, "unexpected EOF");
        return;
    }
    while (at < body + len && isspace((unsigned char)*at)) at++;
    /* cJSON reports a premature end at the last byte */
    if (at >= body + len - 1 && (at >= body + len || !strchr("}]", *at)))
        snprintf(err, n, "unexpected EOF");
    else if (isprint((unsigned char)*at))
        snprintf(err, n, "invalid character '%c' looking for beginning of value", *at);
    else
        snprintf(err, n, "invalid character '\\x%02x' looking for beginning of value",
                 (unsigned char)*at);
}

/* Parses the body; on failure sends Ollama's 400 and returns NULL. */
static cJSON *parse_body(sim_conn *c, int api, const char *tname)
{
    char err[256];
    if (c->body.len == 0) {
        sim_send_error(c, api, 400, api == API_OPENAI ? "EOF" : "missing request body");
        return NULL;
    }
    cJSON *root = cJSON_ParseWithLengthOpts(c->body.data, c->body.len, NULL, 0);
    if (!root) {
        json_error(c->body.data, c->body.len, err, sizeof err);
        sim_send_error(c, api, 400, err);
        return NULL;
    }
    if (!cJSON_IsObject(root)) {
        snprintf(err, sizeof err, "json: cannot unmarshal %s into Go value of type %s",
                 go_kind(root), tname);
        cJSON_Delete(root);
        sim_send_error(c, api, 400, err);
        return NULL;
    }
    return root;
}

/* ----------------------------------------------------------- metadata */

static void put_details(oe_buf *b, const sim_model *m)
{
    out_printf(b, "{\"parent_model\":\"\",\"format\":\"gguf\",\"family\":\"%s\","
                 "\"families\":[\"%s\"],\"parameter_size\":\"%s\","
                 "\"quantization_level\":\"Q4_K_M\"}",
              m->family, m->family, m->param_size);
}

static void handle_tags(sim_conn *c, int ps)
{
    sim_server *s = c->srv;
    char ts[64], exp[64];
    out_rfc3339(ts, sizeof ts, -86400);
    out_rfc3339(exp, sizeof exp, 300);
    oe_buf b = {0};
    out_puts(&b, "{\"models\":[");
    int first = 1;
    for (int i = 0; i < s->nmodels; i++) {
        sim_model *m = &s->models[i];
        if (ps && !m->ready_at) continue;
        if (!first) out_putc(&b, ',');
        first = 0;
        out_puts(&b, "{\"name\":");
        out_json_cstr(&b, m->name);
        out_puts(&b, ",\"model\":");
        out_json_cstr(&b, m->name);
        if (!ps) out_printf(&b, ",\"modified_at\":\"%s\"", ts);
        out_printf(&b, ",\"size\":%llu,\"digest\":\"%s\",\"details\":",
                  (unsigned long long)m->size, m->digest);
        put_details(&b, m);
        if (ps)
            out_printf(&b, ",\"expires_at\":\"%s\",\"size_vram\":%llu,\"context_length\":%d",
                      exp, (unsigned long long)m->size, m->num_ctx ? m->num_ctx : 4096);
        out_putc(&b, '}');
    }
    out_puts(&b, "]}");
    sim_send(c, 200, "application/json; charset=utf-8", NULL, b.data, b.len);
    buf_free(&b);
}

static void handle_show(sim_conn *c)
{
    cJSON *root = parse_body(c, API_OTHER, "api.ShowRequest");
    if (!root) return;
    char err[300];
    const field f[] = {{"model", K_STR, "string"}, {"name", K_STR, "string"},
                       {"verbose", K_BOOL, "bool"}, {NULL, 0, NULL}};
    if (check_fields(root, f, "ShowRequest", err, sizeof err)) {
        cJSON_Delete(root);
        sim_send_error(c, API_OTHER, 400, err);
        return;
    }
    const char *name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(root, "model"));
    if (!name || !*name)
        name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(root, "name"));
    if (!name || !*name) {
        cJSON_Delete(root);
        sim_send_error(c, API_OTHER, 400, "model is required");
        return;
    }
    sim_model *m = sim_model_find(c->srv, name);
    if (!m) {
        snprintf(err, sizeof err, "model '%.200s' not found", name);
        cJSON_Delete(root);
        sim_send_error(c, API_OTHER, 404, err);
        return;
    }
    cJSON_Delete(root);
    char ts[64];
    out_rfc3339(ts, sizeof ts, -86400);
    oe_buf b = {0};
    out_puts(&b, "{\"modelfile\":");
    oe_buf mf = {0};
    out_printf(&mf, "# Modelfile generated by \"ollama show\"\nFROM %s\n"
                   "TEMPLATE {{ .Prompt }}\nPARAMETER temperature 0.6\n", m->name);
    out_json_str(&b, mf.data, mf.len);
    buf_free(&mf);
    out_puts(&b, ",\"parameters\":\"temperature                    0.6\","
                "\"template\":\"{{ .Prompt }}\",\"details\":");
    put_details(&b, m);
    out_printf(&b, ",\"model_info\":{\"general.architecture\":\"%s\","
                  "\"general.parameter_count\":%llu,\"%s.context_length\":40960},"
                  "\"capabilities\":[\"completion\",\"tools\"%s],\"modified_at\":\"%s\"}",
              m->family, (unsigned long long)(m->size / 0.62), m->family,
              m->thinking ? ",\"thinking\"" : "", ts);
    sim_send(c, 200, "application/json; charset=utf-8", NULL, b.data, b.len);
    buf_free(&b);
}

static void handle_v1_models(sim_conn *c)
{
    sim_server *s = c->srv;
    oe_buf b = {0};
    out_puts(&b, "{\"object\":\"list\",\"data\":[");
    for (int i = 0; i < s->nmodels; i++) {
        out_puts(&b, i ? ",{\"id\":" : "{\"id\":");
        out_json_cstr(&b, s->models[i].name);
        out_puts(&b, ",\"object\":\"model\",\"created\":1760000000,\"owned_by\":\"library\"}");
    }
    out_puts(&b, "]}");
    sim_send(c, 200, "application/json", NULL, b.data, b.len);
    buf_free(&b);
}

/* ----------------------------------------------------------- generation */

/* think: -1 unset, 0 off, 1 low, 2 medium, 3 high, 4 max; -2 invalid. */
static int think_level(const char *v)
{
    static const char *const lv[] = {"low", "medium", "high", "max"};
    for (int i = 0; i < 4; i++)
        if (!strcmp(v, lv[i])) return i + 1;
    return -2;
}

static int parse_think(const cJSON *root, int api, char *err, size_t n)
{
    if (api != API_OPENAI) {
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(root, "think");
        if (!t || cJSON_IsNull(t)) return -1;
        if (cJSON_IsBool(t)) return cJSON_IsTrue(t) ? 2 : 0;
        int l = think_level(t->valuestring);
        if (l < 0)
            snprintf(err, n, "invalid think value: \"%.100s\" (must be \"high\", "
                             "\"medium\", \"low\", true, or false)", t->valuestring);
        return l;
    }
    const cJSON *kw = cJSON_GetObjectItemCaseSensitive(root, "chat_template_kwargs");
    const cJSON *et = cJSON_GetObjectItemCaseSensitive(kw, "enable_thinking");
    const char *e = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(root, "reasoning_effort"));
    if (!e) {
        const cJSON *r = cJSON_GetObjectItemCaseSensitive(root, "reasoning");
        e = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(r, "effort"));
    }
    if (!e) return cJSON_IsFalse(et) ? 0 : -1;
    if (!strcmp(e, "none")) return 0;
    if (!strcmp(e, "minimal")) return 1;
    if (!strcmp(e, "xhigh") || !strcmp(e, "ultra")) return 4;
    int l = think_level(e);
    if (l < 0)
        snprintf(err, n, "invalid reasoning value: '%.100s' (must be \"high\", "
                         "\"medium\", \"low\", or \"none\")", e);
    return l;
}

/* Text of a message's content: a string, or OpenAI text parts joined. */
static const char *msg_text(const cJSON *content, oe_buf *tmp, size_t *len)
{
    if (cJSON_IsString(content)) {
        *len = strlen(content->valuestring);
        return content->valuestring;
    }
    tmp->len = 0;
    const cJSON *part;
    if (cJSON_IsArray(content))
        cJSON_ArrayForEach(part, content) {
            const char *t = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(part, "text"));
            if (t) out_puts(tmp, t);
        }
    *len = tmp->len;
    return tmp->data ? tmp->data : "";
}

/* Validates messages; sums the prompt and finds the last user text.
 * `droppable` gets the byte size (size_t) of each message that truncation
 * may drop, oldest first: every one but system messages and the last. */
static int scan_messages(const cJSON *msgs, int api, uint64_t *h, size_t *bytes,
                         oe_buf *last, oe_buf *droppable, char *err, size_t n)
{
    const char *sn = api == API_OPENAI ? "ChatCompletionRequest" : "ChatRequest";
    const cJSON *m;
    oe_buf tmp = {0};
    cJSON_ArrayForEach(m, msgs) {
        const cJSON *role = cJSON_GetObjectItemCaseSensitive(m, "role");
        const cJSON *content = cJSON_GetObjectItemCaseSensitive(m, "content");
        const char *bad = NULL, *gt = "string";
        if (!cJSON_IsObject(m)) bad = "", gt = api == API_OPENAI ? "openai.Message" : "api.Message";
        else if (!kind_ok(role, K_STR)) bad = ".role";
        else if (!kind_ok(content, api == API_OPENAI ? K_STR | K_ARR : K_STR)) bad = ".content";
        if (bad) {
            snprintf(err, n, "json: cannot unmarshal %s into Go struct field %s.messages%s of type %s",
                     go_kind(bad[0] ? (bad[1] == 'r' ? role : content) : m), sn, bad, gt);
            buf_free(&tmp);
            return -1;
        }
        size_t len;
        const char *t = msg_text(content, &tmp, &len);
        const char *r = cJSON_GetStringValue(role);
        *h = sim_hash(t, len, *h ^ (r ? sim_hash(r, strlen(r), 7) : 0));
        *bytes += len + 4;
        if (m->next && !(r && !strcasecmp(r, "system"))) {
            size_t sz = len + 4;
            buf_append(droppable, &sz, sizeof sz);
        }
        if (r && !strcasecmp(r, "user")) {
            last->len = 0;
            buf_append(last, t, len);
        }
    }
    buf_free(&tmp);
    return 0;
}

static void load_reply(sim_conn *c, int api, const char *name, sim_model *m, int unload)
{
    char ts[64];
    out_rfc3339(ts, sizeof ts, 0);
    if (unload) m->ready_at = 0;
    else if (!m->ready_at) m->ready_at = sim_now_ns();
    oe_buf b = {0};
    out_puts(&b, "{\"model\":");
    out_json_cstr(&b, name);
    out_printf(&b, ",\"created_at\":\"%s\",%s,\"done\":true,\"done_reason\":\"%s\"}", ts,
              api == API_CHAT ? "\"message\":{\"role\":\"assistant\",\"content\":\"\"}"
                              : "\"response\":\"\"",
              unload ? "unload" : "load");
    sim_send(c, 200, "application/json; charset=utf-8", NULL, b.data, b.len);
    buf_free(&b);
}

/* Everything a generation request needs, gathered while validating. */
#define MAX_STOP 16
typedef struct {
    int api, stream, think, num_predict, include_usage, raw, empty, unload, json;
    const char *name;
    sim_model *model;
    uint64_t phash;
    size_t bytes;
    oe_buf last;
    const cJSON *schema;
    int sampled, has_seed;
    uint64_t seed;
    const char *stop[MAX_STOP];
    int nstop;
    const char *oai_param, *oai_code; /* for an OpenAI error body */
    int ctx;                          /* the request's num_ctx, 0 = none */
    int prompt_tokens;
    oe_buf droppable;                 /* see scan_messages */
} gen_req;

/*
 * The context window, as Ollama applies it: a request whose num_ctx differs
 * from the one its model was loaded with reloads the model (--load-time
 * again, /stats reloads). A prompt longer than the context (the request's
 * num_ctx, else --num-ctx; none when both are unset) is refused with
 * truncate:false, else shortened silently: the oldest messages but system
 * ones and the last are dropped until it fits, then it is cut to the
 * context. Sets g->prompt_tokens; returns 400 (err filled) or 0.
 */
static int fit_context(sim_server *s, const cJSON *root, gen_req *g, char *err, size_t n)
{
    sim_model *m = g->model;
    int loaded_ctx = m->num_ctx ? m->num_ctx : s->cfg.num_ctx ? s->cfg.num_ctx : 4096;
    if (g->ctx && m->ready_at && g->ctx != loaded_ctx) {
        m->ready_at = 0; /* the next request to start loads it again */
        s->st.reloads++;
    }
    if (g->ctx)
        m->num_ctx = g->ctx;
    int ctx = g->ctx ? g->ctx : s->cfg.num_ctx;
    size_t bytes = g->bytes;
    g->prompt_tokens = 1 + (int)(bytes / 4);
    if (!ctx || g->prompt_tokens <= ctx)
        return 0;
    if (cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(root, "truncate")))
        return snprintf(err, n, "the input length exceeds the context length"), 400;
    s->st.truncated_prompts++;
    const size_t *sz = (const size_t *)g->droppable.data;
    size_t k = g->droppable.len / sizeof *sz;
    for (size_t i = 0; i < k && g->prompt_tokens > ctx; i++) {
        bytes -= sz[i];
        g->prompt_tokens = 1 + (int)(bytes / 4);
    }
    if (g->prompt_tokens > ctx)
        g->prompt_tokens = ctx;
    return 0;
}

/* Sampling and stop sequences: Ollama's options.{temperature,seed,stop},
 * or the top-level fields of /v1. Returns -1 on a bad /v1 stop. */
static int sampling(const cJSON *root, const cJSON *opts, gen_req *g, char *err, size_t n)
{
    const cJSON *src = g->api == API_OPENAI ? root : opts;
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(src, "temperature");
    const cJSON *sd = cJSON_GetObjectItemCaseSensitive(src, "seed");
    g->sampled = cJSON_IsNumber(t) && t->valuedouble > 0;
    g->seed = cJSON_IsNumber(sd) ? (uint64_t)(int64_t)sd->valuedouble : 0;
    g->has_seed = cJSON_IsNumber(sd);
    if (g->sampled && !cJSON_IsNumber(sd)) /* no seed: a fresh draw each time */
        g->seed = 0x9e3779b97f4a7c15ULL * ++g->model->draws;
    const cJSON *st = cJSON_GetObjectItemCaseSensitive(src, "stop"), *e;
    const cJSON *list = cJSON_IsArray(st) ? st : NULL;
    if (cJSON_IsString(st)) {
        g->stop[g->nstop++] = st->valuestring;
        return 0;
    }
    cJSON_ArrayForEach(e, list) {
        if (!cJSON_IsString(e)) {
            snprintf(err, n, "json: cannot unmarshal %s into Go value of type string", go_kind(e));
            return -1;
        }
        if (g->nstop < MAX_STOP)
            g->stop[g->nstop++] = e->valuestring;
    }
    return 0;
}

/* Returns the HTTP status of the failure (err filled), or 0. */
static int validate_gen(sim_conn *c, cJSON *root, gen_req *g, char *err, size_t n)
{
    int api = g->api;
    const field *f = api == API_CHAT ? chat_fields : api == API_GENERATE ? gen_fields : oai_fields;
    const char *sn = api == API_CHAT ? "ChatRequest" : api == API_GENERATE ? "GenerateRequest"
                                                                          : "ChatCompletionRequest";
    if (check_fields(root, f, sn, err, n)) return 400;
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, "model");
    g->name = cJSON_GetStringValue(v);
    if (!g->name || !*g->name) return snprintf(err, n, "model is required"), 400;
    g->model = sim_model_find(c->srv, g->name);
    if (!g->model) return snprintf(err, n, "model '%.200s' not found", g->name), 404;
    const cJSON *opts = cJSON_GetObjectItemCaseSensitive(root, "options");
    if (cJSON_IsObject(opts) && check_options(opts, err, n)) return 500;
    const cJSON *nc = cJSON_GetObjectItemCaseSensitive(opts, "num_ctx");
    if (cJSON_IsNumber(nc) && nc->valuedouble >= 4 && nc->valuedouble <= 40960)
        g->ctx = (int)nc->valuedouble; /* capped at the trained context, as Ollama */
    else if (cJSON_IsNumber(nc) && nc->valuedouble > 40960)
        g->ctx = 40960;
    const cJSON *tl = cJSON_GetObjectItemCaseSensitive(root, "top_logprobs");
    if (cJSON_IsNumber(tl) && (tl->valuedouble < 0 || tl->valuedouble > 20))
        return snprintf(err, n, "top_logprobs must be between 0 and 20"), 400;
    g->think = parse_think(root, api, err, n);
    if (g->think == -2) return 400;
    if (g->think > 0 && !g->model->thinking)
        return snprintf(err, n, "\"%.200s\" does not support thinking", g->name), 400;
    if (g->think < 0) g->think = g->model->thinking ? 2 : 0;
    const cJSON *fmt = cJSON_GetObjectItemCaseSensitive(root, "format");
    if (api != API_OPENAI && fmt && !cJSON_IsNull(fmt) && !cJSON_IsObject(fmt) &&
        !(cJSON_IsString(fmt) && (!strcmp(fmt->valuestring, "json") || !*fmt->valuestring))) {
        char *raw = cJSON_PrintUnformatted(fmt);
        snprintf(err, n, "invalid format: %.100s; expected \"json\" or a valid JSON Schema object",
                 raw ? raw : "");
        free(raw);
        return 400;
    }
    if (api == API_OPENAI) {
        const cJSON *rf = cJSON_GetObjectItemCaseSensitive(root, "response_format");
        const char *rt = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(rf, "type"));
        g->json = rt && (!strcmp(rt, "json_object") || !strcmp(rt, "json_schema"));
        if (rt && !strcmp(rt, "json_schema"))
            g->schema = cJSON_GetObjectItemCaseSensitive(
                cJSON_GetObjectItemCaseSensitive(rf, "json_schema"), "schema");
    } else {
        g->json = cJSON_IsObject(fmt) || (cJSON_IsString(fmt) && *fmt->valuestring);
        if (cJSON_IsObject(fmt))
            g->schema = fmt;
    }
    if (sampling(root, opts, g, err, n))
        return 400;
    v = cJSON_GetObjectItemCaseSensitive(root, "stream");
    g->stream = api == API_OPENAI ? cJSON_IsTrue(v) : !cJSON_IsFalse(v);
    v = cJSON_GetObjectItemCaseSensitive(api == API_OPENAI ? root : opts,
                                         api == API_OPENAI ? "max_tokens" : "num_predict");
    g->num_predict = cJSON_IsNumber(v) && v->valuedouble >= 0 && v->valuedouble < 1e9
                         ? (int)v->valuedouble : -1;
    v = cJSON_GetObjectItemCaseSensitive(root, "stream_options");
    g->include_usage = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(v, "include_usage"));
    v = cJSON_GetObjectItemCaseSensitive(root, "keep_alive");
    g->unload = cJSON_IsNumber(v) ? v->valuedouble == 0
                                  : (cJSON_IsString(v) && !strcmp(v->valuestring, "0"));
    g->phash = sim_hash(g->model->name, strlen(g->model->name), c->srv->cfg.seed);
    if (api == API_GENERATE) {
        g->raw = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(root, "raw"));
        const char *sys = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(root, "system"));
        if (g->raw && (sys || cJSON_GetObjectItemCaseSensitive(root, "template") ||
                       cJSON_GetObjectItemCaseSensitive(root, "context")))
            return snprintf(err, n, "raw mode does not support template, system, or context"), 400;
        const char *p = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(root, "prompt"));
        if (!p) p = "";
        if (sys) g->phash = sim_hash(sys, strlen(sys), g->phash), g->bytes += strlen(sys);
        out_puts(&g->last, p);
        g->phash = sim_hash(p, strlen(p), g->phash);
        g->bytes += strlen(p);
        g->empty = !*p;
        return g->empty ? 0 : fit_context(c->srv, root, g, err, n);
    }
    v = cJSON_GetObjectItemCaseSensitive(root, "messages");
    if (api == API_OPENAI && !v) { /* as OpenAI itself answers */
        g->oai_param = "messages", g->oai_code = "missing_required_parameter";
        return snprintf(err, n, "Missing required parameter: 'messages'."), 400;
    }
    if (api == API_OPENAI && cJSON_GetArraySize(v) == 0)
        return snprintf(err, n, "[] is too short - 'messages'"), 400;
    if (scan_messages(v, api, &g->phash, &g->bytes, &g->last, &g->droppable, err, n)) return 400;
    g->empty = api == API_CHAT && cJSON_GetArraySize(v) == 0;
    return g->empty ? 0 : fit_context(c->srv, root, g, err, n);
}

static void handle_gen(sim_conn *c, int api)
{
    static const char *const tnames[] = {"api.ChatRequest", "api.GenerateRequest",
                                         "openai.ChatCompletionRequest"};
    cJSON *root = parse_body(c, api, tnames[api]);
    if (!root) return;
    char err[400];
    gen_req g = {.api = api};
    int st = validate_gen(c, root, &g, err, sizeof err);
    if (st && g.oai_param) {
        sim_send_oai_error(c, st, err, g.oai_param, g.oai_code);
    } else if (st) {
        sim_send_error(c, api, st, err);
    } else if (g.empty) {
        load_reply(c, api, g.name, g.model, g.unload);
    } else {
        sim_job *j = sim_job_new(c->srv, c, api);
        j->model = g.model;
        j->model_name = out_strndup(g.name, strlen(g.name));
        j->stream = g.stream;
        j->include_usage = g.include_usage;
        j->raw = g.raw;
        j->prompt_tokens = g.prompt_tokens;
        j->t_arrival = c->t_arrival;
        sim_ask ask = {.text = g.last.data ? g.last.data : "", .len = g.last.len,
                       .phash = g.phash, .think = g.think, .sampled = g.sampled,
                       .seed = g.seed, .has_seed = g.has_seed, .json = g.json, .schema = g.schema,
                       .stop = g.stop, .nstop = g.nstop};
        sim_answer_make(c->srv, j, &ask);
        if (g.num_predict >= 0 && j->ntok > g.num_predict) {
            j->ntok = g.num_predict;
            j->truncated = 1;
        }
        j->fault = sim_fault_pick(c->srv, g.phash);
        sim_job_submit(j);
    }
    buf_free(&g.last);
    buf_free(&g.droppable);
    cJSON_Delete(root);
}

/* ----------------------------------------------------------- routing */

void sim_route(sim_conn *c)
{
    sim_server *s = c->srv;
    const char *url = c->url.data ? c->url.data : "";
    size_t plen = strcspn(url, "?");
    char path[64];
    if (plen >= sizeof path) plen = sizeof path - 1;
    memcpy(path, url, plen);
    path[plen] = 0;
    int get = c->method == HTTP_GET || c->method == HTTP_HEAD;
    int post = c->method == HTTP_POST;
    if (get && !strcmp(path, "/stats")) {
        oe_buf b = {0};
        sim_stats_json(s, &b);
        sim_send(c, 200, "application/json; charset=utf-8", NULL, b.data, b.len);
        buf_free(&b);
        return;
    }
    s->st.requests++;
    if (get && !strcmp(path, "/")) {
        static const char ok[] = "Ollama is running";
        sim_send(c, 200, "text/plain; charset=utf-8", NULL, ok, sizeof ok - 1);
    } else if (get && !strcmp(path, "/api/version")) {
        static const char v[] = "{\"version\":\"" OLLAMA_VERSION "\"}";
        sim_send(c, 200, "application/json; charset=utf-8", NULL, v, sizeof v - 1);
    } else if (get && !strcmp(path, "/api/tags")) {
        handle_tags(c, 0);
    } else if (get && !strcmp(path, "/api/ps")) {
        handle_tags(c, 1);
    } else if (get && !strcmp(path, "/v1/models")) {
        handle_v1_models(c);
    } else if (post && !strcmp(path, "/api/show")) {
        handle_show(c);
    } else if (post && !strcmp(path, "/api/chat")) {
        handle_gen(c, API_CHAT);
    } else if (post && !strcmp(path, "/api/generate")) {
        handle_gen(c, API_GENERATE);
    } else if (post && !strcmp(path, "/v1/chat/completions")) {
        handle_gen(c, API_OPENAI);
    } else {
        static const char nf[] = "404 page not found";
        sim_send(c, 404, "text/plain", NULL, nf, sizeof nf - 1);
    }
}
