#!/bin/bash
# What netfil's packet path costs, read against a floor: BPF programs that
# do nothing (build/nop.bpf.o), attached beside netfil's at the same hooks
# in the same run, with bpf_stats on.  The configuration is the heavy one:
# FILTERS - 2 IPv4 and IPv6 prefixes that match nothing, and a matching
# filter of each kind (socket tree on this shell, ip 10.77.0.2, interface
# vab), so that every program on the path has its work to do.
#
# In every round, in an order rotated from round to round (this VM drifts
# by tens of percent between runs), four configurations run the same two
# workloads, connrate (connect, 1 byte, close; 2 workers, CONN_SECS s) and
# one bulk TCP stream (iperf3 -t TPUT_SECS), A -> 10.77.0.2:
#
#   none    nothing attached: the baseline of the ratios
#   netfil  netfil loaded with the filters above, bpf_stats off
#   cost    the same, with the floor attached beside it and bpf_stats on:
#           per packet of the bulk stream, each netfil program's run time
#           per call less its floor's (cgroup_skb egress and ingress, tc
#           egress and ingress); per connection of connrate, the run time
#           of all of netfil's programs together, and of each
#   least   no netfil: the floor, and beside it the least that limiting
#           by socket and by filter can do (build/nop.bpf.o's least_*):
#           per socket, make a counter in its storage; per packet, add
#           to it at the cgroup hooks, and to one slot of a table the
#           size of netfil's at the tc hooks.  The bound below which no
#           design can go that writes such a counter from both CPUs per
#           packet (BENCHMARKS.md, 12.2).
#
# Reported: median [min, max] over the rounds of the cost over the floor
# per packet (the primary figure), of the BPF time per connection, and of
# netfil / none, round by round, for the connection rate and throughput.
# Targets (the issue): <= 100 ns per packet over the floor for each
# program, <= 3 us of BPF per connection, connection rate >= 0.95 of none.
#
#   bench/floor.sh [--smoke] [--rounds N] [--filters N] [--before NETFIL] [--json FILE]
#
# --before NETFIL adds two configurations to every round, "before" and
# "cost-before": netfil and cost again with another build of netfil (an
# older commit's build/netfil, say), for a before-and-after comparison
# that shares the rounds' drift.
#
# Defaults: 5 rounds, 3 s workloads, 10,000 filters; JSON (every
# measurement and the summary) in build/floor-bench.json.  --smoke: one
# round of 1 s workloads and 100 filters, checking only that each figure
# is a number and that each matching filter counted the traffic; it ends
# with "N passed, N failed" and never judges speed.
#
# Isolation: namespaces A and B from tests/lib.sh, netfil attached to
# $CG2/netfil-bench-floor-$$ only (this shell and its clients), pinned
# under /sys/fs/bpf/netfil-bench-floor-$$, the floor under ...-nop; the
# servers in B start before this shell joins the cgroup.  bpf_stats is
# turned on only around the cost runs and put back as it was on exit;
# processes are stopped by pid, waits are bounded, and everything is
# removed on exit, interrupted or not.
set -u
. "$(dirname "$0")/../tests/lib.sh"
export PATH=/usr/sbin:/usr/bin:/sbin:/bin${PATH:+:$PATH}
export NETFIL_CGROUP=$CG2/netfil-bench-floor-$$
export NETFIL_PIN_DIR=/sys/fs/bpf/netfil-bench-floor-$$
NOP_PIN=$NETFIL_PIN_DIR-nop
CONNRATE=$ROOT/build/connrate
NOP=$ROOT/build/nop.bpf.o
ROUNDS=5 CONN_SECS=3 TPUT_SECS=3 FILTERS=10000 SMOKE=0 JSON="" BEFORE=""
ARGS="$*"
while [ $# -gt 0 ]; do
	case $1 in
	--smoke) SMOKE=1 ROUNDS=1 CONN_SECS=1 TPUT_SECS=1 FILTERS=100 ;;
	--rounds) ROUNDS=$2; shift ;;
	--filters) FILTERS=$2; shift ;;
	--before) BEFORE=$2; shift ;;
	--json) JSON=$2; shift ;;
	*) echo "usage: bench/floor.sh [--smoke] [--rounds N] [--filters N] [--before NETFIL] [--json FILE]" >&2
	   exit 1 ;;
	esac
	shift
done
[ "$ROUNDS" -ge 1 ] 2>/dev/null || { echo "floor: --rounds wants a number >= 1" >&2; exit 1; }
[ "$FILTERS" -ge 3 ] 2>/dev/null && [ "$FILTERS" -le 20000 ] ||
	{ echo "floor: --filters wants a number from 3 to 20000" >&2; exit 1; }
[ -z "$BEFORE" ] || [ -x "$BEFORE" ] || { echo "floor: --before: no program '$BEFORE'" >&2; exit 1; }
[ -n "$JSON" ] || JSON=$ROOT/build/floor-bench$([ $SMOKE = 1 ] && echo -smoke).json
SERVER_IP=10.77.0.2 CR_PORT=5300 IPERF_PORT=5201
RES=$TMP/res			# one JSON line per measurement
STATS_WAS=$(sysctl -n kernel.bpf_stats_enabled)
SERVERS="" RUN_PID="" LOADED=0 NOP_ON=0 LEAST_ON=0

nop_off() {
	[ $NOP_ON = 1 ] || return 0
	bpftool cgroup detach "$NETFIL_CGROUP" egress pinned "$NOP_PIN"/nop_egress
	bpftool cgroup detach "$NETFIL_CGROUP" ingress pinned "$NOP_PIN"/nop_ingress
	in_a tc filter del dev vab egress prio 100 2>/dev/null
	in_a tc filter del dev vab ingress prio 100 2>/dev/null
	NOP_ON=0
}
least_off() {
	[ $LEAST_ON = 1 ] || return 0
	bpftool cgroup detach "$NETFIL_CGROUP" egress pinned "$NOP_PIN"/least_egress
	bpftool cgroup detach "$NETFIL_CGROUP" ingress pinned "$NOP_PIN"/least_ingress
	bpftool cgroup detach "$NETFIL_CGROUP" sock_create pinned "$NOP_PIN"/least_sock_create
	in_a tc filter del dev vab egress prio 101 2>/dev/null
	in_a tc filter del dev vab ingress prio 101 2>/dev/null
	LEAST_ON=0
}
floor_cleanup() {
	trap - EXIT INT TERM
	sysctl -qw kernel.bpf_stats_enabled="$STATS_WAS"
	[ -n "$RUN_PID" ] && stop_pids 5 $RUN_PID
	nop_off
	least_off
	[ $LOADED = 1 ] && nf unload > /dev/null 2>&1
	[ -n "$SERVERS" ] && stop_pids 5 $SERVERS
	rm -rf "$NOP_PIN"
	cleanup
}
trap floor_cleanup EXIT
trap 'exit 1' INT TERM

need_tools floor iperf3 python3 bpftool tc
[ -x "$CONNRATE" ] && [ -x "$NETFIL" ] && [ -e "$NOP" ] || { log "floor: build first (make)"; exit 1; }
[ "$(stat -f -c %T /sys/fs/bpf)" = bpf_fs ] || mount -t bpf bpf /sys/fs/bpf

# ---- servers in B, outside netfil's cgroup ----------------------------------------
bench_servers floor || exit 1
# the clsact qdisc is this script's, so that netfil neither makes nor
# removes it and the floor's tc filters can come and go beside netfil's
in_a tc qdisc add dev vab clsact || exit 1
bpftool prog loadall "$NOP" "$NOP_PIN" || { log "floor: cannot load $NOP"; exit 1; }

# ---- configurations ------------------------------------------------------------------
# The prefixes that match nothing: IPv4 /24s and IPv6 /48s, half each.
python3 - "$FILTERS" > "$TMP"/batch <<-'EOF'
import sys
print("filter add ip 10.77.0.2 iobyte 1T")
for k in range(int(sys.argv[1]) - 3):
    h = k // 2
    if k % 2:
        print("filter add ip fd00:0:%x::/48 iobyte 1T" % h)
    else:
        print("filter add ip 10.%d.%d.0/24 iobyte 1T" % (100 + h // 256, h % 256))
EOF
echo "filter add socket tree $$ iobyte 1T" >> "$TMP"/batch
netfil_on() {
	nf load > /dev/null || { log "floor: netfil load failed"; return 1; }
	LOADED=1
	nf batch "$TMP"/batch > /dev/null || { log "floor: the filters did not go in"; return 1; }
	in_a "$NETFIL" filter add interface vab iobyte 1T > /dev/null ||
		{ log "floor: the interface filter did not go in"; return 1; }
}
netfil_off() {
	[ $LOADED = 1 ] || return 0
	LOADED=0
	nf unload > /dev/null || { log "floor: netfil unload failed"; return 1; }
}
nop_on() {
	NOP_ON=1
	bpftool cgroup attach "$NETFIL_CGROUP" egress pinned "$NOP_PIN"/nop_egress multi &&
	bpftool cgroup attach "$NETFIL_CGROUP" ingress pinned "$NOP_PIN"/nop_ingress multi &&
	in_a tc filter add dev vab egress prio 100 bpf da pinned "$NOP_PIN"/nop_tc &&
	in_a tc filter add dev vab ingress prio 100 bpf da pinned "$NOP_PIN"/nop_tc_in
}
least_on() {
	LEAST_ON=1
	bpftool cgroup attach "$NETFIL_CGROUP" sock_create pinned "$NOP_PIN"/least_sock_create multi &&
	bpftool cgroup attach "$NETFIL_CGROUP" egress pinned "$NOP_PIN"/least_egress multi &&
	bpftool cgroup attach "$NETFIL_CGROUP" ingress pinned "$NOP_PIN"/least_ingress multi &&
	in_a tc filter add dev vab egress prio 101 bpf da pinned "$NOP_PIN"/least_tc &&
	in_a tc filter add dev vab ingress prio 101 bpf da pinned "$NOP_PIN"/least_tc_in
}
# the counters of every filter that should match, as "kind bytes-in bytes-out"
matched() {
	in_a "$NETFIL" -j filter list | python3 -c 'import json, sys
for f in json.load(sys.stdin):
    k = f["kind"]
    if k != "ip" or f.get("prefix", f.get("addr", "")).startswith("10.77.0.2"):
        print(k, f["bytes"]["in"], f["bytes"]["out"])'
}

# ---- measurements ----------------------------------------------------------------------
bg() { "$@" & RUN_PID=$!; wait $RUN_PID; local rc=$?; RUN_PID=""; return $rc; }
w_conn() {
	timeout $((CONN_SECS + 30)) $A "$CONNRATE" client $SERVER_IP $CR_PORT --seconds $CONN_SECS --workers 2 --bytes 1 |
		sed -n 's/.*connections=\([0-9]*\) failed=\([0-9]*\).*rate=\([0-9.]*\).*/value=\3 connections=\1 failed=\2/p'
}
w_tput() {
	timeout $((TPUT_SECS + 30)) $A iperf3 -c $SERVER_IP -p $IPERF_PORT -t $TPUT_SECS -J | python3 -c 'import json, sys
j = json.load(sys.stdin)
if "error" in j:
    sys.exit("iperf3: " + j["error"])
print("value=%.3f" % (j["end"]["sum_received"]["bits_per_second"] / 1e9))'
}
# progs: "name run_time_ns run_cnt" of every program attached to the test
# cgroup and to vab in A (netfil's and the floor's; no other's)
progs() {
	python3 - "$(bpftool cgroup show "$NETFIL_CGROUP" -j)" "$(in_a bpftool net show dev vab -j)" \
		"$(bpftool prog show -j)" <<-'EOF'
	import json, sys
	ids = {p["id"] for p in json.loads(sys.argv[1] or "[]")}
	for n in json.loads(sys.argv[2] or "[]"):
	    ids |= {p["id"] for p in n.get("tc", [])}
	for p in json.loads(sys.argv[3]):
	    if p["id"] in ids:
	        print(p["name"], p.get("run_time_ns", 0), p.get("run_cnt", 0))
	EOF
}
# run KIND: one workload, its output in $TMP/KIND.out; in the cost
# configuration also the programs' counters around it
run() {
	[ $COST = 1 ] && progs > "$TMP"/$1.p0
	bg w_$1 > "$TMP"/$1.out
	[ $COST = 1 ] && progs > "$TMP"/$1.p1
	grep -q '^value=' "$TMP"/$1.out || { log "floor: $1 gave no figure"; return 1; }
}

# measure CFG ROUND POS: one JSON line in $RES
measure() {
	local cfg=$1 round=$2 pos=$3 ok=1 now=$NETFIL
	COST=0
	case $cfg in *before) NETFIL=$BEFORE ;; esac
	rm -f "$TMP"/*.out "$TMP"/*.p0 "$TMP"/*.p1 "$TMP"/matched
	case $cfg in
	netfil|before) netfil_on ;;
	cost*) netfil_on && nop_on && sysctl -qw kernel.bpf_stats_enabled=1 && COST=1 ;;
	least) nop_on && least_on && sysctl -qw kernel.bpf_stats_enabled=1 && COST=1 ;;
	esac || ok=0
	if [ $ok = 1 ]; then
		# the order of the two workloads is rotated too
		if [ $(( (round + pos) % 2 )) = 0 ]; then run conn && run tput; else run tput && run conn; fi || ok=0
	fi
	sysctl -qw kernel.bpf_stats_enabled="$STATS_WAS"
	[ $LOADED = 1 ] && matched > "$TMP"/matched
	nop_off
	least_off
	netfil_off || ok=0
	NETFIL=$now
	python3 - "$cfg" "$round" "$pos" "$ok" "$TMP" >> "$RES" <<-'EOF'
	import json, os, sys
	cfg, rnd, pos, ok, tmp = sys.argv[1:]
	d = {"cfg": cfg, "round": int(rnd), "pos": int(pos), "ok": ok == "1"}
	def kv(path):
	    out = {}
	    for w in open(path).read().split():
	        k, _, v = w.partition("=")
	        out[k] = float(v)
	    return out
	def progs(path):
	    return {w[0]: (int(w[1]), int(w[2])) for w in (l.split() for l in open(path)) if len(w) == 3}
	for kind in ("conn", "tput"):
	    p = "%s/%s.out" % (tmp, kind)
	    if d["ok"] and os.path.exists(p):
	        d[kind] = kv(p)
	        if os.path.exists("%s/%s.p1" % (tmp, kind)):
	            a, b = progs("%s/%s.p0" % (tmp, kind)), progs("%s/%s.p1" % (tmp, kind))
	            d[kind]["progs"] = {n: [b[n][0] - a.get(n, (0, 0))[0], b[n][1] - a.get(n, (0, 0))[1]] for n in b}
	if os.path.exists(tmp + "/matched"):
	    d["matched"] = [l.split() for l in open(tmp + "/matched") if l.strip()]
	print(json.dumps(d))
	EOF
	log "floor: round $round, $cfg: $(tail -n 1 "$RES" | cut -c1-200)"
}

# ---- the rounds --------------------------------------------------------------------------
: > "$RES"
T0=$(date +%s)
CFGS=(none netfil cost least)
[ -n "$BEFORE" ] && CFGS+=(before cost-before)
N=${#CFGS[@]}
log "floor: $ROUNDS round(s), $FILTERS filters: connrate $CONN_SECS s, iperf3 $TPUT_SECS s"
for round in $(seq 1 "$ROUNDS"); do
	for k in $(seq 0 $((N - 1))); do measure ${CFGS[$(( (k + round) % N ))]} $round $k; done
done
META=$(python3 -c 'import json, sys; print(json.dumps(dict(zip(sys.argv[1::2], sys.argv[2::2]))))' \
	command "bench/floor.sh${ARGS:+ $ARGS}" rounds "$ROUNDS" filters "$FILTERS" conn_secs "$CONN_SECS" \
	tput_secs "$TPUT_SECS" before "${BEFORE:-}" commit "$(git -C "$ROOT" describe --always --dirty 2>/dev/null)" \
	elapsed_s "$(( $(date +%s) - T0 ))" \
	machine "$(nproc) cores, $(free -g | awk '/^Mem/ { print $2 }') GiB, $(uname -r), $(. /etc/os-release; echo "$PRETTY_NAME")" \
	cpu "$(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1)" date "$(date -u +%Y-%m-%dT%H:%MZ)")

python3 - "$RES" "$JSON" "$SMOKE" "$ROUNDS" "$META" "$ROOT/bench" <<'EOF'
import json, sys
res, out, smoke, rounds, meta = sys.argv[1], sys.argv[2], sys.argv[3] == "1", int(sys.argv[4]), json.loads(sys.argv[5])
sys.path.insert(0, sys.argv[6])
from stats import st, fmt, isnum, Checks
raw = [json.loads(l) for l in open(res) if l.strip()]
by = {(d["cfg"], d["round"]): d for d in raw if d["ok"]}
R = range(1, rounds + 1)
FLOOR = {"nf_cg_egress": "nop_egress", "nf_cg_ingress": "nop_ingress",
         "nf_tc_egress": "nop_tc", "nf_tc_ingress": "nop_tc_in"}
LEAST = {"nf_cg_egress": "least_egress", "nf_cg_ingress": "least_ingress",
         "nf_tc_egress": "least_tc", "nf_tc_ingress": "least_tc_in"}
# A cache line the kernel's path leaves cold is paid by the first program
# that touches it, so a figure can move from one hook to the other: the
# sum over a direction's two hooks is the steadier one.
PATHS = {"egress path (cgroup + tc)": ("nf_cg_egress", "nf_tc_egress"),
         "ingress path (tc + cgroup)": ("nf_tc_ingress", "nf_cg_ingress")}

VARIANTS = [("netfil", "cost")] + ([("before", "cost-before")] if meta["before"] else [])

def ns_per_call(p, name):
    t, n = p.get(name, (0, 0))
    return t / n if n else None
def tput_progs(cost, r):
    d = by.get((cost, r))
    return d["tput"]["progs"] if d and "progs" in d.get("tput", {}) else None
def over_floor(cost, r, name):	# per packet of the bulk stream
    p = tput_progs(cost, r)
    prog = LEAST[name] if cost == "least" else name
    a, b = (ns_per_call(p, prog), ns_per_call(p, FLOOR[name])) if p else (None, None)
    return None if a is None or b is None else a - b
def path_over(cost, r, names):
    v = [over_floor(cost, r, n) for n in names]
    return None if None in v else sum(v)
def conn_of(cost, r):
    d = by.get((cost, r))
    return d["conn"] if d and "progs" in d.get("conn", {}) and d["conn"].get("connections") else None
def per_conn(cost, r, pick):	# ns of BPF per connection, programs chosen by pick
    c = conn_of(cost, r)
    return sum(t for n, (t, k) in c["progs"].items() if pick(n)) / c["connections"] if c else None
def calls(cost, r, name):
    c = conn_of(cost, r)
    return c["progs"].get(name, (0, 0))[1] / c["connections"] if c else None
def ratio(kind, cfg, r):
    a, b = by.get((cfg, r)), by.get(("none", r))
    if not a or not b or kind not in a or kind not in b or not b[kind]["value"]:
        return None
    return a[kind]["value"] / b[kind]["value"]

names = sorted({n for d in raw if "progs" in d.get("conn", {}) for n in d["conn"]["progs"] if n.startswith("nf_")})
summary = {}
for cfg, cost in VARIANTS:
    s = summary[cfg] = {
        "per_packet_over_floor_ns": {n: st([over_floor(cost, r, n) for r in R]) for n in FLOOR},
        "per_packet_path_over_floor_ns": {k: st([path_over(cost, r, v) for r in R]) for k, v in PATHS.items()},
        "per_packet_floor_ns": {f: st([ns_per_call(tput_progs(cost, r), f) for r in R if tput_progs(cost, r)])
                                for f in FLOOR.values()},
        "per_conn_ns": st([per_conn(cost, r, lambda n: n.startswith("nf_")) for r in R]),
        "per_conn_floor_ns": st([per_conn(cost, r, lambda n: n.startswith("nop_")) for r in R]),
        "per_conn_by_prog_ns": {n: st([per_conn(cost, r, lambda m, n=n: m == n) for r in R]) for n in names},
        "calls_per_conn": {n: st([calls(cost, r, n) for r in R]) for n in names}}
    for kind in ("conn", "tput"):
        s[kind] = st([by[(cfg, r)][kind]["value"] for r in R if (cfg, r) in by and kind in by[(cfg, r)]])
        s[kind + "/none"] = st([ratio(kind, cfg, r) for r in R])
summary["least"] = {
    "per_packet_over_floor_ns": {n: st([over_floor("least", r, n) for r in R]) for n in FLOOR},
    "per_packet_path_over_floor_ns": {k: st([path_over("least", r, v) for r in R]) for k, v in PATHS.items()},
    "per_conn_ns": st([per_conn("least", r, lambda n: n.startswith("least_")) for r in R]),
    "per_conn_floor_ns": st([per_conn("least", r, lambda n: n.startswith("nop_")) for r in R])}
for kind in ("conn", "tput"):
    summary["none-" + kind] = st([by[("none", r)][kind]["value"] for r in R if ("none", r) in by and kind in by[("none", r)]])
summary["conn-failed"] = sum(int(d.get("conn", {}).get("failed", 0)) for d in raw)
def target(s, want, le):
    if not s:
        return {"target": want, "met": None}
    return {"target": want, "median": s["median"], "max" if le else "min": s["max"] if le else s["min"],
            "met": s["median"] <= want if le else s["median"] >= want}
S = summary["netfil"]
targets = {"per packet over the floor, %s <= 100 ns" % n: target(S["per_packet_over_floor_ns"][n], 100, True) for n in FLOOR}
targets["BPF per connection <= 3000 ns"] = target(S["per_conn_ns"], 3000, True)
targets["connection rate netfil / none >= 0.95"] = target(S["conn/none"], 0.95, False)
json.dump({"meta": meta, "raw": raw, "summary": summary, "targets": targets}, open(out, "w"), indent=1)

cols = [c for c, _ in VARIANTS]
head = " | ".join("netfil" if c == "netfil" else "before (%s)" % meta["before"] for c in cols)
line = "|---" * (len(cols) + 1) + "|"
print("bench/floor.sh: %d round(s), %s filters, %s; %s" % (rounds, meta["filters"], meta["date"], meta["machine"]))
print("median [min, max] over the rounds; ratios are taken round by round\n")
print("1. Per packet, bulk TCP (iperf3, one stream): run time per call over the floor's at the same hook, ns")
L = summary["least"]
print("| program | %s | least (one counter) | floor (does nothing) |" % head)
print(line + "---|---|")
for n, f in FLOOR.items():
    print("| %s | %s | %s | %s |" % (n, " | ".join(fmt(summary[c]["per_packet_over_floor_ns"][n], "%.0f") for c in cols),
                                    fmt(L["per_packet_over_floor_ns"][n], "%.0f"), fmt(S["per_packet_floor_ns"][f], "%.0f")))
for k in PATHS:
    print("| %s | %s | %s | |" % (k, " | ".join(fmt(summary[c]["per_packet_path_over_floor_ns"][k], "%.0f") for c in cols),
                                 fmt(L["per_packet_path_over_floor_ns"][k], "%.0f")))
print("\n2. Per connection (connrate: connect, 1 byte, close), BPF run time, ns (calls per connection)")
print("| program | %s |" % head)
print(line)
for n in names:
    print("| %s | %s |" % (n, " | ".join("%s (%s)" % (fmt(summary[c]["per_conn_by_prog_ns"][n], "%.0f"),
                                                      fmt(summary[c]["calls_per_conn"][n], "%.0f")) for c in cols)))
print("| **all of netfil's** | %s |" % " | ".join("**%s**" % fmt(summary[c]["per_conn_ns"], "%.0f") for c in cols))
print("| the floor's (4 programs) | %s |" % " | ".join(fmt(summary[c]["per_conn_floor_ns"], "%.0f") for c in cols))
print("| least (one counter per socket; 5 programs) | %s |" % " | ".join(fmt(L["per_conn_ns"], "%.0f") for c in cols))
print("\n3. Against no filter (bpf_stats off)")
print("| workload | no filter | %s |" % " | ".join("%s | %s / no filter" % (c, c) for c in cols))
print("|---|---" + "|---|---" * len(cols) + "|")
for kind, unit, f in (("conn", "connections/s", "%.0f"), ("tput", "Gbit/s", "%.2f")):
    print("| %s (%s) | %s | %s |" % (kind, unit, fmt(summary["none-" + kind], f),
          " | ".join("%s | %s" % (fmt(summary[c][kind], f), fmt(summary[c][kind + "/none"], "%.3f")) for c in cols)))
print("failed connections: %d" % summary["conn-failed"])
print()
for k, t in targets.items():
    print("target %s: %s" % (k, "n/a" if t["met"] is None else "median %.3g: %s" % (t["median"], "yes" if t["met"] else "no")))
print("\nby round (in the order run):")
for r in R:
    ds = sorted((d for d in raw if d["round"] == r), key=lambda d: d["pos"])
    print("  %d: %s" % (r, "; ".join("%s conn %s tput %s" % (d["cfg"], d.get("conn", {}).get("value", "-"),
                                                           d.get("tput", {}).get("value", "-")) for d in ds)))
print("raw: %s" % out)

check = Checks()
for r in R:
    for cfg in ["none"] + [c for v in VARIANTS for c in v]:
        d = by.get((cfg, r))
        check("%s round %d ran" % (cfg, r), d is not None)
        for kind in ("conn", "tput"):
            check("%s %s round %d: a number" % (cfg, kind, r), bool(d) and isnum(d.get(kind, {}).get("value")) and d[kind]["value"] > 0)
        if d and cfg != "none":
            kinds = {m[0] for m in d.get("matched", []) if int(m[1]) > 0 and int(m[2]) > 0}
            check("%s round %d: the socket, ip and interface filters counted both ways" % (cfg, r),
                  kinds == {"socket", "ip", "interface"})
    d = by.get(("least", r))
    check("least round %d ran" % r, d is not None)
    for n in FLOOR:
        check("least round %d: %s over its floor" % (r, LEAST[n]), isnum(over_floor("least", r, n)))
    check("least round %d: BPF per connection" % r, isnum(per_conn("least", r, lambda n: n.startswith("least_"))))
    for cfg, cost in VARIANTS:
        for n in FLOOR:
            check("%s round %d: %s over its floor" % (cost, r, n), isnum(over_floor(cost, r, n)))
        check("%s round %d: BPF per connection" % (cost, r), isnum(per_conn(cost, r, lambda n: n.startswith("nf_"))))
sys.exit(check.end(smoke))
EOF
