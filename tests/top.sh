#!/bin/bash
# netfil top, driven in tmux (send-keys, capture-pane) against real traffic
# between the test namespaces: status colours and words, usage bars,
# processes and their connections, exited processes' totals, keys that
# change filters, resize, and the terminal given back on q, Ctrl-C and
# SIGTERM.  Also "top --once -j" against "filter list -j".
set -u
. "$(dirname "$0")/lib.sh"

T="tmux -L netfil-top-$RUN_ID"
# tmux's own server, on its own socket; killed with the rest
trap '$T kill-server 2>/dev/null; cleanup' EXIT
trap 'exit 1' INT TERM
setup_net || exit 1
setup_cgroup

# ncurses keeps its terminal tables for the life of the process
printf 'leak:libncursesw\nleak:libtinfo\nleak:initscr\nleak:newterm\n' > "$TMP"/lsan.supp
ENV="env TERM=tmux-256color NETFIL_PIN_DIR=$NETFIL_PIN_DIR NETFIL_CGROUP=$NETFIL_CGROUP \
ASAN_OPTIONS=${ASAN_OPTIONS:-} UBSAN_OPTIONS=${UBSAN_OPTIONS:-} LSAN_OPTIONS=suppressions=$TMP/lsan.supp"

screen() { $T capture-pane -p -t top; }
screen_e() { $T capture-pane -e -p -t top; }
# wait_screen PATTERN [SECONDS] [-e]: bounded wait for the pane to show it (grep -E)
wait_screen() {
	local pat=$1 secs=${2:-5} e=${3:-} i
	for i in $(seq 1 $((secs * 20))); do
		if [ -n "$e" ]; then screen_e; else screen; fi | grep -qE -- "$pat" && return 0
		sleep 0.05
	done
	log "  the screen never showed /$pat/:"
	screen | head -n 12 >&2
	return 1
}
# gone_screen PATTERN: bounded wait for the pane to stop showing it
gone_screen() {
	local i
	for i in $(seq 1 60); do
		screen | grep -qE -- "$1" || return 0
		sleep 0.05
	done
	log "  the screen still shows /$1/"
	return 1
}
# A line of the screen (grep -E), for a closer look
line() { screen | grep -E -- "$1" | head -n 1; }
keys() { $T send-keys -t top "$@"; }
# start_top [ARGS...]: netfil top in the pane's shell, its pid in TOP
# (tui_start)
start_top() {
	tui_start top "$ENV $NETFIL top $*"
	TOP=$TUI
}
given_back() { tui_given_back top; }
fshow() { nf -j filter show "$1"; }
fstat() { jget "$(fshow "$1")" "$2"; }
# pct_bar USED LIMIT: the usage text top draws, "[####......]  40%"
pct_bar() { python3 -c 'import sys
u,l=int(sys.argv[1]),int(sys.argv[2]); f=u/l; n=10 if f>=1 else int(f*10)
t="[" + "#"*n + "."*(10-n) + "] %3.0f%%" % (f*100)
print(t.replace("[","\\[").replace("]","\\]").replace(".","\\."))' "$1" "$2"; }

$T new-session -d -s top -x 200 -y 45 "bash --norc --noprofile" || { echo "0 passed, 1 failed"; exit 1; }
$T set -g -t top status off >/dev/null

# --- grey, green, red: the word and the colour --------------------------------
start_top
check "not loaded: grey, and says so" wait_screen '48;5;244m netfil not loaded' 5 -e
nf load >/dev/null
nf filter add ip 10.77.0.0/24 obyte 10M >/dev/null
check "loaded, all on: green, and says so" wait_screen '42m netfil on' 5 -e
check "header: reaper, subscribers, lost" wait_screen 'reaper running +subscribers [1-9] +lost 0'
nf filter add socket user nobody off >/dev/null
check "a filter off: red at once, and says so" wait_screen '41m netfil off' 2 -e
nf filter del 2 >/dev/null
check "back on: green" wait_screen '42m netfil on' 2 -e
check "the filter's row: match, on, usage bar" wait_screen '10\.77\.0\.0/24 .* obyte \[\.\.\.\.\.\.\.\.\.\.\] +0% 0/10\.0MiB'

# --- live traffic: processes, connections, usage -------------------------------
start_sink $NS_B 10.77.0.2
SINK=$SP
$A "$NFT" send tcp 10.77.0.2 $PORT 3000000 --rate 1500000 --timeout 8000 > "$TMP"/send.out &
CP=$!
check "the sender appears as a process" wait_screen "^ +$CP nftraffic"
keys Tab	# to the processes
for i in $(seq 1 10); do
	screen | grep -q "Conns of $CP " && break
	keys Down
	sleep 0.1
done
check "its connection, selected: remote address and state" \
	wait_screen "tcp +10\.77\.0\.1:[0-9]+ +10\.77\.0\.2:$PORT +established"
check "the filter shows a rate while it runs" wait_screen '10\.77\.0\.0/24 +[0-9.]+[KM]iB +[0-9.]+[KM]iB'
# the view as it looked, kept for people: text, and with its colours
mkdir -p "$ROOT"/build/artefacts
screen > "$ROOT"/build/artefacts/top.txt
screen_e > "$ROOT"/build/artefacts/top.ans
log "  screenshot: $ROOT/build/artefacts/top.txt (colours: top.ans, view with cat)"
wait $CP
wait $SINK
check "the upload completed" eq "$(field "$TMP"/send.out sent)" 3000000
OUT=$(fstat 1 bytes.out)
check "usage bar and percentage agree with filter show" \
	wait_screen "obyte $(pct_bar "$OUT" 10485760)"
check "the exited sender is still listed, marked exited" wait_screen "exited +$CP nftraffic" 5
# its total, after two more refreshes: kept, not dropped
CLOCK=$(screen | head -n 1 | grep -oE '[0-9]{2}:[0-9]{2}:[0-9]{2}')
wait_screen "exited +$CP " 1 >/dev/null
for i in $(seq 1 60); do
	[ "$(screen | head -n 1 | grep -oE '[0-9]{2}:[0-9]{2}:[0-9]{2}')" != "$CLOCK" ] && break
	sleep 0.05
done
sleep 1.1	# one refresh more than the one awaited above
L=$(line "exited +$CP ")
TOTAL=$(echo "$L" | awk '{print $7}')
check "its upload total is kept after it exited ($TOTAL)" python3 -c 'import sys,re
m=re.fullmatch(r"([0-9.]+)(KiB|MiB)",sys.argv[1]); v=float(m.group(1))*{"KiB":1<<10,"MiB":1<<20}[m.group(2)]
sys.exit(not (2.8*2**20 <= v <= 3.3*2**20))' "$TOTAL"

# --- keys that change the filter ------------------------------------------------
keys Tab Tab	# processes -> connections -> filters
keys ' '
check "space switches the selected filter off" eventually bash -c "[ \"\$($NETFIL -j filter show 1 | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"status\"])')\" = off ]"
check "and the header turns red" wait_screen '41m netfil off' 2 -e
keys ' '
check "space again: on" eventually bash -c "[ \"\$($NETFIL -j filter show 1 | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"status\"])')\" = on ]"
keys +
check "+ raises the limit one step (10M -> 20M)" eventually bash -c "[ \"\$($NETFIL -j filter show 1 | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"limits\"][\"obyte\"])')\" = 20971520 ]"
keys -
check "- lowers it again (20M -> 10M)" eventually bash -c "[ \"\$($NETFIL -j filter show 1 | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"limits\"][\"obyte\"])')\" = 10485760 ]"
keys r
check "r resets its counters" eventually bash -c "[ \"\$($NETFIL -j filter show 1 | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"bytes\"][\"out\"])')\" = 0 ]"
check "the usage bar follows the reset" wait_screen 'obyte \[\.\.\.\.\.\.\.\.\.\.\] +0% 0/10\.0MiB' 3
keys s
check "s changes the sort" wait_screen 'sort total' 2
keys p
check "p pauses" wait_screen 'PAUSED' 2
keys p
check "p resumes" gone_screen 'PAUSED' 
keys c
check "c clears exited processes" wait_screen "exited processes cleared" 2
check "  and the exited sender is gone" gone_screen "exited +$CP "

# --- resize, and the terminal given back -----------------------------------------
$T resize-window -t top -x 120 -y 30
check "a resize redraws to the new size" wait_screen '^ q quit' 3
check "  no line wider than the window" bash -c "[ \$($T capture-pane -p -t top | awk '{ if (length > m) m = length } END { print m }') -le 120 ]"
check "  the footer is on the last line" eq "$(screen | sed -n 30p | cut -c1-7)" " q quit"
keys q
check "q: the terminal is given back as it was" given_back
$T resize-window -t top -x 200 -y 45
start_top
wait_screen 'netfil on' 5 >/dev/null
keys C-c
check "Ctrl-C: the terminal is given back as it was" given_back
start_top
wait_screen 'netfil on' 5 >/dev/null
kill -TERM "$TOP"
check "SIGTERM: the terminal is given back as it was" given_back

# --- read-only for others ----------------------------------------------------------
rm -f "$TMP"/rc
keys "setpriv --reuid=nobody --regid=nogroup --clear-groups $ENV $NETFIL top; echo \$? > $TMP/rc" Enter
# (and that netfild, at its default port, is not there either, or refuses)
check "not root: told it is read-only, or why it cannot read" \
	wait_screen "read-only: changing filters needs root|no access to the kernel's maps" 10
check "  and the header is grey, naming the error" wait_screen '48;5;244m netfil error: Permission denied' 2 -e
keys ' '
check "  and space changes nothing" eq "$(fstat 1 status)" on
keys q
wait_file "$TMP"/rc >/dev/null

# --- short lives: totals exact after the processes are gone -----------------------
# 20 processes of a static program each make one upload and exit while a
# view runs; a later view still has each one's totals, and together they
# are exactly what the exe filter on that program counted.
start_top
wait_screen 'netfil on' 5 >/dev/null
FX=$(nf -j filter add socket exe "$ROOT"/build/nftraffic-static | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
: > "$TMP"/short.pids
for i in $(seq 1 20); do
	start_sink $NS_B 10.77.0.2 "$TMP"/short.sink	# a sink serves one connection
	$A "$ROOT"/build/nftraffic-static send tcp 10.77.0.2 $PORT $((10000 * i)) --timeout 5000 \
		> "$TMP"/short.out &
	echo $! >> "$TMP"/short.pids
	wait $!
	wait $SP
done
J=$(nf -j top --once)
check "20 short-lived processes: each listed, exited, with its own upload" python3 -c 'import json,sys
d=json.loads(sys.argv[1]); pids=[int(x) for x in open(sys.argv[2]).read().split()]
procs={p["pid"]:p for p in d["processes"]}
for i,pid in enumerate(pids):
    p=procs.get(pid); assert p, ("missing", pid)
    assert p["exited"], ("not exited", p)
    assert 10000*(i+1) <= p["bytes"]["out"] <= 10000*(i+1)*1.2+20000, ("out", i, p["bytes"])' "$J" "$TMP"/short.pids
check "  their totals add up to what the exe filter counted, exactly" python3 -c 'import json,sys
d=json.loads(sys.argv[1]); pids=set(int(x) for x in open(sys.argv[2]).read().split())
f=[f for f in d["filters"] if f["id"]==int(sys.argv[3])][0]
tot=[sum(p["bytes"][k] for p in d["processes"] if p["pid"] in pids) for k in ("in","out")]
assert tot==[f["bytes"]["in"],f["bytes"]["out"]], (tot, f["bytes"])' "$J" "$TMP"/short.pids "$FX"
keys q
given_back >/dev/null
nf filter del "$FX" >/dev/null

# --- from netfild: a read-only view for its read group -----------------------------
DPORT=$((20000 + RUN_ID % 20000))
NETFILD=${NETFILD:-$ROOT/build/netfild}
$NETFILD -e -s "$TMP"/d.state -c /dev/null -p $DPORT -g nogroup > "$TMP"/d.log 2>&1 &
DPID=$!
check "netfild serves the view model" eventually curl -sf -o /dev/null http://127.0.0.1:$DPORT/view
rm -f "$TMP"/rc
keys "setpriv --reuid=nobody --regid=nogroup --clear-groups $ENV $NETFIL top port $DPORT; echo \$? > $TMP/rc" Enter
check "read group, through netfild: green, every filter, and where from" \
	wait_screen "42m netfil on: loaded, every filter on .*from netfild 127\.0\.0\.1:$DPORT" 10 -e
check "  the filter's row" wait_screen '10\.77\.0\.0/24 .* obyte \['
check "  told it is read-only" wait_screen 'read-only: changing filters needs root'
keys ' '
check "  and space changes nothing" eq "$(fstat 1 status)" on
keys q
check "  q: it ends with status 0" bash -c "for i in \$(seq 1 100); do [ -s $TMP/rc ] && break; sleep 0.05; done; [ \"\$(cat $TMP/rc)\" = 0 ]"
out=$(setpriv --reuid=daemon --regid=daemon --clear-groups $NETFIL top --once port $DPORT 2>&1 >/dev/null); rc=$?
check "outside the read group: exit 1, netfild's refusal" bash -c "[ $rc = 1 ] && printf '%s' \"$out\" | grep -q forbidden"
kill $DPID; wait $DPID 2>/dev/null

# --- --once -j: the same model, for scripts ----------------------------------------
nf filter add ip fd77::/64 iobyte 1G period daily at 03:00 >/dev/null
J=$(nf -j top --once)
check "--once -j: status, filters, processes, connections" python3 -c 'import json,sys
d=json.loads(sys.argv[1]); assert d["state"]=="on" and d["status"]["loaded"] is not False
for k in ("filters","processes","connections","events","sort","time"): assert k in d, k' "$J"
check "--once -j agrees with filter list -j" python3 -c 'import json,sys
top=json.loads(sys.argv[1])["filters"]; lst=json.loads(sys.argv[2])
assert len(top)==len(lst)==2, (len(top),len(lst))
for a,b in zip(top,lst):
    for k,v in b.items():
        assert a.get(k)==v, (k,a.get(k),v)
    assert "rate" in a and "usage" in a and "next_reset" in a' "$J" "$(nf -j filter list)"
check "--once -j: usage and next reset" python3 -c 'import json,sys
f=json.loads(sys.argv[1])["filters"][1]
assert f["usage"][0]["limit"]=="iobyte" and f["usage"][0]["bytes"]==1<<30, f["usage"]
assert f["next_reset"] and f["next_reset"].endswith("Z"), f["next_reset"]' "$J"

# --- bad input: exit 1, one line naming the word, nothing changed --------------------
BEFORE=$(nf -j filter list)
for bad in "sort bogus:bogus" "--bogus:--bogus" "sort:sort" "port 0:0" "port 65536:65536" "port x1:x1" "port:port"; do
	args=${bad%%:*} word=${bad##*:}
	out=$($NETFIL top --once $args 2>&1 >/dev/null); rc=$?
	check "top $args: exit 1 naming '$word'" bash -c "[ $rc = 1 ] && [ \$(printf '%s\n' \"$out\" | wc -l) = 1 ] && printf '%s' \"$out\" | grep -qF -- \"'$word'\""
done
out=$($NETFIL top </dev/null 2>&1); rc=$?
check "top with no terminal: exit 1, says why" bash -c "[ $rc = 1 ] && printf '%s' \"$out\" | grep -q terminal"
check "bad input changed nothing" eq "$(nf -j filter list)" "$BEFORE"

summary
