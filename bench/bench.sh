#!/bin/bash
# netfil benchmarks: cost per packet of each program and bulk TCP throughput,
# side by side with no filter in the same run, plus enforcement accuracy.
#
#   bench/bench.sh [--smoke] [--json FILE]
#
# Topology: namespaces A (client, in a cgroup of its own where netfil is
# attached) and B (iperf3 server) joined by a veth pair.  Nothing outside
# these namespaces is touched; kernel.bpf_stats_enabled is restored on exit.
# --smoke runs every measurement once and briefly: it checks that each
# produces a number, never how fast anything is.
set -u
. "$(dirname "$0")/../tests/lib.sh"
SMOKE=0
JSON=$ROOT/build/bench.json
while [ $# -gt 0 ]; do
	case $1 in
	--smoke) SMOKE=1 ;;
	--json) JSON=$2; shift ;;
	*) echo "usage: bench/bench.sh [--smoke] [--json FILE]" >&2; exit 1 ;;
	esac
	shift
done
REPS=5 SECS=4 NMANY=10000
[ $SMOKE = 1 ] && REPS=1 SECS=1 NMANY=300
STATS_WAS=$(sysctl -n kernel.bpf_stats_enabled)
bench_cleanup() {
	sysctl -qw kernel.bpf_stats_enabled="$STATS_WAS"
	cleanup
}
trap bench_cleanup EXIT
trap 'exit 1' INT TERM
command -v iperf3 >/dev/null || { echo "bench: iperf3 missing (scripts/install-deps)" >&2; exit 1; }

setup_cgroup && setup_net || exit 1
in_b iperf3 -s -D -B 10.77.0.2 -p 5201 -I "$TMP"/iperf.pid >/dev/null
for i in $(seq 1 100); do in_a bash -c 'exec 3<>/dev/tcp/10.77.0.2/5201' 2>/dev/null && break; sleep 0.02; done

# iperf GBPS: one bulk TCP run from A to B, in Gbit/s.
iperf() {
	in_a iperf3 -c 10.77.0.2 -p 5201 -t "$SECS" -J 2>/dev/null |
		python3 -c 'import json,sys; print("%.3f" % (json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"] / 1e9))'
}

# median/min/max of a list of numbers
stats() { python3 -c 'import sys,statistics as s; v=[float(x) for x in sys.argv[1:]]; print("%.3f %.3f %.3f" % (s.median(v), min(v), max(v)))' "$@"; }

prog_stats() { bpftool prog show -j | python3 -c '
import json,sys
for p in json.load(sys.stdin):
    if p.get("name","").startswith("nf_"):
        print(p["name"], p.get("run_time_ns",0), p.get("run_cnt",0))'; }

# configure N: netfil with one filter of each kind matching the traffic
# (limits never reached) and N - 3 IP prefixes that match nothing here.
configure() {
	local n=$1 i
	nf unload >/dev/null 2>&1
	nf load || exit 1
	{
		echo "filter add ip 10.77.0.2 iobyte 1T"
		echo "filter add socket tree $$ iobyte 1T"
		python3 -c 'import sys
for k in range(int(sys.argv[1])):
    h = k // 2
    if k % 2:
        print("filter add ip fd00:%x:%x::/48 obyte 1T" % (h // 250, h % 250))
    else:
        print("filter add ip 10.%d.%d.0/24 obyte 1T" % (100 + h // 250, h % 250))' $((n - 3))
	} > "$TMP"/batch
	nf batch "$TMP"/batch >/dev/null || exit 1
	in_a "$NETFIL" filter add interface vab iobyte 1T >/dev/null || exit 1
}

declare -A TPUT COST
run_config() {
	local name=$1 runs="" r before after
	sysctl -qw kernel.bpf_stats_enabled=1
	prog_stats > "$TMP"/before
	for r in $(seq 1 $REPS); do runs="$runs $(iperf)"; done
	prog_stats > "$TMP"/after
	sysctl -qw kernel.bpf_stats_enabled="$STATS_WAS"
	TPUT[$name]=$(stats $runs)
	COST[$name]=$(join "$TMP"/before "$TMP"/after | awk '$5 > $3 { printf "%s=%.1f ", $1, ($4 - $2) / ($5 - $3) }')
}

run_config none
configure 3
run_config one
configure $NMANY
FILTERS_MANY=$(nf -j status | python3 -c 'import json,sys; d=json.load(sys.stdin)["filters"]; print(sum(d.values()))')
run_config many
nf unload

# Accuracy: for each kind of filter, a 1 MB (smoke: 100 KB) limit, a bulk
# upload past it; what the sender sent, what the peer received, what netfil
# admitted and the overshoot (admitted - limit, never positive).
accuracy() {
	local kind=$1 limit=$2 id j sp cp port=$((6100 + RANDOM % 1000))
	nf load >/dev/null
	rm -f "$TMP"/r1
	in_b "$NFT" sink tcp 10.77.0.2 $port --ready "$TMP"/r1 --idle 700 > "$TMP"/sink.out &
	sp=$!
	wait_file "$TMP"/r1
	rm -f "$TMP"/r2 "$TMP"/go && mkfifo "$TMP"/go
	nsenter --net=/run/netns/$NS_A "$NFT" send tcp 10.77.0.2 $port $((limit * 3)) \
		--wait "$TMP"/go --ready "$TMP"/r2 --timeout 3000 > "$TMP"/send.out &
	cp=$!
	wait_file "$TMP"/r2
	case $kind in
	socket) id=$(nf filter add socket pid $cp obyte $limit action drop) ;;
	ip) id=$(nf filter add ip 10.77.0.2 obyte $limit action drop) ;;
	interface) id=$(in_a "$NETFIL" filter add interface vab obyte $limit) ;;
	esac
	echo go > "$TMP"/go
	wait $cp $sp
	j=$(in_a "$NETFIL" -j filter show $id)
	echo "$kind $limit $(field "$TMP"/send.out sent) $(field "$TMP"/sink.out received)" \
		"$(jget "$j" bytes.out) $(( $(jget "$j" bytes.out) - limit ))"
	nf unload
}
ACC=""
LIMITS="1000000 10000000 100000000"
[ $SMOKE = 1 ] && LIMITS=100000
for limit in $LIMITS; do
	for kind in socket ip interface; do
		ACC="$ACC$(accuracy $kind $limit)
"
	done
done

# ---- report ---------------------------------------------------------------
set -- ${TPUT[none]}
BASE=$1
echo "## netfil benchmark ($(date -u +%Y-%m-%d), $(nproc) cores, $(uname -r))"
echo
echo "Bulk TCP, one stream, A -> B over veth, $REPS runs of ${SECS}s; median (min-max) Gbit/s."
echo
echo "| configuration | throughput | ratio to no filter |"
echo "|---|---|---|"
for c in none one many; do
	set -- ${TPUT[$c]}
	label=$c
	[ $c = none ] && label="no filter"
	[ $c = one ] && label="netfil, 1 filter of each kind (3)"
	[ $c = many ] && label="netfil, $FILTERS_MANY filters"
	echo "| $label | $1 ($2-$3) | $(python3 -c "print('%.3f' % ($1 / $BASE))") |"
done
echo
echo "Cost per packet of each program (run_time_ns / run_cnt, kernel.bpf_stats_enabled):"
echo
echo "| program | 3 filters | $FILTERS_MANY filters |"
echo "|---|---|---|"
for p in nf_cg_egress nf_cg_ingress nf_tc_egress nf_tc_ingress; do
	a=$(echo "${COST[one]}" | tr ' ' '\n' | sed -n "s/^$p=//p")
	b=$(echo "${COST[many]}" | tr ' ' '\n' | sed -n "s/^$p=//p")
	echo "| $p | ${a:-n/a} ns | ${b:-n/a} ns |"
done
echo
echo "Enforcement accuracy (bulk TCP upload of 3x the limit, action drop):"
echo
echo "| kind | limit | sender wrote | peer received | netfil admitted (L3) | overshoot |"
echo "|---|---|---|---|---|---|"
echo -n "$ACC" | while read -r kind limit sent recv adm over; do
	echo "| $kind | $limit | $sent | $recv | $adm | $over |"
done
python3 - "$JSON" <<PY
import json, sys
acc = [dict(zip(["kind","limit","sent","received","admitted","overshoot"], l.split()))
       for l in """$ACC""".strip().splitlines()]
json.dump({"throughput_gbps": {k: v.split() for k, v in {"none": "${TPUT[none]}", "one": "${TPUT[one]}", "many": "${TPUT[many]}"}.items()},
           "filters_many": $FILTERS_MANY,
           "cost_ns": {"one": "${COST[one]}".split(), "many": "${COST[many]}".split()},
           "accuracy": acc}, open(sys.argv[1], "w"), indent=1)
PY
