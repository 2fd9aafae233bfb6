#!/bin/bash
# What redirecting connections costs (issue 12), every configuration next
# to its baseline in the same round, the order of the configurations
# rotated from round to round (this VM drifts by tens of percent):
#
#   1. Throughput of one bulk TCP stream (iperf3 -t SECS), A -> B and
#      B -> A (-R), server in B on 10.77.0.2:5201:
#        direct       no filter
#        relay        netfil run proxy socks5://10.77.0.3:1080 -- iperf3 ...
#                     (netfil's relay in A, microsocks in B as the upstream)
#        proxychains  proxychains4 -q -f CONF iperf3 ... (the same microsocks)
#        relay-bare   the relay engine alone (build/relay_engine, in A, no
#                     upstream: it connects to the origin itself), the
#                     relay's own cost with no proxy in the way
#        relay-dante, proxychains-dante
#                     the same two with dante (danted, 10.77.0.3:1081) as the
#                     upstream: microsocks copies through a small buffer
#                     and caps a stream at 1-2 Gbit/s here, dante goes
#                     further, so that the relay's own cost shows more
#      reported as ratios to direct of the same round, and relay/proxychains
#      with the same upstream, which takes the upstream's own cost out;
#      plus the CPU seconds per GB moved of the relay (the "netfil run"
#      process: /proc/PID/stat utime + stime, read by CMD before and after
#      iperf3, over iperf3 -J's bytes) and of microsocks.
#   2. Connection rate (build/connrate, 2 workers, SECS seconds), client in
#      A to 10.77.0.2:5300, servers in B on 10.77.0.2:5300 and
#      10.77.0.3:5301:
#        unloaded     netfil not loaded
#        none         netfil loaded, no filter
#        redirect     the client's tree under "filter add socket tree PID
#                     redirect to 10.77.0.3:5301" (added before its first
#                     socket): every connection is rewritten to the other
#                     server, over the same path
#      At the end, the servers' accepted counts show that every redirected
#      connection reached 10.77.0.3:5301 and no other did.
#   3. The same curl workload (one shell loop of sequential curls: CURL_N
#      fetches of a 1 KB file, and BIG_N of a 10 MB file, from busybox httpd
#      in B) direct, under "netfil run proxy socks5://..." and under
#      "proxychains4 -q -f CONF" (both wrap the whole loop): milliseconds
#      per request, and ratios of times (> 1 is slower).  httpd's log shows
#      where every request came from: A directly, or microsocks in B.
#
#   bench/relay.sh [--smoke] [--rounds R] [--secs S] [--results FILE]
#
# Defaults: 7 rounds, iperf3 -t 3, connrate 3 s, 200 small and 20 big
# fetches.  --smoke: 1 round, short runs; checks only that every figure is
# a number and that the traffic went where it should, ending with
# "N passed, N failed" (never judges speed).  --results FILE appends the
# raw lines ("relay tput DIR CFG ROUND GBITS BYTES RELAY_S MS_S CLI% SRV% PEER",
# "relay conn CFG ROUND RATE CONNECTIONS FAILED", "relay curl WORKLOAD CFG
# ROUND MS_PER_REQUEST"), one "relay-ratio NAME MEDIAN MIN MAX ROUNDS" line
# per ratio and one "relay-meta ..." line.
#
# Isolation: namespaces A, B (and C, unused) from tests/lib.sh's
# setup_net; netfil attached only to the cgroup $CG2/netfil-bench-$$ (this
# shell and what it starts after the servers) and pinned under
# /sys/fs/bpf/netfil-bench-$$.  The servers in B (iperf3, microsocks,
# connrate, httpd) start before this shell joins that cgroup, outside it,
# and are stopped by pid.  All of it is removed on exit, interrupted or not.
set -u
. "$(dirname "$0")/../tests/lib.sh"
export NETFIL_CGROUP=$CG2/netfil-bench-$$
export NETFIL_PIN_DIR=/sys/fs/bpf/netfil-bench-$$
CONNRATE=$ROOT/build/connrate
ROUNDS=7 SECS=3 CONN_SECS=3 CURL_N=200 BIG_N=20 SMOKE=0 RESULTS=""
while [ $# -gt 0 ]; do
	case $1 in
	--smoke) SMOKE=1 ROUNDS=1 SECS=1 CONN_SECS=0.5 CURL_N=10 BIG_N=2 ;;
	--rounds) ROUNDS=$2; shift ;;
	--secs) SECS=$2 CONN_SECS=$2; shift ;;
	--results) RESULTS=$2; shift ;;
	*) echo "usage: bench/relay.sh [--smoke] [--rounds R] [--secs S] [--results FILE]" >&2
	   exit 1 ;;
	esac
	shift
done
[ "$ROUNDS" -ge 1 ] 2>/dev/null || { echo "relay: --rounds wants a number >= 1" >&2; exit 1; }
PX=10.77.0.3 MSP=1080 DTP=1081
IPERF_PORT=5201 CR1=5300 CR2=5301 HTTP=8080
CLK_TCK=$(getconf CLK_TCK)
RES=$TMP/res
SERVERS=""		# pids of the servers in B, outside the cgroup
LOADED=0
RUN_PID=""		# a measurement running in the background

relay_cleanup() {
	trap - EXIT INT TERM
	[ -n "$RUN_PID" ] && kill $RUN_PID 2>/dev/null
	# dante's children too, should the main process not take them along
	[ -n "${DTPID:-}" ] && SERVERS="$SERVERS $(pgrep -P $DTPID | tr '\n' ' ')"
	[ -n "$SERVERS" ] && kill $SERVERS 2>/dev/null
	[ -n "$SERVERS" ] && wait $SERVERS 2>/dev/null
	cleanup
}
trap relay_cleanup EXIT
trap 'exit 1' INT TERM
need_tools relay iperf3 microsocks danted proxychains4 curl busybox
[ -x "$CONNRATE" ] && [ -x "$NETFIL" ] || { log "relay: build first (make)"; exit 1; }
[ "$(stat -f -c %T /sys/fs/bpf)" = bpf_fs ] || mount -t bpf bpf /sys/fs/bpf

# bg CMD...: CMD in the background, waited for, so that a signal is
# handled at once; its status is bg's
bg() { "$@" & RUN_PID=$!; wait $RUN_PID; local rc=$?; RUN_PID=""; return $rc; }

# ticks PID: utime + stime of a process (all its threads), in clock ticks
ticks() { awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$1/stat" 2>/dev/null || echo 0; }
ticks_of() { awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "$1" 2>/dev/null || echo 0; }

# ---- servers in B, outside netfil's cgroup ---------------------------------------
# (through $B, not in_b: nsenter execs the server, so $! is the server's pid)
B="nsenter --net=/run/netns/$NS_B"
setup_net || { log "relay: cannot create the namespaces"; exit 1; }
mkdir -p "$TMP"/www
head -c 1024 /dev/urandom > "$TMP"/www/small
head -c 10000000 /dev/urandom > "$TMP"/www/big
$B iperf3 -s -B 10.77.0.2 -p $IPERF_PORT > "$TMP"/iperf-server.log 2>&1 &
SERVERS="$SERVERS $!"
$B microsocks -i $PX -p $MSP > "$TMP"/ms.log 2>&1 &
MSPID=$!
SERVERS="$SERVERS $MSPID"
dante_conf "$TMP"/danted.conf $PX $DTP vba
$B danted -f "$TMP"/danted.conf -p "$TMP"/danted.pid > "$TMP"/danted.out 2>&1 &
DTPID=$!
SERVERS="$SERVERS $DTPID"
$B "$CONNRATE" server 10.77.0.2 $CR1 --ready "$TMP"/cr1.ready --seconds 36000 > "$TMP"/cr1.out &
CR1PID=$!
$B "$CONNRATE" server $PX $CR2 --ready "$TMP"/cr2.ready --seconds 36000 > "$TMP"/cr2.out &
CR2PID=$!
SERVERS="$SERVERS $CR1PID $CR2PID"
$B busybox httpd -f -v -p 10.77.0.2:$HTTP -h "$TMP"/www 2> "$TMP"/httpd.log &
SERVERS="$SERVERS $!"
wait_file "$TMP"/cr1.ready && wait_file "$TMP"/cr2.ready || exit 1
in_a sysctl -qw net.ipv4.tcp_tw_reuse=1
for p in "10.77.0.2 $IPERF_PORT" "$PX $MSP" "$PX $DTP" "10.77.0.2 $HTTP"; do
	eventually in_a python3 -c "import socket, sys; socket.create_connection((sys.argv[1], int(sys.argv[2])), 1).close()" $p ||
		{ log "relay: nothing listens on $p"; exit 1; }
done
for port in $MSP $DTP; do
	cat > "$TMP"/proxychains-$port.conf <<-EOF
	strict_chain
	quiet_mode
	tcp_read_time_out 15000
	tcp_connect_time_out 8000
	[ProxyList]
	socks5 $PX $port
	EOF
done

setup_cgroup || { log "relay: cannot create the cgroup"; exit 1; }
ensure_loaded() { [ $LOADED = 1 ] && return 0; nf load > /dev/null || return 1; LOADED=1; }
ensure_unloaded() { [ $LOADED = 0 ] && return 0; nf unload > /dev/null || return 1; LOADED=0; }
ensure_loaded || { log "relay: netfil load failed"; exit 1; }
# the bare relay, in A and in the cgroup like "netfil run"'s
$A "$ROOT"/build/relay_engine --origin 10.77.0.2:$IPERF_PORT --proxy none > "$TMP"/eng.addr 2> "$TMP"/eng.err &
ENGPID=$!
SERVERS="$SERVERS $ENGPID"
for i in $(seq 1 200); do [ -s "$TMP"/eng.addr ] && break; sleep 0.025; done
read -r ENG4 _ < "$TMP"/eng.addr
[ -n "${ENG4:-}" ] || { log "relay: the bare relay did not start: $(cat "$TMP"/eng.err)"; exit 1; }

r() { echo "$*" >> "$RES"; }

# ---- 1. throughput -----------------------------------------------------------------
# tput CFG DIR ROUND: one iperf3 run; "relay tput ..." in $RES
tput() {
	local cfg=$1 dir=$2 round=$3 rflag="" ms0 ms1 e0 rel=0 out=$TMP/ip.json iperf port=$MSP
	[ $dir = rev ] && rflag=-R
	case $cfg in *-dante) port=$DTP ;; esac
	iperf="iperf3 -c 10.77.0.2 -p $IPERF_PORT -t $SECS $rflag -J --get-server-output"
	rm -f "$out" "$TMP"/r0 "$TMP"/r1
	ensure_loaded || return 1
	ms0=$(ticks $MSPID)
	e0=$(ticks $ENGPID)
	case $cfg in
	direct) bg timeout 60 $A $iperf > "$out" ;;
	relay-bare) bg timeout 60 $A ${iperf/-c 10.77.0.2 -p $IPERF_PORT/-c ${ENG4%:*} -p ${ENG4##*:}} > "$out" ;;
	relay*) bg timeout 60 $A "$NETFIL" run proxy socks5://$PX:$port -- bash -c \
		"cat /proc/\$PPID/stat > $TMP/r0; $iperf > $out; cat /proc/\$PPID/stat > $TMP/r1" 2> "$TMP"/run.err ;;
	proxychains*) bg timeout 60 $A proxychains4 -q -f "$TMP"/proxychains-$port.conf $iperf > "$out" ;;
	esac
	ms1=$(ticks $MSPID)
	case $cfg in
	relay-bare) rel=$(( $(ticks $ENGPID) - e0 )) ;;
	relay*) rel=$(( $(ticks_of "$TMP"/r1) - $(ticks_of "$TMP"/r0) )) ;;
	esac
	python3 - "$out" "$dir $cfg $round" $rel $((ms1 - ms0)) "$CLK_TCK" >> "$RES" <<-'EOF' ||
	import json, re, sys
	j = json.load(open(sys.argv[1]))
	s, tck = j["end"]["sum_received"], float(sys.argv[5])
	m = re.search(r"connected to (\S+) port", j.get("server_output_text", ""))
	peer = m.group(1) if m else "?"	# the data connection's peer, as the server saw it
	cpu = j["end"].get("cpu_utilization_percent", {})
	print("relay tput %s %.3f %d %.3f %.3f %.1f %.1f %s" % (sys.argv[2], s["bits_per_second"] / 1e9, s["bytes"],
	      int(sys.argv[3]) / tck, int(sys.argv[4]) / tck, cpu.get("host_total", 0), cpu.get("remote_total", 0), peer))
	EOF
		{ log "relay: iperf3 $cfg $dir failed: $(head -c 300 "$out" "$TMP"/run.err 2>/dev/null)"; return 1; }
}

# ---- 2. connection rate -----------------------------------------------------------
# conn CFG ROUND: one connrate client run; "relay conn ..." in $RES
conn() {
	local cfg=$1 round=$2 sh fid="" out=$TMP/cr.out
	rm -f "$out"
	case $cfg in
	unloaded) ensure_unloaded ;;
	*) ensure_loaded ;;
	esac || return 1
	rm -f "$TMP"/go && mkfifo "$TMP"/go
	# the client waits until its tree's filter exists, as tests/redirect.sh's tree_run
	$A bash -c "read x < $TMP/go && exec $CONNRATE client 10.77.0.2 $CR1 --seconds $CONN_SECS --workers 2" > "$out" &
	sh=$!
	RUN_PID=$sh
	if [ $cfg = redirect ]; then
		fid=$(nf filter add socket tree $sh redirect to $PX:$CR2) ||
			{ kill $sh; wait $sh; RUN_PID=""; log "relay: filter add failed"; return 1; }
	fi
	echo go > "$TMP"/go
	wait $sh
	RUN_PID=""
	[ -n "$fid" ] && { nf filter del $fid > /dev/null || return 1; }
	grep -q 'rate=' "$out" || { log "relay: connrate $cfg: $(cat "$out")"; return 1; }
	r relay conn $cfg $round $(sed -n 's/.*connections=\([0-9]*\) failed=\([0-9]*\).*rate=\([0-9.]*\).*/\3 \1 \2/p' "$out")
}

# ---- 3. curl ------------------------------------------------------------------------
# curls WORKLOAD CFG ROUND: one shell loop of curls, timed inside the loop
# (so "netfil run" and proxychains4 start-up are outside the time)
curls() {
	local w=$1 cfg=$2 round=$3 n file out=$TMP/curl.out l0 l1 loop
	case $w in small) n=$CURL_N file=small ;; big) n=$BIG_N file=big ;; esac
	loop="t0=\$(date +%s%N); f=0
		for i in \$(seq 1 $n); do curl -s -o /dev/null --max-time 20 http://10.77.0.2:$HTTP/$file || f=\$((f + 1)); done
		echo ns=\$(( \$(date +%s%N) - t0 )) failed=\$f"
	ensure_loaded || return 1
	l0=$(wc -l < "$TMP"/httpd.log)
	case $cfg in
	direct) bg timeout 300 $A bash -c "$loop" > "$out" ;;
	relay) bg timeout 300 $A "$NETFIL" run proxy socks5://$PX:$MSP -- bash -c "$loop" > "$out" 2> "$TMP"/run.err ;;
	proxychains) bg timeout 300 $A proxychains4 -q -f "$TMP"/proxychains-$MSP.conf bash -c "$loop" > "$out" ;;
	esac
	sleep 0.05	# httpd's last line
	l1=$(wc -l < "$TMP"/httpd.log)
	# where the requests came from: A itself, or B (microsocks)
	tail -n +$((l0 + 1)) "$TMP"/httpd.log | head -n $((l1 - l0)) |
		awk -v c="$cfg $w" '/response:/ { split($1, a, ":"); if (a[1] == "10.77.0.1") d++; else p++ }
			END { print c, d + 0, p + 0 }' >> "$TMP"/peers
	[ "$(field "$out" failed)" = 0 ] || { log "relay: curl $w $cfg: $(cat "$out" "$TMP"/run.err 2>/dev/null)"; return 1; }
	r relay curl $w $cfg $round "$(awk -v ns="$(field "$out" ns)" -v n=$n 'BEGIN { printf "%.3f", ns / n / 1e6 }')"
}

# ---- the rounds -------------------------------------------------------------------------
: > "$RES"
: > "$TMP"/peers
T0=$(date +%s)
TPUT_CFGS=(direct relay proxychains relay-dante proxychains-dante relay-bare)
CONN_CFGS=(unloaded none redirect)
CURL_CFGS=(direct relay proxychains)
log "relay: $ROUNDS round(s): iperf3 -t $SECS both ways, connrate $CONN_SECS s, $CURL_N + $BIG_N curls per configuration"
for round in $(seq 1 "$ROUNDS"); do
	for dir in fwd rev; do
		for k in 0 1 2 3 4 5; do
			tput ${TPUT_CFGS[$(( (k + round) % 6 ))]} $dir $round || exit 1
		done
	done
	for k in 0 1 2; do
		conn ${CONN_CFGS[$(( (k + round) % 3 ))]} $round || exit 1
	done
	for w in small big; do
		for k in 0 1 2; do
			curls $w ${CURL_CFGS[$(( (k + round) % 3 ))]} $round || exit 1
		done
	done
	log "relay: round $round done ($(( $(date +%s) - T0 )) s)"
done
ELAPSED=$(( $(date +%s) - T0 ))
ensure_loaded

# The connection servers' counts: every redirected connection, and only
# those, reached 10.77.0.3:$CR2.
kill -TERM $CR1PID $CR2PID
wait $CR1PID $CR2PID 2>/dev/null
ACC1=$(sed -n 's/.*accepted=\([0-9]*\).*/\1/p' "$TMP"/cr1.out)
ACC2=$(sed -n 's/.*accepted=\([0-9]*\).*/\1/p' "$TMP"/cr2.out)
SENT1=$(awk '$2 == "conn" && $3 != "redirect" { s += $6 + $7 } END { print s + 0 }' "$RES")
SENT2=$(awk '$2 == "conn" && $3 == "redirect" { s += $6 + $7 } END { print s + 0 }' "$RES")
# the servers count what they accepted; a client counts what completed
# before its deadline, plus what failed: allow the connections in flight
# at the deadlines (2 workers)
CONNCHECK="10.77.0.2:$CR1 accepted ${ACC1:-?} of $SENT1 not redirected, 10.77.0.3:$CR2 accepted ${ACC2:-?} of $SENT2 redirected"
log "relay: $CONNCHECK"
META="relay-meta rounds=$ROUNDS secs=$SECS conn_secs=$CONN_SECS curl_n=$CURL_N big_n=$BIG_N elapsed_s=$ELAPSED machine=$(nproc)cores,$(uname -r) date=$(date -u +%Y-%m-%dT%H:%MZ)"

python3 - "$RES" "$TMP"/peers "$SMOKE" "$ROUNDS" "${ACC1:-x}" "$SENT1" "${ACC2:-x}" "$SENT2" "${RESULTS:-}" "$META" <<'EOF'
import math, statistics, sys
res, peers, smoke, rounds = sys.argv[1], sys.argv[2], sys.argv[3] == "1", int(sys.argv[4])
acc1, sent1, acc2, sent2 = sys.argv[5:9]
results, meta = sys.argv[9], sys.argv[10]
tput, conn, curl, peer = {}, {}, {}, {}
raw = []
for line in open(res):
    w = line.split()
    raw.append(line.rstrip("\n"))
    if w[1] == "tput":
        d, c, rd = w[2], w[3], int(w[4])
        tput[d, c, rd] = [float(x) for x in w[5:11]] + [w[11]]
    elif w[1] == "conn":
        conn[w[2], int(w[3])] = [float(x) for x in w[4:7]]
    elif w[1] == "curl":
        curl[w[2], w[3], int(w[4])] = float(w[5])
for line in open(peers):
    c, wl, d, p = line.split()
    a = peer.setdefault((c, wl), [0, 0])
    a[0] += int(d); a[1] += int(p)

def st(v, f="%.3f"):
    if not v:
        return "n/a"
    return (f + " [" + f + ", " + f + "]") % (statistics.median(v), min(v), max(v))
ratios = {}		# name -> per-round values
def ratio(name, num, den):
    v = [num[k] / den[k] for k in sorted(num) if k in den and den[k] > 0]
    ratios[name] = v
    return v

DIRS = {"fwd": "A->B", "rev": "B->A (-R)"}
print("bench/relay.sh: %d round(s); median [min, max] over rounds; ratios taken round by round" % rounds)
print()
print("1. One TCP stream (iperf3 -t %s), Gbit/s; CPU seconds per GB moved" % meta.split("secs=")[1].split()[0])
row = "  %-10s %-30s %-22s %-34s %-22s %s"
print(row % ("direction", "config", "Gbit/s", "ratio", "relay CPU s/GB", "microsocks CPU s/GB"))
TC = ("direct", "relay", "proxychains", "relay-dante", "proxychains-dante", "relay-bare")
def col(d, c, i):
    return {rd: v[i] for (dd, cc, rd), v in tput.items() if dd == d and cc == c}
def perg(d, c, i):
    return [v[i] / (v[1] / 1e9) for (dd, cc, rd), v in tput.items() if dd == d and cc == c and v[1] > 0]
for d in ("fwd", "rev"):
    g = {c: col(d, c, 0) for c in TC}
    for c in TC:
        ratios["tput-%s-%s-gbit" % (d, c)] = list(g[c].values())
        ratios["tput-%s-%s-iperf_client_cpu_pct" % (d, c)] = list(col(d, c, 4).values())
        ratios["tput-%s-%s-iperf_server_cpu_pct" % (d, c)] = list(col(d, c, 5).values())
        if c.startswith("relay"):
            ratios["tput-%s-%s-relay_cpu_s_per_gb" % (d, c)] = perg(d, c, 2)
        if c in ("relay", "proxychains"):
            ratios["tput-%s-%s-microsocks_cpu_s_per_gb" % (d, c)] = perg(d, c, 3)
    print(row % (DIRS[d], "direct", st(list(g["direct"].values()), "%.2f"), "1", "", ""))
    for c in TC[1:]:
        print(row % ("", c, st(list(g[c].values()), "%.2f"),
                     st(ratio("tput-%s-%s/direct" % (d, c), g[c], g["direct"])) + " of direct",
                     st(perg(d, c, 2)) if c.startswith("relay") else "",
                     st(perg(d, c, 3)) if c in ("relay", "proxychains") else ""))
        if c.startswith("proxychains"):
            rc = c.replace("proxychains", "relay")
            print(row % ("", rc + "/" + c, "", st(ratio("tput-%s-%s/%s" % (d, rc, c), g[rc], g[c])), "", ""))
print("  iperf3's own CPU, % of one core, client / server:")
for d in ("fwd", "rev"):
    print("    %s: %s" % (DIRS[d], "; ".join("%s %s / %s" % (c, st(ratios["tput-%s-%s-iperf_client_cpu_pct" % (d, c)], "%.0f"),
          st(ratios["tput-%s-%s-iperf_server_cpu_pct" % (d, c)], "%.0f")) for c in TC)))
print()
print("2. Connection rate (connrate, 2 workers), connections/s")
row = "  %-10s %-26s %s"
print(row % ("config", "connections/s", "ratio"))
cr = {c: {rd: v[0] for (cc, rd), v in conn.items() if cc == c} for c in ("unloaded", "none", "redirect")}
ratios.update({"conn-%s-rate" % c: list(cr[c].values()) for c in cr})
print(row % ("unloaded", st(list(cr["unloaded"].values()), "%.0f"),
             st(ratio("conn-unloaded/none", cr["unloaded"], cr["none"])) + " of none"))
print(row % ("none", st(list(cr["none"].values()), "%.0f"), "1"))
print(row % ("redirect", st(list(cr["redirect"].values()), "%.0f"),
             st(ratio("conn-redirect/none", cr["redirect"], cr["none"])) + " of none, " +
             st(ratio("conn-redirect/unloaded", cr["redirect"], cr["unloaded"])) + " of unloaded"))
failed = sum(v[2] for v in conn.values())
print("  servers: %s; failed connections: %d" % (
    "10.77.0.2 accepted %s (%s sent there), 10.77.0.3 accepted %s (%s redirected)" % (acc1, sent1, acc2, sent2), failed))
print()
print("3. Sequential curls, ms per request; ratio of times (> 1: slower than direct)")
row = "  %-16s %-12s %-24s %s"
print(row % ("workload", "config", "ms/request", "time ratio"))
WL = {"small": "1 KB file", "big": "10 MB file"}
for wl in ("small", "big"):
    m = {c: {rd: v for (ww, cc, rd), v in curl.items() if ww == wl and cc == c} for c in ("direct", "relay", "proxychains")}
    for c in m:
        ratios["curl-%s-%s-ms" % (wl, c)] = list(m[c].values())
    print(row % (WL[wl], "direct", st(list(m["direct"].values()), "%.2f"), "1"))
    print(row % ("", "relay", st(list(m["relay"].values()), "%.2f"),
                 st(ratio("curl-%s-relay/direct" % wl, m["relay"], m["direct"])) + " of direct"))
    print(row % ("", "proxychains", st(list(m["proxychains"].values()), "%.2f"),
                 st(ratio("curl-%s-proxychains/direct" % wl, m["proxychains"], m["direct"])) + " of direct"))
    print(row % ("", "relay/proxychains", "", st(ratio("curl-%s-relay/proxychains" % wl, m["relay"], m["proxychains"]))))
print("  httpd saw (from A directly / from B, the proxy): " + "; ".join(
    "%s %s %d/%d" % (wl, c, *peer.get((c, wl), [0, 0])) for wl in ("small", "big") for c in ("direct", "relay", "proxychains")))

if results:
    with open(results, "a") as f:
        for l in raw:
            f.write(l + "\n")
        for k, v in ratios.items():
            if v:
                f.write("relay-ratio %s %.4f %.4f %.4f %d\n" % (k, statistics.median(v), min(v), max(v), len(v)))
        f.write(meta + "\n")

# checks: figures are numbers, and the traffic went where it should
checks = []
def check(name, ok):
    checks.append((name, ok))
    if not ok:
        print("FAIL " + name, file=sys.stderr)
def num(v):
    return len(v) == rounds and all(isinstance(x, float) and math.isfinite(x) and x > 0 for x in v)
for k in sorted(ratios):
    if "cpu" in k:
        continue
    check("%s: a number per round" % k, num(ratios[k]))
for d in ("fwd", "rev"):
    for c in ("relay", "proxychains"):
        check("tput %s %s: microsocks used CPU" % (d, c), all(v[3] > 0 for (dd, cc, rd), v in tput.items() if dd == d and cc == c))
    for c in ("relay", "proxychains", "relay-dante", "proxychains-dante"):
        check("tput %s %s: the iperf3 server saw B (the proxy), not A" % (d, c),
              all(v[6].startswith("10.77.0.") and v[6] != "10.77.0.1" for (dd, cc, rd), v in tput.items() if dd == d and cc == c))
    for c in ("direct", "relay-bare"):
        check("tput %s %s: the iperf3 server saw A" % (d, c),
              all(v[6] == "10.77.0.1" for (dd, cc, rd), v in tput.items() if dd == d and cc == c))
    for c in ("relay", "relay-dante", "relay-bare"):
        check("tput %s %s: the relay used CPU" % (d, c), all(v[2] > 0 for (dd, cc, rd), v in tput.items() if dd == d and cc == c))
for wl in ("small", "big"):
    for c in ("direct", "relay", "proxychains"):
        dd, pp = peer.get((c, wl), [0, 0])
        check("curl %s %s: every request from %s" % (wl, c, "A" if c == "direct" else "the proxy"),
              (dd > 0 and pp == 0) if c == "direct" else (pp > 0 and dd == 0))
check("conn: no failed connection", failed == 0)
# in flight at a deadline: at most the 2 workers' connections per run
check("conn: 10.77.0.3 got the redirected connections, and only them",
      acc2.isdigit() and 0 <= int(acc2) - int(sent2) <= 2 * rounds + 2 and int(acc2) > 0)
check("conn: 10.77.0.2 got the others, and only them",
      acc1.isdigit() and 0 <= int(acc1) - int(sent1) <= 4 * rounds + 2)
bad = sum(1 for _, ok in checks if not ok)
if smoke:
    print("%d passed, %d failed" % (len(checks) - bad, bad))
elif bad:
    print("warning: %d check(s) failed (see above)" % bad)
sys.exit(1 if bad else 0)
EOF
