#!/bin/bash
# netfil's benchmark suite: what netfil costs, whether that cost grows with
# the number of filters, and whether it counts exactly; every figure next
# to a baseline measured in the same run (no filter, nftables).  Throughput
# and connection rate run in rounds: in each, every configuration once,
# "no filter" among them, in an order rotated from round to round (this VM
# drifts by tens of percent between runs), and each ratio is taken round
# by round.  The cost per packet and per connection over a floor of
# programs that do nothing is bench/floor.sh's (make bench runs both).
#
#   bench/bench.sh [--smoke] [--json FILE]     (make bench / make bench-smoke)
#
# Topology (tests/lib.sh): namespace A, the client host, whose processes run
# in a cgroup of their own where netfil is attached, and B, the server, over
# a veth pair (10.77.0.0/24, fd77::/64).  Nothing outside these namespaces
# and this cgroup is touched, and everything is removed even when the run
# is interrupted.
#
# --smoke runs every measurement once and briefly, and checks only that each
# one produced a number; it never judges speed.
set -u
. "$(dirname "$0")/../tests/lib.sh"
. "$ROOT/bench/nft.sh"
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
REPS=5 SECS=3 CONN_SECS=2 TTF_REPS=5
SIZES="1 100 1000 10000"
LIMITS="1000000 10000000 100000000"
if [ $SMOKE = 1 ]; then
	REPS=1 SECS=1 CONN_SECS=0.5 TTF_REPS=1 SIZES="1 100" LIMITS=100000
fi
NMAX=${SIZES##* }
RES=$TMP/results		# one line per measurement, rendered at the end
CONNRATE=$ROOT/build/connrate

bench_cleanup() {
	# the servers are outside the test cgroup: stop them by name
	[ -s "$TMP"/iperf.pid ] && kill "$(cat "$TMP"/iperf.pid)"
	[ -n "${CONNRATE_PID:-}" ] && kill "$CONNRATE_PID" 2>/dev/null
	unconfigure
	cleanup
}
trap bench_cleanup EXIT
trap 'exit 1' INT TERM
need_tools bench iperf3 nft
r() { echo "$*" >> "$RES"; }

# The servers start before this shell joins the test cgroup, so that netfil
# (like nftables, whose rules are in A only) acts on the client side alone.
setup_net || exit 1
in_b iperf3 -s -D -B 10.77.0.2 -p 5201 -I "$TMP"/iperf.pid >/dev/null
rm -f "$TMP"/cr.ready
nsenter --net=/run/netns/$NS_B "$CONNRATE" server 10.77.0.2 5300 --ready "$TMP"/cr.ready \
	--seconds 3600 >/dev/null &
CONNRATE_PID=$!
wait_file "$TMP"/cr.ready || exit 1
setup_cgroup || exit 1
# Short connections leave TIME_WAIT behind; let the client reuse ports.
in_a sysctl -qw net.ipv4.tcp_tw_reuse=1
for i in $(seq 1 100); do in_a bash -c 'exec 3<>/dev/tcp/10.77.0.2/5201' 2>/dev/null && break; sleep 0.02; done

# ---- configurations ---------------------------------------------------------
# The N - 1 filters that match nothing: IPv4 /24s and IPv6 /48s, as in
# bench/nft.sh, so netfil and nftables hold the same prefixes.
other_prefixes() {
	python3 -c 'import sys
for k in range(int(sys.argv[1])):
    h = k // 2
    if k % 2:
        print("filter add ip fd00:0:%x::/48 iobyte 1T" % h)
    else:
        print("filter add ip 10.%d.%d.0/24 iobyte 1T" % (100 + h // 256, h % 256))' "$1"
}

unconfigure() {
	nf unload >/dev/null 2>&1
	NFT_NS=$NS_A nft_clear
	return 0
}

# netfil with N filters: one IP filter on the server's address, never
# reached, and N - 1 prefixes that match nothing.
cfg_netfil() {
	{ echo "filter add ip 10.77.0.2 iobyte 1T"; other_prefixes $(($1 - 1)); } > "$TMP"/batch
	nf load && nf batch "$TMP"/batch >/dev/null
}

# netfil with a matching filter of every kind (so every program has work:
# a socket tree filter on this shell, the IP filter, an interface filter on
# A's veth) and N - 3 prefixes that match nothing.
cfg_allkinds() {
	{
		echo "filter add ip 10.77.0.2 iobyte 1T"
		echo "filter add socket tree $$ iobyte 1T"
		other_prefixes $(($1 - 3))
	} > "$TMP"/batch
	nf load && nf batch "$TMP"/batch >/dev/null &&
		in_a "$NETFIL" filter add interface vab iobyte 1T >/dev/null
}

cfg_nft() { NFT_NS=$NS_A nft_load "$1" "$2"; }

# ---- measurements -------------------------------------------------------------
iperf() {	# STREAMS -> Gbit/s of one run
	in_a iperf3 -c 10.77.0.2 -p 5201 -t "$SECS" -P "$1" -J 2>/dev/null |
		python3 -c 'import json,sys; print("%.3f" % (json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"] / 1e9))'
}

# rounds KIND CFG...: REPS rounds of workload KIND (tput: 1 and 4 streams;
# conn: the connection-rate client), each configuration once per round,
# the order rotated; set-up is cfg_NAME-style: "none", "netfil-N",
# "nft-linear-N", "nft-map-N", "allkinds-N".  One result line per
# configuration (and stream count), its runs in round order.
setup() {
	local n=${1##*-}
	case $1 in
	none) ;;
	netfil-*) cfg_netfil $n ;;
	allkinds-*) cfg_allkinds $n ;;
	nft-linear-*) cfg_nft linear $n ;;
	nft-map-*) cfg_nft map $n ;;
	esac
}
rounds() {
	local kind=$1 r k c i cfgs
	shift
	cfgs=("$@")
	rm -f "$TMP"/rounds.*
	for r in $(seq 1 $REPS); do
		for k in $(seq 0 $((${#cfgs[@]} - 1))); do
			c=${cfgs[$(( (k + r) % ${#cfgs[@]} ))]}
			setup $c || log "bench: setting up $c failed"
			if [ $kind = tput ]; then
				echo "$(iperf 1)" >> "$TMP"/rounds.$c.1
				echo "$(iperf 4)" >> "$TMP"/rounds.$c.4
				# memory, once: the largest netfil configuration is up
				[ $r = 1 ] && [ $c = netfil-$NMAX ] && memory
			else
				in_a "$CONNRATE" client 10.77.0.2 5300 --seconds $CONN_SECS --workers 2 |
					sed -n 's/.*rate=\([0-9.]*\).*/\1/p' >> "$TMP"/rounds.$c
			fi
			unconfigure
		done
	done
	for c in "${cfgs[@]}"; do
		if [ $kind = tput ]; then
			for i in 1 4; do r tput "$c" $i $(cat "$TMP"/rounds.$c.$i); done
		else
			r conn "$c" $(cat "$TMP"/rounds.$c)
		fi
	done
}

# connrate NAME: REPS runs of the connection-rate client, one after the
# other (the event stream's configurations, section 4).
connrate() {
	local runs="" i
	for i in $(seq 1 $REPS); do
		runs="$runs $(in_a "$CONNRATE" client 10.77.0.2 5300 --seconds $CONN_SECS --workers 2 |
			sed -n 's/.*rate=\([0-9.]*\).*/\1/p')"
	done
	r conn "$1" $runs
}

memlock() {
	bpftool map show -j | python3 -c '
import json,sys
print(sum(m.get("bytes_memlock",0) for m in json.load(sys.stdin) if m.get("name","").startswith("nf_")))'
}

peak_rss() {	# CMD... -> peak resident set of CMD, KiB
	python3 -c 'import resource,subprocess,sys
subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, check=True)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)' "$@"
}

memory() {
	r rss "filter-list-$NMAX" "$(peak_rss "$NETFIL" -j filter list)"
	r rss "filter-add-$NMAX" "$(peak_rss "$NETFIL" filter add ip 10.1.2.3)"
}

log "bench: throughput, $REPS rounds"
unconfigure
CFGS="none"
for n in $SIZES; do CFGS="$CFGS netfil-$n nft-linear-$n nft-map-$n"; done
rounds tput $CFGS allkinds-3 allkinds-$NMAX
# locked memory of the maps, by number of filters
for n in $SIZES; do
	cfg_netfil $n && r mem "$n" "$(memlock)"
	unconfigure
done

log "bench: warm-cache program cost (BPF_PROG_TEST_RUN)"
NETFIL_PIN_DIR=$NETFIL_PIN_DIR-progrun "$ROOT"/build/progrun $SIZES | sed 's/^progrun /progrun /' >> "$RES" ||
	log "bench: progrun failed"

# Socket creation with 1,000 exe filters against none (issue 11), over a
# nop at the same hook: bench/owners.sh, in a cgroup and pin directory of
# its own; its table goes to the report through $RES.
log "bench: socket creation with exe filters (bench/owners.sh)"
"$ROOT"/bench/owners.sh $([ $SMOKE = 1 ] && echo --smoke) --results "$RES" > "$TMP"/owners.out ||
	log "bench: owners failed"

log "bench: connection rate, $REPS rounds"
rounds conn none netfil-1 allkinds-$NMAX nft-linear-$NMAX nft-map-$NMAX

# The event stream: the connection rate with 0, 1 and 4 subscribers
# ("netfil -j events", formatting every event), and the highest churn at
# which one subscriber loses nothing.
lost_total() { nf -j status | python3 -c 'import json,sys; print(json.load(sys.stdin)["events_lost"])'; }
subscribe() {	# N: start subscribers until N are attached
	local i
	while [ "$(nf -j status | python3 -c 'import json,sys; print(json.load(sys.stdin)["subscribers"])')" -lt "$1" ]; do
		"$NETFIL" -j events > /dev/null &
		SUBS="$SUBS $!"
		for i in $(seq 1 100); do
			[ "$(nf -j status | python3 -c 'import json,sys; print(json.load(sys.stdin)["subscribers"])')" -ge "$1" ] && break
			sleep 0.02
		done
	done
}
log "bench: events"
SUBS=""
cfg_netfil 1
connrate events-0
subscribe 1
connrate events-1
subscribe 4
connrate events-4
kill $SUBS; wait $SUBS 2>/dev/null
SUBS=""
subscribe 1
RATES="2000 5000 10000 20000 0"
[ $SMOKE = 1 ] && RATES="2000 0"
for rate in $RATES; do
	before=$(lost_total)
	out=$(in_a "$CONNRATE" client 10.77.0.2 5300 --seconds $CONN_SECS --workers 2 \
		$([ $rate != 0 ] && echo --rate $rate))
	r evloss "$rate" "$(echo "$out" | sed -n 's/.*rate=\([0-9.]*\).*/\1/p')" $(( $(lost_total) - before ))
done
kill $SUBS; wait $SUBS 2>/dev/null
SUBS=""
unconfigure

# Accuracy: a bulk upload of three times the limit against a filter of each
# kind.  nftables counts what reaches B (its input hook, after every netfil
# hook on the way), independently of netfil.
accuracy() {
	local kind=$1 limit=$2 id j sp cp port=$((6100 + RANDOM % 1000))
	nf load >/dev/null
	NFT_NS=$NS_B nft_load counter 10.77.0.1
	rm -f "$TMP"/r1 "$TMP"/r2 "$TMP"/go && mkfifo "$TMP"/go
	in_b "$NFT" sink tcp 10.77.0.2 $port --ready "$TMP"/r1 --idle 700 > "$TMP"/sink.out &
	sp=$!
	wait_file "$TMP"/r1
	nsenter --net=/run/netns/$NS_A "$NFT" send tcp 10.77.0.2 $port $((limit * 3)) \
		--wait "$TMP"/go --ready "$TMP"/r2 --timeout 2000 > "$TMP"/send.out &
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
	r acc $kind $limit "$(field "$TMP"/send.out sent)" "$(field "$TMP"/sink.out received)" \
		"$(jget "$j" bytes.out)" "$(NFT_NS=$NS_B nft_counter_bytes cnt_in)" "$(jget "$j" dropped.out)"
	NFT_NS=$NS_B nft_clear
	nf unload
}
log "bench: accuracy"
for limit in $LIMITS; do
	for kind in socket ip interface; do accuracy $kind $limit; done
done

# Time to fail: from the moment netfil latched the limit (bpf_ktime_get_ns,
# in the filter's exceeded_at) to the moment the sender saw its error
# (CLOCK_MONOTONIC, the same clock).
time_to_fail() {
	local kind=$1 proto=$2 action=$3 id j sp cp port=$((7100 + RANDOM % 1000)) chunk=16384
	[ $proto = udp ] && chunk=1000
	nf load >/dev/null
	rm -f "$TMP"/r1 "$TMP"/r2 "$TMP"/go && mkfifo "$TMP"/go
	in_b "$NFT" sink $proto 10.77.0.2 $port --ready "$TMP"/r1 --idle 500 > /dev/null &
	sp=$!
	wait_file "$TMP"/r1
	nsenter --net=/run/netns/$NS_A "$NFT" send $proto 10.77.0.2 $port 5000000 --chunk $chunk \
		--wait "$TMP"/go --ready "$TMP"/r2 --timeout 2000 > "$TMP"/send.out &
	cp=$!
	wait_file "$TMP"/r2
	case $kind in
	socket) id=$(nf filter add socket pid $cp obyte 200000 action $action) ;;
	ip) id=$(nf filter add ip 10.77.0.2 obyte 200000 action $action) ;;
	esac
	echo go > "$TMP"/go
	wait $cp $sp
	j=$(nf -j filter show $id)
	r ttf $kind $proto $action "$(field "$TMP"/send.out err)" \
		$(( ($(field "$TMP"/send.out end_ns) - $(jget "$j" exceeded_at.out)) / 1000 ))
	nf unload
}
log "bench: time to fail"
for i in $(seq 1 $TTF_REPS); do
	for kind in socket ip; do
		time_to_fail $kind tcp reject
		time_to_fail $kind udp reject
	done
done
time_to_fail ip tcp drop
time_to_fail ip udp drop

r meta machine "$(nproc) cores, $(free -g | awk '/^Mem/ { print $2 }') GiB, $(uname -r), $(. /etc/os-release; echo "$PRETTY_NAME")"
r meta cpu "$(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1)"
r meta date "$(date -u +%Y-%m-%dT%H:%MZ)"
r meta command "bench/bench.sh$([ $SMOKE = 1 ] && echo ' --smoke')"
python3 "$ROOT/bench/report.py" "$RES" "$JSON" $([ $SMOKE = 1 ] && echo --smoke)
