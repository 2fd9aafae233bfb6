#!/bin/bash
# The relay engine (lib/relay.c, lib/proxy.c) against real proxies, with
# no kernel side: tests/relay_engine.c gives every connection one origin
# and one proxy, so a client connecting to the relay's own address
# reaches the origin through the proxy.
#
#   A (client, relay engine) --- B (microsocks, danted, tinyproxy) --- C (origins)
#   10.79.1.1 fd79:1::1          10.79.1.2 fd79:1::2 | 10.79.2.1 fd79:2::1   10.79.2.2 fd79:2::2
#
# A has no route to C: whatever reaches an origin went through a proxy,
# and the origin sees the proxy's address (10.79.2.1) as its peer.
# Every case runs with the release engine, then with the ASan+UBSan one.
# Usage: tests/relay_engine.sh (as root); ENGINE, ENGINE_ASAN name the
# binaries; RELAY_NO_ASAN=1 skips the second round; RELAY_TESTS="udp chunk"
# runs only those cases; RELAY_KEEP_LOGS=DIR keeps the logs there.
set -u
. "$(dirname "$0")/lib.sh"
# Debian's python3 and tools first, as tests/run.sh does (a shim is slow)
export PATH=/usr/sbin:/usr/bin:/sbin:/bin${PATH:+:$PATH}

ENGINE_REL=${ENGINE:-$ROOT/build/relay_engine}
ENGINE_ASAN=${ENGINE_ASAN:-$ROOT/build/asan/relay_engine}
TUSER=nf			# microsocks' username/password (dante's would need a system user)
TPASS=pw-$RUN_ID-$RANDOM
HTTP=8080			# python http.server, C (v4 and v6)
ECHO=9000			# TCP and UDP echo, C (v4 and v6)
DENIED=9001			# an echo port tinyproxy refuses to CONNECT to
MS=1080				# microsocks, B (10.79.1.2; [fd79:1::2] too)
DANTE=1081			# danted, B, TCP and UDP
MSAUTH=1084			# microsocks with username/password, B
TINY=8888			# tinyproxy, B
SILENT=1082			# accepts, never answers, B
DOOMED=1083			# a microsocks that is killed, B
SIZE=20000000
PIDS=()				# every server started, stopped by pid at the end
EPID=

trap relay_cleanup EXIT
trap 'exit 1' INT TERM

relay_cleanup() {
	local p
	trap - EXIT INT TERM
	[ -n "$EPID" ] && kill -TERM "$EPID" 2>/dev/null
	for p in "${PIDS[@]}"; do
		kill -TERM -- "-$p" 2>/dev/null || kill -TERM "$p" 2>/dev/null
	done
	for p in "${PIDS[@]}" $EPID; do
		for _ in $(seq 1 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.02; done
		kill -KILL -- "-$p" 2>/dev/null; kill -KILL "$p" 2>/dev/null
	done
	wait 2>/dev/null
	if [ -n "${RELAY_KEEP_LOGS:-}" ]; then
		mkdir -p "$RELAY_KEEP_LOGS" && cp "$TMP"/*.log "$TMP"/*.err "$TMP"/*.stats "$RELAY_KEEP_LOGS"/ 2>/dev/null
	fi
	for ns in $NS_A $NS_B $NS_C; do ip netns del "$ns" 2>/dev/null; done
	rm -rf "$TMP"
}

# start NS CMD...: a server in NS, in a process group of its own (danted
# forks helpers: they go with it); its pid in PIDS and LAST.
start() {
	local ns=$1
	shift
	setsid nsenter --net=/run/netns/"$ns" "$@" &
	LAST=$!
	PIDS+=("$LAST")
}

stop_pid() {
	kill -TERM -- "-$1" 2>/dev/null
	for _ in $(seq 1 100); do kill -0 "$1" 2>/dev/null || break; sleep 0.02; done
	kill -KILL -- "-$1" 2>/dev/null
	wait "$1" 2>/dev/null
}

setup_topology() {
	ip netns add $NS_A && ip netns add $NS_B && ip netns add $NS_C || return 1
	ip link add rab-$RUN_ID netns $NS_A type veth peer name rba-$RUN_ID netns $NS_B || return 1
	ip link add rbc-$RUN_ID netns $NS_B type veth peer name rcb-$RUN_ID netns $NS_C || return 1
	for ns in $NS_A $NS_B $NS_C; do ip -n $ns link set lo up; done
	ip -n $NS_A link set rab-$RUN_ID name vab
	ip -n $NS_B link set rba-$RUN_ID name vba
	ip -n $NS_B link set rbc-$RUN_ID name vbc
	ip -n $NS_C link set rcb-$RUN_ID name vcb
	ip -n $NS_A addr add 10.79.1.1/24 dev vab
	ip -n $NS_A addr add fd79:1::1/64 dev vab nodad
	ip -n $NS_B addr add 10.79.1.2/24 dev vba
	ip -n $NS_B addr add fd79:1::2/64 dev vba nodad
	ip -n $NS_B addr add 10.79.2.1/24 dev vbc
	ip -n $NS_B addr add fd79:2::1/64 dev vbc nodad
	ip -n $NS_C addr add 10.79.2.2/24 dev vcb
	ip -n $NS_C addr add fd79:2::2/64 dev vcb nodad
	ip -n $NS_A link set vab up
	ip -n $NS_B link set vba up
	ip -n $NS_B link set vbc up
	ip -n $NS_C link set vcb up
}

# The test's clients and servers (python: no other dependency).
write_tool() {
	cat > "$TMP"/tool.py <<-'EOF'
	import errno, socket, sys, threading, time

	def fam(h):
	    return socket.AF_INET6 if ":" in h else socket.AF_INET

	def hostport(hp):
	    h, p = hp.rsplit(":", 1)
	    return h.strip("[]"), int(p)

	def pattern(n):
	    base = bytes(range(ord("a"), ord("z") + 1)) + b"0123456789\n"
	    return (base * (n // len(base) + 1))[:n]

	def echo(addr, port, log, ready):
	    """TCP echo (half-close aware) and UDP echo on addr:port; peers logged."""
	    out = open(log, "a", buffering=1)
	    t = socket.socket(fam(addr), socket.SOCK_STREAM)
	    t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
	    t.bind((addr, port)); t.listen(64)
	    u = socket.socket(fam(addr), socket.SOCK_DGRAM)
	    u.bind((addr, port))
	    def serve(c, peer):
	        out.write("tcp %s\n" % peer[0])
	        try:
	            while True:
	                b = c.recv(65536)
	                if not b:
	                    break
	                c.sendall(b)
	            c.shutdown(socket.SHUT_WR)
	        except OSError:
	            pass
	        c.close()
	    def udp():
	        while True:
	            b, peer = u.recvfrom(65536)
	            out.write("udp %s %d\n" % (peer[0], len(b)))
	            u.sendto(b, peer)
	    threading.Thread(target=udp, daemon=True).start()
	    open(ready, "w").close()
	    while True:
	        c, peer = t.accept()
	        threading.Thread(target=serve, args=(c, peer), daemon=True).start()

	def silent(addr, port, ready):
	    """Accepts, reads, never answers: a proxy that hangs."""
	    t = socket.socket(fam(addr), socket.SOCK_STREAM)
	    t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
	    t.bind((addr, port)); t.listen(64)
	    open(ready, "w").close()
	    held = []
	    while True:
	        c, _ = t.accept()
	        held.append(c)

	def tcp(hp, n, mode, half="half"):
	    """Send n bytes, half-close, read to EOF; the echo must come back
	    as mode says (same, upper, double).  "whole": no half-close, read
	    what is wanted and close (tinyproxy ends a tunnel at the first EOF)."""
	    data = pattern(n)
	    want = {"same": data, "upper": data.upper(),
	            "double": bytes(b for x in data for b in (x, x))}[mode]
	    s = socket.create_connection(hostport(hp), timeout=20)
	    got = []
	    def rx():
	        n = 0
	        try:
	            while half == "half" or n < len(want):
	                b = s.recv(1 << 20)
	                if not b:
	                    break
	                got.append(b)
	                n += len(b)
	        except OSError as e:
	            got.append(e)
	    th = threading.Thread(target=rx); th.start()
	    try:
	        s.sendall(data)
	        if half == "half":
	            s.shutdown(socket.SHUT_WR)
	    except OSError as e:
	        print("error send", errno.errorcode.get(e.errno, e)); return
	    th.join(60)
	    errs = [g for g in got if isinstance(g, Exception)]
	    if errs:
	        print("error recv", errs[0]); return
	    b = b"".join(got)
	    if b == want:
	        print("ok", len(data), len(b))
	    else:
	        i = next((i for i in range(min(len(b), len(want))) if b[i] != want[i]), min(len(b), len(want)))
	        print("mismatch sent", len(data), "got", len(b), "want", len(want), "first difference at", i)

	def reset(hp):
	    """What the relay does to a connection: "reset", "eof" or "data"."""
	    s = socket.create_connection(hostport(hp), timeout=20)
	    t0 = time.monotonic()
	    try:
	        s.sendall(b"hello\n")
	        b = s.recv(100)
	        r = "data" if b else "eof"
	    except ConnectionResetError:
	        r = "reset"
	    except socket.timeout:
	        r = "timeout"
	    print(r, "%.1f" % (time.monotonic() - t0))

	def hold(hp, ready, secs):
	    s = socket.create_connection(hostport(hp), timeout=20)
	    s.sendall(b"x")
	    s.recv(1)
	    open(ready, "w").close()
	    time.sleep(float(secs))

	def udp(hp, n):
	    """n datagrams one at a time, each echoed; then a burst of n."""
	    s = socket.socket(fam(hostport(hp)[0]), socket.SOCK_DGRAM)
	    s.connect(hostport(hp))
	    s.settimeout(5)
	    ok = 0
	    for i in range(n):
	        d = pattern(1 + (i * 97) % 1400)[::-1] + b"#%d" % i
	        s.send(d)
	        try:
	            if s.recv(65536) == d:
	                ok += 1
	        except OSError:
	            pass
	    burst = [b"burst %d " % i + pattern(i * 50) for i in range(n)]
	    for d in burst:
	        s.send(d)
	    got = set()
	    s.settimeout(2)
	    try:
	        while len(got) < n:
	            got.add(s.recv(65536))
	    except OSError:
	        pass
	    print("one-by-one", ok, "burst", len(got & set(burst)))

	def udp_once(hp):
	    s = socket.socket(fam(hostport(hp)[0]), socket.SOCK_DGRAM)
	    s.connect(hostport(hp))
	    s.settimeout(1)
	    s.send(b"ping")
	    try:
	        print("reply", s.recv(100).decode())
	    except OSError:
	        print("none")

	globals()[sys.argv[1]](*[int(a) if a.isdigit() else a for a in sys.argv[2:]])
	EOF
}

start_servers() {
	local p
	mkdir -p "$TMP"/www
	head -c $SIZE /dev/urandom > "$TMP"/www/big
	echo "hello from the origin $RUN_ID" > "$TMP"/www/hello
	chmod -R a+rX "$TMP"
	start $NS_C python3 -m http.server $HTTP -d "$TMP"/www --bind 10.79.2.2 2> "$TMP"/http4.log >/dev/null
	start $NS_C python3 -m http.server $HTTP -d "$TMP"/www --bind fd79:2::2 2> "$TMP"/http6.log >/dev/null
	for p in $ECHO $DENIED; do
		start $NS_C python3 "$TMP"/tool.py echo 10.79.2.2 $p "$TMP"/echo4.log "$TMP"/echo4-$p.ready
		start $NS_C python3 "$TMP"/tool.py echo fd79:2::2 $p "$TMP"/echo6.log "$TMP"/echo6-$p.ready
	done
	start $NS_B microsocks -i 10.79.1.2 -p $MS > "$TMP"/microsocks.log 2>&1
	start $NS_B microsocks -i fd79:1::2 -p $MS > "$TMP"/microsocks6.log 2>&1
	start $NS_B python3 "$TMP"/tool.py silent 10.79.1.2 $SILENT "$TMP"/silent.ready

	start $NS_B microsocks -i 10.79.1.2 -p $MSAUTH -u "$TUSER" -P "$TPASS" > "$TMP"/msauth.log 2>&1
	dante_conf "$TMP"/danted.conf 10.79.1.2 $DANTE vbc
	start $NS_B danted -f "$TMP"/danted.conf
	cat > "$TMP"/tinyproxy.conf <<-EOF
	Port $TINY
	Listen 10.79.1.2
	Timeout 30
	MaxClients 50
	LogLevel Info
	LogFile "$TMP/tinyproxy.log"
	Allow 10.79.1.0/24
	ConnectPort $HTTP
	ConnectPort $ECHO
	EOF
	start $NS_B tinyproxy -d -c "$TMP"/tinyproxy.conf
	# bounded: each server answers before the tests start
	for f in echo4-$ECHO echo6-$ECHO echo4-$DENIED echo6-$DENIED silent; do
		wait_file "$TMP"/$f.ready || return 1
	done
	eventually in_c curl -sf -o /dev/null http://10.79.2.2:$HTTP/hello || return 1
	eventually in_c curl -sf -g -o /dev/null "http://[fd79:2::2]:$HTTP/hello" || return 1
	for hp in 10.79.1.2:$MS [fd79:1::2]:$MS 10.79.1.2:$DANTE 10.79.1.2:$TINY 10.79.1.2:$MSAUTH; do
		eventually in_a python3 -c "import socket; socket.create_connection(('${hp%:*}'.strip('[]'), ${hp##*:}), timeout=1).close()" ||
			{ log "  $hp does not answer"; return 1; }
	done
}

# engine NAME ARGS...: the relay engine in A; its addresses in R4, R6,
# its stats in $STATS, its pid in EPID.
engine() {
	local name=$1 i
	shift
	ENAME=$name
	STATS=$TMP/$name.stats
	rm -f "$STATS" "$TMP/$name.addr"
	# nsenter execs: $! is the engine itself (not a subshell running in_a)
	nsenter --net=/run/netns/$NS_A env ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
		"$ENG" --stats "$STATS" "$@" > "$TMP/$name.addr" 2> "$TMP/$name.err" &
	EPID=$!
	for i in $(seq 1 400); do
		[ -s "$TMP/$name.addr" ] && [ -s "$STATS" ] && break
		kill -0 $EPID 2>/dev/null || break
		sleep 0.025
	done
	read -r R4 R6 < "$TMP/$name.addr"
	[ -n "${R4:-}" ] || { log "  engine $name did not start:"; sed 's/^/  | /' "$TMP/$name.err" >&2; return 1; }
}

# stop_engine: SIGTERM, and the checks every engine run ends with
stop_engine() {
	local rc
	kill -TERM $EPID
	wait $EPID
	rc=$?
	EPID=
	check "$PFX$ENAME: the engine exits 0" eq "$rc" 0
	check "$PFX$ENAME: nothing on stderr (sanitizers quiet)" eq "$(head -c 600 "$TMP/$ENAME.err")" ""
	check "$PFX$ENAME: on_close once per connection" \
		eq "$(awk '$1 == "exit" { split($2, o, "="); split($3, c, "=");
			print o[2] == c[2] ? "yes" : $0 }' "$STATS")" yes
}

# st KEY: a counter of the running engine
st() { sed -n "1s/.*\\b$1=\\([0-9]*\\).*/\\1/p" "$STATS"; }
# until_st KEY OP VALUE: bounded wait (5 s) for the counter to satisfy it
until_st() {
	local i v
	for i in $(seq 1 200); do
		v=$(st "$1")
		[ -n "$v" ] && [ "$v" "$2" "$3" ] && return 0
		sleep 0.025
	done
	log "  $1=$(st "$1"), want $2 $3"
	return 1
}

tool() { in_a python3 "$TMP"/tool.py "$@"; }
sha() { sha256sum < "$1" | cut -d' ' -f1; }
nlines() { local n; n=$(grep -c -- "$2" "$1" 2>/dev/null); echo "${n:-0}"; }

# --- SOCKS5 through microsocks, IPv4 origin, splice path ---------------------
test_microsocks_v4() {
	local before
	before=$(nlines "$TMP"/http4.log '^10.79.2.1 ')
	engine ms4 --origin 10.79.2.2:$HTTP --proxy socks5://10.79.1.2:$MS || return
	in_a curl -sS --max-time 60 -o "$TMP"/got "http://$R4/big"
	check "$PFX""microsocks v4: 20 MB intact" eq "$(sha "$TMP"/got)" "$(sha "$TMP"/www/big)"
	check "$PFX""microsocks v4: the origin's peer is the proxy" \
		lt "$before" "$(nlines "$TMP"/http4.log '^10.79.2.1 ')"
	in_a curl -sS -g --max-time 10 -o "$TMP"/got "http://[::1]:${R6##*:}/hello"
	check "$PFX""microsocks v4: through the relay's ::1 listener" cmp -s "$TMP"/got "$TMP"/www/hello
	check "$PFX""microsocks v4: every connection closed" until_st active -eq 0
	check "$PFX""microsocks v4: counted" eq "$(st accepted)/$(st proxy_errors)/$(st refused)" "2/0/0"
	check "$PFX""microsocks v4: bytes in" le $SIZE "$(st bytes_in)"
	check "$PFX""microsocks v4: splice path (on_data never called)" eq "$(st chunk_in)" 0
	stop_engine
}

# --- SOCKS5 ATYP 4: an IPv6 origin; and a proxy on an IPv6 address ----------
test_microsocks_v6() {
	local before
	before=$(nlines "$TMP"/http6.log '^fd79:2::1 ')
	engine ms6 --origin "[fd79:2::2]:$HTTP" --proxy socks5://10.79.1.2:$MS || return
	in_a curl -sS --max-time 60 -o "$TMP"/got "http://$R4/big"
	check "$PFX""IPv6 origin: 20 MB intact" eq "$(sha "$TMP"/got)" "$(sha "$TMP"/www/big)"
	check "$PFX""IPv6 origin: the origin's peer is the proxy" \
		lt "$before" "$(nlines "$TMP"/http6.log '^fd79:2::1 ')"
	stop_engine
	engine ms6p --origin 10.79.2.2:$HTTP --proxy "socks5://[fd79:1::2]:$MS" || return
	in_a curl -sS --max-time 10 -o "$TMP"/got "http://$R4/hello"
	check "$PFX""proxy on IPv6: the origin's bytes" cmp -s "$TMP"/got "$TMP"/www/hello
	stop_engine
}

# --- username/password (microsocks), good and bad; dante ------------------------
test_dante_auth() {
	local out
	engine auth-ok --origin 10.79.2.2:$HTTP --proxy "socks5://$TUSER:$TPASS@10.79.1.2:$MSAUTH" || return
	in_a curl -sS --max-time 60 -o "$TMP"/got "http://$R4/big"
	check "$PFX""good password: 20 MB intact" eq "$(sha "$TMP"/got)" "$(sha "$TMP"/www/big)"
	check "$PFX""good password: no proxy error" eq "$(st proxy_errors)" 0
	stop_engine
	engine dante-ok --origin 10.79.2.2:$HTTP --proxy "socks5://10.79.1.2:$DANTE" || return
	in_a curl -sS --max-time 60 -o "$TMP"/got "http://$R4/big"
	check "$PFX""dante: 20 MB intact" eq "$(sha "$TMP"/got)" "$(sha "$TMP"/www/big)"
	stop_engine
	# the client half-closes: the echo still comes back whole, then EOF
	engine dante-half --origin 10.79.2.2:$ECHO --proxy "socks5://10.79.1.2:$DANTE" || return
	out=$(tool tcp "$R4" 2000000 same half 2>&1)
	check "$PFX""dante: half-close, the echo of 2 MB comes back whole" contains "$out" "ok 2000000 2000000"
	check "$PFX""dante half-close: every connection closed" until_st active -eq 0
	check "$PFX""dante: half-close, both directions counted" eq "$(st bytes_out)/$(st bytes_in)" \
		"2000000/2000000"
	stop_engine
	engine auth-bad --origin 10.79.2.2:$HTTP --proxy "socks5://$TUSER:wrong@10.79.1.2:$MSAUTH" || return
	out=$(tool reset "$R4" 2>&1)
	check "$PFX""bad password: the client is reset" contains "$out" "reset"
	until_st proxy_errors -eq 1
	check "$PFX""bad password: one proxy error" eq "$(st proxy_errors)" 1
	in_a curl -sS --max-time 10 -o /dev/null "http://$R4/hello" 2> "$TMP"/curl.err
	# a reset, seen by curl wherever it is: connecting (7), asking the peer's
	# name (55) or receiving (56); never a timeout (28) or a reply
	check "$PFX""bad password: curl sees a reset" one_of \
		"$(sed -n 's/^curl: (\([0-9]*\)).*/\1/p' "$TMP"/curl.err | head -n 1)" 7 55 56
	stop_engine
}

# --- HTTP CONNECT through tinyproxy ----------------------------------------------
test_tinyproxy() {
	local out
	engine tiny --origin 10.79.2.2:$HTTP --proxy http://10.79.1.2:$TINY || return
	in_a curl -sS --max-time 60 -o "$TMP"/got "http://$R4/big"
	check "$PFX""tinyproxy: 20 MB intact" eq "$(sha "$TMP"/got)" "$(sha "$TMP"/www/big)"
	check "$PFX""tinyproxy: it saw CONNECT" contains "$(cat "$TMP"/tinyproxy.log)" "CONNECT"
	check "$PFX""tinyproxy: no proxy error" eq "$(st proxy_errors)" 0
	stop_engine
	engine tiny6 --origin "[fd79:2::2]:$ECHO" --proxy http://10.79.1.2:$TINY || return
	out=$(tool tcp "$R4" 3000000 same whole 2>&1)
	check "$PFX""tinyproxy, IPv6 origin: echo of 3 MB intact" contains "$out" "ok 3000000 3000000"
	stop_engine
	# a port tinyproxy does not CONNECT to: 403, the client is reset
	engine tiny-403 --origin 10.79.2.2:$DENIED --proxy http://10.79.1.2:$TINY || return
	out=$(tool reset "$R4" 2>&1)
	check "$PFX""tinyproxy, 403: the client is reset" contains "$out" "reset"
	until_st proxy_errors -eq 1
	stop_engine
}

# --- the chunk path: on_data sees and rewrites the bytes -------------------------
# (echoes of megabytes go through dante: microsocks, one blocking thread per
# connection, deadlocks on a full-duplex stream by itself, and neither it
# nor tinyproxy keeps a half-closed tunnel open)
test_chunk() {
	local out
	engine chunk-upper --origin 10.79.2.2:$ECHO --proxy "socks5://10.79.1.2:$DANTE" \
		--chunk upper || return
	out=$(tool tcp "$R4" 5000000 upper 2>&1)
	check "$PFX""chunk upper: the origin echoed what on_data made of it" contains "$out" "ok 5000000 5000000"
	check "$PFX""chunk upper: every connection closed" until_st active -eq 0
	check "$PFX""chunk upper: on_data saw every byte out" eq "$(st chunk_out)" 5000000
	check "$PFX""chunk upper: and every byte in" eq "$(st chunk_in)" 5000000
	stop_engine
	engine chunk-count --origin 10.79.2.2:$HTTP --proxy socks5://10.79.1.2:$MS --chunk count || return
	in_a curl -sS --max-time 60 -o "$TMP"/got "http://$R4/big"
	check "$PFX""chunk count (microsocks): 20 MB intact" eq "$(sha "$TMP"/got)" "$(sha "$TMP"/www/big)"
	check "$PFX""chunk count: every connection closed" until_st active -eq 0
	check "$PFX""chunk count: on_data saw every byte in" eq "$(st chunk_in)" "$(st bytes_in)"
	stop_engine
	engine chunk-double --origin 10.79.2.2:$ECHO --proxy "socks5://10.79.1.2:$DANTE" \
		--chunk double || return
	out=$(tool tcp "$R4" 3000000 double 2>&1)
	check "$PFX""chunk double: on_data grew every chunk (dante)" contains "$out" "ok 3000000 6000000"
	check "$PFX""chunk double: every connection closed" until_st active -eq 0
	check "$PFX""chunk double: forwarded bytes counted after on_data" eq "$(st bytes_in)" 6000000
	stop_engine
}

# --- a switch of path mid-stream: nothing lost, nothing reordered ------------
test_switch() {
	local out
	engine switch --origin 10.79.2.2:$HTTP --proxy socks5://10.79.1.2:$MS --switch 40 || return
	# slow enough for ~100 switches, with the pipe full when many happen
	in_a curl -sS --max-time 60 --limit-rate 5M -o "$TMP"/got "http://$R4/big"
	check "$PFX""switch: 20 MB intact" eq "$(sha "$TMP"/got)" "$(sha "$TMP"/www/big)"
	check "$PFX""switch: many switches" le 20 "$(st switches)"
	check "$PFX""switch: no failed switch" eq "$(st switch_errors)" 0
	check "$PFX""switch: some bytes through on_data" lt 0 "$(st chunk_in)"
	check "$PFX""switch: some bytes spliced" lt "$(st chunk_in)" "$(st bytes_in)"
	stop_engine
	engine switch-echo --origin 10.79.2.2:$ECHO --proxy "socks5://10.79.1.2:$DANTE" \
		--switch 5 || return
	out=$(tool tcp "$R4" 30000000 same 2>&1)
	check "$PFX""switch, both ways: echo of 30 MB intact" contains "$out" "ok 30000000 30000000"
	check "$PFX""switch, both ways: switched" le 2 "$(st switches)"
	stop_engine
}

# --- UDP ASSOCIATE through dante ---------------------------------------------------
test_udp() {
	local out before
	before=$(nlines "$TMP"/echo4.log '^udp 10.79.2.1 ')
	engine udp --origin 10.79.2.2:$ECHO --proxy "socks5://10.79.1.2:$DANTE" \
		--udp-idle 600 || return
	out=$(tool udp "$R4" 20 2>&1)
	check "$PFX""udp (dante): every datagram echoed, one by one and in a burst" \
		eq "$out" "one-by-one 20 burst 20"
	check "$PFX""udp (dante): the origin's peer is the proxy" \
		le $((before + 40)) "$(nlines "$TMP"/echo4.log '^udp 10.79.2.1 ')"
	until_st dgram_in -ge 40
	check "$PFX""udp (dante): counted" eq "$(st dgram_out)/$(st dgram_in)/$(st udp_dropped)" "40/40/0"
	check "$PFX""udp (dante): one session" eq "$(st udp_sessions)" 1
	check "$PFX""udp (dante): the session ends when idle" until_st udp_sessions -eq 0
	out=$(tool udp "$R6" 5 2>&1)
	check "$PFX""udp (dante), via ::1: a new session carries them" eq "$out" "one-by-one 5 burst 5"
	stop_engine
	engine udp6 --origin "[fd79:2::2]:$ECHO" --proxy "socks5://10.79.1.2:$DANTE" || return
	out=$(tool udp "$R4" 5 2>&1)
	check "$PFX""udp (dante), IPv6 origin" eq "$out" "one-by-one 5 burst 5"
	stop_engine
	# no UDP through an HTTP proxy: dropped, counted
	engine udp-http --origin 10.79.2.2:$ECHO --proxy http://10.79.1.2:$TINY || return
	check "$PFX""udp via an http proxy: no reply" eq "$(tool udp_once "$R4")" "none"
	check "$PFX""udp via an http proxy: dropped, counted" until_st udp_dropped -eq 1
	stop_engine
	# microsocks does not do UDP ASSOCIATE: a proxy error, no reply
	engine udp-ms --origin 10.79.2.2:$ECHO --proxy socks5://10.79.1.2:$MS || return
	check "$PFX""udp via microsocks: no reply" eq "$(tool udp_once "$R4")" "none"
	check "$PFX""udp via microsocks: a proxy error" until_st proxy_errors -eq 1
	check "$PFX""udp via microsocks: the session is gone" until_st udp_sessions -eq 0
	stop_engine
}

# --- proxies that fail: killed, hanging; and max_conns -------------------------
test_failures() {
	local out pid t
	start $NS_B microsocks -i 10.79.1.2 -p $DOOMED > /dev/null 2>&1
	pid=$LAST
	eventually in_a python3 -c "import socket; socket.create_connection(('10.79.1.2', $DOOMED), timeout=1).close()"
	engine doomed --origin 10.79.2.2:$HTTP --proxy socks5://10.79.1.2:$DOOMED || return
	in_a curl -sS --max-time 10 -o "$TMP"/got "http://$R4/hello"
	check "$PFX""killed proxy: works while it lives" cmp -s "$TMP"/got "$TMP"/www/hello
	stop_pid "$pid"
	out=$(tool reset "$R4" 2>&1)
	check "$PFX""killed proxy: the client is reset" contains "$out" "reset"
	check "$PFX""killed proxy: a proxy error" until_st proxy_errors -eq 1
	stop_engine
	engine silent --origin 10.79.2.2:$HTTP --proxy socks5://10.79.1.2:$SILENT --timeout 700 || return
	out=$(tool reset "$R4" 2>&1)
	t=${out#* }
	check "$PFX""hanging proxy: the client is reset" contains "$out" "reset"
	check "$PFX""hanging proxy: after connect_timeout_ms (0.7 s)" \
		awk -v t="$t" 'BEGIN { exit !(t >= 0.6 && t < 3) }'
	check "$PFX""hanging proxy: a proxy error" until_st proxy_errors -eq 1
	stop_engine
	engine max1 --origin 10.79.2.2:$ECHO --proxy socks5://10.79.1.2:$MS --max-conns 1 || return
	nsenter --net=/run/netns/$NS_A python3 "$TMP"/tool.py hold "$R4" "$TMP"/held 3 &
	pid=$!
	wait_file "$TMP"/held
	out=$(tool reset "$R4" 2>&1)
	check "$PFX""max_conns 1: the second connection is reset" contains "$out" "reset"
	check "$PFX""max_conns 1: refused counted" until_st refused -eq 1
	check "$PFX""max_conns 1: one accepted" eq "$(st accepted)" 1
	kill $pid 2>/dev/null
	wait $pid 2>/dev/null
	rm -f "$TMP"/held
	check "$PFX""max_conns 1: room again once it closed" until_st active -eq 0
	out=$(tool tcp "$R4" 1000 same whole 2>&1)
	check "$PFX""max_conns 1: then accepted" contains "$out" "ok 1000 1000"
	stop_engine
}

run_all() {
	local t
	for t in ${RELAY_TESTS:-microsocks_v4 microsocks_v6 dante_auth tinyproxy chunk switch udp failures}; do
		test_$t
	done
}

setup_topology || { log "cannot make the namespaces"; exit 1; }
write_tool
start_servers || { log "the servers did not start"; FAIL=$((FAIL + 1)); summary; exit 1; }
ENG=$ENGINE_REL PFX=""
run_all
if [ "${RELAY_NO_ASAN:-0}" != 1 ]; then
	ENG=$ENGINE_ASAN PFX="[asan] "
	run_all
fi
summary
