# Unit tests (no root, no kernel) and fuzzing; included by the Makefile.
#
#   make check                   unit tests; the last line is "N passed, N failed"
#   make fuzz [FUZZ_SECONDS=60]  every fuzzer for that long, corpora kept in build/fuzz
#   make fuzz-smoke              every fuzzer ~12 s from its seeds; "N passed, N failed"
#   make fuzz FUZZ_TOLERATE=1    step around defects already reported (see
#                                the harnesses), to look for new ones

UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(patsubst tests/unit/%.c,$(O)/unit/%,$(UNIT_SRC))
UNIT_HDRS := tests/test.h tests/unit/unit.h tests/unit/filter_cmp.h lib/netfil.h

$(O)/unit/%: tests/unit/%.c $(UNIT_HDRS) $(O)/libnetfil.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(WARN) $(CPPFLAGS) $< $(O)/libnetfil.a $(LDLIBS) -o $@

check: $(UNIT_BIN)
	@tests/unit/check.sh $(UNIT_BIN)

# The packet-verdict engine's two parts, each built on its own (the
# client with the test's stand-ins for lib/queue.c's ties to the pinned
# maps; root: each test runs in a network namespace of its own).
QUEUE_CHECK := $(O)/unit/nft_check $(O)/unit/packets_check
$(O)/unit/nft_check: tests/unit/nft_check.c lib/nft.c lib/queue.h lib/netfil.h
	@mkdir -p $(@D)
	$(CC) -O1 -g $(SAN) $(WARN) $(CPPFLAGS) $< lib/nft.c -lmnl -lnftnl -o $@
$(O)/unit/packets_check: tests/unit/packets_check.c lib/packets.c lib/queue.h lib/netfil.h bpf/netfil_abi.h
	@mkdir -p $(@D)
	$(CC) -O1 -g $(SAN) $(WARN) $(CPPFLAGS) $< lib/packets.c -lmnl -lnetfilter_queue -o $@
queue-check: $(QUEUE_CHECK)
	@tests/unit/check.sh $(QUEUE_CHECK)

# libFuzzer harnesses, built from the library's sources with the fuzzer
# and sanitizers (clang's libclang_rt.fuzzer: Debian libclang-rt-14-dev).
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 60
FUZZ_JOBS    ?= 1
# (no name lookups while fuzzing: a proxy URL's host stays unresolved)
FUZZ_FLAGS   := -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
		-fno-omit-frame-pointer -DFUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION \
		$(if $(FUZZ_TOLERATE),-DFUZZ_TOLERATE_KNOWN)
FUZZ_BINDIR  := $(O)/fuzz/bin$(if $(FUZZ_TOLERATE),-tolerant)
FUZZ_SRC     := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BIN     := $(patsubst tests/fuzz/%.c,$(FUZZ_BINDIR)/%,$(FUZZ_SRC))

$(FUZZ_BINDIR)/%: tests/fuzz/%.c tests/fuzz/fuzz.h tests/unit/filter_cmp.h $(LIB_SRC) $(HDRS)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_FLAGS) $(WARN) $(CPPFLAGS) $< $(LIB_SRC) $(LDLIBS) -o $@

fuzz-build: $(FUZZ_BIN)

fuzz: $(FUZZ_BIN)
	tests/fuzz/run.sh -j $(FUZZ_JOBS) $(FUZZ_SECONDS) $(O)/fuzz $(FUZZ_BIN)

fuzz-smoke: $(FUZZ_BIN)
	@tests/fuzz/run.sh -f -s 1 12 $(O)/fuzz/smoke $(FUZZ_BIN)

.PHONY: check queue-check fuzz fuzz-build fuzz-smoke
