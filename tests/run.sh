#!/bin/bash
# netfil's whole test suite, as root:
#   0. unit tests that need no root (make check) and each fuzzer briefly
#   1. unit tests of the BPF programs (BPF_PROG_TEST_RUN on crafted packets)
#   2. end-to-end tests with the release CLI, redirects (redsocks,
#      microsocks, curl), per-packet verdicts (NFQUEUE), and the CLI's
#      conventions
#   3. netfild: persistence, periods, interfaces, /metrics and access
#   4. 2 and 3 again with the ASan+UBSan builds of the CLI, daemon and
#      library
#   5. netfild's /metrics while another user floods it, both builds
#   6. the live views: netfil top in tmux, netfild's page in Chromium;
#      netfil ask in tmux
#   7. the benchmark suite in smoke mode: every measurement runs once and
#      must produce a number (speed is never judged here)
# Each part runs in its own cgroup, pin directory and namespaces and cleans
# up after itself.  The last line is the total "N passed, N failed".
set -u
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "netfil tests need root (CAP_BPF, CAP_NET_ADMIN)" >&2; exit 1; }

# Debian's own tools first: the suite's dependencies are Debian packages
# (scripts/install-deps), and a python3 shim earlier in PATH can cost a
# second per call.
export PATH=/usr/sbin:/usr/bin:/sbin:/bin${PATH:+:$PATH}

PASSED=0
FAILED=0

# part NAME CMD...: run one part, add its closing "N passed, N failed".
part() {
	local name=$1 log line p f
	shift
	log=$(mktemp)
	echo "### $name"
	"$@" 2>&1 | tee "$log"
	line=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$log" | tail -n 1)
	rm -f "$log"
	if [ -z "$line" ]; then
		echo "### $name: no result (crashed?)"
		FAILED=$((FAILED + 1))
		return
	fi
	p=${line%% passed*}
	f=${line#*, }
	f=${f%% failed*}
	PASSED=$((PASSED + p))
	FAILED=$((FAILED + f))
}

unit() {
	local cg2 rc
	cg2=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/mounts)
	export NETFIL_CGROUP=$cg2/netfil-unit-$$ NETFIL_PIN_DIR=/sys/fs/bpf/netfil-unit-$$
	mkdir -p "$NETFIL_CGROUP"
	build/test_prog
	rc=$?
	build/netfil unload >/dev/null 2>&1
	rmdir "$NETFIL_CGROUP"
	return $rc
}

part "unit: parsers, periods, save text (no root)" make -s check
part "fuzz: each harness briefly" make -s fuzz-smoke
part "unit: BPF programs" unit
part "queue engine: nftables rules, NFQUEUE client (ASan+UBSan)" make -s queue-check
part "e2e: netfil" env NETFIL="$PWD/build/netfil" tests/e2e.sh
part "owners: exe, user, cgroup, unit filters" env NETFIL="$PWD/build/netfil" \
	NETFILD="$PWD/build/netfild" tests/owners.sh
part "redirect: redsocks, microsocks, curl" env NETFIL="$PWD/build/netfil" tests/redirect.sh
part "relay engine: microsocks, dante, tinyproxy (release and ASan+UBSan)" tests/relay_engine.sh
part "proxy: the relay with microsocks, dante, tinyproxy, curl, busybox" env NETFIL="$PWD/build/netfil" \
	NETFILD="$PWD/build/netfild" tests/proxy.sh
part "queue: per-packet verdicts, netfil packets, fail policy" env NETFIL="$PWD/build/netfil" tests/queue.sh
part "ask: the interactive firewall in tmux" env NETFIL="$PWD/build/netfil" tests/ask.sh
part "cli: help, names, JSON, aliases" env NETFIL="$PWD/build/netfil" tests/cli.sh
part "netfild" env NETFIL="$PWD/build/netfil" NETFILD="$PWD/build/netfild" tests/netfild.sh
part "e2e: netfil (ASan+UBSan)" env NETFIL="$PWD/build/asan/netfil" \
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1 tests/e2e.sh
part "owners (ASan+UBSan)" env NETFIL="$PWD/build/asan/netfil" NETFILD="$PWD/build/asan/netfild" \
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1 tests/owners.sh
part "redirect (ASan+UBSan)" env NETFIL="$PWD/build/asan/netfil" \
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1 tests/redirect.sh
part "proxy (ASan+UBSan)" env NETFIL="$PWD/build/asan/netfil" NETFILD="$PWD/build/asan/netfild" \
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1 tests/proxy.sh
part "queue (ASan+UBSan)" env NETFIL="$PWD/build/asan/netfil" \
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1 tests/queue.sh
part "ask (ASan+UBSan)" env NETFIL="$PWD/build/asan/netfil" \
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1 tests/ask.sh
part "cli (ASan+UBSan)" env NETFIL="$PWD/build/asan/netfil" \
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1 tests/cli.sh
part "netfild (ASan+UBSan)" env NETFIL="$PWD/build/asan/netfil" NETFILD="$PWD/build/asan/netfild" \
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1 tests/netfild.sh
part "top: the terminal view in tmux" env NETFIL="$PWD/build/netfil" NETFILD="$PWD/build/netfild" \
	tests/top.sh
part "top (ASan+UBSan)" env NETFIL="$PWD/build/asan/netfil" NETFILD="$PWD/build/asan/netfild" \
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1 tests/top.sh
part "web: netfild's page in headless Chromium" env NETFIL="$PWD/build/netfil" \
	NETFILD="$PWD/build/netfild" tests/web.sh
part "web (ASan+UBSan)" env NETFIL="$PWD/build/asan/netfil" NETFILD="$PWD/build/asan/netfild" \
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1 tests/web.sh
part "netfild: /metrics under a flood" env NETFIL="$PWD/build/netfil" NETFILD="$PWD/build/netfild" \
	tests/http_flood.sh
part "netfild: /metrics under a flood (ASan+UBSan)" env NETFIL="$PWD/build/asan/netfil" \
	NETFILD="$PWD/build/asan/netfild" ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	UBSAN_OPTIONS=halt_on_error=1 tests/http_flood.sh
part "bench: live views, smoke (each measurement yields a number)" bench/view.sh --smoke
part "bench: smoke (each measurement yields a number)" bench/bench.sh --smoke --json build/bench-smoke.json
part "bench: cost over the floor, smoke (each figure a number, each filter kind counting)" \
	bench/floor.sh --smoke --json build/floor-bench-smoke.json
part "bench: the tc program's parts, smoke (each figure a number)" bench/tcparts.sh --smoke
echo "$PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
