# Shared by netfil's shell tests.  Source it; it sets up nothing by itself.
#
# Isolation: every test run gets its own cgroup under the cgroup v2 root,
# its own pin directory and its own network namespaces, all named after
# the run's pid, and removes them on exit, whether the tests passed,
# failed or were interrupted.  netfil is never attached to the root cgroup.

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
NETFIL=${NETFIL:-$ROOT/build/netfil}
NFT=$ROOT/build/nftraffic
RUN_ID=${RUN_ID:-$$}
CG2=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/mounts)
export NETFIL_CGROUP=$CG2/netfil-test-$RUN_ID
export NETFIL_PIN_DIR=/sys/fs/bpf/netfil-test-$RUN_ID
TMP=$(mktemp -d /tmp/netfil-test.XXXXXX)
chmod 755 "$TMP"
NS_A=nft-a-$RUN_ID	# the client host: netfil's cgroup programs see it
NS_B=nft-b-$RUN_ID	# server, reached over veth A<->B (10.77.0.0/24, fd77::/64)
NS_C=nft-c-$RUN_ID	# server, reached over veth A<->C (10.78.0.0/24, fd78::/64)
PASS=0
FAIL=0

log() { printf '%s\n' "$*" >&2; }

# check NAME COMMAND...: one assertion.
check() {
	local name=$1
	shift
	if "$@"; then
		PASS=$((PASS + 1))
		log "ok   $name"
	else
		FAIL=$((FAIL + 1))
		log "FAIL $name"
	fi
}

le() { [ "$1" -le "$2" ] 2>/dev/null || { log "  want $1 <= $2"; return 1; }; }
lt() { [ "$1" -lt "$2" ] 2>/dev/null || { log "  want $1 < $2"; return 1; }; }
eq() { [ "$1" = "$2" ] || { log "  want '$1' = '$2'"; return 1; }; }
one_of() { local v=$1; shift; for x in "$@"; do [ "$v" = "$x" ] && return 0; done; log "  '$v' not in: $*"; return 1; }
contains() { case $1 in *"$2"*) return 0 ;; esac; log "  '$1' lacks '$2'"; return 1; }

# field FILE KEY: the value of KEY=value in nftraffic's report line.
field() { sed -n "s/.*\\b$2=\\([^ ]*\\).*/\\1/p" "$1" | tail -n 1; }

in_a() { nsenter --net=/run/netns/$NS_A "$@"; }
in_b() { nsenter --net=/run/netns/$NS_B "$@"; }
in_c() { nsenter --net=/run/netns/$NS_C "$@"; }
nf() { "$NETFIL" "$@"; }

# jget JSON PATH: a value from netfil's JSON, e.g. jget "$(nf -j filter show 1)" bytes.out
jget() { python3 -c 'import json,sys
v=json.loads(sys.argv[1])
for k in sys.argv[2].split("."):
    v=v[int(k)] if isinstance(v,list) else v[k]
print(str(v).lower() if isinstance(v,bool) else v)' "$1" "$2"; }

# eventually CMD...: true once CMD succeeds, polled for up to 3 s; for
# state the kernel releases asynchronously (programs freed after RCU).
eventually() {
	eventually_n 120 "$@"
}

# eventually_n TRIES CMD...: eventually, with TRIES tries 25 ms apart.
eventually_n() {
	local i n=$1
	shift
	for i in $(seq 1 "$n"); do
		"$@" 2>/dev/null && return 0
		sleep 0.025
	done
	"$@"
}

# port_idle PORT: none of A's TCP sockets on PORT (at either end) can
# send any more: each is gone or in TIME-WAIT.
port_idle() {
	[ -z "$(in_a ss -Htan exclude time-wait exclude listening \
		"( sport = :$1 or dport = :$1 )")" ]
}
# port_quiet PORT: port_idle, waited for up to 10 s.
port_quiet() {
	eventually_n 400 port_idle "$1" && return 0
	log "  port $1: a connection is still open"
	return 1
}

# no_nf_progs: none of this run's programs ($PROG_IDS, taken before an
# unload) is left in the kernel
no_nf_progs() {
	local id
	for id in $PROG_IDS; do
		bpftool prog show id "$id" >/dev/null 2>&1 && { log "  program $id is still loaded"; return 1; }
	done
	return 0
}

# poll_until SECONDS CMD...: true once CMD succeeds, tried every 50 ms.
poll_until() {
	local end=$(( $(date +%s%N) + $1 * 1000000000 ))
	shift
	until "$@" 2>/dev/null; do
		[ "$(date +%s%N)" -lt "$end" ] || return 1
		sleep 0.05
	done
}

# wait_file PATH: bounded wait for a file a background process creates.
wait_file() {
	local i
	for i in $(seq 1 200); do
		[ -e "$1" ] && return 0
		sleep 0.025
	done
	log "  timed out waiting for $1"
	return 1
}

# pids_gone SECS PID...: bounded wait until none of them exists
pids_gone() {
	local i p alive n=$(( $1 * 20 ))
	shift
	for i in $(seq 1 $n); do
		alive=0
		for p in "$@"; do kill -0 "$p" 2>/dev/null && alive=1; done
		[ $alive = 0 ] && return 0
		sleep 0.05
	done
	return 1
}
# stop_pids SECS PID...: SIGTERM, SECS to go, then SIGKILL (logged)
stop_pids() {
	local secs=$1
	shift
	[ $# = 0 ] && return 0
	kill -TERM "$@" 2>/dev/null
	pids_gone "$secs" "$@" || {
		log "pid(s) $* still there after ${secs} s: SIGKILL"
		kill -KILL "$@" 2>/dev/null
		pids_gone 5 "$@"
	}
	wait "$@" 2>/dev/null
	return 0
}
# tui_start PANE CMD...: CMD in the shell of tmux ($T) pane PANE; its pid
# in TUI, its exit status in $TMP/rc, the terminal's settings before and
# after it in $TMP/stty.before and $TMP/stty.after
tui_start() {
	local pane=$1
	shift
	rm -f "$TMP"/rc "$TMP"/pid
	$T send-keys -t "$pane" "clear; stty -g > $TMP/stty.before; sh -c 'echo \$\$ > $TMP/pid; exec $*'; echo \$? > $TMP/rc.new; stty -g > $TMP/stty.after; mv $TMP/rc.new $TMP/rc" Enter
	wait_file "$TMP"/pid
	TUI=$(cat "$TMP"/pid)
}
# tui_given_back PANE: what tui_start ran ended with status 0, and the
# terminal is as it was, off the alternate screen
tui_given_back() {
	wait_file "$TMP"/rc || { log "  it did not end"; return 1; }
	[ "$(cat "$TMP"/rc)" = 0 ] || { log "  it exited $(cat "$TMP"/rc)"; return 1; }
	cmp -s "$TMP"/stty.before "$TMP"/stty.after || { log "  stty changed"; return 1; }
	[ "$($T display -p -t "$1" '#{alternate_on}')" = 0 ] || { log "  still on the alternate screen"; return 1; }
}

# Traffic between the test namespaces: the client always in A.
PORT=6000
A="nsenter --net=/run/netns/$NS_A"

# up PROTO NS ADDR BYTES HOOK...: a sink in NS, a client in A connected
# (or, for UDP, bound) and waiting; HOOK runs with the client's pid in CP;
# then the client sends BYTES.  Reports land in $TMP/send.out, sink.out.
up() {
	local proto=$1 ns=$2 addr=$3 bytes=$4 chunk=16384 sp
	shift 4
	[ "$proto" = udp ] && chunk=1000
	PORT=$((PORT + 1))
	rm -f "$TMP"/r1 "$TMP"/r2 "$TMP"/go "$TMP"/done && mkfifo "$TMP"/go
	# the sink's idle clock starts when the sender is done, not before:
	# HOOK (netfil load, say) may take any time on a slow machine
	nsenter --net=/run/netns/$ns "$NFT" sink "$proto" "$addr" $PORT \
		--ready "$TMP"/r1 --idle 700 --done "$TMP"/done > "$TMP"/sink.out &
	sp=$!
	wait_file "$TMP"/r1 || return 1
	$A "$NFT" send "$proto" "$addr" $PORT "$bytes" --chunk $chunk \
		--wait "$TMP"/go --ready "$TMP"/r2 --timeout 2500 > "$TMP"/send.out &
	CP=$!
	wait_file "$TMP"/r2 || return 1
	"$@"
	echo go > "$TMP"/go
	wait $CP
	touch "$TMP"/done
	wait $sp
	SP=$sp
	RECEIVED=$(field "$TMP"/sink.out received)
	SENT_ERR=$(field "$TMP"/send.out err)
	SENT_MS=$(field "$TMP"/send.out elapsed_ms)
}

# down NS ADDR BYTES: a source in NS serves BYTES, a client in A fetches.
down() {
	local ns=$1 addr=$2 bytes=$3 sp
	PORT=$((PORT + 1))
	rm -f "$TMP"/r1
	nsenter --net=/run/netns/$ns "$NFT" source tcp "$addr" $PORT "$bytes" \
		--ready "$TMP"/r1 --idle 700 > "$TMP"/source.out &
	sp=$!
	wait_file "$TMP"/r1 || return 1
	$A "$NFT" fetch tcp "$addr" $PORT --idle 700 > "$TMP"/fetch.out
	wait $sp
	RECEIVED=$(field "$TMP"/fetch.out received)
}

noop() { :; }

# start_sink NS ADDR [OUT]: a TCP sink in NS on a new $PORT, listening on
# return; its pid in SP, its report in OUT (default $TMP/sink.out).
start_sink() {
	PORT=$((PORT + 1))
	rm -f "$TMP"/r1
	nsenter --net=/run/netns/$1 "$NFT" sink tcp "$2" $PORT --ready "$TMP"/r1 \
		--idle 700 > "${3:-$TMP/sink.out}" &
	SP=$!
	wait_file "$TMP"/r1
}

setup_net() {
	ip netns add $NS_A && ip netns add $NS_B && ip netns add $NS_C || return 1
	ip link add vab-$RUN_ID netns $NS_A type veth peer name vba-$RUN_ID netns $NS_B
	ip link add vac-$RUN_ID netns $NS_A type veth peer name vca-$RUN_ID netns $NS_C
	for ns in $NS_A $NS_B $NS_C; do ip -n $ns link set lo up; done
	ip -n $NS_A link set vab-$RUN_ID name vab
	ip -n $NS_B link set vba-$RUN_ID name vba
	ip -n $NS_A link set vac-$RUN_ID name vac
	ip -n $NS_C link set vca-$RUN_ID name vca
	ip -n $NS_A addr add 10.77.0.1/24 dev vab
	ip -n $NS_A addr add fd77::1/64 dev vab nodad
	ip -n $NS_B addr add 10.77.0.2/24 dev vba
	ip -n $NS_B addr add 10.77.0.3/24 dev vba
	ip -n $NS_B addr add fd77::2/64 dev vba nodad
	ip -n $NS_B addr add fd77::3/64 dev vba nodad
	ip -n $NS_A addr add 10.78.0.1/24 dev vac
	ip -n $NS_A addr add fd78::1/64 dev vac nodad
	ip -n $NS_C addr add 10.78.0.2/24 dev vca
	ip -n $NS_C addr add fd78::2/64 dev vca nodad
	ip -n $NS_A link set vab up
	ip -n $NS_A link set vac up
	ip -n $NS_B link set vba up
	ip -n $NS_C link set vca up
}

# dante_conf FILE INTERNAL PORT EXTERNAL: a danted configuration in FILE
# (its log beside it, FILE.log): SOCKS5 with no authentication (dante's
# own would need a system user), CONNECT and UDP ASSOCIATE, listening on
# INTERNAL:PORT and going out through interface EXTERNAL.
dante_conf() {
	cat > "$1" <<-EOF
	logoutput: $1.log
	internal: $2 port = $3
	external: $4
	clientmethod: none
	socksmethod: none
	user.privileged: root
	user.unprivileged: nobody
	client pass {
		from: 0/0 to: 0/0
	}
	socks pass {
		from: 0/0 to: 0/0
		command: connect udpassociate udpreply
		protocol: tcp udp
		log: connect disconnect error iooperation
	}
	EOF
}

# need_tools WHO TOOL...: every TOOL on PATH, or one line naming the
# missing one and exit 1 (the benchmarks' first check)
need_tools() {
	local who=$1 t
	shift
	for t; do
		command -v "$t" >/dev/null || { log "$who: $t missing (scripts/install-deps)"; exit 1; }
	done
}

# bench_servers WHO: the benchmarks' namespaces, connrate's and iperf3's
# servers in B on $SERVER_IP ($CR_PORT, $IPERF_PORT; their pids added to
# $SERVERS: nsenter execs them), then this shell into the test cgroup, so
# that netfil acts on the client side alone; connections may reuse
# TIME_WAIT ports.  WHO names the caller in its errors.
bench_servers() {
	local B="nsenter --net=/run/netns/$NS_B"
	setup_net || { log "$1: cannot create the namespaces"; return 1; }
	rm -f "$TMP"/cr.ready
	$B "$ROOT"/build/connrate server $SERVER_IP $CR_PORT --ready "$TMP"/cr.ready --seconds 36000 \
		> "$TMP"/cr-server.out &
	SERVERS="${SERVERS:-} $!"
	$B iperf3 -s -B $SERVER_IP -p $IPERF_PORT > "$TMP"/iperf-server.log 2>&1 &
	SERVERS="$SERVERS $!"
	wait_file "$TMP"/cr.ready || { log "$1: connrate's server did not start"; return 1; }
	setup_cgroup || { log "$1: cannot create the cgroup"; return 1; }
	in_a sysctl -qw net.ipv4.tcp_tw_reuse=1
	poll_until 5 in_a python3 -c "import socket; socket.create_connection(('$SERVER_IP', $IPERF_PORT), 1).close()" ||
		{ log "$1: iperf3's server does not answer"; return 1; }
}

# Everything this run created goes, in an order that cannot fail halfway:
# processes first (they pin the cgroup), then netfil, then the rest.
cleanup() {
	local pids
	trap - EXIT INT TERM
	pids=$(jobs -p)
	[ -n "$pids" ] && kill $pids 2>/dev/null
	"$ROOT/build/netfil" unload >/dev/null 2>&1
	if [ -d "$NETFIL_CGROUP" ]; then
		echo $$ > "$CG2/cgroup.procs" 2>/dev/null
		[ -e "$NETFIL_CGROUP/cgroup.kill" ] && echo 1 > "$NETFIL_CGROUP/cgroup.kill"
		for i in $(seq 1 100); do rmdir "$NETFIL_CGROUP" 2>/dev/null && break; sleep 0.02; done
	fi
	rm -rf "$NETFIL_PIN_DIR" 2>/dev/null
	rm -f "/run/netfil/netfild${NETFIL_PIN_DIR//\//_}.lock"	# netfild's, if one ran
	rmdir /run/netfil 2>/dev/null
	for ns in $NS_A $NS_B $NS_C; do ip netns del $ns 2>/dev/null; done
	rm -rf "$TMP"
}

# Join the test cgroup: from here on every process this shell starts is
# inside it, and netfil is attached there only.
setup_cgroup() {
	mkdir -p "$NETFIL_CGROUP" && echo $$ > "$NETFIL_CGROUP/cgroup.procs"
}

summary() {
	echo "$PASS passed, $FAIL failed"
	[ "$FAIL" -eq 0 ]
}

# limited WHAT ID LIMIT GOT: the checks of an upload under filter ID's obyte
# LIMIT (reject), GOT bytes having reached the peers: admission is strict,
# the peers got at most the limit, and most of it.  Needs fshow.
limited() {
	local what=$1 id=$2 lim=$3 s=$4 j
	j=$(fshow $id)
	check "$what: peer got at most the limit" le "$s" $lim
	check "$what: peer got most of the limit" le $((lim / 2)) "$s"
	check "$what: payload <= admitted L3" le "$s" "$(jget "$j" bytes.out)"
	check "$what: admitted <= limit" le "$(jget "$j" bytes.out)" $lim
	check "$what: exceeded out" eq "$(jget "$j" exceeded.out)" true
	check "$what: dropped counted" lt 0 "$(jget "$j" dropped.out)"
}

# stop_d [SIGNAL]: stop the netfild started as $DPID and wait; DRC is its
# exit status.
stop_d() {
	kill -"${1:-TERM}" $DPID
	{ wait $DPID; DRC=$?; } 2>/dev/null	# (no "Killed" job notice)
	DPID=
}

# wait_log TEXT: bounded wait for a line of netfild's log, $TMP/d.log.
wait_log() {
	local i
	for i in $(seq 1 200); do
		grep -qF -- "$1" "$TMP"/d.log && return 0
		sleep 0.025
	done
	log "  netfild never logged '$1':"
	sed 's/^/  | /' "$TMP"/d.log >&2
	return 1
}

# bad_table: rows "ARGS|TOKEN[|SAYS]" on stdin.  Each "nf ARGS" must exit
# 1 with one line of error naming TOKEN (and saying SAYS), and leave
# "nf -j filter list" as it was.
bad_table() {
	local before args token want out rc line
	before=$(nf -j filter list)
	while IFS='|' read -r args token want; do
		[ -z "$args" ] && continue
		out=$(eval "nf $args" 2>&1 >/dev/null)
		rc=$?
		line=$(echo "$out" | wc -l)
		check "bad input [$args]: exit 1, one line naming '$token'" \
			eq "$rc/$line/$(contains "$out" "$token" && echo named)" "1/1/named"
		[ -n "$want" ] && check "bad input [$args]: says '$want'" contains "$out" "$want"
		check "bad input [$args]: nothing changed" eq "$(nf -j filter list)" "$before"
	done
}
