#!/bin/bash
# What per-packet verdicts cost: netfil's queue with "netfil packets ID
# allow" answering every packet, against no filter and, for the connection
# rate, against OpenSnitch (opensnitchd, NFQUEUE too, answering by its
# default action).  Three measurements; in every round each configuration
# runs once next to its baseline, the order rotated from round to round
# (this VM drifts by tens of percent between runs):
#
#   1. conn: connection rate, build/connrate (connect, 1 byte, close;
#      2 workers, CONN_SECS s), A -> 10.77.0.2:5300
#        none        nothing: netfil not loaded, no nftables rule in A
#        netfil      filter add ip 10.77.0.2 queue new fail open, and
#                    "netfil packets ID allow > /dev/null" in A
#        opensnitch  opensnitchd in A (DefaultAction allow, no UI, process
#                    monitor "proc", iptables-nft rules: ct state new ->
#                    NFQUEUE 0), netfil not loaded
#   2. tput: one bulk TCP stream, iperf3 -t TPUT_SECS, A -> 10.77.0.2:5201
#        none, netfil (the same filter with "queue all fail open")
#   3. udp: 64-byte UDP datagrams as fast as iperf3 goes (-u -l 64 -b 0,
#      UDP_SECS s), datagrams per second received by the server in B
#        none, netfil ("queue all fail open")
#
# Reported per configuration: the absolute figure and its ratio to the
# same round's "none", median [min, max] over the rounds (for OpenSnitch
# also netfil / opensnitch, round by round); the CPU of the verdict client
# (netfil packets, or opensnitchd: utime + stime from /proc/PID/stat over
# the measurement, % of one core); the packets its queue saw and dropped
# (/proc/net/netfilter/nfnetlink_queue in A: id_sequence, queue_dropped,
# user_dropped).  Targets (the issue): conn netfil >= 0.5 of none and >=
# 10x OpenSnitch; tput netfil >= 0.6 of none.
#
#   bench/queue.sh [--smoke] [--rounds N] [--json FILE]
#
# Defaults: 5 rounds, conn 3 s, tput 5 s, udp 3 s; JSON (every measurement,
# and the summary) in build/queue-bench.json.  --smoke: 1 round of 1 s
# measurements, checks only that each one yields a number (and that the
# queues really saw the traffic), ending with "N passed, N failed"; it
# never judges speed; JSON in build/queue-bench-smoke.json.
#
# Isolation: namespaces A (client) and B (servers) from tests/lib.sh;
# netfil attached to $CG2/netfil-bench-queue-$$ only (this shell and the
# clients), pinned under /sys/fs/bpf/netfil-bench-queue-$$, its nftables
# table in A only.  opensnitchd runs in A's network namespace and in a
# mount namespace of its own where a temporary directory is bind-mounted
# on /etc/opensnitchd (1.5 reads its configuration from there, it has no
# flag for it), so neither the host's firewall nor its /etc is touched:
# the host's ruleset is compared before and after.  The servers in B start
# before this shell joins the cgroup.  Processes are stopped by pid, every
# wait is bounded, and everything is removed on exit, interrupted or not.
set -u
. "$(dirname "$0")/../tests/lib.sh"
export PATH=/usr/sbin:/usr/bin:/sbin:/bin${PATH:+:$PATH}
export NETFIL_CGROUP=$CG2/netfil-bench-queue-$$
export NETFIL_PIN_DIR=/sys/fs/bpf/netfil-bench-queue-$$
CONNRATE=$ROOT/build/connrate
ROUNDS=5 CONN_SECS=3 TPUT_SECS=5 UDP_SECS=3 SMOKE=0 JSON=""
ARGS="$*"
while [ $# -gt 0 ]; do
	case $1 in
	--smoke) SMOKE=1 ROUNDS=1 CONN_SECS=1 TPUT_SECS=1 UDP_SECS=1 ;;
	--rounds) ROUNDS=$2; shift ;;
	--json) JSON=$2; shift ;;
	*) echo "usage: bench/queue.sh [--smoke] [--rounds N] [--json FILE]" >&2; exit 1 ;;
	esac
	shift
done
[ "$ROUNDS" -ge 1 ] 2>/dev/null || { echo "queue: --rounds wants a number >= 1" >&2; exit 1; }
[ -n "$JSON" ] || JSON=$ROOT/build/queue-bench$([ $SMOKE = 1 ] && echo -smoke).json
CR_PORT=5300 IPERF_PORT=5201 SERVER_IP=10.77.0.2
CLK_TCK=$(getconf CLK_TCK)
RES=$TMP/res			# one JSON line per measurement
SERVERS=""			# pids of the servers in B
RUN_PID=""			# a measurement running in the background
PK="" OSD=""			# netfil packets, opensnitchd
LOADED=0
OS_REASON=""			# why OpenSnitch cannot be measured, if it cannot

# ---- stopping things, by pid (stop_pids, tests/lib.sh) -------------------------------
stop_pk() { [ -n "$PK" ] && stop_pids 5 $PK; PK=""; return 0; }
# opensnitchd removes its rules on SIGTERM, then waits up to 5 s for its
# queue; whatever it left (after a SIGKILL) goes with its tables in A
os_tables() { in_a nft list tables 2>/dev/null | grep -E '^table ip6? (filter|mangle)$'; }
stop_os() {
	local t
	[ -n "$OSD" ] && stop_pids 10 $OSD
	OSD=""
	os_tables | while read -r t; do in_a nft delete $t 2>/dev/null; done
	return 0
}
queue_cleanup() {
	trap - EXIT INT TERM
	[ -n "$RUN_PID" ] && stop_pids 5 $RUN_PID
	stop_pk
	stop_os
	[ -n "$SERVERS" ] && stop_pids 5 $SERVERS
	cleanup
}
trap queue_cleanup EXIT
trap 'exit 1' INT TERM

need_tools queue iperf3 nft python3
[ -x "$CONNRATE" ] && [ -x "$NETFIL" ] || { log "queue: build first (make)"; exit 1; }
[ "$(stat -f -c %T /sys/fs/bpf)" = bpf_fs ] || mount -t bpf bpf /sys/fs/bpf
# OpenSnitch: the Debian package, with iptables (1.5's nftables backend
# uses nft's own "queue" expression, which this kernel lacks:
# CONFIG_NFT_QUEUE is not set; iptables-nft's NFQUEUE is xt, as netfil's)
if ! command -v opensnitchd > /dev/null; then
	OS_REASON="opensnitchd not installed (scripts/install-bench-deps)"
elif ! command -v iptables > /dev/null; then
	OS_REASON="iptables not installed: opensnitchd 1.5 needs it here (scripts/install-bench-deps)"
fi
OS_VERSION=$(dpkg-query -W -f '${Version}' opensnitch 2>/dev/null)
HOST_FW0=$(nft list ruleset 2>/dev/null | sha256sum)

# bg CMD...: CMD in the background, waited for, so that a signal is
# handled at once; its status is bg's
bg() { "$@" & RUN_PID=$!; wait $RUN_PID; local rc=$?; RUN_PID=""; return $rc; }
# ticks PID: utime + stime of a process (all its threads), in clock ticks
ticks() { awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$1/stat" 2>/dev/null || echo 0; }
now_ns() { date +%s%N; }
# qstat QNUM: "id_sequence queue_dropped user_dropped" of that queue in A
# (0 0 0 while nobody is bound to it)
qstat() {
	in_a cat /proc/net/netfilter/nfnetlink_queue 2>/dev/null |
		awk -v q="$1" '$1 == q { print $8, $6, $7; f = 1 } END { if (!f) print 0, 0, 0 }'
}

# ---- servers in B, outside netfil's cgroup -------------------------------------------
bench_servers queue || exit 1

# ---- configurations --------------------------------------------------------------------
# netfil_on MODE: netfil loaded, the server's address under a queue (MODE
# new or all, fail open), its rules in A, and netfil packets answering
# "allow" to every packet, in A; QNUM is the queue, PK the client's pid
netfil_on() {
	local id j
	nf load > /dev/null || { log "queue: netfil load failed"; return 1; }
	LOADED=1
	id=$(in_a "$NETFIL" filter add ip $SERVER_IP queue $1 fail open) || { log "queue: filter add failed"; return 1; }
	j=$(in_a "$NETFIL" -j filter show "$id")
	QNUM=$(jget "$j" queue.queue_num)
	rm -f "$TMP"/pk.err
	$A "$NETFIL" packets "$id" allow > /dev/null 2> "$TMP"/pk.err &
	PK=$!
	poll_until 5 grep -q answering "$TMP"/pk.err ||
		{ log "queue: netfil packets did not start: $(cat "$TMP"/pk.err)"; return 1; }
}
netfil_off() {
	stop_pk
	[ $LOADED = 1 ] && { nf unload > /dev/null || log "queue: netfil unload failed"; }
	LOADED=0
	# unload takes netfil's table out of A too
	in_a nft list tables 2>/dev/null | grep -q netfil && { log "queue: netfil's table is still in A"; return 1; }
	return 0
}
# opensnitch_on: opensnitchd in A, in a mount namespace where a temporary
# /etc/opensnitchd holds its configuration; up once its NFQUEUE rule is in
# A and it is bound to queue 0
os_bound() { [ "$(in_a awk '$1 == 0' /proc/net/netfilter/nfnetlink_queue | wc -l)" = 1 ]; }
os_rule() { in_a nft list ruleset 2>/dev/null | grep -q 'ct state new,related .*queue num 0'; }
opensnitch_on() {
	local d=$TMP/opensnitch
	[ -n "$OS_REASON" ] && return 1
	mkdir -p "$d"/etc "$d"/rules
	cat > "$d"/etc/default-config.json <<-EOF
	{
	    "Server": { "Address": "unix://$d/ui.sock", "LogFile": "$d/daemon.log" },
	    "DefaultAction": "allow",
	    "DefaultDuration": "once",
	    "InterceptUnknown": false,
	    "ProcMonitorMethod": "proc",
	    "LogLevel": 2,
	    "Firewall": "iptables",
	    "Stats": { "MaxEvents": 150, "MaxStats": 25 }
	}
	EOF
	echo '{ "SystemRules": [] }' > "$d"/etc/system-fw.json
	$A unshare --mount --propagation private bash -c \
		"mount --bind $d/etc /etc/opensnitchd && exec opensnitchd -rules-path $d/rules \
		-process-monitor-method proc -ui-socket unix://$d/ui.sock -log-file $d/daemon.log" \
		>> "$d"/daemon.out 2>&1 &
	OSD=$!
	poll_until 10 os_rule && poll_until 5 os_bound || {
		OS_REASON="opensnitchd did not set up its queue in A: $(sed 's/\x1b\[[0-9;]*m//g' "$d"/daemon.log "$d"/daemon.out 2>/dev/null | tail -n 3 | tr '\n' ' ')"
		log "queue: $OS_REASON"
		stop_os
		return 1
	}
	QNUM=0
}

# ---- workloads: each prints "key=value ..." -------------------------------------------
w_conn() {
	timeout $((CONN_SECS + 30)) $A "$CONNRATE" client $SERVER_IP $CR_PORT --seconds $CONN_SECS --workers 2 --bytes 1 |
		sed -n 's/.*connections=\([0-9]*\) failed=\([0-9]*\).*rate=\([0-9.]*\).*/value=\3 connections=\1 failed=\2/p'
}
iperf_json() {
	python3 -c 'import json, sys
j = json.load(sys.stdin)
if "error" in j:
    sys.exit("iperf3: " + j["error"])
e = j["end"]
if sys.argv[1] == "tcp":
    s = e["sum_received"]
    print("value=%.3f bytes=%d" % (s["bits_per_second"] / 1e9, s["bytes"]))
else:
    s = e["sum"]			# the server'"'"'s count of what arrived
    got = s["packets"] - s["lost_packets"]
    print("value=%.0f sent=%d lost=%d" % (got / s["seconds"], s["packets"], s["lost_packets"]))' "$1"
}
w_tput() { timeout $((TPUT_SECS + 30)) $A iperf3 -c $SERVER_IP -p $IPERF_PORT -t $TPUT_SECS -J | iperf_json tcp; }
w_udp() {
	timeout $((UDP_SECS + 30)) $A iperf3 -c $SERVER_IP -p $IPERF_PORT -u -l 64 -b 0 -t $UDP_SECS -J |
		iperf_json udp
}

# ---- one measurement ----------------------------------------------------------------------
# measure KIND CFG ROUND POS: set CFG up, run KIND's workload, read the
# verdict client's CPU and its queue's counters around it, take CFG down;
# one JSON line in $RES
measure() {
	local kind=$1 cfg=$2 round=$3 pos=$4 ok=1 vpid="" c0=0 c1=0 q0="0 0 0" q1="0 0 0" w0 w1 out
	QNUM=""
	case $cfg in
	none) ;;
	netfil) netfil_on $([ $kind = conn ] && echo new || echo all) && vpid=$PK ;;
	opensnitch) opensnitch_on && vpid=$OSD ;;
	esac || ok=0
	if [ $ok = 1 ]; then
		[ -n "$QNUM" ] && q0=$(qstat $QNUM)
		[ -n "$vpid" ] && c0=$(ticks $vpid)
		w0=$(now_ns)
		bg w_$kind > "$TMP"/w.out
		w1=$(now_ns)
		[ -n "$vpid" ] && c1=$(ticks $vpid)
		[ -n "$QNUM" ] && q1=$(qstat $QNUM)
		[ -n "$vpid" ] && ! kill -0 $vpid 2>/dev/null && { log "queue: $kind $cfg: the verdict client (pid $vpid) died"; ok=0; }
		out=$(cat "$TMP"/w.out)
		case $out in value=*) ;; *) log "queue: $kind $cfg: no figure"; ok=0 ;; esac
	fi
	case $cfg in
	netfil) netfil_off || ok=0 ;;
	opensnitch) stop_os ;;
	esac
	python3 - "$kind" "$cfg" "$round" "$pos" "$ok" "$CLK_TCK" "$([ $ok = 1 ] && echo $((w1 - w0)) || echo 0)" \
		"$([ -n "$vpid" ] && echo $((c1 - c0)))" "$q0" "$q1" "${out:-}" "${OS_REASON:-}" >> "$RES" <<-'EOF'
	import json, sys
	kind, cfg, rnd, pos, ok, tck, wall_ns, cticks, q0, q1, out, why = sys.argv[1:]
	d = {"kind": kind, "cfg": cfg, "round": int(rnd), "pos": int(pos), "ok": ok == "1"}
	if cfg == "opensnitch" and ok != "1" and why:
	    d["why"] = why
	if ok == "1":
	    wall = int(wall_ns) / 1e9
	    d["wall_s"] = round(wall, 3)
	    for kv in out.split():
	        k, _, v = kv.partition("=")
	        d[k] = float(v) if "." in v else int(v)
	    if cticks:
	        d["client_cpu_pct"] = round(100.0 * int(cticks) / float(tck) / wall, 1)
	    if cfg != "none":
	        a, b = [int(x) for x in q0.split()], [int(x) for x in q1.split()]
	        d["queued"], d["queue_dropped"], d["user_dropped"] = b[0] - a[0], b[1] - a[1], b[2] - a[2]
	print(json.dumps(d))
	EOF
	log "queue: round $round, $kind $cfg: $(tail -n 1 "$RES")"
}

# ---- the rounds -----------------------------------------------------------------------------
: > "$RES"
T0=$(date +%s)
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
CONN_CFGS=(none netfil opensnitch)
TWO_CFGS=(none netfil)
log "queue: $ROUNDS round(s): connrate $CONN_SECS s, iperf3 TCP $TPUT_SECS s, iperf3 UDP 64 B $UDP_SECS s${OS_REASON:+; OpenSnitch: n/a ($OS_REASON)}"
for round in $(seq 1 "$ROUNDS"); do
	for k in 0 1 2; do measure conn ${CONN_CFGS[$(( (k + round) % 3 ))]} $round $k; done
	for k in 0 1; do measure tput ${TWO_CFGS[$(( (k + round) % 2 ))]} $round $k; done
	for k in 0 1; do measure udp ${TWO_CFGS[$(( (k + round) % 2 ))]} $round $k; done
	log "queue: round $round done ($(( $(date +%s) - T0 )) s)"
done
ELAPSED=$(( $(date +%s) - T0 ))
HOST_FW1=$(nft list ruleset 2>/dev/null | sha256sum)
META=$(python3 -c 'import json, sys; print(json.dumps(dict(zip(sys.argv[1::2], sys.argv[2::2]))))' \
	command "bench/queue.sh${ARGS:+ $ARGS}" rounds "$ROUNDS" conn_secs "$CONN_SECS" tput_secs "$TPUT_SECS" \
	udp_secs "$UDP_SECS" commit "$(git -C "$ROOT" describe --always --dirty 2>/dev/null)" elapsed_s "$ELAPSED" \
	machine "$(nproc) cores, $(free -g | awk '/^Mem/ { print $2 }') GiB, $(uname -r), $(. /etc/os-release; echo "$PRETTY_NAME")" \
	cpu "$(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1)" \
	opensnitch "${OS_VERSION:-not installed}" iperf3 "$(iperf3 --version | head -n 1)" \
	loadavg_start "$LOAD0" loadavg_end "$(cut -d' ' -f1-3 /proc/loadavg)" \
	host_ruleset_unchanged "$([ "$HOST_FW0" = "$HOST_FW1" ] && echo yes || echo no)" \
	date "$(date -u +%Y-%m-%dT%H:%MZ)")

python3 - "$RES" "$JSON" "$SMOKE" "$ROUNDS" "$META" "$ROOT/bench" <<'EOF'
import json, sys
res, out, smoke, rounds, meta = sys.argv[1], sys.argv[2], sys.argv[3] == "1", int(sys.argv[4]), json.loads(sys.argv[5])
sys.path.insert(0, sys.argv[6])
from stats import st, fmt, isnum, Checks
raw = [json.loads(l) for l in open(res) if l.strip()]
by = {(d["kind"], d["cfg"], d["round"]): d for d in raw}
CFGS = {"conn": ("none", "netfil", "opensnitch"), "tput": ("none", "netfil"), "udp": ("none", "netfil")}

def good(kind, cfg, r):
    d = by.get((kind, cfg, r))
    return d if d and d["ok"] and d.get("value") else None
def vals(kind, cfg, key):
    return [good(kind, cfg, r)[key] for r in range(1, rounds + 1) if good(kind, cfg, r) and key in good(kind, cfg, r)]
def ratio(kind, num, den):	# round by round
    return [good(kind, num, r)["value"] / good(kind, den, r)["value"] for r in range(1, rounds + 1)
            if good(kind, num, r) and good(kind, den, r)]
summary = {}
for kind, cfgs in CFGS.items():
    for c in cfgs:
        s = {k: st(vals(kind, c, k)) for k in ("value", "client_cpu_pct", "queued", "queue_dropped", "user_dropped",
                                                 "failed", "lost", "sent")}
        s["ratio_to_none"] = st(ratio(kind, c, "none"))
        summary["%s-%s" % (kind, c)] = {k: v for k, v in s.items() if v is not None}
summary["conn-netfil/opensnitch"] = st(ratio("conn", "netfil", "opensnitch"))
why = sorted(set(d["why"] for d in raw if d.get("why")))
def target(name, s, want):
    return {"target": want, "median": s["median"], "min": s["min"], "met": s["median"] >= want} if s else \
        {"target": want, "met": None, "why": "n/a"}
targets = {"conn netfil / none >= 0.5": target("", summary["conn-netfil"].get("ratio_to_none"), 0.5),
           "conn netfil / opensnitch >= 10": target("", summary["conn-netfil/opensnitch"], 10),
           "tput netfil / none >= 0.6": target("", summary["tput-netfil"].get("ratio_to_none"), 0.6)}
json.dump({"meta": meta, "raw": raw, "summary": summary, "targets": targets, "opensnitch_na": why},
          open(out, "w"), indent=1)

print("bench/queue.sh: %d round(s), %s; %s" % (rounds, meta["date"], meta["machine"]))
print("median [min, max] over the rounds; every ratio is taken round by round")
print("client CPU: the verdict client (netfil packets / opensnitchd), % of one core; queued: packets its queue saw;")
print("dropped: the largest queue_dropped / user_dropped of a run (nfnetlink_queue)")
NAMES = {"none": "no filter", "netfil": "netfil queue + netfil packets allow", "opensnitch": "OpenSnitch %s (opensnitchd)" % meta["opensnitch"]}
TITLES = {"conn": ("1. Connection rate (connrate: connect, 1 byte, close; 2 workers, %s s; netfil: queue new)" % meta["conn_secs"], "connections/s", "%.0f"),
          "tput": ("2. Bulk TCP, one stream (iperf3 -t %s; netfil: queue all)" % meta["tput_secs"], "Gbit/s", "%.2f"),
          "udp": ("3. 64-byte UDP datagrams (iperf3 -u -l 64 -b 0 -t %s; netfil: queue all)" % meta["udp_secs"], "datagrams/s received", "%.0f")}
for kind, cfgs in CFGS.items():
    t, unit, f = TITLES[kind]
    print()
    print(t)
    print("| configuration | %s | ratio to no filter | client CPU %% | queued per run | dropped |" % unit)
    print("|---|---|---|---|---|---|")
    for c in cfgs:
        s = summary["%s-%s" % (kind, c)]
        if c == "opensnitch" and "value" not in s:
            print("| %s | n/a (%s) | | | | |" % (NAMES[c], "; ".join(why) or "not measured"))
            continue
        drop = None
        if "queue_dropped" in s:
            drop = "%d / %d" % (s["queue_dropped"]["max"], s["user_dropped"]["max"])
        print("| %s | %s | %s | %s | %s | %s |" % (NAMES[c], fmt(s.get("value"), f),
              "1" if c == "none" else fmt(s.get("ratio_to_none"), "%.3f"),
              fmt(s.get("client_cpu_pct"), "%.1f") if c != "none" else "",
              fmt(s.get("queued"), "%d") if c != "none" else "",
              drop or ""))
    if kind == "conn":
        print("netfil / OpenSnitch: %s" % fmt(summary["conn-netfil/opensnitch"], "%.1f"))
        print("failed connections: %s" % ", ".join("%s %d" % (c, sum(vals("conn", c, "failed"))) for c in cfgs))
    if kind == "udp":
        print("datagrams sent per run: %s" % ", ".join("%s %s" % (c, fmt(st(vals("udp", c, "sent")), "%.0f")) for c in cfgs))
print()
for k, t in targets.items():
    print("target %s: %s" % (k, "n/a" if t["met"] is None else "median %.3f (min %.3f): %s" % (t["median"], t["min"], "yes" if t["met"] else "no")))
print("host's ruleset unchanged: %s" % meta["host_ruleset_unchanged"])
print("\nby round (in the order run):")
for r in range(1, rounds + 1):
    ds = sorted((d for d in raw if d["round"] == r), key=lambda d: (list(CFGS).index(d["kind"]), d["pos"]))
    print("  %d: %s" % (r, "; ".join("%s %s %s" % (d["kind"], d["cfg"], ("%.3g" % d["value"]) if d.get("value") else "-") for d in ds)))
print("raw: %s" % out)

check = Checks()
for r in range(1, rounds + 1):
    for kind, cfgs in CFGS.items():
        for c in cfgs:
            if c == "opensnitch" and why:
                continue
            d = by.get((kind, c, r))
            check("%s %s round %d: a number" % (kind, c, r), d is not None and d["ok"] and isnum(d.get("value"))
                  and d["value"] > 0)
            if d and d["ok"] and c != "none":
                check("%s %s round %d: the queue saw the traffic" % (kind, c, r), d.get("queued", 0) > 0)
                check("%s %s round %d: the client's CPU" % (kind, c, r), isinstance(d.get("client_cpu_pct"), (int, float)))
check("the host's ruleset is unchanged", meta["host_ruleset_unchanged"] == "yes")
sys.exit(check.end(smoke, " (OpenSnitch n/a: %s)" % "; ".join(why) if why else ""))
EOF
