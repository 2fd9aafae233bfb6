#!/bin/bash
# End-to-end tests of the socket filters by owner: exe (by the file's
# device and inode: hard links and symlinks match, a copy does not), user
# (real uid), cgroup (that directory and below), unit (a cgroup directory
# named NAME.service); following a replaced file or a re-created cgroup
# (netfil sync, netfild); overlap with pid and tree filters; bad input.
# Real TCP and UDP traffic between the test namespaces, as in e2e.sh; every
# assertion is on bytes a peer really received or on netfil's counters.
# The clients are copies of nftraffic ($BIN/client1, $BIN/client2): two
# files with the same content, different inodes.
# Usage: tests/owners.sh (as root); NETFIL and NETFILD may name the
# binaries (tests/run.sh runs it again with the ASan builds).
set -u
. "$(dirname "$0")/lib.sh"

trap cleanup_o EXIT
trap 'exit 1' INT TERM
NETFILD=${NETFILD:-$ROOT/build/netfild}
LIMIT=200000
BIG=2000000
UDP=100000			# a UDP upload: 100 datagrams of 1000 bytes
BIN=$TMP/bin			# the programs exe filters name
C1=$BIN/client1
C2=$BIN/client2
PUB=$TMP/pub			# where processes of any user create files
GO=$TMP/go			# the FIFO every waiting sender starts on
INCG=$TMP/incg			# incg DIR CMD...: CMD in cgroup DIR
CGT=$NETFIL_CGROUP
UNIT=netfil-test-$RUN_ID
NOBODY="setpriv --reuid=nobody --regid=nogroup --clear-groups"
DPID=
SENDERS=
SINKS=
DONES=

# Our cgroups below the test cgroup go first: lib.sh's cleanup removes
# only the test cgroup itself.
cleanup_o() {
	local d i
	[ -n "$DPID" ] && kill -9 "$DPID" 2>/dev/null
	exec 7>&- 2>/dev/null
	if [ -d "$CGT" ]; then
		echo $$ > "$CG2/cgroup.procs" 2>/dev/null
		[ -e "$CGT/cgroup.kill" ] && echo 1 > "$CGT/cgroup.kill"
		for d in $(find "$CGT" -mindepth 1 -depth -type d 2>/dev/null); do
			for i in $(seq 1 100); do rmdir "$d" 2>/dev/null && break; sleep 0.02; done
		done
	fi
	cleanup
}

# lib.sh's jget, with the system's python3 when there is one: a python3
# found first on PATH may be a version manager's shim taking a second to
# start, and these tests read hundreds of values
PY=python3
[ -x /usr/bin/python3 ] && PY=/usr/bin/python3
jget() { "$PY" -c 'import json,sys
v=json.loads(sys.argv[1])
for k in sys.argv[2].split("."):
    v=v[int(k)] if isinstance(v,list) else v[k]
print(str(v).lower() if isinstance(v,bool) else v)' "$1" "$2"; }

fshow() { nf -j filter show "$1"; }
# jf ID KEY: one value of filter ID's JSON
jf() { jget "$(fshow "$1")" "$2"; }
ne() { [ "$1" != "$2" ] || { log "  want '$1' != '$2'"; return 1; }; }
ino() { stat -L -c %i "$1"; }
devino() { stat -L -c '%Hd:%Ld %i' "$1"; }
# l3 PAYLOAD ADDR: the L3 bytes of a UDP upload of PAYLOAD in 1000-byte
# datagrams (IPv4: 20 + 8 header bytes each, IPv6: 40 + 8)
l3() {
	case $2 in
	*:*) echo $(($1 + $1 / 1000 * 48)) ;;
	*) echo $(($1 + $1 / 1000 * 28)) ;;
	esac
}

# --- traffic: any number of client/sink pairs released at once -------------
# round: a new set of pairs
round() {
	rm -f "$GO" && mkfifo -m 644 "$GO"
	SENDERS= SINKS= DONES=
}

# pair NAME PROGRAM PROTO ADDR BYTES [PREFIX...]: a sink in B on a new port,
# and PROGRAM (run through PREFIX, e.g. setpriv) in A, connected (UDP:
# connected too) and waiting for release.  The sender's pid (PREFIX's, as
# it execs) in LASTP; reports in $TMP/NAME.sink and $TMP/NAME.send.
pair() {
	local name=$1 prog=$2 proto=$3 addr=$4 bytes=$5 chunk=16384
	shift 5
	[ "$proto" = udp ] && chunk=1000
	PORT=$((PORT + 1))
	rm -f "$PUB/$name".r1 "$PUB/$name".r2 "$PUB/$name".done
	nsenter --net=/run/netns/$NS_B "$NFT" sink "$proto" "$addr" $PORT \
		--ready "$PUB/$name.r1" --idle 700 --done "$PUB/$name.done" > "$TMP/$name.sink" &
	SINKS="$SINKS $!"
	DONES="$DONES $PUB/$name.done"
	wait_file "$PUB/$name.r1" || return 1
	nsenter --net=/run/netns/$NS_A "$@" "$prog" send "$proto" "$addr" $PORT "$bytes" \
		--chunk $chunk --wait "$GO" --ready "$PUB/$name.r2" --timeout 2500 \
		> "$TMP/$name.send" &
	LASTP=$!
	SENDERS="$SENDERS $LASTP"
	wait_file "$PUB/$name.r2"
}

# release: every sender of the round goes at once; returns when all sinks
# have reported.  The FIFO stays open for writing until the senders are
# done, so one that opens it late still gets its byte.
release() {
	exec 7<>"$GO"
	printf '%64s' '' >&7
	[ -n "$SENDERS" ] && wait $SENDERS
	exec 7>&-
	[ -n "$DONES" ] && touch $DONES
	[ -n "$SINKS" ] && wait $SINKS
}

got() { field "$TMP/$1.sink" received; }
serr() { field "$TMP/$1.send" err; }
# sum NAME...: what their sinks received together
sum() {
	local n v s=0
	for n in "$@"; do v=$(got "$n"); s=$((s + ${v:-0})); done
	echo $s
}

# --- netfild ---------------------------------------------------------------
start_d() {
	: > "$TMP"/d.log
	nsenter --net=/run/netns/$NS_A "$NETFILD" --stderr --state "$TMP"/state \
		--config "$TMP"/netfil.conf --metrics-port 0 >> "$TMP"/d.log 2>&1 &
	DPID=$!
	wait_log "running:"
}

# follow ID KEY VALUE: true once filter ID's JSON has "KEY":VALUE, polled
# for up to 5 s.
follow() {
	local i t0
	t0=$(date +%s%3N)
	for i in $(seq 1 500); do
		nf -j filter show "$1" | grep -q "\"$2\":$3[,}]" && return 0
		[ $(( $(date +%s%3N) - t0 )) -gt 5000 ] && break
		sleep 0.01
	done
	log "  filter $1 never had \"$2\":$3: $(nf -j filter show "$1")"
	return 1
}

# When netfild moved a filter, from the kernel's own clock: a subscriber to
# filter events (each stamped when emitted), read once it has stopped.
# Polling "filter show" cannot tell: under load one poll (an ASan build
# starting, say) takes a good part of a second.
subscribers() { jget "$(nf -j status)" subscribers; }
has_subscriber() { [ "$(subscribers)" -ge 1 ]; }
ev_on() {
	"$NETFIL" -j events type filter > "$TMP"/ev.json &
	EVP=$!
	eventually has_subscriber
}
ev_off() { kill -INT $EVP; wait $EVP; }
# changed_ms ID T0: ms from T0 (epoch ms) to the first change of filter ID
# at or after it; 99999 if none
changed_ms() {
	"$PY" - "$TMP"/ev.json "$1" "$2" <<-'EOF'
	import datetime, json, sys
	fid, t0 = int(sys.argv[2]), int(sys.argv[3])
	for line in open(sys.argv[1]):
	    try:
	        e = json.loads(line)
	    except ValueError:
	        continue
	    if e.get("type") != "filter" or e.get("op") != "change" or e.get("filter") != fid:
	        continue
	    t = datetime.datetime.strptime(e["time"], "%Y-%m-%dT%H:%M:%S.%fZ")
	    ms = t.replace(tzinfo=datetime.timezone.utc).timestamp() * 1000 - t0
	    if ms >= 0:
	        print(int(ms))
	        sys.exit(0)
	print(99999)
	EOF
}

# replace FILE: a new file (new inode) at FILE, as an upgrade writes it
replace() {
	cp "$NFT" "$1.tmp" && mv -f "$1.tmp" "$1"
}

# --- 1. exe: one copy of a program limited, the other not --------------------
test_exe_limit() {
	local id j i addr
	id=$(nf filter add socket exe "$C1" obyte $LIMIT)
	j=$(fshow $id)
	check "exe: json names the path" eq "$(jget "$j" exe)" "$C1"
	check "exe: json has the file's dev and inode" eq "$(jget "$j" dev) $(jget "$j" inode)" "$(devino "$C1")"
	check "exe: not stale" eq "$(jget "$j" stale)" false
	check "exe: the copy is another file" ne "$(ino "$C2")" "$(ino "$C1")"

	round
	pair c2 "$C2" tcp 10.77.0.2 $BIG
	release
	check "exe: the other copy's upload is whole" eq "$(got c2)" $BIG
	check "exe: the other copy is not counted" eq "$(jf $id bytes.out)/$(jf $id bytes.in)" 0/0

	round
	pair c1 "$C1" tcp 10.77.0.2 $BIG
	release
	limited "exe: started after the filter" $id $LIMIT "$(sum c1)"
	check "exe: the sender saw an error" one_of "$(serr c1)" ECONNABORTED ECONNRESET EPIPE EPERM
	nf filter del $id

	# three instances at once, the other copy beside them: one limit
	id=$(nf filter add socket exe "$C1" obyte $LIMIT)
	round
	for i in 1 2 3; do pair c1-$i "$C1" tcp 10.77.0.2 $BIG; done
	pair c2 "$C2" tcp 10.77.0.2 $BIG
	release
	limited "exe: 3 instances at once share the limit" $id $LIMIT "$(sum c1-1 c1-2 c1-3)"
	check "exe: the other copy beside them is whole" eq "$(got c2)" $BIG
	nf filter del $id

	# exactly: UDP, so that the counter is what arrived plus the headers
	for addr in 10.77.0.2 fd77::2; do
		id=$(nf filter add socket exe "$C1")
		round
		for i in 1 2 3; do pair u1-$i "$C1" udp $addr $UDP; done
		pair u2 "$C2" udp $addr $UDP
		release
		check "exe UDP $addr: all arrived" eq "$(sum u1-1 u1-2 u1-3)/$(got u2)" $((3 * UDP))/$UDP
		check "exe UDP $addr: 3 instances counted exactly once (bytes out)" eq "$(jf $id bytes.out)" "$(l3 $((3 * UDP)) $addr)"
		check "exe UDP $addr: ... and datagrams" eq "$(jf $id packets.out)" $((3 * UDP / 1000))
		nf filter del $id
	done

	# a shared limit with UDP: admitted is exactly the whole datagrams
	# that fit, and nothing after the first refused one
	id=$(nf filter add socket exe "$C1" obyte $LIMIT)
	round
	for i in 1 2 3; do pair u1-$i "$C1" udp 10.77.0.2 $UDP; done
	release
	i=$((LIMIT / 1028))
	check "exe UDP shared limit: admitted the datagrams that fit, exactly" eq "$(jf $id bytes.out)" $((i * 1028))
	check "exe UDP shared limit: peers got exactly what was admitted" eq "$(sum u1-1 u1-2 u1-3)" $((i * 1000))
	check "exe UDP shared limit: exceeded" eq "$(jf $id exceeded.out)" true
	check "exe UDP shared limit: a sender was refused" contains "$(serr u1-1) $(serr u1-2) $(serr u1-3)" EPERM
	nf filter del $id

	# a socket that existed before the filter
	round
	pair pre "$C1" udp 10.77.0.2 $UDP
	id=$(nf filter add socket exe "$C1")
	release
	check "exe: a socket made before the filter is counted" eq "$(jf $id bytes.out)" "$(l3 $UDP 10.77.0.2)"
	nf filter del $id

	# the program as a server: the sockets it accepts are its own
	id=$(nf filter add socket exe "$C1" obyte $LIMIT)
	PORT=$((PORT + 1))
	rm -f "$PUB"/srv.r1
	nsenter --net=/run/netns/$NS_A "$C1" source tcp 10.77.0.1 $PORT $BIG \
		--ready "$PUB"/srv.r1 --idle 700 > "$TMP"/srv.out &
	i=$!
	wait_file "$PUB"/srv.r1
	in_b "$NFT" fetch tcp 10.77.0.1 $PORT --idle 700 > "$TMP"/fetch.out
	wait $i
	j=$(fshow $id)
	check "exe as a server: its upload limited" le "$(field "$TMP"/fetch.out received)" $LIMIT
	check "exe as a server: flowed" le $((LIMIT / 2)) "$(field "$TMP"/fetch.out received)"
	check "exe as a server: accepted socket counted, exceeded" eq "$(jget "$j" exceeded.out)" true
	nf filter del $id
}

# --- 2. hard links and symlinks are the same file -----------------------------
test_exe_links() {
	local id out
	ln "$C1" "$BIN"/hard
	ln -s "$C1" "$BIN"/sym
	id=$(nf filter add socket exe "$C1")
	round
	pair hard "$BIN"/hard udp 10.77.0.2 $UDP
	release
	check "exe: a hard link is counted" eq "$(jf $id bytes.out)" "$(l3 $UDP 10.77.0.2)"
	round
	pair sym "$BIN"/sym udp 10.77.0.2 $UDP
	pair c2 "$C2" udp 10.77.0.2 $UDP
	release
	check "exe: a symlink is counted, the copy not" eq "$(jf $id bytes.out)" "$(l3 $((2 * UDP)) 10.77.0.2)"
	round
	pair hard "$BIN"/hard tcp 10.77.0.2 $BIG
	pair sym "$BIN"/sym tcp 10.77.0.2 $BIG
	release
	check "exe: link and symlink at once, both counted" le $((2 * BIG)) "$(( $(jf $id bytes.out) - $(l3 $((2 * UDP)) 10.77.0.2) ))"
	nf filter set $id obyte $((LIMIT * 2))
	nf filter reset $id
	round
	pair hard "$BIN"/hard tcp 10.77.0.2 $BIG
	pair sym "$BIN"/sym tcp 10.77.0.2 $BIG
	release
	limited "exe: link and symlink share the limit" $id $((LIMIT * 2)) "$(sum hard sym)"
	out=$(nf filter add socket exe "$BIN"/sym 2>&1)
	check "exe: a filter via the symlink is the same filter (exit 1)" eq "$?" 1
	check "exe: ... says it exists" contains "$out" "already exists (id $id)"
	nf filter del $id
	id=$(nf filter add socket exe "$BIN"/sym)
	check "exe via a symlink: the target's inode" eq "$(jf $id inode)" "$(ino "$C1")"
	round
	pair c1 "$C1" udp 10.77.0.2 $UDP
	release
	check "exe via a symlink: the target's traffic counted" eq "$(jf $id bytes.out)" "$(l3 $UDP 10.77.0.2)"
	nf filter del $id
	rm -f "$BIN"/hard "$BIN"/sym
}

# --- 3. a file replaced at its path: stale, then followed ---------------------
test_exe_replace() {
	local id ino0 ino1 j out one
	one=$(l3 $UDP 10.77.0.2)
	id=$(nf filter add socket exe "$C1")
	ino0=$(ino "$C1")
	ln "$C1" "$BIN"/old	# the old file lives on, as in a running process
	replace "$C1"
	ino1=$(ino "$C1")
	check "replace: a new inode at the path" ne "$ino1" "$ino0"
	j=$(fshow $id)
	check "replace, no netfild: show says stale" eq "$(jget "$j" stale)" true
	check "replace, no netfild: still the old inode" eq "$(jget "$j" inode)" "$ino0"
	check "replace: text show says stale" contains "$(nf filter show $id)" "stale"
	round
	pair new "$C1" udp 10.77.0.2 $UDP
	pair old "$BIN"/old udp 10.77.0.2 $UDP
	release
	check "stale: the old file still counted, the new one not yet" eq "$(jf $id bytes.out)" "$one"
	round
	pair open "$BIN"/old udp 10.77.0.2 $UDP	# open across the sync
	out=$(nf sync)
	check "sync: one filter moved" eq "$?:$out" "0:1"
	j=$(fshow $id)
	check "sync: the new inode" eq "$(jget "$j" dev) $(jget "$j" inode)" "$(devino "$C1")"
	check "sync: not stale" eq "$(jget "$j" stale)" false
	check "sync: same path" eq "$(jget "$j" exe)" "$C1"
	check "sync: counters kept" eq "$(jget "$j" bytes.out)" "$one"
	pair new "$C1" udp 10.77.0.2 $UDP
	pair old "$BIN"/old udp 10.77.0.2 $UDP
	release
	check "sync: all arrived" eq "$(sum open new old)" $((3 * UDP))
	check "sync: the new file counted, the old one no more (its open socket neither)" eq "$(jf $id bytes.out)" $((2 * one))
	out=$(nf -j sync)
	check "sync again: nothing to move" eq "$?:$out" '0:{"interfaces":0,"filters":0}'
	rm -f "$BIN"/old

	# removed, not replaced: the filter stays on the file it had
	ln "$C1" "$BIN"/old	# the file lives on, as in a running process
	rm -f "$C1"
	check "removed: stale" eq "$(jf $id stale)" true
	round
	pair old "$BIN"/old udp 10.77.0.2 $UDP
	release
	check "removed: the file it had still counted" eq "$(jf $id bytes.out)" $((3 * one))
	check "removed: sync leaves it where it is" eq "$(nf sync)/$(jf $id inode)" "0/$(ino "$BIN"/old)"
	cp "$NFT" "$C1"
	check "installed again: sync follows" eq "$(nf sync)/$(jf $id inode)/$(jf $id stale)" "1/$(ino "$C1")/false"
	rm -f "$BIN"/old

	# --allow-missing: a program not there yet, linked when it is
	nf filter del $id
	id=$(nf filter add socket exe "$BIN"/later --allow-missing)
	j=$(fshow $id)
	check "allow-missing: added, no inode yet" eq "$(jget "$j" inode)/$(jget "$j" dev)" None/None
	check "allow-missing: listed as stale" eq "$(jget "$j" stale)" true
	cp "$NFT" "$BIN"/later
	check "allow-missing: sync links it" eq "$(nf sync)" 1
	check "allow-missing: its inode" eq "$(jf $id inode)" "$(ino "$BIN"/later)"
	round
	pair later "$BIN"/later udp 10.77.0.2 $UDP
	release
	check "allow-missing: then counted" eq "$(jf $id bytes.out)" "$one"
	nf filter del $id
	rm -f "$BIN"/later
}

# netfild follows them by itself: the filters exist before it starts, so
# that it watches their directories from the start (a filter added while it
# runs is watched from its next tick on; the tick alone also follows
# within a second, but that is not what is measured here).  Each step is
# checked by its effect (filter show, then traffic); how long netfild took
# is read from the filter events at the end.
test_exe_replace_netfild() {
	local ide idl ids idu one j i t1 t2 t3 t4 t5 t6
	one=$(l3 $UDP 10.77.0.2)
	mkdir -p "$TMP"/alt "$TMP"/lib "$CGT/$UNIT-d.service"
	cp "$NFT" "$TMP"/lib/prog-v1
	cp "$NFT" "$TMP"/lib/prog-v2
	ln -s "$TMP"/lib/prog-v1 "$TMP"/alt/prog	# an alternatives link
	ide=$(nf filter add socket exe "$C1")
	idl=$(nf filter add socket exe "$BIN"/later --allow-missing)
	ids=$(nf filter add socket exe "$TMP"/alt/prog)
	idu=$(nf filter add socket unit "$UNIT-d")
	ev_on
	start_d || { check "netfild started" false; ev_off; return; }

	t1=$(date +%s%3N)
	replace "$C1"
	check "netfild: follows a replaced file (mv over it)" follow $ide inode "$(ino "$C1")"
	j=$(fshow $ide)
	check "netfild: not stale" eq "$(jget "$j" stale)/$(jget "$j" dev) $(jget "$j" inode)" "false/$(devino "$C1")"
	round
	pair new "$C1" udp 10.77.0.2 $UDP
	release
	check "netfild: the new file's traffic counted" eq "$(jf $ide bytes.out)" "$one"

	# deleted, then written anew (not renamed); the old file is kept (a
	# running process would keep it) so that its inode number cannot
	# simply be given to the new file
	ln "$C1" "$TMP"/keep
	t2=$(date +%s%3N)
	rm -f "$C1"
	cp "$NFT" "$C1"
	check "netfild: written anew: a new inode" ne "$(ino "$C1")" "$(ino "$TMP"/keep)"
	check "netfild: follows a file deleted and written anew" follow $ide inode "$(ino "$C1")"
	rm -f "$TMP"/keep
	round
	pair new "$C1" udp 10.77.0.2 $UDP
	release
	check "netfild: ... and counts it" eq "$(jf $ide bytes.out)" $((2 * one))

	# --allow-missing: linked when the program appears
	t3=$(date +%s%3N)
	cp "$NFT" "$BIN"/later
	check "netfild: links an allow-missing program when it appears" follow $idl inode "$(ino "$BIN"/later)"
	round
	pair later "$BIN"/later udp 10.77.0.2 $UDP
	release
	check "netfild: ... and counts it" eq "$(jf $idl bytes.out)" "$one"

	# the symlink's target (in another directory) replaced, then the
	# symlink pointed elsewhere
	t4=$(date +%s%3N)
	replace "$TMP"/lib/prog-v1
	check "netfild: follows a symlink's target replaced" follow $ids inode "$(ino "$TMP"/lib/prog-v1)"
	t5=$(date +%s%3N)
	ln -sfn "$TMP"/lib/prog-v2 "$TMP"/alt/prog
	check "netfild: follows a symlink pointed elsewhere" follow $ids inode "$(ino "$TMP"/lib/prog-v2)"
	round
	pair v2 "$TMP"/lib/prog-v2 udp 10.77.0.2 $UDP
	pair v1 "$TMP"/lib/prog-v1 udp 10.77.0.2 $UDP
	release
	check "netfild: the symlink's new target counted, the old not" eq "$(jf $ids bytes.out)" "$one"

	# a re-created unit cgroup (a restarted service): netfild looks each
	# second
	for i in $(seq 1 100); do rmdir "$CGT/$UNIT-d.service" 2>/dev/null && break; sleep 0.02; done
	t6=$(date +%s%3N)
	mkdir "$CGT/$UNIT-d.service"
	check "netfild: follows a re-created unit cgroup" follow $idu cgroup_id "$(ino "$CGT/$UNIT-d.service")"
	stop_d
	check "netfild: stops cleanly" eq "$DRC" 0
	ev_off
	for i in "$ide $t1 replaced file" "$ide $t2 file deleted and written anew" \
		 "$idl $t3 allow-missing program appearing" "$ids $t4 symlink's target replaced" \
		 "$ids $t5 symlink pointed elsewhere"; do
		set -- $i
		j=$(changed_ms $1 $2)
		shift 2
		check "netfild: $* followed within a second ($j ms)" le "$j" 1000
	done
	j=$(changed_ms $idu $t6)
	check "netfild: re-created unit cgroup followed within its tick ($j ms)" le "$j" 1500
	for i in $ide $idl $ids $idu; do nf filter del $i; done
	rm -rf "$TMP"/alt "$TMP"/lib "$BIN"/later
	rmdir "$CGT/$UNIT-d.service"
}

# --- 4. user: the real uid of the creating process ---------------------------
test_user() {
	local id j
	id=$(nf filter add socket user nobody obyte $LIMIT)
	j=$(fshow $id)
	check "user: json" eq "$(jget "$j" user)/$(jget "$j" uid)" nobody/65534
	round
	pair nob "$NFT" tcp 10.77.0.2 $BIG $NOBODY
	pair root "$NFT" tcp 10.77.0.2 $BIG
	release
	limited "user nobody" $id $LIMIT "$(sum nob)"
	check "user: root's upload beside it is whole" eq "$(got root)" $BIG
	nf filter del $id

	id=$(nf filter add socket user 65534)
	check "user by uid: json names the user" eq "$(jf $id user)" nobody
	round
	pair nob "$NFT" udp 10.77.0.2 $UDP $NOBODY
	pair root "$NFT" udp 10.77.0.2 $UDP
	release
	check "user: both arrived whole" eq "$(got nob)/$(got root)" $UDP/$UDP
	check "user: nobody's counted exactly, root's not" eq "$(jf $id bytes.out)" "$(l3 $UDP 10.77.0.2)"
	nf filter del $id

	# a uid with no passwd entry (a container's)
	id=$(nf filter add socket user 4242)
	check "user without a name: json" eq "$(jf $id user)/$(jf $id uid)" 4242/4242
	round
	pair u "$NFT" udp 10.77.0.2 $UDP setpriv --reuid=4242 --regid=4242 --clear-groups
	pair nob "$NFT" udp 10.77.0.2 $UDP $NOBODY
	release
	check "user 4242: counted exactly, nobody's not" eq "$(jf $id bytes.out)" "$(l3 $UDP 10.77.0.2)"
	nf filter del $id
}

# --- 5. cgroup and unit --------------------------------------------------------
test_cgroup() {
	local id j one deep i
	one=$(l3 $UDP 10.77.0.2)
	mkdir -p "$CGT"/child/grand "$CGT"/sib
	id=$(nf filter add socket cgroup "$CGT"/child obyte $LIMIT)
	j=$(fshow $id)
	check "cgroup: json dir and id" eq "$(jget "$j" cgroup) $(jget "$j" cgroup_id)" "$CGT/child $(ino "$CGT"/child)"
	check "cgroup: not stale" eq "$(jget "$j" stale)" false
	round
	pair ch "$NFT" tcp 10.77.0.2 $BIG "$INCG" "$CGT"/child
	pair sib "$NFT" tcp 10.77.0.2 $BIG "$INCG" "$CGT"/sib
	release
	limited "cgroup child" $id $LIMIT "$(sum ch)"
	check "cgroup: the sibling's upload is whole" eq "$(got sib)" $BIG
	nf filter del $id

	# relative to the current directory
	id=$(cd "$CGT" && nf filter add socket cgroup child)
	check "cgroup relative to the current directory: json has the directory" eq "$(jf $id cgroup)" "$CGT/child"
	nf filter del $id

	# a path below the cgroup2 mount, as /proc/PID/cgroup shows it
	id=$(nf filter add socket cgroup "${CGT#$CG2}"/child)
	check "cgroup below the mount: json has the directory" eq "$(jf $id cgroup)" "$CGT/child"
	deep=$CGT/child
	for i in 1 2 3 4 5 6 7; do deep=$deep/d$i; done
	mkdir -p "$deep"
	round
	pair grand "$NFT" udp 10.77.0.2 $UDP "$INCG" "$CGT"/child/grand
	pair deep "$NFT" udp 10.77.0.2 $UDP "$INCG" "$deep"
	pair sib "$NFT" udp 10.77.0.2 $UDP "$INCG" "$CGT"/sib
	pair top "$NFT" udp 10.77.0.2 $UDP
	release
	check "cgroup: all arrived" eq "$(sum grand deep sib top)" $((4 * UDP))
	check "cgroup: below (1 and 7 levels) counted exactly, sibling and parent not" eq "$(jf $id bytes.out)" $((2 * one))
	nf filter del $id
}

test_unit() {
	local id j one out i
	one=$(l3 $UDP 10.77.0.2)
	mkdir -p "$CGT/$UNIT.service" "$CGT/sib/$UNIT.service"
	id=$(nf filter add socket unit "$UNIT")
	j=$(fshow $id)
	check "unit: json name" eq "$(jget "$j" unit)" "$UNIT.service"
	check "unit: the shallowest cgroup of that name, its id" eq "$(jget "$j" cgroup) $(jget "$j" cgroup_id)" \
		"$CGT/$UNIT.service $(ino "$CGT/$UNIT.service")"
	check "unit: not stale" eq "$(jget "$j" stale)" false
	out=$(nf filter add socket unit "$UNIT".service 2>&1)
	check "unit: NAME and NAME.service are one unit" contains "$?:$out" "1:netfil: a filter for '$UNIT.service' already exists (id $id)"
	round
	pair u "$NFT" udp 10.77.0.2 $UDP "$INCG" "$CGT/$UNIT.service"
	pair deep "$NFT" udp 10.77.0.2 $UDP "$INCG" "$CGT/sib/$UNIT.service"
	pair top "$NFT" udp 10.77.0.2 $UDP
	release
	check "unit: all arrived" eq "$(sum u deep top)" $((3 * UDP))
	check "unit: its cgroup counted exactly, nothing else" eq "$(jf $id bytes.out)" "$one"

	# the service restarts: a new cgroup directory of the same name
	for i in $(seq 1 100); do rmdir "$CGT/$UNIT.service" 2>/dev/null && break; sleep 0.02; done
	mkdir "$CGT/$UNIT.service"
	check "unit re-created: stale" eq "$(jf $id stale)" true
	check "unit re-created: sync moves it" eq "$(nf sync)" 1
	j=$(fshow $id)
	check "unit re-created: the new cgroup id" eq "$(jget "$j" cgroup_id)/$(jget "$j" stale)" "$(ino "$CGT/$UNIT.service")/false"
	round
	pair u "$NFT" udp 10.77.0.2 $UDP "$INCG" "$CGT/$UNIT.service"
	release
	check "unit re-created: counted again" eq "$(jf $id bytes.out)" $((2 * one))
	nf filter del $id
	rmdir "$CGT/sib/$UNIT.service"
}

# --- 6. overlap: every matching filter counts each byte once -------------------
WRAP=(bash -c '"$@"; true' wrap)	# a parent for a tree filter
test_overlap() {
	local tid eid pid uid cid one sh child i out
	one=$(l3 $UDP 10.77.0.2)
	round
	pair ov "$C1" udp 10.77.0.2 $UDP "${WRAP[@]}"
	sh=$LASTP
	tid=$(nf filter add socket tree $sh)
	eid=$(nf filter add socket exe "$C1")
	release
	check "overlap tree+exe UDP: arrived" eq "$(got ov)" $UDP
	check "overlap tree+exe UDP: tree counted each byte once" eq "$(jf $tid bytes.out)/$(jf $tid packets.out)" "$one/$((UDP / 1000))"
	check "overlap tree+exe UDP: exe counted each byte once" eq "$(jf $eid bytes.out)/$(jf $eid packets.out)" "$one/$((UDP / 1000))"
	nf filter del $tid
	nf filter del $eid

	# TCP, both directions: equal counters, and no more than the bytes
	# plus their headers
	round
	pair ov "$C1" tcp 10.77.0.2 $BIG "${WRAP[@]}"
	sh=$LASTP
	tid=$(nf filter add socket tree $sh)
	eid=$(nf filter add socket exe "$C1")
	release
	check "overlap tree+exe TCP: arrived" eq "$(got ov)" $BIG
	check "overlap tree+exe TCP: equal counters" eq "$(jf $tid bytes.out)/$(jf $tid bytes.in)" "$(jf $eid bytes.out)/$(jf $eid bytes.in)"
	check "overlap tree+exe TCP: at least the payload" le $BIG "$(jf $eid bytes.out)"
	check "overlap tree+exe TCP: not twice it" lt "$(jf $eid bytes.out)" $((BIG * 11 / 10))
	nf filter del $tid
	nf filter del $eid

	# limits on both: the tighter (exe) holds, the tree counts the same
	round
	pair ov "$C1" tcp 10.77.0.2 $BIG "${WRAP[@]}"
	sh=$LASTP
	tid=$(nf filter add socket tree $sh obyte $((LIMIT * 2)))
	eid=$(nf filter add socket exe "$C1" obyte $LIMIT)
	release
	limited "overlap, exe the tighter" $eid $LIMIT "$(sum ov)"
	check "overlap: the tree counted the same bytes once" eq "$(jf $tid bytes.out)" "$(jf $eid bytes.out)"
	check "overlap: the tree not exceeded" eq "$(jf $tid exceeded.out)" false
	nf filter del $tid
	nf filter del $eid

	# netfil run beside an exe filter
	eid=$(nf filter add socket exe "$C1")
	PORT=$((PORT + 1))
	rm -f "$PUB"/run.r1 "$PUB"/run.done
	nsenter --net=/run/netns/$NS_B "$NFT" sink udp 10.77.0.2 $PORT --ready "$PUB"/run.r1 \
		--idle 700 --done "$PUB"/run.done > "$TMP"/run.sink &
	SP=$!
	wait_file "$PUB"/run.r1
	nf -j run -- nsenter --net=/run/netns/$NS_A "$C1" send udp 10.77.0.2 $PORT $UDP \
		--chunk 1000 --timeout 2500 > "$TMP"/run.send 2> "$TMP"/run.json
	touch "$PUB"/run.done
	wait $SP
	out=$(tail -n 1 "$TMP"/run.json)
	check "overlap run+exe: arrived" eq "$(field "$TMP"/run.sink received)" $UDP
	check "overlap run+exe: run's filter counted each byte once" eq "$(jget "$out" bytes.out)" "$one"
	check "overlap run+exe: exe filter counted each byte once" eq "$(jf $eid bytes.out)" "$one"
	nf filter del $eid

	# five at once on one process: pid, tree, exe, user, cgroup
	mkdir -p "$CGT"/child
	round
	pair all "$C1" udp 10.77.0.2 $UDP "$INCG" "$CGT"/child $NOBODY "${WRAP[@]}"
	sh=$LASTP
	child=$(pgrep -P $sh)
	tid=$(nf filter add socket tree $sh)
	pid=$(nf filter add socket pid $child)
	eid=$(nf filter add socket exe "$C1")
	uid=$(nf filter add socket user nobody)
	cid=$(nf filter add socket cgroup "$CGT"/child)
	release
	check "overlap x5: arrived" eq "$(got all)" $UDP
	for i in $tid $pid $eid $uid $cid; do
		check "overlap x5: filter $(nf filter show $i | head -n 1 | cut -d' ' -f2-3) counted each byte once" \
			eq "$(jf $i bytes.out)/$(jf $i packets.out)" "$one/$((UDP / 1000))"
		nf filter del $i
	done
}

# --- save and restore keep them all --------------------------------------------
test_save_restore() {
	local before
	mkdir -p "$CGT"/child "$CGT/$UNIT.service"
	nf filter add socket exe "$C1" obyte 1M >/dev/null
	nf filter add socket user nobody ibyte 2M action drop >/dev/null
	nf filter add socket cgroup "$CGT"/child iobyte 3M off >/dev/null
	nf filter add socket unit "$UNIT" period daily at 04:00 >/dev/null
	nf filter add socket exe "$BIN"/notyet --allow-missing >/dev/null
	round
	pair c1 "$C1" udp 10.77.0.2 $UDP
	release
	before=$(nf -j filter list)
	nf save counters > "$TMP"/saved
	check "save: one line per exe, user, cgroup, unit filter" eq \
		"$(grep -c '^filter add id [0-9]* socket \(exe\|user\|cgroup\|unit\) ' "$TMP"/saved)" 5
	check "save: a user by its uid" contains "$(cat "$TMP"/saved)" " socket user 65534 "
	nf unload
	nf load
	nf restore "$TMP"/saved
	check "save -> unload -> restore: identical filter list -j" eq "$(nf -j filter list)" "$before"
	nf restore /dev/null
}

# --- 7. bad input: exit 1, one line naming the token, nothing changed ----------
test_bad_input() {
	local before out rc line args token want ids id
	mkdir -p "$CGT"/child "$CGT/$UNIT.service"
	printf 'x\n' > "$TMP"/noexec && chmod 644 "$TMP"/noexec
	ids="$(nf filter add socket exe "$C1") $(nf filter add socket user nobody)"
	ids="$ids $(nf filter add socket cgroup "$CGT"/child) $(nf filter add socket unit "$UNIT")"
	bad_table <<-EOF
	filter add socket exe $BIN/nosuch|$BIN/nosuch
	filter add socket exe nosuch-$RUN_ID|nosuch-$RUN_ID
	filter add socket exe /etc/passwd|/etc/passwd|not an executable
	filter add socket exe $TMP/noexec|$TMP/noexec|not an executable
	filter add socket exe $BIN|$BIN|not an executable
	filter add socket exe|exe
	filter add socket exe $C1|$C1|already exists
	filter add socket exe $C1 obyte 1Q|1Q
	filter add socket user no-such-user-$RUN_ID|no-such-user-$RUN_ID
	filter add socket user|user
	filter add socket user nobody|nobody|already exists
	filter add socket user 65534|65534|already exists
	filter add socket cgroup $CGT/nosuch|$CGT/nosuch
	filter add socket cgroup $CG2|$CG2|is outside netfil's cgroup
	filter add socket cgroup /|/|outside netfil's cgroup
	filter add socket cgroup $CG2/none-$RUN_ID --allow-missing|none-$RUN_ID|outside netfil's cgroup
	filter add socket cgroup /none-$RUN_ID --allow-missing|none-$RUN_ID|outside netfil's cgroup
	filter add socket cgroup /tmp|/tmp
	filter add socket cgroup $CGT/cgroup.procs|$CGT/cgroup.procs
	filter add socket cgroup|cgroup
	filter add socket cgroup $CGT/child|$CGT/child|already exists
	filter add socket unit no-such-unit-$RUN_ID|no-such-unit-$RUN_ID
	filter add socket unit|unit
	filter add socket unit a/b|a/b
	filter add socket unit $UNIT|$UNIT|already exists
	filter add socket exe /tmp/a#b|/tmp/a#b
	filter add socket user nobody --allow-missing|--allow-missing
	filter add socket owner root|owner
	EOF
	out=$(nf -j filter add socket exe /etc/passwd 2>/dev/null)
	check "bad input -j: exit 1, the error as JSON" eq "$?/$(jget "$out" error)" "1/'/etc/passwd' is not an executable file"
	for id in $ids; do nf filter del $id; done
	check "bad input: all cleaned up" eq "$(nf filter list)" ""
}

main() {
	local t t0
	setup_cgroup || { log "cannot create test cgroup"; exit 1; }
	setup_net || { log "cannot create test namespaces"; exit 1; }
	nf load || { log "netfil load failed"; exit 1; }
	mkdir -m 755 "$BIN" && mkdir -m 1777 "$PUB" || exit 1
	cp "$NFT" "$C1" && cp "$NFT" "$C2" || exit 1
	printf '#!/bin/sh\necho $$ > "$1/cgroup.procs" || exit 1\nshift\nexec "$@"\n' > "$INCG"
	chmod 755 "$INCG"
	for t in ${TESTS:-test_exe_limit test_exe_links test_exe_replace test_exe_replace_netfild \
		test_user test_cgroup test_unit test_overlap test_save_restore test_bad_input}; do
		log "== $t"
		t0=$(date +%s%3N)
		$t
		log "   ($t: $(( $(date +%s%3N) - t0 )) ms)"
	done
	summary
}

main
