#!/bin/bash
# Per-packet verdicts end to end: filters with a queue, their nftables
# rules in the client's namespace (A), netfil packets and a library client
# (build/queue_client) answering real TCP and UDP between namespaces A and
# B, and the fail policy with no client, or a client killed with -9.
. "$(dirname "$0")/lib.sh"
trap cleanup EXIT INT TERM
QC=$ROOT/build/queue_client
TABLE=$(basename "$NETFIL_PIN_DIR" | tr -c 'a-zA-Z0-9\n' '_')

setup_net || exit 1
setup_cgroup || exit 1
nf load || exit 1

fid() { in_a "$NETFIL" filter add "$@"; }
# rules NS: how many of netfil's rules NS holds (nft -j: xt targets
# cannot be printed as text)
rules() {
	nsenter --net=/run/netns/$1 nft -j list table inet "$TABLE" 2>/dev/null |
		python3 -c 'import json,sys
print(sum(1 for o in json.load(sys.stdin)["nftables"]
          if "rule" in o and o["rule"].get("comment", "") != "netfil:flow"))' 2>/dev/null || echo 0
}
# client_start ARGS...: netfil packets in A, its JSON lines in $TMP/pk.json
client_start() {
	rm -f "$TMP"/pk.err
	$A "$NETFIL" -j packets "$@" > "$TMP"/pk.json 2> "$TMP"/pk.err &
	PK=$!
	poll_until 5 grep -q answering "$TMP"/pk.err
}
client_stop() { kill "$PK" 2>/dev/null; wait "$PK" 2>/dev/null; }
# qc_start ID MODE ARG: the library client in A, its report in $TMP/qc.out
qc_start() {
	rm -f "$TMP"/qc.ready
	$A "$QC" "$@" --ready "$TMP"/qc.ready > "$TMP"/qc.out 2>&1 &
	QCP=$!
	wait_file "$TMP"/qc.ready
}
qc_stop() { kill "$QCP" 2>/dev/null; wait "$QCP" 2>/dev/null; }
# pk_count FILTER: packets of $PORT in the client's JSON (proto, dir, what)
pk_py() {
	python3 - "$TMP"/pk.json "$@" <<-'EOF'
	import json, sys
	rows = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
	port = sys.argv[3]
	mine = [r for r in rows if "src" in r and (r["src"].endswith(":" + port) or r["dst"].endswith(":" + port))]
	what = sys.argv[2]
	if what == "count":
	    print(len(mine))
	elif what == "new":
	    print(sum(1 for r in mine if r["new"] and r["dir"] == "out"))
	elif what == "owner":	# every packet names pid (argv[4]), comm and the interface
	    bad = [r for r in mine if not r["process"] or r["process"]["tgid"] != int(sys.argv[4])
	           or r["process"]["comm"] != sys.argv[5] or r["interface"] != "vab"]
	    dirs = sorted(set(r["dir"] for r in mine))
	    print("ok" if mine and not bad and dirs == ["in", "out"] else "bad %d of %d, dirs %s" % (len(bad), len(mine), dirs))
	    for r in bad[:3]:
	        print(r, file=sys.stderr)
	elif what == "pids":	# the pids of the flows' first packets, one per line
	    for r in mine:
	        if r["new"] and r["dir"] == "out" and r["process"]:
	            print(r["process"]["tgid"])
	EOF
}

# udp_try: one datagram from A to B: "sent", or sendto()'s errno
udp_try() {
	in_a python3 -c '
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
try:
    s.sendto(b"x", ("10.77.0.2", 9)); print("sent")
except OSError as e:
    print(e.errno)'
}

# paced NAME BYTES RATE IDLE_MS: a paced TCP transfer from A to a sink in
# B on a new PORT, in the background (sink pid PS, sender PC; their
# reports $TMP/NAMEsink.out and $TMP/NAMEsend.out)
paced() {
	PORT=$((PORT + 1))
	nsenter --net=/run/netns/$NS_B "$NFT" sink tcp 10.77.0.2 $PORT --idle $4 \
		> "$TMP"/$1sink.out &
	PS=$!
	poll_until 3 test -n "$(in_b ss -Htln "sport = :$PORT")"
	$A "$NFT" send tcp 10.77.0.2 $PORT $2 --rate $3 --timeout 20000 > "$TMP"/$1send.out &
	PC=$!
}

# serve N: a TCP server in B on $PORT for N connections (each read, then
# closed), its pid in SRV; bounded by its accept timeout
serve() {
	rm -f "$TMP"/srv.ready
	in_b python3 -c '
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("10.77.0.2", int(sys.argv[1]))); s.listen(256); s.settimeout(30)
open(sys.argv[2], "w").close()
for i in range(int(sys.argv[3])):
    c, _ = s.accept(); c.recv(16); c.close()
' $PORT "$TMP"/srv.ready "$1" &
	SRV=$!
	wait_file "$TMP"/srv.ready
}

# --- 1. allow everything: byte for byte, and each packet's owner --------
ID=$(fid ip 10.77.0.2 queue all fail open)
check "filter add ... queue all: an id" test -n "$ID"
check "its rules are in A's table" test "$(rules $NS_A)" -gt 0
check "and not in the host's" eq "$(nft list table inet "$TABLE" 2>/dev/null | wc -l)" 0
j=$(in_a "$NETFIL" -j filter show "$ID")
check "JSON: queue mode" eq "$(jget "$j" queue.mode)" all
check "JSON: queue fail" eq "$(jget "$j" queue.fail)" open
check "JSON: queue timeout" eq "$(jget "$j" queue.timeout_ms)" 1000
check "JSON: namespace is the caller's" eq "$(jget "$j" netns_here)" true
check "text: the namespace" contains "$(in_a "$NETFIL" filter show "$ID")" "in this network namespace"
check "text from the host: another namespace" contains "$(nf filter show "$ID")" "in another network namespace"

client_start "$ID" allow
up tcp $NS_B 10.77.0.2 2000000 noop
check "tcp through the queue: all 2000000 bytes" eq "$RECEIVED" 2000000
check "tcp: every packet names the sender, vab, both directions" \
	eq "$(pk_py owner $PORT $CP nftraffic)" ok
up udp $NS_B 10.77.0.2 50000 noop
check "udp through the queue: all 50000 bytes" eq "$RECEIVED" 50000
check "udp: every datagram names the sender" eq "$(pk_py owner $PORT $CP nftraffic)" \
	"bad 0 of 50, dirs ['out']"
check "a second client of the same queue is refused" \
	contains "$(in_a "$NETFIL" packets "$ID" 2>&1)" "already has a client"
check "a client from another namespace is refused" \
	contains "$(nf packets "$ID" 2>&1)" "in another network namespace"
client_stop

# --- 1b. IPv6, and an interface filter's UDP --------------------------------
# a packet goes to the first queue rule it meets: ID's rule steps aside
nf filter set "$ID" queue none >/dev/null
V6=$(fid ip fd77::2 queue all fail open)
client_start "$V6" allow
up tcp $NS_B fd77::2 500000 noop
check "ipv6 tcp through the queue: all 500000 bytes" eq "$RECEIVED" 500000
check "ipv6 tcp: every packet names the sender, vab, both directions" \
	eq "$(pk_py owner $PORT $CP nftraffic)" ok
client_stop
in_a "$NETFIL" filter del "$V6" >/dev/null
IF=$(fid interface vab queue all fail open)
client_start "$IF" allow
up udp $NS_B 10.77.0.2 50000 noop
check "interface filter: udp through its queue, all 50000 bytes" eq "$RECEIVED" 50000
# the sender has closed (and exited) before most of its datagrams are
# answered: they are named from nf_qgone, its address read at close
check "interface filter: every datagram names the sender" \
	eq "$(pk_py owner $PORT $CP nftraffic)" "bad 0 of 50, dirs ['out']"
client_stop
in_a "$NETFIL" filter del "$IF" >/dev/null
nf filter set "$ID" queue all fail open >/dev/null

# --- 2. a socket filter: the socket mark, both directions --------------
nf filter set "$ID" queue none >/dev/null
check "queue none: its rules go" eq "$(rules $NS_A)" 0
SID=$(fid socket exe "$NFT" queue all fail open)
check "socket exe filter with a queue" test -n "$SID"
client_start "$SID" allow
up tcp $NS_B 10.77.0.2 1000000 noop
check "socket filter: all 1000000 bytes" eq "$RECEIVED" 1000000
check "socket filter: its packets name the sender, both directions" \
	eq "$(pk_py owner $PORT $CP nftraffic)" ok
client_stop
nf filter del "$SID" >/dev/null
check "filter del: its rules go" eq "$(rules $NS_A)" 0

# --- 3. drop one flow, allow another ----------------------------------
in_a "$NETFIL" filter set "$ID" queue all fail open >/dev/null
DROP_PORT=$((PORT + 1))
qc_start "$ID" drop-port $DROP_PORT
up tcp $NS_B 10.77.0.2 300000 noop
check "dropped flow: nothing arrives" eq "${RECEIVED:-0}" 0
check "dropped flow: the client times out" eq "$SENT_ERR" timeout
up tcp $NS_B 10.77.0.2 300000 noop
check "the other flow: all 300000 bytes" eq "$RECEIVED" 300000
qc_stop
# a TCP flow's owner is looked up at its SYN, then cached (section 1
# checked that every packet still names its owner)
check "tcp owners after the SYN come from the client's cache" \
	test "$(field "$TMP"/qc.out cached)" -gt 10

# --- 4. delay: 50 ms, answered newest first ----------------------------
# every packet held (ACKs too): TCP small queues let a sender have few
# packets below it, so the transfer is kept small
qc_start "$ID" delay 50
up tcp $NS_B 10.77.0.2 100000 noop
check "delayed tcp: all 100000 bytes" eq "$RECEIVED" 100000
up udp $NS_B 10.77.0.2 30000 noop
check "delayed udp: all 30000 bytes" eq "$RECEIVED" 30000
qc_stop
check "delay: packets were held" test "$(field "$TMP"/qc.out delayed)" -gt 0
check "delay: answers out of order" test "$(field "$TMP"/qc.out reordered)" -gt 0
check "delay: none timed out" eq "$(field "$TMP"/qc.out timed_out)" 0

# --- 5. queue new: one verdict per connection --------------------------
in_a "$NETFIL" filter set "$ID" queue new fail open >/dev/null
PORT=$((PORT + 1))
serve 100
client_start "$ID" allow
in_a python3 -c '
import socket, sys
for i in range(100):
    c = socket.create_connection(("10.77.0.2", int(sys.argv[1])), timeout=5)
    c.sendall(b"x"); c.close()
' $PORT
check "100 connections all served" wait $SRV
client_stop
check "queue new: 100 connections, exactly 100 verdicts" eq "$(pk_py count $PORT)" 100
check "queue new: each the flow's first packet" eq "$(pk_py new $PORT)" 100

# --- 6. 200 short-lived processes, each named exactly ------------------
PORT=$((PORT + 1))
serve 200
client_start "$ID" allow
: > "$TMP"/pids
for i in $(seq 1 200); do
	$A busybox nc -w 2 10.77.0.2 $PORT < /dev/null > /dev/null 2>&1 &
	echo $! >> "$TMP"/pids
done
wait $SRV
check "200 short-lived connections served" eq $? 0
for p in $(cat "$TMP"/pids); do wait "$p" 2>/dev/null; done
client_stop
pk_py pids $PORT | sort -n > "$TMP"/seen
sort -n "$TMP"/pids > "$TMP"/want
check "200 processes: 200 verdicts, each naming its own process" \
	eq "$(comm -3 "$TMP"/want "$TMP"/seen | wc -l) $(wc -l < "$TMP"/seen)" "0 200"

# --- 7. no client: fail open passes, fail closed refuses at once --------
in_a "$NETFIL" filter set "$ID" queue all fail open >/dev/null
up tcp $NS_B 10.77.0.2 200000 noop
check "fail open, no client: all 200000 bytes (bypass)" eq "$RECEIVED" 200000
in_a "$NETFIL" filter set "$ID" queue all fail closed >/dev/null
up tcp $NS_B 10.77.0.2 200000 noop
check "fail closed, no client: tcp connect refused" eq "$SENT_ERR" ECONNREFUSED
check "fail closed: refused within a second" le "$(field "$TMP"/send.out elapsed_ms)" 1000
r=$(udp_try)
check "fail closed, no client: udp sendto refused" eq "$r" 111
# the rules (and so the refusal) are A's alone: B reaches 10.77.0.2, its own
start_sink $NS_B 10.77.0.2
in_b "$NFT" send tcp 10.77.0.2 $PORT 1000 --timeout 2000 > "$TMP"/bsend.out
wait $SP
check "fail closed holds in A only: B's own connection to 10.77.0.2 works" \
	eq "$(field "$TMP"/bsend.out sent) $(field "$TMP"/sink.out received)" "1000 1000"

# --- 8. a client killed with -9 mid-transfer ----------------------------
client_start "$ID" allow
paced k 100000000 2000000 3000
KS=$PS KC=$PC
poll_until 5 grep -qE "\"dst\": ?\"10.77.0.2:$PORT\"" "$TMP"/pk.json
# admitted bytes (counted after netfilter): they grow until the kill ...
out_bytes() { jget "$(in_a "$NETFIL" -j filter show "$ID")" bytes.out; }
b0=$(out_bytes)
check "killed client: the transfer was moving" poll_until 3 test "$(out_bytes)" -gt "$b0"
kill -9 "$PK"
t0=$(date +%s%N)
wait "$PK" 2>/dev/null
# ... and stop within a second: the first of 3 equal samples 100 ms apart
prev=-1 same=0 tstop=0
for i in $(seq 1 40); do
	b=$(out_bytes)
	if [ "$b" = "$prev" ]; then
		same=$((same + 1))
		[ $same -ge 3 ] && break
	else
		same=0 tstop=$(date +%s%N)
	fi
	prev=$b
	sleep 0.1
done
check "killed client, fail closed: no byte passes after it" eq "$same" 3
check "killed client: the fail policy held within a second" le $(( (tstop - t0) / 1000000 )) 1000
kill $KC $KS 2>/dev/null; wait $KC $KS 2>/dev/null
up tcp $NS_B 10.77.0.2 1000 noop
check "killed client: new connections refused" eq "$SENT_ERR" ECONNREFUSED

# --- 8b. a stalled client (SIGSTOP): its fail policy, counted ----------
# try_tcp: one connect() from A to B, 0.3 s at most: ok, refused or timeout
try_tcp() {
	in_a python3 -c '
import socket, sys
s = socket.socket(); s.settimeout(0.3)
try:
    s.connect(("10.77.0.2", int(sys.argv[1]))); print("ok")
except ConnectionRefusedError:
    print("refused")
except OSError:
    print("timeout")' "$1"
}
refused_now() { [ "$(try_tcp $PORT)" = refused ]; }
stall_note() { grep -o "[0-9]* $1" "$TMP"/pk.err | tail -n 1 | cut -d" " -f1; }
in_a "$NETFIL" filter set "$ID" queue new fail closed timeout 300 >/dev/null
PORT=$((PORT + 1))
serve 100	# a listener that stays: B's RST would be a refusal too
client_start "$ID" allow
check "stalled client: a connection works before" eq "$(try_tcp $PORT)" ok
kill -STOP "$PK"
t0=$(date +%s%N)
check "stalled, fail closed: connect() refused" poll_until 3 refused_now
t1=$(( ($(date +%s%N) - t0) / 1000000 ))
check "stalled, fail closed: refused within the 300 ms timeout + 1 s ($t1 ms)" le "$t1" 1300
r=$(udp_try)
check "stalled, fail closed: udp sendto refused" eq "$r" 111
kill -CONT "$PK"
check "resumed: the client reports the stall" poll_until 3 grep -q "client stalled" "$TMP"/pk.err
check "resumed: it counted the refusals" le 2 "$(stall_note refused)"
check "resumed: connections work again" poll_until 3 test "$(try_tcp $PORT)" = ok
client_stop
kill $SRV 2>/dev/null; wait $SRV 2>/dev/null

# fail open: a transfer held by the stalled client resumes by itself (the
# RTO callback lets its socket pass), and new connections pass
in_a "$NETFIL" filter set "$ID" queue all fail open timeout 300 >/dev/null
client_start "$ID" allow
paced o 3000000 1000000 5000
OS=$PS OC=$PC
check "stalled, fail open: the transfer goes through the queue first" \
	poll_until 5 grep -qE "\"dst\": ?\"10.77.0.2:$PORT\"" "$TMP"/pk.json
kill -STOP "$PK"
check "stalled, fail open: the held transfer completes, client still stopped" \
	poll_until 15 grep -q "sent=3000000" "$TMP"/osend.out
wait $OC
kill $OS 2>/dev/null; wait $OS 2>/dev/null
check "stalled, fail open: all 3000000 bytes arrived" eq "$(field "$TMP"/osink.out received)" 3000000
up tcp $NS_B 10.77.0.2 100000 noop
check "stalled, fail open: a new connection passes (100000 bytes)" eq "$RECEIVED" 100000
check "stalled: the client was stopped all along" \
	test "$(awk '{print $3}' /proc/$PK/stat)" = T
kill -CONT "$PK"
check "resumed, fail open: the client reports the stall" \
	poll_until 3 grep -q "client stalled" "$TMP"/pk.err
check "resumed, fail open: it counted the sockets let past" le 1 "$(stall_note passed)"
up tcp $NS_B 10.77.0.2 1000 noop
check "resumed: new connections are queued again" poll_until 3 test "$(pk_py count $PORT)" -gt 0
client_stop
in_a "$NETFIL" filter set "$ID" queue all fail closed >/dev/null

# --- 9. bad input: one line naming the token, no change -----------------
n0=$(nf -j filter list | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
bad() {
	local want=$1 out rc
	shift
	out=$(in_a "$NETFIL" "$@" 2>&1); rc=$?
	check "bad: $* -> exit 1" eq "$rc" 1
	check "bad: $* -> one line naming '$want'" eq "$(echo "$out" | wc -l) $(contains "$out" "$want" && echo y)" "1 y"
}
bad "'sometimes'" filter add ip 10.77.0.9 queue fail sometimes
bad "'0'" filter add ip 10.77.0.9 queue timeout 0
bad "'bogus'" filter add ip 10.77.0.9 queue all bogus
bad "999" packets 999
bad "'x'" packets x
bad "'maybe'" packets "$ID" maybe
ip -n $NS_A rule add fwmark 0x1000000 table 100
out=$(in_a "$NETFIL" filter add ip 10.77.0.9 queue 2>&1); rc=$?
check "a mark taken by an ip rule: refused" eq "$rc" 1
check "... naming the mark" contains "$out" "0x1000000"
ip -n $NS_A rule del fwmark 0x1000000 table 100
check "bad input changed nothing" eq "$(nf -j filter list | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')" "$n0"

# --- 10. unload leaves no rules ------------------------------------------
check "rules before unload" test "$(rules $NS_A)" -gt 0
nf unload
check "unload: no table in A" eq "$(in_a nft list ruleset | grep -c "$TABLE")" 0
check "unload: none in the host" eq "$(nft list ruleset | grep -c "$TABLE")" 0
out=$(NETFIL_QUEUE_MARK=0x60000000 "$NETFIL" load 2>&1); rc=$?
check "load with a mark whose flow bit is the relay's: refused" eq "$rc" 1
check "... saying why" contains "$out" "invalid queue mark '0x60000000'"
check "... and nothing loaded" test ! -e "$NETFIL_PIN_DIR/link/nf_cg_egress"
summary
