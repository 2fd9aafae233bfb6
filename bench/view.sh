#!/bin/bash
# What the live views cost while the machine runs its full connection
# rate: the CPU of "netfil top" and of netfild serving its page to 5
# browsers, as % of one core (target: each at most 5 %), and what each
# does to the connection rate.  Every configuration runs once per round
# next to the baseline, the order rotated from round to round (this VM
# drifts by tens of percent between runs):
#
#   baseline      connrate with no viewer (netfil loaded, the filters below)
#   top           "netfil top" in a tmux pane, 200x50, TERM=tmux-256color
#   netfild       netfild --metrics-port PORT, no page open
#   netfild-5b    the same with 5 headless Chromium instances, each with the
#                 page (http://127.0.0.1:PORT/) open and its /events stream
#                 held (checked with ss and netfild_web_streams)
#
# One measurement: the viewer is started and given WARM seconds (5; 15
# with the browsers, which take that long to settle after the page's
# load), then build/connrate's client (2 workers, full speed) runs SECS
# seconds; the viewer's utime + stime (/proc/PID/stat, all its threads)
# over that window, divided by the window's wall time, is its CPU in % of
# one core.  Then the viewer is stopped, so the next configuration starts
# from nothing.  Also recorded per measurement: the connection rate (and
# its ratio to the same round's baseline), events lost (netfil status),
# the CPU of each of the run's cgroups (cpu.stat: client, server, viewers,
# browsers), the tmux server's CPU beside top, and the bytes netfild's
# /events streams sent (ss -ti, bytes_acked).  (/proc/stat is no help
# here: on this VM its jiffies run up to 1.4x faster than the wall clock
# under this load.)
#
#   bench/view.sh [--smoke] [--rounds R] [--secs S] [--warm S] [--configs LIST] [--json FILE]
#
# Defaults: 7 rounds of 10 s, every configuration, JSON in
# build/view-bench.json.  --smoke: one round of 2 s, checks only that every
# measurement produced a number (and that each viewer really ran: top drew
# the client, the 5 streams stayed open), ending with "N passed, N failed";
# it never judges speed.  Its JSON goes to build/view-bench-smoke.json.
# --configs: a comma-separated subset, e.g. baseline,top.
#
# Isolation: namespaces A (client, netfild, browsers) and B (connrate's
# server) from tests/lib.sh; netfil attached to $CG2/netfil-bench-view-$$
# only (this shell and the client), pinned under
# /sys/fs/bpf/netfil-bench-view-$$.  The server in B starts before this
# shell joins that cgroup; the viewers run beside it, not below it
# (netfild and tmux in ...-$$-out, the browsers in ...-$$-web), so their
# own sockets are not governed and only the client's connections move the
# model.  netfild listens on 127.0.0.1 of A, which only this run can
# reach.  tmux runs on its own server socket.  Processes are stopped by
# pid (and the run's own cgroups emptied with cgroup.kill as a last
# resort); everything is removed on exit, interrupted or not.
set -u
. "$(dirname "$0")/../tests/lib.sh"
# Debian's own tools first, as tests/run.sh does
export PATH=/usr/sbin:/usr/bin:/sbin:/bin${PATH:+:$PATH}
export NETFIL_CGROUP=$CG2/netfil-bench-view-$$
export NETFIL_PIN_DIR=/sys/fs/bpf/netfil-bench-view-$$
OUT_CG=$CG2/netfil-bench-view-$$-out
SRV_CG=$CG2/netfil-bench-view-$$-srv
WEB_CG=$CG2/netfil-bench-view-$$-web
NETFILD=${NETFILD:-$ROOT/build/netfild}
CONNRATE=$ROOT/build/connrate
ROUNDS=7 SECS=10 WARM=5 WEB_WARM=15 SMOKE=0 JSON="" BROWSERS=5
CONFIGS=baseline,top,netfild,netfild-5b
ARGS="$*"
while [ $# -gt 0 ]; do
	case $1 in
	--smoke) SMOKE=1 ROUNDS=1 SECS=2 WARM=1 WEB_WARM=3 ;;
	--rounds) ROUNDS=$2; shift ;;
	--secs) SECS=$2; shift ;;
	--warm) WARM=$2 WEB_WARM=$2; shift ;;
	--configs) CONFIGS=$2; shift ;;
	--json) JSON=$2; shift ;;
	*) echo "usage: bench/view.sh [--smoke] [--rounds R] [--secs S] [--warm S] [--configs LIST] [--json FILE]" >&2
	   exit 1 ;;
	esac
	shift
done
[ -n "$JSON" ] || JSON=$ROOT/build/view-bench$([ $SMOKE = 1 ] && echo -smoke).json
[ "$ROUNDS" -ge 1 ] 2>/dev/null || { echo "view: --rounds wants a number >= 1" >&2; exit 1; }
IFS=, read -r -a CFGS <<< "$CONFIGS"
for c in "${CFGS[@]}"; do
	case $c in baseline|top|netfild|netfild-5b) ;; *) echo "view: unknown configuration '$c'" >&2; exit 1 ;; esac
done
case ",$CONFIGS," in *,baseline,*) ;; *) echo "view: --configs needs baseline (every ratio is to it)" >&2; exit 1 ;; esac
NCFG=${#CFGS[@]}
CR_PORT=5300
MPORT=9471			# netfild's, on A's own loopback
URL=http://127.0.0.1:$MPORT
A_NS=/run/netns/$NS_A
CLK_TCK=$(getconf CLK_TCK)
T="tmux -L netfil-bench-view-$$"
RES=$TMP/res
SERVER=""			# connrate's server in B
RUN_PID=""			# a measurement running in the background
TOPPID="" TMUXPID="" DPID="" WEBPIDS=""

# ---- stopping things, by pid ------------------------------------------------------
# empty_cg CG: whatever is left in one of this run's own cgroups, then the cgroup
empty_cg() {
	local i
	[ -d "$1" ] || return 0
	[ -s "$1"/cgroup.procs ] && [ -e "$1"/cgroup.kill ] && echo 1 > "$1"/cgroup.kill
	for i in $(seq 1 100); do rmdir "$1" 2>/dev/null && return 0; sleep 0.05; done
	log "view: could not remove $1"
}
stop_top() {
	[ -n "$TOPPID" ] && stop_pids 5 $TOPPID
	TOPPID=""
	$T kill-server 2>/dev/null
	return 0
}
stop_web() {
	[ -n "$WEBPIDS" ] && stop_pids 5 $WEBPIDS
	WEBPIDS=""
	# their children (renderers, the network service) go with them; any left
	# behind is in the browsers' own cgroup
	empty_cg "$WEB_CG"
	mkdir -p "$WEB_CG"
}
stop_d() {
	[ -n "$DPID" ] && stop_pids 5 $DPID
	DPID=""
	return 0
}
view_cleanup() {
	trap - EXIT INT TERM
	[ -n "$RUN_PID" ] && stop_pids 5 $RUN_PID
	stop_top
	[ -n "$WEBPIDS" ] && stop_pids 5 $WEBPIDS
	stop_d
	[ -n "$SERVER" ] && stop_pids 5 $SERVER
	empty_cg "$WEB_CG"
	empty_cg "$OUT_CG"
	empty_cg "$SRV_CG"
	rm -f "/tmp/tmux-$(id -u)/netfil-bench-view-$$"
	cleanup
}
trap view_cleanup EXIT
trap 'exit 1' INT TERM

need_tools view tmux chromium ss curl
[ -x "$CONNRATE" ] && [ -x "$NETFIL" ] && [ -x "$NETFILD" ] || { log "view: build first (make)"; exit 1; }
# the binaries as they are now: a rebuild during the run changes nothing
mkdir -p "$TMP"/bin && cp "$NETFIL" "$NETFILD" "$CONNRATE" "$TMP"/bin/ || exit 1
BUILT="netfil $(sha256sum "$NETFIL" | cut -c1-12) netfild $(sha256sum "$NETFILD" | cut -c1-12), $(stat -c %y "$NETFILD" | cut -c1-19)"
NETFIL=$TMP/bin/${NETFIL##*/} NETFILD=$TMP/bin/${NETFILD##*/} CONNRATE=$TMP/bin/connrate
[ "$(stat -f -c %T /sys/fs/bpf)" = bpf_fs ] || mount -t bpf bpf /sys/fs/bpf

# bg CMD...: CMD in the background, waited for, so that a signal is
# handled at once; its status is bg's
bg() { "$@" & RUN_PID=$!; wait $RUN_PID; local rc=$?; RUN_PID=""; return $rc; }
r() { echo "$*" >> "$RES"; }
# ticks PID: utime + stime of a process (all its threads), in clock ticks
ticks() { awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$1/stat" 2>/dev/null || echo 0; }
# cg_usec CG: CPU of everything in a cgroup, live or gone, in microseconds
cg_usec() { awk '$1 == "usage_usec" { print $2 }' "$1"/cpu.stat 2>/dev/null || echo 0; }
# mine: the CPU of everything this run started, by cgroup, in us: the
# client (and this shell), the server, the viewers (netfild, tmux, top),
# the browsers
mine() { echo $(cg_usec "$NETFIL_CGROUP") $(cg_usec "$SRV_CG") $(cg_usec "$OUT_CG") $(cg_usec "$WEB_CG"); }
now_ns() { date +%s%N; }
lost_total() { nf -j status | python3 -c 'import json,sys; print(json.load(sys.stdin)["events_lost"])'; }
# poll_until SECONDS CMD...: true once CMD succeeds (tests/lib.sh's, if it has one)
declare -F poll_until > /dev/null || poll_until() {
	local end=$(( $(now_ns) + $1 * 1000000000 ))
	shift
	until "$@" 2>/dev/null; do
		[ "$(now_ns)" -lt "$end" ] || return 1
		sleep 0.1
	done
}
# out_cg / web_cg: the calling (sub)shell moves beside the test cgroup
out_cg() { echo $BASHPID > "$OUT_CG"/cgroup.procs; }
web_cg() { echo $BASHPID > "$WEB_CG"/cgroup.procs; }

# ---- the server in B, outside netfil's cgroup; the filters ----------------------------
setup_net || { log "view: cannot create the namespaces"; exit 1; }
mkdir -p "$OUT_CG" "$WEB_CG" "$SRV_CG" || { log "view: cannot create $OUT_CG"; exit 1; }
rm -f "$TMP"/cr.ready
( echo $BASHPID > "$SRV_CG"/cgroup.procs && exec nsenter --net=/run/netns/$NS_B "$CONNRATE" server 10.77.0.2 $CR_PORT --ready "$TMP"/cr.ready \
	--seconds 36000 ) > "$TMP"/cr-server.out &
SERVER=$!
wait_file "$TMP"/cr.ready || { log "view: connrate's server did not start"; exit 1; }
setup_cgroup || { log "view: cannot create the cgroup"; exit 1; }
# Short connections leave TIME_WAIT behind (on the server's side); as bench.sh
in_a sysctl -qw net.ipv4.tcp_tw_reuse=1
nf load > /dev/null || { log "view: netfil load failed"; exit 1; }
# As bench.sh's "allkinds": every connection is charged to an IP filter and
# a socket filter (this shell's tree: the client), plus prefixes that match
# nothing; limits never reached
{
	echo "filter add ip 10.77.0.0/24 iobyte 1T"
	echo "filter add socket tree $$ iobyte 1T"
	echo "filter add ip 10.200.0.0/16 iobyte 1T"
	echo "filter add ip fd00:77::/48 obyte 1T"
} > "$TMP"/batch
nf batch "$TMP"/batch > /dev/null || { log "view: adding the filters failed"; exit 1; }
: > "$TMP"/none.conf

# ---- the viewers ---------------------------------------------------------------------------
screen() { $T capture-pane -p -t top 2>/dev/null; }
top_on() { screen | grep -q 'netfil on'; }
start_top() {
	rm -f "$TMP"/top.pid
	# tmux does not pass the environment on reliably: all of it explicitly
	( out_cg && exec $T new-session -d -s top -x 200 -y 50 \
		"sh -c 'echo \$\$ > $TMP/top.pid; exec env TERM=tmux-256color NETFIL_PIN_DIR=$NETFIL_PIN_DIR NETFIL_CGROUP=$NETFIL_CGROUP $NETFIL top'" ) ||
		{ log "view: tmux failed"; return 1; }
	wait_file "$TMP"/top.pid || return 1
	TOPPID=$(cat "$TMP"/top.pid)
	poll_until 10 top_on || { log "view: top never showed 'netfil on':"; screen | head -n 5 >&2; return 1; }
	TMUXPID=$($T display -p '#{pid}')
}
start_d() {
	: > "$TMP"/d.log
	( out_cg && exec nsenter --net=$A_NS "$NETFILD" --stderr --state "$TMP"/state \
		--config "$TMP"/none.conf --metrics-port $MPORT ) >> "$TMP"/d.log 2>&1 &
	DPID=$!
	wait_log "running:" || { stop_d; return 1; }
}
metric() { in_a curl -s -m 5 "$URL"/metrics | sed -n "s/^$1 //p"; }
# streams: the page's /events connections Chromium holds, seen by the kernel
# (established, to netfild's port, owned by a process of the browsers'
# cgroup) and by netfild
ss_streams() {
	local pids
	pids=" $(tr '\n' ' ' < "$WEB_CG"/cgroup.procs)"
	in_a ss -tnpH state established "( dport = :$MPORT )" |
		grep -oE 'pid=[0-9]+' | sed 's/pid=//' | sort -u |
		while read -r p; do case $pids in *" $p "*) echo "$p" ;; esac; done | wc -l
}
web_streams() { metric netfild_web_streams; }
# sse_bytes: what netfild's connections on its port have sent so far (acked)
sse_bytes() {
	in_a ss -tinH state established "( sport = :$MPORT )" |
		grep -oE 'bytes_acked:[0-9]+' | awk -F: '{ s += $2 } END { print s + 0 }'
}
streams_are() { [ "$(web_streams)" = "$1" ]; }
start_web() {
	local i dir t0=$(now_ns)
	for i in $(seq 1 $BROWSERS); do
		dir=$(mktemp -d "$TMP"/chromium.XXXXXX)
		( web_cg && HOME=$dir XDG_CONFIG_HOME=$dir/.config XDG_CACHE_HOME=$dir/.cache \
			exec nsenter --net=$A_NS chromium --headless --no-sandbox --disable-gpu \
			--disable-quic --no-first-run --disable-background-networking \
			--disable-component-update --disable-sync --user-data-dir="$dir" "$URL"/ \
			) > "$TMP"/chromium-$i.log 2>&1 &
		WEBPIDS="$WEBPIDS $!"
	done
	poll_until 90 streams_are $BROWSERS ||
		{ log "view: $BROWSERS browsers, $(web_streams) streams open"; return 1; }
	WEB_START_MS=$(( ($(now_ns) - t0) / 1000000 ))
}

# ---- one measurement ----------------------------------------------------------------------
# measure CFG ROUND POS: start CFG's viewer, WARM s, connrate for SECS s
# while the viewer's CPU is read, stop the viewer; one line in $RES
measure() {
	local cfg=$1 round=$2 pos=$3 vpid="" out=$TMP/cr.out ok=1 w0 w1 t0="" t1="" l0 l1 m0 m1
	local x0=0 x1=0 q0=0 q1=0 kv=""
	rm -f "$out"
	case $cfg in
	top) start_top && vpid=$TOPPID ;;
	netfild) start_d && vpid=$DPID ;;
	netfild-5b) start_d && vpid=$DPID && start_web && kv="streams_after_ms=$WEB_START_MS" ;;
	esac || ok=0
	# start-up done: Chromium needs longer to settle than the others
	[ $ok = 1 ] && sleep $([ $cfg = netfild-5b ] && echo $WEB_WARM || echo $WARM)
	if [ $cfg = netfild-5b ] && [ $ok = 1 ]; then
		q0=$(sse_bytes)
		kv="$kv ss_streams_before=$(ss_streams) netfild_streams_before=$(web_streams)"
	fi
	l0=$(lost_total)
	[ -n "$vpid" ] && t0=$(ticks $vpid)
	[ $cfg = top ] && x0=$(ticks $TMUXPID)
	m0=$(mine)
	w0=$(now_ns)
	bg in_a "$CONNRATE" client 10.77.0.2 $CR_PORT --seconds $SECS --workers 2 > "$out"
	w1=$(now_ns)
	m1=$(mine)
	[ $cfg = top ] && x1=$(ticks $TMUXPID)
	[ -n "$vpid" ] && t1=$(ticks $vpid)
	l1=$(lost_total)
	if [ -n "$vpid" ] && ! kill -0 $vpid 2>/dev/null; then
		log "view: $cfg: the viewer (pid $vpid) died during the measurement"
		ok=0
	fi
	case $cfg in
	top)
		# top drew the client (live or exited)
		screen > "$TMP"/top-last.txt
		kv="$kv top_drew_client=$(grep -qE '(^| )[0-9]+ connrate' "$TMP"/top-last.txt && echo 1 || echo 0)"
		kv="$kv tmux_ticks=$((x1 - x0))"
		;;
	netfild-5b)
		[ $ok = 1 ] && q1=$(sse_bytes) &&
			kv="$kv ss_streams_after=$(ss_streams) netfild_streams_after=$(web_streams) sse_bytes=$((q1 - q0))"
		kv="$kv streams_dropped=$(metric netfild_web_streams_dropped_total)"
		;;
	esac
	case $cfg in
	top) stop_top ;;
	netfild) stop_d ;;
	netfild-5b) stop_web; stop_d ;;
	esac
	grep -q 'rate=' "$out" || { log "view: connrate ($cfg): $(cat "$out")"; ok=0; }
	[ -n "$t0" ] && [ -n "$t1" ] && kv="$kv viewer_ticks=$((t1 - t0))"
	python3 - "$cfg" "$round" "$pos" "$ok" "$CLK_TCK" "$((w1 - w0))" "$((l1 - l0))" "$m0" "$m1" \
		"$(cat "$out" 2>/dev/null)" "$kv" >> "$RES" <<-'EOF'
	import json, re, sys
	cfg, rnd, pos, ok, tck, wall_ns, lost, m0, m1, out, kv = sys.argv[1:]
	wall = int(wall_ns) / 1e9
	d = {"cfg": cfg, "round": int(rnd), "pos": int(pos), "ok": ok == "1", "wall_s": round(wall, 3),
	     "events_lost": int(lost)}
	m = re.search(r"connections=(\d+) failed=(\d+) seconds=([0-9.]+) rate=([0-9.]+)", out)
	if m:
	    d.update(connections=int(m.group(1)), failed=int(m.group(2)), rate=float(m.group(4)))
	for x in kv.split():
	    k, _, v = x.partition("=")
	    d[k] = int(v) if re.fullmatch(r"-?\d+", v) else None
	pct = lambda ticks: round(100.0 * ticks / float(tck) / wall, 3)
	if d.get("viewer_ticks") is not None:
	    d["viewer_cpu_pct"] = pct(d["viewer_ticks"])
	if d.get("tmux_ticks") is not None:
	    d["tmux_cpu_pct"] = pct(d["tmux_ticks"])
	if "top_drew_client" in d:
	    d["top_drew_client"] = d["top_drew_client"] == 1
	if d.get("sse_bytes") is not None:
	    d["sse_kib_per_s_per_stream"] = round(d["sse_bytes"] / 1024 / wall / 5, 2)
	# each of this run's cgroups over the window (cpu.stat); the softirq
	# work of the veth traffic is in none of them
	m0, m1 = [int(x) for x in m0.split()], [int(x) for x in m1.split()]
	for i, k in enumerate(("client", "server", "viewers", "browsers")):
	    d["cg_%s_cpu_pct" % k] = round(100.0 * (m1[i] - m0[i]) / 1e6 / wall, 1)
	d["connrate_cpu_pct"] = round(d["cg_client_cpu_pct"] + d["cg_server_cpu_pct"], 1)
	if cfg == "netfild-5b":
	    d["browsers_cpu_pct"] = d["cg_browsers_cpu_pct"]
	print(json.dumps(d))
	EOF
	log "view: round $round, $cfg: $(tail -n 1 "$RES")"
}

# ---- the rounds ----------------------------------------------------------------------------
: > "$RES"
T0=$(date +%s)
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
log "view: $ROUNDS round(s) of ${CFGS[*]}: warm-up $WARM s ($WEB_WARM s with browsers), connrate $SECS s (2 workers)"
for round in $(seq 1 "$ROUNDS"); do
	for k in $(seq 0 $((NCFG - 1))); do
		measure ${CFGS[$(( (k + round) % NCFG ))]} $round $k
	done
	log "view: round $round done ($(( $(date +%s) - T0 )) s)"
done
ELAPSED=$(( $(date +%s) - T0 ))
META=$(python3 -c 'import json, sys; print(json.dumps(dict(zip(sys.argv[1::2], sys.argv[2::2]))))' \
	command "bench/view.sh${ARGS:+ $ARGS}" rounds "$ROUNDS" secs "$SECS" warm_s "$WARM" web_warm_s "$WEB_WARM" browsers "$BROWSERS" \
	configs "$CONFIGS" binaries "$BUILT" commit "$(git -C "$ROOT" describe --always --dirty 2>/dev/null)" elapsed_s "$ELAPSED" clk_tck "$CLK_TCK" \
	machine "$(nproc) cores, $(free -g | awk '/^Mem/ { print $2 }') GiB, $(uname -r), $(. /etc/os-release; echo "$PRETTY_NAME")" \
	cpu "$(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1)" \
	chromium "$(chromium --version 2>/dev/null)" \
	loadavg_start "$LOAD0" loadavg_end "$(cut -d' ' -f1-3 /proc/loadavg)" \
	date "$(date -u +%Y-%m-%dT%H:%MZ)")

python3 - "$RES" "$JSON" "$SMOKE" "$ROUNDS" "$META" "$CONFIGS" <<'EOF'
import json, math, statistics, sys
res, out, smoke, rounds, meta, cfgs = sys.argv[1], sys.argv[2], sys.argv[3] == "1", int(sys.argv[4]), \
    json.loads(sys.argv[5]), sys.argv[6].split(",")
raw = [json.loads(l) for l in open(res) if l.strip()]
by = {(d["cfg"], d["round"]): d for d in raw}

def vals(cfg, key):
    return [by[c, r][key] for (c, r) in sorted(by) if c == cfg and by[c, r].get(key) is not None and by[c, r]["ok"]]
def st(v):
    if not v:
        return None
    return {"median": statistics.median(v), "min": min(v), "max": max(v), "n": len(v)}
def fmt(s, f):
    return "n/a" if s is None else (f + " [" + f + ", " + f + "]") % (s["median"], s["min"], s["max"])
ratio = {}
for c in cfgs:
    ratio[c] = [by[c, r]["rate"] / by["baseline", r]["rate"] for r in range(1, rounds + 1)
                if (c, r) in by and ("baseline", r) in by and by[c, r].get("rate") and by["baseline", r].get("rate")
                and by[c, r]["ok"] and by["baseline", r]["ok"]]
summary = {}
for c in cfgs:
    summary[c] = {k: st(vals(c, k)) for k in ("rate", "viewer_cpu_pct", "tmux_cpu_pct", "browsers_cpu_pct", "sse_kib_per_s_per_stream",
                                              "events_lost", "connrate_cpu_pct", "cg_viewers_cpu_pct",
                                              "failed")}
    summary[c]["ratio_to_baseline"] = st(ratio[c])
    summary[c] = {k: v for k, v in summary[c].items() if v is not None}
TARGET = 5.0
targets = {}
for c in ("top", "netfild-5b"):
    s = summary.get(c, {}).get("viewer_cpu_pct")
    if s:
        targets[c] = {"target_pct": TARGET, "median": s["median"], "max": s["max"], "met": s["median"] <= TARGET}
json.dump({"meta": meta, "raw": raw, "summary": summary, "targets": targets}, open(out, "w"), indent=1)

NAMES = {"baseline": "baseline (no viewer)", "top": "netfil top", "netfild": "netfild, no page open",
         "netfild-5b": "netfild, 5 browsers with the page open"}
print("bench/view.sh: %d round(s), connrate %s s each, median [min, max]; ratios round by round" % (rounds, meta["secs"]))
print()
print("| configuration | viewer CPU, % of one core | connections/s | ratio to baseline | events lost | connrate's own CPU, % of one core |")
print("|---|---|---|---|---|---|")
for c in cfgs:
    s = summary.get(c, {})
    print("| %s | %s | %s | %s | %s | %s |" % (NAMES[c], "-" if c == "baseline" else fmt(s.get("viewer_cpu_pct"), "%.2f"),
          fmt(s.get("rate"), "%.0f"), "1" if c == "baseline" else fmt(s.get("ratio_to_baseline"), "%.3f"),
          fmt(s.get("events_lost"), "%d"), fmt(s.get("connrate_cpu_pct"), "%.0f")))
if "top" in summary and "tmux_cpu_pct" in summary["top"]:
    print("\ntmux server beside top: %s %% of one core" % fmt(summary["top"]["tmux_cpu_pct"], "%.2f"))
if "netfild-5b" in summary and "browsers_cpu_pct" in summary["netfild-5b"]:
    print("the 5 browsers together: %s %% of one core" % fmt(summary["netfild-5b"]["browsers_cpu_pct"], "%.0f"))
    print("/events sent per stream: %s KiB/s; the 5 streams open %s s after the browsers' start" % (
        fmt(summary["netfild-5b"].get("sse_kib_per_s_per_stream"), "%.1f"),
        fmt(st([d["streams_after_ms"] / 1000 for d in raw if d.get("streams_after_ms") is not None]), "%.1f")))
for c, t in targets.items():
    print("target %s <= %.0f %% of one core: median %.2f, max %.2f: %s" % (c, t["target_pct"], t["median"], t["max"],
          "yes" if t["met"] else "no"))
print("\nby round (in the order run): connections/s, viewer CPU %")
for r in range(1, rounds + 1):
    ds = sorted((d for d in raw if d["round"] == r), key=lambda d: d["pos"])
    print("  %d: %s" % (r, "; ".join("%s %s%s" % (d["cfg"], "%.0f" % d["rate"] if d.get("rate") else "?",
          " %.2f%%" % d["viewer_cpu_pct"] if d.get("viewer_cpu_pct") is not None else "") for d in ds)))
print("raw rounds: %s" % out)

checks = []
def check(name, ok):
    checks.append(ok)
    if not ok:
        print("FAIL " + name, file=sys.stderr)
def isnum(x):
    return isinstance(x, (int, float)) and math.isfinite(x) and x >= 0
for r in range(1, rounds + 1):
    for c in cfgs:
        d = by.get((c, r))
        check("%s round %d: measured" % (c, r), d is not None and d["ok"])
        if d is None:
            continue
        check("%s round %d: a connection rate" % (c, r), isnum(d.get("rate")) and d.get("rate", 0) > 0)
        if c != "baseline":
            check("%s round %d: the viewer's CPU" % (c, r), isnum(d.get("viewer_cpu_pct")))
        check("%s round %d: a ratio to the baseline" % (c, r), c == "baseline" or
              (("baseline", r) in by and by["baseline", r].get("rate") and isnum(d.get("rate"))))
        if c == "top":
            check("top round %d: top drew the client" % r, d.get("top_drew_client") is True)
        if c == "netfild-5b":
            check("netfild-5b round %d: %d streams held by the browsers, before and after" % (r, 5),
                  d.get("ss_streams_before") == 5 and d.get("ss_streams_after") == 5 and
                  d.get("netfild_streams_before") == 5 and d.get("netfild_streams_after") == 5)
bad = checks.count(False)
if smoke:
    print("%d passed, %d failed" % (len(checks) - bad, bad))
elif bad:
    print("warning: %d check(s) failed (see above)" % bad)
sys.exit(1 if bad else 0)
EOF
