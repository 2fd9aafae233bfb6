# netfil build.  "make" builds everything, "make test" runs the test suite,
# "make demo" runs the built-in example.
.DELETE_ON_ERROR:

CC      ?= cc
CLANG   ?= clang
BPFTOOL ?= bpftool
ARCH    := $(shell uname -m | sed 's/x86_64/x86/; s/aarch64/arm64/')

O       := build
CFLAGS  ?= -O2 -g
WARN    := -Wall -Wextra -Werror
CPPFLAGS += -I$(O) -Ilib -Ibpf
LDLIBS  := -lbpf -lelf -lz -ljansson -lnetfilter_queue -lnftnl -lmnl
SAN     := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all

LIB_SRC := lib/open.c lib/load.c lib/netns.c lib/tc.c lib/reaper.c lib/filter.c lib/owner.c lib/parse.c lib/events.c lib/period.c lib/text.c lib/txn.c lib/sysctl.c lib/names.c lib/json.c \
	   lib/proxy.c lib/relay.c lib/origin.c lib/view.c lib/nft.c lib/packets.c lib/queue.c
CLI_SRC := cli/main.c cli/filter.c cli/sysctl.c cli/run.c cli/events.c cli/save.c cli/relay.c cli/top.c \
	   cli/packets.c cli/ask.c
CLI_LIBS := -lncursesw -lcurl
D_SRC   := daemon/netfild.c daemon/log.c daemon/state.c daemon/metrics.c daemon/watch.c daemon/web.c
D_LIBS  := -lmicrohttpd
HDRS    := lib/netfil.h lib/internal.h bpf/netfil_abi.h lib/abi.h lib/proxy.h lib/queue.h cli/cli.h daemon/netfild.h \
	   $(O)/netfil.skel.h
TEST_BIN := $(O)/test_prog $(O)/nftraffic $(O)/event-client $(O)/relay_engine $(O)/asan/relay_engine \
	    $(O)/queue_client
# a client with no ld.so, so no LD_PRELOAD: what proxychains cannot cover
TEST_BIN += $(O)/nftraffic-static
BENCH_BIN := $(O)/connrate $(O)/nop.bpf.o $(O)/tcparts.bpf.o $(O)/progrun $(O)/sockloop

all: $(O)/netfil $(O)/asan/netfil $(O)/netfild $(O)/asan/netfild $(TEST_BIN) $(BENCH_BIN)

$(O):
	mkdir -p $(O) $(O)/asan

# CO-RE: types come from the running kernel's BTF, nothing is downloaded.
$(O)/vmlinux.h: | $(O)
	$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > $@

# netfild's page (daemon/page.html), one self-contained file, as a C
# string: xxd -i names it page_html (and page_html_len).
$(O)/page.h: daemon/page.html | $(O)
	cd daemon && xxd -i page.html > ../$@.tmp && mv ../$@.tmp ../$@

# The kernel half: one program file per hook or capability (a new one is
# added here), compiled alone and linked into one object, one skeleton.
BPF_SRC := bpf/maps.bpf.c bpf/cgroup_skb.bpf.c bpf/connect.bpf.c bpf/tc.bpf.c \
	   bpf/lifecycle.bpf.c bpf/iter.bpf.c bpf/syscall.bpf.c \
	   bpf/redirect.bpf.c bpf/queue.bpf.c
BPF_HDRS := $(wildcard bpf/*.h)

$(O)/bpf/%.bpf.o: bpf/%.bpf.c $(BPF_HDRS) $(O)/vmlinux.h
	@mkdir -p $(@D)
	$(CLANG) -g -O2 -target bpf -mcpu=v3 -D__TARGET_ARCH_$(ARCH) \
		-I$(O) -Ibpf $(WARN) -Wno-unused-parameter -c $< -o $@

$(O)/netfil.bpf.o: $(patsubst bpf/%.c,$(O)/bpf/%.o,$(BPF_SRC))
	$(BPFTOOL) gen object $@ $^

$(O)/netfil.skel.h: $(O)/netfil.bpf.o
	$(BPFTOOL) gen skeleton $< name netfil_bpf > $@

LIB_OBJ := $(patsubst lib/%.c,$(O)/lib_%.o,$(LIB_SRC))

$(O)/lib_%.o: lib/%.c $(HDRS)
	$(CC) $(CFLAGS) $(WARN) -fPIC $(CPPFLAGS) -c $< -o $@

$(O)/libnetfil.a: $(LIB_OBJ)
	rm -f $@
	ar rcs $@ $^

$(O)/netfil: $(CLI_SRC) $(O)/libnetfil.a $(HDRS)
	$(CC) $(CFLAGS) $(WARN) $(CPPFLAGS) $(CLI_SRC) $(O)/libnetfil.a $(LDLIBS) $(CLI_LIBS) -o $@

# The same CLI and library under ASan+UBSan; the tests run both.
$(O)/asan/netfil: $(CLI_SRC) $(LIB_SRC) $(HDRS)
	@mkdir -p $(@D)
	$(CC) -O1 -g $(SAN) $(WARN) $(CPPFLAGS) $(CLI_SRC) $(LIB_SRC) $(LDLIBS) $(CLI_LIBS) -o $@

$(O)/netfild: $(D_SRC) $(O)/libnetfil.a $(HDRS) $(O)/page.h
	$(CC) $(CFLAGS) $(WARN) $(CPPFLAGS) $(D_SRC) $(O)/libnetfil.a $(LDLIBS) $(D_LIBS) -o $@

$(O)/asan/netfild: $(D_SRC) $(LIB_SRC) $(HDRS) $(O)/page.h
	@mkdir -p $(@D)
	$(CC) -O1 -g $(SAN) $(WARN) $(CPPFLAGS) $(D_SRC) $(LIB_SRC) $(LDLIBS) $(D_LIBS) -o $@

$(O)/test_prog: tests/test_prog.c tests/test.h $(O)/libnetfil.a $(HDRS)
	$(CC) $(CFLAGS) $(WARN) $(CPPFLAGS) $< $(O)/libnetfil.a $(LDLIBS) -o $@

# The relay engine on its own (tests/relay_engine.sh), both builds; the
# ASan one pumps one round per event, so every event ends at a round's end.
$(O)/relay_engine: tests/relay_engine.c $(O)/libnetfil.a $(HDRS) lib/proxy.h
	$(CC) $(CFLAGS) $(WARN) $(CPPFLAGS) $< $(O)/libnetfil.a $(LDLIBS) -o $@

$(O)/asan/relay_engine: tests/relay_engine.c $(LIB_SRC) $(HDRS) lib/proxy.h
	@mkdir -p $(@D)
	$(CC) -O1 -g $(SAN) $(WARN) $(CPPFLAGS) -DPUMP_ROUNDS=1 $< $(LIB_SRC) $(LDLIBS) -o $@

$(O)/queue_client: tests/queue_client.c $(O)/libnetfil.a $(HDRS)
	$(CC) $(CFLAGS) $(WARN) $(CPPFLAGS) $< $(O)/libnetfil.a $(LDLIBS) -o $@

$(O)/nftraffic: tests/nftraffic.c
	$(CC) $(CFLAGS) $(WARN) $< -o $@

$(O)/nftraffic-static: tests/nftraffic.c
	$(CC) $(CFLAGS) $(WARN) -static $< -o $@

$(O)/progrun: bench/progrun.c $(O)/libnetfil.a lib/netfil.h
	$(CC) $(CFLAGS) $(WARN) $(CPPFLAGS) $< $(O)/libnetfil.a $(LDLIBS) -o $@

$(O)/event-client: examples/event-client.c $(O)/libnetfil.a lib/netfil.h
	$(CC) $(CFLAGS) $(WARN) -Ilib $< $(O)/libnetfil.a $(LDLIBS) -o $@

$(O)/connrate: bench/connrate.c
	$(CC) $(CFLAGS) $(WARN) $< -o $@ -lpthread

$(O)/sockloop: bench/sockloop.c
	$(CC) $(CFLAGS) $(WARN) $< -lbpf -o $@

$(O)/nop.bpf.o: bench/nop.bpf.c $(O)/vmlinux.h
	$(CLANG) -g -O2 -target bpf -I$(O) $(WARN) -Wno-unused-parameter -c $< -o $@

$(O)/tcparts.bpf.o: bench/tcparts.bpf.c $(BPF_HDRS) $(O)/vmlinux.h
	$(CLANG) -g -O2 -target bpf -mcpu=v3 -D__TARGET_ARCH_$(ARCH) -I$(O) -Ibpf $(WARN) \
		-Wno-unused-parameter -c $< -o $@

test: all
	tests/run.sh

demo: all
	scripts/demo.sh

bench: all
	bench/bench.sh --json $(O)/bench.json
	bench/floor.sh --json $(O)/floor-bench.json
	bench/tcparts.sh
	bench/view.sh --json $(O)/view-bench.json
	bench/rss.sh

bench-smoke: all
	bench/bench.sh --smoke --json $(O)/bench-smoke.json
	bench/floor.sh --smoke --json $(O)/floor-bench-smoke.json
	bench/tcparts.sh --smoke

# make check (unit tests, no root) and make fuzz: tests/tests.mk
include tests/tests.mk

PREFIX  ?= /usr/local
install: $(O)/netfil $(O)/netfild
	install -D -m 755 $(O)/netfil $(DESTDIR)$(PREFIX)/sbin/netfil
	install -D -m 755 $(O)/netfild $(DESTDIR)$(PREFIX)/sbin/netfild
	install -D -m 644 docs/netfil.8 $(DESTDIR)$(PREFIX)/share/man/man8/netfil.8
	install -D -m 644 docs/netfild.8 $(DESTDIR)$(PREFIX)/share/man/man8/netfild.8
	install -D -m 644 bash-completion/netfil $(DESTDIR)$(PREFIX)/share/bash-completion/completions/netfil
	sed 's#/usr/local/sbin#$(PREFIX)/sbin#' systemd/netfild.service | \
		install -D -m 644 /dev/stdin $(DESTDIR)/etc/systemd/system/netfild.service

clean:
	rm -rf $(O)

.PHONY: all test demo bench bench-smoke install clean
