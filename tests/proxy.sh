#!/bin/bash
# Connections through netfil's relay ("proxy URL" filters, "netfil run
# proxy", "netfil relay", netfild): curl, a static busybox and a static
# test client in namespace A reach servers in B through real proxies in B
# (microsocks and dante for SOCKS5, with and without a password, UDP
# ASSOCIATE through dante; tinyproxy for HTTP CONNECT).  The origin must
# see the proxy's address, never A's.  Also getpeername() and UDP reply
# sources, the fail policy with the relay killed by -9, loops, unrelated
# processes, limits, events, IP filters with ports, text and bad input.
# Usage: tests/proxy.sh (as root); NETFIL, NETFILD may name the binaries.
set -u
. "$(dirname "$0")/lib.sh"
NETFILD=${NETFILD:-$ROOT/build/netfild}

trap cleanup EXIT

trap 'exit 1' INT TERM

WWW=$TMP/www
PX=10.77.0.3		# B's second address: every proxy listens there
PX6=fd77::3
MS=1080			# microsocks, no password
MSA=1082		# microsocks, user nf / password s3cret
DT=1081			# dante: SOCKS5 CONNECT and UDP ASSOCIATE, no password
TP=8888			# tinyproxy: HTTP CONNECT
HTTP=8080
UDPP=5300		# UDP echo in B
DNSP=53			# a small DNS responder in B
SRCP=7000		# nftraffic source in B
SIZE=2000000
STATIC=$ROOT/build/nftraffic-static

# pyconnect HOST PORT: connect and print "ok PEER PEERPORT", or the errno's name
PYCONNECT='import errno, socket, sys
h, p = sys.argv[1], int(sys.argv[2])
s = socket.socket(socket.AF_INET6 if ":" in h else socket.AF_INET)
try:
    s.connect((h, p))
except OSError as e:
    print(errno.errorcode[e.errno])
    sys.exit(0)
print("ok", s.getpeername()[0], s.getpeername()[1])'

# pyudp HOST PORT MODE: one datagram to the echo (MODE unconnected: sendto
# and recvfrom; connected: connect, send, recv, getpeername); prints
# "reply FROM FROMPORT TEXT" or "timeout"
PYUDP='import socket, sys
h, p, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3]
s = socket.socket(socket.AF_INET6 if ":" in h else socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(5)
msg = b"ping-" + mode.encode()
try:
    if mode == "connected":
        s.connect((h, p)); s.send(msg); data = s.recv(2048); src = s.getpeername()
    else:
        s.sendto(msg, (h, p)); data, src = s.recvfrom(2048)
    print("reply", src[0], src[1], data.decode())
except socket.timeout:
    print("timeout")'

# UDP echo: replies "echo TEXT" and logs the peer
UDPECHO='import socket, sys
s = socket.socket(socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], int(sys.argv[2])))
log = open(sys.argv[3], "a", buffering=1)
open(sys.argv[4], "w").close()
while True:
    data, peer = s.recvfrom(2048)
    log.write("peer %s %s\n" % (peer[0], data.decode()))
    s.sendto(b"echo " + data, peer)'

# DNS: answers any A question with 10.99.0.7, logs the asker
DNSD='import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], int(sys.argv[2])))
log = open(sys.argv[3], "a", buffering=1)
open(sys.argv[4], "w").close()
while True:
    q, peer = s.recvfrom(512)
    end = 12
    while q[end]:
        end += q[end] + 1
    end += 5
    log.write("dns from %s\n" % peer[0])
    ans = b"\xc0\x0c\x00\x01\x00\x01\x00\x00\x00\x3c\x00\x04" + bytes([10, 99, 0, 7])
    s.sendto(q[:2] + b"\x81\x80" + q[4:6] + b"\x00\x01\x00\x00\x00\x00" + q[12:end] + ans, peer)'

# src: a new source in B on 10.77.0.2:$SRCP that serves $SIZE bytes to
# one client, listening on return
src() {
	rm -f "$TMP"/src.ready
	in_b "$NFT" source tcp 10.77.0.2 $SRCP $SIZE --timeout 20000 --ready "$TMP"/src.ready > /dev/null &
	wait_file "$TMP"/src.ready
}

start_servers() {
	ip -n $NS_B addr add 10.99.0.1/24 dev lo
	mkdir -p "$WWW"
	head -c $SIZE /dev/urandom > "$WWW"/big
	echo "hello from the origin $RUN_ID" > "$WWW"/hello
	in_b python3 -m http.server $HTTP -d "$WWW" --bind 10.77.0.2 2> "$TMP"/origin4.log >/dev/null &
	in_b python3 -m http.server $HTTP -d "$WWW" --bind fd77::2 2> "$TMP"/origin6.log >/dev/null &
	in_b python3 -c "$UDPECHO" 10.77.0.2 $UDPP "$TMP"/udp4.log "$TMP"/u4.ready &
	in_b python3 -c "$UDPECHO" fd77::2 $UDPP "$TMP"/udp6.log "$TMP"/u6.ready &
	in_b python3 -c "$DNSD" 10.77.0.2 $DNSP "$TMP"/dns.log "$TMP"/dns.ready &
	# outside the test cgroup, so that its own traffic to the origin is not
	# counted by the test's filters; a plain command, so that $! is its
	# pid (bash and nsenter exec)
	bash -c 'echo $$ > "$0/cgroup.procs" && exec "$@"' "$CG2" \
		nsenter --net=/run/netns/$NS_B microsocks -i $PX -p $MS > "$TMP"/ms.log 2>&1 &
	MSPID=$!
	in_b microsocks -i $PX -p $MSA -u nf -P s3cret > "$TMP"/msa.log 2>&1 &
	dante_conf "$TMP"/danted.conf $PX $DT vba
	in_b danted -f "$TMP"/danted.conf -p "$TMP"/danted.pid > "$TMP"/danted.out 2>&1 &
	cat > "$TMP"/tinyproxy.conf <<-EOF
	Port $TP
	Listen $PX
	Timeout 30
	LogFile "$TMP/tinyproxy.log"
	LogLevel Info
	MaxClients 20
	Allow 10.0.0.0/8
	ConnectPort $HTTP
	EOF
	in_b tinyproxy -d -c "$TMP"/tinyproxy.conf > "$TMP"/tinyproxy.out 2>&1 &
	wait_file "$TMP"/u4.ready && wait_file "$TMP"/u6.ready && wait_file "$TMP"/dns.ready || return 1
	eventually in_b curl -sf -o /dev/null http://10.77.0.2:$HTTP/hello || return 1
	eventually in_b curl -sf -g -o /dev/null "http://[fd77::2]:$HTTP/hello" || return 1
	local p
	for p in $MS $MSA $DT $TP; do
		eventually in_a python3 -c "import socket; socket.create_connection(('$PX', $p)).close()" ||
			{ log "  nothing listens on $PX:$p"; return 1; }
	done
}

# static_elf FILE: an executable with no program interpreter (no ld.so,
# so no LD_PRELOAD)
static_elf() { readelf -l "$1" | grep -q 'Elf file type is EXEC\|DYN' && ! readelf -l "$1" | grep -q interpreter; }

# last_peer LOG: the client address of the origin's last request
last_peer() { tail -n 1 "$1" | cut -d' ' -f1; }
# proxied LOG: the origin's last request came from B itself (the proxy)
proxied() { one_of "$(last_peer "$1")" 10.77.0.2 10.77.0.3 fd77::2 fd77::3; }

# arun URL -- CMD...: "netfil run proxy URL -- CMD" in A; output in $TMP/run.out
arun() {
	local url=$1
	shift 2
	$A "$NETFIL" run proxy "$url" -- "$@" > "$TMP"/run.out 2> "$TMP"/run.err
}

# --- SOCKS5 CONNECT with curl, IPv4 and IPv6 -----------------------------------
test_socks5_curl() {
	arun socks5://$PX:$MS -- curl -sS --max-time 10 -o "$TMP"/got http://10.77.0.2:$HTTP/hello
	check "socks5 v4: curl got the origin's bytes" cmp -s "$TMP"/got "$WWW"/hello
	check "socks5 v4: the origin saw the proxy, not A" proxied "$TMP"/origin4.log
	arun socks5://$PX:$MS -- curl -sS --max-time 20 -o "$TMP"/got http://10.77.0.2:$HTTP/big
	check "socks5 v4: 2 MB intact" cmp -s "$TMP"/got "$WWW"/big
	arun socks5://$PX:$MS -- curl -sS -g --max-time 10 -o "$TMP"/got "http://[fd77::2]:$HTTP/hello"
	check "socks5 v6: curl got the origin's bytes" cmp -s "$TMP"/got "$WWW"/hello
	check "socks5 v6: the origin saw the proxy, not A" proxied "$TMP"/origin6.log
	arun "socks5://[$PX6]:$MS" -- curl -sS --max-time 10 -o "$TMP"/got http://10.77.0.2:$HTTP/hello
	check "socks5 at an IPv6 proxy address: curl got the bytes" cmp -s "$TMP"/got "$WWW"/hello
	arun socks5://$PX:$MS -- python3 -c "$PYCONNECT" 10.77.0.2 $HTTP
	check "socks5: getpeername() is the original destination" eq "$(cat "$TMP"/run.out)" "ok 10.77.0.2 $HTTP"
	arun socks5://$PX:$MS -- python3 -c "$PYCONNECT" fd77::2 $HTTP
	check "socks5 v6: getpeername() is the original destination" eq "$(cat "$TMP"/run.out)" "ok fd77::2 $HTTP"
}

# --- TCP Fast Open: sendto(MSG_FASTOPEN) connects too ------------------------------
PYTFO='import socket, sys
s = socket.socket()
s.sendto(b"GET /hello HTTP/1.0\r\n\r\n", socket.MSG_FASTOPEN, (sys.argv[1], int(sys.argv[2])))
data = b""
while True:
    b = s.recv(65536)
    if not b:
        break
    data += b
print(data.decode().split("\r\n\r\n", 1)[1], end="")
print("peer", s.getpeername()[0])'
test_tfo() {
	arun socks5://$PX:$MS -- python3 -c "$PYTFO" 10.77.0.2 $HTTP
	check "tcp fast open: the origin's bytes" eq "$(head -n 1 "$TMP"/run.out)" "$(cat "$WWW"/hello)"
	check "tcp fast open: getpeername the original" eq "$(tail -n 1 "$TMP"/run.out)" "peer 10.77.0.2"
	check "tcp fast open: through the proxy" proxied "$TMP"/origin4.log
}

# --- static binaries, which LD_PRELOAD tools cannot cover ------------------------
test_static() {
	check "busybox is static" static_elf "$(command -v busybox)"
	check "nftraffic-static is static" static_elf "$STATIC"
	arun socks5://$PX:$MS -- busybox wget -q -O "$TMP"/got http://10.77.0.2:$HTTP/hello
	check "static busybox wget: the origin's bytes" cmp -s "$TMP"/got "$WWW"/hello
	check "static busybox wget: through the proxy" proxied "$TMP"/origin4.log
	src
	arun socks5://$PX:$MS -- "$STATIC" fetch tcp 10.77.0.2 $SRCP --timeout 10000
	check "static test client: all $SIZE bytes" eq "$(field "$TMP"/run.out received)/$(field "$TMP"/run.out err)" "$SIZE/none"
}

# --- a password, right and wrong -------------------------------------------------
test_auth() {
	arun "socks5://nf:s3cret@$PX:$MSA" -- curl -sS --max-time 10 -o "$TMP"/got http://10.77.0.2:$HTTP/hello
	check "socks5 user/password: curl got the bytes" cmp -s "$TMP"/got "$WWW"/hello
	rm -f "$TMP"/got
	arun "socks5://nf:wrong@$PX:$MSA" -- curl -sS --max-time 10 -o "$TMP"/got http://10.77.0.2:$HTTP/hello
	check "socks5 wrong password: curl fails" eq "$(stat -c %s "$TMP"/got 2>/dev/null || echo none)" none
	check "socks5 wrong password: the connection is cut, no hang" contains "$(cat "$TMP"/run.err)" "curl: ("
}

# --- HTTP CONNECT through tinyproxy ------------------------------------------------
test_http_connect() {
	arun http://$PX:$TP -- curl -sS --max-time 10 -o "$TMP"/got http://10.77.0.2:$HTTP/hello
	check "http connect: curl got the bytes" cmp -s "$TMP"/got "$WWW"/hello
	check "http connect: the origin saw the proxy" proxied "$TMP"/origin4.log
	check "http connect: tinyproxy logged the CONNECT" eventually grep -q "CONNECT 10.77.0.2:$HTTP" "$TMP"/tinyproxy.log
	: > "$TMP"/udp4.log
	arun http://$PX:$TP -- python3 -c "$PYUDP" 10.77.0.2 $UDPP unconnected
	check "http proxy, UDP: refused (fail closed), nothing sent direct" eq \
		"$(grep -c ping-unconnected "$TMP"/udp4.log)/$(grep -c 'reply' "$TMP"/run.out)" "0/0"
}

# --- UDP through dante's UDP ASSOCIATE ---------------------------------------------
test_udp() {
	local m
	for m in unconnected connected; do
		arun socks5://$PX:$DT -- python3 -c "$PYUDP" 10.77.0.2 $UDPP $m
		check "udp $m: the reply comes from the original server" eq "$(cat "$TMP"/run.out)" \
			"reply 10.77.0.2 $UDPP echo ping-$m"
		check "udp $m: the server saw the proxy" one_of \
			"$(grep "ping-$m" "$TMP"/udp4.log | tail -n 1 | cut -d' ' -f2)" 10.77.0.2 10.77.0.3
		arun socks5://$PX:$DT -- python3 -c "$PYUDP" fd77::2 $UDPP $m
		check "udp v6 $m: the reply comes from the original server" eq "$(cat "$TMP"/run.out)" \
			"reply fd77::2 $UDPP echo ping-$m"
	done
	: > "$TMP"/dns.log
	arun socks5://$PX:$DT -- busybox nslookup -type=a host.test 10.77.0.2
	check "dns over udp (static busybox): answered, no hang" contains "$(cat "$TMP"/run.out)" "10.99.0.7"
	check "dns over udp: asked through the proxy" lt 0 "$(grep -c 'dns from' "$TMP"/dns.log)"
	check "dns over udp: nothing leaked past it" eq "$(grep -c 'from 10.77.0.1' "$TMP"/dns.log)" 0
}

# --- events carry the original destination and where it went -----------------------
subscribers() { nf -j status | python3 -c 'import json,sys; print(json.load(sys.stdin)["subscribers"])'; }
has_subscribers() { [ "$(subscribers)" -ge "$1" ]; }
test_events() {
	local evp before
	before=$(subscribers)
	"$NETFIL" -j events type connect,close > "$TMP"/ev.json &
	evp=$!
	eventually has_subscribers $((before + 1))
	arun socks5://$PX:$MS -- curl -sS --max-time 10 -o /dev/null http://10.77.0.2:$HTTP/hello
	eventually grep -q '"close".*"redirect"' "$TMP"/ev.json
	kill -INT $evp
	wait $evp
	check "events: connect and close name the origin and the relay" eq "$(python3 -c 'import json,sys
seen = set()
for l in open(sys.argv[1]):
    e = json.loads(l)
    if e.get("redirect") and e.get("comm") == "curl":
        seen.add("%s %s %s %s %s" % (e["type"], e["raddr"], e["rport"], e["to"], e["to"] == "127.0.0.1"))
print(";".join(sorted(seen)))' "$TMP"/ev.json)" "close 10.77.0.2 $HTTP 127.0.0.1 True;connect 10.77.0.2 $HTTP 127.0.0.1 True"
}

# --- the relay killed with -9: fail closed refuses at once, fail open goes direct -----
# relay_run POLICY: a tree covered by a proxy filter fetches before and after
# "netfil relay" dies; $TMP/k.out has both results
relay_kill() {
	local rp sh fid
	$A "$NETFIL" relay > "$TMP"/relay.out 2>&1 &
	rp=$!
	wait_file "$TMP"/relay.out && eventually grep -q "relay listening on" "$TMP"/relay.out
	rm -f "$TMP"/go "$TMP"/killed && mkfifo "$TMP"/go
	$A bash -c "read x < $TMP/go
		curl -sS --max-time 10 -o $TMP/k1 http://10.77.0.2:$HTTP/hello; echo first=\$?
		tail -n 1 $TMP/origin4.log | cut -d' ' -f1
		for i in \$(seq 1 400); do [ -e $TMP/killed ] && break; sleep 0.025; done
		t0=\$(date +%s%N)
		curl -sS --max-time 10 -o $TMP/k2 http://10.77.0.2:$HTTP/hello 2>&1; echo second=\$?
		echo ms=\$(( (\$(date +%s%N) - t0) / 1000000 ))
		tail -n 1 $TMP/origin4.log | cut -d' ' -f1" > "$TMP"/k.out 2>&1 &
	sh=$!
	fid=$(nf filter add socket tree $sh proxy socks5://$PX:$MS fail "$1")
	echo go > "$TMP"/go
	eventually grep -q "^first=" "$TMP"/k.out
	kill -9 $rp
	wait $rp 2>/dev/null
	touch "$TMP"/killed
	wait $sh
	nf filter del $fid
}
test_relay_killed() {
	relay_kill closed
	check "relay alive: curl through it" contains "$(cat "$TMP"/k.out)" "first=0"
	check "relay alive: the origin saw the proxy" one_of "$(sed -n 2p "$TMP"/k.out)" 10.77.0.2 10.77.0.3
	check "relay killed, fail closed: refused" contains "$(cat "$TMP"/k.out)" "second=7"
	check "relay killed, fail closed: at once (< 2 s)" lt "$(field "$TMP"/k.out ms)" 2000
	check "relay killed: no relay registered" eq "$(jget "$(nf -j status)" relay)" false
	relay_kill open
	check "relay killed, fail open: direct" contains "$(cat "$TMP"/k.out)" "second=0"
	check "relay killed, fail open: the origin saw A" eq "$(tail -n 1 "$TMP"/k.out)" 10.77.0.1
}

# --- no loop when the proxy runs inside the redirected tree ----------------------------
test_no_loop() {
	local n0
	n0=$(grep -c "GET /hello" "$TMP"/origin4.log)
	arun socks5://127.0.0.1:1090 -- bash -c "microsocks -i 127.0.0.1 -p 1090 & ms=\$!
		for i in \$(seq 1 200); do python3 -c \"import socket; socket.create_connection(('127.0.0.1', 1090)).close()\" 2>/dev/null && break; sleep 0.025; done
		curl -sS --max-time 10 -o $TMP/got http://10.77.0.2:$HTTP/hello; echo rc=\$?; kill \$ms"
	check "proxy inside the tree: curl got the bytes" cmp -s "$TMP"/got "$WWW"/hello
	check "proxy inside the tree: one request reached the origin, no loop" eq \
		"$(( $(grep -c "GET /hello" "$TMP"/origin4.log) - n0 ))" 1
	check "proxy inside the tree: the proxy connected directly" eq "$(last_peer "$TMP"/origin4.log)" 10.77.0.1
}

# --- an unrelated process is not redirected ---------------------------------------------
test_unrelated() {
	rm -f "$TMP"/go && mkfifo "$TMP"/go
	$A bash -c "read x < $TMP/go; curl -sS --max-time 10 -o $TMP/got2 http://10.77.0.2:$HTTP/hello" &
	local other=$!
	arun socks5://$PX:$MS -- bash -c "echo go > $TMP/go
		for i in \$(seq 1 400); do kill -0 $other 2>/dev/null || break; sleep 0.025; done"
	wait $other
	check "unrelated: curl got the bytes" cmp -s "$TMP"/got2 "$WWW"/hello
	check "unrelated: direct, not through the proxy" eq "$(last_peer "$TMP"/origin4.log)" 10.77.0.1
}

# --- limits count against the original destination's ip filter --------------------------
test_limits() {
	local ipf j
	ipf=$(nf filter add ip 10.77.0.2)
	arun socks5://$PX:$MS -- curl -sS --max-time 20 -o "$TMP"/got http://10.77.0.2:$HTTP/big
	j=$(nf -j filter show $ipf)
	check "limits: the proxied download counts on the origin's ip filter" \
		le $SIZE "$(jget "$j" bytes.in)"
	check "limits: once (the relay's and the proxy's legs are not the origin)" \
		lt "$(jget "$j" bytes.in)" $((SIZE * 11 / 10))
	nf filter del $ipf
	ipf=$(nf filter add ip 10.77.0.2 ibyte 300000)
	rm -f "$TMP"/got
	arun socks5://$PX:$MS -- curl -sS --max-time 5 -o "$TMP"/got http://10.77.0.2:$HTTP/big
	check "limits: the download stopped short" lt "$(stat -c %s "$TMP"/got 2>/dev/null || echo 0)" 300001
	check "limits: exceeded" eq "$(jget "$(nf -j filter show $ipf)" exceeded.in)" true
	check "limits: admitted <= limit" le "$(jget "$(nf -j filter show $ipf)" bytes.in)" 300000
	nf filter del $ipf
}

# --- an IP filter with ports and a protocol, through the relay ----------------------------
test_ip_filter() {
	local rp ipf
	$A "$NETFIL" relay --listen 127.0.0.1:1099 > "$TMP"/relay.out 2>&1 &
	rp=$!
	eventually grep -q "relay listening on 127.0.0.1:1099" "$TMP"/relay.out
	ipf=$(nf filter add ip 10.77.0.2 port $HTTP proto tcp proxy socks5://$PX:$MS)
	$A curl -sS --max-time 10 -o "$TMP"/got http://10.77.0.2:$HTTP/hello
	check "ip filter, port $HTTP: any process goes through the proxy" proxied "$TMP"/origin4.log
	$A python3 -c "$PYUDP" 10.77.0.2 $UDPP unconnected > "$TMP"/u.out
	check "ip filter, proto tcp: UDP goes direct" eq "$(tail -n 1 "$TMP"/udp4.log | cut -d' ' -f2)" 10.77.0.1
	src
	$A "$STATIC" fetch tcp 10.77.0.2 $SRCP --timeout 10000 > "$TMP"/f.out
	check "ip filter, another port: direct, all bytes" eq "$(field "$TMP"/f.out received)" $SIZE
	nf filter set $ipf port 1-65535
	src
	$A python3 -c "$PYCONNECT" 10.77.0.2 $SRCP > "$TMP"/c.out
	check "ip filter set to every port: still the original peer" eq "$(cat "$TMP"/c.out)" "ok 10.77.0.2 $SRCP"
	check "json: ports and proto" eq "$(jget "$(nf -j filter show $ipf)" redirect.ports)/$(jget "$(nf -j filter show $ipf)" redirect.proto)" "[1, 65535]/tcp"
	bad_table <<-EOF
	filter add socket pid $$ redirect to 127.0.0.1:1099|127.0.0.1:1099|relay's own address
	EOF
	kill $rp
	wait $rp
	nf filter del $ipf
}

# --- netfild runs the relay for persistent proxy filters ------------------------------------
test_netfild() {
	local fid
	fid=$(nf filter add socket exe "$(command -v curl)" proxy socks5://$PX:$MS fail closed)
	: > "$TMP"/d.log
	$A "$NETFILD" --stderr --state "$TMP"/state --config "$TMP"/none.conf --metrics-port 0 >> "$TMP"/d.log 2>&1 &
	DPID=$!
	wait_log "running:" && wait_log "relay listening on"
	$A curl -sS --max-time 10 -o "$TMP"/got http://10.77.0.2:$HTTP/hello
	check "netfild's relay: curl (root) got the bytes" cmp -s "$TMP"/got "$WWW"/hello
	check "netfild's relay: through the proxy" proxied "$TMP"/origin4.log
	check "status: a relay is registered" eq "$(jget "$(nf -j status)" relay)" true
	stop_d
	check "netfild's state file keeps the proxy filter" grep -q "proxy socks5://$PX:$MS fail closed" "$TMP"/state
	check "netfild stopped: its relay is gone" eq "$(jget "$(nf -j status)" relay)" false
	check "netfild stopped, fail closed: curl refused" eq \
		"$($A curl -sS --max-time 5 -o /dev/null http://10.77.0.2:$HTTP/hello 2>/dev/null; echo $?)" 7
	nf filter del $fid
}

# --- listing, JSON, set, save and restore --------------------------------------------------
test_text() {
	local id j saved
	$A sleep 60 &
	SLEEPER=$!
	id=$(nf filter add socket tree $SLEEPER obyte 1M proxy "socks5://nf:s3cret@$PX:$MSA" fail open)
	j=$(nf -j filter show $id)
	check "json: the proxy, password hidden" eq "$(jget "$j" redirect.proxy)" "socks5://nf:***@$PX:$MSA"
	check "json: to is the proxy's address" eq "$(jget "$j" redirect.to)/$(jget "$j" redirect.fail)" "$PX:$MSA/open"
	check "list: the proxy line, password hidden" contains "$(nf filter list)" "proxy socks5://nf:***@$PX:$MSA fail open"
	saved=$(nf save)
	check "save: the password kept" contains "$saved" "proxy socks5://nf:s3cret@$PX:$MSA fail open"
	nf filter del $id
	echo "$saved" | nf restore -
	check "restore: the proxy is back" eq "$(nf save | grep -v '^#')" "$(echo "$saved" | grep -v '^#')"
	nf filter set $id proxy http://$PX:$TP
	check "set: http proxy, fail closed when not named" eq \
		"$(jget "$(nf -j filter show $id)" redirect.proxy)/$(jget "$(nf -j filter show $id)" redirect.fail)" \
		"http://$PX:$TP/closed"
	nf filter set $id proxy none
	check "set proxy none: null" eq "$(jget "$(nf -j filter show $id)" redirect)" None
	id=$(nf filter add ip 10.66.0.0/16 port 80-90 proto udp redirect to 127.0.0.1:9)
	check "ip filter: list shows ports and proto" contains "$(nf filter list)" \
		"port 80-90 proto udp redirect to 127.0.0.1:9 fail closed"
	saved=$(nf save)
	nf restore /dev/null
	echo "$saved" | nf restore -
	check "ip filter: save/restore round trip" eq "$(nf save | grep -v '^#')" "$(echo "$saved" | grep -v '^#')"
	nf restore /dev/null
	kill $SLEEPER
}

# --- bad input: exit 1, one line naming the token, nothing changed -------------------------
test_bad_input() {
	$A sleep 60 &
	SLEEPER=$!
	nf filter add ip 10.9.9.8 > /dev/null
	bad_table <<-EOF
	filter add socket tree $SLEEPER proxy|URL
	filter add socket tree $SLEEPER proxy ftp://1.2.3.4:21|ftp
	filter add socket tree $SLEEPER proxy socks5:/1.2.3.4:1080|socks5:/1.2.3.4:1080
	filter add socket tree $SLEEPER proxy socks5://1.2.3.4|'1.2.3.4'|no port
	filter add socket tree $SLEEPER proxy socks5://1.2.3.4:0|0
	filter add socket tree $SLEEPER proxy socks5://1.2.3.4:65536|65536
	filter add socket tree $SLEEPER proxy socks5://:1080|':1080'|empty host
	filter add socket tree $SLEEPER proxy http://u:p@1.2.3.4:8080|'u'|only socks5
	filter add socket tree $SLEEPER proxy socks5://no-such-host.invalid:1080|no-such-host.invalid
	filter add socket tree $SLEEPER proxy socks5://1.2.3.4:1080 fail maybe|maybe
	filter add interface lo proxy socks5://1.2.3.4:1080|proxy
	filter add interface lo redirect to 1.2.3.4:80|redirect
	filter add socket tree $SLEEPER port 80 redirect to 1.2.3.4:80|port
	filter add ip 10.1.2.3 port 80|port
	filter add ip 10.1.2.3 port 0 redirect to 1.2.3.4:80|0
	filter add ip 10.1.2.3 port 90-80 redirect to 1.2.3.4:80|90-80
	filter add ip 10.1.2.3 port 70000 redirect to 1.2.3.4:80|70000
	filter add ip 10.1.2.3 proto sctp redirect to 1.2.3.4:80|sctp
	run proxy|URL
	run proxy gopher://x:1 -- true|gopher
	relay --listen 192.0.2.1:1080|192.0.2.1:1080
	relay --listen 127.0.0.1:0x|127.0.0.1:0x
	relay --bogus|--bogus
	EOF
	nf restore /dev/null
	kill $SLEEPER
}

main() {
	setup_cgroup || { log "cannot create test cgroup"; exit 1; }
	setup_net || { log "cannot create test namespaces"; exit 1; }
	nf load || { log "netfil load failed"; exit 1; }
	check "load: recvmsg programs attached" eq \
		"$(bpftool cgroup show "$NETFIL_CGROUP" | grep -cE 'nf_recvmsg4|nf_recvmsg6')" 2
	start_servers || { log "cannot start the servers"; exit 1; }
	for t in ${TESTS:-test_socks5_curl test_tfo test_static test_auth test_http_connect test_udp test_events \
		test_relay_killed test_no_loop test_unrelated test_limits test_ip_filter test_netfild \
		test_text test_bad_input}; do
		log "== $t"
		$t
	done
	[ -n "${MSPID:-}" ] && kill $MSPID 2>/dev/null
	summary
}

main
