# ollaeval: one binary, `./ollaeval`. Lua 5.4, libuv, lua-cjson and
# http-parser are linked statically from Debian's -dev packages, libcurl and
# cJSON dynamically. `make test` builds and runs every test.
#   make            build ./ollaeval (installs missing packages first)
#   make test       run the test suite (tests/run)
#   make test-bins  the C unit-test programs (tests/engine/*_test.c)
#   make asan       build build-asan/ollaeval with ASan + UBSan
#   make test-asan  run the test suite against the sanitizer build
#   make bench      benchmarks (bench/)
#   make demo       GSM8K against local Ollama, else against `ollaeval sim`
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
           $(LIBDIR)/libhttp_parser.a \
           $(shell pkg-config --libs libcurl 2>/dev/null || echo -lcurl) -lcjson -lcrypto \
           -lpthread -ldl -lrt -lm
ifeq ($(MODE),asan)
B       := build-asan
CFLAGS  += -O1 -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS += -fsanitize=address,undefined
endif

SRCS    := $(wildcard core/*.c)
OBJS    := $(SRCS:core/%.c=$(B)/%.o) $(B)/embedded.o
LUA_EMB := core/prelude.lua $(wildcard evals/*.lua)
BIN     := $(if $(filter asan,$(MODE)),$(B)/ollaeval,ollaeval)
V       ?= @

all: $(BIN)

$(BIN): $(OBJS)
	@echo "LINK $@"
	$(V)$(CC) $(LDFLAGS) -o $@ $(OBJS) $(LDLIBS)

$(B)/%.o: core/%.c core/*.h $(B)/.deps | $(B)
	@echo "CC   $<"
	$(V)$(CC) $(CFLAGS) -c -o $@ $<

$(B)/embedded.c: $(LUA_EMB) core/embed.sh | $(B)
	@echo "GEN  $@"
	$(V)core/embed.sh prelude=core/prelude.lua \
	    $(foreach f,$(wildcard evals/*.lua),evals.$(basename $(notdir $(f)))=$(f)) > $@

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

test-asan: asan
	$(V)ASAN_OPTIONS=detect_leaks=1 tests/run build-asan/ollaeval

valgrind: all
	$(V)tests/run --valgrind ./ollaeval

bench: all
	$(V)bench/run ./ollaeval

demo: all
	$(V)scripts/demo.sh

fuzz:
	$(V)tests/fuzz/run

format:
	clang-format -i core/*.c core/*.h

clean:
	rm -rf build build-asan ollaeval

.PHONY: all asan test test-bins test-asan valgrind bench demo fuzz format clean
