#!/bin/bash
# Transparent redirects ("filter add socket MATCH redirect to ADDR:PORT"):
# curl in a redirected process tree reaches an HTTP server in another
# namespace through redsocks (which finds the original destination with
# SO_ORIGINAL_DST by itself) and microsocks, IPv4; through a small
# SO_ORIGINAL_DST proxy (tests/tproxy.py), IPv6.  Also getpeername(),
# unrelated processes, the fail policy, loops, limits and bad input.
# Usage: tests/redirect.sh (as root); NETFIL may name the CLI binary.
set -u
. "$(dirname "$0")/lib.sh"

trap cleanup EXIT
trap 'exit 1' INT TERM

WWW=$TMP/www
RS_PORT=12345		# redsocks, on 127.0.0.1 in A
MS_PORT=1080		# microsocks, on 127.0.0.1 in A
TP6_PORT=12346		# tproxy.py, on [::1] in A
DEAD_PORT=12399		# nothing listens here
HTTP=8080
SIZE=2000000

# pyconnect HOST PORT [MARK]: connect and print "ok PEER PEERPORT LOCAL",
# or the errno's name
PYCONNECT='import errno, socket, sys
h, p = sys.argv[1], int(sys.argv[2])
s = socket.socket(socket.AF_INET6 if ":" in h else socket.AF_INET)
if len(sys.argv) > 3:
    s.setsockopt(socket.SOL_SOCKET, socket.SO_MARK, int(sys.argv[3], 0))
try:
    s.connect((h, p))
except OSError as e:
    print(errno.errorcode[e.errno])
    sys.exit(0)
print("ok", s.getpeername()[0], s.getpeername()[1], s.getsockname()[0])'

# tree_run FILTER_OPTS... -- CMD: CMD (bash) runs in A in a shell that a
# "filter add socket tree SHELL FILTER_OPTS" covers from before its first
# socket; its output in $TMP/tree.out; the filter is deleted after.
tree_run() {
	local opts=() sh
	while [ "$1" != -- ]; do opts+=("$1"); shift; done
	shift
	rm -f "$TMP"/go && mkfifo "$TMP"/go
	$A bash -c "read x < $TMP/go; $*" > "$TMP"/tree.out 2>&1 &
	sh=$!
	FID=$(nf filter add socket tree $sh "${opts[@]}")
	echo go > "$TMP"/go
	wait $sh
	nf filter del $FID
}

nlines() { local n; n=$(grep -c "$2" "$1" 2>/dev/null); echo "${n:-0}"; }

start_servers() {
	mkdir -p "$WWW"
	head -c $SIZE /dev/urandom > "$WWW"/big
	echo "hello from the origin $RUN_ID" > "$WWW"/hello
	in_b python3 -m http.server $HTTP -d "$WWW" --bind 10.77.0.2 2> "$TMP"/origin4.log >/dev/null &
	in_b python3 -m http.server $HTTP -d "$WWW" --bind fd77::2 2> "$TMP"/origin6.log >/dev/null &
	in_a microsocks -i 127.0.0.1 -p $MS_PORT > "$TMP"/microsocks.log 2>&1 &
	cat > "$TMP"/redsocks.conf <<-EOF
	base { log_debug = off; log_info = on; log = "file:$TMP/redsocks.log"; daemon = off; redirector = iptables; }
	redsocks { local_ip = 127.0.0.1; local_port = $RS_PORT; ip = 127.0.0.1; port = $MS_PORT; type = socks5; }
	EOF
	in_a redsocks -c "$TMP"/redsocks.conf &
	in_a python3 "$ROOT"/tests/tproxy.py ::1 $TP6_PORT "$TMP"/tproxy6.log "$TMP"/tp6.ready &
	wait_file "$TMP"/tp6.ready || return 1
	# bounded: each server answers before the tests start
	eventually in_b curl -sf -o /dev/null http://10.77.0.2:$HTTP/hello || return 1
	eventually in_b curl -sf -g -o /dev/null "http://[fd77::2]:$HTTP/hello" || return 1
	eventually in_a python3 -c "import socket; socket.create_connection(('127.0.0.1', $RS_PORT)).close()" || return 1
	eventually in_a python3 -c "import socket; socket.create_connection(('127.0.0.1', $MS_PORT)).close()" || return 1
}

# --- (a) curl through redsocks -> microsocks, IPv4 -------------------------
test_redsocks_v4() {
	local before=$(nlines "$TMP"/redsocks.log "10.77.0.2:$HTTP")
	tree_run redirect to 127.0.0.1:$RS_PORT -- \
		"curl -sS --max-time 10 -o $TMP/got http://10.77.0.2:$HTTP/hello; echo rc=\$?"
	check "redsocks v4: curl succeeded" contains "$(cat "$TMP"/tree.out)" "rc=0"
	check "redsocks v4: curl got the origin's bytes" cmp -s "$TMP"/got "$WWW"/hello
	check "redsocks v4: redsocks found the original destination (SO_ORIGINAL_DST)" \
		lt "$before" "$(nlines "$TMP"/redsocks.log "10.77.0.2:$HTTP")"
	check "redsocks v4: the origin saw the request" contains "$(cat "$TMP"/origin4.log)" "GET /hello"
	tree_run redirect to 127.0.0.1:$RS_PORT -- \
		"curl -sS --max-time 20 -o $TMP/got http://10.77.0.2:$HTTP/big; echo rc=\$?"
	check "redsocks v4: 2 MB intact" cmp -s "$TMP"/got "$WWW"/big
}

# --- (a) IPv6 through tproxy.py (IP6T_SO_ORIGINAL_DST) -----------------------
test_tproxy_v6() {
	local before=$(nlines "$TMP"/tproxy6.log "orig fd77::2 $HTTP")
	tree_run redirect to "[::1]:$TP6_PORT" -- \
		"curl -sS -g --max-time 10 -o $TMP/got 'http://[fd77::2]:$HTTP/hello'; echo rc=\$?"
	check "v6: curl succeeded" contains "$(cat "$TMP"/tree.out)" "rc=0"
	check "v6: curl got the origin's bytes" cmp -s "$TMP"/got "$WWW"/hello
	check "v6: the proxy read the original destination" \
		lt "$before" "$(nlines "$TMP"/tproxy6.log "orig fd77::2 $HTTP")"
	check "v6: the origin saw the request" contains "$(cat "$TMP"/origin6.log)" "GET /hello"
}

# --- (b) getpeername() shows the original destination ------------------------
test_getpeername() {
	tree_run redirect to 127.0.0.1:$RS_PORT -- python3 -c "'$PYCONNECT'" 10.77.0.2 $HTTP
	check "getpeername v4: the original destination" eq "$(cat "$TMP"/tree.out)" "ok 10.77.0.2 $HTTP 127.0.0.1"
	tree_run redirect to "[::1]:$TP6_PORT" -- python3 -c "'$PYCONNECT'" fd77::2 $HTTP
	check "getpeername v6: the original destination" eq "$(cat "$TMP"/tree.out)" "ok fd77::2 $HTTP ::1"
	# an AF_INET6 socket to a v4-mapped address, to an IPv4 target
	tree_run redirect to 127.0.0.1:$RS_PORT -- python3 -c "'$PYCONNECT'" ::ffff:10.77.0.2 $HTTP
	check "getpeername v4-mapped: the original destination" eq "$(cat "$TMP"/tree.out)" \
		"ok ::ffff:10.77.0.2 $HTTP ::ffff:127.0.0.1"
	# an IPv6 target cannot take an AF_INET socket's connection: direct
	tree_run redirect to "[::1]:$TP6_PORT" -- python3 -c "'$PYCONNECT'" 10.77.0.2 $HTTP
	check "IPv6 target, AF_INET socket: goes direct" eq "$(cat "$TMP"/tree.out)" "ok 10.77.0.2 $HTTP 10.77.0.1"
}

# --- connect events carry the original destination and the actual one ------------
subscribers() { nf -j status | python3 -c 'import json,sys; print(json.load(sys.stdin)["subscribers"])'; }
has_subscribers() { [ "$(subscribers)" -ge "$1" ]; }
test_events() {
	local evp before
	before=$(subscribers)
	"$NETFIL" -j events type connect > "$TMP"/connect.ev &
	evp=$!
	eventually has_subscribers $((before + 1))
	tree_run redirect to 127.0.0.1:$RS_PORT -- python3 -c "'$PYCONNECT'" 10.77.0.2 $HTTP
	eventually grep -q '"redirect"' "$TMP"/connect.ev
	kill -INT $evp
	wait $evp
	check "events: connect names the original destination, the target and the filter" eq \
		"$(python3 -c 'import json,sys
for l in open(sys.argv[1]):
    e = json.loads(l)
    if e.get("redirect"):
        print(e["raddr"], e["rport"], e["to"], e["to_port"], e["redirect"] == int(sys.argv[2]), e["verdict"])' \
		"$TMP"/connect.ev $FID)" "10.77.0.2 $HTTP 127.0.0.1 $RS_PORT True allowed"
}

# --- (c) an unrelated process is not redirected --------------------------------
test_unrelated() {
	local other before
	rm -f "$TMP"/go2 && mkfifo "$TMP"/go2
	$A bash -c "read x < $TMP/go2; curl -sS --max-time 10 -o $TMP/got2 http://10.77.0.2:$HTTP/hello
		python3 -c '$PYCONNECT' 10.77.0.2 $HTTP > $TMP/out2" &
	other=$!
	before=$(nlines "$TMP"/redsocks.log "10.77.0.2:$HTTP")
	# the redirect filter exists while the other process connects
	tree_run redirect to 127.0.0.1:$RS_PORT -- "echo go > $TMP/go2
		for i in \$(seq 1 400); do kill -0 $other 2>/dev/null || break; sleep 0.025; done"
	wait $other
	check "unrelated: curl got the bytes" cmp -s "$TMP"/got2 "$WWW"/hello
	check "unrelated: not through redsocks" eq "$(nlines "$TMP"/redsocks.log "10.77.0.2:$HTTP")" "$before"
	check "unrelated: its peer is the server itself" eq "$(cat "$TMP"/out2)" "ok 10.77.0.2 $HTTP 10.77.0.1"
}

# --- (d) fail closed, fail open ----------------------------------------------------
test_fail_policy() {
	tree_run redirect to 127.0.0.1:$DEAD_PORT -- python3 -c "'$PYCONNECT'" 10.77.0.2 $HTTP
	check "fail closed (default), loopback target down: ECONNREFUSED" eq "$(cat "$TMP"/tree.out)" ECONNREFUSED
	tree_run redirect to 10.77.0.1:$DEAD_PORT fail closed -- python3 -c "'$PYCONNECT'" 10.77.0.2 $HTTP
	check "fail closed, the namespace's own address down: ECONNREFUSED" eq "$(cat "$TMP"/tree.out)" ECONNREFUSED
	tree_run redirect to "[::1]:$DEAD_PORT" -- python3 -c "'$PYCONNECT'" fd77::2 $HTTP
	check "fail closed, IPv6 target down: ECONNREFUSED" eq "$(cat "$TMP"/tree.out)" ECONNREFUSED
	tree_run redirect to 127.0.0.1:$DEAD_PORT fail open -- python3 -c "'$PYCONNECT'" 10.77.0.2 $HTTP
	check "fail open, target down: goes direct" eq "$(cat "$TMP"/tree.out)" "ok 10.77.0.2 $HTTP 10.77.0.1"
	tree_run redirect to 127.0.0.1:$DEAD_PORT fail open -- \
		"curl -sS --max-time 10 -o $TMP/got http://10.77.0.2:$HTTP/hello"
	check "fail open: curl got the bytes directly" cmp -s "$TMP"/got "$WWW"/hello
}

# --- a target in another namespace: redirected with no listener check --------------
test_remote_target() {
	local tp
	rm -f "$TMP"/tpc.ready
	in_c python3 "$ROOT"/tests/tproxy.py 10.78.0.2 12348 "$TMP"/tproxy-c.log "$TMP"/tpc.ready &
	tp=$!
	wait_file "$TMP"/tpc.ready
	tree_run redirect to 10.78.0.2:12348 -- python3 -c "'$PYCONNECT'" 10.77.0.2 $HTTP
	check "remote target: connected there, getpeername the original" eq "$(cat "$TMP"/tree.out)" \
		"ok 10.77.0.2 $HTTP 10.78.0.1"
	# curl stays connected until the proxy gives up on its upstream (C has
	# no route to B): the original destination is read before the close
	tree_run redirect to 10.78.0.2:12348 -- curl -s --max-time 5 http://10.77.0.2:$HTTP/hello
	check "remote target: its proxy read the original destination" \
		eventually grep -q "orig 10.77.0.2 $HTTP" "$TMP"/tproxy-c.log
	kill $tp
	wait $tp 2>/dev/null
}

# --- (e) no loops ----------------------------------------------------------------
test_no_loop() {
	local before=$(nlines "$TMP"/redsocks.log "10.77.0.2:$HTTP")
	tree_run redirect to 127.0.0.1:$RS_PORT -- python3 -c "'$PYCONNECT'" 10.77.0.2 $HTTP 0x6e660001
	check "relay mark: not redirected" eq "$(cat "$TMP"/tree.out)" "ok 10.77.0.2 $HTTP 10.77.0.1"
	tree_run redirect to 127.0.0.1:$RS_PORT -- python3 -c "'$PYCONNECT'" 127.0.0.1 $MS_PORT
	check "loopback destination: not redirected" eq "$(cat "$TMP"/tree.out)" "ok 127.0.0.1 $MS_PORT 127.0.0.1"
	check "no redirected connection reached redsocks" eq "$(nlines "$TMP"/redsocks.log "10.77.0.2:$HTTP")" "$before"
	# the proxy itself inside the redirected tree, on A's own address: its
	# upstream carries the relay mark, and a connection to the target
	# itself is left alone
	tree_run redirect to 10.77.0.1:12347 -- \
		"python3 $ROOT/tests/tproxy.py 10.77.0.1 12347 $TMP/tproxy-in.log $TMP/tpin.ready 0x6e660001 & tp=\$!
		 for i in \$(seq 1 200); do [ -e $TMP/tpin.ready ] && break; sleep 0.025; done
		 curl -sS --max-time 10 -o $TMP/got http://10.77.0.2:$HTTP/hello; echo rc=\$?
		 python3 -c '$PYCONNECT' 10.77.0.1 12347; kill \$tp"
	check "proxy inside the tree: curl got the bytes" cmp -s "$TMP"/got "$WWW"/hello
	check "proxy inside the tree: one redirected connection, no loop" eq \
		"$(nlines "$TMP"/tproxy-in.log "orig 10.77.0.2 $HTTP")/$(nlines "$TMP"/tproxy-in.log "upstream")" "1/0"
	check "connection to the target itself: not redirected" contains "$(cat "$TMP"/tree.out)" \
		"ok 10.77.0.1 12347 10.77.0.1"
}

# --- UDP to a transparent target: replies seem to come from the original server ----
UECHO='import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", int(sys.argv[1])))
open(sys.argv[2], "w").close()
while True:
    d, peer = s.recvfrom(2048)
    s.sendto(b"local " + d, peer)'
UCLIENT='import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(5)
if sys.argv[3] == "connected":
    s.connect((sys.argv[1], int(sys.argv[2]))); s.send(b"hi"); d = s.recv(100); src = s.getpeername()
else:
    s.sendto(b"hi", (sys.argv[1], int(sys.argv[2]))); d, src = s.recvfrom(100)
print(src[0], src[1], d.decode())'
test_udp_target() {
	local ue m
	rm -f "$TMP"/ue.ready
	$A python3 -c "$UECHO" 12350 "$TMP"/ue.ready &
	ue=$!
	wait_file "$TMP"/ue.ready
	for m in unconnected connected; do
		tree_run redirect to 127.0.0.1:12350 -- python3 -c "'$UCLIENT'" 10.77.0.2 5353 $m
		check "udp $m to a local target: the reply seems to come from the original server" \
			eq "$(cat "$TMP"/tree.out)" "10.77.0.2 5353 local hi"
	done
	kill $ue
	wait $ue 2>/dev/null
}

# --- an IP filter that names loopback redirects it; ports narrow it ---------------
test_ip_loopback() {
	local before ipf
	before=$(nlines "$TMP"/redsocks.log "127.0.0.2:$HTTP")
	ipf=$(nf filter add ip 127.0.0.2 port $HTTP proto tcp redirect to 127.0.0.1:$RS_PORT)
	$A python3 -c "$PYCONNECT" 127.0.0.2 $HTTP > "$TMP"/lo.out
	check "ip filter naming loopback: redirected, getpeername the original" eq \
		"$(cat "$TMP"/lo.out)" "ok 127.0.0.2 $HTTP 127.0.0.1"
	check "ip filter naming loopback: redsocks read the original destination" \
		eventually lt "$before" "$(nlines "$TMP"/redsocks.log "127.0.0.2:$HTTP")"
	$A python3 -c "$PYCONNECT" 127.0.0.2 $MS_PORT > "$TMP"/lo.out
	check "ip filter, another port: not redirected" eq "$(cat "$TMP"/lo.out)" ECONNREFUSED
	nf filter del $ipf
}

# --- (f) limits count against the original destination -----------------------------
test_limits() {
	local ipf j
	ipf=$(nf filter add ip 10.77.0.2)
	tree_run redirect to 127.0.0.1:$RS_PORT -- \
		"curl -sS --max-time 20 -o $TMP/got http://10.77.0.2:$HTTP/big; echo rc=\$?"
	j=$(nf -j filter show $ipf)
	# microsocks's own connection to the origin counts too: twice the file
	check "limits: the redirected connection counts on the origin's ip filter" \
		le $((2 * SIZE)) "$(jget "$j" bytes.in)"
	nf filter del $ipf
	ipf=$(nf filter add ip 10.77.0.2 ibyte 300000)
	rm -f "$TMP"/got	# curl may get nothing: the proxy's upstream shares the quota
	tree_run redirect to 127.0.0.1:$RS_PORT -- \
		"curl -sS --max-time 5 -o $TMP/got http://10.77.0.2:$HTTP/big; echo rc=\$?"
	check "limits: the origin's ip filter limits the redirected download" \
		lt "$(stat -c %s "$TMP"/got 2>/dev/null || echo 0)" $SIZE
	check "limits: curl did not complete" eq "$(grep -c 'rc=0$' "$TMP"/tree.out)" 0
	check "limits: exceeded" eq "$(jget "$(nf -j filter show $ipf)" exceeded.in)" true
	nf filter del $ipf
}

# --- listing, JSON, set, save and restore ----------------------------------------------
test_text() {
	local id j saved
	$A sleep 60 &
	SLEEPER=$!
	id=$(nf filter add socket tree $SLEEPER obyte 1M redirect to 127.0.0.1:$RS_PORT)
	j=$(nf -j filter show $id)
	check "json: redirect.to" eq "$(jget "$j" redirect.to)" "127.0.0.1:$RS_PORT"
	check "json: fail closed by default" eq "$(jget "$j" redirect.fail)" closed
	check "list: the redirect line" contains "$(nf filter list)" "redirect to 127.0.0.1:$RS_PORT fail closed"
	nf filter set $id redirect to "[::1]:1080" fail open
	j=$(nf -j filter show $id)
	check "set: new target and policy" eq "$(jget "$j" redirect.to)/$(jget "$j" redirect.fail)" "[::1]:1080/open"
	check "set: limits kept" eq "$(jget "$j" limits.obyte)" 1048576
	saved=$(nf save)
	check "save: the redirect words" contains "$saved" "redirect to [::1]:1080 fail open"
	nf filter del $id
	echo "$saved" | nf restore -
	check "restore: the redirect is back" eq "$(nf save | grep -v '^#')" "$(echo "$saved" | grep -v '^#')"
	nf filter set $id redirect none
	check "set redirect none: null" eq "$(jget "$(nf -j filter show $id)" redirect)" None
	nf filter set $id redirect to 127.0.0.1:9
	check "set: fail closed when not named" eq "$(jget "$(nf -j filter show $id)" redirect.fail)" closed
	check "json: ip filters have a null redirect" eq \
		"$(jget "$(nf -j filter show "$(nf filter add ip 10.9.9.9)")" redirect)" None
	nf restore /dev/null
	kill $SLEEPER
}

# --- (g) bad input: exit 1, one line naming the token, nothing changed ------------------
bad() {
	local token=$1 out rc
	shift
	out=$(nf "$@" 2>&1 >/dev/null)
	rc=$?
	check "bad input '$*': exit 1, one line naming '$token', no change" eq \
		"$rc/$(echo "$out" | wc -l)/$(contains "$out" "$token" && echo named)/$(nf save | grep -vc '^#')" \
		"1/1/named/$NBEFORE"
}
test_bad_input() {
	local ipid sid
	$A sleep 60 &
	SLEEPER=$!
	ipid=$(nf filter add ip 10.9.9.8)
	sid=$(nf filter add socket pid $SLEEPER)
	NBEFORE=$(nf save | grep -vc '^#')
	bad "'1.2.3.4'" filter add socket tree $SLEEPER redirect to 1.2.3.4
	bad "'1.2.3.4:0'" filter add socket tree $SLEEPER redirect to 1.2.3.4:0
	bad "'1.2.3.4:65536'" filter add socket tree $SLEEPER redirect to 1.2.3.4:65536
	bad "'1.2.3.4:99999999999999999999'" filter add socket tree $SLEEPER redirect to 1.2.3.4:99999999999999999999
	bad "'1.2.3.4:-1'" filter add socket tree $SLEEPER redirect to 1.2.3.4:-1
	bad "'1.2.3.4:x'" filter add socket tree $SLEEPER redirect to 1.2.3.4:x
	bad "'300.1.1.1:80'" filter add socket tree $SLEEPER redirect to 300.1.1.1:80
	bad "'::1:1080'" filter add socket tree $SLEEPER redirect to ::1:1080
	bad "'[::1:1080'" filter add socket tree $SLEEPER redirect to "[::1:1080"
	bad "'[::1]1080'" filter add socket tree $SLEEPER redirect to "[::1]1080"
	bad "'[1.2.3.4]:80'" filter add socket tree $SLEEPER redirect to "[1.2.3.4]:80"
	bad "'redirect'" filter add socket tree $SLEEPER redirect
	bad "'to'" filter add socket tree $SLEEPER redirect to
	bad "'via'" filter add socket tree $SLEEPER redirect via 1.2.3.4:80
	bad "'maybe'" filter add socket tree $SLEEPER redirect to 1.2.3.4:80 fail maybe
	bad "'fail'" filter add socket tree $SLEEPER redirect to 1.2.3.4:80 fail
	bad "'redirect'" filter add interface lo redirect to 1.2.3.4:80
	bad "'port'" filter set $ipid port 80
	bad "'port'" filter set $sid port 80 redirect to 1.2.3.4:80
	bad "'1.2.3.4:0'" filter set $sid redirect to 1.2.3.4:0
	nf restore /dev/null
	kill $SLEEPER
}

# --- unload leaves nothing of the new programs --------------------------------------------
test_unload() {
	nf unload
	check "unload: no cgroup attachments" eq "$(bpftool cgroup show "$NETFIL_CGROUP" | grep -c nf_)" 0
	check "unload: no pins" eq "$(ls "$NETFIL_PIN_DIR" 2>&1 | grep -c .)" 1
}

main() {
	setup_cgroup || { log "cannot create test cgroup"; exit 1; }
	setup_net || { log "cannot create test namespaces"; exit 1; }
	nf load || { log "netfil load failed"; exit 1; }
	check "load: getpeername and getsockopt programs attached" eq \
		"$(bpftool cgroup show "$NETFIL_CGROUP" | grep -cE 'nf_getpeername4|nf_getpeername6|nf_getsockopt')" 3
	start_servers || { log "cannot start the servers"; exit 1; }
	for t in ${TESTS:-test_redsocks_v4 test_tproxy_v6 test_getpeername test_events test_unrelated \
		test_fail_policy test_remote_target test_no_loop test_udp_target test_ip_loopback test_limits test_text test_bad_input test_unload}; do
		log "== $t"
		$t
	done
	summary
}

main
