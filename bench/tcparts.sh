#!/bin/bash
# nf_tc's work taken apart: tc programs that each do one more part of it
# (build/tcparts.bpf.o, over maps of netfil's layout that the script fills
# with one interface filter), attached one at a time beside a floor that
# does nothing, on the veth of namespace A, each through one bulk TCP
# stream (iperf3, SECS s) with bpf_stats on.  Reported: each part's run
# time per packet over the floor's, egress and ingress, median [min, max]
# over the rounds, the parts' order rotated from round to round.
#
#   add           one atomic add to a filter's counters
#   cookie        the same after reading the device's netns cookie
#   lookup        the nf_ifaces hash lookup (netns cookie, ifindex) alone
#   add_looked    the lookup, the filter's nf_cfg and one atomic add
#   charge        the lookup and charge(), the counters in one cache line
#   charge_split  the same with counters over two lines
#   classid       charge() with the slot from the tc filter's classid
#
#   bench/tcparts.sh [--smoke] [--rounds N] [--pin same|apart]
#
# --pin: iperf3's client on CPU 0 and its server on CPU 0 too (same) or on
# CPU 1 (apart): what a counter costs when the packets of the two
# directions meet it on one CPU, or on two (BENCHMARKS.md, 12.2).
#
# Defaults: 5 rounds of 3 s.  --smoke: one round of 1 s, checking only that
# every figure is a number ("N passed, N failed").  Isolation: namespaces
# A and B from tests/lib.sh, the programs pinned under
# /sys/fs/bpf/netfil-bench-tcparts-$$, no netfil loaded; bpf_stats is put
# back as it was, and everything is removed on exit.
set -u
. "$(dirname "$0")/../tests/lib.sh"
export PATH=/usr/sbin:/usr/bin:/sbin:/bin${PATH:+:$PATH}
export NETFIL_CGROUP=$CG2/netfil-bench-tcparts-$$
export NETFIL_PIN_DIR=/sys/fs/bpf/netfil-bench-tcparts-$$
OBJ=$ROOT/build/tcparts.bpf.o
ROUNDS=5 SECS=3 SMOKE=0 PIN="" CLIENT=""
while [ $# -gt 0 ]; do
	case $1 in
	--smoke) SMOKE=1 ROUNDS=1 SECS=1 ;;
	--rounds) ROUNDS=$2; shift ;;
	--pin) PIN=$2; shift ;;
	*) echo "usage: bench/tcparts.sh [--smoke] [--rounds N] [--pin same|apart]" >&2; exit 1 ;;
	esac
	shift
done
[ "$ROUNDS" -ge 1 ] 2>/dev/null || { echo "tcparts: --rounds wants a number >= 1" >&2; exit 1; }
case $PIN in
"") ;;
same|apart) [ "$(nproc)" -ge 2 ] || { echo "tcparts: --pin wants two CPUs" >&2; exit 1; } ;;
*) echo "tcparts: --pin wants same or apart, not '$PIN'" >&2; exit 1 ;;
esac
SERVER_IP=10.77.0.2 CR_PORT=5300 IPERF_PORT=5201 SERVERS=""
PARTS=(add cookie lookup add_looked charge charge_split classid)
ALIGNED=9996 SPLIT=9999 FID=7	# as in tcparts.bpf.c
STATS_WAS=$(sysctl -n kernel.bpf_stats_enabled)

parts_cleanup() {
	trap - EXIT INT TERM
	sysctl -qw kernel.bpf_stats_enabled="$STATS_WAS"
	[ -n "$SERVERS" ] && stop_pids 5 $SERVERS
	rm -rf "$NETFIL_PIN_DIR"
	cleanup
}
trap parts_cleanup EXIT
trap 'exit 1' INT TERM

need_tools tcparts iperf3 python3 bpftool tc
[ -e "$OBJ" ] || { log "tcparts: build first (make)"; exit 1; }
[ "$(stat -f -c %T /sys/fs/bpf)" = bpf_fs ] || mount -t bpf bpf /sys/fs/bpf
bench_servers tcparts || exit 1
if [ -n "$PIN" ]; then
	# SERVERS: connrate's server, then iperf3's
	taskset -pc $([ "$PIN" = same ] && echo 0 || echo 1) "$(echo $SERVERS | awk '{ print $2 }')" > /dev/null || exit 1
	CLIENT="taskset -c 0"
fi
in_a tc qdisc add dev vab clsact || exit 1
bpftool prog loadall "$OBJ" "$NETFIL_PIN_DIR" pinmaps "$NETFIL_PIN_DIR"/maps ||
	{ log "tcparts: cannot load $OBJ"; exit 1; }

# one interface filter on vab: its nf_ifaces entry, and its cfg in both slots
hex() { python3 -c 'import struct, sys; print(" ".join("%02x" % b for b in struct.pack(sys.argv[1], *map(int, sys.argv[2:]))))' "$@"; }
COOKIE=$(in_a python3 -c 'import socket, struct; print(struct.unpack("<Q", socket.socket().getsockopt(socket.SOL_SOCKET, 71, 8))[0])')
IFINDEX=$(in_a ip -o link show vab | cut -d: -f1)
bpftool map update pinned "$NETFIL_PIN_DIR"/maps/nf_ifaces key hex $(hex "<QII" "$COOKIE" "$IFINDEX" 0) \
	value hex $(hex "<IIII" $ALIGNED $FID 14 0) || exit 1
CFG_SIZE=$(bpftool map show pinned "$NETFIL_PIN_DIR"/maps/nf_cfg -j | python3 -c 'import json, sys; print(json.load(sys.stdin)["bytes_value"])')
for slot in $ALIGNED $SPLIT; do
	# id, kind 3 (interface), on, action 1 (drop), pad, epoch 1, pad, limits: iobyte 1T
	bpftool map update pinned "$NETFIL_PIN_DIR"/maps/nf_cfg key hex $(hex "<I" $slot) \
		value hex $(hex "<IBBBBIIQQQ" $FID 3 1 1 0 1 0 0 0 1000000000000) \
		$(python3 -c "print(' 00' * ($CFG_SIZE - 40))") || exit 1
done

RES=$TMP/res
: > "$RES"
sysctl -qw kernel.bpf_stats_enabled=1
for round in $(seq 1 "$ROUNDS"); do
	for k in $(seq 0 $((${#PARTS[@]} - 1))); do
		p=${PARTS[$(( (k + round) % ${#PARTS[@]} ))]}
		# the classid names slot ALIGNED and an Ethernet header (netfil_abi.h)
		cls=$(printf '6e66:%x' $(( 0x4000 | (ALIGNED + 1) )))
		for d in egress:e ingress:i; do
			in_a tc filter add dev vab ${d%:*} prio 100 bpf da pinned "$NETFIL_PIN_DIR"/floor_${d#*:} &&
			in_a tc filter add dev vab ${d%:*} prio 101 bpf da classid $cls pinned "$NETFIL_PIN_DIR"/${p}_${d#*:} ||
				exit 1
		done
		before=$(bpftool prog show -j)
		timeout $((SECS + 30)) $CLIENT $A iperf3 -c $SERVER_IP -p $IPERF_PORT -t "$SECS" > /dev/null ||
			log "tcparts: iperf3 failed ($p, round $round)"
		python3 - "$before" "$(bpftool prog show -j)" "$p" "$round" >> "$RES" <<-'PY'
		import json, sys
		a = {p["name"]: p for p in json.loads(sys.argv[1])}
		b = {p["name"]: p for p in json.loads(sys.argv[2])}
		def per(n):
		    t = b.get(n, {}).get("run_time_ns", 0) - a.get(n, {}).get("run_time_ns", 0)
		    c = b.get(n, {}).get("run_cnt", 0) - a.get(n, {}).get("run_cnt", 0)
		    return t / c if c else None
		def over(part, floor):
		    x, y = per(part), per(floor)
		    return None if x is None or y is None else x - y
		part = sys.argv[3]
		print(json.dumps({"part": part, "round": int(sys.argv[4]),
		                  "egress": over(part + "_e", "floor_e"), "ingress": over(part + "_i", "floor_i")}))
		PY
		for d in egress ingress; do
			in_a tc filter del dev vab $d prio 101
			in_a tc filter del dev vab $d prio 100
		done
	done
done
sysctl -qw kernel.bpf_stats_enabled="$STATS_WAS"

python3 - "$RES" "$SMOKE" "$ROOT/bench" "${PARTS[@]}" <<'EOF'
import json, sys
res, smoke, parts = sys.argv[1], sys.argv[2] == "1", sys.argv[4:]
sys.path.insert(0, sys.argv[3])
from stats import st, fmt, isnum, Checks
raw = [json.loads(l) for l in open(res) if l.strip()]
print("bench/tcparts.sh: per packet over the floor, ns, median [min, max] over the rounds")
print("| part | egress | ingress |")
print("|---|---|---|")
check = Checks()
for p in parts:
    rows = [d for d in raw if d["part"] == p]
    print("| %s | %s | %s |" % (p, fmt(st([d["egress"] for d in rows]), "%.0f"), fmt(st([d["ingress"] for d in rows]), "%.0f")))
    for d in rows:
        for k in ("egress", "ingress"):
            check("%s round %d %s: a number" % (p, d["round"], k), isnum(d[k]))
    check("%s ran" % p, bool(rows))
sys.exit(check.end(smoke))
EOF
