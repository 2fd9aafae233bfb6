#!/bin/bash
# What exe filters add to the creation of a socket (issue 11): the run time
# per socket of nf_sock_create (cgroup/sock_create), which resolves a new
# socket's filters with, among others, one nf_owners lookup for its
# executable, over a program that does nothing attached at the same hook
# of the same cgroup (build/nop.bpf.o, nop_sock_create), in three
# configurations:
#
#   a  netfil loaded, no filter
#   b  1,000 exe filters, the socket's creator not among them (lookup misses)
#   c  1,000 exe filters, the socket's creator one of them (lookup hits)
#
# The three are three netfil instances, each freshly loaded every round
# (in an order rotated from round to round) on a cgroup of its own,
# $CG2/netfil-bench-$$/{a,b,c}, with the nop attached there too.  One
# process, build/sockloop, creates and closes sockets (TCP and UDP in
# turn) 2,000 at a time in a, b and c in turn, the order rotated at each
# pass, so that the three configurations share the machine's ups and downs
# (this VM drifts by tens of percent between runs); the nop runs on the
# same sockets as netfil.  Counts come from bpf_stats through
# BPF_ENABLE_STATS, held by sockloop alone: kernel.bpf_stats_enabled is
# never written.  The filtered executables are copies of sockloop (1,000
# distinct inodes); c's filters name the copy that runs, b's 1,000 others.
# Before the rounds, the close events of sockets made in b and in c show
# that b's sockets are charged to no filter and c's to the exe filter.
#
#   bench/owners.sh [--smoke] [--rounds R] [--sockets N] [--filters F] [--results FILE]
#
# Defaults: 9 rounds of 200,000 sockets per configuration, 1,000 filters.
# --smoke: one round of 2,000 sockets; checks only that every figure is a
# number, ending with "N passed, N failed" (never judges speed).
# --results FILE appends "owners CFG ROUND NF NOP NF_MED NOP_MED" lines
# (ns per socket: run_time_ns / run_cnt over the configuration's sockets
# of that round, and the median of the same ratio over its batches, see
# bench/sockloop.c) and one "owners-meta ..." line for bench/report.py
# (bench/bench.sh passes it).
#
# Isolation: netfil is attached only to the cgroups above and pinned under
# /sys/fs/bpf/netfil-bench-$$/; only sockloop runs in those cgroups, and it
# connects nowhere and sends nothing.  All of it is removed on exit,
# interrupted or not.
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
NETFIL=${NETFIL:-$ROOT/build/netfil}
SOCKLOOP=$ROOT/build/sockloop
NOP=$ROOT/build/nop.bpf.o
ROUNDS=9 SOCKETS=200000 BATCH=2000 FILTERS=1000 SMOKE=0 RESULTS=""
while [ $# -gt 0 ]; do
	case $1 in
	--smoke) SMOKE=1 ROUNDS=1 SOCKETS=2000 BATCH=500 ;;
	--rounds) ROUNDS=$2; shift ;;
	--sockets) SOCKETS=$2; shift ;;
	--filters) FILTERS=$2; shift ;;
	--results) RESULTS=$2; shift ;;
	*) echo "usage: bench/owners.sh [--smoke] [--rounds R] [--sockets N] [--filters F] [--results FILE]" >&2
	   exit 1 ;;
	esac
	shift
done
[ "$FILTERS" -ge 1 ] && [ "$FILTERS" -le 1000 ] || { echo "owners: 1 to 1000 filters" >&2; exit 1; }
CG2=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/mounts)
[ -n "$CG2" ] || { echo "owners: no cgroup2 mount" >&2; exit 1; }
CG=$CG2/netfil-bench-$$
PIN=/sys/fs/bpf/netfil-bench-$$
TMP=$(mktemp -d /tmp/netfil-bench.XXXXXX)
CFGS="a b c"
SUBS="" LOOP_PID=""
log() { printf '%s\n' "$*" >&2; }

# on CFG NETFIL-ARGS...: netfil on configuration CFG's instance
on() {
	local c=$1
	shift
	NETFIL_CGROUP=$CG/$c NETFIL_PIN_DIR=$PIN/$c "$NETFIL" "$@"
}

cleanup() {
	local c i
	trap - EXIT INT TERM
	[ -n "$SUBS" ] && kill $SUBS 2>/dev/null && wait $SUBS 2>/dev/null
	[ -n "$LOOP_PID" ] && kill "$LOOP_PID" 2>/dev/null && wait "$LOOP_PID" 2>/dev/null
	for c in $CFGS; do
		on $c unload >/dev/null 2>&1
		[ -d "$CG/$c" ] || continue
		[ -e "$PIN"/nop/nop_sock_create ] &&
			bpftool cgroup detach "$CG/$c" sock_create pinned "$PIN"/nop/nop_sock_create 2>/dev/null
		[ -e "$CG/$c/cgroup.kill" ] && echo 1 > "$CG/$c/cgroup.kill"
		for i in $(seq 1 100); do rmdir "$CG/$c" 2>/dev/null && break; sleep 0.02; done
	done
	[ -d "$CG" ] && rmdir "$CG"
	rm -rf "$PIN" "$TMP"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

[ -x "$SOCKLOOP" ] && [ -e "$NOP" ] || { log "owners: build first (make)"; exit 1; }
[ "$(stat -f -c %T /sys/fs/bpf)" = bpf_fs ] || mount -t bpf bpf /sys/fs/bpf
mkdir "$CG" "$PIN" || exit 1
for c in $CFGS; do mkdir "$CG/$c" || exit 1; done

# The executables: FILTERS copies of sockloop (distinct inodes) and the
# one that runs, $TMP/loop.  b's filters name the copies; c's all but the
# first copy, and the one that runs.
LOOP=$TMP/loop
python3 - "$SOCKLOOP" "$TMP" "$FILTERS" <<'EOF' || exit 1
import os, shutil, sys
src, tmp, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
os.mkdir(tmp + "/exe")
paths = ["%s/exe/e%04d" % (tmp, i) for i in range(n)]
for p in paths:
    shutil.copy(src, p)
shutil.copy(src, tmp + "/loop")
for name, ps in (("b", paths), ("c", paths[1:] + [tmp + "/loop"])):
    with open("%s/%s.conf" % (tmp, name), "w") as f:
        f.writelines("filter add socket exe %s\n" % p for p in ps)
EOF

# The floor, attached once to each cgroup for the whole run; netfil's
# programs, attached at each load, run after it.
bpftool prog loadall "$NOP" "$PIN"/nop || exit 1
for c in $CFGS; do
	bpftool cgroup attach "$CG/$c" sock_create pinned "$PIN"/nop/nop_sock_create multi || exit 1
done

load() {	# CFG: a fresh netfil on CFG's cgroup, with its filters
	on $1 load >/dev/null || return 1
	[ $1 = a ] && return 0
	on $1 restore "$TMP"/$1.conf >/dev/null &&
		[ "$(on $1 -j filter list | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')" = "$FILTERS" ]
}
unload() { local c; for c in $CFGS; do on $c unload >/dev/null || return 1; done; }

subscribers() { on $1 -j status | python3 -c 'import json,sys; print(json.load(sys.stdin)["subscribers"])'; }

# Hit and miss, checked on the close events of the sockets sockloop makes
# in b and c (4 in each: a batch of 2 to warm up, one of 2 timed).
log "owners: checking that sockets made in b are charged to no filter and in c to the exe filter"
load b && load c || { log "owners: loading netfil with $FILTERS exe filters failed"; exit 1; }
for c in b c; do
	# not through on(): $! must be netfil's own pid, to stop it by
	NETFIL_CGROUP=$CG/$c NETFIL_PIN_DIR=$PIN/$c "$NETFIL" -j events type close \
		> "$TMP"/events.$c &
	SUBS="$SUBS $!"
	for i in $(seq 1 200); do [ "$(subscribers $c)" -ge 1 ] && break; sleep 0.025; done
done
"$LOOP" 2 2 "$CG"/b "$CG"/c > /dev/null || exit 1
for c in b c; do
	for i in $(seq 1 200); do [ "$(wc -l < "$TMP"/events.$c)" -ge 4 ] && break; sleep 0.025; done
done
kill $SUBS; wait $SUBS 2>/dev/null; SUBS=""
HIT_ID=$(on c -j filter list | python3 -c 'import json,sys
print([f["id"] for f in json.load(sys.stdin) if f.get("exe") == sys.argv[1]][0])' "$LOOP")
python3 - "$TMP" "$LOOP" "$HIT_ID" <<'EOF' || { log "owners: hit/miss check failed"; exit 1; }
import json, sys
tmp, loop, hit = sys.argv[1], sys.argv[2], int(sys.argv[3])
ev = {c: [json.loads(l) for l in open("%s/events.%s" % (tmp, c)) if l.strip()] for c in "bc"}
ok = all(len(ev[c]) == 4 and all(e.get("exe") == loop for e in ev[c]) for c in "bc") and \
    all(e["filters"] == [] for e in ev["b"]) and all(e["filters"] == [hit] for e in ev["c"])
print("owners: close events: filters of the sockets made in b %s, in c %s (exe filter %d)"
      % ([e["filters"] for e in ev["b"]], [e["filters"] for e in ev["c"]], hit), file=sys.stderr)
sys.exit(0 if ok else 1)
EOF
unload || exit 1

log "owners: $ROUNDS round(s) of $SOCKETS sockets per configuration, $FILTERS exe filters"
configs=(a b c)
: > "$TMP"/res
for r in $(seq 1 "$ROUNDS"); do
	for k in 0 1 2; do
		c=${configs[$(( (k + r) % 3 ))]}
		load $c || { log "owners: loading configuration $c failed"; exit 1; }
	done
	# in the background, so that a signal is handled at once
	"$LOOP" "$SOCKETS" "$BATCH" "$CG"/a "$CG"/b "$CG"/c > "$TMP"/out &
	LOOP_PID=$!
	wait $LOOP_PID || exit 1
	LOOP_PID=""
	unload || exit 1
	awk -v r="$r" -v n="$SOCKETS" -v res="$TMP/res" -v meta="$TMP/anc" '
		/^sockets=/ { sub(/.*ancestors=/, ""); print > meta }
		$1 == "prog" && $5 != n { printf "owners: %s ran %s times for %s sockets\n", $3, $5, n > "/dev/stderr"; bad = 1 }
		$1 == "prog" { c = $2; sub(/.*\//, "", c); cfg[c] = 1; ns[c, $3] = $7; med[c, $3] = $8 }
		END {
			for (c in cfg) {
				if (!((c, "nf_sock_create") in ns) || !((c, "nop_sock_create") in ns)) bad = 1
				printf "owners %s %d %s %s %s %s\n", c, r, ns[c, "nf_sock_create"], ns[c, "nop_sock_create"],
					med[c, "nf_sock_create"], med[c, "nop_sock_create"] >> res
			}
			exit bad
		}' "$TMP"/out || { log "owners: round $r: bad counts"; exit 1; }
done

META="owners-meta filters=$FILTERS sockets=$SOCKETS batch=$BATCH rounds=$ROUNDS ancestors=$(cat "$TMP"/anc)"
[ -n "$RESULTS" ] && { sort -k2,2 -k3n "$TMP"/res; echo "$META"; } >> "$RESULTS"
python3 - "$TMP"/res "$META" "$SMOKE" <<'EOF'
import statistics, sys
over, med, raw = {}, {}, {}	# nf - nop by config and round: of the means, of the batch medians
for line in open(sys.argv[1]):
    w = line.split()
    cfg, r = w[1], w[2]
    nf, nop, nfm, nopm = map(float, w[3:7])
    over.setdefault(cfg, {})[r] = nf - nop
    med.setdefault(cfg, {})[r] = nfm - nopm
    raw.setdefault(cfg, {}).setdefault("nf", []).append(nf)
    raw[cfg].setdefault("nop", []).append(nop)
def st(v):
    return "%.1f [%.1f, %.1f]" % (statistics.median(v), min(v), max(v)) if v else "n/a"
def paired(d, c):
    return [d[c][r] - d["a"][r] for r in d.get(c, {}) if r in d.get("a", {})]
print("ns per socket (%s); median [min, max] over rounds" % sys.argv[2].split(" ", 1)[1])
row = "  %-38s %-24s %-21s %-24s %s"
print(row % ("configuration", "nf_sock_create", "nop_sock_create", "nf - nop", "nf - nop, batch medians"))
names = {"a": "a: no filter", "b": "b: exe filters, creator not one", "c": "c: exe filters, creator one"}
for c in "abc":
    if c in over:
        print(row % (names[c], st(raw[c]["nf"]), st(raw[c]["nop"]), st(list(over[c].values())),
                     st(list(med[c].values()))))
for c in "bc":
    if c in over and "a" in over:
        print(row % ("%s - a, paired by round" % c, "", "", st(paired(over, c)), st(paired(med, c))))
if sys.argv[3] == "1":
    failed = sum(1 for c in "abc" if c not in over)
    print("%d passed, %d failed" % (3 - failed, failed))
    sys.exit(1 if failed else 0)
EOF
