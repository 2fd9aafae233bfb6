#!/bin/bash
# Peak memory of the CLI with many filters: "netfil -j filter list" and
# "netfil filter list" at N filters, each next to "netfil status" (the
# floor: libbpf, the maps opened, no filter read) in the same round, the
# order rotated every round.  Reports median and range over ROUNDS.
#
#   bench/rss.sh [N [ROUNDS]]        (defaults: 10000 filters, 7 rounds)
set -u
. "$(dirname "$0")/../tests/lib.sh"
N=${1:-10000}
ROUNDS=${2:-7}
trap cleanup EXIT
trap 'exit 1' INT TERM
setup_cgroup || exit 1
nf load || exit 1

peak_rss() {	# CMD... -> peak resident set of CMD, KiB
	python3 -c 'import resource,subprocess,sys
subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, check=True)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)' "$@"
}

python3 -c 'import sys
for i in range(int(sys.argv[1])):
    print("filter add id %d ip 10.%d.%d.%d obyte 1M" % (i + 1, 100 + i // 62500, i // 250 % 250, i % 250 + 1))' "$N" |
	nf restore - || exit 1
[ "$(nf -j filter list | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')" = "$N" ] || exit 1

configs=(status json text)
for r in $(seq 1 "$ROUNDS"); do
	for k in 0 1 2; do
		c=${configs[$(( (k + r) % 3 ))]}
		case $c in
		status) v=$(peak_rss "$NETFIL" status) ;;
		json) v=$(peak_rss "$NETFIL" -j filter list) ;;
		text) v=$(peak_rss "$NETFIL" filter list) ;;
		esac
		echo "$c $v"
	done
done > "$TMP"/rss
python3 - "$TMP"/rss "$N" <<'EOF'
import statistics, sys
v = {}
for line in open(sys.argv[1]):
    c, kib = line.split()
    v.setdefault(c, []).append(int(kib) / 1024)
print("peak RSS, MiB, %s filters, %d rounds: median [min-max]" % (sys.argv[2], len(v["status"])))
for c, name in (("status", "netfil status (floor)"), ("json", "netfil -j filter list"),
                ("text", "netfil filter list")):
    x = v[c]
    print("  %-24s %6.1f [%.1f-%.1f]" % (name, statistics.median(x), min(x), max(x)))
EOF
