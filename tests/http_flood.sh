#!/bin/bash
# netfild's /metrics under a connection flood: while user nobody holds
# 1,000 half-sent requests open (reopening any the server closes), root
# and a --read-group member still get answers within seconds, and once
# the flood ends nothing of it lingers in CLOSE-WAIT.
# Usage: tests/http_flood.sh (as root); NETFIL and NETFILD may name the
# binaries, as tests/run.sh passes them.
set -u
. "$(dirname "$0")/lib.sh"

trap cleanup_f EXIT
trap 'exit 1' INT TERM
NETFILD=${NETFILD:-$ROOT/build/netfild}
FLOOD_N=1000
FLOOD_SECS=90	# the flood stops by itself after this, whatever happens here
MAX_MS=3000	# an answer slower than this fails
PY=/usr/bin/python3	# Debian's: nobody may run it (a root-only pyenv shim may come first in PATH)
DPID=
FPID=

# ok - / not ok - lines on stdout, counted as lib.sh's check counts
check() {
	local name=$1
	shift
	if "$@"; then
		PASS=$((PASS + 1))
		echo "ok - $name"
	else
		FAIL=$((FAIL + 1))
		echo "not ok - $name"
	fi
}

cleanup_f() {
	[ -n "$FPID" ] && kill -9 "$FPID" 2>/dev/null
	[ -n "$DPID" ] && kill -9 "$DPID" 2>/dev/null
	cleanup
}

free_port() {
	$PY -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# fetch [USER]: GET /metrics (as USER, else root); sets CODE and MS.
fetch() {
	local t0=$(date +%s%N) as=()
	[ $# -gt 0 ] && as=(setpriv --reuid="$1" --regid="$1" --init-groups)
	CODE=$("${as[@]}" curl -s -m 5 -o "$TMP"/body -w '%{http_code}' \
		"http://127.0.0.1:$MPORT/metrics")
	MS=$(( ($(date +%s%N) - t0) / 1000000 ))
}
answered() { eq "$CODE" 200 && lt "$MS" $MAX_MS && contains "$(cat "$TMP"/body)" "# TYPE netfil_events_lost_total"; }
up_200() { fetch; [ "$CODE" = 200 ]; }
flood_ready() { grep -q '^ready ' "$TMP"/flood.out; }
# netfild's port's sockets in CLOSE-WAIT, accepted or still queued
close_wait() { ss -Htn state close-wait "( sport = :$MPORT )" | wc -l; }
few_close_wait() { [ "$(close_wait)" -le 5 ]; }

# The flood, as nobody: FLOOD_N connections, each sent a request without
# its closing blank line, held; one the server closes is opened again
# (at most 2,000 a second).  Bounded in connections and time.
cat > "$TMP"/flood.py <<'EOF'
import resource, select, signal, socket, sys, time
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
port, n, secs = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, n + 64), hard))
req = b"GET /metrics HTTP/1.1\r\nHost: x\r\n"
end = time.monotonic() + secs
rate, most = 2000.0, 100 * n	# reopened a second; opened in all
socks, poller, opened, failed = {}, select.poll(), 0, 0

def open_one():
    global opened, failed
    s = socket.socket()
    s.settimeout(1)
    try:
        s.connect(("127.0.0.1", port))
        s.sendall(req)
        s.setblocking(False)
        socks[s.fileno()] = s
        poller.register(s, select.POLLIN)
        opened += 1
    except OSError:
        s.close()
        failed += 1

while len(socks) < n and time.monotonic() < end and failed < 10 * n:
    open_one()
print("ready opened=%d failed=%d" % (opened, failed), flush=True)
try:
    budget, last = 0.0, time.monotonic()
    while time.monotonic() < end:
        for fd, _ in poller.poll(50):
            s = socks[fd]
            try:
                gone = s.recv(4096) == b""
            except BlockingIOError:
                gone = False
            except OSError:
                gone = True
            if gone:
                poller.unregister(fd)
                del socks[fd]
                s.close()
        now = time.monotonic()
        budget, last = min(100.0, budget + (now - last) * rate), now
        while budget >= 1 and len(socks) < n and opened + failed < most:
            open_one()
            budget -= 1
finally:
    print("done opened=%d failed=%d open=%d" % (opened, failed, len(socks)), flush=True)
EOF

main() {
	local i rc worst=0 slow=0 out
	setup_cgroup || { echo "not ok - cannot create the test cgroup"; exit 1; }
	"$NETFIL" load || { echo "not ok - netfil load"; exit 1; }
	MPORT=$(free_port)
	"$NETFILD" --stderr --state "$TMP"/state --config "$TMP"/none.conf \
		--metrics-port "$MPORT" --read-group daemon > "$TMP"/d.log 2>&1 &
	DPID=$!
	check "netfild answers /metrics on 127.0.0.1:$MPORT" poll_until 20 up_200

	setpriv --reuid=nobody --regid=nogroup --clear-groups \
		$PY "$TMP"/flood.py "$MPORT" $FLOOD_N $FLOOD_SECS > "$TMP"/flood.out 2>&1 &
	FPID=$!
	check "flood: nobody opened $FLOOD_N half-sent requests" poll_until 60 flood_ready
	out=$(cat "$TMP"/flood.out)
	check "flood: all $FLOOD_N connected ($out)" contains "$out" "opened=$FLOOD_N "

	# spread over more than the header timeout, so some tries meet the
	# flood's reopened connections too
	for i in $(seq 1 6); do
		fetch
		answered 2>/dev/null || slow=$((slow + 1))
		[ "$MS" -gt "$worst" ] && worst=$MS
		echo "# root during the flood: $CODE in $MS ms"
		sleep 0.8
	done
	check "during the flood: root answered 200 within $MAX_MS ms, 6 of 6 (worst $worst ms)" eq "$slow" 0
	fetch daemon
	echo "# --read-group member during the flood: $CODE in $MS ms"
	check "during the flood: a --read-group member answered too ($MS ms)" answered
	check "flood: still running, as nobody" eq "$(ps -o user= -p "$FPID" 2>/dev/null | tr -d ' ')" nobody
	check "netfild refused nobody's surplus, and said so" contains "$(cat "$TMP"/d.log)" "uid 65534"

	kill "$FPID" 2>/dev/null
	wait "$FPID" 2>/dev/null
	FPID=
	echo "# flood: $(grep '^done ' "$TMP"/flood.out)"
	fetch
	echo "# root after the flood: $CODE in $MS ms"
	check "after the flood: root answered at once ($MS ms)" answered
	poll_until 15 few_close_wait
	check "after the flood: at most 5 sockets of port $MPORT in CLOSE-WAIT ($(close_wait))" few_close_wait

	kill -TERM "$DPID"
	poll_until 15 eval '! kill -0 "$DPID"'
	kill -9 "$DPID" 2>/dev/null
	wait "$DPID" 2>/dev/null
	rc=$?
	DPID=
	check "netfild: SIGTERM -> exit 0" eq "$rc" 0
	check "netfild: no sanitizer report" eval '! grep -qE "Sanitizer|runtime error" "$TMP"/d.log'
	[ "$FAIL" -eq 0 ] || sed 's/^/# netfild: /' "$TMP"/d.log | tail -n 20
	summary
}

main
