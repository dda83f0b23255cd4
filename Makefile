# ollaeval: two binaries. `./ollaeval`, the engine (core/*.c): Lua 5.4,
# libuv and lua-cjson linked statically from Debian's -dev packages, libcurl,
# libcrypto, cJSON and SQLite (the request cache) dynamically; the Lua half (core/prelude.lua,
# core/lua/*.lua as ollaeval.<name>, evals/*.lua as evals.<name>) is embedded
# compiled, by core/tools/embed.c at build time. `./ollaeval-sim`, the simulator (core/sim/*.c and
# core/buf.c; `ollaeval sim` execs it): libuv and http-parser statically,
# cJSON dynamically. `make test` builds and runs every test.
#   make            build ./ollaeval and ./ollaeval-sim (installs missing
#                   packages first)
#   make test       run the test suite (tests/run; tests/README.md)
#   make test-fast  the pure library layer only (tests/evals, a few seconds)
#   make asan       build build-asan/ollaeval(-sim) with ASan + UBSan
#   make test-bins  the C unit-test programs (tests/engine/*_test.c)
#   make test-asan  run the test suite against the sanitizer build
#   make bench      benchmarks (bench/: the engine, the simulator, the whole
#                   pipeline at 1,319 and 100,000 items; BENCH_FULL=1 adds 1M)
#   make demo       GSM8K (else synthetic problems) against local Ollama, else
#                   against `ollaeval sim`; DEMO_ARGS="--limit 40" limits it
#   make fuzz       libFuzzer targets, bounded time
CC      ?= cc
MODE    ?= release
B       := build
LIBDIR  := /usr/lib/x86_64-linux-gnu
WARN    := -Wall -Wextra -Wshadow -Wundef -Wwrite-strings -Wmissing-prototypes \
           -Wno-unused-parameter
CFLAGS  ?= -O2 -g
CFLAGS  += -std=gnu11 $(WARN) -I/usr/include/lua5.4 -D_GNU_SOURCE
LDLIBS  := $(LIBDIR)/liblua5.4-cjson.a $(LIBDIR)/liblua5.4.a $(LIBDIR)/libuv_a.a \
           $(shell pkg-config --libs libcurl 2>/dev/null || echo -lcurl) -lcjson -lcrypto -lsqlite3 \
           -lpthread -ldl -lrt -lm
SIM_LDLIBS := $(LIBDIR)/libuv_a.a $(LIBDIR)/libhttp_parser.a -lcjson -lpthread -ldl -lrt -lm
ifeq ($(MODE),asan)
B       := build-asan
CFLAGS  += -O1 -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS += -fsanitize=address,undefined
endif

SRCS    := $(wildcard core/*.c)
OBJS    := $(SRCS:core/%.c=$(B)/%.o) $(B)/embedded.o
LUA_MOD := $(wildcard core/lua/*.lua)
LUA_EMB := core/prelude.lua $(LUA_MOD) $(wildcard evals/*.lua)
BIN     := $(if $(filter asan,$(MODE)),$(B)/ollaeval,ollaeval)
# the simulator: its own object group, and the only user of http-parser
SIM_SRCS := $(wildcard core/sim/*.c)
SIM_OBJS := $(SIM_SRCS:core/sim/%.c=$(B)/sim/%.o) $(B)/buf.o
SIM_BIN  := $(if $(filter asan,$(MODE)),$(B)/ollaeval-sim,ollaeval-sim)
V       ?= @

all: $(BIN) $(SIM_BIN)

$(BIN): $(OBJS)
	@echo "LINK $@"
	$(V)$(CC) $(LDFLAGS) -o $@ $(OBJS) $(LDLIBS)

$(SIM_BIN): $(SIM_OBJS)
	@echo "LINK $@"
	$(V)$(CC) $(LDFLAGS) -o $@ $(SIM_OBJS) $(SIM_LDLIBS)

$(B)/%.o: core/%.c core/*.h $(B)/.deps | $(B)
	@echo "CC   $<"
	$(V)$(CC) $(CFLAGS) -c -o $@ $<

$(B)/sim/%.o: core/sim/%.c core/sim/sim.h core/buf.h $(B)/.deps | $(B)
	@mkdir -p $(B)/sim
	@echo "CC   $<"
	$(V)$(CC) $(CFLAGS) -c -o $@ $<

# the generator of embedded.c runs on the build machine, linked to the same
# liblua5.4.a as the engine (its bytecode is the format the engine loads)
$(B)/embed: core/tools/embed.c $(B)/.deps | $(B)
	@echo "CC   $<"
	$(V)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(LIBDIR)/liblua5.4.a -lcrypto -ldl -lm

# (a module that does not compile stops the build, naming FILE:LINE)
$(B)/embedded.c: $(LUA_EMB) $(B)/embed | $(B)
	@echo "GEN  $@"
	$(V)$(B)/embed prelude=core/prelude.lua \
	    $(foreach f,$(LUA_MOD),ollaeval.$(basename $(notdir $(f)))=$(f)) \
	    $(foreach f,$(wildcard evals/*.lua),evals.$(basename $(notdir $(f)))=$(f)) > $@.tmp && mv $@.tmp $@

$(B)/embedded.o: $(B)/embedded.c core/oe.h
	@echo "CC   $<"
	$(V)$(CC) $(CFLAGS) -Wno-overlength-strings -c -o $@ $<

$(B):
	@mkdir -p $(B)

# C unit tests of pure modules, run by tests/engine/test-*.sh.
$(B)/autowin_test: tests/engine/autowin_test.c core/autowin.c core/autowin.h | $(B)
	@echo "LINK $@"
	$(V)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ tests/engine/autowin_test.c core/autowin.c -lm

test-bins: $(B)/autowin_test

# Installs missing Debian packages once (vendor/deps.txt is the one list).
$(B)/.deps: vendor/deps.txt vendor/install.sh | $(B)
	$(V)vendor/install.sh --check 2>/dev/null || vendor/install.sh
	@touch $@

asan:
	$(MAKE) MODE=asan all test-bins

test: all test-bins
	$(V)tests/run ./ollaeval

test-fast: all
	$(V)tests/run ./ollaeval tests/evals

test-asan: asan
	$(V)ASAN_OPTIONS=detect_leaks=1 tests/run build-asan/ollaeval

valgrind: all
	$(V)tests/run --valgrind ./ollaeval

# bench/run: the engine's and the simulator's figures; bench/pipeline.sh: the
# whole GSM8K pipeline at 1,319 and 100,000 items (and 1,000,000 with
# BENCH_FULL=1) beside the Python baseline.
BENCH_SIZES ?= 1319 100000 $(if $(BENCH_FULL),1000000)
bench: all
	$(V)bench/run ./ollaeval
	$(V)bench/pipeline.sh ./ollaeval $(BENCH_SIZES)

demo: all
	$(V)scripts/demo.sh $(DEMO_ARGS)

fuzz:
	$(V)tests/fuzz/run

format:
	clang-format -i core/*.c core/*.h core/sim/*.c core/sim/*.h core/tools/*.c

clean:
	rm -rf build build-asan ollaeval ollaeval-sim

.PHONY: all asan test test-fast test-bins test-asan valgrind bench demo fuzz format clean
