/*
 * fuzz_sim_request.c: libFuzzer target for the simulator's request path:
 * bytes -> http-parser (sim_parse_feed on a socketless connection) ->
 * routing -> JSON validation -> job, answer text, faults -> response bytes.
 *
 * Built and run by tests/fuzz/run (`make fuzz`) from the line below: the
 * simulator's sources without its main() (-DSIM_NO_MAIN), core/buf.c, libuv
 * and http-parser.
 */
// build: -DSIM_NO_MAIN core/sim/*.c core/buf.c /usr/lib/x86_64-linux-gnu/libuv_a.a /usr/lib/x86_64-linux-gnu/libhttp_parser.a -lcjson -lpthread -ldl -lm
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../core/sim/sim.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static sim_server *srv;
static uv_loop_t loop;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    static char path[] = "/tmp/fuzz_sim_dataset.XXXXXX";
    int fd = mkstemp(path);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (!f)
        abort();
    fputs("{\"question\": \"Janet has three apples and buys four more. How many apples?\","
          " \"answer\": \"3 + 4 = <<3+4=7>>7\\n#### 7\"}\n"
          "{\"question\": \"short q\", \"answer\": \"#### 1,234\"}\n"
          "{\"question\": \"Pick one of the letters please, which is right?\","
          " \"choices\": [\"a\", \"b\"], \"answer\": 1}\n", f);
    fclose(f);
    uv_loop_init(&loop);
    srv = calloc(1, sizeof *srv);
    sim_config_defaults(&srv->cfg);
    srv->cfg.time_scale = 0;
    srv->cfg.quiet = 1;
    srv->cfg.tokens_max = 200;
    srv->cfg.parallel = 2;
    srv->cfg.max_queue = 2;
    srv->cfg.dataset = path;
    srv->cfg.fault_rate[F_500] = 0.05;
    srv->cfg.fault_rate[F_429] = 0.05;
    srv->cfg.fault_rate[F_CLOSE] = 0.05;
    srv->cfg.fault_rate[F_STREAM_ERROR] = 0.05;
    srv->cfg.fault_rate[F_TRUNCATE] = 0.05;
    srv->cfg.fault_rate[F_HTML] = 0.05;
    if (sim_server_setup(srv, &loop))
        abort();
    remove(path);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sim_conn *c = sim_conn_new_fake(srv);
    size_t cut = size ? data[0] % (size + 1) : 0; /* feed in two parts */
    sim_parse_feed(c, (const char *)data, cut);
    sim_parse_feed(c, (const char *)data + cut, size - cut);
    uv_run(&loop, UV_RUN_DEFAULT); /* time scale 0: all timers are 0 ms */
    sim_conn_free_fake(c);
    uv_run(&loop, UV_RUN_DEFAULT); /* close job timers */
    return 0;
}
