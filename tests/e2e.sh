#!/bin/bash
# End-to-end tests: real TCP and UDP traffic, IPv4 and IPv6, between network
# namespaces this script creates, through netfil loaded on a test cgroup.
# Every assertion is on bytes a peer really received or on netfil's
# counters after real traffic.  Usage: tests/e2e.sh (as root); NETFIL may
# name the CLI binary to test (tests/run.sh runs it with the ASan build).
set -u
. "$(dirname "$0")/lib.sh"

trap cleanup EXIT
trap 'exit 1' INT TERM
LIMIT=200000
BIG=2000000

add_pid_filter() { FID=$(nf filter add socket pid $CP "$@"); }

fshow() { nf -j filter show "$1"; }

# --- per-process upload limit, TCP and UDP, IPv4 and IPv6 ------------------
test_upload_limit() {
	local proto addr
	for proto in tcp udp; do
		for addr in 10.77.0.2 fd77::2; do
			up $proto $NS_B $addr $BIG add_pid_filter obyte $LIMIT
			limited "upload $proto $addr" $FID $LIMIT "$RECEIVED"
			check "upload $proto $addr: sender saw an error" one_of "$SENT_ERR" ECONNABORTED ECONNRESET EPIPE EPERM
			check "upload $proto $addr: error within a second" lt "$SENT_MS" 1000
			nf filter del $FID
		done
	done
}

# --- unrelated processes are not affected ---------------------------------
test_unrelated_process() {
	local other
	$A sleep 30 &
	other=$!
	FID=$(nf filter add socket pid $other obyte 1000)
	up tcp $NS_B 10.77.0.2 $BIG noop
	check "unrelated process: full transfer" eq "$RECEIVED" $BIG
	check "unrelated process: filter counted nothing" eq "$(jget "$(fshow $FID)" bytes.out)" 0
	nf filter del $FID
	kill $other
}

# --- a connection opened before netfil was loaded --------------------------
load_then_limit() {
	nf load
	add_pid_filter obyte $LIMIT
}
# as if netfil load took 1.5 s, as it can on a busy machine: the pre-load
# connection must still be there when the sender starts
slow_load_then_limit() {
	sleep 1.5
	load_then_limit
}
test_existing_connection() {
	local addr hook
	for addr in 10.77.0.2/load_then_limit fd77::2/load_then_limit \
		    10.77.0.2/slow_load_then_limit; do
		hook=${addr#*/}
		addr=${addr%/*}
		nf unload
		up tcp $NS_B $addr $BIG $hook
		check "pre-load connection $addr $hook: peer got at most the limit" le "$RECEIVED" $LIMIT
		check "pre-load connection $addr $hook: limit bit" le $((LIMIT / 2)) "$RECEIVED"
		check "pre-load connection $addr $hook: exceeded" eq "$(jget "$(fshow $FID)" exceeded.out)" true
		nf filter del $FID
	done
}

# --- tree filter covers a child started after the filter -------------------
test_tree_child() {
	local sh_pid sp j
	PORT=$((PORT + 1))
	rm -f "$TMP"/r1 "$TMP"/go && mkfifo "$TMP"/go
	nsenter --net=/run/netns/$NS_B "$NFT" sink tcp 10.77.0.2 $PORT --ready "$TMP"/r1 \
		--idle 700 > "$TMP"/sink.out &
	sp=$!
	wait_file "$TMP"/r1
	$A bash -c "read x < $TMP/go; $NFT send tcp 10.77.0.2 $PORT $BIG --timeout 2500 > $TMP/send.out; true" &
	sh_pid=$!
	FID=$(nf filter add socket tree $sh_pid obyte $LIMIT)
	echo go > "$TMP"/go
	wait $sh_pid $sp
	RECEIVED=$(field "$TMP"/sink.out received)
	j=$(fshow $FID)
	check "tree: child's upload limited" le "$RECEIVED" $LIMIT
	check "tree: child's upload did flow" le $((LIMIT / 2)) "$RECEIVED"
	check "tree: counted on the parent's filter" le $((LIMIT / 2)) "$(jget "$j" bytes.out)"
	check "tree: json names the tree" eq "$(jget "$j" tree)" $sh_pid
	nf filter del $FID
}

# --- an accepted socket inherits its listener's record ----------------------
test_accepted_inherits() {
	local sp
	PORT=$((PORT + 1))
	rm -f "$TMP"/r1
	$A "$NFT" source tcp 10.77.0.1 $PORT $BIG --ready "$TMP"/r1 --idle 700 > "$TMP"/source.out &
	sp=$!
	wait_file "$TMP"/r1
	FID=$(nf filter add socket pid $sp obyte $LIMIT)
	in_b "$NFT" fetch tcp 10.77.0.1 $PORT --idle 700 > "$TMP"/fetch.out
	wait $sp
	RECEIVED=$(field "$TMP"/fetch.out received)
	check "accepted socket: server's upload limited" le "$RECEIVED" $LIMIT
	check "accepted socket: flowed" le $((LIMIT / 2)) "$RECEIVED"
	check "accepted socket: counted on the server's filter" eq "$(jget "$(fshow $FID)" exceeded.out)" true
	nf filter del $FID
}

# --- overlapping socket filters: all apply, none double-counts -------------
test_overlap() {
	local sh_pid sp child jt jp
	PORT=$((PORT + 1))
	rm -f "$TMP"/r1 "$TMP"/r2 "$TMP"/go && mkfifo "$TMP"/go
	nsenter --net=/run/netns/$NS_B "$NFT" sink tcp 10.77.0.2 $PORT --ready "$TMP"/r1 \
		--idle 700 > "$TMP"/sink.out &
	sp=$!
	wait_file "$TMP"/r1
	$A bash -c "$NFT send tcp 10.77.0.2 $PORT $BIG --timeout 2500 --wait $TMP/go --ready $TMP/r2 > $TMP/send.out; true" &
	sh_pid=$!
	wait_file "$TMP"/r2
	child=$(pgrep -P $sh_pid -x nftraffic)
	TREE=$(nf filter add socket tree $sh_pid obyte $((LIMIT * 2)))
	FID=$(nf filter add socket pid $child obyte $LIMIT)
	echo go > "$TMP"/go
	wait $sh_pid $sp
	jt=$(fshow $TREE)
	jp=$(fshow $FID)
	check "overlap: the tighter (pid) limit holds" le "$(field "$TMP"/sink.out received)" $LIMIT
	check "overlap: pid filter exceeded" eq "$(jget "$jp" exceeded.out)" true
	check "overlap: tree filter counted the same bytes once" eq "$(jget "$jt" bytes.out)" "$(jget "$jp" bytes.out)"
	check "overlap: tree filter not exceeded" eq "$(jget "$jt" exceeded.out)" false
	nf filter del $FID
	nf filter del $TREE
}

# --- an IP filter added or deleted while a connection is open governs its
# next packet (no copy of the match may outlive a change) --
add_host_limit() { F32=$(nf filter add ip 10.77.0.2 obyte $LIMIT action drop); }
del_host_limit() { nf filter del $F32; }
test_ip_midflow() {
	local f24 j
	f24=$(nf filter add ip 10.77.0.0/24 obyte 1T)
	up tcp $NS_B 10.77.0.2 $BIG add_host_limit
	check "midflow add: the open connection is held to the new /32" le "$RECEIVED" $LIMIT
	check "midflow add: the /32 is exceeded" eq "$(jget "$(fshow $F32)" exceeded.out)" true
	j=$(fshow $f24)
	# (the handshake, and whatever earlier tests' closing connections send)
	check "midflow add: the /24 did not count the transfer" lt "$(jget "$j" bytes.out)" $((LIMIT / 10))
	nf filter del $F32
	nf filter reset $f24
	add_host_limit
	up tcp $NS_B 10.77.0.2 $BIG del_host_limit
	check "midflow del: the open connection is free of the deleted /32" eq "$RECEIVED" $BIG
	check "midflow del: the /24 counted it" le $BIG "$(jget "$(fshow $f24)" bytes.out)"
	nf filter del $f24
}

# --- each socket a listener accepts counts against its own peer's IP
# filter, not one its listener or an earlier child met --
test_ip_accepted_peers() {
	local f2 f3 sp
	f2=$(nf filter add ip 10.77.0.2 obyte $LIMIT action drop)
	f3=$(nf filter add ip 10.77.0.3 obyte 1T)
	PORT=$((PORT + 1))
	rm -f "$TMP"/r1
	$A "$NFT" source tcp 10.77.0.1 $PORT $BIG --clients 2 --ready "$TMP"/r1 --idle 700 \
		> "$TMP"/source.out &
	sp=$!
	wait_file "$TMP"/r1
	in_b "$NFT" fetch tcp 10.77.0.1 $PORT --from 10.77.0.2 --idle 700 > "$TMP"/fetch2.out
	in_b "$NFT" fetch tcp 10.77.0.1 $PORT --from 10.77.0.3 --idle 700 > "$TMP"/fetch3.out
	wait $sp
	check "accepted peers: the first, from .2, held to its filter" le \
		"$(field "$TMP"/fetch2.out received)" $LIMIT
	check "accepted peers: the first flowed" le $((LIMIT / 2)) "$(field "$TMP"/fetch2.out received)"
	check "accepted peers: the second, from .3, not held by .2's filter" eq \
		"$(field "$TMP"/fetch3.out received)" $BIG
	check "accepted peers: .3's filter counted the second" le $BIG "$(jget "$(fshow $f3)" bytes.out)"
	check "accepted peers: .2's filter within its limit" le "$(jget "$(fshow $f2)" bytes.out)" $LIMIT
	# what the first connection still retransmits reaches .2 and ends
	# in a reset, counted by no later test's filter
	nf filter del $f2
	check "accepted peers: the connections ended" port_quiet $PORT
	nf filter del $f3
}

# --- a connected UDP socket connected anew counts against its new peer's
# IP filter, not the old peer's --
test_ip_udp_reconnect() {
	local f2 f3 s2 s3 n=20 size=972
	f2=$(nf filter add ip 10.77.0.2 obyte 1T)
	f3=$(nf filter add ip 10.77.0.3 obyte 1T)
	PORT=$((PORT + 1))
	rm -f "$TMP"/r1 "$TMP"/r2 "$TMP"/done
	in_b "$NFT" sink udp 10.77.0.2 $PORT --ready "$TMP"/r1 --idle 700 --done "$TMP"/done \
		> "$TMP"/sink2.out &
	s2=$!
	in_b "$NFT" sink udp 10.77.0.3 $PORT --ready "$TMP"/r2 --idle 700 --done "$TMP"/done \
		> "$TMP"/sink3.out &
	s3=$!
	wait_file "$TMP"/r1
	wait_file "$TMP"/r2
	$A python3 -c 'import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for a in ("10.77.0.2", "10.77.0.3"):
    s.connect((a, int(sys.argv[1])))
    for _ in range(int(sys.argv[2])):
        s.send(b"x" * int(sys.argv[3]))' $PORT $n $size
	touch "$TMP"/done
	wait $s2 $s3
	check "udp reconnect: the first peer got its datagrams" eq "$(field "$TMP"/sink2.out received)" $((n * size))
	check "udp reconnect: the second peer got its datagrams" eq "$(field "$TMP"/sink3.out received)" $((n * size))
	# IP bytes: payload + 8 (UDP) + 20 (IPv4); a stray late packet of an
	# earlier test's TCP connection to .2 is far below the slack
	check "udp reconnect: the first peer's filter counted the first" le $((n * (size + 28))) \
		"$(jget "$(fshow $f2)" bytes.out)"
	check "udp reconnect: ... and not the second" lt "$(jget "$(fshow $f2)" bytes.out)" $((n * (size + 28) * 3 / 2))
	check "udp reconnect: the second peer's filter counted the second" le $((n * (size + 28))) \
		"$(jget "$(fshow $f3)" bytes.out)"
	nf filter del $f2
	nf filter del $f3
}

# --- concurrent senders on both cores never push a counter past its limit --
test_concurrent() {
	local i pids="" sum=0 j
	FID=$(nf filter add ip 10.77.0.2 obyte $LIMIT action drop)
	rm -f "$TMP"/go && mkfifo "$TMP"/go
	for i in 1 2 3 4; do
		PORT=$((PORT + 1))
		rm -f "$TMP"/r1 "$TMP"/r2
		nsenter --net=/run/netns/$NS_B "$NFT" sink tcp 10.77.0.2 $PORT --ready "$TMP"/r1 \
			--idle 700 > "$TMP"/sink$i.out &
		pids="$pids $!"
		wait_file "$TMP"/r1
		$A "$NFT" send tcp 10.77.0.2 $PORT $BIG --timeout 2000 --wait "$TMP"/go \
			--ready "$TMP"/r2 > /dev/null &
		pids="$pids $!"
		wait_file "$TMP"/r2
	done
	echo go > "$TMP"/go
	wait $pids
	for i in 1 2 3 4; do sum=$((sum + $(field "$TMP"/sink$i.out received))); done
	j=$(fshow $FID)
	check "concurrent: admitted <= limit" le "$(jget "$j" bytes.out)" $LIMIT
	check "concurrent: all peers together got <= limit" le $sum $LIMIT
	check "concurrent: exceeded" eq "$(jget "$j" exceeded.out)" true
	nf filter del $FID
}

# --- per-address download limit, and other addresses unaffected -----------
test_address_download() {
	local addr other
	for pair in "10.77.0.2 10.77.0.3" "fd77::2 fd77::3"; do
		set -- $pair
		addr=$1 other=$2
		FID=$(nf filter add ip $addr ibyte $LIMIT action drop)
		down $NS_B $addr $BIG
		check "download from $addr: limited" le "$RECEIVED" $LIMIT
		check "download from $addr: flowed" le $((LIMIT / 2)) "$RECEIVED"
		check "download from $addr: exceeded in" eq "$(jget "$(fshow $FID)" exceeded.in)" true
		down $NS_B $other $BIG
		check "download from $other: unaffected" eq "$RECEIVED" $BIG
		nf filter del $FID
	done
}

# --- per-interface total limit, counted on the far side -------------------
test_interface_total() {
	local j
	FID=$(in_b "$NETFIL" filter add interface vba iobyte $LIMIT)
	# the classid tells the program its filter: no lookup per packet
	check "interface: tc filter carries the slot and Ethernet's header" eq \
		"$(in_b tc filter show dev vba ingress | grep -Ec 'handle 0x6e66 flowid 6e66:[4-7]')" 1
	up tcp $NS_B 10.77.0.2 $BIG noop
	j=$(in_b "$NETFIL" -j filter show $FID)
	check "interface: peer got at most the limit" le "$RECEIVED" $LIMIT
	check "interface: flowed" le $((LIMIT / 2)) "$RECEIVED"
	check "interface: in+out within iobyte" le $(( $(jget "$j" bytes.in) + $(jget "$j" bytes.out) )) $LIMIT
	check "interface: exceeded" eq "$(jget "$j" exceeded.in)" true
	check "interface: sender stalls (drop only)" eq "$SENT_ERR" timeout
	up tcp $NS_C 10.78.0.2 $BIG noop
	check "interface: other interface unaffected" eq "$RECEIVED" $BIG
	in_b "$NETFIL" filter del $FID
	check "interface: tc filter removed on del" eq "$(in_b tc filter show dev vba ingress)" ""
}

# --- an interface without a link-layer header (tun) ---------------------------
# Its classid says "strip nothing": every datagram counts its whole IP length.
test_interface_l3() {
	local j n=5 size=100
	in_a ip tuntap add dev nftun0 mode tun || { check "l3 interface: tun made" eq 1 0; return; }
	in_a sysctl -qw net.ipv6.conf.nftun0.disable_ipv6=1
	in_a ip addr add 10.79.0.1/24 dev nftun0
	in_a ip link set nftun0 up
	FID=$(in_a "$NETFIL" filter add interface nftun0 obyte $LIMIT)
	check "l3 interface: tc filter carries the slot, no header" eq \
		"$(in_a tc filter show dev nftun0 egress | grep -Ec 'handle 0x6e66 flowid 6e66:[89ab]')" 1
	in_a python3 -c 'import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for _ in range(int(sys.argv[1])):
    s.sendto(b"x" * int(sys.argv[2]), ("10.79.0.2", 9))' $n $size
	j=$(in_a "$NETFIL" -j filter show $FID)
	check "l3 interface: every datagram's IP length, no header taken off" eq \
		"$(jget "$j" bytes.out)" $((n * (size + 28)))
	check "l3 interface: packets" eq "$(jget "$j" packets.out)" $n
	in_a "$NETFIL" filter del $FID
	in_a ip link del nftun0
}

# --- interface filters count forwarded traffic ---------------------------------
# A routes between B and C; traffic from C to B crosses A's vab only as
# forwarded packets, which no socket of A ever sees.
test_interface_forwarded() {
	local j
	nsenter --net=/run/netns/$NS_A sysctl -qw net.ipv4.ip_forward=1
	ip -n $NS_B route add 10.78.0.0/24 via 10.77.0.1
	ip -n $NS_C route add 10.77.0.0/24 via 10.78.0.1
	FID=$(in_a "$NETFIL" filter add interface vab obyte $LIMIT)
	start_sink $NS_B 10.77.0.2
	in_c "$NFT" send tcp 10.77.0.2 $PORT $BIG --timeout 2500 > "$TMP"/send.out
	wait $SP
	j=$(in_a "$NETFIL" -j filter show $FID)
	check "forwarded: limited on the router's interface" le "$(field "$TMP"/sink.out received)" $LIMIT
	check "forwarded: flowed" le $((LIMIT / 2)) "$(field "$TMP"/sink.out received)"
	check "forwarded: counted" eq "$(jget "$j" exceeded.out)" true
	in_a "$NETFIL" filter del $FID
	ip -n $NS_B route del 10.78.0.0/24
	ip -n $NS_C route del 10.77.0.0/24
	nsenter --net=/run/netns/$NS_A sysctl -qw net.ipv4.ip_forward=0
}

# --- off, on, reset, del ----------------------------------------------------
test_off_on_reset_del() {
	local j before
	FID=$(nf filter add ip 10.77.0.2 obyte $LIMIT)
	up tcp $NS_B 10.77.0.2 $((LIMIT / 4)) noop
	nf filter set $FID off
	# read once off: the last ACKs of the transfer may still be in flight
	before=$(jget "$(fshow $FID)" bytes.out)
	check "off/on: counted while on" le $((LIMIT / 4)) "$before"
	up tcp $NS_B 10.77.0.2 $BIG noop
	check "off: not blocked" eq "$RECEIVED" $BIG
	check "off: nothing counted" eq "$(jget "$(fshow $FID)" bytes.out)" "$before"
	# else a retransmission of the off transfer may come after "on"
	check "off: its connection ended" port_quiet $PORT
	nf filter set $FID on
	check "on: counters kept" eq "$(jget "$(fshow $FID)" bytes.out)" "$before"
	up tcp $NS_B 10.77.0.2 $BIG noop
	check "on: blocks again" le "$RECEIVED" $LIMIT
	nf filter reset $FID
	j=$(fshow $FID)
	check "reset: counters zero" eq "$(jget "$j" bytes.out)/$(jget "$j" dropped.out)" 0/0
	check "reset: exceeded cleared" eq "$(jget "$j" exceeded.out)" false
	up tcp $NS_B 10.77.0.2 $((LIMIT / 4)) noop
	check "reset: traffic flows again" eq "$RECEIVED" $((LIMIT / 4))
	nf filter del $FID
	check "del: gone" eq "$(nf filter show $FID 2>&1 >/dev/null)" "netfil: no filter with id '$FID'"
	up tcp $NS_B 10.77.0.2 $BIG noop
	check "del: unlimited again" eq "$RECEIVED" $BIG
}

# --- reject vs drop --------------------------------------------------------
test_reject_vs_drop() {
	FID=$(nf filter add ip 10.77.0.2 obyte $LIMIT action reject)
	up tcp $NS_B 10.77.0.2 $BIG noop
	check "reject: sender error" one_of "$SENT_ERR" ECONNABORTED ECONNRESET EPIPE
	check "reject: within a second" lt "$SENT_MS" 1000
	check "reject: peer got a reset" eq "$(field "$TMP"/sink.out err)" ECONNRESET
	up tcp $NS_B 10.77.0.2 1000 noop
	check "reject: new connect refused at once" eq "$(field "$TMP"/send.out err)" EPERM
	up udp $NS_B 10.77.0.2 1000 noop
	check "reject: UDP send refused at once" eq "$(field "$TMP"/send.out err)" EPERM
	nf filter set $FID action drop
	up tcp $NS_B 10.77.0.2 1000 noop
	check "drop: connect is not refused, it stalls" eq "$SENT_ERR" timeout
	check "drop: nothing arrived" eq "$RECEIVED" 0
	nf filter del $FID
	FID=$(nf filter add ip fd77::2 obyte $LIMIT action drop)
	up tcp $NS_B fd77::2 $BIG noop
	check "drop: sender stalls, no error" eq "$SENT_ERR" timeout
	check "drop: peer got at most the limit" le "$RECEIVED" $LIMIT
	nf filter del $FID
}

# --- netfil run --------------------------------------------------------------
test_run() {
	local rc sp
	PORT=$((PORT + 1))
	rm -f "$TMP"/r1
	nsenter --net=/run/netns/$NS_B "$NFT" sink tcp 10.77.0.2 $PORT --ready "$TMP"/r1 \
		--idle 700 > "$TMP"/sink.out &
	sp=$!
	wait_file "$TMP"/r1
	nf run obyte $LIMIT -- $A "$NFT" send tcp 10.77.0.2 $PORT $BIG --timeout 2500 \
		> "$TMP"/send.out 2> "$TMP"/run.err
	rc=$?
	wait $sp
	RECEIVED=$(field "$TMP"/sink.out received)
	check "run: limited" le "$RECEIVED" $LIMIT
	check "run: flowed" le $((LIMIT / 2)) "$RECEIVED"
	check "run: summary on stderr" contains "$(cat "$TMP"/run.err)" "exceeded out"
	check "run: exit status of the command" eq $rc 0
	nf run -- sh -c 'exit 7' 2>/dev/null
	check "run: propagates exit 7" eq $? 7
	check "run: filter removed afterwards" eq "$(nf filter list)" ""
}

# --- sysctl ------------------------------------------------------------------
test_sysctl() {
	local out
	out=$(nf sysctl net.netfil.ip.addr=fd77::2 net.netfil.ip.obyte=1M)
	check "sysctl: echoes what it set" contains "$out" "net.netfil.ip.obyte = 1048576"
	check "sysctl: created off, as the original" eq "$(nf sysctl net.netfil.ip.status)" "net.netfil.ip.status = 0"
	nf sysctl net.netfil.ip.status=1 >/dev/null
	check "sysctl: status on" eq "$(nf sysctl net.netfil.ip.status)" "net.netfil.ip.status = 1"
	check "sysctl: ipv6 address round trip" eq "$(nf sysctl net.netfil.ip.addr)" "net.netfil.ip.addr = fd77::2"
	up tcp $NS_B fd77::2 $((1024 * 1024 * 2)) noop
	check "sysctl: limit enforced" le "$RECEIVED" 1048576
	check "sysctl: read-only exceeded key" eq "$(nf sysctl net.netfil.ip.exceeded_out)" "net.netfil.ip.exceeded_out = 1"
	nf sysctl net.netfil.ip.addr=10.77.0.2/32 >/dev/null
	check "sysctl: address changed in place" eq "$(nf sysctl net.netfil.ip.addr)" "net.netfil.ip.addr = 10.77.0.2"
	in_b "$NETFIL" sysctl net.netfil.interface.list=vba,lo net.netfil.interface.iobyte=5G >/dev/null
	check "sysctl: interface list" eq "$(nf sysctl net.netfil.interface.list)" "net.netfil.interface.list = vba,lo"
	nf sysctl net.netfil.socket.pid=$$ net.netfil.socket.ibyte=1K >/dev/null
	check "sysctl: socket pid" eq "$(nf sysctl net.netfil.socket.pid)" "net.netfil.socket.pid = $$"
	out=$(nf sysctl -a)
	check "sysctl -a: every key" eq "$(echo "$out" | wc -l)" 36
	check "sysctl -a: key = value" eq "$(echo "$out" | grep -vc '^net\.netfil\.[a-z]*\.[a-z_]* = ')" 0
	check "sysctl: filters visible in list" eq "$(nf -j filter list | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')" 3
	for id in $(nf -j filter list | python3 -c 'import json,sys; print(" ".join(str(f["id"]) for f in json.load(sys.stdin)))'); do
		in_b "$NETFIL" filter del $id
	done
}

# --- privilege ---------------------------------------------------------------
test_privilege() {
	local before out rc
	FID=$(nf filter add ip 10.77.0.9 obyte 1000)
	before=$(nf -j filter list)
	cp "$NETFIL" "$TMP"/netfil-unpriv
	out=$(setpriv --reuid=nobody --regid=nogroup --clear-groups --inh-caps=-all \
		"$TMP"/netfil-unpriv filter set $FID obyte 0 2>&1)
	rc=$?
	check "nobody: refused with exit 1" eq $rc 1
	check "nobody: clear message" contains "$out" "permission denied"
	check "nobody: one line" eq "$(echo "$out" | wc -l)" 1
	check "nobody: nothing changed" eq "$(nf -j filter list)" "$before"
	out=$(setpriv --reuid=nobody --regid=nogroup --clear-groups --inh-caps=-all \
		"$TMP"/netfil-unpriv unload 2>&1)
	check "nobody: cannot unload" eq "$?/$(nf -j filter list)" "1/$before"
	nf filter del $FID
}

# --- bad input: exit 1, one line naming the token, nothing changed ----------
test_bad_input() {
	local before out rc line args token
	FID=$(nf filter add ip 10.77.0.8 obyte 1000)
	DUP_PID=$$
	nf filter add socket pid $DUP_PID >/dev/null
	bad_table <<-EOF
	filter add socket pid 999999999|999999999
	filter add socket pid 4194000|4194000
	filter add socket pid abc|abc
	filter add socket tree|PID
	filter add socket|pid
	filter add ip 10.0.0.300|10.0.0.300
	filter add ip 10.0.0.0/33|10.0.0.0/33
	filter add ip fd00::/129|fd00::/129
	filter add ip fd00::zz|fd00::zz
	filter add ip|PREFIX
	filter add interface nosuchif0|nosuchif0
	filter add interface lo,nosuchif1|nosuchif1
	filter add ip 10.1.1.1 obyte 10Q|10Q
	filter add ip 10.1.1.1 obyte -5|-5
	filter add ip 10.1.1.1 obyte 1.5M|1.5M
	filter add ip 10.1.1.1 obyte 99999999999999999999|99999999999999999999
	filter add ip 10.1.1.1 obyte 20000000T|20000000T
	filter add ip 10.1.1.1 obyte|obyte
	filter add ip 10.1.1.1 action maybe|maybe
	filter add ip 10.1.1.1 colour red|colour
	filter add ip 10.1.1.1 period fortnightly|fortnightly
	filter add ip 10.1.1.1 period monthly day 32|32
	filter add ip 10.1.1.1 period daily at 25:00|25:00
	roll now yesterday|yesterday
	filter add ip 10.77.0.8|10.77.0.8
	filter add socket pid $DUP_PID|$DUP_PID
	filter add mac 00:11|mac
	filter show 4242|4242
	filter set 4242 on|4242
	filter del 4242|4242
	filter reset 4242|4242
	filter del x1|x1
	filter set $FID obyte 1Z|1Z
	filter set $FID|missing
	filter frob|frob
	frob|frob
	sysctl net.netfil.ip.nosuch=1|net.netfil.ip.nosuch
	sysctl net.netfil.ip.ibyte=12parsecs|12parsecs
	sysctl net.netfil.ip.status=2|2
	sysctl net.netfil.ip.bytes_in=5|net.netfil.ip.bytes_in
	sysctl net.netfil.ip.addr=1.2.3|1.2.3
	sysctl net.netfil.socket.pid=999999999|999999999
	sysctl net.netfil.interface.list=nosuchif2|nosuchif2
	sysctl net.netfil.ip.obyte=1K net.netfil.ip.status=maybe|maybe
	events type bogus|bogus
	events pid x1|x1
	events filter|filter
	--cgroup /nonexistent-cg load|/nonexistent-cg
	run obyte 1X -- true|1X
	run obyte 1K true|true
	EOF
	for id in $(nf -j filter list | python3 -c 'import json,sys; print(" ".join(str(f["id"]) for f in json.load(sys.stdin)))'); do
		nf filter del $id
	done
}

# --- many filters at once ------------------------------------------------------
test_many_filters() {
	local i j
	for i in $(seq 1 300); do
		nf filter add ip 10.$((100 + i / 250)).$((i % 250)).0/24 >/dev/null || break
	done
	FID=$(nf filter add ip 10.77.0.0/24 obyte $LIMIT)
	for i in $(seq 1 20); do
		nf filter add ip fd99:$i::/32 >/dev/null
	done
	up tcp $NS_B 10.77.0.2 $BIG noop
	j=$(fshow $FID)
	check "many filters: the matching one limits" le "$RECEIVED" $LIMIT
	check "many filters: exceeded" eq "$(jget "$j" exceeded.out)" true
	check "many filters: listed" eq "$(nf -j filter list | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')" 321
	for id in $(nf -j filter list | python3 -c 'import json,sys; print(" ".join(str(f["id"]) for f in json.load(sys.stdin)))'); do
		nf filter del $id
	done
}

# --- limits hold with no netfil process alive --------------------------------
reaper_pid() { nf -j status | python3 -c 'import json,sys; print(json.load(sys.stdin)["reaper_pid"])'; }
reaper_gone() { [ "$(reaper_pid)" = 0 ]; }
test_no_process_needed() {
	local rp
	rp=$(reaper_pid)
	FID=$(nf filter add ip 10.77.0.2 obyte $LIMIT action drop)
	kill -9 "$rp"
	check "crash: status sees the reaper gone" eventually reaper_gone
	up tcp $NS_B 10.77.0.2 $BIG noop
	check "crash: limit still enforced" le "$RECEIVED" $LIMIT
	check "crash: and counted" eq "$(jget "$(fshow $FID)" exceeded.out)" true
	nf load
	check "crash: load restarts the reaper" lt 0 "$(reaper_pid)"
	nf filter del $FID
}

# --- batch: many commands in one process, the failing line named ----------
test_batch() {
	local out
	printf 'filter add ip 10.91.0.0/16 obyte 1M  # a comment\n\nfilter add ip fd91::/32\n' > "$TMP"/ok.batch
	nf batch "$TMP"/ok.batch >/dev/null
	check "batch: applied" eq "$(nf -j filter list | python3 -c 'import json,sys; print(" ".join(f["prefix"] for f in json.load(sys.stdin)))')" "10.91.0.0/16 fd91::/32"
	printf 'filter add ip 10.92.0.0/16\nfilter add ip 10.92.0.0/99\nfilter add ip 10.93.0.0/16\n' > "$TMP"/bad.batch
	out=$(nf batch "$TMP"/bad.batch 2>&1 >/dev/null)
	check "batch: exit 1 at the bad line" eq "$?" 1
	check "batch: names the token" contains "$out" "10.92.0.0/99"
	check "batch: names file and line" contains "$out" "bad.batch:2"
	check "batch: stops there" eq "$(nf -j filter list | grep -c 10.93)" 0
	for id in $(nf -j filter list | python3 -c 'import json,sys; print(" ".join(str(f["id"]) for f in json.load(sys.stdin)))'); do
		nf filter del $id
	done
}

# --- sockets outside the attach cgroup are not netfil's ---------------------
# A reject filter is exceeded by a client of the test cgroup; a connection to
# the same address from a process outside it must neither be counted nor
# aborted by the reaper (which walks every TCP socket of the machine).
test_outside_cgroup_untouched() {
	local sp op
	PORT=$((PORT + 1))
	rm -f "$TMP"/r1 "$TMP"/r3 "$TMP"/go2 && mkfifo "$TMP"/go2
	nsenter --net=/run/netns/$NS_B "$NFT" sink tcp 10.77.0.2 $PORT --ready "$TMP"/r1 \
		--idle 700 > "$TMP"/outside.out &
	sp=$!
	wait_file "$TMP"/r1
	bash -c "echo \$\$ > $CG2/cgroup.procs && exec nsenter --net=/run/netns/$NS_A $NFT send tcp 10.77.0.2 $PORT $BIG --wait $TMP/go2 --ready $TMP/r3 --timeout 2500 > /dev/null" &
	op=$!
	wait_file "$TMP"/r3
	FID=$(nf filter add ip 10.77.0.2 obyte $LIMIT action reject)
	up tcp $NS_B 10.77.0.2 $BIG noop
	check "outside: the inside client was aborted" one_of "$SENT_ERR" ECONNABORTED ECONNRESET EPIPE
	echo go > "$TMP"/go2
	wait $op $sp
	check "outside: its connection survived the reaper, unlimited" eq "$(field "$TMP"/outside.out received)" $BIG
	nf filter del $FID
}

# --- the event stream --------------------------------------------------------
subscribers() { nf -j status | python3 -c 'import json,sys; print(json.load(sys.stdin)["subscribers"])'; }
has_subscribers() { [ "$(subscribers)" -ge "$1" ]; }

# ev_start NAME [SELECTORS]: a subscriber writing JSON lines to $TMP/NAME.ev;
# returns once it is subscribed.
ev_start() {
	local name=$1 before
	shift
	before=$(subscribers)
	"$NETFIL" -j events "$@" > "$TMP/$name.ev" &
	EVP=$!
	eventually has_subscribers $((before + 1))
}
ev_stop() { kill -INT "$1"; wait "$1"; }
ev() { python3 "$ROOT"/tests/events.py "$@"; }

test_events_flows() {
	local proto addr fam p1 p2
	for proto in tcp udp; do
		for addr in 10.77.0.2 fd77::2; do
			fam=ipv4
			[ "$addr" = fd77::2 ] && fam=ipv6
			ev_start flow
			up $proto $NS_B $addr 100000 noop
			p1=$CP p2=$SP
			eventually ev "$TMP"/flow.ev has-close $p1
			eventually ev "$TMP"/flow.ev has-close $p2
			ev_stop $EVP
			check "events $proto $fam: client socket/connect/close, summary = bytes sent" \
				ev "$TMP"/flow.ev flow $p1 $proto $fam $addr $PORT 100000 client
			check "events $proto $fam: server socket/bind/.../close, summary = bytes received" \
				ev "$TMP"/flow.ev flow $p2 $proto $fam $addr $PORT 100000 server
		done
	done
}

closes_named() { [ "$(ev "$TMP"/exc.ev count close "filters=[$1]")" -gt 0 ] 2>/dev/null; }

test_events_exceeded_once() {
	local j
	ev_start exc
	FID=$(nf filter add ip 10.77.0.2 obyte $LIMIT action drop)
	# one flow under the limit first: it closes cleanly, so its summary
	# comes at once (the flows cut by the drop end when TCP gives up)
	up tcp $NS_B 10.77.0.2 1000 noop
	up tcp $NS_B 10.77.0.2 $BIG noop
	up tcp $NS_B 10.77.0.2 $BIG noop
	check "exceeded: once for one crossing" eq "$(ev "$TMP"/exc.ev count exceeded filter=$FID)" 1
	nf filter reset $FID
	up tcp $NS_B 10.77.0.2 $BIG noop
	j=$(fshow $FID)
	nf filter set $FID action reject
	up tcp $NS_B 10.77.0.2 1000 noop
	# a summary comes when its socket is done, which may be after the
	# transfer returns (slower under ASan): wait for one before stopping
	eventually closes_named $FID
	nf filter del $FID
	ev_stop $EVP
	check "exceeded: again after a reset, once" eq "$(ev "$TMP"/exc.ev count exceeded filter=$FID)" 2
	check "exceeded: names the limit" eq "$(ev "$TMP"/exc.ev count exceeded filter=$FID limit=obyte limit_bytes=$LIMIT dir=out)" 2
	check "exceeded: admitted within the limit" le "$(jget "$j" bytes.out)" $LIMIT
	check "filter events: add, reset, change, del" eq "$(for op in add reset change del; do ev "$TMP"/exc.ev count filter filter=$FID op=$op; done | tr -d '\n')" 1111
	check "connect refused, naming the filter" eq "$(ev "$TMP"/exc.ev count connect verdict=refused filter=$FID)" 1
	check "close summaries name the filter they were counted against" lt 0 "$(ev "$TMP"/exc.ev count close "filters=[$FID]")"
}

test_events_four_subscribers() {
	local i pids="" ref
	for i in 1 2 3 4; do ev_start sub$i; pids="$pids $EVP"; done
	up tcp $NS_B 10.77.0.2 50000 noop
	for i in 1 2 3 4; do eventually ev "$TMP"/sub$i.ev has-close $SP; done
	for p in $pids; do ev_stop $p; done
	ref=$(ev "$TMP"/sub1.ev keys $CP $SP)
	check "4 subscribers: the first saw the flow" lt 4 "$(echo "$ref" | wc -l)"
	for i in 2 3 4; do
		check "4 subscribers: subscriber $i saw every event" eq "$(ev "$TMP"/sub$i.ev keys $CP $SP)" "$ref"
	done
}

test_events_slow_subscriber() {
	local stopped out rate
	ev_start slow
	stopped=$EVP
	kill -STOP $stopped
	out=$($A "$ROOT"/build/connrate client 10.77.0.2 5300 --seconds 1.5 --workers 2)
	rate=$(echo "$out" | sed -n 's/.*connections=\([0-9]*\).*/\1/p')
	check "slow subscriber: traffic never stalls" lt 2000 "$rate"
	check "slow subscriber: loss is counted" lt 0 "$(nf -j status | python3 -c 'import json,sys; print(json.load(sys.stdin)["events_lost"])')"
	kill -CONT $stopped
	ev_stop $stopped
	check "slow subscriber: loss shows in its stream" lt 0 "$(ev "$TMP"/slow.ev lost)"
}

test_event_client_example() {
	"$ROOT"/build/event-client 3 > "$TMP"/example.out &
	EVP=$!
	eventually has_subscribers 1
	up tcp $NS_B 10.77.0.2 1000 noop
	wait $EVP
	check "example client: subscribed and printed 3 events" eq "$(grep -c '^\(socket\|connect\|close\|bind\|listen\|accept\) ' "$TMP"/example.out)" 3
}

# --- save and restore ----------------------------------------------------------
test_save_restore() {
	local before after out sl n
	$A sleep 60 &
	sl=$!
	in_a "$NETFIL" filter add ip 10.77.0.2 obyte $LIMIT >/dev/null
	in_a "$NETFIL" filter add ip fd77::/64 ibyte 5M action drop off >/dev/null
	in_a "$NETFIL" filter add socket pid $sl obyte 1G >/dev/null
	in_a "$NETFIL" filter add socket tree $$ iobyte 1T >/dev/null
	# off: a stray neighbour probe on vab between save and compare would
	# make the lists differ
	in_a "$NETFIL" filter add interface vab,vac iobyte 10G off >/dev/null
	up tcp $NS_B 10.77.0.2 $BIG noop
	before=$(in_a "$NETFIL" -j filter list)
	in_a "$NETFIL" save counters > "$TMP"/saved
	check "save: one line per filter and its counters" eq "$(grep -c '^filter add id\|^counters' "$TMP"/saved)" 10
	nf unload
	nf load
	in_a "$NETFIL" restore "$TMP"/saved
	after=$(in_a "$NETFIL" -j filter list)
	check "save -> unload -> restore: identical filter list -j" eq "$after" "$before"
	up tcp $NS_B 10.77.0.2 1000 noop
	check "restore: the exceeded filter still refuses" eq "$(field "$TMP"/send.out err)" EPERM
	before=$(in_a "$NETFIL" -j filter list)
	n=$(grep -n 'ibyte 5242880' "$TMP"/saved | cut -d: -f1)
	sed "${n}s/ibyte 5242880/ibyte 5Q/" "$TMP"/saved > "$TMP"/bad
	out=$(in_a "$NETFIL" restore "$TMP"/bad 2>&1)
	check "restore: bad line -> exit 1" eq $? 1
	check "restore: the error names file:line and the token" contains "$out" "$TMP/bad:$n: invalid size '5Q'"
	check "restore: one line" eq "$(echo "$out" | wc -l)" 1
	check "restore: nothing changed" eq "$(in_a "$NETFIL" -j filter list)" "$before"
	printf 'filter add id 9 ip 10.9.9.9\n' | in_a "$NETFIL" restore -
	check "restore -: replaces the whole configuration" eq "$(in_a "$NETFIL" -j filter list | python3 -c 'import json,sys; print([f["id"] for f in json.load(sys.stdin)])')" "[9]"
	in_a "$NETFIL" filter del 9
	kill $sl
}

# --- restore is all or nothing, even under kill -9 ---------------------------
# txn_active: the journal header says a change is under way (lib/txn.c)
txn_active() {
	bpftool -j map lookup pinned "$NETFIL_PIN_DIR"/nf_txn key 0xff 0xff 0xff 0xff 2>/dev/null |
		python3 -c 'import json,sys; print(int(json.load(sys.stdin)["value"][4], 16))' 2>/dev/null ||
		echo 0
}
# summary of the configuration: count, and the first filter's id and counters
config_of() {
	nf -j filter list | python3 -c 'import json,sys
l=json.load(sys.stdin)
print(len(l), l[0]["id"], l[0]["bytes"]["in"], l[0]["bytes"]["out"], l[-1]["id"]) if l else print(0)'
}
test_restore_crash() {
	local i t0 ms at mid=0 kills=0 got old new
	printf '%s\n' 'filter add id 1 ip 10.1.0.0/16 obyte 1M' \
		'counters 1 bytes-in 12345 bytes-out 777 exceeded out' \
		'filter add id 2 ip 10.2.0.1 ibyte 5M' > "$TMP"/old.conf
	python3 -c '
for i in range(4000): print("filter add id %d ip 10.%d.%d.%d obyte 1M" % (i + 100, 20 + i // 62500, i // 250 % 250, i % 250 + 1))' > "$TMP"/big.conf
	nf restore "$TMP"/big.conf && new=$(config_of)
	nf restore "$TMP"/old.conf && old=$(config_of)
	check "restore crash: old configuration" eq "$old" "2 1 12345 777 2"
	check "restore crash: new configuration" eq "$new" "4000 100 0 0 4099"
	# how long a whole restore takes here, to spread the kills over it
	t0=$(date +%s%N)
	nf restore "$TMP"/big.conf
	ms=$(( ($(date +%s%N) - t0) / 1000000 + 1 ))
	# 14 moments over the whole restore, then (only while none landed
	# mid-change: parsing can take most of the time, under ASan say) up to
	# 16 more, densely over its second half, where the change is applied
	for i in $(seq 1 30); do
		[ $i -gt 14 ] && [ $mid -gt 0 ] && break
		nf restore "$TMP"/old.conf
		at=$(awk -v i=$i -v ms=$ms 'BEGIN { f = i <= 14 ? i / 12 : 0.5 + (i - 14) / 24
			printf "%.3f", ms * f / 1000 }')
		"$NETFIL" restore "$TMP"/big.conf &	# not nf(): $! must be netfil itself
		t0=$!
		sleep "$at"
		kill -9 $t0 2>/dev/null
		wait $t0 2>/dev/null
		kills=$((kills + 1))
		[ "$(txn_active)" = 1 ] && mid=$((mid + 1))
		got=$(config_of)
		check "restore crash: killed at ${at}s: old or new, whole ($got)" one_of "$got" "$old" "$new"
	done
	log "  $mid of $kills kills landed while the change was being applied (a restore takes ${ms} ms)"
	check "restore crash: some kills landed mid-change" lt 0 $mid
	check "restore crash: the journal is clear" eq "$(txn_active)" 0
	nf restore /dev/null
}

# --- what a new user trips over -------------------------------------------------
test_traps() {
	local out op before id
	before=$(nf -j filter list)
	bash -c "echo \$\$ > $CG2/cgroup.procs && exec sleep 30" &
	op=$!
	for i in $(seq 1 100); do grep -q '^0::/$' /proc/$op/cgroup && break; sleep 0.01; done
	out=$(nf filter add socket pid $op obyte 1M 2>&1)
	check "pid outside the attach cgroup: refused, exit 1" contains "$?:$out" \
		"1:netfil: process '$op' is outside netfil's cgroup"
	kill $op
	mkdir -p "$NETFIL_CGROUP"-other
	out=$(NETFIL_CGROUP="$NETFIL_CGROUP"-other nf load 2>&1)
	check "load on another cgroup: exit 1, the cgroup in use named" contains "$?:$out" \
		"1:netfil: netfil is already loaded on cgroup '$NETFIL_CGROUP'"
	rmdir "$NETFIL_CGROUP"-other
	out=$(nf load 2>&1)
	check "load again on the same cgroup: exit 0, silent" eq "$?:$out" "0:"
	out=$(NETFIL_PIN_DIR="$NETFIL_PIN_DIR"-none nf status)
	check "status when not loaded: exit 3, as systemctl is-active" eq "$?:$out" "3:loaded: no"
	check "status when loaded: exit 0" nf status
	check "traps: no change" eq "$(nf -j filter list)" "$before"
	# an interface filter says where it is attached, and whether it waits
	id=$(in_b "$NETFIL" filter add interface vba ibyte 1M)
	check "interface filter: attached, in its own namespace" eq \
		"$(in_b "$NETFIL" -j filter show $id | python3 -c 'import json,sys; f=json.load(sys.stdin); print(f["attachment"][0]["state"], f["netns_here"])')" "attached True"
	check "interface filter: seen from elsewhere, another namespace" contains \
		"$(nf filter show $id)" "vba attached (index"
	check "interface filter: text names the other namespace" contains \
		"$(nf filter show $id)" "in another network namespace"
	in_b "$NETFIL" filter set $id --allow-missing
	check "filter set --allow-missing takes" contains "$(nf filter show $id)" "--allow-missing"
	in_b "$NETFIL" filter del $id
	printf 'filter add id 31 interface vba ibyte 1M --allow-missing\n' | in_a "$NETFIL" restore -
	out=$(in_a "$NETFIL" filter show 31)
	check "restored where the interface is missing: waiting, not silently on" contains "$out" \
		"vba waiting in this network namespace"
	check "--allow-missing shown in the text" contains "$out" "--allow-missing"
	nf restore /dev/null
}

# --- commands that change the configuration load netfil as needed -------------
test_autoload() {
	local out id
	nf unload
	out=$(nf filter list 2>&1)
	check "not loaded: list says so, exit 1" eq "$?:$out" "1:netfil: netfil is not loaded (run 'netfil load')"
	out=$(printf 'filter add ip 10.9.0.1 obyte 5Q\n' | nf restore - 2>&1)
	check "not loaded: a bad restore changes nothing, not even loading" eq "$?:$(nf status)" "1:loaded: no"
	id=$(nf filter add ip 10.9.0.1 obyte 1M)
	check "not loaded: filter add loads netfil, reaper and all" eq "$(jget "$(nf -j status)" loaded)/$(jget "$(fshow $id)" limits.obyte)" true/1048576
	check "autoload: the reaper runs" lt 0 "$(reaper_pid)"
	nf unload
	printf 'filter add id 5 ip 10.9.0.2\n' | nf restore -
	check "not loaded: restore loads netfil" eq "$(jget "$(fshow 5)" prefix)" 10.9.0.2
	nf unload
	out=$($A "$NETFIL" run obyte 1M -- true 2>&1)
	check "not loaded: run loads netfil" eq "$?/$(jget "$(nf -j status)" loaded)" 0/true
}

# --- credit taken ahead on one CPU (charge.h) ---------------------------------
# A CPU takes bytes from a filter ahead of its packets.  Credit left on
# CPU 0 must not make CPU 1 stop short of the limit; a reset must void it;
# a lowered limit must stop its spending.  Datagrams of 1,000 bytes are
# 1,028 at L3, so an exact count is a multiple of 1,028.
cpu_send() {
	taskset -c "$1" $A "$NFT" send udp 10.77.0.2 $PORT "$2" --chunk 1000 --timeout 2500 > "$TMP"/send.out
}
test_credit_cpus() {
	local sp id b lim=1000000 low=50000
	[ "$(nproc)" -ge 2 ] || { check "credit: needs two CPUs" false; return; }
	PORT=$((PORT + 1))
	rm -f "$TMP"/r1 "$TMP"/done
	in_b "$NFT" sink udp 10.77.0.2 $PORT --ready "$TMP"/r1 --idle 300 --done "$TMP"/done > "$TMP"/sink.out &
	sp=$!
	wait_file "$TMP"/r1 || { check "credit: sink ready" false; stop_pids 5 $sp; return; }
	id=$(nf filter add ip 10.77.0.2 obyte $lim action drop)
	cpu_send 0 20000
	check "credit: 20 datagrams on CPU 0 count 20 x 1,028" eq "$(jget "$(fshow $id)" bytes.out)" 20560
	cpu_send 1 $((2 * lim))
	b=$(jget "$(fshow $id)" bytes.out)
	check "credit: CPU 1 reaches the limit: admitted <= limit" le "$b" $lim
	check "credit: ... within one datagram of it (CPU 0's credit reclaimed)" lt $((lim - 1028)) "$b"
	check "credit: ... counted whole datagrams" eq $((b % 1028)) 0
	check "credit: exceeded" eq "$(jget "$(fshow $id)" exceeded.out)" true
	nf filter reset $id
	cpu_send 0 10000
	check "credit: after a reset, 10 datagrams count 10 x 1,028" eq "$(jget "$(fshow $id)" bytes.out)" 10280
	nf filter set $id obyte $low
	cpu_send 0 200000
	b=$(jget "$(fshow $id)" bytes.out)
	check "credit: a lowered limit stops CPU 0's credit: admitted <= $low" le "$b" $low
	check "credit: ... within one datagram of it" lt $((low - 1028)) "$b"
	# CPU 0 holds credit for this id when the filter goes; a restore of
	# the same id in the same slot must not spend it or give it back
	nf filter del $id
	id=$(nf filter add ip 10.77.0.2 obyte 10M action drop)
	cpu_send 0 10000
	nf filter del $id
	printf 'filter add id %s ip 10.77.0.2 obyte %s action drop\n' $id $lim | nf restore -
	cpu_send 0 10000
	check "credit: restored under the same id, 10 datagrams count 10 x 1,028" \
		eq "$(jget "$(fshow $id)" bytes.out)" 10280
	nf filter del $id
	touch "$TMP"/done
	stop_pids 5 $sp
}

# --- two writers on one filter: neither change is lost ------------------------
test_concurrent_set() {
	local id a b j k
	id=$(nf filter add ip 10.9.0.7)
	# batches: no process start between changes, so the two writers
	# really overlap
	for k in obyte ibyte; do
		seq 1 400 | sed "s/.*/filter set $id $k &/" > "$TMP"/set.$k
	done
	"$NETFIL" batch "$TMP"/set.obyte &
	a=$!
	"$NETFIL" batch "$TMP"/set.ibyte &
	b=$!
	# a lost update shows as a limit that goes back: sample while they run
	for k in $(seq 1 300); do
		kill -0 $a 2>/dev/null || kill -0 $b 2>/dev/null || break
		"$NETFIL" -j filter show $id
	done > "$TMP"/samples
	wait $a && wait $b
	check "concurrent set: both writers succeeded" eq $? 0
	check "concurrent set: no limit ever went back" eq "$(python3 -c 'import json,sys
last = {"obyte": 0, "ibyte": 0}; bad = 0
for line in open(sys.argv[1]):
    l = json.loads(line)["limits"]
    for k in last:
        bad += l[k] < last[k]; last[k] = max(last[k], l[k])
print(bad)' "$TMP"/samples)" 0
	j=$(fshow $id)
	check "concurrent set: neither change lost" eq "$(jget "$j" limits.obyte)/$(jget "$j" limits.ibyte)" 400/400
	nf filter del $id
}

# --- bytes and numbers that must not be read as something else ---------------
test_text_input() {
	local before out
	nf filter add ip 10.9.0.2 obyte 1M >/dev/null
	before=$(nf -j filter list)
	printf 'filter add ip 10.9.0.1 obyte 1\0M\n' > "$TMP"/nul
	out=$(nf restore "$TMP"/nul 2>&1)
	check "NUL in restore: exit 1" eq $? 1
	check "NUL in restore: FILE:LINE named" contains "$out" "$TMP/nul:1: NUL byte at column"
	check "NUL in restore: no change" eq "$(nf -j filter list)" "$before"
	printf 'filter add ip 10.9.0.3\nfilter add ip 10.9.0.1 obyte 1\0M\nfilter add ip 10.9.0.4\n' > "$TMP"/nulb
	out=$(nf batch "$TMP"/nulb 2>&1)
	check "NUL in batch: exit 1" eq $? 1
	check "NUL in batch: FILE:LINE named" contains "$out" "$TMP/nulb:2: NUL byte at column"
	check "NUL in batch: the line before it applied, none after" eq "$(nf -j filter list | grep -c '10.9.0.3\|10.9.0.1"\|10.9.0.4')" 1
	nf filter del "$(nf -j filter list | python3 -c 'import json,sys; print([f["id"] for f in json.load(sys.stdin) if f.get("prefix") == "10.9.0.3"][0])')"
	printf 'filter add ip 10.9.0.1 obyte 1M\001\n' > "$TMP"/ctl
	out=$(nf restore "$TMP"/ctl 2>&1)
	check "control character: exit 1, named" contains "$?:$out" "1:netfil: $TMP/ctl:1: control character 0x01"
	for bad in "period hourly at -4294967290=-4294967290" "period daily at 4294967297:5=4294967297:5" \
		   "period hourly at :4294967297=:4294967297" "period daily at +1:05=+1:05" \
		   "obyte -1=-1" "obyte 18446744073709551616=18446744073709551616"; do
		out=$(nf filter add ip 10.9.0.1 ${bad%=*} 2>&1)
		check "number '${bad#*=}': exit 1 naming it" contains "$?:$out" "1:netfil:"
		check "number '${bad#*=}': named" contains "$out" "'${bad#*=}'"
	done
	for bad in lo,, ,lo lo,,vab; do
		out=$(nf filter add interface $bad 2>&1)
		check "interface list '$bad': exit 1" contains "$?:$out" "1:netfil: empty interface name in '$bad'"
	done
	printf 'filter del 1\n' > "$TMP"/del
	out=$(nf restore "$TMP"/del 2>&1)
	check "restore 'filter del': names del" contains "$out" "$TMP/del:1: unknown command 'del'"
	check "bad input: no change" eq "$(nf -j filter list)" "$before"
	nf restore /dev/null
}

# --- billing periods, with an injected clock ----------------------------------
# roll NOW: apply period boundaries as if it were NOW (UTC); prints how many
# filters it reset.
roll() { TZ=UTC nf roll now "$1"; }
test_periods() {
	local m=21 w=22 d=23 last
	export TZ=UTC
	# "roll now" takes no time ahead of the clock, so the filters start
	# with their last boundary in 2018 and the test moves through 2019
	# (2019-01-14 is a Monday)
	last=$(date -u -d 2018-12-01T00:00:00 +%s)
	cat > "$TMP"/periods <<-EOF
	filter add id $m ip 10.77.0.2 obyte $LIMIT period monthly day 14 at 00:00
	counters $m period-last $last
	filter add id $w ip 10.77.0.3 obyte $LIMIT period weekly mon at 08:00
	counters $w period-last $last
	filter add id $d ip fd77::2 obyte $LIMIT period daily at 06:30
	counters $d period-last $last
	EOF
	nf restore "$TMP"/periods
	check "period: listed" eq "$(jget "$(fshow $m)" period.every)" "monthly day 14 at 00:00"
	up tcp $NS_B 10.77.0.2 $BIG noop
	check "period: monthly filter exceeded before the boundary" eq "$(jget "$(fshow $m)" exceeded.out)" true
	check "period: boundaries missed while nothing ran are applied" eq "$(roll 2019-01-13T23:59:59)" 3
	check "period: reset clears counters and exceeded" eq "$(jget "$(fshow $m)" bytes.out)/$(jget "$(fshow $m)" exceeded.out)" 0/false
	up tcp $NS_B 10.77.0.2 $BIG noop
	check "period: counts again after the reset" eq "$(jget "$(fshow $m)" exceeded.out)" true
	check "period: nothing before the monthly anchor" eq "$(roll 2019-01-13T23:59:59)" 0
	check "period: monthly rollover at the anchor" eq "$(roll 2019-01-14T00:00:01)" 1
	check "period: monthly counters zero" eq "$(jget "$(fshow $m)" bytes.out)" 0
	check "period: weekly waits for Monday 08:00 (only the daily one rolls)" eq "$(roll 2019-01-14T07:59:59)" 1
	check "period: weekly rollover at Monday 08:00" eq "$(TZ=UTC nf -j roll now 2019-01-14T08:00:00 | python3 -c 'import json,sys; print(json.load(sys.stdin)["reset"])')" 1
	check "period: daily rollover at 06:30, not before" eq "$(roll 2019-01-15T06:29:59)/$(roll 2019-01-15T06:30:00)" 0/1
	printf 'filter add id %s ip 10.77.0.2 period monthly day 31 at 00:00\ncounters %s period-last %s\n' \
		$m $m "$(date -u -d 2019-01-31T00:00:00 +%s)" | nf restore -
	roll 2019-02-28T00:00:00 >/dev/null
	check "period: the 31st in a short month is its last day" eq "$(jget "$(fshow $m)" period.last)" "$(date -u -d 2019-02-28T00:00:00 +%s)"
	check "period: saved and restored" contains "$(nf save)" "period monthly day 31 at 00:00"
	nf filter set $m period none
	check "period: none" eq "$(fshow $m | python3 -c 'import json,sys; print("period" in json.load(sys.stdin))')" False
	out=$(TZ=UTC nf roll now 2099-01-01T00:00:00 2>&1)
	check "roll now: a time ahead of the clock is refused, exit 1" contains "$?:$out" "1:netfil: time '2099-01-01T00:00:00' is ahead of the clock"
	nf restore /dev/null
	unset TZ
}

# --- unload leaves nothing behind and restores connectivity ---------------
reaper_stopped() { ! ps -o stat= -p "$1" | grep -qv '^Z'; }
test_unload() {
	local rp
	FID=$(nf filter add ip 10.77.0.2 obyte 1000)
	in_b "$NETFIL" filter add interface vba ibyte 1000 >/dev/null
	up tcp $NS_B 10.77.0.2 100000 noop
	check "unload: blocked before" le "$RECEIVED" 1000
	# this run's programs and reaper only: other netfils may be loaded
	# on the machine
	PROG_IDS=$(for p in "$NETFIL_PIN_DIR"/prog/*; do bpftool -j prog show pinned "$p" |
		python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])'; done)
	rp=$(reaper_pid)
	check "unload: this run's programs and reaper found first" lt 0 "$(echo $PROG_IDS | wc -w)$rp"
	nf unload
	check "unload: no pins" eq "$(ls "$NETFIL_PIN_DIR" 2>&1 | grep -c .)" 1
	check "unload: no cgroup attachments" eq "$(bpftool cgroup show "$NETFIL_CGROUP" | grep -c nf_)" 0
	check "unload: no netfil programs" eventually no_nf_progs
	check "unload: no tc filter" eq "$(in_b tc filter show dev vba ingress)$(in_b tc filter show dev vba egress)" ""
	check "unload: clsact removed" eq "$(in_b tc qdisc show dev vba | grep -c clsact)" 0
	check "unload: the reaper stopped" eventually reaper_stopped $rp
	up tcp $NS_B 10.77.0.2 $BIG noop
	check "unload: connectivity restored" eq "$RECEIVED" $BIG
}

main() {
	setup_cgroup || { log "cannot create test cgroup"; exit 1; }
	setup_net || { log "cannot create test namespaces"; exit 1; }
	nf load || { log "netfil load failed"; exit 1; }
	rm -f "$TMP"/cr.ready
	nsenter --net=/run/netns/$NS_B "$ROOT"/build/connrate server 10.77.0.2 5300 \
		--ready "$TMP"/cr.ready --seconds 600 >/dev/null &
	wait_file "$TMP"/cr.ready || exit 1
	check "load: reaper running" lt 0 "$(reaper_pid)"
	for t in ${TESTS:-test_upload_limit test_unrelated_process test_existing_connection \
		test_tree_child test_accepted_inherits test_overlap test_ip_midflow test_ip_accepted_peers test_ip_udp_reconnect test_concurrent test_address_download test_interface_total test_interface_l3 test_interface_forwarded test_off_on_reset_del \
		test_reject_vs_drop test_run test_sysctl test_privilege test_bad_input \
		test_many_filters test_batch test_no_process_needed test_outside_cgroup_untouched \
		test_events_flows \
		test_events_exceeded_once test_events_four_subscribers test_events_slow_subscriber \
		test_event_client_example test_save_restore test_restore_crash test_text_input \
		test_concurrent_set test_credit_cpus test_traps test_autoload \
		test_periods test_unload}; do
		log "== $t"
		$t
	done
	summary
}

main
